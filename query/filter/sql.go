package filter

import (
	"strings"
)

// Dialect writes the parts of a filter's SQL that differ between stores.
// Values never appear in the SQL text: they are bound through Params.
//
// IP contract: every IP field has a text column named after the field
// (canonical netip.Addr.String() form) used for NULL tests, and a key form
// (IPKey) whose values order like the 16-byte IPv4-mapped address
// (netip.Addr.As16()), used for equality, ordering and ranges: a CIDR is
// `key BETWEEN first AND last`.
type Dialect interface {
	// Name names the dialect ("duckdb").
	Name() string
	// Ident quotes a column name.
	Ident(name string) string
	// Placeholder returns the marker of the n-th bound argument (1-based).
	Placeholder(n int) string
	// IPKey returns the expression holding the ordered key of the addresses
	// of IP column col.
	IPKey(col string) string
	// IPParam binds the 16-byte key of an address (IPv4 as IPv4-mapped
	// IPv6) so that it compares with IPKey, and returns its SQL.
	IPParam(p *Params, key [16]byte) string
	// IsNull tests expr for NULL, or for not NULL when not is set.
	IsNull(expr string, not bool) string
	// Either combines the same condition written for the two fields of a
	// pair shorthand (`addr = x`: srcaddr or dstaddr), true when either is.
	// a's arguments were bound before b's, so a must come first in the text
	// of dialects with positional placeholders.
	Either(a, b string) string
}

// Params collects the arguments bound while SQL is written.
type Params struct {
	d    Dialect
	args []any
}

// Add binds v and returns its placeholder.
func (p *Params) Add(v any) string {
	p.args = append(p.args, v)
	return p.d.Placeholder(len(p.args))
}

// Args returns the arguments bound so far, in placeholder order.
func (p *Params) Args() []any { return p.args }

// DuckDB is the dialect of the DuckDB store: double-quoted identifiers, `?`
// placeholders, IP keys in BLOB columns named <column>_bin bound as []byte.
type DuckDB struct{}

var _ Dialect = DuckDB{}

// Name returns "duckdb".
func (DuckDB) Name() string { return "duckdb" }

// Ident double-quotes name (doubling embedded quotes).
func (DuckDB) Ident(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Placeholder returns "?": DuckDB binds positionally.
func (DuckDB) Placeholder(int) string { return "?" }

// IPKey returns the quoted <col>_bin BLOB column.
func (d DuckDB) IPKey(col string) string { return d.Ident(col + "_bin") }

// IPParam binds the key as a 16-byte []byte (a BLOB).
func (DuckDB) IPParam(p *Params, key [16]byte) string {
	b := key
	return p.Add(b[:])
}

// IsNull renders `expr IS [NOT] NULL`.
func (DuckDB) IsNull(expr string, not bool) string {
	if not {
		return expr + " IS NOT NULL"
	}
	return expr + " IS NULL"
}

// Either renders `(a OR b)`.
func (DuckDB) Either(a, b string) string { return "(" + a + " OR " + b + ")" }

// sqlWriter accumulates SQL text and arguments.
type sqlWriter struct {
	sb strings.Builder
	d  Dialect
	p  Params
}

func (w *sqlWriter) sub(n node) string {
	s := sqlWriter{d: w.d, p: w.p}
	n.sql(&s)
	w.p = s.p
	return s.sb.String()
}

func (w *sqlWriter) join(kids []node, sep string) {
	w.sb.WriteByte('(')
	for i, k := range kids {
		if i > 0 {
			w.sb.WriteString(sep)
		}
		k.sql(w)
	}
	w.sb.WriteByte(')')
}

func (n *andNode) sql(w *sqlWriter) { w.join(n.kids, " AND ") }

func (n *orNode) sql(w *sqlWriter) { w.join(n.kids, " OR ") }

func (n *notNode) sql(w *sqlWriter) {
	s := w.sub(n.kid)
	w.sb.WriteString("NOT ")
	if isParenthesised(s) {
		w.sb.WriteString(s)
		return
	}
	w.sb.WriteByte('(')
	w.sb.WriteString(s)
	w.sb.WriteByte(')')
}

// isParenthesised reports whether s is one parenthesised group as a whole.
func isParenthesised(s string) bool {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return false
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(s)-1 {
				return false
			}
		case '"':
			// Skip quoted identifiers, which may hold parentheses.
			for i++; i < len(s) && s[i] != '"'; i++ {
			}
		}
	}
	return true
}

func (n *pairNode) sql(w *sqlWriter) {
	a := w.sub(n.a)
	b := w.sub(n.b)
	w.sb.WriteString(w.d.Either(a, b))
}

func (n *nullNode) sql(w *sqlWriter) {
	w.sb.WriteString(w.d.IsNull(w.d.Ident(n.f.Column), n.not))
}

// param binds one literal of field type t.
func (w *sqlWriter) param(t Type, v value) string {
	switch t {
	case TypeString:
		return w.p.Add(string(v.s))
	case TypeIP:
		return w.d.IPParam(&w.p, v.key.bytes())
	case TypeBool:
		return w.p.Add(v.i != 0)
	}
	return w.p.Add(v.i)
}

// target is the expression a field's values are compared through.
func target(d Dialect, f *Field) string {
	if f.Type == TypeIP {
		return d.IPKey(f.Column)
	}
	return d.Ident(f.Column)
}

func (n *cmpNode) sql(w *sqlWriter) {
	w.sb.WriteString(target(w.d, n.f))
	w.sb.WriteByte(' ')
	w.sb.WriteString(sqlOp[n.op])
	w.sb.WriteByte(' ')
	w.sb.WriteString(w.param(n.f.Type, n.v))
}

func (n *setNode) sql(w *sqlWriter) {
	col := target(w.d, n.f)
	// Text order is bind order: the list of single values first, then each
	// range, as the items come.
	var parts, values []string
	for _, it := range n.items {
		if it.kind == itemValue {
			values = append(values, w.param(n.f.Type, it.lo))
		}
	}
	switch len(values) {
	case 0:
	case 1:
		parts = append(parts, col+" = "+values[0])
	default:
		parts = append(parts, col+" IN ("+strings.Join(values, ", ")+")")
	}
	for _, it := range n.items {
		switch it.kind {
		case itemRange:
			lo := w.param(n.f.Type, it.lo)
			hi := w.param(n.f.Type, it.hi)
			parts = append(parts, col+" BETWEEN "+lo+" AND "+hi)
		case itemPrefix:
			lo, hi := prefixRange(it.prefix)
			l := w.d.IPParam(&w.p, lo.bytes())
			h := w.d.IPParam(&w.p, hi.bytes())
			parts = append(parts, col+" BETWEEN "+l+" AND "+h)
		}
	}
	if len(parts) == 1 {
		w.sb.WriteString(parts[0])
		return
	}
	w.sb.WriteString("(" + strings.Join(parts, " OR ") + ")")
}
