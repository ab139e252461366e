package filter

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"github.com/flowlens/flowlens/flowlog"
)

// op is a comparison operator.
type op uint8

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var opText = [...]string{opEq: "=", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">="}

// sqlOp is the SQL spelling of each operator.
var sqlOp = [...]string{opEq: "=", opNe: "<>", opLt: "<", opLe: "<=", opGt: ">", opGe: ">="}

func parseOp(s string) op {
	for o, t := range opText {
		if t == s {
			return op(o)
		}
	}
	panic("filter: unknown operator " + s)
}

// holds reports whether a comparison with result c (-1, 0, 1) satisfies o.
func (o op) holds(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

// u128 is a 16-byte address key as two big-endian halves, so that integer
// order is the byte order of the stores' `_bin` columns.
type u128 struct{ hi, lo uint64 }

func keyOf(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k u128) bytes() [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return b
}

func (k u128) cmp(o u128) int {
	switch {
	case k.hi < o.hi:
		return -1
	case k.hi > o.hi:
		return 1
	case k.lo < o.lo:
		return -1
	case k.lo > o.lo:
		return 1
	}
	return 0
}

// prefixRange returns the first and last keys of the addresses in p (IPv4
// prefixes inside ::ffff:0:0/96).
func prefixRange(p netip.Prefix) (lo, hi u128) {
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	lo = keyOf(p.Masked().Addr())
	hi = lo
	switch {
	case bits == 0:
		hi = u128{^uint64(0), ^uint64(0)}
	case bits < 64:
		hi.hi |= ^uint64(0) >> bits
		hi.lo = ^uint64(0)
	case bits < 128:
		hi.lo |= ^uint64(0) >> (bits - 64)
	}
	return lo, hi
}

// value is one typed literal.
type value struct {
	i    int64      // TypeInt32, TypeInt64, TypeTime; TypeBool as 0 or 1
	s    []byte     // TypeString
	addr netip.Addr // TypeIP, as written (unmapped)
	key  u128       // TypeIP
}

// itemKind tells what an element of an `in` set is.
type itemKind uint8

const (
	itemValue  itemKind = iota // one value
	itemRange                  // lo..hi, both included
	itemPrefix                 // an address prefix: every address in it
)

// item is one element of a set (or the right side of `=` with a range or
// prefix).
type item struct {
	kind   itemKind
	lo, hi value // lo only for itemValue
	prefix netip.Prefix
}

// node is a compiled filter expression: it evaluates against batch rows,
// renders SQL for a dialect and prints back as filter text.
type node interface {
	// eval evaluates row i of b with SQL's three-valued logic.
	eval(b *flowlog.Batch, i int) tri
	// sql appends the SQL form.
	sql(w *sqlWriter)
	// str appends the filter form; name replaces the field name when not
	// empty (pair shorthands).
	str(sb *strings.Builder, name string)
}

// andNode is true when every child is.
type andNode struct{ kids []node }

// orNode is true when any child is.
type orNode struct{ kids []node }

// notNode negates its child (NULL stays NULL).
type notNode struct{ kid node }

// pairNode is the same predicate on the two fields of a pair shorthand
// (addr, port): true when either side is.
type pairNode struct {
	name string
	a, b node
}

// cmpNode compares a field with one value.
type cmpNode struct {
	f  *Field
	op op
	v  value
}

// setNode is `field in (...)`: values, ranges and prefixes.
type setNode struct {
	f     *Field
	items []item
	// Eval form: sorted, merged, inclusive ranges.
	ints []intRange
	keys []keyRange
	strs [][]byte
}

type intRange struct{ lo, hi int64 }

type keyRange struct{ lo, hi u128 }

// nullNode is `field = null` (IS NULL) or, with not, `field != null`.
type nullNode struct {
	f   *Field
	not bool
}

// writeValue appends v in filter syntax.
func writeValue(sb *strings.Builder, t Type, v value) {
	switch t {
	case TypeString:
		sb.WriteString(quote(string(v.s)))
	case TypeIP:
		sb.WriteString(v.addr.String())
	case TypeBool:
		sb.WriteString(strconv.FormatBool(v.i != 0))
	default:
		sb.WriteString(strconv.FormatInt(v.i, 10))
	}
}

func writeItem(sb *strings.Builder, t Type, it item) {
	switch it.kind {
	case itemValue:
		writeValue(sb, t, it.lo)
	case itemRange:
		writeValue(sb, t, it.lo)
		sb.WriteString("..")
		writeValue(sb, t, it.hi)
	case itemPrefix:
		sb.WriteString(it.prefix.String())
	}
}

func fieldName(f *Field, name string) string {
	if name != "" {
		return name
	}
	return f.Name
}

func (n *andNode) str(sb *strings.Builder, _ string) {
	for i, k := range n.kids {
		if i > 0 {
			sb.WriteString(" and ")
		}
		if _, ok := k.(*orNode); ok {
			sb.WriteByte('(')
			k.str(sb, "")
			sb.WriteByte(')')
			continue
		}
		k.str(sb, "")
	}
}

func (n *orNode) str(sb *strings.Builder, _ string) {
	for i, k := range n.kids {
		if i > 0 {
			sb.WriteString(" or ")
		}
		k.str(sb, "")
	}
}

func (n *notNode) str(sb *strings.Builder, name string) {
	switch k := n.kid.(type) {
	case *setNode:
		sb.WriteString(fieldName(k.f, name))
		sb.WriteString(" not in ")
		k.writeList(sb)
		return
	case *pairNode:
		// The negations of a pair print as they are written.
		switch a := k.a.(type) {
		case *setNode:
			sb.WriteString(k.name)
			sb.WriteString(" not in ")
			a.writeList(sb)
			return
		case *nullNode:
			sb.WriteString(k.name)
			sb.WriteString(" != null")
			return
		case *cmpNode:
			if a.op == opEq {
				sb.WriteString(k.name)
				sb.WriteString(" != ")
				writeValue(sb, a.f.Type, a.v)
				return
			}
		}
	case *andNode, *orNode:
		sb.WriteString("not (")
		k.str(sb, "")
		sb.WriteByte(')')
		return
	}
	sb.WriteString("not ")
	n.kid.str(sb, name)
}

func (n *pairNode) str(sb *strings.Builder, _ string) { n.a.str(sb, n.name) }

func (n *cmpNode) str(sb *strings.Builder, name string) {
	sb.WriteString(fieldName(n.f, name))
	sb.WriteByte(' ')
	sb.WriteString(opText[n.op])
	sb.WriteByte(' ')
	writeValue(sb, n.f.Type, n.v)
}

func (n *setNode) str(sb *strings.Builder, name string) {
	sb.WriteString(fieldName(n.f, name))
	sb.WriteString(" in ")
	n.writeList(sb)
}

func (n *setNode) writeList(sb *strings.Builder) {
	sb.WriteByte('(')
	for i, it := range n.items {
		if i > 0 {
			sb.WriteString(", ")
		}
		writeItem(sb, n.f.Type, it)
	}
	sb.WriteByte(')')
}

func (n *nullNode) str(sb *strings.Builder, name string) {
	sb.WriteString(fieldName(n.f, name))
	if n.not {
		sb.WriteString(" != null")
	} else {
		sb.WriteString(" = null")
	}
}
