package planner

import (
	"strings"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/pgerror"
)

// UserFunc is a user-defined SQL function as the binder sees it: its
// catalog entry and its body, parsed. Both are shared and immutable.
type UserFunc struct {
	Def  *catalog.Function
	Body ast.Expr
}

// FunctionCatalog is implemented by catalogs that hold user-defined SQL
// functions. Functions returns every overload named name (lower-case), or
// nil.
type FunctionCatalog interface {
	Functions(name string) []*UserFunc
}

// maxInlineDepth bounds nested inlining (f calling g calling h ...).
const maxInlineDepth = 32

// inlineFrame is the function whose body is being bound: its parameters
// resolve to the bound arguments of the call.
type inlineFrame struct {
	fn   *catalog.Function
	args []Expr
}

// specialForms are names the binder handles itself, which a user function
// may not take.
var specialForms = map[string]bool{"coalesce": true, "nullif": true, "greatest": true, "least": true,
	"extract": true, "date_part": true, "exists": true, "row": true, "array": true, "cast": true}

// ReservedFunctionName reports why a function may not be named name (an
// aggregate, window function or special form of the binder), or "".
func ReservedFunctionName(name string) string {
	switch {
	case IsAggregate(name):
		return "an aggregate function"
	case IsWindowFunc(name):
		return "a window function"
	case specialForms[name]:
		return "a built-in special form"
	}
	return ""
}

// BuiltinExists reports whether a built-in function or operator takes
// exactly these argument types (a user function of the same signature
// would never be called).
func BuiltinExists(name string, types []catalog.Type) bool {
	f, err := ResolveFunc(name, types)
	if err != nil {
		return false
	}
	for i, t := range types {
		if i >= len(f.Args) || f.Args[i].ID != t.ID {
			return false
		}
	}
	return len(f.Args) == len(types)
}

// UsedFunctions returns the signatures of the user functions the binder
// inlined.
func (b *Binder) UsedFunctions() []string {
	var out []string
	for s := range b.usedFuncs {
		out = append(out, s)
	}
	return out
}

// resolveUserFunc picks the user function for a call: the overload whose
// parameters the arguments reach by implicit casts with the most exact
// matches. exact is set when every argument matches exactly.
func (b *Binder) resolveUserFunc(name string, args []Expr) (uf *UserFunc, exact bool, err error) {
	fc, ok := b.cat.(FunctionCatalog)
	if !ok {
		return nil, false, nil
	}
	cands := fc.Functions(name)
	if len(cands) == 0 {
		return nil, false, nil
	}
	best, bestExact, tie := (*UserFunc)(nil), -1, false
	for _, c := range cands {
		if len(c.Def.Params) != len(args) {
			continue
		}
		n, fits := 0, true
		for i, p := range c.Def.Params {
			at := args[i].Type()
			switch {
			case at.ID == p.Type.ID:
				n++
			case CanImplicitCast(at, p.Type):
			default:
				fits = false
			}
		}
		if !fits {
			continue
		}
		switch {
		case n > bestExact:
			best, bestExact, tie = c, n, false
		case n == bestExact:
			tie = true
		}
	}
	if best == nil {
		return nil, false, nil
	}
	if tie {
		types := make([]catalog.Type, len(args))
		for i, a := range args {
			types[i] = a.Type()
		}
		return nil, false, pgerror.New(pgerror.CodeAmbiguousFunction, "function %s is not unique", signature(name, types, false)).
			WithHint("Could not choose a best candidate function. You might need to add explicit type casts.")
	}
	return best, bestExact == len(args), nil
}

// userCall binds a call of a user function when one fits (and a built-in
// does not fit better); ok is false to fall back to the built-ins.
func (b *Binder) userCall(name string, args []Expr) (Expr, bool, error) {
	uf, exact, err := b.resolveUserFunc(name, args)
	if err != nil || uf == nil {
		return nil, false, err
	}
	if !exact {
		types := make([]catalog.Type, len(args))
		for i, a := range args {
			types[i] = a.Type()
		}
		if _, err := ResolveFunc(name, types); err == nil {
			return nil, false, nil
		}
	}
	e, err := b.inline(uf, args)
	return e, true, err
}

