package awsparquet

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// storage says how a test file stores a column.
type storage uint8

const (
	awsType   storage = iota // AWS's own type for the field (INT32, INT64, UTF8)
	asString                 // UTF8 whatever the field type
	asInt64                  // INT64 (Athena's bigint)
	asDouble                 // DOUBLE (pandas' integers with missing values)
	asMillis                 // INT64 with the TIMESTAMP(MILLIS) logical type
	asBoolean                // BOOLEAN (a type no field accepts as an address)
)

// wcol is one column of a test file: its name in the file, the catalog
// field it holds (-1 for an extra column) and its storage.
type wcol struct {
	name  string
	field int
	as    storage
}

func (c wcol) node(dict bool) parquet.Node {
	var n parquet.Node
	switch c.as {
	case asString:
		n = parquet.String()
	case asInt64:
		n = parquet.Int(64)
	case asDouble:
		n = parquet.Leaf(parquet.DoubleType)
	case asMillis:
		n = parquet.Timestamp(parquet.Millisecond)
	case asBoolean:
		n = parquet.Leaf(parquet.BooleanType)
	default:
		switch schema.Fields[c.field].Type {
		case schema.Int32:
			n = parquet.Int(32)
		case schema.Int64, schema.Time:
			n = parquet.Int(64)
		default:
			n = parquet.String()
		}
	}
	if dict && n.Type().Kind() == parquet.ByteArray {
		n = parquet.Encoded(n, &parquet.RLEDictionary)
	}
	return parquet.Optional(n)
}

// awsColumns is the AWS schema for the given fields: catalog column names
// and AWS's types, every column optional.
func awsColumns(ids []int) []wcol {
	cols := make([]wcol, len(ids))
	for i, id := range ids {
		cols[i] = wcol{name: schema.Fields[id].Column, field: id}
	}
	return cols
}

// with returns cols with the storage of the named columns changed.
func with(cols []wcol, as storage, names ...string) []wcol {
	out := append([]wcol(nil), cols...)
	for i := range out {
		for _, n := range names {
			if out[i].name == n {
				out[i].as = as
			}
		}
	}
	return out
}

// fileOptions shape a test file.
type fileOptions struct {
	rowGroupRows int64 // rows per row group; 0 = one row group
	pageBytes    int   // page buffer size; 0 = parquet-go's default
	dataPageV1   bool
	dict         bool           // dictionary-encode string columns (as parquet-mr does)
	codec        compress.Codec // nil: Snappy
}

// writeFile writes rows (keyed by file column name; nil or absent = NULL)
// as a Parquet file with the given columns.
func writeFile(tb testing.TB, cols []wcol, rows []map[string]any, o fileOptions) []byte {
	tb.Helper()
	group := parquet.Group{}
	for _, c := range cols {
		group[c.name] = c.node(o.dict)
	}
	sch := parquet.NewSchema("flows", group)
	codec := o.codec
	if codec == nil {
		codec = &parquet.Snappy
	}
	opts := []parquet.WriterOption{sch, parquet.Compression(codec)}
	if o.rowGroupRows > 0 {
		opts = append(opts, parquet.MaxRowsPerRowGroup(o.rowGroupRows))
	}
	if o.pageBytes > 0 {
		opts = append(opts, parquet.PageBufferSize(o.pageBytes))
	}
	if o.dataPageV1 {
		opts = append(opts, parquet.DataPageVersion(1))
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, opts...)
	byName := map[string]wcol{}
	for _, c := range cols {
		byName[c.name] = c
	}
	leaves := sch.Columns()
	prows := make([]parquet.Row, 0, len(rows))
	for _, r := range rows {
		row := make(parquet.Row, len(leaves))
		for li, path := range leaves {
			c := byName[path[0]]
			v, ok := r[c.name]
			if !ok || v == nil {
				row[li] = parquet.NullValue().Level(0, 0, li)
				continue
			}
			row[li] = toValue(tb, c, v).Level(0, 1, li)
		}
		prows = append(prows, row)
	}
	if _, err := w.WriteRows(prows); err != nil {
		tb.Fatalf("writing rows: %v", err)
	}
	if err := w.Close(); err != nil {
		tb.Fatalf("closing writer: %v", err)
	}
	return buf.Bytes()
}

func toValue(tb testing.TB, c wcol, v any) parquet.Value {
	tb.Helper()
	kind := c.node(false).Type().Kind()
	switch kind {
	case parquet.ByteArray:
		switch x := v.(type) {
		case string:
			return parquet.ByteArrayValue([]byte(x))
		case int64:
			return parquet.ByteArrayValue(strconv.AppendInt(nil, x, 10))
		}
	case parquet.Int32:
		if x, ok := v.(int64); ok {
			return parquet.Int32Value(int32(x))
		}
	case parquet.Int64:
		if x, ok := v.(int64); ok {
			return parquet.Int64Value(x)
		}
	case parquet.Double:
		switch x := v.(type) {
		case float64:
			return parquet.DoubleValue(x)
		case int64:
			return parquet.DoubleValue(float64(x))
		}
	case parquet.Boolean:
		if x, ok := v.(bool); ok {
			return parquet.BooleanValue(x)
		}
	}
	tb.Fatalf("column %s (%s): cannot store %T %v", c.name, kind, v, v)
	return parquet.Value{}
}

