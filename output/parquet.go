package output

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"runtime/debug"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// Row groups are cut at whichever limit comes first; the writer holds at
// most one row group in memory.
const (
	parquetGroupRows  = 1 << 20
	parquetGroupBytes = 256 << 20
	// parquetChunkRows is how many generic rows are gathered before they
	// are handed to the Parquet writer.
	parquetChunkRows = 1024
	// parquetDictBytes caps a column's dictionary (as parquet-mr does).
	parquetDictBytes = 1 << 20
)

// orderedGroup is a Parquet group whose columns keep the order they were
// given in (parquet.Group sorts them by name).
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func newOrderedGroup(names []string, nodes []parquet.Node) *orderedGroup {
	g := make(parquet.Group, len(names))
	for i, n := range names {
		g[n] = nodes[i]
	}
	byName := make(map[string]parquet.Field, len(names))
	for _, f := range g.Fields() {
		byName[f.Name()] = f
	}
	og := &orderedGroup{Group: g, fields: make([]parquet.Field, len(names))}
	for i, n := range names {
		og.fields[i] = byName[n]
	}
	return og
}

// Fields returns the columns in their given order.
func (g *orderedGroup) Fields() []parquet.Field { return g.fields }

// String prints the schema in its given order.
func (g *orderedGroup) String() string {
	var sb strings.Builder
	_ = parquet.PrintSchema(&sb, "", g)
	return sb.String()
}

// countingWriter counts the bytes the Parquet writer has handed out.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// parquetFile wraps a parquet.Writer with row-group sizing.
type parquetFile struct {
	out    *countingWriter
	pw     *parquet.Writer
	closed bool
}

func newParquetFile(w io.Writer, names []string, nodes []parquet.Node) *parquetFile {
	out := &countingWriter{w: w}
	version, build := createdBy()
	sch := parquet.NewSchema("flowlens", newOrderedGroup(names, nodes))
	pw := parquet.NewWriter(out, sch,
		parquet.Compression(&parquet.Zstd),
		parquet.DictionaryMaxBytes(parquetDictBytes),
		parquet.MaxRowsPerRowGroup(parquetGroupRows),
		parquet.CreatedBy("flowlens", version, build),
	)
	return &parquetFile{out: out, pw: pw}
}

// createdBy returns the version and build for the file's created_by field
// ("flowlens version v1.2.0 (build 0123abcd4567)").
func createdBy() (version, build string) {
	version, build = "dev", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				build = s.Value[:min(len(s.Value), 12)]
			}
		}
	}
	// parquet-go writes "<app> version <version>(build <build>)".
	return version + " ", build
}

// write hands rows to the writer and ends the row group when it is big.
func (p *parquetFile) write(rows []parquet.Row) error {
	if _, err := p.pw.WriteRows(rows); err != nil {
		return fmt.Errorf("output: parquet: %w", err)
	}
	// Size counts what was written plus the open row group (uncompressed
	// buffers included), so the difference bounds the memory held.
	if p.pw.Size()-p.out.n >= parquetGroupBytes {
		if err := p.pw.Flush(); err != nil {
			return fmt.Errorf("output: parquet: %w", err)
		}
	}
	return nil
}

func (p *parquetFile) close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if err := p.pw.Close(); err != nil {
		return fmt.Errorf("output: parquet: %w", err)
	}
	return nil
}

// fieldNode is the Parquet column type of a catalog field, as AWS writes
// flow logs: INT32, INT64 or a UTF8 string, always optional.
func fieldNode(t schema.Type) parquet.Node {
	switch t {
	case schema.Int32:
		return parquet.Optional(parquet.Int(32))
	case schema.Int64, schema.Time:
		return parquet.Optional(parquet.Int(64))
	case schema.IP:
		return parquet.Optional(parquet.String())
	}
	return parquet.Optional(dictString())
}

