package scheduler

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
		} else {
			w.ch <- c.now
		}
	}
	c.waiters = kept
}

// waitFor advances the clock in small steps until cond holds.
func waitFor(t *testing.T, clock *fakeClock, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if clock != nil {
			clock.Advance(100 * time.Millisecond)
		}
		time.Sleep(time.Millisecond)
	}
}

// testFramework launches each submitted task on the first offer it fits,
// declines offers it has no use for, and, for supervised jobs, reports task
// failures to the supervisor and resubmits on RestartJob.
type testFramework struct {
	name string
	d    *Driver

	mu       sync.Mutex
	specs    map[string]TaskSpec // by job
	pending  []TaskSpec
	statuses []TaskStatus
	restarts []int
	failed   map[string]error
}

func newTestFramework(name string) *testFramework {
	return &testFramework{name: name, specs: map[string]TaskSpec{}, failed: map[string]error{}}
}

func (f *testFramework) submit(spec TaskSpec) {
	f.mu.Lock()
	f.specs[spec.Job] = spec
	f.pending = append(f.pending, spec)
	f.mu.Unlock()
	_ = f.d.Revive(f.name)
}

func (f *testFramework) ResourceOffers(offers []Offer) {
	for _, o := range offers {
		f.mu.Lock()
		var launch []TaskSpec
		left := o.Resources
		kept := f.pending[:0]
		for _, t := range f.pending {
			if left.Contains(t.Resources) {
				left = left.Sub(t.Resources)
				launch = append(launch, t)
			} else {
				kept = append(kept, t)
			}
		}
		f.pending = kept
		f.mu.Unlock()
		if len(launch) == 0 {
			_ = f.d.Decline(f.name, o.ID, time.Hour)
			continue
		}
		_ = f.d.Accept(f.name, o.ID, launch)
	}
}

func (f *testFramework) OfferRescinded(string) {}

func (f *testFramework) StatusUpdate(st TaskStatus) {
	f.mu.Lock()
	f.statuses = append(f.statuses, st)
	f.mu.Unlock()
	if st.State == TaskFailed || st.State == TaskLost {
		_ = f.d.JobFailure(st.Job, st.Err)
	}
}

func (f *testFramework) RestartJob(job string, attempt int) {
	f.mu.Lock()
	f.restarts = append(f.restarts, attempt)
	spec := f.specs[job]
	f.mu.Unlock()
	f.submit(spec)
}

func (f *testFramework) JobFailed(job string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed[job] = err
}

func (f *testFramework) lastState(task string) (TaskState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.statuses) - 1; i >= 0; i-- {
		if f.statuses[i].TaskID == task {
			return f.statuses[i].State, true
		}
	}
	return 0, false
}

var _ Framework = (*testFramework)(nil)
var _ JobOwner = (*testFramework)(nil)

var errBoom = errors.New("boom")

// flakyRunner fails the first `fails` runs of each job, then runs until
// killed.
type flakyRunner struct {
	fails int
	mu    sync.Mutex
	runs  map[string]int
}

func (r *flakyRunner) Run(ctx context.Context, task TaskSpec) error {
	r.mu.Lock()
	r.runs[task.Job]++
	n := r.runs[task.Job]
	r.mu.Unlock()
	if r.fails < 0 || n <= r.fails {
		return errBoom
	}
	<-ctx.Done()
	return ctx.Err()
}

func (r *flakyRunner) count(job string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[job]
}

