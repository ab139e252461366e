package intel

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// Set is an immutable lookup structure over indicators: for an address it
// returns every indicator whose prefix contains it, most specific first.
//
// Prefixes are kept as sorted ranges, one table for IPv4 (32-bit keys) and
// one for IPv6 (128-bit keys), each with a 16-bit bucket index in front of
// a binary search and, per prefix, the index of its nearest enclosing
// prefix. IP prefixes never partially overlap, so the containing prefixes
// of an address are the last prefix starting at or before it and its
// chain of enclosing prefixes. A Set is safe for concurrent use.
type Set struct {
	inds []Indicator // grouped by prefix, in table order
	v4   table4
	v6   table6
	n    int
	// lists are the distinct list names, in first-seen order.
	lists []string
}

// u128 is a 128-bit key, most significant half first.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// table4 and table6 hold the prefixes of one address family: lo and hi
// are the first and last address of each prefix, sorted by lo then length;
// parent is the nearest enclosing prefix (-1 for none); the indicators of
// prefix i are inds[off[i]:off[i+1]]; bucket[b] is the first prefix whose
// lo has its top 16 bits >= b (65537 entries; nil when the table is empty).
type table4 struct {
	lo, hi []uint32
	parent []int32
	off    []int32
	bucket []int32
}

type table6 struct {
	lo, hi []u128
	parent []int32
	off    []int32
	bucket []int32
}

