package intel

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ind(p, list, comment string) Indicator {
	pfx, reason := parsePrefix([]byte(p))
	if reason != "" {
		panic(p + ": " + reason)
	}
	return Indicator{Prefix: pfx, List: list, Comment: comment}
}

func TestSetLookup(t *testing.T) {
	set := NewSet([]Indicator{
		ind("203.0.113.0/24", "drop", "SBL1"),
		ind("203.0.113.0/28", "playbook", "bulletproof"),
		ind("203.0.113.9", "feodo", "Dridex"),
		ind("203.0.113.9", "playbook", "C2"),
		ind("203.0.113.9", "playbook", "C2"), // duplicate
		ind("198.51.100.23", "playbook", "C2"),
		ind("0.0.0.0/8", "firehol", ""),
		ind("255.255.255.255", "plain", "broadcast"),
		ind("2001:db8::/32", "plain", "doc"),
		ind("2001:db8:bad::1", "playbook", "phish"),
		ind("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "plain", "last"),
	})
	tests := []struct {
		name string
		addr string
		want []string // list:comment, most specific first
	}{
		{"exact host in a nest", "203.0.113.9", []string{"feodo:Dridex", "playbook:C2", "playbook:bulletproof", "drop:SBL1"}},
		{"inside /28", "203.0.113.15", []string{"playbook:bulletproof", "drop:SBL1"}},
		{"inside /24 after /28", "203.0.113.16", []string{"drop:SBL1"}},
		{"last of /24", "203.0.113.255", []string{"drop:SBL1"}},
		{"after /24", "203.0.114.0", nil},
		{"before /24", "203.0.112.255", nil},
		{"single host", "198.51.100.23", []string{"playbook:C2"}},
		{"next to host", "198.51.100.24", nil},
		{"zero network", "0.1.2.3", []string{"firehol:"}},
		{"top address", "255.255.255.255", []string{"plain:broadcast"}},
		{"mapped address", "::ffff:203.0.113.9", []string{"feodo:Dridex", "playbook:C2", "playbook:bulletproof", "drop:SBL1"}},
		{"ipv6 host", "2001:db8:bad::1", []string{"playbook:phish", "plain:doc"}},
		{"ipv6 in /32", "2001:db8:ffff::1", []string{"plain:doc"}},
		{"ipv6 outside", "2001:db9::1", nil},
		{"ipv6 top", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"plain:last"}},
		{"invalid", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a netip.Addr
			if tc.addr != "" {
				a = netip.MustParseAddr(tc.addr)
			}
			var got []string
			for _, in := range set.Lookup(a) {
				got = append(got, in.List+":"+in.Comment)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Lookup(%s) (-want +got):\n%s", tc.addr, d)
			}
			if set.Contains(a) != (len(tc.want) > 0) {
				t.Errorf("Contains(%s) = %v", tc.addr, !(len(tc.want) > 0))
			}
			if n := len(set.AppendLookup(nil, a)); n != len(tc.want) {
				t.Errorf("AppendLookup gave %d indicators, want %d", n, len(tc.want))
			}
		})
	}
	if got, want := set.Len(), 10; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	if d := cmp.Diff([]string{"drop", "playbook", "feodo", "firehol", "plain"}, set.Lists()); d != "" {
		t.Errorf("Lists (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"feodo", "playbook", "drop"}, set.AppendLists(nil, netip.MustParseAddr("203.0.113.9"))); d != "" {
		t.Errorf("AppendLists (-want +got):\n%s", d)
	}
}

func TestSetIPv6CoveringIPv4(t *testing.T) {
	set := NewSet([]Indicator{ind("::/0", "all", ""), ind("10.0.0.0/8", "rfc1918", "")})
	got := set.Lookup(netip.MustParseAddr("10.1.2.3"))
	if len(got) != 2 || got[0].List != "rfc1918" || got[1].List != "all" {
		t.Errorf("Lookup(10.1.2.3) = %v, want rfc1918 then all", got)
	}
	if got := set.Lookup(netip.MustParseAddr("2001:db8::1")); len(got) != 1 || got[0].List != "all" {
		t.Errorf("Lookup(2001:db8::1) = %v, want all", got)
	}
}

// randomIndicators returns n indicators, mostly IPv4 hosts, with CIDR
// blocks of every length and some IPv6.
func randomIndicators(r *rand.Rand, n int) []Indicator {
	inds := make([]Indicator, n)
	for i := range inds {
		var p netip.Prefix
		switch x := r.IntN(10); {
		case x < 7:
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}), 32)
		case x < 9:
			a := netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			p = netip.PrefixFrom(a, 8+r.IntN(25)).Masked()
		default:
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			for j := 2; j < 16; j++ {
				b[j] = byte(r.Uint32())
			}
			p = netip.PrefixFrom(netip.AddrFrom16(b), 32+r.IntN(97)).Masked()
		}
		inds[i] = Indicator{Prefix: p, List: fmt.Sprintf("list%d", i%3), Comment: fmt.Sprint(i)}
	}
	return inds
}

