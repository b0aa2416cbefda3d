package session

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// coldTable holds the cold partitions of a top-N view: encoded partition
// key -> (worst row's encoded ORDER BY values, number of rows). A view may
// have millions of partitions, so the table is two pointer-free slices
// that the garbage collector never scans: an open-addressing index of
// slots and an arena of entries. An entry whose worst row changes size is
// appended anew; the arena is compacted when the index grows and more
// than half of it is dead.
type coldTable struct {
	seed  maphash.Seed
	slots []uint64 // 0: empty; coldTomb: deleted; else fingerprint<<coldOffBits | (offset+1)
	arena []byte   // entries: stored (4 bytes), uvarint key length, key, uvarint worst length, worst
	n     int      // live entries
	used  int      // live entries and tombstones
	dead  int      // arena bytes no slot refers to
}

const (
	coldOffBits = 48
	coldOffMask = 1<<coldOffBits - 1
	coldTomb    = ^uint64(0)
)

func newColdTable() *coldTable { return &coldTable{seed: maphash.MakeSeed()} }

// Len is the number of cold partitions.
func (t *coldTable) Len() int { return t.n }

// entry decodes the entry at off.
func (t *coldTable) entry(off int) (key, worst []byte, stored int32, size int) {
	b := t.arena[off:]
	stored = int32(binary.LittleEndian.Uint32(b))
	p := 4
	kl, w := binary.Uvarint(b[p:])
	p += w
	key = b[p : p+int(kl)]
	p += int(kl)
	wl, w := binary.Uvarint(b[p:])
	p += w
	worst = b[p : p+int(wl)]
	p += int(wl)
	return key, worst, stored, p
}

func (t *coldTable) appendEntry(key, worst []byte, stored int32) uint64 {
	off := len(t.arena)
	t.arena = binary.LittleEndian.AppendUint32(t.arena, uint32(stored))
	t.arena = binary.AppendUvarint(t.arena, uint64(len(key)))
	t.arena = append(t.arena, key...)
	t.arena = binary.AppendUvarint(t.arena, uint64(len(worst)))
	t.arena = append(t.arena, worst...)
	return uint64(off + 1)
}

// find returns the slot holding key, or -1 and the slot a new entry of
// key goes to.
func (t *coldTable) find(key []byte, h uint64) (found, free int) {
	free = -1
	if len(t.slots) == 0 {
		return -1, -1
	}
	mask := uint64(len(t.slots) - 1)
	fp := h >> coldOffBits
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		switch {
		case s == 0:
			if free < 0 {
				free = int(i)
			}
			return -1, free
		case s == coldTomb:
			if free < 0 {
				free = int(i)
			}
		case s>>coldOffBits == fp:
			if k, _, _, _ := t.entry(int(s&coldOffMask) - 1); bytes.Equal(k, key) {
				return int(i), free
			}
		}
	}
}

// Get returns a partition's worst row and number of rows. worst points
// into the table and is valid until the next change.
func (t *coldTable) Get(key []byte) (worst []byte, stored int32, ok bool) {
	at, _ := t.find(key, maphash.Bytes(t.seed, key))
	if at < 0 {
		return nil, 0, false
	}
	_, worst, stored, _ = t.entry(int(t.slots[at]&coldOffMask) - 1)
	return worst, stored, true
}

// coldSlot is where Lookup found a partition, or where Put adds it.
type coldSlot struct {
	h         uint64
	at, free  int
	off, size int
}

// Lookup is Get that also returns the partition's slot, for a Put of the
// same key before any other change of the table.
func (t *coldTable) Lookup(key []byte) (worst []byte, stored int32, ok bool, s coldSlot) {
	s.h = maphash.Bytes(t.seed, key)
	s.at, s.free = t.find(key, s.h)
	if s.at < 0 {
		return nil, 0, false, s
	}
	s.off = int(t.slots[s.at]&coldOffMask) - 1
	_, worst, stored, s.size = t.entry(s.off)
	return worst, stored, true, s
}

