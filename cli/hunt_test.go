package cli_test

import (
	"bufio"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/gen"
)

var updateHunt = flag.Bool("update-hunt", false, "rewrite the hunt golden files")

// huntSample writes generated records and their IOC list.
func huntSample(t *testing.T, records int, mutate func(*gen.Config)) (dir, logPath, iocPath string, truth *gen.Truth) {
	t.Helper()
	dir = t.TempDir()
	logPath, truth = sample(t, dir, "flows.log", func(c *gen.Config) {
		c.Records = records
		if mutate != nil {
			mutate(c)
		}
	})
	if len(truth.IOC) == 0 {
		t.Fatal("the generator planted no IOC list")
	}
	iocPath = filepath.Join(dir, "iocs.csv")
	f, err := os.Create(iocPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.WriteIOCList(truth, f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, logPath, iocPath, truth
}

// referenceHits reads the v2 text file independently and returns the
// hunt --flows rows it should give, as CSV lines without the header, in
// the order hunt sorts them.
func referenceHits(t *testing.T, logPath string, truth *gen.Truth) []string {
	t.Helper()
	comments := map[string]string{}
	for _, e := range truth.IOC {
		comments[e.IP.String()] = e.Comment
	}
	type row struct {
		start, end   int64
		conn, intern netip.Addr
		cport, iport int
		dir          string
		line         string
	}
	var rows []row
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 14 || fs[0] == "version" || fs[13] != "OK" {
			continue
		}
		num := func(i int) int64 { n, _ := strconv.ParseInt(fs[i], 10, 64); return n }
		for _, side := range []struct {
			dir                  string
			conn, intern, cp, ip int
		}{{"inbound", 3, 4, 5, 6}, {"outbound", 4, 3, 6, 5}} {
			c, ok := comments[fs[side.conn]]
			if !ok {
				continue
			}
			start, end := num(10), num(11)
			line := fmt.Sprintf("%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%d,%s,iocs,%s", side.dir, fs[side.conn], fs[side.cp], fs[side.intern], fs[side.ip],
				fs[2], fs[7], fs[8], fs[9], fs[12], start, end, end-start, fs[side.conn], c)
			rows = append(rows, row{start, end, netip.MustParseAddr(fs[side.conn]), netip.MustParseAddr(fs[side.intern]),
				int(num(side.cp)), int(num(side.ip)), side.dir, line})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch {
		case a.start != b.start:
			return a.start < b.start
		case a.end != b.end:
			return a.end < b.end
		case a.conn != b.conn:
			return a.conn.Less(b.conn)
		case a.intern != b.intern:
			return a.intern.Less(b.intern)
		case a.cport != b.cport:
			return a.cport < b.cport
		case a.iport != b.iport:
			return a.iport < b.iport
		}
		return a.dir == "inbound" && b.dir == "outbound"
	})
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.line
	}
	return out
}

func csvBody(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "direction,") && !strings.HasPrefix(lines[0], "ioc_ip,") {
		t.Fatalf("no CSV header in %.300q", out)
	}
	return lines[1:]
}

// checkSummary compares hunt's summary with the generator's truth.
func checkSummary(t *testing.T, out string, truth *gen.Truth) {
	t.Helper()
	type sum struct {
		// Direction is who initiated the connections, as planted.
		Direction string
		Flows     int
		Bytes     int64
		Hosts     string
	}
	got := map[string]sum{}
	for _, r := range decodeJSON(t, out) {
		flows, _ := strconv.Atoi(fmt.Sprint(r["flows"]))
		b, _ := strconv.ParseInt(fmt.Sprint(r["bytes"]), 10, 64)
		hosts, _ := r["hosts"].(string)
		got[fmt.Sprint(r["ioc_ip"])] = sum{fmt.Sprint(r["direction"]), flows, b, hosts}
		if r["ioc_list"] != "iocs" {
			t.Errorf("%v: list %v, want iocs", r["ioc_ip"], r["ioc_list"])
		}
	}
	want := map[string]sum{}
	for _, e := range truth.IOC {
		if e.Records == 0 {
			continue
		}
		var hs []string
		for _, h := range e.Hosts {
			hs = append(hs, h.String())
		}
		if e.Direction == "" {
			t.Fatalf("truth gives no direction for %v, which is in the traffic", e.IP)
		}
		want[e.IP.String()] = sum{e.Direction, e.Records, e.Bytes, strings.Join(hs, " ")}
	}
	if len(want) == 0 {
		t.Fatal("truth has no IOC in the traffic")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("summary per IOC differs from the generator's truth (-truth +hunt):\n%s", d)
	}
}

