// Package scheduler places sqld's tasks on resources and keeps failed jobs
// running: Mesos's two-level offer scheduling with Akka-style supervision.
//
// # Model
//
// Agents hold resources (CPUs and memory). Frameworks — the streaming
// framework (one job per view) and the batch framework (one job per ad-hoc
// query) — receive offers of an agent's free resources and answer each by
// accepting it with tasks to launch or declining it, optionally refusing
// that agent for a while. Tasks move STAGING -> RUNNING -> FINISHED |
// FAILED | KILLED | LOST; every change is reported to the task's framework.
//
// # Scheduler
//
// Scheduler is a pure, deterministic state machine: Step(Event) returns the
// Actions (Offer, Rescind, Launch, Kill, TaskStatus, Rejected) a driver must
// carry out. It has no goroutines and reads no clock; time advances only by
// Tick events and never goes backwards. Iteration orders are fixed (agents
// and tasks by id, offers by age, frameworks by share then registration),
// so a sequence of events always yields the same actions.
//
// After every event the allocator runs: each agent's free resources (total
// minus live tasks minus outstanding offers), if they reach Config.MinOffer,
// are offered whole to one framework, the one with the smallest weighted
// dominant share (Dominant Resource Fairness) counting both its tasks and
// its outstanding offers, among frameworks not refusing that agent. What an
// Accept leaves unused is offered again in the same Step, so a framework
// holding most of the cluster never keeps the rest from the others.
//
// Accept checks tasks in order against what is left of the offer: a task
// that does not fit, or is invalid, gets a FAILED TaskStatus wrapping
// ErrInsufficientResources or ErrInvalidTask (a duplicate or empty task id
// is Rejected instead, since a status could not name the task safely); the
// others launch. Accepting an unknown, rescinded or foreign offer makes its
// tasks LOST. Offers expire after Config.OfferTimeout and are rescinded;
// the framework is then refused that agent for Config.DefaultRefuse. When
// an agent is lost its offers are rescinded and its live tasks become LOST
// (wrapping ErrAgentLost), freeing their resources; frameworks relaunch them
// on offers from other agents. An agent registered with Heartbeats (one in
// another process) is lost the same way when no AgentHeartbeat arrived
// within Config.AgentTimeout; AgentGone then tells the driver to drop it. Terminal tasks are forgotten, so their ids
// can be reused by a relaunch.
//
// An event that cannot be applied (unknown names, invalid transitions,
// duplicates) yields a Rejected action wrapping one of the package's
// sentinel errors and changes nothing. Nothing panics on bad input.
//
// # Supervisor
//
// Supervisor is a second pure state machine, with one record per supervised
// job. After a JobFailure it waits an exponential backoff (InitialBackoff,
// times Multiplier per failure in the window, capped at MaxBackoff, jitter
// only from an injected function) and then, on the Tick that reaches that
// time, emits RestartJob. More than MaxRestarts failures within Window
// emit JobFailed with the last error, and the job stays FAILED. Failures
// older than Window are forgotten, so a job that ran a whole window is back
// to the initial backoff. The supervisor decides only when; restarting from
// the last committed epoch is the job's own concern.
//
// # Driver
//
// Driver runs both state machines for one in-process agent (sized to the
// machine's CPUs and a given memory) and the agents of other processes
// added with AddAgent (each with its own TaskRunner; Heartbeat and
// RemoveAgent report their liveness) on one goroutine, ticking them from an
// injected Clock. Frameworks register with a Framework implementation and
// answer offers through the Driver's methods; tasks run on the TaskRunner
// the executor provides, and their completion or failure flows back as
// status updates. Callbacks are made from the Driver's goroutine in action
// order. Close (or cancelling the Driver's context) stops everything and
// waits for it.
//
// Snapshots for system tables: Agents, Frameworks, Tasks, Offers (Scheduler)
// and Jobs (Supervisor), also on Driver.
//
// The package imports nothing of sqld's.
package scheduler