// inline binds the body of uf with its parameters bound to args: the
// call is replaced by the body's expression, cast to the declared result
// type, so a view over it is planned like the written-out expression.
func (b *Binder) inline(uf *UserFunc, args []Expr) (Expr, error) {
	def := uf.Def
	sig := def.Signature()
	for _, f := range b.inlining {
		if f.fn.Signature() == sig {
			return nil, pgerror.New(pgerror.CodeInvalidFunctionDefinition, "SQL function %s calls itself", def.Name).
				WithDetail("Recursive SQL functions are not supported.")
		}
	}
	if len(b.inlining) >= maxInlineDepth {
		return nil, pgerror.New(pgerror.CodeStatementTooComplex, "SQL functions are nested more than %d deep", maxInlineDepth)
	}
	cargs := make([]Expr, len(args))
	for i, a := range args {
		var err error
		if cargs[i], err = b.coerce(a, def.Params[i].Type, def.Name); err != nil {
			return nil, err
		}
	}
	b.inlining = append(b.inlining, &inlineFrame{fn: def, args: cargs})
	body, err := b.bindExpr(uf.Body, &scope{fn: true}, nil)
	b.inlining = b.inlining[:len(b.inlining)-1]
	if err != nil {
		return nil, err
	}
	if body, err = returnCast(def, body); err != nil {
		return nil, err
	}
	if def.Strict {
		var cond Expr
		for _, a := range cargs {
			if c, ok := a.(*Const); ok && c.Val != nil {
				continue
			}
			var isNull Expr = &IsNull{X: a}
			if cond == nil {
				cond = isNull
			} else if cond, err = b.call("or", []Expr{cond, isNull}); err != nil {
				return nil, err
			}
		}
		if cond != nil {
			body = &Case{Whens: []When{{Cond: cond, Result: &Const{Typ: body.Type()}}}, Else: body, Typ: body.Type()}
		}
	}
	if b.usedFuncs == nil {
		b.usedFuncs = map[string]bool{}
	}
	b.usedFuncs[sig] = true
	return body, nil
}

// returnCast casts a function body's value to the declared result type
// (an assignment cast). A NUMERIC result keeps the body's scale, and an
// integer body becomes NUMERIC of scale 0, since the declared type has no
// modifiers.
func returnCast(def *catalog.Function, body Expr) (Expr, error) {
	ret, bt := def.Ret, body.Type()
	if ret.ID == catalog.Numeric {
		switch {
		case bt.ID == catalog.Numeric:
			return body, nil
		case bt.IsInteger():
			ret = numScale(0)
		}
	}
	if bt.ID == ret.ID {
		return body, nil
	}
	if bt.ID != catalog.Unknown && !CanAssignCast(bt, ret) {
		return nil, pgerror.New(pgerror.CodeInvalidFunctionDefinition, "return type mismatch in function declared to return %s", def.Ret).
			WithDetail("Actual return type is %s.", bt)
	}
	return coerce(body, ret, def.Name)
}

// bindFuncParam resolves a name in a function body to the argument of
// the call being inlined; ok is false when no parameter has the name.
func (b *Binder) bindFuncParam(e *ast.ColumnRef) (Expr, bool) {
	if len(b.inlining) == 0 {
		return nil, false
	}
	f := b.inlining[len(b.inlining)-1]
	if e.Table != "" && e.Table != f.fn.Name {
		return nil, false
	}
	for i, p := range f.fn.Params {
		if p.Name != "" && p.Name == e.Column {
			return f.args[i], true
		}
	}
	return nil, false
}

// bindFuncPositional resolves $n in a function body.
func (b *Binder) bindFuncPositional(n int) (Expr, error) {
	f := b.inlining[len(b.inlining)-1]
	if n < 1 || n > len(f.args) {
		return nil, pgerror.New(pgerror.CodeUndefinedParameter, "there is no parameter $%d", n)
	}
	return f.args[n-1], nil
}

// CheckFunctionBody checks that a function's body binds: every name is a
// parameter, the result casts to the declared type, and no call leads
// back to the function (cat must already hold it).
func CheckFunctionBody(cat Catalog, uf *UserFunc) error {
	b := NewBinder(cat, nil)
	args := make([]Expr, len(uf.Def.Params))
	for i, p := range uf.Def.Params {
		args[i] = &Const{Typ: p.Type}
	}
	_, err := b.inline(uf, args)
	return err
}

// checkBodyShape refuses what a function body cannot hold: subqueries
// (their scopes would see the parameters as outer columns), aggregates
// and window calls.
func checkBodyShape(x ast.Expr) error {
	var bad error
	walkAST(x, func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.Subquery, *ast.Exists, *ast.InSubquery:
			bad = pgerror.New(pgerror.CodeFeatureNotSupported, "subqueries in SQL function bodies are not supported")
		case *ast.Quantified:
			if e.Query != nil {
				bad = pgerror.New(pgerror.CodeFeatureNotSupported, "subqueries in SQL function bodies are not supported")
			}
		case *ast.Func:
			if e.Over != nil || IsAggregate(strings.ToLower(e.Name)) {
				bad = pgerror.New(pgerror.CodeFeatureNotSupported, "aggregate and window functions in SQL function bodies are not supported")
			}
		}
		return bad == nil
	})
	return bad
}

