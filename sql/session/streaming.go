package session

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/sqld/sqld/scheduler"
)

// Framework names registered with the scheduler.
const (
	streamingFramework = "streaming"
	batchFramework     = "batch"
)

// viewTaskResources is what one view's task asks of an agent. A view
// task sleeps between epochs, so many share a core.
var viewTaskResources = scheduler.Resources{CPUs: 0.05, MemBytes: 32 << 20}

// errKilled is the failure of a task killed by an operator.
var errKilled = errors.New("task killed")

// streaming is the streaming framework: one job per view, placed by the
// scheduler's offers and restarted by its supervisor.
type streaming struct {
	eng *Engine
	d   *scheduler.Driver

	mu      sync.Mutex
	pending []scheduler.TaskSpec
	running map[string]chan struct{} // task id -> closed when its run ends
	stopped map[string]bool          // jobs stopped for good
	// lastRun is the done channel of each job's latest run: a relaunch
	// waits for the run before it (a lost agent's) to return.
	lastRun map[string]chan struct{}
	// remote is the remote task each job's run ships its stages to.
	remote map[string]*remoteTask
	// held are the offers received and not yet used or declined.
	held map[string]scheduler.Offer
	// addrs and stages describe remote agents for sys.agents.
	addrs  map[string]string
	stages map[string]int64
	// gate is the batch framework's demand view tasks yield to.
	gate batchGate
}

// localAgent is the id of the in-process agent.
const localAgent = "local"

var (
	_ scheduler.Framework = (*streaming)(nil)
	_ scheduler.JobOwner  = (*streaming)(nil)
)

// SchedulerConfig sizes the in-process agent.
type SchedulerConfig struct {
	CPUs     float64 // 0: the machine's
	MemBytes int64   // 0: 4 GiB
	// InitialBackoff is the supervisor's first restart delay (0: 100ms).
	InitialBackoff time.Duration
}

func (e *Engine) startScheduler(cfg SchedulerConfig) error {
	if cfg.CPUs <= 0 {
		cfg.CPUs = float64(runtime.NumCPU())
	}
	if cfg.MemBytes <= 0 {
		cfg.MemBytes = 4 << 30
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = 100 * time.Millisecond
	}
	// View epochs run on at most all but one of the agent's CPUs, so
	// ad-hoc queries keep a core: the share DRF gives the batch framework
	// while views saturate the rest. A core is not enough on its own (the
	// Go scheduler, the collector and generated sources share them all),
	// so view tasks and generators also yield to running queries (see
	// batchGate).
	slots := int(cfg.CPUs) - 1
	if slots < 1 {
		slots = 1
	}
	e.streamSlots = make(chan struct{}, slots)
	fw := &streaming{eng: e, running: map[string]chan struct{}{}, stopped: map[string]bool{},
		lastRun: map[string]chan struct{}{}, remote: map[string]*remoteTask{}, held: map[string]scheduler.Offer{},
		addrs: map[string]string{}, stages: map[string]int64{},
		gate: batchGate{policy: scheduler.Yield{StreamWeight: 1, BatchWeight: 1}, cpus: int(cfg.CPUs)}}
	d, err := scheduler.NewDriver(context.Background(), scheduler.DriverConfig{
		Runner:       scheduler.TaskRunnerFunc(fw.run),
		AgentID:      localAgent,
		CPUs:         cfg.CPUs,
		MemBytes:     cfg.MemBytes,
		TickInterval: 50 * time.Millisecond,
		Supervisor:   scheduler.SupervisorConfig{InitialBackoff: cfg.InitialBackoff, MaxBackoff: 10 * time.Second, MaxRestarts: 5, Window: time.Minute},
		OnReject: func(r scheduler.Rejected) {
			e.log.Warn("scheduler rejected an event", "err", r.Err)
		},
	})
	if err != nil {
		return err
	}
	fw.d = d
	if err := d.Register(streamingFramework, 1, fw); err != nil {
		d.Close()
		return err
	}
	// Ad-hoc queries run on their sessions' goroutines; the batch
	// framework holds their share in the allocator's accounting.
	if err := d.Register(batchFramework, 1, idleFramework{d}); err != nil {
		d.Close()
		return err
	}
	e.fw = fw
	e.sched = d
	return nil
}

