package session

import (
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/sqld/sqld/sql/pgerror"
)

// inWorkers runs fn(w) for each w in [0, n) on goroutines of their own and
// waits for them all. A panic in one is raised again on the caller's
// goroutine once all have ended, so that the view task's recovery sees it
// (runTask) rather than the process ending.
func inWorkers(n int, fn func(w int)) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first *workerPanic
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if first == nil {
						first = &workerPanic{value: r, stack: debug.Stack()}
					}
					mu.Unlock()
				}
			}()
			fn(w)
		}()
	}
	wg.Wait()
	if first != nil {
		panic(first)
	}
}

// workerPanic is a worker's panic, raised again by inWorkers, with the
// worker's stack.
type workerPanic struct {
	value any
	stack []byte
}

func (p *workerPanic) String() string { return fmt.Sprintf("%v\n[worker] %s", p.value, p.stack) }

// panicked turns a panic recovered on a goroutine a view job started for
// itself (a commit behind, a read ahead) into an error the job meets on
// its next step; e.log gets the stack.
func (j *viewJob) panicked(what string, r any) error {
	j.eng.log.Error("view goroutine panicked", "view", j.rel.Name, "in", what, "panic", r, "stack", string(debug.Stack()))
	return pgerror.New(pgerror.CodeInternalError, "view %q: internal error in %s: %v", j.rel.Name, what, r)
}
