package cli_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/cli"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/query/named"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store/duckdb"
)

// flowlens runs the CLI in-process and returns stdout, stderr and the code.
func flowlens(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// must runs the CLI and fails the test unless it exits 0.
func must(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := flowlens(t, args...)
	if code != 0 {
		t.Fatalf("flowlens %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// sample writes generated records and returns the path and the truth.
func sample(t *testing.T, dir, name string, mutate func(*gen.Config)) (string, *gen.Truth) {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Records = 20000
	cfg.Header = true
	if mutate != nil {
		mutate(&cfg)
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := gen.Generate(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, truth
}

func decodeJSON(t *testing.T, s string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&rows); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%.500s", err, s)
	}
	return rows
}

func TestReadOutputs(t *testing.T) {
	dir := t.TempDir()
	path, truth := sample(t, dir, "flows.log", nil)
	n := truth.Stats.Records

	csvOut := must(t, "read", "-o", "csv", path)
	lines := strings.Split(strings.TrimSuffix(csvOut, "\n"), "\n")
	if len(lines) != n+1 || lines[0] != "version,account_id,interface_id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log_status" {
		t.Fatalf("csv: %d lines, header %q", len(lines), lines[0])
	}
	rows := decodeJSON(t, must(t, "read", "-o", "json", path))
	if len(rows) != n {
		t.Fatalf("json rows %d, want %d", len(rows), n)
	}
	if _, ok := rows[0]["bytes"].(json.Number); !ok {
		t.Fatalf("bytes is not a JSON number: %#v", rows[0]["bytes"])
	}
	nd := must(t, "read", "-o", "ndjson", "--limit", "7", "--fields", "srcaddr,dstport", path)
	ndl := strings.Split(strings.TrimSpace(nd), "\n")
	if len(ndl) != 7 || !strings.HasPrefix(ndl[0], `{"srcaddr":`) || strings.Contains(ndl[0], "bytes") {
		t.Fatalf("ndjson with limit and fields:\n%s", nd)
	}

	// Text -> Parquet -> CSV gives back the same records.
	pq := filepath.Join(dir, "flows.parquet")
	if err := os.WriteFile(pq, []byte(must(t, "read", "-o", "parquet", path)), 0o644); err != nil {
		t.Fatal(err)
	}
	if back := must(t, "read", "-o", "csv", pq); back != csvOut {
		t.Fatalf("parquet round trip differs: %d vs %d bytes", len(back), len(csvOut))
	}

	count := must(t, "read", "--count", path, pq)
	if want := fmt.Sprintf("%d records, 0 bad, 2 inputs\n", 2*n); count != want {
		t.Fatalf("count %q, want %q", count, want)
	}
}

func TestReadStdinAndBadRecords(t *testing.T) {
	dir := t.TempDir()
	path, _ := sample(t, dir, "flows.log", func(c *gen.Config) { c.Records = 50; c.Scenarios = gen.Scenarios{} })
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	lines = append(lines[:10], append([]string{"2 123 eni-1 10.0.0.1 not-an-ip 1 2 6 1 1 1 2 ACCEPT OK"}, lines[10:]...)...)
	r, w, _ := os.Pipe()
	go func() {
		w.WriteString(strings.Join(lines, "\n"))
		w.Close()
	}()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	out, errs, code := flowlens(t, "read", "-o", "csv", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := strings.Count(out, "\n"); got != 51 {
		t.Fatalf("csv lines %d, want 51 (50 records + header)", got)
	}
	if !strings.Contains(errs, `- line 11: field dstaddr: invalid address "not-an-ip"`) || !strings.Contains(errs, "1 bad record(s)") {
		t.Fatalf("bad record report:\n%s", errs)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	path, _ := sample(t, dir, "flows.log", func(c *gen.Config) { c.Records = 200; c.Scenarios = gen.Scenarios{} })
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown flag", []string{"read", "--bogus", path}, 2, "unknown flag"},
		{"unknown command", []string{"raed", path}, 2, `unknown command "raed"`},
		{"unknown subcommand", []string{"inventory", "bogus"}, 2, `unknown command "bogus" for "flowlens inventory"`},
		{"no source", []string{"read"}, 2, "at least 1 argument"},
		{"unknown field", []string{"read", "--fields", "srcaddr,nope", path}, 2, `unknown field "nope"`},
		{"bad output", []string{"read", "-o", "xml", path}, 2, "xml"},
		{"bad format", []string{"read", "--format", "${version} ${bogus}", path}, 2, `unknown field "${bogus}" at position 12`},
		{"missing file", []string{"read", filepath.Join(dir, "nope.log")}, 1, "no such file"},
		{"bad filter", []string{"top", "srcaddr", path, "--where", "dstport = = 22"}, 2, "position"},
		{"bad since", []string{"top", "srcaddr", path, "--since", "yesterday"}, 2, "--since"},
		{"bad key", []string{"top", "srcaddrx", path}, 2, "unknown key field"},
		{"bad measure", []string{"top", "srcaddr", path, "--by", "weight"}, 2, "--by"},
		{"bad sql", []string{"query", "SELEC 1 FROM flows", path}, 2, "syntax error"},
		{"unknown column", []string{"query", "SELECT nope FROM flows", path}, 2, "nope"},
		{"unknown query", []string{"query", "no-such-query", path}, 2, "unknown query"},
		{"missing param", []string{"query", "ip-timeline", path}, 2, "needs --param addr"},
		{"bad param", []string{"query", "ip-timeline", "--param", "addr=1.2.3", path}, 2, "not an IP address"},
		{"negative limit param", []string{"query", "top-talkers", "--param", "limit=-1", path}, 2, "parameter limit: -1 is negative"},
		{"negative read limit", []string{"read", "--limit", "-5", path}, 2, "--limit -5"},
		{"runtime sql error", []string{"query", "SELECT CAST('x' AS INTEGER) FROM flows", path}, 1, "Conversion Error"},
		{"no database", []string{"query", "top-talkers", "--db", filepath.Join(dir, "none.duckdb")}, 1, "no database"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := flowlens(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", code, tc.code, errs, tc.msg)
			}
		})
	}
}

// reference computes top source/destination pairs by bytes straight from
// the text, independently of the parser and the store.
func reference(t *testing.T, path string, n int) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type agg struct{ flows, packets, bytes int64 }
	m := map[[2]string]*agg{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if fs[13] != "OK" {
			k := [2]string{"", ""}
			if m[k] == nil {
				m[k] = &agg{}
			}
			m[k].flows++
			continue
		}
		k := [2]string{fs[3], fs[4]}
		if m[k] == nil {
			m[k] = &agg{}
		}
		p, _ := strconv.ParseInt(fs[8], 10, 64)
		b, _ := strconv.ParseInt(fs[9], 10, 64)
		m[k].flows++
		m[k].packets += p
		m[k].bytes += b
	}
	type row struct {
		k [2]string
		a *agg
	}
	var rows []row
	for k, a := range m {
		rows = append(rows, row{k, a})
	}
	sort.Slice(rows, func(i, j int) bool {
		x, y := rows[i], rows[j]
		if x.a.bytes != y.a.bytes {
			return x.a.bytes > y.a.bytes
		}
		if x.a.packets != y.a.packets {
			return x.a.packets > y.a.packets
		}
		if x.a.flows != y.a.flows {
			return x.a.flows > y.a.flows
		}
		return x.k[0] < y.k[0] || x.k[0] == y.k[0] && x.k[1] < y.k[1]
	})
	var out []map[string]any
	for _, r := range rows[:n] {
		out = append(out, map[string]any{"srcaddr": r.k[0], "dstaddr": r.k[1],
			"flows": json.Number(fmt.Sprint(r.a.flows)), "packets": json.Number(fmt.Sprint(r.a.packets)), "bytes": json.Number(fmt.Sprint(r.a.bytes))})
	}
	return out
}

func TestTopAgreesEverywhere(t *testing.T) {
	dir := t.TempDir()
	path, _ := sample(t, dir, "flows.log", nil)
	db := filepath.Join(dir, "f.duckdb")
	must(t, "ingest", "--db", db, path)
	want := reference(t, path, 15)
	adhoc := decodeJSON(t, must(t, "top", "srcaddr,dstaddr", "-n", "15", "-o", "json", path))
	stored := decodeJSON(t, must(t, "top", "srcaddr,dstaddr", "-n", "15", "-o", "json", "--db", db))
	if diff := cmp.Diff(want, adhoc); diff != "" {
		t.Fatalf("ad-hoc top differs from the reference:\n%s", diff)
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Fatalf("stored top differs from the reference:\n%s", diff)
	}
	// A time range makes top read the rows rather than the pair totals.
	rows := decodeJSON(t, must(t, "top", "srcaddr,dstaddr", "-n", "15", "-o", "json", "--db", db, "--since", "2000-01-01T00:00:00Z"))
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("stored top over the rows differs from the reference:\n%s", diff)
	}
}

func TestIngestExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	a, ta := sample(t, dir, "a.log", nil)
	_, tb := sample(t, dir, "b.log", func(c *gen.Config) { c.Seed = 2; c.Records = 3000 })
	db := filepath.Join(dir, "f.duckdb")
	countRows := func() int {
		out := must(t, "query", "SELECT count(*) AS n FROM flows", "--db", db, "-o", "csv")
		n, err := strconv.Atoi(strings.TrimSpace(strings.Split(out, "\n")[1]))
		if err != nil {
			t.Fatalf("count: %q", out)
		}
		return n
	}
	_, errs, code := flowlens(t, "ingest", "--db", db, dir)
	if code != 0 || !strings.Contains(errs, "ingested 2 input(s)") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	total := ta.Stats.Records + tb.Stats.Records
	if got := countRows(); got != total {
		t.Fatalf("rows %d, want %d", got, total)
	}
	_, errs, _ = flowlens(t, "ingest", "--db", db, dir)
	if !strings.Contains(errs, "2 unchanged skipped") || countRows() != total {
		t.Fatalf("second ingest added rows: %s", errs)
	}
	// a.log changes: its rows are replaced, b's stay.
	_, ta2 := sample(t, dir, "a.log", func(c *gen.Config) { c.Seed = 9; c.Records = 5000 })
	future := time.Now().Add(time.Minute)
	os.Chtimes(a, future, future)
	_, errs, _ = flowlens(t, "ingest", "--db", db, dir)
	if !strings.Contains(errs, "1 replaced") {
		t.Fatalf("changed file not replaced: %s", errs)
	}
	if got, want := countRows(), ta2.Stats.Records+tb.Stats.Records; got != want {
		t.Fatalf("after replacing a.log: rows %d, want %d", got, want)
	}
}

// TestOneFileOneObject: a file named twice, inside a folder also given,
// or through a symbolic link (to it or to its folder) is read once, by
// ingest and by ad-hoc queries alike; and a ledger that holds a file under
// the link it was once ingested through still knows it.
func TestOneFileOneObject(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	a, truth := sample(t, data, "a.log", nil)
	link, alias := filepath.Join(dir, "link.log"), filepath.Join(dir, "alias")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(data, alias); err != nil {
		t.Fatal(err)
	}
	n := truth.Stats.Records
	flows := func(args ...string) int {
		t.Helper()
		out, errs, code := flowlens(t, append([]string{"top", "version", "--by", "flows", "-o", "csv"}, args...)...)
		if code != 0 {
			t.Fatalf("top %v: exit %d: %s", args, code, errs)
		}
		f, err := strconv.Atoi(strings.Split(strings.Split(out, "\n")[1], ",")[1])
		if err != nil {
			t.Fatalf("top %v: %q", args, out)
		}
		return f
	}
	for _, args := range [][]string{{a, a}, {data, a}, {a, link}, {alias, link, a}} {
		if got := flows(args...); got != n {
			t.Errorf("top over %v counts %d records, want %d (the file once)", args, got, n)
		}
	}
	countRows := func(db string) int {
		t.Helper()
		out := must(t, "query", "SELECT count(*) AS n FROM flows", "--db", db, "-o", "csv")
		c, _ := strconv.Atoi(strings.TrimSpace(strings.Split(out, "\n")[1]))
		return c
	}
	db := filepath.Join(dir, "f.duckdb")
	_, errs, code := flowlens(t, "ingest", "--db", db, a, a)
	if code != 0 || countRows(db) != n {
		t.Fatalf("ingest of a file named twice: exit %d, rows %d, want %d: %s", code, countRows(db), n, errs)
	}
	if _, errs, _ = flowlens(t, "ingest", "--db", db, link, alias); !strings.Contains(errs, "1 unchanged skipped") || countRows(db) != n {
		t.Errorf("ingest through links added rows (%d, want %d): %s", countRows(db), n, errs)
	}

	// A ledger written when links were not resolved holds the link's path.
	old := filepath.Join(dir, "old.duckdb")
	must(t, "ingest", "--db", old, link)
	cfg := duckdb.DefaultConfig()
	cfg.Path, cfg.MemoryLimit = old, 1<<30
	st, err := duckdb.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.DB().Exec("UPDATE ingest_ledger SET source_id = ?", link)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		t.Fatalf("ledger rows renamed: %d, want 1", k)
	}
	if _, errs, _ = flowlens(t, "ingest", "--db", old, link); !strings.Contains(errs, "1 unchanged skipped") || countRows(old) != n {
		t.Errorf("a file in the ledger under its link was ingested again (rows %d, want %d): %s", countRows(old), n, errs)
	}
}