// launch submits a job's task and puts it under supervision.
func (f *streaming) launch(j *viewJob) {
	f.mu.Lock()
	delete(f.stopped, j.rel.Name)
	f.mu.Unlock()
	_ = f.d.Supervise(j.rel.Name, streamingFramework)
	f.submit(j)
}

func (f *streaming) submit(j *viewJob) {
	j.mu.Lock()
	j.task = fmt.Sprintf("%s-%d", j.rel.Name, j.attempt)
	spec := scheduler.TaskSpec{ID: j.task, Job: j.rel.Name, Resources: viewTaskResources}
	j.mu.Unlock()
	f.mu.Lock()
	f.pending = append(f.pending, spec)
	f.mu.Unlock()
	_ = f.d.Revive(streamingFramework)
}

// stop ends a job for good and waits for its task to return.
func (f *streaming) stop(j *viewJob) {
	f.mu.Lock()
	f.stopped[j.rel.Name] = true
	kept := f.pending[:0]
	for _, t := range f.pending {
		if t.Job != j.rel.Name {
			kept = append(kept, t)
		}
	}
	f.pending = kept
	j.mu.Lock()
	task := j.task
	j.mu.Unlock()
	done := f.running[task]
	f.mu.Unlock()
	_ = f.d.JobStopped(j.rel.Name)
	if done != nil {
		_ = f.d.Kill(task)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			f.eng.log.Warn("view task did not stop", "view", j.rel.Name)
		}
	}
	j.setStatus(JobStopped, nil)
}

// run is the in-process agent's task runner: it runs the view job named
// by the task.
func (f *streaming) run(ctx context.Context, spec scheduler.TaskSpec) error {
	return f.runOn(ctx, spec, nil)
}

// runOn runs the view job named by the task, with its stages on rt's
// remote agent when rt is set.
func (f *streaming) runOn(ctx context.Context, spec scheduler.TaskSpec, rt *remoteTask) error {
	f.eng.mu.RLock()
	j := f.eng.jobs[spec.Job]
	f.eng.mu.RUnlock()
	if j == nil {
		return fmt.Errorf("no view %q", spec.Job)
	}
	done := make(chan struct{})
	f.mu.Lock()
	f.running[spec.ID] = done
	prev := f.lastRun[spec.Job]
	f.lastRun[spec.Job] = done
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.running, spec.ID)
		if f.lastRun[spec.Job] == done {
			delete(f.lastRun, spec.Job)
		}
		if f.remote[spec.Job] == rt {
			delete(f.remote, spec.Job)
		}
		f.mu.Unlock()
		close(done)
	}()
	if prev != nil {
		// The job's previous run (on an agent that was lost) is ending:
		// its context is cancelled, and the job's state is not shared.
		select {
		case <-prev:
		case <-ctx.Done():
			return nil
		}
	}
	f.mu.Lock()
	if rt != nil {
		f.remote[spec.Job] = rt
	} else {
		delete(f.remote, spec.Job)
	}
	f.mu.Unlock()
	err := j.runTask(ctx)
	if err == nil && ctx.Err() != nil {
		f.mu.Lock()
		stopped := f.stopped[spec.Job]
		f.mu.Unlock()
		if !stopped {
			// Killed by an operator: recover like from a failure.
			return errKilled
		}
	}
	return err
}

// ResourceOffers places pending view tasks on the offers.
func (f *streaming) ResourceOffers(offers []scheduler.Offer) {
	f.mu.Lock()
	for _, o := range offers {
		f.held[o.ID] = o
	}
	f.mu.Unlock()
	f.place()
}

