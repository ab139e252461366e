package cli

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/enrich/netclass"
	"github.com/flowlens/flowlens/output"
)

// ingressAgg counts the records of one key (a source, a port or a host).
type ingressAgg struct {
	records, accepted, rejected int64
	packets, bytes              int64
	first, last                 int64
	ports                       map[int32]struct{}      // port<<8 | protocol; nil: not counted
	hosts                       map[netip.Addr]struct{} // the far side's addresses
}

// add counts r; other is the address on the far side (a destination host
// for a source, a source for a port or host).
func (a *ingressAgg) add(r *flowRow, other netip.Addr) {
	if a.records == 0 || r.first < a.first {
		a.first = r.first
	}
	if r.last > a.last {
		a.last = r.last
	}
	a.records += r.flows
	if r.rejected {
		a.rejected += r.flows
	} else {
		a.accepted += r.flows
	}
	a.packets += r.packets
	a.bytes += r.bytes
	if a.ports != nil {
		a.ports[r.dstPort<<8|r.proto&0xff] = struct{}{}
	}
	a.hosts[other] = struct{}{}
}

// ingressAudit aggregates traffic from outside to the estate.
type ingressAudit struct {
	class                       *netclass.Classifier
	nat                         map[netip.Addr]bool
	accepted, rejected          bool // keep only these (both false: all)
	responses                   bool
	bySrc                       map[netip.Addr]*ingressAgg
	byPort                      map[[2]int32]*ingressAgg // port, protocol; hosts = sources
	byPortDst                   map[[2]int32]map[netip.Addr]struct{}
	byHost                      map[netip.Addr]*ingressAgg // hosts = sources
	skippedResponses, skippedNA int64
}

func newIngressAudit(class *netclass.Classifier, nat []netip.Addr, accepted, rejected, responses bool) *ingressAudit {
	a := &ingressAudit{class: class, nat: map[netip.Addr]bool{}, accepted: accepted, rejected: rejected, responses: responses,
		bySrc: map[netip.Addr]*ingressAgg{}, byPort: map[[2]int32]*ingressAgg{}, byPortDst: map[[2]int32]map[netip.Addr]struct{}{},
		byHost: map[netip.Addr]*ingressAgg{}}
	for _, n := range nat {
		a.nat[n.Unmap()] = true
	}
	return a
}

// isResponse reports whether an accepted record from outside looks like
// the answer to a connection the estate opened: it goes to a NAT gateway
// (which accepts no inbound connections), or from a service port (below
// 1024) to an ephemeral one.
func (a *ingressAudit) isResponse(r *flowRow) bool {
	if r.rejected {
		return false
	}
	if a.nat[r.dst] {
		return true
	}
	return (r.proto == 6 || r.proto == 17) && r.srcPort > 0 && r.srcPort < 1024 && r.dstPort >= 1024
}

func (a *ingressAudit) add(r *flowRow) {
	if a.class.Internal(r.src) || !a.class.Internal(r.dst) {
		return
	}
	if (a.accepted && r.rejected) || (a.rejected && !r.rejected) {
		return
	}
	if !a.responses && a.isResponse(r) {
		a.skippedResponses += r.flows
		return
	}
	s := a.bySrc[r.src]
	if s == nil {
		s = &ingressAgg{ports: map[int32]struct{}{}, hosts: map[netip.Addr]struct{}{}}
		a.bySrc[r.src] = s
	}
	s.add(r, r.dst)
	pk := [2]int32{r.dstPort, r.proto}
	p := a.byPort[pk]
	if p == nil {
		p = &ingressAgg{hosts: map[netip.Addr]struct{}{}}
		a.byPort[pk] = p
		a.byPortDst[pk] = map[netip.Addr]struct{}{}
	}
	p.add(r, r.src)
	a.byPortDst[pk][r.dst] = struct{}{}
	h := a.byHost[r.dst]
	if h == nil {
		h = &ingressAgg{ports: map[int32]struct{}{}, hosts: map[netip.Addr]struct{}{}}
		a.byHost[r.dst] = h
	}
	h.add(r, r.src)
}

