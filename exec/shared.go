package exec

import (
	"context"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/planner"
)

// A plan may compute the same subplan more than once: a query joining an
// aggregation with an aggregation of that same aggregation, as the "hot
// items" queries do, reads and groups its input twice. Build computes an
// aggregation or join that occurs more than once in a plan once: its
// first reader materializes its rows, and every reader reads them.
// Subplans with subqueries or volatile functions are computed anew each
// time.

// sharedPlan is one subplan computed once for several readers.
type sharedPlan struct {
	op      Operator
	opened  bool
	done    bool
	err     error
	batches []arrow.RecordBatch
	readers int
	closed  int
}

// sharedPlans finds the aggregations and joins of n that occur more than
// once, by their fingerprints.
func sharedPlans(n planner.Node) map[string]*sharedPlan {
	count := map[string]int{}
	var visit func(m planner.Node)
	visit = func(m planner.Node) {
		if k, ok := fingerprint(m); ok {
			count[k]++
		}
		for _, c := range m.Children() {
			visit(c)
		}
	}
	visit(n)
	var out map[string]*sharedPlan
	for k, c := range count {
		if c > 1 {
			if out == nil {
				out = map[string]*sharedPlan{}
			}
			out[k] = &sharedPlan{}
		}
	}
	return out
}

// fingerprint identifies an aggregation or join that may be shared: its
// plan's text and every node's column types. Only subplans of scans,
// projections, filters, windows, aggregations without ORDER BY and joins
// qualify, without subqueries or volatile functions, so that equal text
// means equal rows.
func fingerprint(n planner.Node) (string, bool) {
	switch n.(type) {
	case *planner.Aggregate, *planner.Join:
	default:
		return "", false
	}
	ok := true
	var sb strings.Builder
	sb.WriteString(planner.Explain(n))
	var visit func(m planner.Node)
	visit = func(m planner.Node) {
		switch x := m.(type) {
		case *planner.Scan, *planner.Project, *planner.Filter, *planner.HopWindow, *planner.Join:
		case *planner.Aggregate:
			for _, a := range x.Aggs {
				if len(a.OrderBy) > 0 {
					ok = false
				}
			}
		default:
			ok = false
		}
		for _, c := range m.Columns() {
			sb.WriteString("|")
			sb.WriteString(c.Type.String())
		}
		planner.WalkNodeExprs(m, func(e planner.Expr) {
			planner.WalkExpr(e, func(x planner.Expr) bool {
				switch x := x.(type) {
				case *planner.Subquery:
					ok = false
				case *planner.Call:
					if x.Fn != nil && x.Fn.Volatile {
						ok = false
					}
				}
				return ok
			})
		})
		for _, c := range m.Children() {
			if ok {
				visit(c)
			}
		}
	}
	visit(n)
	return sb.String(), ok
}

// buildShared returns a reader of n's shared computation when n is one.
func buildShared(env *Env, n planner.Node) (Operator, bool, error) {
	k, ok := fingerprint(n)
	if !ok {
		return nil, false, nil
	}
	sp, ok := env.shared[k]
	if !ok {
		return nil, false, nil
	}
	if sp.op == nil {
		op, err := buildNode(env, n)
		if err != nil {
			return nil, true, err
		}
		sp.op = op
	}
	sp.readers++
	return &sharedOp{sp: sp}, true, nil
}

// sharedOp reads a shared subplan's rows.
type sharedOp struct {
	sp     *sharedPlan
	next   int
	closed bool
}

func (o *sharedOp) Schema() *arrow.Schema { return o.sp.op.Schema() }

func (o *sharedOp) Open(ctx context.Context) error {
	if o.sp.opened {
		return nil
	}
	o.sp.opened = true
	return o.sp.op.Open(ctx)
}

func (o *sharedOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	sp := o.sp
	if !sp.done {
		sp.done = true
		sp.batches, sp.err = drain(ctx, sp.op)
	}
	if sp.err != nil {
		return nil, sp.err
	}
	if o.next >= len(sp.batches) {
		return nil, io.EOF
	}
	b := sp.batches[o.next]
	o.next++
	b.Retain()
	return b, nil
}

func (o *sharedOp) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	sp := o.sp
	sp.closed++
	if sp.closed < sp.readers {
		return nil
	}
	releaseBatches(sp.batches)
	sp.batches = nil
	if sp.opened {
		return sp.op.Close()
	}
	return nil
}
