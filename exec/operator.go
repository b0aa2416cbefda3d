package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
)

// Operator is a pull-based producer of record batches within one task.
//
// Open must be called once before Next; Close once after, even if Open or
// Next failed. Next returns io.EOF after the last batch. Each batch returned
// hands one reference to the caller, who releases it. Operators are not safe
// for concurrent use.
type Operator interface {
	Schema() *arrow.Schema
	Open(ctx context.Context) error
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// Storage reads stored relations for Scan nodes. It is implemented by the
// session layer over the wide-column store and the log, against one
// consistent snapshot per statement.
type Storage interface {
	// Scan returns an operator producing the relation's columns project
	// (relation column indexes, in that order). filter, if not nil,
	// refers to the projected columns; the storage may apply it or not —
	// the executor applies it again either way.
	Scan(ctx context.Context, rel *catalog.Relation, project []int, filter planner.Expr) (Operator, error)
}

// Env is what the execution of one statement needs besides the plan. It is
// used by one goroutine at a time.
type Env struct {
	eval.Env
	// Storage reads Scan nodes; may be nil for plans without scans.
	Storage Storage
	// BatchSize is the preferred number of rows per batch (0: 4096).
	BatchSize int

	// subq holds the statement's subquery caches; set by Build.
	subq *subqueryState
	// shared holds the subplans Build computes once (see shared.go).
	shared map[string]*sharedPlan
}

// batchSize returns the preferred batch size.
func (e *Env) batchSize() int {
	if e.BatchSize <= 0 {
		return 4096
	}
	return e.BatchSize
}
