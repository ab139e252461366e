package gen

import (
	"math"
	"math/rand/v2"
)

// status is a record's log-status.
type status uint8

const (
	stOK status = iota
	stNoData
	stSkipData
)

// rec is one flow-log record before rendering.
type rec struct {
	eni        *iface
	src, dst   *addr
	psrc, pdst *addr
	nextHop    *iface
	sport      int32
	dport      int32
	proto      int32
	flags      int32
	packets    int64
	bytes      int64
	start, end int64
	lost       int64 // packets-lost-no-route (Transit Gateway fields)
	status     status
	reject     bool
	bpa        bool
	egress     bool
	path       int8 // traffic-path; 0 when not applicable
	enc        int8 // encryption-status
}

// Protocol numbers.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// gen holds the state of one generation run.
type gen struct {
	cfg Config
	e   *estate
	r   *rand.Rand // current stream: background or scenario planning
	bg  *rand.Rand

	hostZ, extZ, ext6Z, cliZ, cli6Z *rand.Zipf

	win int64 // window length in seconds

	fixed []rec // NODATA and SKIPDATA records of the current window

	// The conversation being built: its records, times and verdict.
	conv   []rec
	t0, t1 int64
	proto  int32
	reject bool
	bpa    bool
}

func newGen(cfg Config, e *estate) *gen {
	bg := rand.New(rand.NewPCG(cfg.Seed, 0x2545f4914f6cdd1d))
	g := &gen{cfg: cfg, e: e, r: bg, bg: bg, win: int64(cfg.Window / 1e9)}
	zipf := func(n int, s, v float64) *rand.Zipf { return rand.NewZipf(bg, s, v, uint64(n-1)) }
	g.hostZ = zipf(len(e.compute), 1.1, 3)
	g.extZ = zipf(len(e.ext4), 1.15, 4)
	g.ext6Z = zipf(len(e.ext6), 1.15, 4)
	g.cliZ = zipf(len(e.clients4), 1.05, 10)
	g.cli6Z = zipf(len(e.clients6), 1.05, 10)
	return g
}

// begin starts a conversation.
func (g *gen) begin(t0, t1 int64, proto int32) {
	g.conv = g.conv[:0]
	g.t0, g.t1, g.proto = t0, t1, proto
	g.reject, g.bpa = false, false
}

// span picks start and end times inside the window starting at ws.
func (g *gen) span(ws int64, short bool) (int64, int64) {
	s := ws + g.r.Int64N(g.win)
	left := ws + g.win - s // >= 1
	if short {
		return s, s + g.r.Int64N(min(left, 3))
	}
	return s, s + g.r.Int64N(left)
}

// leg appends one record seen on eni. Direction, traffic path, next hop and
// encryption status follow from the addresses.
func (g *gen) leg(eni *iface, src, dst, psrc, pdst *addr, sp, dp int32, packets, bytes int64, flags int32) {
	r := rec{
		eni: eni, src: src, dst: dst, psrc: psrc, pdst: pdst,
		sport: sp, dport: dp, proto: g.proto, flags: flags,
		packets: packets, bytes: bytes, start: g.t0, end: g.t1,
		reject: g.reject, bpa: g.bpa, egress: src.owner == eni,
	}
	if g.proto != protoTCP {
		r.flags = 0
	}
	if r.egress {
		r.path, r.nextHop = route(eni, dst)
	}
	r.enc = encryption(&r)
	if r.reject && !r.egress && src.owner == nil && g.r.IntN(8) == 0 {
		r.lost = 1 + g.r.Int64N(3)
	}
	g.conv = append(g.conv, r)
}

