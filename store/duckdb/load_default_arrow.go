//go:build duckdb_arrow

package duckdb

// loaders lists the loaders this build has, fastest first (see
// bench_test.go); the first is the one stores use.
var loaders = []loader{arrowLoader{}, udfLoader{}}

// defaultLoader is the fastest loader this build has.
var defaultLoader = loaders[0]
