// Package flowlog parses VPC and Transit Gateway flow-log records into
// columnar batches. It is pure: bytes in, batches and errors out, no I/O.
package flowlog

import (
	"fmt"
	"strings"

	"github.com/flowlens/flowlens/schema"
)

// Format is the ordered list of fields in a record.
type Format struct {
	// IDs holds the catalog ID of each position; -1 marks a column whose name
	// is not in the catalog (it is read and ignored).
	IDs []int
	// Names holds the name of each position as given.
	Names []string
}

// Default formats AWS uses when no custom format is set.
var (
	// V2 is the default VPC flow-log format.
	V2 = MustFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")
	// TGW is the default Transit Gateway flow-log format.
	TGW = MustFormat("version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id " +
		"tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id " +
		"tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type " +
		"packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region " +
		"flow-direction pkt-src-aws-service pkt-dst-aws-service")
)

// FormatError is a problem in a format string, with the 1-based character
// position where it was found.
type FormatError struct {
	Pos    int
	Token  string
	Reason string
}

func (e *FormatError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("format: %s", e.Reason)
	}
	return fmt.Sprintf("format: %s %q at position %d", e.Reason, e.Token, e.Pos)
}

// ParseFormat parses an AWS log format string, such as
// "${version} ${srcaddr}", or the same fields as plain tokens, in either the
// token (pkt-srcaddr) or column (pkt_srcaddr) spelling. Unknown and duplicate
// fields are errors.
func ParseFormat(s string) (*Format, error) {
	f := &Format{}
	seen := make(map[int]bool)
	pos := 0
	for pos < len(s) {
		for pos < len(s) && isSpace(s[pos]) {
			pos++
		}
		if pos >= len(s) {
			break
		}
		start := pos
		for pos < len(s) && !isSpace(s[pos]) {
			pos++
		}
		tok := s[start:pos]
		name := tok
		if strings.HasPrefix(tok, "${") {
			if !strings.HasSuffix(tok, "}") || len(tok) < 4 {
				return nil, &FormatError{Pos: start + 1, Token: tok, Reason: "unterminated field reference"}
			}
			name = tok[2 : len(tok)-1]
		}
		fd, ok := schema.Lookup(name)
		if !ok {
			return nil, &FormatError{Pos: start + 1, Token: tok, Reason: "unknown field"}
		}
		if seen[fd.ID] {
			return nil, &FormatError{Pos: start + 1, Token: tok, Reason: "duplicate field"}
		}
		seen[fd.ID] = true
		f.IDs = append(f.IDs, fd.ID)
		f.Names = append(f.Names, fd.Token)
	}
	if len(f.IDs) == 0 {
		return nil, &FormatError{Reason: "no fields"}
	}
	return f, nil
}

// MustFormat is ParseFormat for formats known to be valid.
func MustFormat(s string) *Format {
	f, err := ParseFormat(s)
	if err != nil {
		panic(err)
	}
	return f
}

// String renders the format as AWS's ${field} string.
func (f *Format) String() string {
	var sb strings.Builder
	for i, n := range f.Names {
		if i > 0 {
			sb.WriteByte(' ')
		}
		if f.IDs[i] < 0 {
			sb.WriteString(n)
			continue
		}
		sb.WriteString("${")
		sb.WriteString(n)
		sb.WriteByte('}')
	}
	return sb.String()
}

// Header renders the format as an S3 header line.
func (f *Format) Header() string { return strings.Join(f.Names, " ") }

// Equal reports whether two formats have the same fields in the same order.
func (f *Format) Equal(g *Format) bool {
	if f == g {
		return true
	}
	if f == nil || g == nil || len(f.IDs) != len(g.IDs) {
		return false
	}
	for i := range f.IDs {
		if f.IDs[i] != g.IDs[i] || (f.IDs[i] < 0 && f.Names[i] != g.Names[i]) {
			return false
		}
	}
	return true
}

// Fields returns the set of known fields in the format.
func (f *Format) Fields() schema.Set {
	var s schema.Set
	for _, id := range f.IDs {
		if id >= 0 {
			s.Add(id)
		}
	}
	return s
}

// Unknown lists the names in the format that are not catalog fields.
func (f *Format) Unknown() []string {
	var u []string
	for i, id := range f.IDs {
		if id < 0 {
			u = append(u, f.Names[i])
		}
	}
	return u
}

// ParseHeader recognises an S3 header line: a line whose tokens are mostly
// field names. Unknown names become ignored columns.
func ParseHeader(line []byte) (*Format, bool) { return parseHeader(line) }

func parseHeader(line []byte) (*Format, bool) {
	known, total := 0, 0
	forEachToken(line, func(tok []byte) {
		total++
		if _, ok := schema.LookupBytes(tok); ok {
			known++
		}
	})
	if total == 0 || known*2 <= total {
		return nil, false
	}
	f := &Format{}
	seen := schema.Set{}
	forEachToken(line, func(tok []byte) {
		id, ok := schema.LookupBytes(tok)
		if ok && seen.Has(id) {
			ok = false // a repeated name cannot be mapped twice
		}
		if ok {
			seen.Add(id)
			f.IDs = append(f.IDs, id)
			f.Names = append(f.Names, schema.Fields[id].Token)
		} else {
			f.IDs = append(f.IDs, -1)
			f.Names = append(f.Names, string(tok))
		}
	})
	return f, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

func forEachToken(line []byte, fn func([]byte)) {
	i := 0
	for i < len(line) {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return
		}
		s := i
		for i < len(line) && !isSpace(line[i]) {
			i++
		}
		fn(line[s:i])
	}
}
