package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/enrich/awsranges"
	"github.com/flowlens/flowlens/enrich/geo"
	"github.com/flowlens/flowlens/enrich/lists"
	"github.com/flowlens/flowlens/enrich/netclass"
	"github.com/flowlens/flowlens/enrich/resolve"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/inventory"
	"github.com/flowlens/flowlens/output"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
)

// enrichFlags select the enrichment data of the audits.
type enrichFlags struct {
	inventory string
	ownNets   []string
	ipRanges  string
	allows    []string
	geoip     []string
}

func (f *enrichFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.inventory, "inventory", inventory.DefaultPath, "inventory file from 'flowlens inventory import' (VPC CIDRs, own public IPs, NAT gateways, ENI entities); used when it exists")
	fl.StringSliceVar(&f.ownNets, "own-net", nil, "own network CIDR (repeatable or comma-separated): internal like the VPC CIDRs")
	fl.StringVar(&f.ipRanges, "ip-ranges", "", "AWS ip-ranges.json (default: the copy 'flowlens ranges update' saved, when there is one)")
	fl.StringArrayVar(&f.allows, "allow", nil, "named allow-list NAME=FILE: CIDR text, CSV or a vendor's JSON ranges (repeatable)")
	fl.StringArrayVar(&f.geoip, "geoip", nil, "MaxMind-format .mmdb database for country and ASN (repeatable: e.g. a country and an ASN database)")
}

// enrichers are the loaded lookups.
type enrichers struct {
	inv    *inventory.Inventory // nil without an inventory
	index  *inventory.Index
	class  *netclass.Classifier
	ranges *awsranges.Ranges // nil without ip-ranges
	lists  *lists.Set        // nil without --allow
	geo    *geo.DB           // nil without --geoip
}

func (x *enrichers) Close() {
	if x.geo != nil {
		x.geo.Close()
	}
}

