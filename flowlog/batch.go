package flowlog

import (
	"net/netip"
	"slices"

	"github.com/flowlens/flowlens/schema"
)

// Column holds one field's values for the rows of a batch. Which slices are
// used depends on the field type: Ints for integer and time fields, IPs for
// addresses, Data and Offs for strings (value i is Data[Offs[i]:Offs[i+1]]).
// Valid[i] is false where the value is NULL ('-' in the text form).
type Column struct {
	Type  schema.Type
	Valid []bool
	Ints  []int64
	IPs   []netip.Addr
	Data  []byte
	Offs  []uint32
}

func (c *Column) reset(t schema.Type) {
	c.Type = t
	c.Valid = c.Valid[:0]
	c.Ints = c.Ints[:0]
	c.IPs = c.IPs[:0]
	c.Data = c.Data[:0]
	c.Offs = append(c.Offs[:0], 0)
}

// truncate drops rows from n on (used to undo a partly decoded bad line).
func (c *Column) truncate(n int) {
	if len(c.Valid) <= n {
		return
	}
	c.Valid = c.Valid[:n]
	switch c.Type {
	case schema.String:
		c.Offs = c.Offs[:n+1]
		c.Data = c.Data[:c.Offs[n]]
	case schema.IP:
		c.IPs = c.IPs[:n]
	default:
		c.Ints = c.Ints[:n]
	}
}

// AppendNull appends a NULL value.
func (c *Column) AppendNull() { c.appendNull() }

// AppendNulls appends n NULL values.
func (c *Column) AppendNulls(n int) {
	c.Valid = append(c.Valid, make([]bool, n)...)
	switch c.Type {
	case schema.String:
		last := c.Offs[len(c.Offs)-1]
		for range n {
			c.Offs = append(c.Offs, last)
		}
	case schema.IP:
		c.IPs = append(c.IPs, make([]netip.Addr, n)...)
	default:
		c.Ints = append(c.Ints, make([]int64, n)...)
	}
}

// Reset empties the column and sets its type.
func (c *Column) Reset(t schema.Type) { c.reset(t) }

// Grow makes room for n more values without reallocating (strings: for
// their offsets; their bytes grow as appended).
func (c *Column) Grow(n int) {
	c.Valid = slices.Grow(c.Valid, n)
	switch c.Type {
	case schema.String:
		c.Offs = slices.Grow(c.Offs, n)
	case schema.IP:
		c.IPs = slices.Grow(c.IPs, n)
	default:
		c.Ints = slices.Grow(c.Ints, n)
	}
}

// AppendStringValue appends a string value given as a string.
func (c *Column) AppendStringValue(s string) {
	c.Valid = append(c.Valid, true)
	c.Data = append(c.Data, s...)
	c.Offs = append(c.Offs, uint32(len(c.Data)))
}

// appendNull appends a NULL value.
func (c *Column) appendNull() {
	c.Valid = append(c.Valid, false)
	switch c.Type {
	case schema.String:
		c.Offs = append(c.Offs, uint32(len(c.Data)))
	case schema.IP:
		c.IPs = append(c.IPs, netip.Addr{})
	default:
		c.Ints = append(c.Ints, 0)
	}
}

// AppendInt appends an integer value.
func (c *Column) AppendInt(v int64) {
	c.Valid = append(c.Valid, true)
	c.Ints = append(c.Ints, v)
}

// AppendIP appends an address.
func (c *Column) AppendIP(a netip.Addr) {
	c.Valid = append(c.Valid, true)
	c.IPs = append(c.IPs, a)
}

// AppendString appends a string value.
func (c *Column) AppendString(b []byte) {
	c.Valid = append(c.Valid, true)
	c.Data = append(c.Data, b...)
	c.Offs = append(c.Offs, uint32(len(c.Data)))
}

// Bytes returns string value i; it aliases the batch's memory.
func (c *Column) Bytes(i int) []byte { return c.Data[c.Offs[i]:c.Offs[i+1]] }

// Batch is a set of records in columnar form. Only the columns in Present
// are filled; the others are NULL for every row.
//
// Ownership: a Batch handed to a consumer is valid only until the consumer
// returns; it is then reused. Consumers copy what they keep.
type Batch struct {
	// N is the number of rows.
	N int
	// Present lists the filled columns.
	Present schema.Set
	// Cols is indexed by field ID: catalog fields, then the derived
	// (enrichment) fields, which only enrichment fills.
	Cols []Column
	// Source names where the rows came from (file path, object key).
	Source string
	// Line is the line number of the first line the batch's rows came from.
	Line int64
	// Format is the format the rows were parsed with.
	Format *Format
}

// NewBatch returns an empty batch.
func NewBatch() *Batch {
	return &Batch{Cols: make([]Column, schema.NumColumns)}
}

// Reset empties the batch and prepares the given columns.
func (b *Batch) Reset(present schema.Set) {
	b.N = 0
	b.Present = present
	b.Source = ""
	b.Line = 0
	b.Format = nil
	for _, id := range present.IDs() {
		b.Cols[id].reset(schema.Col(id).Type)
	}
}

// Has reports whether column id is filled.
func (b *Batch) Has(id int) bool { return b.Present.Has(id) }

// Valid reports whether row i of column id holds a value.
func (b *Batch) Valid(id, i int) bool { return b.Present.Has(id) && b.Cols[id].Valid[i] }

// Int returns an integer value and whether it is non-NULL.
func (b *Batch) Int(id, i int) (int64, bool) {
	if !b.Valid(id, i) {
		return 0, false
	}
	return b.Cols[id].Ints[i], true
}

// IP returns an address value and whether it is non-NULL.
func (b *Batch) IP(id, i int) (netip.Addr, bool) {
	if !b.Valid(id, i) {
		return netip.Addr{}, false
	}
	return b.Cols[id].IPs[i], true
}

// Str returns a string value (aliasing the batch) and whether it is non-NULL.
func (b *Batch) Str(id, i int) ([]byte, bool) {
	if !b.Valid(id, i) {
		return nil, false
	}
	return b.Cols[id].Bytes(i), true
}

// Value returns row i of column id as a Go value: nil, int64, netip.Addr,
// string or bool. It allocates; hot paths use the typed accessors.
func (b *Batch) Value(id, i int) any {
	if !b.Valid(id, i) {
		return nil
	}
	c := &b.Cols[id]
	switch c.Type {
	case schema.String:
		return string(c.Bytes(i))
	case schema.IP:
		return c.IPs[i]
	case schema.Bool:
		return c.Ints[i] != 0
	default:
		return c.Ints[i]
	}
}

// AppendRowFrom copies row i of src into b (columns b has but src lacks get
// NULL). Used where rows are regrouped, e.g. by tests and converters.
func (b *Batch) AppendRowFrom(src *Batch, i int) {
	for _, id := range b.Present.IDs() {
		c := &b.Cols[id]
		if !src.Valid(id, i) {
			c.appendNull()
			continue
		}
		s := &src.Cols[id]
		switch c.Type {
		case schema.String:
			c.AppendString(s.Bytes(i))
		case schema.IP:
			c.AppendIP(s.IPs[i])
		default:
			c.AppendInt(s.Ints[i])
		}
	}
	b.N++
}
