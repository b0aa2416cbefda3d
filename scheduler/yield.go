package scheduler

import "time"

// DefaultYieldPause is the longest a streaming task pauses for interactive
// queries at a stretch (see Yield).
const DefaultYieldPause = 500 * time.Millisecond

// Yield is how streaming work gives way to the batch framework's demand
// (interactive queries running now). Offers place tasks, but a task that
// holds its CPU keeps it: so while batch demand lasts, streaming work
// (view epochs, stream generators) runs in slots that Slots counts, taken
// and given back at yield points. Streaming first pauses (no slot) for
// Pause, then runs for Pause scaled by the frameworks' DRF weights
// (StreamWeight/BatchWeight) on the CPUs the queries leave it, and so on.
// A short query thus runs on an otherwise quiet process, and under
// continuous demand streaming still gets its weighted share of the time
// and of the CPUs: views slow down but never starve.
// Like the Scheduler it reads no clock: callers pass the times.
type Yield struct {
	// Pause is the longest pause at a stretch; default DefaultYieldPause.
	Pause time.Duration
	// StreamWeight and BatchWeight are the frameworks' weights (<= 0
	// means 1).
	StreamWeight, BatchWeight float64
}

// RunFor is how long streaming runs between pauses under demand.
func (y Yield) RunFor() time.Duration {
	_, run := y.phases()
	return run
}

func (y Yield) phases() (pause, run time.Duration) {
	pause = y.Pause
	if pause <= 0 {
		pause = DefaultYieldPause
	}
	ws, wb := y.StreamWeight, y.BatchWeight
	if !(ws > 0) {
		ws = 1
	}
	if !(wb > 0) {
		wb = 1
	}
	return pause, time.Duration(float64(pause) * ws / wb)
}

// Wait returns how much longer a streaming task at a yield point at now
// should pause, when batch demand has lasted since since (0: run).
func (y Yield) Wait(since, now time.Time) time.Duration {
	pause, run := y.phases()
	d := now.Sub(since)
	if d < 0 {
		return 0
	}
	if phase := d % (pause + run); phase < pause {
		return pause - phase
	}
	return 0
}

// NextRun returns how long from now until streaming's next run phase
// begins, when batch demand has lasted since since: the rest of the pause,
// or, during a run phase, the rest of it and the pause after it.
func (y Yield) NextRun(since, now time.Time) time.Duration {
	if w := y.Wait(since, now); w > 0 {
		return w
	}
	pause, run := y.phases()
	d := now.Sub(since)
	if d < 0 {
		return 0
	}
	return pause + run - d%(pause+run) + pause
}

// Slots returns how many units of streaming work may run at now on an
// agent with cpus CPUs, while queries (>= 1) interactive queries have
// been running since since: none while streaming pauses (see Wait), else
// the CPUs the queries leave it, and at least one.
// NB: a query holds one core (queries run on their session's goroutine),
// so the DRF split is per core, not by weight: weights shape the phases.
func (y Yield) Slots(cpus, queries int, since, now time.Time) int {
	if y.Wait(since, now) > 0 {
		return 0
	}
	return max(cpus-queries, 1)
}