func TestDriverRestartsFailedTask(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	runner := &flakyRunner{fails: 2, runs: map[string]int{}}
	d, err := NewDriver(context.Background(), DriverConfig{
		Runner: runner, CPUs: 2, MemBytes: 4 << 30, Clock: clock,
		Supervisor: SupervisorConfig{InitialBackoff: time.Second, MaxRestarts: 5, Window: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fw := newTestFramework("streaming")
	fw.d = d
	if err := d.Register("streaming", 1, fw); err != nil {
		t.Fatal(err)
	}
	if err := d.Register("streaming", 1, fw); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second Register: got %v, want ErrDuplicate", err)
	}
	if err := d.Supervise("v1", "streaming"); err != nil {
		t.Fatal(err)
	}
	fw.submit(TaskSpec{ID: "v1-0", Job: "v1", Resources: Resources{CPUs: 1, MemBytes: 1 << 30}})

	waitFor(t, clock, "third run", func() bool {
		st, _ := fw.lastState("v1-0")
		return runner.count("v1") == 3 && st == TaskRunning
	})
	fw.mu.Lock()
	restarts := append([]int(nil), fw.restarts...)
	fw.mu.Unlock()
	if len(restarts) != 2 || restarts[0] != 1 || restarts[1] != 2 {
		t.Fatalf("restarts = %v, want [1 2]", restarts)
	}
	jobs := d.Jobs()
	if len(jobs) != 1 || jobs[0].State != JobRunning || jobs[0].Restarts != 2 || !errors.Is(jobs[0].LastErr, errBoom) {
		t.Fatalf("jobs = %+v", jobs)
	}
	tasks := d.Tasks()
	if len(tasks) != 1 || tasks[0].State != TaskRunning || tasks[0].Agent != "local" {
		t.Fatalf("tasks = %+v", tasks)
	}
	if a := d.Agents(); len(a) != 1 || a[0].Used.CPUs != 1 {
		t.Fatalf("agents = %+v", a)
	}

	if err := d.Kill("v1-0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, clock, "KILLED", func() bool { st, _ := fw.lastState("v1-0"); return st == TaskKilled })
	waitFor(t, clock, "resources freed", func() bool { return d.Agents()[0].Used.IsZero() })
}

func TestDriverGivesUp(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	runner := &flakyRunner{fails: -1, runs: map[string]int{}}
	d, err := NewDriver(context.Background(), DriverConfig{
		Runner: runner, MemBytes: 1 << 30, Clock: clock,
		Supervisor: SupervisorConfig{InitialBackoff: time.Second, MaxRestarts: 2, Window: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fw := newTestFramework("streaming")
	fw.d = d
	if err := d.Register("streaming", 1, fw); err != nil {
		t.Fatal(err)
	}
	_ = d.Supervise("v1", "streaming")
	fw.submit(TaskSpec{ID: "v1-0", Job: "v1", Resources: Resources{CPUs: 0.5, MemBytes: 1 << 20}})
	waitFor(t, clock, "JobFailed", func() bool {
		fw.mu.Lock()
		defer fw.mu.Unlock()
		return fw.failed["v1"] != nil
	})
	fw.mu.Lock()
	err = fw.failed["v1"]
	fw.mu.Unlock()
	if !errors.Is(err, errBoom) {
		t.Fatalf("JobFailed error = %v, want boom", err)
	}
	if n := runner.count("v1"); n != 3 {
		t.Fatalf("runs = %d, want 3 (first run and 2 restarts)", n)
	}
	if jobs := d.Jobs(); len(jobs) != 1 || jobs[0].State != JobFailedState {
		t.Fatalf("jobs = %+v", jobs)
	}
}

// The batch framework runs a query to completion on the wall clock, next to
// a streaming framework holding most of the CPUs.
func TestDriverBatchBesideStreaming(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	runner := TaskRunnerFunc(func(ctx context.Context, task TaskSpec) error {
		if task.Job == "query1" {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-release:
		}
		return nil
	})
	d, err := NewDriver(ctx, DriverConfig{Runner: runner, CPUs: 2, MemBytes: 4 << 30, TickInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	streaming, batch := newTestFramework("streaming"), newTestFramework("batch")
	streaming.d, batch.d = d, d
	_ = d.Register("streaming", 1, streaming)
	_ = d.Register("batch", 1, batch)
	streaming.submit(TaskSpec{ID: "s1", Job: "v1", Resources: Resources{CPUs: 1.5, MemBytes: 1 << 30}})
	waitFor(t, nil, "streaming running", func() bool { st, _ := streaming.lastState("s1"); return st == TaskRunning })
	batch.submit(TaskSpec{ID: "q1", Job: "query1", Resources: Resources{CPUs: 0.5, MemBytes: 1 << 30}})
	waitFor(t, nil, "query finished", func() bool { st, _ := batch.lastState("q1"); return st == TaskFinished })
	close(release)
	waitFor(t, nil, "stream finished", func() bool { st, _ := streaming.lastState("s1"); return st == TaskFinished })
}

func TestDriverDefaultsAndClose(t *testing.T) {
	if _, err := NewDriver(context.Background(), DriverConfig{MemBytes: 1 << 30}); err == nil {
		t.Fatal("NewDriver without a runner succeeded")
	}
	run := TaskRunnerFunc(func(context.Context, TaskSpec) error { return nil })
	if _, err := NewDriver(context.Background(), DriverConfig{Runner: run}); !errors.Is(err, ErrInvalidResources) {
		t.Fatalf("NewDriver without memory: %v", err)
	}
	d, err := NewDriver(context.Background(), DriverConfig{Runner: run, MemBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, nil, "agent registered", func() bool { return len(d.Agents()) == 1 })
	if a := d.Agents()[0]; a.ID != "local" || a.Total.CPUs != float64(runtime.NumCPU()) {
		t.Fatalf("agent = %+v", a)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Accept("x", "o1", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}
