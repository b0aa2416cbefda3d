package exec

import (
	"context"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// scanOp reads a relation from Storage and applies the scan's filter.
type scanOp struct {
	env    *Env
	n      *planner.Scan
	schema *arrow.Schema
	in     Operator
}

var _ Operator = (*scanOp)(nil)

func newScan(env *Env, n *planner.Scan) *scanOp {
	return &scanOp{env: env, n: n, schema: schemaOf(n.Cols)}
}

func (o *scanOp) Schema() *arrow.Schema { return o.schema }

func (o *scanOp) Open(ctx context.Context) error {
	if o.env.Storage == nil {
		return ErrNoStorage
	}
	in, err := o.env.Storage.Scan(ctx, o.n.Rel, o.n.Project, o.n.Filter)
	if err != nil {
		return err
	}
	o.in = in
	return in.Open(ctx)
}

func (o *scanOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		// Leaves check for cancellation once per batch: a cancelled or
		// timed-out statement stops within a batch's work.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := o.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		if o.n.Filter != nil {
			b, err = filterBatch(o.env, o.n.Filter, b)
			if err != nil {
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

func (o *scanOp) Close() error {
	if o.in != nil {
		return o.in.Close()
	}
	return nil
}

// filterBatch keeps the rows of b where cond is true, releasing b.
func filterBatch(env *Env, cond planner.Expr, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	sel, err := eval.EvalPredicate(&env.Env, cond, b)
	if err != nil {
		b.Release()
		return nil, err
	}
	n := int(b.NumRows())
	if len(sel) == n {
		return b, nil
	}
	cols := takeColumns(env.Allocator(), b.Columns(), sel)
	schema := b.Schema()
	b.Release()
	return newBatch(schema, cols, len(sel))
}

// filterOp keeps the rows for which Cond is true.
type filterOp struct {
	env  *Env
	cond planner.Expr
	in   Operator
}

var _ Operator = (*filterOp)(nil)

func newFilter(env *Env, cond planner.Expr, in Operator) *filterOp {
	return &filterOp{env: env, cond: cond, in: in}
}

func (o *filterOp) Schema() *arrow.Schema          { return o.in.Schema() }
func (o *filterOp) Open(ctx context.Context) error { return o.in.Open(ctx) }
func (o *filterOp) Close() error                   { return o.in.Close() }

func (o *filterOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := o.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		b, err = filterBatch(o.env, o.cond, b)
		if err != nil {
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		return b, nil
	}
}

// projectOp computes expressions over each input batch.
type projectOp struct {
	env    *Env
	exprs  []planner.Expr
	schema *arrow.Schema
	in     Operator
}

var _ Operator = (*projectOp)(nil)

func newProject(env *Env, n *planner.Project, in Operator) *projectOp {
	return &projectOp{env: env, exprs: n.Exprs, schema: schemaOf(n.Cols), in: in}
}

func (o *projectOp) Schema() *arrow.Schema          { return o.schema }
func (o *projectOp) Open(ctx context.Context) error { return o.in.Open(ctx) }
func (o *projectOp) Close() error                   { return o.in.Close() }

func (o *projectOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := o.in.Next(ctx)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	cols, err := evalAll(o.env, o.exprs, b)
	if err != nil {
		return nil, err
	}
	return newBatch(o.schema, cols, int(b.NumRows()))
}

// evalAll evaluates exprs over b; the caller releases the arrays.
func evalAll(env *Env, exprs []planner.Expr, b arrow.RecordBatch) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(exprs))
	for i, e := range exprs {
		a, err := eval.Eval(&env.Env, e, b)
		if err != nil {
			releaseAll(out[:i])
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// limitOp skips Offset rows and returns at most Count rows.
type limitOp struct {
	env           *Env
	n             *planner.Limit
	in            Operator
	count, offset int64 // count < 0: no limit
}

var _ Operator = (*limitOp)(nil)

func newLimit(env *Env, n *planner.Limit, in Operator) *limitOp {
	return &limitOp{env: env, n: n, in: in, count: -1}
}

func (o *limitOp) Schema() *arrow.Schema { return o.in.Schema() }
func (o *limitOp) Close() error          { return o.in.Close() }

func (o *limitOp) Open(ctx context.Context) error {
	if o.n.Count != nil {
		v, err := limitValue(o.env, o.n.Count)
		if err != nil {
			return err
		}
		if v != nil {
			if *v < 0 {
				return pgerror.New("2201W", "LIMIT must not be negative")
			}
			o.count = *v
		}
	}
	if o.n.Offset != nil {
		v, err := limitValue(o.env, o.n.Offset)
		if err != nil {
			return err
		}
		if v != nil {
			if *v < 0 {
				return pgerror.New("2201X", "OFFSET must not be negative")
			}
			o.offset = *v
		}
	}
	if s, ok := o.in.(*sortOp); ok && o.count >= 0 && o.count+o.offset <= topNMax {
		s.limit = o.count + o.offset
	}
	return o.in.Open(ctx)
}

func limitValue(env *Env, e planner.Expr) (*int64, error) {
	v, err := eval.EvalScalar(&env.Env, e)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	if x, ok := toInt64(v); ok {
		return &x, nil
	}
	if f, ok := v.(float64); ok {
		x := int64(f + 0.5)
		if f < 0 {
			x = int64(f - 0.5)
		}
		return &x, nil
	}
	return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "argument of LIMIT must be type bigint, not %T", v)
}

func (o *limitOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		if o.count == 0 {
			return nil, io.EOF
		}
		b, err := o.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		n := b.NumRows()
		lo, hi := int64(0), n
		if o.offset > 0 {
			skip := min(o.offset, n)
			o.offset -= skip
			lo = skip
		}
		if o.count >= 0 && hi-lo > o.count {
			hi = lo + o.count
		}
		if o.count >= 0 {
			o.count -= hi - lo
		}
		if lo == 0 && hi == n {
			if n == 0 {
				b.Release()
				continue
			}
			return b, nil
		}
		if lo == hi {
			b.Release()
			continue
		}
		s := b.NewSlice(lo, hi)
		b.Release()
		return s, nil
	}
}

// distinctOp removes duplicate rows, or keeps the first row per On key.
type distinctOp struct {
	env  *Env
	on   []planner.Expr
	in   Operator
	ht   *hashTable
	ids  []uint32
	rows []int32
}

var _ Operator = (*distinctOp)(nil)

func newDistinct(env *Env, n *planner.Distinct, in Operator) *distinctOp {
	return &distinctOp{env: env, on: n.On, in: in, ht: newHashTable()}
}

func (o *distinctOp) Schema() *arrow.Schema          { return o.in.Schema() }
func (o *distinctOp) Open(ctx context.Context) error { return o.in.Open(ctx) }
func (o *distinctOp) Close() error                   { return o.in.Close() }

func (o *distinctOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := o.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		keys := b.Columns()
		if len(o.on) > 0 {
			keys, err = evalAll(o.env, o.on, b)
			if err != nil {
				b.Release()
				return nil, err
			}
		}
		b, err = firstOccurrences(o.env, o.ht, keys, b, &o.ids, &o.rows)
		if len(o.on) > 0 {
			releaseAll(keys)
		}
		if err != nil {
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		return b, nil
	}
}

// firstOccurrences keeps the rows of b whose keys ht has not seen, adding
// them; it releases b.
func firstOccurrences(env *Env, ht *hashTable, keys []arrow.Array, b arrow.RecordBatch, ids *[]uint32, rows *[]int32) (arrow.RecordBatch, error) {
	n := int(b.NumRows())
	if cap(*ids) < n {
		*ids = make([]uint32, n)
	}
	var err error
	*rows, err = ht.insert(keys, n, (*ids)[:n], (*rows)[:0])
	if err != nil {
		b.Release()
		return nil, err
	}
	if len(*rows) == n {
		return b, nil
	}
	cols := takeColumns(env.Allocator(), b.Columns(), *rows)
	schema := b.Schema()
	b.Release()
	return newBatch(schema, cols, len(*rows))
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
