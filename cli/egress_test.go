package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/flowlens/flowlens/enrich/resolve/resolvetest"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
)

// auditFormat has the packet-level addresses the NAT gateway records carry.
const auditFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${pkt-srcaddr} ${pkt-dstaddr}"

// auditSample writes generated records with packet-level addresses, the
// describe-* JSON of the modelled estate, an ip-ranges.json with the
// generator's AWS blocks, and imports the inventory.
func auditSample(t *testing.T, records int, format string) (dir, logPath, invPath, rangesPath string, truth *gen.Truth) {
	t.Helper()
	dir = t.TempDir()
	fm, err := flowlog.ParseFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	logPath, truth = sample(t, dir, "flows.log", func(c *gen.Config) { c.Records = records; c.Format = fm })
	writeJSON := func(name string, v any) string {
		p := filepath.Join(dir, name)
		data, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// describe-* output shapes (only the fields the inventory reads).
	var enis, nats, vpcs []map[string]any
	for _, in := range truth.Estate.Interfaces {
		e := map[string]any{"NetworkInterfaceId": in.ID, "InterfaceType": in.InterfaceType, "VpcId": in.VPC, "SubnetId": in.Subnet,
			"PrivateIpAddress": in.PrivateIP.String(), "TagSet": []map[string]string{{"Key": "Name", "Value": in.Name}}}
		if in.PublicIP.IsValid() {
			e["Association"] = map[string]string{"PublicIp": in.PublicIP.String()}
		}
		if in.InstanceID != "" {
			e["Attachment"] = map[string]string{"InstanceId": in.InstanceID}
		}
		enis = append(enis, e)
		if in.Role == "nat-gateway" {
			nats = append(nats, map[string]any{"NatGatewayId": in.ResourceID, "VpcId": in.VPC, "State": "available",
				"NatGatewayAddresses": []map[string]string{{"NetworkInterfaceId": in.ID, "PrivateIp": in.PrivateIP.String(), "PublicIp": in.PublicIP.String()}}})
		}
	}
	for _, a := range truth.Estate.Accounts {
		for _, v := range a.VPCs {
			vpcs = append(vpcs, map[string]any{"VpcId": v.ID, "CidrBlock": v.CIDR.String(),
				"Ipv6CidrBlockAssociationSet": []map[string]string{{"Ipv6CidrBlock": v.IPv6CIDR.String()}}})
		}
	}
	files := []string{
		writeJSON("enis.json", map[string]any{"NetworkInterfaces": enis}),
		writeJSON("nat.json", map[string]any{"NatGateways": nats}),
		writeJSON("vpcs.json", map[string]any{"Vpcs": vpcs}),
	}
	invPath = filepath.Join(dir, "inventory.json")
	out := must(t, append([]string{"inventory", "import", "--inventory", invPath}, files...)...)
	if !strings.Contains(out, fmt.Sprintf("%d network interfaces, %d NAT gateways", len(enis), len(nats))) {
		t.Fatalf("inventory import: %s", out)
	}
	type pfx struct {
		IP      string `json:"ip_prefix"`
		Service string `json:"service"`
		Region  string `json:"region"`
		NBG     string `json:"network_border_group"`
	}
	var ps []pfx
	for _, b := range []struct{ p, s string }{{"52.216.0.0/15", "S3"}, {"3.5.0.0/19", "S3"}, {"54.231.0.0/16", "S3"},
		{"13.224.0.0/14", "CLOUDFRONT"}, {"3.218.180.0/22", "DYNAMODB"}, {"54.239.0.0/17", "EC2"}} {
		ps = append(ps, pfx{b.p, "AMAZON", "us-east-1", "us-east-1"}, pfx{b.p, b.s, "us-east-1", "us-east-1"})
	}
	rangesPath = writeJSON("ip-ranges.json", map[string]any{"syncToken": "1", "createDate": "2024-03-11-00-00-00", "prefixes": ps, "ipv6_prefixes": []any{}})
	return dir, logPath, invPath, rangesPath, truth
}

// refRecord is one record read by the reference computation.
type refRecord struct {
	src, dst, psrc, pdst netip.Addr
	dport, proto         string
	packets, bytes       int64
	start, end           int64
	action               string
}

// readRecords reads a generated text file by its header, independently of
// the flowlens parser.
func readRecords(t *testing.T, path string) []refRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	col := map[string]int{}
	var out []refRecord
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(col) == 0 {
			for i, n := range fs {
				col[n] = i
			}
			continue
		}
		if fs[col["log-status"]] != "OK" {
			continue
		}
		num := func(n string) int64 { v, _ := strconv.ParseInt(fs[col[n]], 10, 64); return v }
		addr := func(n string) netip.Addr {
			i, ok := col[n]
			if !ok {
				return netip.Addr{}
			}
			a, _ := netip.ParseAddr(fs[i])
			return a
		}
		out = append(out, refRecord{addr("srcaddr"), addr("dstaddr"), addr("pkt-srcaddr"), addr("pkt-dstaddr"),
			fs[col["dstport"]], fs[col["protocol"]], num("packets"), num("bytes"), num("start"), num("end"), fs[col["action"]]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// refInternal says whether an address belongs to the estate or is
// private, from the truth alone.
func refInternal(truth *gen.Truth) func(netip.Addr) bool {
	var nets []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"} {
		nets = append(nets, netip.MustParsePrefix(s))
	}
	for _, a := range truth.Estate.Accounts {
		for _, v := range a.VPCs {
			nets = append(nets, v.CIDR, v.IPv6CIDR)
		}
	}
	pub := map[netip.Addr]bool{}
	for _, in := range truth.Estate.Interfaces {
		if in.PublicIP.IsValid() {
			pub[in.PublicIP] = true
		}
	}
	return func(a netip.Addr) bool {
		if pub[a] {
			return true
		}
		for _, p := range nets {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
}

var protoNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}

// refEgress computes the egress audit's CSV rows (without the header) for
// NAT traffic, leaving out destinations in the excluded blocks.
func refEgress(t *testing.T, recs []refRecord, truth *gen.Truth, excluded []netip.Prefix, service func(netip.Addr) string, list func(netip.Addr) string) []string {
	internal := refInternal(truth)
	nat := map[netip.Addr]bool{}
	for _, in := range truth.Estate.Interfaces {
		if in.Role == "nat-gateway" {
			nat[in.PrivateIP] = true
		}
	}
	type key struct {
		dst         netip.Addr
		port, proto string
	}
	type agg struct {
		flows, packets, bytes, first, last int64
		sources                            map[netip.Addr]bool
	}
	m := map[key]*agg{}
	srcs := map[key]map[netip.Addr]bool{}
	for _, r := range recs {
		if r.action != "ACCEPT" {
			continue
		}
		if nat[r.src] && !internal(r.dst) {
			k := key{r.dst, r.dport, r.proto}
			g := m[k]
			if g == nil {
				g = &agg{first: r.start}
				m[k] = g
			}
			g.flows++
			g.packets += r.packets
			g.bytes += r.bytes
			g.first = min(g.first, r.start)
			g.last = max(g.last, r.end)
		}
		if nat[r.dst] && r.pdst.IsValid() && r.pdst != r.dst && internal(r.psrc) && !internal(r.pdst) {
			k := key{r.pdst, r.dport, r.proto}
			if srcs[k] == nil {
				srcs[k] = map[netip.Addr]bool{}
			}
			srcs[k][r.psrc] = true
		}
	}
	type row struct {
		k    key
		g    *agg
		line string
	}
	var rows []row
	for k, g := range m {
		if slices.ContainsFunc(excluded, func(p netip.Prefix) bool { return p.Contains(k.dst) }) {
			continue
		}
		var ss []netip.Addr
		for s := range srcs[k] {
			ss = append(ss, s)
		}
		slices.SortFunc(ss, netip.Addr.Compare)
		var sstr []string
		for _, s := range ss {
			sstr = append(sstr, s.String())
		}
		line := fmt.Sprintf("%s,%s,%s,%d,%d,%d,%d,%d,%d,%s,%s,%s,%s,,,", k.dst, k.port, protoNames[k.proto], g.flows, g.packets, g.bytes, g.first, g.last,
			len(ss), strings.Join(sstr, " "), service(k.dst), region(service(k.dst)), list(k.dst))
		rows = append(rows, row{k, g, line})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if a.g.bytes != b.g.bytes {
			if a.g.bytes > b.g.bytes {
				return -1
			}
			return 1
		}
		if c := a.k.dst.Compare(b.k.dst); c != 0 {
			return c
		}
		pa, _ := strconv.Atoi(a.k.port)
		pb, _ := strconv.Atoi(b.k.port)
		if pa != pb {
			return pa - pb
		}
		return strings.Compare(a.k.proto, b.k.proto)
	})
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.line
	}
	return out
}

func region(service string) string {
	if service == "" {
		return ""
	}
	return "us-east-1"
}

func csvLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return lines[1:]
}

