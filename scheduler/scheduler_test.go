package scheduler

import (
	"errors"
	"testing"
)

func TestTaskStateTransitions(t *testing.T) {
	allowed := map[[2]TaskState]bool{}
	for _, to := range []TaskState{TaskRunning, TaskFailed, TaskKilled, TaskLost} {
		allowed[[2]TaskState{TaskStaging, to}] = true
	}
	for _, to := range []TaskState{TaskFinished, TaskFailed, TaskKilled, TaskLost} {
		allowed[[2]TaskState{TaskRunning, to}] = true
	}
	for from := TaskState(0); from <= numTaskStates; from++ {
		for to := TaskState(0); to <= numTaskStates; to++ {
			if got := from.CanTransition(to); got != allowed[[2]TaskState{from, to}] {
				t.Errorf("%s -> %s: got %v", from, to, got)
			}
		}
		if from < numTaskStates {
			back, err := ParseTaskState(from.String())
			if err != nil || back != from {
				t.Errorf("ParseTaskState(%s) = %v, %v", from, back, err)
			}
		}
	}
	if s := TaskState(99).String(); s != "TaskState(99)" {
		t.Errorf("String of an invalid state = %q", s)
	}
	if _, err := ParseTaskState("DONE"); err == nil {
		t.Error("ParseTaskState(DONE) succeeded")
	}
	for s, want := range map[JobState]string{JobRunning: "RUNNING", JobBackoff: "BACKOFF", JobFailedState: "FAILED", 9: "JobState(9)"} {
		if s.String() != want {
			t.Errorf("JobState %d = %q, want %q", s, s.String(), want)
		}
	}
}

type strayEvent struct{ Tick }

func TestUnknownEventRejected(t *testing.T) {
	acts := New(Config{}).Step(strayEvent{})
	if len(acts) != 1 || !errors.Is(acts[0].(Rejected).Err, ErrUnknownEvent) {
		t.Fatalf("got %v", acts)
	}
	acts = NewSupervisor(SupervisorConfig{}).Step(strayEvent{})
	if len(acts) != 1 || !errors.Is(acts[0].(Rejected).Err, ErrUnknownEvent) {
		t.Fatalf("got %v", acts)
	}
}

func TestResourcesArithmetic(t *testing.T) {
	var r Resources
	for range 10 {
		r = r.Add(Resources{CPUs: 0.1})
	}
	if r.CPUs != 1 {
		t.Errorf("ten times 0.1 CPU = %v", r.CPUs)
	}
	for range 10 {
		r = r.Sub(Resources{CPUs: 0.1})
	}
	if !r.IsZero() {
		t.Errorf("leftover %v", r)
	}
	for n, want := range map[int64]string{0: "0B", 1000: "1000B", 1536: "1536B", 3 << 10: "3KiB", 4 << 30: "4GiB", 5 << 40: "5TiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
