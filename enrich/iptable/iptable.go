// Package iptable maps IP addresses to values through prefixes: a set of
// (prefix, value) pairs is flattened into disjoint address ranges, each
// holding the value of its most specific prefix (merged with the values of
// the prefixes that enclose it), and looked up by binary search behind a
// 16-bit bucket index. Lookups do not allocate. The enrichment lookups
// (network class, AWS ranges, allow-lists, inventory) are built on it.
package iptable

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// Key is a 128-bit address key: the IPv6 form of an address (IPv4 as
// IPv4-mapped), most significant half first.
type Key struct{ Hi, Lo uint64 }

// KeyOf returns the key of a (valid) address.
func KeyOf(a netip.Addr) Key {
	b := a.As16()
	return Key{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k Key) cmp(o Key) int {
	if c := cmp.Compare(k.Hi, o.Hi); c != 0 {
		return c
	}
	return cmp.Compare(k.Lo, o.Lo)
}

func (k Key) inc() Key {
	if k.Lo == ^uint64(0) {
		return Key{k.Hi + 1, 0}
	}
	return Key{k.Hi, k.Lo + 1}
}

func (k Key) dec() Key {
	if k.Lo == 0 {
		return Key{k.Hi - 1, ^uint64(0)}
	}
	return Key{k.Hi, k.Lo - 1}
}

// lastKey is the last key of the prefix starting at lo with bits (of 128).
func lastKey(lo Key, bits int) Key {
	switch {
	case bits <= 0:
		return Key{^uint64(0), ^uint64(0)}
	case bits < 64:
		return Key{lo.Hi | (^uint64(0) >> bits), ^uint64(0)}
	case bits < 128:
		return Key{lo.Hi, lo.Lo | (^uint64(0) >> (bits - 64))}
	}
	return lo
}

// Builder collects prefixes and values for a Table. The zero value is
// ready to use.
type Builder[V comparable] struct {
	ents []entry[V]
}

type entry[V comparable] struct {
	lo, hi Key
	bits   int
	seq    int
	v      V
}

// Add records that addresses in p carry v. An IPv4 prefix and its
// IPv4-mapped IPv6 form are the same. Invalid prefixes are ignored.
func (b *Builder[V]) Add(p netip.Prefix, v V) {
	if !p.IsValid() {
		return
	}
	bits := p.Bits()
	a := p.Addr()
	if a.Is4() {
		bits += 96 // as IPv4-mapped
	}
	a = netip.AddrFrom16(a.As16())
	p = netip.PrefixFrom(a, bits).Masked()
	lo := KeyOf(p.Addr())
	b.ents = append(b.ents, entry[V]{lo: lo, hi: lastKey(lo, bits), bits: bits, seq: len(b.ents), v: v})
}

// Len returns the number of prefixes added.
func (b *Builder[V]) Len() int { return len(b.ents) }

// Build flattens the prefixes into a Table. merge combines the value of
// an enclosing prefix (outer) with that of a prefix inside it (inner),
// and two values given for the same prefix (in the order added); nil
// means the inner (or later) value wins.
func (b *Builder[V]) Build(merge func(outer, inner V) V) *Table[V] {
	if merge == nil {
		merge = func(_, inner V) V { return inner }
	}
	ents := slices.Clone(b.ents)
	slices.SortFunc(ents, func(x, y entry[V]) int {
		if c := x.lo.cmp(y.lo); c != 0 {
			return c
		}
		if c := cmp.Compare(x.bits, y.bits); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	t := &Table[V]{}
	type open struct {
		hi Key
		v  V
	}
	var stack []open
	var cursor Key // first key not yet emitted (valid while stack is non-empty)
	emit := func(lo, hi Key, v V) {
		n := len(t.lo)
		if n > 0 && t.vals[n-1] == v && t.hi[n-1].inc() == lo && t.hi[n-1] != (Key{^uint64(0), ^uint64(0)}) {
			t.hi[n-1] = hi
			return
		}
		t.lo = append(t.lo, lo)
		t.hi = append(t.hi, hi)
		t.vals = append(t.vals, v)
	}
	// closeTo pops every open prefix that ends before k, emitting what is
	// left of each.
	closeTo := func(k Key, all bool) {
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if !all && top.hi.cmp(k) >= 0 {
				return
			}
			if cursor.cmp(top.hi) <= 0 {
				emit(cursor, top.hi, top.v)
			}
			stack = stack[:len(stack)-1]
			if top.hi == (Key{^uint64(0), ^uint64(0)}) {
				cursor = top.hi // nothing follows
				stack = stack[:0]
				return
			}
			cursor = top.hi.inc()
		}
	}
	for i := 0; i < len(ents); i++ {
		e := ents[i]
		// Same prefix again: merge into the value.
		v := e.v
		for i+1 < len(ents) && ents[i+1].lo == e.lo && ents[i+1].bits == e.bits {
			i++
			v = merge(v, ents[i].v)
		}
		closeTo(e.lo, false)
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if cursor.cmp(e.lo) < 0 {
				emit(cursor, e.lo.dec(), top.v)
			}
			v = merge(top.v, v)
		}
		stack = append(stack, open{hi: e.hi, v: v})
		cursor = e.lo
	}
	closeTo(Key{}, true)
	t.index()
	return t
}

// Table is an immutable address -> value map built by a Builder. It is
// safe for concurrent use.
type Table[V comparable] struct {
	lo, hi []Key
	vals   []V
	// v4 holds the IPv4-mapped ranges (indexes into lo/hi/vals) as 32-bit
	// keys with a bucket index on their top 16 bits, for the common case.
	v4lo, v4hi []uint32
	v4idx      []int32
	bucket4    []int32 // 65537 entries, or nil when there are no IPv4 ranges
}

var mappedLo = Key{0, 0xffff_0000_0000}
var mappedHi = Key{0, 0xffff_ffff_ffff}

// index builds the IPv4 view: ranges clipped to ::ffff:0:0/96.
func (t *Table[V]) index() {
	for i := range t.lo {
		lo, hi := t.lo[i], t.hi[i]
		if hi.cmp(mappedLo) < 0 || lo.cmp(mappedHi) > 0 {
			continue
		}
		if lo.cmp(mappedLo) < 0 {
			lo = mappedLo
		}
		if hi.cmp(mappedHi) > 0 {
			hi = mappedHi
		}
		t.v4lo = append(t.v4lo, uint32(lo.Lo))
		t.v4hi = append(t.v4hi, uint32(hi.Lo))
		t.v4idx = append(t.v4idx, int32(i))
	}
	if len(t.v4lo) == 0 {
		return
	}
	t.bucket4 = make([]int32, 1<<16+1)
	j := 0
	for b := 0; b <= 1<<16; b++ {
		for j < len(t.v4lo) && int(t.v4lo[j]>>16) < b {
			j++
		}
		t.bucket4[b] = int32(j)
	}
}

// Len returns the number of disjoint ranges.
func (t *Table[V]) Len() int { return len(t.lo) }

// Lookup returns the value for a, and whether any prefix contains it.
func (t *Table[V]) Lookup(a netip.Addr) (V, bool) {
	if a.Is4() || a.Is4In6() {
		return t.Lookup4(a.As4())
	}
	var zero V
	if !a.IsValid() {
		return zero, false
	}
	return t.LookupKey(KeyOf(a))
}

// Lookup4 returns the value for an IPv4 address.
func (t *Table[V]) Lookup4(b [4]byte) (V, bool) {
	var zero V
	if t.bucket4 == nil {
		return zero, false
	}
	k := binary.BigEndian.Uint32(b[:])
	top := k >> 16
	// Candidates: the last range starting at or before k. It starts in this
	// bucket or is the last of an earlier one.
	lo, hi := int(t.bucket4[top]), int(t.bucket4[top+1])
	// Find the first index in [lo, hi) with v4lo > k.
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.v4lo[m] <= k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo - 1
	if i < 0 || t.v4hi[i] < k {
		return zero, false
	}
	return t.vals[t.v4idx[i]], true
}

// LookupKey returns the value for a 128-bit key (IPv4 as IPv4-mapped).
func (t *Table[V]) LookupKey(k Key) (V, bool) {
	var zero V
	if k.Hi == 0 && k.Lo>>32 == 0xffff {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(k.Lo))
		return t.Lookup4(b)
	}
	// The first index with lo > k, then one back.
	lo, hi := 0, len(t.lo)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e := t.lo[m]; e.Hi < k.Hi || (e.Hi == k.Hi && e.Lo <= k.Lo) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo - 1
	if i < 0 || t.hi[i].cmp(k) < 0 {
		return zero, false
	}
	return t.vals[i], true
}

// Range is one flattened range of a Table.
type Range[V comparable] struct {
	First, Last netip.Addr
	Value       V
}

// Ranges returns the table's disjoint ranges in address order (for tests
// and diagnostics).
func (t *Table[V]) Ranges() []Range[V] {
	out := make([]Range[V], len(t.lo))
	for i := range t.lo {
		out[i] = Range[V]{keyAddr(t.lo[i]), keyAddr(t.hi[i]), t.vals[i]}
	}
	return out
}

func keyAddr(k Key) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.Hi)
	binary.BigEndian.PutUint64(b[8:], k.Lo)
	return netip.AddrFrom16(b).Unmap()
}
