// Package awsparquet reads flow-log records from Parquet files, as AWS
// delivers them to S3 when a flow log's file format is Parquet
// (`.log.parquet`), into columnar flowlog batches.
//
// Columns are matched to the field catalog by name (`pkt_srcaddr`, or the
// token spelling `pkt-srcaddr`); columns the catalog does not know are
// ignored and listed by File.Unknown and in each batch's Format. Only the
// columns a caller wants are read and decoded. The rows produced are the same
// as the text parser's for the same records: `-` and empty strings are NULL,
// millisecond epochs in start/end become seconds, and a value that does not
// fit its field (a non-numeric string in an integer column, an invalid
// address) rejects its row, which is counted and reported as a
// *flowlog.ParseError whose Line is the 1-based row number in the file.
//
// Besides AWS's own types (INT32/INT64 integers, UTF8 strings) the reader
// accepts what other writers produce: integers stored as strings or doubles,
// timestamps with a TIMESTAMP logical type, strings stored as integers
// (pandas' account_id), and pandas' renderings of a missing value
// (`None`, `nan`, `NaN`, `null`, `NULL`) in integer and address columns.
//
// Reading is streamed row group by row group, page by page, in batches of at
// most BatchRows rows; memory does not grow with the file size. Each batch
// carries the file's Format and, in Line, the 1-based number of the first
// row it was read from. A file is untrusted input: page sizes and counts are
// checked against hard caps before parquet-go allocates from them, and a
// corrupt file ends its read with an error instead of exhausting memory.
package awsparquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// BatchRows is the largest number of rows in one emitted batch.
const BatchRows = 4096

// MaxErrors is how many bad rows Read reports in full; the rest are counted
// in flowlog.Stats.
const MaxErrors = 16

// readBufferSize is the read-ahead per column chunk; larger than
// parquet-go's 4 KiB default so that a page costs few ReadAt calls.
const readBufferSize = 64 << 10

// Magic is the four bytes that start (and end) every Parquet file.
const Magic = "PAR1"

// IsParquet reports whether head, the first bytes of an object, starts with
// the Parquet magic number.
func IsParquet(head []byte) bool {
	return len(head) >= len(Magic) && string(head[:len(Magic)]) == Magic
}

// conv says how a column's physical values become catalog values.
type conv uint8

const (
	convUnsupported conv = iota
	convBytesToString
	convIntToString
	convUintToString
	convFloatToString
	convBoolToString
	convBytesToIP
	convInt
	convUint
	convBytesToInt
	convFloatToInt
)

// column is one leaf column of the file.
type column struct {
	name  string // as written in the file
	index int    // leaf index: position among a row group's column chunks
	field int    // catalog ID, or -1 when the column is ignored
	kind  parquet.Kind
	conv  conv
	// div turns a TIMESTAMP logical value into epoch seconds (1000 for
	// milliseconds); 0 means "plain integer" (normalised like the text
	// parser: values >= 1e11 are milliseconds).
	div   int64
	ptype string // physical/logical type, for messages
}

// File is an opened Parquet file whose columns have been matched to the
// field catalog. Open it with Open; read it with Read.
type File struct {
	pf      *parquet.File
	r       io.ReaderAt
	size    int64
	cols    []column
	byField []int // catalog ID -> index in cols, or -1
	format  *flowlog.Format
	fields  schema.Set
}

