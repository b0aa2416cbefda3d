package planner

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// bindCondition binds a boolean condition (WHERE, HAVING, ON).
func (b *Binder) bindCondition(x ast.Expr, sc *scope, st *selectState, clause string) (Expr, error) {
	if st == nil && containsAggregate(x) {
		return nil, pgerror.New(pgerror.CodeGroupingError, "aggregate functions are not allowed in %s", clause)
	}
	e, err := b.bindExpr(x, sc, st)
	if err != nil {
		return nil, err
	}
	if e.Type().ID != catalog.Bool {
		if e.Type().ID == catalog.Unknown {
			return b.coerce(e, catalog.TypeBool, clause)
		}
		return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "argument of %s must be type boolean, not type %s", clause, e.Type())
	}
	return e, nil
}

func containsAggregate(x ast.Expr) bool {
	found := false
	walkAST(x, func(e ast.Expr) bool {
		if f, ok := e.(*ast.Func); ok && f.Over == nil && IsAggregate(f.Name) {
			found = true
		}
		return !found
	})
	return found
}

// walkAST visits the expression tree (not descending into subqueries).
func walkAST(x ast.Expr, fn func(ast.Expr) bool) {
	if x == nil || !fn(x) {
		return
	}
	switch e := x.(type) {
	case *ast.Unary:
		walkAST(e.X, fn)
	case *ast.Binary:
		walkAST(e.L, fn)
		walkAST(e.R, fn)
	case *ast.IsNull:
		walkAST(e.X, fn)
	case *ast.Subscript:
		walkAST(e.X, fn)
		walkAST(e.Index, fn)
	case *ast.IsBool:
		walkAST(e.X, fn)
	case *ast.IsDistinct:
		walkAST(e.L, fn)
		walkAST(e.R, fn)
	case *ast.Between:
		walkAST(e.X, fn)
		walkAST(e.Lo, fn)
		walkAST(e.Hi, fn)
	case *ast.InList:
		walkAST(e.X, fn)
		for _, i := range e.List {
			walkAST(i, fn)
		}
	case *ast.Like:
		walkAST(e.X, fn)
		walkAST(e.Pattern, fn)
		walkAST(e.Escape, fn)
	case *ast.Case:
		walkAST(e.Operand, fn)
		for _, w := range e.Whens {
			walkAST(w.Cond, fn)
			walkAST(w.Result, fn)
		}
		walkAST(e.Else, fn)
	case *ast.Cast:
		walkAST(e.X, fn)
	case *ast.Func:
		for _, a := range e.Args {
			walkAST(a, fn)
		}
		walkAST(e.Filter, fn)
	case *ast.InSubquery:
		walkAST(e.X, fn)
	case *ast.Quantified:
		walkAST(e.X, fn)
		for _, i := range e.List {
			walkAST(i, fn)
		}
	case *ast.Row:
		for _, i := range e.Exprs {
			walkAST(i, fn)
		}
	}
}

