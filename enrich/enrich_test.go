package enrich_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/enrich/awsranges"
	"github.com/flowlens/flowlens/enrich/lists"
	"github.com/flowlens/flowlens/enrich/netclass"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/intel"
	"github.com/flowlens/flowlens/inventory"
	"github.com/flowlens/flowlens/schema"
)

func testEnricher(t testing.TB) *enrich.Enricher {
	t.Helper()
	inv, err := inventory.LoadFiles(filepath.Join("..", "inventory", "testdata", "describe-network-interfaces.json"),
		filepath.Join("..", "inventory", "testdata", "describe-vpcs.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := awsranges.Load(filepath.Join("awsranges", "testdata", "ip-ranges.json"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := lists.LoadFile("monitoring", filepath.Join("lists", "testdata", "monitoring.good.json"))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := lists.NewSet([]lists.List{l})
	if err != nil {
		t.Fatal(err)
	}
	return &enrich.Enricher{
		Class:     netclass.New(netclass.Config{OwnNetworks: inv.OwnNetworks()}),
		Ranges:    r,
		Lists:     ls,
		Inventory: inv.NewIndex(),
	}
}

func TestLookup(t *testing.T) {
	e := testEnricher(t)
	type got struct {
		Class, Service, Entity string
		Lists                  uint64
	}
	tests := []struct {
		addr string
		want got
	}{
		{"10.0.200.15", got{"own", "", "rds", 0}},
		{"52.217.0.1", got{"public", "S3", "", 0}},
		{"18.208.1.1", got{"public", "", "", 1}},
		{"192.168.1.1", got{"private", "", "", 0}},
	}
	for _, tc := range tests {
		var in enrich.Info
		e.Lookup(netip.MustParseAddr(tc.addr), &in)
		g := got{in.Class.String(), in.AWS.Service, string(in.Entity.Type), uint64(in.Lists)}
		if d := cmp.Diff(tc.want, g); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.addr, d)
		}
	}
}

