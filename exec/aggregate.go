package exec

import (
	"context"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
)

// aggOp is a hash aggregation. It reads its whole input, assigning each
// row a dense group id (NULL keys group together), feeds the accumulators
// and then returns one row per group: keys first, then aggregates. Groups
// come out in order of first appearance.
type aggOp struct {
	env    *Env
	n      *planner.Aggregate
	in     Operator
	schema *arrow.Schema

	ht        *hashTable
	accs      []eval.Accumulator
	keyChunks [][]arrow.Array // per group-by column, keys of new groups per batch
	ordered   bool            // some aggregate has ORDER BY: aggregate all input at once

	ids     []uint32
	gsel    []uint32
	newRows []int32

	out  arrow.RecordBatch
	pos  int64
	done bool
}

var _ Operator = (*aggOp)(nil)

func newAggregate(env *Env, n *planner.Aggregate, in Operator) *aggOp {
	o := &aggOp{env: env, n: n, in: in, schema: schemaOf(n.Cols), ht: newHashTable()}
	for _, c := range n.Aggs {
		if len(c.OrderBy) > 0 {
			o.ordered = true
		}
	}
	o.keyChunks = make([][]arrow.Array, len(n.GroupBy))
	return o
}

func (o *aggOp) Schema() *arrow.Schema { return o.schema }

func (o *aggOp) Open(ctx context.Context) error {
	for _, c := range o.n.Aggs {
		acc, err := eval.NewAccumulatorOpts(&o.env.Env, c.Agg, c.Distinct, eval.AccOptions{AppendOnly: true})
		if err != nil {
			return err
		}
		o.accs = append(o.accs, acc)
	}
	return o.in.Open(ctx)
}

func (o *aggOp) Close() error {
	for _, a := range o.accs {
		a.Release()
	}
	o.accs = nil
	for _, ch := range o.keyChunks {
		releaseAll(ch)
	}
	o.keyChunks = nil
	if o.out != nil {
		o.out.Release()
		o.out = nil
	}
	return o.in.Close()
}

func (o *aggOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if !o.done {
		o.done = true
		if err := o.consume(ctx); err != nil {
			return nil, err
		}
		if err := o.finish(); err != nil {
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

func (o *aggOp) consume(ctx context.Context) error {
	if o.ordered {
		all, err := materialize(ctx, o.env, o.in)
		if err != nil {
			return err
		}
		defer all.Release()
		return o.feed(all)
	}
	for {
		b, err := o.in.Next(ctx)
		if isEOF(err) {
			return nil
		}
		if err != nil {
			return err
		}
		err = o.feed(b)
		b.Release()
		if err != nil {
			return err
		}
	}
}

// feed assigns group ids to the rows of b and updates every accumulator.
func (o *aggOp) feed(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if cap(o.ids) < n {
		o.ids = make([]uint32, n)
	}
	ids := o.ids[:n]
	if len(o.n.GroupBy) == 0 {
		clear(ids)
	} else {
		keys, err := evalAll(o.env, o.n.GroupBy, b)
		if err != nil {
			return err
		}
		o.newRows, err = o.ht.insert(keys, n, ids, o.newRows[:0])
		if err == nil && len(o.newRows) > 0 {
			mem := o.env.Allocator()
			for k, a := range keys {
				if len(o.newRows) == n {
					a.Retain()
					o.keyChunks[k] = append(o.keyChunks[k], a)
				} else {
					o.keyChunks[k] = append(o.keyChunks[k], takeArray(mem, a, o.newRows))
				}
			}
		}
		releaseAll(keys)
		if err != nil {
			return err
		}
	}
	for i := range o.n.Aggs {
		if err := o.update(i, b, ids); err != nil {
			return err
		}
	}
	return nil
}

func (o *aggOp) update(i int, b arrow.RecordBatch, ids []uint32) error {
	call := &o.n.Aggs[i]
	var rows []int32 // nil: all rows in order
	if call.Filter != nil {
		sel, err := eval.EvalPredicate(&o.env.Env, call.Filter, b)
		if err != nil {
			return err
		}
		if len(sel) == 0 {
			return nil
		}
		if len(sel) < len(ids) {
			rows = sel
		}
	}
	if len(call.OrderBy) > 0 {
		keys, err := evalSortKeys(o.env, call.OrderBy, b)
		if err != nil {
			return err
		}
		if rows == nil {
			rows = make([]int32, len(ids))
			for j := range rows {
				rows[j] = int32(j)
			}
		} else {
			rows = slices.Clone(rows)
		}
		slices.SortStableFunc(rows, func(x, y int32) int { return compareKeys(keys, int(x), int(y)) })
		releaseSortKeys(keys)
	}
	args, err := evalAll(o.env, call.Args, b)
	if err != nil {
		return err
	}
	groups := ids
	if rows != nil {
		if cap(o.gsel) < len(rows) {
			o.gsel = make([]uint32, len(rows))
		}
		groups = o.gsel[:len(rows)]
		for j, r := range rows {
			groups[j] = ids[r]
		}
		mem := o.env.Allocator()
		for j, a := range args {
			args[j] = takeArray(mem, a, rows)
			a.Release()
		}
	}
	err = o.accs[i].Update(groups, args)
	releaseAll(args)
	return err
}

// finish builds the output batch of all groups.
func (o *aggOp) finish() error {
	ngroups := o.ht.len()
	if len(o.n.GroupBy) == 0 {
		ngroups = 1
	}
	if ngroups == 0 {
		return nil
	}
	mem := o.env.Allocator()
	cols := make([]arrow.Array, 0, o.schema.NumFields())
	for k, ch := range o.keyChunks {
		var a arrow.Array
		if len(ch) == 1 {
			a = ch[0]
			a.Retain()
		} else {
			var err error
			if a, err = array.Concatenate(ch, mem); err != nil {
				releaseAll(cols)
				return err
			}
		}
		releaseAll(ch)
		o.keyChunks[k] = nil
		cols = append(cols, a)
	}
	for _, acc := range o.accs {
		a, err := acc.Result(ngroups)
		if err != nil {
			releaseAll(cols)
			return err
		}
		cols = append(cols, a)
	}
	var err error
	o.out, err = newBatch(o.schema, cols, ngroups)
	return err
}
