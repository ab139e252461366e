package awsparquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// Records from the AWS documentation's examples and realistic custom
// formats, in their text form.
var (
	v2Lines = []string{
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
		"2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
		"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
		"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
		"2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
		"2 123456789010 eni-f41c42bf 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010000 1418530070000 ACCEPT OK",
	}
	v5Lines = []string{
		"5 123456789012 eni-0a1b2c3d4e5f6a7b8 10.0.1.5 52.94.76.10 49152 443 6 25 5000 1620000000 1620000060 ACCEPT OK vpc-0a1b2c3d subnet-0a1b2c3d i-0a1b2c3d4e5f6a7b8 19 IPv4 10.0.1.5 52.94.76.10 us-east-1 use1-az1 - - - AMAZON egress 8",
		"5 123456789012 eni-0a1b2c3d4e5f6a7b8 52.94.76.10 10.0.1.5 443 49152 6 20 4000 1620000000 1620000060 ACCEPT OK vpc-0a1b2c3d subnet-0a1b2c3d i-0a1b2c3d4e5f6a7b8 3 IPv4 52.94.76.10 10.0.1.5 us-west-2 usw2-wl1-bos-wlz1 wavelength wlz-1a2b3c4d S3 - ingress -",
		"5 123456789012 eni-0a1b2c3d4e5f6a7b8 - - - - - - - 1620000000 1620000060 - NODATA vpc-0a1b2c3d subnet-0a1b2c3d - - - - - us-east-1 use1-az1 - - - - - -",
	}
	tgwLines = []string{
		"6 TransitGateway 123456789010 tgw-0123456789abcdef0 tgw-attach-0a1b2c3d4e5f60001 123456789010 210987654321 vpc-0a1b2c3d4e5f60001 vpc-0f1e2d3c4b5a60002 subnet-0a1b2c3d4e5f60001 subnet-0f1e2d3c4b5a60002 eni-0a1b2c3d4e5f60001 eni-0f1e2d3c4b5a60002 use1-az1 use1-az2 tgw-attach-0f1e2d3c4b5a60002 10.0.1.15 10.1.2.25 49761 443 6 15 4500 1620000000 1620000060 OK IPv4 0 0 0 0 19 us-east-1 egress - -",
		"6 TransitGateway 123456789010 tgw-0123456789abcdef0 tgw-attach-0a1b2c3d4e5f60001 123456789010 - vpc-0a1b2c3d4e5f60001 - subnet-0a1b2c3d4e5f60001 - eni-0a1b2c3d4e5f60001 - use1-az1 - - 2001:db8::15 2001:db8:2::25 5353 53 17 3 300 1620000000 1620000060 OK IPv6 2 1 0 4 - us-east-1 ingress - AMAZON",
	}
	v11Format = flowlog.MustFormat("version interface-id srcaddr dstaddr action reject-reason resource-id encryption-status instance-tag interface-type next-hop-vpc-id start end")
	v11Lines  = []string{
		"11 eni-0a1b2c3d4e5f6a7b8 10.0.1.5 198.51.100.7 REJECT BPA nat-0a1b2c3d4e5f6a7b8 0 web-1 nat_gateway vpc-0f1e2d3c 1620000000 1620000060",
		"11 eni-0a1b2c3d4e5f6a7b8 10.0.1.5 198.51.100.8 ACCEPT - - 3 - interface - 1620000000 1620000060",
	}
)

