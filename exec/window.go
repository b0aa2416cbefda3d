package exec

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// windowOp computes window functions over its whole input. Its output is
// the input rows in their input order, each followed by one column per
// call. The frame is Postgres's default: the whole partition without ORDER
// BY, else from the partition start through the current row's last peer
// (RANGE UNBOUNDED PRECEDING AND CURRENT ROW).
type windowOp struct {
	env    *Env
	n      *planner.Window
	in     Operator
	schema *arrow.Schema
	out    arrow.RecordBatch
	pos    int64
	done   bool
	// dropped counts the rows dropped early for Keep.
	dropped int64
}

var _ Operator = (*windowOp)(nil)

func newWindow(env *Env, n *planner.Window, in Operator) *windowOp {
	return &windowOp{env: env, n: n, in: in, schema: schemaOf(n.Cols)}
}

func (o *windowOp) Schema() *arrow.Schema          { return o.schema }
func (o *windowOp) Open(ctx context.Context) error { return o.in.Open(ctx) }

func (o *windowOp) Close() error {
	if o.out != nil {
		o.out.Release()
		o.out = nil
	}
	return o.in.Close()
}

func (o *windowOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if !o.done {
		o.done = true
		all, err := o.read(ctx)
		if err != nil {
			return nil, err
		}
		defer all.Release()
		n := int(all.NumRows())
		if n == 0 {
			return nil, io.EOF
		}
		cols := make([]arrow.Array, 0, o.schema.NumFields())
		for _, c := range all.Columns() {
			c.Retain()
			cols = append(cols, c)
		}
		for i := range o.n.Calls {
			a, err := o.compute(&o.n.Calls[i], all)
			if err != nil {
				releaseAll(cols)
				return nil, err
			}
			cols = append(cols, a)
		}
		if o.out, err = newBatch(o.schema, cols, n); err != nil {
			return nil, err
		}
	}
	if o.out == nil || o.pos >= o.out.NumRows() {
		return nil, io.EOF
	}
	end := min(o.out.NumRows(), o.pos+int64(o.env.batchSize()))
	s := o.out.NewSlice(o.pos, end)
	o.pos = end
	return s, nil
}

// pruneRows is how many rows a window with Keep reads before it first
// drops the rows ranked over Keep; after that, it drops them whenever its
// rows have doubled.
const pruneRows = 1 << 16

// read reads the whole input. With Keep set, it drops the rows ranked
// over Keep as it goes: a row's rank among some of the rows is at most its
// rank among all (ties are ordered by the rows' columns), so a row over
// Keep among those read so far stays over it, and every row at or under
// Keep among all is kept with its rank unchanged.
func (o *windowOp) read(ctx context.Context) (arrow.RecordBatch, error) {
	if o.n.Keep <= 0 {
		return materialize(ctx, o.env, o.in)
	}
	var bs []arrow.RecordBatch
	var rows int64
	next := int64(pruneRows)
	for {
		b, err := o.in.Next(ctx)
		if isEOF(err) {
			break
		}
		if err != nil {
			releaseBatches(bs)
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		bs, rows = append(bs, b), rows+b.NumRows()
		if rows >= next {
			kept, err := o.prune(ctx, bs)
			if err != nil {
				return nil, err
			}
			bs, rows = []arrow.RecordBatch{kept}, kept.NumRows()
			next = max(pruneRows, 2*rows)
		}
	}
	return materialize(ctx, o.env, &replayOp{bufs: bs, schema: o.in.Schema()})
}

// prune returns the rows of bs ranked at most Keep among them, in their
// order. It releases bs.
func (o *windowOp) prune(ctx context.Context, bs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	r := &replayOp{bufs: bs, schema: o.in.Schema()}
	all, err := materialize(ctx, o.env, r)
	r.drop()
	if err != nil {
		return nil, err
	}
	defer all.Release()
	ranks, err := o.compute(&o.n.Calls[0], all)
	if err != nil {
		return nil, err
	}
	defer ranks.Release()
	var at func(i int) int64
	switch x := ranks.(type) {
	case *array.Int64:
		at = x.Value
	case *array.Int32:
		at = func(i int) int64 { return int64(x.Value(i)) }
	default:
		return nil, fmt.Errorf("exec: ranking values of type %s", ranks.DataType())
	}
	n := int(all.NumRows())
	idx := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		if at(i) <= o.n.Keep {
			idx = append(idx, int32(i))
		}
	}
	if len(idx) == n {
		all.Retain()
		return all, nil
	}
	o.dropped += int64(n - len(idx))
	return newBatch(all.Schema(), takeColumns(o.env.Allocator(), all.Columns(), idx), len(idx))
}

