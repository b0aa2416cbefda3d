package session

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The cold table behaves as a map under random sets, deletes and
// re-sets with worst rows of changing sizes, across rehashes and arena
// compactions.
func TestColdTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ct := newColdTable()
	type val struct {
		worst  string
		stored int32
	}
	ref := map[string]val{}
	keys := make([]string, 3000)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", rng.IntN(1<<30))
		if i%7 == 0 {
			keys[i] = "" // the key of a top-N without PARTITION BY
		}
	}
	check := func() {
		t.Helper()
		if ct.Len() != len(ref) {
			t.Fatalf("Len %d, want %d", ct.Len(), len(ref))
		}
		for _, k := range keys {
			w, st, ok := ct.Get([]byte(k))
			want, wok := ref[k]
			if ok != wok || (ok && (string(w) != want.worst || st != want.stored)) {
				t.Fatalf("Get(%q) = %q, %d, %v; want %q, %d, %v", k, w, st, ok, want.worst, want.stored, wok)
			}
		}
		seen := 0
		if err := ct.Each(func(k, w []byte, st int32) error {
			seen++
			if want, ok := ref[string(k)]; !ok || want.worst != string(w) || want.stored != st {
				return fmt.Errorf("Each gave %q %q %d, want %+v (%v)", k, w, st, want, ok)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if seen != len(ref) {
			t.Fatalf("Each saw %d entries, want %d", seen, len(ref))
		}
	}
	for round := 0; round < 20; round++ {
		for i := 0; i < 2000; i++ {
			k := keys[rng.IntN(len(keys))]
			switch rng.IntN(4) {
			case 0:
				ct.Delete([]byte(k))
				delete(ref, k)
			default:
				w := bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(3)*8+1)
				st := int32(rng.IntN(10) + 1)
				ct.Set([]byte(k), w, st)
				ref[k] = val{string(w), st}
			}
		}
		check()
	}
	for i := range ct.shards {
		if sh := &ct.shards[i]; sh.dead > len(sh.arena) {
			t.Fatalf("shard %d: dead bytes %d exceed the arena's %d", i, sh.dead, len(sh.arena))
		}
	}
}

// Overwriting a partition's worst row with one of the same size reuses
// its entry: deduplication's steady state does not grow the arena.
func TestColdTableInPlace(t *testing.T) {
	ct := newColdTable()
	for i := 0; i < 1000; i++ {
		ct.Set([]byte(fmt.Sprint(i)), []byte("12345678"), 1)
	}
	arena := func() int {
		n := 0
		for i := range ct.shards {
			n += len(ct.shards[i].arena)
		}
		return n
	}
	size := arena()
	for r := 0; r < 5; r++ {
		for i := 0; i < 1000; i++ {
			ct.Set([]byte(fmt.Sprint(i)), []byte(fmt.Sprintf("%08d", r)), 1)
		}
	}
	if arena() != size {
		t.Fatalf("arena grew from %d to %d bytes", size, arena())
	}
	if w, _, _ := ct.Get([]byte("7")); string(w) != "00000004" {
		t.Fatalf("worst %q", w)
	}
}

func BenchmarkColdTableSetGet(b *testing.B) {
	ct := newColdTable()
	key := make([]byte, 18)
	worst := make([]byte, 9)
	for i := 0; i < b.N; i++ {
		k := uint64(i % 3_000_000)
		for j := 0; j < 8; j++ {
			key[1+j] = byte(k >> (8 * j))
		}
		if _, _, ok := ct.Get(key); !ok {
			ct.Set(key, worst, 1)
		}
	}
}

// splitRows gives every row once, in order, in shares of about equal
// size, slicing batches where a share ends.
func TestSplitRows(t *testing.T) {
	mem := memory.NewGoAllocator()
	var batches []arrow.RecordBatch
	next := int64(0)
	for _, n := range []int{5, 1000, 1, 0, 333, 7000, 2} {
		b := array.NewInt64Builder(mem)
		for i := 0; i < n; i++ {
			b.Append(next)
			next++
		}
		a := b.NewArray()
		batches = append(batches, array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{a}, int64(n)))
	}
	for _, n := range []int{1, 2, 3, 4} {
		shares := splitRows(batches, n)
		if len(shares) != n {
			t.Fatalf("%d shares, want %d", len(shares), n)
		}
		want := int64(0)
		for w, s := range shares {
			var rows int64
			for _, b := range s {
				col := b.Column(0).(*array.Int64)
				for i := 0; i < col.Len(); i++ {
					if col.Value(i) != want {
						t.Fatalf("n=%d share %d: row %d, want %d", n, w, col.Value(i), want)
					}
					want++
				}
				rows += b.NumRows()
			}
			if lo, hi := next/int64(n), next/int64(n)+1; rows < lo || rows > hi {
				t.Fatalf("n=%d share %d has %d rows, want %d or %d", n, w, rows, lo, hi)
			}
		}
		if want != next {
			t.Fatalf("n=%d: shares hold %d rows, want %d", n, want, next)
		}
	}
}

// Partitions made cold on several cores, by shard, end up in the cold
// table as made cold one by one: the worst row and row count of each,
// and no entry for one left with no rows.
func TestToColdAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	tn := &topNState{cold: newColdTable()}
	var parts []*topPart
	for i := range 50000 {
		p := &topPart{key: fmt.Sprintf("p%d", i)}
		for range rng.IntN(4) {
			p.rows = append(p.rows, &topRow{order: fmt.Sprintf("o%d", rng.IntN(1000))})
		}
		if i%3 == 0 {
			// Cold before, with other rows.
			tn.cold.Set([]byte(p.key), []byte("stale"), 9)
		}
		if hs, h := tn.cold.HashString(p.key), tn.cold.Hash([]byte(p.key)); hs != h {
			t.Fatalf("HashString %x, Hash %x", hs, h)
		}
		parts = append(parts, p)
	}
	tn.toColdAll(parts)
	n := 0
	for _, p := range parts {
		worst, stored, ok := tn.cold.Get([]byte(p.key))
		if len(p.rows) == 0 {
			if ok {
				t.Fatalf("%s: no rows, yet cold with %q, %d", p.key, worst, stored)
			}
			continue
		}
		n++
		if !ok || string(worst) != p.rows[len(p.rows)-1].order || int(stored) != len(p.rows) {
			t.Fatalf("%s: cold %v with %q, %d; want %q, %d", p.key, ok, worst, stored, p.rows[len(p.rows)-1].order, len(p.rows))
		}
	}
	if tn.cold.Len() != n {
		t.Fatalf("cold table holds %d partitions, want %d", tn.cold.Len(), n)
	}
}
