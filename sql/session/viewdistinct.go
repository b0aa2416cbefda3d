package session

import (
	"context"
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/windows"
)

// count(DISTINCT x) in an incremental aggregation: each group remembers
// the values it has seen, per distinct aggregate, in memory and in the
// view's _distinct table (one row per group, aggregate and value); a
// value not seen before adds one to the group's count. A group's values
// are freed with the group when its window closes.

func viewDistinctTable(rel *catalog.Relation) string { return tableName(rel) + "_distinct" }

func distinctSpec(rel *catalog.Relation) widecol.TableSpec {
	return widecol.TableSpec{Keyspace: keyspaceData, Name: viewDistinctTable(rel),
		Schema: arrow.NewSchema([]arrow.Field{
			{Name: "_g", Type: arrow.BinaryTypes.Binary},
			{Name: "_a", Type: arrow.PrimitiveTypes.Int64},
			{Name: "_v", Type: arrow.BinaryTypes.Binary},
		}, nil),
		PartitionKey: []string{"_g"}, Clustering: []widecol.ClusteringColumn{{Name: "_a"}, {Name: "_v"}}}
}

// distinctTable returns the view's table of distinct values.
func (j *viewJob) distinctTable() (*widecol.Table, error) {
	if j.distinct == nil {
		t, err := j.eng.store.Table(keyspaceData, viewDistinctTable(j.rel))
		if err != nil {
			return nil, err
		}
		j.distinct = t
	}
	return j.distinct, nil
}

// applyDistinct counts the epoch's new distinct values into the groups'
// partials. It runs after the epoch's partials are merged, so every
// group with rows this epoch exists; rows of windows closed before the
// epoch are late and skipped, as there.
func (j *viewJob) applyDistinct(ctx context.Context, batch *widecol.Batch, st *memStorage, wmBefore int64) error {
	vp := j.plan
	t, err := j.distinctTable()
	if err != nil {
		return err
	}
	res, err := j.runStage(ctx, vp.DistinctIn, st)
	if err != nil {
		return err
	}
	defer releaseAll(res)
	nk := len(vp.Agg.GroupBy)
	bld := array.NewRecordBuilder(j.eng.alloc, t.Schema)
	defer bld.Release()
	gb := bld.Field(0).(*array.BinaryBuilder)
	ab := bld.Field(1).(*array.Int64Builder)
	vb := bld.Field(2).(*array.BinaryBuilder)
	rows := 0
	keys := make([]any, nk)
	var kb [9]byte
	for _, b := range res {
		for i := 0; i < int(b.NumRows()); i++ {
			for c := range keys {
				keys[c] = valueAt(b.Column(c), i)
			}
			if vp.WindowKey >= 0 {
				if start, ok := keys[vp.WindowKey].(int64); ok && windows.IsLate(start+vp.WindowSize, wmBefore) {
					continue
				}
			}
			k := encodeKey(keys)
			g := j.groups[k]
			if g == nil {
				continue
			}
			if g.distinct == nil {
				g.distinct = make([]map[string]struct{}, len(vp.Distincts))
			}
			for d, da := range vp.Distincts {
				f := b.Column(nk + 2*d + 1).(*array.Boolean)
				v := b.Column(nk + 2*d)
				if !f.IsValid(i) || !f.Value(i) || v.IsNull(i) {
					continue
				}
				set := g.distinct[d]
				if set == nil {
					set = map[string]struct{}{}
					g.distinct[d] = set
				}
				var vk string
				if iv, ok := v.(*array.Int64); ok {
					// encodeKey's form of an int64, looked up without
					// allocating.
					kb[0] = 'i'
					binary.BigEndian.PutUint64(kb[1:], uint64(iv.Value(i)))
					if _, seen := set[string(kb[:])]; seen {
						continue
					}
					vk = string(kb[:])
				} else {
					vk = encodeKey([]any{valueAt(v, i)})
					if _, seen := set[vk]; seen {
						continue
					}
				}
				set[vk] = struct{}{}
				n, _ := g.partials[da.Slot].(int64)
				g.partials[da.Slot] = n + 1
				gb.Append([]byte(k))
				ab.Append(int64(d))
				vb.Append([]byte(vk))
				rows++
			}
		}
	}
	if rows == 0 {
		return nil
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	return batch.Upsert(t, rec, nil)
}

// freeDistinct deletes a closed group's remembered values.
func (j *viewJob) freeDistinct(batch *widecol.Batch, k string, g *groupState) error {
	if g.distinct == nil {
		return nil
	}
	t, err := j.distinctTable()
	if err != nil {
		return err
	}
	return batch.DeletePartition(t, []any{[]byte(k)})
}

// loadDistinct restores the groups' remembered values after a restart.
func (j *viewJob) loadDistinct(ctx context.Context) error {
	t, err := j.distinctTable()
	if err != nil {
		return err
	}
	n := len(j.plan.Distincts)
	return j.eng.scanTable(ctx, t, widecol.Range{}, nil, func(b arrow.RecordBatch) error {
		gs, as, vs := b.Column(0).(*array.Binary), b.Column(1).(*array.Int64), b.Column(2).(*array.Binary)
		for i := 0; i < int(b.NumRows()); i++ {
			g := j.groups[string(gs.Value(i))]
			a := int(as.Value(i))
			if g == nil || a < 0 || a >= n {
				continue
			}
			if g.distinct == nil {
				g.distinct = make([]map[string]struct{}, n)
			}
			if g.distinct[a] == nil {
				g.distinct[a] = map[string]struct{}{}
			}
			g.distinct[a][string(vs.Value(i))] = struct{}{}
		}
		return nil
	})
}
