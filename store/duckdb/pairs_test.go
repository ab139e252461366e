package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/query/top"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// pairLines generates n v2 records over few addresses (IPv4 and IPv6), so
// that pairs repeat, with some NODATA records (no addresses, no counts).
func pairLines(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 3))
	addrs := []string{"10.0.0.1", "10.0.0.2", "10.0.1.7", "203.0.113.5", "198.51.100.9", "2001:db8::1", "2001:db8::beef"}
	out := make([]string, n)
	for i := range out {
		if r.IntN(20) == 0 {
			out[i] = "2 123456789010 eni-1 - - - - - - - 1700000000 1700000060 - NODATA"
			continue
		}
		out[i] = fmt.Sprintf("2 123456789010 eni-%d %s %s 443 %d 6 %d %d 1700000000 1700000060 ACCEPT OK",
			r.IntN(3), addrs[r.IntN(len(addrs))], addrs[r.IntN(len(addrs))], 1024+r.IntN(60000), 1+r.IntN(20), 40+r.IntN(100000))
	}
	return out
}

// bigEqual compares the HUGEINT sums DuckDB returns.
var bigEqual = cmp.Comparer(func(x, y *big.Int) bool { return x.Cmp(y) == 0 })

// checkTotals compares top over the pair totals with top over the rows,
// for every key set the totals answer and every measure.
func checkTotals(t *testing.T, s *Store, when string) {
	t.Helper()
	table, ok := s.PairTotals()
	if !ok {
		t.Fatalf("%s: store keeps no pair totals", when)
	}
	for _, ks := range []string{"srcaddr,dstaddr", "dstaddr,srcaddr", "srcaddr", "dstaddr"} {
		keys, err := top.ParseKeys(ks)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []top.Measure{top.Bytes, top.Packets, top.Flows} {
			want := queryAll(t, s, top.SQL(keys, m, 0, store.Table, ""))
			got := queryAll(t, s, top.TotalsSQL(keys, m, 0, table))
			if len(want) < 5 {
				t.Fatalf("%s: only %d groups of %s", when, len(want), ks)
			}
			if d := cmp.Diff(want, got, bigEqual); d != "" {
				t.Fatalf("%s: top %s by %s from the totals differs from the rows (-rows +totals):\n%s", when, ks, m, d)
			}
		}
	}
}

