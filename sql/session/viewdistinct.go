package session

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/windows"
)

// count(DISTINCT x) in an incremental aggregation: each group remembers
// the values it has seen, per argument of its distinct aggregates, each
// with a bit per aggregate of that argument (they differ by FILTER) that
// has counted it; a value an aggregate has not counted yet adds one to
// the group's count. The values are kept in memory and in the view's
// _distinct table: per group, argument and epoch, one row holding the
// values that epoch added with their new bits. A group's values are
// freed with the group when its window closes.

func viewDistinctTable(rel *catalog.Relation) string { return tableName(rel) + "_distinct" }

func distinctSpec(rel *catalog.Relation) widecol.TableSpec {
	return widecol.TableSpec{Keyspace: keyspaceData, Name: viewDistinctTable(rel),
		Schema: arrow.NewSchema([]arrow.Field{
			{Name: "_g", Type: arrow.BinaryTypes.Binary},
			{Name: "_a", Type: arrow.PrimitiveTypes.Int64},
			{Name: "_e", Type: arrow.PrimitiveTypes.Int64},
			{Name: "_vs", Type: arrow.BinaryTypes.Binary, Nullable: true},
		}, nil),
		PartitionKey: []string{"_g"}, Clustering: []widecol.ClusteringColumn{{Name: "_a"}, {Name: "_e"}}}
}

// distinctSet is the values a group has seen for one argument of its
// distinct aggregates, each with the bits of the aggregates that have
// counted it. Integers are kept as such, other values in encodeKey's
// form.
type distinctSet struct {
	ints map[int64]uint64
	strs map[string]uint64
}

// distinctArg is one argument of the plan's distinct aggregates.
type distinctArg struct {
	// aggs are the indexes in the plan's Distincts of the aggregates
	// of this argument; the i-th has bit 1<<i.
	aggs []int
}

// distinctArgs groups the plan's distinct aggregates by argument, at
// most 64 aggregates to an argument.
func distinctArgs(vp *planner.ViewPlan) []distinctArg {
	var out []distinctArg
	var exprs []planner.Expr
	in := vp.DistinctIn.(*planner.Project)
	nk := len(vp.Agg.GroupBy)
next:
	for d := range vp.Distincts {
		e := in.Exprs[nk+2*d]
		for a := range out {
			if len(out[a].aggs) < 64 && sameExpr(exprs[a], e) {
				out[a].aggs = append(out[a].aggs, d)
				continue next
			}
		}
		out = append(out, distinctArg{aggs: []int{d}})
		exprs = append(exprs, e)
	}
	return out
}

func sameExpr(a, b planner.Expr) bool {
	if x, ok := a.(*planner.ColRef); ok {
		y, ok := b.(*planner.ColRef)
		return ok && x.Idx == y.Idx
	}
	return reflect.DeepEqual(a, b)
}

// distinctTable returns the view's table of distinct values.
func (j *viewJob) distinctTable() (*widecol.Table, error) {
	if j.distinct == nil {
		t, err := j.eng.store.Table(keyspaceData, viewDistinctTable(j.rel))
		if err != nil {
			return nil, err
		}
		if t.Schema.NumFields() != 4 {
			// Views created before values were kept per epoch had
			// one row per value.
			return nil, fmt.Errorf("view %q keeps its distinct values in an older layout: create it again", j.rel.Name)
		}
		j.distinct = t
	}
	if j.dargs == nil {
		j.dargs = distinctArgs(j.plan)
	}
	return j.distinct, nil
}

// distinctRows collects the values an epoch adds, per group and argument.
type distinctRows struct {
	idx  map[*aggGroup]int // first of the group's entries in bufs
	bufs []distinctBuf
}

type distinctBuf struct {
	g   *aggGroup
	arg int
	buf []byte
}

