package eval

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

func errInternal(format string, args ...any) error {
	return pgerror.New(pgerror.CodeInternalError, "eval: "+format, args...)
}

// Program is a compiled expression: the implementation of every node is
// resolved once, so evaluating a batch only runs kernels. A Program is
// immutable and may be shared by goroutines (each with its own Env).
type Program struct {
	expr planner.Expr
	root node
}

// Compile resolves the implementation of every node of e.
func Compile(e planner.Expr) (*Program, error) {
	root, err := newCompiler(e).compile(e)
	if err != nil {
		return nil, err
	}
	return &Program{expr: e, root: root}, nil
}

// Type returns the SQL type of the program's result.
func (p *Program) Type() catalog.Type { return p.expr.Type() }

// Eval evaluates the program over every row of b; see the package Eval.
func (p *Program) Eval(env *Env, b arrow.RecordBatch) (arrow.Array, error) {
	c := &ctx{env: env, alloc: env.Allocator(), schema: b.Schema()}
	in := &input{cols: b.Columns(), n: int(b.NumRows()), batch: b}
	c.root = in
	defer c.releaseShared()
	v, err := p.root.eval(c, in)
	if err != nil {
		return nil, err
	}
	defer v.release()
	return v.toArray(c.alloc, p.expr.Type())
}

// EvalScalar evaluates the program, which must not reference columns, to
// one Go value.
func (p *Program) EvalScalar(env *Env) (any, error) {
	c := &ctx{env: env, alloc: env.Allocator()}
	defer c.releaseShared()
	v, err := p.root.eval(c, &input{n: 1})
	if err != nil {
		return nil, err
	}
	defer v.release()
	if v.isConst() {
		return v.c, nil
	}
	return cloneValue(getValue(p.expr.Type(), v.arr, 0)), nil
}

// program returns the compiled form of e, cached in env per expression
// node.
func program(env *Env, e planner.Expr) (*Program, error) {
	if p, ok := env.compiled[e]; ok {
		return p, nil
	}
	p, err := Compile(e)
	if err != nil {
		return nil, err
	}
	if env.compiled == nil {
		env.compiled = map[planner.Expr]*Program{}
	}
	env.compiled[e] = p
	return p, nil
}

// Eval evaluates e over every row of b and returns an array of
// b.NumRows() values whose Arrow type is e.Type().Arrow(). The caller
// releases the array. The compiled form of e is cached in env.
func Eval(env *Env, e planner.Expr, b arrow.RecordBatch) (arrow.Array, error) {
	p, err := program(env, e)
	if err != nil {
		return nil, err
	}
	return p.Eval(env, b)
}

// EvalScalar evaluates an expression without column references
// (constants, parameters, outer references, functions of them) to a Go
// value in catalog's convention (nil for NULL).
func EvalScalar(env *Env, e planner.Expr) (any, error) {
	p, err := program(env, e)
	if err != nil {
		return nil, err
	}
	return p.EvalScalar(env)
}

// EvalPredicate evaluates the boolean expression e over b and returns the
// indexes, in increasing order, of the rows where it is TRUE (rows where
// it is FALSE or NULL are dropped). The slice is freshly allocated.
func EvalPredicate(env *Env, e planner.Expr, b arrow.RecordBatch) ([]int32, error) {
	p, err := program(env, e)
	if err != nil {
		return nil, err
	}
	c := &ctx{env: env, alloc: env.Allocator(), schema: b.Schema()}
	n := int(b.NumRows())
	in := &input{cols: b.Columns(), n: n, batch: b}
	c.root = in
	defer c.releaseShared()
	v, err := p.root.eval(c, in)
	if err != nil {
		return nil, err
	}
	defer v.release()
	return selection(v, n), nil
}

