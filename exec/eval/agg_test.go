package eval

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

func resolveAgg(t *testing.T, name string, args ...catalog.Type) *planner.Agg {
	t.Helper()
	a, err := planner.ResolveAgg(name, args)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAccumulators(t *testing.T) {
	// Groups: rows 0,1,2 -> group 0; rows 3,4 -> group 1; group 2 gets no rows.
	groups := []uint32{0, 0, 0, 1, 1}
	tests := []struct {
		name     string
		agg      string
		typ      catalog.Type
		vals     []any
		distinct bool
		want     string // groups 0..2
	}{
		{"count", "count", tI4, []any{1, nil, 3, nil, nil}, false, "2|0|0"},
		{"sum int4", "sum", tI4, []any{1, nil, 3, 5, -1}, false, "4|4|NULL"},
		{"sum int8 big", "sum", tI8, []any{int64(1) << 62, int64(1) << 62, int64(1) << 62, 1, nil}, false, "13835058055282163712|1|NULL"},
		{"sum float", "sum", tF8, []any{1.5, 2.25, nil, nil, nil}, false, "3.75|NULL|NULL"},
		{"sum numeric", "sum", tNum(2), []any{"1.10", "2.20", nil, "-0.01", nil}, false, "3.30|-0.01|NULL"},
		{"sum interval", "sum", tIv, []any{"1 day", "2 hours", nil, nil, nil}, false, "1 day 02:00:00|NULL|NULL"},
		{"avg int", "avg", tI4, []any{1, 2, nil, 5, nil}, false, "1.5000000000000000|5.0000000000000000|NULL"},
		{"avg int thirds", "avg", tI8, []any{1, 1, 2, nil, nil}, false, "1.3333333333333333|NULL|NULL"},
		{"avg float", "avg", tF8, []any{1.0, 2.0, 4.0, nil, nil}, false, "2.3333333333333335|NULL|NULL"},
		{"min int", "min", tI4, []any{3, 1, nil, 7, 9}, false, "1|7|NULL"},
		{"max text", "max", tTxt, []any{"b", "a", "c", nil, "Z"}, false, "c|Z|NULL"},
		{"max ts", "max", tTs, []any{"2022-01-01", "2023-01-01", nil, nil, nil}, false, "2023-01-01 00:00:00|NULL|NULL"},
		{"bool_and", "bool_and", tBool, []any{true, false, nil, true, nil}, false, "f|t|NULL"},
		{"bool_or", "bool_or", tBool, []any{true, false, nil, false, nil}, false, "t|f|NULL"},
		{"count distinct", "count", tI4, []any{1, 1, 2, 3, 3}, true, "2|1|0"},
		{"sum distinct", "sum", tI4, []any{1, 1, 2, 3, 3}, true, "3|3|NULL"},
		{"var_samp", "var_samp", tF8, []any{1.0, 2.0, 3.0, 4.0, nil}, false, "1|NULL|NULL"},
		{"stddev_pop", "stddev_pop", tF8, []any{1.0, 3.0, nil, 4.0, nil}, false, "1|0|NULL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(t, 0)
			env := &Env{Alloc: alloc}
			agg := resolveAgg(t, tc.agg, tc.typ)
			acc, err := NewAccumulator(env, agg, tc.distinct)
			if err != nil {
				t.Fatal(err)
			}
			defer acc.Release()
			arr := makeArray(t, alloc, tc.typ, tc.vals...)
			defer arr.Release()
			if err := acc.Update(groups, []arrow.Array{arr}); err != nil {
				t.Fatal(err)
			}
			res, err := acc.Result(3)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Release()
			if got := strings.Join(showAll(agg.Ret, res), "|"); got != tc.want {
				t.Errorf("%s: got %s, want %s", tc.agg, got, tc.want)
			}
		})
	}
}

