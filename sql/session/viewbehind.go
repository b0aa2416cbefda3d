package session

import (
	"context"
	"sync/atomic"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/planner"
)

// A view whose epochs only read its own state back at known points
// (commitsBehind) commits each epoch behind the next one: the epoch's
// batch, with the record of the epoch planned after it, commits on its own
// goroutine while the job reads and ranks the next epoch's rows. The job
// waits for the commit before it reads its own state from the store
// (awaitBehind) and before it commits again (waitBehind); others see the
// epoch once it is in the store: FLUSH waits for it (caughtUp), and views
// reading the view read up to the epoch before (position).

// behindCommits counts the epochs committed behind the job, plannedRuns
// those run as planned with the epoch before.
var behindCommits, plannedRuns atomic.Int64

// behindCommit is an epoch's commit running behind the job.
type behindCommit struct {
	done chan struct{}
	err  error // set before done closes
}

// commitsBehind reports whether the view's epochs commit behind the next:
// top-N views reading a stream, on this process, with no other table to
// read as of an epoch.
func (j *viewJob) commitsBehind() bool {
	vp := j.plan
	return vp.Mode == planner.Incremental && vp.TopN != nil && vp.Source != nil && vp.Source.Kind == catalog.KindStream &&
		vp.Join == nil && vp.TableJoin == nil && len(vp.Lookups) == 0 && j.eng.fw.remoteTask(j.rel.Name) == nil
}

// commitBehind commits batch on a goroutine of its own after the job has
// published epoch as done (under mu, with j.behind set to the commit).
// The batch is the commit's to close.
func (j *viewJob) commitBehind(ctx context.Context, c *behindCommit, batch *widecol.Batch) {
	behindCommits.Add(1)
	go func() {
		defer close(c.done)
		defer func() {
			if r := recover(); r != nil {
				c.err = j.panicked("commit", r)
			}
		}()
		defer batch.Close()
		c.err = batch.Commit(ctx)
		if c.err == nil {
			j.mu.Lock()
			if j.behind == c {
				j.behind = nil
			}
			j.mu.Unlock()
		}
		j.eng.notifyChange()
	}()
}

// waitBehind waits for the commit running behind the job, if any, and
// returns its error. Only the job's goroutine calls it.
func (j *viewJob) waitBehind() error {
	c := j.inflight
	if c == nil {
		return nil
	}
	<-c.done
	if c.err != nil {
		return c.err
	}
	j.inflight = nil
	return nil
}

// awaitBehind is waitBehind for the job's workers, which may call it at
// once: it leaves the commit for the job to clear.
func (j *viewJob) awaitBehind() error {
	if c := j.inflight; c != nil {
		<-c.done
		return c.err
	}
	return nil
}

// endBehind waits for the commit running behind the job, whatever its
// outcome, and forgets it: the job's task is ending or starting over from
// the store.
func (j *viewJob) endBehind() {
	if c := j.inflight; c != nil {
		<-c.done
	}
	j.inflight = nil
	j.planned = nil
	j.mu.Lock()
	j.behind = nil
	j.mu.Unlock()
}

// committedLocked is the last epoch in the store: the epoch before the one
// committing behind the job, if any. j.mu is held.
func (j *viewJob) committedLocked() int64 {
	if j.behind != nil {
		return j.epoch - 1
	}
	return j.epoch
}