// NewSet builds a Set from indicators (normalizing their prefixes in
// place: masked, IPv4-mapped as IPv4). Duplicates (same prefix, list and
// comment) are kept once. An IPv6 prefix that covers the IPv4-mapped range
// ::ffff:0:0/96 (such as ::/0) also matches every IPv4 address.
func NewSet(inds []Indicator) *Set {
	// IPv4 keys pack address, length and input index into one uint64
	// (address<<32 | length<<26 | index) so that a plain integer sort
	// orders them; IPv6 keys, rarer, use a comparison sort.
	type key6 struct {
		lo   u128
		bits int
		idx  int32
	}
	const packMax = 1 << 26
	packed := len(inds) < packMax
	keys4 := make([]uint64, 0, len(inds))
	var keys6 []key6
	var extra []int32 // IPv6 prefixes that cover IPv4
	mapped := netip.MustParsePrefix("::ffff:0:0/96")
	for i := range inds {
		p := normalize(inds[i].Prefix)
		if !p.IsValid() {
			continue
		}
		inds[i].Prefix = p
		if p.Addr().Is4() {
			b := p.Addr().As4()
			lo := binary.BigEndian.Uint32(b[:])
			keys4 = append(keys4, uint64(lo)<<32|uint64(p.Bits())<<26|uint64(i)&(packMax-1))
			if !packed {
				keys6 = append(keys6, key6{lo: u128{0, uint64(lo)}, bits: p.Bits(), idx: int32(i)})
			}
			continue
		}
		if p.Bits() <= 96 && p.Overlaps(mapped) {
			extra = append(extra, int32(i))
		}
		keys6 = append(keys6, key6{lo: addrKey(p.Addr()), bits: p.Bits(), idx: int32(i)})
	}
	cmp6 := func(a, b key6) int {
		if c := a.lo.cmp(b.lo); c != 0 {
			return c
		}
		if c := cmp.Compare(a.bits, b.bits); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	}
	var order4 []int32
	if packed {
		slices.Sort(keys4)
		order4 = make([]int32, len(keys4))
		for j, k := range keys4 {
			order4[j] = int32(k & (packMax - 1))
		}
	} else {
		// Too many to pack the index: sort everything by comparison.
		v4 := keys6[:0:0]
		var v6 []key6
		for _, k := range keys6 {
			if inds[k.idx].Prefix.Addr().Is4() {
				v4 = append(v4, k)
			} else {
				v6 = append(v6, k)
			}
		}
		slices.SortFunc(v4, cmp6)
		for _, k := range v4 {
			order4 = append(order4, k.idx)
		}
		keys6 = v6
	}
	keys4 = nil
	slices.SortFunc(keys6, cmp6)

	s := &Set{inds: make([]Indicator, 0, len(order4)+len(keys6)+len(extra))}
	seenList := map[string]bool{}
	for i := range inds {
		if l := inds[i].List; !seenList[l] {
			seenList[l] = true
			s.lists = append(s.lists, l)
		}
	}
	// addInd appends an indicator unless the current prefix already holds
	// the same list and comment.
	addInd := func(in *Indicator, start int) bool {
		for j := start; j < len(s.inds); j++ {
			if s.inds[j].List == in.List && s.inds[j].Comment == in.Comment {
				return false
			}
		}
		s.inds = append(s.inds, *in)
		return true
	}

	// IPv4: 0.0.0.0/0 first when IPv6 prefixes cover the mapped range.
	t4 := table4{
		lo:  make([]uint32, 0, len(order4)+1),
		hi:  make([]uint32, 0, len(order4)+1),
		off: make([]int32, 0, len(order4)+2),
	}
	start := 0
	if len(extra) > 0 {
		t4.lo, t4.hi, t4.off = append(t4.lo, 0), append(t4.hi, ^uint32(0)), append(t4.off, 0)
		for _, i := range extra {
			addInd(&inds[i], start)
		}
	}
	var last netip.Prefix
	for j, i := range order4 {
		in := &inds[i]
		if j == 0 || in.Prefix != last {
			if len(extra) > 0 && in.Prefix.Bits() == 0 {
				// Shares the 0.0.0.0/0 entry made for IPv6 above.
			} else {
				b := in.Prefix.Addr().As4()
				lo := binary.BigEndian.Uint32(b[:])
				t4.lo = append(t4.lo, lo)
				t4.hi = append(t4.hi, lo|lastMask32(in.Prefix.Bits()))
				t4.off = append(t4.off, int32(len(s.inds)))
				start = len(s.inds)
			}
			last = in.Prefix
		}
		if addInd(in, start) {
			s.n++
		}
	}
	t4.off = append(t4.off, int32(len(s.inds)))
	t6 := table6{off: make([]int32, 0, len(keys6)+1)}
	for j, k := range keys6 {
		in := &inds[k.idx]
		if j == 0 || in.Prefix != last {
			t6.lo = append(t6.lo, k.lo)
			t6.hi = append(t6.hi, lastKey128(k.lo, k.bits))
			t6.off = append(t6.off, int32(len(s.inds)))
			start = len(s.inds)
			last = in.Prefix
		}
		if addInd(in, start) {
			s.n++
		}
	}
	t6.off = append(t6.off, int32(len(s.inds)))
	t4.parent, t4.bucket = index(t4.lo, t4.hi, cmp.Compare[uint32], func(k uint32) int { return int(k >> 16) })
	t6.parent, t6.bucket = index(t6.lo, t6.hi, u128.cmp, func(k u128) int { return int(k.hi >> 48) })
	s.v4, s.v6 = t4, t6
	return s
}

// lastMask32 returns the host-bit mask of an IPv4 prefix length.
func lastMask32(bits int) uint32 {
	if bits >= 32 {
		return 0
	}
	return ^uint32(0) >> bits
}

// lastKey128 returns the last address of the prefix lo/bits.
func lastKey128(lo u128, bits int) u128 {
	switch {
	case bits <= 0:
		return u128{^uint64(0), ^uint64(0)}
	case bits < 64:
		return u128{lo.hi | ^uint64(0)>>bits, ^uint64(0)}
	case bits < 128:
		return u128{lo.hi, lo.lo | ^uint64(0)>>(bits-64)}
	}
	return lo
}

