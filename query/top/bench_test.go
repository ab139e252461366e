package top

import (
	"bytes"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
)

// BenchmarkAggregate groups 500k generated records (the traffic shape of
// the bench harness's file) by srcaddr,dstaddr, from parsed batches, into a
// fresh aggregator each time.
func BenchmarkAggregate(b *testing.B) {
	cfg := gen.DefaultConfig()
	cfg.Records = 500_000
	var text bytes.Buffer
	if _, err := gen.Generate(cfg, &text); err != nil {
		b.Fatal(err)
	}
	keys, _ := ParseKeys("srcaddr,dstaddr")
	p := flowlog.NewParser(flowlog.V2, New(keys).Want())
	var batches []*flowlog.Batch
	data := text.Bytes()
	for len(data) > 0 {
		n := bytes.LastIndexByte(data[:min(len(data), 1<<20)], '\n') + 1
		bt := flowlog.NewBatch()
		var c flowlog.Chunk
		p.ParseChunk(data[:n], bt, &c)
		batches = append(batches, bt)
		data = data[n:]
	}
	var groups int
	b.ResetTimer()
	for b.Loop() {
		a := New(keys)
		for _, bt := range batches {
			a.Add(bt, nil)
		}
		groups = a.Groups()
	}
	b.ReportMetric(float64(cfg.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(groups), "groups")
}