// TestEgressAudit runs the audit on generated data (from files and from a
// database) and compares it with the reference computation, with AWS
// service and allow-list exclusions.
func TestEgressAudit(t *testing.T) {
	dir, logPath, invPath, rangesPath, truth := auditSample(t, 30000, auditFormat)
	recs := readRecords(t, logPath)
	if truth.Exfiltration == nil {
		t.Fatal("no exfiltration planted")
	}
	s3 := []netip.Prefix{netip.MustParsePrefix("52.216.0.0/15"), netip.MustParsePrefix("3.5.0.0/19"), netip.MustParsePrefix("54.231.0.0/16")}
	awsBlocks := map[string]string{"13.224.0.0/14": "CLOUDFRONT", "3.218.180.0/22": "DYNAMODB", "54.239.0.0/17": "EC2"}
	service := func(a netip.Addr) string {
		for p, s := range awsBlocks {
			if netip.MustParsePrefix(p).Contains(a) {
				return s
			}
		}
		for _, p := range s3 {
			if p.Contains(a) {
				return "S3"
			}
		}
		return ""
	}
	noList := func(netip.Addr) string { return "" }

	all := refEgress(t, recs, truth, nil, service, noList)
	if len(all) < 20 {
		t.Fatalf("reference found only %d destinations", len(all))
	}
	// The exfiltration is the largest destination, with its source behind
	// the NAT gateway.
	ex := truth.Exfiltration
	if want := fmt.Sprintf("%s,%d,tcp,", ex.Destination, ex.Port); !strings.HasPrefix(all[0], want) || !strings.Contains(all[0], ","+ex.Source.String()+",") {
		t.Fatalf("reference top row %q, want the exfiltration %s from %s", all[0], want, ex.Source)
	}

	// An allow-list (vendor JSON) with the second and third destinations'
	// addresses as /24 blocks, and one as a plain address.
	var allowed []netip.Prefix
	vendor := map[string]any{"agents": map[string]any{"prefixes_ipv4": []string{}}, "misc": []any{}}
	for _, line := range all[1:4] {
		a := netip.MustParseAddr(strings.Split(line, ",")[0])
		p := netip.PrefixFrom(a, 24).Masked()
		if !a.Is4() {
			p = netip.PrefixFrom(a, 64).Masked()
		}
		allowed = append(allowed, p)
	}
	vendor["agents"].(map[string]any)["prefixes_ipv4"] = []string{allowed[0].String(), allowed[1].String()}
	vendor["misc"] = []any{map[string]any{"deep": []string{allowed[2].String()}}}
	listPath := filepath.Join(dir, "vendor.json")
	data, _ := json.Marshal(vendor)
	os.WriteFile(listPath, data, 0o644)
	inList := func(a netip.Addr) string {
		if slices.ContainsFunc(allowed, func(p netip.Prefix) bool { return p.Contains(a) }) {
			return "vendor"
		}
		return ""
	}

	db := filepath.Join(dir, "flows.duckdb")
	must(t, "ingest", "--db", db, logPath)
	common := []string{"--inventory", invPath, "--ip-ranges", rangesPath, "-o", "csv"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"all NAT egress", nil, refEgress(t, recs, truth, nil, service, noList)},
		{"without S3", []string{"--exclude-service", "s3"}, refEgress(t, recs, truth, s3, service, noList)},
		{"without S3 and the vendor", []string{"--exclude-service", "S3", "--allow", "vendor=" + listPath, "--exclude-list", "vendor"},
			refEgress(t, recs, truth, append(slices.Clone(s3), allowed...), service, noList)},
		{"vendor listed, not excluded", []string{"--allow", "vendor=" + listPath}, refEgress(t, recs, truth, nil, service, inList)},
	}
	for _, tc := range tests {
		for _, mode := range []string{"files", "db"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				args := append([]string{"egress"}, common...)
				args = append(args, tc.args...)
				if mode == "files" {
					args = append(args, logPath)
				} else {
					args = append(args, "--db", db)
				}
				got := csvLines(must(t, args...))
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			})
		}
	}

	// --nat gives the same as the inventory's NAT gateways.
	var natArgs []string
	for _, in := range truth.Estate.Interfaces {
		if in.Role == "nat-gateway" {
			natArgs = append(natArgs, "--nat", in.PrivateIP.String())
		}
	}
	noInv := append([]string{"egress", "--inventory", "", "--ip-ranges", rangesPath, "-o", "csv", logPath}, natArgs...)
	// Without the inventory the own public addresses and VPC CIDRs are
	// unknown, but the VPCs are in 10/8 and the generator sends nothing to
	// its own public addresses from NAT gateways, so the result is the same.
	if d := cmp.Diff(all, csvLines(must(t, noInv...))); d != "" {
		t.Errorf("--nat without inventory (-want +got):\n%s", d)
	}

	// Usage errors.
	for _, bad := range [][]string{
		{"egress", "--inventory", "", logPath},
		{"egress", "--inventory", invPath, "--exclude-list", "nope", logPath},
		{"egress", "--inventory", invPath, "--ip-ranges", rangesPath, "--exclude-service", "NOPE", logPath},
		{"egress", "--inventory", invPath, "--from", "everywhere", logPath},
	} {
		if _, errs, code := flowlens(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", bad, code, errs)
		}
	}
}