// addrKey returns the 128-bit key of an address (IPv4 in the low bits).
func addrKey(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// index computes the parents and the bucket index of sorted ranges.
func index[K any](los, his []K, compare func(a, b K) int, top16 func(K) int) (parent, bucket []int32) {
	n := len(los)
	if n == 0 {
		return nil, nil
	}
	parent = make([]int32, n)
	stack := make([]int32, 0, 33)
	for i := 0; i < n; i++ {
		for len(stack) > 0 && compare(his[stack[len(stack)-1]], los[i]) < 0 {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			parent[i] = stack[len(stack)-1]
		} else {
			parent[i] = -1
		}
		stack = append(stack, int32(i))
	}
	bucket = make([]int32, 1<<16+1)
	j := 0
	for b := 0; b <= 1<<16; b++ {
		for j < n && top16(los[j]) < b {
			j++
		}
		bucket[b] = int32(j)
	}
	return parent, bucket
}

// find4 returns the most specific IPv4 prefix containing a, or -1.
func (t *table4) find(a uint32) int32 {
	lo, hi := t.lo, t.hi
	if len(lo) == 0 {
		return -1
	}
	b := a >> 16
	i, j := t.bucket[b], t.bucket[b+1]
	// Last prefix in [i, j) with lo <= a, else the one before the bucket.
	for i < j {
		m := int32(uint32(i+j) >> 1)
		if lo[m] <= a {
			i = m + 1
		} else {
			j = m
		}
	}
	k := i - 1
	for k >= 0 && hi[k] < a {
		k = t.parent[k]
	}
	return k
}

// find6 returns the most specific IPv6 prefix containing a, or -1.
func (t *table6) find(a u128) int32 {
	lo, hi := t.lo, t.hi
	if len(lo) == 0 {
		return -1
	}
	b := a.hi >> 48
	i, j := t.bucket[b], t.bucket[b+1]
	for i < j {
		m := int32(uint32(i+j) >> 1)
		if lo[m].cmp(a) <= 0 {
			i = m + 1
		} else {
			j = m
		}
	}
	k := i - 1
	for k >= 0 && hi[k].cmp(a) < 0 {
		k = t.parent[k]
	}
	return k
}

// find returns the table and index of the most specific prefix containing
// addr (-1 when none).
func (s *Set) find(addr netip.Addr) (parent []int32, off []int32, k int32) {
	if !addr.IsValid() {
		return nil, nil, -1
	}
	addr = addr.Unmap()
	if addr.Is4() {
		b := addr.As4()
		return s.v4.parent, s.v4.off, s.v4.find(binary.BigEndian.Uint32(b[:]))
	}
	return s.v6.parent, s.v6.off, s.v6.find(addrKey(addr))
}

// Contains reports whether any indicator contains addr. It does not
// allocate.
func (s *Set) Contains(addr netip.Addr) bool {
	_, _, k := s.find(addr)
	return k >= 0
}

// Lookup returns the indicators containing addr, most specific prefix
// first (indicators of one prefix in list order), or nil. It does not
// allocate when nothing matches or when a single prefix matches; the
// returned slice then belongs to the Set and must not be modified.
func (s *Set) Lookup(addr netip.Addr) []Indicator {
	parent, off, k := s.find(addr)
	if k < 0 {
		return nil
	}
	if parent[k] < 0 {
		return s.inds[off[k]:off[k+1]:off[k+1]]
	}
	return s.appendChain(nil, parent, off, k)
}

// AppendLookup appends the indicators containing addr to dst, most
// specific first, and returns the extended slice.
func (s *Set) AppendLookup(dst []Indicator, addr netip.Addr) []Indicator {
	parent, off, k := s.find(addr)
	if k < 0 {
		return dst
	}
	return s.appendChain(dst, parent, off, k)
}

func (s *Set) appendChain(dst []Indicator, parent, off []int32, k int32) []Indicator {
	for ; k >= 0; k = parent[k] {
		dst = append(dst, s.inds[off[k]:off[k+1]]...)
	}
	return dst
}

// AppendLists appends the distinct names of the lists with an indicator
// containing addr (most specific first) to dst. It is what enrichment
// stores per address.
func (s *Set) AppendLists(dst []string, addr netip.Addr) []string {
	parent, off, k := s.find(addr)
	for ; k >= 0; k = parent[k] {
	next:
		for _, in := range s.inds[off[k]:off[k+1]] {
			for _, l := range dst {
				if l == in.List {
					continue next
				}
			}
			dst = append(dst, in.List)
		}
	}
	return dst
}

// Len returns the number of distinct indicators in the Set.
func (s *Set) Len() int { return s.n }

// Prefixes returns the number of distinct prefixes.
func (s *Set) Prefixes() int { return len(s.v4.lo) + len(s.v6.lo) }

// Lists returns the distinct list names, in the order first seen.
func (s *Set) Lists() []string { return append([]string(nil), s.lists...) }
