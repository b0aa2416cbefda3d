package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// subqueryState is the per-statement state of subquery evaluation.
type subqueryState struct {
	ctx  context.Context // of the current Open/Next of the root operator
	once map[*planner.Subquery]*subResult
	refs map[*planner.Subquery]*outerRefs
	memo map[*planner.Subquery]map[string]any
	cmps map[*planner.Subquery]*planner.Call
}

func newSubqueryState() *subqueryState {
	return &subqueryState{
		ctx:  context.Background(),
		once: map[*planner.Subquery]*subResult{},
		refs: map[*planner.Subquery]*outerRefs{},
		memo: map[*planner.Subquery]map[string]any{},
		cmps: map[*planner.Subquery]*planner.Call{},
	}
}

// memoLimit bounds the per-statement memo of a correlated subquery.
const memoLimit = 1 << 16

// subResult is the cached result of an uncorrelated subquery, held as Go
// values so that it needs no release.
type subResult struct {
	scalar  any
	rows    int
	ht      *hashTable // IN: the result's keys
	hasNull bool
	vals    []any // ANY/ALL: the result column, cast to the comparison's type
}

// outerRefs are the columns of the enclosing row a correlated subquery
// reads; deep is set when it also reads rows further out.
type outerRefs struct {
	cols []int
	deep bool
}

// tri is a three-valued truth value.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triNull
)

func (t tri) not() tri {
	switch t {
	case triFalse:
		return triTrue
	case triTrue:
		return triFalse
	}
	return triNull
}

func (t tri) value() any {
	switch t {
	case triFalse:
		return false
	case triTrue:
		return true
	}
	return nil
}

// rootOp records the context of the statement's root operator, for
// subqueries run from inside expression evaluation.
type rootOp struct {
	Operator
	st *subqueryState
}

func (o *rootOp) Open(ctx context.Context) error {
	o.st.ctx = ctx
	return o.Operator.Open(ctx)
}

func (o *rootOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	o.st.ctx = ctx
	return o.Operator.Next(ctx)
}

// subquery implements eval.SubqueryFunc.
func (x *Env) subquery(ee *eval.Env, sq *planner.Subquery, b arrow.RecordBatch) (arrow.Array, error) {
	n := int(b.NumRows())
	if !sq.Correlated {
		return x.uncorrelated(ee, sq, b, n)
	}
	return x.correlated(ee, sq, b, n)
}

// runPlan builds and runs plan with outer (if not nil) as the innermost
// enclosing row, and returns its first column (at most limit rows when
// limit > 0).
func (x *Env) runPlan(ee *eval.Env, plan planner.Node, outer *eval.OuterRow, limit int) (arrow.Array, error) {
	child := &Env{Env: *ee, Storage: x.Storage, BatchSize: x.BatchSize, subq: x.subq}
	if outer != nil {
		child.Env.Outer = append(ee.Outer[:len(ee.Outer):len(ee.Outer)], *outer)
	}
	if len(plan.Columns()) == 0 {
		return nil, fmt.Errorf("exec: subquery without columns")
	}
	op, err := build(child, plan)
	if err != nil {
		return nil, err
	}
	ctx := x.subq.ctx
	var bs []arrow.RecordBatch
	defer func() { releaseBatches(bs) }()
	closed := false
	defer func() {
		// A panic (a budget's) unwinding past the loop closes it too.
		if !closed {
			op.Close()
		}
	}()
	err = op.Open(ctx)
	rows := 0
	for err == nil && (limit <= 0 || rows < limit) {
		var b arrow.RecordBatch
		b, err = op.Next(ctx)
		if err == nil {
			bs = append(bs, b)
			rows += int(b.NumRows())
		}
	}
	closed = true
	if cerr := op.Close(); err == nil || isEOF(err) {
		err = cerr
	}
	if err != nil && !isEOF(err) {
		return nil, err
	}
	parts := make([]arrow.Array, len(bs))
	for i, b := range bs {
		parts[i] = b.Column(0)
	}
	mem := child.Allocator()
	switch len(parts) {
	case 0:
		return array.MakeArrayOfNull(mem, plan.Columns()[0].Type.Arrow(), 0), nil
	case 1:
		parts[0].Retain()
		return parts[0], nil
	}
	return array.Concatenate(parts, mem)
}