// selection returns the rows where a boolean vec is true.
func selection(v vec, n int) []int32 {
	if v.isConst() {
		if t, _ := v.c.(bool); t {
			sel := make([]int32, n)
			for i := range sel {
				sel[i] = int32(i)
			}
			return sel
		}
		return []int32{}
	}
	a := v.arr.(*array.Boolean)
	sel := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		if a.IsValid(i) && a.Value(i) {
			sel = append(sel, int32(i))
		}
	}
	return sel
}

// ctx is the state of one evaluation.
type ctx struct {
	env    *Env
	alloc  memory.Allocator
	schema *arrow.Schema
	// root is the whole input of the evaluation; shared holds the values
	// over root of the subexpressions computed once (cse.go).
	root   *input
	shared map[*sharedNode]vec
}

// input is the set of rows an expression is evaluated over: the columns of
// a batch (nil entries for columns the expression does not read, in
// subsets) and the row count. batch is set when cols are exactly a whole
// batch's columns.
type input struct {
	cols  []arrow.Array
	n     int
	batch arrow.RecordBatch
}

// node is a compiled expression node.
type node interface {
	// eval evaluates the node over in, returning a vec of in.n rows.
	eval(c *ctx, in *input) (vec, error)
}

// nodeInfo is what subset evaluation needs to know about a node.
type nodeInfo struct {
	nd   node
	typ  catalog.Type
	safe bool // cannot raise an error, so subsets are not needed
	// safeIf lists the shared subexpressions whose values make the node
	// safe once computed over the whole input: the rest of it cannot fail.
	safeIf []*sharedNode
	cols   []int // columns read; nil with all set means every column
	all    bool
}

func info(e planner.Expr, nd node) nodeInfo {
	ni := nodeInfo{nd: nd, typ: e.Type(), safe: isSafe(e)}
	seen := map[int]bool{}
	planner.WalkExpr(e, func(x planner.Expr) bool {
		switch x := x.(type) {
		case *planner.ColRef:
			if !seen[x.Idx] {
				seen[x.Idx] = true
				ni.cols = append(ni.cols, x.Idx)
			}
		case *planner.Subquery:
			ni.all = true
		}
		return true
	})
	return ni
}

// isSafe reports whether evaluating e can never fail, so it may be
// evaluated on rows that a CASE or AND would not reach.
func isSafe(e planner.Expr) bool {
	safe := true
	planner.WalkExpr(e, func(x planner.Expr) bool {
		switch x := x.(type) {
		case *planner.ColRef, *planner.Const, *planner.ParamRef, *planner.OuterRef, *planner.IsNull, *planner.Case, *planner.InList:
		case *planner.Call:
			safe = callSafe(x)
		case *planner.Cast:
			if !(x.To.ID == catalog.Text || (x.X.Type().ID == x.To.ID && x.To.ID != catalog.Numeric && x.To.ID != catalog.Varchar)) {
				safe = false
			}
		default:
			safe = false
		}
		return safe
	})
	return safe
}

// callSafe reports whether a call, given its arguments' values, can
// never fail.
func callSafe(x *planner.Call) bool {
	switch x.Fn.Name {
	case "=", "<>", "<", "<=", ">", ">=", "and", "or", "not", "is distinct from", "is not distinct from", "coalesce",
		"lower", "upper", "length", "char_length", "character_length", "octet_length", "replace", "starts_with":
		return true
	case "extract", "date_part":
		// Safe when the field is a constant the argument type has.
		u, ok := constString(x.Args[0])
		if !ok || len(x.Args) != 2 {
			return false
		}
		switch t := x.Args[1].Type(); t.ID {
		case catalog.Timestamp, catalog.TimestampTZ, catalog.Date:
			_, _, err := extractTs(u, 0, t)
			return err == nil
		}
	case "split_part":
		c, ok := x.Args[2].(*planner.Const)
		if !ok {
			return false
		}
		n, err := asInt64(c.Val)
		return err == nil && n != 0
	case planner.RegexpMatchElem:
		// Safe when the pattern and flags are constants that compile.
		pat, ok := constString(x.Args[1])
		if !ok {
			return false
		}
		flags := ""
		if len(x.Args) == 4 {
			if flags, ok = constString(x.Args[2]); !ok {
				return false
			}
		}
		_, err := (&regexCache{}).get("regexp_match", pat, flags)
		return err == nil
	}
	return false
}

