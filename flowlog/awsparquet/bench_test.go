package awsparquet

import (
	"bytes"
	"context"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// BenchmarkRead measures read throughput on generated AWS-schema files
// (Snappy, dictionary-encoded strings as parquet-mr writes them, row groups
// of 100k rows).
func BenchmarkRead(b *testing.B) {
	const n = 200_000
	opts := fileOptions{rowGroupRows: 100_000, dict: true}
	v5, rows := genFile(b, n, opts)
	v2rows := make([]map[string]any, 0, n)
	for _, r := range rows {
		m := map[string]any{}
		for _, id := range flowlog.V2.IDs {
			c := schema.Fields[id].Column
			if v, ok := r[c]; ok {
				m[c] = v
			}
		}
		v2rows = append(v2rows, m)
	}
	v2 := writeFile(b, awsColumns(flowlog.V2.IDs), v2rows, opts)
	cases := []struct {
		name string
		data []byte
		want schema.Set
	}{
		{"v2/all", v2, schema.All()},
		{"v5-29-fields/all", v5, schema.All()},
		{"v5-29-fields/srcaddr,dstaddr,bytes", v5, schema.SetOf(schema.FSrcAddr, schema.FDstAddr, schema.FBytes)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.data)))
			var rowsRead int64
			for b.Loop() {
				_, _, err := Read(context.Background(), bytes.NewReader(tc.data), int64(len(tc.data)), "bench", tc.want,
					func(bt *flowlog.Batch) error {
						rowsRead += int64(bt.N)
						return nil
					})
				if err != nil {
					b.Fatal(err)
				}
			}
			if rowsRead != int64(b.N)*n {
				b.Fatalf("read %d rows in %d runs; want %d each", rowsRead, b.N, n)
			}
			b.ReportMetric(float64(rowsRead)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
