package session

import (
	"context"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/exec"

	"github.com/sqld/sqld/planner"
)

// An epoch's input is evaluated on several cores when it is large: each
// worker runs the stage over its share of the source's rows, and the
// shares' outputs are put back in input order. That is the stage's output
// when the stage works row by row (filters, projections, windows), and
// what a caller merging rows by key wants from a partial aggregation (a
// group may then come out once per share).

// splitMinRows is the fewest input rows per worker worth another core.
const splitMinRows = 8 << 10

// maxSplit bounds the workers of one epoch.
const maxSplit = 4

// splitWorkers is how many workers an epoch of rows input rows uses.
func splitWorkers(rows int64) int {
	return int(min(int64(runtime.GOMAXPROCS(0)), maxSplit, rows/splitMinRows))
}

// splitInput returns the number of workers for the epoch's input in st,
// below 2 when it is not worth splitting or cannot be split.
func (j *viewJob) splitInput(st exec.Storage) int {
	if _, ok := st.(*memStorage); !ok || j.plan.Source == nil || j.eng.fw.remoteTask(j.rel.Name) != nil {
		return 1
	}
	return splitWorkers(j.inputRows(st))
}

// inputRows is the number of rows of the view's source in the epoch's
// input st (0 unless st holds them in memory).
func (j *viewJob) inputRows(st exec.Storage) int64 {
	ms, ok := st.(*memStorage)
	if !ok || j.plan.Source == nil {
		return 0
	}
	var rows int64
	for _, b := range ms.byName[j.plan.Source.Name] {
		rows += b.NumRows()
	}
	return rows
}

// runSplit evaluates node over the epoch's input in st as runStage does,
// splitting the source's rows among workers; see above for which stages
// it suits.
func (j *viewJob) runSplit(ctx context.Context, node planner.Node, st *memStorage) ([]arrow.RecordBatch, error) {
	n := j.splitInput(st)
	if n < 2 {
		return j.runStage(ctx, node, st)
	}
	src := j.plan.Source.Name
	delta := st.byName[src]
	shares := splitRows(delta, n)
	defer func() {
		for _, s := range shares {
			releaseAll(s)
		}
	}()
	out := make([][]arrow.RecordBatch, n)
	errs := make([]error, n)
	inWorkers(len(shares), func(w int) {
		sub := &memStorage{batches: st.batches, byName: make(map[string][]arrow.RecordBatch, len(st.byName)), lookup: st.lookup}
		for k, v := range st.byName {
			sub.byName[k] = v
		}
		sub.byName[src] = shares[w]
		out[w], errs[w] = j.runStage(ctx, node, sub)
	})
	var all []arrow.RecordBatch
	var err error
	for w := range out {
		if errs[w] != nil && err == nil {
			err = errs[w]
		}
		all = append(all, out[w]...)
	}
	if err != nil {
		releaseAll(all)
		return nil, err
	}
	return all, nil
}

// runInput runs a row-by-row stage over the epoch's input, split among
// workers when it is large.
func (j *viewJob) runInput(ctx context.Context, node planner.Node, st exec.Storage) ([]arrow.RecordBatch, error) {
	if ms, ok := st.(*memStorage); ok && j.splitInput(st) >= 2 {
		return j.runSplit(ctx, node, ms)
	}
	return j.runStage(ctx, node, st)
}

// splitRows divides batches into n shares of about equal rows, in order,
// slicing batches where a share ends. The caller releases the shares.
func splitRows(batches []arrow.RecordBatch, n int) [][]arrow.RecordBatch {
	var total int64
	for _, b := range batches {
		total += b.NumRows()
	}
	shares := make([][]arrow.RecordBatch, n)
	w := 0
	var filled int64
	want := func(w int) int64 { return total*int64(w+1)/int64(n) - total*int64(w)/int64(n) }
	for _, b := range batches {
		var at int64
		for at < b.NumRows() {
			take := min(b.NumRows()-at, want(w)-filled)
			if w == n-1 {
				take = b.NumRows() - at
			}
			if take <= 0 {
				w++
				filled = 0
				continue
			}
			shares[w] = append(shares[w], b.NewSlice(at, at+take))
			at += take
			filled += take
		}
	}
	return shares
}
