//go:build !duckdb_arrow

package duckdb

// loaders lists the loaders this build has, fastest first (see
// bench_test.go). Without the duckdb_arrow build tag the Arrow path is not
// compiled in and the table function is the best left.
var loaders = []loader{udfLoader{}}

// defaultLoader is the fastest loader this build has.
var defaultLoader = loaders[0]