func TestNamedQueriesRunOnV2AndFullData(t *testing.T) {
	dir := t.TempDir()
	v2, truth := sample(t, dir, "v2.log", nil)
	full, _ := sample(t, dir, "all.log", func(c *gen.Config) { c.Format = gen.AllFields() })
	tgw, _ := sample(t, dir, "tgw.log", func(c *gen.Config) { c.Format = flowlog.TGW })
	addr := truth.PortScan.Target.String()
	for _, tc := range []struct {
		name   string
		path   string
		format *flowlog.Format
		// someEmpty: a query may find no rows (the format lacks fields
		// that are not among its needs, such as interface-id for TGW).
		someEmpty bool
	}{{"v2", v2, flowlog.V2, false}, {"all-fields", full, gen.AllFields(), false}, {"tgw", tgw, flowlog.TGW, true}} {
		db := filepath.Join(dir, tc.name+".duckdb")
		must(t, "ingest", "--db", db, tc.path)
		for _, q := range named.All() {
			t.Run(tc.name+"/"+q.Name, func(t *testing.T) {
				args := []string{"query", q.Name, "--db", db, "-o", "json"}
				for _, p := range q.Params {
					if p.Type == named.PIP {
						args = append(args, "--param", p.Name+"="+addr)
					}
				}
				out, errs, code := flowlens(t, args...)
				var missing []string
				for _, col := range q.Needs {
					f, _ := schema.Lookup(col)
					if !slices.Contains(tc.format.IDs, f.ID) {
						missing = append(missing, f.Token)
					}
				}
				if len(missing) > 0 {
					if code != 1 || !strings.Contains(errs, "needs the field "+missing[0]) {
						t.Fatalf("the format lacks %v: want a clear 'needs the field' error, got exit %d: %s", missing, code, errs)
					}
					return
				}
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				rows := decodeJSON(t, out)
				if len(rows) == 0 && !tc.someEmpty {
					t.Fatalf("no rows")
				}
			})
		}
	}
}

