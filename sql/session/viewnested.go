package session

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// A nested aggregation (planner.OuterAgg) keeps the outer aggregation's
// groups in memory and in <view>_outer, one row of partials per group.
// Each epoch the inner groups the epoch changed give their old rows
// (retracted: their partials subtracted) and their new rows (added); an
// outer group whose row count drops to zero is deleted.

func viewOuterTable(rel *catalog.Relation) string { return tableName(rel) + "_outer" }

func outerSpec(rel *catalog.Relation, vo *planner.OuterAgg) widecol.TableSpec {
	return groupStateSpec(viewOuterTable(rel), vo.Agg)
}

// subtractPartial takes a retracted partial v off old: the inverse of
// mergePartial for counts and sums.
func subtractPartial(name string, old, v any) (any, error) {
	if v == nil {
		return old, nil
	}
	switch name {
	case "count", "sum":
		switch b := v.(type) {
		case int64:
			a, _ := old.(int64)
			d := a - b
			if (d < a) != (b > 0) {
				return nil, pgerror.New(pgerror.CodeNumericValueOutOfRange, "bigint out of range")
			}
			return d, nil
		case float64:
			a, _ := old.(float64)
			return a - b, nil
		case catalog.Decimal:
			a, ok := old.(catalog.Decimal)
			if !ok {
				a = catalog.Decimal{Scale: b.Scale}
			}
			return catalog.Decimal{Num: a.Num.Sub(b.Num), Scale: a.Scale}, nil
		}
	}
	return nil, fmt.Errorf("cannot retract %s partials of %T", name, v)
}

// runLocal evaluates a plan over in-memory batches in this process.
func (j *viewJob) runLocal(ctx context.Context, node planner.Node, st exec.Storage) ([]arrow.RecordBatch, error) {
	op, err := exec.Build(j.env(st), node)
	if err != nil {
		return nil, err
	}
	return exec.Collect(ctx, op)
}

// upsertPlanRows runs node over rec (the rows of rel) and upserts its
// result, the view's columns with its key last, into the view's table.
func (j *viewJob) upsertPlanRows(ctx context.Context, batch *widecol.Batch, node planner.Node, rel *catalog.Relation, rec arrow.RecordBatch) (int64, error) {
	res, err := j.runLocal(ctx, node, &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{rel: {rec}}})
	if err != nil {
		return 0, err
	}
	defer releaseAll(res)
	var n int64
	for _, b := range res {
		if b.NumRows() == 0 {
			continue
		}
		out := array.NewRecordBatch(j.rel.Schema(), b.Columns(), b.NumRows())
		err := batch.Upsert(j.result, out, nil)
		out.Release()
		if err != nil {
			return 0, err
		}
		n += b.NumRows()
	}
	return n, nil
}

// applyOuter retracts the old rows of the inner groups changed this epoch
// (old holds their partials before it; groups new this epoch have none),
// adds their new rows, and writes the outer groups changed.
func (j *viewJob) applyOuter(ctx context.Context, batch *widecol.Batch, order []string, touched map[string]*groupState, old map[string][]any) (int64, error) {
	vp := j.plan
	inner := j.innerLevel()
	var oldOrder []string
	oldGroups := map[string]*groupState{}
	for _, k := range order {
		if p, ok := old[k]; ok {
			oldOrder = append(oldOrder, k)
			oldGroups[k] = &groupState{keys: touched[k].keys, partials: p}
		}
	}
	var minus, plus arrow.RecordBatch
	var err error
	if len(oldOrder) > 0 {
		if minus, err = j.aggRows(inner, oldOrder, oldGroups); err != nil {
			return 0, err
		}
		defer minus.Release()
	}
	if len(order) > 0 {
		if plus, err = j.aggRows(inner, order, touched); err != nil {
			return 0, err
		}
		defer plus.Release()
	}
	return j.applyRetractable(ctx, batch, vp.AggRel, minus, plus)
}