// dictString is a UTF8 string column with dictionary encoding, which suits
// the many repeated values of flow logs (accounts, interfaces, actions);
// a column whose dictionary outgrows parquetDictBytes falls back to plain
// encoding.
func dictString() parquet.Node { return parquet.Encoded(parquet.String(), &parquet.RLEDictionary) }

// parquetRecords writes flow-record batches as Parquet. A batch is already
// columnar, so each column's values go straight to that column's writer;
// row groups are cut here, by row count and size.
type parquetRecords struct {
	projection
	file      *parquetFile
	vals      []parquet.Value
	arena     []byte // text of addresses for the current column
	offs      []int  // end of each address in arena
	groupRows int64
}

func newParquetRecords(w io.Writer, fields []int) (*parquetRecords, error) {
	names := make([]string, len(fields))
	nodes := make([]parquet.Node, len(fields))
	for j, id := range fields {
		names[j] = schema.Fields[id].Column
		nodes[j] = fieldNode(schema.Fields[id].Type)
	}
	return &parquetRecords{projection: newProjection(fields), file: newParquetFile(w, names, nodes)}, nil
}

// WriteBatch writes the batch's rows.
func (p *parquetRecords) WriteBatch(b *flowlog.Batch) error {
	if p.file.closed {
		return ErrClosed
	}
	if b.N == 0 {
		return nil
	}
	p.bind(b)
	defer p.release()
	n := b.N
	p.vals = growValues(p.vals, n)
	vals := p.vals
	writers := p.file.pw.ColumnWriters()
	for j, col := range p.cols {
		if col == nil {
			for i := range vals {
				vals[i] = parquet.Value{}
				vals[i].SetColumnIndex(j)
			}
		} else {
			p.columnValues(vals, col, p.types[j], j)
		}
		if _, err := writers[j].WriteRowValues(vals); err != nil {
			clear(vals)
			return fmt.Errorf("output: parquet: column %s: %w", schema.Fields[p.fields[j]].Column, err)
		}
	}
	clear(vals) // drop references to the batch's memory
	p.groupRows += int64(n)
	if p.groupRows >= parquetGroupRows || p.file.pw.Size()-p.file.out.n >= parquetGroupBytes {
		p.groupRows = 0
		if err := p.file.pw.Flush(); err != nil {
			return fmt.Errorf("output: parquet: %w", err)
		}
	}
	return nil
}

// columnValues fills vals with column j's values from col.
func (p *parquetRecords) columnValues(vals []parquet.Value, col *flowlog.Column, t schema.Type, j int) {
	switch t {
	case schema.IP:
		// Render the addresses first: the arena may move while it grows.
		p.arena, p.offs = p.arena[:0], p.offs[:0]
		for i := range vals {
			if col.Valid[i] {
				p.arena = col.IPs[i].AppendTo(p.arena)
			}
			p.offs = append(p.offs, len(p.arena))
		}
		start := 0
		for i := range vals {
			if col.Valid[i] {
				vals[i] = parquet.ByteArrayValue(p.arena[start:p.offs[i]])
				vals[i].SetDefinitionLevel(1)
			} else {
				vals[i] = parquet.Value{}
			}
			vals[i].SetColumnIndex(j)
			start = p.offs[i]
		}
	case schema.String:
		for i := range vals {
			if col.Valid[i] {
				vals[i] = parquet.ByteArrayValue(col.Data[col.Offs[i]:col.Offs[i+1]])
				vals[i].SetDefinitionLevel(1)
			} else {
				vals[i] = parquet.Value{}
			}
			vals[i].SetColumnIndex(j)
		}
	case schema.Int32:
		for i := range vals {
			if col.Valid[i] {
				vals[i] = parquet.Int32Value(int32(col.Ints[i]))
				vals[i].SetDefinitionLevel(1)
			} else {
				vals[i] = parquet.Value{}
			}
			vals[i].SetColumnIndex(j)
		}
	default:
		for i := range vals {
			if col.Valid[i] {
				vals[i] = parquet.Int64Value(col.Ints[i])
				vals[i].SetDefinitionLevel(1)
			} else {
				vals[i] = parquet.Value{}
			}
			vals[i].SetColumnIndex(j)
		}
	}
}

