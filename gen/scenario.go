package gen

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
)

// plant builds the records of the planted scenarios, fills their parts of
// t, and returns the records ordered by time. Each scenario draws from its
// own random stream, so toggling one does not change another.
func (g *gen) plant(t *Truth) []rec {
	e := g.e
	sc := g.cfg.Scenarios
	saved := e.r
	defer func() { g.r, e.r = g.bg, saved }()
	use := func(k uint64) {
		r := rand.New(rand.NewPCG(g.cfg.Seed, 0x51ed270b27e5a3c1+k))
		g.r, e.r = r, r
	}
	var all []rec
	var attackers []IOCEntry
	if sc.PortScan.Enabled {
		use(1)
		recs := g.portScan()
		all = append(all, recs...)
		t.PortScan = portScanTruth(recs)
		attackers = append(attackers, IOCEntry{IP: t.PortScan.Scanner, Comment: "port scanner", Direction: "inbound"})
	}
	if sc.SSHBruteForce.Enabled {
		use(2)
		recs := g.bruteForce()
		all = append(all, recs...)
		t.SSHBruteForce = bruteForceTruth(recs)
		attackers = append(attackers, IOCEntry{IP: t.SSHBruteForce.Attacker, Comment: "ssh brute-force source", Direction: "inbound"})
	}
	if sc.Exfiltration.Enabled {
		use(3)
		recs := g.exfiltration()
		all = append(all, recs...)
		t.Exfiltration = exfilTruth(recs)
	}
	if sc.IOC.Enabled {
		use(4)
		list, recs := g.iocTraffic()
		all = append(all, recs...)
		list = append(list, attackers...)
		t.IOC = iocTruth(list, all)
	}
	all = append(all, g.plantExtra(t, use)...)
	t0 := g.cfg.Start.Unix()
	sort.SliceStable(all, func(i, j int) bool { return (all[i].start-t0)/g.win < (all[j].start-t0)/g.win })
	return all
}

// window returns the start of the window holding time ts.
func (g *gen) window(ts int64) int64 {
	t0 := g.cfg.Start.Unix()
	return t0 + (ts-t0)/g.win*g.win
}

// at begins a planted conversation at ts lasting about d seconds, clipped
// to its window.
func (g *gen) at(ts, d int64, proto int32) {
	ws := g.window(ts)
	g.begin(ts, min(ts+d, ws+g.win-1), proto)
}

// schedule places a scenario lasting d inside the time range and returns n
// event times spread over it.
func (g *gen) schedule(d int64, n int) []int64 {
	t0 := g.cfg.Start.Unix()
	total := numWindows(g.cfg) * g.win
	d = min(d, total)
	begin := t0 + g.r.Int64N(total-d+1)
	ts := make([]int64, n)
	for i := range ts {
		x := begin + int64(i)*d/int64(n)
		if d > int64(n) {
			x += g.r.Int64N(d / int64(n))
		}
		ts[i] = min(x, t0+total-1)
	}
	return ts
}

// newExternal allocates an internet address used nowhere else.
func (g *gen) newExternal() *addr { return g.e.newAddr(g.e.externalIP(), nil, "") }

// Ports a scanner tries first, in the order of how often they are open.
var scanFirst = []int32{80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995,
	993, 5900, 1025, 587, 8888, 199, 1720, 465, 548, 113, 81, 6001, 10000, 514, 5060, 179, 1026, 2000, 8443,
	8000, 32768, 554, 26, 1433, 49152, 2001, 515, 8008, 49154, 1027, 5666, 646, 5000, 5631, 631, 49153, 8081,
	2049, 88, 79, 5800, 106, 2121, 1110, 49155, 6000, 513, 990, 5357, 427, 49156, 543, 544, 5101, 144, 7}