// TestEgressResolveAndAllowlist names destinations with real DNS and TLS
// servers on 127.0.0.1, checks the allow-list format, and that a second
// run answers from the cache without new queries.
func TestEgressResolveAndAllowlist(t *testing.T) {
	dir, logPath, invPath, _, truth := auditSample(t, 8000, auditFormat)
	recs := readRecords(t, logPath)
	ref := refEgress(t, recs, truth, nil, func(netip.Addr) string { return "" }, func(netip.Addr) string { return "" })
	names := map[netip.Addr][]string{}
	var dests []netip.Addr
	for _, line := range ref {
		a := netip.MustParseAddr(strings.Split(line, ",")[0])
		if _, seen := names[a]; !seen {
			dests = append(dests, a)
		}
		names[a] = []string{"host-" + strings.NewReplacer(".", "-", ":", "-").Replace(a.String()) + ".example.net"}
	}
	// One destination has no PTR record.
	delete(names, dests[len(dests)-1])
	dns := resolvetest.StartDNS(t, names)
	tlsSrv := resolvetest.StartTLS(t, "cdn.example.org", "www.example.org")
	cache := filepath.Join(dir, "resolve.json")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // no saved ip-ranges.json
	args := []string{"egress", logPath, "--inventory", invPath, "--resolve",
		"--dns-server", dns.Addr, "--tls-connect", tlsSrv.Addr, "--resolve-cache", cache, "--resolve-rate", "0"}

	rows := decodeJSON(t, must(t, append(args, "-o", "json")...))
	if len(rows) != len(ref) {
		t.Fatalf("%d rows, want %d", len(rows), len(ref))
	}
	for _, r := range rows {
		a := netip.MustParseAddr(r["dst_ip"].(string))
		var wantPTR any
		if n, ok := names[a]; ok {
			wantPTR = n[0]
		}
		if r["ptr"] != wantPTR {
			t.Errorf("%s: ptr %v, want %v", a, r["ptr"], wantPTR)
		}
		if r["tls_names"] != "cdn.example.org www.example.org" {
			t.Errorf("%s: tls_names %v", a, r["tls_names"])
		}
	}
	queries, handshakes := dns.Queries.Load(), tlsSrv.Handshakes.Load()
	if queries != int64(len(dests)) || handshakes != int64(len(dests)) {
		t.Errorf("first run: %d DNS queries and %d handshakes for %d destinations", queries, handshakes, len(dests))
	}
	for _, sni := range tlsSrv.SNI() {
		if sni != "" {
			t.Fatalf("handshake sent SNI %q", sni)
		}
	}

	// Second run, allow-list format: everything from the cache.
	out, errs, code := flowlens(t, append(args, "-o", "allowlist")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if dns.Queries.Load() != queries || tlsSrv.Handshakes.Load() != handshakes {
		t.Errorf("second run asked again: %d DNS queries, %d handshakes", dns.Queries.Load()-queries, tlsSrv.Handshakes.Load()-handshakes)
	}
	if !strings.Contains(errs, fmt.Sprintf("resolve: %d from cache, 0 PTR queries, 0 TLS handshakes", len(dests))) {
		t.Errorf("stderr does not report cache hits:\n%s", errs)
	}
	var want []string
	type dk struct {
		a     netip.Addr
		proto string
		port  int
	}
	var keys []dk
	for _, line := range ref {
		f := strings.Split(line, ",")
		p, _ := strconv.Atoi(f[1])
		keys = append(keys, dk{netip.MustParseAddr(f[0]), f[2], p})
	}
	slices.SortFunc(keys, func(x, y dk) int {
		if c := x.a.Compare(y.a); c != 0 {
			return c
		}
		if c := strings.Compare(x.proto, y.proto); c != 0 {
			return c
		}
		return x.port - y.port
	})
	for _, k := range keys {
		note := "tls:cdn.example.org"
		if n, ok := names[k.a]; ok {
			note = n[0]
		}
		want = append(want, fmt.Sprintf("%s/%d %s/%d # %s", k.a, k.a.BitLen(), k.proto, k.port, note))
	}
	if d := cmp.Diff(want, strings.Split(strings.TrimSuffix(out, "\n"), "\n")); d != "" {
		t.Errorf("allowlist (-want +got):\n%s", d)
	}
}

// TestEgressResolveReportsDNSErrors checks that PTR queries a real DNS
// server on 127.0.0.1 refuses or fails are reported as errors on stderr;
// they were counted nowhere, so a broken server looked like one that
// knows no names.
func TestEgressResolveReportsDNSErrors(t *testing.T) {
	dir, logPath, invPath, _, truth := auditSample(t, 3000, auditFormat)
	ref := refEgress(t, readRecords(t, logPath), truth, nil, func(netip.Addr) string { return "" }, func(netip.Addr) string { return "" })
	dests := map[string]bool{}
	for _, line := range ref {
		dests[strings.Split(line, ",")[0]] = true
	}
	if len(dests) == 0 {
		t.Fatal("no egress destination in the sample")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, tc := range []struct {
		name  string
		rcode int
		kind  string
	}{
		{"refused", dns.RcodeRefused, "ptr refused"},
		{"servfail", dns.RcodeServerFailure, "ptr servfail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := resolvetest.StartFailingDNS(t, tc.rcode)
			_, errs, code := flowlens(t, "egress", logPath, "--inventory", invPath, "--resolve", "--no-tls",
				"--dns-server", srv.Addr, "--resolve-cache", filepath.Join(dir, tc.name+".json"), "--resolve-rate", "0", "-o", "csv")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			n := len(dests)
			want := fmt.Sprintf("resolve: 0 from cache, %d PTR queries, 0 TLS handshakes, 0 timeouts, %d errors (%s %d)", n, n, tc.kind, n)
			if !strings.Contains(errs, want) {
				t.Errorf("stderr does not say %q:\n%s", want, errs)
			}
			if got := srv.Queries.Load(); got != int64(n) {
				t.Errorf("server saw %d queries, want %d", got, n)
			}
		})
	}
}
