package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// A budget counts what is allocated and not freed, and an allocation past
// it panics with a 53200 error that BudgetError gives back.
func TestBudget(t *testing.T) {
	b := NewBudget(memory.NewGoAllocator(), 1000, "statement_mem")
	x := b.Allocate(600)
	x = b.Reallocate(800, x)
	if b.Used() != 800 {
		t.Fatalf("used %d, want 800", b.Used())
	}
	err := func() (err error) {
		defer func() { err = BudgetError(recover()) }()
		b.Allocate(300)
		return nil
	}()
	if pgerror.CodeOf(err) != pgerror.CodeOutOfMemory {
		t.Fatalf("over the budget: %v", err)
	}
	if b.Used() != 800 {
		t.Fatalf("used %d after the refused allocation, want 800", b.Used())
	}
	b.Free(x)
	b.Free(b.Allocate(1000))
	if b.Used() != 0 {
		t.Fatalf("used %d after freeing all, want 0", b.Used())
	}
	if BudgetError("another panic") != nil {
		t.Fatal("a panic of something else taken for a budget's")
	}
}

// A sort or join past the budget fails with 53200, whether the panic
// reaches the caller or Arrow turns it into an error on the way (what it
// had allocated is left to the garbage collector); within the budget the
// same plans run, and give back all they took.
func TestBudgetOperators(t *testing.T) {
	env, mem := testEnv(t)
	defer mem.AssertSize(t, 0)
	var rows [][]any
	for i := 0; i < 20000; i++ {
		rows = append(rows, []any{int64(i % 1000), "some text to hold"})
	}
	st := storage(env)
	l := st.table("l", cols("k", i8, "s", text), rows[:10000], rows[10000:])
	r := st.table("r", cols("k", i8, "s", text), rows)
	plans := map[string]planner.Node{
		"sort": &planner.Sort{Input: l, Keys: []planner.SortKey{{Expr: col(1, text)}, {Expr: col(0, i8), Desc: true}}},
		"join": &planner.Join{Kind: planner.InnerJoin, Left: l, Right: r, LeftKeys: []planner.Expr{col(0, i8)}, RightKeys: []planner.Expr{col(0, i8)},
			Cols: cols("k", i8, "s", text, "k2", i8, "s2", text)},
	}
	for name, p := range plans {
		for _, limit := range []int64{64 << 10, 1 << 30} {
			var base memory.Allocator = mem
			if limit < 1<<20 {
				base = memory.NewGoAllocator()
			}
			budget := NewBudget(base, limit, "statement_mem")
			env.Alloc = budget
			_, err := func() (_ []string, err error) {
				defer func() {
					if r := recover(); r != nil {
						if err = BudgetError(r); err == nil {
							panic(r)
						}
					}
				}()
				return runErr(env, p)
			}()
			env.Alloc = mem
			if small := limit < 1<<20; small != (pgerror.CodeOf(err) == pgerror.CodeOutOfMemory) || (!small && err != nil) {
				t.Fatalf("%s within %d bytes: %v", name, limit, err)
			}
		}
	}
}