// BenchmarkEnrichVsParse parses generated v2 records and then fills the
// derived columns of every record, reporting ns per record for each, so
// the enrichment share of the parse cost can be read off. RECORDS in the
// environment sets the count (default 200,000; the target is
// measured at 1,500,000).
func BenchmarkEnrichVsParse(b *testing.B) {
	n := 200000
	if s := os.Getenv("RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	cfg := gen.DefaultConfig()
	cfg.Records = n
	var buf bytes.Buffer
	if _, err := gen.Generate(cfg, &buf); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	var want schema.Set
	for _, id := range flowlog.V2.IDs {
		want.Add(id)
	}
	e := testEnricher(b)
	b.ReportAllocs()
	var parseNs, enrichNs float64
	// Batches are reused across iterations, as the pipeline reuses them:
	// both stages run at steady state, not growing fresh slices.
	var batches []*flowlog.Batch
	for b.Loop() {
		p := flowlog.NewParser(flowlog.V2, want)
		start := time.Now()
		const chunk = 1 << 20
		k := 0
		for off := 0; off < len(data); k++ {
			end := min(off+chunk, len(data))
			if i := bytes.LastIndexByte(data[off:end], '\n'); i >= 0 && end < len(data) {
				end = off + i + 1
			}
			if k == len(batches) {
				batches = append(batches, flowlog.NewBatch())
			}
			var c flowlog.Chunk
			p.ParseChunk(data[off:end], batches[k], &c)
			off = end
		}
		parse := time.Since(start)
		// The Filler adds every column the data allows, as ingest does.
		f := e.NewFiller(e.Columns())
		start = time.Now()
		var internal int
		for _, bt := range batches {
			f.Fill(bt)
		}
		enr := time.Since(start)
		for _, bt := range batches {
			for i := 0; i < bt.N; i++ {
				if v, _ := bt.Int(schema.FSrcInternal, i); v == 1 {
					internal++
				}
			}
		}
		parseNs = float64(parse.Nanoseconds()) / float64(n)
		enrichNs = float64(enr.Nanoseconds()) / float64(n)
		if internal == 0 {
			b.Fatal("no internal address")
		}
	}
	b.ReportMetric(parseNs, "parse-ns/record")
	b.ReportMetric(enrichNs, "enrich-ns/record")
	b.ReportMetric(100*enrichNs/parseNs, "enrich-%-of-parse")
}

func TestFiller(t *testing.T) {
	e := testEnricher(t)
	e.Threat = intel.NewSet([]intel.Indicator{
		{Prefix: netip.MustParsePrefix("52.217.0.0/24"), List: "feodo"},
		{Prefix: netip.MustParsePrefix("52.217.0.1/32"), List: "case-42"},
	})
	b := flowlog.NewBatch()
	p := flowlog.NewParser(flowlog.V2, schema.All())
	lines := "2 123456789010 eni-1 10.0.200.15 52.217.0.1 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK\n" +
		"2 123456789010 eni-1 192.168.1.1 18.208.1.1 1 2 17 1 40 1620000000 1620000060 REJECT OK\n" +
		"2 123456789010 eni-1 - - - - - - - 1620000000 1620000060 - NODATA\n"
	var ch flowlog.Chunk
	p.ParseChunk([]byte(lines), b, &ch)
	if b.N != 3 {
		t.Fatalf("parsed %d rows, want 3", b.N)
	}
	f := e.NewFiller(schema.SetOf(schema.FSrcInternal, schema.FDstInternal, schema.FSrcEntityType, schema.FSrcEntityID,
		schema.FDstService, schema.FDstList, schema.FDstThreat, schema.FSrcThreat, schema.FDstCountry))
	// No GeoIP database: dst_country cannot be filled.
	want := schema.SetOf(schema.FSrcInternal, schema.FDstInternal, schema.FSrcEntityType, schema.FSrcEntityID,
		schema.FDstService, schema.FDstList, schema.FDstThreat, schema.FSrcThreat)
	if f.Fields() != want {
		t.Errorf("Fields %v, want %v", f.Fields().IDs(), want.IDs())
	}
	f.Fill(b)
	f.Fill(b) // filling again recomputes, it does not append
	cols := []int{schema.FSrcInternal, schema.FDstInternal, schema.FSrcEntityType, schema.FDstService, schema.FDstList, schema.FDstThreat, schema.FSrcThreat}
	var got [][]any
	for i := range b.N {
		var row []any
		for _, id := range cols {
			row = append(row, b.Value(id, i))
		}
		got = append(got, row)
	}
	wantRows := [][]any{
		{true, false, "rds", "S3", nil, "case-42,feodo", nil},
		{true, false, nil, nil, "monitoring", nil, nil},
		{nil, nil, nil, nil, nil, nil, nil},
	}
	if d := cmp.Diff(wantRows, got); d != "" {
		t.Errorf("filled rows (-want +got):\n%s", d)
	}
	if n := len(b.Cols[schema.FSrcEntityID].Valid); n != b.N {
		t.Errorf("src_entity_id has %d rows, want %d", n, b.N)
	}
}

// TestFillerAgreesWithLookup fills many rows whose addresses collide in
// the address cache and repeat, and checks every row against a direct
// Lookup.
func TestFillerAgreesWithLookup(t *testing.T) {
	e := testEnricher(t)
	var sb strings.Builder
	pool := []string{"10.0.200.15", "52.217.0.1", "18.208.1.1", "192.168.1.1", "2001:db8::1", "10.0.16.10", "-"}
	for i := range 40000 {
		src := pool[i%len(pool)]
		// Many distinct public destinations: far more than the cache holds.
		dst := fmt.Sprintf("198.%d.%d.%d", 18+i%2, (i/256)%256, i%256)
		if i%5 == 0 {
			dst = pool[(i/5)%len(pool)]
		}
		fmt.Fprintf(&sb, "2 1 eni-1 %s %s 1 2 6 1 40 1620000000 1620000060 ACCEPT OK\n", src, dst)
	}
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	flowlog.NewParser(flowlog.V2, schema.All()).ParseChunk([]byte(sb.String()), b, &ch)
	if ch.Stats.Bad != 0 {
		t.Fatal(ch.Errors)
	}
	f := e.NewFiller(e.Columns())
	f.Fill(b)
	for i := range b.N {
		for _, side := range []struct{ addr, internal, service, list, entity int }{
			{schema.FSrcAddr, schema.FSrcInternal, schema.FSrcService, schema.FSrcList, schema.FSrcEntityID},
			{schema.FDstAddr, schema.FDstInternal, schema.FDstService, schema.FDstList, schema.FDstEntityID},
		} {
			a, ok := b.IP(side.addr, i)
			var want []any
			if !ok {
				want = []any{nil, nil, nil, nil}
			} else {
				var in enrich.Info
				e.Lookup(a, &in)
				str := func(s string) any {
					if s == "" {
						return nil
					}
					return s
				}
				svc := ""
				if in.InAWS {
					svc = in.AWS.Service
				}
				want = []any{in.Internal(), str(svc), str(strings.Join(e.Lists.Names(in.Lists), ",")), str(in.Entity.ID)}
			}
			got := []any{b.Value(side.internal, i), b.Value(side.service, i), b.Value(side.list, i), b.Value(side.entity, i)}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("row %d, %v (-lookup +filled):\n%s", i, a, d)
			}
		}
	}
}
