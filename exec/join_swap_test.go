package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/sqld/sqld/planner"
)

// TestJoinBuildsSmaller checks that an inner join builds on its smaller
// input, whichever side it is, with the same rows as nested loops, and
// that a join closed early leaks nothing.
func TestJoinBuildsSmaller(t *testing.T) {
	mkRows := func(n, keys, nullEvery int, batch int) [][][]any {
		var out [][][]any
		var cur [][]any
		for i := 0; i < n; i++ {
			var k any = int64(i % keys)
			if nullEvery > 0 && i%nullEvery == 0 {
				k = nil
			}
			cur = append(cur, []any{k, int64(i)})
			if len(cur) == batch {
				out = append(out, cur)
				cur = nil
			}
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
		return out
	}
	// want joins on key equality, then left.v % 7 <> right.v % 7.
	want := func(l, r [][][]any) []string {
		byKey := map[int64][]int64{}
		for _, rb := range r {
			for _, rr := range rb {
				if rr[0] != nil {
					byKey[rr[0].(int64)] = append(byKey[rr[0].(int64)], rr[1].(int64))
				}
			}
		}
		var out []string
		for _, lb := range l {
			for _, lr := range lb {
				if lr[0] == nil {
					continue
				}
				for _, rv := range byKey[lr[0].(int64)] {
					if lr[1].(int64)%7 != rv%7 {
						out = append(out, fmt.Sprintf("%d|%d|%d|%d", lr[0], lr[1], lr[0], rv))
					}
				}
			}
		}
		return out
	}
	mod7 := func(c int) planner.Expr { return fn("%", i8, col(c, i8), lit(int64(7), i8)) }
	cases := []struct {
		name        string
		left, right [][][]any
		swapped     bool
	}{
		{"small left", mkRows(700, 500, 50, 128), mkRows(swapRows+5000, 1000, 97, 4096), true},
		{"small right", mkRows(swapRows+5000, 1000, 97, 4096), mkRows(700, 500, 50, 128), false},
		{"both large, left larger", mkRows(swapRows+9000, 3000, 0, 1000), mkRows(swapRows+2000, 3000, 0, 3000), false},
		{"both large, right larger", mkRows(swapRows+2000, 30000, 0, 1000), mkRows(swapRows+9000, 30000, 0, 3000), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, mem := testEnv(t)
			defer mem.AssertSize(t, 0)
			st := storage(env)
			j := &planner.Join{Kind: planner.InnerJoin,
				Left:     st.table("l", cols("lk", i8, "lv", i8), c.left...),
				Right:    st.table("r", cols("rk", i8, "rv", i8), c.right...),
				LeftKeys: []planner.Expr{col(0, i8)}, RightKeys: []planner.Expr{col(0, i8)},
				Cond: fn("<>", boo, mod7(1), mod7(3)),
				Cols: cols("lk", i8, "lv", i8, "rk", i8, "rv", i8)}
			exp := want(c.left, c.right)
			if len(exp) == 0 {
				t.Fatal("no rows to compare")
			}
			expectSet(t, run(t, env, j), exp...)

			// The side built.
			op, err := Build(env, j)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			defer func() {
				// Closed with most of the probe side unread.
				if err := op.Close(); err != nil {
					t.Fatal(err)
				}
			}()
			if err := op.Open(ctx); err != nil {
				t.Fatal(err)
			}
			b, err := op.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b.Release()
			jo := findJoin(op)
			if jo == nil {
				t.Fatal("no join operator")
			}
			if got := jo.swapped != nil; got != c.swapped {
				t.Fatalf("swapped = %v, want %v", got, c.swapped)
			}
		})
	}
}

func findJoin(op Operator) *joinOp {
	if r, ok := op.(*rootOp); ok {
		op = r.Operator
	}
	if j, ok := op.(*joinOp); ok {
		return j
	}
	return nil
}
