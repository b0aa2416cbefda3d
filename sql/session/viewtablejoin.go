package session

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
)

// A view over a join of a stream with a table or a view (TableJoinPlan)
// keeps:
//   - the stream side's rows by join key, in <view>_sside (_jk, _e, _n),
//     read back when the key's table rows change;
//   - the table side's rows by join key, in <view>_tside (_jk, _i) and in
//     memory, to probe new stream rows and to tell which keys changed.
//
// Each epoch first compares the table side's current rows with the kept
// ones (when the table or view changed since the last look): for each
// key whose rows differ, the view's rows of the key (one partition of its
// result) are deleted and the key's kept stream rows joined again. Then
// the epoch's new stream rows are kept and joined with the table side.
// So the view equals the batch join of all stream rows with the table as
// it is now, updates and deletes included.

func viewSSideTable(rel *catalog.Relation) string { return tableName(rel) + "_sside" }
func viewTSideTable(rel *catalog.Relation) string { return tableName(rel) + "_tside" }

// tableJoinSpecs returns the specs of a table join's two state tables.
func tableJoinSpecs(rel *catalog.Relation, tj *planner.TableJoinPlan) []widecol.TableSpec {
	side := func(name, seq string, n planner.Node, clustering ...string) widecol.TableSpec {
		fields := []arrow.Field{{Name: "_jk", Type: arrow.BinaryTypes.Binary}}
		var cl []widecol.ClusteringColumn
		for _, c := range append(clustering, seq) {
			fields = append(fields, arrow.Field{Name: c, Type: arrow.PrimitiveTypes.Int64})
			cl = append(cl, widecol.ClusteringColumn{Name: c})
		}
		for i, c := range n.Columns() {
			fields = append(fields, catalog.Field(fmt.Sprintf("c%d", i), c.Type, true))
		}
		return widecol.TableSpec{Keyspace: keyspaceData, Name: name, Schema: arrow.NewSchema(fields, nil),
			PartitionKey: []string{"_jk"}, Clustering: cl}
	}
	return []widecol.TableSpec{
		side(viewSSideTable(rel), "_n", tj.Stream.Input, "_e"),
		side(viewTSideTable(rel), "_i", tj.Table.Input),
	}
}

// tableJoinState is the in-memory part of a table join's state.
type tableJoinState struct {
	sside, tside *widecol.Table
	// rows holds the table side's rows by encoded join key, and enc the
	// same rows encoded, sorted, to compare with the table's current rows.
	rows map[string][][]any
	enc  map[string][]string
	// hasStream caches join keys known to have kept stream rows.
	hasStream map[string]bool
}

