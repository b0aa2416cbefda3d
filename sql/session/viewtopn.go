package session

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/windows"
)

// A top-N view keeps, per partition, its best rows in its state table
// keyed by (partition values, position), with the input columns, and the
// rows of recently used partitions in memory. Each epoch ranks the new
// rows into their partitions; for every partition that changed it
// rewrites the state rows and the view rows at its positions (the view's
// key), deleting the positions no longer used. Beyond topNMemoryRows rows
// in memory, the least recently used partitions keep only their worst
// row's ORDER BY values, which is enough to turn away most new rows, and
// are read back from the state table when a row enters them.

// topPart is one partition of a top-N view.
type topPart struct {
	keys []any
	rows []*topRow // best first; nil when evicted from memory
	// An evicted partition keeps its worst row's ORDER BY values.
	worst *topRow
	used  int64 // the epoch that last changed it
	// stored is the number of positions written to the store; from is
	// the first position changed in this epoch.
	stored int
	from   int
}

type topRow struct {
	order []any // ORDER BY values
	vals  []any // input columns
}

// topNSpec is the state table of a top-N view.
func topNSpec(rel *catalog.Relation, vp *planner.ViewPlan) widecol.TableSpec {
	var fields []arrow.Field
	var key []string
	for i, p := range vp.TopN.Call.PartitionBy {
		name := fmt.Sprintf("_k%d", i)
		fields = append(fields, catalog.Field(name, p.Type(), true))
		key = append(key, name)
	}
	if len(key) == 0 {
		// One partition for a top-N over everything.
		fields = append(fields, arrow.Field{Name: "_k", Type: arrow.PrimitiveTypes.Int64})
		key = append(key, "_k")
	}
	fields = append(fields, arrow.Field{Name: "_pos", Type: arrow.PrimitiveTypes.Int64})
	for i, c := range vp.Input.Columns() {
		fields = append(fields, catalog.Field(fmt.Sprintf("c%d_%s", i, c.Name), c.Type, true))
	}
	return widecol.TableSpec{Keyspace: keyspaceData, Name: viewStateTable(rel), Schema: arrow.NewSchema(fields, nil),
		PartitionKey: key, Clustering: []widecol.ClusteringColumn{{Name: "_pos"}}}
}

// compareTop orders two rows as the ranking does: by the ORDER BY keys,
// then by the remaining columns (ascending, NULLs last), as the batch
// engine breaks ties.
func compareTop(keys []planner.SortKey, a, b *topRow) int {
	for i, k := range keys {
		if c := compareSortValue(a.order[i], b.order[i], k.Desc, k.NullsFirst); c != 0 {
			return c
		}
	}
	for i := range a.vals {
		if c := compareSortValue(a.vals[i], b.vals[i], false, false); c != 0 {
			return c
		}
	}
	return 0
}

// peers reports whether two rows tie in the ORDER BY (same rank).
func peers(keys []planner.SortKey, a, b *topRow) bool {
	for i, k := range keys {
		if compareSortValue(a.order[i], b.order[i], k.Desc, k.NullsFirst) != 0 {
			return false
		}
	}
	return true
}

func compareSortValue(a, b any, desc, nullsFirst bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		if nullsFirst {
			return -1
		}
		return 1
	case b == nil:
		if nullsFirst {
			return 1
		}
		return -1
	}
	c := compareValues(a, b)
	if desc {
		c = -c
	}
	return c
}

// keep returns how many of a partition's sorted rows rank within n.
func (tp *topNState) keep(rows []*topRow) int {
	if int64(len(rows)) <= tp.n {
		return len(rows)
	}
	if tp.rowNumber {
		return int(tp.n)
	}
	// RANK: rows tied with the n-th stay.
	k := int(tp.n)
	for k < len(rows) && peers(tp.order, rows[k-1], rows[k]) {
		k++
	}
	return k
}

