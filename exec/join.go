package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
)

// joinOp joins by hashing the right input (the build side) and probing it
// with the left input's batches; without equality keys every left row is
// paired with every right row (nested loops). The residual condition is
// evaluated on the combined candidate pairs. Output per left batch: the
// matching pairs in left order, then (left and full joins) the unmatched
// left rows padded with NULLs; after the last left batch, right and full
// joins emit the unmatched right rows padded with NULLs.
type joinOp struct {
	env         *Env
	n           *planner.Join
	left, right Operator
	schema      *arrow.Schema // output
	combined    *arrow.Schema // left columns then right columns, for Cond
	keyTypes    []*catalog.Type

	built  bool
	r      arrow.RecordBatch
	nr     int
	ht     *hashTable
	head   []int32 // first right row per key id
	chain  []int32 // next right row with the same key
	rmatch []bool  // right rows that matched (right and full joins)

	l       arrow.RecordBatch
	lids    []int32
	lmatch  []bool
	row     int
	cand    int32
	started bool

	pl, pr   []int32
	finished bool // all left batches probed
	rpos     int

	// fixed keeps the right input as the build side (see readSmaller).
	fixed bool
	// swapped, when set, is this inner join with its sides exchanged,
	// which does the work: its build side is the smaller input. perm maps
	// this join's output columns to swapped's.
	swapped *joinOp
	perm    []int
}

var _ Operator = (*joinOp)(nil)

func newJoin(env *Env, n *planner.Join, l, r Operator) *joinOp {
	o := &joinOp{env: env, n: n, left: l, right: r, schema: schemaOf(n.Cols)}
	cols := append(append([]planner.Column(nil), n.Left.Columns()...), n.Right.Columns()...)
	o.combined = schemaOf(cols)
	return o
}

func (o *joinOp) Schema() *arrow.Schema { return o.schema }

func (o *joinOp) Open(ctx context.Context) error {
	if len(o.n.LeftKeys) != len(o.n.RightKeys) {
		return fmt.Errorf("exec: join with %d left keys and %d right keys", len(o.n.LeftKeys), len(o.n.RightKeys))
	}
	kt, err := keyTypes(o.n)
	if err != nil {
		return err
	}
	o.keyTypes = kt
	if err := o.left.Open(ctx); err != nil {
		return err
	}
	return o.right.Open(ctx)
}

