package output

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"io"
	"math"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// parseFile parses a testdata file into a batch with every field stored.
func parseFile(t testing.TB, name string) *flowlog.Batch {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := flowlog.NewParser(flowlog.V2, schema.All())
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk(data, b, &ch)
	if ch.Stats.Bad != 0 || b.N == 0 {
		t.Fatalf("%s: %d records, %d bad: %v", name, b.N, ch.Stats.Bad, ch.Errors)
	}
	return b
}

// testFields is the projection the golden tests use: the fields of
// records.log in file order, plus vpc-id, which neither input has.
func testFields(t testing.TB) []int {
	t.Helper()
	var ids []int
	for _, n := range strings.Fields("version account-id interface-id srcaddr dstaddr srcport dstport protocol " +
		"packets bytes start end action log-status instance-tag flow-direction vpc-id") {
		f, ok := schema.Lookup(n)
		if !ok {
			t.Fatalf("unknown field %s", n)
		}
		ids = append(ids, f.ID)
	}
	return ids
}

// testBatches returns a batch with v2 and later fields (NULLs, IPv6,
// NODATA, SKIPDATA, a value with a comma and quotes, non-ASCII text) and a
// plain v2 batch, which lacks the later fields.
func testBatches(t testing.TB) []*flowlog.Batch {
	return []*flowlog.Batch{parseFile(t, "records.log"), parseFile(t, "records-v2.log")}
}