// OfferRescinded forgets a held offer.
func (f *streaming) OfferRescinded(id string) {
	f.mu.Lock()
	delete(f.held, id)
	f.mu.Unlock()
}

// place launches pending tasks on the held offers. Placement prefers
// remote agents: a view whose stages can run remotely (see shippable) goes
// to the remote agent with the fewest tasks (then the smallest id) that
// has room, and to the in-process agent only when no remote agent has
// room; other views run on the in-process agent. When a remote agent has
// room but its offer has not arrived yet, the task waits for it (the
// allocator offers it within the next steps). Offers left over once
// nothing waits are declined.
func (f *streaming) place() {
	agents := f.d.Agents()
	// NB: jobs are looked up without f.mu, which DROP VIEW takes while
	// holding the engine's lock.
	f.mu.Lock()
	names := make([]string, len(f.pending))
	for i, t := range f.pending {
		names[i] = t.Job
	}
	f.mu.Unlock()
	ship := map[string]bool{}
	for _, n := range names {
		ship[n] = f.shippableJob(n)
	}
	f.mu.Lock()
	tasks := map[string]int{}
	room := map[string]scheduler.Resources{}
	for _, a := range agents {
		tasks[a.ID] = a.Tasks
		room[a.ID] = a.Total.Sub(a.Used)
	}
	offers := make([]scheduler.Offer, 0, len(f.held))
	for _, o := range f.held {
		offers = append(offers, o)
	}
	sort.Slice(offers, func(a, b int) bool {
		return offers[a].Agent < offers[b].Agent || (offers[a].Agent == offers[b].Agent && offers[a].ID < offers[b].ID)
	})
	left := map[string]scheduler.Resources{}
	for _, o := range offers {
		left[o.ID] = o.Resources
	}
	heldFrom := map[string]bool{}
	for _, o := range offers {
		heldFrom[o.Agent] = true
	}
	launch := map[string][]scheduler.TaskSpec{}
	kept := f.pending[:0]
	for _, t := range f.pending {
		remoteOK := ship[t.Job]
		var best *scheduler.Offer
		for i := range offers {
			o := &offers[i]
			if !left[o.ID].Contains(t.Resources) || (o.Agent != localAgent && !remoteOK) {
				continue
			}
			if best == nil || better(o, best, tasks) {
				best = o
			}
		}
		if remoteOK && (best == nil || best.Agent == localAgent) {
			// Wait for a remote agent with room whose offer is coming.
			waiting := false
			for id, r := range room {
				if id != localAgent && !heldFrom[id] && r.Contains(t.Resources) {
					waiting = true
				}
			}
			if waiting {
				kept = append(kept, t)
				continue
			}
		}
		if best == nil {
			kept = append(kept, t)
			continue
		}
		left[best.ID] = left[best.ID].Sub(t.Resources)
		tasks[best.Agent]++
		launch[best.ID] = append(launch[best.ID], t)
	}
	f.pending = kept
	var accept []scheduler.Offer
	var decline []string
	for _, o := range offers {
		switch {
		case len(launch[o.ID]) > 0:
			accept = append(accept, o)
			delete(f.held, o.ID)
		case len(kept) == 0:
			decline = append(decline, o.ID)
			delete(f.held, o.ID)
		}
	}
	f.mu.Unlock()
	for _, o := range accept {
		_ = f.d.Accept(streamingFramework, o.ID, launch[o.ID])
	}
	for _, id := range decline {
		_ = f.d.Decline(streamingFramework, id, time.Hour)
	}
}

// better reports whether offer a is a better place than b: remote before
// in-process, then fewer tasks, then agent id.
func better(a, b *scheduler.Offer, tasks map[string]int) bool {
	if ra, rb := a.Agent != localAgent, b.Agent != localAgent; ra != rb {
		return ra
	}
	if tasks[a.Agent] != tasks[b.Agent] {
		return tasks[a.Agent] < tasks[b.Agent]
	}
	return a.Agent < b.Agent
}