// Put is Set at the slot Lookup returned for key.
func (t *coldTable) Put(s coldSlot, key, worst []byte, stored int32) {
	if s.at >= 0 {
		_, old, _, _ := t.entry(s.off)
		if len(old) == len(worst) {
			binary.LittleEndian.PutUint32(t.arena[s.off:], uint32(stored))
			copy(old, worst)
			return
		}
		t.dead += s.size
		t.slots[s.at] = s.h>>coldOffBits<<coldOffBits | t.appendEntry(key, worst, stored)
		return
	}
	t.add(s.h, s.free, key, worst, stored)
}

// add adds a partition not in the table, free being the slot find
// returned for it.
func (t *coldTable) add(h uint64, free int, key, worst []byte, stored int32) {
	if free < 0 || (t.used+1)*4 > len(t.slots)*3 {
		t.rehash()
		_, free = t.find(key, h)
	}
	if t.slots[free] == 0 {
		t.used++
	}
	t.slots[free] = h>>coldOffBits<<coldOffBits | t.appendEntry(key, worst, stored)
	t.n++
}

// Set records a partition's worst row and number of rows.
func (t *coldTable) Set(key, worst []byte, stored int32) {
	h := maphash.Bytes(t.seed, key)
	at, free := t.find(key, h)
	if at >= 0 {
		off := int(t.slots[at]&coldOffMask) - 1
		_, old, _, size := t.entry(off)
		if len(old) == len(worst) {
			binary.LittleEndian.PutUint32(t.arena[off:], uint32(stored))
			copy(old, worst)
			return
		}
		t.dead += size
		t.slots[at] = h>>coldOffBits<<coldOffBits | t.appendEntry(key, worst, stored)
		return
	}
	t.add(h, free, key, worst, stored)
}

// Reset forgets every partition and keeps the memory for reuse.
func (t *coldTable) Reset() {
	clear(t.slots)
	t.arena = t.arena[:0]
	t.n, t.used, t.dead = 0, 0, 0
}

// Delete forgets a partition.
func (t *coldTable) Delete(key []byte) {
	at, _ := t.find(key, maphash.Bytes(t.seed, key))
	if at < 0 {
		return
	}
	_, _, _, size := t.entry(int(t.slots[at]&coldOffMask) - 1)
	t.dead += size
	t.slots[at] = coldTomb
	t.n--
}

// Each calls fn with every partition; fn must not change the table.
func (t *coldTable) Each(fn func(key, worst []byte, stored int32) error) error {
	for _, s := range t.slots {
		if s == 0 || s == coldTomb {
			continue
		}
		k, w, st, _ := t.entry(int(s&coldOffMask) - 1)
		if err := fn(k, w, st); err != nil {
			return err
		}
	}
	return nil
}

// rehash rebuilds the index at twice the live entries (at least 16
// slots), without tombstones, compacting the arena when most of it is
// dead.
func (t *coldTable) rehash() {
	size := 16
	if t.n > 0 {
		size = max(16, 1<<bits.Len(uint(t.n*2)))
	}
	old := t.slots
	arena := t.arena
	compact := t.dead > len(t.arena)/2
	if compact {
		t.arena = make([]byte, 0, len(arena)-t.dead+len(arena)/4)
		t.dead = 0
	}
	t.slots = make([]uint64, size)
	t.used = t.n
	mask := uint64(size - 1)
	for _, s := range old {
		if s == 0 || s == coldTomb {
			continue
		}
		off := uint64(s&coldOffMask) - 1
		if compact {
			k, w, st, _ := (&coldTable{arena: arena}).entry(int(off))
			off = t.appendEntry(k, w, st) - 1
		}
		fp := s >> coldOffBits
		k, _, _, _ := t.entry(int(off))
		i := maphash.Bytes(t.seed, k) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = fp<<coldOffBits | (off + 1)
	}
}