// sortedKeys orders a map's keys by records (most first), then key.
func sortedKeys[K comparable](m map[K]*ingressAgg, less func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(p, q K) int {
		if c := cmp.Compare(m[q].records, m[p].records); c != 0 {
			return c
		}
		return less(p, q)
	})
	return keys
}

func newIngressCmd(e *env) *cobra.Command {
	var sf storeFlags
	var ef enrichFlags
	var by string
	var accepted, rejected, responses bool
	var limit int
	c := &cobra.Command{
		Use:   "ingress [SOURCE...]",
		Short: "Who reaches or probes us: external sources, ports and targets",
		Long: `List the traffic from outside (sources that are not private, own or reserved)
to internal addresses. By default one row per external source, most records
first: records, accepted and rejected, distinct destination ports and hosts,
packets, bytes, first and last seen, the AWS service it belongs to, its
allow-lists, and country and AS with --geoip. --by port gives one row per
destination port and protocol (distinct sources and hosts); --by host one row
per internal target (distinct sources and ports, and its entity from the
inventory).

--accepted keeps what got in, --rejected who is knocking. Accepted records
that look like answers to connections the estate opened (to a NAT gateway
address, or from a port below 1024 to an ephemeral port) are left out unless
--include-responses.`,
		Example: `  flowlens ingress flows/ --rejected -n 20
  flowlens ingress --by port --accepted --since 24h
  flowlens ingress --by host --geoip GeoLite2-ASN.mmdb -o csv`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := sf.prepare(time.Now()); err != nil {
				return err
			}
			f, err := outputFormat(sf.output, e)
			if err != nil {
				return err
			}
			if by != "source" && by != "port" && by != "host" {
				return usagef("--by %q: want source, port or host", by)
			}
			if accepted && rejected {
				return usagef("--accepted and --rejected exclude each other")
			}
			x, err := ef.load(c)
			if err != nil {
				return err
			}
			defer x.Close()
			var nat []netip.Addr
			if x.inv != nil {
				nat = x.inv.NATPrivateIPs()
			}
			a := newIngressAudit(x.class, nat, accepted, rejected, responses)
			if len(args) == 0 {
				err = auditStore(c.Context(), e, &sf, true, a.add)
			} else {
				err = auditSources(c.Context(), e, &sf, args, a.add)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "flowlens: %d external source(s), %d port(s), %d internal host(s); %d response record(s) left out\n",
				len(a.bySrc), len(a.byPort), len(a.byHost), a.skippedResponses)
			switch by {
			case "port":
				return writeIngressPorts(e, f, a, limit)
			case "host":
				return writeIngressHosts(e, f, a, x, limit)
			}
			return writeIngressSources(e, f, a, x, limit)
		},
	}
	sf.register(c)
	ef.register(c)
	fl := c.Flags()
	fl.StringVar(&by, "by", "source", "one row per: source, port or host")
	fl.BoolVar(&accepted, "accepted", false, "only accepted records (what got in)")
	fl.BoolVar(&rejected, "rejected", false, "only rejected records (who is knocking)")
	fl.BoolVar(&responses, "include-responses", false, "keep accepted records that look like answers to our own connections")
	fl.IntVarP(&limit, "limit", "n", 0, "print at most N rows; 0: all")
	return c
}

func limited[K any](keys []K, n int) []K {
	if n > 0 && len(keys) > n {
		return keys[:n]
	}
	return keys
}

