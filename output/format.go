// Package output renders what flowlens commands produce: flow-record batches
// (`flowlens read`, the converter) and generic query results (SQL, named
// queries, `top`), as an aligned table, CSV, a JSON array, NDJSON or Parquet.
//
// Two writer families share the formats:
//
//   - RecordWriter takes *flowlog.Batch values and a projection of catalog
//     field IDs. It reads the batch's columns directly; once its buffers
//     are sized, the CSV, JSON and NDJSON paths allocate nothing per batch.
//   - ResultWriter takes rows of Go values ([]any) under a list of typed
//     Columns, as they come out of database/sql.
//
// Every writer streams: memory stays bounded whatever the number of rows
// (the table writer keeps at most a bounded sample to size its columns,
// the Parquet writer at most one row group). Close flushes what is
// buffered and finishes the document (closes the JSON array, writes the
// Parquet footer); it never closes the underlying io.Writer.
package output

import (
	"fmt"
	"strings"
)

// Format is an output format, as named by the -o flag.
type Format string

// The output formats.
const (
	// Table is an aligned table for people, the default on a terminal:
	// numbers right-aligned, NULL shown as "-", epoch fields (start, end)
	// as RFC 3339 UTC times, long text cut with "…" (except in the last
	// column), control characters escaped, and a "(N rows)" footer.
	Table Format = "table"
	// CSV has a header row, RFC 4180 quoting and "\n" line ends; NULL is
	// an empty field and the empty string is written as "".
	CSV Format = "csv"
	// JSON is one JSON array of objects keyed by column name, one object
	// per line, written as rows arrive. Numbers are JSON numbers, NULL is
	// null.
	JSON Format = "json"
	// NDJSON is one JSON object per line.
	NDJSON Format = "ndjson"
	// Parquet is an Apache Parquet file: every column optional, ZSTD
	// compression, dictionary-encoded strings, row groups of up to 1M rows.
	Parquet Format = "parquet"
)

// Formats lists every format, in the order help texts show them.
func Formats() []Format { return []Format{Table, CSV, JSON, NDJSON, Parquet} }

// ParseFormat resolves a format name (case-insensitive; "jsonl" is accepted
// for NDJSON).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "table":
		return Table, nil
	case "csv":
		return CSV, nil
	case "json":
		return JSON, nil
	case "ndjson", "jsonl":
		return NDJSON, nil
	case "parquet":
		return Parquet, nil
	}
	return "", fmt.Errorf("unknown output format %q (want table, csv, json, ndjson or parquet)", s)
}

// DefaultFormat is the format used when -o is not given: a table when
// standard output is a terminal, CSV otherwise (so pipes get something
// every tool reads).
func DefaultFormat(isTerminal bool) Format {
	if isTerminal {
		return Table
	}
	return CSV
}

// Binary reports whether the format is not text (Parquet); callers may
// refuse to write it to a terminal.
func (f Format) Binary() bool { return f == Parquet }

// String returns the format's name.
func (f Format) String() string { return string(f) }
