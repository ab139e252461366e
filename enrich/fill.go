package enrich

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/flowlens/flowlens/enrich/lists"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// Threat finds the threat-intelligence lists holding an address (intel.Set
// implements it).
type Threat interface {
	// AppendLists appends the names of the lists holding a to dst, each
	// once.
	AppendLists(dst []string, a netip.Addr) []string
}

// Columns returns the derived fields e can fill: the network class always
// (private ranges are known without data), the others when their data is
// loaded.
func (e *Enricher) Columns() schema.Set {
	var s schema.Set
	add := func(ids ...int) {
		for _, id := range ids {
			s.Add(id)
		}
	}
	if e.Class != nil {
		add(schema.FSrcInternal, schema.FDstInternal)
	}
	if e.Ranges != nil {
		add(schema.FSrcService, schema.FDstService)
	}
	if e.Lists != nil {
		add(schema.FSrcList, schema.FDstList)
	}
	if e.Inventory != nil {
		add(schema.FSrcEntityType, schema.FSrcEntityID, schema.FSrcEntityName,
			schema.FDstEntityType, schema.FDstEntityID, schema.FDstEntityName)
	}
	if e.Geo != nil {
		add(schema.FSrcCountry, schema.FSrcCity, schema.FSrcASN, schema.FSrcASOrg,
			schema.FDstCountry, schema.FDstCity, schema.FDstASN, schema.FDstASOrg)
	}
	if e.Threat != nil {
		add(schema.FSrcThreat, schema.FDstThreat)
	}
	return s
}

// The values a Filler stores per address, in cached.vals order.
const (
	vInternal = iota // 0 or 1
	vASN             // 0: none
	vInts            // number of integer values
)

const (
	vService = iota
	vList
	vEntityType
	vEntityID
	vEntityName
	vCountry
	vCity
	vASOrg
	vThreat
	vStrs // number of string values
)

// side names the derived fields of one address: the integer ones by v*
// index, then the string ones.
type side struct {
	addr int // srcaddr or dstaddr
	ints [vInts]int
	strs [vStrs]int
}

var sides = [2]side{
	{schema.FSrcAddr, [vInts]int{schema.FSrcInternal, schema.FSrcASN},
		[vStrs]int{schema.FSrcService, schema.FSrcList, schema.FSrcEntityType, schema.FSrcEntityID,
			schema.FSrcEntityName, schema.FSrcCountry, schema.FSrcCity, schema.FSrcASOrg, schema.FSrcThreat}},
	{schema.FDstAddr, [vInts]int{schema.FDstInternal, schema.FDstASN},
		[vStrs]int{schema.FDstService, schema.FDstList, schema.FDstEntityType, schema.FDstEntityID,
			schema.FDstEntityName, schema.FDstCountry, schema.FDstCity, schema.FDstASOrg, schema.FDstThreat}},
}

// Filler adds derived columns to batches. It keeps scratch state and a
// cache of recent addresses (flow logs repeat the same hosts): use one per
// goroutine.
//
// What is known about an address is a value; equal values are stored once
// (most addresses share a handful: "external, nothing else known"), and
// the address cache maps an address to its value's index. Entries are
// small, so the cache stays in the processor's cache.
type Filler struct {
	e      *Enricher
	fill   schema.Set
	names  []string
	joined map[lists.Mask]string
	cache  []slotEntry
	vals   []value
	some   [vStrs]bool // whether any value has string k (else its column is all NULL)
	index  map[value]int32
	rows   []int32 // value index per row of the batch being filled; -1: NULL address
}

// value is what a Filler stores for one address ("" and, for the AS
// number, 0 are NULL).
type value struct {
	ints [vInts]int64
	strs [vStrs]string
}

// slotEntry is one address cache entry: the address and its value's index
// plus one (0: empty).
type slotEntry struct {
	addr netip.Addr
	v    int32
}

// cacheBits sizes the direct-mapped address cache (16384 entries).
const cacheBits = 14

// slot returns the cache index of an address: from all of an IPv4
// address, from the low 8 bytes (the interface part) of an IPv6 one.
func slot(a netip.Addr) uint64 {
	var x uint64
	if a.Is4() {
		b := a.As4()
		x = uint64(binary.LittleEndian.Uint32(b[:]))
	} else {
		b := a.As16()
		x = binary.LittleEndian.Uint64(b[8:])
	}
	return (x * 0x9E3779B97F4A7C15) >> (64 - cacheBits)
}

// lookup returns the index of a's value, from the cache when it can.
func (f *Filler) lookup(a netip.Addr) int32 {
	c := &f.cache[slot(a)]
	if c.v != 0 && c.addr == a {
		return c.v - 1
	}
	v := f.compute(a)
	i, ok := f.index[v]
	if !ok {
		i = int32(len(f.vals))
		f.vals = append(f.vals, v)
		for k, str := range v.strs {
			f.some[k] = f.some[k] || str != ""
		}
		f.index[v] = i
	}
	c.addr, c.v = a, i+1
	return i
}