// route says how egress traffic from eni to dst leaves: the traffic-path
// code and the next-hop interface, if one is in the estate.
func route(eni *iface, dst *addr) (int8, *iface) {
	igw := int8(8) // through an internet gateway (Nitro)
	gwe := int8(7) // through a gateway VPC endpoint (Nitro)
	if !eni.nitro {
		igw, gwe = 2, 2
	}
	switch {
	case dst.owner != nil && dst.owner.vpc != eni.vpc:
		return 1, eni.vpc.tgw[eni.subnet.az]
	case dst.owner != nil:
		return 1, nil
	case dst.svc == "S3" && eni.vpc.s3Endpoint && eni.role != roleNAT:
		return gwe, nil
	case eni.role == roleNAT || eni.pub != nil || dst.ip.Is6():
		return igw, nil
	}
	return 1, eni.nat
}

func tlsPort(p int32) bool {
	return p == 443 || p == 8443 || p == 22 || p == 636 || p == 993 || p == 5671
}

// encryption derives encryption-status: 1 for Nitro-encrypted traffic
// between instances, 2 for application-layer encryption (TLS, SSH), 3 both.
func encryption(r *rec) int8 {
	var e int8
	if tlsPort(r.sport) || tlsPort(r.dport) {
		e = 2
	}
	if r.src.owner != nil && r.dst.owner != nil && r.src.owner.nitro && r.dst.owner.nitro {
		e |= 1
	}
	return e
}

// lognorm draws a log-normal value with the given median, clamped.
func (g *gen) lognorm(median, sigma float64, lo, hi int64) int64 {
	x := int64(median * math.Exp(sigma*g.r.NormFloat64()))
	return max(lo, min(hi, x))
}

// pareto draws a Pareto value with scale xm and shape alpha, clamped.
func (g *gen) pareto(xm, alpha float64, hi int64) int64 {
	x := xm / math.Pow(1-g.r.Float64(), 1/alpha)
	if x > float64(hi) {
		return hi
	}
	return int64(x)
}

// packetsFor picks a packet count that keeps bytes per packet between 40
// and 1500.
func (g *gen) packetsFor(bytes int64) int64 {
	lo := (bytes + 1499) / 1500
	hi := max(lo, bytes/40)
	span := min(hi-lo, 2*lo+8)
	return lo + g.r.Int64N(span+1)
}

// ackFor sizes the acknowledgement stream of a bulk transfer of p packets.
func (g *gen) ackFor(p int64) (int64, int64) {
	ap := max(1, p/2+g.r.Int64N(p/8+1))
	return ap, ap * (52 + g.r.Int64N(8))
}

// sizes is the traffic of one conversation in each direction.
type sizes struct{ reqP, reqB, respP, respB int64 }

// web draws a request/response exchange: small requests, heavy-tailed
// responses with an occasional bulk download.
func (g *gen) web(reqMed, respMed float64) sizes {
	var s sizes
	s.reqB = g.lognorm(reqMed, 1.0, 40, 50<<20)
	if g.r.IntN(200) == 0 {
		s.respB = g.pareto(20<<20, 1.2, 4<<30)
	} else {
		s.respB = g.lognorm(respMed, 2.0, 40, 2<<30)
	}
	s.reqP, s.respP = g.packetsFor(s.reqB), g.packetsFor(s.respB)
	if s.respP > 4*s.reqP { // the client acknowledges a long response
		s.reqP, s.reqB = g.ackFor(s.respP)
		s.reqB += g.lognorm(reqMed, 1.0, 0, 1<<20)
		s.reqP = max(s.reqP, (s.reqB+1499)/1500)
	}
	return s
}

// small draws a single-datagram exchange (DNS, NTP).
func (g *gen) small(reqLo, reqHi, respLo, respHi int64) sizes {
	return sizes{1, reqLo + g.r.Int64N(reqHi-reqLo+1), 1, respLo + g.r.Int64N(respHi-respLo+1)}
}