// frame describes the sorted position k of a row: its partition
// [start, end) and its peer group [pstart, pend), in sorted positions.
type windowLayout struct {
	perm               []int32 // sorted position -> input row
	partStart, partEnd []int32 // per sorted position
	peerStart, peerEnd []int32
	partIdx, peerIdx   []int32 // dense partition and peer group numbers
	npart, npeer       int
	denseRank          []int32
}

func (o *windowOp) layout(c *planner.WindowCall, all arrow.RecordBatch) (*windowLayout, error) {
	n := int(all.NumRows())
	parts := make([]planner.SortKey, len(c.PartitionBy))
	for i, e := range c.PartitionBy {
		parts[i] = planner.SortKey{Expr: e}
	}
	pkeys, err := evalSortKeys(o.env, parts, all)
	if err != nil {
		return nil, err
	}
	defer releaseSortKeys(pkeys)
	okeys, err := evalSortKeys(o.env, c.OrderBy, all)
	if err != nil {
		return nil, err
	}
	defer releaseSortKeys(okeys)
	// Rows that tie in the ORDER BY are ordered by their columns the
	// query reads (planner.Window.Ties), so that ranks do not depend on
	// the input's order: a continuous view ranks rows as they arrive and
	// must agree with a batch query.
	var rest []planner.SortKey
	for i, f := range all.Schema().Fields() {
		if o.n.Ties == nil || slices.Contains(o.n.Ties, i) {
			rest = append(rest, planner.SortKey{Expr: &planner.ColRef{Idx: i, Typ: o.n.Input.Columns()[i].Type, Name: f.Name}})
		}
	}
	tkeys, err := evalSortKeys(o.env, rest, all)
	if err != nil {
		return nil, err
	}
	defer releaseSortKeys(tkeys)
	keys := append(append(append([]sortKey(nil), pkeys...), okeys...), tkeys...)
	w := &windowLayout{perm: sortPerm(keys, n)}
	w.partStart, w.partEnd = make([]int32, n), make([]int32, n)
	w.peerStart, w.peerEnd = make([]int32, n), make([]int32, n)
	w.partIdx, w.peerIdx = make([]int32, n), make([]int32, n)
	w.denseRank = make([]int32, n)
	ps, qs := 0, 0
	dense := int32(0)
	for k := 0; k <= n; k++ {
		newPart := k == n || k == 0 || compareKeys(pkeys, int(w.perm[k-1]), int(w.perm[k])) != 0
		newPeer := newPart || compareKeys(okeys, int(w.perm[k-1]), int(w.perm[k])) != 0
		if newPeer && k > 0 {
			for j := qs; j < k; j++ {
				w.peerStart[j], w.peerEnd[j] = int32(qs), int32(k)
				w.peerIdx[j] = int32(w.npeer)
				w.denseRank[j] = dense
			}
			w.npeer++
			qs = k
		}
		if newPart && k > 0 {
			for j := ps; j < k; j++ {
				w.partStart[j], w.partEnd[j] = int32(ps), int32(k)
				w.partIdx[j] = int32(w.npart)
			}
			w.npart++
			ps = k
			dense = 0
		}
		if newPeer {
			dense++
		}
	}
	return w, nil
}

