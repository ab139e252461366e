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
			f, ok = schema.LookupDerived(name)
		}
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
	Keys    []any // nil, int64, bool or string (addresses in text form) per key field
	Flows   int64
	Packets int64
	Bytes   int64
}

// sums are the measures of one group.
type sums struct{ flows, packets, bytes int64 }

func (s *sums) add(t sums) {
	s.flows += t.flows
	s.packets += t.packets
	s.bytes += t.bytes
}

// Aggregator groups batches. It is not safe for concurrent use.
//
// When the key fields are all numbers and addresses, rows whose values are
// all non-NULL and whose addresses are IPv4 (nearly all of them) are keyed
// by their values packed into 16 bytes, in an open-addressing table (see
// packedTable). The other rows are keyed by an encoded key (see
// appendKey) in a map. Which of the two a row goes to depends only on its
// values, so a group lives in one of them. Aggregating allocates only as
// groups are added; key values are decoded only for the rows shown.
type Aggregator struct {
	keys []int
	// packs is set when the key fields fit a packed key; slots says where
	// each key field goes (see layout).
	packs  bool
	slots  []slot
	packed packedTable
	// Groups with an encoded key, found through index.
	encoded groupStore[string]
	index   map[string]int32
	buf     []byte
	// Records counts the rows aggregated.
	Records int64
}

// packedKey holds up to 16 bytes of key values: IPv4 addresses and 32-bit
// integers take 4, 64-bit integers and times 8, in key order.
type packedKey [2]uint64

// slot is where one key field's value sits in a packed key.
type slot struct {
	word  int  // 0 or 1
	shift uint // bit offset in the word
	wide  bool // 64 bits (Int64, Time), else 32
}

// layout places the key fields in a packed key: 32-bit values (IPv4
// addresses, 32-bit integers, booleans) and 64-bit ones in key order, no
// value straddling the two words. ok is false when a field has no fixed
// width or they do not fit.
func layout(keys []int) (slots []slot, ok bool) {
	var bits uint
	for _, id := range keys {
		var s slot
		switch schema.Col(id).Type {
		case schema.IP, schema.Int32, schema.Bool:
		case schema.Int64, schema.Time:
			s.wide = true
		default:
			return nil, false
		}
		w := uint(32)
		if s.wide {
			w = 64
		}
		if bits < 64 && bits+w > 64 {
			bits = 64
		}
		if bits+w > 128 {
			return nil, false
		}
		s.word, s.shift = int(bits/64), bits%64
		slots = append(slots, s)
		bits += w
	}
	return slots, true
}

// New returns an aggregator over the given key fields.
func New(keys []int) *Aggregator {
	a := &Aggregator{keys: keys, index: make(map[string]int32)}
	a.slots, a.packs = layout(keys)
	return a
}

// pack packs row i's key values; ok is false when one is NULL or an IPv6
// address, or a 32-bit field holds a wider value.
func (a *Aggregator) pack(b *flowlog.Batch, i int) (k packedKey, ok bool) {
	for n, id := range a.keys {
		if !b.Valid(id, i) {
			return k, false
		}
		c := &b.Cols[id]
		var v uint64
		switch c.Type {
		case schema.IP:
			if !c.IPs[i].Is4() {
				return k, false
			}
			v4 := c.IPs[i].As4()
			v = uint64(binary.BigEndian.Uint32(v4[:]))
		case schema.Int32, schema.Bool:
			x := c.Ints[i]
			if x != int64(int32(x)) {
				return k, false
			}
			v = uint64(uint32(x))
		default:
			v = uint64(c.Ints[i])
		}
		s := a.slots[n]
		k[s.word] |= v << s.shift
	}
	return k, true
}

// A ref names a group: a packed group's slot, or the complement (^g) of
// an encoded group's index. Refs are taken once aggregation is over (a
// packed group's slot changes when its table grows).
type ref int32

func (a *Aggregator) sumsOf(r ref) *sums {
	if r >= 0 {
		return &a.packed.at(int32(r)).sums
	}
	return &a.encoded.at(int32(^r)).sums
}

// values returns the key values of a packed key, as decodeKey does for
// its encoded form.
func (a *Aggregator) values(k packedKey) []any {
	vals := make([]any, len(a.keys))
	for n, id := range a.keys {
		s := a.slots[n]
		v := k[s.word] >> s.shift
		if !s.wide {
			v &= 1<<32 - 1
		}
		switch schema.Col(id).Type {
		case schema.IP:
			var v4 [4]byte
			binary.BigEndian.PutUint32(v4[:], uint32(v))
			vals[n] = netip.AddrFrom4(v4).String()
		case schema.Bool:
			vals[n] = v != 0
		case schema.Int32:
			vals[n] = int64(int32(uint32(v)))
		default:
			vals[n] = int64(v)
		}
	}
	return vals
}

