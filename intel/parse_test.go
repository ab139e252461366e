package intel

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenResult is the stable rendering of a Result kept in testdata.
type goldenResult struct {
	Format     string     `json:"format"`
	Lines      int        `json:"lines"`
	Accepted   int        `json:"accepted"`
	Ignored    int        `json:"ignored"`
	Rejected   int        `json:"rejected"`
	Indicators [][]string `json:"indicators"`
	Errors     []string   `json:"errors,omitempty"`
}

func render(r *Result) goldenResult {
	g := goldenResult{Format: r.Format.String(), Lines: r.Lines, Accepted: r.Accepted, Ignored: r.Ignored, Rejected: r.Rejected}
	for _, in := range r.Indicators {
		g.Indicators = append(g.Indicators, []string{PrefixString(in.Prefix), in.List, in.Comment})
	}
	for _, e := range r.Errors {
		g.Errors = append(g.Errors, e.Error())
	}
	return g
}

func TestParseFiles(t *testing.T) {
	tests := []struct {
		file     string
		format   Format // asked for
		detected Format
		accepted int
		rejected int
	}{
		{"playbook.good.csv", FormatAuto, FormatCSV, 4, 0},
		{"playbook-noheader.good.csv", FormatAuto, FormatCSV, 2, 0},
		{"playbook.bad.csv", FormatAuto, FormatCSV, 2, 3},
		{"plain.good.txt", FormatAuto, FormatPlain, 4, 0},
		{"plain.bad.txt", FormatAuto, FormatPlain, 2, 4},
		{"drop.good.txt", FormatAuto, FormatSpamhaus, 3, 0},
		{"edrop.bad.txt", FormatAuto, FormatSpamhaus, 2, 1},
		{"drop_v4.good.json", FormatAuto, FormatSpamhaus, 2, 0},
		{"firehol_level1.good.netset", FormatAuto, FormatFireHOL, 4, 0},
		{"feodo.good.csv", FormatAuto, FormatFeodo, 2, 0},
		{"feodo.bad.csv", FormatAuto, FormatFeodo, 1, 3},
		{"sslbl.good.csv", FormatAuto, FormatSSLBL, 2, 0},
		{"tor-exit-addresses.good.txt", FormatAuto, FormatTor, 3, 0},
		{"tor-exit-addresses.bad.txt", FormatAuto, FormatTor, 1, 3},
		{"tor-bulk.good.txt", FormatTor, FormatTor, 3, 0},
		{"tor-bulk.good.txt", FormatAuto, FormatPlain, 3, 0},
	}
	for _, tc := range tests {
		name := tc.file + "/" + tc.format.String()
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			res, err := LoadFile(path, tc.format, "")
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tc.detected {
				t.Errorf("format %v, want %v", res.Format, tc.detected)
			}
			if res.Accepted != tc.accepted || res.Rejected != tc.rejected {
				t.Errorf("accepted %d rejected %d, want %d and %d; errors: %v", res.Accepted, res.Rejected, tc.accepted, tc.rejected, res.Errors)
			}
			if res.Accepted+res.Ignored+res.Rejected != res.Lines {
				t.Errorf("accepted %d + ignored %d + rejected %d != lines %d", res.Accepted, res.Ignored, res.Rejected, res.Lines)
			}
			if len(res.Indicators) != res.Accepted || len(res.Errors) != res.Rejected {
				t.Errorf("%d indicators and %d errors for %d accepted and %d rejected", len(res.Indicators), len(res.Errors), res.Accepted, res.Rejected)
			}
			for _, in := range res.Indicators {
				if in.List != ListName(tc.file) {
					t.Errorf("list %q, want %q", in.List, ListName(tc.file))
				}
			}
			got := render(res)
			golden := filepath.Join("testdata", strings.TrimSuffix(tc.file, filepath.Ext(tc.file))+"."+tc.format.String()+".golden.json")
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			var want goldenResult
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("result differs from %s (-want +got):\n%s", golden, d)
			}
		})
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // "" when rejected
	}{
		{"ipv4", "198.51.100.23", "198.51.100.23/32"},
		{"cidr", "203.0.113.0/24", "203.0.113.0/24"},
		{"host bits cleared", "203.0.113.77/24", "203.0.113.0/24"},
		{"ipv6", "2001:db8::1", "2001:db8::1/128"},
		{"ipv6 cidr", "2001:db8::/32", "2001:db8::/32"},
		{"mapped address", "::ffff:198.51.100.23", "198.51.100.23/32"},
		{"mapped prefix", "::ffff:198.51.100.0/120", "198.51.100.0/24"},
		{"leading zero", "010.1.1.1", ""},
		{"octet too big", "256.1.1.1", ""},
		{"three octets", "1.2.3", ""},
		{"zone", "fe80::1%eth0", ""},
		{"bad length", "10.0.0.0/33", ""},
		{"empty", "", ""},
		{"word", "localhost", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, reason := parsePrefix([]byte(tc.in))
			got := ""
			if reason == "" {
				got = p.String()
			}
			if got != tc.want {
				t.Errorf("parsePrefix(%q) = %q (%s), want %q", tc.in, got, reason, tc.want)
			}
			if reason == "" && !strings.Contains(tc.in, "/") && !strings.Contains(tc.in, ":") {
				if want := netip.MustParseAddr(tc.in); p.Addr() != want {
					t.Errorf("fast IPv4 path gave %v, netip %v", p.Addr(), want)
				}
			}
		})
	}
}

func TestSplitCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		ok   bool
	}{
		{"plain", "a,b,c", []string{"a", "b", "c"}, true},
		{"quoted comma", `1.2.3.4,"x, y"`, []string{"1.2.3.4", "x, y"}, true},
		{"escaped quote", `"a ""b""",c`, []string{`a "b"`, "c"}, true},
		{"empty fields", ",,", []string{"", "", ""}, true},
		{"unterminated", `"abc,d`, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := splitCSV([]byte(tc.in), nil)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			var got []string
			for _, b := range f {
				got = append(got, string(b))
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, name := range Formats() {
		f, err := ParseFormat(strings.ToUpper(name))
		if err != nil || f.String() != name {
			t.Errorf("ParseFormat(%q) = %v, %v", name, f, err)
		}
	}
	if _, err := ParseFormat("stix"); err == nil {
		t.Error("ParseFormat(stix) did not fail")
	}
}