// load reads everything the flags name. The inventory is optional unless
// --inventory was given explicitly.
func (f *enrichFlags) load(c *cobra.Command) (*enrichers, error) {
	x := &enrichers{}
	var cfg netclass.Config
	if f.inventory != "" {
		inv, err := inventory.Load(f.inventory)
		switch {
		case err == nil:
			x.inv = inv
			x.index = inv.NewIndex()
			cfg.OwnNetworks = inv.OwnNetworks()
			for _, a := range inv.OwnPublicIPs() {
				cfg.OwnPublic = append(cfg.OwnPublic, netip.PrefixFrom(a, a.BitLen()))
			}
		case errors.Is(err, os.ErrNotExist) && !c.Flags().Changed("inventory"):
		default:
			return nil, err
		}
	}
	for _, s := range f.ownNets {
		p, err := parsePrefixOrAddr(s)
		if err != nil {
			return nil, usagef("--own-net %q: %v", s, err)
		}
		cfg.OwnNetworks = append(cfg.OwnNetworks, p)
	}
	x.class = netclass.New(cfg)
	path := f.ipRanges
	if path == "" {
		if p, err := awsranges.DefaultPath(); err == nil && fileExists(p) {
			path = p
		}
	}
	if path != "" {
		r, err := awsranges.Load(path)
		if err != nil {
			return nil, err
		}
		x.ranges = r
	}
	if len(f.allows) > 0 {
		var ls []lists.List
		for _, spec := range f.allows {
			name, p, err := lists.ParseSpec(spec)
			if err != nil {
				return nil, usagef("--allow %v", err)
			}
			l, err := lists.LoadFile(name, p)
			if err != nil {
				return nil, err
			}
			if l.Skipped > 0 {
				// A mistyped entry is not on the list: say so, or the
				// audit and the rules treat that address as unapproved
				// without a word.
				fmt.Fprintf(c.ErrOrStderr(), "flowlens: %s: list %s: skipped %d entr(ies) that do not parse as an address or CIDR block (first: %s)\n",
					p, name, l.Skipped, l.FirstSkipped)
			}
			ls = append(ls, l)
		}
		s, err := lists.NewSet(ls)
		if err != nil {
			return nil, usagef("--allow: %v", err)
		}
		x.lists = s
	}
	if len(f.geoip) > 0 {
		g, err := geo.Open(f.geoip...)
		if err != nil {
			return nil, err
		}
		x.geo = g
	}
	return x, nil
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// destInfo is what the lookups say about an external address.
type destInfo struct {
	service, region string
	lists           string
	geo             geo.Info
}

func (x *enrichers) describe(a netip.Addr) destInfo {
	var d destInfo
	if x.ranges != nil {
		if m, ok := x.ranges.Lookup(a); ok {
			d.service, d.region = m.Service, m.Region
		}
	}
	if x.lists != nil {
		d.lists = strings.Join(x.lists.Names(x.lists.Lookup(a)), " ")
	}
	if x.geo != nil {
		d.geo = x.geo.Lookup(a)
	}
	return d
}

// resolveFlags configure --resolve.
type resolveFlags struct {
	on          bool
	dnsServer   string
	tlsPort     int
	tlsConnect  string
	timeout     time.Duration
	rate        float64
	concurrency int
	cache       string
	noTLS       bool
}

func (f *resolveFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.BoolVar(&f.on, "resolve", false, "name destinations: reverse DNS (PTR) and the DNS names on the certificate served on the TLS port (cached)")
	fl.StringVar(&f.dnsServer, "dns-server", "", "DNS server for PTR queries, host[:port] (default: the first nameserver in /etc/resolv.conf)")
	fl.IntVar(&f.tlsPort, "tls-port", 443, "port of the TLS handshake that reads certificate names")
	fl.BoolVar(&f.noTLS, "no-tls", false, "with --resolve, skip the TLS handshakes (PTR only)")
	fl.DurationVar(&f.timeout, "resolve-timeout", 3*time.Second, "timeout of each PTR query and TLS handshake")
	fl.Float64Var(&f.rate, "resolve-rate", 50, "PTR queries and handshakes per second at most")
	fl.IntVar(&f.concurrency, "resolve-concurrency", 16, "lookups at once")
	fl.StringVar(&f.cache, "resolve-cache", "", "JSON cache of names (default: flowlens.resolve.json next to the --db database)")
	fl.StringVar(&f.tlsConnect, "tls-connect", "", "dial this host:port for every handshake instead of the destination (testing)")
	fl.MarkHidden("tls-connect")
}

func (f *resolveFlags) resolver(db string) (*resolve.Resolver, error) {
	cfg := resolve.DefaultConfig()
	cfg.DNSServer, cfg.TLSPort, cfg.TLSAddr = f.dnsServer, f.tlsPort, f.tlsConnect
	cfg.TLS = !f.noTLS
	cfg.Timeout, cfg.Rate, cfg.Concurrency = f.timeout, f.rate, f.concurrency
	cfg.CachePath = f.cache
	if cfg.CachePath == "" {
		cfg.CachePath = filepath.Join(filepath.Dir(db), "flowlens.resolve.json")
	}
	r, err := resolve.New(cfg)
	if err != nil {
		return nil, &UsageError{err}
	}
	return r, nil
}

// flowRow is one record, or a group of records with the same addresses,
// ports, protocol and action (flows counts them).
type flowRow struct {
	src, dst, psrc, pdst netip.Addr
	srcPort, dstPort     int32
	proto                int32
	flows                int64
	packets, bytes       int64
	first, last          int64
	rejected             bool
}

// auditFields are the fields the audits read.
func auditFields() schema.Set {
	var s schema.Set
	for _, id := range []int{schema.FSrcAddr, schema.FDstAddr, schema.FPktSrcAddr, schema.FPktDstAddr, schema.FSrcPort, schema.FDstPort,
		schema.FProtocol, schema.FPackets, schema.FBytes, schema.FAction, schema.FStart, schema.FEnd} {
		s.Add(id)
	}
	return s
}

// auditSources feeds every parsed record passing the restrictions to add.
func auditSources(ctx context.Context, e *env, sf *storeFlags, args []string, add func(*flowRow)) error {
	filtered := sf.filtered()
	var r flowRow
	sink := source.SinkFunc(func(b *flowlog.Batch) error {
		for i := 0; i < b.N; i++ {
			src, ok1 := b.IP(schema.FSrcAddr, i)
			dst, ok2 := b.IP(schema.FDstAddr, i)
			if !ok1 || !ok2 || (filtered && !sf.keep(b, i)) {
				continue
			}
			r = flowRow{src: src, dst: dst, flows: 1}
			r.psrc, _ = b.IP(schema.FPktSrcAddr, i)
			r.pdst, _ = b.IP(schema.FPktDstAddr, i)
			r.srcPort = int32(batchInt(b, schema.FSrcPort, i))
			r.dstPort = int32(batchInt(b, schema.FDstPort, i))
			r.proto = int32(batchInt(b, schema.FProtocol, i))
			r.packets = batchInt(b, schema.FPackets, i)
			r.bytes = batchInt(b, schema.FBytes, i)
			r.first = batchInt(b, schema.FStart, i)
			r.last = batchInt(b, schema.FEnd, i)
			if s, ok := b.Str(schema.FAction, i); ok && string(s) == "REJECT" {
				r.rejected = true
			}
			add(&r)
		}
		return nil
	})
	_, err := readSources(ctx, e, &sf.sourceFlags, args, sf.want(auditFields()), sink)
	return e.partial(err) // answer over what was read; Main exits 1
}

// auditStore feeds the database's records, grouped by addresses, ports,
// protocol and action, to add. groupSrcPort keeps source ports apart.
func auditStore(ctx context.Context, e *env, sf *storeFlags, groupSrcPort bool, add func(*flowRow)) error {
	st, _, err := openForQuery(ctx, e, sf, nil, schema.Set{})
	if err != nil {
		return err
	}
	defer st.Close()
	sport := "0"
	if groupSrcPort {
		sport = "srcport"
	}
	build := func(pkt bool) string {
		ps, pd := "pkt_srcaddr_bin", "pkt_dstaddr_bin"
		if !pkt {
			ps, pd = "NULL::BLOB", "NULL::BLOB"
		}
		return fmt.Sprintf(`SELECT srcaddr_bin, dstaddr_bin, %s, %s, %s, dstport, protocol, action = 'REJECT',
count(*), sum(packets), sum(bytes), min("start"), max("end")
FROM flows WHERE srcaddr_bin IS NOT NULL AND dstaddr_bin IS NOT NULL
GROUP BY ALL`, ps, pd, sport)
	}
	q, args := sf.withFlows(build(true), nil)
	rows, err := st.Query(ctx, q, args...)
	if err != nil && isUsageSQLError(err) {
		// A database without the packet-level address columns.
		q, args = sf.withFlows(build(false), nil)
		rows, err = st.Query(ctx, q, args...)
	}
	if err != nil {
		return queryError(err)
	}
	defer rows.Close()
	var src, dst, psrc, pdst []byte
	var sp, dp, proto, flows, packets, bytes, first, last any
	var rejected *bool
	for rows.Next() {
		if err := rows.Scan(&src, &dst, &psrc, &pdst, &sp, &dp, &proto, &rejected, &flows, &packets, &bytes, &first, &last); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		r := flowRow{src: binAddr(src), dst: binAddr(dst), psrc: binAddr(psrc), pdst: binAddr(pdst),
			srcPort: int32(anyInt(sp)), dstPort: int32(anyInt(dp)), proto: int32(anyInt(proto)),
			flows: anyInt(flows), packets: anyNum(packets), bytes: anyNum(bytes), first: anyInt(first), last: anyInt(last),
			rejected: rejected != nil && *rejected}
		add(&r)
	}
	return queryError(rows.Err())
}

// anyNum reads integers and the decimals DuckDB returns for sums of
// BIGINT.
func anyNum(v any) int64 {
	if f, ok := v.(interface{ Float64() float64 }); ok {
		return int64(f.Float64())
	}
	if f, ok := v.(float64); ok {
		return int64(f)
	}
	if b, ok := v.(interface{ Int64() int64 }); ok {
		return b.Int64()
	}
	return anyInt(v)
}

// protoName names the common IP protocols.
func protoName(p int32) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 58:
		return "icmpv6"
	}
	return strconv.Itoa(int(p))
}

