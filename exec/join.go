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
	o.keyTypes = make([]*catalog.Type, len(o.n.LeftKeys))
	for i := range o.n.LeftKeys {
		t, err := joinKeyType(o.n.LeftKeys[i].Type(), o.n.RightKeys[i].Type())
		if err != nil {
			return err
		}
		o.keyTypes[i] = t
	}
	if err := o.left.Open(ctx); err != nil {
		return err
	}
	return o.right.Open(ctx)
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
	for _, b := range []arrow.RecordBatch{o.r, o.l} {
		if b != nil {
			b.Release()
		}
	}
	o.r, o.l = nil, nil
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

func (o *joinOp) hashed() bool { return len(o.n.LeftKeys) > 0 }

func (o *joinOp) build(ctx context.Context) error {
	r, err := materialize(ctx, o.env, o.right)
	if err != nil {
		return err
	}
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
