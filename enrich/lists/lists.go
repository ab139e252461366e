// Package lists reads named address lists (allow-lists of partners, SaaS
// vendors, monitoring services) in plain CIDR text, CSV, or a vendor's
// JSON ranges document, and looks addresses up in all of them at once.
package lists

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"net/netip"
	"os"
	"strings"

	"github.com/flowlens/flowlens/enrich/iptable"
)

// List is one named list of prefixes.
type List struct {
	Name     string
	Prefixes []netip.Prefix
	// Skipped counts text lines (or JSON strings that looked like
	// addresses) that did not parse.
	Skipped int
	// FirstSkipped is the first of them ("line 4: 1.1.1.300" for text,
	// the string for JSON), for messages.
	FirstSkipped string
}

// MaxLists is how many lists a Set holds.
const MaxLists = 64

// maxDepth bounds JSON nesting.
const maxDepth = 64

// Parse reads a list. JSON (a document starting with { or [) is walked
// and every string value that parses as a prefix or an address is taken,
// whatever its key: vendors nest their ranges differently. Text is read
// line by line: '#' starts a comment, fields are split on commas,
// semicolons and white space, and the first field that parses as a prefix
// or address is taken (so CSV with a header and other columns works).
// Addresses are taken as host prefixes (/32, /128).
func Parse(name string, data []byte) (List, error) {
	l := List{Name: name}
	trim := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trim) > 0 && (trim[0] == '{' || trim[0] == '[') {
		var v any
		dec := json.NewDecoder(bytes.NewReader(trim))
		if err := dec.Decode(&v); err != nil {
			return l, fmt.Errorf("list %s: JSON: %w", name, err)
		}
		if err := l.walk(v, 0); err != nil {
			return l, err
		}
	} else {
		n := 0
		for line := range bytes.Lines(trim) {
			n++
			if i := bytes.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			s := strings.TrimSpace(string(line))
			if s == "" {
				continue
			}
			found, addrLike := false, false
			for f := range strings.FieldsFuncSeq(s, func(r rune) bool {
				return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '"' || r == '\''
			}) {
				if p, ok := parsePrefix(f); ok {
					l.Prefixes = append(l.Prefixes, p)
					found = true
					break
				}
				addrLike = addrLike || looksLikeAddr(f)
			}
			if !found && addrLike {
				if l.Skipped == 0 {
					l.FirstSkipped = fmt.Sprintf("line %d: %s", n, s)
				}
				l.Skipped++
			}
		}
	}
	if len(l.Prefixes) == 0 {
		return l, fmt.Errorf("list %s: no addresses or CIDR blocks found", name)
	}
	return l, nil
}

func (l *List) walk(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("list %s: JSON nested deeper than %d", l.Name, maxDepth)
	}
	switch x := v.(type) {
	case string:
		if p, ok := parsePrefix(x); ok {
			l.Prefixes = append(l.Prefixes, p)
		} else if looksLikeAddr(x) && strings.Contains(x, "/") {
			if l.Skipped == 0 {
				l.FirstSkipped = fmt.Sprintf("%q", x)
			}
			l.Skipped++
		}
	case []any:
		for _, e := range x {
			if err := l.walk(e, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range x {
			if err := l.walk(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// parsePrefix reads a CIDR block or an address (as a host prefix). Host
// bits set in a block are cleared.
func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return netip.Prefix{}, false
	}
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// looksLikeAddr reports whether s is made of address characters with a
// separator (a mistyped address rather than a header or a name).
func looksLikeAddr(s string) bool {
	if len(s) < 3 {
		return false
	}
	sep := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
		case r == '.' || r == ':' || r == '/':
			sep = true
		case (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F'):
		default:
			return false
		}
	}
	return sep
}

// LoadFile reads a list from a file.
func LoadFile(name, path string) (List, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return List{Name: name}, fmt.Errorf("list %s: %w", name, err)
	}
	l, err := Parse(name, data)
	if err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// ParseSpec splits a NAME=FILE argument.
func ParseSpec(spec string) (name, path string, err error) {
	name, path, ok := strings.Cut(spec, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || path == "" || strings.ContainsAny(name, ", ") {
		return "", "", fmt.Errorf("%q: want NAME=FILE (name without spaces or commas)", spec)
	}
	return name, path, nil
}

// Mask is a set of lists, one bit per list of a Set.
type Mask uint64

// Has reports whether m contains every list of o.
func (m Mask) Has(o Mask) bool { return o != 0 && m&o == o }

// Set looks addresses up in several lists at once. It is immutable and
// safe for concurrent use.
type Set struct {
	names []string
	t     *iptable.Table[Mask]
}

// NewSet builds a Set. List names must be distinct; at most MaxLists.
func NewSet(ls []List) (*Set, error) {
	if len(ls) > MaxLists {
		return nil, fmt.Errorf("lists: %d lists, at most %d", len(ls), MaxLists)
	}
	s := &Set{}
	var b iptable.Builder[Mask]
	for i, l := range ls {
		for _, n := range s.names {
			if n == l.Name {
				return nil, fmt.Errorf("lists: %q given twice", l.Name)
			}
		}
		s.names = append(s.names, l.Name)
		for _, p := range l.Prefixes {
			b.Add(p, Mask(1)<<i)
		}
	}
	s.t = b.Build(func(o, i Mask) Mask { return o | i })
	return s, nil
}

// Lookup returns the lists containing a (0: none).
func (s *Set) Lookup(a netip.Addr) Mask {
	m, _ := s.t.Lookup(a)
	return m
}

// Mask returns the bit of the named list.
func (s *Set) Mask(name string) (Mask, bool) {
	for i, n := range s.names {
		if n == name {
			return Mask(1) << i, true
		}
	}
	return 0, false
}

// Names returns the names of the lists in m, in the order given.
func (s *Set) Names(m Mask) []string {
	out := make([]string, 0, bits.OnesCount64(uint64(m)))
	for i, n := range s.names {
		if m&(Mask(1)<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Lists returns every list name, in the order given.
func (s *Set) Lists() []string { return append([]string(nil), s.names...) }
