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

// TestPackedKeysAgreeWithReference groups rows with IPv4 and IPv6
// addresses, NULLs and wide integers, so that some go to the packed map and
// some to the encoded one, and compares every key set with a plain
// reference grouping of the values.
func TestPackedKeysAgreeWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var sb strings.Builder
	addrs := []string{"10.0.0.1", "10.0.0.2", "203.0.113.9", "2001:db8::1", "2001:db8::2", "-"}
	for range 4000 {
		fmt.Fprintf(&sb, "2 1 eni-%d %s %s %d %d %d %d %d %d %d ACCEPT OK\n",
			r.IntN(3), addrs[r.IntN(len(addrs))], addrs[r.IntN(len(addrs))], r.IntN(3), []int{22, 443, 65535}[r.IntN(3)],
			[]int{6, 17}[r.IntN(2)], 1+r.IntN(9), []int64{100, 5_000_000_000, 7}[r.IntN(3)], 1700000000+r.IntN(3), 1700000060)
	}
	p := flowlog.NewParser(flowlog.V2, schema.All())
	b := flowlog.NewBatch()
	var c flowlog.Chunk
	p.ParseChunk([]byte(sb.String()), b, &c)
	if c.Stats.Bad != 0 {
		t.Fatal(c.Errors)
	}
	for _, ks := range []string{"srcaddr", "srcaddr,dstaddr", "srcaddr,dstaddr,dstport,protocol", "start,srcaddr", "dstport,bytes", "start,end", "interface-id,srcaddr", "srcaddr,dstaddr,start",
		"dstport,srcport,bytes", "dstport,bytes,srcport", "srcaddr,dstaddr,dstport,protocol,srcport"} {
		t.Run(ks, func(t *testing.T) {
			keys, err := ParseKeys(ks)
			if err != nil {
				t.Fatal(err)
			}
			a := New(keys)
			a.Add(b, nil)
			type agg struct{ Flows, Packets, Bytes int64 }
			want := map[string]agg{}
			for i := range b.N {
				var parts []string
				for _, id := range keys {
					v := b.Value(id, i)
					if ip, ok := v.(interface{ String() string }); ok {
						v = ip.String()
					}
					parts = append(parts, fmt.Sprint(v))
				}
				k := strings.Join(parts, "|")
				g := want[k]
				g.Flows++
				pk, _ := b.Int(schema.FPackets, i)
				by, _ := b.Int(schema.FBytes, i)
				g.Packets += pk
				g.Bytes += by
				want[k] = g
			}
			got := map[string]agg{}
			for _, row := range a.Top(Bytes, 0) {
				var parts []string
				for _, v := range row.Keys {
					parts = append(parts, fmt.Sprint(v))
				}
				got[strings.Join(parts, "|")] = agg{row.Flows, row.Packets, row.Bytes}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("groups (-want +got):\n%s", d)
			}
			// A 64-bit value does not straddle the two words of a packed
			// key, so dstport,bytes,srcport does not fit where
			// dstport,srcport,bytes does.
			unpacked := map[string]bool{"interface-id,srcaddr": true, "dstport,bytes,srcport": true, "srcaddr,dstaddr,dstport,protocol,srcport": true}
			if a.packs == unpacked[ks] || (a.packs && a.packed.n == 0) {
				t.Errorf("packs %v with %d packed groups", a.packs, a.packed.n)
			}
		})
	}
}

// TestManyGroups spreads 60k rows over about 50k groups, so the packed
// table grows many times and the groups span many blocks, across three
// aggregators merged at the end, and checks every group against a plain
// map of the same rows.
func TestManyGroups(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 7))
	type agg struct{ Flows, Bytes int64 }
	want := map[string]agg{}
	keys, _ := ParseKeys("srcaddr,dstport,start") // start is in the second word
	aggs := []*Aggregator{New(keys), New(keys), New(keys)}
	for n := range 6 {
		var sb strings.Builder
		for range 10000 {
			src := fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(100), r.IntN(100))
			port, bytes, start := r.IntN(3), r.IntN(10000), 1700000000+r.IntN(2)
			fmt.Fprintf(&sb, "2 1 eni-1 %s 10.9.9.9 1 %d 6 1 %d %d 1700000100 ACCEPT OK\n", src, port, bytes, start)
			k := fmt.Sprintf("%s|%d|%d", src, port, start)
			g := want[k]
			g.Flows++
			g.Bytes += int64(bytes)
			want[k] = g
		}
		p := flowlog.NewParser(flowlog.V2, schema.All())
		b := flowlog.NewBatch()
		var c flowlog.Chunk
		p.ParseChunk([]byte(sb.String()), b, &c)
		aggs[n%3].Add(b, nil)
	}
	a := aggs[1]
	a.Merge(aggs[0])
	a.Merge(aggs[2])
	if a.Groups() != len(want) || a.Records != 60000 {
		t.Fatalf("%d groups of %d records, want %d of 60000", a.Groups(), a.Records, len(want))
	}
	got := map[string]agg{}
	for _, row := range a.Top(Bytes, 0) {
		got[fmt.Sprintf("%v|%v|%v", row.Keys[0], row.Keys[1], row.Keys[2])] = agg{row.Flows, row.Bytes}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("groups (-want +got):\n%s", d)
	}
	top := a.Top(Flows, 3)
	all := a.Top(Flows, 0)
	if d := cmp.Diff(all[:3], top); d != "" {
		t.Fatalf("top 3 differs from the full ranking:\n%s", d)
	}
}

// TestPackedTableKeys adds keys that differ only in one word, so that
// their probe sequences cross as the table grows from its smallest size,
// counting each in its group, and finds each again with its count.
func TestPackedTableKeys(t *testing.T) {
	var tab packedTable
	var keys []packedKey
	for i := range uint64(3000) {
		keys = append(keys, packedKey{7, i}, packedKey{i, 7})
	}
	for _, k := range keys {
		tab.at(tab.find(k)).flows++
	}
	if int(tab.n) != len(keys)-1 { // {7,7} is there twice
		t.Fatalf("%d groups for %d distinct keys", tab.n, len(keys)-1)
	}
	seen := 0
	tab.each(func(int32) { seen++ })
	if seen != int(tab.n) {
		t.Fatalf("each visits %d groups of %d", seen, tab.n)
	}
	for _, k := range keys {
		g := tab.at(tab.find(k))
		want := int64(1)
		if k == (packedKey{7, 7}) {
			want = 2
		}
		if g.key != k || g.flows != want {
			t.Fatalf("key %v found group of %v counting %d, want %d", k, g.key, g.flows, want)
		}
	}
	if int(tab.n) != len(keys)-1 {
		t.Fatalf("finding known keys added groups: %d", tab.n)
	}
}

// TestLocate walks group indexes across the doubling blocks: each index is
// the next place in its block, or the start of the next block, whose size
// is the one add allocates.
func TestLocate(t *testing.T) {
	pb, pi := 0, -1
	size := 1 << blockBits
	for g := range int32(1 << 21) {
		b, i := locate(g)
		switch {
		case b == pb && i == pi+1:
		case b == pb+1 && i == 0 && pi == size-1:
			if b > 1 {
				size = 1 << (blockBits + b - 1)
			}
		default:
			t.Fatalf("group %d at block %d index %d, after block %d index %d (size %d)", g, b, i, pb, pi, size)
		}
		pb, pi = b, i
	}
}
