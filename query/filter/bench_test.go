package filter

import (
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// benchBatch parses a few thousand generated rows, as a reader hands them
// over.
func benchBatch(b *testing.B) *flowlog.Batch {
	b.Helper()
	p := flowlog.NewParser(propFormat, schema.All())
	bt := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk([]byte(genLog(newRand(), 4096)), bt, &ch)
	if bt.N != 4096 {
		b.Fatalf("parsed %d rows", bt.N)
	}
	return bt
}

func benchEval(b *testing.B, filter string) {
	bt := benchBatch(b)
	e, err := Compile(filter, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for b.Loop() {
		for i := range bt.N {
			if e.Eval(bt, i) {
				matched++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bt.N), "ns/row")
	if matched == 0 {
		b.Fatal("filter matched nothing")
	}
}

func BenchmarkEvalIssueExample(b *testing.B) {
	benchEval(b, "dstport = 22 or action = REJECT and src not in 10.0.0.0/8")
}

func BenchmarkEvalEitherAddrCIDRList(b *testing.B) {
	benchEval(b, "addr in (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 2001:db8::/32)")
}

func BenchmarkEvalLargeSets(b *testing.B) {
	benchEval(b, "dstport in (1, 7, 9, 13, 21, 22, 23, 25, 53, 80, 110, 123, 443, 1024..2048, 3389) and "+
		"src in (1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 5.5.5.5, 6.6.6.6, 7.7.7.7, 8.8.8.8, 10.0.0.0/8, 2001:db8::/32)")
}

func BenchmarkEvalStrings(b *testing.B) {
	benchEval(b, "(accept or log-status = NODATA) and account-id != 012345678901")
}