// bindExpr binds a scalar expression over sc. st is non-nil where
// aggregate and window calls are allowed (select list, HAVING, ORDER BY).
func (b *Binder) bindExpr(x ast.Expr, sc *scope, st *selectState) (Expr, error) {
	switch e := x.(type) {
	case *ast.ColumnRef:
		return b.bindColumn(e, sc)
	case *ast.Literal:
		return bindLiteral(e)
	case *ast.IntervalLit:
		text := e.Value
		if e.Unit != "" {
			text = e.Value + " " + e.Unit
		}
		v, err := catalog.ParseText(catalog.TypeInterval, text)
		if err != nil {
			return nil, err
		}
		return &Const{Val: v, Typ: catalog.TypeInterval}, nil
	case *ast.Param:
		if sc != nil && sc.fn {
			return b.bindFuncPositional(e.Index)
		}
		if e.Index < 1 || e.Index > 65535 {
			return nil, pgerror.New(pgerror.CodeUndefinedParameter, "there is no parameter $%d", e.Index)
		}
		for len(b.params) < e.Index {
			b.params = append(b.params, catalog.TypeUnknown)
		}
		return &ParamRef{Idx: e.Index - 1, Typ: b.params[e.Index-1]}, nil
	case *ast.Unary:
		arg, err := b.bindExpr(e.X, sc, st)
		if err != nil {
			return nil, err
		}
		op := strings.ToLower(e.Op)
		if op == "+" && arg.Type().IsNumeric() {
			return arg, nil
		}
		if op == "-" {
			if c, ok := arg.(*Const); ok {
				if neg, ok := negateConst(c); ok {
					return neg, nil
				}
			}
		}
		return b.call(op, []Expr{arg})
	case *ast.Binary:
		op := strings.ToLower(e.Op)
		if op == "!=" {
			op = "<>"
		}
		l, err := b.bindExpr(e.L, sc, st)
		if err != nil {
			return nil, err
		}
		r, err := b.bindExpr(e.R, sc, st)
		if err != nil {
			return nil, err
		}
		if op == "and" || op == "or" {
			if l, err = b.coerceBool(l, op); err != nil {
				return nil, err
			}
			if r, err = b.coerceBool(r, op); err != nil {
				return nil, err
			}
		}
		return b.call(op, []Expr{l, r})
	case *ast.IsNull:
		if f, ok := regexpMatchCall(e.X); ok {
			return b.bindRegexpMatchNull(f, e.Not, sc, st)
		}
		arg, err := b.bindExpr(e.X, sc, st)
		if err != nil {
			return nil, err
		}
		return &IsNull{X: arg, Not: e.Not}, nil
	case *ast.IsBool:
		arg, err := b.bindExpr(e.X, sc, st)
		if err != nil {
			return nil, err
		}
		if arg, err = b.coerceBool(arg, "IS "+strings.ToUpper(e.Value)); err != nil {
			return nil, err
		}
		var out Expr
		switch e.Value {
		case "unknown":
			out = &IsNull{X: arg}
		case "true":
			out = &Case{Whens: []When{{Cond: arg, Result: boolConst(true)}}, Else: boolConst(false), Typ: catalog.TypeBool}
		default:
			not, err := b.call("not", []Expr{arg})
			if err != nil {
				return nil, err
			}
			out = &Case{Whens: []When{{Cond: not, Result: boolConst(true)}}, Else: boolConst(false), Typ: catalog.TypeBool}
		}
		if e.Not {
			if e.Value == "unknown" {
				return &IsNull{X: arg, Not: true}, nil
			}
			return b.call("not", []Expr{out})
		}
		return out, nil
	case *ast.IsDistinct:
		l, err := b.bindExpr(e.L, sc, st)
		if err != nil {
			return nil, err
		}
		r, err := b.bindExpr(e.R, sc, st)
		if err != nil {
			return nil, err
		}
		ne, err := b.call("<>", []Expr{l, r})
		if err != nil {
			return nil, err
		}
		// Re-read the coerced operands from the comparison.
		lc, rc := ne.(*Call).Args[0], ne.(*Call).Args[1]
		both := &Case{Whens: []When{
			{Cond: &IsNull{X: lc}, Result: &IsNull{X: rc, Not: true}},
			{Cond: &IsNull{X: rc}, Result: boolConst(true)},
		}, Else: ne, Typ: catalog.TypeBool}
		if e.Not {
			return b.call("not", []Expr{both})
		}
		return both, nil
	case *ast.Between:
		xv, err := b.bindExpr(e.X, sc, st)
		if err != nil {
			return nil, err
		}
		lo, err := b.bindExpr(e.Lo, sc, st)
		if err != nil {
			return nil, err
		}
		hi, err := b.bindExpr(e.Hi, sc, st)
		if err != nil {
			return nil, err
		}
		in, err := b.between(xv, lo, hi)
		if err != nil {
			return nil, err
		}
		if e.Symmetric {
			in2, err := b.between(xv, hi, lo)
			if err != nil {
				return nil, err
			}
			if in, err = b.call("or", []Expr{in, in2}); err != nil {
				return nil, err
			}
		}
		if e.Not {
			return b.call("not", []Expr{in})
		}
		return in, nil
	case *ast.InList:
		xv, err := b.bindExpr(e.X, sc, st)
		if err != nil {
			return nil, err
		}
		list := make([]Expr, len(e.List))
		types := []catalog.Type{xv.Type()}
		for i, it := range e.List {
			if list[i], err = b.bindExpr(it, sc, st); err != nil {
				return nil, err
			}
			types = append(types, list[i].Type())
		}
		t, err := CommonType("IN", types)
		if err != nil {
			return nil, err
		}
		if t.ID == catalog.Unknown {
			t = catalog.TypeText
		}
		if xv, err = b.coerce(xv, t, "IN"); err != nil {
			return nil, err
		}
		for i := range list {
			if list[i], err = b.coerce(list[i], t, "IN"); err != nil {
				return nil, err
			}
		}
		return &InList{X: xv, List: list, Not: e.Not}, nil
	case *ast.Like:
		xv, err := b.bindExpr(e.X, sc, st)
		if err != nil {
			return nil, err
		}
		p, err := b.bindExpr(e.Pattern, sc, st)
		if err != nil {
			return nil, err
		}
		args := []Expr{xv, p}
		if e.Escape != nil {
			esc, err := b.bindExpr(e.Escape, sc, st)
			if err != nil {
				return nil, err
			}
			args = append(args, esc)
		}
		name := "like"
		switch {
		case e.Regex && e.CaseInsensitive:
			name = "~*"
		case e.Regex:
			name = "~"
		case e.SimilarTo:
			name = "similar_to"
		case e.CaseInsensitive:
			name = "ilike"
		}
		out, err := b.call(name, args)
		if err != nil {
			return nil, err
		}
		if e.Not {
			return b.call("not", []Expr{out})
		}
		return out, nil
	case *ast.Case:
		return b.bindCase(e, sc, st)
	case *ast.Cast:
		xv, err := b.bindExpr(e.X, sc, st)
		if err != nil {
			return nil, err
		}
		t, err := catalog.ParseTypeName(e.Type)
		if err != nil {
			return nil, pgerror.Wrap(err, pgerror.CodeUndefinedObject, "")
		}
		return b.explicitCast(xv, t)
	case *ast.Func:
		return b.bindFunc(e, sc, st)
	case *ast.Subscript:
		return b.bindSubscript(e, sc, st)
	case *ast.Subquery:
		n, cols, corr, err := b.bindSubquery(e.Query, sc)
		if err != nil {
			return nil, err
		}
		if len(cols) != 1 {
			return nil, pgerror.New(pgerror.CodeSyntaxError, "subquery must return only one column")
		}
		return &Subquery{Kind: SubScalar, Plan: n, Correlated: corr, Typ: cols[0].Type}, nil
	case *ast.Exists:
		n, _, corr, err := b.bindSubquery(e.Query, sc)
		if err != nil {
			return nil, err
		}
		return &Subquery{Kind: SubExists, Plan: n, Not: e.Not, Correlated: corr, Typ: catalog.TypeBool}, nil
	case *ast.InSubquery:
		return b.bindQuantified(e.X, "=", false, e.Query, e.Not, SubIn, sc, st)
	case *ast.Quantified:
		if e.Query == nil {
			// x op ANY (list): a disjunction (conjunction for ALL).
			xv, err := b.bindExpr(e.X, sc, st)
			if err != nil {
				return nil, err
			}
			var out Expr
			for _, it := range e.List {
				v, err := b.bindExpr(it, sc, st)
				if err != nil {
					return nil, err
				}
				c, err := b.call(e.Op, []Expr{xv, v})
				if err != nil {
					return nil, err
				}
				if out == nil {
					out = c
				} else if e.All {
					out, err = b.call("and", []Expr{out, c})
				} else {
					out, err = b.call("or", []Expr{out, c})
				}
				if err != nil {
					return nil, err
				}
			}
			if out == nil {
				return boolConst(e.All), nil
			}
			return out, nil
		}
		kind := SubAny
		if e.All {
			kind = SubAll
		}
		return b.bindQuantified(e.X, e.Op, e.All, e.Query, false, kind, sc, st)
	case *ast.Row:
		if len(e.Exprs) == 1 {
			return b.bindExpr(e.Exprs[0], sc, st)
		}
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "row expressions are not supported")
	case *ast.Array:
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "arrays are not supported")
	}
	return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "unsupported expression %T", x)
}

