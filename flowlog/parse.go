package flowlog

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"github.com/flowlens/flowlens/schema"
)

// Reasons a line is rejected; they key the bad-line counters.
const (
	ReasonFieldCount = "field count"
	ReasonInteger    = "invalid integer"
	ReasonRange      = "integer out of range"
	ReasonAddress    = "invalid address"
	ReasonJSON       = "invalid JSON"
)

// ParseError describes a rejected line.
type ParseError struct {
	Source string // file or object the line came from
	Line   int64  // 1-based line number
	Field  string // field token, when one value was at fault
	Value  string // the offending value (truncated)
	Reason string // one of the Reason* constants
	Detail string // extra words for the reader
}

func (e *ParseError) Error() string {
	var sb []byte
	if e.Source != "" {
		sb = append(sb, e.Source...)
		sb = append(sb, ' ')
	}
	sb = fmt.Appendf(sb, "line %d: ", e.Line)
	if e.Field != "" {
		sb = fmt.Appendf(sb, "field %s: %s %q", e.Field, e.Reason, e.Value)
	} else {
		sb = append(sb, e.Reason...)
	}
	if e.Detail != "" {
		sb = append(sb, " ("...)
		sb = append(sb, e.Detail...)
		sb = append(sb, ')')
	}
	return string(sb)
}

// ErrBadLine is matched by every *ParseError via errors.Is.
var ErrBadLine = errors.New("bad line")

// Is makes errors.Is(err, ErrBadLine) true for parse errors.
func (e *ParseError) Is(target error) bool { return target == ErrBadLine }

// Stats counts what a parse saw. For text input every physical line is
// exactly one of Records, Bad, Headers or Blank; lines holding JSON add their
// events to Records/Bad and count in JSONLines instead.
type Stats struct {
	Lines     int64            // physical lines read
	Records   int64            // records accepted
	Bad       int64            // records rejected
	Headers   int64            // header lines (they set the format)
	Blank     int64            // empty or whitespace-only lines
	JSONLines int64            // lines that held JSON (wrapped or CloudWatch payloads)
	Control   int64            // CloudWatch control messages skipped
	Reasons   map[string]int64 // bad records by reason
}

// Add merges o into s.
func (s *Stats) Add(o *Stats) {
	s.Lines += o.Lines
	s.Records += o.Records
	s.Bad += o.Bad
	s.Headers += o.Headers
	s.Blank += o.Blank
	s.JSONLines += o.JSONLines
	s.Control += o.Control
	for k, v := range o.Reasons {
		if s.Reasons == nil {
			s.Reasons = make(map[string]int64)
		}
		s.Reasons[k] += v
	}
}

func (s *Stats) reject(reason string) {
	s.Bad++
	if s.Reasons == nil {
		s.Reasons = make(map[string]int64)
	}
	s.Reasons[reason]++
}

// separator marks the bytes that separate fields.
var separator = [256]bool{' ': true, '\t': true, '\r': true}

// step is how decode handles one position of the format.
type step struct {
	id    int // catalog ID, -1 for an ignored column
	typ   schema.Type
	store bool
	max   uint64 // integer fields: the largest valid value
}

// plan returns the decoding steps of the current format, built once per
// format.
func (p *Parser) plan() []step {
	if p.planFor == p.format {
		return p.steps
	}
	p.steps = p.steps[:0]
	for _, id := range p.format.IDs {
		st := step{id: id}
		if id >= 0 {
			st.typ = schema.Fields[id].Type
			st.store = p.want.Has(id)
			st.max = uint64(schema.Fields[id].Max)
		}
		p.steps = append(p.steps, st)
	}
	p.planFor = p.format
	return p.steps
}

// maxFields bounds the tokens examined on one line; real formats have < 80.
const maxFields = 128

type span struct{ s, e int32 }

// Parser turns lines into rows of a Batch. It keeps the current format, which
// a header line may change. A Parser is not safe for concurrent use.
type Parser struct {
	format *Format
	want   schema.Set
	// KeepErrors bounds the parse errors kept per chunk (the rest are counted).
	KeepErrors int
	spans      [maxFields]span
	pad        []int // columns to fill with NULL after each row (see switchFormat)
	steps      []step
	planFor    *Format // the format steps were built for
}

// NewParser returns a parser for format f that stores the fields in want
// (other fields are checked but not stored).
func NewParser(f *Format, want schema.Set) *Parser {
	if f == nil {
		f = V2
	}
	return &Parser{format: f, want: want, KeepErrors: 16}
}

// Format returns the format in effect.
func (p *Parser) Format() *Format { return p.format }

