package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/intel"
	"github.com/flowlens/flowlens/output"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/store"
)

// iocFlags select the indicator lists of a command.
type iocFlags struct {
	files        []string
	dirs         []string
	format       string
	keepReserved bool
}

func (f *iocFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringArrayVar(&f.files, "ioc", nil, "indicator list file (repeatable; list name = file name without extension)")
	fl.StringArrayVar(&f.dirs, "ioc-dir", nil, "directory of indicator lists, e.g. the 'flowlens intel update' cache (repeatable)")
	fl.StringVar(&f.format, "ioc-format", "auto", "indicator list format: "+strings.Join(intel.Formats(), ", "))
	fl.BoolVar(&f.keepReserved, "keep-reserved", false, "keep indicators that cover whole private or reserved blocks (bogon entries such as 10.0.0.0/8)")
}

// load reads every list, reports bad lines on stderr and builds the Set.
func (f *iocFlags) load(e *env) (*intel.Set, error) {
	format, err := intel.ParseFormat(f.format)
	if err != nil {
		return nil, &UsageError{err}
	}
	files := append([]string(nil), f.files...)
	for _, d := range f.dirs {
		fs, err := intel.ListFiles(d)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	if len(files) == 0 {
		return nil, usagef("no indicator lists: give --ioc FILE or --ioc-dir DIR")
	}
	var all []intel.Indicator
	var bad, dropped int
	var droppedEx string
	for _, p := range files {
		res, err := intel.LoadFile(p, format, "")
		if err != nil {
			return nil, err
		}
		if res.Accepted == 0 && res.Rejected > 0 {
			// Nothing readable at all: the wrong file or format (an HTML
			// error page, a list given the wrong --ioc-format). Going on
			// would hunt with one list fewer and report "no match".
			return nil, fmt.Errorf("%s: not an indicator list (read as %s): none of its %d line(s) gives an address; first: %v",
				p, res.Format, res.Rejected, &res.Errors[0])
		}
		bad += res.Rejected
		for i, le := range res.Errors {
			if i == 5 {
				fmt.Fprintf(e.stderr, "flowlens: %s: %d more bad lines\n", p, res.Rejected-i)
				break
			}
			fmt.Fprintf(e.stderr, "flowlens: %v\n", &le)
		}
		for _, in := range res.Indicators {
			if !f.keepReserved && intel.CoversReserved(in.Prefix) {
				if dropped == 0 {
					droppedEx = fmt.Sprintf("%s in %s", intel.PrefixString(in.Prefix), in.List)
				}
				dropped++
				continue
			}
			all = append(all, in)
		}
	}
	if dropped > 0 {
		fmt.Fprintf(e.stderr, "flowlens: left out %d indicator(s) covering private or reserved blocks (e.g. %s); --keep-reserved keeps them\n", dropped, droppedEx)
	}
	set := intel.NewSet(all)
	fmt.Fprintf(e.stderr, "flowlens: %d indicator(s) from %d list(s), %d bad line(s)\n", set.Len(), len(files), bad)
	return set, nil
}

func newHuntCmd(e *env) *cobra.Command {
	var sf storeFlags
	var iocs iocFlags
	var showFlows, showSummary, failOnMatch bool
	c := &cobra.Command{
		Use:   "hunt [SOURCE...] --ioc FILE...",
		Short: "Find flows to or from known-bad addresses (IOC lists)",
		Long: `Match flow records against indicator lists: a flow matches when its source
or destination is an indicator address or inside an indicator CIDR block.

By default hunt prints one summary row per matched address: direction
(who initiated: inbound: the indicator connected to us; outbound: we
connected to it; or both), flows, accepted and rejected counts, packets,
bytes, first and last seen, the internal hosts involved, and the
indicator's lists and comments. A record that looks like a service's answer
counts with the connection it answers: from a service port (1 to 32767) to
a higher port of 1024 or more, e.g. 443 -> 48107, or 443 -> 1500 towards a
NAT gateway. Records without ports (ICMP) count by their own side.

--flows prints the incident-response playbook's inbound/outbound view
instead: one row per matching flow in start-time order, with the record's
direction (inbound: the indicator is its source; outbound: its
destination), the connecting (indicator) address and port, the internal
address and port, interface, protocol, packets, bytes, action, start, end,
session seconds, and the indicator's lists and comments. A flow between two
indicators gives two rows.
On a table both --summary and --flows print both sections.

Lists are read in any supported format (detected, or --ioc-format): CSV with
ip,comment, plain IP/CIDR lists, Spamhaus DROP/EDROP, FireHOL netsets, abuse.ch
Feodo Tracker and SSLBL CSV, Tor exit lists. Bad lines are reported with
file and line and skipped; a list without a single readable line is an
error. Entries that cover whole private or reserved blocks
(the bogon part of feeds like FireHOL level 1) are left out unless
--keep-reserved.

With --fail-on-match hunt exits with code 3 when anything matched (after
printing), for scripts and CI.`,
		Example: `  flowlens hunt flows.log.gz --ioc iocs.csv
  flowlens hunt --ioc iocs.csv --flows --since 24h
  flowlens hunt AWSLogs/ --ioc-dir ~/.cache/flowlens/intel --where 'action = ACCEPT' --fail-on-match`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := sf.prepare(time.Now()); err != nil {
				return err
			}
			ofmt, err := outputFormat(sf.output, e)
			if err != nil {
				return err
			}
			if showFlows && showSummary && ofmt != output.Table {
				return usagef("--flows and --summary together print two tables: use one of them with -o %s", sf.output)
			}
			if !showFlows {
				showSummary = true
			}
			set, err := iocs.load(e)
			if err != nil {
				return err
			}
			h := intel.NewHunt(set, showFlows)
			if len(args) == 0 {
				err = huntStore(c.Context(), e, &sf, h)
			} else {
				err = huntSources(c.Context(), e, &sf, args, h)
			}
			if err != nil {
				return err
			}
			if showSummary {
				if err := writeHuntSummary(e, ofmt, h.Summaries()); err != nil {
					return err
				}
			}
			if showFlows {
				if showSummary {
					fmt.Fprintln(e.stdout)
				}
				if err := writeHuntFlows(e, ofmt, h.Hits()); err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stderr, "flowlens: %d flow(s) matched %d indicator address(es)\n", h.Flows(), len(h.Summaries()))
			if failOnMatch && h.Flows() > 0 {
				return &matchError{n: h.Flows()}
			}
			return nil
		},
	}
	sf.register(c)
	iocs.register(c)
	c.Flags().BoolVar(&showFlows, "flows", false, "print one row per matching flow (the playbook's inbound/outbound view)")
	c.Flags().BoolVar(&showSummary, "summary", false, "print the summary per indicator address (the default; with --flows on a table, both)")
	c.Flags().BoolVar(&failOnMatch, "fail-on-match", false, "exit with code 3 when any flow matched")
	return c
}

