package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
)

// randValue returns a random value of typ in catalog convention (nil for
// NULL about one time in five), with NaN, -0 and equal values mixed in.
func randValue(rng *rand.Rand, typ catalog.Type) any {
	if rng.IntN(5) == 0 {
		return nil
	}
	n := rng.IntN(41) - 20
	switch typ.ID {
	case catalog.Int2, catalog.Int4, catalog.Int8, catalog.Timestamp, catalog.TimestampTZ:
		return int64(n)
	case catalog.Date:
		return int32(n)
	case catalog.Float4, catalog.Float8:
		switch rng.IntN(8) {
		case 0:
			return math.NaN()
		case 1:
			return math.Copysign(0, -1)
		case 2:
			return math.Inf(-1)
		}
		return float64(n) / 4
	case catalog.Text, catalog.Varchar:
		s := fmt.Sprintf("s%d", n)
		return s[:1+rng.IntN(len(s))]
	case catalog.Bytea:
		return []byte(fmt.Sprintf("\x00%d", n))
	case catalog.Numeric:
		return catalog.Decimal{Num: decimal128.FromI64(int64(n) * 1000), Scale: typ.Scale}
	case catalog.Bool:
		return n > 0
	}
	panic(typ)
}

// TestFastExtremeMatchesMultiset checks the typed append-only min/max
// against the multiset implementation, over NULLs, NaN, -0, sliced
// arrays, merges and empty groups.
func TestFastExtremeMatchesMultiset(t *testing.T) {
	types := []catalog.Type{tI2, tI4, tI8, tF4, tF8, tDate, tTs, tTsTZ, tTxt, tVc, tByt, tNum(3), tBool}
	for _, typ := range types {
		for _, name := range []string{"min", "max"} {
			t.Run(name+" "+typ.String(), func(t *testing.T) {
				alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer alloc.AssertSize(t, 0)
				env := &Env{Alloc: alloc}
				agg := resolveAgg(t, name, typ)
				fast, err := NewAccumulatorOpts(env, agg, false, AccOptions{AppendOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				defer fast.Release()
				if _, ok := fast.(*extremeAcc); ok {
					t.Fatalf("no typed path for %s", typ)
				}
				part, _ := NewAccumulatorOpts(env, agg, false, AccOptions{AppendOnly: true})
				defer part.Release()
				slow, _ := NewAccumulator(env, agg, false)
				defer slow.Release()
				rng := rand.New(rand.NewPCG(7, uint64(typ.ID)))
				const ngroups = 40
				for batch := range 6 {
					n := 50 + rng.IntN(50)
					vals := make([]any, n+3)
					for i := range vals {
						vals[i] = randValue(rng, typ)
					}
					if batch == 2 {
						clear(vals) // all NULL
					}
					full := makeArray(t, alloc, typ, vals...)
					arr := array.NewSlice(full, 3, int64(n+3))
					full.Release()
					groups := make([]uint32, n)
					for i := range groups {
						groups[i] = uint32(rng.IntN(ngroups - 1)) // last group stays empty
					}
					for _, acc := range []Accumulator{fast, slow} {
						if err := acc.Update(groups, []arrow.Array{arr}); err != nil {
							t.Fatal(err)
						}
					}
					half := array.NewSlice(arr, 0, int64(n/2))
					err := part.Update(groups[:n/2], []arrow.Array{half})
					half.Release()
					if err != nil {
						t.Fatal(err)
					}
					arr.Release()
				}
				want, err := slow.Result(ngroups)
				if err != nil {
					t.Fatal(err)
				}
				defer want.Release()
				got, err := fast.Result(ngroups)
				if err != nil {
					t.Fatal(err)
				}
				defer got.Release()
				if !arrow.TypeEqual(got.DataType(), want.DataType()) {
					t.Fatalf("type %s, want %s", got.DataType(), want.DataType())
				}
				if g, w := showAll(agg.Ret, got), showAll(agg.Ret, want); !slices.Equal(g, w) {
					t.Fatalf("got  %v\nwant %v", g, w)
				}
				// Merging partial states into themselves leaves the extremes.
				for g := range uint32(ngroups) {
					if err := fast.Merge(g, part, g); err != nil {
						t.Fatal(err)
					}
				}
				again, _ := fast.Result(ngroups)
				defer again.Release()
				if g, w := showAll(agg.Ret, again), showAll(agg.Ret, want); !slices.Equal(g, w) {
					t.Fatalf("after merge got  %v\nwant %v", g, w)
				}
				if err := fast.Retract(nil, nil); err == nil {
					t.Fatal("append-only retract succeeded")
				}
			})
		}
	}
}

// TestSumTypedResult checks sums read without boxing (typed updates on
// sliced arrays with NULLs, typed results) against the boxed per-group
// values.
func TestSumTypedResult(t *testing.T) {
	for _, tc := range []struct {
		agg string
		typ catalog.Type
	}{{"sum", tI2}, {"sum", tI4}, {"sum", tI8}, {"sum", tF4}, {"sum", tF8}, {"sum", tNum(3)}, {"avg", tI8}, {"avg", tF4}} {
		t.Run(tc.agg+" "+tc.typ.String(), func(t *testing.T) {
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(t, 0)
			env := &Env{Alloc: alloc}
			agg := resolveAgg(t, tc.agg, tc.typ)
			acc, err := NewAccumulatorOpts(env, agg, false, AccOptions{AppendOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer acc.Release()
			rng := rand.New(rand.NewPCG(9, uint64(tc.typ.ID)))
			const ngroups = 30
			for range 4 {
				n := 100
				vals := make([]any, n+2)
				for i := range vals {
					if v := randValue(rng, tc.typ); v != nil {
						if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
							v = 1.5
						}
						vals[i] = v
					}
				}
				full := makeArray(t, alloc, tc.typ, vals...)
				arr := array.NewSlice(full, 2, int64(n+2))
				full.Release()
				groups := make([]uint32, n)
				for i := range groups {
					groups[i] = uint32(rng.IntN(ngroups - 1))
				}
				err := acc.Update(groups, []arrow.Array{arr})
				arr.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := acc.Result(ngroups)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			sa := acc.(*sumAcc)
			var want []string
			for g := range ngroups {
				v, err := sa.value(g)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, showValue(agg.Ret, v))
			}
			if g := showAll(agg.Ret, got); !slices.Equal(g, want) {
				t.Fatalf("got  %v\nwant %v", g, want)
			}
		})
	}
}