// compute returns the values of one window call, in input row order.
func (o *windowOp) compute(c *planner.WindowCall, all arrow.RecordBatch) (arrow.Array, error) {
	w, err := o.layout(c, all)
	if err != nil {
		return nil, err
	}
	n := len(w.perm)
	mem := o.env.Allocator()
	if c.Agg != nil {
		return o.aggregate(c, all, w)
	}
	ints := func(f func(k int) int64) (arrow.Array, error) {
		vals := make([]int64, n)
		for k, r := range w.perm {
			vals[r] = f(k)
		}
		return intArray(mem, c.Typ, vals)
	}
	floats := func(f func(k int) float64) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		vals := make([]float64, n)
		for k, r := range w.perm {
			vals[r] = f(k)
		}
		b.AppendValues(vals, nil)
		return b.NewArray()
	}
	// pick gathers x at the sorted position src(k) for each row (-1: NULL).
	pick := func(x arrow.Array, src func(k int) int32) arrow.Array {
		idx := make([]int32, n)
		for k, r := range w.perm {
			s := src(k)
			if s >= 0 {
				s = w.perm[s]
			}
			idx[r] = s
		}
		return takeArray(mem, x, idx)
	}
	switch c.Name {
	case "row_number":
		return ints(func(k int) int64 { return int64(k - int(w.partStart[k]) + 1) })
	case "rank":
		return ints(func(k int) int64 { return int64(w.peerStart[k]-w.partStart[k]) + 1 })
	case "dense_rank":
		return ints(func(k int) int64 { return int64(w.denseRank[k]) })
	case "percent_rank":
		return floats(func(k int) float64 {
			size := w.partEnd[k] - w.partStart[k]
			if size <= 1 {
				return 0
			}
			return float64(w.peerStart[k]-w.partStart[k]) / float64(size-1)
		}), nil
	case "cume_dist":
		return floats(func(k int) float64 {
			return float64(w.peerEnd[k]-w.partStart[k]) / float64(w.partEnd[k]-w.partStart[k])
		}), nil
	}
	args, err := evalAll(o.env, c.Args, all)
	if err != nil {
		return nil, err
	}
	defer releaseAll(args)
	switch c.Name {
	case "first_value":
		return pick(args[0], func(k int) int32 { return w.partStart[k] }), nil
	case "last_value":
		return pick(args[0], func(k int) int32 { return w.peerEnd[k] - 1 }), nil
	case "nth_value":
		nth := args[1]
		return pick(args[0], func(k int) int32 {
			r := int(w.perm[k])
			if nth.IsNull(r) {
				return -1
			}
			v, _ := toInt64(valueAt(nth, r))
			if v <= 0 {
				return -1
			}
			if t := int64(w.partStart[k]) + v - 1; t < int64(w.peerEnd[k]) {
				return int32(t)
			}
			return -1
		}), nil
	case "ntile":
		return o.ntile(c, args[0], w)
	case "lag", "lead":
		return o.lagLead(c, args, w)
	}
	return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "window function %s is not supported", c.Name)
}

