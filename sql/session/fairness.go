package session

import (
	"context"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/scheduler"
)

// batchGate is the batch framework's demand: the interactive queries that
// read stored relations, running now. While there is demand, view tasks
// yield at their yield points as scheduler.Yield says.
type batchGate struct {
	policy scheduler.Yield

	mu      sync.Mutex
	active  int
	since   time.Time     // when the current demand began
	lastEnd time.Time     // when the last demand ended
	idle    chan struct{} // closed when demand ends
}

// begin records a query starting; the returned function ends it.
func (g *batchGate) begin() func() {
	g.mu.Lock()
	if g.active == 0 {
		// NB: demand that comes back before streaming had its turn (one
		// query after another) continues the same pause/run cycle, so
		// back-to-back queries cannot keep views paused.
		now := time.Now()
		if g.since.IsZero() || now.Sub(g.lastEnd) > g.policy.RunFor() {
			g.since = now
		}
		g.idle = make(chan struct{})
	}
	g.active++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.active--
			if g.active == 0 {
				g.lastEnd = time.Now()
				close(g.idle)
			}
			g.mu.Unlock()
		})
	}
}

// yield pauses the calling streaming task while the policy says so and
// the demand lasts.
func (g *batchGate) yield(ctx context.Context) error {
	for {
		g.mu.Lock()
		if g.active == 0 {
			g.mu.Unlock()
			return nil
		}
		wait := g.policy.Wait(g.since, time.Now())
		idle := g.idle
		g.mu.Unlock()
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-idle:
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// batchDemand records an interactive query; call the result when it ends.
func (e *Engine) batchDemand() func() {
	if e.fw == nil {
		return func() {}
	}
	return e.fw.gate.begin()
}

// yieldToBatch is a streaming task's yield point.
func (e *Engine) yieldToBatch(ctx context.Context) error {
	if e.fw == nil {
		return nil
	}
	return e.fw.gate.yield(ctx)
}

// yielding wraps a view stage's storage so that its scans yield to
// interactive queries between input batches.
func (e *Engine) yielding(st exec.Storage) exec.Storage {
	if st == nil {
		return nil
	}
	return yieldStorage{st: st, e: e}
}

type yieldStorage struct {
	st exec.Storage
	e  *Engine
}

func (y yieldStorage) Scan(ctx context.Context, rel *catalog.Relation, project []int, filter planner.Expr) (exec.Operator, error) {
	op, err := y.st.Scan(ctx, rel, project, filter)
	if err != nil {
		return nil, err
	}
	return &yieldOp{Operator: op, e: y.e}, nil
}

type yieldOp struct {
	exec.Operator
	e *Engine
}

var _ exec.Operator = (*yieldOp)(nil)

func (y *yieldOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := y.e.yieldToBatch(ctx); err != nil {
		return nil, err
	}
	return y.Operator.Next(ctx)
}
