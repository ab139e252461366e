package filter

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/flowlens/flowlens/flowlog"
)

// tri is a truth value of SQL's three-valued logic: a comparison with a NULL
// is unknown, and a row matches only when the filter is true. Eval and the
// SQL agree row for row because both follow these rules.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triNull
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (n *andNode) eval(b *flowlog.Batch, i int) tri {
	r := triTrue
	for _, k := range n.kids {
		switch k.eval(b, i) {
		case triFalse:
			return triFalse
		case triNull:
			r = triNull
		}
	}
	return r
}

func (n *orNode) eval(b *flowlog.Batch, i int) tri {
	r := triFalse
	for _, k := range n.kids {
		switch k.eval(b, i) {
		case triTrue:
			return triTrue
		case triNull:
			r = triNull
		}
	}
	return r
}

func (n *notNode) eval(b *flowlog.Batch, i int) tri {
	switch n.kid.eval(b, i) {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triNull
}

func (n *pairNode) eval(b *flowlog.Batch, i int) tri {
	r := n.a.eval(b, i)
	if r == triTrue {
		return triTrue
	}
	switch n.b.eval(b, i) {
	case triTrue:
		return triTrue
	case triNull:
		return triNull
	}
	return r
}

// column returns the batch column of f when row i has a value there.
func column(f *Field, b *flowlog.Batch, i int) *flowlog.Column {
	if f.ID < 0 || !b.Present.Has(f.ID) {
		return nil
	}
	c := &b.Cols[f.ID]
	if !c.Valid[i] {
		return nil
	}
	return c
}

func (n *nullNode) eval(b *flowlog.Batch, i int) tri {
	isNull := column(n.f, b, i) == nil
	return triOf(isNull != n.not)
}

func (n *cmpNode) eval(b *flowlog.Batch, i int) tri {
	c := column(n.f, b, i)
	if c == nil {
		return triNull
	}
	switch n.f.Type {
	case TypeString:
		return triOf(n.op.holds(bytes.Compare(c.Bytes(i), n.v.s)))
	case TypeIP:
		return triOf(n.op.holds(keyOf(c.IPs[i]).cmp(n.v.key)))
	}
	// Integers, times and booleans (0 or 1).
	return triOf(n.op.holds(cmp.Compare(c.Ints[i], n.v.i)))
}

// linearMax is the set size up to which a linear scan beats a binary search.
const linearMax = 8

func (n *setNode) eval(b *flowlog.Batch, i int) tri {
	c := column(n.f, b, i)
	if c == nil {
		return triNull
	}
	switch n.f.Type {
	case TypeString:
		v := c.Bytes(i)
		if len(n.strs) <= linearMax {
			for _, s := range n.strs {
				if bytes.Equal(v, s) {
					return triTrue
				}
			}
			return triFalse
		}
		_, found := slices.BinarySearchFunc(n.strs, v, bytes.Compare)
		return triOf(found)
	case TypeIP:
		return triOf(inKeyRanges(n.keys, keyOf(c.IPs[i])))
	}
	return triOf(inIntRanges(n.ints, c.Ints[i]))
}

func inIntRanges(rs []intRange, v int64) bool {
	if len(rs) <= linearMax {
		for _, r := range rs {
			if v >= r.lo && v <= r.hi {
				return true
			}
		}
		return false
	}
	// First range whose hi >= v; v is inside when it starts at or before v.
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if rs[m].hi < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(rs) && rs[lo].lo <= v
}

func inKeyRanges(rs []keyRange, v u128) bool {
	if len(rs) <= linearMax {
		for _, r := range rs {
			if v.cmp(r.lo) >= 0 && v.cmp(r.hi) <= 0 {
				return true
			}
		}
		return false
	}
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if rs[m].hi.cmp(v) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(rs) && rs[lo].lo.cmp(v) <= 0
}

// prepare builds the Eval form of the set: sorted, merged ranges (or sorted
// distinct strings).
func (n *setNode) prepare() {
	switch n.f.Type {
	case TypeString:
		for _, it := range n.items {
			n.strs = append(n.strs, it.lo.s)
		}
		slices.SortFunc(n.strs, bytes.Compare)
		n.strs = slices.CompactFunc(n.strs, bytes.Equal)
	case TypeIP:
		for _, it := range n.items {
			switch it.kind {
			case itemValue:
				n.keys = append(n.keys, keyRange{it.lo.key, it.lo.key})
			case itemRange:
				n.keys = append(n.keys, keyRange{it.lo.key, it.hi.key})
			case itemPrefix:
				lo, hi := prefixRange(it.prefix)
				n.keys = append(n.keys, keyRange{lo, hi})
			}
		}
		slices.SortFunc(n.keys, func(a, b keyRange) int { return a.lo.cmp(b.lo) })
		out := n.keys[:0]
		for _, r := range n.keys {
			if k := len(out) - 1; k >= 0 && r.lo.cmp(out[k].hi) <= 0 {
				if r.hi.cmp(out[k].hi) > 0 {
					out[k].hi = r.hi
				}
				continue
			}
			out = append(out, r)
		}
		n.keys = out
	default:
		for _, it := range n.items {
			hi := it.lo.i
			if it.kind == itemRange {
				hi = it.hi.i
			}
			n.ints = append(n.ints, intRange{it.lo.i, hi})
		}
		slices.SortFunc(n.ints, func(a, b intRange) int { return cmp.Compare(a.lo, b.lo) })
		out := n.ints[:0]
		for _, r := range n.ints {
			if k := len(out) - 1; k >= 0 && r.lo <= out[k].hi {
				out[k].hi = max(out[k].hi, r.hi)
				continue
			}
			out = append(out, r)
		}
		n.ints = out
	}
}