// Close ends the last row group and writes the footer.
func (p *parquetRecords) Close() error { return p.file.close() }

func growValues(v []parquet.Value, n int) []parquet.Value {
	if cap(v) < n {
		return make([]parquet.Value, n)
	}
	return v[:n]
}

// resultNode is the Parquet column type of a result column.
func resultNode(t Type) parquet.Node {
	var n parquet.Node
	switch t {
	case TypeInt, TypeEpoch:
		n = parquet.Int(64)
	case TypeInt32:
		n = parquet.Int(32)
	case TypeBigInt:
		n = parquet.Decimal(0, 38, parquet.FixedLenByteArrayType(16))
	case TypeFloat:
		n = parquet.Leaf(parquet.DoubleType)
	case TypeBool:
		n = parquet.Leaf(parquet.BooleanType)
	case TypeTime:
		n = parquet.Timestamp(parquet.Microsecond)
	case TypeDate:
		n = parquet.Date()
	case TypeBytes:
		n = parquet.Leaf(parquet.ByteArrayType)
	case TypeIP:
		n = parquet.String()
	default:
		n = dictString()
	}
	return parquet.Optional(n)
}

// parquetResults writes a generic result as Parquet, gathering rows in
// chunks.
type parquetResults struct {
	cols  []Column
	file  *parquetFile
	vals  []parquet.Value
	rows  []parquet.Row
	arena []byte // copies of the chunk's strings and bytes
	cell  []byte
}

func newParquetResults(w io.Writer, cols []Column) (*parquetResults, error) {
	names := make([]string, len(cols))
	nodes := make([]parquet.Node, len(cols))
	for j, c := range cols {
		names[j] = c.Name
		nodes[j] = resultNode(c.Type)
	}
	return &parquetResults{cols: cols, file: newParquetFile(w, names, nodes)}, nil
}

// WriteRow adds one row.
func (p *parquetResults) WriteRow(row []any) error {
	if p.file.closed {
		return ErrClosed
	}
	if err := checkRow(row, p.cols); err != nil {
		return err
	}
	start := len(p.vals)
	for j, v := range row {
		pv, err := p.value(j, v)
		if err != nil {
			p.vals = p.vals[:start]
			return err
		}
		p.vals = append(p.vals, pv)
	}
	p.rows = append(p.rows, nil) // sliced from vals when written
	if len(p.rows) >= parquetChunkRows {
		return p.flushChunk()
	}
	return nil
}

// flushChunk writes the gathered rows.
func (p *parquetResults) flushChunk() error {
	if len(p.rows) == 0 {
		return nil
	}
	nc := len(p.cols)
	for i := range p.rows {
		p.rows[i] = p.vals[i*nc : (i+1)*nc : (i+1)*nc]
	}
	err := p.file.write(p.rows)
	clear(p.vals)
	p.vals, p.rows, p.arena = p.vals[:0], p.rows[:0], p.arena[:0]
	return err
}

// Close writes the last rows and the footer.
func (p *parquetResults) Close() error {
	if p.file.closed {
		return nil
	}
	if err := p.flushChunk(); err != nil {
		_ = p.file.close()
		return err
	}
	return p.file.close()
}

// bytesValue copies b into the arena (the caller may reuse b) and returns
// a value over the copy. Earlier values keep pointing at the old backing
// array when the arena grows, which stays valid and unchanged.
func (p *parquetResults) bytesValue(b []byte, j int) parquet.Value {
	start := len(p.arena)
	p.arena = append(p.arena, b...)
	return parquet.ByteArrayValue(p.arena[start:len(p.arena):len(p.arena)]).Level(0, 1, j)
}