// huntFields are the fields a hunt reads.
func huntFields() schema.Set {
	var s schema.Set
	for _, id := range []int{schema.FSrcAddr, schema.FDstAddr, schema.FSrcPort, schema.FDstPort, schema.FInterfaceID,
		schema.FProtocol, schema.FPackets, schema.FBytes, schema.FAction, schema.FStart, schema.FEnd} {
		s.Add(id)
	}
	return s
}

// huntSources matches records as they are parsed: only matching rows are
// copied out of the batches.
func huntSources(ctx context.Context, e *env, sf *storeFlags, args []string, h *intel.Hunt) error {
	filtered := sf.filtered()
	var f intel.Flow
	sink := source.SinkFunc(func(b *flowlog.Batch) error {
		for i := 0; i < b.N; i++ {
			src, _ := b.IP(schema.FSrcAddr, i)
			dst, _ := b.IP(schema.FDstAddr, i)
			if !h.Match(src, dst) || (filtered && !sf.keep(b, i)) {
				continue
			}
			f = intel.Flow{Src: src, Dst: dst}
			f.SrcPort = int32(batchInt(b, schema.FSrcPort, i))
			f.DstPort = int32(batchInt(b, schema.FDstPort, i))
			f.Protocol = int32(batchInt(b, schema.FProtocol, i))
			f.Packets = batchInt(b, schema.FPackets, i)
			f.Bytes = batchInt(b, schema.FBytes, i)
			f.Start = batchInt(b, schema.FStart, i)
			f.End = batchInt(b, schema.FEnd, i)
			if s, ok := b.Str(schema.FInterfaceID, i); ok {
				f.InterfaceID = string(s)
			}
			if s, ok := b.Str(schema.FAction, i); ok {
				f.Action = string(s)
			}
			h.Add(&f)
		}
		return nil
	})
	_, err := readSources(ctx, e, &sf.sourceFlags, args, sf.want(huntFields()), sink)
	return e.partial(err) // answer over what was read; Main exits 1
}

func batchInt(b *flowlog.Batch, id, i int) int64 {
	v, _ := b.Int(id, i)
	return v
}

// huntStore matches the database's records in two steps: the distinct
// addresses of the (restricted) flows are looked up in Go, then only the
// flows with a matching address are read, by a hash semi-join on the
// 16-byte address columns.
func huntStore(ctx context.Context, e *env, sf *storeFlags, h *intel.Hunt) error {
	st, _, err := openForQuery(ctx, e, sf, nil, schema.Set{})
	if err != nil {
		return err
	}
	defer st.Close()
	q, args := sf.withFlows(`SELECT srcaddr_bin FROM flows WHERE srcaddr_bin IS NOT NULL
UNION SELECT dstaddr_bin FROM flows WHERE dstaddr_bin IS NOT NULL`, nil)
	rows, err := st.Query(ctx, q, args...)
	if err != nil {
		return queryError(err)
	}
	var matched []string
	var b []byte
	for rows.Next() {
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return fmt.Errorf("hunt: %w", err)
		}
		if len(b) != 16 {
			continue
		}
		if a := netip.AddrFrom16([16]byte(b)); h.Match(a, netip.Addr{}) {
			matched = append(matched, hex.EncodeToString(b))
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return queryError(err)
	}
	if len(matched) == 0 {
		return nil
	}
	q, args = sf.withFlows(`WITH m AS (SELECT from_hex(unnest(string_split(?, ','))) AS a)
SELECT srcaddr_bin, dstaddr_bin, srcport, dstport, interface_id, protocol, packets, bytes, action, "start", "end"
FROM flows WHERE srcaddr_bin IN (SELECT a FROM m) OR dstaddr_bin IN (SELECT a FROM m)`, []any{strings.Join(matched, ",")})
	return scanHuntRows(ctx, st, q, args, h)
}

