package exec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestHashTableIDs checks the ids of the hash table against a map keyed
// by a printed form of the rows: dense, in order of first appearance,
// NULLs equal, -0 = 0, NaN = NaN, across batches (sliced arrays) and table
// growth, and lookup of present and absent keys.
func TestHashTableIDs(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	type colGen struct {
		dt   arrow.DataType
		make func(b array.Builder, r *rand.Rand, card int) string
	}
	nullOr := func(b array.Builder, r *rand.Rand, f func() string) string {
		if r.IntN(10) == 0 {
			b.AppendNull()
			return "NULL"
		}
		return f()
	}
	gens := map[string]colGen{
		"i64": {arrow.PrimitiveTypes.Int64, func(b array.Builder, r *rand.Rand, card int) string {
			return nullOr(b, r, func() string { v := r.Int64N(int64(card)) - 3; b.(*array.Int64Builder).Append(v); return fmt.Sprint(v) })
		}},
		"i16": {arrow.PrimitiveTypes.Int16, func(b array.Builder, r *rand.Rand, card int) string {
			return nullOr(b, r, func() string {
				v := int16(r.IntN(min(card, 30000)))
				b.(*array.Int16Builder).Append(v)
				return fmt.Sprint(v)
			})
		}},
		"ts": {&arrow.TimestampType{Unit: arrow.Microsecond}, func(b array.Builder, r *rand.Rand, card int) string {
			return nullOr(b, r, func() string {
				v := r.Int64N(int64(card))
				b.(*array.TimestampBuilder).Append(arrow.Timestamp(v))
				return fmt.Sprint(v)
			})
		}},
		"f64": {arrow.PrimitiveTypes.Float64, func(b array.Builder, r *rand.Rand, card int) string {
			return nullOr(b, r, func() string {
				v := float64(r.IntN(card))
				switch r.IntN(6) {
				case 0:
					v = math.NaN()
				case 1:
					v = math.Copysign(0, -1)
				}
				b.(*array.Float64Builder).Append(v)
				if v == 0 {
					v = 0
				}
				return fmt.Sprint(v)
			})
		}},
		"bool": {arrow.FixedWidthTypes.Boolean, func(b array.Builder, r *rand.Rand, card int) string {
			return nullOr(b, r, func() string { v := r.IntN(2) == 0; b.(*array.BooleanBuilder).Append(v); return fmt.Sprint(v) })
		}},
		"str": {arrow.BinaryTypes.String, func(b array.Builder, r *rand.Rand, card int) string {
			return nullOr(b, r, func() string {
				v := fmt.Sprint(r.IntN(card))
				b.(*array.StringBuilder).Append(v)
				return fmt.Sprintf("%q", v)
			})
		}},
	}
	for _, spec := range [][]string{{"i64"}, {"i16"}, {"f64"}, {"bool"}, {"str"}, {"i64", "ts"}, {"i64", "f64", "bool"}, {"str", "i64"}, {"ts", "str", "i16"}} {
		for _, card := range []int{5, 3000} {
			t.Run(fmt.Sprint(spec, card), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(card), uint64(len(spec))))
				ht := newHashTable()
				ref := map[string]uint32{}
				batch := func(n int) ([]arrow.Array, []string) {
					keys := make([]string, n+2)
					var cols []arrow.Array
					for _, c := range spec {
						g := gens[c]
						b := array.NewBuilder(mem, g.dt)
						for i := range keys {
							keys[i] += g.make(b, r, card) + "|"
						}
						full := b.NewArray()
						b.Release()
						cols = append(cols, array.NewSlice(full, 2, int64(n+2)))
						full.Release()
					}
					return cols, keys[2:]
				}
				for range 8 {
					n := 1 + r.IntN(2000)
					cols, keys := batch(n)
					ids := make([]uint32, n)
					newRows, err := ht.insert(cols, n, ids, nil)
					releaseAll(cols)
					if err != nil {
						t.Fatal(err)
					}
					var wantNew []int32
					for i, k := range keys {
						id, ok := ref[k]
						if !ok {
							id = uint32(len(ref))
							ref[k] = id
							wantNew = append(wantNew, int32(i))
						}
						if ids[i] != id {
							t.Fatalf("row %d key %s: id %d, want %d", i, k, ids[i], id)
						}
					}
					if fmt.Sprint(newRows) != fmt.Sprint(wantNew) {
						t.Fatalf("new rows %v, want %v", newRows, wantNew)
					}
				}
				if ht.len() != len(ref) {
					t.Fatalf("len %d, want %d", ht.len(), len(ref))
				}
				cols, keys := batch(500)
				got := make([]int32, 500)
				err := ht.lookup(cols, 500, got)
				releaseAll(cols)
				if err != nil {
					t.Fatal(err)
				}
				for i, k := range keys {
					want := int32(-1)
					if id, ok := ref[k]; ok {
						want = int32(id)
					}
					if got[i] != want {
						t.Fatalf("lookup %s: %d, want %d", k, got[i], want)
					}
				}
			})
		}
	}
}