func intArray(mem memory.Allocator, t catalog.Type, vals []int64) (arrow.Array, error) {
	bld := array.NewBuilder(mem, t.Arrow())
	defer bld.Release()
	bld.Reserve(len(vals))
	for _, v := range vals {
		if err := appendValue(bld, v); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

func (o *windowOp) ntile(c *planner.WindowCall, arg arrow.Array, w *windowLayout) (arrow.Array, error) {
	n := len(w.perm)
	vals := make([]int64, n)
	valid := make([]bool, n)
	for k, r := range w.perm {
		first := int(w.perm[w.partStart[k]])
		if arg.IsNull(first) {
			continue
		}
		buckets, _ := toInt64(valueAt(arg, first))
		if buckets <= 0 {
			return nil, pgerror.New("22014", "argument of ntile must be greater than zero")
		}
		size := int64(w.partEnd[k] - w.partStart[k])
		pos := int64(k) - int64(w.partStart[k])
		per, extra := size/buckets, size%buckets
		// The first `extra` buckets hold per+1 rows.
		var b int64
		if big := extra * (per + 1); pos < big {
			b = pos / (per + 1)
		} else {
			b = extra + (pos-big)/max(per, 1)
		}
		vals[r], valid[r] = b+1, true
	}
	bld := array.NewBuilder(o.env.Allocator(), c.Typ.Arrow())
	defer bld.Release()
	for i, v := range vals {
		if !valid[i] {
			bld.AppendNull()
		} else if err := appendValue(bld, v); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

func (o *windowOp) lagLead(c *planner.WindowCall, args []arrow.Array, w *windowLayout) (arrow.Array, error) {
	n := len(w.perm)
	mem := o.env.Allocator()
	x := args[0]
	src := x
	if len(args) == 3 {
		var err error
		if src, err = array.Concatenate([]arrow.Array{x, args[2]}, mem); err != nil {
			return nil, err
		}
		defer src.Release()
	}
	idx := make([]int32, n)
	for k, r := range w.perm {
		off := int64(1)
		if len(args) >= 2 {
			if args[1].IsNull(int(r)) {
				idx[r] = -1
				continue
			}
			off, _ = toInt64(valueAt(args[1], int(r)))
		}
		if c.Name == "lag" {
			off = -off
		}
		t := int64(k) + off
		switch {
		case t >= int64(w.partStart[k]) && t < int64(w.partEnd[k]):
			idx[r] = w.perm[t]
		case len(args) == 3:
			idx[r] = int32(n) + r
		default:
			idx[r] = -1
		}
	}
	return takeArray(mem, src, idx), nil
}

// aggregate computes an aggregate over each row's frame. Without ORDER BY
// the frame is the partition, computed with one group per partition; with
// ORDER BY the aggregate runs through each partition peer group by peer
// group, reading the running result after each.
func (o *windowOp) aggregate(c *planner.WindowCall, all arrow.RecordBatch, w *windowLayout) (arrow.Array, error) {
	n := len(w.perm)
	mem := o.env.Allocator()
	args, err := evalAll(o.env, c.Args, all)
	if err != nil {
		return nil, err
	}
	defer releaseAll(args)
	if len(c.OrderBy) == 0 {
		acc, err := eval.NewAccumulatorOpts(&o.env.Env, c.Agg, false, eval.AccOptions{AppendOnly: true})
		if err != nil {
			return nil, err
		}
		defer acc.Release()
		groups := make([]uint32, n)
		for k, r := range w.perm {
			groups[r] = uint32(w.partIdx[k])
		}
		if err := acc.Update(groups, args); err != nil {
			return nil, err
		}
		res, err := acc.Result(w.npart)
		if err != nil {
			return nil, err
		}
		defer res.Release()
		idx := make([]int32, n)
		for i, g := range groups {
			idx[i] = int32(g)
		}
		return takeArray(mem, res, idx), nil
	}
	// Running aggregate: one result per peer group.
	parts := make([]arrow.Array, 0, w.npeer)
	defer func() { releaseAll(parts) }()
	var acc eval.Accumulator
	defer func() {
		if acc != nil {
			acc.Release()
		}
	}()
	zeros := make([]uint32, 0, 64)
	rows := make([]int32, 0, 64)
	for k := 0; k < n; {
		if int32(k) == w.partStart[k] {
			if acc != nil {
				acc.Release()
			}
			if acc, err = eval.NewAccumulatorOpts(&o.env.Env, c.Agg, false, eval.AccOptions{AppendOnly: true}); err != nil {
				acc = nil
				return nil, err
			}
		}
		end := int(w.peerEnd[k])
		rows = rows[:0]
		for j := k; j < end; j++ {
			rows = append(rows, w.perm[j])
		}
		for len(zeros) < len(rows) {
			zeros = append(zeros, 0)
		}
		sub := takeColumns(mem, args, rows)
		err := acc.Update(zeros[:len(rows)], sub)
		releaseAll(sub)
		if err != nil {
			return nil, err
		}
		res, err := acc.Result(1)
		if err != nil {
			return nil, err
		}
		parts = append(parts, res)
		k = end
	}
	var res arrow.Array
	if len(parts) == 1 {
		res = parts[0]
		res.Retain()
	} else if res, err = array.Concatenate(parts, mem); err != nil {
		return nil, err
	}
	defer res.Release()
	idx := make([]int32, n)
	for k, r := range w.perm {
		idx[r] = w.peerIdx[k]
	}
	return takeArray(mem, res, idx), nil
}
