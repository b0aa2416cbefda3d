package scheduler

import "fmt"

// TaskState is the life-cycle state of a task. A task starts in TaskStaging
// and moves forward only:
//
//	STAGING -> RUNNING -> FINISHED | FAILED | KILLED | LOST
//	STAGING -> FAILED | KILLED | LOST
type TaskState uint8

const (
	// TaskStaging: launched on an agent, not yet reported running.
	TaskStaging TaskState = iota
	// TaskRunning: the agent reported the task running.
	TaskRunning
	// TaskFinished: the task ended successfully (terminal).
	TaskFinished
	// TaskFailed: the task ended with an error (terminal).
	TaskFailed
	// TaskKilled: the task was killed on request (terminal).
	TaskKilled
	// TaskLost: the task's agent was lost, or the task never reached an
	// agent (terminal). The framework may launch it again elsewhere.
	TaskLost
	numTaskStates
)

var taskStateNames = [numTaskStates]string{"STAGING", "RUNNING", "FINISHED", "FAILED", "KILLED", "LOST"}

// String returns the state's upper-case name, as shown in system tables.
func (s TaskState) String() string {
	if s < numTaskStates {
		return taskStateNames[s]
	}
	return fmt.Sprintf("TaskState(%d)", uint8(s))
}

// ParseTaskState is the inverse of String.
func ParseTaskState(name string) (TaskState, error) {
	for i, n := range taskStateNames {
		if n == name {
			return TaskState(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown task state %q", ErrInvalidTransition, name)
}

// Terminal reports whether no transition leaves s.
func (s TaskState) Terminal() bool { return s >= TaskFinished && s < numTaskStates }

// CanTransition reports whether a task in state s may move to state to.
func (s TaskState) CanTransition(to TaskState) bool {
	if to >= numTaskStates {
		return false
	}
	switch s {
	case TaskStaging:
		return to != TaskStaging && to != TaskFinished
	case TaskRunning:
		return to.Terminal()
	}
	return false
}

// TaskSpec describes one task a framework launches on an offer.
type TaskSpec struct {
	// ID names the task; unique among live tasks. A task ID may be reused
	// once the earlier task with that ID has reached a terminal state, which
	// is how a supervised job relaunches its task.
	ID string
	// Job is the job (view or query) the task belongs to.
	Job string
	// Resources is what the task holds on its agent while it is live.
	Resources Resources
	// Data is opaque to the scheduler and handed to the TaskRunner as is
	// (for example the plan fragment the task runs).
	Data any
}
