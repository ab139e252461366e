package duckdb

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// allFormat has every catalog field, in catalog order.
var allFormat = func() *flowlog.Format {
	toks := make([]string, len(schema.Fields))
	for i, f := range schema.Fields {
		toks[i] = f.Token
	}
	return flowlog.MustFormat(strings.Join(toks, " "))
}()

// parseBatches parses lines (format f) into batches of at most per rows,
// failing on any bad line.
func parseBatches(t testing.TB, f *flowlog.Format, lines []string, per int) []*flowlog.Batch {
	t.Helper()
	p := flowlog.NewParser(f, schema.All())
	var out []*flowlog.Batch
	for i := 0; i < len(lines); i += per {
		j := min(i+per, len(lines))
		b := flowlog.NewBatch()
		var ch flowlog.Chunk
		p.ParseChunk([]byte(strings.Join(lines[i:j], "\n")), b, &ch)
		if ch.Stats.Bad != 0 || b.N != j-i {
			t.Fatalf("parse lines %d-%d: %d rows, stats %+v", i, j, b.N, ch.Stats)
		}
		out = append(out, b)
	}
	return out
}

// fileObject describes a test object.
func fileObject(id string, size int64) store.Object {
	return store.Object{ID: id, Size: size, MTime: time.Unix(1700000000, 123456789)}
}

// ingest commits the given objects, each with its batches, in one
// transaction.
func ingest(t testing.TB, s store.Store, objs []store.Object, batches [][]*flowlog.Batch) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i, o := range objs {
		if err := tx.BeginObject(ctx, o); err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, b := range batches[i] {
			if err := tx.Append(ctx, b); err != nil {
				t.Fatal(err)
			}
			n += int64(b.N)
		}
		if err := tx.EndObject(ctx, store.Result{Records: n}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// queryAll runs a query and returns its rows as values.
func queryAll(t testing.TB, s store.Store, q string, args ...any) [][]any {
	t.Helper()
	r, err := s.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]any
	n := len(r.Columns())
	for r.Next() {
		vals := make([]any, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// count returns a single integer query result.
func count(t testing.TB, s store.Store, q string, args ...any) int64 {
	t.Helper()
	rows := queryAll(t, s, q, args...)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: want one value, got %v", q, rows)
	}
	switch v := rows[0][0].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	}
	t.Fatalf("%s: not an integer: %T", q, rows[0][0])
	return 0
}

// openTemp opens a fresh file store in a test directory.
func openTemp(t testing.TB, mod func(*Config)) (*Store, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "flows.duckdb")
	cfg.MemoryLimit = 1 << 30
	if mod != nil {
		mod(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, cfg.Path
}

// v2Lines generates n v2 records; seed varies the values.
func v2Lines(n, seed int) []string {
	out := make([]string, n)
	for i := range n {
		j := i + seed*1_000_003
		out[i] = fmt.Sprintf("2 123456789010 eni-%08x 10.%d.%d.%d 198.51.%d.%d %d %d 6 %d %d %d %d %s OK",
			j%4096, j%7, (j/7)%250, j%250+1, j%100, (j/100)%250, 32768+j%20000, []int{22, 80, 443, 3389}[j%4],
			j%50+1, 40+(j*7919)%150000, 1700000000+j/100, 1700000060+j/100, []string{"ACCEPT", "REJECT"}[j%2])
	}
	return out
}

// wideLines generates n records in allFormat: v2Lines plus a vpc-id, the
// other fields NULL.
func wideLines(n, seed int) []string {
	out := v2Lines(n, seed)
	rest := " vpc-0a1b" + strings.Repeat(" -", len(schema.Fields)-15)
	for i := range out {
		out[i] += rest
	}
	return out
}

// expectRow is the reference decoding of one text record: the value every
// flows column should hold, computed from the tokens without the parser.
func expectRow(f *flowlog.Format, line, source string) map[string]any {
	row := map[string]any{}
	for _, c := range store.Columns() {
		row[c.Name] = nil
	}
	delete(row, store.ColIngestedAt)
	row[store.ColSource] = source
	for i, tok := range strings.Fields(line) {
		fd, _ := schema.Lookup(f.Names[i])
		if tok == "-" {
			continue
		}
		switch fd.Type {
		case schema.String:
			row[fd.Column] = tok
		case schema.Int32:
			v, _ := strconv.ParseInt(tok, 10, 32)
			row[fd.Column] = int32(v)
		case schema.Int64, schema.Time:
			v, _ := strconv.ParseInt(tok, 10, 64)
			row[fd.Column] = v
		case schema.IP:
			a := netip.MustParseAddr(tok)
			row[fd.Column] = a.String()
			k := a.As16()
			row[fd.Column+store.BinSuffix] = k[:]
		}
	}
	return row
}

// flowsRows reads every flows column of every row as maps, sorted by
// their printed form; ingested_at is returned separately.
func flowsRows(t testing.TB, s store.Store) ([]map[string]any, []any) {
	t.Helper()
	cols := store.Columns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = ident(c.Name)
	}
	rows := queryAll(t, s, "SELECT "+strings.Join(names, ", ")+" FROM flows")
	var out []map[string]any
	var at []any
	for _, r := range rows {
		m := map[string]any{}
		for i, c := range cols {
			if c.Name == store.ColIngestedAt {
				at = append(at, r[i])
				continue
			}
			m[c.Name] = r[i]
		}
		out = append(out, m)
	}
	sortRows(out)
	return out, at
}

// sortRows orders rows by their printed form (fmt prints maps sorted by key).
func sortRows(rows []map[string]any) {
	sort.Slice(rows, func(i, j int) bool { return fmt.Sprint(rows[i]) < fmt.Sprint(rows[j]) })
}

// useLoader makes s load with ld (Open prepared the default loader).
func useLoader(t testing.TB, s *Store, ld loader) {
	t.Helper()
	if ld.name() != s.load.name() {
		if err := ld.prepare(context.Background(), s.DB()); err != nil {
			t.Fatal(err)
		}
		s.load = ld
	}
}