// egressKey is one destination service.
type egressKey struct {
	dst   netip.Addr
	port  int32
	proto int32
}

type egressAgg struct {
	flows, packets, bytes int64
	first, last           int64
}

func (a *egressAgg) add(r *flowRow) {
	if a.flows == 0 || r.first < a.first {
		a.first = r.first
	}
	if r.last > a.last {
		a.last = r.last
	}
	a.flows += r.flows
	a.packets += r.packets
	a.bytes += r.bytes
}

// egressAudit aggregates traffic leaving the estate.
type egressAudit struct {
	fromInternal    bool
	includeRejected bool
	nat             map[netip.Addr]bool
	class           *netclass.Classifier
	dests           map[egressKey]*egressAgg
	// pktSources are hosts seen behind a NAT gateway through packet-level
	// addresses; ifaceSources hosts seen on their own interfaces.
	pktSources, ifaceSources map[egressKey]map[netip.Addr]struct{}
	sawPkt                   bool // some record had packet-level addresses
}

func newEgressAudit(class *netclass.Classifier, nat []netip.Addr, fromInternal, includeRejected bool) *egressAudit {
	a := &egressAudit{fromInternal: fromInternal, includeRejected: includeRejected, class: class, nat: map[netip.Addr]bool{},
		dests: map[egressKey]*egressAgg{}, pktSources: map[egressKey]map[netip.Addr]struct{}{}, ifaceSources: map[egressKey]map[netip.Addr]struct{}{}}
	for _, n := range nat {
		a.nat[n.Unmap()] = true
	}
	return a
}

