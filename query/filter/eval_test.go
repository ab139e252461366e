package filter

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// sampleLog is a small custom-format log; each row is named by its
// interface-id. r07 and r08 are NODATA/SKIPDATA records (mostly '-'), r10
// writes its source as an IPv4-mapped IPv6 address.
const sampleLog = `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction pkt-srcaddr
5 111111111111 eni-r01 10.0.1.5 203.0.113.9 49152 22 6 10 840 1700000000 1700000060 REJECT OK egress 10.0.1.5
5 111111111111 eni-r02 198.51.100.7 10.0.2.10 51000 22 6 12 2000 1700000000 1700000060 ACCEPT OK ingress 198.51.100.7
5 111111111111 eni-r03 10.0.2.10 198.51.100.7 22 51000 6 12 9000 1700000000 1700000060 ACCEPT OK egress 10.0.2.10
5 111111111111 eni-r04 192.168.1.20 10.0.0.53 33000 53 17 1 70 1700000000 1700000060 ACCEPT OK ingress 192.168.1.20
5 111111111111 eni-r05 2001:db8::5 2001:db8:1::9 40000 443 6 30 30000 1700000000 1700000060 ACCEPT OK egress 2001:db8::5
5 111111111111 eni-r06 203.0.113.50 10.0.3.3 60000 3389 6 2 120 1700000000 1700000060 REJECT OK ingress 203.0.113.50
5 111111111111 eni-r07 - - - - - - - 1700000000 1700000060 - NODATA - -
5 111111111111 eni-r08 - - - - - - - 1700000000 1700000060 - SKIPDATA - -
5 111111111111 eni-r09 10.0.4.4 8.8.8.8 0 0 1 4 336 1700000000 1700000060 ACCEPT OK egress 10.0.4.4
5 111111111111 eni-r10 ::ffff:10.0.5.5 172.16.0.1 1500 8080 6 8 4000 1700000000 1700000060 ACCEPT OK egress 10.0.5.5
5 111111111111 eni-r11 172.16.9.9 10.0.1.5 123 123 17 9000 5000000 1700000000 1700000060 ACCEPT OK ingress 172.16.9.9
5 111111111111 eni-r12 10.0.1.5 52.94.1.1 44000 1500 6 40 50000 1700003600 1700003660 ACCEPT OK egress 10.0.9.9
`

// parseSample parses sampleLog into one batch.
func parseSample(t testing.TB) *flowlog.Batch {
	t.Helper()
	p := flowlog.NewParser(flowlog.V2, schema.All())
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk([]byte(sampleLog), b, &ch)
	if ch.Stats.Bad != 0 || b.N != 12 {
		t.Fatalf("sample: %d rows, stats %+v, errors %v", b.N, ch.Stats, ch.Errors)
	}
	return b
}

// matches returns the names (r01...) of the rows of b that e selects.
func matches(e *Expr, b *flowlog.Batch) []string {
	out := []string{}
	for _, i := range e.AppendMatches(nil, b) {
		s, _ := b.Str(schema.FInterfaceID, i)
		out = append(out, strings.TrimPrefix(string(s), "eni-"))
	}
	sort.Strings(out)
	return out
}

func rows(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Fields(s)
}