// applyRetractable takes the rows minus (of rel) back from the
// retractable aggregation's groups (vp.Outer), adds the rows plus, and
// writes the groups changed: deleted when no rows are left.
func (j *viewJob) applyRetractable(ctx context.Context, batch *widecol.Batch, rel *catalog.Relation, minus, plus arrow.RecordBatch) (int64, error) {
	vo := j.plan.Outer
	if j.outerT == nil {
		if err := j.loadOuter(ctx); err != nil {
			return 0, err
		}
	}
	nk := len(vo.Agg.GroupBy)
	changed := map[string]*groupState{}
	var changedOrder []string
	apply := func(rows arrow.RecordBatch, retract bool) error {
		if rows == nil || rows.NumRows() == 0 {
			return nil
		}
		parts, err := j.runLocal(ctx, vo.Agg, &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{rel: {rows}}})
		if err != nil {
			return err
		}
		defer releaseAll(parts)
		for _, b := range parts {
			for i := 0; i < int(b.NumRows()); i++ {
				keys := make([]any, nk)
				for c := range keys {
					keys[c] = valueAt(b.Column(c), i)
				}
				k := encodeKey(keys)
				g := j.outer[k]
				if g == nil {
					g = &groupState{keys: keys, partials: make([]any, len(vo.Agg.Aggs))}
					for a, call := range vo.Agg.Aggs {
						if call.Agg.Name == "count" {
							g.partials[a] = int64(0)
						}
					}
					j.outer[k] = g
				}
				for a, call := range vo.Agg.Aggs {
					v := valueAt(b.Column(nk+a), i)
					var err error
					if retract {
						g.partials[a], err = subtractPartial(call.Agg.Name, g.partials[a], v)
					} else {
						g.partials[a], err = mergePartial(call.Agg.Name, g.partials[a], v)
					}
					if err != nil {
						return err
					}
				}
				if _, ok := changed[k]; !ok {
					changed[k] = g
					changedOrder = append(changedOrder, k)
				}
			}
		}
		return nil
	}
	if nk == 0 && len(j.outer) == 0 {
		// An aggregation without GROUP BY has its one row from the start.
		g := &groupState{partials: make([]any, len(vo.Agg.Aggs))}
		for a, call := range vo.Agg.Aggs {
			if call.Agg.Name == "count" {
				g.partials[a] = int64(0)
			}
		}
		k := encodeKey(nil)
		j.outer[k] = g
		changed[k] = g
		changedOrder = append(changedOrder, k)
	}
	if err := apply(minus, true); err != nil {
		return 0, err
	}
	if err := apply(plus, false); err != nil {
		return 0, err
	}
	// Groups left without rows are deleted; the others are kept.
	var live []string
	sbld := array.NewRecordBuilder(j.eng.alloc, j.outerT.Schema)
	defer sbld.Release()
	stateRows := 0
	for _, k := range changedOrder {
		g := changed[k]
		key := g.keys
		if nk == 0 {
			key = []any{int64(0)}
		}
		if n, _ := g.partials[vo.RowCount].(int64); n <= 0 && nk > 0 {
			delete(j.outer, k)
			if err := batch.DeleteRow(j.outerT, key); err != nil {
				return 0, err
			}
			if err := batch.DeleteRow(j.result, key); err != nil {
				return 0, err
			}
			continue
		}
		live = append(live, k)
		for c, v := range key {
			t := catalog.TypeInt8
			if nk > 0 {
				t = vo.Agg.GroupBy[c].Type()
			}
			if err := appendValue(sbld.Field(c), t, v); err != nil {
				return 0, err
			}
		}
		for a, call := range vo.Agg.Aggs {
			if err := appendValue(sbld.Field(len(key)+a), call.Agg.Ret, g.partials[a]); err != nil {
				return 0, err
			}
		}
		stateRows++
	}
	if stateRows > 0 {
		rec := sbld.NewRecordBatch()
		err := batch.Upsert(j.outerT, rec, nil)
		rec.Release()
		if err != nil {
			return 0, err
		}
	}
	if len(live) == 0 {
		return 0, nil
	}
	return j.writeRows(ctx, batch, nil, j.outerLevel(), live, changed, nil)
}

// loadOuter restores the outer groups after a restart.
func (j *viewJob) loadOuter(ctx context.Context) error {
	j.outer = map[string]*groupState{}
	t, err := j.eng.store.Table(keyspaceData, viewOuterTable(j.rel))
	if err != nil {
		return err
	}
	j.outerT = t
	nk := len(j.plan.Outer.Agg.GroupBy)
	nkCols := max(nk, 1)
	return j.eng.scanTable(ctx, t, widecol.Range{}, nil, func(b arrow.RecordBatch) error {
		for i := 0; i < int(b.NumRows()); i++ {
			g := &groupState{stored: true}
			for c := 0; c < nk; c++ {
				g.keys = append(g.keys, valueAt(b.Column(c), i))
			}
			for c := nkCols; c < int(b.NumCols()); c++ {
				g.partials = append(g.partials, valueAt(b.Column(c), i))
			}
			j.outer[encodeKey(g.keys)] = g
		}
		return nil
	})
}