func TestPlantedScenariosFound(t *testing.T) {
	dir := t.TempDir()
	path, truth := sample(t, dir, "flows.log", nil)
	ps := truth.PortScan
	rows := decodeJSON(t, must(t, "top", "dstport", path, "-n", "0", "-o", "json",
		"--where", fmt.Sprintf("src = %s and dst = %s", ps.Scanner, ps.Target)))
	if len(rows) != ps.DistinctPorts {
		t.Fatalf("port scan: %d distinct ports, truth says %d", len(rows), ps.DistinctPorts)
	}
	ex := truth.Exfiltration
	rows = decodeJSON(t, must(t, "top", "srcaddr,dstaddr", path, "-o", "json",
		"--where", fmt.Sprintf("src = %s and dst = %s", ex.Source, ex.Destination)))
	if len(rows) != 1 || rows[0]["bytes"].(json.Number).String() != fmt.Sprint(ex.Bytes) {
		t.Fatalf("exfiltration: %v, truth %d bytes", rows, ex.Bytes)
	}
	bf := truth.SSHBruteForce
	rows = decodeJSON(t, must(t, "top", "srcaddr", path, "--by", "flows", "-o", "json", "--where", "dstport = 22"))
	if rows[0]["srcaddr"] != bf.Attacker.String() {
		t.Fatalf("brute force: top SSH client %v, truth %s", rows[0], bf.Attacker)
	}
	// --since/--until restrict to the scan's time range and nothing else.
	from := time.Unix(ps.Start, 0).UTC().Format(time.RFC3339)
	until := time.Unix(ps.End+1, 0).UTC().Format(time.RFC3339)
	inRange := decodeJSON(t, must(t, "query", "SELECT min(\"end\") AS e, max(start) AS s FROM flows", path,
		"--since", from, "--until", until, "-o", "json"))
	e, _ := inRange[0]["e"].(json.Number).Int64()
	s, _ := inRange[0]["s"].(json.Number).Int64()
	if e < ps.Start || s > ps.End {
		t.Fatalf("time filter let through end=%d start=%d outside [%d, %d]", e, s, ps.Start, ps.End)
	}
}

