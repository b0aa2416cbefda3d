package scheduler

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// remoteRunner stands for an agent of another process: its tasks run until
// cancelled, and AgentGone records why the Driver dropped it.
type remoteRunner struct {
	mu      sync.Mutex
	running map[string]bool
	gone    error
}

func newRemoteRunner() *remoteRunner { return &remoteRunner{running: map[string]bool{}} }

func (r *remoteRunner) Run(ctx context.Context, task TaskSpec) error {
	r.mu.Lock()
	r.running[task.ID] = true
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	delete(r.running, task.ID)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *remoteRunner) AgentGone(err error) {
	r.mu.Lock()
	r.gone = err
	r.mu.Unlock()
}

func (r *remoteRunner) state() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running), r.gone
}

func TestDriverRemoteAgents(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	// The in-process agent is too small for the task, so it runs on a
	// remote agent.
	d, err := NewDriver(context.Background(), DriverConfig{
		Runner: &flakyRunner{runs: map[string]int{}}, CPUs: 0.5, MemBytes: 1 << 30, Clock: clock,
		Scheduler:  Config{AgentTimeout: 3 * time.Second},
		Supervisor: SupervisorConfig{InitialBackoff: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.AddAgent("r0", Resources{CPUs: 0, MemBytes: 1 << 30}, newRemoteRunner()); !errors.Is(err, ErrInvalidResources) {
		t.Fatalf("agent without CPUs: got %v, want ErrInvalidResources", err)
	}
	if err := d.AddAgent("r0", Resources{CPUs: 1, MemBytes: -1}, newRemoteRunner()); !errors.Is(err, ErrInvalidResources) {
		t.Fatalf("agent with negative memory: got %v, want ErrInvalidResources", err)
	}
	if err := d.AddAgent("local", Resources{CPUs: 1, MemBytes: 1 << 30}, newRemoteRunner()); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("agent named like the in-process one: got %v, want ErrDuplicate", err)
	}
	fw := newTestFramework("streaming")
	fw.d = d
	if err := d.Register("streaming", 1, fw); err != nil {
		t.Fatal(err)
	}
	r1, r2 := newRemoteRunner(), newRemoteRunner()
	for id, r := range map[string]*remoteRunner{"r1": r1, "r2": r2} {
		if err := d.AddAgent(id, Resources{CPUs: 2, MemBytes: 2 << 30}, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Supervise("v1", "streaming"); err != nil {
		t.Fatal(err)
	}
	fw.submit(TaskSpec{ID: "v1-0", Job: "v1", Resources: Resources{CPUs: 1, MemBytes: 1 << 20}})
	var first, second *remoteRunner
	var secondID string
	waitFor(t, nil, "task on a remote agent", func() bool {
		n1, _ := r1.state()
		n2, _ := r2.state()
		switch {
		case n1 == 1:
			first, second, secondID = r1, r2, "r2"
		case n2 == 1:
			first, second, secondID = r2, r1, "r1"
		}
		return first != nil
	})
	firstID := "r1"
	if first == r2 {
		firstID = "r2"
	}
	if err := d.RemoveAgent(firstID, errors.New("connection reset")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nil, "LOST", func() bool { st, _ := fw.lastState("v1-0"); return st == TaskLost })
	if n, gone := first.state(); n != 0 || !errors.Is(gone, ErrAgentLost) {
		t.Fatalf("lost agent: %d tasks running, gone=%v", n, gone)
	}
	// The supervisor restarts the job on the agent left; it heartbeats
	// while the clock moves, so it is not lost.
	waitFor(t, nil, "relaunch", func() bool {
		_ = d.Heartbeat(secondID)
		clock.Advance(100 * time.Millisecond)
		time.Sleep(time.Millisecond)
		n, _ := second.state()
		return n == 1
	})
	if ts := d.Tasks(); len(ts) != 1 || ts[0].Agent != secondID {
		t.Fatalf("tasks = %+v", ts)
	}
	// Silence: the agent is lost after the timeout and its task too.
	waitFor(t, clock, "heartbeat timeout", func() bool { _, gone := second.state(); return gone != nil })
	if _, gone := second.state(); !errors.Is(gone, ErrAgentLost) {
		t.Fatalf("gone = %v", gone)
	}
	waitFor(t, nil, "task cancelled", func() bool { n, _ := second.state(); return n == 0 })
	if a := d.Agents(); len(a) != 1 || a[0].ID != "local" {
		t.Fatalf("agents = %+v", a)
	}
}
