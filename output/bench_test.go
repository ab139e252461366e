package output

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// benchBatch parses n deterministic v2 records: mostly IPv4 TCP/UDP flows,
// some IPv6, some REJECTs and a few NODATA records.
func benchBatch(tb testing.TB, n int) *flowlog.Batch {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var data []byte
	for i := range n {
		eni := fmt.Sprintf("eni-%017x", rng.IntN(64))
		start := 1700000000 + i/10
		if rng.IntN(50) == 0 {
			data = fmt.Appendf(data, "2 123456789010 %s - - - - - - - %d %d - NODATA\n", eni, start, start+60)
			continue
		}
		var src, dst string
		if rng.IntN(20) == 0 {
			src = fmt.Sprintf("2001:db8:%x::%x", rng.IntN(1<<16), rng.IntN(1<<16))
			dst = fmt.Sprintf("2600:1f18:%x::%x", rng.IntN(1<<16), rng.IntN(1<<16))
		} else {
			src = fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256))
			dst = fmt.Sprintf("%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), rng.IntN(256))
		}
		proto, dport := 6, []int{443, 80, 22, 5432, 3306}[rng.IntN(5)]
		if rng.IntN(4) == 0 {
			proto, dport = 17, 53
		}
		action := "ACCEPT"
		if rng.IntN(10) == 0 {
			action = "REJECT"
		}
		pkts := 1 + rng.IntN(1000)
		data = fmt.Appendf(data, "2 123456789010 %s %s %s %d %d %d %d %d %d %d %s OK\n",
			eni, src, dst, 1024+rng.IntN(64000), dport, proto, pkts, pkts*(40+rng.IntN(1400)), start, start+60, action)
	}
	p := flowlog.NewParser(flowlog.V2, schema.All())
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk(data, b, &ch)
	if ch.Stats.Bad != 0 || b.N != n {
		tb.Fatalf("parsed %d of %d records: %v", b.N, n, ch.Errors)
	}
	return b
}

// countWriter counts bytes and discards them.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// benchRecords measures writing one ~4000-row v2 batch per iteration.
func benchRecords(b *testing.B, f Format) {
	batch := benchBatch(b, 4000)
	var cw countWriter
	w, err := NewRecordWriter(f, &cw, flowlog.V2.IDs)
	if err != nil {
		b.Fatal(err)
	}
	// One warm-up batch sizes the buffers; SetBytes reports output bytes.
	if err := w.WriteBatch(batch); err != nil {
		b.Fatal(err)
	}
	before := cw.n
	if err := w.WriteBatch(batch); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(cw.n - before)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := w.WriteBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(batch.N)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSVWriter(b *testing.B)     { benchRecords(b, CSV) }
func BenchmarkNDJSONWriter(b *testing.B)  { benchRecords(b, NDJSON) }
func BenchmarkJSONWriter(b *testing.B)    { benchRecords(b, JSON) }
func BenchmarkParquetWriter(b *testing.B) { benchRecords(b, Parquet) }
func BenchmarkTableWriter(b *testing.B)   { benchRecords(b, Table) }

// TestCSVWriterAllocs holds the CSV and NDJSON paths to no allocation per
// batch once their buffers are sized.
func TestCSVWriterAllocs(t *testing.T) {
	batch := benchBatch(t, 4000)
	for _, f := range []Format{CSV, NDJSON, JSON} {
		t.Run(string(f), func(t *testing.T) {
			w, err := NewRecordWriter(f, io.Discard, flowlog.V2.IDs)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteBatch(batch); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(20, func() {
				if err := w.WriteBatch(batch); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s: %v allocations per batch, want 0", f, allocs)
			}
		})
	}
}

func TestJSONStringAllocs(t *testing.T) {
	in := []byte("café-東京 \u2028 \xff ok")
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf = appendJSONString(buf[:0], in)
	})
	if allocs != 0 {
		t.Errorf("appendJSONString: %v allocations for non-ASCII text, want 0", allocs)
	}
	if want := `"café-東京 \u2028 \ufffd ok"`; string(buf) != want {
		t.Errorf("appendJSONString = %s, want %s", buf, want)
	}
}
