package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/planner"
)

// countShared counts the distinct shared nodes under nd.
func countShared(nd node, seen map[*sharedNode]bool) {
	switch x := nd.(type) {
	case *sharedNode:
		if !seen[x] {
			seen[x] = true
			countShared(x.x, seen)
		}
	case *caseNode:
		for _, ni := range append(append(x.conds, x.results...), x.els) {
			countShared(ni.nd, seen)
		}
	case *logicNode:
		countShared(x.l.nd, seen)
		countShared(x.r.nd, seen)
	case *cmpNode:
		countShared(x.a, seen)
		countShared(x.b, seen)
	case *arithNode:
		countShared(x.a, seen)
		countShared(x.b, seen)
	case *strNode:
		countShared(x.x, seen)
	case *rowNode:
		for _, a := range x.args {
			countShared(a, seen)
		}
	}
}

// TestShared checks which subexpressions are shared and that sharing
// leaves results unchanged.
func TestShared(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(13, 14))
	strs := randomStrings(mem, r, 300, 3, 6, []string{"a", "B", "c"})
	batch := makeBatch(strs)
	strs.Release()
	defer batch.Release()
	s := cast(col(0, tVc), tTxt)
	lower := func() planner.Expr { return call("lower", s) }
	cases := []struct {
		name   string
		e      planner.Expr
		shared int
	}{
		{"case on lower", &planner.Case{Typ: tTxt, Whens: []planner.When{
			{Cond: call("=", lower(), lit("a", tTxt)), Result: lit("1", tTxt)},
			{Cond: call("=", lower(), lit("b", tTxt)), Result: lower()},
		}, Else: call("upper", s)}, 2}, // lower(s) and s::text
		{"different constants", call("or", call("=", call("replace", s, lit("a", tTxt), lit("", tTxt)), lit("", tTxt)),
			call("=", call("replace", s, lit("b", tTxt), lit("", tTxt)), lit("", tTxt))), 1}, // s::text only
		{"volatile", call("or", call(">", call("random"), lit(0.5, tF8)), call(">", call("random"), lit(0.5, tF8))), 0},
		{"and of equal sides", call("and", call("=", lower(), lit("a", tTxt)), call("=", lower(), lit("a", tTxt))), 3},
	}
	for _, c := range cases {
		p := mustCompile(t, c.e)
		seen := map[*sharedNode]bool{}
		countShared(p.root, seen)
		if len(seen) != c.shared {
			t.Errorf("%s: %d shared nodes, want %d", c.name, len(seen), c.shared)
		}
		if c.name == "volatile" {
			continue
		}
		env := &Env{Alloc: mem}
		got, err := p.Eval(env, batch)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := (&compiler{}).compile(c.e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := (&Program{expr: c.e, root: ref}).Eval(env, batch)
		if err != nil {
			t.Fatal(err)
		}
		g, w := showAll(c.e.Type(), got), showAll(c.e.Type(), want)
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s row %d: got %s, want %s", c.name, i, g[i], w[i])
			}
		}
		got.Release()
		want.Release()
	}
}

// TestSafeGivenShared checks that the right side of an AND whose only
// fallible part is shared with the left side is evaluated over every row,
// that one with its own fallible part still runs on the rows the left
// side lets through (100 / x never sees x = 0), and that results match
// the unshared evaluation.
func TestSafeGivenShared(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewInt64Builder(mem)
	for i := range 200 {
		if i%13 == 0 {
			b.AppendNull()
		} else {
			b.Append(int64(i%50) - 10)
		}
	}
	xs := b.NewArray()
	b.Release()
	batch := makeBatch(xs)
	xs.Release()
	defer batch.Release()
	x := col(0, tI8)
	twice := func() planner.Expr { return call("*", x, lit(int64(2), tI8)) }
	between := call("and", call(">", twice(), lit(int64(10), tI8)), call("<", twice(), lit(int64(60), tI8)))
	guarded := call("and", call("<>", x, lit(int64(0), tI8)), call(">", call("/", lit(int64(100), tI8), x), lit(int64(4), tI8)))
	for _, c := range []struct {
		name   string
		e      planner.Expr
		safeIf bool
	}{{"between", between, true}, {"guarded", guarded, false}} {
		p := mustCompile(t, c.e)
		ln := p.root.(*logicNode)
		if got := len(ln.r.safeIf) > 0; got != c.safeIf {
			t.Fatalf("%s: right side safe given shared values = %v, want %v", c.name, got, c.safeIf)
		}
		env := &Env{Alloc: mem}
		got, err := p.Eval(env, batch)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ref, err := (&compiler{}).compile(c.e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := (&Program{expr: c.e, root: ref}).Eval(env, batch)
		if err != nil {
			t.Fatal(err)
		}
		g, w := showAll(tBool, got), showAll(tBool, want)
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s row %d: got %s, want %s", c.name, i, g[i], w[i])
			}
		}
		got.Release()
		want.Release()
	}
}
