package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sqld/sqld/catalog"
)

func TestBatchEvents(t *testing.T) {
	for _, c := range []struct {
		name     string
		rate     float64
		recorded int64
		found    bool
		empty    bool
		want     int64
	}{
		{"no rate", 0, 0, false, true, sourceBatchEvents},
		{"a tenth of a second at the rate", 1000, 0, false, true, 100},
		{"at least one event", 3, 0, false, true, 1},
		{"at most a full batch", 50_000_000, 0, false, true, sourceBatchEvents},
		{"the recorded size", 1000, 250, true, false, 250},
		{"a record without a size", 1000, 0, true, false, sourceBatchEvents},
		{"appended to before any record", 1000, 0, false, false, sourceBatchEvents},
	} {
		if got := batchEvents(c.rate, c.recorded, c.found, c.empty); got != c.want {
			t.Errorf("%s: batchEvents(%v, %d, %v, %v) = %d, want %d", c.name, c.rate, c.recorded, c.found, c.empty, got, c.want)
		}
	}
}

// fakeSource is a source whose progress the test moves by hand.
func fakeSource(name string) *nexmarkSource {
	return &nexmarkSource{rel: &catalog.Relation{Name: name}, begun: -1, changed: make(chan struct{}), done: make(chan struct{})}
}

// progress sets the source's recorded progress, as record does.
func (s *nexmarkSource) progress(next int64) {
	s.mu.Lock()
	s.next = next
	s.signalLocked()
	s.mu.Unlock()
}

// flushAsync runs waitSources and delivers its error.
func flushAsync(ctx context.Context, e *Engine) <-chan error {
	out := make(chan error, 1)
	go func() {
		_, err := e.waitSources(ctx)
		out <- err
	}()
	return out
}

// pending fails the test if the wait has ended.
func pending(t *testing.T, what string, res <-chan error) {
	t.Helper()
	select {
	case err := <-res:
		t.Fatalf("%s: the wait ended (%v)", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

// ended fails the test unless the wait ends with want.
func ended(t *testing.T, what string, res <-chan error, want error) {
	t.Helper()
	select {
	case err := <-res:
		if !errors.Is(err, want) {
			t.Fatalf("%s: the wait ended with %v, want %v", what, err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the wait did not end", what)
	}
}

func TestWaitSourcesMarks(t *testing.T) {
	ctx := context.Background()

	// A source that is starting: the first batch it begins counts.
	s := fakeSource("starting")
	e := &Engine{sources: map[string]*nexmarkSource{"starting": s}}
	res := flushAsync(ctx, e)
	pending(t, "starting", res)
	s.beginBatch(100)
	pending(t, "first batch begun", res)
	// The next batch begins before the first is recorded: the wait is
	// for the first only.
	s.beginBatch(200)
	s.progress(100)
	ended(t, "first batch recorded", res, nil)

	// Between batches (the last one recorded), nothing to wait for.
	s.progress(200)
	ended(t, "between batches", flushAsync(ctx, e), nil)

	// Batches in flight count; later ones do not.
	s.beginBatch(300)
	res = flushAsync(ctx, e)
	pending(t, "in flight", res)
	s.beginBatch(400)
	s.progress(200)
	pending(t, "an earlier batch recorded", res)
	s.progress(300)
	ended(t, "the batch in flight recorded", res, nil)
}

func TestWaitSourcesEnds(t *testing.T) {
	ctx := context.Background()

	// A source that fails.
	s := fakeSource("failing")
	e := &Engine{sources: map[string]*nexmarkSource{"failing": s}}
	res := flushAsync(ctx, e)
	pending(t, "failing", res)
	s.mu.Lock()
	s.err = errors.New("append failed")
	s.signalLocked()
	s.mu.Unlock()
	ended(t, "failed", res, nil)

	// A source that stops (its stream is dropped, or the server closes).
	s = fakeSource("dropped")
	s.beginBatch(100)
	e = &Engine{sources: map[string]*nexmarkSource{"dropped": s}}
	res = flushAsync(ctx, e)
	pending(t, "dropped", res)
	close(s.done)
	ended(t, "stopped", res, nil)

	// The caller gives up.
	s = fakeSource("stuck")
	e = &Engine{sources: map[string]*nexmarkSource{"stuck": s}}
	cctx, cancel := context.WithCancel(ctx)
	res = flushAsync(cctx, e)
	pending(t, "stuck", res)
	cancel()
	ended(t, "cancelled", res, context.Canceled)
}
