package duckdb

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// TestDerivedColumns stores batches carrying derived (enrichment) fields of
// every type, NULLs included, next to batches without them.
func TestDerivedColumns(t *testing.T) {
	for _, ld := range loaders {
		t.Run(ld.name(), func(t *testing.T) {
			s, err := OpenMemory(Config{MemoryLimit: 1 << 30})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			useLoader(t, s, ld)
			lines := v2Lines(3, 7)
			enriched := parseBatches(t, flowlog.V2, lines, 3)[0]
			ints := []struct {
				id    int
				vals  []int64
				valid []bool
			}{
				{schema.FSrcInternal, []int64{1, 0, 0}, []bool{true, true, false}},
				{schema.FSrcASN, []int64{0, 64500, 0}, []bool{false, true, false}},
			}
			for _, c := range ints {
				col := &enriched.Cols[c.id]
				col.Reset(schema.Col(c.id).Type)
				for i, v := range c.vals {
					if c.valid[i] {
						col.AppendInt(v)
					} else {
						col.AppendNull()
					}
				}
				enriched.Present.Add(c.id)
			}
			ent := &enriched.Cols[schema.FDstEntityType]
			ent.Reset(schema.String)
			ent.AppendStringValue("rds")
			ent.AppendNull()
			ent.AppendStringValue("nat_gateway")
			enriched.Present.Add(schema.FDstEntityType)
			plain := parseBatches(t, flowlog.V2, v2Lines(2, 8), 2)[0]
			ingest(t, s, []store.Object{fileObject("/a.log", 1), fileObject("/b.log", 1)},
				[][]*flowlog.Batch{{enriched}, {plain}})
			got := queryAll(t, s, `SELECT source, src_internal, src_asn, dst_entity_type, dst_internal FROM flows ORDER BY source, "start", srcaddr`)
			var bySource = map[string][][]any{}
			for _, r := range got {
				bySource[r[0].(string)] = append(bySource[r[0].(string)], r[1:])
			}
			if n := len(bySource["/b.log"]); n != 2 {
				t.Fatalf("%d rows of b.log, want 2", n)
			}
			for _, r := range bySource["/b.log"] {
				if d := cmp.Diff([]any{nil, nil, nil, nil}, r); d != "" {
					t.Errorf("unenriched row (-want +got):\n%s", d)
				}
			}
			// The rows of a.log in batch order, matched by their srcaddr.
			want := map[string][]any{}
			for i := range enriched.N {
				a, _ := enriched.IP(schema.FSrcAddr, i)
				want[a.String()] = []any{enriched.Value(schema.FSrcInternal, i), int32OrNil(enriched.Value(schema.FSrcASN, i)), enriched.Value(schema.FDstEntityType, i), nil}
			}
			rows := queryAll(t, s, `SELECT srcaddr, src_internal, src_asn, dst_entity_type, dst_internal FROM flows WHERE source = '/a.log'`)
			for _, r := range rows {
				if d := cmp.Diff(want[r[0].(string)], r[1:]); d != "" {
					t.Errorf("row of %v (-want +got):\n%s", r[0], d)
				}
			}
			if n := count(t, s, `SELECT count(*) FROM flows WHERE src_internal`); n != 1 {
				t.Errorf("%d rows with src_internal true, want 1", n)
			}
		})
	}
}

func int32OrNil(v any) any {
	if v == nil {
		return nil
	}
	return int32(v.(int64))
}
