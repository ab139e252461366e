//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// arrowLoader hands the stage to DuckDB as an Arrow stream without copying:
// the Arrow buffers point into the stage's slices, DuckDB scans them as a
// view and `INSERT INTO <part> SELECT ... FROM` the view. The stream is cut
// into record batches so that DuckDB's threads convert them in parallel.
//
// The view must be read whole and in schema order: with duckdb-go
// v2.10506.0 a query that projects a subset of its columns reads the wrong
// Arrow children (and crashes on strings), because the stream hands DuckDB
// every column while DuckDB assumes the projection was applied.
type arrowLoader struct{}

// arrowView is the name of the view the stage is registered as.
const arrowView = "flowlens_stage"

// arrowBatchRows is the size of the record batches (a multiple of 8, so
// that the validity bitmaps can be sliced on byte boundaries).
const arrowBatchRows = 1 << 16

func (arrowLoader) name() string { return "arrow" }

func (arrowLoader) prepare(context.Context, *sql.DB) error { return nil }

func (arrowLoader) load(ctx context.Context, conn *sql.Conn, st *stage, table string, ingestedAt int64) (err error) {
	sch, recs := arrowRecords(st)
	rdr, err := array.NewRecordReader(sch, recs)
	for _, r := range recs {
		r.Release()
	}
	if err != nil {
		return fmt.Errorf("arrow records: %w", err)
	}
	defer rdr.Release()
	var release func()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("not a DuckDB connection")
		}
		a, err := duckdb.NewArrowFromConn(c)
		if err != nil {
			return err
		}
		release, err = a.RegisterView(rdr, arrowView)
		return err
	})
	if err != nil {
		return fmt.Errorf("register arrow view: %w", err)
	}
	defer func() {
		// Drop the view before its stream goes away.
		_, derr := conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+arrowView)
		release()
		if err == nil && derr != nil {
			err = fmt.Errorf("drop arrow view: %w", derr)
		}
	}()
	if _, err := conn.ExecContext(ctx, insertSQL(table, stageColumns(st), arrowView), ingestedAt); err != nil {
		return err
	}
	return nil
}

// bytesOf views a slice's memory as bytes.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

var (
	ipBinType  = &arrow.FixedSizeBinaryType{ByteWidth: 16}
	sourceType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
)

// arrowType maps a field type to the Arrow type its values are staged as.
func arrowType(t schema.Type) arrow.DataType {
	switch t {
	case schema.Int32:
		return arrow.PrimitiveTypes.Int32
	case schema.Bool:
		return arrow.FixedWidthTypes.Boolean
	case schema.Int64, schema.Time:
		return arrow.PrimitiveTypes.Int64
	}
	return arrow.BinaryTypes.String
}

// arrowRecords builds record batches over the stage's memory, with the
// columns of stageColumns.
func arrowRecords(st *stage) (*arrow.Schema, []arrow.RecordBatch) {
	var fields []arrow.Field
	for _, id := range st.used {
		f := schema.Col(id)
		fields = append(fields, arrow.Field{Name: f.Column, Type: arrowType(f.Type), Nullable: true})
		if f.Type == schema.IP {
			fields = append(fields, arrow.Field{Name: f.Column + store.BinSuffix, Type: ipBinType, Nullable: true})
		}
	}
	fields = append(fields, arrow.Field{Name: store.ColSource, Type: sourceType})
	sch := arrow.NewSchema(fields, nil)

	// The dictionary of object IDs is shared by every batch.
	dict := stringArray(st.sources)
	defer dict.Release()

	var recs []arrow.RecordBatch
	for a := 0; a < st.n; a += arrowBatchRows {
		b := min(a+arrowBatchRows, st.n)
		k := b - a
		cols := make([]arrow.Array, 0, len(fields))
		for _, id := range st.used {
			c := &st.cols[id]
			valid, nulls := validity(c, a, b)
			switch c.typ {
			case schema.Int32:
				cols = append(cols, makeArray(arrow.PrimitiveTypes.Int32, k, nulls, valid, buf(bytesOf(c.i32[a:b]))))
			case schema.Bool:
				cols = append(cols, makeArray(arrow.FixedWidthTypes.Boolean, k, nulls, valid, buf(boolBits(c.i32[a:b]))))
			case schema.Int64, schema.Time:
				cols = append(cols, makeArray(arrow.PrimitiveTypes.Int64, k, nulls, valid, buf(bytesOf(c.i64[a:b]))))
			case schema.String:
				cols = append(cols, makeArray(arrow.BinaryTypes.String, k, nulls, valid, buf(bytesOf(c.offs[a:b+1])), buf(c.data)))
			case schema.IP:
				cols = append(cols, makeArray(arrow.BinaryTypes.String, k, nulls, valid, buf(bytesOf(c.offs[a:b+1])), buf(c.data)))
				cols = append(cols, makeArray(ipBinType, k, nulls, valid, buf(c.bin[16*a:16*b])))
			}
		}
		src := array.NewDataWithDictionary(sourceType, k, []*memory.Buffer{nil, buf(bytesOf(st.src[a:b]))}, 0, 0, dict.Data().(*array.Data))
		cols = append(cols, array.MakeFromData(src))
		src.Release()
		recs = append(recs, array.NewRecordBatch(sch, cols, int64(k)))
		for _, c := range cols {
			c.Release()
		}
	}
	return sch, recs
}

// boolBits packs 0/1 values into an Arrow boolean bitmap.
func boolBits(v []int32) []byte {
	bm := make([]byte, (len(v)+7)>>3)
	for i, x := range v {
		if x != 0 {
			bm[i>>3] |= 1 << (i & 7)
		}
	}
	return bm
}

func buf(b []byte) *memory.Buffer { return memory.NewBufferBytes(b) }

// validity returns the bitmap of rows [a, b) of c (nil when c has no
// NULL at all) and the null count to declare.
func validity(c *stageCol, a, b int) (*memory.Buffer, int) {
	if c.nulls == 0 {
		return nil, 0
	}
	return buf(c.valid[a>>3 : (b+7)>>3]), array.UnknownNullCount
}

func makeArray(t arrow.DataType, n, nulls int, valid *memory.Buffer, bufs ...*memory.Buffer) arrow.Array {
	d := array.NewData(t, n, append([]*memory.Buffer{valid}, bufs...), nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// stringArray builds a (copied) string array.
func stringArray(ss []string) arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(ss, nil)
	return b.NewArray()
}