func boolConst(v bool) *Const { return &Const{Val: v, Typ: catalog.TypeBool} }

func (b *Binder) coerceBool(e Expr, what string) (Expr, error) {
	switch e.Type().ID {
	case catalog.Bool:
		return e, nil
	case catalog.Unknown:
		return b.coerce(e, catalog.TypeBool, what)
	}
	return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "argument of %s must be type boolean, not type %s", strings.ToUpper(what), e.Type())
}

func (b *Binder) between(x, lo, hi Expr) (Expr, error) {
	ge, err := b.call(">=", []Expr{x, lo})
	if err != nil {
		return nil, err
	}
	le, err := b.call("<=", []Expr{x, hi})
	if err != nil {
		return nil, err
	}
	return b.call("and", []Expr{ge, le})
}

func (b *Binder) bindColumn(e *ast.ColumnRef, sc *scope) (Expr, error) {
	if sc != nil && sc.fn {
		if x, ok := b.bindFuncParam(e); ok {
			return x, nil
		}
	}
	depth := 0
	for s := sc; s != nil; s = s.parent {
		idx, err := s.resolve(e.Table, e.Column)
		if err != nil {
			return nil, err
		}
		if idx >= 0 {
			c := s.cols[idx]
			if depth == 0 {
				return &ColRef{Idx: idx, Typ: c.typ, Name: c.name}, nil
			}
			for t := sc; t != s; t = t.parent {
				t.correlated = true
			}
			return &OuterRef{Depth: depth, Idx: idx, Typ: c.typ, Name: c.name}, nil
		}
		depth++
	}
	if e.Table == "" {
		switch e.Column {
		case "current_user", "session_user", "user", "current_role", "current_catalog", "current_schema":
			name := e.Column
			switch name {
			case "session_user", "user", "current_role":
				name = "current_user"
			case "current_catalog":
				name = "current_database"
			}
			return b.call(name, nil)
		}
	}
	if e.Table != "" {
		found := false
		for s := sc; s != nil; s = s.parent {
			if s.hasTable(e.Table) {
				found = true
			}
		}
		if !found {
			return nil, pgerror.New(pgerror.CodeUndefinedTable, "missing FROM-clause entry for table %q", e.Table)
		}
		return nil, pgerror.New(pgerror.CodeUndefinedColumn, "column %s.%s does not exist", e.Table, e.Column)
	}
	return nil, pgerror.New(pgerror.CodeUndefinedColumn, "column %q does not exist", e.Column)
}