// Open reads the footer of the Parquet file held in r (size bytes) and
// matches its columns to the catalog. It reads no data pages.
func Open(r io.ReaderAt, size int64) (f *File, err error) {
	defer func() {
		// parquet-go may panic on a corrupt footer; the file is untrusted.
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("opening Parquet file: %w (decoder panicked: %v)", errCorrupt, p)
		}
	}()
	if err := checkFooter(r, size); err != nil {
		return nil, fmt.Errorf("opening Parquet file: %w", err)
	}
	pf, err := parquet.OpenFile(r, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(readBufferSize),
	)
	if err != nil {
		return nil, fmt.Errorf("opening Parquet file: %w", err)
	}
	f = &File{pf: pf, r: r, size: size, byField: make([]int, schema.NumFields), format: &flowlog.Format{}}
	for i := range f.byField {
		f.byField[i] = -1
	}
	sch := pf.Schema()
	for _, path := range sch.Columns() {
		leaf, ok := sch.Lookup(path...)
		if !ok {
			continue
		}
		c := column{name: strings.Join(path, "."), index: leaf.ColumnIndex, field: -1}
		if len(path) == 1 && leaf.MaxRepetitionLevel == 0 && leaf.MaxDefinitionLevel <= 1 {
			if fd, ok := schema.Lookup(path[0]); ok && f.byField[fd.ID] < 0 {
				c.field = fd.ID
			}
		}
		if c.field >= 0 {
			t := leaf.Node.Type()
			c.ptype = t.String()
			if pt := t.PhysicalType(); pt != nil {
				c.kind = parquet.Kind(*pt)
				c.conv, c.div = pickConv(t, c.kind, schema.Fields[c.field].Type)
			}
			f.byField[c.field] = len(f.cols)
			f.fields.Add(c.field)
			f.format.IDs = append(f.format.IDs, c.field)
			f.format.Names = append(f.format.Names, schema.Fields[c.field].Token)
		} else {
			f.format.IDs = append(f.format.IDs, -1)
			f.format.Names = append(f.format.Names, c.name)
		}
		f.cols = append(f.cols, c)
	}
	if f.fields == (schema.Set{}) {
		return nil, fmt.Errorf("Parquet file has no flow-log columns (columns: %s)", strings.Join(f.format.Names, ", "))
	}
	return f, nil
}

// pickConv chooses how values of type t are read into a field of type ft.
func pickConv(t parquet.Type, k parquet.Kind, ft schema.Type) (conv, int64) {
	unsigned := false
	var div int64
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		switch v := lt.Value.(type) {
		case *format.IntType:
			unsigned = !v.IsSigned
		case *format.TimestampType:
			if v.Unit.Value != nil {
				div = int64(time.Second / v.Unit.Value.Duration())
			}
		}
	} else if ct := t.ConvertedType(); ct != nil {
		switch *ct {
		case deprecated.Uint8, deprecated.Uint16, deprecated.Uint32, deprecated.Uint64:
			unsigned = true
		case deprecated.TimestampMillis:
			div = 1_000
		case deprecated.TimestampMicros:
			div = 1_000_000
		}
	}
	switch ft {
	case schema.String:
		switch k {
		case parquet.ByteArray, parquet.FixedLenByteArray:
			return convBytesToString, 0
		case parquet.Int32, parquet.Int64:
			if unsigned {
				return convUintToString, 0
			}
			return convIntToString, 0
		case parquet.Float, parquet.Double:
			return convFloatToString, 0
		case parquet.Boolean:
			return convBoolToString, 0
		}
	case schema.IP:
		if k == parquet.ByteArray {
			return convBytesToIP, 0
		}
	default:
		switch k {
		case parquet.Int32, parquet.Int64:
			if ft != schema.Time {
				div = 0 // a timestamp type on a counter is taken at face value
			}
			if unsigned {
				return convUint, div
			}
			return convInt, div
		case parquet.ByteArray:
			return convBytesToInt, 0
		case parquet.Float, parquet.Double:
			return convFloatToInt, 0
		}
	}
	return convUnsupported, 0
}

// Format describes the file's columns in file order as a flowlog.Format:
// catalog fields by ID, ignored columns as -1 with their names. Batches
// produced by Read carry it.
func (f *File) Format() *flowlog.Format { return f.format }

// Fields is the set of catalog fields the file has a column for.
func (f *File) Fields() schema.Set { return f.fields }

// Unknown lists the file's columns that are not read: names outside the
// catalog, nested or repeated columns, and a second spelling of a field
// already matched.
func (f *File) Unknown() []string { return f.format.Unknown() }

// NumRows is the number of rows the footer declares.
func (f *File) NumRows() int64 { return f.pf.NumRows() }

// NumRowGroups is the number of row groups in the file.
func (f *File) NumRowGroups() int { return len(f.pf.RowGroups()) }

// Read opens the Parquet file held in r (size bytes) and streams its records
// to emit in batches of at most BatchRows rows, decoding only the fields in
// want that the file has. source names the file in batches and errors.
//
// The batch handed to emit is reused once emit returns (copy what you keep);
// an error from emit stops the read and is returned. Bad rows are skipped,
// counted in the returned Stats (Lines counts rows read, each either one of
// Records or one of Bad, by reason in Reasons), and the first MaxErrors are
// returned in full. The error result is for problems that end the read early (an
// unreadable or corrupt file, a column whose type cannot hold its field,
// ctx cancelled); the Stats and errors gathered until then are returned
// with it.
func Read(ctx context.Context, r io.ReaderAt, size int64, source string, want schema.Set,
	emit func(*flowlog.Batch) error) (flowlog.Stats, []flowlog.ParseError, error) {
	f, err := Open(r, size)
	if err != nil {
		return flowlog.Stats{}, nil, fmt.Errorf("%s%w", prefix(source), err)
	}
	return f.Read(ctx, source, want, emit)
}

