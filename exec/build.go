package exec

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/planner"
)

// Build turns a plan into an operator tree for env. It installs this
// package's subquery evaluator as env.Env.Subquery (once per Env), so
// expressions holding planner.Subquery nodes can run their plans.
func Build(env *Env, n planner.Node) (Operator, error) {
	if env.subq == nil {
		env.subq = newSubqueryState()
		env.Env.Subquery = env.subquery
	}
	prev := env.shared
	env.shared = sharedPlans(n)
	op, err := build(env, n)
	env.shared = prev
	if err != nil {
		return nil, err
	}
	return &rootOp{Operator: op, st: env.subq}, nil
}

func build(env *Env, n planner.Node) (Operator, error) {
	if len(env.shared) > 0 {
		if op, ok, err := buildShared(env, n); ok {
			return op, err
		}
	}
	return buildNode(env, n)
}

func buildNode(env *Env, n planner.Node) (Operator, error) {
	switch n := n.(type) {
	case *planner.Scan:
		return newScan(env, n), nil
	case *planner.Values:
		return newValues(env, n), nil
	case *planner.GenerateSeries:
		return newSeries(env, n), nil
	case *planner.Project:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newProject(env, n, in), nil
	case *planner.Filter:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newFilter(env, n.Cond, in), nil
	case *planner.HopWindow:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newHop(env, n, in), nil
	case *planner.SessionWindow:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newSession(env, n, in), nil
	case *planner.Limit:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newLimit(env, n, in), nil
	case *planner.Distinct:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newDistinct(env, n, in), nil
	case *planner.Aggregate:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newAggregate(env, n, in), nil
	case *planner.Sort:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newSort(env, n, in), nil
	case *planner.Join:
		l, err := build(env, n.Left)
		if err != nil {
			return nil, err
		}
		r, err := build(env, n.Right)
		if err != nil {
			return nil, err
		}
		return newJoin(env, n, l, r), nil
	case *planner.SetOp:
		l, err := build(env, n.Left)
		if err != nil {
			return nil, err
		}
		r, err := build(env, n.Right)
		if err != nil {
			return nil, err
		}
		return newSetOp(env, n, l, r), nil
	case *planner.Window:
		in, err := build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newWindow(env, n, in), nil
	}
	return nil, fmt.Errorf("%w: plan node %T", ErrUnsupported, n)
}

// Collect opens op, reads it to the end, closes it and returns every
// batch. The caller releases the batches. On error nothing is returned and
// everything read is released.
func Collect(ctx context.Context, op Operator) (out []arrow.RecordBatch, err error) {
	defer func() {
		if cerr := op.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			releaseBatches(out)
			out = nil
		}
	}()
	if err := op.Open(ctx); err != nil {
		return nil, err
	}
	for {
		b, err := op.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
}

// drain reads op (already open) to the end.
func drain(ctx context.Context, op Operator) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	for {
		b, err := op.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			releaseBatches(out)
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		out = append(out, b)
	}
}