// LoadFunction parses the body of a stored function.
func LoadFunction(def *catalog.Function) (*UserFunc, error) {
	body, err := parser.ParseExpr(def.Body)
	if err != nil {
		return nil, err
	}
	return &UserFunc{Def: def, Body: body}, nil
}

// DefineFunction makes the function a CREATE FUNCTION statement declares
// (text is the statement, kept for SHOW). It checks the declaration and
// the body's shape; CheckFunctionBody then checks the body against the
// catalog.
func DefineFunction(x *ast.CreateFunction, text string) (*UserFunc, error) {
	if x.Language != "" && x.Language != "sql" {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "language %q is not supported", x.Language).WithHint("Only LANGUAGE SQL functions are supported.")
	}
	if x.Returns == "" {
		return nil, pgerror.New(pgerror.CodeInvalidFunctionDefinition, "function result type must be specified")
	}
	if why := ReservedFunctionName(x.Name); why != "" {
		return nil, pgerror.New(pgerror.CodeDuplicateFunction, "function %s already exists as %s", x.Name, why)
	}
	def := &catalog.Function{Name: x.Name, Strict: x.Strict, Volatility: x.Volatility, SQL: text}
	seen := map[string]bool{}
	for _, p := range x.Params {
		t, err := catalog.ParseTypeName(p.Type)
		if err != nil {
			return nil, pgerror.New(pgerror.CodeUndefinedObject, "type %q does not exist", p.Type)
		}
		if t.ID == catalog.Unknown || t.ID == catalog.Record {
			return nil, pgerror.New(pgerror.CodeInvalidFunctionDefinition, "SQL functions cannot have arguments of type %s", t)
		}
		if p.Name != "" {
			if seen[p.Name] {
				return nil, pgerror.New(pgerror.CodeInvalidFunctionDefinition, "parameter name %q used more than once", p.Name)
			}
			seen[p.Name] = true
		}
		def.Params = append(def.Params, catalog.FuncParam{Name: p.Name, Type: catalog.BaseType(t)})
	}
	ret, err := catalog.ParseTypeName(x.Returns)
	if err != nil {
		return nil, pgerror.New(pgerror.CodeUndefinedObject, "type %q does not exist", x.Returns)
	}
	if ret.ID == catalog.Unknown || ret.ID == catalog.Record {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "functions returning %s are not supported", ret)
	}
	def.Ret = catalog.BaseType(ret)
	if BuiltinExists(def.Name, def.ArgTypes()) {
		return nil, pgerror.New(pgerror.CodeDuplicateFunction, "function %s already exists as a built-in function", def.Signature())
	}
	body, err := functionBody(x, def.Ret)
	if err != nil {
		return nil, err
	}
	if err := checkBodyShape(body); err != nil {
		return nil, err
	}
	def.Body = parser.Format(body)
	// The stored text is what a restart reads: parse it now, so a body
	// that does not survive the round trip fails here.
	return LoadFunction(def)
}

// functionBody extracts the expression of a SQL function body: the one
// item of a SELECT without FROM, or the RETURN expression.
func functionBody(x *ast.CreateFunction, ret catalog.Type) (ast.Expr, error) {
	if x.Return != nil {
		return x.Return, nil
	}
	mismatch := func(detail string) error {
		return pgerror.New(pgerror.CodeInvalidFunctionDefinition, "return type mismatch in function declared to return %s", ret).WithDetail("%s", detail)
	}
	stmts, err := parser.Parse(x.Body)
	if err != nil {
		return nil, err
	}
	if len(stmts) == 0 {
		return nil, mismatch("Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.")
	}
	if len(stmts) > 1 {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "SQL function bodies of more than one statement are not supported")
	}
	sel, ok := stmts[0].AST.(*ast.Select)
	if !ok {
		switch stmts[0].AST.(type) {
		case *ast.Insert, *ast.Update, *ast.Delete:
			return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "SQL functions that modify data are not supported")
		}
		return nil, mismatch("Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.")
	}
	core, ok := sel.Body.(*ast.SelectCore)
	if !ok || len(sel.With) > 0 || len(sel.OrderBy) > 0 || sel.Limit != nil || sel.Offset != nil {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "only a SELECT of one expression is supported as an SQL function body")
	}
	if len(core.Items) != 1 || core.Items[0].Star {
		return nil, mismatch("Final statement must return exactly one column.")
	}
	if len(core.From) > 0 || core.Where != nil || len(core.GroupBy) > 0 || core.Having != nil || core.Distinct {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "only a SELECT of one expression without FROM is supported as an SQL function body")
	}
	return core.Items[0].Expr, nil
}
