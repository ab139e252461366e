package filter

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// parser is a recursive-descent parser over the token list.
type parser struct {
	src  string
	toks []token
	pos  int
	fs   *Fields
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// isWord reports whether t is the bare word w (lower case), ignoring case.
func isWord(t token, w string) bool { return t.kind == tokWord && strings.EqualFold(t.text, w) }

func (p *parser) errAt(t token, format string, args ...any) *Error {
	return errorAt(p.src, t.off, fmt.Sprintf(format, args...))
}

// errHint is errAt with a suggested fix.
func (p *parser) errHint(t token, hint, format string, args ...any) *Error {
	e := p.errAt(t, format, args...)
	e.Hint = hint
	return e
}

func (p *parser) unexpected(t token) *Error {
	return p.errAt(t, "unexpected %s", t.describe())
}

// parse reads a whole filter.
func (p *parser) parse() (node, *Error) {
	if p.peek().kind == tokEOF {
		return nil, p.errAt(p.peek(), "empty filter")
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, p.unexpected(t)
		}
		return nil, p.errAt(t, "unexpected %s, expected \"and\", \"or\" or the end of the filter", t.describe())
	}
	return n, nil
}

func (p *parser) parseOr() (node, *Error) {
	return p.parseList("or", p.parseAnd, func(kids []node) node { return &orNode{kids: kids} })
}

func (p *parser) parseAnd() (node, *Error) {
	return p.parseList("and", p.parseNot, func(kids []node) node { return &andNode{kids: kids} })
}

// parseList reads operands joined by the keyword kw. Nested lists of the
// same operator are flattened: a and (b and c) is a and b and c.
func (p *parser) parseList(kw string, operand func() (node, *Error), mk func([]node) node) (node, *Error) {
	n, err := operand()
	if err != nil {
		return nil, err
	}
	if !isWord(p.peek(), kw) {
		return n, nil
	}
	var kids []node
	add := func(k node) {
		switch k := k.(type) {
		case *andNode:
			if kw == "and" {
				kids = append(kids, k.kids...)
				return
			}
		case *orNode:
			if kw == "or" {
				kids = append(kids, k.kids...)
				return
			}
		}
		kids = append(kids, k)
	}
	add(n)
	for isWord(p.peek(), kw) {
		p.next()
		k, err := operand()
		if err != nil {
			return nil, err
		}
		add(k)
	}
	return mk(kids), nil
}

