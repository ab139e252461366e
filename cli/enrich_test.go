package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/gen"
)

// enrichReference reads the v2 sample independently and counts, per
// (src internal, dst internal) pair, the records; and the accepted records
// whose destination is on the IOC list or the allow-list prefix.
// It also returns an IOC address some record has as its destination.
func enrichReference(t *testing.T, logPath string, iocs map[netip.Addr]bool, allow netip.Prefix) (pairs map[string]int, iocAccepted, allowed int, reached netip.Addr) {
	t.Helper()
	private := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"),
		netip.MustParsePrefix("169.254.0.0/16"),
	}
	internal := func(a netip.Addr) bool {
		for _, p := range private {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pairs = map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 14 || fs[0] == "version" {
			continue
		}
		src, err1 := netip.ParseAddr(fs[3])
		dst, err2 := netip.ParseAddr(fs[4])
		if err1 != nil || err2 != nil {
			pairs["null,null"]++
			continue
		}
		pairs[strconv.FormatBool(internal(src))+","+strconv.FormatBool(internal(dst))]++
		if fs[12] == "ACCEPT" && iocs[dst] {
			iocAccepted++
			reached = dst
		}
		if allow.Contains(dst) {
			allowed++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return pairs, iocAccepted, allowed, reached
}

// TestEnrichmentColumns fills the derived fields at ingest and in ad-hoc
// queries and checks them, through the filter language and top, against
// an independent reading of the file.
func TestEnrichmentColumns(t *testing.T) {
	dir, logPath, iocPath, truth := huntSample(t, 20000, nil)
	iocs := map[netip.Addr]bool{}
	for _, e := range truth.IOC {
		iocs[e.IP] = true
	}
	// An allow-list covering the /16 of an IOC address the traffic reaches.
	_, _, _, reached := enrichReference(t, logPath, iocs, netip.Prefix{})
	if !reached.IsValid() {
		t.Fatal("no record reaches an IOC address")
	}
	allow := netip.PrefixFrom(reached, 16).Masked()
	allowPath := filepath.Join(dir, "vendor.txt")
	if err := os.WriteFile(allowPath, []byte("# vendor ranges\n"+allow.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pairs, iocAccepted, allowed, _ := enrichReference(t, logPath, iocs, allow)
	if iocAccepted == 0 || allowed == 0 {
		t.Fatalf("sample too small: %d accepted IOC records, %d allow-listed", iocAccepted, allowed)
	}
	db := filepath.Join(dir, "e.duckdb")
	geo := writeGeoDB(t, allow) // NL, AS64500 for the same /16
	data := []string{"--inventory", filepath.Join(dir, "none.json"), "--ioc", iocPath, "--allow", "vendor=" + allowPath, "--geoip", geo}
	// An explicit inventory that does not exist is an error.
	if _, errs, code := flowlens(t, append([]string{"ingest", "--db", db, logPath}, data...)...); code != 1 || !strings.Contains(errs, "none.json") {
		t.Fatalf("missing --inventory: exit %d, %s", code, errs)
	}
	data = data[2:]
	must(t, append([]string{"ingest", "--db", db, logPath}, data...)...)

	countSQL := "SELECT count(*) AS n FROM flows"
	checkCount := func(name string, want int, args ...string) {
		t.Helper()
		out := must(t, append([]string{"query", countSQL, "-o", "csv"}, args...)...)
		if got := strings.TrimSpace(strings.TrimPrefix(out, "n\n")); got != strconv.Itoa(want) {
			t.Errorf("%s: %s records, want %d", name, got, want)
		}
	}
	threat := "dst.threat != null and action = ACCEPT"
	checkCount("stored, threat", iocAccepted, "--db", db, "--where", threat)
	checkCount("ad hoc, threat", iocAccepted, append([]string{logPath, "--where", threat}, data...)...)
	checkCount("stored, list", allowed, "--db", db, "--where", "dst.list = vendor")
	checkCount("ad hoc, list", allowed, append([]string{logPath, "--where", "dst.list = vendor"}, data...)...)
	geoWhere := "dst.country = NL and dst.city = Amsterdam and dst.asn = 64500 and dst.as_org = 'Example Scanning BV'"
	checkCount("stored, geo", allowed, "--db", db, "--where", geoWhere)
	checkCount("ad hoc, geo", allowed, append([]string{logPath, "--where", geoWhere}, data...)...)

	// top on the internal flags, stored and ad hoc.
	want := map[string]string{}
	for k, n := range pairs {
		k = strings.ReplaceAll(k, "null", "")
		want[k] = strconv.Itoa(n)
	}
	for _, args := range [][]string{{"--db", db}, {logPath}} {
		out := must(t, append([]string{"top", "src.internal,dst_internal", "--by", "flows", "-n", "0", "-o", "csv"}, args...)...)
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Split(l, ",")
			got[f[0]+","+f[1]] = f[2]
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("top src.internal,dst_internal %v (-want +got):\n%s", args, d)
		}
	}

	// A derived field without its data is a usage error in ad-hoc mode.
	for _, args := range [][]string{
		{"top", "dst.entity", logPath},
		{"query", countSQL, logPath, "--where", "dst.country = FR"},
	} {
		_, errs, code := flowlens(t, args...)
		if code != 2 || !strings.Contains(errs, "needs") {
			t.Errorf("%v: exit %d, %q; want a usage error naming the data needed", args, code, errs)
		}
	}
}

// TestEntityColumnsAtIngest ingests one record from every address of the
// inventory package's entity golden file and checks that the stored
// entity columns name the same entity, on either side of a flow.
func TestEntityColumnsAtIngest(t *testing.T) {
	td := filepath.Join("..", "inventory", "testdata")
	raw, err := os.ReadFile(filepath.Join(td, "entities.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden []struct {
		Addr   string
		Entity struct{ Type, ID, Name string }
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv.json")
	files, err := filepath.Glob(filepath.Join(td, "describe-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no describe-*.json in %s: %v", td, err)
	}
	must(t, append([]string{"inventory", "import", "--inventory", inv}, files...)...)
	var lines strings.Builder
	want := map[string][]string{}
	for i, g := range golden {
		peer := "198.51.100.7"
		if strings.Contains(g.Addr, ":") {
			peer = "2001:db8::7"
		}
		// Even rows carry the entity as the source, odd ones as the destination.
		src, dst := g.Addr, peer
		if i%2 == 1 {
			src, dst = peer, g.Addr
		}
		fmt.Fprintf(&lines, "2 123456789010 eni-x %s %s 443 50000 6 1 %d 1700000000 1700000060 ACCEPT OK\n", src, dst, 100+i)
		want[strconv.Itoa(100+i)] = []string{g.Entity.Type, g.Entity.ID, g.Entity.Name}
	}
	logPath := filepath.Join(dir, "entities.log")
	if err := os.WriteFile(logPath, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "e.duckdb")
	must(t, "ingest", "--db", db, "--inventory", inv, logPath)
	out := must(t, "query", "--db", db, "-o", "csv",
		`SELECT bytes, coalesce(src_entity_type, dst_entity_type), coalesce(src_entity_id, dst_entity_id), coalesce(src_entity_name, dst_entity_name) FROM flows`)
	got := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Split(l, ",")
		got[f[0]] = f[1:]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entity columns by record (-want +got):\n%s", d)
	}
	// The filter language names them.
	n := 0
	for _, g := range golden {
		if g.Entity.Type == "nat_gateway" {
			n++
		}
	}
	out = must(t, "query", "--db", db, "-o", "csv", "SELECT count(*) AS n FROM flows", "--where", "src.entity = NAT_GATEWAY or dst.entity = nat_gateway")
	if got := strings.TrimSpace(strings.TrimPrefix(out, "n\n")); got != strconv.Itoa(n) || n == 0 {
		t.Errorf("records with a NAT gateway: %s, want %d", got, n)
	}
}

// TestFieldsCommand lists the catalog and, with --derived, the enrichment
// fields, as JSON keyed by column name.
func TestFieldsCommand(t *testing.T) {
	catalog := decodeJSON(t, must(t, "fields", "-o", "json"))
	derived := decodeJSON(t, must(t, "fields", "--derived", "-o", "json"))
	if len(catalog) != 72 {
		t.Errorf("%d catalog fields, want 72", len(catalog))
	}
	tokens := map[string]string{}
	for _, f := range derived {
		tokens[f["token"].(string)] = f["column"].(string)
		if f["description"] == "" || fmt.Sprint(f["version"]) != "0" {
			t.Errorf("derived field %v", f)
		}
	}
	for token, column := range map[string]string{"src.internal": "src_internal", "dst.entity": "dst_entity_type", "dst.threat": "dst_threat", "dst.city": "dst_city"} {
		if tokens[token] != column {
			t.Errorf("fields --derived: %s -> %q, want %s", token, tokens[token], column)
		}
	}
	for _, f := range catalog {
		if _, clash := tokens[f["token"].(string)]; clash {
			t.Errorf("%v is both a catalog and a derived token", f["token"])
		}
	}
}

// TestAllowListTypoReported checks that an allow-list entry that looks like
// an address but does not parse is reported with its file and line, for
// every command that takes --allow, and that the rest of the list is used.
func TestAllowListTypoReported(t *testing.T) {
	dir := t.TempDir()
	logPath, _ := sample(t, dir, "flows.log", func(c *gen.Config) { c.Records = 5000 })
	list := filepath.Join(dir, "dns.txt")
	if err := os.WriteFile(list, []byte("# approved resolvers\n9.9.9.9\n1.1.1.300\n8.8.8.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"top", []string{"top", "dstaddr", logPath, "--allow", "dns=" + list, "--where", "dst.list = dns", "-o", "csv"}},
		{"egress", []string{"egress", logPath, "--from", "internal", "--allow", "dns=" + list, "-o", "csv"}},
		{"detect", []string{"detect", logPath, "--rule", "dns-unapproved-resolver", "--allow", "dns=" + list, "-o", "csv"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := flowlens(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errs)
			}
			want := "dns.txt: list dns: skipped 1 entr(ies) that do not parse as an address or CIDR block (first: line 3: 1.1.1.300)"
			if !strings.Contains(errs, want) {
				t.Errorf("stderr does not say %q:\n%s", want, errs)
			}
		})
	}
}