// expectedRows reads the projected values straight from the batches, the
// way the writers must see them: nil, int64, netip.Addr or string.
func expectedRows(batches []*flowlog.Batch, fields []int) [][]any {
	var rows [][]any
	for _, b := range batches {
		for i := 0; i < b.N; i++ {
			row := make([]any, len(fields))
			for j, id := range fields {
				row[j] = b.Value(id, i)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func writeRecords(t testing.TB, f Format, fields []int, batches []*flowlog.Batch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewRecordWriter(f, &buf, fields)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestRecordGolden(t *testing.T) {
	fields := testFields(t)
	batches := testBatches(t)
	for _, tc := range []struct {
		name   string
		format Format
		golden string
	}{
		{"table", Table, "records.golden.table"},
		{"csv", CSV, "records.golden.csv"},
		{"json", JSON, "records.golden.json"},
		{"ndjson", NDJSON, "records.golden.ndjson"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.golden, writeRecords(t, tc.format, fields, batches))
		})
	}
}

// jsonValue is how a batch value must decode from the JSON output.
func jsonValue(v any) any {
	switch x := v.(type) {
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case netip.Addr:
		return x.String()
	}
	return v
}

func decodeObjects(t *testing.T, data []byte, array bool) []map[string]any {
	t.Helper()
	var objs []map[string]any
	if array {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&objs); err != nil {
			t.Fatalf("invalid JSON: %v\n%s", err, data)
		}
		if dec.More() {
			t.Fatalf("data after the JSON array")
		}
		return objs
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("line %d: invalid JSON: %v\n%s", i+1, err, line)
		}
		objs = append(objs, o)
	}
	return objs
}

func TestRecordJSONDecodes(t *testing.T) {
	fields := testFields(t)
	batches := testBatches(t)
	var want []map[string]any
	for _, row := range expectedRows(batches, fields) {
		o := make(map[string]any)
		for j, id := range fields {
			o[schema.Fields[id].Column] = jsonValue(row[j])
		}
		want = append(want, o)
	}
	for _, tc := range []struct {
		name   string
		format Format
		array  bool
	}{
		{"json", JSON, true},
		{"ndjson", NDJSON, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeObjects(t, writeRecords(t, tc.format, fields, batches), tc.array)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded rows differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordCSVParses(t *testing.T) {
	fields := testFields(t)
	batches := testBatches(t)
	var header []string
	for _, id := range fields {
		header = append(header, schema.Fields[id].Column)
	}
	want := [][]string{header}
	for _, row := range expectedRows(batches, fields) {
		rec := make([]string, len(row))
		for j, v := range row {
			if v != nil {
				rec[j] = toString(v)
			}
		}
		want = append(want, rec)
	}
	got, err := csv.NewReader(bytes.NewReader(writeRecords(t, CSV, fields, batches))).ReadAll()
	if err != nil {
		t.Fatalf("invalid CSV: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV rows differ (-want +got):\n%s", diff)
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case netip.Addr:
		return x.String()
	case string:
		return x
	}
	panic("unexpected value")
}

func TestEmptyOutput(t *testing.T) {
	fields := []int{schema.FSrcAddr, schema.FBytes}
	for _, tc := range []struct {
		format Format
		want   string
	}{
		{Table, "srcaddr  bytes\n-------  -----\n(0 rows)\n"},
		{CSV, "srcaddr,bytes\n"},
		{JSON, "[]\n"},
		{NDJSON, ""},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			got := writeRecords(t, tc.format, fields, nil)
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			var buf bytes.Buffer
			rw, err := NewResultWriter(tc.format, &buf, []Column{{Name: "srcaddr", Type: TypeIP}, {Name: "bytes", Type: TypeInt}})
			if err != nil {
				t.Fatal(err)
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRecordWriterErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		fields []int
		want   string
	}{
		{"no fields", CSV, nil, "no fields"},
		{"unknown id", CSV, []int{schema.NumFields}, "unknown field id"},
		{"negative id", JSON, []int{-1}, "unknown field id"},
		{"duplicate", Parquet, []int{schema.FSrcAddr, schema.FDstAddr, schema.FSrcAddr}, "srcaddr listed twice"},
		{"bad format", Format("xml"), []int{schema.FSrcAddr}, "unknown format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRecordWriter(tc.format, io.Discard, tc.fields)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	b := testBatches(t)[0]
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			w, err := NewRecordWriter(f, io.Discard, []int{schema.FSrcAddr})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteBatch(b); err != ErrClosed {
				t.Errorf("WriteBatch after Close = %v, want ErrClosed", err)
			}
			rw, err := NewResultWriter(f, io.Discard, []Column{{Name: "a"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := rw.WriteRow([]any{"x"}); err != ErrClosed {
				t.Errorf("WriteRow after Close = %v, want ErrClosed", err)
			}
		})
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriteErrorsSurface(t *testing.T) {
	batches := testBatches(t)
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			w, err := NewRecordWriter(f, failWriter{}, testFields(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range batches {
				err = w.WriteBatch(b)
			}
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				t.Fatal("no error from a failing writer")
			}
		})
	}
}

// testDecimal stands in for duckdb.Decimal: a Float64 and an exact String.
type testDecimal struct {
	text string
	f    float64
}

func (d testDecimal) Float64() float64 { return d.f }
func (d testDecimal) String() string   { return d.text }

func sampleResult() *Result {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	cols := []Column{
		{Name: "name", Type: TypeString},
		{Name: "count", Type: TypeInt},
		{Name: "ratio", Type: TypeFloat},
		{Name: "ok", Type: TypeBool},
		{Name: "seen", Type: TypeTime},
		{Name: "day", Type: TypeDate},
		{Name: "start", Type: TypeEpoch},
		{Name: "addr", Type: TypeIP},
		{Name: "blob", Type: TypeBytes},
		{Name: "total", Type: TypeBigInt},
		{Name: "port", Type: TypeInt32},
		{Name: "name", Type: TypeString},
	}
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	rows := [][]any{
		{"plain", int64(42), 0.5, true, time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC), day,
			int64(1620000000), netip.MustParseAddr("10.0.0.1"), []byte("abc"), big70, int32(443), "dup"},
		{"needs \"quotes\", commas\nand a newline", int64(-7), 1e21, false,
			time.Date(2024, 3, 1, 12, 30, 0, 123456000, time.UTC), day, int32(0),
			netip.MustParseAddr("2001:db8::1"), []byte{0xff, 0x00}, big.NewInt(-5), int32(0), ""},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{"café 東京 \x1b[31mred", int64(math.MaxInt64), testDecimal{"12.50", 12.5}, true,
			time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), day.AddDate(0, 0, 1), uint32(1700000000),
			"192.0.2.1", "text", int64(-1), uint16(8080), strings.Repeat("long ", 20)},
	}
	return &Result{Columns: cols, Rows: rows}
}

func TestResultGolden(t *testing.T) {
	r := sampleResult()
	for _, tc := range []struct {
		name   string
		format Format
		golden string
	}{
		{"table", Table, "results.golden.table"},
		{"csv", CSV, "results.golden.csv"},
		{"json", JSON, "results.golden.json"},
		{"ndjson", NDJSON, "results.golden.ndjson"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.Write(tc.format, &buf); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.golden, buf.Bytes())
		})
	}
}

func TestResultJSONTypes(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleResult().Write(JSON, &buf); err != nil {
		t.Fatal(err)
	}
	got := decodeObjects(t, buf.Bytes(), true)
	want := []map[string]any{
		{"name": "plain", "count": json.Number("42"), "ratio": json.Number("0.5"), "ok": true,
			"seen": "2024-03-01T12:30:00Z", "day": "2024-03-01", "start": json.Number("1620000000"),
			"addr": "10.0.0.1", "blob": "abc", "total": json.Number("1180591620717411303424"),
			"port": json.Number("443"), "name_2": "dup"},
		{"name": "needs \"quotes\", commas\nand a newline", "count": json.Number("-7"), "ratio": json.Number("1e+21"),
			"ok": false, "seen": "2024-03-01T12:30:00.123456Z", "day": "2024-03-01", "start": json.Number("0"),
			"addr": "2001:db8::1", "blob": `\xff00`, "total": json.Number("-5"), "port": json.Number("0"), "name_2": ""},
		{"name": nil, "count": nil, "ratio": nil, "ok": nil, "seen": nil, "day": nil, "start": nil,
			"addr": nil, "blob": nil, "total": nil, "port": nil, "name_2": nil},
		{"name": "café 東京 \x1b[31mred", "count": json.Number("9223372036854775807"), "ratio": json.Number("12.50"),
			"ok": true, "seen": "1999-12-31T23:59:59Z", "day": "2024-03-02", "start": json.Number("1700000000"),
			"addr": "192.0.2.1", "blob": "text", "total": json.Number("-1"), "port": json.Number("8080"),
			"name_2": strings.Repeat("long ", 20)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded result differs (-want +got):\n%s", diff)
	}
}

func TestResultWriterRowLength(t *testing.T) {
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			w, err := NewResultWriter(f, io.Discard, []Column{{Name: "a"}, {Name: "b"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteRow([]any{"x"}); err == nil || !strings.Contains(err.Error(), "1 values") {
				t.Errorf("short row error = %v", err)
			}
		})
	}
}

func TestJSONEdgeValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"nan", math.NaN(), "null"},
		{"inf", math.Inf(-1), "null"},
		{"small float", 1e-7, "1e-7"},
		{"float32", float32(0.1), "0.1"},
		{"invalid utf8", "a\xffb", `"a\ufffdb"`},
		{"control", "\x01\t", `"\u0001\t"`},
		{"line separator", "a\u2028b", `"a\u2028b"`},
		{"nil pointer", (*int64)(nil), "null"},
		{"pointer", ptr(int64(5)), "5"},
		{"list", []any{int64(1), "a"}, `[1,"a"]`},
		{"map", map[string]any{"k": int64(1)}, `{"k":1}`},
		{"decimal text not a number", testDecimal{"1,5", 1.5}, "1.5"},
		{"invalid address", netip.Addr{}, "null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendJSONValue(nil, tc.v, TypeString))
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("%s is not valid JSON", got)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCSVQuoting(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"", `""`},
		{"a,b", `"a,b"`},
		{`say "hi"`, `"say ""hi"""`},
		{"two\nlines", "\"two\nlines\""},
		{"cr\r", "\"cr\r\""},
		{"café", "café"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := string(appendCSV(nil, []byte(tc.in)))
			if got != tc.want {
				t.Errorf("appendCSV(%q) = %s, want %s", tc.in, got, tc.want)
			}
			rec, err := csv.NewReader(strings.NewReader(got + "\n")).Read()
			if err != nil || len(rec) != 1 || rec[0] != tc.in {
				t.Errorf("encoding/csv reads %q back as %q (%v)", got, rec, err)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"table", Table, false},
		{"CSV", CSV, false},
		{" json ", JSON, false},
		{"ndjson", NDJSON, false},
		{"jsonl", NDJSON, false},
		{"parquet", Parquet, false},
		{"xml", "", true},
		{"", "", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormat(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseFormat(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
	if DefaultFormat(true) != Table || DefaultFormat(false) != CSV {
		t.Errorf("DefaultFormat: terminal %q, pipe %q", DefaultFormat(true), DefaultFormat(false))
	}
}

func TestDatabaseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Type
	}{
		{"VARCHAR", TypeString},
		{"BIGINT", TypeInt},
		{"INTEGER", TypeInt32},
		{"HUGEINT", TypeBigInt},
		{"UBIGINT", TypeBigInt},
		{"DECIMAL(18,3)", TypeFloat},
		{"DOUBLE", TypeFloat},
		{"BOOLEAN", TypeBool},
		{"TIMESTAMP WITH TIME ZONE", TypeTime},
		{"TIMESTAMP", TypeTime},
		{"DATE", TypeDate},
		{"BLOB", TypeBytes},
		{"Nullable(Int64)", TypeInt},
		{"LowCardinality(Nullable(String))", TypeString},
		{"UInt16", TypeInt32},
		{"UInt64", TypeBigInt},
		{"DateTime64(3, 'UTC')", TypeTime},
		{"IPv6", TypeIP},
		{"STRUCT(a INTEGER)", TypeString},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := DatabaseType(tc.in); got != tc.want {
				t.Errorf("DatabaseType(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestFieldColumns(t *testing.T) {
	got := FieldColumns([]int{schema.FSrcAddr, schema.FSrcPort, schema.FBytes, schema.FStart, schema.FAction})
	want := []Column{
		{Name: "srcaddr", Type: TypeIP},
		{Name: "srcport", Type: TypeInt32},
		{Name: "bytes", Type: TypeInt},
		{Name: "start", Type: TypeEpoch},
		{Name: "action", Type: TypeString},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FieldColumns (-want +got):\n%s", diff)
	}
}

func TestUniqueNames(t *testing.T) {
	got := uniqueNames([]Column{{Name: "a"}, {Name: "a"}, {Name: ""}, {Name: "a_2"}, {Name: "a"}})
	want := []string{"a", "a_2", "col3", "a_2_2", "a_3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("uniqueNames (-want +got):\n%s", diff)
	}
}

func TestTextValues(t *testing.T) {
	type pair struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		name   string
		v      any
		typ    Type
		want   string
		isNull bool
	}{
		{"nil", nil, TypeString, "", true},
		{"nil pointer", (*string)(nil), TypeString, "", true},
		{"nil big", (*big.Int)(nil), TypeBigInt, "", true},
		{"nil bytes", []byte(nil), TypeBytes, "", true},
		{"invalid address", netip.Addr{}, TypeIP, "", true},
		{"pointer", ptr("x"), TypeString, "x", false},
		{"uint64", uint64(math.MaxUint64), TypeBigInt, "18446744073709551615", false},
		{"float32", float32(0.1), TypeFloat, "0.1", false},
		{"large float", 1e300, TypeFloat, "1e+300", false},
		{"date", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), TypeDate, "2024-03-01", false},
		{"time with zone", time.Date(2024, 3, 1, 1, 2, 3, 0, time.FixedZone("", 3600)), TypeTime, "2024-03-01T01:02:03+01:00", false},
		{"ipv4-mapped", netip.MustParseAddr("::ffff:10.0.0.1"), TypeIP, "::ffff:10.0.0.1", false},
		{"list", []any{int64(1), "a"}, TypeString, `[1,"a"]`, false},
		{"map", map[string]any{"k": int64(1)}, TypeString, `{"k":1}`, false},
		{"struct", pair{A: 3}, TypeString, `{"a":3}`, false},
		{"stringer", testDecimal{"1.25", 1.25}, TypeFloat, "1.25", false},
		{"binary", []byte{0, 0xab}, TypeBytes, `\x00ab`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := appendText(nil, tc.v, tc.typ)
			if string(got) != tc.want || ok == tc.isNull {
				t.Errorf("appendText(%#v) = %q, %v; want %q, %v", tc.v, got, ok, tc.want, !tc.isNull)
			}
		})
	}
}
