package session

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// coldTable holds the cold partitions of a top-N view: encoded partition
// key -> (worst row's encoded ORDER BY values, number of rows). A view may
// have millions of partitions, so the table is made of pointer-free
// slices that the garbage collector never scans. It has coldShards shards
// chosen by the key's hash; work on different shards may run on
// different goroutines (see ShardOf), anything else on one at a time.
type coldTable struct {
	seed   maphash.Seed
	shards [coldShards]coldShard
}

// coldShard is an open-addressing index of slots and an arena of entries.
// An entry whose worst row changes size is appended anew; the arena is
// compacted when the index grows and more than half of it is dead.
type coldShard struct {
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
	// coldShards is a power of two; a key's shard is bits 40 to 43 of
	// its hash, below the fingerprint's.
	coldShards     = 16
	coldShardShift = 40
)

func newColdTable() *coldTable { return newColdTableSeed(maphash.MakeSeed()) }

// newColdTableSeed is a table whose Hash is that of tables of the same
// seed.
func newColdTableSeed(seed maphash.Seed) *coldTable {
	t := &coldTable{seed: seed}
	for i := range t.shards {
		t.shards[i].seed = t.seed
	}
	return t
}

// Hash is the hash of key that ShardOf and the shards use.
func (t *coldTable) Hash(key []byte) uint64 { return maphash.Bytes(t.seed, key) }

// HashString is Hash of a key held in a string.
func (t *coldTable) HashString(key string) uint64 { return maphash.String(t.seed, key) }

// ShardOf is the shard of a key of hash h.
func ShardOf(h uint64) int { return int(h>>coldShardShift) & (coldShards - 1) }

func (t *coldTable) shard(h uint64) *coldShard { return &t.shards[ShardOf(h)] }

// Len is the number of cold partitions.
func (t *coldTable) Len() int {
	n := 0
	for i := range t.shards {
		n += t.shards[i].n
	}
	return n
}

// entry decodes the entry at off.
func (t *coldShard) entry(off int) (key, worst []byte, stored int32, size int) {
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

func (t *coldShard) appendEntry(key, worst []byte, stored int32) uint64 {
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
func (t *coldShard) find(key []byte, h uint64) (found, free int) {
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
	worst, stored, ok, _ = t.LookupHashed(key, t.Hash(key))
	return worst, stored, ok
}

// coldSlot is where Lookup found a partition, or where Put adds it.
type coldSlot struct {
	h         uint64
	at, free  int
	off, size int
}

// Lookup is Get that also returns the partition's slot, for a Put of the
// same key before any other change of its shard.
func (t *coldTable) Lookup(key []byte) (worst []byte, stored int32, ok bool, s coldSlot) {
	return t.LookupHashed(key, t.Hash(key))
}

// LookupHashed is Lookup of a key of hash h (Hash).
func (t *coldTable) LookupHashed(key []byte, h uint64) (worst []byte, stored int32, ok bool, s coldSlot) {
	sh := t.shard(h)
	s.h = h
	s.at, s.free = sh.find(key, h)
	if s.at < 0 {
		return nil, 0, false, s
	}
	s.off = int(sh.slots[s.at]&coldOffMask) - 1
	_, worst, stored, s.size = sh.entry(s.off)
	return worst, stored, true, s
}

// Put is Set at the slot Lookup returned for key.
func (t *coldTable) Put(s coldSlot, key, worst []byte, stored int32) {
	sh := t.shard(s.h)
	if s.at >= 0 {
		_, old, _, _ := sh.entry(s.off)
		if len(old) == len(worst) {
			binary.LittleEndian.PutUint32(sh.arena[s.off:], uint32(stored))
			copy(old, worst)
			return
		}
		sh.dead += s.size
		sh.slots[s.at] = s.h>>coldOffBits<<coldOffBits | sh.appendEntry(key, worst, stored)
		return
	}
	free := s.free
	if free < 0 || (sh.used+1)*4 > len(sh.slots)*3 {
		sh.rehash()
		_, free = sh.find(key, s.h)
	}
	if sh.slots[free] == 0 {
		sh.used++
	}
	sh.slots[free] = s.h>>coldOffBits<<coldOffBits | sh.appendEntry(key, worst, stored)
	sh.n++
}

// Set records a partition's worst row and number of rows.
func (t *coldTable) Set(key, worst []byte, stored int32) {
	_, _, _, s := t.Lookup(key)
	t.Put(s, key, worst, stored)
}

// Reset forgets every partition and keeps the memory for reuse.
func (t *coldTable) Reset() {
	for i := range t.shards {
		sh := &t.shards[i]
		clear(sh.slots)
		sh.arena = sh.arena[:0]
		sh.n, sh.used, sh.dead = 0, 0, 0
	}
}

// Delete forgets a partition.
func (t *coldTable) Delete(key []byte) {
	h := t.Hash(key)
	sh := t.shard(h)
	at, _ := sh.find(key, h)
	if at < 0 {
		return
	}
	_, _, _, size := sh.entry(int(sh.slots[at]&coldOffMask) - 1)
	sh.dead += size
	sh.slots[at] = coldTomb
	sh.n--
}

// Each calls fn with every partition; fn must not change the table.
func (t *coldTable) Each(fn func(key, worst []byte, stored int32) error) error {
	for i := range t.shards {
		if err := t.EachOf(i, fn); err != nil {
			return err
		}
	}
	return nil
}

// EachOf is Each over the partitions of one shard.
func (t *coldTable) EachOf(shard int, fn func(key, worst []byte, stored int32) error) error {
	sh := &t.shards[shard]
	for _, s := range sh.slots {
		if s == 0 || s == coldTomb {
			continue
		}
		k, w, st, _ := sh.entry(int(s&coldOffMask) - 1)
		if err := fn(k, w, st); err != nil {
			return err
		}
	}
	return nil
}

// rehash rebuilds the index at twice the live entries (at least 16
// slots), without tombstones, compacting the arena when most of it is
// dead.
func (t *coldShard) rehash() {
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
			k, w, st, _ := (&coldShard{arena: arena}).entry(int(off))
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