func addSource(sources map[egressKey]map[netip.Addr]struct{}, k egressKey, s netip.Addr) {
	m := sources[k]
	if m == nil {
		m = map[netip.Addr]struct{}{}
		sources[k] = m
	}
	m[s] = struct{}{}
}

// add takes one record (group). A record counts as egress when its
// source is a NAT gateway (or, with --from internal, any internal
// address) and its destination is outside. Internal hosts behind a
// destination come from two kinds of record: the NAT gateway's interface,
// whose record of the host's packet to the gateway carries the host and
// the external address as pkt-srcaddr/pkt-dstaddr, and the host's own
// interface (source = host, destination = the external address). Through
// NAT gateways the packet-level hosts are used when the records have
// packet-level addresses at all: the own-interface records cannot tell a
// host behind the gateway from one with its own public address.
func (a *egressAudit) add(r *flowRow) {
	if r.rejected && !a.includeRejected {
		return
	}
	srcNAT := a.nat[r.src]
	srcInternal := a.class.Internal(r.src)
	dstExternal := !a.class.Internal(r.dst)
	if dstExternal && (srcNAT || (a.fromInternal && srcInternal)) {
		k := egressKey{r.dst, r.dstPort, r.proto}
		g := a.dests[k]
		if g == nil {
			g = &egressAgg{}
			a.dests[k] = g
		}
		g.add(r)
	}
	if dstExternal && srcInternal && !srcNAT {
		addSource(a.ifaceSources, egressKey{r.dst, r.dstPort, r.proto}, r.src)
	}
	if r.pdst.IsValid() {
		a.sawPkt = true
	}
	if a.nat[r.dst] && r.psrc.IsValid() && r.pdst.IsValid() && r.pdst != r.dst && a.class.Internal(r.psrc) && !a.class.Internal(r.pdst) {
		addSource(a.pktSources, egressKey{r.pdst, r.dstPort, r.proto}, r.psrc)
	}
}

// egressResult is one row of the audit.
type egressResult struct {
	egressKey
	egressAgg
	sources []netip.Addr
	info    destInfo
	names   resolve.Names
}

// results applies the exclusions and sorts by bytes, largest first.
func (a *egressAudit) results(x *enrichers, excludeLists lists.Mask, excludeSvc []awsranges.Service) (out []egressResult, byList, bySvc int) {
	for k, g := range a.dests {
		if excludeLists != 0 && x.lists.Lookup(k.dst)&excludeLists != 0 {
			byList++
			continue
		}
		if len(excludeSvc) > 0 {
			m, ok := x.ranges.Lookup(k.dst)
			if ok && slices.ContainsFunc(excludeSvc, m.Has) {
				bySvc++
				continue
			}
		}
		res := egressResult{egressKey: k, egressAgg: *g, info: x.describe(k.dst)}
		for s := range a.pktSources[k] {
			res.sources = append(res.sources, s)
		}
		if a.fromInternal || !a.sawPkt {
			for s := range a.ifaceSources[k] {
				if _, dup := a.pktSources[k][s]; !dup {
					res.sources = append(res.sources, s)
				}
			}
		}
		slices.SortFunc(res.sources, netip.Addr.Compare)
		out = append(out, res)
	}
	slices.SortFunc(out, func(p, q egressResult) int {
		if c := cmp.Compare(q.bytes, p.bytes); c != 0 {
			return c
		}
		if c := p.dst.Compare(q.dst); c != 0 {
			return c
		}
		if c := cmp.Compare(p.port, q.port); c != 0 {
			return c
		}
		return cmp.Compare(p.proto, q.proto)
	})
	return out, byList, bySvc
}