func TestCountStar(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	env := &Env{Alloc: alloc}
	acc, err := NewAccumulator(env, resolveAgg(t, "count"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Release()
	if err := acc.Update([]uint32{0, 1, 1, 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := acc.Retract([]uint32{1}, nil); err != nil {
		t.Fatal(err)
	}
	res, _ := acc.Result(3)
	defer res.Release()
	if got := strings.Join(showAll(tI8, res), "|"); got != "1|2|0" {
		t.Errorf("count(*): %s", got)
	}
}

// TestRetract adds rows, retracts some, and checks the results equal
// aggregating only the remaining rows.
func TestRetract(t *testing.T) {
	for _, tc := range []struct {
		agg      string
		typ      catalog.Type
		distinct bool
		add      []any
		del      []any // retracted from the same groups as the first len(del) adds
		want     string
	}{
		{"max", tI4, false, []any{5, 9, 9, 1}, []any{5, 9}, "9|1"},
		{"max", tI4, false, []any{5, 9, 7, 1}, []any{5, 9}, "7|1"},
		{"min", tTxt, false, []any{"a", "b", "c", "d"}, []any{"a", "b"}, "c|d"},
		{"min", tF8, false, []any{1.0, 2.0, 3.0, 0.5}, []any{1.0, 2.0}, "3|0.5"},
		{"sum", tI8, false, []any{5, 9, 7, 1}, []any{5, 9}, "7|1"},
		{"avg", tF8, false, []any{5.0, 9.0, 7.0, 1.0}, []any{5.0, 9.0}, "7|1"},
		{"count", tI4, false, []any{5, 9, 7, 1}, []any{5, 9}, "1|1"},
		{"bool_and", tBool, false, []any{false, true, true, false}, []any{false, true}, "t|f"},
		{"bool_or", tBool, false, []any{true, false, false, true}, []any{true, false}, "f|t"},
		{"count", tI4, true, []any{5, 5, 5, 1}, []any{5, 5}, "1|1"},
		{"sum", tI4, true, []any{5, 6, 5, 1}, []any{5, 6}, "5|1"},
		{"sum", tI4, false, []any{5, 6, 7, 1}, []any{5, 6, 7, 1}, "NULL|NULL"},
		{"var_pop", tF8, false, []any{5.0, 6.0, 1.0, 3.0, 1.0}, []any{5.0, 6.0}, "0|1"},
	} {
		t.Run(tc.agg, func(t *testing.T) {
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(t, 0)
			env := &Env{Alloc: alloc}
			agg := resolveAgg(t, tc.agg, tc.typ)
			acc, err := NewAccumulator(env, agg, tc.distinct)
			if err != nil {
				t.Fatal(err)
			}
			defer acc.Release()
			groups := []uint32{0, 0, 0, 1, 1}
			add := makeArray(t, alloc, tc.typ, tc.add...)
			defer add.Release()
			if err := acc.Update(groups[:len(tc.add)], []arrow.Array{add}); err != nil {
				t.Fatal(err)
			}
			del := makeArray(t, alloc, tc.typ, tc.del...)
			defer del.Release()
			if err := acc.Retract(groups[:len(tc.del)], []arrow.Array{del}); err != nil {
				t.Fatal(err)
			}
			res, err := acc.Result(2)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Release()
			if got := strings.Join(showAll(agg.Ret, res), "|"); got != tc.want {
				t.Errorf("%s: got %s, want %s", tc.agg, got, tc.want)
			}
		})
	}
}

func TestStringAgg(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	env := &Env{Alloc: alloc}
	agg := resolveAgg(t, "string_agg", tTxt, tTxt)
	acc, err := NewAccumulator(env, agg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Release()
	vals := makeArray(t, alloc, tTxt, "a", nil, "b", "c", "x")
	defer vals.Release()
	delims := makeArray(t, alloc, tTxt, ",", ",", ";", ",", ",")
	defer delims.Release()
	if err := acc.Update([]uint32{0, 0, 0, 0, 1}, []arrow.Array{vals, delims}); err != nil {
		t.Fatal(err)
	}
	res, _ := acc.Result(3)
	defer res.Release()
	if got := strings.Join(showAll(tTxt, res), "|"); got != "a;b,c|x|NULL" {
		t.Errorf("string_agg: %s", got)
	}
	if err := acc.Retract([]uint32{0}, []arrow.Array{vals, delims}); pgerror.CodeOf(err) != pgerror.CodeFeatureNotSupported {
		t.Errorf("retract: %v", err)
	}
}

func TestAccumulatorMerge(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	env := &Env{Alloc: alloc}
	for _, name := range []string{"sum", "count", "max", "avg"} {
		agg := resolveAgg(t, name, tI8)
		a, _ := NewAccumulator(env, agg, false)
		b, _ := NewAccumulator(env, agg, false)
		x := makeArray(t, alloc, tI8, 1, 2, 3)
		y := makeArray(t, alloc, tI8, 10, 20)
		if err := a.Update([]uint32{0, 0, 1}, []arrow.Array{x}); err != nil {
			t.Fatal(err)
		}
		if err := b.Update([]uint32{0, 0}, []arrow.Array{y}); err != nil {
			t.Fatal(err)
		}
		if err := a.Merge(1, b, 0); err != nil {
			t.Fatal(err)
		}
		res, err := a.Result(2)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"sum": "3|33", "count": "2|3", "max": "2|20", "avg": "1.5000000000000000|11.0000000000000000"}[name]
		if got := strings.Join(showAll(agg.Ret, res), "|"); got != want {
			t.Errorf("%s merge: %s, want %s", name, got, want)
		}
		res.Release()
		x.Release()
		y.Release()
		a.Release()
		b.Release()
	}
}

func TestAppendOnlyMinMax(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	env := &Env{Alloc: alloc}
	acc, err := NewAccumulatorOpts(env, resolveAgg(t, "max", tI4), false, AccOptions{AppendOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Release()
	x := makeArray(t, alloc, tI4, 4, 8)
	defer x.Release()
	if err := acc.Update([]uint32{0, 0}, []arrow.Array{x}); err != nil {
		t.Fatal(err)
	}
	if err := acc.Retract([]uint32{0}, []arrow.Array{x}); err == nil {
		t.Error("append-only retract succeeded")
	}
	res, _ := acc.Result(1)
	defer res.Release()
	if got := show(tI4, res, 0); got != "8" {
		t.Errorf("max: %s", got)
	}
}

func TestSumOverflow(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	env := &Env{Alloc: alloc}
	// sum(int4) is bigint and cannot overflow with int4 inputs in practice;
	// sum(int8) is numeric and holds sums beyond bigint.
	acc, _ := NewAccumulator(env, resolveAgg(t, "sum", tI8), false)
	defer acc.Release()
	x := makeArray(t, alloc, tI8, int64(9223372036854775807), int64(9223372036854775807))
	defer x.Release()
	if err := acc.Update([]uint32{0, 0}, []arrow.Array{x}); err != nil {
		t.Fatal(err)
	}
	res, err := acc.Result(1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	if got := show(tNum(0), res, 0); got != "18446744073709551614" {
		t.Errorf("sum: %s", got)
	}
}