func bindLiteral(e *ast.Literal) (Expr, error) {
	switch e.Kind {
	case ast.LitNull:
		return &Const{Typ: catalog.TypeUnknown}, nil
	case ast.LitBool:
		return boolConst(strings.EqualFold(e.Val, "true")), nil
	case ast.LitInt:
		v, err := strconv.ParseInt(e.Val, 10, 64)
		if err != nil {
			return numericLiteral(e.Val)
		}
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			return &Const{Val: v, Typ: catalog.TypeInt4}, nil
		}
		return &Const{Val: v, Typ: catalog.TypeInt8}, nil
	case ast.LitNumeric:
		return numericLiteral(e.Val)
	case ast.LitFloat:
		// Postgres types 1e5 as numeric; sqld keeps exact literals
		// numeric where they fit, and float8 beyond.
		r, ok := new(big.Rat).SetString(e.Val)
		if ok {
			if s := r.FloatString(catalog.NumericDefaultScale); len(s) <= 36 {
				if c, err := numericLiteral(strings.TrimRight(strings.TrimRight(s, "0"), ".")); err == nil {
					return c, nil
				}
			}
		}
		f, err := strconv.ParseFloat(e.Val, 64)
		if err != nil {
			return nil, pgerror.New(pgerror.CodeInvalidTextRepresentation, "invalid input syntax for type double precision: %q", e.Val)
		}
		return &Const{Val: f, Typ: catalog.TypeFloat8}, nil
	case ast.LitString:
		return &Const{Val: e.Val, Typ: catalog.TypeUnknown}, nil
	}
	return nil, pgerror.New(pgerror.CodeInternalError, "unknown literal kind %d", e.Kind)
}

func numericLiteral(s string) (Expr, error) {
	scale := int32(0)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = int32(len(s) - i - 1)
	}
	t := catalog.Type{ID: catalog.Numeric, Scale: scale}
	v, err := catalog.ParseText(t, s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return nil, err
		}
		return &Const{Val: f, Typ: catalog.TypeFloat8}, nil
	}
	return &Const{Val: v, Typ: t}, nil
}

func negateConst(c *Const) (*Const, bool) {
	switch v := c.Val.(type) {
	case int64:
		if v == math.MinInt64 {
			return nil, false
		}
		t := c.Typ
		if -v == math.MaxInt32+1 && t.ID == catalog.Int8 {
			t = catalog.TypeInt4
		}
		return &Const{Val: -v, Typ: t}, true
	case float64:
		return &Const{Val: -v, Typ: c.Typ}, true
	case catalog.Decimal:
		return &Const{Val: catalog.Decimal{Num: v.Num.Negate(), Scale: v.Scale}, Typ: c.Typ}, true
	}
	return nil, false
}