// tcpFlags draws the flags of the client and server side: the whole
// connection in the window, only its opening, its middle, its close, or a
// reset.
func (g *gen) tcpFlags() (int32, int32) {
	switch x := g.r.IntN(100); {
	case x < 62:
		return 3, 19
	case x < 77:
		return 2, 18
	case x < 90:
		return 0, 0
	case x < 97:
		return 1, 1
	default:
		return 6, 18
	}
}

// ephemeral is a client source port in the OS's ephemeral range.
func (g *gen) ephemeral(h *iface) int32 {
	if h != nil && h.windows {
		return 49152 + g.r.Int32N(16384)
	}
	return 32768 + g.r.Int32N(60999-32768+1)
}

func (g *gen) useV6() bool { return g.cfg.IPv6Share > 0 && g.r.Float64() < g.cfg.IPv6Share }

// pair records a conversation from client address c to server address s on
// one interface: the request and the response.
func (g *gen) pair(on *iface, c, s *addr, cp, sp int32, z sizes, cf, sf int32) {
	g.leg(on, c, s, c, s, cp, sp, z.reqP, z.reqB, cf)
	g.leg(on, s, c, s, c, sp, cp, z.respP, z.respB, sf)
}

// internal records a conversation between two interfaces of the estate on
// both of them.
func (g *gen) internal(c, s *iface, v6 bool, cp, sp int32, z sizes, cf, sf int32) {
	ca, sa := c.v4, s.v4
	if v6 && c.v6 != nil && s.v6 != nil {
		ca, sa = c.v6, s.v6
	}
	g.pair(c, ca, sa, cp, sp, z, cf, sf)
	g.pair(s, ca, sa, cp, sp, z, cf, sf)
}

// outbound records host h talking to an internet address: directly when h
// has a public address or uses IPv6 (two records), otherwise through its
// NAT gateway (two records on h, four on the gateway).
func (g *gen) outbound(h *iface, ext *addr, cp, sp int32, z sizes, cf, sf int32) {
	if ext.ip.Is6() {
		g.pair(h, h.v6, ext, cp, sp, z, cf, sf)
		return
	}
	if h.pub != nil || (ext.svc == "S3" && h.vpc.s3Endpoint) {
		g.pair(h, h.v4, ext, cp, sp, z, cf, sf)
		return
	}
	nat := h.nat
	np := 1024 + g.r.Int32N(65535-1024+1)
	g.pair(h, h.v4, ext, cp, sp, z, cf, sf)
	g.leg(nat, h.v4, nat.v4, h.v4, ext, cp, sp, z.reqP, z.reqB, cf)
	g.leg(nat, nat.v4, ext, nat.v4, ext, np, sp, z.reqP, z.reqB, cf)
	g.leg(nat, ext, nat.v4, ext, nat.v4, sp, np, z.respP, z.respB, sf)
	g.leg(nat, nat.v4, h.v4, ext, h.v4, sp, cp, z.respP, z.respB, sf)
}

// inbound records an internet client reaching interface s (accepted and
// answered, or rejected when g.reject is set: one record).
func (g *gen) inbound(s *iface, c *addr, cp, sp int32, z sizes, cf, sf int32) {
	sa := s.v4
	if c.ip.Is6() {
		sa = s.v6
	}
	if g.reject {
		g.leg(s, c, sa, c, sa, cp, sp, z.reqP, z.reqB, cf)
		return
	}
	g.pair(s, c, sa, cp, sp, z, cf, sf)
}

// Background conversation kinds and their weights.
type kind uint8

const (
	kNATEgress kind = iota
	kPublicEgress
	kALB
	kALBTarget
	kEastWest
	kCrossVPC
	kDNS
	kNTP
	kS3
	kAdmin
	kICMP
	kProbe
	kEgressReject
	numKinds
)

var kindWeights = [numKinds]int{
	kNATEgress: 270, kPublicEgress: 45, kALB: 140, kALBTarget: 100, kEastWest: 150, kCrossVPC: 30,
	kDNS: 60, kNTP: 15, kS3: 40, kAdmin: 12, kICMP: 12, kProbe: 90, kEgressReject: 6,
}

