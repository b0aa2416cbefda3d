package eval

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// compileCall picks the implementation of a function call: typed vector
// kernels for logic, comparison and arithmetic on numbers; row-at-a-time
// implementations (funcs.go) for the rest.
func (cp *compiler) compileCall(e *planner.Call) (node, error) {
	name := e.Fn.Name
	if len(e.Args) != len(e.Fn.Args) && !e.Fn.Variadic {
		return nil, errInternal("%s: %d arguments for %d parameters", name, len(e.Args), len(e.Fn.Args))
	}
	args := make([]node, len(e.Args))
	for i, a := range e.Args {
		nd, err := cp.compile(a)
		if err != nil {
			return nil, err
		}
		args[i] = nd
	}
	argT := make([]catalog.Type, len(e.Args))
	for i, a := range e.Args {
		argT[i] = a.Type()
	}
	switch name {
	case "and", "or":
		if len(args) == 2 {
			return &logicNode{and: name == "and", l: cp.info(e.Args[0], args[0]), r: cp.info(e.Args[1], args[1])}, nil
		}
	case "not":
		if len(args) == 1 {
			return &notNode{x: args[0]}, nil
		}
	case "coalesce":
		// COALESCE evaluates an argument only for rows where all earlier
		// ones are NULL: it is a CASE.
		c := &planner.Case{Typ: e.Fn.Ret, Else: e.Args[len(e.Args)-1]}
		for _, a := range e.Args[:len(e.Args)-1] {
			c.Whens = append(c.Whens, planner.When{Cond: &planner.IsNull{X: a, Not: true}, Result: a})
		}
		return cp.compile(c)
	}
	if op, ok := cmpOpOf(name); ok && len(args) == 2 && e.Fn.Operator {
		return &cmpNode{op: op, t: argT[0], a: args[0], b: args[1]}, nil
	}
	if op, ok := arithOpOf(name); ok && len(args) == 2 && e.Fn.Ret.IsNumeric() &&
		argT[0].ID == e.Fn.Ret.ID && argT[1].ID == e.Fn.Ret.ID {
		if op != opMod || e.Fn.Ret.ID != catalog.Float4 && e.Fn.Ret.ID != catalog.Float8 {
			return &arithNode{op: op, t: e.Fn.Ret, argT: [2]catalog.Type{argT[0], argT[1]}, a: args[0], b: args[1]}, nil
		}
	}
	if name == "-" && len(args) == 1 && e.Fn.Ret.IsNumeric() && e.Fn.Ret.ID != catalog.Numeric {
		return &negNode{t: e.Fn.Ret, x: args[0]}, nil
	}
	if name == "+" && len(args) == 1 {
		return args[0], nil
	}
	if tn := compileTsShift(e, args); tn != nil {
		return tn, nil
	}
	if ln := compileLike(e, args); ln != nil {
		return ln, nil
	}
	if sn := compileSplitPart(e, args); sn != nil {
		return sn, nil
	}
	if sn := compileStrFunc(e, args); sn != nil {
		return sn, nil
	}
	if xn := compileExtract(e, args); xn != nil {
		return xn, nil
	}
	if tn := compileToCharVec(e, args); tn != nil {
		return tn, nil
	}
	f, ok := rowFuncs[name]
	if !ok {
		return nil, pgerror.New(pgerror.CodeUndefinedFunction, "function %s is not implemented", name)
	}
	fn, err := f(e)
	if err != nil {
		return nil, err
	}
	return &rowNode{fn: fn, args: args, argT: argT, ret: e.Fn.Ret, strict: e.Fn.Strict, volatile: e.Fn.Volatile}, nil
}

// boolBits returns offset-0 copies of the value and validity bits of a
// boolean vec of n rows; valid is nil when no row is NULL.
func boolBits(v vec, n int) (vals, valid []byte) {
	nb := int(bitutil.BytesForBits(int64(n)))
	vals = make([]byte, nb)
	if v.isConst() {
		switch b := v.c.(type) {
		case bool:
			if b {
				for i := range vals {
					vals[i] = 0xff
				}
			}
		default:
			valid = make([]byte, nb)
		}
		return vals, valid
	}
	a := v.arr.(*array.Boolean)
	off := a.Data().Offset()
	bitutil.CopyBitmap(a.Data().Buffers()[1].Bytes(), off, n, vals, 0)
	if a.NullN() > 0 {
		valid = make([]byte, nb)
		bitutil.CopyBitmap(a.NullBitmapBytes(), off, n, valid, 0)
	}
	return vals, valid
}

// logicVecs combines two boolean vecs with three-valued AND or OR.
func logicVecs(alloc memory.Allocator, and bool, a, b vec, n int) vec {
	av, ad := boolBits(a, n)
	bv, bd := boolBits(b, n)
	vals := newBitmap(alloc, n, false)
	valid := newBitmap(alloc, n, false)
	ov, od := vals.Bytes(), valid.Bytes()
	for i := range ov {
		x, y := av[i], bv[i]
		xd, yd := byte(0xff), byte(0xff)
		if ad != nil {
			xd = ad[i]
		}
		if bd != nil {
			yd = bd[i]
		}
		xt, yt := x&xd, y&yd
		if and {
			xf, yf := ^x&xd, ^y&yd
			ov[i] = xt & yt
			od[i] = xf | yf | (xd & yd)
		} else {
			ov[i] = xt | yt
			od[i] = xt | yt | (xd & yd)
		}
	}
	nulls := n - bitutil.CountSetBits(od, 0, n)
	if nulls == 0 {
		valid.Release()
		valid = nil
	}
	return vec{arr: boolArray(n, vals, valid, nulls), n: n}
}