// SetFormat changes the format in effect.
func (p *Parser) SetFormat(f *Format) { p.format = f }

// Want returns the fields the parser stores.
func (p *Parser) Want() schema.Set { return p.want }

// Present is the set of columns a batch parsed with format f holds.
func (p *Parser) Present(f *Format) schema.Set {
	fs := f.Fields()
	return schema.Set{fs[0] & p.want[0], fs[1] & p.want[1]}
}

// split fills p.spans with the line's tokens and returns their count (which
// may exceed maxFields; only the first maxFields are recorded).
func (p *Parser) split(line []byte) int {
	n := 0
	i := 0
	l := len(line)
	for {
		for i < l && separator[line[i]] {
			i++
		}
		if i >= l {
			return n
		}
		s := i
		for i < l && !separator[line[i]] {
			i++
		}
		if n < maxFields {
			p.spans[n] = span{int32(s), int32(i)}
		}
		n++
	}
}

// ParseLine appends the record held in line (without its newline) to b, which
// must have been Reset for p.Present(p.Format()). A bad record returns a
// *ParseError (Line and Source unset) and leaves b unchanged.
func (p *Parser) ParseLine(line []byte, b *Batch) *ParseError {
	if p.fast(line, b) {
		return nil
	}
	n := p.split(line)
	return p.decode(line, n, b)
}

func (p *Parser) decode(line []byte, n int, b *Batch) *ParseError {
	f := p.format
	if n != len(f.IDs) {
		return &ParseError{Reason: ReasonFieldCount, Detail: fmt.Sprintf("%d fields, format has %d", n, len(f.IDs))}
	}
	if n > maxFields {
		// Only a header line can make such a format (repeated or unknown
		// names); the spans of fields past maxFields were not kept.
		return &ParseError{Reason: ReasonFieldCount, Detail: fmt.Sprintf("%d fields, more than the %d a record may have", n, maxFields)}
	}
	row := b.N
	for i, st := range p.plan() {
		id := st.id
		if id < 0 {
			continue
		}
		sp := p.spans[i]
		v := line[sp.s:sp.e]
		store := st.store
		c := &b.Cols[id]
		if len(v) == 1 && v[0] == '-' {
			if store {
				c.appendNull()
			}
			continue
		}
		switch t := st.typ; t {
		case schema.String:
			if store {
				c.AppendString(v)
			}
		case schema.IP:
			a, ok := parseIP(v)
			if !ok {
				p.rollback(b, row)
				return valueError(id, v, ReasonAddress)
			}
			if store {
				c.AppendIP(a)
			}
		default:
			x, reason := parseInt(v, schema.Fields[id].Max)
			if reason == "" && t == schema.Time {
				x, reason = normaliseEpoch(x)
			}
			if reason != "" {
				p.rollback(b, row)
				return valueError(id, v, reason)
			}
			if store {
				c.AppendInt(x)
			}
		}
	}
	for _, id := range p.pad {
		b.Cols[id].appendNull()
	}
	b.N++
	return nil
}

// fast decodes a well-formed record in one pass over the line: each field
// is decoded as its end is found, where split+decode read every byte twice.
// Anything unusual (a header or JSON line, a blank line, a field count that
// does not match, a value that does not decode, a 19-digit number) makes it
// give up, leaving b as it was: the two-pass path then reads the line and
// reports what is wrong, so both paths accept exactly the same records.
func (p *Parser) fast(line []byte, b *Batch) bool {
	steps := p.plan()
	if len(steps) > maxFields {
		return false
	}
	l := len(line)
	i := 0
	for i < l && separator[line[i]] {
		i++
	}
	if i == l || line[i] == '{' || (line[i] >= 'a' && line[i] <= 'z') {
		return false // blank, JSON, or perhaps a header line
	}
	row := b.N
	for _, st := range steps {
		for i < l && separator[line[i]] {
			i++
		}
		if i == l {
			p.rollback(b, row)
			return false // too few fields
		}
		s := i
		if line[i] == '-' && (i+1 == l || separator[line[i+1]]) {
			i++
			if st.id >= 0 && st.store {
				b.Cols[st.id].appendNull()
			}
			continue
		}
		if st.id < 0 || st.typ == schema.String {
			for i < l && !separator[line[i]] {
				i++
			}
			if st.id >= 0 && st.store {
				b.Cols[st.id].AppendString(line[s:i])
			}
			continue
		}
		if st.typ == schema.IP {
			a, end, ok := scanIPv4(line, i)
			if ok {
				i = end
			} else {
				for i < l && !separator[line[i]] {
					i++
				}
				if a, ok = parseIP(line[s:i]); !ok {
					p.rollback(b, row)
					return false
				}
			}
			if st.store {
				b.Cols[st.id].AppendIP(a)
			}
			continue
		}
		var x uint64
		for i < l {
			d := line[i] - '0'
			if d > 9 {
				break
			}
			x = x*10 + uint64(d)
			i++
		}
		if n := i - s; n == 0 || n > 18 || (i < l && !separator[line[i]]) {
			p.rollback(b, row)
			return false // not a number, or long enough to need the range checks
		}
		switch {
		case x > st.max:
			p.rollback(b, row)
			return false
		case st.typ == schema.Time && x >= 100_000_000_000:
			p.rollback(b, row)
			return false // milliseconds, or out of range: normaliseEpoch decides
		}
		if st.store {
			b.Cols[st.id].AppendInt(int64(x))
		}
	}
	for i < l && separator[line[i]] {
		i++
	}
	if i < l {
		p.rollback(b, row)
		return false // too many fields
	}
	for _, id := range p.pad {
		b.Cols[id].appendNull()
	}
	b.N++
	return true
}