func TestEval(t *testing.T) {
	b := parseSample(t)
	fs := testFields(t)
	const all = "r01 r02 r03 r04 r05 r06 r07 r08 r09 r10 r11 r12"
	const withData = "r01 r02 r03 r04 r05 r06 r09 r10 r11 r12"
	cases := []struct {
		name, filter, want string
	}{
		{"int-eq", "dstport = 22", "r01 r02"},
		{"int-ne-skips-null", "dstport != 22", "r03 r04 r05 r06 r09 r10 r11 r12"},
		{"int-ne-or-null", "dstport != 22 or dstport = null", "r03 r04 r05 r06 r07 r08 r09 r10 r11 r12"},
		{"int-gt", "bytes > 1000000", "r11"},
		{"int-lt-and-not-null", "srcaddr != null and dstport < 100", "r01 r02 r04 r09"},
		{"either-port", "port = 22", "r01 r02 r03"},
		{"either-port-ne-means-neither", "port != 22", "r04 r05 r06 r09 r10 r11 r12"},
		{"either-port-set", "port in (123, 8000..9000)", "r10 r11"},
		{"port-range", "dstport in 1000..2000", "r12"},
		{"port-not-in", "dstport not in (22, 53, 443)", "r03 r06 r09 r10 r11 r12"},
		{"large-int-set", "dstport in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 22, 53, 60..70)", "r01 r02 r04"},
		{"action-word", "reject", "r01 r06"},
		{"action-lower", "action = accept and dstport = 22", "r02"},
		{"protocol-word", "tcp", "r01 r02 r03 r05 r06 r10 r12"},
		{"protocol-names", "protocol in (icmp, udp)", "r04 r09 r11"},
		{"not-tcp-skips-null", "not tcp", "r04 r09 r11"},
		{"not-group", "not (tcp or udp)", "r09"},
		{"nodata-skipdata", "nodata or skipdata", "r07 r08"},
		{"log-status-ne", "log-status != ok", "r07 r08"},
		{"null-eq", "action = null", "r07 r08"},
		{"cidr-v4", "src in 10.0.0.0/8", "r01 r03 r09 r10 r12"},
		{"cidr-not-in", "src not in 10.0.0.0/8", "r02 r04 r05 r06 r11"},
		{"cidr-v6", "dst in 2001:db8::/32", "r05"},
		{"mapped-equals-v4", "src = 10.0.5.5", "r10"},
		{"mapped-literal", "src = ::ffff:10.0.5.5", "r10"},
		{"either-addr", "addr = 198.51.100.7", "r02 r03"},
		{"either-addr-cidr", "addr in 10.0.1.0/24", "r01 r11 r12"},
		{"either-addr-not-in-means-neither", "addr not in 10.0.0.0/8", "r05"},
		{"mixed-ip-list", "dst in (8.8.8.8, 172.16.0.0/12, 2001:db8:1::/48)", "r05 r09 r10"},
		{"large-ip-set", "src in (1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 5.5.5.5, 6.6.6.6, 7.7.7.7, 192.168.0.0/16, 2001:db8::5, 172.16.9.9)", "r04 r05 r11"},
		{"ip-range", "src in 10.0.1.0..10.0.2.255", "r01 r03 r12"},
		{"ip-order", "srcaddr > 10.0.0.0 and srcaddr < 11.0.0.0", "r01 r03 r09 r10 r12"},
		{"ip-order-v4-below-v6", "srcaddr >= ::", withData},
		{"pkt-srcaddr", "pkt-srcaddr = 10.0.9.9", "r12"},
		{"time-epoch", "start >= 1700003600", "r12"},
		{"time-rfc3339-range", "start in 2023-11-14T23:00:00Z..2023-11-15", "r12"},
		{"flow-direction", "egress and tcp", "r01 r03 r05 r10 r12"},
		{"string-set", "interface-id in (eni-r01, eni-r02)", "r01 r02"},
		{"large-string-set", "interface-id in (a, b, c, d, e, f, g, h, eni-r03, eni-r11)", "r03 r11"},
		{"string-order", "interface-id > eni-r10", "r11 r12"},
		{"absent-column-is-null", "vpc-id = null", all},
		{"absent-column-compares-unknown", "vpc-id = vpc-1 or not vpc-id = vpc-1", ""},
		{"extra-field-is-null", "src.internal = null", all},
		{"extra-field-compares-unknown", "src.internal or not src.internal", ""},
		{"precedence", "tcp and dstport = 22 or udp and dstport = 53", "r01 r02 r04"},
		{"unknown-or-true", "dstport = 22 or log-status = NODATA", "r01 r02 r07"},
		{"unknown-and-false", "not (dstport = 22 and log-status = NODATA)", "r01 r02 r03 r04 r05 r06 r08 r09 r10 r11 r12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Compile(c.filter, fs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rows(c.want), matches(e, b)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.filter, diff)
			}
			for i := range b.N {
				if got, want := e.Eval(b, i), e.root.eval(b, i) == triTrue; got != want {
					t.Errorf("row %d: Eval %v, AppendMatches %v", i, got, want)
				}
			}
		})
	}
}

func TestNeedsAndExtra(t *testing.T) {
	fs, err := NewFields(Field{Name: "x.score", Column: "x_score", Type: TypeInt64, ID: -1})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile("addr = 1.2.3.4 and reject and src.internal and not dst.internal and x.score > 3 and src.internal = null", fs)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{schema.FSrcAddr, schema.FDstAddr, schema.FAction, schema.FSrcInternal, schema.FDstInternal}
	if diff := cmp.Diff(want, e.Needs().IDs()); diff != "" {
		t.Errorf("Needs (-want +got):\n%s", diff)
	}
	var names []string
	for _, f := range e.Extra() {
		names = append(names, f.Name)
	}
	if diff := cmp.Diff([]string{"x.score"}, names); diff != "" {
		t.Errorf("Extra (-want +got):\n%s", diff)
	}
}
