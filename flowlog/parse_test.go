package flowlog_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// acceptSSH is the AWS documentation's accepted SSH record (v2).
const acceptSSH = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"

// acceptSSHRecord is what acceptSSH parses to.
var acceptSSHRecord = record{
	"version": int64(2), "account_id": "123456789010", "interface_id": "eni-1235b8ca123456789",
	"srcaddr": "172.31.16.139", "dstaddr": "172.31.16.21", "srcport": int64(20641), "dstport": int64(22),
	"protocol": int64(6), "packets": int64(20), "bytes": int64(4249), "start": int64(1418530010),
	"end": int64(1418530070), "action": "ACCEPT", "log_status": "OK",
}

// typesFormat has one field of each value type.
const typesFormat = "version account-id srcaddr packets start"

// parseOne parses line with format (a format string, or "" for v2) and
// returns the record, or the rejection reason.
func parseOne(t *testing.T, format, line string) (record, string) {
	t.Helper()
	f := flowlog.V2
	if format != "" {
		var err error
		if f, err = flowlog.ParseFormat(format); err != nil {
			t.Fatal(err)
		}
	}
	p := flowlog.NewParser(f, schema.All())
	b := flowlog.NewBatch()
	b.Reset(p.Present(f))
	if err := p.ParseLine([]byte(line), b); err != nil {
		if b.N != 0 {
			t.Fatalf("rejected line left %d rows", b.N)
		}
		checkRectangular(t, b)
		return nil, err.Reason
	}
	checkRectangular(t, b)
	if b.N != 1 {
		t.Fatalf("%d rows for one line", b.N)
	}
	return stringIPs(records(b))[0], ""
}

