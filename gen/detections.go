package gen

import (
	"net/netip"
	"time"
)

// Extra holds the opt-in scenarios planted for the detection rules. They
// are off unless Enabled, are not switched on by "all" (so existing seeds
// and flags keep producing the same bytes), and each draws from its own
// random stream.
type Extra struct {
	// Sweep plants an internal host trying port 445 on every interface of
	// its VPC (a horizontal scan; the targets reject it).
	Sweep Sweep
	// Bypass plants internet clients reaching a web instance behind the
	// load balancer directly on port 443.
	Bypass Bypass
	// DBEgress plants an RDS interface uploading to an external address
	// and a MongoDB on an internet-facing instance answering an external
	// client with a large response.
	DBEgress DBEgress
	// SkipData plants a burst of SKIPDATA records on two interfaces.
	SkipData SkipData
	// DNS plants an internal host querying an external resolver that is
	// not one of the estate's usual ones.
	DNS DNS
	// Tunnel plants GRE traffic between an internet-facing instance and
	// an external peer.
	Tunnel Tunnel
	// NewDest plants internal hosts starting, near the end of the time
	// range, to talk to an external address never contacted before.
	NewDest NewDest
}

// Sweep is the horizontal-scan scenario.
type Sweep struct {
	Enabled bool
	// Port is the port tried. Zero means 445.
	Port int32
}

// Bypass is the load-balancer bypass scenario.
type Bypass struct {
	Enabled bool
	// Flows is the number of client connections. Zero means 20.
	Flows int
}

// DBEgress is the database egress scenario.
type DBEgress struct {
	Enabled bool
	// Bytes is what each of the two databases sends out. Zero means 50 MB.
	Bytes int64
}

// SkipData is the SKIPDATA burst scenario.
type SkipData struct {
	Enabled bool
	// Windows is the number of consecutive capture windows with a SKIPDATA
	// record on each of the two interfaces. Zero means 8.
	Windows int
}

// DNS is the unapproved-resolver scenario.
type DNS struct {
	Enabled bool
	// Queries is the number of queries. Zero means 30.
	Queries int
}

// Tunnel is the unusual-protocol scenario.
type Tunnel struct {
	Enabled bool
	// Protocol is the IP protocol number. Zero means 47 (GRE).
	Protocol int32
}

// NewDest is the egress-drift scenario.
type NewDest struct {
	Enabled bool
	// Flows is the number of connections. Zero means 90.
	Flows int
	// Duration is how long before the end of the time range the new
	// destination appears. Zero means 3 hours (clipped to the range).
	Duration time.Duration
}

func (x Extra) withDefaults() Extra {
	if x.Sweep.Port == 0 {
		x.Sweep.Port = 445
	}
	if x.Bypass.Flows == 0 {
		x.Bypass.Flows = 20
	}
	if x.DBEgress.Bytes == 0 {
		x.DBEgress.Bytes = 50_000_000
	}
	if x.SkipData.Windows == 0 {
		x.SkipData.Windows = 8
	}
	if x.DNS.Queries == 0 {
		x.DNS.Queries = 30
	}
	if x.Tunnel.Protocol == 0 {
		x.Tunnel.Protocol = 47
	}
	if x.NewDest.Flows == 0 {
		x.NewDest.Flows = 90
	}
	if x.NewDest.Duration == 0 {
		x.NewDest.Duration = 3 * time.Hour
	}
	return x
}

// SweepTruth describes the planted sweep.
type SweepTruth struct {
	Source          netip.Addr `json:"source"`
	SourceInterface string     `json:"source_interface"`
	Port            int32      `json:"port"`
	// Targets counts the distinct addresses that rejected the sweep.
	Targets    int   `json:"targets"`
	Start, End int64 `json:"-"`
}

