package session

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/scheduler"
)

// batchGate is the batch framework's demand (the interactive queries that
// read stored relations, running now) as streaming work sees it. Streaming
// work (a view's epoch, a generator's batch) runs in a slot. Without
// demand slots are free; under demand there are as many as
// scheduler.Yield.Slots says (none while streaming pauses, then the CPUs
// the queries leave), handed out first come first served. A unit holding
// a slot gives it back at its yield points when there are too many, and
// waits for another: so a query that starts finds the process quiet
// within one yield point's work.
type batchGate struct {
	policy scheduler.Yield
	cpus   int
	clock  scheduler.Clock // nil: the wall clock

	mu      sync.Mutex
	active  int
	since   time.Time // when the current demand began
	lastEnd time.Time // when the last demand ended
	running int       // slots held
	queue   []*streamSlot
}

// streamSlot is one unit of streaming work's place in the gate.
type streamSlot struct {
	g      *batchGate
	held   bool
	queued bool
	grant  chan struct{} // closed when a queued slot is granted
}

func (g *batchGate) now() time.Time {
	if g.clock == nil {
		return time.Now()
	}
	return g.clock.Now()
}

func (g *batchGate) after(d time.Duration) <-chan time.Time {
	if g.clock == nil {
		return time.After(d)
	}
	return g.clock.After(d)
}

// begin records a query starting; the returned function ends it.
func (g *batchGate) begin() func() {
	g.mu.Lock()
	if g.active == 0 {
		// NB: demand that comes back before streaming had its turn (one
		// query after another) continues the same pause/run cycle, so
		// back-to-back queries cannot keep views paused.
		now := g.now()
		if g.since.IsZero() || now.Sub(g.lastEnd) > g.policy.RunFor() {
			g.since = now
		}
	}
	g.active++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.active--
			if g.active == 0 {
				g.lastEnd = g.now()
			}
			g.dispatchLocked()
			g.mu.Unlock()
		})
	}
}

// slotsLocked returns how many slots there are now (-1: no limit).
func (g *batchGate) slotsLocked() int {
	if g.active == 0 {
		return -1
	}
	return g.policy.Slots(g.cpus, g.active, g.since, g.now())
}

// fitsLocked reports whether one more slot may be held.
func (g *batchGate) fitsLocked() bool {
	n := g.slotsLocked()
	return n < 0 || g.running < n
}

// dispatchLocked grants queued slots while they fit, in order.
func (g *batchGate) dispatchLocked() {
	for len(g.queue) > 0 && g.fitsLocked() {
		s := g.queue[0]
		g.queue = g.queue[1:]
		s.queued, s.held = false, true
		g.running++
		close(s.grant)
	}
}

