package output

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// RecordWriter writes flow-record batches in one format.
//
// WriteBatch reads rows 0 to b.N-1 of the projected columns; a column the
// batch lacks (b.Present) is NULL in every row. The writer keeps no
// reference to the batch after WriteBatch returns. Close flushes what is
// buffered and finishes the document; it does not close the underlying
// io.Writer. A RecordWriter is not safe for concurrent use.
type RecordWriter interface {
	WriteBatch(b *flowlog.Batch) error
	Close() error
}

// ErrClosed is returned when a writer is used after Close.
var ErrClosed = errors.New("output: writer is closed")

// NewRecordWriter returns a writer of the catalog fields listed in fields
// (in that order, each at most once) to w in format f. Column names are
// the catalog's column names (srcaddr, pkt_srcaddr, log_status).
//
// Values keep their flow-log form: integers and epoch seconds as numbers,
// addresses as text. In tables only, start and end (any Time field) read
// as RFC 3339 UTC times. Parquet uses AWS's column types: INT32 for the
// 32-bit fields, INT64 for the 64-bit and time fields, UTF8 strings for
// text and addresses, every column optional.
func NewRecordWriter(f Format, w io.Writer, fields []int) (RecordWriter, error) {
	if err := checkFields(fields); err != nil {
		return nil, err
	}
	switch f {
	case CSV:
		return newCSVRecords(w, fields), nil
	case JSON:
		return newJSONRecords(w, fields, true), nil
	case NDJSON:
		return newJSONRecords(w, fields, false), nil
	case Table:
		return newTableRecords(w, fields), nil
	case Parquet:
		return newParquetRecords(w, fields)
	}
	return nil, fmt.Errorf("output: unknown format %q", string(f))
}

// projection binds a list of fields to the columns of the current batch.
type projection struct {
	fields []int
	types  []schema.Type
	cols   []*flowlog.Column // nil where the batch lacks the field
}

func newProjection(fields []int) projection {
	p := projection{
		fields: append([]int(nil), fields...),
		types:  make([]schema.Type, len(fields)),
		cols:   make([]*flowlog.Column, len(fields)),
	}
	for j, id := range fields {
		p.types[j] = schema.Fields[id].Type
	}
	return p
}

// bind points the projection at b's columns.
func (p *projection) bind(b *flowlog.Batch) {
	for j, id := range p.fields {
		if id < len(b.Cols) && b.Present.Has(id) {
			p.cols[j] = &b.Cols[id]
		} else {
			p.cols[j] = nil
		}
	}
}

// release drops the references to the last batch.
func (p *projection) release() { clear(p.cols) }

// csvRecords writes CSV: a header row, then one line per record.
type csvRecords struct {
	projection
	out    sink
	closed bool
}

func newCSVRecords(w io.Writer, fields []int) *csvRecords {
	c := &csvRecords{projection: newProjection(fields), out: newSink(w)}
	for j, id := range fields {
		if j > 0 {
			c.out.buf = append(c.out.buf, ',')
		}
		c.out.buf = appendCSV(c.out.buf, []byte(schema.Fields[id].Column))
	}
	c.out.buf = append(c.out.buf, '\n')
	return c
}

// WriteBatch writes the batch's rows.
func (c *csvRecords) WriteBatch(b *flowlog.Batch) error {
	if c.closed {
		return ErrClosed
	}
	c.bind(b)
	defer c.release()
	buf := c.out.buf
	for i := 0; i < b.N; i++ {
		for j, col := range c.cols {
			if j > 0 {
				buf = append(buf, ',')
			}
			if col == nil || !col.Valid[i] {
				continue
			}
			switch c.types[j] {
			case schema.String:
				buf = appendCSV(buf, col.Data[col.Offs[i]:col.Offs[i+1]])
			case schema.IP:
				buf = col.IPs[i].AppendTo(buf)
			default:
				buf = strconv.AppendInt(buf, col.Ints[i], 10)
			}
		}
		buf = append(buf, '\n')
		if len(buf) >= flushAt {
			c.out.buf = buf
			if err := c.out.flush(); err != nil {
				return err
			}
			buf = c.out.buf
		}
	}
	c.out.buf = buf
	return c.out.err
}

// Close flushes the buffered rows.
func (c *csvRecords) Close() error {
	if c.closed {
		return c.out.err
	}
	c.closed = true
	return c.out.flush()
}

// jsonRecords writes one JSON object per record, either as the elements of
// one array (JSON) or one per line (NDJSON).
type jsonRecords struct {
	projection
	out    sink
	keys   [][]byte // `{"name":` for the first column, `,"name":` after
	array  bool
	rows   int64
	closed bool
}

func newJSONRecords(w io.Writer, fields []int, array bool) *jsonRecords {
	j := &jsonRecords{projection: newProjection(fields), out: newSink(w), array: array}
	names := make([]string, len(fields))
	for i, id := range fields {
		names[i] = schema.Fields[id].Column
	}
	j.keys = jsonKeys(names)
	return j
}

// jsonKeys prepares the object key prefixes for names.
func jsonKeys(names []string) [][]byte {
	keys := make([][]byte, len(names))
	for i, n := range names {
		var k []byte
		if i == 0 {
			k = append(k, '{')
		} else {
			k = append(k, ',')
		}
		k = appendJSONString(k, n)
		keys[i] = append(k, ':')
	}
	return keys
}

// rowStart returns the separator that precedes the next object.
func rowStart(dst []byte, array bool, rows int64) []byte {
	if !array {
		return dst
	}
	if rows == 0 {
		return append(dst, '[', '\n')
	}
	return append(dst, ',', '\n')
}

// rowEnd closes an object.
func rowEnd(dst []byte, array bool) []byte {
	if array {
		return append(dst, '}')
	}
	return append(dst, '}', '\n')
}

// closeArray finishes a JSON array of rows objects.
func closeArray(dst []byte, rows int64) []byte {
	if rows == 0 {
		return append(dst, '[', ']', '\n')
	}
	return append(dst, '\n', ']', '\n')
}

// WriteBatch writes the batch's rows.
func (j *jsonRecords) WriteBatch(b *flowlog.Batch) error {
	if j.closed {
		return ErrClosed
	}
	j.bind(b)
	defer j.release()
	buf := j.out.buf
	for i := 0; i < b.N; i++ {
		buf = rowStart(buf, j.array, j.rows)
		j.rows++
		for k, col := range j.cols {
			buf = append(buf, j.keys[k]...)
			if col == nil || !col.Valid[i] {
				buf = append(buf, "null"...)
				continue
			}
			switch j.types[k] {
			case schema.String:
				buf = appendJSONString(buf, col.Data[col.Offs[i]:col.Offs[i+1]])
			case schema.IP:
				buf = append(buf, '"')
				buf = col.IPs[i].AppendTo(buf)
				buf = append(buf, '"')
			default:
				buf = strconv.AppendInt(buf, col.Ints[i], 10)
			}
		}
		buf = rowEnd(buf, j.array)
		if len(buf) >= flushAt {
			j.out.buf = buf
			if err := j.out.flush(); err != nil {
				return err
			}
			buf = j.out.buf
		}
	}
	j.out.buf = buf
	return j.out.err
}

// Close finishes the array (JSON) and flushes.
func (j *jsonRecords) Close() error {
	if j.closed {
		return j.out.err
	}
	j.closed = true
	if j.array {
		j.out.buf = closeArray(j.out.buf, j.rows)
	}
	return j.out.flush()
}