func TestReadWhereAgreesWithTop(t *testing.T) {
	dir := t.TempDir()
	path, truth := sample(t, dir, "flows.log", nil)
	where := fmt.Sprintf("src = %s and reject", truth.PortScan.Scanner)
	count := must(t, "read", "--count", "--where", where, path)
	rows := decodeJSON(t, must(t, "read", "-o", "json", "--where", where, "--fields", "srcaddr,action", path))
	for _, r := range rows {
		if r["srcaddr"] != truth.PortScan.Scanner.String() || r["action"] != "REJECT" {
			t.Fatalf("row does not match the filter: %v", r)
		}
	}
	want := fmt.Sprintf("%d records match of %d records, 0 bad, 1 inputs\n", len(rows), truth.Stats.Records)
	if count != want || len(rows) != truth.PortScan.Rejected {
		t.Fatalf("count %q, want %q; %d rows, truth says %d rejected probes", count, want, len(rows), truth.PortScan.Rejected)
	}
}

func TestReadFiltersOnDerivedFields(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flows.log")
	lines := []string{
		"2 123456789012 eni-1 10.0.0.1 8.8.8.8 40000 53 17 1 70 1710115200 1710115260 ACCEPT OK",
		"2 123456789012 eni-1 8.8.8.8 10.0.0.1 53 40000 17 1 90 1710115200 1710115260 ACCEPT OK",
		"2 123456789012 eni-2 192.168.1.1 172.16.0.5 40001 443 6 3 300 1710115200 1710115260 ACCEPT OK",
		"2 123456789012 eni-3 2606:4700::1111 10.0.0.1 443 40002 6 2 200 1710115200 1710115260 ACCEPT OK",
		"2 123456789012 eni-3 - - - - - - - 1710115200 1710115260 - NODATA",
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	header := "version,account_id,interface_id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log_status"
	for _, tc := range []struct {
		where string
		want  []string // srcaddr of the matching records, in order
	}{
		{"src.internal", []string{"10.0.0.1", "192.168.1.1"}},
		{"not src.internal", []string{"8.8.8.8", "2606:4700::1111"}},
		{"src.internal and dst.internal", []string{"192.168.1.1"}},
		{"dst.internal and dstport > 1024", []string{"8.8.8.8", "2606:4700::1111"}},
	} {
		t.Run(tc.where, func(t *testing.T) {
			out := must(t, "read", "-o", "csv", "--where", tc.where, path)
			rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if rows[0] != header {
				t.Fatalf("header %q, want the format's fields %q", rows[0], header)
			}
			var got []string
			for _, r := range rows[1:] {
				got = append(got, strings.Split(r, ",")[3])
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("read --where %q (-want +got):\n%s", tc.where, diff)
			}
			count := must(t, "read", "--count", "--where", tc.where, path)
			if want := fmt.Sprintf("%d records match of %d records, 0 bad, 1 inputs\n", len(tc.want), len(lines)); count != want {
				t.Errorf("count %q, want %q", count, want)
			}
			q := decodeJSON(t, must(t, "query", "SELECT count(*) AS n FROM flows", path, "--where", tc.where, "-o", "json"))
			if n := q[0]["n"].(json.Number).String(); n != fmt.Sprint(len(tc.want)) {
				t.Errorf("query over the same file counts %s, read %d", n, len(tc.want))
			}
		})
	}
}

// TestNamedQueriesSayWhatTheDataLacks: a query that selects on a field the
// flow log does not record (action in Transit Gateway flow logs) must say
// so, not answer with no rows as if nothing was rejected.
func TestNamedQueriesSayWhatTheDataLacks(t *testing.T) {
	dir := t.TempDir()
	tgw, _ := sample(t, dir, "tgw.log", func(c *gen.Config) { c.Format = flowlog.TGW })
	noStatus, _ := sample(t, dir, "nostatus.log", func(c *gen.Config) {
		c.Format = flowlog.MustFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action")
	})
	const notInTGW = "Transit Gateway flow logs do not record it"
	for _, tc := range []struct {
		query, path, field string
		tgw                bool // the hint says Transit Gateway flow logs lack the field
	}{
		{"accepted-traffic", tgw, "action", true},
		{"rejected-traffic", tgw, "action", true},
		{"rejected-tcp-traffic", tgw, "action", true},
		{"rejects-by-source", tgw, "action", true},
		{"skipdata-per-hour", noStatus, "log-status", false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			out, errs, code := flowlens(t, "query", tc.query, tc.path)
			if code != 1 || !strings.Contains(errs, "needs the field "+tc.field) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 saying the query needs %s", code, out, errs, tc.field)
			}
			if strings.Contains(errs, notInTGW) != tc.tgw {
				t.Errorf("stderr %q: saying %q is %v, want %v", errs, notInTGW, !tc.tgw, tc.tgw)
			}
		})
	}
}

