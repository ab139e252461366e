package intel

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src, dst int32
		want     bool
	}{
		{"https answer", 443, 48107, true},
		{"https request", 48107, 443, false},
		{"answer to a NAT gateway's low port", 443, 1500, true},
		{"request from a NAT gateway's low port", 1500, 443, false},
		{"ssh answer", 22, 54583, true},
		{"dns answer (udp)", 53, 40000, true},
		{"service above 1024 answering", 8080, 50000, true},
		{"highest service port", ServiceMax, 40000, true},
		{"client port is no service", ServiceMax + 1, 40000, false},
		{"scanner reaching a high port", 40343, 49152, false},
		{"high port answering a scanner", 49152, 40343, false},
		{"answer to a port below 1024", 53, 1023, false},
		{"equal ports (ntp)", 123, 123, false},
		{"icmp, no ports", 0, 0, false},
		{"no source port", 0, 40000, false},
		{"negative (unknown) port", -1, 40000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsAnswer(tc.src, tc.dst); got != tc.want {
				t.Errorf("IsAnswer(%d, %d) = %v, want %v", tc.src, tc.dst, got, tc.want)
			}
		})
	}
	// A request and its answer are never both answers.
	ports := []int32{0, 1, 22, 53, 80, 123, 443, 1023, 1024, 1500, 3389, 8080, 32767, 32768, 40000, 49152, 65535}
	for _, a := range ports {
		for _, b := range ports {
			if IsAnswer(a, b) && IsAnswer(b, a) {
				t.Errorf("%d -> %d and %d -> %d are both answers", a, b, b, a)
			}
		}
	}
}

// TestHuntDirection checks the summary's direction, which follows the
// initiator, and the flow view's, which stays the record's side, on
// hand-made records.
func TestHuntDirection(t *testing.T) {
	ioc := netip.MustParseAddr("94.11.180.165")
	host := netip.MustParseAddr("10.0.40.163")
	nat := netip.MustParseAddr("10.0.1.195")
	const tcp, udp, icmp = 6, 17, 1
	flow := func(src netip.Addr, sp int32, dst netip.Addr, dp int32, proto int32) Flow {
		return Flow{Src: src, Dst: dst, SrcPort: sp, DstPort: dp, Protocol: proto, Action: "ACCEPT", Packets: 1, Bytes: 40, Start: 100, End: 160}
	}
	type counts struct {
		Direction         string
		Inbound, Outbound int
	}
	for _, tc := range []struct {
		name  string
		flows []Flow
		want  counts
		// hits are the record sides the flow view shows, in input order.
		hits []Direction
	}{
		{"beacon and its answer", []Flow{flow(host, 48107, ioc, 443, tcp), flow(ioc, 443, host, 48107, tcp)},
			counts{"outbound", 0, 2}, []Direction{Outbound, Inbound}},
		{"beacon through a NAT gateway's low port", []Flow{flow(nat, 1500, ioc, 443, tcp), flow(ioc, 443, nat, 1500, tcp)},
			counts{"outbound", 0, 2}, []Direction{Outbound, Inbound}},
		{"accepted ssh login and its answer", []Flow{flow(ioc, 54583, host, 22, tcp), flow(host, 22, ioc, 54583, tcp)},
			counts{"inbound", 2, 0}, []Direction{Inbound, Outbound}},
		{"dns query to a listed resolver (udp)", []Flow{flow(host, 40000, ioc, 53, udp), flow(ioc, 53, host, 40000, udp)},
			counts{"outbound", 0, 2}, []Direction{Outbound, Inbound}},
		{"answer seen without its request", []Flow{flow(ioc, 443, host, 50000, tcp)},
			counts{"outbound", 0, 1}, []Direction{Inbound}},
		{"rejected probe", []Flow{func() Flow { f := flow(ioc, 51000, host, 3389, tcp); f.Action = "REJECT"; return f }()},
			counts{"inbound", 1, 0}, []Direction{Inbound}},
		{"icmp from the indicator (ports 0)", []Flow{flow(ioc, 0, host, 0, icmp)},
			counts{"inbound", 1, 0}, []Direction{Inbound}},
		{"icmp echo and reply (ports 0): record sides", []Flow{flow(host, 0, ioc, 0, icmp), flow(ioc, 0, host, 0, icmp)},
			counts{"both", 1, 1}, []Direction{Outbound, Inbound}},
		{"equal ports (ntp): record sides", []Flow{flow(host, 123, ioc, 123, udp), flow(ioc, 123, host, 123, udp)},
			counts{"both", 1, 1}, []Direction{Outbound, Inbound}},
		{"connections both ways", []Flow{flow(host, 48107, ioc, 443, tcp), flow(ioc, 443, host, 48107, tcp),
			flow(ioc, 51000, host, 22, tcp), flow(host, 22, ioc, 51000, tcp)},
			counts{"both", 2, 2}, []Direction{Outbound, Inbound, Inbound, Outbound}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHunt(NewSet([]Indicator{{Prefix: netip.PrefixFrom(ioc, 32), List: "test"}}), true)
			for i := range tc.flows {
				f := tc.flows[i]
				f.Start += int64(i) // keeps the hits in input order
				if n := h.Add(&f); n != 1 {
					t.Fatalf("flow %d: %d hits, want 1", i, n)
				}
			}
			sums := h.Summaries()
			if len(sums) != 1 {
				t.Fatalf("%d summaries, want 1", len(sums))
			}
			got := counts{sums[0].Direction(), sums[0].Inbound, sums[0].Outbound}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("summary (-want +got):\n%s", d)
			}
			var sides []Direction
			for _, hit := range h.Hits() {
				sides = append(sides, hit.Direction)
			}
			if d := cmp.Diff(tc.hits, sides); d != "" {
				t.Errorf("flow view directions (-want +got):\n%s", d)
			}
		})
	}
}