// call resolves a function or operator and casts the arguments.
func (b *Binder) call(name string, args []Expr) (Expr, error) {
	types := make([]catalog.Type, len(args))
	for i, a := range args {
		types[i] = a.Type()
	}
	fn, err := ResolveFunc(name, types)
	if err != nil {
		return nil, err
	}
	cargs := make([]Expr, len(args))
	for i, a := range args {
		want := a.Type()
		if i < len(fn.Args) {
			want = fn.Args[i]
		} else if fn.Variadic && len(fn.Args) > 0 {
			want = fn.Args[len(fn.Args)-1]
		}
		if cargs[i], err = b.coerce(a, want, name); err != nil {
			return nil, err
		}
	}
	return &Call{Fn: fn, Args: cargs}, nil
}

// coerce converts e to type t where the planner has decided it must be:
// untyped literals and parameters take the type; others get a Cast.
func (b *Binder) coerce(e Expr, t catalog.Type, what string) (Expr, error) {
	if p, ok := e.(*ParamRef); ok && p.Typ.ID == catalog.Unknown && t.ID != catalog.Unknown {
		b.params[p.Idx] = t
		return &ParamRef{Idx: p.Idx, Typ: t}, nil
	}
	return coerce(e, t, what)
}

// coerce casts e to t, folding casts of constants.
func coerce(e Expr, t catalog.Type, what string) (Expr, error) {
	if e.Type() == t || t.ID == catalog.Unknown {
		return e, nil
	}
	if c, ok := e.(*Const); ok {
		if c.Val == nil {
			return &Const{Typ: t}, nil
		}
		if v, ok, err := foldCast(c, t); ok || err != nil {
			if err != nil {
				return nil, err
			}
			return &Const{Val: v, Typ: t}, nil
		}
	}
	if e.Type().ID != catalog.Unknown && !CanCast(e.Type(), t) {
		return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "cannot cast type %s to %s", e.Type(), t)
	}
	return &Cast{X: e, To: t}, nil
}

// explicitCast is CAST(x AS t).
func (b *Binder) explicitCast(x Expr, t catalog.Type) (Expr, error) {
	if p, ok := x.(*ParamRef); ok && p.Typ.ID == catalog.Unknown {
		return b.coerce(x, t, "CAST")
	}
	if x.Type() == t {
		return x, nil
	}
	if x.Type().ID != catalog.Unknown && !CanCast(x.Type(), t) {
		return nil, pgerror.New(pgerror.CodeCannotCoerce, "cannot cast type %s to %s", x.Type(), t)
	}
	return coerce(x, t, "CAST")
}

// foldCast evaluates the cast of a constant when it is simple and exact:
// text to anything (parsing), and between integer widths and to floats.
func foldCast(c *Const, t catalog.Type) (any, bool, error) {
	from := c.Typ
	switch {
	case from.ID == catalog.Unknown || from.IsString():
		if s, ok := c.Val.(string); ok {
			if t.IsString() {
				if t.ID == catalog.Varchar && t.Length > 0 {
					if r := []rune(s); int32(len(r)) > t.Length {
						s = string(r[:t.Length])
					}
				}
				return s, true, nil
			}
			v, err := catalog.ParseText(t, s)
			if err != nil {
				return nil, false, err
			}
			return v, true, nil
		}
	case from.IsInteger() && t.IsInteger():
		v := c.Val.(int64)
		if !intFits(v, t) {
			return nil, false, pgerror.New(pgerror.CodeNumericValueOutOfRange, "%s out of range", t)
		}
		return v, true, nil
	case from.IsInteger() && (t.ID == catalog.Float8 || t.ID == catalog.Float4):
		return float64(c.Val.(int64)), true, nil
	case from.IsInteger() && t.IsString():
		return fmt.Sprint(c.Val), true, nil
	}
	return nil, false, nil
}

func intFits(v int64, t catalog.Type) bool {
	switch t.ID {
	case catalog.Int2:
		return v >= math.MinInt16 && v <= math.MaxInt16
	case catalog.Int4:
		return v >= math.MinInt32 && v <= math.MaxInt32
	}
	return true
}