func scanHuntRows(ctx context.Context, st store.Store, q string, args []any, h *intel.Hunt) error {
	rows, err := st.Query(ctx, q, args...)
	if err != nil {
		return queryError(err)
	}
	defer rows.Close()
	var src, dst []byte
	vals := make([]any, 9)
	dest := []any{&src, &dst}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("hunt: %w", err)
		}
		f := intel.Flow{
			Src: binAddr(src), Dst: binAddr(dst),
			SrcPort: int32(anyInt(vals[0])), DstPort: int32(anyInt(vals[1])),
			InterfaceID: anyString(vals[2]), Protocol: int32(anyInt(vals[3])),
			Packets: anyInt(vals[4]), Bytes: anyInt(vals[5]), Action: anyString(vals[6]),
			Start: anyInt(vals[7]), End: anyInt(vals[8]),
		}
		h.Add(&f)
	}
	return queryError(rows.Err())
}

func binAddr(b []byte) netip.Addr {
	if len(b) != 16 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(b)).Unmap()
}

func anyInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return 0
}

func anyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func writeHuntFlows(e *env, f output.Format, hits []intel.Hit) error {
	w, err := output.NewResultWriter(f, e.stdout, []output.Column{
		{Name: "direction"}, {Name: "connect_ip", Type: output.TypeIP}, {Name: "connect_port", Type: output.TypeInt32},
		{Name: "internal_ip", Type: output.TypeIP}, {Name: "internal_port", Type: output.TypeInt32},
		{Name: "interface_id"}, {Name: "protocol", Type: output.TypeInt32},
		{Name: "packets", Type: output.TypeInt}, {Name: "bytes", Type: output.TypeInt}, {Name: "action"},
		{Name: "start", Type: output.TypeEpoch}, {Name: "end", Type: output.TypeEpoch}, {Name: "session_seconds", Type: output.TypeInt},
		{Name: "ioc"}, {Name: "ioc_list"}, {Name: "ioc_comment"},
	})
	if err != nil {
		return err
	}
	for _, h := range hits {
		var internal any
		if h.Internal.IsValid() {
			internal = h.Internal.String()
		}
		if err := w.WriteRow([]any{h.Direction.String(), h.Connect.String(), h.ConnectPort, internal, h.InternalPort,
			h.InterfaceID, h.Protocol, h.Packets, h.Bytes, h.Action, h.Start, h.End, h.End - h.Start,
			intel.PrefixString(h.Indicators[0].Prefix), intel.IndicatorLists(h.Indicators), intel.IndicatorComments(h.Indicators)}); err != nil {
			return err
		}
	}
	return w.Close()
}

// maxTableHosts bounds the hosts listed in a table cell.
const maxTableHosts = 8

func writeHuntSummary(e *env, f output.Format, sums []intel.Summary) error {
	w, err := output.NewResultWriter(f, e.stdout, []output.Column{
		{Name: "ioc_ip", Type: output.TypeIP}, {Name: "direction"}, {Name: "flows", Type: output.TypeInt},
		{Name: "accepted", Type: output.TypeInt}, {Name: "rejected", Type: output.TypeInt},
		{Name: "packets", Type: output.TypeInt}, {Name: "bytes", Type: output.TypeInt},
		{Name: "first_seen", Type: output.TypeEpoch}, {Name: "last_seen", Type: output.TypeEpoch},
		{Name: "internal_hosts", Type: output.TypeInt}, {Name: "hosts"},
		{Name: "ioc"}, {Name: "ioc_list"}, {Name: "ioc_comment"},
	})
	if err != nil {
		return err
	}
	for _, s := range sums {
		hosts := make([]string, 0, len(s.Hosts))
		for i, a := range s.Hosts {
			if f == output.Table && i == maxTableHosts {
				hosts = append(hosts, fmt.Sprintf("+%d more", len(s.Hosts)-i))
				break
			}
			hosts = append(hosts, a.String())
		}
		if err := w.WriteRow([]any{s.Addr.String(), s.Direction(), int64(s.Flows), int64(s.Accepted), int64(s.Rejected),
			s.Packets, s.Bytes, s.FirstSeen, s.LastSeen, int64(len(s.Hosts)), strings.Join(hosts, " "),
			intel.PrefixString(s.Indicators[0].Prefix), intel.IndicatorLists(s.Indicators), intel.IndicatorComments(s.Indicators)}); err != nil {
			return err
		}
	}
	return w.Close()
}
