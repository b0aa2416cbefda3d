package session

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/planner"
)

// A view's ORDER BY ... LIMIT over an aggregation (planner.AggTopPlan)
// keeps, in memory, the rows of the best groups in the view's order:
// always a prefix of all the groups' rows in that order, of at least N
// rows while there are that many groups. Each epoch the groups it
// changed leave that prefix and come back if they still rank within it
// (or if it holds every group); when fewer than N are left, the prefix is
// found again from every group. The view holds the rows of the groups at
// positions Offset to N, keyed by group: groups that enter or change are
// written, those that leave are deleted.

// The prefix keeps N rows and as many again beyond them, at least
// aggTopSlack and at most aggTopMaxSlack, so that groups falling out of
// the first N seldom call for a search of every group.
const (
	aggTopSlack    = 64
	aggTopMaxSlack = 4096
)

// aggTopSearches counts the searches of every group (rankAll), for
// tests.
var aggTopSearches atomic.Int64

type aggTop struct {
	plan *planner.AggTopPlan
	// best is the prefix, in order.
	best []*rankedRow
	// complete reports that best holds every group's row.
	complete bool
	// shown are the groups whose rows the view holds, with their key
	// values.
	shown map[string][]any
}

// rankedRow is a group's row in the view's order.
type rankedRow struct {
	key string // the group's key (aggGroup.key)
	// order is the row's ORDER BY values (ties included) encoded to
	// compare as bytes, then its key, so that no two rows are equal.
	order string
	row   []any // the row of AggTopPlan.Rel
}

// keep is how many rows the prefix holds at most.
func (at *aggTop) keep() int {
	return int(at.plan.N) + min(max(aggTopSlack, int(at.plan.N)), aggTopMaxSlack)
}

// applyAggTop ranks the rows of the groups an epoch changed and writes
// the view's rows that changed.
func (j *viewJob) applyAggTop(ctx context.Context, batch *widecol.Batch, changed []*aggGroup) (int64, error) {
	at := j.aggTop
	if at == nil {
		var err error
		if at, err = j.loadAggTop(ctx); err != nil {
			return 0, err
		}
		j.aggTop = at
	}
	rows, err := j.rankedRows(ctx, changed, nil)
	if err != nil {
		return 0, err
	}
	dirty := make(map[string]bool, len(changed))
	for _, g := range changed {
		dirty[g.key] = true
	}
	// Every group outside the prefix ranks after its last row, w. The
	// changed groups leave the prefix; those whose rows now rank before
	// w come back. Every row outside is then still after w, and every row
	// inside before it or w itself.
	var worst string
	if n := len(at.best); n > 0 {
		worst = at.best[n-1].order
	}
	at.best = slices.DeleteFunc(at.best, func(r *rankedRow) bool { return dirty[r.key] })
	for _, r := range rows {
		if at.complete || (worst != "" && r.order < worst) {
			at.best = append(at.best, r)
		}
	}
	at.sortAndCut()
	if len(at.best) < int(at.plan.N) && !at.complete {
		if err := j.rankAll(ctx, at); err != nil {
			return 0, err
		}
	}
	return j.writeAggTop(ctx, batch, at, dirty)
}

// sortAndCut orders the prefix and drops the rows beyond keep.
func (at *aggTop) sortAndCut() {
	slices.SortFunc(at.best, func(a, b *rankedRow) int { return strings.Compare(a.order, b.order) })
	if k := at.keep(); len(at.best) > k {
		clear(at.best[k:])
		at.best = at.best[:k]
		at.complete = false
	}
}

// rankAll finds the prefix again from every group.
func (j *viewJob) rankAll(ctx context.Context, at *aggTop) error {
	aggTopSearches.Add(1)
	at.best, at.complete = nil, true
	const chunk = 1 << 16
	all := make([]*aggGroup, 0, min(len(j.groups), chunk))
	flush := func() error {
		_, err := j.rankedRows(ctx, all, func(r *rankedRow) {
			at.best = append(at.best, r)
		})
		all = all[:0]
		if err != nil {
			return err
		}
		if len(at.best) > 2*at.keep() {
			at.sortAndCut()
		}
		return nil
	}
	for _, g := range j.groups {
		if all = append(all, g); len(all) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	at.sortAndCut()
	return nil
}

// rankedRows computes the rows of the groups (Post, which may drop some),
// with their order. With add set, every row goes to add; else the rows
// are returned, their values read only for those that may enter the
// prefix (those are returned with row set; the others are not returned).
func (j *viewJob) rankedRows(ctx context.Context, groups []*aggGroup, add func(*rankedRow)) ([]*rankedRow, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	vp := j.plan
	lvl := j.innerLevel()
	aggRows, err := j.groupRows(lvl, groups)
	if err != nil {
		return nil, err
	}
	defer aggRows.Release()
	res, err := j.runLocal(ctx, vp.Post, &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{lvl.rel: {aggRows}}})
	if err != nil {
		return nil, err
	}
	defer releaseAll(res)
	at := j.aggTop
	var worst string
	if at != nil && add == nil && len(at.best) > 0 && !at.complete {
		worst = at.best[len(at.best)-1].order
	}
	keyExprs := make([]planner.Expr, len(vp.AggTop.Keys))
	for i, k := range vp.AggTop.Keys {
		keyExprs[i] = k.Expr
	}
	nk := len(vp.Agg.GroupBy)
	var out []*rankedRow
	var ob, kb []byte
	for _, b := range res {
		n := int(b.NumRows())
		if n == 0 {
			continue
		}
		vals, err := evalColumns(j.env(nil), keyExprs, b)
		if err != nil {
			return nil, err
		}
		encs := make([]rowEnc, len(vals))
		for i, a := range vals {
			encs[i] = orderEncoder(a, vp.AggTop.Keys[i].Desc, vp.AggTop.Keys[i].NullsFirst)
		}
		cols := b.Columns()
		for i := 0; i < n; i++ {
			kb = kb[:0]
			for c := len(cols) - nk; c < len(cols); c++ {
				kb = appendKeyAt(kb, cols[c], i)
			}
			ob = append(encodeWith(ob[:0], encs, i), kb...)
			// Rows after the prefix's last cannot enter it (unless it
			// holds every group, or nothing).
			if add == nil && at != nil && !at.complete && (worst == "" || string(ob) >= worst) {
				continue
			}
			r := &rankedRow{key: string(kb), order: string(ob), row: make([]any, len(cols))}
			for c, a := range cols {
				r.row[c] = valueAt(a, i)
			}
			if add != nil {
				add(r)
			} else {
				out = append(out, r)
			}
		}
		releaseAll2(vals)
	}
	return out, nil
}

