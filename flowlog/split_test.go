package flowlog

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// splitBytewise is the obvious byte-at-a-time split, the reference for
// the word-at-a-time one.
func splitBytewise(line []byte) []span {
	var out []span
	sep := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }
	for i := 0; i < len(line); {
		for i < len(line) && sep(line[i]) {
			i++
		}
		if i == len(line) {
			break
		}
		s := i
		for i < len(line) && !sep(line[i]) {
			i++
		}
		out = append(out, span{int32(s), int32(i)})
	}
	return out
}

func TestSplitAgreesWithBytewise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("  \t\rab-9\x80\xff\x00\x01 ")
	var p Parser
	check := func(line []byte) {
		t.Helper()
		want := splitBytewise(line)
		n := p.split(line)
		if n != len(want) {
			t.Fatalf("%q: %d tokens, want %d", line, n, len(want))
		}
		got := append([]span(nil), p.spans[:min(n, maxFields)]...)
		if d := cmp.Diff(want[:min(n, maxFields)], got, cmp.AllowUnexported(span{})); d != "" {
			t.Fatalf("%q (-want +got):\n%s", line, d)
		}
	}
	for _, s := range []string{"", " ", "a", "a b", " a ", "\t\ta\r", "2 123 eni-1 10.0.0.1"} {
		check([]byte(s))
	}
	for n := range 300 {
		for range 20 {
			line := make([]byte, n)
			for i := range line {
				line[i] = alphabet[r.IntN(len(alphabet))]
			}
			check(line)
		}
	}
}
