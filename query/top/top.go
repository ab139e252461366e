// Package top computes nfdump-style top-N tables: records grouped by any set
// of fields, with flows, packets and bytes per group, ordered by one of them.
// It aggregates record batches directly, which is how ad-hoc queries over
// files are answered without loading a database; the store answers the same
// question in SQL (see SQL).
package top

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// Measure is what groups are ranked by.
type Measure string

// Measures.
const (
	Bytes   Measure = "bytes"
	Packets Measure = "packets"
	Flows   Measure = "flows"
)

// ParseMeasure checks a --by value.
func ParseMeasure(s string) (Measure, error) {
	switch m := Measure(strings.ToLower(s)); m {
	case Bytes, Packets, Flows:
		return m, nil
	}
	return "", fmt.Errorf("--by must be bytes, packets or flows, not %q", s)
}

// ParseKeys resolves a comma-separated key list to field IDs.
func ParseKeys(s string) ([]int, error) {
	var ids []int
	seen := schema.Set{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		f, ok := schema.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown key field %q (see 'flowlens fields')", name)
		}
		if seen.Has(f.ID) {
			return nil, fmt.Errorf("key field %q given twice", name)
		}
		seen.Add(f.ID)
		ids = append(ids, f.ID)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no key fields given")
	}
	return ids, nil
}

// Row is one group.
type Row struct {
	Keys    []any // nil, int64, netip.Addr or string per key field
	Flows   int64
	Packets int64
	Bytes   int64
}

type agg struct {
	keys                  []any
	flows, packets, bytes int64
}

// Aggregator groups batches. It is not safe for concurrent use.
type Aggregator struct {
	keys   []int
	groups map[string]*agg
	buf    []byte
	// Records counts the rows aggregated.
	Records int64
}

// New returns an aggregator over the given key fields.
func New(keys []int) *Aggregator {
	return &Aggregator{keys: keys, groups: make(map[string]*agg)}
}

// Want is the set of fields the aggregator reads.
func (a *Aggregator) Want() schema.Set {
	s := schema.SetOf(a.keys...)
	s.Add(schema.FPackets)
	s.Add(schema.FBytes)
	return s
}

// Add aggregates rows of b for which keep (if not nil) returns true.
func (a *Aggregator) Add(b *flowlog.Batch, keep func(b *flowlog.Batch, i int) bool) {
	a.add(b, keep, 1)
}

// Sub takes back rows that an earlier Add aggregated (see
// source.ParallelSink.Undo).
func (a *Aggregator) Sub(b *flowlog.Batch, keep func(b *flowlog.Batch, i int) bool) {
	a.add(b, keep, -1)
}

// Merge adds the groups of o into a.
func (a *Aggregator) Merge(o *Aggregator) {
	for k, g := range o.groups {
		mine := a.groups[k]
		if mine == nil {
			a.groups[k] = g
			continue
		}
		mine.flows += g.flows
		mine.packets += g.packets
		mine.bytes += g.bytes
	}
	a.Records += o.Records
}

func (a *Aggregator) add(b *flowlog.Batch, keep func(b *flowlog.Batch, i int) bool, sign int64) {
	for i := 0; i < b.N; i++ {
		if keep != nil && !keep(b, i) {
			continue
		}
		a.buf = a.buf[:0]
		for _, id := range a.keys {
			a.buf = appendKey(a.buf, b, id, i)
		}
		g := a.groups[string(a.buf)]
		if g == nil {
			g = &agg{keys: make([]any, len(a.keys))}
			for k, id := range a.keys {
				g.keys[k] = keyValue(b, id, i)
			}
			a.groups[string(a.buf)] = g
		}
		g.flows += sign
		if p, ok := b.Int(schema.FPackets, i); ok {
			g.packets += sign * p
		}
		if n, ok := b.Int(schema.FBytes, i); ok {
			g.bytes += sign * n
		}
		a.Records += sign
	}
}

func appendKey(buf []byte, b *flowlog.Batch, id, i int) []byte {
	if !b.Valid(id, i) {
		return append(buf, 0)
	}
	c := &b.Cols[id]
	switch c.Type {
	case schema.String:
		v := c.Bytes(i)
		buf = append(buf, 1)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		return append(buf, v...)
	case schema.IP:
		a16 := c.IPs[i].As16()
		buf = append(buf, 2)
		if c.IPs[i].Is4() {
			buf[len(buf)-1] = 3
		}
		return append(buf, a16[:]...)
	default:
		buf = append(buf, 1)
		return binary.BigEndian.AppendUint64(buf, uint64(c.Ints[i]))
	}
}

