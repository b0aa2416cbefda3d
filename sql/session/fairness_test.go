package session

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sqld/sqld/scheduler"
)

// gateClock is a scheduler.Clock that moves only when the test advances
// it.
type gateClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []gateTimer
}

type gateTimer struct {
	at time.Time
	ch chan time.Time
}

func (c *gateClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *gateClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, gateTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// due returns how many timers wait for time at.
func (c *gateClock) due(at time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.timers {
		if w.at.Equal(at) {
			n++
		}
	}
	return n
}

func (c *gateClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, w := range c.timers {
		if w.at.After(c.now) {
			kept = append(kept, w)
		} else {
			w.ch <- c.now
		}
	}
	c.timers = kept
}

const gatePause = 100 * time.Millisecond

// gateStart is the test clock's time at first; pauseEnd(k) the end of the
// k-th pause of demand that began then.
var gateStart = time.Unix(1_000_000, 0)

func pauseEnd(k int) time.Time { return gateStart.Add(time.Duration(2*k-1) * gatePause) }

func newTestGate(cpus int) (*batchGate, *gateClock) {
	clock := &gateClock{now: gateStart}
	return &batchGate{policy: scheduler.Yield{Pause: gatePause}, cpus: cpus, clock: clock}, clock
}

// eventually waits until cond holds, for state other goroutines reach;
// the time limit only turns a hang into a failure.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		runtime.Gosched()
	}
}

func (g *batchGate) state() (running, queued int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running, len(g.queue)
}

// async runs f in a goroutine; the channel receives its result.
func async(f func() error) chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

func returned(ch chan error) bool {
	select {
	case err := <-ch:
		ch <- err
		return true
	default:
		return false
	}
}

func TestBatchGateFreeWithoutDemand(t *testing.T) {
	g, _ := newTestGate(2)
	ctx := context.Background()
	var slots []*streamSlot
	for range 10 {
		s, err := g.enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.yield(ctx, s); err != nil {
			t.Fatal(err)
		}
		slots = append(slots, s)
	}
	if r, q := g.state(); r != 10 || q != 0 {
		t.Fatalf("running %d queued %d, want 10 and 0", r, q)
	}
	for _, s := range slots {
		g.leave(s)
		g.leave(s) // leaving twice is harmless
	}
	if r, _ := g.state(); r != 0 {
		t.Fatalf("running %d after leaving", r)
	}
}

// TestBatchGatePausesRunningWork: a query starting stops work that holds
// a slot at its next yield point, and stops new work; the query's end
// lets both go at once.
func TestBatchGatePausesRunningWork(t *testing.T) {
	g, _ := newTestGate(2)
	ctx := context.Background()
	a, err := g.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	end := g.begin()
	yielded := async(func() error { return g.yield(ctx, a) })
	entered := async(func() error {
		s, err := g.enter(ctx)
		if err == nil {
			g.leave(s)
		}
		return err
	})
	eventually(t, "two units queued", func() bool { _, q := g.state(); return q == 2 })
	if r, _ := g.state(); r != 0 || returned(yielded) || returned(entered) {
		t.Fatalf("under demand streaming did not pause: running %d", r)
	}
	end()
	end() // ending twice is harmless
	if err := <-yielded; err != nil {
		t.Fatal(err)
	}
	if err := <-entered; err != nil {
		t.Fatal(err)
	}
	if r, q := g.state(); r != 1 || q != 0 || !a.held {
		t.Fatalf("after demand: running %d queued %d held %v", r, q, a.held)
	}
	g.leave(a)
}

// TestBatchGateShareAfterPause: after the pause streaming runs again, but
// only on the CPUs the queries leave it (here one of two), first come
// first served, and the unit that yielded mid-work first.
func TestBatchGateShareAfterPause(t *testing.T) {
	g, clock := newTestGate(2)
	ctx := context.Background()
	a, _ := g.enter(ctx)
	end := g.begin()
	defer end()
	aBack := async(func() error { return g.yield(ctx, a) })
	eventually(t, "a unit queued", func() bool { _, q := g.state(); return q == 1 })
	var b *streamSlot
	bIn := async(func() (err error) { b, err = g.enter(ctx); return err })
	eventually(t, "two units queued", func() bool { _, q := g.state(); return q == 2 })
	eventually(t, "two wake-ups set", func() bool { return clock.due(pauseEnd(1)) == 2 })
	clock.Advance(gatePause - time.Millisecond)
	if returned(aBack) || returned(bIn) {
		t.Fatal("streaming ran before the pause ended")
	}
	clock.Advance(time.Millisecond)
	if err := <-aBack; err != nil {
		t.Fatal(err)
	}
	if r, q := g.state(); r != 1 || q != 1 || returned(bIn) {
		t.Fatalf("run phase: running %d queued %d, want one slot for two units", r, q)
	}
	// A yield point within the share keeps the slot.
	if err := g.yield(ctx, a); err != nil || !a.held {
		t.Fatalf("yield within the share: held %v err %v", a.held, err)
	}
	g.leave(a)
	if err := <-bIn; err != nil {
		t.Fatal(err)
	}
	if !b.held {
		t.Fatal("the waiting unit did not get the slot given back")
	}
	// The next pause takes the slot back at b's yield point.
	clock.Advance(gatePause)
	set := clock.due(pauseEnd(2)) // bIn's, from when it waited
	bBack := async(func() error { return g.yield(ctx, b) })
	eventually(t, "a unit queued", func() bool { _, q := g.state(); return q == 1 })
	if returned(bBack) {
		t.Fatal("the second pause did not stop streaming")
	}
	eventually(t, "a wake-up set", func() bool { return clock.due(pauseEnd(2)) == set+1 })
	clock.Advance(gatePause)
	if err := <-bBack; err != nil {
		t.Fatal(err)
	}
	g.leave(b)
}