type logicNode struct {
	and  bool
	l, r nodeInfo
}

func (nd *logicNode) eval(c *ctx, in *input) (vec, error) {
	lv, err := nd.l.nd.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer lv.release()
	// decisive is the left value that decides the result alone.
	decisive := !nd.and
	if lv.isConst() {
		b, isBool := lv.c.(bool)
		if isBool && b == decisive {
			return constVec(b, in.n), nil
		}
		rv, err := nd.r.nd.eval(c, in)
		if err != nil {
			return vec{}, err
		}
		if isBool {
			return rv, nil
		}
		defer rv.release()
		if rv.isConst() {
			if rb, ok := rv.c.(bool); ok && rb == decisive {
				return constVec(rb, in.n), nil
			}
			return constVec(nil, in.n), nil
		}
		return logicVecs(c.alloc, nd.and, lv, rv, in.n), nil
	}
	var rv vec
	if nd.r.safe || nd.r.safeNow(c, in) {
		rv, err = nd.r.nd.eval(c, in)
	} else {
		la := lv.arr.(*array.Boolean)
		var sel []int32
		for i := 0; i < in.n; i++ {
			if la.IsNull(i) || la.Value(i) != decisive {
				sel = append(sel, int32(i))
			}
		}
		switch len(sel) {
		case 0:
			lv.arr.Retain()
			return lv, nil
		case in.n:
			rv, err = nd.r.nd.eval(c, in)
		default:
			var sub vec
			sub, err = evalOn(c, nd.r, in, sel)
			if err == nil {
				var a arrow.Array
				a, err = scatter(c, catalog.TypeBool, sub, sel, in.n)
				sub.release()
				rv = vec{arr: a, n: in.n}
			}
		}
	}
	if err != nil {
		return vec{}, err
	}
	defer rv.release()
	return logicVecs(c.alloc, nd.and, lv, rv, in.n), nil
}

type notNode struct{ x node }

func (nd *notNode) eval(c *ctx, in *input) (vec, error) {
	v, err := nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	if v.isConst() {
		if b, ok := v.c.(bool); ok {
			return constVec(!b, in.n), nil
		}
		return constVec(nil, in.n), nil
	}
	vals, valid := boolBits(v, in.n)
	out := newBitmap(c.alloc, in.n, false)
	ob := out.Bytes()
	for i := range ob {
		ob[i] = ^vals[i]
	}
	var vb *memory.Buffer
	nulls := v.arr.NullN()
	if valid != nil {
		vb = newBitmap(c.alloc, in.n, false)
		copy(vb.Bytes(), valid)
	}
	return vec{arr: boolArray(in.n, out, vb, nulls), n: in.n}, nil
}

type cmpNode struct {
	op   cmpOp
	t    catalog.Type
	a, b node
}

func (nd *cmpNode) eval(c *ctx, in *input) (vec, error) {
	av, err := nd.a.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer av.release()
	bv, err := nd.b.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer bv.release()
	if (av.isConst() && av.c == nil) || (bv.isConst() && bv.c == nil) {
		return constVec(nil, in.n), nil
	}
	if av.isConst() && bv.isConst() {
		return constVec(nd.op.test(CompareValues(nd.t, av.c, bv.c)), in.n), nil
	}
	return vec{arr: compareVecs(c.alloc, nd.op, nd.t, av, bv, in.n), n: in.n}, nil
}

type arithNode struct {
	op   arithOp
	t    catalog.Type
	argT [2]catalog.Type
	a, b node
}

func (nd *arithNode) eval(c *ctx, in *input) (vec, error) {
	av, err := nd.a.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer av.release()
	bv, err := nd.b.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer bv.release()
	if (av.isConst() && av.c == nil) || (bv.isConst() && bv.c == nil) {
		return constVec(nil, in.n), nil
	}
	if av.isConst() && bv.isConst() {
		av.n, bv.n = 1, 1
		a, err := arithVecs(c.alloc, nd.op, nd.t, nd.argT, av, bv, 1)
		if err != nil {
			return vec{}, err
		}
		defer a.Release()
		return constVec(cloneValue(getValue(nd.t, a, 0)), in.n), nil
	}
	a, err := arithVecs(c.alloc, nd.op, nd.t, nd.argT, av, bv, in.n)
	if err != nil {
		return vec{}, err
	}
	return vec{arr: a, n: in.n}, nil
}

type negNode struct {
	t catalog.Type
	x node
}

