package scheduler

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Framework receives the scheduler's callbacks for one registered framework:
// the streaming framework (one job per view) or the batch framework (one
// job per ad-hoc query).
//
// The Driver calls a framework from its own goroutine, one call at a time,
// in the order the actions were produced. Callbacks must return promptly;
// they may call the Driver's methods, which only queue events.
type Framework interface {
	// ResourceOffers hands over new offers. Each must be answered with
	// Driver.Accept or Driver.Decline, or it times out.
	ResourceOffers(offers []Offer)
	// OfferRescinded withdraws an offer; accepting it now yields LOST tasks.
	OfferRescinded(offerID string)
	// StatusUpdate reports a task's new state.
	StatusUpdate(status TaskStatus)
}

// JobOwner is implemented by a Framework whose jobs the Driver supervises
// (see Driver.Supervise).
type JobOwner interface {
	// RestartJob says the job's backoff has passed: launch it again, from
	// its last committed epoch.
	RestartJob(job string, attempt int)
	// JobFailed says the supervisor gave up on the job; err is its last
	// error.
	JobFailed(job string, err error)
}

// TaskRunner runs tasks on the in-process agent; the executor implements
// it. Run blocks until the task ends: nil means FINISHED, an error FAILED.
// When ctx is cancelled (the task was killed, or the Driver closes) Run
// must return soon; its result is then reported as KILLED (or not at all
// when the Driver is closing). Run is called on its own goroutine, possibly
// for several tasks at once.
type TaskRunner interface {
	Run(ctx context.Context, task TaskSpec) error
}

// TaskRunnerFunc adapts a function to TaskRunner.
type TaskRunnerFunc func(ctx context.Context, task TaskSpec) error

// Run calls f(ctx, task).
func (f TaskRunnerFunc) Run(ctx context.Context, task TaskSpec) error { return f(ctx, task) }

// DriverConfig configures a Driver.
type DriverConfig struct {
	// Runner runs the tasks launched on the in-process agent. Required.
	Runner TaskRunner
	// MemBytes is the memory the in-process agent offers. Required.
	MemBytes int64
	// CPUs the in-process agent offers; default runtime.NumCPU().
	CPUs float64
	// AgentID names the in-process agent; default "local".
	AgentID string
	// Scheduler and Supervisor tune the state machines.
	Scheduler  Config
	Supervisor SupervisorConfig
	// Clock defaults to SystemClock.
	Clock Clock
	// TickInterval is how often time is fed to the state machines (offer
	// timeouts, refusals, restarts); default one second.
	TickInterval time.Duration
	// OnReject, when set, is told of every event the state machines
	// rejected (for logging). Called like a Framework callback.
	OnReject func(Rejected)
}

// Driver runs the Scheduler and the Supervisor for one in-process agent:
// it feeds them events and time, launches tasks on the TaskRunner, and
// carries the resulting actions to frameworks. It owns one goroutine plus
// one per running task; all stop when its context is cancelled or Close is
// called. Its methods are safe for concurrent use.
type Driver struct {
	cfg    DriverConfig
	clock  Clock
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	mu         sync.Mutex // guards everything below
	closed     bool
	sched      *Scheduler
	sup        *Supervisor
	queue      []any // Event or SupervisorEvent
	frameworks map[string]Framework
	jobOwner   map[string]string // job -> framework name
	agents     map[string]TaskRunner
	running    map[string]*taskRun // by task id
}

// taskRun is one Run call of a launched task.
type taskRun struct {
	agent  string
	cancel context.CancelFunc
	// lost: the task's agent is gone and the scheduler already reported
	// the task LOST, so its end is not reported again.
	lost bool
}

// AgentCloser is implemented by the TaskRunner of an agent in another
// process: the Driver calls AgentGone once the scheduler removed the agent
// (its connection closed, or it missed its heartbeats), so that the runner
// drops the connection. It is called like a Framework callback.
type AgentCloser interface {
	AgentGone(err error)
}

// NewDriver starts a Driver with one in-process agent sized by cfg. It
// stops when ctx is cancelled or Close is called.
func NewDriver(ctx context.Context, cfg DriverConfig) (*Driver, error) {
	if cfg.Runner == nil {
		return nil, errors.New("scheduler: DriverConfig.Runner is required")
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = float64(runtime.NumCPU())
	}
	if cfg.AgentID == "" {
		cfg.AgentID = "local"
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = time.Second
	}
	res := Resources{CPUs: cfg.CPUs, MemBytes: cfg.MemBytes}
	if err := res.Validate(); err != nil || res.MemBytes == 0 {
		return nil, fmt.Errorf("scheduler: in-process agent %s: %w", res, ErrInvalidResources)
	}
	d := &Driver{
		cfg:        cfg,
		clock:      cfg.Clock,
		wake:       make(chan struct{}, 1),
		sched:      New(cfg.Scheduler),
		sup:        NewSupervisor(cfg.Supervisor),
		frameworks: map[string]Framework{},
		jobOwner:   map[string]string{},
		agents:     map[string]TaskRunner{cfg.AgentID: cfg.Runner},
		running:    map[string]*taskRun{},
	}
	if d.clock == nil {
		d.clock = SystemClock{}
	}
	d.ctx, d.cancel = context.WithCancel(ctx)
	d.queue = append(d.queue, RegisterAgent{ID: cfg.AgentID, Resources: res})
	d.wg.Add(1)
	go d.loop()
	return d, nil
}