// loadTableJoin opens the state tables and reads the table side's rows.
func (j *viewJob) loadTableJoin(ctx context.Context) (*tableJoinState, error) {
	e := j.eng
	st := &tableJoinState{rows: map[string][][]any{}, enc: map[string][]string{}, hasStream: map[string]bool{}}
	var err error
	if st.sside, err = e.store.Table(keyspaceData, viewSSideTable(j.rel)); err != nil {
		return nil, err
	}
	if st.tside, err = e.store.Table(keyspaceData, viewTSideTable(j.rel)); err != nil {
		return nil, err
	}
	err = e.scanTable(ctx, st.tside, widecol.Range{}, nil, func(b arrow.RecordBatch) error {
		for i := 0; i < int(b.NumRows()); i++ {
			k := string(b.Column(0).(*array.Binary).Value(i))
			row := make([]any, b.NumCols()-2)
			for c := range row {
				row[c] = valueAt(b.Column(c+2), i)
			}
			st.rows[k] = append(st.rows[k], row)
			st.enc[k] = append(st.enc[k], encodeKey(row))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k := range st.enc {
		slices.Sort(st.enc[k])
	}
	return st, nil
}

// keyedRows evaluates a side's plan over st and returns its rows with
// their encoded join keys; rows with a NULL key (which match nothing)
// have ok false.
type keyedRow struct {
	key  string
	ok   bool
	vals []any
}

func (j *viewJob) keyedRows(ctx context.Context, side *planner.JoinSide, st exec.Storage) ([]keyedRow, error) {
	env := j.env(st)
	res, err := j.runLocal(ctx, side.Input, st)
	if err != nil {
		return nil, err
	}
	defer releaseAll(res)
	var out []keyedRow
	for _, b := range res {
		keys := make([]arrow.Array, len(side.Keys))
		for i, k := range side.Keys {
			a, err := eval.Eval(&env.Env, k, b)
			if err != nil {
				releaseAll2(keys[:i])
				return nil, err
			}
			keys[i] = a
		}
		kv := make([]any, len(keys))
		for r := 0; r < int(b.NumRows()); r++ {
			row := keyedRow{ok: true, vals: make([]any, b.NumCols())}
			for c := range row.vals {
				row.vals[c] = valueAt(b.Column(c), r)
			}
			for i, a := range keys {
				kv[i] = valueAt(a, r)
				if kv[i] == nil {
					row.ok = false
				}
			}
			row.key = encodeKey(kv)
			out = append(out, row)
		}
		releaseAll2(keys)
	}
	return out, nil
}

// tableJoinOut builds the joined rows of an epoch.
type tableJoinOut struct {
	j    *viewJob
	tj   *planner.TableJoinPlan
	bld  *array.RecordBuilder
	rows int
	// minus collects the joined rows taken back, for an aggregation of
	// the joined rows (nil without one).
	minus *tableJoinOut
}

func (o *tableJoinOut) add(key string, epoch, n int64, s []any, t []any, ti int64) error {
	cols := o.j.plan.TableJoin.Joined.Columns
	f := 0
	put := func(vals []any, width int) error {
		for c := 0; c < width; c++ {
			var v any
			if vals != nil {
				v = vals[c]
			}
			if err := appendValue(o.bld.Field(f), cols[f].Type, v); err != nil {
				return err
			}
			f++
		}
		return nil
	}
	sw, tw := len(o.tj.Stream.Input.Columns()), len(o.tj.Table.Input.Columns())
	var err error
	if o.tj.StreamLeft {
		if err = put(s, sw); err == nil {
			err = put(t, tw)
		}
	} else if err = put(t, tw); err == nil {
		err = put(s, sw)
	}
	if err != nil {
		return err
	}
	o.bld.Field(f).(*array.BinaryBuilder).Append([]byte(key))
	o.bld.Field(f + 1).(*array.Int64Builder).Append(epoch)
	o.bld.Field(f + 2).(*array.Int64Builder).Append(n)
	o.bld.Field(f + 3).(*array.Int64Builder).Append(ti)
	o.rows++
	return nil
}

// join adds the rows of one stream row joined with its key's table rows.
func (o *tableJoinOut) join(key string, epoch, n int64, s []any, trows [][]any) error {
	for i, t := range trows {
		if err := o.add(key, epoch, n, s, t, int64(i)); err != nil {
			return err
		}
	}
	if len(trows) == 0 && o.tj.PadStream {
		return o.add(key, epoch, n, s, nil, -1)
	}
	return nil
}

// pads adds the NULL-padded rows of a key's table rows, which no stream
// row matches.
func (o *tableJoinOut) pads(key string, trows [][]any) error {
	if !o.tj.PadTable {
		return nil
	}
	for i, t := range trows {
		if err := o.add(key, -1, -1, nil, t, int64(i)); err != nil {
			return err
		}
	}
	return nil
}

// applyTableJoin runs one epoch of a table join view (see above).
func (j *viewJob) applyTableJoin(ctx context.Context, batch *widecol.Batch, st *memStorage, epoch int64, checkTable bool) (int64, error) {
	e := j.eng
	tj := j.plan.TableJoin
	if j.tj == nil {
		s, err := j.loadTableJoin(ctx)
		if err != nil {
			return 0, err
		}
		j.tj, checkTable = s, true
	}
	ok := false
	defer func() {
		if !ok {
			j.tj = nil // reloaded from the store on the next epoch
		}
	}()
	s := j.tj
	out := &tableJoinOut{j: j, tj: tj, bld: array.NewRecordBuilder(e.alloc, tj.Joined.Schema())}
	defer out.bld.Release()
	if j.plan.Outer != nil {
		// An aggregation of the joined rows takes back the rows a key
		// had before it is joined again.
		out.minus = &tableJoinOut{j: j, tj: tj, bld: array.NewRecordBuilder(e.alloc, tj.Joined.Schema())}
		defer out.minus.bld.Release()
	}
	// The epoch's new stream rows.
	rows, err := j.keyedRows(ctx, &tj.Stream, st)
	if err != nil {
		return 0, err
	}
	newKeys := map[string]bool{}
	for _, r := range rows {
		if r.ok {
			newKeys[r.key] = true
		}
	}
	rejoined := map[string]bool{}
	if checkTable {
		snap := e.store.NewSnapshot()
		rows, err := j.keyedRows(ctx, &tj.Table, &storage{eng: e, snap: snap, mem: e.alloc})
		snap.Close()
		if err != nil {
			return 0, err
		}
		cur := map[string][][]any{}
		for _, r := range rows {
			// A row with a NULL key matches nothing; it is kept for its
			// NULL-padded row when the table side is preserved.
			if r.ok || tj.PadTable {
				cur[r.key] = append(cur[r.key], r.vals)
			}
		}
		var changed []string
		for k, rs := range cur {
			enc := make([]string, len(rs))
			for i, r := range rs {
				enc[i] = encodeKey(r)
			}
			slices.Sort(enc)
			if !slices.Equal(enc, s.enc[k]) {
				changed = append(changed, k)
			}
			s.enc[k] = enc
		}
		for k := range s.enc {
			if _, ok := cur[k]; !ok {
				changed = append(changed, k)
				delete(s.enc, k)
			}
		}
		slices.Sort(changed)
		for _, k := range changed {
			if err := j.rejoinKey(ctx, batch, s, out, k, cur[k], newKeys[k]); err != nil {
				return 0, err
			}
			rejoined[k] = true
		}
	}
	sb := array.NewRecordBuilder(e.alloc, s.sside.Schema)
	defer sb.Release()
	// A key's first stream rows retract its table rows' NULL-padded rows.
	fresh := map[string]bool{}
	for _, r := range rows {
		if !tj.PadTable || !r.ok || fresh[r.key] || rejoined[r.key] || len(s.rows[r.key]) == 0 {
			continue
		}
		had, err := j.keptStreamRows(ctx, s, r.key)
		if err != nil {
			return 0, err
		}
		fresh[r.key] = true
		if had {
			continue
		}
		if out.minus != nil {
			if err := out.minus.pads(r.key, s.rows[r.key]); err != nil {
				return 0, err
			}
		} else if err := batch.DeletePartition(j.result, []any{[]byte(r.key)}); err != nil {
			return 0, err
		}
	}
	for n, r := range rows {
		if r.ok {
			if tj.PadTable {
				s.hasStream[r.key] = true
			}
			sb.Field(0).(*array.BinaryBuilder).Append([]byte(r.key))
			sb.Field(1).(*array.Int64Builder).Append(epoch)
			sb.Field(2).(*array.Int64Builder).Append(int64(n))
			for c, v := range r.vals {
				if err := appendValue(sb.Field(3+c), tj.Stream.Input.Columns()[c].Type, v); err != nil {
					return 0, err
				}
			}
		}
		var trows [][]any
		key := r.key
		if r.ok {
			trows = s.rows[r.key]
		} else {
			// A NULL key matches nothing, and its padded row has a
			// partition of its own, apart from the table's rows with
			// NULL keys (encoded keys never start with 0).
			key = "\x00" + key
		}
		if err := out.join(key, epoch, int64(n), r.vals, trows); err != nil {
			return 0, err
		}
	}
	if kept := sb.NewRecordBatch(); kept.NumRows() > 0 {
		err := batch.Upsert(s.sside, kept, nil)
		kept.Release()
		if err != nil {
			return 0, err
		}
	} else {
		kept.Release()
	}
	n, err := j.writeTableJoinRows(ctx, batch, out)
	if err != nil {
		return 0, err
	}
	ok = true
	return n, nil
}

// rejoinKey replaces the view's rows of join key k: its table rows are
// now trows. hasNew tells that the epoch brings stream rows of the key,
// so its table rows are matched.
func (j *viewJob) rejoinKey(ctx context.Context, batch *widecol.Batch, s *tableJoinState, out *tableJoinOut, k string, trows [][]any, hasNew bool) error {
	tj := j.plan.TableJoin
	oldT := s.rows[k]
	if out.minus == nil {
		if err := batch.DeletePartition(j.result, []any{[]byte(k)}); err != nil {
			return err
		}
	}
	if err := batch.DeletePartition(s.tside, []any{[]byte(k)}); err != nil {
		return err
	}
	if len(trows) > 0 {
		tb := array.NewRecordBuilder(j.eng.alloc, s.tside.Schema)
		for i, r := range trows {
			tb.Field(0).(*array.BinaryBuilder).Append([]byte(k))
			tb.Field(1).(*array.Int64Builder).Append(int64(i))
			for c, v := range r {
				if err := appendValue(tb.Field(2+c), tj.Table.Input.Columns()[c].Type, v); err != nil {
					tb.Release()
					return err
				}
			}
		}
		rec := tb.NewRecordBatch()
		tb.Release()
		err := batch.Upsert(s.tside, rec, nil)
		rec.Release()
		if err != nil {
			return err
		}
		s.rows[k] = trows
	} else {
		delete(s.rows, k)
	}
	// The key's stream rows kept so far, joined again.
	matched := false
	err := j.eng.scanTable(ctx, s.sside, widecol.Range{Partition: []any{[]byte(k)}}, nil, func(b arrow.RecordBatch) error {
		matched = true
		for i := 0; i < int(b.NumRows()); i++ {
			vals := make([]any, b.NumCols()-3)
			for c := range vals {
				vals[c] = valueAt(b.Column(3+c), i)
			}
			ep, n := b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)
			if err := out.join(k, ep, n, vals, trows); err != nil {
				return err
			}
			if out.minus != nil {
				if err := out.minus.join(k, ep, n, vals, oldT); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil || matched {
		return err
	}
	if out.minus != nil {
		if err := out.minus.pads(k, oldT); err != nil {
			return err
		}
	}
	if hasNew {
		return nil
	}
	return out.pads(k, trows)
}

// keptStreamRows reports whether the join key k has stream rows kept
// from earlier epochs. Keys found to have some are remembered.
func (j *viewJob) keptStreamRows(ctx context.Context, s *tableJoinState, k string) (bool, error) {
	if s.hasStream[k] {
		return true, nil
	}
	it, err := j.eng.store.Scan(ctx, s.sside, widecol.Range{Partition: []any{[]byte(k)}}, &widecol.ReadOptions{BatchSize: 1, Columns: []string{"_e"}})
	if err != nil {
		return false, err
	}
	defer it.Close()
	b, err := it.Next(ctx)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	b.Release()
	s.hasStream[k] = true
	return true, nil
}

// writeTableJoinRows runs the view's plan over the joined rows and
// upserts the result, or feeds the rows taken back and added to the
// view's aggregation.
func (j *viewJob) writeTableJoinRows(ctx context.Context, batch *widecol.Batch, out *tableJoinOut) (int64, error) {
	if out.minus != nil {
		minus, plus := out.minus.bld.NewRecordBatch(), out.bld.NewRecordBatch()
		defer minus.Release()
		defer plus.Release()
		return j.applyRetractable(ctx, batch, j.plan.TableJoin.Joined, minus, plus)
	}
	if out.rows == 0 {
		return 0, nil
	}
	pairs := out.bld.NewRecordBatch()
	defer pairs.Release()
	return j.upsertPlanRows(ctx, batch, j.plan.Input, j.plan.TableJoin.Joined, pairs)
}