func (p *Parser) rollback(b *Batch, row int) {
	for _, id := range p.format.IDs {
		if id >= 0 && p.want.Has(id) {
			b.Cols[id].truncate(row)
		}
	}
}

func valueError(id int, v []byte, reason string) *ParseError {
	if len(v) > 64 {
		v = v[:64]
	}
	return &ParseError{Field: schema.Fields[id].Token, Value: string(v), Reason: reason}
}

// NormaliseEpoch applies the epoch rule to an integer time value read from
// any encoding (text, JSON, Parquet). See normaliseEpoch.
func NormaliseEpoch(x int64) (int64, string) { return normaliseEpoch(x) }

// ParseInt decodes a non-negative decimal integer no larger than max (a
// field's schema.Field.Max), returning a Reason* constant when it is not one.
func ParseInt(v []byte, max int64) (int64, string) { return parseInt(v, max) }

// ParseIP decodes an address as the text parser does: dotted quads without
// leading zeros, IPv6 without a zone.
func ParseIP(v []byte) (netip.Addr, bool) { return parseIP(v) }

// normaliseEpoch accepts millisecond epochs (as some exporters write them)
// and turns them into seconds. Any value past the year 5138 in seconds is
// taken to be milliseconds; one past the year 5138 in milliseconds is out of
// range (so a normalised value always reads back as itself).
func normaliseEpoch(x int64) (int64, string) {
	switch {
	case x >= 100_000_000_000_000:
		return 0, ReasonRange
	case x >= 100_000_000_000:
		return x / 1000, ""
	}
	return x, ""
}

// parseInt decodes a non-negative decimal integer no larger than max.
func parseInt(v []byte, max int64) (int64, string) {
	if len(v) == 0 || len(v) > 19 {
		if len(v) > 19 && allDigits(v) {
			return 0, ReasonRange
		}
		return 0, ReasonInteger
	}
	var x uint64
	for _, c := range v {
		d := c - '0'
		if d > 9 {
			return 0, ReasonInteger
		}
		x = x*10 + uint64(d)
	}
	if x > uint64(max) {
		return 0, ReasonRange
	}
	return int64(x), ""
}

func allDigits(v []byte) bool {
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseIP decodes an IPv4 address without allocating, and IPv6 through the
// standard library.
func parseIP(v []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(v); ok {
		return a, true
	}
	if bytes.IndexByte(v, ':') < 0 || bytes.IndexByte(v, '%') >= 0 {
		return netip.Addr{}, false
	}
	// The string aliases v only for the call; on success netip keeps nothing
	// of it (zones are refused above), on failure we drop the error.
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(v), len(v)))
	if err != nil {
		return netip.Addr{}, false
	}
	return a, true
}

func parseIPv4(v []byte) (netip.Addr, bool) {
	var ip [4]byte
	part, digits, val := 0, 0, 0
	for _, c := range v {
		if c == '.' {
			if digits == 0 || part == 3 {
				return netip.Addr{}, false
			}
			ip[part] = byte(val)
			part++
			digits, val = 0, 0
			continue
		}
		d := int(c) - '0'
		if d < 0 || d > 9 || (digits == 1 && val == 0) {
			return netip.Addr{}, false // not a digit, or a leading zero
		}
		val = val*10 + d
		digits++
		if val > 255 {
			return netip.Addr{}, false
		}
	}
	if part != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(val)
	return netip.AddrFrom4(ip), true
}