// evalOn evaluates ni over the rows sel of in (nil sel: every row) and
// returns a vec of len(sel) rows.
func evalOn(c *ctx, ni nodeInfo, in *input, sel []int32) (vec, error) {
	if sel == nil || len(sel) == in.n && isIdentity(sel) {
		return ni.nd.eval(c, in)
	}
	sub := &input{cols: make([]arrow.Array, len(in.cols)), n: len(sel)}
	defer func() {
		for _, a := range sub.cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	take := func(i int) error {
		if i >= len(in.cols) || in.cols[i] == nil || sub.cols[i] != nil {
			return nil
		}
		a, err := takeArray(c.alloc, in.cols[i], sel)
		if err != nil {
			return err
		}
		sub.cols[i] = a
		return nil
	}
	if ni.all {
		for i := range in.cols {
			if err := take(i); err != nil {
				return vec{}, err
			}
		}
		if c.schema != nil && len(in.cols) == c.schema.NumFields() {
			rb := array.NewRecordBatch(c.schema, sub.cols, int64(len(sel)))
			defer rb.Release()
			sub.batch = rb
		}
	} else {
		for _, i := range ni.cols {
			if err := take(i); err != nil {
				return vec{}, err
			}
		}
	}
	return ni.nd.eval(c, sub)
}

func isIdentity(sel []int32) bool {
	for i, s := range sel {
		if int(s) != i {
			return false
		}
	}
	return true
}

// scatter spreads the len(sel) rows of v to positions sel of an n-row
// array, NULL elsewhere.
func scatter(c *ctx, t catalog.Type, v vec, sel []int32, n int) (arrow.Array, error) {
	if v.isConst() && v.c == nil {
		return array.MakeArrayOfNull(c.alloc, t.Arrow(), n), nil
	}
	src, err := v.toArray(c.alloc, t)
	if err != nil {
		return nil, err
	}
	defer src.Release()
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = -1
	}
	for j, r := range sel {
		idx[r] = int32(j)
	}
	return takeArray(c.alloc, src, idx)
}

// compile builds the node for e, without sharing subexpressions.
func compile(e planner.Expr) (node, error) { return (&compiler{}).compile(e) }

// compile builds the node for e; a subexpression that occurs more than
// once in the compiled expression becomes one shared node.
func (cp *compiler) compile(e planner.Expr) (node, error) {
	if k, ok := cp.dup(e); ok {
		if sn := cp.shared[k]; sn != nil {
			return sn, nil
		}
		nd, err := cp.compileNode(e)
		if err != nil {
			return nil, err
		}
		sn := &sharedNode{x: nd}
		cp.shared[k] = sn
		return sn, nil
	}
	return cp.compileNode(e)
}

