package scheduler

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Defaults for a zero Config.
const (
	DefaultOfferTimeout = 10 * time.Second
	DefaultRefuse       = 5 * time.Second
	DefaultMinOfferCPUs = 0.01
	DefaultMinOfferMem  = 32 << 20
	DefaultAgentTimeout = 5 * time.Second
)

// Config tunes the Scheduler. The zero value is usable: each zero field
// takes its default.
type Config struct {
	// OfferTimeout is how long an offer stays outstanding before it is
	// rescinded. Default DefaultOfferTimeout.
	OfferTimeout time.Duration
	// DefaultRefuse is the refusal applied by a Decline without RefuseFor,
	// and to a framework whose offer timed out, so that an idle framework
	// does not receive the same resources over and over. Default
	// DefaultRefuse.
	DefaultRefuse time.Duration
	// MinOffer is the smallest free amount worth offering: an agent's free
	// resources are offered when they reach MinOffer.CPUs or
	// MinOffer.MemBytes. Default DefaultMinOfferCPUs, DefaultMinOfferMem.
	MinOffer Resources
	// AgentTimeout is how long an agent registered with Heartbeats may go
	// without an AgentHeartbeat before it is lost. Default
	// DefaultAgentTimeout.
	AgentTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.OfferTimeout <= 0 {
		c.OfferTimeout = DefaultOfferTimeout
	}
	if c.DefaultRefuse <= 0 {
		c.DefaultRefuse = DefaultRefuse
	}
	if c.AgentTimeout <= 0 {
		c.AgentTimeout = DefaultAgentTimeout
	}
	if c.MinOffer.IsZero() {
		c.MinOffer = Resources{CPUs: DefaultMinOfferCPUs, MemBytes: DefaultMinOfferMem}
	}
	return c
}

// Scheduler is the master: a deterministic state machine holding agents,
// frameworks, outstanding offers and live tasks. Feed it events with Step
// and carry out the actions it returns. It is not safe for concurrent use.
type Scheduler struct {
	cfg        Config
	now        time.Time
	agents     map[string]*agentState
	frameworks map[string]*frameworkState
	offers     map[string]*offerState
	tasks      map[string]*taskState
	refusals   map[refusalKey]time.Time
	offerSeq   int
	fwSeq      int
}

type agentState struct {
	id                   string
	total, used, offered Resources
	// heartbeats: the agent is lost when lastSeen is older than
	// Config.AgentTimeout.
	heartbeats bool
	lastSeen   time.Time
}

type frameworkState struct {
	name               string
	weight             float64
	seq                int // registration order, the DRF tie-breaker
	allocated, offered Resources
}

type offerState struct {
	Offer
	seq int
}

type taskState struct {
	spec      TaskSpec
	framework string
	agent     string
	state     TaskState
}

type refusalKey struct{ framework, agent string }

// New returns an empty Scheduler. Its clock starts at the zero time until
// the first Tick.
func New(cfg Config) *Scheduler {
	return &Scheduler{
		cfg:        cfg.withDefaults(),
		agents:     map[string]*agentState{},
		frameworks: map[string]*frameworkState{},
		offers:     map[string]*offerState{},
		tasks:      map[string]*taskState{},
		refusals:   map[refusalKey]time.Time{},
	}
}

// Now returns the time of the latest Tick.
func (s *Scheduler) Now() time.Time { return s.now }

