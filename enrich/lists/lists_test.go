package lists

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func prefixStrings(ps []netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}

func TestParseFiles(t *testing.T) {
	tests := []struct {
		file         string
		want         []string
		skipped      int
		firstSkipped string
	}{
		{"monitoring.good.json", []string{"18.208.0.0/13", "2600:1f18:24e6:b900::/56", "3.233.144.0/20", "3.233.144.0/20", "34.253.4.72/32", "52.17.48.0/24", "54.172.1.1/32"}, 1, `"52.5.5/24"`},
		{"partners.good.csv", []string{"192.0.2.10/32", "198.51.100.0/24", "2001:db8:50::/48"}, 1, "line 5: typo,10.1.2.300,ops"},
		{"office.good.txt", []string{"203.0.113.0/28", "203.0.113.128/25", "203.0.113.77/32"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			l, err := LoadFile("x", "testdata/"+tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, prefixStrings(l.Prefixes)); d != "" {
				t.Errorf("prefixes (-want +got):\n%s", d)
			}
			if l.Skipped != tc.skipped {
				t.Errorf("skipped %d, want %d", l.Skipped, tc.skipped)
			}
			if l.FirstSkipped != tc.firstSkipped {
				t.Errorf("first skipped %q, want %q", l.FirstSkipped, tc.firstSkipped)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"empty", "", "no addresses"},
		{"names only", "alpha\nbeta\n", "no addresses"},
		{"broken json", `{"a": [`, "JSON"},
		{"deep json", strings.Repeat("[", 100) + `"1.2.3.4"` + strings.Repeat("]", 100), "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct{ spec, name, path, err string }{
		{"datadog=ranges.json", "datadog", "ranges.json", ""},
		{"a=b=c", "a", "b=c", ""},
		{"nofile", "", "", "want NAME=FILE"},
		{"=x", "", "", "want NAME=FILE"},
		{"a b=x", "", "", "want NAME=FILE"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			n, p, err := ParseSpec(tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || n != tc.name || p != tc.path {
				t.Fatalf("got %q %q %v", n, p, err)
			}
		})
	}
}

func TestSet(t *testing.T) {
	var ls []List
	for _, f := range []struct{ name, file string }{{"monitoring", "monitoring.good.json"}, {"partners", "partners.good.csv"}, {"office", "office.good.txt"}} {
		l, err := LoadFile(f.name, "testdata/"+f.file)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	ls = append(ls, List{Name: "wide", Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	s, err := NewSet(ls)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want []string
	}{
		{"18.209.1.1", []string{"monitoring"}},
		{"2600:1f18:24e6:b9aa::1", []string{"monitoring"}},
		{"198.51.100.20", []string{"partners"}},
		{"203.0.113.5", []string{"office", "wide"}},
		{"203.0.113.50", []string{"wide"}},
		{"8.8.8.8", []string{}},
	}
	for _, tc := range tests {
		got := s.Names(s.Lookup(netip.MustParseAddr(tc.addr)))
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.addr, d)
		}
	}
	off, _ := s.Mask("office")
	if !s.Lookup(netip.MustParseAddr("203.0.113.77")).Has(off) || s.Lookup(netip.MustParseAddr("203.0.113.50")).Has(off) {
		t.Error("Mask/Has disagree with Lookup")
	}
	if _, err := NewSet([]List{{Name: "a"}, {Name: "a"}}); err == nil {
		t.Error("duplicate names accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"monitoring.good.json", "partners.good.csv", "office.good.txt"} {
		data, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[[[\"::1\"]]]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		if len(l.Prefixes) == 0 {
			t.Fatal("no error and no prefixes")
		}
		for _, p := range l.Prefixes {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("prefix %v not valid and masked", p)
			}
		}
		s, err := NewSet([]List{l})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range l.Prefixes {
			if s.Lookup(p.Addr()) != 1 {
				t.Fatalf("%v not found in its own list", p)
			}
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	l, err := LoadFile("monitoring", "testdata/monitoring.good.json")
	if err != nil {
		b.Fatal(err)
	}
	s, _ := NewSet([]List{l})
	a := []netip.Addr{netip.MustParseAddr("18.209.1.1"), netip.MustParseAddr("8.8.8.8")}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if s.Lookup(a[i&1]) != 0 {
			n++
		}
	}
	_ = n
}