// TestBatchGateNoStarvation: queries that overlap, one after another,
// keep demand up all the time, yet streaming runs after one pause; and
// demand that returns before streaming had its run (back-to-back queries)
// continues the same pause/run cycle rather than starting a new pause.
func TestBatchGateNoStarvation(t *testing.T) {
	g, clock := newTestGate(2)
	ctx := context.Background()
	end := g.begin()
	in := async(func() error {
		s, err := g.enter(ctx)
		if err == nil {
			g.leave(s)
		}
		return err
	})
	eventually(t, "a wake-up set", func() bool { return clock.due(pauseEnd(1)) == 1 })
	for range 9 {
		clock.Advance(gatePause / 10)
		if returned(in) {
			t.Fatal("streaming ran during the pause")
		}
		next := g.begin()
		end()
		end = next
	}
	clock.Advance(gatePause / 10)
	if err := <-in; err != nil {
		t.Fatal(err)
	}
	end()

	g, clock = newTestGate(2)
	end = g.begin()
	since := g.since
	for range 20 {
		clock.Advance(gatePause / 10)
		end()
		clock.Advance(time.Millisecond)
		end = g.begin()
		if g.since != since {
			t.Fatalf("back-to-back queries started a new pause %s after the first", g.since.Sub(since))
		}
	}
	end()
	// Once streaming had its run, a query pauses it again.
	clock.Advance(g.policy.RunFor() + time.Millisecond)
	g.begin()()
	if !g.since.After(since) {
		t.Fatal("a query after a quiet spell did not pause streaming")
	}
}

// TestBatchGateSlotGivenBackDuringPause: a unit waits for the slot of one
// that gives it back only after the next pause began; the slot is handed
// on when that pause ends, not when the demand does.
func TestBatchGateSlotGivenBackDuringPause(t *testing.T) {
	g, clock := newTestGate(2)
	ctx := context.Background()
	end := g.begin()
	defer end()
	clock.Advance(gatePause) // streaming's run phase
	a, err := g.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bIn := async(func() error { _, err := g.enter(ctx); return err })
	eventually(t, "a unit queued", func() bool { _, q := g.state(); return q == 1 })
	eventually(t, "a wake-up set", func() bool { return clock.due(pauseEnd(2)) == 1 })
	clock.Advance(gatePause) // the next pause
	g.leave(a)
	if returned(bIn) {
		t.Fatal("a slot was handed on during a pause")
	}
	clock.Advance(gatePause) // the next run phase
	if err := <-bIn; err != nil {
		t.Fatal(err)
	}
}

func TestBatchGateQueriesLeaveAtLeastOneSlot(t *testing.T) {
	g, clock := newTestGate(4)
	ctx := context.Background()
	var ends []func()
	for range 6 {
		ends = append(ends, g.begin())
	}
	clock.Advance(gatePause) // past the pause
	a, err := g.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bIn := async(func() error { _, err := g.enter(ctx); return err })
	eventually(t, "a unit queued", func() bool { _, q := g.state(); return q == 1 })
	if returned(bIn) {
		t.Fatal("six queries on four CPUs left streaming more than one slot")
	}
	for _, end := range ends[:4] {
		end()
	}
	// Two queries leave two of four CPUs.
	if err := <-bIn; err != nil {
		t.Fatal(err)
	}
	g.leave(a)
	for _, end := range ends[4:] {
		end()
	}
}

func TestBatchGateCancel(t *testing.T) {
	g, _ := newTestGate(2)
	end := g.begin()
	defer end()
	ctx, cancel := context.WithCancel(context.Background())
	in := async(func() error { _, err := g.enter(ctx); return err })
	eventually(t, "a unit queued", func() bool { _, q := g.state(); return q == 1 })
	cancel()
	if err := <-in; err != context.Canceled {
		t.Fatalf("cancelled wait: %v", err)
	}
	if r, q := g.state(); r != 0 || q != 0 {
		t.Fatalf("after cancel: running %d queued %d", r, q)
	}
}

// TestYieldPoint: a yield point pauses the streaming work whose context
// carries a slot, and only it.
func TestYieldPoint(t *testing.T) {
	e := &Engine{fw: &streaming{gate: batchGate{policy: scheduler.Yield{Pause: gatePause}, cpus: 2,
		clock: &gateClock{now: gateStart}}}}
	g := &e.fw.gate
	if err := yieldPoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, leave, err := e.enterStreaming(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	end := e.batchDemand()
	// Not streaming work (an interactive query's own scan): no pause.
	if err := yieldPoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	back := async(func() error { return yieldPoint(ctx) })
	eventually(t, "a unit queued", func() bool { _, q := g.state(); return q == 1 })
	if returned(back) {
		t.Fatal("a yield point of streaming work did not pause under demand")
	}
	end()
	if err := <-back; err != nil {
		t.Fatal(err)
	}
	leave()
	if r, q := g.state(); r != 0 || q != 0 {
		t.Fatalf("after leave: running %d queued %d", r, q)
	}
}
