package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/planner"
)

// setOp computes UNION, INTERSECT and EXCEPT, with or without ALL, with
// multiset semantics and NULLs equal. UNION streams both inputs (through a
// hash set unless ALL); INTERSECT and EXCEPT first count the right input's
// rows by key, then stream the left input, so the output keeps left order.
type setOp struct {
	env         *Env
	n           *planner.SetOp
	left, right Operator
	schema      *arrow.Schema

	ht      *hashTable
	counts  []int64 // per key id: copies of the key still to match in the right input
	emitted []bool  // per key id: already output (distinct forms)
	ids     []uint32
	rows    []int32
	built   bool
	onRight bool // UNION: reading the right input
}

var _ Operator = (*setOp)(nil)

func newSetOp(env *Env, n *planner.SetOp, l, r Operator) *setOp {
	return &setOp{env: env, n: n, left: l, right: r, schema: schemaOf(n.Cols), ht: newHashTable()}
}

func (o *setOp) Schema() *arrow.Schema { return o.schema }

func (o *setOp) Open(ctx context.Context) error {
	if err := o.left.Open(ctx); err != nil {
		return err
	}
	return o.right.Open(ctx)
}

func (o *setOp) Close() error {
	err := o.left.Close()
	if err2 := o.right.Close(); err == nil {
		err = err2
	}
	return err
}

func (o *setOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if o.n.Kind == planner.Union {
		return o.union(ctx)
	}
	if !o.built {
		o.built = true
		if err := o.countRight(ctx); err != nil {
			return nil, err
		}
	}
	for {
		b, err := o.left.Next(ctx)
		if err != nil {
			return nil, err
		}
		b, err = o.filterLeft(b)
		if err != nil {
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		return rebatch(o.schema, b)
	}
}

func (o *setOp) union(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		in := o.left
		if o.onRight {
			in = o.right
		}
		b, err := in.Next(ctx)
		if isEOF(err) && !o.onRight {
			o.onRight = true
			continue
		}
		if err != nil {
			return nil, err
		}
		if !o.n.All {
			if b, err = firstOccurrences(o.env, o.ht, b.Columns(), b, &o.ids, &o.rows); err != nil {
				return nil, err
			}
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		return rebatch(o.schema, b)
	}
}

func (o *setOp) grow(n int) []uint32 {
	if cap(o.ids) < n {
		o.ids = make([]uint32, n)
	}
	return o.ids[:n]
}

func (o *setOp) countRight(ctx context.Context) error {
	for {
		b, err := o.right.Next(ctx)
		if isEOF(err) {
			return nil
		}
		if err != nil {
			return err
		}
		n := int(b.NumRows())
		ids := o.grow(n)
		_, err = o.ht.insert(b.Columns(), n, ids, nil)
		b.Release()
		if err != nil {
			return err
		}
		for len(o.counts) < o.ht.len() {
			o.counts = append(o.counts, 0)
		}
		for _, id := range ids {
			o.counts[id]++
		}
	}
}

// filterLeft keeps the rows of a left batch that belong in the output.
func (o *setOp) filterLeft(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(b.NumRows())
	ids := o.grow(n)
	if _, err := o.ht.insert(b.Columns(), n, ids, nil); err != nil {
		b.Release()
		return nil, err
	}
	for len(o.counts) < o.ht.len() {
		o.counts = append(o.counts, 0)
	}
	for len(o.emitted) < o.ht.len() {
		o.emitted = append(o.emitted, false)
	}
	rows := o.rows[:0]
	for i, id := range ids {
		keep := false
		switch {
		case o.n.Kind == planner.Intersect && o.n.All:
			if o.counts[id] > 0 {
				o.counts[id]--
				keep = true
			}
		case o.n.Kind == planner.Intersect:
			keep = o.counts[id] > 0 && !o.emitted[id]
		case o.n.All: // EXCEPT ALL
			if o.counts[id] > 0 {
				o.counts[id]--
			} else {
				keep = true
			}
		default: // EXCEPT
			keep = o.counts[id] == 0 && !o.emitted[id]
		}
		if keep {
			o.emitted[id] = true
			rows = append(rows, int32(i))
		}
	}
	o.rows = rows
	if len(rows) == n {
		return b, nil
	}
	cols := takeColumns(o.env.Allocator(), b.Columns(), rows)
	schema := b.Schema()
	b.Release()
	return newBatch(schema, cols, len(rows))
}