// TestQueryResultTypes: UUIDs print in their canonical form, unsigned
// 32-bit integers past the int32 range print whole, in every format.
func TestQueryResultTypes(t *testing.T) {
	dir := t.TempDir()
	path, _ := sample(t, dir, "flows.log", nil)
	const sql = "SELECT '6f1c1f1e-0000-4000-8000-00000000abcd'::UUID AS u, 4294967295::UINTEGER AS big FROM flows LIMIT 1"
	for _, f := range []string{"csv", "json", "ndjson"} {
		out := must(t, "query", sql, path, "-o", f)
		for _, want := range []string{"6f1c1f1e-0000-4000-8000-00000000abcd", "4294967295"} {
			if !strings.Contains(out, want) {
				t.Errorf("-o %s: %q lacks %s", f, out, want)
			}
		}
	}
}

// TestRestrictionsOnSQLOverTheDatabase: --where and --since reach SQL that
// starts with WITH written any way (on its own line, after a comment).
func TestRestrictionsOnSQLOverTheDatabase(t *testing.T) {
	dir := t.TempDir()
	path, truth := sample(t, dir, "flows.log", nil)
	db := filepath.Join(dir, "flows.duckdb")
	must(t, "ingest", "--db", db, path)
	where := fmt.Sprintf("src = %s and reject", truth.PortScan.Scanner)
	want := fmt.Sprint(truth.PortScan.Rejected)
	for _, tc := range []struct{ name, sql string }{
		{"plain", "SELECT count(*) AS n FROM flows"},
		{"with", "WITH x AS (SELECT count(*) AS n FROM flows) SELECT n FROM x"},
		{"with on its own line", "WITH\nx AS (SELECT count(*) AS n FROM flows)\nSELECT n FROM x"},
		{"lower case, tab", "with\tx as (select count(*) as n from flows) select n from x"},
		{"after a comment", " -- rejected probes\nWITH x AS (SELECT count(*) AS n FROM flows) SELECT n FROM x"},
		{"block comment, recursive", "/* c */ WITH RECURSIVE x AS (SELECT count(*) AS n FROM flows) SELECT n FROM x"},
		{"comment after with", "WITH /* c */ x AS (SELECT count(*) AS n FROM flows) SELECT n FROM x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := decodeJSON(t, must(t, "query", tc.sql, "--db", db, "--where", where, "-o", "json"))
			if got := rows[0]["n"].(json.Number).String(); got != want {
				t.Errorf("count %s, want the %s rejected probes of the port scan", got, want)
			}
		})
	}
}

