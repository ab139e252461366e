package filter

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testFields is the catalog and derived fields, freshly built.
func testFields(t testing.TB) *Fields {
	t.Helper()
	fs, err := NewFields()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// goldenCases cover every construct of the language; their SQL for each
// dialect is in testdata/<dialect>.golden.
var goldenCases = []struct{ name, filter string }{
	{"int-eq", "dstport = 22"},
	{"int-ne", "dstport != 22"},
	{"int-gt", "bytes > 1000000"},
	{"int-le", "packets <= 3"},
	{"int-lt-ge", "srcport < 1024 and dstport >= 49152"},
	{"op-aliases", "dstport == 22 and srcport <> 80"},
	{"string-bare", "interface-id = eni-0a1b2c3d"},
	{"string-quoted-digits", `account-id = "012345678901"`},
	{"string-escapes", `instance-tag = 'web "blue" \'01\''`},
	{"string-order", `vpc-id >= vpc-1 and vpc-id < "vpc-2"`},
	{"action-word", "reject"},
	{"action-word-upper", "ACCEPT"},
	{"action-eq-lower", "action = reject"},
	{"action-in", "action in (accept, 'Reject')"},
	{"log-status", "log-status = skipdata or nodata"},
	{"log-status-unknown-value-kept", "log-status = Partial"},
	{"protocol-words", "tcp or udp or icmp or icmpv6"},
	{"protocol-names", "protocol = udp and proto != gre"},
	{"protocol-in", "proto in (tcp, 17, sctp)"},
	{"ip-eq-v4", "srcaddr = 10.0.0.1"},
	{"ip-eq-v6", "dstaddr = 2001:db8::1"},
	{"ip-eq-mapped", "src = ::ffff:192.0.2.1"},
	{"ip-ne", "dst != 192.0.2.1"},
	{"ip-order", "srcaddr >= 10.0.0.0 and srcaddr < 10.1.0.0"},
	{"cidr-v4", "srcaddr in 10.0.0.0/8"},
	{"cidr-not-in", "src not in 10.0.0.0/8"},
	{"cidr-v6", "dst in 2001:db8::/32"},
	{"cidr-unmasked", "dst in 192.168.1.77/24"},
	{"cidr-eq-ne", "dst = 192.168.0.0/16 and src != 172.16.0.0/12"},
	{"cidr-host-and-all", "src in (192.0.2.1/32, 0.0.0.0/0, ::/0)"},
	{"cidr-mixed-list", "src in (10.0.0.0/8, 172.16.0.0/12, 203.0.113.9, 2001:db8::/32, 2001:db8::1)"},
	{"ip-range", "srcaddr in 10.0.0.5..10.0.0.9"},
	{"port-range", "dstport in 1000..2000"},
	{"port-range-eq", "dstport = 1000..2000"},
	{"port-list-mixed", "dstport in (22, 80, 443, 8000..8999)"},
	{"port-not-in", "dstport not in (80, 443)"},
	{"either-addr", "addr = 198.51.100.7"},
	{"either-addr-ne", "addr != 198.51.100.7"},
	{"either-addr-in", "addr in (198.51.100.0/24, 203.0.113.5)"},
	{"either-addr-not-in", "addr not in 10.0.0.0/8"},
	{"either-port", "port = 22"},
	{"either-port-lt", "port < 1024"},
	{"either-port-range", "port in 6000..6010"},
	{"sport-dport", "sport = 443 and dport > 1023"},
	{"null-eq", "pkt-srcaddr = null"},
	{"null-ne", "dstport != NULL"},
	{"either-null", "addr = null or port != null"},
	{"precedence", "tcp and dstport = 22 or udp and dstport = 53"},
	{"parens", "tcp and (dstport = 22 or dstport = 3389)"},
	{"not-group", "not (reject or nodata)"},
	{"not-not", "not not tcp"},
	{"not-leaf", "not dstport = 22"},
	{"flatten", "(tcp and (reject and (dstport = 22))) or (udp or icmp)"},
	{"keywords-case", "DSTPORT = 22 AND NOT Src IN (10.0.0.0/8) OR Action = Reject"},
	{"time-epoch", "start >= 1700000000 and end < 1700003600"},
	{"time-rfc3339", "start >= 2024-05-01T12:00:00Z and end <= 2024-05-01T14:00:00+02:00"},
	{"time-range-dates", "start in 2024-05-01..2024-05-02"},
	{"column-names", "pkt_srcaddr = 10.1.1.1 and log_status = OK and Flow_Direction = INGRESS"},
	{"dashed-name", "dst-port = 443 and tcp-flags = 2"},
	{"flow-direction-words", "egress and traffic-path = 8"},
	{"type-enum", "type = ipv6"},
	{"issue-example", "dstport = 22 and action = REJECT and src not in 10.0.0.0/8"},
	{"negative-int", "srcport > -1"},
	{"extra-fields", "src.internal = false and dst.entity = RDS and dst.threat != null"},
	{"extra-bool-bare", "src.internal and not dst.internal"},
	{"extra-int", "src.asn in (16509, 14618)"},
	{"no-spaces", "dstport=22 and(srcaddr!=10.0.0.1)or(tcp)"},
}

// renderArg prints a bound argument with its Go type visible.
func renderArg(a any) string {
	switch v := a.(type) {
	case []byte:
		return fmt.Sprintf("x'%x'", v)
	case string:
		return fmt.Sprintf("%q", v)
	case int64:
		return fmt.Sprintf("%d", v)
	case bool:
		return fmt.Sprintf("%t", v)
	}
	return fmt.Sprintf("%T(%v)", a, a)
}

func renderCase(t *testing.T, fs *Fields, d Dialect, filter string) string {
	t.Helper()
	e, err := Compile(filter, fs)
	if err != nil {
		t.Fatalf("Compile(%q): %v", filter, err)
	}
	sql, args := e.SQL(d)
	rendered := make([]string, len(args))
	for i, a := range args {
		rendered[i] = renderArg(a)
	}
	return fmt.Sprintf("filter: %s\nstring: %s\nsql:    %s\nargs:   [%s]\n",
		filter, e.String(), sql, strings.Join(rendered, ", "))
}

// readGolden splits a golden file into its "== name" sections.
func readGolden(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	out := make(map[string]string)
	name := ""
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if n, ok := strings.CutPrefix(line, "== "); ok {
			name = strings.TrimSuffix(n, "\n")
			continue
		}
		out[name] += line
	}
	for n, body := range out {
		out[n] = strings.TrimSuffix(body, "\n")
	}
	delete(out, "")
	return out
}