func rowLimit(kind planner.SubqueryKind) int {
	switch kind {
	case planner.SubScalar:
		return 2
	case planner.SubExists:
		return 1
	}
	return 0
}

func errScalarRows() error {
	return pgerror.New(pgerror.CodeCardinalityViolation, "more than one row returned by a subquery used as an expression")
}

// cmpTypes returns the types the left operand and the subquery's column
// are compared as.
func cmpTypes(sq *planner.Subquery) (catalog.Type, catalog.Type, error) {
	lt, rt := sq.X.Type(), sq.Plan.Columns()[0].Type
	if sq.Cmp != nil && len(sq.Cmp.Args) == 2 {
		return sq.Cmp.Args[0], sq.Cmp.Args[1], nil
	}
	t, err := joinKeyType(lt, rt)
	if err != nil {
		return lt, rt, err
	}
	if t != nil {
		return *t, *t, nil
	}
	return lt, rt, nil
}

// hashIn reports whether IN is evaluated by hashing: with equality on
// values stored alike on both sides.
func hashIn(sq *planner.Subquery) bool {
	if sq.Kind != planner.SubIn {
		return false
	}
	if sq.Cmp == nil {
		return true
	}
	l, r, _ := cmpTypes(sq)
	return sq.Cmp.Name == "=" && arrow.TypeEqual(l.Arrow(), r.Arrow())
}

func castTo(ee *eval.Env, a arrow.Array, from, to catalog.Type) (arrow.Array, error) {
	if from == to || (arrow.TypeEqual(from.Arrow(), to.Arrow()) && from.ID != catalog.Numeric) {
		a.Retain()
		return a, nil
	}
	return eval.CastArray(ee, a, from, to)
}

// evalX evaluates the left operand over b, cast to the comparison type.
func evalX(ee *eval.Env, sq *planner.Subquery, b arrow.RecordBatch) (arrow.Array, error) {
	lt, _, err := cmpTypes(sq)
	if err != nil {
		return nil, err
	}
	xa, err := eval.Eval(ee, sq.X, b)
	if err != nil {
		return nil, err
	}
	defer xa.Release()
	return castTo(ee, xa, sq.X.Type(), lt)
}

func (x *Env) uncorrelated(ee *eval.Env, sq *planner.Subquery, b arrow.RecordBatch, n int) (arrow.Array, error) {
	mem := ee.Allocator()
	res := x.subq.once[sq]
	if res == nil {
		r, err := x.runPlan(ee, sq.Plan, nil, rowLimit(sq.Kind))
		if err != nil {
			return nil, err
		}
		res, err = x.summarize(ee, sq, r)
		r.Release()
		if err != nil {
			return nil, err
		}
		x.subq.once[sq] = res
	}
	switch sq.Kind {
	case planner.SubScalar:
		return constArray(mem, sq.Typ, res.scalar, n)
	case planner.SubExists:
		return constArray(mem, catalog.TypeBool, (res.rows > 0) != sq.Not, n)
	}
	xa, err := evalX(ee, sq, b)
	if err != nil {
		return nil, err
	}
	defer xa.Release()
	out := make([]tri, n)
	if hashIn(sq) {
		if err := inByHash(res.ht, res.rows, res.hasNull, xa, out); err != nil {
			return nil, err
		}
	} else {
		_, rt, _ := cmpTypes(sq)
		r, err := constArrayOf(mem, rt, res.vals)
		if err != nil {
			return nil, err
		}
		defer r.Release()
		rows := make([]int32, n)
		for i := range rows {
			rows[i] = int32(i)
		}
		if err := x.crossCompare(ee, sq, xa, rows, r, out); err != nil {
			return nil, err
		}
	}
	return triArray(mem, out, sq.Not), nil
}