// Close stops the Driver: running tasks' contexts are cancelled, and Close
// waits for their Run calls and the Driver's goroutine to return.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	return nil
}

// Register registers a framework under name with a DRF weight (<= 0 means
// 1). Offers start arriving at fw's callbacks.
func (d *Driver) Register(name string, weight float64, fw Framework) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if d.frameworks[name] != nil {
		return fmt.Errorf("%w: framework %q", ErrDuplicate, name)
	}
	d.frameworks[name] = fw
	d.push(RegisterFramework{Name: name, Weight: weight})
	return nil
}

// AddAgent registers an agent of another process with its resources; the
// tasks launched on it run on runner (which may implement AgentCloser).
// The agent must call Heartbeat at least every Config.AgentTimeout. Both
// resources must be positive: an agent offering nothing is refused with
// ErrInvalidResources.
func (d *Driver) AddAgent(id string, res Resources, runner TaskRunner) error {
	if err := res.Validate(); err != nil {
		return err
	}
	if !(res.CPUs > 0) || res.MemBytes <= 0 {
		return fmt.Errorf("%w: an agent must offer some CPUs and memory, not %s", ErrInvalidResources, res)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if id == "" || d.agents[id] != nil {
		return fmt.Errorf("%w: agent %q", ErrDuplicate, id)
	}
	d.agents[id] = runner
	d.push(RegisterAgent{ID: id, Resources: res, Heartbeats: true})
	return nil
}

// Heartbeat tells the scheduler that agent id is alive.
func (d *Driver) Heartbeat(id string) error { return d.enqueue(AgentHeartbeat{ID: id}) }

// RemoveAgent removes an agent whose connection ended: its tasks become
// LOST (their Run contexts are cancelled) and its offers are rescinded.
func (d *Driver) RemoveAgent(id string, err error) error {
	return d.enqueue(AgentLost{ID: id, Err: err})
}

// Accept launches tasks on an offer (see the Accept event).
func (d *Driver) Accept(framework, offerID string, tasks []TaskSpec) error {
	return d.enqueue(Accept{Framework: framework, OfferID: offerID, Tasks: tasks})
}

// Decline returns an offer, refusing the agent for refuseFor (see Decline).
func (d *Driver) Decline(framework, offerID string, refuseFor time.Duration) error {
	return d.enqueue(Decline{Framework: framework, OfferID: offerID, RefuseFor: refuseFor})
}

// Revive clears the framework's refusals, for when it has new work.
func (d *Driver) Revive(framework string) error { return d.enqueue(Revive{Framework: framework}) }

// Kill kills a live task; its framework then sees KILLED.
func (d *Driver) Kill(taskID string) error { return d.enqueue(KillTask{TaskID: taskID}) }

// Supervise puts a job owned by framework under supervision. The framework
// reports the job's failures with JobFailure; if it implements JobOwner it
// is told when to restart the job and when the supervisor gives up.
func (d *Driver) Supervise(job, framework string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.jobOwner[job] = framework
	d.push(Supervise{Job: job})
	return nil
}

// JobFailure reports that a supervised job failed with err.
func (d *Driver) JobFailure(job string, err error) error {
	return d.enqueue(JobFailure{Job: job, Err: err})
}

// JobStopped ends a job's supervision.
func (d *Driver) JobStopped(job string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	delete(d.jobOwner, job)
	d.push(JobStopped{Job: job})
	return nil
}

// Agents returns a snapshot of the agents table.
func (d *Driver) Agents() []AgentInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sched.Agents()
}

// Frameworks returns a snapshot of the frameworks table.
func (d *Driver) Frameworks() []FrameworkInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sched.Frameworks()
}

// Tasks returns a snapshot of the live tasks.
func (d *Driver) Tasks() []TaskInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sched.Tasks()
}

// Jobs returns a snapshot of the supervised jobs.
func (d *Driver) Jobs() []JobInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sup.Jobs()
}

func (d *Driver) enqueue(ev any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.push(ev)
	return nil
}

