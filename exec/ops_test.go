package exec

import (
	"testing"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

func agg(name string, ret catalog.Type, args ...catalog.Type) *planner.Agg {
	return &planner.Agg{Name: name, Args: args, Ret: ret}
}

func TestAggregate(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	for _, bs := range []int{0, 1, 2} {
		env.BatchSize = bs
		a := &planner.Aggregate{
			Input:   people(env),
			GroupBy: []planner.Expr{col(2, i8)},
			Aggs: []planner.AggCall{
				{Agg: agg("count", i8)},
				{Agg: agg("count", i8, text), Args: []planner.Expr{col(1, text)}},
				{Agg: agg("max", i8, i8), Args: []planner.Expr{col(0, i8)}},
				{Agg: agg("sum", i8, i8), Args: []planner.Expr{col(0, i8)}, Filter: gt(col(0, i8), lit(int64(2), i8))},
			},
			Cols: cols("dept", i8, "count", i8, "count", i8, "max", i8, "sum", i8),
		}
		expectSet(t, run(t, env, a), "10|2|1|3|3", "20|2|2|5|5", "NULL|2|2|6|10")
	}
	// No GROUP BY: one row, even for empty input.
	empty := &planner.Filter{Input: people(env), Cond: lit(false, boo)}
	a := &planner.Aggregate{Input: empty, Aggs: []planner.AggCall{
		{Agg: agg("count", i8)}, {Agg: agg("sum", i8, i8), Args: []planner.Expr{col(0, i8)}},
	}, Cols: cols("count", i8, "sum", i8)}
	expect(t, run(t, env, a), "0|NULL")
	a.Input = people(env)
	expect(t, run(t, env, a), "6|21")
	// GROUP BY over empty input: no rows.
	g := &planner.Aggregate{Input: empty, GroupBy: []planner.Expr{col(2, i8)}, Aggs: []planner.AggCall{{Agg: agg("count", i8)}}, Cols: cols("d", i8, "c", i8)}
	expect(t, run(t, env, g))
	// Two keys, text and int, with NULLs grouped together; DISTINCT.
	v := &planner.Values{Cols: cols("a", text, "b", i8, "c", i8), Rows: [][]planner.Expr{
		{lit("x", text), lit(nil, i8), lit(int64(1), i8)},
		{lit("x", text), lit(nil, i8), lit(int64(1), i8)},
		{lit(nil, text), lit(int64(2), i8), lit(int64(5), i8)},
		{lit("x", text), lit(int64(2), i8), lit(int64(3), i8)},
		{lit(nil, text), lit(int64(2), i8), lit(int64(6), i8)},
	}}
	g = &planner.Aggregate{Input: v, GroupBy: []planner.Expr{col(0, text), col(1, i8)}, Aggs: []planner.AggCall{
		{Agg: agg("count", i8, i8), Args: []planner.Expr{col(2, i8)}, Distinct: true},
		{Agg: agg("sum", i8, i8), Args: []planner.Expr{col(2, i8)}},
	}, Cols: cols("a", text, "b", i8, "n", i8, "s", i8)}
	expect(t, run(t, env, g), "x|NULL|1|2", "NULL|2|2|11", "x|2|1|3")
}

func TestAggregateOrdered(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	env.BatchSize = 2
	a := &planner.Aggregate{Input: people(env), GroupBy: []planner.Expr{col(2, i8)}, Aggs: []planner.AggCall{{
		Agg:     agg("string_agg", text, text, text),
		Args:    []planner.Expr{col(1, text), lit(",", text)},
		OrderBy: []planner.SortKey{{Expr: col(0, i8), Desc: true}},
	}}, Cols: cols("dept", i8, "names", text)}
	expectSet(t, run(t, env, a), "10|ann", "20|eve,bob", "NULL|fay,dan")
}

func TestJoin(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	join := func(kind planner.JoinKind, cond planner.Expr) *planner.Join {
		j := &planner.Join{Kind: kind, Left: people(env), Right: depts(env),
			LeftKeys: []planner.Expr{col(2, i8)}, RightKeys: []planner.Expr{col(0, i8)}, Cond: cond,
			Cols: cols("id", i8, "name", text, "dept", i8, "did", i8, "title", text)}
		if kind == planner.SemiJoin || kind == planner.AntiJoin {
			j.Cols = j.Cols[:3]
		}
		return j
	}
	for _, bs := range []int{0, 1, 3} {
		env.BatchSize = bs
		expectSet(t, run(t, env, join(planner.InnerJoin, nil)),
			"1|ann|10|10|eng", "1|ann|10|10|eng2", "3|NULL|10|10|eng", "3|NULL|10|10|eng2",
			"2|bob|20|20|art", "5|eve|20|20|art")
		expectSet(t, run(t, env, join(planner.LeftJoin, nil)),
			"1|ann|10|10|eng", "1|ann|10|10|eng2", "3|NULL|10|10|eng", "3|NULL|10|10|eng2",
			"2|bob|20|20|art", "5|eve|20|20|art", "4|dan|NULL|NULL|NULL", "6|fay|NULL|NULL|NULL")
		expectSet(t, run(t, env, join(planner.RightJoin, nil)),
			"1|ann|10|10|eng", "1|ann|10|10|eng2", "3|NULL|10|10|eng", "3|NULL|10|10|eng2",
			"2|bob|20|20|art", "5|eve|20|20|art", "NULL|NULL|NULL|30|ops", "NULL|NULL|NULL|NULL|nobody")
		expectSet(t, run(t, env, join(planner.FullJoin, nil)),
			"1|ann|10|10|eng", "1|ann|10|10|eng2", "3|NULL|10|10|eng", "3|NULL|10|10|eng2",
			"2|bob|20|20|art", "5|eve|20|20|art", "4|dan|NULL|NULL|NULL", "6|fay|NULL|NULL|NULL",
			"NULL|NULL|NULL|30|ops", "NULL|NULL|NULL|NULL|nobody")
		expect(t, run(t, env, join(planner.SemiJoin, nil)), "1|ann|10", "2|bob|20", "3|NULL|10", "5|eve|20")
		expect(t, run(t, env, join(planner.AntiJoin, nil)), "4|dan|NULL", "6|fay|NULL")
		// Residual condition: title = 'eng2' over the combined row.
		cond := eq(col(4, text), lit("eng2", text))
		expectSet(t, run(t, env, join(planner.InnerJoin, cond)), "1|ann|10|10|eng2", "3|NULL|10|10|eng2")
		expectSet(t, run(t, env, join(planner.LeftJoin, cond)),
			"1|ann|10|10|eng2", "3|NULL|10|10|eng2", "2|bob|20|NULL|NULL", "5|eve|20|NULL|NULL",
			"4|dan|NULL|NULL|NULL", "6|fay|NULL|NULL|NULL")
		expectSet(t, run(t, env, join(planner.FullJoin, cond)),
			"1|ann|10|10|eng2", "3|NULL|10|10|eng2", "2|bob|20|NULL|NULL", "5|eve|20|NULL|NULL",
			"4|dan|NULL|NULL|NULL", "6|fay|NULL|NULL|NULL",
			"NULL|NULL|NULL|10|eng", "NULL|NULL|NULL|30|ops", "NULL|NULL|NULL|NULL|nobody", "NULL|NULL|NULL|20|art")
		expect(t, run(t, env, join(planner.SemiJoin, cond)), "1|ann|10", "3|NULL|10")
		expect(t, run(t, env, join(planner.AntiJoin, cond)), "2|bob|20", "4|dan|NULL", "5|eve|20", "6|fay|NULL")
	}
}

func TestJoinNestedLoop(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	env.BatchSize = 2
	// people.id * 10 < depts.id, no equality keys.
	j := &planner.Join{Kind: planner.InnerJoin, Left: people(env), Right: depts(env),
		Cond: lt(fn("+", i8, col(0, i8), lit(int64(25), i8)), col(3, i8)),
		Cols: cols("id", i8, "name", text, "dept", i8, "did", i8, "title", text)}
	expectSet(t, run(t, env, j), "1|ann|10|30|ops", "2|bob|20|30|ops", "3|NULL|10|30|ops", "4|dan|NULL|30|ops")
	j.Kind = planner.LeftJoin
	expectSet(t, run(t, env, j), "1|ann|10|30|ops", "2|bob|20|30|ops", "3|NULL|10|30|ops", "4|dan|NULL|30|ops",
		"5|eve|20|NULL|NULL", "6|fay|NULL|NULL|NULL")
	j.Kind = planner.AntiJoin
	j.Cols = j.Cols[:3]
	expect(t, run(t, env, j), "5|eve|20", "6|fay|NULL")
	// Cross join.
	j = &planner.Join{Kind: planner.InnerJoin, Left: people(env), Right: depts(env),
		Cols: cols("id", i8, "name", text, "dept", i8, "did", i8, "title", text)}
	if got := run(t, env, j); len(got) != 30 {
		t.Fatalf("cross join: %d rows", len(got))
	}
	// Empty right side.
	empty := &planner.Filter{Input: depts(env), Cond: lit(false, boo)}
	j = &planner.Join{Kind: planner.LeftJoin, Left: people(env), Right: empty,
		LeftKeys: []planner.Expr{col(2, i8)}, RightKeys: []planner.Expr{col(0, i8)},
		Cols: cols("id", i8, "name", text, "dept", i8, "did", i8, "title", text)}
	if got := run(t, env, j); len(got) != 6 || got[0] != "1|ann|10|NULL|NULL" {
		t.Fatalf("left join with empty right: %v", got)
	}
	j.Kind = planner.InnerJoin
	expect(t, run(t, env, j))
}

func TestJoinKeyWidths(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	l := &planner.Values{Cols: cols("a", i4, "b", text), Rows: [][]planner.Expr{
		{lit(int64(1), i4), lit("x", text)}, {lit(int64(2), i4), lit("y", text)}, {lit(int64(1), i4), lit(nil, text)},
	}}
	r := &planner.Values{Cols: cols("a", i4, "b", text), Rows: [][]planner.Expr{
		{lit(int64(1), i4), lit(nil, text)}, {lit(int64(1), i4), lit("x", text)},
	}}
	// Two keys, one of them text with NULLs: NULL never matches.
	j := &planner.Join{Kind: planner.InnerJoin, Left: l, Right: r,
		LeftKeys: []planner.Expr{col(0, i4), col(1, text)}, RightKeys: []planner.Expr{col(0, i4), col(1, text)},
		Cols: cols("a", i4, "b", text, "a", i4, "b", text)}
	expect(t, run(t, env, j), "1|x|1|x")
}

func TestSetOp(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	vals := func(xs ...any) *planner.Values {
		v := &planner.Values{Cols: cols("x", i8)}
		for _, x := range xs {
			v.Rows = append(v.Rows, []planner.Expr{lit(x, i8)})
		}
		return v
	}
	l := vals(int64(1), int64(1), int64(1), int64(2), nil, nil, int64(3))
	r := vals(int64(1), int64(2), int64(2), nil, int64(4))
	set := func(kind planner.SetOpKind, all bool) []string {
		return run(t, env, &planner.SetOp{Kind: kind, All: all, Left: l, Right: r, Cols: cols("x", i8)})
	}
	expectSet(t, set(planner.Union, true), "1", "1", "1", "2", "NULL", "NULL", "3", "1", "2", "2", "NULL", "4")
	expectSet(t, set(planner.Union, false), "1", "2", "NULL", "3", "4")
	expectSet(t, set(planner.Intersect, true), "1", "2", "NULL")
	expectSet(t, set(planner.Intersect, false), "1", "2", "NULL")
	expectSet(t, set(planner.Except, true), "1", "1", "NULL", "3")
	expectSet(t, set(planner.Except, false), "3")
	l = vals(int64(1), int64(1), int64(1), int64(2), int64(2))
	r = vals(int64(1), int64(1), int64(2), int64(2), int64(2))
	expectSet(t, set(planner.Intersect, true), "1", "1", "2", "2")
	expectSet(t, set(planner.Except, true), "1")
}

func TestWindow(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	env.BatchSize = 4
	v := &planner.Values{Cols: cols("g", text, "x", i8), Rows: [][]planner.Expr{
		{lit("a", text), lit(int64(3), i8)},
		{lit("b", text), lit(int64(1), i8)},
		{lit("a", text), lit(int64(1), i8)},
		{lit("a", text), lit(int64(3), i8)},
		{lit("b", text), lit(nil, i8)},
		{lit("a", text), lit(int64(2), i8)},
	}}
	part := []planner.Expr{col(0, text)}
	order := []planner.SortKey{{Expr: col(1, i8)}}
	w := &planner.Window{Input: v, Calls: []planner.WindowCall{
		{Name: "row_number", PartitionBy: part, OrderBy: order, Typ: i8},
		{Name: "rank", PartitionBy: part, OrderBy: order, Typ: i8},
		{Name: "dense_rank", PartitionBy: part, OrderBy: order, Typ: i8},
		{Name: "sum", Agg: agg("sum", i8, i8), Args: []planner.Expr{col(1, i8)}, PartitionBy: part, OrderBy: order, Typ: i8},
		{Name: "count", Agg: agg("count", i8), PartitionBy: part, Typ: i8},
		{Name: "lag", Args: []planner.Expr{col(1, i8)}, PartitionBy: part, OrderBy: order, Typ: i8},
		{Name: "max", Agg: agg("max", i8, i8), Args: []planner.Expr{col(1, i8)}, Typ: i8},
	}, Cols: cols("g", text, "x", i8, "rn", i8, "rk", i8, "dr", i8, "sum", i8, "cnt", i8, "lag", i8, "max", i8)}
	// Output keeps the input order.
	expect(t, run(t, env, w),
		"a|3|3|3|3|9|4|2|3",
		"b|1|1|1|1|1|2|NULL|3",
		"a|1|1|1|1|1|4|NULL|3",
		"a|3|4|3|3|9|4|3|3",
		"b|NULL|2|2|2|1|2|1|3",
		"a|2|2|2|2|3|4|1|3",
	)
}

func TestSubqueries(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	deptIDs := &planner.Project{Input: depts(env), Exprs: []planner.Expr{col(0, i8)}, Cols: cols("id", i8)}
	eqFn := eq(col(0, i8), col(1, i8)).(*planner.Call).Fn
	proj := func(e planner.Expr) *planner.Project {
		return &planner.Project{Input: people(env), Exprs: []planner.Expr{col(0, i8), e}, Cols: cols("id", i8, "v", e.Type())}
	}
	// x IN (10, 30, NULL, 20, 10): NULL when not found.
	in := &planner.Subquery{Kind: planner.SubIn, Plan: deptIDs, X: col(2, i8), Cmp: eqFn, Typ: boo}
	expect(t, run(t, env, proj(in)), "1|t", "2|t", "3|t", "4|NULL", "5|t", "6|NULL")
	notIn := *in
	notIn.Not = true
	expect(t, run(t, env, proj(&notIn)), "1|f", "2|f", "3|f", "4|NULL", "5|f", "6|NULL")
	// Over a set without NULLs, NOT IN is false/true.
	nonNull := &planner.Filter{Input: deptIDs, Cond: gt(col(0, i8), lit(int64(15), i8))}
	notIn2 := &planner.Subquery{Kind: planner.SubIn, Plan: nonNull, X: col(2, i8), Cmp: eqFn, Not: true, Typ: boo}
	expect(t, run(t, env, proj(notIn2)), "1|t", "2|f", "3|t", "4|NULL", "5|f", "6|NULL")
	// Empty set: IN is false even for a NULL operand.
	none := &planner.Filter{Input: deptIDs, Cond: lit(false, boo)}
	inNone := &planner.Subquery{Kind: planner.SubIn, Plan: none, X: col(2, i8), Cmp: eqFn, Typ: boo}
	expect(t, run(t, env, proj(inNone)), "1|f", "2|f", "3|f", "4|f", "5|f", "6|f")
	// Scalar: max of depts, and the cardinality error.
	maxID := &planner.Aggregate{Input: deptIDs, Aggs: []planner.AggCall{{Agg: agg("max", i8, i8), Args: []planner.Expr{col(0, i8)}}}, Cols: cols("m", i8)}
	sc := &planner.Subquery{Kind: planner.SubScalar, Plan: maxID, Typ: i8}
	expect(t, run(t, env, proj(sc)), "1|30", "2|30", "3|30", "4|30", "5|30", "6|30")
	bad := &planner.Subquery{Kind: planner.SubScalar, Plan: deptIDs, Typ: i8}
	if _, err := runErr(env, proj(bad)); !isCode(err, "21000") {
		t.Fatalf("scalar subquery with many rows: %v", err)
	}
	emptyScalar := &planner.Subquery{Kind: planner.SubScalar, Plan: none, Typ: i8}
	expect(t, run(t, env, proj(emptyScalar)), "1|NULL", "2|NULL", "3|NULL", "4|NULL", "5|NULL", "6|NULL")
	ex := &planner.Subquery{Kind: planner.SubExists, Plan: none, Not: true, Typ: boo}
	expect(t, run(t, env, proj(ex))[:1], "1|t")
	// ANY / ALL with <.
	ltFn := lt(col(0, i8), col(1, i8)).(*planner.Call).Fn
	anyLt := &planner.Subquery{Kind: planner.SubAny, Plan: nonNull, X: col(2, i8), Cmp: ltFn, Typ: boo}
	expect(t, run(t, env, proj(anyLt)), "1|t", "2|t", "3|t", "4|NULL", "5|t", "6|NULL")
	gtFn := gt(col(0, i8), col(1, i8)).(*planner.Call).Fn
	anyGt := &planner.Subquery{Kind: planner.SubAny, Plan: deptIDs, X: col(2, i8), Cmp: gtFn, Typ: boo}
	// 10 > ANY (10, 30, NULL, 20, 10): NULL; 20 > 10: true.
	expect(t, run(t, env, proj(anyGt)), "1|NULL", "2|t", "3|NULL", "4|NULL", "5|t", "6|NULL")
	allLt := &planner.Subquery{Kind: planner.SubAll, Plan: deptIDs, X: col(2, i8), Cmp: ltFn, Typ: boo}
	// depts ids: 10, 30, NULL, 20, 10 -> 10 < all: false (10 < 10 false); NULL operand: NULL.
	expect(t, run(t, env, proj(allLt)), "1|f", "2|f", "3|f", "4|NULL", "5|f", "6|NULL")
	allNone := &planner.Subquery{Kind: planner.SubAll, Plan: none, X: col(2, i8), Cmp: ltFn, Typ: boo}
	expect(t, run(t, env, proj(allNone)), "1|t", "2|t", "3|t", "4|t", "5|t", "6|t")
}

func TestCorrelatedSubqueries(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	env.BatchSize = 2
	// (SELECT title FROM depts WHERE depts.id = people.dept AND title <> 'eng2')
	outerDept := &planner.OuterRef{Depth: 1, Idx: 2, Typ: i8}
	titles := &planner.Project{
		Input: &planner.Filter{Input: depts(env), Cond: fn("and", boo, eq(col(0, i8), outerDept), fn("<>", boo, col(1, text), lit("eng2", text)))},
		Exprs: []planner.Expr{col(1, text)}, Cols: cols("title", text)}
	sc := &planner.Subquery{Kind: planner.SubScalar, Plan: titles, Correlated: true, Typ: text}
	p := &planner.Project{Input: people(env), Exprs: []planner.Expr{col(0, i8), sc}, Cols: cols("id", i8, "title", text)}
	expect(t, run(t, env, p), "1|eng", "2|art", "3|eng", "4|NULL", "5|art", "6|NULL")
	if r := env.refsOf(sc); len(r.cols) != 1 || r.cols[0] != 2 || r.deep {
		t.Fatalf("outer refs: %+v", r)
	}
	// EXISTS in a filter.
	ex := &planner.Subquery{Kind: planner.SubExists, Plan: titles, Correlated: true, Typ: boo}
	expect(t, run(t, env, &planner.Filter{Input: people(env), Cond: ex}), "1|ann|10", "2|bob|20", "3|NULL|10", "5|eve|20")
	// Without the title filter, dept 10 has two titles: error 21000.
	many := &planner.Project{Input: &planner.Filter{Input: depts(env), Cond: eq(col(0, i8), outerDept)},
		Exprs: []planner.Expr{col(1, text)}, Cols: cols("title", text)}
	sc2 := &planner.Subquery{Kind: planner.SubScalar, Plan: many, Correlated: true, Typ: text}
	p2 := &planner.Project{Input: people(env), Exprs: []planner.Expr{col(0, i8), sc2}, Cols: cols("id", i8, "title", text)}
	if _, err := runErr(env, p2); !isCode(err, "21000") {
		t.Fatalf("got %v", err)
	}
	// Correlated IN: name IN (SELECT title ... WHERE depts.id = people.dept)
	in := &planner.Subquery{Kind: planner.SubIn, Plan: many, X: lit("eng2", text), Cmp: eq(col(0, text), col(1, text)).(*planner.Call).Fn, Correlated: true, Typ: boo}
	p3 := &planner.Project{Input: people(env), Exprs: []planner.Expr{col(0, i8), in}, Cols: cols("id", i8, "in", boo)}
	expect(t, run(t, env, p3), "1|t", "2|f", "3|t", "4|f", "5|f", "6|f")
}

func TestTopN(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	env.BatchSize = 7
	gs := &planner.GenerateSeries{Cols: cols("x", i8), Start: lit(int64(1), i8), Stop: lit(int64(100), i8)}
	// Sort by x % 10 DESC, ties in input order.
	p := &planner.Project{Input: gs, Exprs: []planner.Expr{col(0, i8), fn("%", i8, col(0, i8), lit(int64(10), i8))}, Cols: cols("x", i8, "m", i8)}
	s := &planner.Sort{Input: p, Keys: []planner.SortKey{{Expr: col(1, i8), Desc: true}}}
	full := run(t, env, s)
	got := run(t, env, &planner.Limit{Input: s, Count: lit(int64(12), i8), Offset: lit(int64(3), i8)})
	expect(t, got, full[3:15]...)
	expect(t, got[:3], "39|9", "49|9", "59|9")

	// Many batches, two keys with ties and NULLs: the first rows of the
	// full sort, whatever the LIMIT.
	gs = &planner.GenerateSeries{Cols: cols("x", i8), Start: lit(int64(1), i8), Stop: lit(int64(5000), i8)}
	nullIf := func(e planner.Expr, every int64) planner.Expr {
		return &planner.Case{Typ: i8, Whens: []planner.When{{Cond: eq(fn("%", i8, col(0, i8), lit(every, i8)), lit(int64(0), i8)), Result: lit(nil, i8)}}, Else: e}
	}
	p = &planner.Project{Input: gs, Exprs: []planner.Expr{col(0, i8), nullIf(fn("%", i8, fn("*", i8, col(0, i8), lit(int64(7919), i8)), lit(int64(53), i8)), 17),
		fn("%", i8, col(0, i8), lit(int64(5), i8))}, Cols: cols("x", i8, "a", i8, "b", i8)}
	s = &planner.Sort{Input: p, Keys: []planner.SortKey{{Expr: col(1, i8), Desc: true, NullsFirst: true}, {Expr: col(2, i8)}}}
	env.BatchSize = 300
	full = run(t, env, s)
	for _, n := range []int64{1, 5, 50, 700} {
		expect(t, run(t, env, &planner.Limit{Input: s, Count: lit(n, i8)}), full[:n]...)
	}
}

func TestSlicedAndEmptyInputs(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	env.BatchSize = 2
	// LIMIT/OFFSET hand out slices of batches (non-zero array offsets).
	sliced := func() planner.Node {
		return &planner.Limit{Input: people(env), Count: lit(int64(4), i8), Offset: lit(int64(1), i8)}
	}
	expect(t, run(t, env, &planner.Sort{Input: sliced(), Keys: []planner.SortKey{{Expr: col(1, text), Desc: true}}}),
		"5|eve|20", "4|dan|NULL", "2|bob|20", "3|NULL|10")
	expect(t, run(t, env, &planner.Distinct{Input: sliced(), On: []planner.Expr{col(2, i8)}}),
		"2|bob|20", "3|NULL|10", "4|dan|NULL")
	a := &planner.Aggregate{Input: sliced(), GroupBy: []planner.Expr{col(1, text)}, Aggs: []planner.AggCall{{Agg: agg("count", i8)}}, Cols: cols("n", text, "c", i8)}
	expect(t, run(t, env, a), "bob|1", "NULL|1", "dan|1", "eve|1")
	j := &planner.Join{Kind: planner.InnerJoin, Left: sliced(), Right: sliced(),
		LeftKeys: []planner.Expr{col(1, text)}, RightKeys: []planner.Expr{col(1, text)},
		Cols: cols("id", i8, "name", text, "dept", i8, "id", i8, "name", text, "dept", i8)}
	expectSet(t, run(t, env, j), "2|bob|20|2|bob|20", "4|dan|NULL|4|dan|NULL", "5|eve|20|5|eve|20")

	empty := func() planner.Node { return &planner.Filter{Input: people(env), Cond: lit(false, boo)} }
	expect(t, run(t, env, &planner.Sort{Input: empty(), Keys: []planner.SortKey{{Expr: col(0, i8)}}}))
	expect(t, run(t, env, &planner.Distinct{Input: empty()}))
	expect(t, run(t, env, &planner.Window{Input: empty(), Calls: []planner.WindowCall{{Name: "row_number", Typ: i8}},
		Cols: cols("id", i8, "name", text, "dept", i8, "rn", i8)}))
	expect(t, run(t, env, &planner.SetOp{Kind: planner.Except, Left: empty(), Right: people(env), Cols: people(env).Cols}))
	expect(t, run(t, env, &planner.SetOp{Kind: planner.Intersect, Left: people(env), Right: empty(), Cols: people(env).Cols}))
	expect(t, run(t, env, &planner.SetOp{Kind: planner.Except, All: true, Left: sliced(), Right: empty(), Cols: people(env).Cols}),
		"2|bob|20", "3|NULL|10", "4|dan|NULL", "5|eve|20")
	full := &planner.Join{Kind: planner.FullJoin, Left: empty(), Right: depts(env),
		LeftKeys: []planner.Expr{col(2, i8)}, RightKeys: []planner.Expr{col(0, i8)},
		Cols: cols("id", i8, "name", text, "dept", i8, "did", i8, "title", text)}
	if got := run(t, env, full); len(got) != 5 || got[0] != "NULL|NULL|NULL|10|eng" {
		t.Fatalf("full join with empty left: %v", got)
	}
}

func TestErrorsRelease(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	env.BatchSize = 2
	// The error surfaces in the middle of the stream; everything read so
	// far is released.
	bad := &planner.Subquery{Kind: planner.SubScalar, Plan: people(env), Typ: i8}
	p := &planner.Project{Input: people(env), Exprs: []planner.Expr{col(0, i8)}, Cols: cols("id", i8)}
	f := &planner.Filter{Input: p, Cond: eq(col(0, i8), bad)}
	for _, n := range []planner.Node{
		f,
		&planner.Sort{Input: f, Keys: []planner.SortKey{{Expr: col(0, i8)}}},
		&planner.Join{Kind: planner.InnerJoin, Left: people(env), Right: f, LeftKeys: []planner.Expr{col(0, i8)}, RightKeys: []planner.Expr{col(0, i8)},
			Cols: cols("id", i8, "name", text, "dept", i8, "id", i8)},
		&planner.Aggregate{Input: f, Aggs: []planner.AggCall{{Agg: agg("count", i8)}}, Cols: cols("c", i8)},
	} {
		if _, err := runErr(env, n); !isCode(err, "21000") {
			t.Fatalf("%T: %v", n, err)
		}
	}
	// No storage.
	env.Storage = nil
	if _, err := runErr(env, people(&Env{Storage: &memStorage{rels: map[string][][][]any{}}})); err != ErrNoStorage {
		t.Fatalf("no storage: %v", err)
	}
}