func (b *Binder) bindCase(e *ast.Case, sc *scope, st *selectState) (Expr, error) {
	var operand Expr
	var err error
	if e.Operand != nil {
		if operand, err = b.bindExpr(e.Operand, sc, st); err != nil {
			return nil, err
		}
	}
	out := &Case{}
	var results []Expr
	for _, w := range e.Whens {
		var cond Expr
		if operand != nil {
			v, err := b.bindExpr(w.Cond, sc, st)
			if err != nil {
				return nil, err
			}
			if cond, err = b.call("=", []Expr{operand, v}); err != nil {
				return nil, err
			}
		} else {
			if cond, err = b.bindCondition(w.Cond, sc, st, "CASE/WHEN"); err != nil {
				return nil, err
			}
		}
		r, err := b.bindExpr(w.Result, sc, st)
		if err != nil {
			return nil, err
		}
		out.Whens = append(out.Whens, When{Cond: cond})
		results = append(results, r)
	}
	if e.Else != nil {
		r, err := b.bindExpr(e.Else, sc, st)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	} else {
		results = append(results, &Const{Typ: catalog.TypeUnknown})
	}
	types := make([]catalog.Type, len(results))
	for i, r := range results {
		types[i] = r.Type()
	}
	t, err := CommonType("CASE", types)
	if err != nil {
		return nil, err
	}
	if t.ID == catalog.Unknown {
		t = catalog.TypeText
	}
	for i := range results {
		if results[i], err = b.coerce(results[i], t, "CASE"); err != nil {
			return nil, err
		}
	}
	for i := range out.Whens {
		out.Whens[i].Result = results[i]
	}
	out.Else = results[len(results)-1]
	out.Typ = t
	return out, nil
}

func (b *Binder) bindSubquery(q *ast.Select, sc *scope) (Node, []Column, bool, error) {
	n, cols, err := b.bindQuery(q, sc)
	if err != nil {
		return nil, nil, false, err
	}
	corr := false
	WalkNodeExprs(n, func(e Expr) {
		WalkExpr(e, func(x Expr) bool {
			switch r := x.(type) {
			case *OuterRef:
				corr = true
			case *Subquery:
				if r.Correlated {
					// A nested correlated subquery may reach past us.
					corr = corr || refsBeyond(r.Plan, 2)
				}
			}
			return true
		})
	})
	// Subqueries keep the ties of their LIMITs as top-level queries do.
	return limitTies(keepRanks(n)), cols, corr, nil
}

// refsBeyond reports whether a plan references outer rows at depth >= d.
func refsBeyond(n Node, d int) bool {
	found := false
	WalkNodeExprs(n, func(e Expr) {
		WalkExpr(e, func(x Expr) bool {
			switch r := x.(type) {
			case *OuterRef:
				if r.Depth >= d {
					found = true
				}
			case *Subquery:
				if r.Correlated && refsBeyond(r.Plan, d+1) {
					found = true
				}
			}
			return true
		})
	})
	return found
}

func (b *Binder) bindQuantified(x ast.Expr, op string, all bool, q *ast.Select, not bool, kind SubqueryKind, sc *scope, st *selectState) (Expr, error) {
	xv, err := b.bindExpr(x, sc, st)
	if err != nil {
		return nil, err
	}
	n, cols, corr, err := b.bindSubquery(q, sc)
	if err != nil {
		return nil, err
	}
	if len(cols) != 1 {
		return nil, pgerror.New(pgerror.CodeSyntaxError, "subquery has too many columns")
	}
	ct := cols[0].Type
	if xv.Type().ID == catalog.Unknown && ct.ID != catalog.Unknown {
		if xv, err = b.coerce(xv, ct, "IN"); err != nil {
			return nil, err
		}
	}
	if ct.ID == catalog.Unknown {
		ct = xv.Type()
		if ct.ID == catalog.Unknown {
			ct = catalog.TypeText
			if xv, err = b.coerce(xv, ct, "IN"); err != nil {
				return nil, err
			}
		}
		n, _, err = castColumns(n, cols, []catalog.Type{ct})
		if err != nil {
			return nil, err
		}
	}
	fn, err := ResolveFunc(op, []catalog.Type{xv.Type(), ct})
	if err != nil {
		return nil, err
	}
	if xv, err = b.coerce(xv, fn.Args[0], op); err != nil {
		return nil, err
	}
	if fn.Args[1] != ct {
		if n, _, err = castColumns(n, []Column{{Name: cols[0].Name, Type: ct}}, []catalog.Type{fn.Args[1]}); err != nil {
			return nil, err
		}
	}
	return &Subquery{Kind: kind, Plan: n, X: xv, Cmp: fn, Not: not, Correlated: corr, Typ: catalog.TypeBool}, nil
}

