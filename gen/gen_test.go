package gen_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// cmpOpts compares addresses and prefixes by value.
var cmpOpts = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// generate runs gen.Generate into memory.
func generate(t testing.TB, cfg gen.Config) ([]byte, *gen.Truth) {
	t.Helper()
	var buf bytes.Buffer
	tr, err := gen.Generate(cfg, &buf)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return buf.Bytes(), tr
}

// parse parses data with the flowlog parser (all fields stored) and fails
// the test on any bad line.
func parse(t testing.TB, data []byte, f *flowlog.Format) (*flowlog.Batch, flowlog.Stats) {
	t.Helper()
	p := flowlog.NewParser(f, schema.All())
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk(data, b, &ch)
	if ch.Stats.Bad != 0 {
		t.Fatalf("%d bad lines, first: %v", ch.Stats.Bad, ch.Errors[0])
	}
	return b, ch.Stats
}

func small(records int) gen.Config {
	cfg := gen.DefaultConfig()
	cfg.Records = records
	return cfg
}

func TestDeterminism(t *testing.T) {
	base := small(5000)
	all := base
	all.Format = gen.AllFields()
	tgw := base
	tgw.Format, tgw.Header = flowlog.TGW, true
	zipped := base
	zipped.Gzip = true
	tests := []struct {
		name string
		cfg  gen.Config
	}{
		{"v2", base},
		{"all fields", all},
		{"tgw with header", tgw},
		{"gzip", zipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ta := generate(t, tt.cfg)
			b, tb := generate(t, tt.cfg)
			if !bytes.Equal(a, b) {
				t.Fatal("same config gave different bytes")
			}
			if diff := cmp.Diff(ta, tb, cmpOpts...); diff != "" {
				t.Fatalf("same config gave different truths (-first +second):\n%s", diff)
			}
			other := tt.cfg
			other.Seed++
			c, _ := generate(t, other)
			if bytes.Equal(a, c) {
				t.Fatal("seeds 1 and 2 gave the same bytes")
			}
		})
	}
}

func TestGzipMatchesPlain(t *testing.T) {
	cfg := small(4000)
	plain, _ := generate(t, cfg)
	cfg.Gzip = true
	z, _ := generate(t, cfg)
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatal("gunzipped output differs from the plain output")
	}
}

// TestParsesCleanly checks that every line parses, the record count is
// exact, and the Truth's counts match the parsed records.
func TestParsesCleanly(t *testing.T) {
	custom := flowlog.MustFormat("${start} ${end} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr} ${flow-direction} " +
		"${traffic-path} ${pkt-dst-aws-service} ${action} ${log-status} ${bytes} ${packets} ${interface-id} ${version}")
	tests := []struct {
		name   string
		format *flowlog.Format
		header bool
	}{
		{"v2", flowlog.V2, false},
		{"v2 with header", flowlog.V2, true},
		{"tgw", flowlog.TGW, true},
		{"all fields", gen.AllFields(), false},
		{"v5 fields reordered", custom, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := small(10_000)
			cfg.Format, cfg.Header = tt.format, tt.header
			data, tr := generate(t, cfg)
			// Parse with V2 as the starting format: a header must switch it.
			start := tt.format
			if tt.header {
				start = flowlog.V2
			}
			b, st := parse(t, data, start)
			wantHeaders := int64(0)
			if tt.header {
				wantHeaders = 1
			}
			if st.Records != 10_000 || st.Headers != wantHeaders || b.N != 10_000 {
				t.Fatalf("records %d (batch %d), headers %d; want 10000 and %d", st.Records, b.N, st.Headers, wantHeaders)
			}
			got := countStats(b)
			want := tr.Stats
			want.Planted = 0
			if !b.Has(schema.FAction) {
				got.Accept, got.Reject, want.Accept, want.Reject = 0, 0, 0, 0
			}
			if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
				t.Errorf("truth stats differ from the parsed records (-truth +parsed):\n%s", diff)
			}
			for name, n := range map[string]int{"NODATA": got.NoData, "SKIPDATA": got.SkipData, "IPv6": got.IPv6} {
				if n == 0 {
					t.Errorf("no %s record in 10k", name)
				}
			}
			if b.Has(schema.FAction) && got.Reject == 0 {
				t.Error("no REJECT record in 10k")
			}
		})
	}
}

