package duckdb

import (
	"math"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// stage accumulates the rows of an ingest transaction in columnar form,
// laid out the way Arrow wants them (validity bitmaps, int32 string
// offsets), until a loader moves them into the table in one statement.
// Batches are copied in: the parser reuses them as soon as Append returns.
type stage struct {
	n       int
	cols    []stageCol // by field ID (catalog, then derived)
	used    []int      // IDs of the columns in use, in catalog order
	src     []int32    // per row: index into sources
	sources []string   // object IDs of the staged rows
}

// stageCol holds one catalog field's staged values. Which slices are used
// depends on typ, as in flowlog.Column.
type stageCol struct {
	used  bool
	typ   schema.Type
	valid []byte // validity bitmap: bit i (LSB first) set when row i is not NULL
	nulls int
	i32   []int32 // Int32 fields; Bool fields as 0 or 1
	i64   []int64 // Int64 and Time fields
	data  []byte  // String values and IP text forms
	offs  []int32 // n+1 offsets into data
	bin   []byte  // IP fields: 16 bytes per row (IPv4-mapped form)
}

func newStage() *stage {
	return &stage{cols: make([]stageCol, schema.NumColumns)}
}

// reset empties the stage, keeping its buffers.
func (s *stage) reset() {
	for _, id := range s.used {
		c := &s.cols[id]
		c.used = false
		c.valid = c.valid[:0]
		c.nulls = 0
		c.i32 = c.i32[:0]
		c.i64 = c.i64[:0]
		c.data = c.data[:0]
		c.offs = c.offs[:0]
		c.bin = c.bin[:0]
	}
	s.used = s.used[:0]
	s.src = s.src[:0]
	s.sources = s.sources[:0]
	s.n = 0
}

// addSource registers an object ID and returns its index.
func (s *stage) addSource(id string) int32 {
	s.sources = append(s.sources, id)
	return int32(len(s.sources) - 1)
}

// maxIPText bounds the text form of an address (IPv4-mapped IPv6).
const maxIPText = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")

// fits reports whether b's strings and address texts can be added without
// overflowing the int32 offsets of a column.
func (s *stage) fits(b *flowlog.Batch) bool {
	for id := range schema.NumColumns {
		f := schema.Col(id)
		c := &s.cols[id]
		if !b.Present.Has(id) || !c.used {
			continue
		}
		add := len(b.Cols[id].Data)
		if f.Type == schema.IP {
			add = maxIPText * b.N
		}
		if len(c.data)+add > math.MaxInt32 {
			return false
		}
	}
	return true
}

// use starts staging column id: the rows already staged are NULL in it.
func (s *stage) use(id int) {
	c := &s.cols[id]
	c.used = true
	c.typ = schema.Col(id).Type
	c.offs = append(c.offs[:0], 0)
	c.padNull(s.n)
	// Keep used sorted so that the column order is stable.
	i := len(s.used)
	s.used = append(s.used, id)
	for i > 0 && s.used[i-1] > id {
		s.used[i] = s.used[i-1]
		i--
	}
	s.used[i] = id
}

// append copies the rows of b, which belong to source src.
func (s *stage) append(b *flowlog.Batch, src int32) {
	if b.N == 0 {
		return
	}
	for id := range schema.NumColumns {
		if b.Present.Has(id) && !s.cols[id].used {
			s.use(id)
		}
	}
	for _, id := range s.used {
		c := &s.cols[id]
		if !b.Present.Has(id) {
			c.padNull(b.N)
			continue
		}
		c.appendCol(&b.Cols[id], s.n, b.N)
	}
	s.src = grow(s.src, b.N)
	for range b.N {
		s.src = append(s.src, src)
	}
	s.n += b.N
}

// grow returns s with room for n more elements. It doubles the capacity
// (append grows large slices by only 1.25x, which costs several copies of
// a stage's hundreds of megabytes).
func grow[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	ns := make([]T, len(s), max(2*cap(s), len(s)+n, 4096))
	copy(ns, s)
	return ns
}

// growBits extends a bitmap to hold n bits; new bits are zero (NULL).
func growBits(bm []byte, n int) []byte {
	want := (n + 7) >> 3
	if want <= len(bm) {
		return bm
	}
	old := len(bm)
	if want <= cap(bm) {
		bm = bm[:want]
	} else {
		nb := make([]byte, want, max(want, 2*cap(bm)))
		copy(nb, bm)
		bm = nb
	}
	clear(bm[old:])
	return bm
}

// padNull appends k NULLs.
func (c *stageCol) padNull(k int) {
	if k == 0 {
		return
	}
	n := c.rows()
	c.valid = growBits(c.valid, n+k)
	c.nulls += k
	switch c.typ {
	case schema.Int32, schema.Bool:
		c.i32 = append(grow(c.i32, k), make([]int32, k)...)
	case schema.Int64, schema.Time:
		c.i64 = append(grow(c.i64, k), make([]int64, k)...)
	case schema.String:
		c.padOffs(k)
	case schema.IP:
		c.padOffs(k)
		c.bin = append(grow(c.bin, 16*k), make([]byte, 16*k)...)
	}
}

func (c *stageCol) padOffs(k int) {
	last := c.offs[len(c.offs)-1]
	c.offs = grow(c.offs, k)
	for range k {
		c.offs = append(c.offs, last)
	}
}

// rows returns the number of rows staged in the column.
func (c *stageCol) rows() int { return len(c.offs) - 1 + len(c.i32) + len(c.i64) }

// appendCol copies k rows of src; base is the number of rows already staged.
func (c *stageCol) appendCol(src *flowlog.Column, base, k int) {
	c.valid = growBits(c.valid, base+k)
	for i, ok := range src.Valid[:k] {
		if ok {
			r := base + i
			c.valid[r>>3] |= 1 << (r & 7)
		} else {
			c.nulls++
		}
	}
	switch c.typ {
	case schema.Int32, schema.Bool:
		c.i32 = grow(c.i32, k)
		for _, v := range src.Ints[:k] {
			c.i32 = append(c.i32, int32(v))
		}
	case schema.Int64, schema.Time:
		c.i64 = append(grow(c.i64, k), src.Ints[:k]...)
	case schema.String:
		delta := int32(len(c.data)) - int32(src.Offs[0])
		strs := src.Data[src.Offs[0]:src.Offs[k]]
		c.data = append(grow(c.data, len(strs)), strs...)
		c.offs = grow(c.offs, k)
		for _, o := range src.Offs[1 : k+1] {
			c.offs = append(c.offs, int32(o)+delta)
		}
	case schema.IP:
		c.data = grow(c.data, 16*k) // IPv4 text is at most 15 bytes
		c.bin = grow(c.bin, 16*k)
		c.offs = grow(c.offs, k)
		for i, a := range src.IPs[:k] {
			if src.Valid[i] {
				c.data = a.AppendTo(c.data)
				b := a.As16()
				c.bin = append(c.bin, b[:]...)
			} else {
				c.bin = append(c.bin, make([]byte, 16)...)
			}
			c.offs = append(c.offs, int32(len(c.data)))
		}
	}
}
