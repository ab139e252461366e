package duckdb

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"zero values", func(c *Config) { *c = Config{Path: "x.duckdb"} }, ""},
		{"question mark in path", func(c *Config) { c.Path = "a?b.duckdb" }, "not allowed"},
		{"hash in path", func(c *Config) { c.Path = "a#b.duckdb" }, "not allowed"},
		{"negative memory", func(c *Config) { c.MemoryLimit = -1 }, "memory limit"},
		{"fraction above one", func(c *Config) { c.MemoryFraction = 1.5 }, "memory fraction"},
		{"fraction ignored with a limit", func(c *Config) { c.MemoryFraction = 7; c.MemoryLimit = 1 << 30 }, ""},
		{"negative threads", func(c *Config) { c.Threads = -2 }, "threads"},
		{"negative flush rows", func(c *Config) { c.FlushRows = -1 }, "flush rows"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSchemaIdempotent(t *testing.T) {
	s, path := openTemp(t, nil)
	ctx := context.Background()
	n, err := s.migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second migration applied %d steps (err %v), want 0", n, err)
	}
	s.Close()
	s2, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v := count(t, s2, "SELECT max(version) FROM schema_version"); v != SchemaVersion {
		t.Errorf("schema version %d, want %d", v, SchemaVersion)
	}
	if n := count(t, s2, "SELECT count(*) FROM schema_version"); n != int64(len(migrations)) {
		t.Errorf("%d schema_version rows, want %d", n, len(migrations))
	}
	// The table has exactly the declared columns, with their types.
	var want, got []string
	for _, c := range store.Columns() {
		want = append(want, c.Name+" "+sqlType(c.Kind))
	}
	for _, r := range queryAll(t, s2, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'flows' ORDER BY ordinal_position") {
		got = append(got, r[0].(string)+" "+r[1].(string))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("flows columns (-want +got):\n%s", d)
	}
}