func (g *gen) portScan() []rec {
	sc := g.cfg.Scenarios.PortScan
	target := g.e.vpcs[0].byRole[rolePubWeb][0]
	scanner := g.newExternal()
	ports := make([]int32, 0, sc.Ports)
	seen := make(map[int32]bool, sc.Ports)
	for _, p := range scanFirst {
		if len(ports) == sc.Ports {
			break
		}
		ports = append(ports, p)
		seen[p] = true
	}
	for len(ports) < sc.Ports {
		p := 1 + g.r.Int32N(65535)
		if len(ports) < 1000 && g.r.IntN(4) != 0 {
			p = 1 + g.r.Int32N(10000) // most scanners favour low ports
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	shuffle(g.r, ports)
	times := g.schedule(int64(sc.Duration.Seconds()), len(ports))
	sport := g.ephemeral(nil)
	var out []rec
	for i, p := range ports {
		open := p == 80 || p == 443
		g.at(times[i], 1, protoTCP)
		if open {
			g.pair(target, scanner, target.v4, sport, p, sizes{2, 84, 1, 44}, 6, 18)
		} else {
			g.reject = true
			g.leg(target, scanner, target.v4, scanner, target.v4, sport, p, 1, 44, 2)
			if g.r.IntN(4) == 0 { // the scanner retries a filtered port once
				g.leg(target, scanner, target.v4, scanner, target.v4, sport, p, 1, 44, 2)
			}
		}
		out = append(out, g.conv...)
	}
	return out
}

func portScanTruth(recs []rec) *PortScanTruth {
	r0 := recs[0]
	t := &PortScanTruth{
		Scanner: r0.src.ip, Target: r0.dst.ip, TargetPublic: r0.eni.pub.ip, TargetInterface: r0.eni.id,
		Start: r0.start, End: r0.end,
	}
	ports := map[int32]bool{}
	for i := range recs {
		r := &recs[i]
		t.Start, t.End = min(t.Start, r.start), max(t.End, r.end)
		if r.src.ip == t.Scanner || r.dst.ip == t.Scanner {
			t.Records++
		}
		if r.src.ip != t.Scanner || r.dst.ip != t.Target {
			continue
		}
		t.Probes++
		ports[r.dport] = true
		if r.reject {
			t.Rejected++
		} else if !slices.Contains(t.OpenPorts, r.dport) {
			t.OpenPorts = append(t.OpenPorts, r.dport)
		}
	}
	t.DistinctPorts = len(ports)
	slices.Sort(t.OpenPorts)
	return t
}

func (g *gen) bruteForce() []rec {
	sc := g.cfg.Scenarios.SSHBruteForce
	target := g.e.vpcs[0].byRole[roleBastion][0]
	attacker := g.newExternal()
	var out []rec
	for _, ts := range g.schedule(int64(sc.Duration.Seconds()), sc.Attempts) {
		g.at(ts, 2+g.r.Int64N(6), protoTCP)
		z := sizes{10 + g.r.Int64N(11), 0, 8 + g.r.Int64N(8), 0}
		z.reqB = z.reqP * (150 + g.r.Int64N(100))
		z.respB = z.respP * (200 + g.r.Int64N(150))
		g.inbound(target, attacker, g.ephemeral(nil), 22, z, 3, 19)
		out = append(out, g.conv...)
	}
	return out
}

func bruteForceTruth(recs []rec) *BruteForceTruth {
	r0 := recs[0]
	t := &BruteForceTruth{Attacker: r0.src.ip, Target: r0.dst.ip, TargetInterface: r0.eni.id, Start: r0.start, End: r0.end}
	for i := range recs {
		r := &recs[i]
		t.Start, t.End = min(t.Start, r.start), max(t.End, r.end)
		if r.src.ip == t.Attacker || r.dst.ip == t.Attacker {
			t.Records++
			t.Bytes += r.bytes
		}
		if r.src.ip == t.Attacker && r.dst.ip == t.Target && r.dport == 22 {
			t.Attempts++
		}
	}
	return t
}

func (g *gen) exfiltration() []rec {
	sc := g.cfg.Scenarios.Exfiltration
	apps := g.e.vpcs[0].byRole[roleApp]
	src := apps[g.r.IntN(len(apps))]
	dst := g.newExternal()
	// Split the total into flows of varying size that add up exactly.
	w := make([]float64, sc.Flows)
	sum := 0.0
	for i := range w {
		w[i] = 0.5 + g.r.Float64()
		sum += w[i]
	}
	var out []rec
	acc, prev := 0.0, int64(0)
	for i, ts := range g.schedule(int64(sc.Duration.Seconds()), sc.Flows) {
		acc += w[i]
		cut := int64(float64(sc.Bytes) * acc / sum)
		if i == sc.Flows-1 {
			cut = sc.Bytes
		}
		b := cut - prev
		prev = cut
		g.at(ts, g.win, protoTCP)
		z := sizes{reqB: b, reqP: g.packetsFor(b)}
		z.respP, z.respB = g.ackFor(z.reqP)
		g.outbound(src, dst, g.ephemeral(src), 443, z, 3, 19)
		out = append(out, g.conv...)
	}
	return out
}

func exfilTruth(recs []rec) *ExfilTruth {
	r0 := recs[0]
	src := r0.eni
	t := &ExfilTruth{
		Source: r0.src.ip, SourceInterface: src.id, Destination: r0.dst.ip, Port: r0.dport,
		NATInterface: src.nat.id, NATAddress: src.nat.v4.ip, Start: r0.start, End: r0.end,
	}
	for i := range recs {
		r := &recs[i]
		t.Start, t.End = min(t.Start, r.start), max(t.End, r.end)
		if touches(r, t.Destination, true) {
			t.Records++
		}
		if r.src.ip == t.Source && r.dst.ip == t.Destination {
			t.Flows++
			t.Bytes += r.bytes
		}
	}
	return t
}

// touches reports whether r has ip as srcaddr or dstaddr (or, with pkt,
// as pkt-srcaddr or pkt-dstaddr).
func touches(r *rec, ip netip.Addr, pkt bool) bool {
	if r.status != stOK {
		return false
	}
	if r.src.ip == ip || r.dst.ip == ip {
		return true
	}
	return pkt && (r.psrc.ip == ip || r.pdst.ip == ip)
}

var iocComments = []string{"c2 server", "tor exit node", "malware distribution", "phishing host",
	"cryptomining pool", "botnet scanner", "credential stuffing source", "known bad reputation"}

// iocTraffic generates the indicator list and the traffic of its contacted
// entries: beacons from internal hosts through NAT for even entries,
// rejected inbound probes for odd ones.
func (g *gen) iocTraffic() ([]IOCEntry, []rec) {
	sc := g.cfg.Scenarios.IOC
	e := g.e
	list := make([]IOCEntry, sc.ListSize)
	addrs := make([]*addr, sc.ListSize)
	for i := range list {
		addrs[i] = g.newExternal()
		list[i] = IOCEntry{IP: addrs[i].ip, Comment: iocComments[g.r.IntN(len(iocComments))]}
	}
	contacted := g.r.Perm(sc.ListSize)[:sc.Contacted]
	slices.Sort(contacted)
	var out []rec
	for n, idx := range contacted {
		ioc := addrs[idx]
		times := g.schedule(numWindows(g.cfg)*g.win, sc.FlowsPerIP)
		if n%2 == 0 {
			list[idx].Comment, list[idx].Direction = "c2 server", "outbound"
			var h *iface
			for h == nil || h.pub != nil || h.nat == nil {
				h = e.compute[g.r.IntN(len(e.compute))]
			}
			for _, ts := range times {
				g.at(ts, 1+g.r.Int64N(3), protoTCP)
				z := sizes{reqB: 300 + g.r.Int64N(600), respB: 200 + g.r.Int64N(2800)}
				z.reqP, z.respP = g.packetsFor(z.reqB), g.packetsFor(z.respB)
				g.outbound(h, ioc, g.ephemeral(h), 443, z, 3, 19)
				out = append(out, g.conv...)
			}
			continue
		}
		list[idx].Comment, list[idx].Direction = "botnet scanner", "inbound"
		for _, ts := range times {
			target := e.public[g.r.IntN(len(e.public))]
			port := []int32{3389, 445, 23, 1433}[g.r.IntN(4)]
			g.at(ts, 1, protoTCP)
			g.reject, g.bpa = true, target.vpc.bpa
			g.inbound(target, ioc, g.ephemeral(nil), port, sizes{1, 44 + g.r.Int64N(17), 0, 0}, 2, 0)
			out = append(out, g.conv...)
		}
	}
	return list, out
}

func iocTruth(list []IOCEntry, recs []rec) []IOCEntry {
	for i := range list {
		en := &list[i]
		hosts := map[netip.Addr]bool{}
		for j := range recs {
			r := &recs[j]
			if touches(r, en.IP, true) {
				en.PktRecords++
			}
			if !touches(r, en.IP, false) {
				continue
			}
			en.Records++
			en.Bytes += r.bytes
			if r.src.ip == en.IP {
				hosts[r.dst.ip] = true
			} else {
				hosts[r.src.ip] = true
			}
		}
		for h := range hosts {
			en.Hosts = append(en.Hosts, h)
		}
		slices.SortFunc(en.Hosts, func(a, b netip.Addr) int { return a.Compare(b) })
	}
	return list
}