func keyTypes(n *planner.Join) ([]*catalog.Type, error) {
	out := make([]*catalog.Type, len(n.LeftKeys))
	for i := range n.LeftKeys {
		t, err := joinKeyType(n.LeftKeys[i].Type(), n.RightKeys[i].Type())
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// joinKeyType returns the type both keys must be cast to before hashing,
// or nil when their values already hash alike.
func joinKeyType(l, r catalog.Type) (*catalog.Type, error) {
	la, ra := l.Arrow(), r.Arrow()
	switch {
	case arrow.TypeEqual(la, ra):
		return nil, nil
	case l.ID == catalog.Numeric && r.ID == catalog.Numeric:
		t := catalog.Type{ID: catalog.Numeric, Scale: max(l.Scale, r.Scale)}
		return &t, nil
	case l.IsInteger() && r.IsInteger():
		return &catalog.TypeInt8, nil
	case l.IsNumeric() && r.IsNumeric():
		return &catalog.TypeFloat8, nil
	case la.ID() == ra.ID():
		return nil, nil
	}
	return nil, fmt.Errorf("%w: join keys of types %s and %s", ErrUnsupported, l, r)
}

func (o *joinOp) Close() error {
	o.release()
	if o.swapped != nil {
		// Its inputs replay batches of this join's inputs, closed below.
		o.swapped.release()
		o.swapped.left.(*replayOp).drop()
		o.swapped = nil
	}
	err := o.left.Close()
	if err2 := o.right.Close(); err == nil {
		err = err2
	}
	return err
}

// evalKeys evaluates join keys over b, cast to the common key types.
func (o *joinOp) evalKeys(exprs []planner.Expr, b arrow.RecordBatch) ([]arrow.Array, error) {
	keys, err := evalAll(o.env, exprs, b)
	if err != nil {
		return nil, err
	}
	for i, t := range o.keyTypes {
		if t == nil || exprs[i].Type() == *t {
			continue
		}
		c, err := eval.CastArray(&o.env.Env, keys[i], exprs[i].Type(), *t)
		if err != nil {
			releaseAll(keys)
			return nil, err
		}
		keys[i].Release()
		keys[i] = c
	}
	return keys, nil
}

// release drops the batches the join holds.
func (o *joinOp) release() {
	for _, b := range []arrow.RecordBatch{o.r, o.l} {
		if b != nil {
			b.Release()
		}
	}
	o.r, o.l = nil, nil
}

func (o *joinOp) hashed() bool { return len(o.n.LeftKeys) > 0 }

// swapRows is the size of right input from which an inner join looks at
// its left input before building: smaller ones are built as they are.
const swapRows = 1 << 16

// build reads the build side and hashes it. An inner join builds on the
// smaller of its inputs (see readSmaller); other joins on the right one.
func (o *joinOp) build(ctx context.Context) error {
	if o.n.Kind == planner.InnerJoin && o.hashed() && !o.fixed {
		if sw, ok := o.n.Swapped(); ok {
			return o.readSmaller(ctx, sw)
		}
	}
	r, err := materialize(ctx, o.env, o.right)
	if err != nil {
		return err
	}
	return o.buildFrom(r)
}

// readSmaller reads the right input; once it has swapRows rows, it reads
// the inputs in turn, each time the one with fewer rows so far, until
// one ends. That one is the build side; the other probes it, first with
// the batches already read. Memory holds about twice the smaller input,
// never the whole larger one.
func (o *joinOp) readSmaller(ctx context.Context, sw *planner.Join) error {
	var lb, rb []arrow.RecordBatch
	var ln, rn int64
	fail := func(err error) error {
		releaseBatches(lb)
		releaseBatches(rb)
		return err
	}
	for {
		fromRight := rn < swapRows || rn <= ln
		in := o.left
		if fromRight {
			in = o.right
		}
		b, err := in.Next(ctx)
		if isEOF(err) {
			break
		}
		if err != nil {
			return fail(err)
		}
		if fromRight {
			rb, rn = append(rb, b), rn+b.NumRows()
		} else {
			lb, ln = append(lb, b), ln+b.NumRows()
		}
	}
	if fromRight := rn < swapRows || rn <= ln; fromRight {
		// The right input ended: build it, probe with the left one.
		r, err := materialize(ctx, o.env, &replayOp{bufs: rb, schema: o.right.Schema()})
		if err != nil {
			return fail(err)
		}
		o.left = &replayOp{bufs: lb, rest: o.left, schema: o.left.Schema()}
		return o.buildFrom(r)
	}
	// The left input ended first, with fewer rows.
	kt, err := keyTypes(sw)
	if err != nil {
		return fail(err)
	}
	s := newJoin(o.env, sw, &replayOp{bufs: rb, rest: o.right, schema: o.right.Schema()}, nil)
	s.keyTypes, s.fixed, s.built = kt, true, true
	l, err := materialize(ctx, o.env, &replayOp{bufs: lb, schema: o.left.Schema()})
	if err != nil {
		s.left.(*replayOp).drop()
		return err
	}
	if err := s.buildFrom(l); err != nil {
		s.release()
		s.left.(*replayOp).drop()
		return err
	}
	nl, nr := len(o.n.Left.Columns()), len(o.n.Right.Columns())
	o.perm = make([]int, nl+nr)
	for i := range o.perm {
		if i < nl {
			o.perm[i] = nr + i
		} else {
			o.perm[i] = i - nl
		}
	}
	o.swapped = s
	return nil
}

// buildFrom hashes r, the whole build side.
func (o *joinOp) buildFrom(r arrow.RecordBatch) error {
	o.r = r
	o.nr = int(r.NumRows())
	if k := o.n.Kind; k == planner.RightJoin || k == planner.FullJoin {
		o.rmatch = make([]bool, o.nr)
	}
	if !o.hashed() || o.nr == 0 {
		return nil
	}
	keys, err := o.evalKeys(o.n.RightKeys, r)
	if err != nil {
		return err
	}
	defer releaseAll(keys)
	o.ht = newHashTable()
	ids := make([]uint32, o.nr)
	if _, err := o.ht.insert(keys, o.nr, ids, nil); err != nil {
		return err
	}
	nulls := anyNullMask(keys, o.nr, nil)
	o.head = make([]int32, o.ht.len())
	for i := range o.head {
		o.head[i] = -1
	}
	o.chain = make([]int32, o.nr)
	for i := o.nr - 1; i >= 0; i-- {
		if nulls != nil && nulls[i] {
			continue
		}
		o.chain[i] = o.head[ids[i]]
		o.head[ids[i]] = int32(i)
	}
	return nil
}

// setLeft prepares the probe of a new left batch.
func (o *joinOp) setLeft(b arrow.RecordBatch) error {
	o.l = b
	n := int(b.NumRows())
	o.row, o.started = 0, false
	if cap(o.lmatch) < n {
		o.lmatch = make([]bool, n)
		o.lids = make([]int32, n)
	}
	o.lmatch = o.lmatch[:n]
	clear(o.lmatch)
	o.lids = o.lids[:n]
	if !o.hashed() {
		return nil
	}
	if o.nr == 0 {
		for i := range o.lids {
			o.lids[i] = -1
		}
		return nil
	}
	keys, err := o.evalKeys(o.n.LeftKeys, b)
	if err != nil {
		return err
	}
	defer releaseAll(keys)
	if err := o.ht.lookup(keys, n, o.lids); err != nil {
		return err
	}
	if nulls := anyNullMask(keys, n, nil); nulls != nil {
		for i, isNull := range nulls {
			if isNull {
				o.lids[i] = -1
			}
		}
	}
	return nil
}

// pairs fills o.pl/o.pr with up to limit candidate pairs of the current
// left batch.
func (o *joinOp) pairs(limit int) {
	o.pl, o.pr = o.pl[:0], o.pr[:0]
	nl := len(o.lids)
	for o.row < nl && len(o.pl) < limit {
		if !o.started {
			o.started = true
			switch {
			case o.hashed():
				if id := o.lids[o.row]; id >= 0 {
					o.cand = o.head[id]
				} else {
					o.cand = -1
				}
			case o.nr > 0:
				o.cand = 0
			default:
				o.cand = -1
			}
		}
		if o.cand < 0 {
			o.row++
			o.started = false
			continue
		}
		o.pl = append(o.pl, int32(o.row))
		o.pr = append(o.pr, o.cand)
		if o.hashed() {
			o.cand = o.chain[o.cand]
		} else if o.cand++; int(o.cand) >= o.nr {
			o.cand = -1
		}
	}
}

// applyCond keeps the pairs for which Cond is true.
func (o *joinOp) applyCond() error {
	if o.n.Cond == nil || len(o.pl) == 0 {
		return nil
	}
	mem := o.env.Allocator()
	cols := append(takeColumns(mem, o.l.Columns(), o.pl), takeColumns(mem, o.r.Columns(), o.pr)...)
	b, err := newBatch(o.combined, cols, len(o.pl))
	if err != nil {
		return err
	}
	sel, err := eval.EvalPredicate(&o.env.Env, o.n.Cond, b)
	b.Release()
	if err != nil {
		return err
	}
	for k, s := range sel {
		o.pl[k], o.pr[k] = o.pl[s], o.pr[s]
	}
	o.pl, o.pr = o.pl[:len(sel)], o.pr[:len(sel)]
	return nil
}

func (o *joinOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if !o.built {
		o.built = true
		if err := o.build(ctx); err != nil {
			return nil, err
		}
	}
	if o.swapped != nil {
		b, err := o.swapped.Next(ctx)
		if err != nil {
			return nil, err
		}
		cols := make([]arrow.Array, len(o.perm))
		for i, p := range o.perm {
			cols[i] = b.Column(p)
		}
		out := array.NewRecordBatch(o.schema, cols, b.NumRows())
		b.Release()
		return out, nil
	}
	kind := o.n.Kind
	bs := o.env.batchSize()
	for !o.finished {
		if o.l == nil {
			if o.nr == 0 && (kind == planner.InnerJoin || kind == planner.SemiJoin || kind == planner.RightJoin) {
				o.finished = true
				break
			}
			b, err := o.left.Next(ctx)
			if isEOF(err) {
				o.finished = true
				break
			}
			if err != nil {
				return nil, err
			}
			if err := o.setLeft(b); err != nil {
				return nil, err
			}
		}
		o.pairs(bs)
		if err := o.applyCond(); err != nil {
			return nil, err
		}
		for k, l := range o.pl {
			o.lmatch[l] = true
			if o.rmatch != nil {
				o.rmatch[o.pr[k]] = true
			}
		}
		outL, outR := o.pl, o.pr
		switch kind {
		case planner.SemiJoin, planner.AntiJoin:
			outL, outR = outL[:0], nil
		}
		atEnd := o.row >= len(o.lids)
		if atEnd {
			for l, m := range o.lmatch {
				switch {
				case !m && (kind == planner.LeftJoin || kind == planner.FullJoin):
					outL = append(outL, int32(l))
					outR = append(outR, -1)
				case m && kind == planner.SemiJoin, !m && kind == planner.AntiJoin:
					outL = append(outL, int32(l))
				}
			}
		}
		var out arrow.RecordBatch
		var err error
		if len(outL) > 0 {
			out, err = o.output(o.l, outL, outR)
		}
		o.pl, o.pr = outL[:0], outR[:0]
		if atEnd {
			o.l.Release()
			o.l = nil
		}
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
	// Unmatched right rows of right and full joins.
	if o.rmatch != nil {
		var outL, outR []int32
		for o.rpos < o.nr && len(outR) < bs {
			if !o.rmatch[o.rpos] {
				outL = append(outL, -1)
				outR = append(outR, int32(o.rpos))
			}
			o.rpos++
		}
		if len(outR) > 0 {
			return o.output(nil, outL, outR)
		}
	}
	return nil, io.EOF
}

// output gathers the output rows: left columns at outL (and, unless this
// is a semi or anti join, right columns at outR); -1 pads with NULLs.
func (o *joinOp) output(l arrow.RecordBatch, outL, outR []int32) (arrow.RecordBatch, error) {
	mem := o.env.Allocator()
	nleft := len(o.n.Left.Columns())
	cols := make([]arrow.Array, 0, o.schema.NumFields())
	if l != nil {
		cols = append(cols, takeColumns(mem, l.Columns(), outL)...)
	} else {
		for i := 0; i < nleft; i++ {
			cols = append(cols, array.MakeArrayOfNull(mem, o.combined.Field(i).Type, len(outL)))
		}
	}
	if o.n.Kind != planner.SemiJoin && o.n.Kind != planner.AntiJoin {
		cols = append(cols, takeColumns(mem, o.r.Columns(), outR)...)
	}
	return newBatch(o.schema, cols, len(outL))
}

// replayOp gives batches already read from an input, then the rest of
// that input (if rest is set). It owns the batches; rest belongs to
// whoever opened it, except that Close closes it too.
type replayOp struct {
	bufs   []arrow.RecordBatch
	rest   Operator
	schema *arrow.Schema
}

func (r *replayOp) Schema() *arrow.Schema          { return r.schema }
func (r *replayOp) Open(ctx context.Context) error { return nil }

func (r *replayOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if len(r.bufs) > 0 {
		b := r.bufs[0]
		r.bufs[0] = nil
		r.bufs = r.bufs[1:]
		return b, nil
	}
	if r.rest == nil {
		return nil, io.EOF
	}
	return r.rest.Next(ctx)
}

// drop releases the batches not yet given.
func (r *replayOp) drop() {
	releaseBatches(r.bufs)
	r.bufs = nil
}

func (r *replayOp) Close() error {
	r.drop()
	if r.rest != nil {
		return r.rest.Close()
	}
	return nil
}
