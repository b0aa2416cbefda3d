package session

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// epochPrefetch is the next epoch's input and, for an aggregation, its
// partial aggregates, computed while the current epoch merges them into
// its groups and writes them: that part runs on one core, and the next
// epoch's input stage fills the others. It changes no state but the
// job's carried batches (readTopic), so a prefetch whose ranges the next
// epoch does not take is dropped.
type epochPrefetch struct {
	starts, ends []int64
	done         chan struct{}
	// Set by the prefetch, read after done.
	delta []arrow.RecordBatch
	parts []int
	stage []arrow.RecordBatch
	split bool
	err   error
}

// release frees what the prefetch holds.
func (p *epochPrefetch) release() {
	releaseAll(p.delta)
	releaseAll(p.stage)
	p.delta, p.stage = nil, nil
}

// prefetches reports whether the job's epochs may read their input ahead:
// an aggregation over a stream, on this process, whose first stage
// depends only on the epoch's input rows.
func (j *viewJob) prefetches() bool {
	vp := j.plan
	return vp.Mode != planner.Recompute && vp.Agg != nil && vp.TopN == nil && vp.TableJoin == nil && vp.Join == nil &&
		len(vp.Lookups) == 0 && vp.Source != nil && vp.Source.Kind == catalog.KindStream &&
		j.eng.fw.remoteTask(j.rel.Name) == nil
}

// startPrefetch starts reading the epoch after the one ending at ends,
// with the ranges the next step would take now (epochRanges), and
// evaluating its aggregation's partials.
func (j *viewJob) startPrefetch(ctx context.Context, ends []int64) {
	if !j.prefetches() {
		return
	}
	t, err := j.eng.topic(j.plan.Source)
	if err != nil {
		return
	}
	starts, next, _, more, err := j.epochRanges(t, ends)
	if err != nil || !more {
		return
	}
	p := &epochPrefetch{starts: starts, ends: next, done: make(chan struct{})}
	reduce := j.aggReduce
	j.pre = p
	go func() {
		defer close(p.done)
		defer func() {
			if r := recover(); r != nil {
				p.err = j.panicked("read ahead", r)
			}
		}()
		// Its own place among streaming work, so that it yields to
		// interactive queries as the epoch does.
		ctx, leave, err := j.eng.enterStreaming(ctx)
		if err != nil {
			p.err = err
			return
		}
		defer leave()
		if p.delta, p.parts, p.err = j.readDelta(ctx, p.starts, p.ends); p.err != nil {
			return
		}
		st := &memStorage{byName: map[string][]arrow.RecordBatch{j.plan.Source.Name: p.delta}}
		p.stage, p.split, p.err = j.aggPartials(ctx, st, reduce)
	}()
}

// takePrefetch waits for the job's prefetch, if any, and returns it when
// it read, without an error, an epoch that starts at starts and ends at or
// before ends (the source may have grown since it began: the epoch then
// takes the prefetched part); otherwise it drops it and returns nil.
// Every epoch calls it before reading input.
func (j *viewJob) takePrefetch(starts, ends []int64) *epochPrefetch {
	p := j.pre
	if p == nil {
		return nil
	}
	j.pre = nil
	<-p.done
	within := len(p.ends) == len(ends)
	for i := range p.ends {
		within = within && p.ends[i] <= ends[i]
	}
	if p.err != nil || !within || !slices.Equal(p.starts, starts) {
		p.release()
		prefetchMisses.Add(1)
		return nil
	}
	prefetchHits.Add(1)
	return p
}

// prefetchHits and prefetchMisses count the prefetches epochs took and
// dropped.
var prefetchHits, prefetchMisses atomic.Int64

// dropPrefetch waits for the job's prefetch, if any, and frees it.
func (j *viewJob) dropPrefetch() {
	if p := j.pre; p != nil {
		j.pre = nil
		<-p.done
		p.release()
	}
}