func prefix(source string) string {
	if source == "" {
		return ""
	}
	return source + ": "
}

// Read streams the file's records to emit; see the package-level Read.
// A File may be read more than once, but not concurrently.
func (f *File) Read(ctx context.Context, source string, want schema.Set,
	emit func(*flowlog.Batch) error) (stats flowlog.Stats, errs []flowlog.ParseError, err error) {
	defer func() {
		// parquet-go may panic on corrupt input; the file is untrusted.
		if p := recover(); p != nil {
			err = fmt.Errorf("%sdecoding Parquet: %w (decoder panicked: %v)", prefix(source), errCorrupt, p)
		}
	}()
	present := schema.Set{want[0] & f.fields[0], want[1] & f.fields[1]}
	var read []int // indexes into f.cols, in file order
	for i, c := range f.cols {
		if c.field >= 0 && present.Has(c.field) {
			if c.conv == convUnsupported {
				return stats, nil, fmt.Errorf("%scolumn %s: a %s column cannot hold field %s (%s)",
					prefix(source), c.name, c.ptype, schema.Fields[c.field].Token, schema.Fields[c.field].Type)
			}
			read = append(read, i)
		}
	}
	d := &decoder{
		batch:  flowlog.NewBatch(),
		vals:   make([]parquet.Value, BatchRows),
		bad:    make([]bool, BatchRows),
		source: source,
	}
	var row int64 // rows before the current batch
	var scratch []byte
	meta := f.pf.Metadata()
	for rgi, rg := range f.pf.RowGroups() {
		n := rg.NumRows()
		chunks := rg.ColumnChunks()
		if rgi >= len(meta.RowGroups) {
			return stats, errs, fmt.Errorf("%s%w: row group %d missing from the footer", prefix(source), errCorrupt, rgi)
		}
		curs := make([]cursor, len(read))
		for _, ci := range read {
			c := &f.cols[ci]
			if c.index >= len(chunks) {
				return stats, errs, fmt.Errorf("%srow group %d has no chunk for column %s", prefix(source), rgi, c.name)
			}
			if c.index >= len(meta.RowGroups[rgi].Columns) {
				return stats, errs, fmt.Errorf("%s%w: row group %d has no metadata for column %s", prefix(source), errCorrupt, rgi, c.name)
			}
			if err := checkChunk(f.r, f.size, &meta.RowGroups[rgi].Columns[c.index].MetaData, n, &scratch); err != nil {
				return stats, errs, fmt.Errorf("%srow group %d column %s: %w", prefix(source), rgi, c.name, err)
			}
		}
		for j, ci := range read {
			curs[j] = cursor{col: &f.cols[ci], pages: chunks[f.cols[ci].index].Pages()}
		}
		err := func() error {
			defer func() {
				for j := range curs {
					curs[j].close()
				}
			}()
			for off := int64(0); off < n; off += BatchRows {
				if err := ctx.Err(); err != nil {
					return err
				}
				m := int(min(BatchRows, n-off))
				b := d.batch
				b.Reset(present)
				b.Source = source
				b.Line = row + 1
				b.Format = f.format
				d.start(row, m)
				for j := range curs {
					if err := d.fill(&curs[j], m); err != nil {
						return fmt.Errorf("row group %d column %s: %w", rgi, curs[j].col.name, err)
					}
				}
				b.N = m
				d.finish(&stats, &errs)
				row += int64(m)
				if b.N == 0 {
					continue
				}
				if err := emit(b); err != nil {
					return err
				}
			}
			return nil
		}()
		if err != nil {
			return stats, errs, fmt.Errorf("%s%w", prefix(source), err)
		}
	}
	return stats, errs, nil
}

// errShortColumn reports a column chunk holding fewer values than its row
// group has rows.
var errShortColumn = errors.New("column chunk ends before the row group does")

// cursor reads one column chunk's values page by page.
type cursor struct {
	col   *column
	pages parquet.Pages
	page  parquet.Page
	vr    parquet.ValueReader
	eof   bool // vr returned io.EOF with its last values
}

