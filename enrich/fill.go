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
		add(schema.FSrcCountry, schema.FSrcASN, schema.FSrcASOrg,
			schema.FDstCountry, schema.FDstASN, schema.FDstASOrg)
	}
	if e.Threat != nil {
		add(schema.FSrcThreat, schema.FDstThreat)
	}
	return s
}

// side names the derived fields of one address.
type side struct {
	addr                           int // srcaddr or dstaddr
	internal, service, list        int
	entityType, entityID, entityNm int
	country, asn, asOrg, threat    int
}

var sides = [2]side{
	{schema.FSrcAddr, schema.FSrcInternal, schema.FSrcService, schema.FSrcList,
		schema.FSrcEntityType, schema.FSrcEntityID, schema.FSrcEntityName,
		schema.FSrcCountry, schema.FSrcASN, schema.FSrcASOrg, schema.FSrcThreat},
	{schema.FDstAddr, schema.FDstInternal, schema.FDstService, schema.FDstList,
		schema.FDstEntityType, schema.FDstEntityID, schema.FDstEntityName,
		schema.FDstCountry, schema.FDstASN, schema.FDstASOrg, schema.FDstThreat},
}

// Filler adds derived columns to batches. It keeps scratch state and a
// cache of recent addresses (flow logs repeat the same hosts): use one per
// goroutine.
type Filler struct {
	e      *Enricher
	fill   schema.Set
	names  []string
	joined map[lists.Mask]string
	cache  []cached
}

// cached is what the Filler knows about one address.
type cached struct {
	addr   netip.Addr
	info   Info
	threat string
}

// cacheBits sizes the direct-mapped address cache (4096 entries).
const cacheBits = 12

// slot returns a's cache index.
func slot(a netip.Addr) uint64 {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[8:]) ^ binary.LittleEndian.Uint64(b[:8])*0x9E3779B97F4A7C15
	return (h * 0x9E3779B97F4A7C15) >> (64 - cacheBits)
}

// lookup returns what is known about a, from the cache when it can.
func (f *Filler) lookup(a netip.Addr) *cached {
	c := &f.cache[slot(a)]
	if c.addr == a {
		return c
	}
	c.addr = a
	f.e.Lookup(a, &c.info)
	c.threat = ""
	if f.fill.Has(schema.FSrcThreat) || f.fill.Has(schema.FDstThreat) {
		f.names = f.e.Threat.AppendLists(f.names[:0], a)
		if len(f.names) > 0 {
			c.threat = strings.Join(f.names, ",")
		}
	}
	return c
}

// NewFiller returns a Filler of the derived fields in want that e can fill
// (Columns). A Filler with nothing to fill leaves batches alone.
func (e *Enricher) NewFiller(want schema.Set) *Filler {
	c := e.Columns()
	return &Filler{e: e, fill: schema.Set{want[0] & c[0], want[1] & c[1]}, joined: map[lists.Mask]string{},
		cache: make([]cached, 1<<cacheBits)}
}

// Fields returns the derived fields f fills.
func (f *Filler) Fields() schema.Set { return f.fill }

// Needs returns the catalog fields f reads (srcaddr and dstaddr), none when
// it fills nothing.
func (f *Filler) Needs() schema.Set {
	if f.fill == (schema.Set{}) {
		return schema.Set{}
	}
	return schema.SetOf(schema.FSrcAddr, schema.FDstAddr)
}

// Fill computes f's fields for every row of b and adds them to b (a row
// whose address is NULL gets NULL). Columns already in b are recomputed.
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
		for i := 0; i < b.N; i++ {
			a, ok := b.IP(sd.addr, i)
			if !ok {
				f.nulls(b, sd)
				continue
			}
			f.row(b, sd, f.lookup(a))
		}
	}
}

func (f *Filler) nulls(b *flowlog.Batch, sd *side) {
	for _, id := range [...]int{sd.internal, sd.service, sd.list, sd.entityType, sd.entityID, sd.entityNm, sd.country, sd.asn, sd.asOrg, sd.threat} {
		if f.fill.Has(id) {
			b.Cols[id].AppendNull()
		}
	}
}

// str appends s, or NULL when s is empty.
func str(c *flowlog.Column, s string) {
	if s == "" {
		c.AppendNull()
		return
	}
	c.AppendStringValue(s)
}

func (f *Filler) row(b *flowlog.Batch, sd *side, c *cached) {
	in := &c.info
	if f.fill.Has(sd.internal) {
		v := int64(0)
		if in.Internal() {
			v = 1
		}
		b.Cols[sd.internal].AppendInt(v)
	}
	if f.fill.Has(sd.service) {
		s := ""
		if in.InAWS {
			s = in.AWS.Service
		}
		str(&b.Cols[sd.service], s)
	}
	if f.fill.Has(sd.list) {
		str(&b.Cols[sd.list], f.listNames(in.Lists))
	}
	if f.fill.Has(sd.entityType) {
		var t, id, name string
		if in.HasEntity {
			t, id, name = string(in.Entity.Type), in.Entity.ID, in.Entity.Name
		}
		str(&b.Cols[sd.entityType], t)
		str(&b.Cols[sd.entityID], id)
		str(&b.Cols[sd.entityNm], name)
	}
	if f.fill.Has(sd.country) {
		str(&b.Cols[sd.country], in.Geo.Country)
		if in.Geo.ASN != 0 {
			b.Cols[sd.asn].AppendInt(int64(in.Geo.ASN))
		} else {
			b.Cols[sd.asn].AppendNull()
		}
		str(&b.Cols[sd.asOrg], in.Geo.ASOrg)
	}
	if f.fill.Has(sd.threat) {
		str(&b.Cols[sd.threat], c.threat)
	}
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
