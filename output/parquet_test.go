package output

import (
	"bytes"
	"errors"
	"io"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// parquetColumn is what a test checks of one column of a Parquet file.
type parquetColumn struct {
	Name     string
	Kind     string // physical type
	Logical  string // logical type, "" for none
	Optional bool
}

// readParquet opens data and returns its columns and rows, each value as
// nil (NULL), int32, int64, float64, bool, string (byte arrays) or []byte
// (fixed-length byte arrays).
func readParquet(t *testing.T, data []byte) ([]parquetColumn, [][]any, *parquet.File) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a valid Parquet file: %v", err)
	}
	var cols []parquetColumn
	for _, fld := range f.Schema().Fields() {
		c := parquetColumn{Name: fld.Name(), Kind: fld.Type().Kind().String(), Optional: fld.Optional()}
		if lt := fld.Type().LogicalType(); lt != nil {
			c.Logical = lt.String()
		}
		cols = append(cols, c)
	}
	r := parquet.NewReader(bytes.NewReader(data))
	defer r.Close()
	var rows [][]any
	buf := make([]parquet.Row, 16)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			out := make([]any, len(cols))
			for _, v := range row {
				out[v.Column()] = parquetValue(v)
			}
			rows = append(rows, out)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if int64(len(rows)) != f.NumRows() {
		t.Fatalf("read %d rows, footer says %d", len(rows), f.NumRows())
	}
	return cols, rows, f
}

func parquetValue(v parquet.Value) any {
	if v.IsNull() {
		return nil
	}
	switch v.Kind() {
	case parquet.Int32:
		return v.Int32()
	case parquet.Int64:
		return v.Int64()
	case parquet.Double:
		return v.Double()
	case parquet.Boolean:
		return v.Boolean()
	case parquet.ByteArray:
		return string(v.ByteArray())
	case parquet.FixedLenByteArray:
		return append([]byte(nil), v.ByteArray()...)
	}
	panic("unexpected kind " + v.Kind().String())
}

