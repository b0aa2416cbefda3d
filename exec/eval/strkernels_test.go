package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// rowProgram compiles the call e to its row-at-a-time implementation,
// without vector kernels and without memoizing: the reference the
// kernels must match.
func rowProgram(t *testing.T, e planner.Expr) *Program {
	t.Helper()
	c := e.(*planner.Call)
	args := make([]node, len(c.Args))
	argT := make([]catalog.Type, len(c.Args))
	for i, a := range c.Args {
		nd, err := compile(a)
		if err != nil {
			t.Fatal(err)
		}
		args[i], argT[i] = nd, a.Type()
	}
	fn, err := rowFuncs[c.Fn.Name](c)
	if err != nil {
		t.Fatal(err)
	}
	return &Program{expr: e, root: &rowNode{fn: fn, args: args, argT: argT, ret: c.Fn.Ret, strict: c.Fn.Strict, noMemo: true}}
}

// randomStrings returns n strings drawn from letters (NULL one time in
// nullEvery, never when nullEvery is 0), of up to maxLen letters.
func randomStrings(mem memory.Allocator, r *rand.Rand, n, maxLen, nullEvery int, letters []string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for range n {
		if nullEvery > 0 && r.IntN(nullEvery) == 0 {
			b.AppendNull()
			continue
		}
		s := ""
		for k := r.IntN(maxLen + 1); k > 0; k-- {
			s += letters[r.IntN(len(letters))]
		}
		b.Append(s)
	}
	return b.NewArray()
}

// checkSameAsRows evaluates e over a column of strings, whole and sliced,
// with Eval and with the row implementation, and compares every row.
func checkSameAsRows(t *testing.T, mem memory.Allocator, name string, e planner.Expr, strs arrow.Array) {
	t.Helper()
	ref := rowProgram(t, e)
	for _, sl := range [][2]int{{0, strs.Len()}, {3, strs.Len() - 5}} {
		a := array.NewSlice(strs, int64(sl[0]), int64(sl[1]))
		batch := makeBatch(a)
		a.Release()
		env := &Env{Alloc: mem}
		got, err := Eval(env, e, batch)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := ref.Eval(env, batch)
		if err != nil {
			t.Fatalf("%s (rows): %v", name, err)
		}
		if !arrow.TypeEqual(got.DataType(), want.DataType()) {
			t.Fatalf("%s: type %s, want %s", name, got.DataType(), want.DataType())
		}
		g, w := showAll(e.Type(), got), showAll(e.Type(), want)
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s slice %v row %d (%q): got %s, want %s", name, sl, i, show(tTxt, a, i), g[i], w[i])
			}
		}
		got.Release()
		want.Release()
		batch.Release()
	}
}

// TestStrKernels checks lower, upper, the lengths and replace against
// their row implementations on ASCII and non-ASCII strings with NULLs.
func TestStrKernels(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 4))
	letters := []string{"a", "B", "c", "C", "z", "Z", "@", "[", "`", "{", "é", "É", "ß", "İ", "ǅ", "ab", " "}
	strs := randomStrings(mem, r, 700, 12, 8, letters)
	defer strs.Release()
	s := cast(col(0, tVc), tTxt)
	for _, c := range []struct {
		name string
		e    planner.Expr
	}{
		{"lower", call("lower", s)},
		{"upper", call("upper", s)},
		{"length", call("length", s)},
		{"char_length", call("char_length", s)},
		{"octet_length", call("octet_length", s)},
		{"replace byte", call("replace", s, lit("c", tTxt), lit("", tTxt))},
		{"replace multibyte", call("replace", s, lit("é", tTxt), lit("", tTxt))},
		{"replace longer", call("replace", s, lit("ab", tTxt), lit("XYZ", tTxt))},
		{"replace overlapping", call("replace", s, lit("aa", tTxt), lit("a", tTxt))},
		{"replace empty", call("replace", s, lit("", tTxt), lit("x", tTxt))},
		{"replace with byte", call("replace", s, lit("a", tTxt), lit("-", tTxt))},
	} {
		if _, ok := mustCompile(t, c.e).root.(*strNode); !ok {
			t.Fatalf("%s: not compiled to a vector kernel", c.name)
		}
		checkSameAsRows(t, mem, c.name, c.e, strs)
	}
	// A constant argument is computed once.
	env := &Env{Alloc: mem}
	v, err := EvalScalar(env, call("upper", lit("aé", tTxt)))
	if err != nil || v != "AÉ" {
		t.Fatalf("upper('aé') = %v, %v", v, err)
	}
}

