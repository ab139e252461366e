package output

import (
	"fmt"
	"io"
)

// ResultWriter writes the rows of a query result in one format.
//
// WriteRow takes one value per column, in column order. Values may be nil
// (NULL), any Go integer, float32/float64, string, []byte, bool,
// time.Time, netip.Addr, *big.Int, a decimal with a Float64() method
// (such as duckdb.Decimal), a fmt.Stringer, pointers to any of these, or
// composite values (lists, maps, structs), which every text format writes
// as JSON. Parquet converts values to the column's type and fails on a
// value it cannot convert. The writer keeps no reference to row
// or its values after WriteRow returns, so callers may reuse both.
//
// Close flushes and finishes the document; it does not close the
// underlying io.Writer. A ResultWriter is not safe for concurrent use.
type ResultWriter interface {
	WriteRow(row []any) error
	Close() error
}

// NewResultWriter returns a writer of rows with the given columns to w in
// format f. Duplicate column names get a _2, _3 suffix and empty ones are
// named col1, col2..., so JSON keys and Parquet columns are unambiguous.
func NewResultWriter(f Format, w io.Writer, cols []Column) (ResultWriter, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("output: a result needs at least one column")
	}
	cols = append([]Column(nil), cols...)
	names := uniqueNames(cols)
	for i := range cols {
		cols[i].Name = names[i]
	}
	switch f {
	case CSV:
		return newCSVResults(w, cols), nil
	case JSON:
		return newJSONResults(w, cols, true), nil
	case NDJSON:
		return newJSONResults(w, cols, false), nil
	case Table:
		return newTableResults(w, cols), nil
	case Parquet:
		return newParquetResults(w, cols)
	}
	return nil, fmt.Errorf("output: unknown format %q", string(f))
}

// Result is a whole query result held in memory, for results known to be
// small (top-N, lists). Larger ones stream through a ResultWriter.
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Write renders r to w in format f.
func (r *Result) Write(f Format, w io.Writer) error {
	rw, err := NewResultWriter(f, w, r.Columns)
	if err != nil {
		return err
	}
	for _, row := range r.Rows {
		if err := rw.WriteRow(row); err != nil {
			return err
		}
	}
	return rw.Close()
}

// checkRow validates a row's length.
func checkRow(row []any, cols []Column) error {
	if len(row) != len(cols) {
		return fmt.Errorf("output: row has %d values, result has %d columns", len(row), len(cols))
	}
	return nil
}

// csvResults writes a result as CSV.
type csvResults struct {
	cols   []Column
	out    sink
	cell   []byte
	closed bool
}

func newCSVResults(w io.Writer, cols []Column) *csvResults {
	c := &csvResults{cols: cols, out: newSink(w)}
	for j, col := range cols {
		if j > 0 {
			c.out.buf = append(c.out.buf, ',')
		}
		c.out.buf = appendCSV(c.out.buf, []byte(col.Name))
	}
	c.out.buf = append(c.out.buf, '\n')
	return c
}

// WriteRow writes one row.
func (c *csvResults) WriteRow(row []any) error {
	if c.closed {
		return ErrClosed
	}
	if err := checkRow(row, c.cols); err != nil {
		return err
	}
	for j, v := range row {
		if j > 0 {
			c.out.buf = append(c.out.buf, ',')
		}
		var ok bool
		c.cell, ok = appendText(c.cell[:0], v, c.cols[j].Type)
		if ok {
			c.out.buf = appendCSV(c.out.buf, c.cell)
		}
	}
	c.out.buf = append(c.out.buf, '\n')
	return c.out.maybeFlush()
}

// Close flushes the buffered rows.
func (c *csvResults) Close() error {
	if c.closed {
		return c.out.err
	}
	c.closed = true
	return c.out.flush()
}

// jsonResults writes a result as a JSON array or as NDJSON.
type jsonResults struct {
	cols   []Column
	out    sink
	keys   [][]byte
	array  bool
	rows   int64
	closed bool
}

func newJSONResults(w io.Writer, cols []Column, array bool) *jsonResults {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return &jsonResults{cols: cols, out: newSink(w), keys: jsonKeys(names), array: array}
}

// WriteRow writes one row as an object.
func (j *jsonResults) WriteRow(row []any) error {
	if j.closed {
		return ErrClosed
	}
	if err := checkRow(row, j.cols); err != nil {
		return err
	}
	buf := rowStart(j.out.buf, j.array, j.rows)
	j.rows++
	for k, v := range row {
		buf = append(buf, j.keys[k]...)
		buf = appendJSONValue(buf, v, j.cols[k].Type)
	}
	j.out.buf = rowEnd(buf, j.array)
	return j.out.maybeFlush()
}

// Close finishes the array (JSON) and flushes.
func (j *jsonResults) Close() error {
	if j.closed {
		return j.out.err
	}
	j.closed = true
	if j.array {
		j.out.buf = closeArray(j.out.buf, j.rows)
	}
	return j.out.flush()
}