// TestTruncatedGzip: the records before the damage are counted and
// printed (read --count), or answered over (top, ad-hoc query), and the run
// fails.
func TestTruncatedGzip(t *testing.T) {
	dir := t.TempDir()
	path, truth := sample(t, dir, "flows.log", func(c *gen.Config) { c.Header = false })
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	cut := filepath.Join(dir, "cut.log.gz")
	if err := os.WriteFile(cut, gz.Bytes()[:gz.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	// What survives: the whole lines the standard library inflates before
	// the end of the data; the partial line after them is one bad record.
	zr, err := gzip.NewReader(bytes.NewReader(gz.Bytes()[:gz.Len()/2]))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err == nil {
		t.Fatal("the cut gzip reads without an error")
	}
	whole := bytes.Count(text, []byte("\n"))
	bad := 0
	if len(text) > 0 && text[len(text)-1] != '\n' {
		bad = 1
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"cut only", []string{cut}, fmt.Sprintf("%d records, %d bad, 1 inputs\n", whole, bad)},
		{"cut and whole", []string{cut, path}, fmt.Sprintf("%d records, %d bad, 2 inputs\n", whole+truth.Stats.Records, bad)},
		{"filtered", []string{cut, "--where", "version = 2"}, fmt.Sprintf("%d records match of %d records, %d bad, 1 inputs\n", whole, whole, bad)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := flowlens(t, append([]string{"read", "--count"}, tc.args...)...)
			if code != 1 || !strings.Contains(errs, "could not be read completely") {
				t.Errorf("exit %d, stderr %q; want 1 and the input named as cut short", code, errs)
			}
			if out != tc.want {
				t.Errorf("stdout %q, want %q", out, tc.want)
			}
		})
	}
	// top, ad-hoc query, hunt and egress answer over the records read
	// before the damage, and exit 1 saying so.
	n := whole + truth.Stats.Records
	iocs := filepath.Join(dir, "iocs.txt")
	if err := os.WriteFile(iocs, []byte(truth.PortScan.Scanner.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // stdout starts with it
	}{
		{"top", []string{"top", "version", "--by", "flows", "-o", "csv", cut, path}, fmt.Sprintf("version,flows,packets,bytes\n2,%d,", n)},
		{"query", []string{"query", "SELECT count(*) AS n FROM flows", "-o", "csv", cut, path}, fmt.Sprintf("n\n%d\n", n)},
		{"hunt", []string{"hunt", "--ioc", iocs, "-o", "csv", cut, path}, "ioc_ip,direction,flows,accepted,rejected,packets,bytes,first_seen,last_seen,internal_hosts,hosts,ioc,ioc_list,ioc_comment\n" + truth.PortScan.Scanner.String() + ",inbound,"},
		{"egress", []string{"egress", "--from", "internal", "-o", "csv", cut, path}, "dst_ip,dst_port,protocol,flows,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := flowlens(t, tc.args...)
			if code != 1 || !strings.Contains(errs, "could not be read completely: the answer covers only the records read before the damage") {
				t.Errorf("exit %d, stderr %q; want 1 and the answer said to be partial", code, errs)
			}
			if !strings.HasPrefix(out, tc.want) {
				t.Errorf("stdout %q, want it to start %q", out, tc.want)
			}
		})
	}
}

