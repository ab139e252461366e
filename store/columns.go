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

// KindOf maps a field type to its column kind.
func KindOf(t schema.Type) Kind {
	switch t {
	case schema.Int32:
		return KindInt32
	case schema.Int64:
		return KindInt64
	case schema.Time:
		return KindEpoch
	case schema.IP:
		return KindIP
	case schema.Bool:
		return KindBool
	}
	return KindString
}

// Columns returns the layout of the `flows` table, in order: every catalog
// field (catalog order), the derived (enrichment) fields, NULL until
// enrichment fills them, the ingest metadata, then the binary form of every
// IP field. The slice is a fresh copy.
func Columns() []Column {
	cols := make([]Column, 0, schema.NumColumns+8)
	var bins []Column
	for _, f := range schema.Fields {
		c := Column{Name: f.Column, Kind: KindOf(f.Type), Field: f.ID, Description: f.Description}
		if f.Type == schema.IP {
			bins = append(bins, Column{
				Name: f.Column + BinSuffix, Kind: KindIPBin, Field: -1, Of: f.Column,
				Description: "16-byte IPv4-mapped form of " + f.Column + ", for equality and CIDR range filters.",
			})
		}
		cols = append(cols, c)
	}
	for _, f := range schema.Derived {
		cols = append(cols, Column{Name: f.Column, Kind: KindOf(f.Type), Field: f.ID, Description: f.Description})
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