func keyValue(b *flowlog.Batch, id, i int) any {
	v := b.Value(id, i)
	if a, ok := v.(netip.Addr); ok {
		return a.String()
	}
	return v
}

// Groups returns the number of groups so far.
func (a *Aggregator) Groups() int { return len(a.groups) }

// Top returns the n largest groups by m (all when n <= 0). Ties are broken
// by the other measures and then by the keys, so results are stable.
// Groups whose rows were all taken back (Sub) are left out.
func (a *Aggregator) Top(m Measure, n int) []Row {
	less := func(x, y Row) bool { return Less(m, x, y) }
	var rows []Row
	if n <= 0 || n >= len(a.groups) {
		rows = make([]Row, 0, len(a.groups))
		for _, g := range a.groups {
			if g.flows != 0 {
				rows = append(rows, Row{Keys: g.keys, Flows: g.flows, Packets: g.packets, Bytes: g.bytes})
			}
		}
	} else {
		// Keep the n best in a heap whose root is the worst of them.
		h := &rowHeap{less: less}
		for _, g := range a.groups {
			if g.flows == 0 {
				continue
			}
			r := Row{Keys: g.keys, Flows: g.flows, Packets: g.packets, Bytes: g.bytes}
			if len(h.rows) < n {
				heap.Push(h, r)
			} else if less(r, h.rows[0]) {
				h.rows[0] = r
				heap.Fix(h, 0)
			}
		}
		rows = h.rows
	}
	sort.Slice(rows, func(i, j int) bool { return less(rows[i], rows[j]) })
	return rows
}

// rowHeap is a heap of rows with the worst (by less) at the root.
type rowHeap struct {
	rows []Row
	less func(x, y Row) bool
}

func (h *rowHeap) Len() int           { return len(h.rows) }
func (h *rowHeap) Less(i, j int) bool { return h.less(h.rows[j], h.rows[i]) }
func (h *rowHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *rowHeap) Push(x any)         { h.rows = append(h.rows, x.(Row)) }
func (h *rowHeap) Pop() any {
	r := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return r
}

// Less orders rows by m descending, then bytes, packets, flows, then keys.
func Less(m Measure, x, y Row) bool {
	order := []Measure{m, Bytes, Packets, Flows}
	for _, o := range order {
		a, b := x.measure(o), y.measure(o)
		if a != b {
			return a > b
		}
	}
	for k := range x.Keys {
		if c := compareKey(x.Keys[k], y.Keys[k]); c != 0 {
			return c < 0
		}
	}
	return false
}

func (r Row) measure(m Measure) int64 {
	switch m {
	case Packets:
		return r.Packets
	case Flows:
		return r.Flows
	}
	return r.Bytes
}

func compareKey(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch av := a.(type) {
	case int64:
		bv := b.(int64)
		switch {
		case av < bv:
			return -1
		case av > bv:
			return 1
		}
		return 0
	case string:
		return strings.Compare(av, b.(string))
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// SQL returns the same top-N as a query over table from (already filtered
// by the caller's where clause). Column names come from the catalog; the
// end column is quoted because END is a keyword.
func SQL(keys []int, m Measure, n int, from, where string) string {
	var cols []string
	for _, id := range keys {
		cols = append(cols, quote(schema.Fields[id].Column))
	}
	k := strings.Join(cols, ", ")
	var sb strings.Builder
	fmt.Fprintf(&sb, "SELECT %s, count(*) AS flows, coalesce(sum(packets), 0) AS packets, coalesce(sum(bytes), 0) AS bytes FROM %s", k, from)
	if where != "" {
		fmt.Fprintf(&sb, " WHERE %s", where)
	}
	fmt.Fprintf(&sb, " GROUP BY %s ORDER BY %s DESC", k, m)
	for _, o := range []Measure{Bytes, Packets, Flows} {
		if o != m {
			fmt.Fprintf(&sb, ", %s DESC", o)
		}
	}
	fmt.Fprintf(&sb, ", %s", nullsLast(cols))
	if n > 0 {
		fmt.Fprintf(&sb, " LIMIT %d", n)
	}
	return sb.String()
}

func nullsLast(cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c + " ASC NULLS LAST"
	}
	return strings.Join(out, ", ")
}

func quote(c string) string { return `"` + c + `"` }
