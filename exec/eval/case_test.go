package eval

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// setReference makes every CASE of a compiled program take the reference
// path.
func setReference(nd node) {
	switch x := nd.(type) {
	case *caseNode:
		x.reference = true
		for _, ni := range append(append(x.conds, x.results...), x.els) {
			setReference(ni.nd)
		}
	case *sharedNode:
		setReference(x.x)
	case *logicNode:
		setReference(x.l.nd)
		setReference(x.r.nd)
	}
}

// TestCaseMerge checks CASE (conditions over every row, branches gathered
// in place) against the reference path for results of every physical
// kind, constant and computed, with NULLs, and with conditions that share
// subexpressions or can fail.
func TestCaseMerge(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(11, 12))
	const n = 500
	ib := array.NewInt64Builder(mem)
	for range n {
		if r.IntN(9) == 0 {
			ib.AppendNull()
		} else {
			ib.Append(int64(r.IntN(40)) - 10)
		}
	}
	ints := ib.NewArray()
	ib.Release()
	strs := randomStrings(mem, r, n, 4, 7, []string{"a", "B", "é"})
	batch := makeBatch(ints, strs)
	ints.Release()
	strs.Release()
	defer batch.Release()
	x, s := col(0, tI8), cast(col(1, tVc), tTxt)
	mod := func(k int64) planner.Expr { return call("%", x, lit(k, tI8)) }
	results := []struct {
		name        string
		computed, k planner.Expr
		typ         catalog.Type
	}{
		{"text", call("lower", s), lit("const", tTxt), tTxt},
		{"bigint", call("*", x, lit(int64(3), tI8)), lit(int64(7), tI8), tI8},
		{"integer", call("length", s), lit(int64(-1), tI4), tI4},
		{"boolean", call(">", x, lit(int64(4), tI8)), lit(true, tBool), tBool},
		{"double", cast(x, tF8), lit(2.5, tF8), tF8},
		{"numeric", cast(x, tNum(2)), lit(catalog.Decimal{Num: dec(125), Scale: 2}, tNum(2)), tNum(2)},
	}
	for _, res := range results {
		for _, shape := range []string{"const-first", "computed-first", "null-branch", "failing-cond", "switch", "switch-all-else"} {
			var e planner.Expr
			switch shape {
			case "const-first":
				e = &planner.Case{Typ: res.typ, Whens: []planner.When{
					{Cond: call("=", mod(3), lit(int64(0), tI8)), Result: res.k},
					{Cond: call("=", mod(3), lit(int64(1), tI8)), Result: res.computed},
				}, Else: &planner.Const{Typ: res.typ}}
			case "computed-first":
				e = &planner.Case{Typ: res.typ, Whens: []planner.When{
					{Cond: call(">", x, lit(int64(10), tI8)), Result: res.computed},
				}, Else: res.k}
			case "null-branch":
				e = &planner.Case{Typ: res.typ, Whens: []planner.When{
					{Cond: call("<", x, lit(int64(0), tI8)), Result: &planner.Const{Typ: res.typ}},
					{Cond: call("=", call("lower", s), lit("a", tTxt)), Result: res.k},
					{Cond: call("<>", call("lower", s), lit("b", tTxt)), Result: res.computed},
				}, Else: res.computed}
			case "failing-cond":
				// 100 / x fails where x = 0; the first branch takes those rows.
				e = &planner.Case{Typ: res.typ, Whens: []planner.When{
					{Cond: call("<=", x, lit(int64(0), tI8)), Result: res.k},
					{Cond: call(">", call("/", lit(int64(100), tI8), x), lit(int64(9), tI8)), Result: res.computed},
				}, Else: &planner.Const{Typ: res.typ}}
			case "switch":
				// Equal constants: the first branch wins.
				e = &planner.Case{Typ: res.typ, Whens: []planner.When{
					{Cond: call("=", call("lower", s), lit("a", tTxt)), Result: res.computed},
					{Cond: call("=", call("lower", s), lit("b", tTxt)), Result: res.k},
					{Cond: call("=", call("lower", s), lit("a", tTxt)), Result: &planner.Const{Typ: res.typ}},
					{Cond: call("=", call("lower", s), lit("éb", tTxt)), Result: &planner.Const{Typ: res.typ}},
				}, Else: res.computed}
			case "switch-all-else":
				e = &planner.Case{Typ: res.typ, Whens: []planner.When{
					{Cond: call("=", s, lit("zz", tTxt)), Result: res.k},
					{Cond: call("=", s, lit("yy", tTxt)), Result: res.k},
				}, Else: res.computed}
			}
			if strings.HasPrefix(shape, "switch") && mustCompile(t, e).root.(*caseNode).subject == nil {
				t.Fatalf("%s %s: not compiled to a lookup", res.name, shape)
			}
			env := &Env{Alloc: mem}
			got, err := Eval(env, e, batch)
			if err != nil {
				t.Fatalf("%s %s: %v", res.name, shape, err)
			}
			ref := mustCompile(t, e)
			setReference(ref.root)
			want, err := ref.Eval(env, batch)
			if err != nil {
				t.Fatalf("%s %s (reference): %v", res.name, shape, err)
			}
			g, w := showAll(res.typ, got), showAll(res.typ, want)
			for i := range w {
				if g[i] != w[i] {
					t.Fatalf("%s %s row %d: got %s, want %s", res.name, shape, i, g[i], w[i])
				}
			}
			got.Release()
			want.Release()
		}
	}
}