// next reads up to len(buf) values, moving to the next page as needed.
// The values (byte arrays included) stay valid until the next call.
func (c *cursor) next(buf []parquet.Value) (int, error) {
	for {
		if c.vr != nil && !c.eof {
			n, err := c.vr.ReadValues(buf)
			if errors.Is(err, io.EOF) {
				c.eof = true
			} else if err != nil {
				return 0, fmt.Errorf("reading values: %w", err)
			}
			if n > 0 {
				return n, nil
			}
		}
		c.releasePage()
		p, err := c.pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return 0, errShortColumn
		}
		if err != nil {
			return 0, fmt.Errorf("reading page: %w", err)
		}
		c.page, c.vr, c.eof = p, p.Values(), false
	}
}

func (c *cursor) releasePage() {
	if c.page != nil {
		parquet.Release(c.page)
	}
	c.page, c.vr = nil, nil
}

func (c *cursor) close() {
	c.releasePage()
	if c.pages != nil {
		c.pages.Close()
	}
}

// badRow is the first problem found in a row of the current batch.
type badRow struct {
	row int // index in the batch
	err flowlog.ParseError
}

// decoder turns column values into the rows of one batch at a time.
type decoder struct {
	batch  *flowlog.Batch
	vals   []parquet.Value
	bad    []bool // per row of the current batch
	bads   []badRow
	source string
	base   int64 // rows before the current batch
	scr    []byte
}

func (d *decoder) start(base int64, m int) {
	d.base = base
	clear(d.bad[:m])
	d.bads = d.bads[:0]
}

// fill appends m values of the cursor's column to the batch.
func (d *decoder) fill(c *cursor, m int) error {
	col := &d.batch.Cols[c.col.field]
	got := 0
	for got < m {
		n, err := c.next(d.vals[:m-got])
		if err != nil {
			return err
		}
		d.append(c.col, col, d.vals[:n], got)
		got += n
	}
	return nil
}

// reject marks row (an index in the batch) bad unless it already is.
func (d *decoder) reject(row int, c *column, v []byte, reason string) {
	if d.bad[row] {
		return
	}
	d.bad[row] = true
	if len(v) > 64 {
		v = v[:64]
	}
	d.bads = append(d.bads, badRow{row: row, err: flowlog.ParseError{
		Source: d.source,
		Line:   d.base + int64(row) + 1,
		Field:  schema.Fields[c.field].Token,
		Value:  string(v),
		Reason: reason,
		Detail: "Parquet column " + c.name,
	}})
}

// finish drops the batch's bad rows and accounts for the batch in stats.
func (d *decoder) finish(stats *flowlog.Stats, errs *[]flowlog.ParseError) {
	b := d.batch
	stats.Lines += int64(b.N)
	if len(d.bads) == 0 {
		stats.Records += int64(b.N)
		return
	}
	slices.SortFunc(d.bads, func(x, y badRow) int { return x.row - y.row })
	if stats.Reasons == nil {
		stats.Reasons = make(map[string]int64)
	}
	for _, br := range d.bads {
		stats.Reasons[br.err.Reason]++
		if len(*errs) < MaxErrors {
			*errs = append(*errs, br.err)
		}
	}
	stats.Bad += int64(len(d.bads))
	for _, id := range b.Present.IDs() {
		compact(&b.Cols[id], d.bad[:b.N])
	}
	b.N -= len(d.bads)
	stats.Records += int64(b.N)
}

// compact removes the rows marked in drop from c, in place.
func compact(c *flowlog.Column, drop []bool) {
	w := 0
	switch c.Type {
	case schema.String:
		var dw uint32
		start := c.Offs[0]
		for i := range drop {
			end := c.Offs[i+1]
			if !drop[i] {
				dw += uint32(copy(c.Data[dw:], c.Data[start:end]))
				c.Valid[w] = c.Valid[i]
				w++
				c.Offs[w] = dw
			}
			start = end
		}
		c.Data = c.Data[:dw]
		c.Offs = c.Offs[:w+1]
	case schema.IP:
		for i := range drop {
			if !drop[i] {
				c.Valid[w], c.IPs[w] = c.Valid[i], c.IPs[i]
				w++
			}
		}
		c.IPs = c.IPs[:w]
	default:
		for i := range drop {
			if !drop[i] {
				c.Valid[w], c.Ints[w] = c.Valid[i], c.Ints[i]
				w++
			}
		}
		c.Ints = c.Ints[:w]
	}
	c.Valid = c.Valid[:w]
}
