package cwl_test

import (
	"context"
	"io"
	"testing"

	"github.com/flowlens/flowlens/source/cwl"
	"github.com/flowlens/flowlens/source/cwl/cwltest"
)

// benchEvents is the size of the group the benchmarks read.
const benchEvents = 100_000

func benchServer(b *testing.B) *cwltest.Server {
	srv := cwltest.Start(b)
	for s := range 10 {
		addEvents(srv, "flows", "eni-"+string(rune('a'+s))+"-all", s*benchEvents, benchEvents/10, base+int64(s))
	}
	return srv
}

// BenchmarkInput reads the whole group as text through the SDK and the
// fake (10,000 events a page).
func BenchmarkInput(b *testing.B) {
	srv := benchServer(b)
	s := open(b, srv, "cwl://flows", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rc, err := s.Input().Open(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
	b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPoll polls the whole group into batches with a fresh state
// (every event new: dedupe lookups, cursor and id bookkeeping included).
func BenchmarkPoll(b *testing.B) {
	srv := benchServer(b)
	s := open(b, srv, "cwl://flows", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if _, err := s.Poll(context.Background(), cwl.NewState(), func(_ context.Context, bt *cwl.Batch) error {
			if bt.Input().Size() == 0 {
				return io.ErrUnexpectedEOF
			}
			n += len(bt.Events)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if n != benchEvents {
			b.Fatalf("%d events, want %d", n, benchEvents)
		}
	}
	b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