func (nd *negNode) eval(c *ctx, in *input) (vec, error) {
	v, err := nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	if v.isConst() {
		if v.c == nil {
			return constVec(nil, in.n), nil
		}
		v.n = 1
		a, err := negateVec(c.alloc, nd.t, v, 1)
		if err != nil {
			return vec{}, err
		}
		defer a.Release()
		return constVec(getValue(nd.t, a, 0), in.n), nil
	}
	a, err := negateVec(c.alloc, nd.t, v, in.n)
	if err != nil {
		return vec{}, err
	}
	return vec{arr: a, n: in.n}, nil
}

// rowFn implements a function on one row of boxed arguments.
type rowFn func(c *ctx, args []any) (any, error)

// rowFactory builds the rowFn for a call (it may precompute from the
// argument types).
type rowFactory func(call *planner.Call) (rowFn, error)

// rowNode evaluates a function row by row; with constant arguments (and a
// non-volatile function) it computes the value once.
type rowNode struct {
	fn       rowFn
	args     []node
	argT     []catalog.Type
	ret      catalog.Type
	strict   bool
	volatile bool
	noMemo   bool // compute every row (tests compare with the memo)
}

func (nd *rowNode) eval(c *ctx, in *input) (vec, error) {
	vs := make([]vec, len(nd.args))
	defer func() {
		for _, v := range vs {
			v.release()
		}
	}()
	allConst := true
	for i, a := range nd.args {
		v, err := a.eval(c, in)
		if err != nil {
			return vec{}, err
		}
		vs[i] = v
		if !v.isConst() {
			allConst = false
		} else if nd.strict && v.c == nil {
			return constVec(nil, in.n), nil
		}
	}
	vals := make([]any, len(vs))
	if !nd.volatile && !allConst && !nd.noMemo {
		if k := memoArg(vs); k >= 0 {
			return nd.evalMemo(c, in, vs, vals, k)
		}
	}
	if allConst && !nd.volatile {
		for i, v := range vs {
			vals[i] = v.c
		}
		r, err := nd.fn(c, vals)
		if err != nil {
			return vec{}, err
		}
		return constVec(cloneValue(r), in.n), nil
	}
	b := array.NewBuilder(c.alloc, nd.ret.Arrow())
	defer b.Release()
	b.Reserve(in.n)
rows:
	for i := 0; i < in.n; i++ {
		for k, v := range vs {
			x := v.value(nd.argT[k], i)
			if x == nil && nd.strict {
				b.AppendNull()
				continue rows
			}
			vals[k] = x
		}
		r, err := nd.fn(c, vals)
		if err != nil {
			return vec{}, err
		}
		if err := appendValue(b, nd.ret, r); err != nil {
			return vec{}, err
		}
	}
	return vec{arr: b.NewArray(), n: in.n}, nil
}

// Memoizing a row function. A function that is not volatile gives equal
// results for equal arguments, and the text columns of streams repeat a
// small set of values (urls, channels, categories): computing the
// function once per distinct value of a batch turns a regular expression
// or a case mapping per row into a hash lookup per row. A batch whose
// first memoCheckRows rows hold more than memoMaxDistinct distinct values
// is computed row by row from there on, so unique values cost a bounded
// number of wasted insertions.
const (
	memoCheckRows   = 512
	memoMaxDistinct = 256
)

// memoArg returns the index of the only argument that varies by row when
// it is a text array (the others being constants), else -1.
func memoArg(vs []vec) int {
	k := -1
	for i, v := range vs {
		if v.isConst() {
			continue
		}
		if _, ok := v.arr.(*array.String); !ok || k >= 0 {
			return -1
		}
		k = i
	}
	return k
}

// evalMemo evaluates the function row by row over the text argument k,
// once per distinct value; vals holds room for the boxed arguments.
func (nd *rowNode) evalMemo(c *ctx, in *input, vs []vec, vals []any, k int) (vec, error) {
	for i, v := range vs {
		if i != k {
			vals[i] = v.c
		}
	}
	sa := vs[k].arr.(*array.String)
	b := array.NewBuilder(c.alloc, nd.ret.Arrow())
	defer b.Release()
	b.Reserve(in.n)
	// Results may alias sa's memory (a substring): sa outlives them.
	memo := make(map[string]int32)
	var results []any
	useMemo, nulls := true, sa.NullN() > 0
	for i := 0; i < in.n; i++ {
		if i == memoCheckRows && len(memo) > memoMaxDistinct {
			useMemo = false
		}
		var r any
		if nulls && sa.IsNull(i) {
			if nd.strict {
				b.AppendNull()
				continue
			}
			vals[k] = nil
			var err error
			if r, err = nd.fn(c, vals); err != nil {
				return vec{}, err
			}
		} else {
			s := sa.Value(i)
			j, hit := int32(0), false
			if useMemo {
				j, hit = memo[s]
			}
			if hit {
				r = results[j]
			} else {
				vals[k] = s
				var err error
				if r, err = nd.fn(c, vals); err != nil {
					return vec{}, err
				}
				if useMemo {
					memo[s] = int32(len(results))
					results = append(results, r)
				}
			}
		}
		if err := appendValue(b, nd.ret, r); err != nil {
			return vec{}, err
		}
	}
	return vec{arr: b.NewArray(), n: in.n}, nil
}