// summarize turns the first column of an uncorrelated subquery's result
// into its cached form.
func (x *Env) summarize(ee *eval.Env, sq *planner.Subquery, r arrow.Array) (*subResult, error) {
	res := &subResult{rows: r.Len()}
	switch sq.Kind {
	case planner.SubScalar:
		if r.Len() > 1 {
			return nil, errScalarRows()
		}
		if r.Len() == 1 {
			res.scalar = valueAt(r, 0)
		}
		return res, nil
	case planner.SubExists:
		return res, nil
	}
	_, rt, err := cmpTypes(sq)
	if err != nil {
		return nil, err
	}
	rc, err := castTo(ee, r, sq.Plan.Columns()[0].Type, rt)
	if err != nil {
		return nil, err
	}
	defer rc.Release()
	if hashIn(sq) {
		res.ht = newHashTable()
		res.hasNull = rc.NullN() > 0
		ids := make([]uint32, rc.Len())
		if _, err := res.ht.insert([]arrow.Array{rc}, rc.Len(), ids, nil); err != nil {
			return nil, err
		}
		return res, nil
	}
	res.vals = make([]any, rc.Len())
	for i := range res.vals {
		res.vals[i] = valueAt(rc, i)
	}
	return res, nil
}

func constArrayOf(mem memory.Allocator, t catalog.Type, vals []any) (arrow.Array, error) {
	bld := array.NewBuilder(mem, t.Arrow())
	defer bld.Release()
	for _, v := range vals {
		if err := appendValue(bld, v); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// inByHash computes X IN (set) for every row of xa: true if the set holds
// X, else NULL if X is NULL or the set holds a NULL, else false; always
// false for an empty set.
func inByHash(ht *hashTable, rows int, hasNull bool, xa arrow.Array, out []tri) error {
	n := xa.Len()
	if rows == 0 {
		clear(out)
		return nil
	}
	ids := make([]int32, n)
	if err := ht.lookup([]arrow.Array{xa}, n, ids); err != nil {
		return err
	}
	for i := range out {
		switch {
		case xa.IsNull(i):
			out[i] = triNull
		case ids[i] >= 0:
			out[i] = triTrue
		case hasNull:
			out[i] = triNull
		default:
			out[i] = triFalse
		}
	}
	return nil
}

// crossCompare computes X op ANY/ALL (r) for the rows of xa listed in rows,
// storing into out[k] for rows[k]. NULL comparisons follow SQL: ANY is true
// if some comparison is true, else NULL if some is NULL, else false; ALL
// is false if some is false, else NULL if some is NULL, else true.
func (x *Env) crossCompare(ee *eval.Env, sq *planner.Subquery, xa arrow.Array, rows []int32, r arrow.Array, out []tri) error {
	all := sq.Kind == planner.SubAll
	m := r.Len()
	empty := triFalse
	if all {
		empty = triTrue
	}
	if m == 0 {
		for k := range rows {
			out[k] = empty
		}
		return nil
	}
	if sq.Cmp == nil {
		return fmt.Errorf("exec: subquery comparison without an operator")
	}
	lt, rt, err := cmpTypes(sq)
	if err != nil {
		return err
	}
	// One Call per subquery, so its compiled form is reused.
	call := x.subq.cmps[sq]
	if call == nil {
		call = &planner.Call{Fn: sq.Cmp, Args: []planner.Expr{
			&planner.ColRef{Idx: 0, Typ: lt}, &planner.ColRef{Idx: 1, Typ: rt},
		}}
		x.subq.cmps[sq] = call
	}
	schema := arrow.NewSchema([]arrow.Field{catalog.Field("x", lt, true), catalog.Field("y", rt, true)}, nil)
	mem := ee.Allocator()
	per := max(1, 8192/m) // outer rows per evaluated batch
	var li, ri []int32
	for start := 0; start < len(rows); start += per {
		end := min(len(rows), start+per)
		li, ri = li[:0], ri[:0]
		for k := start; k < end; k++ {
			for j := 0; j < m; j++ {
				li = append(li, rows[k])
				ri = append(ri, int32(j))
			}
		}
		cols := []arrow.Array{takeArray(mem, xa, li), takeArray(mem, r, ri)}
		pb, err := newBatch(schema, cols, len(li))
		if err != nil {
			return err
		}
		res, err := eval.Eval(ee, call, pb)
		pb.Release()
		if err != nil {
			return err
		}
		bools, ok := res.(*array.Boolean)
		if !ok {
			res.Release()
			return fmt.Errorf("exec: subquery comparison returned %s", res.DataType())
		}
		for k := start; k < end; k++ {
			t := empty
			for j := (k - start) * m; j < (k-start+1)*m; j++ {
				if bools.IsNull(j) {
					t = triNull
					continue
				}
				if bools.Value(j) != all { // a deciding comparison
					t = triTrue
					if all {
						t = triFalse
					}
					break
				}
			}
			out[k] = t
		}
		res.Release()
	}
	return nil
}

func triArray(mem memory.Allocator, ts []tri, not bool) arrow.Array {
	bld := array.NewBooleanBuilder(mem)
	defer bld.Release()
	bld.Reserve(len(ts))
	for _, t := range ts {
		if not {
			t = t.not()
		}
		switch t {
		case triNull:
			bld.UnsafeAppendBoolToBitmap(false)
		default:
			bld.UnsafeAppend(t == triTrue)
		}
	}
	return bld.NewArray()
}

// refsOf returns the columns of the enclosing row sq reads.
func (x *Env) refsOf(sq *planner.Subquery) *outerRefs {
	if r, ok := x.subq.refs[sq]; ok {
		return r
	}
	r := &outerRefs{}
	seen := map[int]bool{}
	var walkPlan func(n planner.Node, level int)
	walkExpr := func(e planner.Expr, level int) {
		planner.WalkExpr(e, func(e planner.Expr) bool {
			switch e := e.(type) {
			case *planner.OuterRef:
				switch {
				case e.Depth == level+1:
					if !seen[e.Idx] {
						seen[e.Idx] = true
						r.cols = append(r.cols, e.Idx)
					}
				case e.Depth > level+1:
					r.deep = true
				}
			case *planner.Subquery:
				walkPlan(e.Plan, level+1)
			}
			return true
		})
	}
	walkPlan = func(n planner.Node, level int) {
		for _, e := range planExprs(n) {
			walkExpr(e, level)
		}
		for _, c := range n.Children() {
			walkPlan(c, level)
		}
	}
	walkPlan(sq.Plan, 0)
	x.subq.refs[sq] = r
	return r
}

// planExprs lists the expressions held by one plan node.
func planExprs(n planner.Node) []planner.Expr {
	var out []planner.Expr
	keys := func(ks []planner.SortKey) {
		for _, k := range ks {
			out = append(out, k.Expr)
		}
	}
	switch n := n.(type) {
	case *planner.Scan:
		out = append(out, n.Filter)
	case *planner.Values:
		for _, r := range n.Rows {
			out = append(out, r...)
		}
	case *planner.GenerateSeries:
		out = append(out, n.Start, n.Stop, n.Step)
	case *planner.Project:
		out = append(out, n.Exprs...)
	case *planner.Filter:
		out = append(out, n.Cond)
	case *planner.Aggregate:
		out = append(out, n.GroupBy...)
		for _, a := range n.Aggs {
			out = append(out, a.Args...)
			out = append(out, a.Filter)
			keys(a.OrderBy)
		}
	case *planner.Sort:
		keys(n.Keys)
	case *planner.Limit:
		out = append(out, n.Count, n.Offset)
	case *planner.Distinct:
		out = append(out, n.On...)
	case *planner.Join:
		out = append(out, n.LeftKeys...)
		out = append(out, n.RightKeys...)
		out = append(out, n.Cond)
	case *planner.Window:
		for _, c := range n.Calls {
			out = append(out, c.Args...)
			out = append(out, c.PartitionBy...)
			keys(c.OrderBy)
		}
	}
	return out
}

func (x *Env) correlated(ee *eval.Env, sq *planner.Subquery, b arrow.RecordBatch, n int) (arrow.Array, error) {
	mem := ee.Allocator()
	refs := x.refsOf(sq)
	var xa arrow.Array
	if sq.Kind != planner.SubScalar && sq.Kind != planner.SubExists {
		var err error
		if xa, err = evalX(ee, sq, b); err != nil {
			return nil, err
		}
		defer xa.Release()
	}
	// Rows with equal referenced values (and equal X) share a result.
	memo := map[string]any{}
	if !refs.deep {
		if m := x.subq.memo[sq]; m != nil {
			memo = m
		} else {
			x.subq.memo[sq] = memo
		}
	}
	keyCols := make([]arrow.Array, 0, len(refs.cols)+1)
	for _, c := range refs.cols {
		if c < 0 || c >= int(b.NumCols()) {
			return nil, fmt.Errorf("exec: outer reference to column %d of %d", c, b.NumCols())
		}
		keyCols = append(keyCols, b.Column(c))
	}
	if xa != nil {
		keyCols = append(keyCols, xa)
	}
	var enc keyEncoder
	if err := enc.encode(keyCols, n); err != nil {
		return nil, err
	}
	bld := array.NewBuilder(mem, sq.Typ.Arrow())
	defer bld.Release()
	for row := 0; row < n; row++ {
		k := enc.key(row)
		v, ok := memo[string(k)]
		if !ok {
			r, err := x.runPlan(ee, sq.Plan, &eval.OuterRow{Batch: b, Row: row}, rowLimit(sq.Kind))
			if err != nil {
				return nil, err
			}
			v, err = x.reduceRow(ee, sq, r, xa, row)
			r.Release()
			if err != nil {
				return nil, err
			}
			if len(memo) < memoLimit {
				memo[string(k)] = v
			}
		}
		if err := appendValue(bld, v); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// reduceRow computes a correlated subquery's value for one outer row from
// the subquery's first column r.
func (x *Env) reduceRow(ee *eval.Env, sq *planner.Subquery, r arrow.Array, xa arrow.Array, row int) (any, error) {
	switch sq.Kind {
	case planner.SubScalar:
		switch r.Len() {
		case 0:
			return nil, nil
		case 1:
			return valueAt(r, 0), nil
		}
		return nil, errScalarRows()
	case planner.SubExists:
		return (r.Len() > 0) != sq.Not, nil
	}
	_, rt, err := cmpTypes(sq)
	if err != nil {
		return nil, err
	}
	rc, err := castTo(ee, r, sq.Plan.Columns()[0].Type, rt)
	if err != nil {
		return nil, err
	}
	defer rc.Release()
	out := make([]tri, 1)
	if hashIn(sq) {
		ht := newHashTable()
		ids := make([]uint32, rc.Len())
		if _, err := ht.insert([]arrow.Array{rc}, rc.Len(), ids, nil); err != nil {
			return nil, err
		}
		one := array.NewSlice(xa, int64(row), int64(row+1))
		err := inByHash(ht, rc.Len(), rc.NullN() > 0, one, out)
		one.Release()
		if err != nil {
			return nil, err
		}
	} else if err := x.crossCompare(ee, sq, xa, []int32{int32(row)}, rc, out); err != nil {
		return nil, err
	}
	t := out[0]
	if sq.Not {
		t = t.not()
	}
	return t.value(), nil
}