func TestParquetRecordsRoundTrip(t *testing.T) {
	fields := testFields(t)
	batches := testBatches(t)
	data := writeRecords(t, Parquet, fields, batches)
	cols, rows, f := readParquet(t, data)

	var wantCols []parquetColumn
	for _, id := range fields {
		fd := schema.Fields[id]
		c := parquetColumn{Name: fd.Column, Optional: true}
		switch fd.Type {
		case schema.Int32:
			c.Kind, c.Logical = "INT32", "INT(32,true)"
		case schema.Int64, schema.Time:
			c.Kind, c.Logical = "INT64", "INT(64,true)"
		default:
			c.Kind, c.Logical = "BYTE_ARRAY", "STRING"
		}
		wantCols = append(wantCols, c)
	}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}

	var want [][]any
	for _, row := range expectedRows(batches, fields) {
		out := make([]any, len(row))
		for j, v := range row {
			switch x := v.(type) {
			case int64:
				if schema.Fields[fields[j]].Type == schema.Int32 {
					out[j] = int32(x)
				} else {
					out[j] = x
				}
			case netip.Addr:
				out[j] = x.String()
			default:
				out[j] = v
			}
		}
		want = append(want, out)
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for _, rg := range f.Metadata().RowGroups {
		for j, cc := range rg.Columns {
			if cc.MetaData.Codec != format.Zstd {
				t.Errorf("column %v compressed with %v, want ZSTD", cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
			dict := slices.Contains(cc.MetaData.Encoding, format.RLEDictionary)
			if wantDict := schema.Fields[fields[j]].Type == schema.String; dict != wantDict {
				t.Errorf("column %v: encodings %v, dictionary %v, want %v", cc.MetaData.PathInSchema, cc.MetaData.Encoding, dict, wantDict)
			}
		}
	}
}

func TestParquetRecordsEmpty(t *testing.T) {
	data := writeRecords(t, Parquet, []int{schema.FSrcAddr, schema.FDstPort}, nil)
	cols, rows, _ := readParquet(t, data)
	if len(rows) != 0 || len(cols) != 2 || cols[0].Name != "srcaddr" || cols[1].Name != "dstport" {
		t.Errorf("empty file: columns %v, %d rows", cols, len(rows))
	}
}

// TestParquetRecordsManyBatches writes enough batches to cross the
// writer's internal chunking and checks every row survives in order.
func TestParquetRecordsManyBatches(t *testing.T) {
	b := benchBatch(t, 3000)
	fields := flowlog.V2.IDs
	var batches []*flowlog.Batch
	for range 5 {
		batches = append(batches, b)
	}
	_, rows, _ := readParquet(t, writeRecords(t, Parquet, fields, batches))
	if len(rows) != 5*b.N {
		t.Fatalf("%d rows, want %d", len(rows), 5*b.N)
	}
	for k := range 5 {
		for _, i := range []int{0, 1, b.N / 2, b.N - 1} {
			got := rows[k*b.N+i]
			want, _ := b.Int(schema.FBytes, i)
			if got[9] != want {
				t.Fatalf("row %d of batch %d: bytes %v, want %d", i, k, got[9], want)
			}
			addr, _ := b.IP(schema.FSrcAddr, i)
			if got[3] != addr.String() {
				t.Fatalf("row %d of batch %d: srcaddr %v, want %s", i, k, got[3], addr)
			}
		}
	}
}

func TestParquetResultsRoundTrip(t *testing.T) {
	r := sampleResult()
	var buf bytes.Buffer
	if err := r.Write(Parquet, &buf); err != nil {
		t.Fatal(err)
	}
	cols, rows, _ := readParquet(t, buf.Bytes())
	wantCols := []parquetColumn{
		{"name", "BYTE_ARRAY", "STRING", true},
		{"count", "INT64", "INT(64,true)", true},
		{"ratio", "DOUBLE", "", true},
		{"ok", "BOOLEAN", "", true},
		{"seen", "INT64", "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)", true},
		{"day", "INT32", "DATE", true},
		{"start", "INT64", "INT(64,true)", true},
		{"addr", "BYTE_ARRAY", "STRING", true},
		{"blob", "BYTE_ARRAY", "", true},
		{"total", "FIXED_LEN_BYTE_ARRAY", "DECIMAL(38,0)", true},
		{"port", "INT32", "INT(32,true)", true},
		{"name_2", "BYTE_ARRAY", "STRING", true},
	}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
	int128 := func(x *big.Int) []byte {
		v := new(big.Int).Set(x)
		if v.Sign() < 0 {
			v.Add(v, new(big.Int).Lsh(big.NewInt(1), 128))
		}
		return v.FillBytes(make([]byte, 16))
	}
	day := int32(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	want := [][]any{
		{"plain", int64(42), 0.5, true, time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC).UnixMicro(), day,
			int64(1620000000), "10.0.0.1", "abc", int128(new(big.Int).Lsh(big.NewInt(1), 70)), int32(443), "dup"},
		{"needs \"quotes\", commas\nand a newline", int64(-7), 1e21, false,
			time.Date(2024, 3, 1, 12, 30, 0, 123456000, time.UTC).UnixMicro(), day, int64(0),
			"2001:db8::1", "\xff\x00", int128(big.NewInt(-5)), int32(0), ""},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{"café 東京 \x1b[31mred", int64(9223372036854775807), 12.5, true,
			time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC).UnixMicro(), day + 1, int64(1700000000),
			"192.0.2.1", "text", int128(big.NewInt(-1)), int32(8080), r.Rows[3][11]},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestParquetResultsConversionErrors(t *testing.T) {
	huge := new(big.Int).Exp(big.NewInt(10), big.NewInt(38), nil)
	for _, tc := range []struct {
		name string
		typ  Type
		v    any
	}{
		{"string as int", TypeInt, "12"},
		{"int32 overflow", TypeInt32, int64(1 << 40)},
		{"uint64 overflow", TypeInt, uint64(1 << 63)},
		{"fraction as int", TypeInt, 1.5},
		{"decimal overflow", TypeBigInt, huge},
		{"string as bool", TypeBool, "true"},
		{"int as time", TypeTime, int64(5)},
		{"int as bytes", TypeBytes, int64(5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewResultWriter(Parquet, io.Discard, []Column{{Name: "c", Type: tc.typ}})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteRow([]any{tc.v}); err == nil {
				t.Errorf("writing %T %v to a %s column succeeded", tc.v, tc.v, tc.typ)
			}
		})
	}
}

// TestParquetResultsReusedRow checks that the writer copies byte values:
// callers (database/sql scans) reuse their buffers between rows.
func TestParquetResultsReusedRow(t *testing.T) {
	var out bytes.Buffer
	w, err := NewResultWriter(Parquet, &out, []Column{{Name: "b", Type: TypeBytes}, {Name: "s", Type: TypeString}})
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("first")
	row := []any{buf, buf}
	if err := w.WriteRow(row); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX")
	if err := w.WriteRow(row); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, rows, _ := readParquet(t, out.Bytes())
	want := [][]any{{"first", "first"}, {"XXXXX", "XXXXX"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// TestParquetDictionaryFallback writes more distinct strings than a
// dictionary may hold, so the column switches to plain encoding mid-way.
func TestParquetDictionaryFallback(t *testing.T) {
	const n = 40000
	value := func(i int) string { return strconv.Itoa(i) + strings.Repeat("x", 40) }
	var buf bytes.Buffer
	w, err := NewResultWriter(Parquet, &buf, []Column{{Name: "s", Type: TypeString}, {Name: "i", Type: TypeInt}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WriteRow([]any{value(i), int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, rows, f := readParquet(t, buf.Bytes())
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	for i, row := range rows {
		if row[0] != value(i) || row[1] != int64(i) {
			t.Fatalf("row %d = %v, want [%s %d]", i, row, value(i), i)
		}
	}
	pages := map[format.Encoding]int32{}
	stats := f.Metadata().RowGroups[0].Columns[0].MetaData.EncodingStats
	for _, st := range stats {
		if st.PageType == format.DataPage || st.PageType == format.DataPageV2 {
			pages[st.Encoding] += st.Count
		}
	}
	if pages[format.RLEDictionary] == 0 || pages[format.Plain] == 0 {
		t.Errorf("page encodings %v: want dictionary data pages, then plain ones after the fallback", stats)
	}
}
