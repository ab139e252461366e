package iptable

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTableCases(t *testing.T) {
	type add struct {
		p string
		v uint64
	}
	tests := []struct {
		name   string
		adds   []add
		lookup map[string]uint64 // address -> OR of the containing prefixes; 0: no match
	}{
		{"empty", nil, map[string]uint64{"10.0.0.1": 0, "2001:db8::1": 0}},
		{"nested v4", []add{{"10.0.0.0/8", 1}, {"10.1.0.0/16", 2}, {"10.1.2.0/24", 4}},
			map[string]uint64{"10.0.0.0": 1, "10.1.0.0": 3, "10.1.2.255": 7, "10.1.3.0": 3, "10.255.255.255": 1, "11.0.0.0": 0, "9.255.255.255": 0}},
		{"same prefix twice", []add{{"192.0.2.0/24", 1}, {"192.0.2.0/24", 8}},
			map[string]uint64{"192.0.2.9": 9, "192.0.3.0": 0}},
		{"host and default", []add{{"0.0.0.0/0", 1}, {"255.255.255.255/32", 2}, {"0.0.0.0/32", 4}},
			map[string]uint64{"0.0.0.0": 5, "255.255.255.255": 3, "1.2.3.4": 1, "::1": 0}},
		{"mapped forms are one", []add{{"::ffff:10.0.0.0/104", 1}, {"10.0.0.0/24", 2}},
			map[string]uint64{"10.0.0.1": 3, "::ffff:10.0.0.1": 3, "10.9.0.0": 1}},
		{"v6 default covers v4", []add{{"::/0", 1}, {"fc00::/7", 2}},
			map[string]uint64{"1.1.1.1": 1, "fd00::1": 3, "2001:db8::": 1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 1}},
		{"v6 nested", []add{{"2001:db8::/32", 1}, {"2001:db8:0:1::/64", 2}, {"2001:db8:0:1::5/128", 4}},
			map[string]uint64{"2001:db8:0:1::5": 7, "2001:db8:0:1::6": 3, "2001:db8:ffff::": 1, "2001:db9::": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder[uint64]
			for _, a := range tc.adds {
				b.Add(netip.MustParsePrefix(a.p), a.v)
			}
			tab := b.Build(func(o, i uint64) uint64 { return o | i })
			got := map[string]uint64{}
			for s := range tc.lookup {
				v, ok := tab.Lookup(netip.MustParseAddr(s))
				if ok != (v != 0) {
					t.Errorf("%s: ok=%v with value %d", s, ok, v)
				}
				got[s] = v
			}
			if d := cmp.Diff(tc.lookup, got); d != "" {
				t.Errorf("lookups (-want +got):\n%s", d)
			}
		})
	}
}

// TestTableRandom compares lookups with a brute-force scan over random
// nested and overlapping prefixes, for both merge policies.
func TestTableRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			b[2] = byte(r.IntN(4))
			for i := 3; i < 16; i++ {
				b[i] = byte(r.IntN(256))
			}
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))})
	}
	for round := 0; round < 20; round++ {
		type pv struct {
			p netip.Prefix
			v uint64
		}
		var ps []pv
		var or, last Builder[uint64]
		for i := 0; i < 300; i++ {
			v6 := r.IntN(3) == 0
			a := randAddr(v6)
			bits := 8 + r.IntN(25)
			if v6 {
				bits = 16 + r.IntN(113)
			}
			p := netip.PrefixFrom(a, bits).Masked()
			v := uint64(1) << (i % 64)
			ps = append(ps, pv{p, v})
			or.Add(p, v)
			last.Add(p, uint64(i+1))
		}
		tOr := or.Build(func(o, i uint64) uint64 { return o | i })
		tLast := last.Build(nil)
		for q := 0; q < 3000; q++ {
			a := randAddr(r.IntN(3) == 0)
			var wantOr, wantLast uint64
			bestBits := -1
			for i, e := range ps {
				if e.p.Contains(a) {
					wantOr |= e.v
					if e.p.Bits() >= bestBits {
						bestBits, wantLast = e.p.Bits(), uint64(i+1)
					}
				}
			}
			if got, _ := tOr.Lookup(a); got != wantOr {
				t.Fatalf("round %d: %s: union %x, want %x", round, a, got, wantOr)
			}
			if got, _ := tLast.Lookup(a); got != wantLast {
				t.Fatalf("round %d: %s: most specific %d, want %d", round, a, got, wantLast)
			}
		}
	}
}

func TestRanges(t *testing.T) {
	var b Builder[string]
	b.Add(netip.MustParsePrefix("10.0.0.0/30"), "a")
	b.Add(netip.MustParsePrefix("10.0.0.1/32"), "b")
	b.Add(netip.MustParsePrefix("10.0.0.4/30"), "a")
	got := b.Build(nil).Ranges()
	a := netip.MustParseAddr
	want := []Range[string]{
		{a("10.0.0.0"), a("10.0.0.0"), "a"},
		{a("10.0.0.1"), a("10.0.0.1"), "b"},
		{a("10.0.0.2"), a("10.0.0.7"), "a"}, // adjacent equal ranges coalesce
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); d != "" {
		t.Fatalf("ranges (-want +got):\n%s", d)
	}
}

func BenchmarkLookup(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var bl Builder[uint32]
	for i := 0; i < 10000; i++ {
		a := netip.AddrFrom4([4]byte{byte(r.IntN(224)), byte(r.IntN(256)), byte(r.IntN(256)), 0})
		bl.Add(netip.PrefixFrom(a, 16+r.IntN(9)).Masked(), uint32(i))
	}
	for i := 0; i < 2000; i++ {
		var x [16]byte
		x[0], x[1] = 0x2a, 0x05
		for j := 2; j < 8; j++ {
			x[j] = byte(r.IntN(256))
		}
		bl.Add(netip.PrefixFrom(netip.AddrFrom16(x), 32+r.IntN(33)).Masked(), uint32(i))
	}
	tab := bl.Build(nil)
	addrs4 := make([]netip.Addr, 4096)
	addrs6 := make([]netip.Addr, 4096)
	for i := range addrs4 {
		addrs4[i] = netip.AddrFrom4([4]byte{byte(r.IntN(224)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		var x [16]byte
		x[0], x[1] = 0x2a, 0x05
		for j := 2; j < 16; j++ {
			x[j] = byte(r.IntN(256))
		}
		addrs6[i] = netip.AddrFrom16(x)
	}
	b.Run("v4", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; b.Loop(); i++ {
			if _, ok := tab.Lookup(addrs4[i&4095]); ok {
				n++
			}
		}
		_ = n
	})
	b.Run("v6", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; b.Loop(); i++ {
			if _, ok := tab.Lookup(addrs6[i&4095]); ok {
				n++
			}
		}
		_ = n
	})
}