func TestHunt(t *testing.T) {
	dir, logPath, iocPath, truth := huntSample(t, 20000, nil)
	ref := referenceHits(t, logPath, truth)
	db := filepath.Join(dir, "flows.duckdb")
	if _, errs, code := flowlens(t, "ingest", "--db", db, logPath); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	modes := []struct {
		name string
		args []string
	}{
		{"ad-hoc", []string{logPath}},
		{"db", []string{"--db", db}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			args := append([]string{"hunt", "--ioc", iocPath}, m.args...)
			checkSummary(t, must(t, append(args, "-o", "json")...), truth)
			got := csvBody(t, must(t, append(args, "--flows", "-o", "csv")...))
			if d := cmp.Diff(ref, got); d != "" {
				t.Errorf("--flows differs from the reference computation (-want +got):\n%s", d)
			}
			// --where restricts: rejected flows only.
			out := must(t, append(args, "--where", "action = REJECT", "--flows", "-o", "csv")...)
			var wantRej []string
			for _, l := range ref {
				if strings.Contains(l, ",REJECT,") {
					wantRej = append(wantRej, l)
				}
			}
			if d := cmp.Diff(wantRej, csvBody(t, out)); d != "" {
				t.Errorf("--where 'action = REJECT' (-want +got):\n%s", d)
			}
		})
	}
}

func TestHuntExitCodes(t *testing.T) {
	dir, logPath, iocPath, _ := huntSample(t, 5000, nil)
	clean := filepath.Join(dir, "clean.txt")
	if err := os.WriteFile(clean, []byte("# nothing here talks to these\n192.0.2.1\n198.51.100.0/24 ; documentation\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("192.0.2.1\nnot-an-ip\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "feed.txt")
	if err := os.WriteFile(html, []byte("<html><body>404 Not Found</body></html>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		stderr  string
		rowsOut bool
	}{
		{"match", []string{"hunt", logPath, "--ioc", iocPath, "--fail-on-match", "-o", "csv"}, 3, "flow(s) matched", true},
		{"match without the flag", []string{"hunt", logPath, "--ioc", iocPath, "-o", "csv"}, 0, "flow(s) matched", true},
		{"clean", []string{"hunt", logPath, "--ioc", clean, "--fail-on-match", "-o", "csv"}, 0, "0 flow(s) matched", false},
		{"bad line reported", []string{"hunt", logPath, "--ioc", bad, "-o", "csv"}, 0, "bad.txt:2: not an IP address", false},
		{"no list", []string{"hunt", logPath}, 2, "no indicator lists", false},
		{"unknown format", []string{"hunt", logPath, "--ioc", iocPath, "--ioc-format", "stix"}, 2, "unknown indicator format", false},
		{"two tables as csv", []string{"hunt", logPath, "--ioc", iocPath, "--flows", "--summary", "-o", "csv"}, 2, "print two tables", false},
		{"missing list", []string{"hunt", logPath, "--ioc", filepath.Join(dir, "nope.csv")}, 1, "no such file", false},
		{"no readable line", []string{"hunt", logPath, "--ioc", iocPath, "--ioc", html, "--fail-on-match", "-o", "csv"}, 1, "feed.txt: not an indicator list", false},
		{"list in the wrong format", []string{"hunt", logPath, "--ioc", iocPath, "--ioc-format", "tor", "--fail-on-match"}, 1, "not an indicator list (read as tor)", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := flowlens(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, errs)
			}
			if !strings.Contains(errs, tc.stderr) {
				t.Errorf("stderr %q does not say %q", errs, tc.stderr)
			}
			if rows := strings.Count(out, "\n") > 1; rows != tc.rowsOut {
				t.Errorf("rows printed: %v, want %v:\n%s", rows, tc.rowsOut, out)
			}
		})
	}
}

// TestHuntGolden pins the rendered table of a small generated sample:
// the summary and the flow view together, with a CIDR indicator from a
// second list and a bogon entry that is left out.
func TestHuntGolden(t *testing.T) {
	dir, logPath, iocPath, truth := huntSample(t, 2000, func(c *gen.Config) {
		// Only the IOC scenario, with few flows, keeps the file short.
		c.Scenarios.PortScan.Enabled = false
		c.Scenarios.SSHBruteForce.Enabled = false
		c.Scenarios.IOC.Contacted = 3
		c.Scenarios.IOC.FlowsPerIP = 2
	})
	var contacted netip.Addr
	for _, e := range truth.IOC {
		if e.Records > 0 && e.Direction == "outbound" {
			contacted = e.IP
			break
		}
	}
	if !contacted.IsValid() {
		t.Fatal("no outbound IOC in the sample")
	}
	block := netip.PrefixFrom(contacted, 24).Masked()
	drop := filepath.Join(dir, "drop.txt")
	if err := os.WriteFile(drop, []byte("; Spamhaus DROP List\n"+block.String()+" ; SBL000001\n10.0.0.0/8 ; bogon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := flowlens(t, "hunt", logPath, "--ioc", iocPath, "--ioc", drop, "--flows", "--summary", "-o", "table")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "left out 1 indicator(s) covering private or reserved blocks (e.g. 10.0.0.0/8 in drop)") {
		t.Errorf("stderr does not report the bogon entry: %s", errs)
	}
	if !strings.Contains(out, "iocs,drop") {
		t.Errorf("no row names both lists:\n%s", out)
	}
	golden := filepath.Join("testdata", "hunt.golden.txt")
	if *updateHunt {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-hunt)", err)
	}
	if d := cmp.Diff(string(want), out); d != "" {
		t.Errorf("hunt output differs from %s (-want +got):\n%s", golden, d)
	}
}
