package exec

import (
	"context"
	"slices"
	"testing"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// countingStorage counts the scans of each relation.
type countingStorage struct {
	*memStorage
	scans map[string]int
}

func (s *countingStorage) Scan(ctx context.Context, rel *catalog.Relation, project []int, filter planner.Expr) (Operator, error) {
	s.scans[rel.Name]++
	return s.memStorage.Scan(ctx, rel, project, filter)
}

// A join of an aggregation with an aggregation of the same aggregation
// (the shape of "hot items" queries) reads and groups its input once,
// and gives the rows it gives when computed twice; a subplan with a
// volatile function is computed each time.
func TestSharedSubplans(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	ms := storage(env)
	cs := cols("k", i8, "v", i8)
	var rows [][]any
	for i := 0; i < 50; i++ {
		rows = append(rows, []any{int64(i % 7), int64(i)})
	}
	cnt, err := planner.ResolveAgg("count", nil)
	if err != nil {
		t.Fatal(err)
	}
	mx, err := planner.ResolveAgg("max", []catalog.Type{i8})
	if err != nil {
		t.Fatal(err)
	}
	counts := func(scan planner.Node) *planner.Aggregate {
		return &planner.Aggregate{Input: scan, GroupBy: []planner.Expr{col(0, i8)}, Aggs: []planner.AggCall{{Agg: cnt}},
			Cols: cols("k", i8, "n", i8)}
	}
	scan := ms.table("t", cs, rows[:20], rows[20:])
	// max(n) over the counts, joined back on n = max.
	top := &planner.Aggregate{Input: counts(scan), Aggs: []planner.AggCall{{Agg: mx, Args: []planner.Expr{col(1, i8)}}},
		Cols: cols("m", i8)}
	join := &planner.Join{Kind: planner.InnerJoin, Left: counts(scan), Right: top,
		LeftKeys: []planner.Expr{col(1, i8)}, RightKeys: []planner.Expr{col(0, i8)},
		Cols: cols("k", i8, "n", i8, "m", i8)}

	cst := &countingStorage{memStorage: ms, scans: map[string]int{}}
	env.Storage = cst
	got := sorted(run(t, env, join))
	if cst.scans["t"] != 1 {
		t.Fatalf("the shared aggregation scanned t %d times, want 1", cst.scans["t"])
	}
	// The same plan without sharing: the two aggregations differ in
	// text (a filter that keeps every row), so each scans.
	keep := &planner.Filter{Input: scan, Cond: gt(col(1, i8), lit(int64(-1), i8))}
	join2 := &planner.Join{Kind: planner.InnerJoin, Left: counts(scan),
		Right:    &planner.Aggregate{Input: counts(keep), Aggs: top.Aggs, Cols: top.Cols},
		LeftKeys: join.LeftKeys, RightKeys: join.RightKeys, Cols: join.Cols}
	cst.scans = map[string]int{}
	want := sorted(run(t, env, join2))
	if cst.scans["t"] != 2 {
		t.Fatalf("distinct aggregations scanned t %d times, want 2", cst.scans["t"])
	}
	if !slices.Equal(got, want) || len(got) != 1 || got[0] != "0|8|8" {
		t.Fatalf("shared: %v, unshared: %v, want [0|8|8]", got, want)
	}

	// random() makes a subplan volatile: computed once per occurrence.
	rnd := &planner.Call{Fn: &planner.Func{Name: "random", Ret: catalog.TypeFloat8, Volatile: true}}
	vol := &planner.Filter{Input: scan, Cond: fn(">=", boo, rnd, lit(0.0, catalog.TypeFloat8))}
	join3 := &planner.Join{Kind: planner.InnerJoin, Left: counts(vol),
		Right:    &planner.Aggregate{Input: counts(vol), Aggs: top.Aggs, Cols: top.Cols},
		LeftKeys: join.LeftKeys, RightKeys: join.RightKeys, Cols: join.Cols}
	cst.scans = map[string]int{}
	run(t, env, join3)
	if cst.scans["t"] != 2 {
		t.Fatalf("a volatile subplan scanned t %d times, want 2", cst.scans["t"])
	}
}
