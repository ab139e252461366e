package flowlog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// v5Format is the 29-field format with every v2-v5 field.
var v5Format = flowlog.MustFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status " +
	"vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id " +
	"pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path")

func benchData(v5 bool, n int) []byte {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "%d 123456789010 eni-0a1b2c3d%08x 10.0.%d.%d 52.%d.%d.%d %d 443 6 %d %d %d %d %s OK",
			map[bool]int{false: 2, true: 5}[v5], i, (i/250)%250, i%250+1, i%200, (i/7)%250, i%250, 32768+i%20000, i%50+1, 40+(i*7919)%150000,
			1700000000+i/100, 1700000060+i/100, []string{"ACCEPT", "ACCEPT", "ACCEPT", "REJECT"}[i%4])
		if v5 {
			fmt.Fprintf(&sb, " vpc-0123456789abcdef0 subnet-0123456789abcdef0 i-0123456789abcdef0 %d IPv4 10.0.%d.%d 52.1.2.%d us-east-1 use1-az1 - - - AMAZON egress 8",
				[]int{2, 18, 19, 3}[i%4], (i/250)%250, i%250+1, i%250)
		}
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

func benchParse(b *testing.B, f *flowlog.Format, data []byte, want schema.Set) {
	p := flowlog.NewParser(f, want)
	bt := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk(data, bt, &ch) // warm the batch's buffers
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p.ParseChunk(data, bt, &ch)
	}
	b.ReportMetric(float64(ch.Stats.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if ch.Stats.Bad != 0 {
		b.Fatalf("bad records: %+v", ch.Stats)
	}
}

// Chunks of ~1 MiB, as the reader pipeline hands them to workers.
func BenchmarkParseV2(b *testing.B) {
	benchParse(b, flowlog.V2, benchData(false, 9000), schema.All())
}

func BenchmarkParseV2Projected(b *testing.B) {
	benchParse(b, flowlog.V2, benchData(false, 9000), schema.SetOf(schema.FSrcAddr, schema.FDstAddr, schema.FBytes))
}

func BenchmarkParseV5(b *testing.B) {
	benchParse(b, v5Format, benchData(true, 5000), schema.All())
}
