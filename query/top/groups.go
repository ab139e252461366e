package top

import (
	"math/bits"

	"github.com/flowlens/flowlens/internal/hugemem"
)

// Group storage. Groups live in blocks that are never moved, so a growing
// aggregation neither copies its groups nor leaves copies behind for the
// collector: a group's key and measures stay in one place, next to each
// other, for the lifetime of the aggregator. Blocks double in size (the
// first two hold 1<<blockBits groups each), so a large aggregation has few
// blocks, big enough for huge pages (see hugemem).

const blockBits = 12

// groupStore holds groups of key type K.
type groupStore[K any] struct {
	blocks [][]group[K]
	n      int32
}

// group is one group: its key and its measures.
type group[K any] struct {
	key K
	sums
}

// locate returns the block of group g and g's index in it. Block 0 holds
// groups [0, 1<<blockBits); block b > 0 holds [1<<(blockBits+b-1),
// 1<<(blockBits+b)).
func locate(g int32) (block, i int) {
	b := bits.Len32(uint32(g) >> blockBits)
	if b == 0 {
		return 0, int(g)
	}
	return b, int(g) - 1<<(blockBits+b-1)
}

// at returns group g.
func (s *groupStore[K]) at(g int32) *group[K] {
	b, i := locate(g)
	return &s.blocks[b][i]
}

// add appends a group with key k and returns its index.
func (s *groupStore[K]) add(k K) int32 {
	g := s.n
	if b, i := locate(g); i == 0 {
		size := 1 << blockBits
		if b > 1 {
			size <<= b - 1
		}
		s.blocks = append(s.blocks, hugemem.Make[group[K]](size))
	}
	s.n++
	s.at(g).key = k
	return g
}

// packedTable holds the groups of packed keys in place: open addressing
// with linear probing over a power-of-two array of groups, at most 3/4
// full. A control byte per slot says whether it is used and carries seven
// bits of the key's hash, so a probe reads a group only when those bits
// match: nearly every lookup reads one group, the one it updates, where a
// table of indexes into separate group storage reads two places.
type packedTable struct {
	ctrl   []uint8 // 0: empty, else 0x80 | the hash's low 7 bits
	groups []group[packedKey]
	n      int32
	shift  uint // 64 - log2(len(groups))
}

const minSlotBits = 10

func hashPacked(k packedKey) uint64 {
	h := k[0]*0x9e3779b97f4a7c15 ^ k[1]*0xc2b2ae3d27d4eb4f
	h ^= h >> 31
	return h * 0xbf58476d1ce4e5b9
}

// find returns the slot of k, adding a group when k is new. Slots move
// when the table grows, so a slot is good until the next find.
func (t *packedTable) find(k packedKey) int32 {
	if t.groups == nil {
		t.alloc(minSlotBits)
	}
	h := hashPacked(k)
	tag := uint8(h) | 0x80
	mask := uint64(len(t.groups) - 1)
	i := h >> t.shift
	for {
		c := t.ctrl[i]
		if c == 0 {
			break
		}
		if c == tag && t.groups[i].key == k {
			return int32(i)
		}
		i = (i + 1) & mask
	}
	if int(t.n+1)*4 > len(t.groups)*3 {
		t.grow()
		return t.find(k)
	}
	t.ctrl[i] = tag
	t.groups[i].key = k
	t.n++
	return int32(i)
}

// at returns the group in slot i.
func (t *packedTable) at(i int32) *group[packedKey] { return &t.groups[i] }

// each calls f with the slot of every group.
func (t *packedTable) each(f func(i int32)) {
	for i, c := range t.ctrl {
		if c != 0 {
			f(int32(i))
		}
	}
}

func (t *packedTable) alloc(bits uint) {
	t.ctrl = hugemem.Make[uint8](1 << bits)
	t.groups = hugemem.Make[group[packedKey]](1 << bits)
	t.shift = 64 - bits
}

// grow doubles the table and places every group again.
func (t *packedTable) grow() {
	ctrl, groups := t.ctrl, t.groups
	t.alloc(64 - t.shift + 1)
	mask := uint64(len(t.groups) - 1)
	for j, c := range ctrl {
		if c == 0 {
			continue
		}
		i := hashPacked(groups[j].key) >> t.shift
		for t.ctrl[i] != 0 {
			i = (i + 1) & mask
		}
		t.ctrl[i] = c
		t.groups[i] = groups[j]
	}
}