func (cp *compiler) compileNode(e planner.Expr) (node, error) {
	switch e := e.(type) {
	case *planner.ColRef:
		return &colNode{idx: e.Idx, t: e.Typ}, nil
	case *planner.Const:
		return &constNode{val: e.Val}, nil
	case *planner.ParamRef:
		return &paramNode{idx: e.Idx, t: e.Typ}, nil
	case *planner.OuterRef:
		return &outerNode{depth: e.Depth, idx: e.Idx, t: e.Typ}, nil
	case *planner.Call:
		return cp.compileCall(e)
	case *planner.Cast:
		x, err := cp.compile(e.X)
		if err != nil {
			return nil, err
		}
		if !planner.CanCast(e.X.Type(), e.To) && e.X.Type().ID != catalog.Unknown {
			return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "cannot cast type %s to %s", e.X.Type(), e.To)
		}
		return &castNode{x: x, from: e.X.Type(), to: e.To}, nil
	case *planner.Case:
		cn := &caseNode{t: e.Typ}
		for _, w := range e.Whens {
			cond, err := cp.compile(w.Cond)
			if err != nil {
				return nil, err
			}
			res, err := cp.compile(w.Result)
			if err != nil {
				return nil, err
			}
			cn.conds = append(cn.conds, cp.info(w.Cond, cond))
			cn.results = append(cn.results, cp.info(w.Result, res))
		}
		var els node = &constNode{}
		elseT := e.Typ
		if e.Else != nil {
			x, err := cp.compile(e.Else)
			if err != nil {
				return nil, err
			}
			els = x
			cn.els = cp.info(e.Else, els)
		} else {
			cn.els = nodeInfo{nd: els, typ: elseT, safe: true}
		}
		if err := cp.compileSwitch(e, cn); err != nil {
			return nil, err
		}
		return cn, nil
	case *planner.IsNull:
		x, err := cp.compile(e.X)
		if err != nil {
			return nil, err
		}
		return &isNullNode{x: x, not: e.Not}, nil
	case *planner.InList:
		return cp.compileInList(e)
	case *planner.Subquery:
		return &subqueryNode{sq: e}, nil
	}
	return nil, errInternal("cannot evaluate %T", e)
}

type colNode struct {
	idx int
	t   catalog.Type
}

func (n *colNode) eval(c *ctx, in *input) (vec, error) {
	if n.idx >= len(in.cols) || in.cols[n.idx] == nil {
		return vec{}, errInternal("column #%d not in input", n.idx)
	}
	a := in.cols[n.idx]
	a.Retain()
	return vec{arr: a, n: in.n}, nil
}

type constNode struct{ val any }

func (n *constNode) eval(c *ctx, in *input) (vec, error) { return constVec(n.val, in.n), nil }

type paramNode struct {
	idx int
	t   catalog.Type
}

func (n *paramNode) eval(c *ctx, in *input) (vec, error) {
	if n.idx >= len(c.env.Params) {
		return vec{}, pgerror.New(pgerror.CodeUndefinedParameter, "there is no parameter $%d", n.idx+1)
	}
	v, err := coerceGo(c.env.Params[n.idx], n.t)
	if err != nil {
		return vec{}, err
	}
	return constVec(v, in.n), nil
}

// coerceGo converts a Go value of any convention-compatible type to the
// convention of t (a parameter given as text is parsed; integers become
// floats for float types; ...).
func coerceGo(v any, t catalog.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	from, ok := goType(v)
	if !ok {
		return nil, errInternal("parameter value of Go type %T", v)
	}
	// TIMESTAMP values are int64 microseconds, like BIGINT: the Go value
	// alone cannot tell them apart, the declared type can.
	if x, isInt := v.(int64); isInt && (t.ID == catalog.Timestamp || t.ID == catalog.TimestampTZ) {
		return x, nil
	}
	if from.ID == t.ID && from.ID != catalog.Numeric {
		if x, ok := v.(int); ok {
			return int64(x), nil
		}
		return v, nil
	}
	if t.ID == catalog.Unknown {
		return v, nil
	}
	return CastValue(v, from, t)
}

// goType returns the SQL type a Go value naturally has.
func goType(v any) (catalog.Type, bool) {
	switch x := v.(type) {
	case bool:
		return catalog.TypeBool, true
	case int64, int:
		return catalog.TypeInt8, true
	case int32:
		return catalog.TypeDate, true
	case float64:
		return catalog.TypeFloat8, true
	case catalog.Decimal:
		return catalog.Type{ID: catalog.Numeric, Scale: x.Scale}, true
	case string:
		return catalog.TypeText, true
	case []byte:
		return catalog.TypeBytea, true
	case arrow.MonthDayNanoInterval:
		return catalog.TypeInterval, true
	}
	return catalog.Type{}, false
}