// add records value v (in encodeKey's form) with its new bits.
func (r *distinctRows) add(g *aggGroup, arg, nargs int, v []byte, bits uint64) {
	i, ok := r.idx[g]
	if !ok {
		i = len(r.bufs)
		r.idx[g] = i
		for a := 0; a < nargs; a++ {
			r.bufs = append(r.bufs, distinctBuf{g: g, arg: a})
		}
	}
	b := &r.bufs[i+arg]
	b.buf = binary.AppendUvarint(append(b.buf, v...), bits)
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
	res, err := j.runInput(ctx, vp.DistinctIn, st)
	if err != nil {
		return err
	}
	defer releaseAll(res)
	nk := len(vp.Agg.GroupBy)
	nargs := len(j.dargs)
	rows := distinctRows{idx: map[*aggGroup]int{}}
	var kb, last, vb []byte
	var g *aggGroup
	filters := make([]*array.Boolean, len(vp.Distincts))
	for _, b := range res {
		cols := b.Columns()
		for d := range vp.Distincts {
			filters[d] = cols[nk+2*d+1].(*array.Boolean)
		}
		for i := 0; i < int(b.NumRows()); i++ {
			if vp.WindowKey >= 0 {
				if start, ok := windowStartAt(cols[vp.WindowKey], i); ok && windows.IsLate(start+vp.WindowSize, wmBefore) {
					continue
				}
			}
			kb = kb[:0]
			for c := 0; c < nk; c++ {
				kb = appendKeyAt(kb, cols[c], i)
			}
			if g == nil || string(kb) != string(last) {
				g = j.groups[string(kb)]
				last = append(last[:0], kb...)
			}
			if g == nil {
				continue
			}
			for a, da := range j.dargs {
				v := cols[nk+2*da.aggs[0]]
				if v.IsNull(i) {
					continue
				}
				var want uint64
				for bit, d := range da.aggs {
					if f := filters[d]; f.IsValid(i) && f.Value(i) {
						want |= 1 << bit
					}
				}
				if want == 0 {
					continue
				}
				x := g.extra()
				if x.distinct == nil {
					x.distinct = make([]distinctSet, nargs)
				}
				set := &x.distinct[a]
				var have uint64
				iv, isInt := intAt(v, i)
				if isInt {
					if set.ints == nil {
						set.ints = map[int64]uint64{}
					}
					have = set.ints[iv]
					if want&^have == 0 {
						continue
					}
					set.ints[iv] = have | want
					vb = binary.BigEndian.AppendUint64(append(vb[:0], 'i'), uint64(iv))
				} else {
					if set.strs == nil {
						set.strs = map[string]uint64{}
					}
					vb = appendKeyAt(vb[:0], v, i)
					have = set.strs[string(vb)]
					if want&^have == 0 {
						continue
					}
					set.strs[string(vb)] = have | want
				}
				add := want &^ have
				for bit, d := range da.aggs {
					if add&(1<<bit) != 0 {
						p := &g.vals[vp.Distincts[d].Slot]
						p.kind = partialInt
						p.lo++
					}
				}
				rows.add(g, a, nargs, vb, add)
			}
		}
	}
	if len(rows.bufs) == 0 {
		return nil
	}
	return j.writeDistinct(batch, t, &rows)
}