// Step applies one event and returns the actions it causes, in order. After
// every event the allocator runs, so freed resources are offered in the same
// Step that freed them. An event that cannot be applied yields a Rejected
// action and leaves the state as it was.
func (s *Scheduler) Step(ev Event) []Action {
	var out []Action
	reject := func(format string, args ...any) {
		out = append(out, Rejected{Event: ev, Err: fmt.Errorf(format, args...)})
	}
	switch e := ev.(type) {
	case Tick:
		out = s.tick(e.Now, out)
	case RegisterAgent:
		switch {
		case e.ID == "":
			reject("%w: empty agent id", ErrUnknownAgent)
		case s.agents[e.ID] != nil:
			reject("%w: agent %q", ErrDuplicate, e.ID)
		case e.Resources.Validate() != nil:
			reject("agent %q: %w", e.ID, e.Resources.Validate())
		default:
			s.agents[e.ID] = &agentState{id: e.ID, total: e.Resources, heartbeats: e.Heartbeats, lastSeen: s.now}
		}
	case AgentHeartbeat:
		a := s.agents[e.ID]
		if a == nil {
			reject("%w: %q", ErrUnknownAgent, e.ID)
			break
		}
		a.lastSeen = s.now
	case AgentLost:
		if s.agents[e.ID] == nil {
			reject("%w: %q", ErrUnknownAgent, e.ID)
			break
		}
		err := e.Err
		if err == nil {
			err = ErrAgentLost
		} else if !errors.Is(err, ErrAgentLost) {
			err = fmt.Errorf("%w: %w", ErrAgentLost, err)
		}
		out = s.loseAgent(e.ID, err, out)
	case RegisterFramework:
		switch {
		case e.Name == "":
			reject("%w: empty framework name", ErrUnknownFramework)
		case s.frameworks[e.Name] != nil:
			reject("%w: framework %q", ErrDuplicate, e.Name)
		default:
			w := e.Weight
			if !(w > 0) {
				w = 1
			}
			s.fwSeq++
			s.frameworks[e.Name] = &frameworkState{name: e.Name, weight: w, seq: s.fwSeq}
		}
	case Accept:
		if s.frameworks[e.Framework] == nil {
			reject("%w: %q", ErrUnknownFramework, e.Framework)
			break
		}
		o := s.offers[e.OfferID]
		if o == nil || o.Framework != e.Framework {
			if len(e.Tasks) == 0 {
				reject("%w: %q for framework %q", ErrUnknownOffer, e.OfferID, e.Framework)
			}
			// The framework raced a rescind: its tasks never reached an
			// agent, so they are LOST and may be launched on another offer.
			for _, t := range e.Tasks {
				out = append(out, TaskStatus{Framework: e.Framework, TaskID: t.ID, Job: t.Job, State: TaskLost,
					Err: fmt.Errorf("%w: %q", ErrUnknownOffer, e.OfferID)})
			}
			break
		}
		out = s.accept(o, e.Tasks, out)
	case Decline:
		if s.frameworks[e.Framework] == nil {
			reject("%w: %q", ErrUnknownFramework, e.Framework)
			break
		}
		o := s.offers[e.OfferID]
		if o == nil || o.Framework != e.Framework {
			reject("%w: %q for framework %q", ErrUnknownOffer, e.OfferID, e.Framework)
			break
		}
		s.removeOffer(o)
		s.refuse(o.Framework, o.Agent, e.RefuseFor)
	case Revive:
		if s.frameworks[e.Framework] == nil {
			reject("%w: %q", ErrUnknownFramework, e.Framework)
			break
		}
		for k := range s.refusals {
			if k.framework == e.Framework {
				delete(s.refusals, k)
			}
		}
	case StatusUpdate:
		t := s.tasks[e.TaskID]
		switch {
		case t == nil:
			reject("%w: %q", ErrUnknownTask, e.TaskID)
		case !t.state.CanTransition(e.State):
			reject("%w: task %q %s -> %s", ErrInvalidTransition, e.TaskID, t.state, e.State)
		default:
			out = s.setState(t, e.State, e.Err, out)
		}
	case KillTask:
		t := s.tasks[e.TaskID]
		if t == nil {
			reject("%w: %q", ErrUnknownTask, e.TaskID)
			break
		}
		out = append(out, Kill{Agent: t.agent, TaskID: t.spec.ID})
	default:
		reject("%w: %T", ErrUnknownEvent, ev)
	}
	return s.allocate(out)
}