// kindTable maps a uniform draw to a kind.
type kindTable struct {
	cum   [numKinds]int
	total int
}

func newKindTable(crossVPC bool) kindTable {
	var t kindTable
	for k := kind(0); k < numKinds; k++ {
		w := kindWeights[k]
		if k == kCrossVPC && !crossVPC {
			w = 0
		}
		t.total += w
		t.cum[k] = t.total
	}
	return t
}

func (t *kindTable) pick(r *rand.Rand) kind {
	x := r.IntN(t.total)
	for k := kind(0); k < numKinds; k++ {
		if x < t.cum[k] {
			return k
		}
	}
	return kNATEgress
}

// Ports internet scanners knock on, with weights; port 0 means ICMP echo.
var probePorts = []struct {
	port   int32
	proto  int32
	weight int
}{
	{22, protoTCP, 15}, {23, protoTCP, 8}, {3389, protoTCP, 8}, {445, protoTCP, 8}, {80, protoTCP, 6},
	{443, protoTCP, 5}, {8080, protoTCP, 5}, {1433, protoTCP, 3}, {3306, protoTCP, 3}, {5900, protoTCP, 3},
	{6379, protoTCP, 3}, {9200, protoTCP, 2}, {25, protoTCP, 2}, {21, protoTCP, 2}, {5060, protoUDP, 2},
	{161, protoUDP, 1}, {123, protoUDP, 1}, {0, protoICMP, 5},
}

var probeTotal = func() int {
	t := 0
	for _, p := range probePorts {
		t += p.weight
	}
	return t
}()

// Outbound destination ports with weights.
var egressPorts = []struct {
	port   int32
	weight int
}{{443, 80}, {80, 12}, {8443, 3}, {22, 1}, {993, 1}, {587, 1}, {5222, 1}, {9418, 1}}

func (g *gen) egressPort() int32 {
	x := g.r.IntN(100)
	for _, p := range egressPorts {
		if x < p.weight {
			return p.port
		}
		x -= p.weight
	}
	return 443
}

