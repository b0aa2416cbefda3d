package scheduler

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkLaunch10k measures scheduling overhead: offering, accepting and
// launching 10,000 tasks on 4 agents, through the state machine, with
// every launched task reported RUNNING.
func BenchmarkLaunch10k(b *testing.B) {
	const tasks = 10_000
	for i := 0; i < b.N; i++ {
		s := New(Config{})
		now := time.Unix(1_700_000_000, 0)
		s.Step(Tick{Now: now})
		s.Step(RegisterFramework{Name: "streaming", Weight: 1})
		var offers []Offer
		collect := func(acts []Action) {
			for _, a := range acts {
				switch a := a.(type) {
				case Offer:
					offers = append(offers, a)
				case Launch:
					s.Step(StatusUpdate{TaskID: a.Task.ID, State: TaskRunning})
				}
			}
		}
		for a := 0; a < 4; a++ {
			collect(s.Step(RegisterAgent{ID: fmt.Sprintf("a%d", a), Resources: Resources{CPUs: 64, MemBytes: 1 << 40}}))
		}
		launched := 0
		for launched < tasks {
			if len(offers) == 0 {
				b.Fatalf("no offers after %d tasks", launched)
			}
			o := offers[0]
			offers = offers[1:]
			var batch []TaskSpec
			left := o.Resources
			for launched+len(batch) < tasks {
				r := Resources{CPUs: 0.01, MemBytes: 1 << 20}
				if !left.Contains(r) || len(batch) == 500 {
					break
				}
				left = left.Sub(r)
				batch = append(batch, TaskSpec{ID: fmt.Sprintf("t%d", launched+len(batch)), Job: "j", Resources: r})
			}
			launched += len(batch)
			collect(s.Step(Accept{Framework: "streaming", OfferID: o.ID, Tasks: batch}))
		}
		if got := len(s.Tasks()); got != tasks {
			b.Fatalf("%d tasks live, want %d", got, tasks)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/10k-tasks")
}