func TestGoldenSQL(t *testing.T) {
	fs := testFields(t)
	for _, d := range []Dialect{DuckDB{}} {
		path := filepath.Join("testdata", d.Name()+".golden")
		got := make(map[string]string)
		var sb strings.Builder
		for _, c := range goldenCases {
			if _, dup := got[c.name]; dup {
				t.Fatalf("duplicate case name %s", c.name)
			}
			got[c.name] = renderCase(t, fs, d, c.filter)
			fmt.Fprintf(&sb, "== %s\n%s\n", c.name, got[c.name])
		}
		if *update {
			if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want := readGolden(t, path)
		for _, c := range goldenCases {
			t.Run(d.Name()+"/"+c.name, func(t *testing.T) {
				if diff := cmp.Diff(want[c.name], got[c.name]); diff != "" {
					t.Errorf("%s (-golden +got):\n%s", c.filter, diff)
				}
			})
		}
		for name := range want {
			if _, ok := got[name]; !ok {
				t.Errorf("%s: stale golden case %q (run go test -update)", path, name)
			}
		}
	}
}

// TestStringRoundTrip checks that the normalised form compiles to the same
// SQL and arguments, and is a fixed point.
func TestStringRoundTrip(t *testing.T) {
	fs := testFields(t)
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Compile(c.filter, fs)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := Compile(e.String(), fs)
			if err != nil {
				t.Fatalf("Compile(String()=%q): %v", e.String(), err)
			}
			sql1, args1 := e.SQL(DuckDB{})
			sql2, args2 := e2.SQL(DuckDB{})
			if diff := cmp.Diff(sql1, sql2); diff != "" {
				t.Errorf("SQL differs after round trip via %q:\n%s", e.String(), diff)
			}
			if diff := cmp.Diff(args1, args2); diff != "" {
				t.Errorf("args differ after round trip via %q:\n%s", e.String(), diff)
			}
			if e2.String() != e.String() {
				t.Errorf("String not a fixed point: %q -> %q", e.String(), e2.String())
			}
		})
	}
}
