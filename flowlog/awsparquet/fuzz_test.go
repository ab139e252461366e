package awsparquet

import (
	"bytes"
	"context"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// FuzzRead feeds arbitrary bytes (seeded with valid files) to Read and
// checks its invariants: it never panics, every row read is either a record
// or a bad row, batches are rectangular and hold exactly the records
// counted, and row numbers of bad rows stay within the rows read.
func FuzzRead(f *testing.F) {
	v2 := awsColumns(flowlog.V2.IDs)
	for _, o := range []fileOptions{{}, {dict: true}, {dataPageV1: true, rowGroupRows: 3}} {
		text := parseText(f, flowlog.V2, v2Lines...)
		f.Add(writeFile(f, v2, rowsOf(text), o))
	}
	f.Add(writeFile(f, with(v2, asString, "srcport", "start"), []map[string]any{
		{"srcport": "x", "start": "1439387263000"}, {"srcport": "None", "srcaddr": "::1"}, {"srcaddr": "1.2.3"},
	}, fileOptions{}))
	f.Add([]byte("PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var emitted int64
		stats, errs, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)), "fuzz", schema.All(),
			func(b *flowlog.Batch) error {
				for _, id := range b.Present.IDs() {
					c := &b.Cols[id]
					n := len(c.Valid)
					switch c.Type {
					case schema.String:
						if len(c.Offs) != n+1 || int(c.Offs[n]) != len(c.Data) {
							t.Fatalf("column %s: %d offsets, %d bytes for %d rows", schema.Fields[id].Column, len(c.Offs), len(c.Data), n)
						}
					case schema.IP:
						n = len(c.IPs)
					default:
						n = len(c.Ints)
					}
					if len(c.Valid) != b.N || n != b.N {
						t.Fatalf("column %s has %d/%d values for %d rows", schema.Fields[id].Column, len(c.Valid), n, b.N)
					}
				}
				emitted += int64(b.N)
				return nil
			})
		if stats.Records+stats.Bad != stats.Lines {
			t.Fatalf("records %d + bad %d != rows %d", stats.Records, stats.Bad, stats.Lines)
		}
		if emitted != stats.Records {
			t.Fatalf("emitted %d rows, counted %d records", emitted, stats.Records)
		}
		var byReason int64
		for _, n := range stats.Reasons {
			byReason += n
		}
		if byReason != stats.Bad || len(errs) > MaxErrors || int64(len(errs)) > stats.Bad {
			t.Fatalf("bad %d, by reason %d, %d errors kept", stats.Bad, byReason, len(errs))
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > stats.Lines {
				t.Fatalf("bad row %d outside rows 1..%d", e.Line, stats.Lines)
			}
		}
		_ = err // corrupt input may end the read early with an error
	})
}
