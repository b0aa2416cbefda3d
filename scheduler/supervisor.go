package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// JobState is the supervision state of a job.
type JobState uint8

const (
	// JobRunning: the job is (taken to be) running.
	JobRunning JobState = iota
	// JobBackoff: the job failed and waits for its restart time.
	JobBackoff
	// JobFailedState: the supervisor gave up; the job stays failed until it
	// is supervised again.
	JobFailedState
)

// String returns the state's upper-case name, as shown by SHOW JOBS.
func (s JobState) String() string {
	switch s {
	case JobRunning:
		return "RUNNING"
	case JobBackoff:
		return "BACKOFF"
	case JobFailedState:
		return "FAILED"
	}
	return fmt.Sprintf("JobState(%d)", uint8(s))
}

// Defaults for a zero SupervisorConfig.
const (
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultMultiplier     = 2.0
	DefaultMaxRestarts    = 5
	DefaultRestartWindow  = time.Minute
)

// SupervisorConfig tunes restarts. The zero value is usable: each zero field
// takes its default.
type SupervisorConfig struct {
	// InitialBackoff is the delay before the first restart in a window.
	InitialBackoff time.Duration
	// MaxBackoff caps the delay.
	MaxBackoff time.Duration
	// Multiplier grows the delay after each failure within the window
	// (values below 1 mean the default).
	Multiplier float64
	// MaxRestarts is how many restarts are allowed within Window; the next
	// failure in the window marks the job failed.
	MaxRestarts int
	// Window is the sliding span in which failures are counted. A job that
	// runs a whole Window without failing is back to InitialBackoff.
	Window time.Duration
	// Jitter, when set, adjusts each computed delay (for example adding a
	// random fraction from a seeded source). Nil means no jitter, which
	// keeps restarts deterministic.
	Jitter func(delay time.Duration) time.Duration
}

func (c SupervisorConfig) withDefaults() SupervisorConfig {
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = DefaultInitialBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Multiplier < 1 {
		c.Multiplier = DefaultMultiplier
	}
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	if c.Window <= 0 {
		c.Window = DefaultRestartWindow
	}
	return c
}

// Supervisor decides when failed jobs restart: each supervised job has its
// own record (failure times within the window, backoff, last error). Like
// the Scheduler it is a pure state machine driven by Step; it decides only
// when to restart, and the job itself resumes from its last committed
// epoch. It is not safe for concurrent use.
type Supervisor struct {
	cfg  SupervisorConfig
	now  time.Time
	jobs map[string]*jobRecord
}

type jobRecord struct {
	state     JobState
	failures  []time.Time // within the window, oldest first
	restartAt time.Time
	lastErr   error
}

// JobInfo is a row of SHOW JOBS.
type JobInfo struct {
	Job      string
	State    JobState
	Restarts int       // failures within the current window (as of the last Tick)
	RetryAt  time.Time // when a BACKOFF job restarts
	LastErr  error
}

// NewSupervisor returns a Supervisor with no jobs.
func NewSupervisor(cfg SupervisorConfig) *Supervisor {
	return &Supervisor{cfg: cfg.withDefaults(), jobs: map[string]*jobRecord{}}
}

// Step applies one event: Supervise, JobFailure, JobStopped or Tick. A
// failure schedules a restart (emitted as RestartJob by the Tick that
// reaches its time) or, past MaxRestarts within Window, emits JobFailed.
func (s *Supervisor) Step(ev SupervisorEvent) []Action {
	var out []Action
	reject := func(format string, args ...any) {
		out = append(out, Rejected{Event: ev, Err: fmt.Errorf(format, args...)})
	}
	switch e := ev.(type) {
	case Tick:
		if e.Now.After(s.now) {
			s.now = e.Now
		}
		cut := s.now.Add(-s.cfg.Window)
		for _, name := range s.names() {
			j := s.jobs[name]
			if j.state == JobRunning {
				j.failures = slices.DeleteFunc(j.failures, func(t time.Time) bool { return !t.After(cut) })
			}
			if j.state == JobBackoff && !j.restartAt.After(s.now) {
				j.state = JobRunning
				out = append(out, RestartJob{Job: name, Attempt: len(j.failures), At: j.restartAt})
			}
		}
	case Supervise:
		if j := s.jobs[e.Job]; j != nil && j.state != JobFailedState {
			reject("%w: job %q", ErrDuplicate, e.Job)
			break
		}
		s.jobs[e.Job] = &jobRecord{}
	case JobStopped:
		if s.jobs[e.Job] == nil {
			reject("%w: %q", ErrUnknownJob, e.Job)
			break
		}
		delete(s.jobs, e.Job)
	case JobFailure:
		j := s.jobs[e.Job]
		if j == nil {
			reject("%w: %q", ErrUnknownJob, e.Job)
			break
		}
		if j.state != JobRunning {
			// Several tasks of one job may report the same failure; the
			// first one counts.
			reject("%w: job %q is %s", ErrJobState, e.Job, j.state)
			break
		}
		j.lastErr = e.Err
		cut := s.now.Add(-s.cfg.Window)
		j.failures = slices.DeleteFunc(j.failures, func(t time.Time) bool { return !t.After(cut) })
		j.failures = append(j.failures, s.now)
		if len(j.failures) > s.cfg.MaxRestarts {
			j.state = JobFailedState
			out = append(out, JobFailed{Job: e.Job, Err: fmt.Errorf(
				"job %q failed %d times within %s: %w", e.Job, len(j.failures), s.cfg.Window, e.Err)})
			break
		}
		j.state = JobBackoff
		j.restartAt = s.now.Add(s.backoff(len(j.failures)))
	default:
		reject("%w: %T", ErrUnknownEvent, ev)
	}
	return out
}

// backoff is the delay before restart number n (from 1) in the window.
func (s *Supervisor) backoff(n int) time.Duration {
	d := float64(s.cfg.InitialBackoff)
	for i := 1; i < n && d < float64(s.cfg.MaxBackoff); i++ {
		d *= s.cfg.Multiplier
	}
	delay := min(time.Duration(d), s.cfg.MaxBackoff)
	if s.cfg.Jitter != nil {
		delay = s.cfg.Jitter(delay)
	}
	return delay
}

// Jobs returns the supervised jobs, by name.
func (s *Supervisor) Jobs() []JobInfo {
	var out []JobInfo
	for _, name := range s.names() {
		j := s.jobs[name]
		info := JobInfo{Job: name, State: j.state, Restarts: len(j.failures), LastErr: j.lastErr}
		if j.state == JobBackoff {
			info.RetryAt = j.restartAt
		}
		out = append(out, info)
	}
	return out
}

// NextDeadline returns the earliest pending restart time, if any, so a
// driver can sleep until then.
func (s *Supervisor) NextDeadline() (time.Time, bool) {
	var next time.Time
	ok := false
	for _, j := range s.jobs {
		if j.state == JobBackoff && (!ok || j.restartAt.Before(next)) {
			next, ok = j.restartAt, true
		}
	}
	return next, ok
}

func (s *Supervisor) names() []string {
	names := make([]string, 0, len(s.jobs))
	for n := range s.jobs {
		names = append(names, n)
	}
	slices.SortFunc(names, cmp.Compare)
	return names
}
