package exec

import (
	"testing"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// people: id, name, dept (NULLs in name and dept), in two batches.
func people(env *Env) *planner.Scan {
	return storage(env).table("people", cols("id", i8, "name", text, "dept", i8),
		[][]any{{int64(1), "ann", int64(10)}, {int64(2), "bob", int64(20)}, {int64(3), nil, int64(10)}},
		[][]any{{int64(4), "dan", nil}, {int64(5), "eve", int64(20)}, {int64(6), "fay", nil}},
	)
}

// depts: id, title.
func depts(env *Env) *planner.Scan {
	return storage(env).table("depts", cols("id", i8, "title", text),
		[][]any{{int64(10), "eng"}, {int64(30), "ops"}, {nil, "nobody"}},
		[][]any{{int64(20), "art"}, {int64(10), "eng2"}},
	)
}

func TestScanFilterProject(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	scan := people(env)
	scan.Filter = gt(col(0, i8), lit(int64(2), i8))
	p := &planner.Project{Input: scan, Exprs: []planner.Expr{col(1, text), fn("+", i8, col(0, i8), lit(int64(100), i8))}, Cols: cols("name", text, "x", i8)}
	expect(t, run(t, env, p), "NULL|103", "dan|104", "eve|105", "fay|106")

	f := &planner.Filter{Input: people(env), Cond: eq(col(2, i8), lit(int64(10), i8))}
	expect(t, run(t, env, f), "1|ann|10", "3|NULL|10")
	f = &planner.Filter{Input: people(env), Cond: eq(col(2, i8), lit(nil, i8))}
	expect(t, run(t, env, f))
}

func TestValues(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	v := &planner.Values{Cols: cols("a", i8, "b", text), Rows: [][]planner.Expr{
		{lit(int64(1), i8), lit("x", text)},
		{fn("+", i8, lit(int64(1), i8), lit(int64(2), i8)), lit(nil, text)},
		{&planner.ParamRef{Idx: 0, Typ: i8}, lit("z", text)},
	}}
	env.Params = []any{int64(42)}
	expect(t, run(t, env, v), "1|x", "3|NULL", "42|z")
	env.BatchSize = 2
	expect(t, run(t, env, v), "1|x", "3|NULL", "42|z")
	expect(t, run(t, env, &planner.Values{Cols: cols("a", i4), Rows: [][]planner.Expr{{lit(int64(7), i4)}}}), "7")
}

func TestGenerateSeries(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	gs := func(typ catalog.Type, start, stop, step planner.Expr) *planner.GenerateSeries {
		return &planner.GenerateSeries{Cols: cols("generate_series", typ), Start: start, Stop: stop, Step: step}
	}
	n := func(v int64) planner.Expr { return lit(v, i8) }
	expect(t, run(t, env, gs(i8, n(1), n(5), nil)), "1", "2", "3", "4", "5")
	expect(t, run(t, env, gs(i8, n(1), n(10), n(4))), "1", "5", "9")
	expect(t, run(t, env, gs(i8, n(5), n(1), n(-2))), "5", "3", "1")
	expect(t, run(t, env, gs(i8, n(5), n(1), nil)))
	expect(t, run(t, env, gs(i8, n(1), lit(nil, i8), nil)))
	_, err := runErr(env, gs(i8, n(1), n(5), n(0)))
	if !isCode(err, "22023") {
		t.Fatalf("zero step: %v", err)
	}
	env.BatchSize = 3
	got := run(t, env, gs(i4, lit(int64(1), i4), lit(int64(1000), i4), nil))
	if len(got) != 1000 || got[999] != "1000" {
		t.Fatalf("got %d rows", len(got))
	}
	// Timestamps with a month step clamp to the month's end.
	ts := catalog.TypeTimestamp
	jan31 := int64(1706659200) * 1e6 // 2024-01-31 00:00:00
	may1 := int64(1714521600) * 1e6  // 2024-05-01
	month := lit(arrowInterval(1, 0, 0), catalog.TypeInterval)
	expect(t, run(t, env, gs(ts, lit(jan31, ts), lit(may1, ts), month)),
		"2024-01-31 00:00:00", "2024-02-29 00:00:00", "2024-03-29 00:00:00", "2024-04-29 00:00:00")
	hours := lit(arrowInterval(0, 0, -12*3600e9), catalog.TypeInterval)
	expect(t, run(t, env, gs(ts, lit(may1, ts), lit(may1-86400e6, ts), hours)),
		"2024-05-01 00:00:00", "2024-04-30 12:00:00", "2024-04-30 00:00:00")
	_, err = runErr(env, gs(ts, lit(may1, ts), lit(may1, ts), lit(arrowInterval(0, 0, 0), catalog.TypeInterval)))
	if !isCode(err, "22023") {
		t.Fatalf("zero interval step: %v", err)
	}
}

func TestLimit(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	lim := func(count, offset planner.Expr) *planner.Limit {
		return &planner.Limit{Input: people(env), Count: count, Offset: offset}
	}
	n := func(v int64) planner.Expr { return lit(v, i8) }
	expect(t, run(t, env, lim(n(2), nil)), "1|ann|10", "2|bob|20")
	expect(t, run(t, env, lim(n(2), n(2))), "3|NULL|10", "4|dan|NULL")
	expect(t, run(t, env, lim(nil, n(4))), "5|eve|20", "6|fay|NULL")
	expect(t, run(t, env, lim(n(0), nil)))
	expect(t, run(t, env, lim(lit(nil, i8), n(5))), "6|fay|NULL")
	expect(t, run(t, env, lim(n(10), n(10))))
	if _, err := runErr(env, lim(n(-1), nil)); !isCode(err, "2201W") {
		t.Fatalf("negative limit: %v", err)
	}
	if _, err := runErr(env, lim(nil, n(-1))); !isCode(err, "2201X") {
		t.Fatalf("negative offset: %v", err)
	}
}

func TestSort(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	srt := func(keys ...planner.SortKey) *planner.Sort { return &planner.Sort{Input: people(env), Keys: keys} }
	dept := col(2, i8)
	name := col(1, text)
	// Stable: ties keep input order.
	expect(t, run(t, env, srt(planner.SortKey{Expr: dept})),
		"1|ann|10", "3|NULL|10", "2|bob|20", "5|eve|20", "4|dan|NULL", "6|fay|NULL")
	expect(t, run(t, env, srt(planner.SortKey{Expr: dept, Desc: true, NullsFirst: true}, planner.SortKey{Expr: name})),
		"4|dan|NULL", "6|fay|NULL", "2|bob|20", "5|eve|20", "1|ann|10", "3|NULL|10")
	expect(t, run(t, env, srt(planner.SortKey{Expr: name, Desc: true})),
		"6|fay|NULL", "5|eve|20", "4|dan|NULL", "2|bob|20", "1|ann|10", "3|NULL|10")
	expect(t, run(t, env, srt(planner.SortKey{Expr: col(0, i8), Desc: true})),
		"6|fay|NULL", "5|eve|20", "4|dan|NULL", "3|NULL|10", "2|bob|20", "1|ann|10")
	env.BatchSize = 4
	got := run(t, env, &planner.Limit{Input: srt(planner.SortKey{Expr: col(0, i8), Desc: true}), Count: lit(int64(5), i8)})
	expect(t, got, "6|fay|NULL", "5|eve|20", "4|dan|NULL", "3|NULL|10", "2|bob|20")
}

func TestSortFloatsNaN(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	f8 := catalog.TypeFloat8
	nan := func() float64 { z := 0.0; return z / z }()
	v := &planner.Values{Cols: cols("f", f8), Rows: [][]planner.Expr{
		{lit(1.5, f8)}, {lit(nan, f8)}, {lit(nil, f8)}, {lit(-2.0, f8)},
	}}
	expect(t, run(t, env, &planner.Sort{Input: v, Keys: []planner.SortKey{{Expr: col(0, f8)}}}), "-2", "1.5", "NaN", "NULL")
	expect(t, run(t, env, &planner.Sort{Input: v, Keys: []planner.SortKey{{Expr: col(0, f8), Desc: true}}}), "NaN", "1.5", "-2", "NULL")
}

func TestDistinct(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	p := &planner.Project{Input: people(env), Exprs: []planner.Expr{col(2, i8)}, Cols: cols("dept", i8)}
	expect(t, run(t, env, &planner.Distinct{Input: p}), "10", "20", "NULL")
	// Two columns, NULLs equal.
	v := &planner.Values{Cols: cols("a", i8, "b", text), Rows: [][]planner.Expr{
		{lit(int64(1), i8), lit(nil, text)}, {lit(int64(1), i8), lit("", text)}, {lit(int64(1), i8), lit(nil, text)},
		{lit(nil, i8), lit("x", text)}, {lit(nil, i8), lit("x", text)},
	}}
	expect(t, run(t, env, &planner.Distinct{Input: v}), "1|NULL", "1|", "NULL|x")
	// DISTINCT ON keeps the first row per key.
	expect(t, run(t, env, &planner.Distinct{Input: people(env), On: []planner.Expr{col(2, i8)}}),
		"1|ann|10", "2|bob|20", "4|dan|NULL")
}