func writeIngressSources(e *env, f output.Format, a *ingressAudit, x *enrichers, limit int) error {
	w, err := output.NewResultWriter(f, e.stdout, []output.Column{
		{Name: "src_ip", Type: output.TypeIP}, {Name: "records", Type: output.TypeInt},
		{Name: "accepted", Type: output.TypeInt}, {Name: "rejected", Type: output.TypeInt},
		{Name: "dst_ports", Type: output.TypeInt}, {Name: "dst_hosts", Type: output.TypeInt},
		{Name: "packets", Type: output.TypeInt}, {Name: "bytes", Type: output.TypeInt},
		{Name: "first_seen", Type: output.TypeEpoch}, {Name: "last_seen", Type: output.TypeEpoch},
		{Name: "service"}, {Name: "lists"}, {Name: "country"}, {Name: "asn", Type: output.TypeInt}, {Name: "as_org"},
	})
	if err != nil {
		return err
	}
	for _, k := range limited(sortedKeys(a.bySrc, netip.Addr.Compare), limit) {
		s := a.bySrc[k]
		d := x.describe(k)
		if err := w.WriteRow([]any{k.String(), s.records, s.accepted, s.rejected, int64(len(s.ports)), int64(len(s.hosts)),
			s.packets, s.bytes, s.first, s.last, nullable(d.service), nullable(d.lists),
			nullable(d.geo.Country), asnValue(d.geo.ASN), nullable(d.geo.ASOrg)}); err != nil {
			return err
		}
	}
	return w.Close()
}

func writeIngressPorts(e *env, f output.Format, a *ingressAudit, limit int) error {
	w, err := output.NewResultWriter(f, e.stdout, []output.Column{
		{Name: "dst_port", Type: output.TypeInt32}, {Name: "protocol"}, {Name: "records", Type: output.TypeInt},
		{Name: "accepted", Type: output.TypeInt}, {Name: "rejected", Type: output.TypeInt},
		{Name: "sources", Type: output.TypeInt}, {Name: "dst_hosts", Type: output.TypeInt},
		{Name: "packets", Type: output.TypeInt}, {Name: "bytes", Type: output.TypeInt},
		{Name: "first_seen", Type: output.TypeEpoch}, {Name: "last_seen", Type: output.TypeEpoch},
	})
	if err != nil {
		return err
	}
	keys := sortedKeys(a.byPort, func(p, q [2]int32) int {
		if c := cmp.Compare(p[0], q[0]); c != 0 {
			return c
		}
		return cmp.Compare(p[1], q[1])
	})
	for _, k := range limited(keys, limit) {
		p := a.byPort[k]
		if err := w.WriteRow([]any{k[0], protoName(k[1]), p.records, p.accepted, p.rejected, int64(len(p.hosts)), int64(len(a.byPortDst[k])),
			p.packets, p.bytes, p.first, p.last}); err != nil {
			return err
		}
	}
	return w.Close()
}

func writeIngressHosts(e *env, f output.Format, a *ingressAudit, x *enrichers, limit int) error {
	w, err := output.NewResultWriter(f, e.stdout, []output.Column{
		{Name: "dst_ip", Type: output.TypeIP}, {Name: "records", Type: output.TypeInt},
		{Name: "accepted", Type: output.TypeInt}, {Name: "rejected", Type: output.TypeInt},
		{Name: "sources", Type: output.TypeInt}, {Name: "dst_ports", Type: output.TypeInt},
		{Name: "packets", Type: output.TypeInt}, {Name: "bytes", Type: output.TypeInt},
		{Name: "first_seen", Type: output.TypeEpoch}, {Name: "last_seen", Type: output.TypeEpoch},
		{Name: "entity_type"}, {Name: "entity_id"}, {Name: "entity_name"},
	})
	if err != nil {
		return err
	}
	for _, k := range limited(sortedKeys(a.byHost, netip.Addr.Compare), limit) {
		h := a.byHost[k]
		var et, eid, ename any
		if x.index != nil {
			if ent, ok := x.index.Lookup(k); ok {
				et, eid, ename = string(ent.Type), ent.ID, nullable(ent.Name)
			}
		}
		if err := w.WriteRow([]any{k.String(), h.records, h.accepted, h.rejected, int64(len(h.hosts)), int64(len(h.ports)),
			h.packets, h.bytes, h.first, h.last, et, eid, ename}); err != nil {
			return err
		}
	}
	return w.Close()
}
