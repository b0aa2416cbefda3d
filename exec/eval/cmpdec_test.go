package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
)

// TestCmpDecimals checks the numeric comparison kernel against
// CompareValues for arrays and constants of equal and different scales,
// negative and 128-bit values, with NULLs.
func TestCmpDecimals(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(17, 18))
	const n = 300
	rnd := func() decimal128.Num {
		switch r.IntN(5) {
		case 0:
			return decimal128.New(r.Int64N(1<<40)-1<<39, r.Uint64()) // beyond 64 bits
		case 1:
			return decimal128.FromI64(r.Int64N(7) - 3)
		}
		return decimal128.FromI64(r.Int64N(2_000_000) - 1_000_000)
	}
	mk := func(scale int32) arrow.Array {
		b := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: catalog.NumericPrecision, Scale: scale})
		defer b.Release()
		for range n {
			if r.IntN(10) == 0 {
				b.AppendNull()
			} else {
				b.Append(rnd())
			}
		}
		return b.NewArray()
	}
	a0, a3 := mk(0), mk(3)
	a3b := mk(3)
	defer a0.Release()
	defer a3.Release()
	defer a3b.Release()
	consts := []catalog.Decimal{
		{Num: decimal128.FromI64(8), Scale: 0}, {Num: decimal128.FromI64(8000), Scale: 3}, {Num: decimal128.FromI64(8500), Scale: 3},
		{Num: decimal128.FromI64(-25), Scale: 1}, {Num: decimal128.FromI64(1000000000), Scale: 3}, {Num: decimal128.FromI64(0), Scale: 6},
		{Num: decimal128.New(1<<40, 0), Scale: 2},
	}
	at := func(v vec, i int) any {
		if v.arr == nil {
			return v.c
		}
		return getValue(catalog.Type{ID: catalog.Numeric}, v.arr, i)
	}
	check := func(name string, a, b vec) {
		for op := opEQ; op <= opGE; op++ {
			out := make([]byte, (n+7)/8)
			if !cmpDecimals(op, catalog.Type{ID: catalog.Numeric, Scale: 3}, a, b, n, out) {
				continue // the boxed path serves it
			}
			for i := range n {
				x, y := at(a, i), at(b, i)
				if x == nil || y == nil {
					continue
				}
				want := op.test(cmpDecimal(x.(catalog.Decimal), y.(catalog.Decimal)))
				if got := out[i>>3]&(1<<(i&7)) != 0; got != want {
					t.Fatalf("%s op %d row %d: %v vs %v: got %v", name, op, i, x, y, got)
				}
			}
		}
	}
	served := 0
	for _, arr := range []arrow.Array{a0, a3} {
		for _, c := range consts {
			av, cv := vec{arr: arr, n: n}, vec{c: c, n: n}
			check("array-const", av, cv)
			check("const-array", cv, av)
			if cmpDecimals(opEQ, catalog.Type{ID: catalog.Numeric}, av, cv, n, make([]byte, (n+7)/8)) {
				served++
			}
		}
	}
	check("array-array", vec{arr: a3, n: n}, vec{arr: a3b, n: n})
	if served < 8 {
		t.Fatalf("only %d array-constant comparisons took the kernel", served)
	}
	// Different scales on two arrays are left to the boxed path.
	if cmpDecimals(opEQ, catalog.Type{ID: catalog.Numeric}, vec{arr: a0, n: n}, vec{arr: a3, n: n}, n, make([]byte, (n+7)/8)) {
		t.Fatal("arrays of scales 0 and 3 took the kernel")
	}
}
