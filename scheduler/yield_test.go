package scheduler

import (
	"testing"
	"time"
)

func TestYieldWait(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	for _, tc := range []struct {
		y    Yield
		at   time.Duration
		want time.Duration
	}{
		{Yield{}, 0, 500 * ms},
		{Yield{Pause: 250 * ms}, 100 * ms, 150 * ms},
		{Yield{Pause: 250 * ms}, 250 * ms, 0},
		{Yield{Pause: 250 * ms}, 499 * ms, 0},
		{Yield{Pause: 250 * ms}, 500 * ms, 250 * ms}, // the next cycle
		{Yield{}, -ms, 0},
		// Streaming weighted twice batch runs twice as long as it pauses.
		{Yield{Pause: 100 * ms, StreamWeight: 2}, 250 * ms, 0},
		{Yield{Pause: 100 * ms, StreamWeight: 2}, 310 * ms, 90 * ms},
		// Batch weighted 4: streaming runs a quarter of the pause.
		{Yield{Pause: 100 * ms, BatchWeight: 4}, 110 * ms, 0},
		{Yield{Pause: 100 * ms, BatchWeight: 4}, 125 * ms, 100 * ms},
	} {
		if got := tc.y.Wait(t0, t0.Add(tc.at)); got != tc.want {
			t.Errorf("%+v at %s: wait %s, want %s", tc.y, tc.at, got, tc.want)
		}
	}
}

func TestYieldNextRun(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	y := Yield{Pause: 100 * ms}
	for _, tc := range []struct {
		at, want time.Duration
	}{
		{0, 100 * ms},        // the pause
		{40 * ms, 60 * ms},   // the rest of the pause
		{100 * ms, 200 * ms}, // a run phase: its rest and the next pause
		{150 * ms, 150 * ms}, //
		{199 * ms, 101 * ms}, //
		{200 * ms, 100 * ms}, // the second pause
		{-ms, 0},             // before the demand
	} {
		if got := y.NextRun(t0, t0.Add(tc.at)); got != tc.want {
			t.Errorf("at %s: next run in %s, want %s", tc.at, got, tc.want)
		}
	}
}

func TestYieldSlots(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	y := Yield{Pause: 100 * ms}
	for _, tc := range []struct {
		cpus, queries int
		at            time.Duration
		want          int
	}{
		{2, 1, 0, 0},        // pausing
		{2, 1, 99 * ms, 0},  // still pausing
		{2, 1, 100 * ms, 1}, // running on the core the query leaves
		{8, 1, 150 * ms, 7}, // all but the query's core
		{8, 3, 150 * ms, 5}, // all but the queries' cores
		{2, 5, 150 * ms, 1}, // more queries than cores: still one
		{1, 1, 150 * ms, 1}, // one core: shared
		{2, 1, 200 * ms, 0}, // the next pause
		{16, 1, -ms, 15},    // before the demand (clock skew): no pause
	} {
		if got := y.Slots(tc.cpus, tc.queries, t0, t0.Add(tc.at)); got != tc.want {
			t.Errorf("cpus %d queries %d at %s: %d slots, want %d", tc.cpus, tc.queries, tc.at, got, tc.want)
		}
	}
}
