package session

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/windows"
)

// A view over an append-only view (one whose rows are only ever added,
// keyed by (_epoch, _seq); catalog.Relation.AppendOnly) reads it like a
// stream with one partition whose offsets are the other view's epochs:
// each epoch of this view reads the rows the other view's epochs since
// the last one added. Rows, once added, never change, so a replayed
// epoch reads the same rows again.
//
// When the view read carries a watermark (catalog.Watermark.From), an
// epoch that reads up to its epoch E takes its watermark after E, which
// that view keeps for its recent epochs (viewJob.marks). The value is
// recorded in the epoch's plan, so a replay uses it again; when it is no
// longer known (the reader is far behind, or the view read restarted
// since E) the watermark stays as it was, which only delays windows.

// maxSourceEpochs caps the upstream epochs one epoch reads.
const maxSourceEpochs = 64

// stepViewSource runs an epoch when the view read has committed epochs
// not read yet.
func (j *viewJob) stepViewSource(ctx context.Context, first bool) (bool, error) {
	upstream := j.eng.position(j.plan.Source.Name)
	start := int64(0)
	if len(j.offsets) == 1 {
		start = j.offsets[0]
	}
	end := min(upstream, start+maxSourceEpochs)
	if end <= start && !(first && j.epoch == 0) {
		return false, nil
	}
	end = max(end, start)
	wm := windows.NoWatermark
	if j.readsViewWatermark() {
		wm = j.watermark
		if w, ok := j.eng.watermarkAt(j.plan.Source.Name, end); ok {
			wm = max(wm, w)
		}
	}
	if err := j.runIncremental(ctx, []int64{start}, []int64{end}, []bool{true}, wm); err != nil {
		return false, err
	}
	return end < upstream, nil
}

// watermarkAt returns view name's watermark after its epoch, when the
// view carries one and still knows it.
func (e *Engine) watermarkAt(name string, epoch int64) (int64, bool) {
	e.mu.RLock()
	j := e.jobs[name]
	e.mu.RUnlock()
	if j == nil {
		return 0, false
	}
	return j.watermarkAt(epoch)
}

// readViewEpochs reads the rows the view read added in epochs (from, to].
func (j *viewJob) readViewEpochs(ctx context.Context, from, to int64) ([]arrow.RecordBatch, []int, error) {
	j.eng.mu.RLock()
	t := j.eng.tables[j.plan.Source.Name]
	j.eng.mu.RUnlock()
	if t == nil {
		var err error
		if t, err = j.eng.store.Table(keyspaceData, tableName(j.plan.Source)); err != nil {
			return nil, nil, err
		}
	}
	snap := j.eng.store.NewSnapshot()
	defer snap.Close()
	var out []arrow.RecordBatch
	var parts []int
	for e := from + 1; e <= to; e++ {
		it, err := snap.Scan(ctx, t, widecol.Range{Partition: []any{e}}, &widecol.ReadOptions{Allocator: j.eng.alloc, BatchSize: 8192})
		if err != nil {
			releaseAll(out)
			return nil, nil, err
		}
		for {
			b, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				it.Close()
				releaseAll(out)
				return nil, nil, err
			}
			out = append(out, b)
			parts = append(parts, 0)
		}
		it.Close()
	}
	return out, parts, nil
}
