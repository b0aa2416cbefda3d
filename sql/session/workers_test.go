package session

import (
	"strings"
	"sync/atomic"
	"testing"
)

// A worker's panic comes back on the caller's goroutine once every worker
// has ended, where the view task's recovery meets it.
func TestInWorkersPanic(t *testing.T) {
	var ran atomic.Int32
	r := func() (r any) {
		defer func() { r = recover() }()
		inWorkers(4, func(w int) {
			ran.Add(1)
			if w == 2 {
				panic("worker two")
			}
		})
		return nil
	}()
	p, ok := r.(*workerPanic)
	if !ok || p.value != "worker two" || !strings.Contains(p.String(), "worker two") {
		t.Fatalf("recovered %v", r)
	}
	if ran.Load() != 4 {
		t.Fatalf("%d workers ran, want 4", ran.Load())
	}
	inWorkers(3, func(int) { ran.Add(1) })
	if ran.Load() != 7 {
		t.Fatalf("%d workers ran, want 7", ran.Load())
	}
}
