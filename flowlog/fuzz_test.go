package flowlog_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// fuzzFormats are the formats FuzzParseLine picks from.
var fuzzFormats = []*flowlog.Format{
	flowlog.V2,
	v5Format,
	flowlog.TGW,
	flowlog.MustFormat("instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr"),
	flowlog.MustFormat(typesFormat),
}

// addFileSeeds adds every line of the testdata logs, and each whole file,
// as seeds.
func addFileSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			f.Add(uint8(i), line)
		}
		f.Add(uint8(len(data)), data)
	}
}

// FuzzParseLine feeds random bytes to the line parser. Invariants: no
// panic; the batch stays rectangular; for text without '{' every line is
// exactly one of record, bad, header or blank; a record accepted by
// ParseLine prints back to a line that parses to the identical record.
func FuzzParseLine(f *testing.F) {
	addFileSeeds(f)
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		format := fuzzFormats[int(which)%len(fuzzFormats)]
		want := schema.All()
		if which&0x80 != 0 {
			want = schema.SetOf(schema.FSrcAddr, schema.FBytes, schema.FAccountID, schema.FStart)
		}

		p := flowlog.NewParser(format, want)
		b := flowlog.NewBatch()
		var ch flowlog.Chunk
		p.ParseChunk(data, b, &ch)
		checkRectangular(t, b)
		st := ch.Stats
		if int(st.Records) != b.N {
			t.Fatalf("stats count %d records, batch holds %d", st.Records, b.N)
		}
		lines := int64(bytes.Count(data, []byte("\n")))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		if st.Lines != lines {
			t.Fatalf("read %d lines of %d", st.Lines, lines)
		}
		if bytes.IndexByte(data, '{') < 0 && st.Lines != st.Records+st.Bad+st.Headers+st.Blank {
			t.Fatalf("lines %d != records %d + bad %d + headers %d + blank %d", st.Lines, st.Records, st.Bad, st.Headers, st.Blank)
		}
		if int64(len(ch.Errors)) > st.Bad {
			t.Fatalf("%d errors for %d bad records", len(ch.Errors), st.Bad)
		}
		for _, e := range ch.Errors {
			if e.Reason == "" || e.Line < 1 || e.Line > st.Lines {
				t.Fatalf("error without reason or with line %d of %d: %+v", e.Line, st.Lines, e)
			}
		}

		// Round trip, line by line, in the fixed format.
		lp := flowlog.NewParser(format, schema.All())
		present := lp.Present(format)
		for _, line := range bytes.Split(data, []byte("\n")) {
			b1 := flowlog.NewBatch()
			b1.Reset(present)
			if err := lp.ParseLine(line, b1); err != nil {
				if b1.N != 0 {
					t.Fatalf("rejected line left %d rows", b1.N)
				}
				checkRectangular(t, b1)
				continue
			}
			checkRectangular(t, b1)
			text := printLine(format, b1, 0)
			b2 := flowlog.NewBatch()
			b2.Reset(present)
			if err := lp.ParseLine([]byte(text), b2); err != nil {
				t.Fatalf("%q was accepted but its printed form %q is not: %v", line, text, err)
			}
			for _, id := range present.IDs() {
				if v1, v2 := b1.Value(id, 0), b2.Value(id, 0); v1 != v2 {
					t.Fatalf("%q -> %q: %s is %#v then %#v", line, text, schema.Fields[id].Token, v1, v2)
				}
			}
		}
	})
}

// FuzzParseFormat feeds random strings to the format and header parsers.
// Invariants: no panic; errors are *FormatError; a parsed format's String()
// and Header() parse back to an equal format.
func FuzzParseFormat(f *testing.F) {
	for _, ff := range fuzzFormats {
		f.Add(ff.String())
		f.Add(ff.Header())
	}
	for _, s := range []string{"", " ", "${", "${}", "${srcaddr", "srcaddr}", "${${srcaddr}}", "SRCADDR pkt_dstaddr",
		"srcaddr srcaddr", "version foo bar", "version foo", "\tversion\r\nsrcaddr", "${version}${srcaddr}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ff, err := flowlog.ParseFormat(s)
		if err != nil {
			var fe *flowlog.FormatError
			if !errors.As(err, &fe) || ff != nil {
				t.Fatalf("error %T %v with format %v", err, err, ff)
			}
		} else {
			if len(ff.IDs) == 0 || len(ff.IDs) != len(ff.Names) || len(ff.Unknown()) != 0 {
				t.Fatalf("malformed format %+v", ff)
			}
			g, err := flowlog.ParseFormat(ff.String())
			if err != nil {
				t.Fatalf("%q -> %q: %v", s, ff.String(), err)
			}
			if !g.Equal(ff) {
				t.Fatalf("%q -> %q -> %q", s, ff.String(), g.String())
			}
			h, ok := flowlog.ParseHeader([]byte(ff.Header()))
			if !ok || !h.Equal(ff) {
				t.Fatalf("header %q of %q is not read back (%v)", ff.Header(), s, ok)
			}
		}

		h, ok := flowlog.ParseHeader([]byte(s))
		if !ok {
			return
		}
		known := len(h.IDs) - len(h.Unknown()) + dupCount(h)
		if len(h.IDs) == 0 || len(h.IDs) != len(h.Names) || 2*known <= len(h.IDs) {
			t.Fatalf("header %q gave %+v", s, h)
		}
		h2, ok := flowlog.ParseHeader([]byte(h.Header()))
		if !ok || !h2.Equal(h) {
			t.Fatalf("header %q -> %q is not read back (%v)", s, h.Header(), ok)
		}
	})
}

// dupCount counts the ignored columns of h whose name is a catalog field
// (a repeated name): they count as known when a line is judged a header.
func dupCount(h *flowlog.Format) int {
	n := 0
	for i, id := range h.IDs {
		if _, ok := schema.LookupBytes([]byte(h.Names[i])); id < 0 && ok {
			n++
		}
	}
	return n
}