// keyValues returns the key values of r.
func (a *Aggregator) keyValues(r ref) []any {
	if r >= 0 {
		return a.values(a.packed.at(int32(r)).key)
	}
	return a.decodeKey(a.encoded.at(int32(^r)).key)
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

// group returns the encoded group with key k.
func (a *Aggregator) group(k []byte) *sums {
	g, ok := a.index[string(k)]
	if !ok {
		g = a.encoded.add(string(k))
		a.index[string(k)] = g
	}
	return &a.encoded.at(g).sums
}

// Merge adds the groups of o, which has the same keys, into a.
func (a *Aggregator) Merge(o *Aggregator) {
	o.packed.each(func(i int32) {
		x := o.packed.at(i)
		a.packed.at(a.packed.find(x.key)).add(x.sums)
	})
	for g := range o.encoded.n {
		x := o.encoded.at(g)
		a.group([]byte(x.key)).add(x.sums)
	}
	a.Records += o.Records
}

func (a *Aggregator) add(b *flowlog.Batch, keep func(b *flowlog.Batch, i int) bool, sign int64) {
	var packets, bytes *flowlog.Column
	if b.Has(schema.FPackets) {
		packets = &b.Cols[schema.FPackets]
	}
	if b.Has(schema.FBytes) {
		bytes = &b.Cols[schema.FBytes]
	}
	for i := 0; i < b.N; i++ {
		if keep != nil && !keep(b, i) {
			continue
		}
		var s *sums
		if a.packs {
			if k, ok := a.pack(b, i); ok {
				s = &a.packed.at(a.packed.find(k)).sums
			}
		}
		if s == nil {
			a.buf = a.buf[:0]
			for _, id := range a.keys {
				a.buf = appendKey(a.buf, b, id, i)
			}
			s = a.group(a.buf)
		}
		s.flows += sign
		if packets != nil && packets.Valid[i] {
			s.packets += sign * packets.Ints[i]
		}
		if bytes != nil && bytes.Valid[i] {
			s.bytes += sign * bytes.Ints[i]
		}
		a.Records += sign
	}
}

// Key encoding: per key field a tag byte, then the value. Tags: 0 NULL,
// 1 integer (8 bytes big-endian) or string (uvarint length + bytes) by the
// field's type, 2 IPv6 and 3 IPv4 (16 bytes, the 4-in-6 form).
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
		tag := byte(2)
		if c.IPs[i].Is4() {
			tag = 3
		}
		buf = append(buf, tag)
		return append(buf, a16[:]...)
	default:
		buf = append(buf, 1)
		return binary.BigEndian.AppendUint64(buf, uint64(c.Ints[i]))
	}
}

// decodeKey turns an encoded key back into values.
func (a *Aggregator) decodeKey(k string) []any {
	vals := make([]any, len(a.keys))
	for n, id := range a.keys {
		tag := k[0]
		k = k[1:]
		switch {
		case tag == 0:
			vals[n] = nil
		case tag == 2 || tag == 3:
			var a16 [16]byte
			copy(a16[:], k[:16])
			k = k[16:]
			addr := netip.AddrFrom16(a16)
			if tag == 3 {
				addr = addr.Unmap()
			}
			vals[n] = addr.String()
		case schema.Col(id).Type == schema.String:
			l, w := binary.Uvarint([]byte(k))
			vals[n] = k[w : w+int(l)]
			k = k[w+int(l):]
		case schema.Col(id).Type == schema.Bool:
			vals[n] = binary.BigEndian.Uint64([]byte(k[:8])) != 0
			k = k[8:]
		default:
			vals[n] = int64(binary.BigEndian.Uint64([]byte(k[:8])))
			k = k[8:]
		}
	}
	return vals
}

// Groups returns the number of groups so far (including emptied ones).
func (a *Aggregator) Groups() int { return int(a.packed.n + a.encoded.n) }

// Top returns the n largest groups by m (all when n <= 0). Ties are broken
// by the other measures and then by the keys, so results are stable.
// Groups whose rows were all taken back (Sub) are left out.
func (a *Aggregator) Top(m Measure, n int) []Row {
	// Rank groups by their measures; keys are decoded only when the
	// measures tie, and for the rows kept.
	cache := map[ref][]any{}
	keysOf := func(r ref) []any {
		k, ok := cache[r]
		if !ok {
			k = a.keyValues(r)
			cache[r] = k
		}
		return k
	}
	row := func(r ref) Row {
		s := a.sumsOf(r)
		return Row{Flows: s.flows, Packets: s.packets, Bytes: s.bytes}
	}
	less := func(x, y ref) bool {
		rx, ry := row(x), row(y)
		if c := compareMeasures(m, rx, ry); c != 0 {
			return c < 0
		}
		rx.Keys, ry.Keys = keysOf(x), keysOf(y)
		return Less(m, rx, ry)
	}
	h := &groupHeap{less: less}
	all := n <= 0 || n >= a.Groups()
	consider := func(r ref) {
		switch {
		case a.sumsOf(r).flows == 0:
		case all || len(h.gs) < n:
			// Everything is kept: the heap order is set up only if needed.
			h.gs = append(h.gs, r)
			if !all && len(h.gs) == n {
				heap.Init(h)
			}
		case less(r, h.gs[0]):
			// Keep the n best in a heap whose root is the worst of them.
			h.gs[0] = r
			heap.Fix(h, 0)
		}
	}
	a.each(consider)
	sel := h.gs
	sort.Slice(sel, func(i, j int) bool { return less(sel[i], sel[j]) })
	rows := make([]Row, len(sel))
	for i, r := range sel {
		rows[i] = row(r)
		rows[i].Keys = keysOf(r)
	}
	return rows
}