// compute looks a up in every table.
func (f *Filler) compute(a netip.Addr) value {
	var v value
	var in Info
	f.e.Lookup(a, &in)
	if in.Internal() {
		v.ints[vInternal] = 1
	}
	v.ints[vASN] = int64(in.Geo.ASN)
	if in.InAWS {
		v.strs[vService] = in.AWS.Service
	}
	v.strs[vList] = f.listNames(in.Lists)
	if in.HasEntity {
		v.strs[vEntityType], v.strs[vEntityID], v.strs[vEntityName] = string(in.Entity.Type), in.Entity.ID, in.Entity.Name
	}
	v.strs[vCountry], v.strs[vCity], v.strs[vASOrg] = in.Geo.Country, in.Geo.City, in.Geo.ASOrg
	if f.fill.Has(schema.FSrcThreat) || f.fill.Has(schema.FDstThreat) {
		f.names = f.e.Threat.AppendLists(f.names[:0], a)
		if len(f.names) > 0 {
			v.strs[vThreat] = strings.Join(f.names, ",")
		}
	}
	// Only what is filled tells values apart.
	for k, id := range sides[0].ints {
		if !f.fill.Has(id) && !f.fill.Has(sides[1].ints[k]) {
			v.ints[k] = 0
		}
	}
	for k, id := range sides[0].strs {
		if !f.fill.Has(id) && !f.fill.Has(sides[1].strs[k]) {
			v.strs[k] = ""
		}
	}
	return v
}

// NewFiller returns a Filler of the derived fields in want that e can fill
// (Columns). A Filler with nothing to fill leaves batches alone.
func (e *Enricher) NewFiller(want schema.Set) *Filler {
	c := e.Columns()
	return &Filler{e: e, fill: schema.Set{want[0] & c[0], want[1] & c[1]}, joined: map[lists.Mask]string{},
		cache: make([]slotEntry, 1<<cacheBits), index: map[value]int32{}}
}

// Fields returns the derived fields f fills.
func (f *Filler) Fields() schema.Set { return f.fill }

// Needs returns the catalog fields f reads (srcaddr and dstaddr), none when
// it fills nothing.
func (f *Filler) Needs() schema.Set { return needs(f.fill) }

// Needs returns the catalog fields a Filler of want reads, without making
// one.
func (e *Enricher) Needs(want schema.Set) schema.Set {
	c := e.Columns()
	return needs(schema.Set{want[0] & c[0], want[1] & c[1]})
}

func needs(fill schema.Set) schema.Set {
	if fill == (schema.Set{}) {
		return schema.Set{}
	}
	return schema.SetOf(schema.FSrcAddr, schema.FDstAddr)
}

// Fill computes f's fields for every row of b and adds them to b (a row
// whose address is NULL gets NULL). Columns already in b are recomputed.
// It looks each address up once, then fills column by column.
func (f *Filler) Fill(b *flowlog.Batch) {
	if f.fill == (schema.Set{}) {
		return
	}
	for _, id := range f.fill.IDs() {
		c := &b.Cols[id]
		c.Reset(schema.Col(id).Type)
		c.Grow(b.N)
		b.Present.Add(id)
	}
	for si := range sides {
		sd := &sides[si]
		f.rows = f.rows[:0]
		for i := 0; i < b.N; i++ {
			if a, ok := b.IP(sd.addr, i); ok {
				f.rows = append(f.rows, f.lookup(a))
			} else {
				f.rows = append(f.rows, -1)
			}
		}
		for k, id := range sd.ints {
			if f.fill.Has(id) {
				fillInts(&b.Cols[id], f.vals, f.rows, k)
			}
		}
		for k, id := range sd.strs {
			if !f.fill.Has(id) {
				continue
			}
			if !f.some[k] {
				b.Cols[id].AppendNulls(len(f.rows))
				continue
			}
			fillStrs(&b.Cols[id], f.vals, f.rows, k)
		}
	}
}

// fillInts appends integer k of every row's value (the AS number 0 is
// NULL).
func fillInts(c *flowlog.Column, vals []value, rows []int32, k int) {
	valid, ints := c.Valid, c.Ints
	for _, r := range rows {
		if r < 0 || (k == vASN && vals[r].ints[k] == 0) {
			valid, ints = append(valid, false), append(ints, 0)
		} else {
			valid, ints = append(valid, true), append(ints, vals[r].ints[k])
		}
	}
	c.Valid, c.Ints = valid, ints
}

// fillStrs appends string k of every row's value ("" is NULL).
func fillStrs(c *flowlog.Column, vals []value, rows []int32, k int) {
	valid, offs, data := c.Valid, c.Offs, c.Data
	for _, r := range rows {
		if r >= 0 && vals[r].strs[k] != "" {
			data = append(data, vals[r].strs[k]...)
			valid = append(valid, true)
		} else {
			valid = append(valid, false)
		}
		offs = append(offs, uint32(len(data)))
	}
	c.Valid, c.Offs, c.Data = valid, offs, data
}

// listNames joins the names of the lists in m with commas, cached per mask.
func (f *Filler) listNames(m lists.Mask) string {
	if m == 0 {
		return ""
	}
	s, ok := f.joined[m]
	if !ok {
		s = strings.Join(f.e.Lists.Names(m), ",")
		f.joined[m] = s
	}
	return s
}
