package cli_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeGeoDB builds a GeoLite2-style database with one network.
func writeGeoDB(t *testing.T, p netip.Prefix) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR(p.String())
	if err := tree.Insert(n, mmdbtype.Map{
		"country":                        mmdbtype.Map{"iso_code": mmdbtype.String("NL")},
		"city":                           mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Amsterdam")}},
		"autonomous_system_number":       mmdbtype.Uint32(64500),
		"autonomous_system_organization": mmdbtype.String("Example Scanning BV"),
	}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// refIngressRejected computes 'ingress --rejected -o csv' rows without
// the header: rejected records from outside to internal addresses, per
// source.
func refIngressRejected(recs []refRecord, internal func(netip.Addr) bool) []string {
	type agg struct {
		records, packets, bytes, first, last int64
		ports                                map[string]bool
		hosts                                map[netip.Addr]bool
	}
	m := map[netip.Addr]*agg{}
	for _, r := range recs {
		if r.action != "REJECT" || internal(r.src) || !internal(r.dst) {
			continue
		}
		g := m[r.src]
		if g == nil {
			g = &agg{first: r.start, ports: map[string]bool{}, hosts: map[netip.Addr]bool{}}
			m[r.src] = g
		}
		g.records++
		g.packets += r.packets
		g.bytes += r.bytes
		g.first = min(g.first, r.start)
		g.last = max(g.last, r.end)
		g.ports[r.dport+"/"+r.proto] = true
		g.hosts[r.dst] = true
	}
	var srcs []netip.Addr
	for a := range m {
		srcs = append(srcs, a)
	}
	slices.SortFunc(srcs, func(a, b netip.Addr) int {
		if m[a].records != m[b].records {
			return int(m[b].records - m[a].records)
		}
		return a.Compare(b)
	})
	var out []string
	for _, a := range srcs {
		g := m[a]
		out = append(out, fmt.Sprintf("%s,%d,0,%d,%d,%d,%d,%d,%d,%d,,,,,", a, g.records, g.records, len(g.ports), len(g.hosts), g.packets, g.bytes, g.first, g.last))
	}
	return out
}

func TestIngressAudit(t *testing.T) {
	_, logPath, invPath, _, truth := auditSample(t, 30000, auditFormat)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ps := truth.PortScan
	if ps == nil {
		t.Fatal("no port scan planted")
	}
	recs := readRecords(t, logPath)
	base := []string{"ingress", logPath, "--inventory", invPath, "-o", "csv"}

	// The rejected view equals the reference, and the scanner tops it with
	// every probed port except the open ones.
	got := csvLines(must(t, append(base, "--rejected")...))
	if d := cmp.Diff(refIngressRejected(recs, refInternal(truth)), got); d != "" {
		t.Errorf("rejected view (-want +got):\n%s", d)
	}
	top := strings.Split(got[0], ",")
	if want := []string{ps.Scanner.String(), fmt.Sprint(ps.Rejected), "0", fmt.Sprint(ps.Rejected), fmt.Sprint(ps.DistinctPorts - len(ps.OpenPorts)), "1"}; !slices.Equal(top[:6], want) {
		t.Errorf("rejected view top %v, want %v", top[:6], want)
	}
	// With accepted records too, the scanner has all its distinct ports.
	all := csvLines(must(t, base...))
	top = strings.Split(all[0], ",")
	if want := []string{ps.Scanner.String(), fmt.Sprint(ps.Probes), fmt.Sprint(ps.Probes - ps.Rejected), fmt.Sprint(ps.Rejected), fmt.Sprint(ps.DistinctPorts), "1"}; !slices.Equal(top[:6], want) {
		t.Errorf("all view top %v, want %v", top[:6], want)
	}
	// --accepted: the scanner got in on its open ports only.
	for _, line := range csvLines(must(t, append(base, "--accepted")...)) {
		f := strings.Split(line, ",")
		if f[0] == ps.Scanner.String() && (f[1] != fmt.Sprint(ps.Probes-ps.Rejected) || f[4] != fmt.Sprint(len(ps.OpenPorts)) || f[3] != "0") {
			t.Errorf("accepted view scanner row %q", line)
		}
	}
	// --by host: the scan target tops the rejected view, named from the
	// inventory.
	hosts := decodeJSON(t, must(t, "ingress", logPath, "--inventory", invPath, "-o", "json", "--by", "host", "--rejected"))
	target := hosts[0]
	var iface string
	for _, in := range truth.Estate.Interfaces {
		if in.ID == ps.TargetInterface {
			iface = in.InstanceID
			if iface == "" {
				iface = in.ID
			}
		}
	}
	// Other rejected noise reaches the target too, on more ports.
	var ports int
	fmt.Sscan(fmt.Sprint(target["dst_ports"]), &ports)
	if target["dst_ip"] != ps.Target.String() || fmt.Sprint(target["entity_id"]) != iface || ports < ps.DistinctPorts-len(ps.OpenPorts) {
		t.Errorf("top host %v, want %s (entity %s) with at least %d ports", target, ps.Target, iface, ps.DistinctPorts-len(ps.OpenPorts))
	}
	// --by port: every row's rejected count adds up to the rejected view's.
	var sumPorts, sumSrc int64
	for _, line := range csvLines(must(t, append(base, "--rejected", "--by", "port")...)) {
		var n int64
		fmt.Sscan(strings.Split(line, ",")[2], &n)
		sumPorts += n
	}
	for _, line := range got {
		var n int64
		fmt.Sscan(strings.Split(line, ",")[1], &n)
		sumSrc += n
	}
	if sumPorts != sumSrc || sumSrc == 0 {
		t.Errorf("--by port sums %d records, --by source %d", sumPorts, sumSrc)
	}
	// --geoip: country and AS from a MaxMind-format database.
	geoDB := writeGeoDB(t, netip.PrefixFrom(ps.Scanner, 16).Masked())
	rows := decodeJSON(t, must(t, "ingress", logPath, "--inventory", invPath, "-o", "json", "--rejected", "-n", "2", "--geoip", geoDB))
	if len(rows) != 2 || fmt.Sprintf("%v %v %v", rows[0]["country"], rows[0]["asn"], rows[0]["as_org"]) != "NL 64500 Example Scanning BV" || rows[1]["country"] != nil {
		t.Errorf("geo columns: %v", rows)
	}
	if _, _, code := flowlens(t, "ingress", logPath, "--accepted", "--rejected"); code != 2 {
		t.Errorf("--accepted --rejected: exit %d, want 2", code)
	}
}