func newEgressCmd(e *env) *cobra.Command {
	var sf storeFlags
	var ef enrichFlags
	var rf resolveFlags
	var nats, excludeLists, excludeSvcs []string
	var from string
	var portsOnly, includeRejected bool
	var limit int
	c := &cobra.Command{
		Use:   "egress [SOURCE...]",
		Short: "Egress audit: where traffic leaves to, through NAT gateways or from any internal host",
		Long: `List the external destinations the estate sends traffic to: one row per
destination address, port and protocol, with flows, packets, bytes, first
and last seen, the internal hosts behind it, the AWS service and region
(ip-ranges.json), the allow-lists it is on, and country and AS (--geoip).

Traffic is egress when its source is a NAT gateway (its private address: from
the inventory or --nat) or, with --from internal, any internal address, and
its destination is outside: not private, shared, loopback, link-local,
multicast or reserved, not inside a VPC CIDR or --own-net block and not one
of the estate's own public addresses. Only accepted records count unless
--include-rejected. The internal hosts behind a NAT gateway come from the
packet-level addresses (pkt-srcaddr, pkt-dstaddr) of the gateway's records
of their packets, and from the hosts' own interfaces' records.

--exclude-list NAME drops destinations on the allow-list given with --allow
NAME=FILE; --exclude-service S3 drops destinations in that service's
ip-ranges.json ranges. On a table a port histogram follows; with -o csv/json
--ports prints the histogram instead. -o allowlist prints one
'CIDR proto/port # name' line per destination, for a firewall or security
group review.

--resolve names destinations with reverse DNS (PTR) and the DNS names on the
certificate they serve on port 443 to a handshake without SNI (this may be
the host's default certificate, not the name the sources used). Answers are
cached in a JSON file next to the database, so repeated audits do not ask
again.`,
		Example: `  flowlens egress AWSLogs/ --inventory inv.json
  flowlens egress --nat 10.0.0.77 --exclude-service S3 --allow datadog=ranges.json --exclude-list datadog -o csv
  flowlens egress --from internal --resolve -o allowlist`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := sf.prepare(time.Now()); err != nil {
				return err
			}
			allowlist := strings.EqualFold(sf.output, "allowlist")
			var ofmt output.Format
			if !allowlist {
				f, err := outputFormat(sf.output, e)
				if err != nil {
					return err
				}
				ofmt = f
			}
			if from != "nat" && from != "internal" {
				return usagef("--from %q: want nat or internal", from)
			}
			x, err := ef.load(c)
			if err != nil {
				return err
			}
			defer x.Close()
			var natIPs []netip.Addr
			for _, s := range nats {
				a, err := netip.ParseAddr(strings.TrimSpace(s))
				if err != nil {
					return usagef("--nat %q: %v", s, err)
				}
				natIPs = append(natIPs, a)
			}
			if len(natIPs) == 0 && x.inv != nil {
				natIPs = x.inv.NATPrivateIPs()
			}
			if from == "nat" && len(natIPs) == 0 {
				return usagef("no NAT gateway addresses: give --nat IP, an --inventory with NAT gateways, or --from internal")
			}
			var exMask lists.Mask
			for _, n := range excludeLists {
				if x.lists == nil {
					return usagef("--exclude-list %s: no list named %s: give it with --allow %s=FILE", n, n, n)
				}
				m, ok := x.lists.Mask(n)
				if !ok {
					return usagef("--exclude-list %s: no list named %s (lists: %s)", n, n, strings.Join(x.lists.Lists(), ", "))
				}
				exMask |= m
			}
			var exSvc []awsranges.Service
			for _, s := range excludeSvcs {
				if x.ranges == nil {
					return usagef("--exclude-service %s: no ip-ranges.json: give --ip-ranges FILE or run 'flowlens ranges update'", s)
				}
				id, ok := x.ranges.Service(s)
				if !ok {
					return usagef("--exclude-service %s: not a service in %s (services: %s)", s, "ip-ranges.json", strings.Join(x.ranges.Services(), ", "))
				}
				exSvc = append(exSvc, id)
			}
			var res *resolve.Resolver
			if rf.on {
				if res, err = rf.resolver(sf.db); err != nil {
					return err
				}
			}

			audit := newEgressAudit(x.class, natIPs, from == "internal", includeRejected)
			if len(args) == 0 {
				err = auditStore(c.Context(), e, &sf, false, audit.add)
			} else {
				err = auditSources(c.Context(), e, &sf, args, audit.add)
			}
			if err != nil {
				return err
			}
			rows, byList, bySvc := audit.results(x, exMask, exSvc)
			if limit > 0 && len(rows) > limit {
				rows = rows[:limit]
			}
			if res != nil {
				if err := resolveRows(c.Context(), e, res, rows); err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stderr, "flowlens: %d destination(s) from %d NAT address(es)%s; excluded %d by allow-lists, %d by AWS services\n",
				len(rows), len(natIPs), map[bool]string{true: " and internal hosts", false: ""}[from == "internal"], byList, bySvc)
			switch {
			case allowlist:
				return writeAllowlist(e.stdout, rows)
			case portsOnly:
				return writePortHistogram(e, ofmt, rows)
			}
			if err := writeEgress(e, ofmt, rows, res != nil); err != nil {
				return err
			}
			if ofmt == output.Table && len(rows) > 0 {
				fmt.Fprintln(e.stdout)
				return writePortHistogram(e, ofmt, rows)
			}
			return nil
		},
	}
	sf.register(c)
	ef.register(c)
	rf.register(c)
	fl := c.Flags()
	fl.StringSliceVar(&nats, "nat", nil, "NAT gateway private address (repeatable or comma-separated; default: the inventory's NAT gateways)")
	fl.StringVar(&from, "from", "nat", "egress sources: nat (NAT gateways) or internal (any internal address)")
	fl.StringArrayVar(&excludeLists, "exclude-list", nil, "drop destinations on this --allow list (repeatable)")
	fl.StringArrayVar(&excludeSvcs, "exclude-service", nil, "drop destinations in this AWS service's ranges, e.g. S3 (repeatable)")
	fl.BoolVar(&portsOnly, "ports", false, "print the port histogram instead of the destinations")
	fl.BoolVar(&includeRejected, "include-rejected", false, "count rejected records too")
	fl.IntVarP(&limit, "limit", "n", 0, "print at most N destinations (largest by bytes); 0: all")
	return c
}