// TestTimeRangeWithinASecond: record times are whole seconds; a --since or
// --until within a second keeps exactly the records whose capture window
// overlaps the range given.
func TestTimeRangeWithinASecond(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flows.log")
	// start-end per record: [0,1] [1,1] [1,2] [2,3] seconds after t0.
	const t0 = 1710115200
	var lines []string
	for i, w := range [][2]int64{{0, 1}, {1, 1}, {1, 2}, {2, 3}} {
		lines = append(lines, fmt.Sprintf("2 123456789012 eni-1 10.0.0.%d 10.0.1.1 1 2 6 1 10 %d %d ACCEPT OK", i+1, t0+w[0], t0+w[1]))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at := func(sec int64, ms int) string {
		return time.Unix(t0+sec, int64(ms)*1e6).UTC().Format(time.RFC3339Nano)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string // srcaddr of the records kept
	}{
		{"since within second 1", []string{"--since", at(1, 500)}, []string{"10.0.0.3", "10.0.0.4"}},
		{"until within second 1", []string{"--until", at(1, 500)}, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
		{"until on second 1", []string{"--until", at(1, 0)}, []string{"10.0.0.1"}},
		{"both within second 1", []string{"--since", at(1, 200), "--until", at(1, 700)}, []string{"10.0.0.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range [][]string{
				{"read", "-o", "json", "--fields", "srcaddr", path},
				{"query", "SELECT srcaddr FROM flows ORDER BY srcaddr", "-o", "json", path},
			} {
				var got []string
				for _, r := range decodeJSON(t, must(t, append(cmd, tc.args...)...)) {
					got = append(got, r["srcaddr"].(string))
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s %v (-want +got):\n%s", cmd[0], tc.args, diff)
				}
			}
		})
	}
}