// bindFunc binds a function call: aggregate, window or scalar, with the
// special forms that are not plain functions.
func (b *Binder) bindFunc(e *ast.Func, sc *scope, st *selectState) (Expr, error) {
	name := strings.ToLower(e.Name)
	if e.Over != nil {
		return b.bindWindowCall(e, name, sc, st)
	}
	if IsAggregate(name) {
		if st == nil {
			return nil, pgerror.New(pgerror.CodeGroupingError, "aggregate functions are not allowed here")
		}
		if st.inAgg {
			return nil, pgerror.New(pgerror.CodeGroupingError, "aggregate function calls cannot be nested")
		}
		st.inAgg = true
		defer func() { st.inAgg = false }()
		var args []Expr
		for _, a := range e.Args {
			v, err := b.bindExpr(a, st.from, st)
			if err != nil {
				return nil, err
			}
			args = append(args, v)
		}
		types := make([]catalog.Type, len(args))
		for i, a := range args {
			types[i] = a.Type()
			if types[i].ID == catalog.Unknown {
				types[i] = catalog.TypeText
				var err error
				if args[i], err = b.coerce(args[i], catalog.TypeText, name); err != nil {
					return nil, err
				}
			}
		}
		if e.Star {
			if name != "count" {
				return nil, pgerror.New(pgerror.CodeSyntaxError, "%s(*) must be used with count", name)
			}
			args, types = nil, nil
		}
		agg, err := ResolveAgg(name, types)
		if err != nil {
			return nil, err
		}
		for i := range args {
			if i < len(agg.Args) {
				if args[i], err = b.coerce(args[i], agg.Args[i], name); err != nil {
					return nil, err
				}
			}
		}
		call := AggCall{Agg: agg, Args: args, Distinct: e.Distinct}
		if e.Filter != nil {
			f, err := b.bindCondition(e.Filter, st.from, nil, "FILTER")
			if err != nil {
				return nil, err
			}
			call.Filter = f
		}
		for _, o := range e.OrderBy {
			v, err := b.bindExpr(o.Expr, st.from, nil)
			if err != nil {
				return nil, err
			}
			call.OrderBy = append(call.OrderBy, sortKey(v, o))
		}
		key := aggKey(call)
		for k, existing := range st.aggKeys {
			if existing == key {
				return &aggPlaceholder{k: k, typ: agg.Ret}, nil
			}
		}
		st.aggs = append(st.aggs, call)
		st.aggKeys = append(st.aggKeys, key)
		return &aggPlaceholder{k: len(st.aggs) - 1, typ: agg.Ret}, nil
	}
	if e.Distinct || e.Star || e.Filter != nil {
		return nil, pgerror.New(pgerror.CodeWrongObjectType, "%s is not an aggregate function", name)
	}
	args := make([]Expr, len(e.Args))
	for i, a := range e.Args {
		v, err := b.bindExpr(a, sc, st)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	if x, ok, err := b.userCall(name, args); ok || err != nil {
		return x, err
	}
	if _, ok := arrayFuncs[name]; ok {
		return nil, arrayFuncError(name)
	}
	switch name {
	case "coalesce":
		return b.bindCoalesce(args)
	case "nullif":
		if len(args) != 2 {
			return nil, pgerror.New(pgerror.CodeUndefinedFunction, "function nullif with %d arguments does not exist", len(args))
		}
		eq, err := b.call("=", args)
		if err != nil {
			return nil, err
		}
		l := eq.(*Call).Args[0]
		return &Case{Whens: []When{{Cond: eq, Result: &Const{Typ: l.Type()}}}, Else: l, Typ: l.Type()}, nil
	case "greatest", "least":
		types := make([]catalog.Type, len(args))
		for i, a := range args {
			types[i] = a.Type()
		}
		t, err := CommonType(strings.ToUpper(name), types)
		if err != nil {
			return nil, err
		}
		if t.ID == catalog.Unknown {
			t = catalog.TypeText
		}
		for i := range args {
			if args[i], err = b.coerce(args[i], t, name); err != nil {
				return nil, err
			}
		}
		return b.call(name, args)
	case "extract", "date_part":
		if len(args) == 2 {
			if c, ok := args[0].(*Const); ok {
				if s, ok := c.Val.(string); ok {
					args[0] = &Const{Val: strings.ToLower(s), Typ: catalog.TypeText}
					if name == "extract" {
						out, err := b.call(name, args)
						if err != nil {
							return nil, err
						}
						return withRet(out, ExtractType(strings.ToLower(s))), nil
					}
				}
			}
		}
	case "round", "trunc":
		// round(numeric, n) has scale n when n is a constant.
		if len(args) == 2 && args[0].Type().ID == catalog.Numeric {
			if c, ok := args[1].(*Const); ok {
				if n, ok := c.Val.(int64); ok && n >= 0 && n <= catalog.NumericPrecision {
					out, err := b.call(name, args)
					if err != nil {
						return nil, err
					}
					return withRet(out, catalog.Type{ID: catalog.Numeric, Scale: int32(n)}), nil
				}
			}
		}
	}
	return b.call(name, args)
}

// withRet returns a copy of a call whose function has result type t.
func withRet(e Expr, t catalog.Type) Expr {
	c, ok := e.(*Call)
	if !ok || c.Fn.Ret.ID != t.ID {
		return e
	}
	fn := *c.Fn
	fn.Ret = t
	return &Call{Fn: &fn, Args: c.Args}
}

func (b *Binder) bindCoalesce(args []Expr) (Expr, error) {
	if len(args) == 0 {
		return nil, pgerror.New(pgerror.CodeSyntaxError, "coalesce requires at least one argument")
	}
	types := make([]catalog.Type, len(args))
	for i, a := range args {
		types[i] = a.Type()
	}
	t, err := CommonType("COALESCE", types)
	if err != nil {
		return nil, err
	}
	if t.ID == catalog.Unknown {
		t = catalog.TypeText
	}
	for i := range args {
		if args[i], err = b.coerce(args[i], t, "COALESCE"); err != nil {
			return nil, err
		}
	}
	out := &Case{Typ: t, Else: args[len(args)-1]}
	for _, a := range args[:len(args)-1] {
		out.Whens = append(out.Whens, When{Cond: &IsNull{X: a, Not: true}, Result: a})
	}
	if len(out.Whens) == 0 {
		return args[0], nil
	}
	return out, nil
}

func aggKey(c AggCall) string {
	var sb strings.Builder
	sb.WriteString(c.Agg.Name)
	if c.Distinct {
		sb.WriteString(" distinct")
	}
	for _, a := range c.Args {
		sb.WriteString(" ")
		sb.WriteString(a.String())
	}
	if c.Filter != nil {
		sb.WriteString(" filter ")
		sb.WriteString(c.Filter.String())
	}
	for _, o := range c.OrderBy {
		fmt.Fprintf(&sb, " order %s %v %v", o.Expr, o.Desc, o.NullsFirst)
	}
	return sb.String()
}

func (b *Binder) bindWindowCall(e *ast.Func, name string, sc *scope, st *selectState) (Expr, error) {
	if st == nil {
		return nil, pgerror.New(pgerror.CodeWindowingError, "window functions are not allowed here")
	}
	if st.inAgg {
		return nil, pgerror.New(pgerror.CodeGroupingError, "aggregate function calls cannot contain window function calls")
	}
	w := WindowCall{Name: name}
	for _, a := range e.Args {
		v, err := b.bindExpr(a, sc, st)
		if err != nil {
			return nil, err
		}
		w.Args = append(w.Args, v)
	}
	for _, p := range e.Over.PartitionBy {
		v, err := b.bindExpr(p, sc, st)
		if err != nil {
			return nil, err
		}
		w.PartitionBy = append(w.PartitionBy, v)
	}
	for _, o := range e.Over.OrderBy {
		v, err := b.bindExpr(o.Expr, sc, st)
		if err != nil {
			return nil, err
		}
		w.OrderBy = append(w.OrderBy, sortKey(v, o))
	}
	switch {
	case name == "row_number" || name == "rank" || name == "dense_rank" || name == "ntile":
		w.Typ = catalog.TypeInt8
	case name == "percent_rank" || name == "cume_dist":
		w.Typ = catalog.TypeFloat8
	case name == "lag" || name == "lead" || name == "first_value" || name == "last_value":
		if len(w.Args) == 0 {
			return nil, pgerror.New(pgerror.CodeUndefinedFunction, "function %s() does not exist", name)
		}
		w.Typ = w.Args[0].Type()
	case IsAggregate(name):
		types := make([]catalog.Type, len(w.Args))
		for i, a := range w.Args {
			types[i] = a.Type()
		}
		if e.Star {
			types, w.Args = nil, nil
		}
		agg, err := ResolveAgg(name, types)
		if err != nil {
			return nil, err
		}
		w.Agg = agg
		w.Typ = agg.Ret
	default:
		return nil, pgerror.New(pgerror.CodeUndefinedFunction, "function %s does not exist or is not a window function", name)
	}
	st.windows = append(st.windows, w)
	return &winPlaceholder{k: len(st.windows) - 1, typ: w.Typ}, nil
}