func pickOne[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// background builds one background conversation in the window starting at
// ws into g.conv.
func (g *gen) background(k kind, ws int64) {
	e, r := g.e, g.r
	switch k {
	case kNATEgress, kPublicEgress:
		var h *iface
		if k == kNATEgress {
			h = e.compute[g.hostZ.Uint64()]
		} else {
			h = pickOne(r, e.public)
		}
		t0, t1 := g.span(ws, false)
		g.begin(t0, t1, protoTCP)
		ext := e.ext4[g.extZ.Uint64()]
		if h.v6 != nil && g.useV6() {
			ext = e.ext6[g.ext6Z.Uint64()]
		}
		cf, sf := g.tcpFlags()
		g.outbound(h, ext, g.ephemeral(h), g.egressPort(), g.web(700, 6000), cf, sf)

	case kALB:
		lb := pickOne(r, e.albs)
		c := e.clients4[g.cliZ.Uint64()]
		if g.useV6() {
			c = e.clients6[g.cli6Z.Uint64()]
		}
		port := int32(443)
		if r.IntN(10) == 0 {
			port = 80
		}
		t0, t1 := g.span(ws, false)
		g.begin(t0, t1, protoTCP)
		cf, sf := g.tcpFlags()
		g.inbound(lb, c, g.ephemeral(nil), port, g.web(1200, 15000), cf, sf)

	case kALBTarget:
		lb := pickOne(r, e.albs)
		targets := lb.vpc.byRole[roleWeb]
		if r.IntN(4) == 0 {
			targets = lb.vpc.byRole[roleECS]
		}
		t := pickOne(r, targets)
		t0, t1 := g.span(ws, false)
		g.begin(t0, t1, protoTCP)
		cf, sf := g.tcpFlags()
		g.internal(lb, t, false, g.ephemeral(nil), 8080, g.web(1200, 15000), cf, sf)

	case kEastWest, kCrossVPC:
		src := e.compute[g.hostZ.Uint64()]
		v := src.vpc
		if k == kCrossVPC {
			v = e.vpcs[(src.vpc.idx+1+r.IntN(len(e.vpcs)-1))%len(e.vpcs)]
		}
		var dst *iface
		var port int32
		switch x := r.IntN(100); {
		case src.windows:
			dst, port = pickOne(r, v.byRole[roleDC]), pickOne(r, []int32{389, 445, 88, 135, 636})
		case src.role == roleWeb && x < 80:
			dst, port = pickOne(r, v.byRole[roleApp]), 8080
		case x < 65:
			dst = pickOne(r, v.byRole[roleRDS])
			for dst.idle {
				dst = pickOne(r, v.byRole[roleRDS])
			}
			port = dst.dbPort
		case x < 85:
			dst, port = pickOne(r, v.byRole[roleApp]), pickOne(r, []int32{8080, 8443, 9090})
		default:
			dst, port = pickOne(r, v.byRole[roleVPCE]), 443
		}
		if dst == src {
			dst = otherDC(src)
		}
		t0, t1 := g.span(ws, false)
		g.begin(t0, t1, protoTCP)
		cf, sf := g.tcpFlags()
		g.internal(src, dst, g.useV6(), g.ephemeral(src), port, g.web(600, 4000), cf, sf)

	case kDNS:
		h := e.compute[g.hostZ.Uint64()]
		t0, t1 := g.span(ws, true)
		g.begin(t0, t1, protoUDP)
		z := g.small(60, 90, 90, 480)
		if h.role == roleDC || r.IntN(10) == 0 {
			g.outbound(h, pickOne(r, e.resolvers), g.ephemeral(h), 53, z, 0, 0)
			return
		}
		g.internal(h, pickOne(r, h.vpc.byRole[roleDC]), false, g.ephemeral(h), 53, z, 0, 0)

	case kNTP:
		h := e.compute[g.hostZ.Uint64()]
		t0, t1 := g.span(ws, true)
		g.begin(t0, t1, protoUDP)
		cp := int32(123)
		if r.IntN(2) == 0 {
			cp = g.ephemeral(h)
		}
		g.outbound(h, pickOne(r, e.ntp), cp, 123, sizes{1, 76, 1, 76}, 0, 0)

	case kS3:
		h := e.compute[g.hostZ.Uint64()]
		t0, t1 := g.span(ws, false)
		g.begin(t0, t1, protoTCP)
		z := g.web(2000, 30000)
		if r.IntN(5) < 2 { // an upload
			z = sizes{z.respP, z.respB, z.reqP, z.reqB}
		}
		cf, sf := g.tcpFlags()
		g.outbound(h, pickOne(r, e.s3), g.ephemeral(h), 443, z, cf, sf)

	case kAdmin:
		v := e.vpcs[r.IntN(len(e.vpcs))]
		b := v.byRole[roleBastion][0]
		t0, t1 := g.span(ws, false)
		g.begin(t0, t1, protoTCP)
		cf, sf := g.tcpFlags()
		z := g.web(3000, 12000)
		switch r.IntN(3) {
		case 0:
			g.inbound(b, pickOne(r, e.admin), g.ephemeral(nil), 22, z, cf, sf)
		case 1:
			g.internal(b, pickOne(r, v.byRole[roleApp]), false, g.ephemeral(b), 22, z, cf, sf)
		default:
			g.internal(b, pickOne(r, v.byRole[roleJump]), false, g.ephemeral(b), 3389, z, cf, sf)
		}

	case kICMP:
		src := e.compute[g.hostZ.Uint64()]
		dst := e.compute[g.hostZ.Uint64()]
		if dst == src {
			dst = otherDC(src)
		}
		t0, t1 := g.span(ws, false)
		v6 := src.v6 != nil && dst.v6 != nil && g.useV6()
		proto, size := int32(protoICMP), int64(84)
		if v6 {
			proto, size = protoICMPv6, 104
		}
		g.begin(t0, t1, proto)
		n := 1 + r.Int64N(10)
		g.internal(src, dst, v6, 0, 0, sizes{n, n * size, n, n * size}, 0, 0)

	case kProbe:
		target := pickOne(r, e.public)
		c := pickOne(r, e.noise4)
		if target.v6 != nil && g.useV6() {
			c = pickOne(r, e.noise6)
		}
		x := r.IntN(probeTotal)
		p := probePorts[0]
		for _, pp := range probePorts {
			if x < pp.weight {
				p = pp
				break
			}
			x -= pp.weight
		}
		proto := p.proto
		if proto == protoICMP && c.ip.Is6() {
			proto = protoICMPv6
		}
		t0, t1 := g.span(ws, true)
		g.begin(t0, t1, proto)
		open := (p.port == 22 && target.role == roleBastion) ||
			((p.port == 80 || p.port == 443) && target.role == rolePubWeb)
		g.reject = !open || target.vpc.bpa
		g.bpa = target.vpc.bpa
		cp := g.ephemeral(nil)
		if proto != protoTCP && proto != protoUDP {
			cp = 0
		}
		n := 1 + r.Int64N(2)
		z := sizes{n, n * (40 + r.Int64N(21)), 1, 40 + r.Int64N(21)}
		cf, sf := int32(2), int32(18)
		if open {
			z = g.web(300, 1200)
			cf, sf = 3, 19
		}
		g.inbound(target, c, cp, p.port, z, cf, sf)

	case kEgressReject:
		h := e.compute[g.hostZ.Uint64()]
		t0, t1 := g.span(ws, true)
		g.begin(t0, t1, protoTCP)
		n := 1 + r.Int64N(3)
		if r.IntN(2) == 0 { // SMTP out is blocked by the network ACL
			g.reject = true
			ext := e.ext4[g.extZ.Uint64()]
			g.leg(h, h.v4, ext, h.v4, ext, g.ephemeral(h), 25, n, n*60, 2)
			return
		}
		// A client tries a database port the database's security group closes.
		db := pickOne(r, h.vpc.byRole[roleRDS])
		port := int32(5432)
		if db.dbPort == 5432 {
			port = 3306
		}
		cp := g.ephemeral(h)
		g.leg(h, h.v4, db.v4, h.v4, db.v4, cp, port, n, n*60, 2)
		g.reject = true
		g.leg(db, h.v4, db.v4, h.v4, db.v4, cp, port, n, n*60, 2)

	}
}

// skipDataChance is the probability that a window has one SKIPDATA record
// (an interface whose records were dropped for capacity reasons).
const skipDataChance = 0.1

// windowFixed returns the records a window has whatever its traffic: one
// NODATA record per idle interface and, now and then, a SKIPDATA record for
// a busy one.
func (g *gen) windowFixed(ws int64) []rec {
	out := g.fixed[:0]
	status := func(f *iface, st status) rec {
		s := ws + g.r.Int64N(min(3, g.win))
		e := max(s, ws+g.win-1-g.r.Int64N(min(3, g.win)))
		return rec{eni: f, status: st, start: s, end: e}
	}
	for _, f := range g.e.idle {
		out = append(out, status(f, stNoData))
	}
	if g.r.Float64() < skipDataChance {
		out = append(out, status(g.e.compute[g.hostZ.Uint64()], stSkipData))
	}
	shuffle(g.r, out)
	g.fixed = out
	return out
}

// otherDC returns a domain controller of f's VPC other than f.
func otherDC(f *iface) *iface {
	dcs := f.vpc.byRole[roleDC]
	if dcs[0] == f {
		return dcs[1]
	}
	return dcs[0]
}