// countStats recomputes gen.Stats from parsed records.
func countStats(b *flowlog.Batch) gen.Stats {
	var s gen.Stats
	for i := 0; i < b.N; i++ {
		s.Records++
		st, _ := b.Str(schema.FLogStatus, i)
		switch string(st) {
		case "NODATA":
			s.NoData++
			continue
		case "SKIPDATA":
			s.SkipData++
			continue
		}
		s.OK++
		if a, ok := b.Str(schema.FAction, i); ok && string(a) == "REJECT" {
			s.Reject++
		} else if ok {
			s.Accept++
		}
		src, _ := b.IP(schema.FSrcAddr, i)
		if src.Is6() {
			s.IPv6++
		} else {
			s.IPv4++
		}
		by, _ := b.Int(schema.FBytes, i)
		pk, _ := b.Int(schema.FPackets, i)
		s.Bytes += by
		s.Packets += pk
	}
	return s
}

func TestRecordCount(t *testing.T) {
	none := func(n int, mod func(*gen.Config)) gen.Config {
		cfg := small(n)
		cfg.Scenarios = gen.Scenarios{}
		if mod != nil {
			mod(&cfg)
		}
		return cfg
	}
	tests := []struct {
		name string
		cfg  gen.Config
	}{
		{"zero", none(0, nil)},
		{"one", none(1, nil)},
		{"seven", none(7, nil)},
		{"fewer than windows", none(25, nil)},
		{"ten-minute windows", none(3333, func(c *gen.Config) { c.Window = 10 * time.Minute })},
		{"ragged duration", none(2000, func(c *gen.Config) { c.Duration = 7*time.Minute + 30*time.Second })},
		{"one window", none(999, func(c *gen.Config) { c.Duration = time.Minute })},
		{"scenarios only just fit", func() gen.Config {
			cfg := small(0)
			cfg.Scenarios.PortScan.Ports = 10
			cfg.Scenarios.SSHBruteForce.Attempts = 5
			cfg.Scenarios.Exfiltration.Flows = 2
			cfg.Scenarios.IOC.FlowsPerIP = 1
			cfg.Scenarios.IOC.Contacted = 2
			return cfg
		}()},
		{"all scenarios", small(12_345)},
		{"small estate, IPv6 everywhere", func() gen.Config {
			cfg := small(6000)
			cfg.AZs, cfg.Instances, cfg.VPCsPerAccount, cfg.IPv6Share = 1, 12, 1, 1
			return cfg
		}()},
		{"three accounts in another region", func() gen.Config {
			cfg := small(6000)
			cfg.Accounts, cfg.VPCsPerAccount, cfg.AZs, cfg.Region = 3, 2, 6, "ap-southeast-2"
			cfg.Start = time.Date(2025, 12, 31, 23, 50, 17, 0, time.FixedZone("x", 3600))
			return cfg
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Records == 0 && cfg.Scenarios.PortScan.Enabled {
				// Ask for exactly what the scenarios need: find it from the error-free minimum.
				cfg.Records = 5000
				_, tr := generate(t, cfg)
				cfg.Records = tr.Stats.Planted
			}
			data, tr := generate(t, cfg)
			b, _ := parse(t, data, flowlog.V2)
			if b.N != cfg.Records || tr.Stats.Records != cfg.Records {
				t.Fatalf("parsed %d records, truth says %d, want %d", b.N, tr.Stats.Records, cfg.Records)
			}
			if n := bytes.Count(data, []byte{'\n'}); n != cfg.Records {
				t.Fatalf("%d lines, want %d", n, cfg.Records)
			}
		})
	}
}

