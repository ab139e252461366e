package top

// Group storage. Groups live in fixed-size blocks that are never moved, so
// a growing aggregation neither copies its groups nor leaves copies behind
// for the collector: a group's key and measures stay in one place, next to
// each other, for the lifetime of the aggregator.

const blockBits = 12

// groupStore holds groups of key type K in blocks of 1<<blockBits.
type groupStore[K any] struct {
	blocks [][]group[K]
	n      int32
}

// group is one group: its key and its measures.
type group[K any] struct {
	key K
	sums
}

// at returns group g.
func (s *groupStore[K]) at(g int32) *group[K] {
	return &s.blocks[g>>blockBits][g&(1<<blockBits-1)]
}

// add appends a group with key k and returns its index.
func (s *groupStore[K]) add(k K) int32 {
	g := s.n
	if int(g>>blockBits) == len(s.blocks) {
		s.blocks = append(s.blocks, make([]group[K], 1<<blockBits))
	}
	s.n++
	s.at(g).key = k
	return g
}

// packedTable finds packed keys' groups: open addressing with linear
// probing over a power-of-two array of group indexes plus one (0: empty),
// at most half full. The keys are in the groups themselves, so the table
// is 4 bytes per slot and a hit reads the group it updates anyway.
type packedTable struct {
	slots []uint32
	shift uint // 64 - log2(len(slots))
}

const minSlots = 1 << 10

func hashPacked(k packedKey) uint64 {
	h := k[0]*0x9e3779b97f4a7c15 ^ k[1]*0xc2b2ae3d27d4eb4f
	h ^= h >> 31
	return h * 0xbf58476d1ce4e5b9
}

// find returns the group of k in s, adding one when k is new.
func (t *packedTable) find(s *groupStore[packedKey], k packedKey) int32 {
	if t.slots == nil {
		t.slots, t.shift = make([]uint32, minSlots), 64-10
	}
	mask := uint64(len(t.slots) - 1)
	i := hashPacked(k) >> t.shift
	for {
		e := t.slots[i]
		if e == 0 {
			break
		}
		if s.at(int32(e-1)).key == k {
			return int32(e - 1)
		}
		i = (i + 1) & mask
	}
	g := s.add(k)
	t.slots[i] = uint32(g + 1)
	if int(s.n)*2 > len(t.slots) {
		t.grow(s)
	}
	return g
}

// grow doubles the table and places every group again, in group order.
func (t *packedTable) grow(s *groupStore[packedKey]) {
	t.slots = make([]uint32, 2*len(t.slots))
	t.shift--
	mask := uint64(len(t.slots) - 1)
	for g := range s.n {
		i := hashPacked(s.at(g).key) >> t.shift
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = uint32(g + 1)
	}
}
