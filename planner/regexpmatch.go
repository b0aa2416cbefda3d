package planner

import (
	"strings"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// RegexpMatchElem is the function the binder makes of
// (regexp_match(s, pattern [, flags]))[i]: element i of the text[] that
// regexp_match returns. sqld has no array values, so the subscript is
// fused into the call; regexp_match without a subscript is refused.
const RegexpMatchElem = "regexp_match[]"

func init() {
	fn(RegexpMatchElem, retText, tText, tText, tInt4)
	fn(RegexpMatchElem, retText, tText, tText, tText, tInt4)
	fn("regexp_like", retBool, tText, tText)
	fn("regexp_like", retBool, tText, tText, tText)
}

// arrayFuncs are the functions returning arrays, with the way to use them
// that sqld supports.
var arrayFuncs = map[string]string{
	"regexp_match":          "Take one element: (regexp_match(s, pattern))[n], or test regexp_match(s, pattern) IS NOT NULL.",
	"regexp_matches":        "Use (regexp_match(s, pattern))[n] for the first match.",
	"string_to_array":       "",
	"regexp_split_to_array": "Use split_part(s, delimiter, n).",
	"array_agg":             "",
}

// arrayFuncError is the error for a call of a function returning an
// array where the array itself would be the value.
func arrayFuncError(name string) error {
	err := pgerror.New(pgerror.CodeFeatureNotSupported, "%s returns an array, and array values are not supported", name)
	if h := arrayFuncs[name]; h != "" {
		err = err.WithHint("%s", h)
	}
	return err
}

// regexpMatchCall reports whether x is a plain call of regexp_match.
func regexpMatchCall(x ast.Expr) (*ast.Func, bool) {
	f, ok := x.(*ast.Func)
	if !ok || strings.ToLower(f.Name) != "regexp_match" || f.Over != nil || f.Distinct || f.Star || f.Filter != nil || len(f.OrderBy) > 0 {
		return nil, false
	}
	return f, true
}

// bindSubscript binds x[i]. Only the array regexp_match returns can be
// subscripted.
func (b *Binder) bindSubscript(e *ast.Subscript, sc *scope, st *selectState) (Expr, error) {
	f, ok := regexpMatchCall(e.X)
	if !ok {
		x, err := b.bindExpr(e.X, sc, st)
		if err != nil {
			return nil, err
		}
		return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "cannot subscript type %s because it does not support subscripting", x.Type())
	}
	args, err := b.bindArgs(f.Args, sc, st)
	if err != nil {
		return nil, err
	}
	i, err := b.bindExpr(e.Index, sc, st)
	if err != nil {
		return nil, err
	}
	if t := i.Type(); !t.IsInteger() && t.ID != catalog.Unknown {
		return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "array subscript must have type integer")
	}
	if len(args) != 2 && len(args) != 3 {
		return nil, undefinedFunc("regexp_match", argTypes(args))
	}
	return b.call(RegexpMatchElem, append(args, i))
}

// bindRegexpMatchNull binds regexp_match(...) IS [NOT] NULL: there is a
// match, which is regexp_like's answer, except that NULL inputs give no
// array (IS NULL is true).
func (b *Binder) bindRegexpMatchNull(f *ast.Func, not bool, sc *scope, st *selectState) (Expr, error) {
	args, err := b.bindArgs(f.Args, sc, st)
	if err != nil {
		return nil, err
	}
	if len(args) != 2 && len(args) != 3 {
		return nil, undefinedFunc("regexp_match", argTypes(args))
	}
	like, err := b.call("regexp_like", args)
	if err != nil {
		return nil, err
	}
	// regexp_like is strict: with every argument present it is TRUE or
	// FALSE, and AND makes the result FALSE where one is missing.
	var matched Expr
	for _, a := range like.(*Call).Args {
		if c, ok := a.(*Const); ok && c.Val != nil {
			continue
		}
		present := &IsNull{X: a, Not: true}
		if matched == nil {
			matched = present
		} else if matched, err = b.call("and", []Expr{matched, present}); err != nil {
			return nil, err
		}
	}
	if matched == nil {
		matched = like
	} else if matched, err = b.call("and", []Expr{matched, like}); err != nil {
		return nil, err
	}
	if not {
		return matched, nil
	}
	return b.call("not", []Expr{matched})
}

func (b *Binder) bindArgs(xs []ast.Expr, sc *scope, st *selectState) ([]Expr, error) {
	out := make([]Expr, len(xs))
	for i, a := range xs {
		v, err := b.bindExpr(a, sc, st)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func argTypes(args []Expr) []catalog.Type {
	out := make([]catalog.Type, len(args))
	for i, a := range args {
		out[i] = a.Type()
	}
	return out
}
