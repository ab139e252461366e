package filter

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// propFormat is the layout of the generated rows; vpc-id and the extra
// fields are not in it, so they are NULL everywhere.
var propFormat = flowlog.MustFormat("interface-id account-id srcaddr dstaddr pkt-srcaddr srcport dstport protocol packets bytes start end action log-status flow-direction tcp-flags")

var (
	propIPs = []string{
		"10.0.0.1", "10.0.0.5", "10.0.1.9", "10.1.2.3", "10.255.255.255", "11.0.0.0", "9.255.255.255",
		"172.16.0.1", "172.31.255.254", "192.168.1.10", "192.168.1.200", "203.0.113.7", "0.0.0.0", "255.255.255.255",
		"::ffff:10.0.0.5", "::ffff:192.168.1.10", "2001:db8::1", "2001:db8::5", "2001:db8:1::9", "2001:db9::1",
		"::1", "::", "fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	}
	propPrefixes = []string{
		"10.0.0.0/8", "10.0.0.0/24", "10.0.0.5/32", "172.16.0.0/12", "192.168.0.0/16", "0.0.0.0/0", "203.0.113.0/24",
		"2001:db8::/32", "2001:db8::/64", "::/0", "fe80::/10", "::ffff:10.0.0.0/104", "::/127",
	}
	propPorts   = []int{0, 1, 22, 53, 80, 123, 443, 1024, 3389, 8080, 49152, 65535}
	propActions = []string{"ACCEPT", "REJECT", "accept"}
	propStatus  = []string{"OK", "OK", "OK", "NODATA", "SKIPDATA"}
	propAccts   = []string{"111111111111", "222222222222", "012345678901"}
	propDirs    = []string{"ingress", "egress"}
	propProtos  = []int{1, 6, 6, 6, 17, 17, 58, 47}
)

// genLog writes n rows of the propFormat layout; about one value in ten is
// '-' (NULL).
func genLog(r *rand.Rand, n int) string {
	var sb strings.Builder
	pick := func(v string) string {
		if r.IntN(10) == 0 {
			return "-"
		}
		return v
	}
	port := func() string {
		if r.IntN(3) == 0 {
			return pick(fmt.Sprint(r.IntN(65536)))
		}
		return pick(fmt.Sprint(propPorts[r.IntN(len(propPorts))]))
	}
	ip := func() string { return pick(propIPs[r.IntN(len(propIPs))]) }
	for i := range n {
		start := 1700000000 + r.IntN(7200)
		fmt.Fprintf(&sb, "eni-%03d %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s\n",
			i, pick(propAccts[r.IntN(len(propAccts))]), ip(), ip(), ip(), port(), port(),
			pick(fmt.Sprint(propProtos[r.IntN(len(propProtos))])),
			pick(fmt.Sprint(r.IntN(100))), pick(fmt.Sprint(r.Int64N(1<<40))),
			pick(fmt.Sprint(start)), pick(fmt.Sprint(start+r.IntN(120))),
			pick(propActions[r.IntN(len(propActions))]), pick(propStatus[r.IntN(len(propStatus))]),
			pick(propDirs[r.IntN(len(propDirs))]), pick(fmt.Sprint(r.IntN(64))))
	}
	return sb.String()
}

// newRand returns the fixed-seed generator of the tests' rows and filters.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(3, 2024)) }

// filterGen builds random filters from the grammar, with values drawn from
// the same pools as the rows so that filters select something.
type filterGen struct{ r *rand.Rand }

func (g filterGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g filterGen) op() string { return g.pick([]string{"=", "!=", "<", "<=", ">", ">=", "==", "<>"}) }

func (g filterGen) intValue(field string) string {
	switch field {
	case "protocol", "proto":
		return g.pick([]string{"6", "17", "1", "58", "tcp", "udp", "icmp", "icmpv6", "gre"})
	case "bytes":
		return fmt.Sprint(g.r.Int64N(1 << 40))
	case "packets", "tcp-flags":
		return fmt.Sprint(g.r.IntN(100))
	case "start", "end":
		switch g.r.IntN(3) {
		case 0:
			return fmt.Sprint(1700000000 + g.r.IntN(7300))
		case 1:
			return "2023-11-14T23:00:00Z"
		}
		return "2023-11-14T22:30:00+00:00"
	}
	if g.r.IntN(2) == 0 {
		return fmt.Sprint(g.r.IntN(65536))
	}
	return fmt.Sprint(propPorts[g.r.IntN(len(propPorts))])
}

func (g filterGen) intItem(field string) string {
	if g.r.IntN(3) == 0 && field != "protocol" && field != "proto" && field != "start" && field != "end" {
		a, b := g.r.IntN(65536), g.r.IntN(65536)
		return fmt.Sprintf("%d..%d", min(a, b), max(a, b))
	}
	return g.intValue(field)
}

func (g filterGen) ipItem() string {
	switch g.r.IntN(4) {
	case 0:
		return g.pick(propPrefixes)
	case 1:
		a, b := netip.MustParseAddr(g.pick(propIPs)).Unmap(), netip.MustParseAddr(g.pick(propIPs)).Unmap()
		if a.Is4() != b.Is4() {
			return a.String()
		}
		if b.Less(a) {
			a, b = b, a
		}
		return a.String() + ".." + b.String()
	}
	return g.pick(propIPs)
}

func (g filterGen) list(item func() string) string {
	if g.r.IntN(3) == 0 {
		return item()
	}
	n := 1 + g.r.IntN(12)
	items := make([]string, n)
	for i := range items {
		items[i] = item()
	}
	return "(" + strings.Join(items, ", ") + ")"
}

func (g filterGen) in() string {
	if g.r.IntN(3) == 0 {
		return "not in"
	}
	return g.pick([]string{"in", "IN"})
}

func (g filterGen) leaf() string {
	switch g.r.IntN(9) {
	case 0, 1: // integers and times
		f := g.pick([]string{"srcport", "dstport", "port", "sport", "dport", "dst-port", "protocol", "proto", "packets", "bytes", "start", "end", "tcp-flags"})
		if g.r.IntN(3) == 0 {
			return f + " " + g.in() + " " + g.list(func() string { return g.intItem(f) })
		}
		return f + " " + g.op() + " " + g.intValue(f)
	case 2, 3: // addresses
		f := g.pick([]string{"srcaddr", "dstaddr", "src", "dst", "addr", "pkt-srcaddr", "pkt_srcaddr"})
		switch g.r.IntN(3) {
		case 0:
			return f + " " + g.in() + " " + g.list(g.ipItem)
		case 1:
			return f + " " + g.pick([]string{"=", "!="}) + " " + g.pick(propPrefixes)
		}
		return f + " " + g.op() + " " + g.pick(propIPs)
	case 4: // strings
		type sv struct {
			f    string
			vals []string
		}
		s := []sv{
			{"action", []string{"ACCEPT", "reject", "Accept", `"accept"`, "REJECT"}},
			{"log-status", []string{"OK", "nodata", "SKIPDATA", "'ok'"}},
			{"account-id", propAccts},
			{"interface-id", []string{"eni-010", "eni-100", "eni-050", "eni-1"}},
			{"flow-direction", []string{"ingress", "EGRESS", `"egress"`}},
			{"vpc-id", []string{"vpc-1"}},
			{"dst.entity", []string{"rds", "nat"}},
		}[g.r.IntN(7)]
		if g.r.IntN(3) == 0 {
			return s.f + " " + g.in() + " " + g.list(func() string { return g.pick(s.vals) })
		}
		return s.f + " " + g.op() + " " + g.pick(s.vals)
	case 5: // NULL tests
		f := g.pick([]string{"srcaddr", "dst", "addr", "port", "dstport", "action", "log-status", "vpc-id", "src.internal", "bytes", "start"})
		return f + " " + g.pick([]string{"=", "!="}) + " " + g.pick([]string{"null", "NULL"})
	case 6: // extra columns (NULL in the rows)
		return g.pick([]string{"src.internal", "src.internal = false", "dst.entity = rds", "src.asn in (1, 2)"})
	}
	return g.pick([]string{"tcp", "udp", "icmp", "icmpv6", "reject", "accept", "REJECT", "nodata", "skipdata", "egress", "ingress"})
}

func (g filterGen) expr(depth int) string {
	if depth == 0 || g.r.IntN(3) == 0 {
		return g.leaf()
	}
	switch g.r.IntN(4) {
	case 0:
		return g.expr(depth-1) + " and " + g.expr(depth-1)
	case 1:
		return g.expr(depth-1) + " or " + g.expr(depth-1)
	case 2:
		return "not " + g.expr(depth-1)
	}
	return "(" + g.expr(depth-1) + ")"
}

// loadDuckDB creates the flows table in an in-memory DuckDB, with the text
// and _bin columns of every IP field, and copies the rows of b into it.
func loadDuckDB(t *testing.T, b *flowlog.Batch) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	var cols, defs []string
	var ids []int
	for _, f := range schema.Fields {
		if !b.Has(f.ID) && f.ID != schema.FVPCID {
			continue
		}
		ids = append(ids, f.ID)
		q := DuckDB{}.Ident(f.Column)
		switch f.Type {
		case schema.String:
			defs = append(defs, q+" VARCHAR")
		case schema.Int32:
			defs = append(defs, q+" INTEGER")
		case schema.Int64, schema.Time:
			defs = append(defs, q+" BIGINT")
		case schema.IP:
			defs = append(defs, q+" VARCHAR", DuckDB{}.Ident(f.Column+"_bin")+" BLOB")
		}
		cols = append(cols, q)
		if f.Type == schema.IP {
			cols = append(cols, DuckDB{}.Ident(f.Column+"_bin"))
		}
	}
	defs = append(defs, "src_internal BOOLEAN", "dst_internal BOOLEAN", "dst_entity_type VARCHAR", "dst_threat VARCHAR", "src_asn INTEGER")
	if _, err := db.Exec("CREATE TABLE flows (" + strings.Join(defs, ", ") + ")"); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	ins, err := tx.Prepare("INSERT INTO flows (" + strings.Join(cols, ", ") + ") VALUES (" + marks + ")")
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.N {
		var vals []any
		for _, id := range ids {
			v := b.Value(id, i)
			if schema.Fields[id].Type != schema.IP {
				vals = append(vals, v)
				continue
			}
			if v == nil {
				vals = append(vals, nil, nil)
				continue
			}
			a := v.(netip.Addr)
			key := a.As16()
			vals = append(vals, a.String(), key[:])
		}
		if _, err := ins.Exec(vals...); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestEvalAgreesWithDuckDB runs random filters both through Eval and as
// compiled SQL in DuckDB over the same rows: the selected rows must be the
// same.
func TestEvalAgreesWithDuckDB(t *testing.T) {
	r := newRand()
	p := flowlog.NewParser(propFormat, schema.All())
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	const n = 300
	p.ParseChunk([]byte(genLog(r, n)), b, &ch)
	if b.N != n {
		t.Fatalf("parsed %d rows of %d: %+v %v", b.N, n, ch.Stats, ch.Errors)
	}
	db := loadDuckDB(t, b)
	fs := testFields(t)
	g := filterGen{r}
	const filters = 200
	nontrivial := 0
	for k := range filters {
		src := g.expr(4)
		e, err := Compile(src, fs)
		if err != nil {
			t.Fatalf("filter %d %q: %v", k, src, err)
		}
		var want []string
		for _, i := range e.AppendMatches(nil, b) {
			s, _ := b.Str(schema.FInterfaceID, i)
			want = append(want, string(s))
		}
		q, args := e.SQL(DuckDB{})
		rows, err := db.Query("SELECT interface_id FROM flows WHERE "+q, args...)
		if err != nil {
			t.Fatalf("filter %q: SQL %s %v: %v", src, q, args, err)
		}
		var got []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("filter %q\nSQL %s\nEval vs DuckDB (-eval +duckdb):\n%s", src, q, diff)
		}
		if len(want) > 0 && len(want) < n {
			nontrivial++
		}
	}
	// The comparison only means something if filters select some rows but
	// not all.
	if nontrivial < filters/3 {
		t.Errorf("only %d of %d filters selected some but not all rows", nontrivial, filters)
	}
	t.Logf("%d of %d filters selected some but not all rows", nontrivial, filters)
}