// BypassTruth describes the planted load-balancer bypass.
type BypassTruth struct {
	Target          netip.Addr   `json:"target"`
	TargetInterface string       `json:"target_interface"`
	InstanceID      string       `json:"instance_id"`
	Port            int32        `json:"port"`
	Clients         []netip.Addr `json:"clients"`
	// Flows counts the client -> target records.
	Flows int `json:"flows"`
}

// DBEgressTruth describes the planted database egress.
type DBEgressTruth struct {
	// RDS is the RDS interface's address; it uploads RDSBytes to
	// RDSDestination.
	RDS            netip.Addr `json:"rds"`
	RDSInterface   string     `json:"rds_interface"`
	RDSDestination netip.Addr `json:"rds_destination"`
	RDSBytes       int64      `json:"rds_bytes"`
	// PortHost answers PortClient from Port with PortBytes.
	PortHost   netip.Addr `json:"port_host"`
	PortClient netip.Addr `json:"port_client"`
	Port       int32      `json:"port"`
	PortBytes  int64      `json:"port_bytes"`
}

// SkipDataTruth describes the planted SKIPDATA burst.
type SkipDataTruth struct {
	Interfaces []string `json:"interfaces"`
	// Records counts the planted SKIPDATA records (per interface: Windows).
	Records int   `json:"records"`
	Start   int64 `json:"start"`
	End     int64 `json:"end"`
}

// DNSTruth describes the planted queries to an unapproved resolver.
type DNSTruth struct {
	Source   netip.Addr `json:"source"`
	Resolver netip.Addr `json:"resolver"`
	Queries  int        `json:"queries"`
}

// TunnelTruth describes the planted tunnel.
type TunnelTruth struct {
	Source   netip.Addr `json:"source"`
	Peer     netip.Addr `json:"peer"`
	Protocol int32      `json:"protocol"`
	Records  int        `json:"records"`
}