type outerNode struct {
	depth, idx int
	t          catalog.Type
}

func (n *outerNode) eval(c *ctx, in *input) (vec, error) {
	k := len(c.env.Outer) - n.depth
	if k < 0 || k >= len(c.env.Outer) {
		return vec{}, errInternal("outer reference depth %d beyond %d enclosing rows", n.depth, len(c.env.Outer))
	}
	o := c.env.Outer[k]
	if n.idx >= int(o.Batch.NumCols()) {
		return vec{}, errInternal("outer column #%d not in input", n.idx)
	}
	return constVec(cloneValue(getValue(n.t, o.Batch.Column(n.idx), o.Row)), in.n), nil
}

type subqueryNode struct{ sq *planner.Subquery }

func (n *subqueryNode) eval(c *ctx, in *input) (vec, error) {
	if c.env.Subquery == nil {
		return vec{}, pgerror.New(pgerror.CodeFeatureNotSupported, "subqueries are not supported here")
	}
	b := in.batch
	if b == nil {
		// A scalar context (no input rows): an empty-schema batch of n rows.
		rb := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, int64(in.n))
		defer rb.Release()
		b = rb
	}
	a, err := c.env.Subquery(c.env, n.sq, b)
	if err != nil {
		return vec{}, err
	}
	if a.Len() != in.n {
		a.Release()
		return vec{}, errInternal("subquery returned %d values for %d rows", a.Len(), in.n)
	}
	return vec{arr: a, n: in.n}, nil
}

type isNullNode struct {
	x   node
	not bool
}

func (n *isNullNode) eval(c *ctx, in *input) (vec, error) {
	v, err := n.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	if v.isConst() {
		return constVec((v.c == nil) != n.not, in.n), nil
	}
	vals := newBitmap(c.alloc, in.n, false)
	out := vals.Bytes()
	if v.arr.NullN() == 0 {
		if n.not {
			for i := range out {
				out[i] = 0xff
			}
		}
	} else {
		bitutil.CopyBitmap(v.arr.NullBitmapBytes(), v.arr.Data().Offset(), in.n, out, 0)
		if !n.not {
			for i := range out {
				out[i] = ^out[i]
			}
		}
	}
	return vec{arr: boolArray(in.n, vals, nil, 0), n: in.n}, nil
}

type castNode struct {
	x        node
	from, to catalog.Type
}

func (n *castNode) eval(c *ctx, in *input) (vec, error) {
	v, err := n.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	if v.isConst() {
		r, err := castValue(v.c, n.from, n.to, false)
		if err != nil {
			return vec{}, err
		}
		return constVec(r, in.n), nil
	}
	defer v.release()
	a, err := castArray(c.alloc, v.arr, n.from, n.to, false)
	if err != nil {
		return vec{}, err
	}
	return vec{arr: a, n: in.n}, nil
}

type caseNode struct {
	conds, results []nodeInfo
	els            nodeInfo
	t              catalog.Type
	// reference evaluates every condition over its remaining rows and
	// concatenates the branches (tests compare the fast paths with it).
	reference bool
	// subject and branch are set when every condition is subject = a
	// text constant: the branch of a row is a lookup of its value.
	subject node
	branch  map[string]int
}

type casePart struct {
	rows []int32 // nil: every row
	v    vec
}

func (n *caseNode) eval(c *ctx, in *input) (vec, error) {
	if n.subject != nil && !n.reference {
		return n.evalSwitch(c, in)
	}
	return n.evalGeneral(c, in)
}