// rowsOf extracts a batch's rows keyed by column name, NULLs omitted,
// addresses as text.
func rowsOf(b *flowlog.Batch) []map[string]any {
	out := make([]map[string]any, b.N)
	for i := range b.N {
		r := map[string]any{}
		for _, id := range b.Present.IDs() {
			v := b.Value(id, i)
			if v == nil {
				continue
			}
			if s, ok := v.(fmt.Stringer); ok {
				v = s.String()
			}
			r[schema.Fields[id].Column] = v
		}
		out[i] = r
	}
	return out
}

// parseText parses lines (in format f, nil = v2) with the text parser,
// keeping every field, and fails on any bad line.
func parseText(tb testing.TB, f *flowlog.Format, lines ...string) *flowlog.Batch {
	tb.Helper()
	p := flowlog.NewParser(f, schema.All())
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk([]byte(strings.Join(lines, "\n")), b, &ch)
	if ch.Stats.Bad != 0 {
		tb.Fatalf("text parser rejected lines: %v", ch.Errors)
	}
	return b
}

// result is everything Read produced.
type result struct {
	rows    []map[string]any
	sizes   []int   // rows per emitted batch
	lines   []int64 // Batch.Line of each batch
	present []schema.Set
	stats   flowlog.Stats
	errs    []flowlog.ParseError
	err     error
}

func readAll(data []byte, want schema.Set) result {
	var res result
	res.stats, res.errs, res.err = Read(context.Background(), bytes.NewReader(data), int64(len(data)), "test.parquet", want,
		func(b *flowlog.Batch) error {
			res.rows = append(res.rows, rowsOf(b)...)
			res.sizes = append(res.sizes, b.N)
			res.lines = append(res.lines, b.Line)
			res.present = append(res.present, b.Present)
			return nil
		})
	return res
}

// v5Format is the 29-field format with every v2-v5 field in AWS order.
var v5Format = flowlog.MustFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes " +
	"start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id " +
	"sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path")

// genLines makes n deterministic v5 records with NULLs, NODATA rows and
// IPv6 mixed in.
func genLines(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 7))
	lines := make([]string, n)
	for i := range lines {
		start := 1_700_000_000 + int64(i)
		switch {
		case i%97 == 5:
			lines[i] = fmt.Sprintf("5 123456789012 eni-%08x - - - - - - - %d %d - NODATA vpc-1 subnet-1 - - - - - us-east-1 use1-az1 - - - - - -",
				rng.Uint32(), start, start+60)
			continue
		case i%31 == 3:
			lines[i] = fmt.Sprintf("5 123456789012 eni-%08x 2001:db8::%x 2001:db8:1::%x %d 443 6 %d %d %d %d ACCEPT OK vpc-1 subnet-1 i-%08x 2 IPv6 2001:db8::%x 2001:db8:1::%x us-east-1 use1-az1 - - - - ingress -",
				rng.Uint32(), rng.IntN(65536), rng.IntN(65536), 1024+rng.IntN(60000), 1+rng.IntN(100), 40+rng.IntN(1<<20),
				start, start+60, rng.Uint32(), rng.IntN(65536), rng.IntN(65536))
			continue
		}
		action := "ACCEPT"
		if rng.IntN(10) == 0 {
			action = "REJECT"
		}
		lines[i] = fmt.Sprintf("5 123456789012 eni-%08x 10.%d.%d.%d 52.%d.%d.%d %d %d %d %d %d %d %d %s OK vpc-0a1b2c3d subnet-0a1b2c3d i-%08x %d IPv4 10.0.%d.%d 52.94.%d.%d us-east-1 use1-az1 - - - AMAZON egress %d",
			rng.Uint32(), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256),
			1024+rng.IntN(60000), []int{443, 80, 22, 53, 3306}[rng.IntN(5)], []int{6, 17, 1}[rng.IntN(3)],
			1+rng.IntN(1000), 40+rng.Int64N(1<<30), start, start+60, action, rng.Uint32(), rng.IntN(32),
			rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), 1+rng.IntN(8))
	}
	return lines
}

// genFile writes n generated v5 records in AWS's schema and returns the
// file and the text parser's rows for the same records.
func genFile(tb testing.TB, n int, o fileOptions) ([]byte, []map[string]any) {
	tb.Helper()
	rows := rowsOf(parseText(tb, v5Format, genLines(n, 1)...))
	return writeFile(tb, awsColumns(v5Format.IDs), rows, o), rows
}