func TestTooFewRecords(t *testing.T) {
	cfg := small(100)
	_, err := gen.Generate(cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "too few records") {
		t.Fatalf("err = %v, want ErrTooFewRecords", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*gen.Config)
		want string // substring of the error; "" means valid
	}{
		{"default", func(*gen.Config) {}, ""},
		{"zero value", func(c *gen.Config) { *c = gen.Config{} }, ""},
		{"negative records", func(c *gen.Config) { c.Records = -1 }, "records"},
		{"fractional window", func(c *gen.Config) { c.Window = 1500 * time.Millisecond }, "window"},
		{"duration below window", func(c *gen.Config) { c.Duration = 30 * time.Second }, "duration"},
		{"ipv6 share above one", func(c *gen.Config) { c.IPv6Share = 1.5 }, "ipv6"},
		{"too many vpcs", func(c *gen.Config) { c.Accounts, c.VPCsPerAccount = 20, 20 }, "vpcs"},
		{"too few instances", func(c *gen.Config) { c.Instances = 3 }, "instances"},
		{"too many azs", func(c *gen.Config) { c.AZs = 7 }, "azs"},
		{"port count", func(c *gen.Config) { c.Scenarios.PortScan.Ports = 70000 }, "port scan"},
		{"exfil too small", func(c *gen.Config) { c.Scenarios.Exfiltration.Bytes = 10 }, "exfiltration"},
		{"ioc contacted above list", func(c *gen.Config) { c.Scenarios.IOC.Contacted = 99 }, "ioc"},
		{"disabled scenario not checked", func(c *gen.Config) {
			c.Scenarios.IOC.Enabled = false
			c.Scenarios.IOC.Contacted = 99
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := gen.DefaultConfig()
			tt.mod(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// rows gives convenient access to parsed records.
type rows struct{ b *flowlog.Batch }

func (r rows) ip(id, i int) netip.Addr { a, _ := r.b.IP(id, i); return a }
func (r rows) n(id, i int) int64       { v, _ := r.b.Int(id, i); return v }
func (r rows) s(id, i int) string      { v, _ := r.b.Str(id, i); return string(v) }
func (r rows) ok(i int) bool           { return r.s(schema.FLogStatus, i) == "OK" }

// TestScenarioTruths recomputes every planted fact from the parsed records
// and compares it with the Truth.
func TestScenarioTruths(t *testing.T) {
	cfg := small(30_000)
	cfg.Format = gen.AllFields()
	data, tr := generate(t, cfg)
	b, _ := parse(t, data, cfg.Format)
	r := rows{b}
	sc := cfg.Scenarios

	t.Run("port scan", func(t *testing.T) {
		w := tr.PortScan
		got := &gen.PortScanTruth{Scanner: w.Scanner, Target: w.Target, TargetPublic: w.TargetPublic, Start: 1 << 62}
		ports := map[int64]bool{}
		open := map[int32]bool{}
		for i := 0; i < b.N; i++ {
			if !r.ok(i) {
				continue
			}
			src, dst := r.ip(schema.FSrcAddr, i), r.ip(schema.FDstAddr, i)
			if src != w.Scanner && dst != w.Scanner {
				continue
			}
			got.Records++
			got.Start, got.End = min(got.Start, r.n(schema.FStart, i)), max(got.End, r.n(schema.FEnd, i))
			if src == w.Scanner && dst == w.Target {
				got.Probes++
				got.TargetInterface = r.s(schema.FInterfaceID, i)
				ports[r.n(schema.FDstPort, i)] = true
				if r.s(schema.FAction, i) == "REJECT" {
					got.Rejected++
				} else {
					open[int32(r.n(schema.FDstPort, i))] = true
				}
			}
		}
		got.DistinctPorts = len(ports)
		for p := range open {
			got.OpenPorts = append(got.OpenPorts, p)
		}
		slices.Sort(got.OpenPorts)
		if diff := cmp.Diff(w, got, cmpOpts...); diff != "" {
			t.Errorf("port scan truth (-truth +recomputed):\n%s", diff)
		}
		if w.DistinctPorts != sc.PortScan.Ports {
			t.Errorf("distinct ports %d, config asked %d", w.DistinctPorts, sc.PortScan.Ports)
		}
		if w.Rejected*10 < w.Probes*9 {
			t.Errorf("only %d of %d probes rejected; a scan is mostly REJECT", w.Rejected, w.Probes)
		}
		iface := findInterface(t, tr, w.TargetInterface)
		if iface.PrivateIP != w.Target || iface.PublicIP != w.TargetPublic {
			t.Errorf("target %v/%v is not interface %s (%v/%v)", w.Target, w.TargetPublic, iface.ID, iface.PrivateIP, iface.PublicIP)
		}
	})

	t.Run("ssh brute force", func(t *testing.T) {
		w := tr.SSHBruteForce
		got := &gen.BruteForceTruth{Attacker: w.Attacker, Target: w.Target, Start: 1 << 62}
		for i := 0; i < b.N; i++ {
			if !r.ok(i) {
				continue
			}
			src, dst := r.ip(schema.FSrcAddr, i), r.ip(schema.FDstAddr, i)
			if src != w.Attacker && dst != w.Attacker {
				continue
			}
			got.Records++
			got.Bytes += r.n(schema.FBytes, i)
			got.Start, got.End = min(got.Start, r.n(schema.FStart, i)), max(got.End, r.n(schema.FEnd, i))
			if src == w.Attacker && dst == w.Target && r.n(schema.FDstPort, i) == 22 {
				got.Attempts++
				got.TargetInterface = r.s(schema.FInterfaceID, i)
			}
		}
		if diff := cmp.Diff(w, got, cmpOpts...); diff != "" {
			t.Errorf("brute force truth (-truth +recomputed):\n%s", diff)
		}
		if w.Attempts != sc.SSHBruteForce.Attempts {
			t.Errorf("attempts %d, config asked %d", w.Attempts, sc.SSHBruteForce.Attempts)
		}
	})

	t.Run("exfiltration", func(t *testing.T) {
		w := tr.Exfiltration
		got := &gen.ExfilTruth{Source: w.Source, Destination: w.Destination, NATAddress: w.NATAddress, Start: 1 << 62}
		var natBytes int64
		pairBytes := map[[2]netip.Addr]int64{}
		for i := 0; i < b.N; i++ {
			if !r.ok(i) {
				continue
			}
			src, dst := r.ip(schema.FSrcAddr, i), r.ip(schema.FDstAddr, i)
			psrc, pdst := r.ip(schema.FPktSrcAddr, i), r.ip(schema.FPktDstAddr, i)
			if src.IsPrivate() && !dst.IsPrivate() {
				pairBytes[[2]netip.Addr{src, dst}] += r.n(schema.FBytes, i)
			}
			if src != w.Destination && dst != w.Destination && psrc != w.Destination && pdst != w.Destination {
				continue
			}
			got.Records++
			got.Start, got.End = min(got.Start, r.n(schema.FStart, i)), max(got.End, r.n(schema.FEnd, i))
			switch {
			case src == w.Source && dst == w.Destination:
				got.Flows++
				got.Bytes += r.n(schema.FBytes, i)
				got.SourceInterface = r.s(schema.FInterfaceID, i)
				got.Port = int32(r.n(schema.FDstPort, i))
			case src == w.NATAddress && dst == w.Destination:
				natBytes += r.n(schema.FBytes, i)
				got.NATInterface = r.s(schema.FInterfaceID, i)
			}
		}
		if diff := cmp.Diff(w, got, cmpOpts...); diff != "" {
			t.Errorf("exfiltration truth (-truth +recomputed):\n%s", diff)
		}
		if w.Bytes != sc.Exfiltration.Bytes || natBytes != w.Bytes {
			t.Errorf("bytes on the instance %d, on the NAT gateway %d, config asked %d", w.Bytes, natBytes, sc.Exfiltration.Bytes)
		}
		if w.Flows != sc.Exfiltration.Flows {
			t.Errorf("flows %d, config asked %d", w.Flows, sc.Exfiltration.Flows)
		}
		// The upload must stand out: no other internal-to-internet pair sends as much.
		for pair, n := range pairBytes {
			if pair != [2]netip.Addr{w.Source, w.Destination} && pair[0] != w.NATAddress && n >= w.Bytes {
				t.Errorf("background pair %v sent %d bytes, more than the exfiltration's %d", pair, n, w.Bytes)
			}
		}
	})

	t.Run("ioc", func(t *testing.T) {
		var got []gen.IOCEntry
		for _, w := range tr.IOC {
			e := gen.IOCEntry{IP: w.IP, Comment: w.Comment, Direction: w.Direction}
			hosts := map[netip.Addr]bool{}
			for i := 0; i < b.N; i++ {
				if !r.ok(i) {
					continue
				}
				src, dst := r.ip(schema.FSrcAddr, i), r.ip(schema.FDstAddr, i)
				psrc, pdst := r.ip(schema.FPktSrcAddr, i), r.ip(schema.FPktDstAddr, i)
				if src == w.IP || dst == w.IP || psrc == w.IP || pdst == w.IP {
					e.PktRecords++
				}
				if src != w.IP && dst != w.IP {
					continue
				}
				e.Records++
				e.Bytes += r.n(schema.FBytes, i)
				if src == w.IP {
					hosts[dst] = true
				} else {
					hosts[src] = true
				}
			}
			for h := range hosts {
				e.Hosts = append(e.Hosts, h)
			}
			slices.SortFunc(e.Hosts, netip.Addr.Compare)
			got = append(got, e)
		}
		if diff := cmp.Diff(tr.IOC, got, cmpOpts...); diff != "" {
			t.Errorf("ioc truth (-truth +recomputed):\n%s", diff)
		}
		contacted := 0
		for _, e := range got {
			if e.Records > 0 {
				contacted++
			}
		}
		// The scanner and the brute-forcer are on the list too.
		if want := sc.IOC.Contacted + 2; contacted != want || len(got) != sc.IOC.ListSize+2 {
			t.Errorf("%d of %d entries in traffic, want %d of %d", contacted, len(got), want, sc.IOC.ListSize+2)
		}
	})
}

func findInterface(t *testing.T, tr *gen.Truth, id string) gen.InterfaceInfo {
	t.Helper()
	for _, f := range tr.Estate.Interfaces {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("interface %q not in the estate", id)
	return gen.InterfaceInfo{}
}

// TestFormatIndependence checks that the traffic does not depend on the
// format: the all-fields file projected onto the v2 fields is the v2 file,
// apart from the version number.
func TestFormatIndependence(t *testing.T) {
	cfg := small(6000)
	v2, _ := generate(t, cfg)
	cfg.Format = gen.AllFields()
	all, _ := generate(t, cfg)
	v2Lines := strings.Split(strings.TrimSuffix(string(v2), "\n"), "\n")
	allLines := strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
	if len(v2Lines) != len(allLines) {
		t.Fatalf("%d v2 lines, %d all-fields lines", len(v2Lines), len(allLines))
	}
	pos := map[string]int{}
	for i, n := range cfg.Format.Names {
		pos[n] = i
	}
	for i := range v2Lines {
		got := strings.Fields(allLines[i])
		var proj []string
		for _, n := range flowlog.V2.Names {
			proj = append(proj, got[pos[n]])
		}
		proj[0] = "2"
		if p := strings.Join(proj, " "); p != v2Lines[i] {
			t.Fatalf("line %d:\n v2:        %s\n projected: %s", i+1, v2Lines[i], p)
		}
	}
}

// TestRecordsAreRealistic checks invariants every record should satisfy.
func TestRecordsAreRealistic(t *testing.T) {
	cfg := small(40_000)
	cfg.Format = gen.AllFields()
	data, tr := generate(t, cfg)
	b, _ := parse(t, data, cfg.Format)
	r := rows{b}
	owned := map[netip.Addr]string{} // address -> interface holding it
	ifType := map[string]string{}
	for _, f := range tr.Estate.Interfaces {
		owned[f.PrivateIP] = f.ID
		if f.IPv6.IsValid() {
			owned[f.IPv6] = f.ID
		}
		ifType[f.ID] = f.InterfaceType
	}
	t0, t1 := tr.Start.Unix(), tr.End.Unix()
	w := tr.WindowSeconds
	protos := map[int64]int{}
	type check struct {
		name string
		bad  func(i int) bool
	}
	checks := []check{
		{"start and end in one window of the range", func(i int) bool {
			s, e := r.n(schema.FStart, i), r.n(schema.FEnd, i)
			return s < t0 || e >= t1 || e < s || (s-t0)/w != (e-t0)/w
		}},
		{"windows in order", func(i int) bool {
			return i > 0 && (r.n(schema.FStart, i)-t0)/w < (r.n(schema.FStart, i-1)-t0)/w
		}},
		{"bytes per packet 40..1500", func(i int) bool {
			if !r.ok(i) {
				return false
			}
			p, by := r.n(schema.FPackets, i), r.n(schema.FBytes, i)
			return p < 1 || by < 40*p || by > 1500*p
		}},
		{"traffic fields NULL without data", func(i int) bool {
			if r.ok(i) {
				return !b.Valid(schema.FSrcAddr, i) || !b.Valid(schema.FBytes, i) || !b.Valid(schema.FAction, i)
			}
			return b.Valid(schema.FSrcAddr, i) || b.Valid(schema.FBytes, i) || b.Valid(schema.FAction, i) ||
				!b.Valid(schema.FInterfaceID, i) || !b.Valid(schema.FStart, i)
		}},
		{"flow-direction follows the interface's addresses", func(i int) bool {
			if !r.ok(i) {
				return false
			}
			eni := r.s(schema.FInterfaceID, i)
			egress := owned[r.ip(schema.FSrcAddr, i)] == eni
			ingress := owned[r.ip(schema.FDstAddr, i)] == eni
			dir := r.s(schema.FFlowDir, i)
			return (dir == "egress") != egress || (dir == "ingress") != ingress
		}},
		{"type matches the address family", func(i int) bool {
			if !r.ok(i) {
				return false
			}
			want := "IPv4"
			if r.ip(schema.FSrcAddr, i).Is6() {
				want = "IPv6"
			}
			return r.s(schema.FType, i) != want || r.ip(schema.FDstAddr, i).Is6() != (want == "IPv6")
		}},
		{"ICMP has no ports, TCP and UDP have them", func(i int) bool {
			if !r.ok(i) {
				return false
			}
			proto := r.n(schema.FProtocol, i)
			protos[proto]++
			sp, dp := r.n(schema.FSrcPort, i), r.n(schema.FDstPort, i)
			if proto == 1 || proto == 58 {
				return sp != 0 || dp != 0
			}
			return proto != 6 && proto != 17 || sp == 0 || dp == 0
		}},
		{"packet addresses differ only on NAT gateways", func(i int) bool {
			if !r.ok(i) {
				return false
			}
			same := r.ip(schema.FPktSrcAddr, i) == r.ip(schema.FSrcAddr, i) && r.ip(schema.FPktDstAddr, i) == r.ip(schema.FDstAddr, i)
			return !same && ifType[r.s(schema.FInterfaceID, i)] != "nat_gateway"
		}},
		{"traffic-path only on egress", func(i int) bool {
			return r.ok(i) && b.Valid(schema.MustLookup("traffic-path"), i) != (r.s(schema.FFlowDir, i) == "egress")
		}},
	}
	for _, c := range checks {
		bad := 0
		first := -1
		for i := 0; i < b.N; i++ {
			if c.bad(i) {
				bad++
				if first < 0 {
					first = i
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d records fail, first line %d: %s", c.name, bad, first+1, lineOf(data, first))
		}
	}
	for _, p := range []int64{1, 6, 17, 58} {
		if protos[p] == 0 {
			t.Errorf("no record with protocol %d", p)
		}
	}
	if protos[6] < protos[17] || protos[6] < b.N/2 {
		t.Errorf("protocol mix %v: TCP should dominate", protos)
	}
}

func lineOf(data []byte, i int) string {
	lines := bytes.SplitN(data, []byte{'\n'}, i+2)
	if i < 0 || i >= len(lines) {
		return ""
	}
	return string(lines[i])
}

// TestTrafficShape checks the traits of the background that analyses
// depend on: both directions recorded, NAT legs, heavy-tailed bytes and
// destinations, ephemeral client ports, common service ports.
func TestTrafficShape(t *testing.T) {
	cfg := small(60_000)
	cfg.Scenarios = gen.Scenarios{}
	cfg.Format = gen.AllFields()
	data, tr := generate(t, cfg)
	b, _ := parse(t, data, cfg.Format)
	r := rows{b}
	natIDs := map[string]bool{}
	for _, f := range tr.Estate.Interfaces {
		if f.InterfaceType == "nat_gateway" {
			natIDs[f.ID] = true
		}
	}
	type key struct {
		eni      string
		src, dst netip.Addr
		sp, dp   int64
		start    int64
	}
	seen := map[key]bool{}
	var bytesOK []int64
	dstPorts := map[int64]int{}
	extFlows := map[netip.Addr]int{}
	natRecords, ephemeralOK, clientFlows := 0, 0, 0
	for i := 0; i < b.N; i++ {
		if !r.ok(i) {
			continue
		}
		k := key{r.s(schema.FInterfaceID, i), r.ip(schema.FSrcAddr, i), r.ip(schema.FDstAddr, i),
			r.n(schema.FSrcPort, i), r.n(schema.FDstPort, i), r.n(schema.FStart, i)}
		seen[k] = true
		bytesOK = append(bytesOK, r.n(schema.FBytes, i))
		if natIDs[k.eni] {
			natRecords++
		}
		if r.s(schema.FFlowDir, i) == "egress" && !natIDs[k.eni] && k.dp < 1024 && r.n(schema.FProtocol, i) == 6 {
			clientFlows++
			if k.sp >= 32768 {
				ephemeralOK++
			}
			dstPorts[k.dp]++
			if !k.dst.IsPrivate() {
				extFlows[k.dst]++
			}
		}
	}
	// Every accepted egress record has its return flow on the same interface.
	missing := 0
	for i := 0; i < b.N; i++ {
		// A lone SYN (tcp-flags 2) may go unanswered.
		if !r.ok(i) || r.s(schema.FAction, i) != "ACCEPT" || r.s(schema.FFlowDir, i) != "egress" || r.n(schema.FTCPFlags, i) == 2 {
			continue
		}
		k := key{r.s(schema.FInterfaceID, i), r.ip(schema.FDstAddr, i), r.ip(schema.FSrcAddr, i),
			r.n(schema.FDstPort, i), r.n(schema.FSrcPort, i), r.n(schema.FStart, i)}
		if !seen[k] && !natIDs[k.eni] {
			missing++
		}
	}
	// Records are capped at the end of each window, so a few conversations
	// lose their last records.
	if missing > b.N/500 {
		t.Errorf("%d accepted egress records without their return flow", missing)
	}
	if natRecords < b.N/10 {
		t.Errorf("only %d of %d records on NAT gateways", natRecords, b.N)
	}
	if ephemeralOK*10 < clientFlows*9 {
		t.Errorf("only %d of %d client flows use ephemeral source ports", ephemeralOK, clientFlows)
	}
	for _, p := range []int64{443, 80, 22} {
		if dstPorts[p] == 0 {
			t.Errorf("no client flow to port %d", p)
		}
	}
	if dstPorts[443] < dstPorts[80] {
		t.Errorf("port 443 (%d flows) should beat port 80 (%d)", dstPorts[443], dstPorts[80])
	}
	// Heavy tails: the mean is far above the median, and the busiest
	// destination is far above the typical one.
	slices.Sort(bytesOK)
	var sum int64
	for _, x := range bytesOK {
		sum += x
	}
	median := bytesOK[len(bytesOK)/2]
	if mean := sum / int64(len(bytesOK)); mean < 10*median {
		t.Errorf("bytes mean %d, median %d: not heavy-tailed", mean, median)
	}
	counts := make([]int, 0, len(extFlows))
	for _, n := range extFlows {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	if top, mid := counts[len(counts)-1], counts[len(counts)/2]; top < 20*mid {
		t.Errorf("destination popularity top %d, median %d: not heavy-tailed", top, mid)
	}
}

// TestEveryFieldFilled checks that each catalog field gets real values
// somewhere in an all-fields file.
func TestEveryFieldFilled(t *testing.T) {
	cfg := small(20_000)
	cfg.Format = gen.AllFields()
	data, _ := generate(t, cfg)
	b, _ := parse(t, data, cfg.Format)
	for _, f := range schema.Fields {
		filled := false
		for i := 0; i < b.N && !filled; i++ {
			filled = b.Valid(f.ID, i)
		}
		if !filled {
			t.Errorf("field %s is never filled", f.Token)
		}
	}
}

func TestWriteTree(t *testing.T) {
	cfg := small(20_000)
	cfg.Duration = 30 * time.Minute
	dir := t.TempDir()
	tr, files, err := gen.WriteTree(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	vpcs := map[string]gen.VPCInfo{} // flow log id -> VPC
	account := map[string]string{}   // flow log id -> account
	eniVPC := map[string]string{}
	for _, a := range tr.Estate.Accounts {
		for _, v := range a.VPCs {
			vpcs[v.FlowLogID], account[v.FlowLogID] = v, a.ID
		}
	}
	for _, f := range tr.Estate.Interfaces {
		eniVPC[f.ID] = f.VPC
	}
	if want := 6 * len(vpcs); len(files) != want {
		t.Errorf("%d files, want %d (6 periods x %d VPCs)", len(files), want, len(vpcs))
	}
	total := 0
	for _, path := range files {
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			t.Fatal(err)
		}
		var acct, region, fl, stamp, hash string
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 8 || parts[0] != "AWSLogs" || parts[2] != "vpcflowlogs" {
			t.Fatalf("path %s is not AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/name", rel)
		}
		name := strings.TrimSuffix(parts[7], ".log.gz")
		f := strings.Split(name, "_")
		if len(f) != 6 || f[1] != "vpcflowlogs" || !strings.HasSuffix(parts[7], ".log.gz") {
			t.Fatalf("file name %s is not {account}_vpcflowlogs_{region}_{flowlogid}_{stamp}_{hash}.log.gz", parts[7])
		}
		acct, region, fl, stamp, hash = f[0], f[2], f[3], f[4], f[5]
		period, err := time.Parse("20060102T1504Z", stamp)
		if err != nil || len(hash) != 8 {
			t.Fatalf("%s: bad stamp %q or hash %q", rel, stamp, hash)
		}
		if acct != parts[1] || region != parts[3] || region != cfg.Region || account[fl] != acct {
			t.Errorf("%s: account/region/flow log disagree", rel)
		}
		if got := period.Format("2006/01/02"); got != strings.Join(parts[4:7], "/") {
			t.Errorf("%s: folder date %s, stamp %s", rel, strings.Join(parts[4:7], "/"), got)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		text, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if first, _, _ := strings.Cut(string(text), "\n"); first != cfg.Format.Header() {
			t.Errorf("%s: first line %q, want the header", rel, first)
		}
		b, st := parse(t, text, flowlog.V2)
		if st.Headers != 1 || b.N == 0 {
			t.Errorf("%s: %d headers, %d records", rel, st.Headers, b.N)
		}
		total += b.N
		r := rows{b}
		for i := 0; i < b.N; i++ {
			s := r.n(schema.FStart, i)
			if s < period.Unix() || s >= period.Unix()+300 {
				t.Fatalf("%s: record starting at %d is outside its 5-minute period", rel, s)
			}
			if r.s(schema.FAccountID, i) != acct || eniVPC[r.s(schema.FInterfaceID, i)] != vpcs[fl].ID {
				t.Fatalf("%s: line %d belongs to another flow log", rel, i+2)
			}
		}
	}
	if total != cfg.Records {
		t.Errorf("tree holds %d records, want %d", total, cfg.Records)
	}
	// The same config writes the same tree.
	dir2 := t.TempDir()
	_, files2, err := gen.WriteTree(cfg, dir2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		a, _ := filepath.Rel(dir, files[i])
		b, _ := filepath.Rel(dir2, files2[i])
		if a != b {
			t.Fatalf("file %d named %s, then %s", i, a, b)
		}
	}
}

func TestWriteIOCList(t *testing.T) {
	_, tr := generate(t, small(10_000))
	var buf bytes.Buffer
	if err := gen.WriteIOCList(tr, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if lines[0] != "ip,comment" {
		t.Fatalf("header %q", lines[0])
	}
	var got []gen.IOCEntry
	for _, l := range lines[1:] {
		ip, comment, ok := strings.Cut(l, ",")
		a, err := netip.ParseAddr(ip)
		if !ok || err != nil || comment == "" {
			t.Fatalf("bad row %q", l)
		}
		got = append(got, gen.IOCEntry{IP: a, Comment: comment})
	}
	var want []gen.IOCEntry
	for _, e := range tr.IOC {
		want = append(want, gen.IOCEntry{IP: e.IP, Comment: e.Comment})
	}
	if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
		t.Errorf("ioc list (-truth +csv):\n%s", diff)
	}
}

// TestGolden pins the exact output of a small run; -update rewrites it.
func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		format *flowlog.Format
	}{
		{"v2", flowlog.V2},
		{"all", gen.AllFields()},
		{"tgw", flowlog.TGW},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := gen.Config{Seed: 7, Records: 60, Duration: 3 * time.Minute, Format: tt.format, Header: true, IPv6Share: 0.2}
			got, _ := generate(t, cfg)
			path := filepath.Join("testdata", "seed7."+tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got), cmpOpts...); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestTruthJSON(t *testing.T) {
	_, tr := generate(t, small(10_000))
	var buf bytes.Buffer
	if err := tr.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"port_scan"`, `"distinct_ports": 1000`, `"exfiltration"`, `"ioc"`, `"interfaces"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("manifest lacks %s", key)
		}
	}
	if s := tr.String(); !strings.Contains(s, fmt.Sprint(tr.PortScan.Scanner)) {
		t.Errorf("summary %q does not name the scanner", s)
	}
}

func BenchmarkGenerate(b *testing.B) {
	cases := []struct {
		name string
		mod  func(*gen.Config)
	}{
		{"v2", func(*gen.Config) {}},
		{"v2-gzip", func(c *gen.Config) { c.Gzip = true }},
		{"all-fields", func(c *gen.Config) { c.Format = gen.AllFields() }},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			cfg := small(200_000)
			bc.mod(&cfg)
			// Throughput is measured in uncompressed bytes.
			plain := cfg
			plain.Gzip = false
			var n countingWriter
			if _, err := gen.Generate(plain, &n); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := gen.Generate(cfg, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cfg.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
