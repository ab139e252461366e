package store

import (
	"net/netip"

	"github.com/flowlens/flowlens/schema"
)

// Table is the name of the table (or view) queries read flow records from.
const Table = "flows"

// Kind is the dialect-neutral type of a `flows` column. Each store maps it
// to its own SQL type.
type Kind uint8

// Column kinds.
const (
	// KindString is text.
	KindString Kind = iota
	// KindInt32 is a 32-bit integer.
	KindInt32
	// KindInt64 is a 64-bit integer.
	KindInt64
	// KindEpoch is a time as 64-bit integer epoch seconds (start, end).
	KindEpoch
	// KindIP is an address in text form (netip.Addr.String()).
	KindIP
	// KindIPBin is the 16-byte IPv4-mapped form of the address in column
	// Of (netip.Addr.As16()): byte order equals address order, so equality
	// and CIDR filters are `x_bin = ?` and `x_bin BETWEEN ? AND ?` with the
	// bounds from IPKey and PrefixRange.
	KindIPBin
	// KindBool is a boolean.
	KindBool
	// KindTimestamp is a point in time (microsecond precision or better).
	KindTimestamp
)

// Column describes one column of the `flows` table.
type Column struct {
	// Name is the column name.
	Name string
	// Kind is its type.
	Kind Kind
	// Field is the catalog field ID the column holds, or -1.
	Field int
	// Of names the text column a KindIPBin column is derived from.
	Of string
	// Description says what the column holds.
	Description string
}

// Names of the columns that are not catalog fields.
const (
	// ColSource holds the Object.ID the row was ingested from.
	ColSource = "source"
	// ColIngestedAt holds when the row's ingest transaction began.
	ColIngestedAt = "ingested_at"
)

// BinSuffix is appended to an IP column's name to name its binary form.
const BinSuffix = "_bin"

// enrichment lists the columns filled by the enrichment stages; NULL until
// they run.
var enrichment = []struct {
	name string
	kind Kind
	desc string
}{
	{"src_internal", KindBool, "Whether srcaddr is in the configured internal networks."},
	{"dst_internal", KindBool, "Whether dstaddr is in the configured internal networks."},
	{"src_service", KindString, "AWS service (or other published range) owning srcaddr."},
	{"dst_service", KindString, "AWS service (or other published range) owning dstaddr."},
	{"src_list", KindString, "Named address list srcaddr matched."},
	{"dst_list", KindString, "Named address list dstaddr matched."},
	{"src_entity_type", KindString, "Kind of inventory entity owning srcaddr (instance, nat, elb, rds, ...)."},
	{"src_entity_id", KindString, "ID of the inventory entity owning srcaddr."},
	{"src_entity_name", KindString, "Name of the inventory entity owning srcaddr."},
	{"dst_entity_type", KindString, "Kind of inventory entity owning dstaddr."},
	{"dst_entity_id", KindString, "ID of the inventory entity owning dstaddr."},
	{"dst_entity_name", KindString, "Name of the inventory entity owning dstaddr."},
	{"src_country", KindString, "Country code of srcaddr."},
	{"dst_country", KindString, "Country code of dstaddr."},
	{"src_asn", KindInt32, "Autonomous system number of srcaddr."},
	{"dst_asn", KindInt32, "Autonomous system number of dstaddr."},
	{"src_as_org", KindString, "Organisation of the autonomous system of srcaddr."},
	{"dst_as_org", KindString, "Organisation of the autonomous system of dstaddr."},
	{"src_threat", KindString, "Threat-intelligence list entry srcaddr matched."},
	{"dst_threat", KindString, "Threat-intelligence list entry dstaddr matched."},
}

// Columns returns the layout of the `flows` table, in order: every catalog
// field (catalog order), the enrichment columns, the ingest metadata, then
// the binary form of every IP field. The slice is a fresh copy.
func Columns() []Column {
	cols := make([]Column, 0, len(schema.Fields)+len(enrichment)+8)
	var bins []Column
	for _, f := range schema.Fields {
		c := Column{Name: f.Column, Field: f.ID, Description: f.Description}
		switch f.Type {
		case schema.String:
			c.Kind = KindString
		case schema.Int32:
			c.Kind = KindInt32
		case schema.Int64:
			c.Kind = KindInt64
		case schema.Time:
			c.Kind = KindEpoch
		case schema.IP:
			c.Kind = KindIP
			bins = append(bins, Column{
				Name: f.Column + BinSuffix, Kind: KindIPBin, Field: -1, Of: f.Column,
				Description: "16-byte IPv4-mapped form of " + f.Column + ", for equality and CIDR range filters.",
			})
		}
		cols = append(cols, c)
	}
	for _, e := range enrichment {
		cols = append(cols, Column{Name: e.name, Kind: e.kind, Field: -1, Description: e.desc})
	}
	cols = append(cols,
		Column{Name: ColSource, Kind: KindString, Field: -1, Description: "ID of the source object the row was ingested from."},
		Column{Name: ColIngestedAt, Kind: KindTimestamp, Field: -1, Description: "When the row's ingest transaction began."},
	)
	return append(cols, bins...)
}

// IPKey returns the 16-byte form of a stored in the `_bin` columns
// (IPv4 addresses as IPv4-mapped IPv6). Bind it as a byte slice: key[:].
func IPKey(a netip.Addr) [16]byte { return a.As16() }

// PrefixRange returns the first and last 16-byte keys of the addresses in p,
// for `x_bin BETWEEN lo AND hi`. IPv4 prefixes map into ::ffff:0:0/96. An
// invalid prefix gives the empty range lo > hi.
func PrefixRange(p netip.Prefix) (lo, hi [16]byte) {
	if !p.IsValid() {
		lo[0] = 0xff
		return lo, hi
	}
	p = p.Masked()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	lo = p.Addr().As16()
	hi = lo
	for i := bits; i < 128; i++ {
		hi[i/8] |= 0x80 >> (i % 8)
	}
	return lo, hi
}