func (s *Scheduler) tick(now time.Time, out []Action) []Action {
	if now.After(s.now) {
		s.now = now
	}
	for k, until := range s.refusals {
		if !until.After(s.now) {
			delete(s.refusals, k)
		}
	}
	for _, a := range s.sortedAgents() {
		if a.heartbeats && s.now.Sub(a.lastSeen) > s.cfg.AgentTimeout {
			out = s.loseAgent(a.id, fmt.Errorf("%w: no heartbeat for %s", ErrAgentLost, s.now.Sub(a.lastSeen)), out)
		}
	}
	for _, o := range s.sortedOffers() {
		if !o.Expires.After(s.now) {
			s.removeOffer(o)
			s.refuse(o.Framework, o.Agent, 0)
			out = append(out, Rescind{OfferID: o.ID, Framework: o.Framework, Agent: o.Agent})
		}
	}
	return out
}

// loseAgent removes agent id; err (wrapping ErrAgentLost) is the error of
// its tasks and of the AgentGone action that ends the list.
func (s *Scheduler) loseAgent(id string, err error, out []Action) []Action {
	for _, o := range s.sortedOffers() {
		if o.Agent == id {
			s.removeOffer(o)
			out = append(out, Rescind{OfferID: o.ID, Framework: o.Framework, Agent: o.Agent})
		}
	}
	for _, t := range s.sortedTasks() {
		if t.agent == id {
			out = s.setState(t, TaskLost, fmt.Errorf("agent %q: %w", id, err), out)
		}
	}
	for k := range s.refusals {
		if k.agent == id {
			delete(s.refusals, k)
		}
	}
	delete(s.agents, id)
	return append(out, AgentGone{ID: id, Err: err})
}

func (s *Scheduler) accept(o *offerState, tasks []TaskSpec, out []Action) []Action {
	s.removeOffer(o)
	if len(tasks) == 0 {
		// Accepting nothing is declining.
		s.refuse(o.Framework, o.Agent, 0)
		return out
	}
	a, fw := s.agents[o.Agent], s.frameworks[o.Framework]
	left := o.Resources
	for _, spec := range tasks {
		fail := func(err error) {
			out = append(out, TaskStatus{Framework: fw.name, TaskID: spec.ID, Job: spec.Job, Agent: a.id,
				State: TaskFailed, Err: err})
		}
		switch {
		case spec.ID == "" || s.tasks[spec.ID] != nil:
			// NB: not a TaskStatus, which the framework would take for news
			// of the live task with that id (or could not match at all).
			err := fmt.Errorf("%w: empty task id", ErrInvalidTask)
			if spec.ID != "" {
				err = fmt.Errorf("%w: task %q is live", ErrDuplicate, spec.ID)
			}
			out = append(out, Rejected{Event: Accept{Framework: fw.name, OfferID: o.ID, Tasks: []TaskSpec{spec}}, Err: err})
		case spec.Resources.Validate() != nil:
			fail(fmt.Errorf("task %q: %w", spec.ID, spec.Resources.Validate()))
		case spec.Resources.IsZero():
			fail(fmt.Errorf("%w: task %q asks for no resources", ErrInvalidTask, spec.ID))
		case !left.Contains(spec.Resources):
			fail(fmt.Errorf("%w: task %q needs %s, offer %s has %s left",
				ErrInsufficientResources, spec.ID, spec.Resources, o.ID, left))
		default:
			left = left.Sub(spec.Resources)
			a.used = a.used.Add(spec.Resources)
			fw.allocated = fw.allocated.Add(spec.Resources)
			s.tasks[spec.ID] = &taskState{spec: spec, framework: fw.name, agent: a.id, state: TaskStaging}
			out = append(out, Launch{Agent: a.id, Framework: fw.name, Task: spec})
		}
	}
	return out
}

// setState moves t to state (already validated) and reports it to its
// framework; a terminal task's resources are freed and the task forgotten.
func (s *Scheduler) setState(t *taskState, state TaskState, err error, out []Action) []Action {
	t.state = state
	out = append(out, TaskStatus{Framework: t.framework, TaskID: t.spec.ID, Job: t.spec.Job, Agent: t.agent,
		State: state, Err: err})
	if state.Terminal() {
		if a := s.agents[t.agent]; a != nil {
			a.used = a.used.Sub(t.spec.Resources)
		}
		if fw := s.frameworks[t.framework]; fw != nil {
			fw.allocated = fw.allocated.Sub(t.spec.Resources)
		}
		delete(s.tasks, t.spec.ID)
	}
	return out
}