// writeAggTop writes the rows of the groups shown now that were not
// shown or changed, and deletes those of the groups no longer shown.
func (j *viewJob) writeAggTop(ctx context.Context, batch *widecol.Batch, at *aggTop, dirty map[string]bool) (int64, error) {
	p := at.plan
	nk := len(j.plan.Agg.GroupBy)
	keysOf := func(r *rankedRow) []any {
		if nk == 0 {
			return []any{int64(0)}
		}
		return r.row[len(r.row)-nk:]
	}
	shown := make(map[string][]any, p.N-p.Offset)
	var write []*rankedRow
	for i := int(p.Offset); i < len(at.best) && i < int(p.N); i++ {
		r := at.best[i]
		shown[r.key] = keysOf(r)
		if _, was := at.shown[r.key]; !was || dirty[r.key] {
			write = append(write, r)
		}
	}
	for k, keys := range at.shown {
		if _, ok := shown[k]; !ok {
			if err := batch.DeleteRow(j.result, keys); err != nil {
				return 0, err
			}
		}
	}
	at.shown = shown
	if len(write) == 0 {
		return 0, nil
	}
	bld := array.NewRecordBuilder(j.eng.alloc, p.Rel.Schema())
	defer bld.Release()
	for _, r := range write {
		for c, v := range r.row {
			if err := appendValue(bld.Field(c), p.Rel.Columns[c].Type, v); err != nil {
				return 0, err
			}
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	res, err := j.runLocal(ctx, p.Above, &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{p.Rel: {rec}}})
	if err != nil {
		return 0, err
	}
	defer releaseAll(res)
	visible := len(j.rel.Columns) - len(j.rel.PrimaryKey)
	out := map[string]bool{}
	var n int64
	var kb []byte
	for _, b := range res {
		rows := int(b.NumRows())
		if rows == 0 {
			continue
		}
		cols, extra := j.viewRowColumns(b, visible, nk)
		for i := 0; i < rows; i++ {
			kb = kb[:0]
			for c := visible; c < visible+nk; c++ {
				kb = appendKeyAt(kb, b.Column(c), i)
			}
			out[string(kb)] = true
		}
		rec := array.NewRecordBatch(j.rel.Schema(), cols, int64(rows))
		err := batch.Upsert(j.result, rec, nil)
		rec.Release()
		if extra != nil {
			extra.Release()
		}
		if err != nil {
			return 0, err
		}
		n += int64(rows)
	}
	// A filter above the LIMIT may drop a shown group's row.
	for _, r := range write {
		if !out[r.key] {
			if err := batch.DeleteRow(j.result, keysOf(r)); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// loadAggTop starts the ranking of a view after a start: the groups
// shown are those whose rows the view holds.
func (j *viewJob) loadAggTop(ctx context.Context) (*aggTop, error) {
	at := &aggTop{plan: j.plan.AggTop, shown: map[string][]any{}}
	var cols []string
	for _, k := range j.rel.PrimaryKey {
		cols = append(cols, j.rel.Columns[k].Name)
	}
	it, err := j.eng.store.Scan(ctx, j.result, widecol.Range{}, &widecol.ReadOptions{Columns: cols})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	nk := len(j.plan.Agg.GroupBy)
	var kb []byte
	for {
		b, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for i := 0; i < int(b.NumRows()); i++ {
			kb = kb[:0]
			keys := make([]any, b.NumCols())
			for c := range keys {
				keys[c] = valueAt(b.Column(c), i)
			}
			for c := 0; c < nk; c++ {
				kb = appendKeyAt(kb, b.Column(c), i)
			}
			at.shown[string(kb)] = keys
		}
		b.Release()
	}
	return at, nil
}