func (p *parser) parseNot() (node, *Error) {
	if isWord(p.peek(), "not") {
		p.next()
		k, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &notNode{kid: k}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (node, *Error) {
	t := p.peek()
	switch t.kind {
	case tokLParen:
		p.next()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tokRParen {
			return nil, p.errAt(c, "unexpected %s, expected \")\" to close the \"(\" at position %d",
				c.describe(), errorAt(p.src, t.off, "").Pos)
		}
		p.next()
		return n, nil
	case tokWord:
		if isKeyword(strings.ToLower(t.text)) {
			return nil, p.errAt(t, "unexpected %s, expected a field name", t.describe())
		}
		return p.parsePredicate()
	case tokEOF:
		return nil, p.errAt(t, "unexpected end of filter, expected a field name")
	}
	return nil, p.errAt(t, "unexpected %s, expected a field name", t.describe())
}

// parsePredicate reads `field op value`, `field [not] in set`, or a bare
// word.
func (p *parser) parsePredicate() (node, *Error) {
	nameTok := p.next()
	name := nameTok.text
	lname := strings.ToLower(name)
	t := p.peek()
	negate := false
	isIn := false
	switch {
	case t.kind == tokOp:
	case isWord(t, "in"):
		isIn = true
	case isWord(t, "not") && isWord(p.toks[p.pos+1], "in"):
		isIn, negate = true, true
	default:
		// A bare word: tcp, reject, or a boolean field.
		if w, ok := p.fs.words[lname]; ok {
			v, err := p.parseItem(w.field, token{kind: tokWord, text: w.value, off: nameTok.off})
			if err != nil {
				return nil, err
			}
			return &cmpNode{f: w.field, op: opEq, v: v.lo}, nil
		}
		fields, ok := p.fs.resolve(name)
		if !ok {
			return nil, p.unknownField(nameTok)
		}
		if len(fields) == 1 && fields[0].Type == TypeBool {
			return &cmpNode{f: fields[0], op: opEq, v: value{i: 1}}, nil
		}
		if t.kind == tokEOF {
			return nil, p.errAt(t, "unexpected end of filter, expected an operator (= != < <= > >= in) after %q", name)
		}
		return nil, p.errAt(t, "unexpected %s, expected an operator (= != < <= > >= in) after %q", t.describe(), name)
	}
	fields, ok := p.fs.resolve(name)
	if !ok {
		if w, isWord := p.fs.words[lname]; isWord {
			return nil, p.errAt(nameTok, "%q is a shorthand for %s = %s, not a field", name, w.field.Name, w.value)
		}
		return nil, p.unknownField(nameTok)
	}
	if isIn {
		p.next()
		if negate {
			p.next()
		}
		items, err := p.parseSet(fields[0])
		if err != nil {
			return nil, err
		}
		return p.build(fields, name, func(f *Field) node {
			n := &setNode{f: f, items: items}
			n.prepare()
			return n
		}, negate), nil
	}
	opTok := p.next()
	o := parseOp(opTok.text)
	vt := p.next()
	switch {
	case vt.kind == tokWord && strings.EqualFold(vt.text, "null"):
		if o != opEq && o != opNe {
			return nil, p.errAt(vt, "null can only be compared with = or !=")
		}
		return p.build(fields, name, func(f *Field) node { return &nullNode{f: f} }, o == opNe), nil
	case vt.kind != tokWord && vt.kind != tokString:
		return nil, p.errAt(vt, "unexpected %s, expected a value after %q", vt.describe(), opTok.text)
	}
	it, err := p.parseItem(fields[0], vt)
	if err != nil {
		return nil, err
	}
	if it.kind != itemValue {
		// A range or prefix on the right of = or != is a membership test.
		if o != opEq && o != opNe {
			return nil, p.errHint(vt, "use in, = or !=", "%s cannot be compared with %q", kindName(it.kind), opTok.text)
		}
		return p.build(fields, name, func(f *Field) node {
			n := &setNode{f: f, items: []item{it}}
			n.prepare()
			return n
		}, o == opNe), nil
	}
	if o == opNe {
		// `x != v` is a plain comparison, but for a pair it must mean that
		// neither side equals v.
		if len(fields) == 2 {
			return p.build(fields, name, func(f *Field) node { return &cmpNode{f: f, op: opEq, v: it.lo} }, true), nil
		}
	}
	return p.build(fields, name, func(f *Field) node { return &cmpNode{f: f, op: o, v: it.lo} }, false), nil
}

func kindName(k itemKind) string {
	if k == itemPrefix {
		return "a network prefix"
	}
	return "a range"
}

// build makes the predicate for one field or a pair, negated when asked.
// For a pair the negation applies to the whole: neither side matches.
func (p *parser) build(fields []*Field, name string, mk func(*Field) node, negate bool) node {
	var n node
	if len(fields) == 2 {
		n = &pairNode{name: strings.ToLower(name), a: mk(fields[0]), b: mk(fields[1])}
	} else {
		n = mk(fields[0])
	}
	if nn, ok := n.(*nullNode); ok && negate {
		nn.not = true
		return nn
	}
	if negate {
		return &notNode{kid: n}
	}
	return n
}

func (p *parser) unknownField(t token) *Error {
	if s := p.fs.suggest(t.text); s != "" {
		return p.errHint(t, fmt.Sprintf("did you mean %q?", s), "unknown field %q", t.text)
	}
	return p.errHint(t, "flowlens fields lists the fields", "unknown field %q", t.text)
}

// parseSet reads `(item, item, ...)` or a single item.
func (p *parser) parseSet(f *Field) ([]item, *Error) {
	t := p.peek()
	if t.kind != tokLParen {
		if t.kind != tokWord && t.kind != tokString {
			return nil, p.errAt(t, "unexpected %s, expected a value or a list in parentheses after \"in\"", t.describe())
		}
		p.next()
		it, err := p.parseSetItem(f, t)
		if err != nil {
			return nil, err
		}
		return []item{it}, nil
	}
	p.next()
	var items []item
	for {
		t := p.next()
		if t.kind == tokRParen && len(items) == 0 {
			return nil, p.errAt(t, "empty list")
		}
		if t.kind != tokWord && t.kind != tokString {
			return nil, p.errAt(t, "unexpected %s, expected a value", t.describe())
		}
		it, err := p.parseSetItem(f, t)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		switch sep := p.next(); sep.kind {
		case tokComma:
		case tokRParen:
			return items, nil
		default:
			return nil, p.errAt(sep, "unexpected %s, expected \",\" or \")\"", sep.describe())
		}
	}
}

func (p *parser) parseSetItem(f *Field, t token) (item, *Error) {
	if t.kind == tokWord && strings.EqualFold(t.text, "null") {
		return item{}, p.errHint(t, fmt.Sprintf("use %s = null", f.Name), "null cannot be in a list")
	}
	return p.parseItem(f, t)
}

// rangeTypo matches `1000-2000`, a range written with a dash.
var rangeTypo = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// parseItem reads one value, range or prefix for field f.
func (p *parser) parseItem(f *Field, t token) (item, *Error) {
	text := t.text
	if t.kind == tokWord {
		switch strings.ToLower(text) {
		case "and", "or", "not", "in":
			return item{}, p.errAt(t, "unexpected %s, expected a value", t.describe())
		}
	}
	switch f.Type {
	case TypeString:
		return item{lo: value{s: []byte(canonical(f, text))}}, nil
	case TypeBool:
		switch strings.ToLower(text) {
		case "true":
			return item{lo: value{i: 1}}, nil
		case "false":
			return item{lo: value{i: 0}}, nil
		}
		return item{}, p.errAt(t, "%s is a boolean: expected true or false, not %s", f.Name, t.describe())
	}
	if lo, hi, ok := strings.Cut(text, ".."); ok {
		a, err := p.scalar(f, t, lo)
		if err != nil {
			return item{}, err
		}
		b, err := p.scalar(f, t, hi)
		if err != nil {
			return item{}, err
		}
		if f.Type == TypeIP {
			if a.addr.Is4() != b.addr.Is4() {
				return item{}, p.errAt(t, "range %s mixes IPv4 and IPv6", text)
			}
			if a.key.cmp(b.key) > 0 {
				return item{}, p.errAt(t, "empty range %s (the first bound is above the last)", text)
			}
		} else if a.i > b.i {
			return item{}, p.errAt(t, "empty range %s (the first bound is above the last)", text)
		}
		return item{kind: itemRange, lo: a, hi: b}, nil
	}
	if f.Type == TypeIP && strings.Contains(text, "/") {
		pfx, err := netip.ParsePrefix(text)
		if err != nil {
			return item{}, p.errAt(t, "invalid network prefix %q for %s", text, f.Name)
		}
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		return item{kind: itemPrefix, prefix: pfx.Masked()}, nil
	}
	v, err := p.scalar(f, t, text)
	if err != nil {
		return item{}, err
	}
	return item{lo: v}, nil
}

// canonical replaces a string literal by the field's usual spelling of it.
func canonical(f *Field, s string) string {
	for _, e := range f.Enum {
		if strings.EqualFold(e, s) {
			return e
		}
	}
	return s
}

// scalar parses one integer, time or address literal.
func (p *parser) scalar(f *Field, t token, s string) (value, *Error) {
	switch f.Type {
	case TypeIP:
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return value{}, p.errAt(t, "invalid IP address %q for %s", s, f.Name)
		}
		a = a.Unmap()
		return value{addr: a, key: keyOf(a)}, nil
	case TypeTime:
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return value{i: n}, nil
		}
		if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return value{i: tm.Unix()}, nil
		}
		if tm, err := time.Parse(time.DateOnly, s); err == nil {
			return value{i: tm.Unix()}, nil
		}
		return value{}, p.errHint(t, "use epoch seconds, RFC 3339 (2024-05-01T12:00:00Z) or a date (2024-05-01)", "invalid time %q for %s", s, f.Name)
	}
	if v, ok := f.Names[strings.ToLower(s)]; ok {
		return value{i: v}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		switch {
		case rangeTypo.MatchString(s):
			lo, hi, _ := strings.Cut(s, "-")
			return value{}, p.errHint(t, fmt.Sprintf("write a range as %s..%s", lo, hi), "invalid number %q for %s", s, f.Name)
		case errorsIsRange(err):
			return value{}, p.errAt(t, "number %s is out of range for %s", s, f.Name)
		}
		return value{}, p.errAt(t, "invalid number %q for %s", s, f.Name)
	}
	if f.Type == TypeInt32 && (n < math.MinInt32 || n > math.MaxInt32) {
		return value{}, p.errAt(t, "number %s is out of range for %s (32-bit)", s, f.Name)
	}
	return value{i: n}, nil
}

func errorsIsRange(err error) bool { return errors.Is(err, strconv.ErrRange) }