// shippableJob reports whether a job's stages can run on a remote agent.
func (f *streaming) shippableJob(name string) bool {
	j := f.job(name)
	return j != nil && shippable(j.plan)
}

// remoteTask returns the remote task a job's run ships its stages to, or
// nil when it runs them here.
func (f *streaming) remoteTask(job string) *remoteTask {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.remote[job]
}

func (f *streaming) countStage(agentID string) {
	f.mu.Lock()
	f.stages[agentID]++
	f.mu.Unlock()
}

// StatusUpdate reports task failures to the supervisor.
func (f *streaming) StatusUpdate(st scheduler.TaskStatus) {
	f.mu.Lock()
	stopped := f.stopped[st.Job]
	f.mu.Unlock()
	if stopped {
		return
	}
	switch st.State {
	case scheduler.TaskFailed, scheduler.TaskLost, scheduler.TaskKilled:
		err := st.Err
		if err == nil {
			err = errKilled
		}
		if j := f.job(st.Job); j != nil {
			if errors.Is(err, errKilled) {
				j.setStatus(JobRestarting, nil)
			} else if errors.Is(err, scheduler.ErrAgentLost) {
				// Not the job's failure: it restarts on another agent, and
				// FLUSH waits for it.
				j.eng.log.Warn("view task lost with its agent", "view", st.Job, "err", err)
				j.setStatus(JobRestarting, nil)
			} else {
				j.eng.log.Error("view task failed", "view", st.Job, "err", err)
				j.setStatus(JobRestarting, err)
			}
		}
		_ = f.d.JobFailure(st.Job, err)
	}
}

func (f *streaming) job(name string) *viewJob {
	f.eng.mu.RLock()
	defer f.eng.mu.RUnlock()
	return f.eng.jobs[name]
}

// RestartJob launches a failed job again, from its last committed epoch.
func (f *streaming) RestartJob(job string, attempt int) {
	f.mu.Lock()
	stopped := f.stopped[job]
	f.mu.Unlock()
	j := f.job(job)
	if j == nil || stopped {
		return
	}
	j.mu.Lock()
	j.attempt = attempt
	j.restarts++
	j.mu.Unlock()
	f.submit(j)
}

// JobFailed marks a job FAILED after too many restarts.
func (f *streaming) JobFailed(job string, err error) {
	if j := f.job(job); j != nil {
		j.setStatus(JobFailed, err)
	}
}

// kill kills a task by id, as an operator testing recovery would.
func (f *streaming) kill(task string) error {
	f.mu.Lock()
	_, ok := f.running[task]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("task %q is not running", task)
	}
	return f.d.Kill(task)
}

// idleFramework is a framework that takes no offers.
type idleFramework struct{ d *scheduler.Driver }

func (f idleFramework) ResourceOffers(offers []scheduler.Offer) {
	for _, o := range offers {
		_ = f.d.Decline(batchFramework, o.ID, time.Hour)
	}
}
func (idleFramework) OfferRescinded(string)             {}
func (idleFramework) StatusUpdate(scheduler.TaskStatus) {}

// acquireStreaming waits for a streaming CPU slot for a view's epoch, and
// then for its place in the batch gate; it returns the context the epoch
// runs in (its yield points find the gate's slot there) and the function
// that releases both.
func (e *Engine) acquireStreaming(ctx context.Context) (context.Context, func(), error) {
	release := func() {}
	if e.streamSlots != nil {
		select {
		case e.streamSlots <- struct{}{}:
			release = func() { <-e.streamSlots }
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	// NB: the gate's slot is taken second: a view waiting for it holds
	// its CPU slot, but the unit holding a gate slot never waits for a
	// CPU slot, so they cannot wait on each other.
	ctx, leave, err := e.enterStreaming(ctx)
	if err != nil {
		release()
		return nil, nil, err
	}
	return ctx, func() { leave(); release() }, nil
}
