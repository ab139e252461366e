package source_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
)

// memInput is an input held in memory.
type memInput struct {
	name string
	data []byte
}

func (m memInput) Name() string { return m.name }
func (m memInput) Size() int64  { return int64(len(m.data)) }
func (m memInput) Open(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m.data)), nil
}

var v5Header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status " +
	"vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id " +
	"pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"

func benchInput(b *testing.B, v5, gzipped bool) memInput {
	b.Helper()
	var sb strings.Builder
	if v5 {
		sb.WriteString(v5Header + "\n")
	}
	for i := range 200_000 {
		sb.WriteString(v2line(i))
		if v5 {
			sb.WriteString(" vpc-0123456789abcdef0 subnet-0123456789abcdef0 i-0123456789abcdef0 19 IPv4 10.0.1.2 198.51.100.7 us-east-1 use1-az1 - - - AMAZON egress 8")
		}
		sb.WriteByte('\n')
	}
	data := []byte(sb.String())
	if gzipped {
		return memInput{"bench.log.gz", gz(b, data)}
	}
	return memInput{"bench.log", data}
}

// benchRun measures the whole reader pipeline (decompression, chunking,
// parallel parsing, ordered delivery) on 200k records per op.
func benchRun(b *testing.B, in memInput) {
	var records atomic.Int64
	sink := source.SinkFunc(func(bt *flowlog.Batch) error {
		records.Add(int64(bt.N))
		return nil
	})
	var raw int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := source.Run(context.Background(), source.Config{}, []source.Input{in}, sink)
		if err != nil || rep.Total.Bad != 0 {
			b.Fatalf("err=%v bad=%d", err, rep.Total.Bad)
		}
		raw = rep.Inputs[0].Bytes
	}
	b.SetBytes(raw)
	b.ReportMetric(float64(records.Load())/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkRunV2(b *testing.B)     { benchRun(b, benchInput(b, false, false)) }
func BenchmarkRunV2Gzip(b *testing.B) { benchRun(b, benchInput(b, false, true)) }
func BenchmarkRunV5(b *testing.B)     { benchRun(b, benchInput(b, true, false)) }
func BenchmarkRunV5Gzip(b *testing.B) { benchRun(b, benchInput(b, true, true)) }

// endless streams v2 records without holding them: a large input that is
// never in memory as a whole.
type endless struct {
	n, total int
	buf      []byte
}

func (e *endless) Read(p []byte) (int, error) {
	for len(e.buf) == 0 {
		if e.n >= e.total {
			return 0, io.EOF
		}
		e.buf = append(e.buf[:0], v2line(e.n)...)
		e.buf = append(e.buf, '\n')
		e.n++
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

type endlessInput struct{ total int }

func (endlessInput) Name() string { return "endless" }
func (endlessInput) Size() int64  { return -1 }
func (e endlessInput) Open(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(&endless{total: e.total}), nil
}

func TestMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads ~300 MB")
	}
	// ~330 MB of records through a slow consumer: the heap must stay
	// within the pipeline's bounds (inputs in flight x chunks x chunk size),
	// not grow with the input.
	const records = 3_000_000
	var peak uint64
	var ms runtime.MemStats
	var n int64
	sink := source.SinkFunc(func(b *flowlog.Batch) error {
		n += int64(b.N)
		if n%(1<<18) < int64(b.N) {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			time.Sleep(time.Millisecond)
		}
		return nil
	})
	rep, err := source.Run(context.Background(), source.Config{Want: schema.All()},
		[]source.Input{endlessInput{records}, endlessInput{records / 10}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Records != records+records/10 || n != rep.Total.Records {
		t.Fatalf("records %d delivered %d", rep.Total.Records, n)
	}
	if peak > 128<<20 {
		t.Fatalf("peak heap %d MB for a %d MB input", peak>>20, rep.Inputs[0].Bytes>>20)
	}
	t.Logf("peak heap %d MB for %d MB of input", peak>>20, (rep.Inputs[0].Bytes+rep.Inputs[1].Bytes)>>20)
}