// rankOf returns the rank of each kept row.
func (tp *topNState) ranks(rows []*topRow) []int64 {
	out := make([]int64, len(rows))
	for i := range rows {
		switch {
		case tp.rowNumber || i == 0:
			out[i] = int64(i + 1)
		case peers(tp.order, rows[i-1], rows[i]):
			out[i] = out[i-1]
		default:
			out[i] = int64(i + 1)
		}
	}
	return out
}

// topNMemoryRows bounds the kept rows a top-N view holds in memory (the
// view's option top_n_state_rows).
const topNMemoryRows = 1 << 18

// topNBudget reads a view's top_n_state_rows option.
func topNBudget(rel *catalog.Relation) (int, error) {
	v, ok := rel.Options["top_n_state_rows"]
	if !ok {
		return topNMemoryRows, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, pgerror.New(pgerror.CodeInvalidParameterValue, "top_n_state_rows must be a non-negative integer, not %q", v)
	}
	return n, nil
}

// topNState is the runtime state of a top-N view.
type topNState struct {
	plan      *planner.TopNPlan
	order     []planner.SortKey
	n         int64
	rowNumber bool
	parts     map[string]*topPart
	// inMem counts the rows of partitions in memory.
	inMem int
}

func newTopNState(tp *planner.TopNPlan) *topNState {
	return &topNState{plan: tp, order: tp.Call.OrderBy, n: tp.N, rowNumber: tp.Call.Name == "row_number", parts: map[string]*topPart{}}
}

// offer ranks a new row into its partition and returns the first
// position it changed, or -1.
func (tp *topNState) offer(p *topPart, r *topRow) int {
	rows := p.rows
	if int64(len(rows)) >= tp.n && tp.rowNumber && compareTop(tp.order, r, rows[len(rows)-1]) >= 0 {
		return -1
	}
	i := sort.Search(len(rows), func(i int) bool { return compareTop(tp.order, r, rows[i]) < 0 })
	rows = append(rows, nil)
	copy(rows[i+1:], rows[i:])
	rows[i] = r
	k := tp.keep(rows)
	for j := k; j < len(rows); j++ {
		rows[j] = nil
	}
	p.rows = rows[:k]
	if i >= k {
		return -1
	}
	if !tp.rowNumber && i > 0 && peers(tp.order, rows[i-1], rows[i]) {
		// The ranks of the rows tied with it stay; the position of
		// its first peer is where RANK's rows may have been dropped.
		for i > 0 && peers(tp.order, rows[i-1], rows[i]) {
			i--
		}
	}
	return i
}

// stateKey is the state table's partition key of a top-N partition.
func stateKey(p *topPart) []any {
	if len(p.keys) == 0 {
		return []any{int64(0)}
	}
	return p.keys
}

// loadPart reads an evicted partition's rows back from the state table.
func (j *viewJob) loadPart(ctx context.Context, p *topPart) error {
	tn := j.topN
	rows, err := j.readTopRows(ctx, widecol.Range{Partition: stateKey(p)}, nil)
	if err != nil {
		return err
	}
	if len(rows) != p.stored {
		return fmt.Errorf("view %q: top-N partition holds %d rows in the store, want %d", j.rel.Name, len(rows), p.stored)
	}
	p.rows, p.worst = rows, nil
	tn.inMem += len(rows)
	return nil
}

// evictParts drops the rows of the least recently changed partitions from
// memory until at most half the budget is left.
func (tn *topNState) evictParts(budget int) {
	if tn.inMem <= budget {
		return
	}
	var loaded []*topPart
	for _, p := range tn.parts {
		if p.rows != nil && len(p.rows) > 0 {
			loaded = append(loaded, p)
		}
	}
	sort.Slice(loaded, func(a, b int) bool { return loaded[a].used < loaded[b].used })
	for _, p := range loaded {
		if tn.inMem <= budget/2 {
			return
		}
		w := p.rows[len(p.rows)-1]
		p.worst = &topRow{order: w.order}
		tn.inMem -= len(p.rows)
		p.rows = nil
	}
}

