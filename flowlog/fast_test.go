package flowlog

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/schema"
)

// fastFormats cover every field type, ignored columns, and formats whose
// first field is a string.
var fastFormats = []*Format{
	V2,
	TGW,
	MustFormat("srcaddr dstaddr start end bytes packets protocol action tcp-flags pkt-srcaddr"),
	MustFormat("account-id interface-id srcaddr dstaddr"),
	MustFormat("version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id region flow-direction"),
}

// twoPass decodes line with split+decode only.
func twoPass(p *Parser, line []byte, b *Batch) bool {
	n := p.split(line)
	return n > 0 && p.decode(line, n, b) == nil
}

// checkFastAgrees asserts that when the one-pass decoder accepts a line the
// two-pass one accepts it with the same values, and that the one-pass
// decoder never accepts a line the two-pass one rejects.
func checkFastAgrees(t *testing.T, which uint8, line []byte) {
	f := fastFormats[int(which)%len(fastFormats)]
	want := schema.All()
	if which&0x80 != 0 {
		want = schema.SetOf(schema.FSrcAddr, schema.FBytes, schema.FAccountID, schema.FStart)
	}
	pf, ps := NewParser(f, want), NewParser(f, want)
	bf, bs := NewBatch(), NewBatch()
	bf.Reset(pf.Present(f))
	bs.Reset(ps.Present(f))
	if okF := pf.fast(line, bf); okF {
		if !twoPass(ps, line, bs) {
			t.Fatalf("%s: one pass accepts %q, two passes reject it", f, line)
		}
		if d := cmp.Diff(rows(bs), rows(bf)); d != "" {
			t.Fatalf("%s: %q decoded differently (-two +one):\n%s", f, line, d)
		}
		return
	}
	if bf.N != 0 || len(rows(bf)) != 0 {
		t.Fatalf("%s: rejected %q but left %d rows", f, line, bf.N)
	}
	for _, id := range bf.Present.IDs() {
		if n := len(bf.Cols[id].Valid); n != 0 {
			t.Fatalf("%s: rejected %q but left %d values in %s", f, line, n, schema.Col(id).Column)
		}
	}
}

func rows(b *Batch) [][]any {
	var out [][]any
	for i := range b.N {
		var r []any
		for _, id := range b.Present.IDs() {
			v := b.Value(id, i)
			if a, ok := v.(netip.Addr); ok {
				v = a.String()
			}
			r = append(r, v)
		}
		out = append(out, r)
	}
	return out
}

func FuzzFastAgreesWithTwoPass(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			f.Add(uint8(i), line)
		}
	}
	for _, s := range []string{
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000000 1620000060 ACCEPT OK",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 9999999999999999999 1620000000 1620000060 ACCEPT OK",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 2147483648 6 10 840 1620000000 1620000060 ACCEPT OK",
		"2 123456789010 eni-1 - - - - - - - 1620000000 1620000060 - NODATA",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 44x 49152 6 10 840 1620000000 1620000060 ACCEPT OK",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK extra",
		"\t2 123456789010 eni-1 2001:db8::1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK\r",
		"2 123456789010 eni-1 010.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 -5 49152 6 10 840 1620000000 1620000060 ACCEPT OK",
		"account-id interface-id srcaddr dstaddr",
		"{\"message\": \"x y z w\"}",
		"", "   ", "-", "- - - -",
	} {
		for w := range 2 * len(fastFormats) {
			f.Add(uint8(w%len(fastFormats))|uint8(w/len(fastFormats))<<7, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		checkFastAgrees(t, which, line)
	})
}