// TestViewFollowsColumns opens a database whose flows view lacks columns
// (as one written before derived fields were added) and checks that the
// view is rebuilt over the existing parts, rows intact.
func TestViewFollowsColumns(t *testing.T) {
	s, path := openTemp(t, nil)
	ingest(t, s, []store.Object{fileObject("/a.log", 1)}, [][]*flowlog.Batch{parseBatches(t, flowlog.V2, v2Lines(5, 1), 5)})
	if _, err := s.DB().Exec(`CREATE OR REPLACE VIEW flows AS SELECT srcaddr, dstaddr, bytes FROM flows_1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n := count(t, s2, "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'flows'"); n != int64(len(store.Columns())) {
		t.Errorf("flows has %d columns, want %d", n, len(store.Columns()))
	}
	if n := count(t, s2, "SELECT count(*) FROM flows WHERE src_city IS NULL AND srcaddr IS NOT NULL"); n != 5 {
		t.Errorf("%d rows through the rebuilt view, want 5", n)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	s, path := openTemp(t, nil)
	if _, err := s.DB().Exec("INSERT INTO schema_version (version) VALUES (?)", SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, ro := range []bool{false, true} {
		_, err := Open(Config{Path: path, ReadOnly: ro})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", SchemaVersion+1)) {
			t.Errorf("read-only %v: error %v, want a schema version error", ro, err)
		}
	}
}

// roundTripLines are records whose every value, NULLs included, must come
// back unchanged.
func roundTripLines() (v2 []string, all []string) {
	v2 = []string{
		"2 123456789010 eni-0a1b2c3d 10.0.1.5 198.51.100.7 49152 443 6 10 8400 1700000000 1700000060 ACCEPT OK",
		"2 123456789010 eni-0a1b2c3d 2001:db8::1 2001:db8:ffff::abcd 546 547 17 3 300 1700000001 1700000061 REJECT OK",
		"2 123456789010 eni-0a1b2c3d - - - - - - - 1700000002 1700000062 - NODATA",
		"2 123456789010 eni-0a1b2c3d 0.0.0.0 255.255.255.255 0 65535 1 9223372036854775807 0 1700000003 1700000063 ACCEPT OK",
	}
	vals := func(row int, null func(id int) bool) string {
		toks := make([]string, len(schema.Fields))
		for _, f := range schema.Fields {
			id := f.ID
			switch {
			case null(id):
				toks[id] = "-"
			case f.Type == schema.String:
				toks[id] = fmt.Sprintf("%s-%d", f.Token, row)
			case f.Type == schema.Int32:
				// Near the field's largest value (the type's, or 65535
				// for ports, 255 for protocol), distinct per field.
				toks[id] = fmt.Sprint(f.Max - int64(id*1000+row)%(f.Max/2))
			case f.Type == schema.Int64:
				toks[id] = fmt.Sprint(int64(1)<<40 + int64(id*10+row))
			case f.Type == schema.Time:
				toks[id] = fmt.Sprint(1700000000 + id + row)
			case f.Type == schema.IP && row%2 == 0:
				toks[id] = fmt.Sprintf("192.0.2.%d", id+row)
			case f.Type == schema.IP:
				toks[id] = fmt.Sprintf("2001:db8:%x::%x", id, row)
			}
		}
		return strings.Join(toks, " ")
	}
	all = []string{
		vals(0, func(int) bool { return false }),
		vals(1, func(int) bool { return false }),
		vals(2, func(int) bool { return true }),
		vals(3, func(id int) bool { return id%2 == 0 }),
		vals(4, func(id int) bool { return id%3 != 0 }),
	}
	return v2, all
}

func TestRoundTrip(t *testing.T) {
	v2, all := roundTripLines()
	type object struct {
		id     string
		format *flowlog.Format
		lines  []string
	}
	cases := []struct {
		name      string
		flushRows int
		perBatch  int
		objects   []object
	}{
		{"v2 one batch", 0, 100, []object{{"/logs/a.log", flowlog.V2, v2}}},
		{"every field", 0, 100, []object{{"/logs/all.log", allFormat, all}}},
		{"every field row by row", 1, 1, []object{{"/logs/all.log", allFormat, all}}},
		{"formats mixed in one flush", 0, 2, []object{
			{"/logs/a.log", flowlog.V2, v2}, {"/logs/all.log", allFormat, all}, {"/logs/b.log", flowlog.V2, v2[:1]},
		}},
		{"flushes inside and across objects", 3, 2, []object{
			{"/logs/all.log", allFormat, all}, {"/logs/a.log", flowlog.V2, v2}, {"/logs/c.log", allFormat, all[:2]},
		}},
	}
	for _, ld := range allLoaders() {
		for _, tc := range cases {
			t.Run(ld.name()+"/"+tc.name, func(t *testing.T) {
				s, err := OpenMemory(Config{FlushRows: tc.flushRows, MemoryLimit: 1 << 30})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				useLoader(t, s, ld)
				var objs []store.Object
				var batches [][]*flowlog.Batch
				var want []map[string]any
				for _, o := range tc.objects {
					objs = append(objs, fileObject(o.id, 1))
					batches = append(batches, parseBatches(t, o.format, o.lines, tc.perBatch))
					for _, l := range o.lines {
						want = append(want, expectRow(o.format, l, o.id))
					}
				}
				sortRows(want)
				before := time.Now().UTC()
				ingest(t, s, objs, batches)
				got, at := flowsRows(t, s)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("rows (-want +got):\n%s", d)
				}
				for i, v := range at {
					ts, ok := v.(time.Time)
					if !ok || ts.Before(before.Add(-time.Second)) || ts.After(time.Now().Add(time.Second)) || !ts.Equal(at[0].(time.Time)) {
						t.Errorf("row %d: ingested_at %v, want the transaction's start (~%v)", i, v, before)
					}
				}
			})
		}
	}
}

func TestCIDRFilter(t *testing.T) {
	addrs := []string{
		"10.0.0.0", "10.0.0.1", "10.1.2.3", "10.1.2.255", "10.1.3.0", "10.255.255.255", "11.0.0.0", "9.255.255.255",
		"192.168.1.1", "0.0.0.0", "255.255.255.255",
		"2001:db8::", "2001:db8::1", "2001:db8:1::5", "2001:db9::", "fe80::1", "::1", "::",
	}
	var lines []string
	for i, a := range addrs {
		lines = append(lines, fmt.Sprintf("2 1 eni-1 %s 192.0.2.1 %d 80 6 1 1 1700000000 1700000001 ACCEPT OK", a, i))
	}
	lines = append(lines, "2 1 eni-1 - 192.0.2.1 999 80 6 1 1 1700000000 1700000001 ACCEPT OK")
	s, err := OpenMemory(Config{MemoryLimit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ingest(t, s, []store.Object{fileObject("/x", 1)}, [][]*flowlog.Batch{parseBatches(t, flowlog.V2, lines, 7)})

	cases := []struct {
		name   string
		prefix string
	}{
		{"ipv4 /8", "10.0.0.0/8"},
		{"ipv4 /24", "10.1.2.0/24"},
		{"ipv4 /32", "10.1.2.3/32"},
		{"ipv4 unmasked", "10.1.2.77/24"},
		{"ipv4 everything", "0.0.0.0/0"},
		{"ipv6 /32", "2001:db8::/32"},
		{"ipv6 /48", "2001:db8:1::/48"},
		{"ipv6 /128", "::1/128"},
		{"ipv6 link local", "fe80::/10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := netip.MustParsePrefix(tc.prefix)
			var want []string
			for _, a := range addrs {
				if p.Contains(netip.MustParseAddr(a)) {
					want = append(want, a)
				}
			}
			lo, hi := store.PrefixRange(p)
			var got []string
			for _, r := range queryAll(t, s, "SELECT srcaddr FROM flows WHERE srcaddr_bin BETWEEN ? AND ? ORDER BY srcport", lo[:], hi[:]) {
				got = append(got, r[0].(string))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("rows in %s (-want +got):\n%s", p, d)
			}
		})
	}
	for _, a := range addrs {
		k := store.IPKey(netip.MustParseAddr(a))
		got := queryAll(t, s, "SELECT srcaddr FROM flows WHERE srcaddr_bin = ?", k[:])
		if d := cmp.Diff([][]any{{a}}, got); d != "" {
			t.Errorf("equality on %s (-want +got):\n%s", a, d)
		}
	}
}

func TestLedger(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, func(c *Config) { c.FlushRows = 50 })
	a1 := fileObject("/logs/a.log", 100)
	a2 := a1
	a2.Size = 120 // the file changed
	b := fileObject("/logs/b.log", 200)
	c := fileObject("/logs/c.log", 300)
	// The first step ingests every field, so that the changed object's rows
	// move to another part table.
	batches := func(n, seed int, wide bool) []*flowlog.Batch {
		if wide {
			return parseBatches(t, allFormat, wideLines(n, seed), 40)
		}
		return parseBatches(t, flowlog.V2, v2Lines(n, seed), 40)
	}

	type step struct {
		name   string
		objs   []store.Object
		rows   []int // rows per object
		status []store.Status
		perSrc map[string]int64
		ledger map[string]int64 // records per ledger entry
		parts  int64            // part tables
	}
	steps := []step{
		{"first ingest, two objects in one transaction", []store.Object{a1, b}, []int{130, 70},
			[]store.Status{store.StatusNew, store.StatusNew},
			map[string]int64{a1.ID: 130, b.ID: 70}, map[string]int64{a1.ID: 130, b.ID: 70}, 1},
		{"same objects again", []store.Object{a1, b}, nil,
			[]store.Status{store.StatusUnchanged, store.StatusUnchanged},
			map[string]int64{a1.ID: 130, b.ID: 70}, map[string]int64{a1.ID: 130, b.ID: 70}, 1},
		{"changed object replaces its rows", []store.Object{a2, c}, []int{45, 10},
			[]store.Status{store.StatusChanged, store.StatusNew},
			map[string]int64{a1.ID: 45, b.ID: 70, c.ID: 10}, map[string]int64{a1.ID: 45, b.ID: 70, c.ID: 10}, 2},
		{"changed object again unchanged", []store.Object{a2}, nil,
			[]store.Status{store.StatusUnchanged},
			map[string]int64{a1.ID: 45, b.ID: 70, c.ID: 10}, map[string]int64{a1.ID: 45, b.ID: 70, c.ID: 10}, 2},
	}
	for si, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var gotStatus []store.Status
			var todo []store.Object
			var todoBatches [][]*flowlog.Batch
			for i, o := range st.objs {
				status, err := s.Check(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				gotStatus = append(gotStatus, status)
				if status != store.StatusUnchanged {
					todo = append(todo, o)
					todoBatches = append(todoBatches, batches(st.rows[i], si*10+i, si == 0))
				}
			}
			if d := cmp.Diff(st.status, gotStatus); d != "" {
				t.Fatalf("statuses (-want +got):\n%s", d)
			}
			if len(todo) > 0 {
				ingest(t, s, todo, todoBatches)
			}
			perSrc := map[string]int64{}
			for _, r := range queryAll(t, s, "SELECT source, count(*) FROM flows GROUP BY source") {
				perSrc[r[0].(string)] = r[1].(int64)
			}
			if d := cmp.Diff(st.perSrc, perSrc); d != "" {
				t.Errorf("rows per source (-want +got):\n%s", d)
			}
			entries, err := s.Ledger(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ledger := map[string]int64{}
			for _, e := range entries {
				ledger[e.ID] = e.Records
			}
			if d := cmp.Diff(st.ledger, ledger); d != "" {
				t.Errorf("ledger (-want +got):\n%s", d)
			}
			if n := count(t, s, "SELECT count(*) FROM flows_parts"); n != st.parts {
				t.Errorf("%d part tables, want %d", n, st.parts)
			}
		})
	}
	// The ledger keeps the identity of the version last ingested.
	entries, err := s.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !entries[0].SameVersion(a2) {
		t.Errorf("ledger entry %+v, want the identity of %+v", entries[0].Object, a2)
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, func(c *Config) { c.FlushRows = 10 })
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := fileObject("/logs/a.log", 1)
	if err := tx.BeginObject(ctx, o); err != nil {
		t.Fatal(err)
	}
	for _, b := range parseBatches(t, flowlog.V2, v2Lines(100, 1), 30) {
		if err := tx.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.EndObject(ctx, store.Result{Records: 100}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT count(*) FROM flows"); n != 0 {
		t.Errorf("%d rows after rollback", n)
	}
	if n := count(t, s, "SELECT count(*) FROM flows_parts"); n != 0 {
		t.Errorf("%d part tables after rollback", n)
	}
	if st, err := s.Check(ctx, o); err != nil || st != store.StatusNew {
		t.Errorf("status %v (err %v) after rollback, want new", st, err)
	}
	if err := tx.Commit(ctx); err == nil {
		t.Error("commit after rollback succeeded")
	}
}

func TestTxMisuse(t *testing.T) {
	ctx := context.Background()
	o := fileObject("/logs/a.log", 1)
	b := parseBatches(t, flowlog.V2, v2Lines(3, 1), 3)[0]
	cases := []struct {
		name string
		run  func(store.Tx) error
		want string
	}{
		{"append outside an object", func(tx store.Tx) error { return tx.Append(ctx, b) }, "outside an object"},
		{"end outside an object", func(tx store.Tx) error { return tx.EndObject(ctx, store.Result{}) }, "outside an object"},
		{"object twice", func(tx store.Tx) error {
			if err := tx.BeginObject(ctx, o); err != nil {
				return err
			}
			if err := tx.EndObject(ctx, store.Result{}); err != nil {
				return err
			}
			return tx.BeginObject(ctx, o)
		}, "twice"},
		{"nested objects", func(tx store.Tx) error {
			if err := tx.BeginObject(ctx, o); err != nil {
				return err
			}
			return tx.BeginObject(ctx, fileObject("/other", 1))
		}, "not ended"},
		{"commit inside an object", func(tx store.Tx) error {
			if err := tx.BeginObject(ctx, o); err != nil {
				return err
			}
			return tx.Commit(ctx)
		}, "not ended"},
		{"object without ID", func(tx store.Tx) error { return tx.BeginObject(ctx, store.Object{}) }, "without ID"},
	}
	s, _ := openTemp(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := s.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if err := tc.run(tx); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, nil)
	ingest(t, s, []store.Object{fileObject("/a", 1)}, [][]*flowlog.Batch{parseBatches(t, flowlog.V2, v2Lines(5, 0), 5)})
	s.Close()

	r1, err := Open(Config{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(Config{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	defer r2.Close()
	if n := count(t, r2, "SELECT count(*) FROM flows"); n != 5 {
		t.Errorf("reader sees %d rows, want 5", n)
	}
	if _, err := r1.Begin(ctx); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Begin on a reader: %v, want ErrReadOnly", err)
	}
	_, err = Open(Config{Path: path})
	var le *store.LockedError
	if !errors.As(err, &le) || !le.ReadOnly || err.Error() != fmt.Sprintf("store is in use by a read-only process (%s)", path) {
		t.Errorf("writer while readers are open: %v", err)
	}
	if _, err := Open(Config{Path: filepath.Join(t.TempDir(), "missing.duckdb"), ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only open of a missing file: %v, want not-exist", err)
	}
}

func TestMemorySettings(t *testing.T) {
	parent := t.TempDir()
	s, err := OpenMemory(Config{MemoryLimit: 64 << 20, Threads: 1, TempDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, name := range []string{"memory_limit", "threads", "autoinstall_known_extensions", "autoload_known_extensions"} {
		rows := queryAll(t, s, "SELECT current_setting('"+name+"')::VARCHAR")
		got[name] = fmt.Sprint(rows[0][0])
	}
	tmp := queryAll(t, s, "SELECT current_setting('temp_directory')")[0][0].(string)
	want := map[string]string{
		"memory_limit":                 "64.0 MiB",
		"threads":                      "1",
		"autoinstall_known_extensions": "false",
		"autoload_known_extensions":    "false",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("settings (-want +got):\n%s", d)
	}
	if filepath.Dir(tmp) != parent || tmp != s.tmpDir {
		t.Errorf("temp_directory %q, want the store's own directory inside %q", tmp, parent)
	}
	// Sorting more than the memory limit spills to the temp directory.
	n := count(t, s, "SELECT count(*) FROM (SELECT i, md5(i::VARCHAR) AS h FROM range(2000000) t(i) ORDER BY h)")
	if n != 2000000 {
		t.Errorf("spilling sort returned %d rows", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp directory left behind after Close: %v", err)
	}
}

func TestDefaultMemoryLimit(t *testing.T) {
	s, err := OpenMemory(Config{MemoryFraction: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var setting string
	if err := s.DB().QueryRow("SELECT current_setting('memory_limit')").Scan(&setting); err != nil {
		t.Fatal(err)
	}
	got, err := parseSize(setting)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(physicalMemory()) * 0.25
	// DuckDB renders one decimal of the largest unit: allow for the rounding.
	if got < 0.97*want || got > 1.03*want {
		t.Errorf("memory_limit %s (%.0f bytes), want a quarter of %d bytes", setting, got, physicalMemory())
	}
}

// parseSize reads DuckDB's rendering of a size ("1.5 GiB").
func parseSize(s string) (float64, error) {
	var v float64
	var unit string
	if _, err := fmt.Sscanf(s, "%g %s", &v, &unit); err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	mult := map[string]float64{"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit", s)
	}
	return v * mult, nil
}

func TestIngestLeavesSessionSettings(t *testing.T) {
	s, _ := openTemp(t, nil)
	// One connection: the pool hands the ingest's connection to the query.
	s.DB().SetMaxOpenConns(1)
	for _, commit := range []bool{true, false} {
		tx, err := s.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(context.Background())
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		got := queryAll(t, s, "SELECT current_setting('preserve_insertion_order')")
		if d := cmp.Diff([][]any{{true}}, got); d != "" {
			t.Errorf("commit %v: preserve_insertion_order after ingest (-want +got):\n%s", commit, d)
		}
	}
}

func TestReingestReplaces(t *testing.T) {
	// A caller that ingests an unchanged object anyway (ignoring Check)
	// replaces its rows: the store never holds an object twice.
	ctx := context.Background()
	s, _ := openTemp(t, nil)
	o := store.Object{ID: "s3://bucket/AWSLogs/x.log.gz", Size: 4096, ETag: "0123abcd", Hash: "sha256:feed"}
	for round := 1; round <= 2; round++ {
		before := time.Now().UTC().Truncate(time.Microsecond)
		tx, err := s.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.BeginObject(ctx, o); err != nil {
			t.Fatal(err)
		}
		for _, b := range parseBatches(t, flowlog.V2, v2Lines(25, round), 10) {
			if err := tx.Append(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.EndObject(ctx, store.Result{Records: 25, Bad: int64(round)}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, "SELECT count(*) FROM flows WHERE source = ?", o.ID); n != 25 {
			t.Errorf("round %d: %d rows of the object, want 25", round, n)
		}
		entries, err := s.Ledger(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("round %d: ledger %+v, want one entry", round, entries)
		}
		e := entries[0]
		if e.IngestedAt.Before(before) || e.IngestedAt.After(time.Now()) {
			t.Errorf("round %d: ingested_at %v, want the transaction's start (~%v)", round, e.IngestedAt, before)
		}
		e.IngestedAt = time.Time{}
		want := store.LedgerEntry{Object: o, Result: store.Result{Records: 25, Bad: int64(round)}}
		if d := cmp.Diff(want, e); d != "" {
			t.Errorf("round %d: ledger entry (-want +got):\n%s", round, d)
		}
	}
}

func TestAbortObject(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, func(c *Config) { c.FlushRows = 50 })
	a := fileObject("/logs/a.log", 100)
	b := fileObject("/logs/b.log", 200)
	ingest(t, s, []store.Object{a}, [][]*flowlog.Batch{parseBatches(t, flowlog.V2, v2Lines(80, 1), 40)})

	// a changes and turns out corrupt half-way (rows both flushed and
	// staged); b in the same transaction is fine.
	a2 := a
	a2.Size = 150
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := tx.BeginObject(ctx, a2); err != nil {
		t.Fatal(err)
	}
	for _, bt := range parseBatches(t, flowlog.V2, v2Lines(70, 2), 30) {
		if err := tx.Append(ctx, bt); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.AbortObject(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.BeginObject(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, bt := range parseBatches(t, flowlog.V2, v2Lines(20, 3), 30) {
		if err := tx.Append(ctx, bt); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.EndObject(ctx, store.Result{Records: 20}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	perSrc := map[string]int64{}
	for _, r := range queryAll(t, s, "SELECT source, count(*) FROM flows GROUP BY source") {
		perSrc[r[0].(string)] = r[1].(int64)
	}
	if d := cmp.Diff(map[string]int64{b.ID: 20}, perSrc); d != "" {
		t.Fatalf("rows per source after abort (-want +got):\n%s", d)
	}
	// Neither version of a is in the ledger: the next run reads it again.
	for _, o := range []store.Object{a, a2} {
		if st, err := s.Check(ctx, o); err != nil || st != store.StatusNew {
			t.Fatalf("status of %+v after abort: %v %v, want new", o, st, err)
		}
	}
}

func TestCheckMany(t *testing.T) {
	s, _ := openTemp(t, nil)
	batches := func(seed int) []*flowlog.Batch { return parseBatches(t, flowlog.V2, v2Lines(3, seed), 3) }
	ingest(t, s, []store.Object{fileObject("/a.log", 1), fileObject("/b.log", 1)}, [][]*flowlog.Batch{batches(1), batches(2)})
	objs := []store.Object{fileObject("/a.log", 1), fileObject("/b.log", 2)}
	for i := range 1500 { // more than one query's worth
		objs = append(objs, fileObject(fmt.Sprintf("/new/%d.log", i), 1))
	}
	got, err := s.CheckMany(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(objs) {
		t.Fatalf("%d statuses for %d objects", len(got), len(objs))
	}
	for i, o := range objs {
		want, err := s.Check(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if got[i] != want {
			t.Fatalf("%s: CheckMany %v, Check %v", o.ID, got[i], want)
		}
	}
	if got[0] != store.StatusUnchanged || got[1] != store.StatusChanged || got[2] != store.StatusNew || got[len(got)-1] != store.StatusNew {
		t.Errorf("statuses %v %v %v ... %v", got[0], got[1], got[2], got[len(got)-1])
	}
}