// evalColumns evaluates exprs over b, the caller releasing the arrays.
func evalColumns(env *exec.Env, exprs []planner.Expr, b arrow.RecordBatch) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(exprs))
	for _, e := range exprs {
		a, err := eval.Eval(&env.Env, e, b)
		if err != nil {
			releaseAll2(out)
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// applyTopN ranks the epoch's input rows and rewrites the partitions they
// changed, in the state table and in the view's rows.
//
// With EMIT ON WINDOW CLOSE, rows of windows the watermark had passed
// before the epoch are late; the view rows of a window are written once the
// watermark passes its end, and its state is then freed.
func (j *viewJob) applyTopN(ctx context.Context, batch *widecol.Batch, st exec.Storage, wmBefore, wmAfter int64) (int64, int64, error) {
	vp := j.plan
	op, err := exec.Build(j.env(st), vp.Input)
	if err != nil {
		return 0, 0, err
	}
	res, err := exec.Collect(ctx, op)
	if err != nil {
		return 0, 0, err
	}
	defer releaseAll(res)
	if j.topN == nil {
		j.topN = newTopNState(vp.TopN)
	}
	tn := j.topN
	env := j.env(nil)
	orderExprs := make([]planner.Expr, len(tn.order))
	for i, k := range tn.order {
		orderExprs[i] = k.Expr
	}
	touched := map[string]*topPart{}
	var order []string
	var late int64
	for _, b := range res {
		pks, err := evalColumns(env, vp.TopN.Call.PartitionBy, b)
		if err != nil {
			return 0, 0, err
		}
		oks, err := evalColumns(env, orderExprs, b)
		if err != nil {
			releaseAll2(pks)
			return 0, 0, err
		}
		for i := 0; i < int(b.NumRows()); i++ {
			keys := make([]any, len(pks))
			for c, a := range pks {
				keys[c] = valueAt(a, i)
			}
			k := encodeKey(keys)
			p := tn.parts[k]
			if p == nil {
				if end, ok := tn.windowEnd(&topPart{keys: keys}); ok && wmBefore != windows.NoWatermark && windows.IsLate(end, wmBefore) {
					late++
					continue
				}
				p = &topPart{keys: keys}
				tn.parts[k] = p
			}
			r := &topRow{order: make([]any, len(oks))}
			for c, a := range oks {
				r.order[c] = valueAt(a, i)
			}
			if worst := p.worstRow(); int64(p.count()) >= tn.n && worst != nil && compareSortPrefix(tn.order, r, worst) > 0 {
				// Worse than every kept row on the ORDER BY alone.
				continue
			}
			if p.rows == nil && p.stored > 0 {
				if err := j.loadPart(ctx, p); err != nil {
					releaseAll2(pks)
					releaseAll2(oks)
					return 0, 0, err
				}
			}
			r.vals = make([]any, b.NumCols())
			for c := range r.vals {
				r.vals[c] = valueAt(b.Column(c), i)
			}
			before := len(p.rows)
			at := tn.offer(p, r)
			tn.inMem += len(p.rows) - before
			if at >= 0 {
				p.used = j.epoch + 1
				if _, ok := touched[k]; !ok {
					touched[k] = p
					order = append(order, k)
					p.from = at
				} else {
					p.from = min(p.from, at)
				}
			}
		}
		releaseAll2(pks)
		releaseAll2(oks)
	}
	mode := topNRewrite
	if vp.TopN.WindowKey >= 0 {
		mode = topNStateOnly
	} else if len(order) == 0 {
		return 0, 0, nil
	}
	n, err := j.writeTopN(ctx, batch, order, touched, mode)
	if err != nil {
		return 0, 0, err
	}
	if mode == topNStateOnly && wmAfter != windows.NoWatermark {
		// Windows the watermark closed: their rows, final.
		var closing []string
		closed := map[string]*topPart{}
		for k, p := range tn.parts {
			if end, ok := tn.windowEnd(p); ok && windows.IsLate(end, wmAfter) {
				if p.rows == nil && p.stored > 0 {
					if err := j.loadPart(ctx, p); err != nil {
						return 0, 0, err
					}
				}
				closing = append(closing, k)
				closed[k] = p
			}
		}
		sort.Strings(closing)
		if n, err = j.writeTopN(ctx, batch, closing, closed, topNClose); err != nil {
			return 0, 0, err
		}
		for _, k := range closing {
			tn.inMem -= len(tn.parts[k].rows)
			delete(tn.parts, k)
		}
	}
	// Partitions changed in this epoch stay: their rows are not in the
	// store until it commits.
	budget, err := topNBudget(j.rel)
	if err != nil {
		return 0, 0, err
	}
	tn.evictParts(budget)
	return n, late, nil
}

// windowEnd is the end of a partition's window (EMIT ON WINDOW CLOSE).
func (tn *topNState) windowEnd(p *topPart) (int64, bool) {
	if tn.plan.WindowKey < 0 {
		return 0, false
	}
	v, ok := p.keys[tn.plan.WindowKey].(int64)
	return v + tn.plan.WindowSize, ok
}

// count is the number of kept rows of a partition.
func (p *topPart) count() int {
	if p.rows == nil {
		return p.stored
	}
	return len(p.rows)
}

// worstRow is the partition's last kept row (ORDER BY values at least).
func (p *topPart) worstRow() *topRow {
	if p.rows == nil {
		return p.worst
	}
	if len(p.rows) == 0 {
		return nil
	}
	return p.rows[len(p.rows)-1]
}

// compareSortPrefix compares two rows on the ORDER BY keys only.
func compareSortPrefix(keys []planner.SortKey, a, b *topRow) int {
	for i, k := range keys {
		if c := compareSortValue(a.order[i], b.order[i], k.Desc, k.NullsFirst); c != 0 {
			return c
		}
	}
	return 0
}

// Modes of writeTopN.
const (
	topNRewrite   = iota // state and view rows of changed partitions
	topNStateOnly        // state rows only (EMIT ON WINDOW CLOSE, window open)
	topNClose            // view rows written, state rows deleted (window closed)
)

// writeTopN writes the rows of the given partitions from their first
// changed position on, as mode says.
func (j *viewJob) writeTopN(ctx context.Context, batch *widecol.Batch, order []string, touched map[string]*topPart, mode int) (int64, error) {
	vp := j.plan
	tn := j.topN
	rel := vp.TopN.Rel
	inCols := vp.Input.Columns()
	relB := array.NewRecordBuilder(j.eng.alloc, rel.Schema())
	defer relB.Release()
	stB := array.NewRecordBuilder(j.eng.alloc, j.state.Schema)
	defer stB.Release()
	np := len(vp.TopN.Call.PartitionBy)
	nk := j.topNKeyCols()
	for _, k := range order {
		p := touched[k]
		if mode == topNClose {
			p.from = 0
		}
		// Positions no longer used, and those about to be rewritten.
		for pos := p.from; pos < p.stored; pos++ {
			if mode == topNRewrite {
				key := append(append([]any(nil), p.keys...), int64(pos))
				if err := batch.DeleteRow(j.result, key); err != nil {
					return 0, err
				}
			}
			if pos >= len(p.rows) || mode == topNClose {
				if err := batch.DeleteRow(j.state, append(append([]any(nil), stateKey(p)...), int64(pos))); err != nil {
					return 0, err
				}
			}
		}
		ranks := tn.ranks(p.rows)
		for pos := p.from; pos < len(p.rows); pos++ {
			r := p.rows[pos]
			for c, v := range r.vals {
				if err := appendValue(relB.Field(c), inCols[c].Type, v); err != nil {
					return 0, err
				}
				if err := appendValue(stB.Field(nk+1+c), inCols[c].Type, v); err != nil {
					return 0, err
				}
			}
			relB.Field(len(inCols)).(*array.Int64Builder).Append(ranks[pos])
			for c, v := range p.keys {
				t := vp.TopN.Call.PartitionBy[c].Type()
				if err := appendValue(relB.Field(len(inCols)+1+c), t, v); err != nil {
					return 0, err
				}
				if err := appendValue(stB.Field(c), t, v); err != nil {
					return 0, err
				}
			}
			relB.Field(len(inCols) + 1 + np).(*array.Int64Builder).Append(int64(pos))
			if np == 0 {
				stB.Field(0).(*array.Int64Builder).Append(0)
			}
			stB.Field(nk).(*array.Int64Builder).Append(int64(pos))
		}
		p.stored = len(p.rows)
	}
	if mode != topNClose {
		srec := stB.NewRecordBatch()
		err := batch.Upsert(j.state, srec, nil)
		srec.Release()
		if err != nil {
			return 0, err
		}
	}
	if mode == topNStateOnly {
		return 0, nil
	}
	kept := relB.NewRecordBatch()
	defer kept.Release()
	return j.upsertPlanRows(ctx, batch, vp.Post, rel, kept)
}

// keyCols is the number of leading key columns of the state table
// before _pos.
func (j *viewJob) topNKeyCols() int {
	return max(len(j.plan.TopN.Call.PartitionBy), 1)
}

// readTopRows reads the kept rows in a range of the state table, in key
// order; with each, if not nil, it calls fn with the row's partition
// values and position instead of collecting it.
func (j *viewJob) readTopRows(ctx context.Context, rg widecol.Range, fn func(keys []any, pos int64, r *topRow)) ([]*topRow, error) {
	vp := j.plan
	tn := j.topN
	nk := j.topNKeyCols()
	np := len(vp.TopN.Call.PartitionBy)
	inCols := vp.Input.Columns()
	fields := make([]arrow.Field, len(inCols))
	for i, c := range inCols {
		fields[i] = catalog.Field(c.Name, c.Type, true)
	}
	inSchema := arrow.NewSchema(fields, nil)
	env := j.env(nil)
	orderExprs := make([]planner.Expr, len(tn.order))
	for i, k := range tn.order {
		orderExprs[i] = k.Expr
	}
	var out []*topRow
	err := j.eng.scanTable(ctx, j.state, rg, nil, func(b arrow.RecordBatch) error {
		in := array.NewRecordBatch(inSchema, b.Columns()[nk+1:], b.NumRows())
		defer in.Release()
		oks, err := evalColumns(env, orderExprs, in)
		if err != nil {
			return err
		}
		defer releaseAll2(oks)
		pos := b.Column(nk).(*array.Int64)
		for i := 0; i < int(b.NumRows()); i++ {
			r := &topRow{order: make([]any, len(oks))}
			for c, a := range oks {
				r.order[c] = valueAt(a, i)
			}
			if fn != nil {
				keys := make([]any, np)
				for c := range keys {
					keys[c] = valueAt(b.Column(c), i)
				}
				fn(keys, pos.Value(i), r)
				continue
			}
			r.vals = make([]any, len(inCols))
			for c := range r.vals {
				r.vals[c] = valueAt(in.Column(c), i)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// loadTopN reads a top-N view's partitions back from its state table:
// each partition's size and worst row; their rows are read when needed.
func (j *viewJob) loadTopN(ctx context.Context) error {
	tn := newTopNState(j.plan.TopN)
	j.topN = tn
	_, err := j.readTopRows(ctx, widecol.Range{}, func(keys []any, pos int64, r *topRow) {
		k := encodeKey(keys)
		p := tn.parts[k]
		if p == nil {
			p = &topPart{keys: keys}
			tn.parts[k] = p
		}
		// Rows come in position order: the last is the worst.
		p.stored = int(pos) + 1
		p.worst = r
	})
	return err
}