// writeDistinct writes the values an epoch added.
func (j *viewJob) writeDistinct(batch *widecol.Batch, t *widecol.Table, rows *distinctRows) error {
	bld := array.NewRecordBuilder(j.eng.alloc, t.Schema)
	defer bld.Release()
	gb := bld.Field(0).(*array.BinaryBuilder)
	ab := bld.Field(1).(*array.Int64Builder)
	eb := bld.Field(2).(*array.Int64Builder)
	vb := bld.Field(3).(*array.BinaryBuilder)
	// Re-running an epoch after a crash writes the same rows again.
	epoch := j.epoch + 1
	for _, r := range rows.bufs {
		if len(r.buf) == 0 {
			continue
		}
		gb.Append([]byte(r.g.key))
		ab.Append(int64(r.arg))
		eb.Append(epoch)
		vb.Append(r.buf)
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	return batch.Upsert(t, rec, nil)
}

// intAt returns row i of an integer column as an int64; encodeKey gives
// such values the form 'i' and eight bytes.
func intAt(arr arrow.Array, i int) (int64, bool) {
	switch a := arr.(type) {
	case *array.Int64:
		return a.Value(i), true
	case *array.Int32:
		return int64(a.Value(i)), true
	case *array.Int16:
		return int64(a.Value(i)), true
	case *array.Timestamp:
		return int64(a.Value(i)), true
	}
	return 0, false
}

// keyValueLen returns the length of the encodeKey form of one value at
// the start of b.
func keyValueLen[T string | []byte](b T) (int, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("distinct value: empty")
	}
	n := 0
	switch b[0] {
	case 'N', 't', 'F':
		n = 1
	case 'i', 'f':
		n = 9
	case 'd':
		n = 5
	case 's', 'b', 'o':
		l, w := uvarint(b[1:])
		if w <= 0 || l > math.MaxInt32 {
			return 0, fmt.Errorf("distinct value: bad length")
		}
		n = 1 + w + int(l)
	default:
		return 0, fmt.Errorf("distinct value: unknown kind %q", b[0])
	}
	if n > len(b) {
		return 0, fmt.Errorf("distinct value: truncated")
	}
	return n, nil
}

// uvarint is binary.Uvarint over a string or a byte slice.
func uvarint[T string | []byte](b T) (uint64, int) {
	var x uint64
	var s uint
	for i := 0; i < len(b) && i < binary.MaxVarintLen64; i++ {
		c := b[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -(i + 1)
			}
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

// nextDistinct splits the first entry, a value and its bits, off b.
func nextDistinct(b []byte) (v []byte, bits uint64, rest []byte, err error) {
	n, err := keyValueLen(b)
	if err != nil {
		return nil, 0, nil, err
	}
	bits, w := binary.Uvarint(b[n:])
	if w <= 0 {
		return nil, 0, nil, fmt.Errorf("distinct value: bad bits")
	}
	return b[:n], bits, b[n+w:], nil
}

// see records that the aggregates bits of argument a have counted the
// value v (in encodeKey's form).
func (g *aggGroup) see(nargs, a int, v []byte, bits uint64) {
	x := g.extra()
	if x.distinct == nil {
		x.distinct = make([]distinctSet, nargs)
	}
	set := &x.distinct[a]
	if len(v) == 9 && v[0] == 'i' {
		if set.ints == nil {
			set.ints = map[int64]uint64{}
		}
		iv := int64(binary.BigEndian.Uint64(v[1:]))
		set.ints[iv] |= bits
		return
	}
	if set.strs == nil {
		set.strs = map[string]uint64{}
	}
	set.strs[string(v)] |= bits
}

// freeDistinct deletes a closed group's remembered values.
func (j *viewJob) freeDistinct(batch *widecol.Batch, g *aggGroup) error {
	if g.ext == nil || g.ext.distinct == nil {
		return nil
	}
	t, err := j.distinctTable()
	if err != nil {
		return err
	}
	return batch.DeletePartition(t, []any{[]byte(g.key)})
}

// loadDistinct restores the groups' remembered values after a restart.
func (j *viewJob) loadDistinct(ctx context.Context) error {
	t, err := j.distinctTable()
	if err != nil {
		return err
	}
	nargs := len(j.dargs)
	return j.eng.scanTable(ctx, t, widecol.Range{}, nil, func(b arrow.RecordBatch) error {
		gs, as, vs := b.Column(0).(*array.Binary), b.Column(1).(*array.Int64), b.Column(3).(*array.Binary)
		for i := 0; i < int(b.NumRows()); i++ {
			g := j.groups[string(gs.Value(i))]
			a := int(as.Value(i))
			if g == nil || a < 0 || a >= nargs {
				continue
			}
			for v := vs.Value(i); len(v) > 0; {
				val, bits, rest, err := nextDistinct(v)
				if err != nil {
					return fmt.Errorf("view %q: %w", j.rel.Name, err)
				}
				g.see(nargs, a, val, bits)
				v = rest
			}
		}
		return nil
	})
}