// resolveRows names the rows' destinations and saves the cache.
func resolveRows(ctx context.Context, e *env, r *resolve.Resolver, rows []egressResult) error {
	addrs := make([]netip.Addr, 0, len(rows))
	for _, row := range rows {
		addrs = append(addrs, row.dst)
	}
	names, err := r.Resolve(ctx, addrs)
	if err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	for i := range rows {
		rows[i].names = names[rows[i].dst]
	}
	st := r.Stats()
	fmt.Fprintf(e.stderr, "flowlens: resolve: %d from cache, %d PTR queries, %d TLS handshakes, %d timeouts, %d errors", st.CacheHits, st.PTRQueries, st.TLSDials, st.Timeouts, st.Errors)
	if st.Errors > 0 {
		fmt.Fprintf(e.stderr, " (%s)", st.ErrorSummary())
	}
	fmt.Fprintln(e.stderr)
	return r.Save()
}

func joinAddrs(as []netip.Addr, max int) string {
	var b strings.Builder
	for i, a := range as {
		if max > 0 && i == max {
			fmt.Fprintf(&b, " +%d more", len(as)-i)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.String())
	}
	return b.String()
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func asnValue(n uint32) any {
	if n == 0 {
		return nil
	}
	return int64(n)
}

func writeEgress(e *env, f output.Format, rows []egressResult, resolved bool) error {
	cols := []output.Column{
		{Name: "dst_ip", Type: output.TypeIP}, {Name: "dst_port", Type: output.TypeInt32}, {Name: "protocol"},
		{Name: "flows", Type: output.TypeInt}, {Name: "packets", Type: output.TypeInt}, {Name: "bytes", Type: output.TypeInt},
		{Name: "first_seen", Type: output.TypeEpoch}, {Name: "last_seen", Type: output.TypeEpoch},
		{Name: "internal_sources", Type: output.TypeInt}, {Name: "sources"},
		{Name: "service"}, {Name: "region"}, {Name: "lists"}, {Name: "country"}, {Name: "asn", Type: output.TypeInt}, {Name: "as_org"},
	}
	if resolved {
		cols = append(cols, output.Column{Name: "ptr"}, output.Column{Name: "tls_names"})
	}
	w, err := output.NewResultWriter(f, e.stdout, cols)
	if err != nil {
		return err
	}
	max := 0
	if f == output.Table {
		max = maxTableHosts
	}
	for _, r := range rows {
		row := []any{r.dst.String(), r.port, protoName(r.proto), r.flows, r.packets, r.bytes, r.first, r.last,
			int64(len(r.sources)), joinAddrs(r.sources, max), nullable(r.info.service), nullable(r.info.region), nullable(r.info.lists),
			nullable(r.info.geo.Country), asnValue(r.info.geo.ASN), nullable(r.info.geo.ASOrg)}
		if resolved {
			row = append(row, nullable(strings.Join(r.names.PTR, " ")), nullable(strings.Join(r.names.TLS, " ")))
		}
		if err := w.WriteRow(row); err != nil {
			return err
		}
	}
	return w.Close()
}

// writePortHistogram sums the destinations per port and protocol, most
// destinations first.
func writePortHistogram(e *env, f output.Format, rows []egressResult) error {
	type key struct{ port, proto int32 }
	type agg struct {
		dests                 int64
		sources               map[netip.Addr]struct{}
		flows, packets, bytes int64
	}
	m := map[key]*agg{}
	for _, r := range rows {
		k := key{r.port, r.proto}
		a := m[k]
		if a == nil {
			a = &agg{sources: map[netip.Addr]struct{}{}}
			m[k] = a
		}
		a.dests++
		a.flows += r.flows
		a.packets += r.packets
		a.bytes += r.bytes
		for _, s := range r.sources {
			a.sources[s] = struct{}{}
		}
	}
	keys := make([]key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(p, q key) int {
		if c := cmp.Compare(m[q].dests, m[p].dests); c != 0 {
			return c
		}
		if c := cmp.Compare(m[q].bytes, m[p].bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(p.port, q.port); c != 0 {
			return c
		}
		return cmp.Compare(p.proto, q.proto)
	})
	w, err := output.NewResultWriter(f, e.stdout, []output.Column{
		{Name: "dst_port", Type: output.TypeInt32}, {Name: "protocol"}, {Name: "destinations", Type: output.TypeInt},
		{Name: "internal_sources", Type: output.TypeInt}, {Name: "flows", Type: output.TypeInt},
		{Name: "packets", Type: output.TypeInt}, {Name: "bytes", Type: output.TypeInt},
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		a := m[k]
		if err := w.WriteRow([]any{k.port, protoName(k.proto), a.dests, int64(len(a.sources)), a.flows, a.packets, a.bytes}); err != nil {
			return err
		}
	}
	return w.Close()
}

// writeAllowlist prints 'CIDR proto/port # comment' lines, sorted by
// address, then protocol and port.
func writeAllowlist(w io.Writer, rows []egressResult) error {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(p, q egressResult) int {
		if c := p.dst.Compare(q.dst); c != 0 {
			return c
		}
		if c := cmp.Compare(p.proto, q.proto); c != 0 {
			return c
		}
		return cmp.Compare(p.port, q.port)
	})
	for _, r := range rows {
		line := fmt.Sprintf("%s %s/%d", netip.PrefixFrom(r.dst, r.dst.BitLen()), protoName(r.proto), r.port)
		var notes []string
		switch {
		case len(r.names.PTR) > 0:
			notes = append(notes, r.names.PTR[0])
		case len(r.names.TLS) > 0:
			notes = append(notes, "tls:"+r.names.TLS[0])
		}
		if r.info.service != "" {
			notes = append(notes, "aws:"+r.info.service)
		}
		if r.info.lists != "" {
			notes = append(notes, "list:"+r.info.lists)
		}
		if r.info.geo.ASOrg != "" {
			notes = append(notes, r.info.geo.ASOrg)
		}
		if len(notes) > 0 {
			line += " # " + strings.Join(notes, ", ")
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
