package eval

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/planner"
)

// OuterRow is the current row of an enclosing query, visible to a
// correlated subquery through planner.OuterRef.
type OuterRow struct {
	Batch arrow.RecordBatch
	Row   int
}

// SubqueryFunc evaluates a subquery expression for every row of b (with
// env.Outer extended by that row for correlated ones) and returns one value
// per row. It is supplied by the executor, which can run plans.
type SubqueryFunc func(env *Env, sq *planner.Subquery, b arrow.RecordBatch) (arrow.Array, error)

// Env is what expression evaluation needs besides the expression and the
// input batch. One Env serves one statement and one goroutine at a time.
type Env struct {
	// Alloc allocates every Arrow buffer; nil means memory.DefaultAllocator.
	Alloc memory.Allocator
	// Params are the values of $1..$n in catalog's Go value convention.
	Params []any
	// Now is the statement's timestamp (µs since the Unix epoch, UTC),
	// returned by now() and current_timestamp.
	Now int64
	// Setting returns a session setting (current_setting, SHOW); nil
	// means no settings.
	Setting func(name string) (string, bool)
	// User and Database are current_user and current_database().
	User, Database string
	// Outer is the stack of enclosing rows; the last entry is depth 1.
	Outer []OuterRow
	// Subquery evaluates planner.Subquery nodes; nil makes them an error.
	Subquery SubqueryFunc

	// compiled caches the compiled form of expressions evaluated through
	// Eval, EvalScalar and EvalPredicate, per expression node.
	compiled map[planner.Expr]*Program
}

// Allocator returns the allocator to use.
func (e *Env) Allocator() memory.Allocator {
	if e.Alloc == nil {
		return memory.DefaultAllocator
	}
	return e.Alloc
}