func (n *caseNode) evalGeneral(c *ctx, in *input) (vec, error) {
	var parts []casePart
	release := func() {
		for _, p := range parts {
			p.v.release()
		}
	}
	var remaining []int32 // nil: every row
	count := in.n
	for k, cond := range n.conds {
		if count == 0 {
			break
		}
		// A condition that cannot fail is evaluated over every row: that
		// costs no copy of the remaining rows' columns, and equal
		// subexpressions of the conditions are computed once.
		whole := (cond.safe || cond.safeNow(c, in)) && remaining != nil && !n.reference
		var cv vec
		var err error
		if whole {
			cv, err = cond.nd.eval(c, in)
		} else {
			cv, err = evalOn(c, cond, in, remaining)
		}
		if err != nil {
			release()
			return vec{}, err
		}
		truth := truthOf(cv)
		var taken, rest []int32
		for j := 0; j < count; j++ {
			row := int32(j)
			if remaining != nil {
				row = remaining[j]
			}
			at := j
			if whole {
				at = int(row)
			}
			if truth(at) {
				taken = append(taken, row)
			} else {
				rest = append(rest, row)
			}
		}
		cv.release()
		if len(taken) == 0 {
			continue
		}
		if len(taken) == in.n {
			taken = nil
		}
		rv, err := evalOn(c, n.results[k], in, taken)
		if err != nil {
			release()
			return vec{}, err
		}
		parts = append(parts, casePart{rows: taken, v: rv})
		remaining, count = rest, len(rest)
		if remaining == nil {
			remaining = []int32{}
		}
	}
	if count > 0 {
		ev, err := evalOn(c, n.els, in, remaining)
		if err != nil {
			release()
			return vec{}, err
		}
		parts = append(parts, casePart{rows: remaining, v: ev})
	}
	defer release()
	if len(parts) == 0 {
		return constVec(nil, in.n), nil
	}
	if len(parts) == 1 {
		v := parts[0].v
		if v.arr != nil {
			v.arr.Retain()
		}
		v.n = in.n
		return v, nil
	}
	if !n.reference {
		if out, err := mergeParts(c, n.t, parts, in.n); out != nil || err != nil {
			return vec{arr: out, n: in.n}, err
		}
	}
	// Concatenate the parts and put each row back in place.
	arrs := make([]arrow.Array, 0, len(parts))
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	idx := make([]int32, in.n)
	off := int32(0)
	for _, p := range parts {
		pv := p.v
		pv.n = len(p.rows)
		a, err := pv.toArray(c.alloc, n.t)
		if err != nil {
			return vec{}, err
		}
		arrs = append(arrs, a)
		for j, r := range p.rows {
			idx[r] = off + int32(j)
		}
		off += int32(len(p.rows))
	}
	all, err := array.Concatenate(arrs, c.alloc)
	if err != nil {
		return vec{}, err
	}
	defer all.Release()
	out, err := takeArray(c.alloc, all, idx)
	if err != nil {
		return vec{}, err
	}
	return vec{arr: out, n: in.n}, nil
}

// mergeParts puts the values of CASE branches, each over its rows, back
// in row order: a constant branch is one value, an array branch gives its
// values in the order of its rows. It returns nil, nil when the type has
// no direct gather.
func mergeParts(c *ctx, t catalog.Type, parts []casePart, n int) (arrow.Array, error) {
	if len(parts) > 1<<16 {
		return nil, nil
	}
	srcs := make([]arrow.Array, len(parts))
	defer func() {
		for _, a := range srcs {
			if a != nil {
				a.Release()
			}
		}
	}()
	from := make([]uint16, n)
	at := make([]int32, n)
	for k, p := range parts {
		rows := len(p.rows)
		if p.rows == nil {
			rows = n
		}
		if p.v.isConst() {
			rows = 1
		}
		pv := p.v
		pv.n = rows
		a, err := pv.toArray(c.alloc, t)
		if err != nil {
			return nil, err
		}
		srcs[k] = a
		if !arrow.TypeEqual(a.DataType(), t.Arrow()) {
			return nil, nil
		}
		for j, r := range p.rows {
			from[r] = uint16(k)
			if !p.v.isConst() {
				at[r] = int32(j)
			}
		}
	}
	return gatherMany(c.alloc, t.Arrow(), srcs, from, at), nil
}

