package exec

import (
	"context"
	"testing"

	"github.com/sqld/sqld/planner"
)

// TestWindowKeep checks that a ranking window that drops rows ranked over
// Keep as it reads gives the rows a filter on the rank keeps, for each
// ranking function, with ties in the ORDER BY.
func TestWindowKeep(t *testing.T) {
	const n = 3*pruneRows + 1234
	var batches [][][]any
	for i := 0; i < n; i += 4096 {
		var rows [][]any
		for k := i; k < min(n, i+4096); k++ {
			var ord any = int64((k * 7) % 13)
			if k%101 == 0 {
				ord = nil
			}
			rows = append(rows, []any{int64(k % 500), ord, int64(k)})
		}
		batches = append(batches, rows)
	}
	for _, name := range []string{"row_number", "rank", "dense_rank"} {
		for _, keep := range []int64{1, 3} {
			env, mem := testEnv(t)
			in := storage(env).table("t", cols("p", i8, "o", i8, "v", i8), batches...)
			plan := func(early int64) planner.Node {
				w := &planner.Window{Input: in, Calls: []planner.WindowCall{{Name: name, Typ: i8,
					PartitionBy: []planner.Expr{col(0, i8)},
					OrderBy:     []planner.SortKey{{Expr: col(1, i8), Desc: true}}}},
					Cols: cols("p", i8, "o", i8, "v", i8, "r", i8), Keep: early}
				return &planner.Filter{Input: w, Cond: fn("<=", boo, col(3, i8), lit(keep, i8))}
			}
			want := run(t, env, plan(0))
			if len(want) < 500 {
				t.Fatalf("%s <= %d: only %d rows", name, keep, len(want))
			}
			expectSet(t, run(t, env, plan(keep)), want...)

			op, err := Build(env, plan(keep))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := op.Open(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := drainAll(ctx, op); err != nil {
				t.Fatal(err)
			}
			w := findWindow(op)
			if w == nil || w.dropped < n/2 {
				t.Fatalf("%s <= %d: the window did not drop rows as it read", name, keep)
			}
			if err := op.Close(); err != nil {
				t.Fatal(err)
			}
			mem.AssertSize(t, 0)
		}
	}
}

func drainAll(ctx context.Context, op Operator) (int64, error) {
	bs, err := drain(ctx, op)
	var rows int64
	for _, b := range bs {
		rows += b.NumRows()
	}
	releaseBatches(bs)
	return rows, err
}

// findWindow finds the window operator under a root and filters.
func findWindow(op Operator) *windowOp {
	for op != nil {
		switch o := op.(type) {
		case *rootOp:
			op = o.Operator
		case *windowOp:
			return o
		case *filterOp:
			op = o.in
		default:
			op = nil
		}
	}
	return nil
}
