package intel

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Direction says which side of a flow the indicator is on.
type Direction uint8

// Directions of a hit, from the estate's point of view.
const (
	// Inbound: the indicator is the source; it connects to us.
	Inbound Direction = iota + 1
	// Outbound: the indicator is the destination; we connect to it.
	Outbound
)

// Ports of the answer test (IsAnswer).
const (
	// EphemeralMin is the lowest port a client side may use: operating
	// systems pick from 32768 (Linux) or 49152 (Windows) up, but a NAT
	// gateway picks from 1024 up.
	EphemeralMin = 1024
	// ServiceMax is the highest port taken for a service's: the usual
	// ephemeral ranges of clients start above it.
	ServiceMax = 32767
)

// IsAnswer reports whether a record from srcport to dstport looks like a
// service answering its client, so that the connection was initiated by
// the record's destination: the source port is a service port (1 to
// ServiceMax) lower than the destination port, and the destination port
// is ephemeral (EphemeralMin or more). 443 -> 48107 and 53 -> 1500 (an
// answer to a NAT gateway) are answers; 48107 -> 443 is not.
//
// For two ports at most one direction is an answer, so a request and its
// answer are never both taken for answers. Records without ports (ICMP,
// protocols other than TCP, UDP and SCTP: port 0) and records between
// equal ports are never answers. The test reads ports only: a client on a
// low NAT port talking to a higher service port (1500 -> 3389) is taken
// for an answer, and a service on a port above ServiceMax (a scanner
// reaching 49152) is not recognised when it answers.
func IsAnswer(srcport, dstport int32) bool {
	return srcport > 0 && srcport <= ServiceMax && srcport < dstport && dstport >= EphemeralMin
}

// AnswerSQL renders IsAnswer as a SQL condition over the columns src and
// dst (quoted identifiers or expressions); a NULL port makes it false.
func AnswerSQL(src, dst string) string {
	return fmt.Sprintf("coalesce(%[1]s > 0 AND %[1]s <= %[3]d AND %[1]s < %[2]s AND %[2]s >= %[4]d, false)", src, dst, ServiceMax, EphemeralMin)
}

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return ""
}

// Flow is the part of a flow record a hunt reads.
type Flow struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort int32
	InterfaceID      string
	Protocol         int32
	Packets, Bytes   int64
	Action           string
	// Start and End are epoch seconds.
	Start, End int64
}

// Hit is one flow matched on one side: the playbook's inbound/outbound
// view of it.
type Hit struct {
	// Direction is the side of the record the indicator is on, as the
	// playbook shows it: Inbound when it is the source.
	Direction Direction
	// Connect is the indicator side of the flow; Internal the other.
	Connect, Internal         netip.Addr
	ConnectPort, InternalPort int32
	InterfaceID               string
	Protocol                  int32
	Packets, Bytes            int64
	Action                    string
	Start, End                int64
	// Indicators are those containing Connect, most specific first. The
	// slice is shared with the Set: do not modify it.
	Indicators []Indicator
	// Answer says the record looks like a service's answer (IsAnswer):
	// the connection was initiated by its destination.
	Answer bool
}

// Initiator returns the direction of the connection the record belongs
// to, from the estate's point of view: Inbound when the indicator
// initiated it, Outbound when we did. It is Direction (the side of the
// record the indicator is on) unless the record is an answer.
func (h *Hit) Initiator() Direction {
	if !h.Answer {
		return h.Direction
	}
	if h.Direction == Inbound {
		return Outbound
	}
	return Inbound
}

// Summary is what a hunt found for one indicator address.
type Summary struct {
	// Addr is the matched address (an address inside a CIDR indicator
	// gets its own summary).
	Addr netip.Addr
	// Indicators are those containing Addr, most specific first.
	Indicators []Indicator
	Flows      int
	// Inbound and Outbound count the flows by initiator (Hit.Initiator):
	// connections the indicator made to us, and ours to it. A service's
	// answer counts with the connection it answers.
	Inbound, Outbound int
	Accepted          int
	Rejected          int
	Packets, Bytes    int64
	// FirstSeen and LastSeen are the earliest start and latest end.
	FirstSeen, LastSeen int64
	// Hosts are the internal addresses on the other side, ascending.
	Hosts []netip.Addr
}

// Direction returns who initiated the indicator's connections:
// "inbound" (it connected to us), "outbound" (we connected to it) or
// "both".
func (s *Summary) Direction() string {
	switch {
	case s.Inbound > 0 && s.Outbound > 0:
		return "both"
	case s.Inbound > 0:
		return Inbound.String()
	}
	return Outbound.String()
}

// Hunt matches flows against a Set and keeps a summary per matched
// address and, when asked, every hit. It is not safe for concurrent use.
type Hunt struct {
	set      *Set
	keepHits bool
	hits     []Hit
	sums     map[netip.Addr]*summaryAcc
	flows    int
}