// NewDestTruth describes the planted new destination.
type NewDestTruth struct {
	Destination netip.Addr   `json:"destination"`
	Sources     []netip.Addr `json:"sources"`
	// Flows counts the records from the sources to Destination.
	Flows int   `json:"flows"`
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// ExtraTruth holds the facts of the extra scenarios that were planted.
type ExtraTruth struct {
	Sweep    *SweepTruth    `json:"sweep,omitempty"`
	Bypass   *BypassTruth   `json:"bypass,omitempty"`
	DBEgress *DBEgressTruth `json:"db_egress,omitempty"`
	SkipData *SkipDataTruth `json:"skip_data,omitempty"`
	DNS      *DNSTruth      `json:"dns,omitempty"`
	Tunnel   *TunnelTruth   `json:"tunnel,omitempty"`
	NewDest  *NewDestTruth  `json:"new_dest,omitempty"`
}

// plantExtra builds the records of the extra scenarios; use selects a
// scenario's random stream.
func (g *gen) plantExtra(t *Truth, use func(uint64)) []rec {
	x := g.cfg.Extra.withDefaults()
	var all []rec
	if x.Sweep.Enabled {
		use(5)
		recs, tr := g.sweep(x.Sweep)
		all = append(all, recs...)
		t.Extra.Sweep = tr
	}
	if x.Bypass.Enabled {
		use(6)
		recs, tr := g.bypass(x.Bypass)
		all = append(all, recs...)
		t.Extra.Bypass = tr
	}
	if x.DBEgress.Enabled {
		use(7)
		recs, tr := g.dbEgress(x.DBEgress)
		all = append(all, recs...)
		t.Extra.DBEgress = tr
	}
	if x.SkipData.Enabled {
		use(8)
		recs, tr := g.skipData(x.SkipData)
		all = append(all, recs...)
		t.Extra.SkipData = tr
	}
	if x.DNS.Enabled {
		use(9)
		recs, tr := g.dnsResolver(x.DNS)
		all = append(all, recs...)
		t.Extra.DNS = tr
	}
	if x.Tunnel.Enabled {
		use(10)
		recs, tr := g.tunnel(x.Tunnel)
		all = append(all, recs...)
		t.Extra.Tunnel = tr
	}
	if x.NewDest.Enabled {
		use(11)
		recs, tr := g.newDest(x.NewDest)
		all = append(all, recs...)
		t.Extra.NewDest = tr
	}
	return all
}

func (g *gen) sweep(sc Sweep) ([]rec, *SweepTruth) {
	v := g.e.vpcs[0]
	apps := v.byRole[roleApp]
	src := apps[g.r.IntN(len(apps))]
	var targets []*iface
	for _, f := range g.e.ifaces {
		if f.vpc == v && f != src && f.role != roleTGW && f.role != roleNAT {
			targets = append(targets, f)
		}
	}
	shuffle(g.r, targets)
	tr := &SweepTruth{Source: src.v4.ip, SourceInterface: src.id, Port: sc.Port}
	var out []rec
	times := g.schedule(300, len(targets))
	for i, t := range targets {
		g.at(times[i], 1, protoTCP)
		sp := g.ephemeral(src)
		g.leg(src, src.v4, t.v4, src.v4, t.v4, sp, sc.Port, 1, 52, 2)
		g.reject = true
		g.leg(t, src.v4, t.v4, src.v4, t.v4, sp, sc.Port, 1, 52, 2)
		out = append(out, g.conv...)
	}
	tr.Targets = len(targets)
	tr.Start, tr.End = times[0], times[len(times)-1]
	return out, tr
}

func (g *gen) bypass(sc Bypass) ([]rec, *BypassTruth) {
	webs := g.e.vpcs[0].byRole[roleWeb]
	target := webs[g.r.IntN(len(webs))]
	clients := []*addr{g.newExternal(), g.newExternal(), g.newExternal(), g.newExternal(), g.newExternal()}
	tr := &BypassTruth{Target: target.v4.ip, TargetInterface: target.id, InstanceID: target.instanceID, Port: 443}
	for _, c := range clients {
		tr.Clients = append(tr.Clients, c.ip)
	}
	var out []rec
	for i, ts := range g.schedule(1200, sc.Flows) {
		g.at(ts, 1+g.r.Int64N(20), protoTCP)
		g.inbound(target, clients[i%len(clients)], g.ephemeral(nil), 443, g.web(900, 20000), 3, 19)
		out = append(out, g.conv...)
		tr.Flows++
	}
	return out, tr
}

func (g *gen) dbEgress(sc DBEgress) ([]rec, *DBEgressTruth) {
	v := g.e.vpcs[0]
	var rds *iface
	for _, f := range v.byRole[roleRDS] {
		if !f.idle {
			rds = f
			break
		}
	}
	host := v.byRole[rolePubWeb][len(v.byRole[rolePubWeb])-1]
	dst, client := g.newExternal(), g.newExternal()
	tr := &DBEgressTruth{RDS: rds.v4.ip, RDSInterface: rds.id, RDSDestination: dst.ip, PortHost: host.v4.ip,
		PortClient: client.ip, Port: 27017}
	var out []rec
	const flows = 5
	times := g.schedule(1800, 2*flows)
	for i := 0; i < flows; i++ {
		b := sc.Bytes / flows
		g.at(times[2*i], 5+g.r.Int64N(20), protoTCP)
		z := sizes{reqB: b, reqP: g.packetsFor(b)}
		z.respP, z.respB = g.ackFor(z.reqP)
		g.outbound(rds, dst, g.ephemeral(nil), 443, z, 3, 19)
		out = append(out, g.conv...)
		tr.RDSBytes += b
		g.at(times[2*i+1], 5+g.r.Int64N(20), protoTCP)
		z = sizes{reqP: 4, reqB: 400, respB: b, respP: g.packetsFor(b)}
		g.inbound(host, client, g.ephemeral(nil), 27017, z, 3, 19)
		out = append(out, g.conv...)
		tr.PortBytes += b
	}
	return out, tr
}

func (g *gen) skipData(sc SkipData) ([]rec, *SkipDataTruth) {
	var busy []*iface
	for len(busy) < 2 {
		f := g.e.compute[g.r.IntN(len(g.e.compute))]
		if len(busy) == 0 || busy[0] != f {
			busy = append(busy, f)
		}
	}
	n := min(int64(sc.Windows), numWindows(g.cfg))
	w0 := g.r.Int64N(numWindows(g.cfg) - n + 1)
	t0 := g.cfg.Start.Unix()
	tr := &SkipDataTruth{}
	for _, f := range busy {
		tr.Interfaces = append(tr.Interfaces, f.id)
	}
	var out []rec
	for w := w0; w < w0+n; w++ {
		ws := t0 + w*g.win
		for _, f := range busy {
			s := ws + g.r.Int64N(min(3, g.win))
			e := max(s, ws+g.win-1-g.r.Int64N(min(3, g.win)))
			out = append(out, rec{eni: f, status: stSkipData, start: s, end: e})
			tr.Records++
		}
	}
	tr.Start, tr.End = out[0].start, out[len(out)-1].end
	return out, tr
}

func (g *gen) dnsResolver(sc DNS) ([]rec, *DNSTruth) {
	var h *iface
	for h == nil || h.pub != nil || h.nat == nil || h.role == roleDC {
		h = g.e.compute[g.r.IntN(len(g.e.compute))]
	}
	res := g.newExternal()
	tr := &DNSTruth{Source: h.v4.ip, Resolver: res.ip}
	var out []rec
	for _, ts := range g.schedule(1800, sc.Queries) {
		g.at(ts, 1, protoUDP)
		g.outbound(h, res, g.ephemeral(h), 53, g.small(60, 90, 90, 480), 0, 0)
		out = append(out, g.conv...)
		tr.Queries++
	}
	return out, tr
}

func (g *gen) tunnel(sc Tunnel) ([]rec, *TunnelTruth) {
	h := g.e.vpcs[0].byRole[roleBastion][0]
	peer := g.newExternal()
	tr := &TunnelTruth{Source: h.v4.ip, Peer: peer.ip, Protocol: sc.Protocol}
	var out []rec
	for _, ts := range g.schedule(1200, 6) {
		g.at(ts, 30, sc.Protocol)
		n := 20 + g.r.Int64N(200)
		g.pair(h, h.v4, peer, 0, 0, sizes{n, n * 400, n, n * 380}, 0, 0)
		out = append(out, g.conv...)
		tr.Records += 1
	}
	return out, tr
}

func (g *gen) newDest(sc NewDest) ([]rec, *NewDestTruth) {
	dst := g.newExternal()
	var hosts []*iface
	for len(hosts) < 3 {
		h := g.e.compute[g.r.IntN(len(g.e.compute))]
		if h.pub == nil && h.nat != nil && !containsIface(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	tr := &NewDestTruth{Destination: dst.ip}
	for _, h := range hosts {
		tr.Sources = append(tr.Sources, h.v4.ip)
	}
	total := numWindows(g.cfg) * g.win
	d := min(int64(sc.Duration/time.Second), total)
	t0 := g.cfg.Start.Unix() + total - d
	var out []rec
	for i := 0; i < sc.Flows; i++ {
		ts := t0 + int64(i)*d/int64(sc.Flows) + g.r.Int64N(max(1, d/int64(sc.Flows)))
		g.at(ts, 1+g.r.Int64N(5), protoTCP)
		z := sizes{reqB: 400 + g.r.Int64N(800), respB: 300 + g.r.Int64N(3000)}
		z.reqP, z.respP = g.packetsFor(z.reqB), g.packetsFor(z.respB)
		g.outbound(hosts[i%len(hosts)], dst, g.ephemeral(nil), 443, z, 3, 19)
		out = append(out, g.conv...)
		tr.Flows++
		if tr.Start == 0 {
			tr.Start = ts
		}
		tr.End = ts
	}
	return out, tr
}

func containsIface(list []*iface, f *iface) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}