func (s *Scheduler) removeOffer(o *offerState) {
	if a := s.agents[o.Agent]; a != nil {
		a.offered = a.offered.Sub(o.Resources)
	}
	if fw := s.frameworks[o.Framework]; fw != nil {
		fw.offered = fw.offered.Sub(o.Resources)
	}
	delete(s.offers, o.ID)
}

func (s *Scheduler) refuse(framework, agent string, d time.Duration) {
	if d <= 0 {
		d = s.cfg.DefaultRefuse
	}
	k := refusalKey{framework, agent}
	if until := s.now.Add(d); until.After(s.refusals[k]) {
		s.refusals[k] = until
	}
}

// allocate offers every agent's free resources, if worth offering, to the
// eligible framework with the smallest dominant share.
func (s *Scheduler) allocate(out []Action) []Action {
	total := s.total()
	for _, a := range s.sortedAgents() {
		free := a.total.Sub(a.used).Sub(a.offered)
		if free.CPUs < s.cfg.MinOffer.CPUs && free.MemBytes < s.cfg.MinOffer.MemBytes {
			continue
		}
		fw := s.pick(a.id, total)
		if fw == nil {
			continue
		}
		s.offerSeq++
		o := &offerState{seq: s.offerSeq, Offer: Offer{
			ID: fmt.Sprintf("o%d", s.offerSeq), Framework: fw.name, Agent: a.id, Resources: free,
			Expires: s.now.Add(s.cfg.OfferTimeout),
		}}
		s.offers[o.ID] = o
		a.offered = a.offered.Add(free)
		fw.offered = fw.offered.Add(free)
		out = append(out, o.Offer)
	}
	return out
}

// pick returns the framework to offer agent's resources to: among those not
// refusing the agent, the smallest weighted dominant share of what it holds
// and is being offered, ties broken by registration order.
func (s *Scheduler) pick(agent string, total Resources) *frameworkState {
	var best *frameworkState
	var bestShare float64
	for _, fw := range s.frameworks {
		if until, ok := s.refusals[refusalKey{fw.name, agent}]; ok && until.After(s.now) {
			continue
		}
		share := dominantShare(fw.allocated.Add(fw.offered), total) / fw.weight
		if best == nil || share < bestShare || (share == bestShare && fw.seq < best.seq) {
			best, bestShare = fw, share
		}
	}
	return best
}

func dominantShare(held, total Resources) float64 {
	var share float64
	if total.CPUs > 0 {
		share = held.CPUs / total.CPUs
	}
	if total.MemBytes > 0 {
		share = max(share, float64(held.MemBytes)/float64(total.MemBytes))
	}
	return share
}

func (s *Scheduler) total() Resources {
	var t Resources
	for _, a := range s.agents {
		t = t.Add(a.total)
	}
	return t
}

func (s *Scheduler) sortedAgents() []*agentState {
	as := make([]*agentState, 0, len(s.agents))
	for _, a := range s.agents {
		as = append(as, a)
	}
	slices.SortFunc(as, func(x, y *agentState) int { return cmp.Compare(x.id, y.id) })
	return as
}

func (s *Scheduler) sortedOffers() []*offerState {
	os := make([]*offerState, 0, len(s.offers))
	for _, o := range s.offers {
		os = append(os, o)
	}
	slices.SortFunc(os, func(x, y *offerState) int { return cmp.Compare(x.seq, y.seq) })
	return os
}

func (s *Scheduler) sortedTasks() []*taskState {
	ts := make([]*taskState, 0, len(s.tasks))
	for _, t := range s.tasks {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(x, y *taskState) int { return cmp.Compare(x.spec.ID, y.spec.ID) })
	return ts
}
