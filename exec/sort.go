package exec

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
)

// valueCompare returns a comparison of two non-NULL rows of arr with
// Postgres ordering: NaN above every number, -0 = 0, text and bytea in
// byte order, intervals by their span.
func valueCompare(arr arrow.Array) (func(i, j int) int, error) {
	switch a := arr.(type) {
	case *array.Boolean:
		return func(i, j int) int {
			x, y := a.Value(i), a.Value(j)
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}, nil
	case *array.Int16:
		v := a.Int16Values()
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, nil
	case *array.Int32:
		v := a.Int32Values()
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, nil
	case *array.Int64:
		v := a.Int64Values()
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, nil
	case *array.Date32:
		v := a.Date32Values()
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, nil
	case *array.Timestamp:
		v := a.TimestampValues()
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, nil
	case *array.Float32:
		v := a.Float32Values()
		return func(i, j int) int { return compareFloat(v[i], v[j]) }, nil
	case *array.Float64:
		v := a.Float64Values()
		return func(i, j int) int { return compareFloat(v[i], v[j]) }, nil
	case *array.Decimal128:
		return func(i, j int) int { return a.Value(i).Cmp(a.Value(j)) }, nil
	case *array.String:
		return func(i, j int) int { return strings.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.Binary:
		return func(i, j int) int { return bytes.Compare(a.Value(i), a.Value(j)) }, nil
	case *array.MonthDayNanoInterval:
		return func(i, j int) int {
			d1, n1 := intervalSpan(a.Value(i))
			d2, n2 := intervalSpan(a.Value(j))
			if c := cmp.Compare(d1, d2); c != 0 {
				return c
			}
			return cmp.Compare(n1, n2)
		}, nil
	case *array.Null:
		return func(i, j int) int { return 0 }, nil
	}
	return nil, fmt.Errorf("%w: ordering of type %s", ErrUnsupported, arr.DataType())
}

// compareFloat orders NaN above every other value, as Postgres does.
func compareFloat[T float32 | float64](x, y T) int {
	xn, yn := x != x, y != y
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// sortKey is one evaluated ORDER BY key.
type sortKey struct {
	arr        arrow.Array
	cmp        func(i, j int) int
	desc       bool
	nullsFirst bool
	nulls      bool
}

func newSortKey(arr arrow.Array, desc, nullsFirst bool) (sortKey, error) {
	c, err := valueCompare(arr)
	if err != nil {
		return sortKey{}, err
	}
	return sortKey{arr: arr, cmp: c, desc: desc, nullsFirst: nullsFirst, nulls: arr.NullN() > 0}, nil
}

func (k *sortKey) compare(i, j int) int {
	if k.nulls {
		ni, nj := k.arr.IsNull(i), k.arr.IsNull(j)
		if ni || nj {
			switch {
			case ni && nj:
				return 0
			case ni == k.nullsFirst:
				return -1
			}
			return 1
		}
	}
	c := k.cmp(i, j)
	if k.desc {
		return -c
	}
	return c
}

func compareKeys(keys []sortKey, i, j int) int {
	for k := range keys {
		if c := keys[k].compare(i, j); c != 0 {
			return c
		}
	}
	return 0
}

// sortPerm returns the stable permutation of rows [0, n) ordered by keys.
func sortPerm(keys []sortKey, n int) []int32 {
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	if len(keys) == 1 && !keys[0].nulls {
		if a, ok := keys[0].arr.(*array.Int64); ok {
			// A common case: sort (value, row) pairs without indirection.
			v := a.Int64Values()
			type pair struct {
				v int64
				i int32
			}
			ps := make([]pair, n)
			for i := range ps {
				ps[i] = pair{v[i], int32(i)}
			}
			desc := keys[0].desc
			// Ties broken by row number: stable, with an unstable sort.
			slices.SortFunc(ps, func(x, y pair) int {
				c := cmp.Compare(x.v, y.v)
				if desc {
					c = -c
				}
				if c != 0 {
					return c
				}
				return cmp.Compare(x.i, y.i)
			})
			for i, p := range ps {
				perm[i] = p.i
			}
			return perm
		}
	}
	slices.SortFunc(perm, func(x, y int32) int {
		if c := compareKeys(keys, int(x), int(y)); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	return perm
}

// sortRows orders the given rows by keys, stably (ties by row number).
func sortRows(keys []sortKey, rows []int32) []int32 {
	slices.SortFunc(rows, func(x, y int32) int {
		if c := compareKeys(keys, int(x), int(y)); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	return rows
}

// evalSortKeys evaluates ORDER BY keys over b. The caller releases the
// returned arrays (keys[i].arr).
func evalSortKeys(env *Env, ks []planner.SortKey, b arrow.RecordBatch) ([]sortKey, error) {
	out := make([]sortKey, 0, len(ks))
	for _, k := range ks {
		a, err := evalOne(env, k.Expr, b)
		if err != nil {
			releaseSortKeys(out)
			return nil, err
		}
		sk, err := newSortKey(a, k.Desc, k.NullsFirst)
		if err != nil {
			a.Release()
			releaseSortKeys(out)
			return nil, err
		}
		out = append(out, sk)
	}
	return out, nil
}

func releaseSortKeys(ks []sortKey) {
	for _, k := range ks {
		k.arr.Release()
	}
}

// sortOp sorts its whole input, stably.
type sortOp struct {
	env  *Env
	n    *planner.Sort
	in   Operator
	out  arrow.RecordBatch // the sorted input
	pos  int64
	done bool
	// limit > 0 keeps only the first limit rows (set by a Limit above).
	limit int64
}

var _ Operator = (*sortOp)(nil)

// topNMax is the largest LIMIT (plus OFFSET) for which a sort keeps only
// the leading rows as it reads, instead of sorting its whole input.
const topNMax = 1 << 14

func newSort(env *Env, n *planner.Sort, in Operator) *sortOp {
	return &sortOp{env: env, n: n, in: in}
}

func (o *sortOp) Schema() *arrow.Schema          { return o.in.Schema() }
func (o *sortOp) Open(ctx context.Context) error { return o.in.Open(ctx) }

func (o *sortOp) Close() error {
	if o.out != nil {
		o.out.Release()
		o.out = nil
	}
	return o.in.Close()
}

func (o *sortOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if !o.done && o.limit > 0 {
		o.done = true
		if err := o.topN(ctx); err != nil {
			return nil, err
		}
	}
	if !o.done {
		o.done = true
		all, err := materialize(ctx, o.env, o.in)
		if err != nil {
			return nil, err
		}
		if all.NumRows() == 0 {
			all.Release()
			return nil, io.EOF
		}
		keys, err := evalSortKeys(o.env, o.n.Keys, all)
		if err != nil {
			all.Release()
			return nil, err
		}
		perm := sortPerm(keys, int(all.NumRows()))
		releaseSortKeys(keys)
		cols := takeColumns(o.env.Allocator(), all.Columns(), perm)
		schema := all.Schema()
		all.Release()
		if o.out, err = newBatch(schema, cols, len(perm)); err != nil {
			return nil, err
		}
	}
	return o.slice()
}

// slice returns the next batch-sized slice of o.out.
func (o *sortOp) slice() (arrow.RecordBatch, error) {
	if o.out == nil || o.pos >= o.out.NumRows() {
		return nil, io.EOF
	}
	end := min(o.out.NumRows(), o.pos+int64(o.env.batchSize()))
	s := o.out.NewSlice(o.pos, end)
	o.pos = end
	return s, nil
}

// materialize reads op to the end and returns its rows as one batch with
// op's schema.
func materialize(ctx context.Context, env *Env, op Operator) (arrow.RecordBatch, error) {
	bs, err := drain(ctx, op)
	if err != nil {
		return nil, err
	}
	defer releaseBatches(bs)
	schema := op.Schema()
	cols, n, err := concatBatches(env.Allocator(), schema, bs)
	if err != nil {
		return nil, err
	}
	return newBatch(schema, cols, n)
}

// evalOne evaluates e over b; the caller releases the result.
func evalOne(env *Env, e planner.Expr, b arrow.RecordBatch) (arrow.Array, error) {
	return eval.Eval(&env.Env, e, b)
}

// topN reads the input keeping only the first o.limit rows in order: each
// batch is merged with the rows kept so far, sorted stably, and cut.
func (o *sortOp) topN(ctx context.Context) error {
	mem := o.env.Allocator()
	var top arrow.RecordBatch
	defer func() {
		if top != nil {
			top.Release()
		}
	}()
	for {
		b, err := o.in.Next(ctx)
		if isEOF(err) {
			break
		}
		if err != nil {
			return err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		parts := []arrow.RecordBatch{b}
		var top0 int64
		if top != nil {
			parts = []arrow.RecordBatch{top, b}
			top0 = top.NumRows()
		}
		cols, n, err := concatBatches(mem, o.in.Schema(), parts)
		b.Release()
		if err != nil {
			return err
		}
		all, err := newBatch(o.in.Schema(), cols, n)
		if err != nil {
			return err
		}
		keys, err := evalSortKeys(o.env, o.n.Keys, all)
		if err != nil {
			all.Release()
			return err
		}
		var perm []int32
		if kept := int(top0); kept > 0 && int64(kept) >= o.limit {
			// The rows kept are sorted: a new row can only enter if it
			// sorts before the last of them.
			rows := make([]int32, kept, n)
			for i := range rows {
				rows[i] = int32(i)
			}
			for i := kept; i < n; i++ {
				if compareKeys(keys, i, kept-1) < 0 {
					rows = append(rows, int32(i))
				}
			}
			perm = sortRows(keys, rows)
		} else {
			perm = sortPerm(keys, n)
		}
		releaseSortKeys(keys)
		if int64(len(perm)) > o.limit {
			perm = perm[:o.limit]
		}
		cols = takeColumns(mem, all.Columns(), perm)
		all.Release()
		if top != nil {
			top.Release()
			top = nil
		}
		if top, err = newBatch(o.in.Schema(), cols, len(perm)); err != nil {
			return err
		}
	}
	o.out, top = top, nil
	return nil
}
