// Package filter implements flowlens's filter language: the short
// expressions given to --where, such as
//
//	dstport = 22 and reject and src not in 10.0.0.0/8
//	addr = 203.0.113.7 or (port in (22, 3389) and tcp)
//
// A filter is compiled once (Compile) into an Expr that renders to
// parameterised SQL for a store's Dialect (values are always bound, never
// pasted into the text) and evaluates rows of a flowlog.Batch directly
// (Eval), for paths without a database.
//
// # Language
//
// A filter is comparisons joined by and, or, not and parentheses (not binds
// tightest, then and, then or). Keywords, field names and the bare words
// below ignore case.
//
//   - field op value, with op one of = != < <= > >= (== and <> are
//     accepted too). Fields are catalog tokens or columns (log-status,
//     log_status, pkt-srcaddr); dashes and underscores are interchangeable
//     (dst-port is dstport). Values are bare words or quoted strings
//     ("..." or '...', backslash escapes the quote and itself).
//   - field in (v1, v2, ...) and field not in (...); with one element the
//     parentheses may be left out: srcaddr in 10.0.0.0/8.
//   - Ranges are lo..hi, both ends included: dstport in 1000..2000,
//     dstport in (22, 8000..8999), start in 2024-05-01..2024-05-02,
//     srcaddr in 10.0.0.1..10.0.0.9. (A dash, 1000-2000, is an error
//     that points at this syntax.)
//   - Addresses: IPv4 and IPv6 literals and CIDR prefixes, mixed freely in
//     lists (src in (10.0.0.0/8, 192.0.2.7, 2001:db8::/32)). IPv4-mapped
//     IPv6 addresses equal their IPv4 form. `=` and `!=` with a prefix or
//     a range mean in and not in.
//   - Times (start, end) take epoch seconds, RFC 3339 times or dates (UTC).
//   - field = null and field != null test for a missing value ('-' in the
//     log, or a field the log format lacks).
//   - Shorthands: src and dst (srcaddr, dstaddr), sport and dport,
//     proto; the pairs addr (srcaddr or dstaddr) and port (srcport or
//     dstport). On a pair, = < <= > >= in match when either side does, and
//     != and not in when neither does (addr != x is not (addr = x)).
//   - Names as values: protocol = tcp (also udp, icmp, icmpv6, gre, esp,
//     ah, sctp, igmp). A literal that equals a documented value of action,
//     log-status, flow-direction or type ignoring case is written as AWS
//     writes it: action = reject compares with "REJECT". Other string
//     comparisons are exact and byte-wise.
//   - Bare words: tcp, udp, icmp, icmpv6 (protocol), accept, reject
//     (action), nodata, skipdata (log-status), ingress, egress
//     (flow-direction); a boolean field alone means field = true.
//
// NULL follows SQL: a comparison with a missing value is unknown, not
// negates unknown to unknown, and a row matches only when the whole filter
// is true. So dstport != 22 does not match rows without a dstport; use
// dstport != 22 or dstport = null for that.
//
// Extra columns (enrichment such as src.internal) are registered in a
// Fields built with NewFields; they exist only in stores, so Eval sees them
// as NULL.
package filter

import (
	"strings"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// Expr is a compiled filter. It is immutable and safe for concurrent use.
type Expr struct {
	src   string
	root  node
	needs schema.Set
	extra []*Field
}

// Compile parses src with the names of fields (Catalog() when nil). Errors
// are *Error, with the position of the problem.
func Compile(src string, fields *Fields) (*Expr, error) {
	if fields == nil {
		fields = Catalog()
	}
	toks, lerr := lex(src)
	if lerr != nil {
		return nil, lerr
	}
	p := &parser{src: src, toks: toks, fs: fields}
	root, perr := p.parse()
	if perr != nil {
		return nil, perr
	}
	e := &Expr{src: src, root: root}
	walk(root, func(f *Field) {
		if f.ID >= 0 {
			e.needs.Add(f.ID)
			return
		}
		for _, x := range e.extra {
			if x == f {
				return
			}
		}
		e.extra = append(e.extra, f)
	})
	return e, nil
}

// walk calls fn for the field of every leaf under n.
func walk(n node, fn func(*Field)) {
	switch n := n.(type) {
	case *andNode:
		for _, k := range n.kids {
			walk(k, fn)
		}
	case *orNode:
		for _, k := range n.kids {
			walk(k, fn)
		}
	case *notNode:
		walk(n.kid, fn)
	case *pairNode:
		walk(n.a, fn)
		walk(n.b, fn)
	case *cmpNode:
		fn(n.f)
	case *setNode:
		fn(n.f)
	case *nullNode:
		fn(n.f)
	}
}

// Source returns the filter as given to Compile.
func (e *Expr) Source() string { return e.src }

// String returns the filter in a normalised form that compiles to the same
// Expr: canonical field names, shorthand words expanded, values typed
// (strings quoted, times as epoch seconds), parentheses only where needed.
func (e *Expr) String() string {
	var sb strings.Builder
	e.root.str(&sb, "")
	return sb.String()
}

// Needs returns the catalog fields the filter reads, so that a reader can
// decode them.
func (e *Expr) Needs() schema.Set { return e.needs }

// Extra returns the fields the filter uses that are not schema fields
// (columns registered by the caller with ID -1), in order of first use.
// Eval sees them as NULL.
func (e *Expr) Extra() []*Field { return append([]*Field(nil), e.extra...) }

// SQL returns the filter as a boolean SQL expression for d and its bound
// arguments, in placeholder order. A compound expression comes
// parenthesised, so the text can be combined with AND or OR as it is.
func (e *Expr) SQL(d Dialect) (string, []any) { return e.AppendSQL(d, nil) }

// AppendSQL is SQL for an expression that follows other bound arguments:
// placeholders are numbered after len(args), and the filter's arguments are
// appended to args.
func (e *Expr) AppendSQL(d Dialect, args []any) (string, []any) {
	w := sqlWriter{d: d, p: Params{d: d, args: args}}
	e.root.sql(&w)
	return w.sb.String(), w.p.args
}

// Eval reports whether row i of b matches. Fields the batch lacks are NULL.
// It does not allocate.
func (e *Expr) Eval(b *flowlog.Batch, i int) bool { return e.root.eval(b, i) == triTrue }

// AppendMatches appends the indexes of the rows of b that match to dst and
// returns it.
func (e *Expr) AppendMatches(dst []int, b *flowlog.Batch) []int {
	for i := 0; i < b.N; i++ {
		if e.root.eval(b, i) == triTrue {
			dst = append(dst, i)
		}
	}
	return dst
}