// enter waits for a slot for one unit of streaming work; leave gives it
// back.
func (g *batchGate) enter(ctx context.Context) (*streamSlot, error) {
	s := &streamSlot{g: g}
	g.mu.Lock()
	if len(g.queue) == 0 && g.fitsLocked() {
		s.held = true
		g.running++
		g.mu.Unlock()
		return s, nil
	}
	g.enqueueLocked(s, false)
	if err := g.waitLocked(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// leave gives the slot back (also while it waits for it); leaving twice
// is harmless.
func (g *batchGate) leave(s *streamSlot) {
	g.mu.Lock()
	g.dropLocked(s)
	g.mu.Unlock()
}

func (g *batchGate) dropLocked(s *streamSlot) {
	if s.held {
		s.held = false
		g.running--
	}
	if s.queued {
		s.queued = false
		g.queue = slices.DeleteFunc(g.queue, func(q *streamSlot) bool { return q == s })
	}
	g.dispatchLocked()
}

// yield is a yield point of the unit holding s: when more slots are held
// than there are, it gives s back and waits for it again, ahead of units
// that have not started.
func (g *batchGate) yield(ctx context.Context, s *streamSlot) error {
	g.mu.Lock()
	if s.held {
		if n := g.slotsLocked(); n < 0 || g.running <= n {
			g.mu.Unlock()
			return nil
		}
		s.held = false
		g.running--
		g.enqueueLocked(s, true)
	} else if !s.queued {
		// Left already.
		g.mu.Unlock()
		return nil
	}
	return g.waitLocked(ctx, s)
}

func (g *batchGate) enqueueLocked(s *streamSlot, front bool) {
	s.queued = true
	s.grant = make(chan struct{})
	if front {
		g.queue = slices.Insert(g.queue, 0, s)
	} else {
		g.queue = append(g.queue, s)
	}
}

// waitLocked waits until queued s is granted; g.mu is held on entry and
// released on return. On an error s is out of the queue and not held.
func (g *batchGate) waitLocked(ctx context.Context, s *streamSlot) error {
	for {
		g.dispatchLocked()
		if s.held || !s.queued {
			// Granted; or left meanwhile (by another goroutine of the
			// unit): the unit's own leave will not find it held.
			g.mu.Unlock()
			return nil
		}
		grant := s.grant
		// Slots come back when a pause ends: wake then to hand them out.
		// NB: also while streaming runs, as its slots may all be held
		// until the next pause, and given back only during it.
		var wake <-chan time.Time
		if g.active > 0 {
			if d := g.policy.NextRun(g.since, g.now()); d > 0 {
				wake = g.after(d)
			}
		}
		g.mu.Unlock()
		select {
		case <-grant:
			g.mu.Lock()
		case <-wake:
			g.mu.Lock()
			g.dispatchLocked()
		case <-ctx.Done():
			g.mu.Lock()
			g.dropLocked(s)
			g.mu.Unlock()
			return ctx.Err()
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

// streamSlotKey is the context key of the slot a unit of streaming work
// holds.
type streamSlotKey struct{}

// enterStreaming waits for a slot for a unit of streaming work and
// returns a context carrying it, for the unit's yield points (see
// yieldPoint), and the function that gives it back.
func (e *Engine) enterStreaming(ctx context.Context) (context.Context, func(), error) {
	if e.fw == nil {
		return ctx, func() {}, nil
	}
	g := &e.fw.gate
	s, err := g.enter(ctx)
	if err != nil {
		return nil, nil, err
	}
	return context.WithValue(ctx, streamSlotKey{}, s), func() { g.leave(s) }, nil
}

// yieldToBatch waits until streaming work may run, for work that holds no
// slot between its yield points.
func (e *Engine) yieldToBatch(ctx context.Context) error {
	if e.fw == nil {
		return nil
	}
	s, err := e.fw.gate.enter(ctx)
	if err != nil {
		return err
	}
	e.fw.gate.leave(s)
	return nil
}

// yieldPoint is a yield point of the streaming work that ctx belongs to
// (see enterStreaming); it returns at once for other work.
func yieldPoint(ctx context.Context) error {
	s, _ := ctx.Value(streamSlotKey{}).(*streamSlot)
	if s == nil {
		return nil
	}
	return s.g.yield(ctx, s)
}

// yielding wraps a view stage's storage so that its scans yield to
// interactive queries between input batches.
func (e *Engine) yielding(st exec.Storage) exec.Storage {
	if st == nil {
		return nil
	}
	return yieldStorage{st: st}
}

type yieldStorage struct {
	st exec.Storage
}

func (y yieldStorage) Scan(ctx context.Context, rel *catalog.Relation, project []int, filter planner.Expr) (exec.Operator, error) {
	op, err := y.st.Scan(ctx, rel, project, filter)
	if err != nil {
		return nil, err
	}
	return &yieldOp{Operator: op}, nil
}

type yieldOp struct {
	exec.Operator
}

var _ exec.Operator = (*yieldOp)(nil)

func (y *yieldOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := yieldPoint(ctx); err != nil {
		return nil, err
	}
	return y.Operator.Next(ctx)
}