// TestSetAgainstScan checks Lookup against a linear scan on random data.
func TestSetAgainstScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	inds := randomIndicators(r, 3000)
	set := NewSet(inds)
	probe := func(a netip.Addr) {
		var want []Indicator
		for _, in := range inds {
			if in.Prefix.Contains(a) {
				want = append(want, in)
			}
		}
		got := set.Lookup(a)
		// Most specific first, then input order within a prefix.
		slices.SortStableFunc(want, func(x, y Indicator) int { return y.Prefix.Bits() - x.Prefix.Bits() })
		if d := cmp.Diff(want, got, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); d != "" {
			t.Fatalf("Lookup(%s) (-scan +set):\n%s", a, d)
		}
	}
	for i := 0; i < 20000; i++ {
		// Half the probes inside a known indicator, half random.
		if i%2 == 0 {
			p := inds[r.IntN(len(inds))].Prefix
			b := p.Addr().AsSlice()
			for j := p.Bits() / 8; j < len(b); j++ {
				b[j] |= byte(r.Uint32()) & (0xff >> max(0, p.Bits()-j*8))
			}
			a, _ := netip.AddrFromSlice(b)
			probe(a)
			continue
		}
		if i%4 == 1 {
			probe(netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}))
		} else {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			for j := 2; j < 16; j++ {
				b[j] = byte(r.Uint32())
			}
			probe(netip.AddrFrom16(b))
		}
	}
}

func TestLookupMissDoesNotAllocate(t *testing.T) {
	set := NewSet(randomIndicators(rand.New(rand.NewPCG(3, 4)), 10000))
	miss := netip.MustParseAddr("127.0.0.1")
	for set.Contains(miss) {
		miss = miss.Next()
	}
	hit := set.inds[0].Prefix.Addr()
	if n := testing.AllocsPerRun(100, func() { set.Lookup(miss) }); n != 0 {
		t.Errorf("Lookup miss: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { set.Contains(hit) }); n != 0 {
		t.Errorf("Contains hit: %v allocs", n)
	}
}

// feedIndicators returns n indicators shaped like the big public feeds
// together: IPv4 hosts, 1% CIDR blocks from /12 to /24, 1% IPv6.
func feedIndicators(r *rand.Rand, n int) []Indicator {
	inds := make([]Indicator, n)
	for i := range inds {
		a := netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
		p := netip.PrefixFrom(a, 32)
		switch r.IntN(100) {
		case 0:
			p = netip.PrefixFrom(a, 12+r.IntN(13)).Masked()
		case 1:
			var b [16]byte
			b[0], b[1] = 0x2a, byte(r.Uint32())
			for j := 2; j < 16; j++ {
				b[j] = byte(r.Uint32())
			}
			p = netip.PrefixFrom(netip.AddrFrom16(b), 128)
		}
		inds[i] = Indicator{Prefix: p, List: fmt.Sprintf("list%d", i%3), Comment: fmt.Sprint(i % 100)}
	}
	return inds
}

// feedText renders n feed-like indicators as a plain list.
func feedText(n int) []byte {
	var buf bytes.Buffer
	for _, in := range feedIndicators(rand.New(rand.NewPCG(5, 6)), n) {
		buf.WriteString(PrefixString(in.Prefix))
		buf.WriteString(" # ")
		buf.WriteString(in.List)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkLoad parses a 1M-line list and builds the Set.
func BenchmarkLoad(b *testing.B) {
	const n = 1 << 20
	data := feedText(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := Parse(data, FormatPlain, "bench")
		if res.Accepted != n {
			b.Fatalf("accepted %d", res.Accepted)
		}
		NewSet(res.Indicators)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "indicators/s")
}

// BenchmarkLookup looks random addresses (mostly misses) and indicator
// addresses (hits) up in a Set of 1M feed-like indicators.
func BenchmarkLookup(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	set := NewSet(feedIndicators(r, 1<<20))
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	}
	hits := make([]netip.Addr, 4096)
	for i := range hits {
		hits[i] = set.inds[r.IntN(len(set.inds))].Prefix.Addr()
	}
	b.Run("random", func(b *testing.B) {
		b.ReportAllocs()
		m := 0
		for i := 0; i < b.N; i++ {
			m += len(set.Lookup(addrs[i&4095]))
		}
	})
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		m := 0
		for i := 0; i < b.N; i++ {
			m += len(set.Lookup(hits[i&4095]))
		}
	})
	b.Run("contains", func(b *testing.B) {
		b.ReportAllocs()
		m := 0
		for i := 0; i < b.N; i++ {
			if set.Contains(addrs[i&4095]) {
				m++
			}
		}
	})
}