type summaryAcc struct {
	Summary
	hosts map[netip.Addr]struct{}
}

// NewHunt returns a hunt over set; keepHits keeps every Hit for Hits.
func NewHunt(set *Set, keepHits bool) *Hunt {
	return &Hunt{set: set, keepHits: keepHits, sums: make(map[netip.Addr]*summaryAcc)}
}

// Match reports whether either side of a flow between src and dst is an
// indicator, without allocating: a cheap test before building a Flow.
func (h *Hunt) Match(src, dst netip.Addr) bool {
	return h.set.Contains(src) || h.set.Contains(dst)
}

// Add matches f and records a hit per matching side (a flow between two
// indicators gives two). It returns the number of hits.
func (h *Hunt) Add(f *Flow) int {
	n := 0
	answer := IsAnswer(f.SrcPort, f.DstPort)
	if inds := h.set.Lookup(f.Src); inds != nil {
		h.record(Hit{Direction: Inbound, Connect: f.Src.Unmap(), Internal: f.Dst.Unmap(), ConnectPort: f.SrcPort, InternalPort: f.DstPort,
			InterfaceID: f.InterfaceID, Protocol: f.Protocol, Packets: f.Packets, Bytes: f.Bytes, Action: f.Action,
			Start: f.Start, End: f.End, Indicators: inds, Answer: answer})
		n++
	}
	if inds := h.set.Lookup(f.Dst); inds != nil {
		h.record(Hit{Direction: Outbound, Connect: f.Dst.Unmap(), Internal: f.Src.Unmap(), ConnectPort: f.DstPort, InternalPort: f.SrcPort,
			InterfaceID: f.InterfaceID, Protocol: f.Protocol, Packets: f.Packets, Bytes: f.Bytes, Action: f.Action,
			Start: f.Start, End: f.End, Indicators: inds, Answer: answer})
		n++
	}
	if n > 0 {
		h.flows++
	}
	return n
}

func (h *Hunt) record(hit Hit) {
	s := h.sums[hit.Connect]
	if s == nil {
		s = &summaryAcc{Summary: Summary{Addr: hit.Connect, Indicators: hit.Indicators, FirstSeen: hit.Start, LastSeen: hit.End},
			hosts: make(map[netip.Addr]struct{})}
		h.sums[hit.Connect] = s
	}
	s.Flows++
	if hit.Initiator() == Inbound {
		s.Inbound++
	} else {
		s.Outbound++
	}
	switch strings.ToUpper(hit.Action) {
	case "ACCEPT":
		s.Accepted++
	case "REJECT":
		s.Rejected++
	}
	s.Packets += hit.Packets
	s.Bytes += hit.Bytes
	s.FirstSeen = min(s.FirstSeen, hit.Start)
	s.LastSeen = max(s.LastSeen, hit.End)
	if hit.Internal.IsValid() {
		s.hosts[hit.Internal] = struct{}{}
	}
	if h.keepHits {
		h.hits = append(h.hits, hit)
	}
}

// Flows returns the number of flows that matched on either side.
func (h *Hunt) Flows() int { return h.flows }

// Hits returns the hits kept (NewHunt with keepHits) ordered by start
// time, then end, indicator address, internal address and ports.
func (h *Hunt) Hits() []Hit {
	slices.SortStableFunc(h.hits, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End), a.Connect.Compare(b.Connect),
			a.Internal.Compare(b.Internal), cmp.Compare(a.ConnectPort, b.ConnectPort), cmp.Compare(a.InternalPort, b.InternalPort),
			cmp.Compare(a.Direction, b.Direction))
	})
	return h.hits
}

// Summaries returns one summary per matched address, ordered by first
// seen, then address.
func (h *Hunt) Summaries() []Summary {
	out := make([]Summary, 0, len(h.sums))
	for _, s := range h.sums {
		sum := s.Summary
		sum.Hosts = make([]netip.Addr, 0, len(s.hosts))
		for a := range s.hosts {
			sum.Hosts = append(sum.Hosts, a)
		}
		slices.SortFunc(sum.Hosts, netip.Addr.Compare)
		out = append(out, sum)
	}
	slices.SortFunc(out, func(a, b Summary) int {
		return cmp.Or(cmp.Compare(a.FirstSeen, b.FirstSeen), a.Addr.Compare(b.Addr))
	})
	return out
}

// IndicatorLists joins the distinct list names of inds with ",".
func IndicatorLists(inds []Indicator) string {
	var names []string
	for _, in := range inds {
		if !slices.Contains(names, in.List) {
			names = append(names, in.List)
		}
	}
	return strings.Join(names, ",")
}

// IndicatorComments joins the distinct non-empty comments of inds with "; ".
func IndicatorComments(inds []Indicator) string {
	var cs []string
	for _, in := range inds {
		if in.Comment != "" && !slices.Contains(cs, in.Comment) {
			cs = append(cs, in.Comment)
		}
	}
	return strings.Join(cs, "; ")
}