// groupHeap is a heap of group indexes with the worst (by less) at the root.
type groupHeap struct {
	gs   []ref
	less func(x, y ref) bool
}

func (h *groupHeap) Len() int           { return len(h.gs) }
func (h *groupHeap) Less(i, j int) bool { return h.less(h.gs[j], h.gs[i]) }
func (h *groupHeap) Swap(i, j int)      { h.gs[i], h.gs[j] = h.gs[j], h.gs[i] }
func (h *groupHeap) Push(x any)         { h.gs = append(h.gs, x.(ref)) }
func (h *groupHeap) Pop() any {
	g := h.gs[len(h.gs)-1]
	h.gs = h.gs[:len(h.gs)-1]
	return g
}

// compareMeasures orders by m descending, then bytes, packets, flows.
func compareMeasures(m Measure, x, y Row) int {
	for _, o := range []Measure{m, Bytes, Packets, Flows} {
		a, b := x.measure(o), y.measure(o)
		if a != b {
			if a > b {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Less orders rows by m descending, then bytes, packets, flows, then keys.
func Less(m Measure, x, y Row) bool {
	if c := compareMeasures(m, x, y); c != 0 {
		return c < 0
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
	cols := keyColumns(keys)
	k := strings.Join(cols, ", ")
	var sb strings.Builder
	fmt.Fprintf(&sb, "SELECT %s, count(*) AS flows, coalesce(sum(packets), 0) AS packets, coalesce(sum(bytes), 0) AS bytes FROM %s", k, from)
	if where != "" {
		fmt.Fprintf(&sb, " WHERE %s", where)
	}
	fmt.Fprintf(&sb, " GROUP BY %s", k)
	orderLimit(&sb, cols, m, n)
	return sb.String()
}

// TotalsSQL is SQL over a table of partial totals (columns for the keys,
// flows, packets and bytes, as store.PairTotals keeps them) that gives the
// same rows, with the same types, as SQL over the records.
func TotalsSQL(keys []int, m Measure, n int, table string) string {
	cols := keyColumns(keys)
	k := strings.Join(cols, ", ")
	var sb strings.Builder
	fmt.Fprintf(&sb, "SELECT %s, CAST(sum(flows) AS BIGINT) AS flows, coalesce(sum(packets), 0) AS packets, coalesce(sum(bytes), 0) AS bytes FROM %s", k, table)
	fmt.Fprintf(&sb, " GROUP BY %s HAVING sum(flows) <> 0", k)
	orderLimit(&sb, cols, m, n)
	return sb.String()
}

// keyColumns returns the quoted column names of keys.
func keyColumns(keys []int) []string {
	var cols []string
	for _, id := range keys {
		cols = append(cols, quote(schema.Col(id).Column))
	}
	return cols
}

// orderLimit appends the ORDER BY and LIMIT clauses of SQL and TotalsSQL.
func orderLimit(sb *strings.Builder, cols []string, m Measure, n int) {
	fmt.Fprintf(sb, " ORDER BY %s DESC", m)
	for _, o := range []Measure{Bytes, Packets, Flows} {
		if o != m {
			fmt.Fprintf(sb, ", %s DESC", o)
		}
	}
	fmt.Fprintf(sb, ", %s", nullsLast(cols))
	if n > 0 {
		fmt.Fprintf(sb, " LIMIT %d", n)
	}
}

// Each calls f with every group whose rows were not all taken back, in no
// particular order, keys decoded as in Top.
func (a *Aggregator) Each(f func(Row)) {
	visit := func(r ref) {
		s := a.sumsOf(r)
		if s.flows != 0 {
			f(Row{Keys: a.keyValues(r), Flows: s.flows, Packets: s.packets, Bytes: s.bytes})
		}
	}
	a.each(visit)
}

// each calls f with every group.
func (a *Aggregator) each(f func(ref)) {
	a.packed.each(func(i int32) { f(ref(i)) })
	for g := range a.encoded.n {
		f(^ref(g))
	}
}

func nullsLast(cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c + " ASC NULLS LAST"
	}
	return strings.Join(out, ", ")
}

func quote(c string) string { return `"` + c + `"` }