// push queues ev and wakes the loop; d.mu is held.
func (d *Driver) push(ev any) {
	d.queue = append(d.queue, ev)
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Driver) loop() {
	defer d.wg.Done()
	tick := d.clock.After(d.cfg.TickInterval)
	for {
		d.drain()
		select {
		case <-d.ctx.Done():
			return
		case <-d.wake:
		case <-tick:
			tick = d.clock.After(d.cfg.TickInterval)
			d.step(nil)
		}
	}
}

// drain applies every queued event.
func (d *Driver) drain() {
	for d.ctx.Err() == nil {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.mu.Unlock()
			return
		}
		ev := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.mu.Unlock()
		d.step(ev)
	}
}

// step brings both state machines to the clock's time, applies ev (if not
// nil), and carries out the actions.
func (d *Driver) step(ev any) {
	d.mu.Lock()
	now := Tick{Now: d.clock.Now()}
	acts := d.sched.Step(now)
	acts = append(acts, d.sup.Step(now)...)
	switch e := ev.(type) {
	case nil:
	case Event:
		acts = append(acts, d.sched.Step(e)...)
	case SupervisorEvent:
		acts = append(acts, d.sup.Step(e)...)
	}
	d.mu.Unlock()
	d.dispatch(acts)
}

func (d *Driver) framework(name string) Framework {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frameworks[name]
}

func (d *Driver) owner(job string) JobOwner {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, _ := d.frameworks[d.jobOwner[job]].(JobOwner)
	return o
}

// dispatch carries out actions in order, outside d.mu so that callbacks can
// call the Driver. Adjacent offers to one framework are delivered together.
func (d *Driver) dispatch(acts []Action) {
	for i := 0; i < len(acts); i++ {
		switch a := acts[i].(type) {
		case Offer:
			offers := []Offer{a}
			for i+1 < len(acts) {
				next, ok := acts[i+1].(Offer)
				if !ok || next.Framework != a.Framework {
					break
				}
				offers = append(offers, next)
				i++
			}
			if fw := d.framework(a.Framework); fw != nil {
				fw.ResourceOffers(offers)
			}
		case Rescind:
			if fw := d.framework(a.Framework); fw != nil {
				fw.OfferRescinded(a.OfferID)
			}
		case TaskStatus:
			if fw := d.framework(a.Framework); fw != nil {
				fw.StatusUpdate(a)
			}
		case Launch:
			d.launch(a.Agent, a.Task)
		case Kill:
			d.mu.Lock()
			if r := d.running[a.TaskID]; r != nil {
				r.cancel()
			}
			d.mu.Unlock()
		case AgentGone:
			d.mu.Lock()
			runner := d.agents[a.ID]
			delete(d.agents, a.ID)
			for _, r := range d.running {
				if r.agent == a.ID {
					r.lost = true
					r.cancel()
				}
			}
			d.mu.Unlock()
			if c, ok := runner.(AgentCloser); ok {
				c.AgentGone(a.Err)
			}
		case RestartJob:
			if o := d.owner(a.Job); o != nil {
				o.RestartJob(a.Job, a.Attempt)
			}
		case JobFailed:
			if o := d.owner(a.Job); o != nil {
				o.JobFailed(a.Job, a.Err)
			}
			d.mu.Lock()
			delete(d.jobOwner, a.Job)
			d.mu.Unlock()
		case Rejected:
			if d.cfg.OnReject != nil {
				d.cfg.OnReject(a)
			}
		}
	}
}

// launch runs a task on its own goroutine with its agent's runner,
// reporting RUNNING and then its end as status updates.
func (d *Driver) launch(agent string, task TaskSpec) {
	ctx, cancel := context.WithCancel(d.ctx)
	run := &taskRun{agent: agent, cancel: cancel}
	d.mu.Lock()
	runner := d.agents[agent]
	if runner == nil {
		// The agent went away between the offer and the launch.
		d.mu.Unlock()
		cancel()
		_ = d.enqueue(StatusUpdate{TaskID: task.ID, State: TaskLost, Err: fmt.Errorf("%w: %q", ErrAgentLost, agent)})
		return
	}
	d.running[task.ID] = run
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer cancel()
		_ = d.enqueue(StatusUpdate{TaskID: task.ID, State: TaskRunning})
		err := runner.Run(ctx, task)
		d.mu.Lock()
		if d.running[task.ID] == run {
			delete(d.running, task.ID)
		}
		lost := run.lost
		d.mu.Unlock()
		st := StatusUpdate{TaskID: task.ID, State: TaskFinished}
		switch {
		case d.ctx.Err() != nil || lost:
			return // closing, or already reported LOST
		case ctx.Err() != nil:
			st.State, st.Err = TaskKilled, err
		case err != nil:
			st.State, st.Err = TaskFailed, err
		}
		_ = d.enqueue(st)
	}()
}
