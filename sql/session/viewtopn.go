package session

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
)

// A top-N view keeps, per partition, its best rows in memory and in its
// state table keyed by (partition values, position), with the input
// columns. Each epoch ranks the new rows into their partitions; for every
// partition that changed it rewrites the state rows and the view rows at
// its positions (the view's key), deleting the positions no longer used.

// topPart is one partition of a top-N view.
type topPart struct {
	keys []any
	rows []*topRow // best first
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
	fields = append(fields, arrow.Field{Name: "_pos", Type: arrow.PrimitiveTypes.Int64})
	key = append(key, "_pos")
	for i, c := range vp.Input.Columns() {
		fields = append(fields, catalog.Field(fmt.Sprintf("c%d_%s", i, c.Name), c.Type, true))
	}
	return widecol.TableSpec{Keyspace: keyspaceData, Name: viewStateTable(rel), Schema: arrow.NewSchema(fields, nil), PartitionKey: key}
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

// topNState is the runtime state of a top-N view.
type topNState struct {
	plan      *planner.TopNPlan
	order     []planner.SortKey
	n         int64
	rowNumber bool
	parts     map[string]*topPart
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
func (j *viewJob) applyTopN(ctx context.Context, batch *widecol.Batch, st exec.Storage) (int64, error) {
	vp := j.plan
	op, err := exec.Build(j.env(st), vp.Input)
	if err != nil {
		return 0, err
	}
	res, err := exec.Collect(ctx, op)
	if err != nil {
		return 0, err
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
	for _, b := range res {
		pks, err := evalColumns(env, vp.TopN.Call.PartitionBy, b)
		if err != nil {
			return 0, err
		}
		oks, err := evalColumns(env, orderExprs, b)
		if err != nil {
			releaseAll2(pks)
			return 0, err
		}
		for i := 0; i < int(b.NumRows()); i++ {
			keys := make([]any, len(pks))
			for c, a := range pks {
				keys[c] = valueAt(a, i)
			}
			k := encodeKey(keys)
			p := tn.parts[k]
			if p == nil {
				p = &topPart{keys: keys}
				tn.parts[k] = p
			}
			r := &topRow{order: make([]any, len(oks))}
			for c, a := range oks {
				r.order[c] = valueAt(a, i)
			}
			if int64(len(p.rows)) >= tn.n && tn.rowNumber && compareSortPrefix(tn.order, r, p.rows[len(p.rows)-1]) > 0 {
				// Worse than every kept row on the ORDER BY alone.
				continue
			}
			r.vals = make([]any, b.NumCols())
			for c := range r.vals {
				r.vals[c] = valueAt(b.Column(c), i)
			}
			if at := tn.offer(p, r); at >= 0 {
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
	if len(order) == 0 {
		return 0, nil
	}
	return j.writeTopN(ctx, batch, order, touched)
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

// writeTopN rewrites the state rows and view rows of changed partitions.
func (j *viewJob) writeTopN(ctx context.Context, batch *widecol.Batch, order []string, touched map[string]*topPart) (int64, error) {
	vp := j.plan
	tn := j.topN
	rel := vp.TopN.Rel
	inCols := vp.Input.Columns()
	relB := array.NewRecordBuilder(j.eng.alloc, rel.Schema())
	defer relB.Release()
	stB := array.NewRecordBuilder(j.eng.alloc, j.state.Schema)
	defer stB.Release()
	np := len(vp.TopN.Call.PartitionBy)
	for _, k := range order {
		p := touched[k]
		// Positions no longer used, and those about to be rewritten.
		for pos := p.from; pos < p.stored; pos++ {
			key := append(append([]any(nil), p.keys...), int64(pos))
			if err := batch.DeleteRow(j.result, key); err != nil {
				return 0, err
			}
			if pos >= len(p.rows) {
				if err := batch.DeleteRow(j.state, key); err != nil {
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
				if err := appendValue(stB.Field(np+1+c), inCols[c].Type, v); err != nil {
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
			stB.Field(np).(*array.Int64Builder).Append(int64(pos))
		}
		p.stored = len(p.rows)
	}
	srec := stB.NewRecordBatch()
	err := batch.Upsert(j.state, srec, nil)
	srec.Release()
	if err != nil {
		return 0, err
	}
	kept := relB.NewRecordBatch()
	defer kept.Release()
	st := &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{rel: {kept}}}
	op, err := exec.Build(j.env(st), vp.Post)
	if err != nil {
		return 0, err
	}
	out, err := exec.Collect(ctx, op)
	if err != nil {
		return 0, err
	}
	defer releaseAll(out)
	var n int64
	for _, b := range out {
		if b.NumRows() == 0 {
			continue
		}
		rec := array.NewRecordBatch(j.rel.Schema(), b.Columns(), b.NumRows())
		err := batch.Upsert(j.result, rec, nil)
		rec.Release()
		if err != nil {
			return 0, err
		}
		n += b.NumRows()
	}
	return n, nil
}

// loadTopN reads a top-N view's kept rows back from its state table.
func (j *viewJob) loadTopN(ctx context.Context) error {
	vp := j.plan
	tn := newTopNState(vp.TopN)
	j.topN = tn
	it, err := j.eng.store.Scan(ctx, j.state, widecol.Range{}, nil)
	if err != nil {
		return err
	}
	defer it.Close()
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
	type placed struct {
		pos int64
		r   *topRow
	}
	byPart := map[string][]placed{}
	for {
		b, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		in := array.NewRecordBatch(inSchema, b.Columns()[np+1:], b.NumRows())
		oks, err := evalColumns(env, orderExprs, in)
		if err != nil {
			in.Release()
			b.Release()
			return err
		}
		pos := b.Column(np).(*array.Int64)
		for i := 0; i < int(b.NumRows()); i++ {
			keys := make([]any, np)
			for c := range keys {
				keys[c] = valueAt(b.Column(c), i)
			}
			k := encodeKey(keys)
			p := tn.parts[k]
			if p == nil {
				p = &topPart{keys: keys}
				tn.parts[k] = p
			}
			r := &topRow{order: make([]any, len(oks)), vals: make([]any, len(inCols))}
			for c, a := range oks {
				r.order[c] = valueAt(a, i)
			}
			for c := range r.vals {
				r.vals[c] = valueAt(in.Column(c), i)
			}
			byPart[k] = append(byPart[k], placed{pos.Value(i), r})
		}
		releaseAll2(oks)
		in.Release()
		b.Release()
	}
	for k, ps := range byPart {
		sort.Slice(ps, func(a, b int) bool { return ps[a].pos < ps[b].pos })
		p := tn.parts[k]
		for _, x := range ps {
			p.rows = append(p.rows, x.r)
		}
		p.stored = len(p.rows)
	}
	return nil
}