// value converts v for column j.
func (p *parquetResults) value(j int, v any) (parquet.Value, error) {
	null := parquet.NullValue().Level(0, 0, j)
	if v == nil || isNilPointer(v) {
		return null, nil
	}
	if e, ok := deref(v); ok {
		v = e
	}
	c := p.cols[j]
	bad := func() (parquet.Value, error) {
		return null, fmt.Errorf("output: parquet column %q (%s): cannot write %T value %v", c.Name, c.Type, v, v)
	}
	switch c.Type {
	case TypeInt, TypeEpoch, TypeInt32:
		x, ok := toInt64(v)
		if !ok {
			return bad()
		}
		if c.Type == TypeInt32 {
			if x < math.MinInt32 || x > math.MaxInt32 {
				return bad()
			}
			return parquet.Int32Value(int32(x)).Level(0, 1, j), nil
		}
		return parquet.Int64Value(x).Level(0, 1, j), nil
	case TypeBigInt:
		var buf [16]byte
		if !int128Bytes(&buf, v) {
			return bad()
		}
		start := len(p.arena)
		p.arena = append(p.arena, buf[:]...)
		return parquet.FixedLenByteArrayValue(p.arena[start:len(p.arena):len(p.arena)]).Level(0, 1, j), nil
	case TypeFloat:
		f, ok := toFloat64(v)
		if !ok {
			return bad()
		}
		return parquet.DoubleValue(f).Level(0, 1, j), nil
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		return parquet.BooleanValue(b).Level(0, 1, j), nil
	case TypeTime:
		t, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return parquet.Int64Value(t.UnixMicro()).Level(0, 1, j), nil
	case TypeDate:
		t, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		y, m, d := t.Date()
		days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
		return parquet.Int32Value(int32(days)).Level(0, 1, j), nil
	case TypeBytes:
		switch b := v.(type) {
		case []byte:
			return p.bytesValue(b, j), nil
		case string:
			start := len(p.arena)
			p.arena = append(p.arena, b...)
			return parquet.ByteArrayValue(p.arena[start:len(p.arena):len(p.arena)]).Level(0, 1, j), nil
		}
		return bad()
	}
	var ok bool
	p.cell, ok = appendText(p.cell[:0], v, c.Type)
	if !ok {
		return null, nil
	}
	return p.bytesValue(p.cell, j), nil
}

// toInt64 converts Go integers (and integral floats) to int64.
func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case uint32:
		return int64(x), true
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case *big.Int:
		if x != nil && x.IsInt64() {
			return x.Int64(), true
		}
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// toFloat64 converts numbers and decimals to float64.
func toFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case uint64:
		return float64(x), true
	case floater:
		return x.Float64(), true
	}
	if i, ok := toInt64(v); ok {
		return float64(i), true
	}
	return 0, false
}

// decimal38 is 10^38, the first integer DECIMAL(38,0) cannot hold.
var decimal38 = new(big.Int).Exp(big.NewInt(10), big.NewInt(38), nil)

// two128 is 2^128, used to form two's complement.
var two128 = new(big.Int).Lsh(big.NewInt(1), 128)

// int128Bytes writes an integer as 16 big-endian two's-complement bytes.
func int128Bytes(buf *[16]byte, v any) bool {
	if u, ok := v.(uint64); ok {
		binary.BigEndian.PutUint64(buf[8:], u)
		return true
	}
	if x, ok := v.(*big.Int); ok {
		if new(big.Int).Abs(x).Cmp(decimal38) >= 0 {
			return false
		}
		if x.Sign() >= 0 {
			x.FillBytes(buf[:])
		} else {
			new(big.Int).Add(x, two128).FillBytes(buf[:])
		}
		return true
	}
	i, ok := toInt64(v)
	if !ok {
		return false
	}
	hi := uint64(0)
	if i < 0 {
		hi = math.MaxUint64
	}
	binary.BigEndian.PutUint64(buf[:8], hi)
	binary.BigEndian.PutUint64(buf[8:], uint64(i))
	return true
}