func TestPairTotalsFollowIngest(t *testing.T) {
	defer func(old int64) { pairsSlack = old }(pairsSlack)
	pairsSlack = 10 // compact often
	ctx := context.Background()
	s, _ := openTemp(t, func(c *Config) { c.FlushRows = 100 })
	a := fileObject("/logs/a.log", 100)
	b := fileObject("/logs/b.log", 200)
	c := fileObject("/logs/c.log", 300)
	wide := fileObject("/logs/wide.log", 400)

	// Two objects, two part tables (v2 and the all-fields format).
	var wideLines []string
	for _, l := range pairLines(150, 9) {
		wideLines = append(wideLines, l+" vpc-0a1b"+strings.Repeat(" -", len(schema.Fields)-15))
	}
	// And a third, in a format with neither srcaddr nor counts, alone in
	// its transaction so that it gets a part table of its own.
	narrowFormat := flowlog.MustFormat("interface-id dstaddr action")
	narrowLines := func(n, seed int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("eni-%d 10.0.0.%d ACCEPT", i%3, (i*seed)%5))
		}
		return out
	}
	narrow := fileObject("/logs/narrow.log", 500)
	ingest(t, s, []store.Object{a, wide}, [][]*flowlog.Batch{
		parseBatches(t, flowlog.V2, pairLines(400, 1), 64),
		parseBatches(t, allFormat, wideLines, 64),
	})
	ingest(t, s, []store.Object{narrow}, [][]*flowlog.Batch{parseBatches(t, narrowFormat, narrowLines(90, 1), 64)})
	if n := count(t, s, "SELECT count(*) FROM "+partsTable); n != 3 {
		t.Fatalf("%d part tables, want 3", n)
	}
	checkTotals(t, s, "first ingest")

	// a and narrow change (their rows are replaced), b is new, c turns out
	// corrupt after some of its rows were flushed.
	a2 := a
	a2.Size = 101
	narrow2 := narrow
	narrow2.Size = 501
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, step := range []struct {
		obj    store.Object
		format *flowlog.Format
		lines  []string
		abort  bool
	}{
		{a2, flowlog.V2, pairLines(250, 2), false},
		{narrow2, narrowFormat, narrowLines(40, 3), false},
		{c, flowlog.V2, pairLines(300, 4), true},
		{b, flowlog.V2, pairLines(350, 3), false},
	} {
		if err := tx.BeginObject(ctx, step.obj); err != nil {
			t.Fatal(err)
		}
		for _, bt := range parseBatches(t, step.format, step.lines, 64) {
			if err := tx.Append(ctx, bt); err != nil {
				t.Fatal(err)
			}
		}
		if step.abort {
			err = tx.AbortObject(ctx)
		} else {
			err = tx.EndObject(ctx, store.Result{Records: int64(len(step.lines))})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	checkTotals(t, s, "replace, abort and add")

	// A transaction rolled back leaves the totals as they were.
	before := queryAll(t, s, "SELECT * FROM "+pairsTable+" ORDER BY ALL")
	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a3 := a2
	a3.Size = 102
	if err := tx.BeginObject(ctx, a3); err != nil {
		t.Fatal(err)
	}
	if err := tx.Append(ctx, parseBatches(t, flowlog.V2, pairLines(50, 5), 64)[0]); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, queryAll(t, s, "SELECT * FROM "+pairsTable+" ORDER BY ALL")); d != "" {
		t.Fatalf("totals changed by a rolled-back transaction:\n%s", d)
	}

	// Compaction left one row per pair with flows, and its size noted.
	rows := count(t, s, "SELECT count(*) FROM "+pairsTable)
	pairs := count(t, s, "SELECT count(*) FROM (SELECT DISTINCT srcaddr, dstaddr FROM flows)")
	compacted := count(t, s, "SELECT compacted_rows FROM "+pairsStateTable)
	if compacted == 0 || rows > 2*compacted+pairsSlack || rows < pairs {
		t.Fatalf("%d rows of totals for %d pairs, %d after the last compaction", rows, pairs, compacted)
	}
}

// TestPairTotalsUpgrade opens a database written before pair totals
// existed: read-only it is read as it is, without totals; the first
// read-write open fills them from the stored rows.
func TestPairTotalsUpgrade(t *testing.T) {
	s, path := openTemp(t, nil)
	ingest(t, s, []store.Object{fileObject("/logs/a.log", 1)}, [][]*flowlog.Batch{parseBatches(t, flowlog.V2, pairLines(500, 7), 128)})
	// Take the database back to version 1.
	for _, q := range []string{"DROP TABLE " + pairsTable, "DROP TABLE " + pairsStateTable, "DELETE FROM " + versionTable + " WHERE version = 2"} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	ro, err := Open(Config{Path: path, ReadOnly: true, MemoryLimit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ro.PairTotals(); ok {
		t.Fatal("a version 1 database opened read-only claims pair totals")
	}
	if n := count(t, ro, "SELECT count(*) FROM flows"); n != 500 {
		t.Fatalf("%d rows read from the version 1 database, want 500", n)
	}
	ro.Close()

	rw, err := Open(Config{Path: path, MemoryLimit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	checkTotals(t, rw, "after upgrade")
	var v sql.NullInt64
	if err := rw.DB().QueryRow("SELECT max(version) FROM " + versionTable).Scan(&v); err != nil || v.Int64 != SchemaVersion {
		t.Fatalf("schema version %v after upgrade (%v)", v, err)
	}
}

// TestMemoryStoreKeepsNoTotals: ad-hoc stores answer from the rows.
func TestMemoryStoreKeepsNoTotals(t *testing.T) {
	s, err := OpenMemory(Config{MemoryLimit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.PairTotals(); ok {
		t.Fatal("in-memory store claims pair totals")
	}
}