// truthOf returns a test of whether row i of a boolean vec is TRUE.
func truthOf(v vec) func(i int) bool {
	if v.isConst() {
		b, _ := v.c.(bool)
		return func(int) bool { return b }
	}
	a := v.arr.(*array.Boolean)
	if a.NullN() == 0 {
		return a.Value
	}
	return func(i int) bool { return a.IsValid(i) && a.Value(i) }
}

// isTrue reports whether row i of a boolean vec is TRUE.
func isTrue(v vec, i int) bool {
	if v.isConst() {
		b, _ := v.c.(bool)
		return b
	}
	a := v.arr.(*array.Boolean)
	return a.IsValid(i) && a.Value(i)
}

func (p *Program) String() string { return fmt.Sprint(p.expr) }

// compileSwitch recognizes CASE WHEN x = 'a' THEN .. WHEN x = 'b' THEN ..
// over one text expression x: conditions that cannot fail, each true on
// the rows whose x is its constant, so the first that holds is found by
// one lookup per row instead of a comparison per condition.
func (cp *compiler) compileSwitch(e *planner.Case, cn *caseNode) error {
	if len(e.Whens) < 2 {
		return nil
	}
	var subject planner.Expr
	var key string
	branch := map[string]int{}
	for k, w := range e.Whens {
		c, ok := w.Cond.(*planner.Call)
		if !ok || c.Fn.Name != "=" || !c.Fn.Operator || len(c.Args) != 2 || !c.Args[0].Type().IsString() {
			return nil
		}
		v, ok := constString(c.Args[1])
		if !ok {
			return nil
		}
		xk, ok := (&compiler{keys: map[planner.Expr]string{}, count: map[string]int{}}).key(c.Args[0])
		if !ok || !isSafe(c.Args[0]) || subject != nil && xk != key {
			return nil
		}
		subject, key = c.Args[0], xk
		if _, dup := branch[v]; !dup {
			branch[v] = k
		}
	}
	nd, err := cp.compile(subject)
	if err != nil {
		return err
	}
	cn.subject, cn.branch = nd, branch
	return nil
}

// evalSwitch evaluates a CASE compiled by compileSwitch.
func (n *caseNode) evalSwitch(c *ctx, in *input) (vec, error) {
	sv, err := n.subject.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer sv.release()
	rows := make([][]int32, len(n.results)+1) // the last: ELSE
	if sv.isConst() {
		k := len(n.results)
		if s, ok := sv.c.(string); ok {
			if b, hit := n.branch[s]; hit {
				k = b
			}
		}
		ni := n.els
		if k < len(n.results) {
			ni = n.results[k]
		}
		return ni.nd.eval(c, in)
	}
	sa, ok := sv.arr.(*array.String)
	if !ok {
		return vec{}, errInternal("CASE on %s", sv.arr.DataType())
	}
	els := len(n.results)
	nulls := sa.NullN() > 0
	for i := 0; i < in.n; i++ {
		k := els
		if !nulls || sa.IsValid(i) {
			if b, hit := n.branch[sa.Value(i)]; hit {
				k = b
			}
		}
		rows[k] = append(rows[k], int32(i))
	}
	var parts []casePart
	defer func() {
		for _, p := range parts {
			p.v.release()
		}
	}()
	for k, r := range rows {
		if len(r) == 0 {
			continue
		}
		ni := n.els
		if k < els {
			ni = n.results[k]
		}
		if len(r) == in.n {
			return ni.nd.eval(c, in)
		}
		v, err := evalOn(c, ni, in, r)
		if err != nil {
			return vec{}, err
		}
		parts = append(parts, casePart{rows: r, v: v})
	}
	if len(parts) == 0 {
		return constVec(nil, in.n), nil
	}
	if out, err := mergeParts(c, n.t, parts, in.n); out != nil || err != nil {
		return vec{arr: out, n: in.n}, err
	}
	// Types without a direct gather take the general path.
	return n.evalGeneral(c, in)
}