func mustCompile(t *testing.T, e planner.Expr) *Program {
	t.Helper()
	p, err := Compile(e)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMemo checks the memoized row path against computing every row, with
// few distinct values (memoized throughout), with many (the memo gives up
// after memoCheckRows rows), and for a function that is not strict.
func TestMemo(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 6))
	few := randomStrings(mem, r, 2000, 2, 10, []string{"a=1&", "channel_id=", "x", "&"})
	defer few.Release()
	many := randomStrings(mem, r, 2000, 20, 10, []string{"a", "b", "=", "&", "channel_id="})
	defer many.Release()
	s := cast(col(0, tVc), tTxt)
	for _, c := range []struct {
		name string
		e    planner.Expr
	}{
		{"regexp_match", call(planner.RegexpMatchElem, s, lit("(&|^)channel_id=([^&]*)", tTxt), lit(int64(2), tI4))},
		{"initcap", call("initcap", s)},
		{"concat", call("concat", s, lit("!", tTxt))},
		{"strpos", call("strpos", s, lit("=", tTxt))},
	} {
		checkSameAsRows(t, mem, c.name+" few", c.e, few)
		checkSameAsRows(t, mem, c.name+" many", c.e, many)
	}
}

// TestTakeStrings checks takeArray on strings against the values taken
// one by one, with NULLs, padding (-1) and a sliced source.
func TestTakeStrings(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(7, 8))
	strs := randomStrings(mem, r, 300, 6, 5, []string{"a", "bc", "é"})
	defer strs.Release()
	src := array.NewSlice(strs, 7, 250).(*array.String)
	defer src.Release()
	idx := make([]int32, 400)
	for i := range idx {
		idx[i] = int32(r.IntN(src.Len()+20)) - 20
		if idx[i] < 0 {
			idx[i] = -1
		}
	}
	out, err := takeArray(mem, src, idx)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	for i, j := range idx {
		want := "NULL"
		if j >= 0 {
			want = show(tTxt, src, int(j))
		}
		if got := show(tTxt, out, i); got != want {
			t.Fatalf("row %d (source %d): got %s, want %s", i, j, got, want)
		}
	}
}

// TestInStrings checks x [NOT] IN (constant strings) on a text column,
// with and without a NULL in the list, against the general path.
func TestInStrings(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(9, 10))
	strs := randomStrings(mem, r, 300, 1, 6, []string{"a", "b", "c"})
	defer strs.Release()
	batch := makeBatch(strs)
	defer batch.Release()
	x := cast(col(0, tVc), tTxt)
	for _, not := range []bool{false, true} {
		for _, withNull := range []bool{false, true} {
			list := []planner.Expr{lit("a", tTxt), lit("", tTxt)}
			if withNull {
				list = append(list, null(tTxt))
			}
			e := &planner.InList{X: x, List: list, Not: not}
			env := &Env{Alloc: mem}
			got, err := Eval(env, e, batch)
			if err != nil {
				t.Fatal(err)
			}
			p := mustCompile(t, e)
			p.root.(*inNode).strs = nil // the general path
			want, err := p.Eval(env, batch)
			if err != nil {
				t.Fatal(err)
			}
			g, w := showAll(tBool, got), showAll(tBool, want)
			for i := range w {
				if g[i] != w[i] {
					t.Fatalf("not=%v null=%v row %d (%s): got %s, want %s", not, withNull, i, show(tTxt, strs, i), g[i], w[i])
				}
			}
			got.Release()
			want.Release()
		}
	}
}