// scanIPv4 reads a dotted quad (no leading zeros) starting at line[i] and
// ending at a separator or the end of the line, returning the address and
// the index after it. Anything else (IPv6, a bad address) gives ok false,
// for parseIP to judge.
func scanIPv4(line []byte, i int) (a netip.Addr, end int, ok bool) {
	var ip [4]byte
	l := len(line)
	for k := range 4 {
		// One to three digits, no leading zero, at most 255.
		if i >= l {
			return a, 0, false
		}
		v := uint(line[i] - '0')
		if v > 9 {
			return a, 0, false
		}
		i++
		if i < l {
			if d := uint(line[i] - '0'); d <= 9 {
				if v == 0 {
					return a, 0, false
				}
				v = v*10 + d
				i++
				if i < l {
					if d := uint(line[i] - '0'); d <= 9 {
						v = v*10 + d
						i++
						if v > 255 {
							return a, 0, false
						}
					}
				}
			}
		}
		ip[k] = byte(v)
		if k < 3 {
			if i >= l || line[i] != '.' {
				return a, 0, false
			}
			i++
		}
	}
	if i < l && !separator[line[i]] {
		return a, 0, false
	}
	return netip.AddrFrom4(ip), i, true
}

// Chunk is the outcome of parsing a run of lines.
type Chunk struct {
	// Stats counts what was seen.
	Stats Stats
	// Errors holds the first bad lines (Line relative to the chunk start,
	// 1-based); the rest are only counted in Stats.
	Errors []ParseError
	// EndFormat is the format in effect after the last line (a header line
	// may have changed it).
	EndFormat *Format
	// FormatChanged is set when a header line inside the chunk changed the
	// format, so rows were parsed with more than one layout; batches then
	// carry the union of the columns.
	FormatChanged bool
}

// ParseChunk parses data (whole lines; a missing final newline is fine) and
// appends good records to b, which ParseChunk resets. Header lines switch
// the format; lines starting with '{' are JSON (a {"message": ...} wrapper,
// a CloudWatch Logs subscription payload, or a flat record object).
func (p *Parser) ParseChunk(data []byte, b *Batch, out *Chunk) {
	p.StartBatch(b, out)
	var lineNo int64
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		lineNo++
		out.Stats.Lines++
		if p.fast(line, b) {
			out.Stats.Records++
			continue
		}
		n := p.split(line)
		if n == 0 {
			out.Stats.Blank++
			continue
		}
		first := line[p.spans[0].s]
		if first == '{' {
			out.Stats.JSONLines++
			p.parseJSONLine(line, lineNo, b, out)
			continue
		}
		if first >= 'a' && first <= 'z' {
			if f, ok := parseHeader(line); ok {
				out.Stats.Headers++
				if !f.Equal(p.format) {
					p.switchFormat(f, b, out)
				}
				continue
			}
		}
		if err := p.decode(line, n, b); err != nil {
			p.addError(out, err, lineNo)
			continue
		}
		out.Stats.Records++
	}
	out.EndFormat = p.format
}

// StartBatch resets b and out for a new run of records in the current
// format. ParseChunk calls it; callers feeding ParseJSON use it directly.
func (p *Parser) StartBatch(b *Batch, out *Chunk) {
	*out = Chunk{Errors: out.Errors[:0]}
	p.pad = p.pad[:0]
	b.Reset(p.Present(p.format))
	b.Format = p.format
}

// Finish records the format in effect at the end of a run.
func (p *Parser) Finish(out *Chunk) { out.EndFormat = p.format }

// switchFormat changes the format mid-chunk; columns the new format adds are
// back-filled with NULL so the batch stays rectangular.
func (p *Parser) switchFormat(f *Format, b *Batch, out *Chunk) {
	p.format = f
	if b.N == 0 {
		// No row yet: the batch takes the new format's columns only, not
		// a union with columns no row will ever fill.
		src, line := b.Source, b.Line
		b.Reset(p.Present(f))
		b.Source, b.Line, b.Format = src, line, f
		p.pad = p.pad[:0]
		return
	}
	out.FormatChanged = true
	add := p.Present(f)
	for _, id := range add.IDs() {
		if b.Present.Has(id) {
			continue
		}
		b.Present.Add(id)
		c := &b.Cols[id]
		c.reset(schema.Fields[id].Type)
		for i := 0; i < b.N; i++ {
			c.appendNull()
		}
	}
	// Columns the old format had and the new one lacks get NULL in new rows.
	b.Format = f
	p.recomputePad(b)
}

func (p *Parser) addError(out *Chunk, err *ParseError, lineNo int64) {
	out.Stats.reject(err.Reason)
	if len(out.Errors) < p.KeepErrors {
		err.Line = lineNo
		out.Errors = append(out.Errors, *err)
	}
}