// with returns a copy of r with the given columns replaced.
func with(r record, kv ...any) record {
	o := record{}
	for k, v := range r {
		o[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		o[kv[i].(string)] = kv[i+1]
	}
	return o
}

// replaceField replaces the n-th (0-based) space-separated value of line.
func replaceField(line string, n int, v string) string {
	f := strings.Fields(line)
	f[n] = v
	return strings.Join(f, " ")
}

func TestParseLine(t *testing.T) {
	const (
		version  = 0
		srcaddr  = 3
		srcport  = 5
		dstport  = 6
		protocol = 7
		bytes    = 9
		start    = 10
	)
	cases := []struct {
		name   string
		format string // "" is v2
		line   string
		want   record // nil when rejected
		reason string
	}{
		// Splitting.
		{name: "single spaces", line: acceptSSH, want: acceptSSHRecord},
		{name: "tabs", line: strings.ReplaceAll(acceptSSH, " ", "\t"), want: acceptSSHRecord},
		{name: "runs of spaces and tabs", line: strings.ReplaceAll(acceptSSH, " ", "  \t "), want: acceptSSHRecord},
		{name: "CR line end", line: acceptSSH + "\r", want: acceptSSHRecord},
		{name: "leading and trailing blanks", line: " \t " + acceptSSH + " \t\r", want: acceptSSHRecord},
		{name: "other control bytes are not separators", line: strings.Replace(acceptSSH, " ACCEPT", "\vACCEPT", 1), reason: flowlog.ReasonFieldCount},
		{name: "one field missing", line: strings.TrimSuffix(acceptSSH, " OK"), reason: flowlog.ReasonFieldCount},
		{name: "one field too many", line: acceptSSH + " extra", reason: flowlog.ReasonFieldCount},
		{name: "many fields", line: strings.Repeat("1 ", 300), reason: flowlog.ReasonFieldCount},

		// NULLs.
		{name: "dash is NULL for every type", format: typesFormat, line: "- - - - -",
			want: record{"version": nil, "account_id": nil, "srcaddr": nil, "packets": nil, "start": nil}},
		{name: "values of every type", format: typesFormat, line: "2 123456789010 10.0.0.1 9 1418530010",
			want: record{"version": int64(2), "account_id": "123456789010", "srcaddr": "10.0.0.1", "packets": int64(9), "start": int64(1418530010)}},
		{name: "double dash is a string", format: typesFormat, line: "- -- - - -",
			want: record{"version": nil, "account_id": "--", "srcaddr": nil, "packets": nil, "start": nil}},
		{name: "double dash is not an integer", format: typesFormat, line: "-- - - - -", reason: flowlog.ReasonInteger},
		{name: "NODATA record", line: "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
			want: record{"version": int64(2), "account_id": "123456789010", "interface_id": "eni-1235b8ca123456789",
				"srcaddr": nil, "dstaddr": nil, "srcport": nil, "dstport": nil, "protocol": nil, "packets": nil, "bytes": nil,
				"start": int64(1431280876), "end": int64(1431280934), "action": nil, "log_status": "NODATA"}},

		// Integers.
		{name: "zero", line: replaceField(acceptSSH, srcport, "0"), want: with(acceptSSHRecord, "srcport", int64(0))},
		{name: "leading zeros are read as decimal", line: replaceField(acceptSSH, srcport, "00443"), want: with(acceptSSHRecord, "srcport", int64(443))},
		{name: "int32 max", line: replaceField(acceptSSH, version, "2147483647"), want: with(acceptSSHRecord, "version", int64(2147483647))},
		{name: "int32 overflow", line: replaceField(acceptSSH, version, "2147483648"), reason: flowlog.ReasonRange},
		{name: "highest port", line: replaceField(acceptSSH, srcport, "65535"), want: with(acceptSSHRecord, "srcport", int64(65535))},
		{name: "source port past 65535", line: replaceField(acceptSSH, srcport, "65536"), reason: flowlog.ReasonRange},
		{name: "destination port past 65535", line: replaceField(acceptSSH, dstport, "99999"), reason: flowlog.ReasonRange},
		{name: "highest protocol number", line: replaceField(acceptSSH, protocol, "255"), want: with(acceptSSHRecord, "protocol", int64(255))},
		{name: "protocol number past 255", line: replaceField(acceptSSH, protocol, "300"), reason: flowlog.ReasonRange},
		{name: "int64 field above int32", line: replaceField(acceptSSH, bytes, "4294967296"), want: with(acceptSSHRecord, "bytes", int64(4294967296))},
		{name: "int64 max", line: replaceField(acceptSSH, bytes, "9223372036854775807"), want: with(acceptSSHRecord, "bytes", int64(9223372036854775807))},
		{name: "int64 overflow", line: replaceField(acceptSSH, bytes, "9223372036854775808"), reason: flowlog.ReasonRange},
		{name: "uint64 overflow", line: replaceField(acceptSSH, bytes, "18446744073709551616"), reason: flowlog.ReasonRange},
		{name: "30 digits", line: replaceField(acceptSSH, bytes, strings.Repeat("9", 30)), reason: flowlog.ReasonRange},
		{name: "negative", line: replaceField(acceptSSH, bytes, "-1"), reason: flowlog.ReasonInteger},
		{name: "negative zero", line: replaceField(acceptSSH, srcport, "-0"), reason: flowlog.ReasonInteger},
		{name: "plus sign", line: replaceField(acceptSSH, srcport, "+22"), reason: flowlog.ReasonInteger},
		{name: "decimal point", line: replaceField(acceptSSH, bytes, "42.0"), reason: flowlog.ReasonInteger},
		{name: "hex", line: replaceField(acceptSSH, bytes, "0x10"), reason: flowlog.ReasonInteger},
		{name: "exponent", line: replaceField(acceptSSH, bytes, "1e3"), reason: flowlog.ReasonInteger},
		{name: "word", line: replaceField(acceptSSH, srcport, "ssh"), reason: flowlog.ReasonInteger},
		{name: "long word", line: replaceField(acceptSSH, srcport, strings.Repeat("x", 25)), reason: flowlog.ReasonInteger},

		// Epochs.
		{name: "epoch milliseconds", line: replaceField(acceptSSH, start, "1418530010000"), want: acceptSSHRecord},
		{name: "epoch milliseconds truncated", line: replaceField(acceptSSH, start, "1418530010999"), want: acceptSSHRecord},
		{name: "largest epoch in seconds", line: replaceField(acceptSSH, start, "99999999999"), want: with(acceptSSHRecord, "start", int64(99999999999))},
		{name: "smallest epoch in milliseconds", line: replaceField(acceptSSH, start, "100000000000"), want: with(acceptSSHRecord, "start", int64(100000000))},
		{name: "largest epoch in milliseconds", line: replaceField(acceptSSH, start, "99999999999999"), want: with(acceptSSHRecord, "start", int64(99999999999))},
		{name: "epoch past milliseconds", line: replaceField(acceptSSH, start, "100000000000000"), reason: flowlog.ReasonRange},
		{name: "epoch zero", line: replaceField(acceptSSH, start, "0"), want: with(acceptSSHRecord, "start", int64(0))},

		// IPv4.
		{name: "ipv4 zero", line: replaceField(acceptSSH, srcaddr, "0.0.0.0"), want: with(acceptSSHRecord, "srcaddr", "0.0.0.0")},
		{name: "ipv4 broadcast", line: replaceField(acceptSSH, srcaddr, "255.255.255.255"), want: with(acceptSSHRecord, "srcaddr", "255.255.255.255")},
		{name: "ipv4 zero octet", line: replaceField(acceptSSH, srcaddr, "10.0.0.0"), want: with(acceptSSHRecord, "srcaddr", "10.0.0.0")},
		{name: "ipv4 leading zero", line: replaceField(acceptSSH, srcaddr, "010.0.0.1"), reason: flowlog.ReasonAddress},
		{name: "ipv4 leading zero last octet", line: replaceField(acceptSSH, srcaddr, "10.0.0.01"), reason: flowlog.ReasonAddress},
		{name: "ipv4 double zero", line: replaceField(acceptSSH, srcaddr, "10.00.0.1"), reason: flowlog.ReasonAddress},
		{name: "ipv4 256", line: replaceField(acceptSSH, srcaddr, "10.0.0.256"), reason: flowlog.ReasonAddress},
		{name: "ipv4 1000", line: replaceField(acceptSSH, srcaddr, "1000.0.0.1"), reason: flowlog.ReasonAddress},
		{name: "ipv4 three octets", line: replaceField(acceptSSH, srcaddr, "10.0.1"), reason: flowlog.ReasonAddress},
		{name: "ipv4 five octets", line: replaceField(acceptSSH, srcaddr, "10.0.0.1.5"), reason: flowlog.ReasonAddress},
		{name: "ipv4 empty octet", line: replaceField(acceptSSH, srcaddr, "10..0.1"), reason: flowlog.ReasonAddress},
		{name: "ipv4 trailing dot", line: replaceField(acceptSSH, srcaddr, "10.0.0.1."), reason: flowlog.ReasonAddress},
		{name: "ipv4 leading dot", line: replaceField(acceptSSH, srcaddr, ".10.0.0.1"), reason: flowlog.ReasonAddress},
		{name: "ipv4 with port", line: replaceField(acceptSSH, srcaddr, "10.0.0.1:22"), reason: flowlog.ReasonAddress},
		{name: "ipv4 cidr", line: replaceField(acceptSSH, srcaddr, "10.0.0.0/8"), reason: flowlog.ReasonAddress},
		{name: "ipv4 sign", line: replaceField(acceptSSH, srcaddr, "+10.0.0.1"), reason: flowlog.ReasonAddress},
		{name: "hostname", line: replaceField(acceptSSH, srcaddr, "localhost"), reason: flowlog.ReasonAddress},

		// IPv6.
		{name: "ipv6 unspecified", line: replaceField(acceptSSH, srcaddr, "::"), want: with(acceptSSHRecord, "srcaddr", "::")},
		{name: "ipv6 loopback", line: replaceField(acceptSSH, srcaddr, "::1"), want: with(acceptSSHRecord, "srcaddr", "::1")},
		{name: "ipv6 documentation", line: replaceField(acceptSSH, srcaddr, "2001:db8:1234:a100:8d6e:3477:df66:f105"), want: with(acceptSSHRecord, "srcaddr", "2001:db8:1234:a100:8d6e:3477:df66:f105")},
		{name: "ipv6 full form is canonicalised", line: replaceField(acceptSSH, srcaddr, "2001:0DB8:0000:0000:0000:0000:0000:0001"), want: with(acceptSSHRecord, "srcaddr", "2001:db8::1")},
		{name: "ipv6 trailing zeros", line: replaceField(acceptSSH, srcaddr, "2a02:cf40::"), want: with(acceptSSHRecord, "srcaddr", "2a02:cf40::")},
		{name: "ipv4-mapped ipv6 stays ipv6", line: replaceField(acceptSSH, srcaddr, "::ffff:10.0.0.1"), want: with(acceptSSHRecord, "srcaddr", "::ffff:10.0.0.1")},
		{name: "ipv6 zone", line: replaceField(acceptSSH, srcaddr, "fe80::1%eth0"), reason: flowlog.ReasonAddress},
		{name: "ipv6 bad digit", line: replaceField(acceptSSH, srcaddr, "2001:db8::g"), reason: flowlog.ReasonAddress},
		{name: "ipv6 two double colons", line: replaceField(acceptSSH, srcaddr, "2001::db8::1"), reason: flowlog.ReasonAddress},
		{name: "ipv6 nine groups", line: replaceField(acceptSSH, srcaddr, "1:2:3:4:5:6:7:8:9"), reason: flowlog.ReasonAddress},
		{name: "ipv6 triple colon", line: replaceField(acceptSSH, srcaddr, ":::"), reason: flowlog.ReasonAddress},
		{name: "ipv6 brackets", line: replaceField(acceptSSH, srcaddr, "[::1]"), reason: flowlog.ReasonAddress},
		{name: "ipv6 cidr", line: replaceField(acceptSSH, srcaddr, "2001:db8::/32"), reason: flowlog.ReasonAddress},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := parseOne(t, tc.format, tc.line)
			if reason != tc.reason {
				t.Fatalf("reason %q, want %q", reason, tc.reason)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrorNamesField(t *testing.T) {
	p := flowlog.NewParser(flowlog.V2, schema.All())
	b := flowlog.NewBatch()
	b.Reset(p.Present(flowlog.V2))
	err := p.ParseLine([]byte(replaceField(acceptSSH, 6, "https")), b)
	if err == nil {
		t.Fatal("accepted")
	}
	want := flowlog.ParseError{Field: "dstport", Value: "https", Reason: flowlog.ReasonInteger}
	if diff := cmp.Diff(want, *err); diff != "" {
		t.Fatalf("error (-want +got):\n%s", diff)
	}
	long := strings.Repeat("9", 100)
	err = p.ParseLine([]byte(replaceField(acceptSSH, 9, long)), b)
	if err == nil || err.Value != long[:64] {
		t.Fatalf("long value not truncated to 64 bytes: %+v", err)
	}
}

// chunkResult is what ParseChunk gave, in comparable form.
type chunkResult struct {
	Records []record
	Stats   flowlog.Stats
	Errors  []string
	Changed bool
	End     string
}

func parseChunk(t *testing.T, f *flowlog.Format, want schema.Set, data string) chunkResult {
	t.Helper()
	p := flowlog.NewParser(f, want)
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk([]byte(data), b, &ch)
	checkRectangular(t, b)
	if int(ch.Stats.Records) != b.N {
		t.Fatalf("stats count %d records, batch holds %d", ch.Stats.Records, b.N)
	}
	r := chunkResult{Records: stringIPs(records(b)), Stats: ch.Stats, Changed: ch.FormatChanged, End: ch.EndFormat.Header()}
	for _, e := range ch.Errors {
		r.Errors = append(r.Errors, e.Error())
	}
	return r
}

func TestParseChunk(t *testing.T) {
	twoFields := flowlog.MustFormat("srcaddr dstaddr")
	cases := []struct {
		name   string
		format *flowlog.Format
		data   string
		want   chunkResult
	}{
		{
			name:   "header with an unknown name keeps it as an ignored column",
			format: twoFields,
			data:   "version srcaddr x-note dstaddr\n3 10.0.0.1 {not-checked} 10.0.0.2\n",
			want: chunkResult{
				Records: []record{{"version": int64(3), "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2"}},
				Stats:   flowlog.Stats{Lines: 2, Records: 1, Headers: 1},
				Changed: false,
				End:     "version srcaddr x-note dstaddr",
			},
		},
		{
			name:   "mostly unknown names are a record, not a header",
			format: twoFields,
			data:   "version foo bar baz\n",
			want: chunkResult{
				Stats:  flowlog.Stats{Lines: 1, Bad: 1, Reasons: map[string]int64{flowlog.ReasonFieldCount: 1}},
				Errors: []string{"line 1: field count (4 fields, format has 2)"},
				End:    "srcaddr dstaddr",
			},
		},
		{
			name:   "half known names are not a header",
			format: twoFields,
			data:   "srcaddr foo\n",
			want: chunkResult{
				Stats:  flowlog.Stats{Lines: 1, Bad: 1, Reasons: map[string]int64{flowlog.ReasonAddress: 1}},
				Errors: []string{"line 1: field srcaddr: invalid address \"srcaddr\""},
				End:    "srcaddr dstaddr",
			},
		},
		{
			name:   "header names in column spelling",
			format: twoFields,
			data:   "pkt_srcaddr pkt_dstaddr\n10.0.0.1 10.0.0.2\n",
			want: chunkResult{
				Records: []record{{"pkt_srcaddr": "10.0.0.1", "pkt_dstaddr": "10.0.0.2"}},
				Stats:   flowlog.Stats{Lines: 2, Records: 1, Headers: 1},
				End:     "pkt-srcaddr pkt-dstaddr",
			},
		},
		{
			name:   "a repeated header name is ignored the second time",
			format: twoFields,
			data:   "srcaddr dstaddr srcaddr\n10.0.0.1 10.0.0.2 junk\n",
			want: chunkResult{
				Records: []record{{"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2"}},
				Stats:   flowlog.Stats{Lines: 2, Records: 1, Headers: 1},
				End:     "srcaddr dstaddr srcaddr",
			},
		},
		{
			name:   "capitalised first name is not a header",
			format: twoFields,
			data:   "Srcaddr dstaddr\n",
			want: chunkResult{
				Stats:  flowlog.Stats{Lines: 1, Bad: 1, Reasons: map[string]int64{flowlog.ReasonAddress: 1}},
				Errors: []string{"line 1: field srcaddr: invalid address \"Srcaddr\""},
				End:    "srcaddr dstaddr",
			},
		},
		{
			name:   "format switch mid-chunk keeps the batch rectangular",
			format: flowlog.MustFormat("srcaddr dstaddr bytes"),
			data:   "10.0.0.1 10.0.0.2 10\n\nbytes action srcaddr\n20 ACCEPT 10.0.0.3\n- REJECT -\nsrcaddr dstaddr bytes\n10.0.0.4 10.0.0.5 40\n",
			want: chunkResult{
				Records: []record{
					{"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "bytes": int64(10), "action": nil},
					{"srcaddr": "10.0.0.3", "dstaddr": nil, "bytes": int64(20), "action": "ACCEPT"},
					{"srcaddr": nil, "dstaddr": nil, "bytes": nil, "action": "REJECT"},
					{"srcaddr": "10.0.0.4", "dstaddr": "10.0.0.5", "bytes": int64(40), "action": nil},
				},
				Stats:   flowlog.Stats{Lines: 7, Records: 4, Headers: 2, Blank: 1},
				Changed: true,
				End:     "srcaddr dstaddr bytes",
			},
		},
		{
			name:   "header before any record is not a mid-chunk change",
			format: flowlog.V2,
			data:   "srcaddr dstaddr\n10.0.0.1 10.0.0.2\n",
			want: chunkResult{
				Records: []record{{"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2"}},
				Stats:   flowlog.Stats{Lines: 2, Records: 1, Headers: 1},
				End:     "srcaddr dstaddr",
			},
		},
		{
			name:   "a bad line in the middle leaves its neighbours intact",
			format: flowlog.MustFormat("srcaddr account-id bytes dstaddr"),
			data:   "10.0.0.1 acct-a 1 10.0.0.2\n10.0.0.3 acct-bbbbbbbb 2 not-an-ip\n10.0.0.5 acct-c 3 10.0.0.6",
			want: chunkResult{
				Records: []record{
					{"srcaddr": "10.0.0.1", "account_id": "acct-a", "bytes": int64(1), "dstaddr": "10.0.0.2"},
					{"srcaddr": "10.0.0.5", "account_id": "acct-c", "bytes": int64(3), "dstaddr": "10.0.0.6"},
				},
				Stats:  flowlog.Stats{Lines: 3, Records: 2, Bad: 1, Reasons: map[string]int64{flowlog.ReasonAddress: 1}},
				Errors: []string{"line 2: field dstaddr: invalid address \"not-an-ip\""},
				End:    "srcaddr account-id bytes dstaddr",
			},
		},
		{
			name:   "a header longer than a record may be",
			format: twoFields,
			data:   strings.Repeat("version ", 128) + "srcaddr\n" + strings.Repeat("2 ", 128) + "10.0.0.1\n",
			want: chunkResult{
				Stats:  flowlog.Stats{Lines: 2, Headers: 1, Bad: 1, Reasons: map[string]int64{flowlog.ReasonFieldCount: 1}},
				Errors: []string{"line 2: field count (129 fields, more than the 128 a record may have)"},
				End:    strings.Repeat("version ", 128) + "srcaddr",
			},
		},
		{
			name:   "blank lines of every kind",
			format: twoFields,
			data:   "\n \n\t\r\n\r\n10.0.0.1 10.0.0.2\r\n\n",
			want: chunkResult{
				Records: []record{{"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2"}},
				Stats:   flowlog.Stats{Lines: 6, Records: 1, Blank: 5},
				End:     "srcaddr dstaddr",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseChunk(t, tc.format, schema.All(), tc.data)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestProjection checks that fields outside want are validated but not
// stored.
func TestProjection(t *testing.T) {
	want := schema.SetOf(schema.FSrcAddr, schema.FBytes)
	got := parseChunk(t, flowlog.V2, want, acceptSSH+"\n"+replaceField(acceptSSH, 4, "999.1.1.1")+"\n")
	wantRecs := []record{{"srcaddr": "172.31.16.139", "bytes": int64(4249)}}
	if diff := cmp.Diff(wantRecs, got.Records); diff != "" {
		t.Fatalf("records (-want +got):\n%s", diff)
	}
	if got.Stats.Bad != 1 {
		t.Fatalf("a bad value in an unstored field was accepted: %+v", got.Stats)
	}
}

// TestRollback checks that a line rejected on its last value, after every
// other column has been appended to, leaves the batch exactly as it was.
func TestRollback(t *testing.T) {
	f := flowlog.MustFormat("account-id srcaddr bytes action start dstaddr")
	p := flowlog.NewParser(f, schema.All())
	b := flowlog.NewBatch()
	b.Reset(p.Present(f))
	good := []string{"acct-1 10.0.0.1 1 ACCEPT 1418530010 10.0.0.2", "- - - - - -"}
	for _, l := range good {
		if err := p.ParseLine([]byte(l), b); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(b)
	for _, bad := range []string{
		"a-much-longer-account-id 10.0.0.3 3 REJECT 1418530070 not-an-address",
		"acct-2 10.0.0.3 3 REJECT not-a-time 10.0.0.4",
		"acct-2 10.0.0.3 3 REJECT 1418530070",
	} {
		if err := p.ParseLine([]byte(bad), b); err == nil {
			t.Fatalf("%q accepted", bad)
		}
		checkRectangular(t, b)
		if diff := cmp.Diff(before, snapshot(b)); diff != "" {
			t.Fatalf("%q changed the batch:\n%s", bad, diff)
		}
	}
	if err := p.ParseLine([]byte("acct-3 10.0.0.5 5 ACCEPT 1418530070 10.0.0.6"), b); err != nil {
		t.Fatal(err)
	}
	want := []record{
		{"account_id": "acct-1", "srcaddr": "10.0.0.1", "bytes": int64(1), "action": "ACCEPT", "start": int64(1418530010), "dstaddr": "10.0.0.2"},
		{"account_id": nil, "srcaddr": nil, "bytes": nil, "action": nil, "start": nil, "dstaddr": nil},
		{"account_id": "acct-3", "srcaddr": "10.0.0.5", "bytes": int64(5), "action": "ACCEPT", "start": int64(1418530070), "dstaddr": "10.0.0.6"},
	}
	if diff := cmp.Diff(want, stringIPs(records(b))); diff != "" {
		t.Fatalf("rows after the rejected lines (-want +got):\n%s", diff)
	}
}

// snapshot copies the visible state of a batch's present columns.
func snapshot(b *flowlog.Batch) map[string]any {
	s := map[string]any{"N": b.N}
	for _, id := range b.Present.IDs() {
		c := b.Cols[id]
		s[schema.Fields[id].Column] = []any{
			append([]bool(nil), c.Valid...), append([]int64(nil), c.Ints...), len(c.IPs),
			string(c.Data), append([]uint32(nil), c.Offs...),
		}
	}
	return s
}
