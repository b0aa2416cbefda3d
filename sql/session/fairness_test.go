package session

import (
	"context"
	"testing"
	"time"

	"github.com/sqld/sqld/scheduler"
)

func TestBatchGateYields(t *testing.T) {
	g := &batchGate{policy: scheduler.Yield{Pause: 40 * time.Millisecond}}
	ctx := context.Background()
	start := time.Now()
	if err := g.yield(ctx); err != nil || time.Since(start) > 20*time.Millisecond {
		t.Fatalf("no demand: yield took %s (%v)", time.Since(start), err)
	}
	end := g.begin()
	start = time.Now()
	if err := g.yield(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("under demand: yielded only %s", d)
	}
	// Demand ending releases a waiting task at once.
	end()
	end() // ending twice is harmless
	g2 := &batchGate{policy: scheduler.Yield{Pause: time.Hour}}
	end2 := g2.begin()
	done := make(chan error, 1)
	go func() { done <- g2.yield(ctx) }()
	time.Sleep(10 * time.Millisecond)
	end2()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("yield did not return when demand ended")
	}
}

// TestBatchGateNoStarvation: back-to-back queries keep demand up almost
// all the time, yet streaming still runs about its share.
func TestBatchGateNoStarvation(t *testing.T) {
	g := &batchGate{policy: scheduler.Yield{Pause: 20 * time.Millisecond}}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			end := g.begin()
			time.Sleep(3 * time.Millisecond)
			end()
		}
	}()
	var worked time.Duration
	begin := time.Now()
	for ctx.Err() == nil {
		if err := g.yield(ctx); err != nil {
			break
		}
		s := time.Now()
		for time.Since(s) < time.Millisecond {
		}
		worked += time.Since(s)
	}
	if share := float64(worked) / float64(time.Since(begin)); share < 0.25 {
		t.Fatalf("streaming ran %.0f%% of the time under continuous demand, want about 50%%", 100*share)
	}
}
