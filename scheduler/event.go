package scheduler

import (
	"errors"
	"time"
)

// Sentinel errors. Errors reported by the scheduler and the supervisor wrap
// one of these, with the offending names in the message.
var (
	ErrUnknownAgent          = errors.New("scheduler: unknown agent")
	ErrUnknownFramework      = errors.New("scheduler: unknown framework")
	ErrUnknownOffer          = errors.New("scheduler: unknown or expired offer")
	ErrUnknownTask           = errors.New("scheduler: unknown task")
	ErrUnknownJob            = errors.New("scheduler: unknown job")
	ErrUnknownEvent          = errors.New("scheduler: unknown event")
	ErrDuplicate             = errors.New("scheduler: already registered")
	ErrInvalidTransition     = errors.New("scheduler: invalid task state transition")
	ErrInvalidResources      = errors.New("scheduler: invalid resources")
	ErrInsufficientResources = errors.New("scheduler: task does not fit in the offer")
	ErrInvalidTask           = errors.New("scheduler: invalid task")
	ErrAgentLost             = errors.New("scheduler: agent lost")
	ErrJobState              = errors.New("scheduler: job is not running")
	ErrClosed                = errors.New("scheduler: driver closed")
)

// Event is an input of the Scheduler's Step.
type Event interface{ schedulerEvent() }

// SupervisorEvent is an input of the Supervisor's Step.
type SupervisorEvent interface{ supervisorEvent() }

// Action is an output of Step, for the driver to carry out. It is one of
// Offer, Rescind, Launch, Kill, TaskStatus, RestartJob, JobFailed, AgentGone,
// Rejected.
type Action interface{ action() }

// RegisterAgent adds an agent and its total resources. An agent with
// Heartbeats (one in another process) must send AgentHeartbeat at least
// every Config.AgentTimeout, or it is lost.
type RegisterAgent struct {
	ID         string
	Resources  Resources
	Heartbeats bool
}

// AgentHeartbeat says the agent is alive.
type AgentHeartbeat struct{ ID string }

// AgentLost removes an agent: its offers are rescinded and its live tasks
// become LOST, freeing their resources. Err, if set, says why (its
// connection closed, for example).
type AgentLost struct {
	ID  string
	Err error
}

// RegisterFramework adds a framework. Weight scales its fair share (a
// framework of weight 2 is entitled to twice the share of weight 1); zero
// or less means 1.
type RegisterFramework struct {
	Name   string
	Weight float64
}

// Accept uses an offer to launch tasks. Tasks are checked in order; one
// that does not fit in what is left of the offer fails, the others launch.
// Whatever the tasks do not use goes back to the pool at once.
type Accept struct {
	Framework string
	OfferID   string
	Tasks     []TaskSpec
}

// Decline returns an offer. The framework is not offered that agent's
// resources again for RefuseFor (Config.DefaultRefuse when zero or less).
type Decline struct {
	Framework string
	OfferID   string
	RefuseFor time.Duration
}

// Revive clears every refusal of a framework, for when it has new work.
type Revive struct{ Framework string }

// StatusUpdate is an agent's report of a task's new state.
type StatusUpdate struct {
	TaskID string
	State  TaskState
	Err    error
}

// KillTask asks for a live task to be killed. The task stays live until its
// agent reports KILLED (or another terminal state).
type KillTask struct{ TaskID string }

// Tick moves the clock. Time never goes backwards: an earlier Now is
// ignored. It is an event of both the Scheduler and the Supervisor.
type Tick struct{ Now time.Time }

// Supervise starts supervising a job, which is taken to be running.
type Supervise struct{ Job string }

// JobFailure reports that a supervised job's run failed with Err.
type JobFailure struct {
	Job string
	Err error
}

// JobStopped ends the supervision of a job (it finished or was dropped).
type JobStopped struct{ Job string }

func (RegisterAgent) schedulerEvent()     {}
func (AgentLost) schedulerEvent()         {}
func (AgentHeartbeat) schedulerEvent()    {}
func (RegisterFramework) schedulerEvent() {}
func (Accept) schedulerEvent()            {}
func (Decline) schedulerEvent()           {}
func (Revive) schedulerEvent()            {}
func (StatusUpdate) schedulerEvent()      {}
func (KillTask) schedulerEvent()          {}
func (Tick) schedulerEvent()              {}
func (Tick) supervisorEvent()             {}
func (Supervise) supervisorEvent()        {}
func (JobFailure) supervisorEvent()       {}
func (JobStopped) supervisorEvent()       {}

// Offer offers an agent's free resources to one framework until it accepts,
// declines, or the offer is rescinded (at Expires at the latest).
type Offer struct {
	ID        string
	Framework string
	Agent     string
	Resources Resources
	Expires   time.Time
}

// Rescind withdraws an outstanding offer (timed out, or its agent was lost).
type Rescind struct {
	OfferID   string
	Framework string
	Agent     string
}

// Launch starts a task on an agent. The task is STAGING.
type Launch struct {
	Agent     string
	Framework string
	Task      TaskSpec
}

// Kill asks an agent to kill a task.
type Kill struct {
	Agent  string
	TaskID string
}

// TaskStatus tells a framework that its task changed state. Err is set for
// FAILED and LOST (and for tasks refused at Accept).
type TaskStatus struct {
	Framework string
	TaskID    string
	Job       string
	Agent     string
	State     TaskState
	Err       error
}

// RestartJob tells the job's owner to start the job again now; At is the
// time the restart was scheduled for. Attempt counts restarts in the
// current window, from 1.
type RestartJob struct {
	Job     string
	Attempt int
	At      time.Time
}

// JobFailed tells the job's owner that the supervisor gave up on the job;
// Err is the job's last error.
type JobFailed struct {
	Job string
	Err error
}

// AgentGone says an agent was removed (AgentLost, or no heartbeat within
// Config.AgentTimeout), after its offers were rescinded and its tasks
// reported LOST. Err wraps ErrAgentLost. The driver drops its connection.
type AgentGone struct {
	ID  string
	Err error
}

// Rejected reports an event that could not be applied; state is unchanged.
type Rejected struct {
	Event any
	Err   error
}

func (Offer) action()      {}
func (Rescind) action()    {}
func (Launch) action()     {}
func (Kill) action()       {}
func (TaskStatus) action() {}
func (RestartJob) action() {}
func (JobFailed) action()  {}
func (Rejected) action()   {}
func (AgentGone) action()  {}
