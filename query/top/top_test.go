package top

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

func batchOf(t *testing.T, seed uint64, n int) *flowlog.Batch {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var sb strings.Builder
	for range n {
		fmt.Fprintf(&sb, "2 1 eni-1 10.0.0.%d 10.0.1.%d %d %d 6 %d %d 1 2 ACCEPT OK\n",
			r.IntN(20), r.IntN(5), r.IntN(3), []int{22, 443, 80}[r.IntN(3)], 1+r.IntN(9), r.IntN(1000))
	}
	sb.WriteString("2 1 eni-1 - - - - - - - 1 2 - NODATA\n")
	p := flowlog.NewParser(flowlog.V2, schema.All())
	b := flowlog.NewBatch()
	var c flowlog.Chunk
	p.ParseChunk([]byte(sb.String()), b, &c)
	if c.Stats.Bad != 0 {
		t.Fatal(c.Errors)
	}
	return b
}

func TestTopHeapMatchesFullSort(t *testing.T) {
	keys, _ := ParseKeys("srcaddr,dstport")
	a := New(keys)
	a.Add(batchOf(t, 1, 3000), nil)
	for _, m := range []Measure{Bytes, Packets, Flows} {
		all := a.Top(m, 0)
		for _, n := range []int{1, 5, 17, len(all), len(all) + 3} {
			want := all[:min(n, len(all))]
			if diff := cmp.Diff(want, a.Top(m, n)); diff != "" {
				t.Fatalf("%s top %d differs from the full sort:\n%s", m, n, diff)
			}
		}
	}
}

func TestSubAndMergeUndoAdd(t *testing.T) {
	keys, _ := ParseKeys("srcaddr,dstaddr")
	x, y := batchOf(t, 1, 500), batchOf(t, 2, 700)
	whole := New(keys)
	whole.Add(x, nil)
	whole.Add(y, nil)

	// Spread over two aggregators, with a wrong batch added then taken back.
	w1, w2 := New(keys), New(keys)
	w1.Add(x, nil)
	w2.Add(batchOf(t, 3, 300), nil)
	w2.Add(y, nil)
	w1.Sub(batchOf(t, 3, 300), nil)
	w1.Merge(w2)
	if diff := cmp.Diff(whole.Top(Bytes, 0), w1.Top(Bytes, 0)); diff != "" {
		t.Fatalf("merged groups differ:\n%s", diff)
	}
	if w1.Records != whole.Records {
		t.Fatalf("records %d, want %d", w1.Records, whole.Records)
	}
	// NULL keys (the NODATA rows) form their own group, ranked last on ties.
	rows := whole.Top(Flows, 0)
	last := rows[len(rows)-1]
	if last.Keys[0] != nil || last.Flows != 2 {
		t.Fatalf("NULL group: %+v", last)
	}
}