func TestReadMatchesText(t *testing.T) {
	cases := []struct {
		name   string
		format *flowlog.Format
		lines  []string
	}{
		{"v2 default, NODATA, SKIPDATA, ICMP, IPv6, ms epochs", flowlog.V2, v2Lines},
		{"v5 29 fields", v5Format, v5Lines},
		{"transit gateway default", flowlog.TGW, tgwLines},
		{"v8-v11 fields", v11Format, v11Lines},
	}
	layouts := []struct {
		name string
		opts fileOptions
	}{
		{"data page v2", fileOptions{}},
		{"data page v1", fileOptions{dataPageV1: true}},
		{"dictionary", fileOptions{dict: true}},
		{"lz4 raw", fileOptions{codec: &parquet.Lz4Raw}},
		{"lz4 raw, data page v1, dictionary", fileOptions{codec: &parquet.Lz4Raw, dataPageV1: true, dict: true}},
		{"gzip", fileOptions{codec: &parquet.Gzip}},
		{"zstd", fileOptions{codec: &parquet.Zstd}},
	}
	for _, tc := range cases {
		for _, l := range layouts {
			t.Run(tc.name+"/"+l.name, func(t *testing.T) {
				text := parseText(t, tc.format, tc.lines...)
				want := rowsOf(text)
				data := writeFile(t, awsColumns(tc.format.IDs), want, l.opts)
				res := readAll(data, schema.All())
				if res.err != nil {
					t.Fatalf("Read: %v", res.err)
				}
				if diff := cmp.Diff(want, res.rows); diff != "" {
					t.Errorf("rows differ from the text parser's (-text +parquet):\n%s", diff)
				}
				if diff := cmp.Diff([]schema.Set{text.Present}, res.present); diff != "" {
					t.Errorf("present columns (-text +parquet):\n%s", diff)
				}
				wantStats := flowlog.Stats{Lines: int64(len(tc.lines)), Records: int64(len(tc.lines))}
				if diff := cmp.Diff(wantStats, res.stats); diff != "" {
					t.Errorf("stats (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestReadTolerant covers files written by others than AWS.
func TestReadTolerant(t *testing.T) {
	v2 := awsColumns(flowlog.V2.IDs)
	ints := []string{"version", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end"}
	row := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	good := func(srcport, dstport any) map[string]any {
		return row("version", int64(2), "account_id", "123456789010", "interface_id", "eni-1", "srcaddr", "10.0.0.1",
			"dstaddr", "10.0.0.2", "srcport", srcport, "dstport", dstport, "protocol", int64(6), "packets", int64(10),
			"bytes", int64(840), "start", int64(1439387263), "end", int64(1439387264), "action", "ACCEPT", "log_status", "OK")
	}
	perr := func(line int64, field, value, reason, col string) flowlog.ParseError {
		return flowlog.ParseError{Source: "test.parquet", Line: line, Field: field, Value: value, Reason: reason, Detail: "Parquet column " + col}
	}
	cases := []struct {
		name     string
		cols     []wcol
		in       []map[string]any
		want     []map[string]any
		bad      map[string]int64
		errs     []flowlog.ParseError
		unknown  []string
		wantCols []string // columns present in the batches, when not every v2 one
	}{
		{
			name: "integers as strings with a bad one",
			cols: with(v2, asString, ints...),
			in:   []map[string]any{good("443", "49152"), good("443", "abc"), good("80", "8080")},
			want: []map[string]any{good(int64(443), int64(49152)), good(int64(80), int64(8080))},
			bad:  map[string]int64{flowlog.ReasonInteger: 1},
			errs: []flowlog.ParseError{perr(2, "dstport", "abc", flowlog.ReasonInteger, "dstport")},
		},
		{
			name: "integer string out of range",
			cols: with(v2, asString, ints...),
			in:   []map[string]any{good("2147483648", "1"), good("1", "99999999999999999999")},
			bad:  map[string]int64{flowlog.ReasonRange: 2},
			errs: []flowlog.ParseError{
				perr(1, "srcport", "2147483648", flowlog.ReasonRange, "srcport"),
				perr(2, "dstport", "99999999999999999999", flowlog.ReasonRange, "dstport"),
			},
		},
		{
			name: "dash and empty strings are NULL",
			cols: with(v2, asString, ints...),
			in: []map[string]any{row("version", "2", "account_id", "-", "interface_id", "", "srcaddr", "-", "dstaddr", "",
				"srcport", "-", "dstport", "", "protocol", "-", "packets", "-", "bytes", "", "start", "1", "end", "-",
				"action", "-", "log_status", "NODATA")},
			want: []map[string]any{row("version", int64(2), "start", int64(1), "log_status", "NODATA")},
		},
		{
			name: "pandas None and nan in number and address columns are NULL, kept in string columns",
			cols: with(v2, asString, ints...),
			in: []map[string]any{row("version", "2", "account_id", "None", "srcaddr", "None", "dstaddr", "nan",
				"srcport", "None", "dstport", "NaN", "packets", "null", "bytes", "NULL", "log_status", "NODATA")},
			want: []map[string]any{row("version", int64(2), "account_id", "None", "log_status", "NODATA")},
		},
		{
			name: "hyphenated column names",
			cols: []wcol{{"log-status", schema.FLogStatus, awsType}, {"pkt-srcaddr", schema.FPktSrcAddr, awsType},
				{"tcp-flags", schema.FTCPFlags, awsType}},
			in:       []map[string]any{row("log-status", "OK", "pkt-srcaddr", "10.1.1.1", "tcp-flags", int64(18))},
			want:     []map[string]any{row("log_status", "OK", "pkt_srcaddr", "10.1.1.1", "tcp_flags", int64(18))},
			wantCols: []string{"log_status", "tcp_flags", "pkt_srcaddr"},
		},
		{
			name: "unknown and duplicate columns are ignored and reported",
			cols: []wcol{{"srcaddr", schema.FSrcAddr, awsType}, {"comment", -1, asString},
				{"log_status", schema.FLogStatus, awsType}, {"log-status", schema.FLogStatus, awsType}},
			in:       []map[string]any{row("srcaddr", "10.0.0.1", "comment", "hello", "log_status", "OK", "log-status", "SKIPDATA")},
			want:     []map[string]any{row("srcaddr", "10.0.0.1", "log_status", "SKIPDATA")},
			unknown:  []string{"log_status", "comment"},
			wantCols: []string{"srcaddr", "log_status"},
		},
		{
			name: "millisecond epochs become seconds",
			cols: with(with(v2, asMillis, "end"), asString, "srcport"),
			in: []map[string]any{
				func() map[string]any {
					r := good("1", int64(2))
					r["start"], r["end"] = int64(1439387263000), int64(1439387264999)
					return r
				}(),
			},
			want: []map[string]any{good(int64(1), int64(2))},
		},
		{
			name: "doubles with NaN, fractions and negatives",
			cols: with(v2, asDouble, "packets", "bytes", "srcport"),
			in: []map[string]any{
				good(443.0, int64(1)),
				func() map[string]any { r := good(math.NaN(), int64(1)); r["packets"] = math.NaN(); return r }(),
				func() map[string]any { r := good(443.0, int64(1)); r["bytes"] = 1.5; return r }(),
				func() map[string]any { r := good(443.0, int64(1)); r["bytes"] = -3.0; return r }(),
			},
			want: []map[string]any{
				good(int64(443), int64(1)),
				func() map[string]any { r := good(nil, int64(1)); delete(r, "srcport"); delete(r, "packets"); return r }(),
			},
			bad: map[string]int64{flowlog.ReasonInteger: 1, flowlog.ReasonRange: 1},
			errs: []flowlog.ParseError{
				perr(3, "bytes", "1.5", flowlog.ReasonInteger, "bytes"),
				perr(4, "bytes", "-3", flowlog.ReasonRange, "bytes"),
			},
		},
		{
			name: "protocol and ports as INT64 (Athena bigint), checked against the field's range",
			cols: with(v2, asInt64, "protocol", "srcport", "dstport"),
			in:   []map[string]any{good(int64(443), int64(80)), good(int64(-1), int64(80)), good(int64(1), int64(1<<31))},
			want: []map[string]any{good(int64(443), int64(80))},
			bad:  map[string]int64{flowlog.ReasonRange: 2},
			errs: []flowlog.ParseError{
				perr(2, "srcport", "-1", flowlog.ReasonRange, "srcport"),
				perr(3, "dstport", "2147483648", flowlog.ReasonRange, "dstport"),
			},
		},
		{
			name: "account id stored as INT64",
			cols: with(v2, asInt64, "account_id"),
			in:   []map[string]any{func() map[string]any { r := good(int64(1), int64(2)); r["account_id"] = int64(123456789010); return r }()},
			want: []map[string]any{good(int64(1), int64(2))},
		},
		{
			name: "invalid addresses reject their rows",
			cols: v2,
			in: []map[string]any{
				func() map[string]any { r := good(int64(1), int64(2)); r["srcaddr"] = "10.0.0.256"; return r }(),
				func() map[string]any { r := good(int64(1), int64(2)); r["dstaddr"] = "fe80::1%eth0"; return r }(),
				func() map[string]any { r := good(int64(1), int64(2)); r["dstaddr"] = "010.0.0.1"; return r }(),
				good(int64(1), int64(2)),
			},
			want: []map[string]any{good(int64(1), int64(2))},
			bad:  map[string]int64{flowlog.ReasonAddress: 3},
			errs: []flowlog.ParseError{
				perr(1, "srcaddr", "10.0.0.256", flowlog.ReasonAddress, "srcaddr"),
				perr(2, "dstaddr", "fe80::1%eth0", flowlog.ReasonAddress, "dstaddr"),
				perr(3, "dstaddr", "010.0.0.1", flowlog.ReasonAddress, "dstaddr"),
			},
		},
		{
			name: "several bad values in a row count once, first column in file order wins",
			cols: with(v2, asString, ints...),
			in:   []map[string]any{func() map[string]any { r := good("x", "y"); r["srcaddr"] = "nope"; return r }()},
			bad:  map[string]int64{flowlog.ReasonInteger: 1},
			// Group columns are written in name order: dstport comes first.
			errs: []flowlog.ParseError{perr(1, "dstport", "y", flowlog.ReasonInteger, "dstport")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := writeFile(t, tc.cols, tc.in, fileOptions{})
			res := readAll(data, schema.All())
			if res.err != nil {
				t.Fatalf("Read: %v", res.err)
			}
			if diff := cmp.Diff(tc.want, res.rows, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			var nbad int64
			for _, n := range tc.bad {
				nbad += n
			}
			wantStats := flowlog.Stats{Lines: int64(len(tc.in)), Records: int64(len(tc.in)) - nbad, Bad: nbad, Reasons: tc.bad}
			if diff := cmp.Diff(wantStats, res.stats, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.errs, res.errs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			f, err := Open(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.unknown, f.Unknown(), cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("unknown columns (-want +got):\n%s", diff)
			}
			wantCols := tc.wantCols
			if wantCols == nil {
				for _, id := range flowlog.V2.IDs {
					wantCols = append(wantCols, schema.Fields[id].Column)
				}
			}
			for _, p := range res.present {
				if diff := cmp.Diff(columnNames(schemaSetOf(t, wantCols...)), columnNames(p)); diff != "" {
					t.Errorf("batch columns (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func schemaSetOf(t *testing.T, names ...string) schema.Set {
	t.Helper()
	var s schema.Set
	for _, n := range names {
		f, ok := schema.Lookup(n)
		if !ok {
			t.Fatalf("no field %s", n)
		}
		s.Add(f.ID)
	}
	return s
}

func columnNames(s schema.Set) []string {
	var out []string
	for _, id := range s.IDs() {
		out = append(out, schema.Fields[id].Column)
	}
	return out
}

// TestBatchesFollowRowGroupsAndPages checks batch boundaries, row numbers
// and that values crossing page boundaries land in the right rows.
func TestBatchesFollowRowGroupsAndPages(t *testing.T) {
	const n = 10_000
	cases := []struct {
		name      string
		opts      fileOptions
		rowGroups int
		sizes     []int
	}{
		{"one row group, batches of BatchRows", fileOptions{}, 1, []int{BatchRows, BatchRows, n - 2*BatchRows}},
		{"row groups of 3000 rows, small pages", fileOptions{rowGroupRows: 3000, pageBytes: 2048}, 4, []int{3000, 3000, 3000, 1000}},
		{"row groups of 5000, dictionary, page v1", fileOptions{rowGroupRows: 5000, dict: true, dataPageV1: true, pageBytes: 4096}, 2,
			[]int{BatchRows, 5000 - BatchRows, BatchRows, 5000 - BatchRows}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, want := genFile(t, n, tc.opts)
			f, err := Open(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if f.NumRowGroups() != tc.rowGroups || f.NumRows() != n {
				t.Fatalf("file has %d row groups, %d rows; want %d, %d", f.NumRowGroups(), f.NumRows(), tc.rowGroups, n)
			}
			res := readAll(data, schema.All())
			if res.err != nil {
				t.Fatal(res.err)
			}
			if diff := cmp.Diff(tc.sizes, res.sizes); diff != "" {
				t.Errorf("batch sizes (-want +got):\n%s", diff)
			}
			var wantLines []int64
			line := int64(1)
			for _, s := range tc.sizes {
				wantLines = append(wantLines, line)
				line += int64(s)
			}
			if diff := cmp.Diff(wantLines, res.lines); diff != "" {
				t.Errorf("batch first rows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, res.rows); diff != "" {
				t.Errorf("rows differ from the text parser's (-text +parquet):\n%s", diff)
			}
		})
	}
}

// TestBadRowNumbersAcrossRowGroups checks that Line counts rows from the
// start of the file, whichever row group and batch the row is in.
func TestBadRowNumbersAcrossRowGroups(t *testing.T) {
	const n = 9000
	b := parseText(t, v5Format, genLines(n, 2)...)
	rows := rowsOf(b)
	badAt := []int64{1, 3000, 3001, 4097, 8999}
	for _, l := range badAt {
		rows[l-1]["protocol"] = "tcp"
	}
	cols := with(awsColumns(v5Format.IDs), asString, "protocol")
	data := writeFile(t, cols, rows, fileOptions{rowGroupRows: 3000})
	res := readAll(data, schema.All())
	if res.err != nil {
		t.Fatal(res.err)
	}
	var gotLines []int64
	for _, e := range res.errs {
		gotLines = append(gotLines, e.Line)
	}
	if diff := cmp.Diff(badAt, gotLines); diff != "" {
		t.Errorf("bad row numbers (-want +got):\n%s", diff)
	}
	if res.stats.Bad != int64(len(badAt)) || res.stats.Records != n-int64(len(badAt)) || res.stats.Lines != n {
		t.Errorf("stats = %+v", res.stats)
	}
	var want []map[string]any
	for i, r := range rowsOf(b) {
		keep := true
		for _, l := range badAt {
			if int64(i+1) == l {
				keep = false
			}
		}
		if keep {
			want = append(want, r)
		}
	}
	if diff := cmp.Diff(want, res.rows); diff != "" {
		t.Errorf("good rows (-want +got):\n%s", diff)
	}
}

func TestErrorsKeptAreBounded(t *testing.T) {
	var in []map[string]any
	for range 40 {
		in = append(in, map[string]any{"srcport": "bad"})
	}
	data := writeFile(t, []wcol{{"srcport", schema.FSrcPort, asString}}, in, fileOptions{})
	res := readAll(data, schema.All())
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.errs) != MaxErrors || res.stats.Bad != 40 || res.stats.Reasons[flowlog.ReasonInteger] != 40 {
		t.Errorf("kept %d errors, stats %+v; want %d kept, 40 bad", len(res.errs), res.stats, MaxErrors)
	}
	if len(res.sizes) != 0 {
		t.Errorf("emitted %d empty batches; want none", len(res.sizes))
	}
}

// recordingReaderAt remembers the byte ranges read.
type recordingReaderAt struct {
	r      *bytes.Reader
	mu     sync.Mutex
	ranges [][2]int64
}

func (r *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	r.ranges = append(r.ranges, [2]int64{off, off + int64(len(p))})
	r.mu.Unlock()
	return r.r.ReadAt(p, off)
}

func TestProjection(t *testing.T) {
	lines := genLines(3000, 3)
	text := parseText(t, v5Format, lines...)
	rows := rowsOf(text)
	// dstport holds text that is not a number: a bad value in a column the
	// caller does not want must not reject anything, because it is never
	// decoded.
	rows[10]["dstport"] = "oops"
	cols := with(awsColumns(v5Format.IDs), asString, "dstport")
	data := writeFile(t, cols, rows, fileOptions{rowGroupRows: 1000})

	want := schema.SetOf(schema.FSrcAddr, schema.FBytes, schema.FStart, schema.FFlowDir,
		schema.MustLookup("tgw-id")) // tgw-id is not in the file: not present
	rec := &recordingReaderAt{r: bytes.NewReader(data)}
	var got []map[string]any
	var present []schema.Set
	stats, errs, err := Read(context.Background(), rec, int64(len(data)), "p.parquet", want, func(b *flowlog.Batch) error {
		got = append(got, rowsOf(b)...)
		present = append(present, b.Present)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Bad != 0 || len(errs) != 0 || stats.Records != 3000 {
		t.Errorf("stats %+v, errors %v; want 3000 records, none bad", stats, errs)
	}
	wantPresent := schema.SetOf(schema.FSrcAddr, schema.FBytes, schema.FStart, schema.FFlowDir)
	for _, p := range present {
		if p != wantPresent {
			t.Errorf("batch columns %v; want %v", columnNames(p), columnNames(wantPresent))
		}
	}
	var wantRows []map[string]any
	for _, r := range rowsOf(text) {
		m := map[string]any{}
		for _, k := range []string{"srcaddr", "bytes", "start", "flow_direction"} {
			if v, ok := r[k]; ok {
				m[k] = v
			}
		}
		wantRows = append(wantRows, m)
	}
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("projected rows (-want +got):\n%s", diff)
	}

	// No read may touch the chunks of columns that were not wanted.
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md := f.pf.Metadata()
	for rg := range md.RowGroups {
		for _, cc := range md.RowGroups[rg].Columns {
			name := cc.MetaData.PathInSchema[0]
			fd, _ := schema.Lookup(name)
			if wantPresent.Has(fd.ID) {
				continue
			}
			start := cc.MetaData.DataPageOffset
			if cc.MetaData.DictionaryPageOffset != 0 && cc.MetaData.DictionaryPageOffset < start {
				start = cc.MetaData.DictionaryPageOffset
			}
			end := start + cc.MetaData.TotalCompressedSize
			for _, r := range rec.ranges {
				if r[0] < end && r[1] > start {
					t.Errorf("read [%d,%d) overlaps unwanted column %s chunk [%d,%d) of row group %d", r[0], r[1], name, start, end, rg)
				}
			}
		}
	}

	// Wanting dstport decodes it, and the bad value now rejects its row.
	res := readAll(data, schema.SetOf(schema.FDstPort))
	if res.stats.Bad != 1 || len(res.errs) != 1 || res.errs[0].Line != 11 {
		t.Errorf("with dstport wanted: stats %+v, errors %v; want row 11 bad", res.stats, res.errs)
	}
}

func TestReadNoWantedColumns(t *testing.T) {
	data, _ := genFile(t, 5000, fileOptions{rowGroupRows: 2000})
	res := readAll(data, schema.SetOf(schema.MustLookup("tgw-id")))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if diff := cmp.Diff([]int{2000, 2000, 1000}, res.sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if res.stats.Records != 5000 {
		t.Errorf("records = %d; want 5000", res.stats.Records)
	}
}

func TestReadFailures(t *testing.T) {
	good, _ := genFile(t, 100, fileOptions{})
	boolAddr := writeFile(t, []wcol{{"srcaddr", schema.FSrcAddr, asBoolean}, {"log_status", schema.FLogStatus, awsType}},
		[]map[string]any{{"srcaddr": true, "log_status": "OK"}}, fileOptions{})
	noFlow := writeFile(t, []wcol{{"name", -1, asString}}, []map[string]any{{"name": "x"}}, fileOptions{})
	errStop := errors.New("stop")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		data    []byte
		want    schema.Set
		emitErr error
		is      error  // errors.Is target, when set
		substr  string // else a part of the message
	}{
		{name: "not Parquet", data: []byte("2 123 eni-1 - - - - - - - 1 2 - NODATA\n"), want: schema.All(), substr: "opening Parquet file"},
		{name: "truncated", data: good[:len(good)/2], want: schema.All(), substr: "opening Parquet file"},
		{name: "no flow-log columns", data: noFlow, want: schema.All(), substr: "no flow-log columns"},
		{name: "column type cannot hold its field", data: boolAddr, want: schema.All(), substr: "column srcaddr"},
		{name: "emit error stops the read", data: good, want: schema.All(), emitErr: errStop, is: errStop},
		{name: "cancelled context", ctx: cancelled, data: good, want: schema.All(), is: context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, _, err := Read(ctx, bytes.NewReader(tc.data), int64(len(tc.data)), "x.parquet", tc.want,
				func(*flowlog.Batch) error { return tc.emitErr })
			if err == nil {
				t.Fatal("Read succeeded; want an error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if tc.substr != "" && !bytes.Contains([]byte(err.Error()), []byte(tc.substr)) {
				t.Errorf("error %q does not mention %q", err, tc.substr)
			}
			if !bytes.HasPrefix([]byte(err.Error()), []byte("x.parquet: ")) {
				t.Errorf("error %q does not name the source", err)
			}
		})
	}
	// A column of a type that cannot hold its field is fine when unwanted.
	res := readAll(boolAddr, schema.SetOf(schema.FLogStatus))
	if res.err != nil || len(res.rows) != 1 {
		t.Errorf("reading only log_status: %v, %d rows", res.err, len(res.rows))
	}
}

func TestIsParquet(t *testing.T) {
	good, _ := genFile(t, 1, fileOptions{})
	cases := []struct {
		name string
		head []byte
		want bool
	}{
		{"Parquet file", good[:16], true},
		{"magic only", []byte("PAR1"), true},
		{"short", []byte("PAR"), false},
		{"text log", []byte("version account-id"), false},
		{"gzip", []byte{0x1f, 0x8b, 8, 0}, false},
		{"empty", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsParquet(tc.head); got != tc.want {
				t.Errorf("IsParquet(%q) = %v; want %v", tc.head, got, tc.want)
			}
		})
	}
}

// TestCorruptFilesAreRefused checks that declared sizes are verified before
// anything is allocated from them: each of these files would otherwise make
// parquet-go allocate gigabytes (the LZ4 one until the process dies).
func TestCorruptFilesAreRefused(t *testing.T) {
	text := parseText(t, flowlog.V2, v2Lines...)
	lz4File := writeFile(t, awsColumns(flowlog.V2.IDs), rowsOf(text), fileOptions{codec: &parquet.Lz4Raw})

	// firstPage finds the first page of column col: its offset and header length.
	firstPage := func(t *testing.T, data []byte, col string) (int64, int, *format.PageHeader) {
		t.Helper()
		f, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, cc := range f.pf.Metadata().RowGroups[0].Columns {
			if cc.MetaData.PathInSchema[0] != col {
				continue
			}
			off := cc.MetaData.DataPageOffset
			var h format.PageHeader
			var proto thrift.CompactProtocol
			var scratch []byte
			n, err := readPageHeader(bytes.NewReader(data), off, int64(len(data)), &proto, &h, &scratch)
			if err != nil {
				t.Fatal(err)
			}
			return off, n, &h
		}
		t.Fatalf("no column %s", col)
		return 0, 0, nil
	}
	cases := []struct {
		name   string
		mangle func(t *testing.T, data []byte) []byte
		want   schema.Set
		substr string
	}{
		{
			name: "footer length past the file",
			mangle: func(t *testing.T, data []byte) []byte {
				binary.LittleEndian.PutUint32(data[len(data)-8:], 0xfffffff0)
				return data
			},
			want:   schema.All(),
			substr: "footer of 4294967280 bytes",
		},
		{
			name: "LZ4 page that does not decompress",
			mangle: func(t *testing.T, data []byte) []byte {
				off, n, h := firstPage(t, data, "srcaddr")
				body := data[off+int64(n) : off+int64(n)+int64(h.CompressedPageSize)]
				if v2 := h.DataPageHeaderV2; v2.Valid {
					body = body[v2.V.DefinitionLevelsByteLength+v2.V.RepetitionLevelsByteLength:]
				}
				for i := range body {
					body[i] = 0xff
				}
				return data
			},
			want:   schema.SetOf(schema.FSrcAddr),
			substr: "LZ4 page does not decompress",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.mangle(t, bytes.Clone(lz4File))
			res := readAll(data, tc.want)
			if !errors.Is(res.err, errCorrupt) {
				t.Fatalf("Read error %v; want a corrupt-file error", res.err)
			}
			if !bytes.Contains([]byte(res.err.Error()), []byte(tc.substr)) {
				t.Errorf("error %q does not say %q", res.err, tc.substr)
			}
		})
	}
	// The damaged column is not read when it is not wanted.
	data := cases[1].mangle(t, bytes.Clone(lz4File))
	if res := readAll(data, schema.SetOf(schema.FDstAddr)); res.err != nil || len(res.rows) != len(v2Lines) {
		t.Errorf("reading an intact column: %v, %d rows", res.err, len(res.rows))
	}
}
