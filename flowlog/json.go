package flowlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/flowlens/flowlens/schema"
)

// JSON shapes seen in the wild around flow-log records:
//   - a CloudWatch Logs subscription payload: {"messageType": "DATA_MESSAGE",
//     "logEvents": [{"id", "timestamp", "message"}, ...]}; CONTROL_MESSAGE
//     payloads carry no records;
//   - a line wrapped as {"message": "<record>"};
//   - a flat object keyed by field names (what Parquet and Firehose
//     conversions produce), numbers possibly written as floats.

// ParseJSON parses one JSON value (any of the shapes above) and appends its
// records to b. lineNo is used in error reports.
func (p *Parser) ParseJSON(raw []byte, lineNo int64, b *Batch, out *Chunk) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		p.addError(out, &ParseError{Reason: ReasonJSON, Detail: shortErr(err)}, lineNo)
		return
	}
	if evs, ok := obj["logEvents"]; ok {
		var mt string
		_ = json.Unmarshal(obj["messageType"], &mt)
		if mt == "CONTROL_MESSAGE" {
			out.Stats.Control++
			return
		}
		var events []struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(evs, &events); err != nil {
			p.addError(out, &ParseError{Reason: ReasonJSON, Detail: "logEvents: " + shortErr(err)}, lineNo)
			return
		}
		for _, ev := range events {
			p.parseText([]byte(ev.Message), lineNo, b, out)
		}
		return
	}
	if m, ok := obj["message"]; ok && len(m) > 0 && m[0] == '"' {
		var msg string
		if err := json.Unmarshal(m, &msg); err != nil {
			p.addError(out, &ParseError{Reason: ReasonJSON, Detail: "message: " + shortErr(err)}, lineNo)
			return
		}
		p.parseText([]byte(msg), lineNo, b, out)
		return
	}
	p.parseFlat(obj, lineNo, b, out)
}

func (p *Parser) parseJSONLine(line []byte, lineNo int64, b *Batch, out *Chunk) {
	p.ParseJSON(bytes.TrimSpace(line), lineNo, b, out)
}

// parseText handles one text record found inside JSON (a header line there
// changes the format too).
func (p *Parser) parseText(line []byte, lineNo int64, b *Batch, out *Chunk) {
	n := p.split(line)
	if n == 0 {
		return
	}
	if c := line[p.spans[0].s]; c >= 'a' && c <= 'z' {
		if f, ok := parseHeader(line); ok {
			out.Stats.Headers++
			if !f.Equal(p.format) {
				p.switchFormat(f, b, out)
			}
			return
		}
	}
	if err := p.decode(line, n, b); err != nil {
		p.addError(out, err, lineNo)
		return
	}
	out.Stats.Records++
}

// parseFlat appends a record given as an object keyed by field names.
func (p *Parser) parseFlat(obj map[string]json.RawMessage, lineNo int64, b *Batch, out *Chunk) {
	type kv struct {
		id  int
		raw json.RawMessage
	}
	var vals []kv
	for k, raw := range obj {
		f, ok := schema.Lookup(k)
		if !ok {
			continue
		}
		vals = append(vals, kv{f.ID, raw})
	}
	if len(vals) == 0 {
		p.addError(out, &ParseError{Reason: ReasonJSON, Detail: "object has no flow-log fields"}, lineNo)
		return
	}
	// Decode everything first so a bad value leaves the batch untouched.
	type val struct {
		null bool
		s    []byte
		i    int64
	}
	decoded := make(map[int]val, len(vals))
	for _, e := range vals {
		v, perr := decodeJSONValue(e.id, e.raw)
		if perr != nil {
			p.addError(out, perr, lineNo)
			return
		}
		decoded[e.id] = v
	}
	// Widen the batch with any wanted column it lacks.
	for id := range decoded {
		if p.want.Has(id) && !b.Present.Has(id) {
			b.Present.Add(id)
			c := &b.Cols[id]
			c.reset(schema.Fields[id].Type)
			for i := 0; i < b.N; i++ {
				c.appendNull()
			}
			out.FormatChanged = true
		}
	}
	p.recomputePad(b)
	for _, id := range b.Present.IDs() {
		c := &b.Cols[id]
		v, ok := decoded[id]
		if !ok || v.null {
			c.appendNull()
			continue
		}
		switch c.Type {
		case schema.String:
			c.AppendString(v.s)
		case schema.IP:
			a, _ := parseIP(v.s)
			c.AppendIP(a)
		default:
			c.AppendInt(v.i)
		}
	}
	b.N++
	out.Stats.Records++
}

func (p *Parser) recomputePad(b *Batch) {
	now := p.Present(p.format)
	p.pad = p.pad[:0]
	for _, id := range b.Present.IDs() {
		if !now.Has(id) {
			p.pad = append(p.pad, id)
		}
	}
}

func decodeJSONValue(id int, raw json.RawMessage) (struct {
	null bool
	s    []byte
	i    int64
}, *ParseError) {
	type val = struct {
		null bool
		s    []byte
		i    int64
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return val{null: true}, nil
	}
	var text []byte
	isString := raw[0] == '"'
	if isString {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return val{}, &ParseError{Field: schema.Fields[id].Token, Reason: ReasonJSON, Detail: shortErr(err)}
		}
		if s == "-" || s == "" {
			return val{null: true}, nil
		}
		text = []byte(s)
	} else {
		text = raw
	}
	f := schema.Fields[id]
	switch t := f.Type; t {
	case schema.String:
		return val{s: text}, nil
	case schema.IP:
		if _, ok := parseIP(text); !ok {
			return val{}, valueError(id, text, ReasonAddress)
		}
		return val{s: text}, nil
	default:
		x, reason := parseInt(text, f.Max)
		if reason == ReasonInteger && !isString {
			// JSON numbers may be written as floats (25238.0).
			v, err := strconv.ParseFloat(string(text), 64)
			if err == nil && v >= 0 && v == math.Trunc(v) && v <= math.MaxInt64 {
				x, reason = int64(v), ""
				if v > float64(f.Max) {
					reason = ReasonRange
				}
			}
		}
		if reason == "" && t == schema.Time {
			x, reason = normaliseEpoch(x)
		}
		if reason != "" {
			return val{}, valueError(id, text, reason)
		}
		return val{i: x}, nil
	}
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprint(s)
}
