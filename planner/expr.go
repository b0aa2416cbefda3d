package planner

import (
	"fmt"
	"strings"

	"github.com/sqld/sqld/catalog"
)

// Expr is a bound, typed scalar expression. Column references are by
// position in the input of the node that holds the expression. Exprs are
// immutable once built.
type Expr interface {
	// Type returns the SQL type of the expression's value.
	Type() catalog.Type
	// String returns a readable form for EXPLAIN and golden tests.
	String() string
}

// ColRef references column Idx of the input batch.
type ColRef struct {
	Idx  int
	Typ  catalog.Type
	Name string // for EXPLAIN only
}

// OuterRef references a column of an enclosing query's current row from
// inside a correlated subquery. Depth 1 is the immediately enclosing query.
type OuterRef struct {
	Depth int
	Idx   int
	Typ   catalog.Type
	Name  string
}

// Const is a constant value in catalog's Go value convention (nil is NULL).
type Const struct {
	Val any
	Typ catalog.Type
}

// ParamRef is the statement parameter $Idx+1, supplied at execution.
type ParamRef struct {
	Idx int
	Typ catalog.Type
}

// Call applies a scalar function or operator resolved by ResolveFunc.
// Operators are functions named by their symbol ("+", "=", "||", ...);
// AND, OR and NOT are "and", "or", "not" with three-valued logic.
type Call struct {
	Fn   *Func
	Args []Expr
}

// Cast converts X to To with Postgres cast semantics.
type Cast struct {
	X  Expr
	To catalog.Type
}

// When is one arm of a Case.
type When struct {
	Cond, Result Expr
}

// Case is a searched CASE (the simple form is desugared to equalities).
// Else is never nil after binding (a NULL Const when omitted).
type Case struct {
	Whens []When
	Else  Expr
	Typ   catalog.Type
}

// IsNull is X IS [NOT] NULL.
type IsNull struct {
	X   Expr
	Not bool
}

// InList is X [NOT] IN (List...), with SQL's NULL rules: the result is
// NULL when X is NULL, or when no element matches and some element is NULL.
type InList struct {
	X    Expr
	List []Expr
	Not  bool
}

// SubqueryKind is the form of a subquery expression.
type SubqueryKind uint8

// The subquery forms.
const (
	SubScalar SubqueryKind = iota // (SELECT x ...): one value, NULL if no row, error if more
	SubExists                     // EXISTS (SELECT ...)
	SubIn                         // X IN (SELECT ...)
	SubAny                        // X op ANY (SELECT ...)
	SubAll                        // X op ALL (SELECT ...)
)

// Subquery is a subquery used as a value. Plan is evaluated with the outer
// row available to its OuterRefs; Correlated says whether it has any (an
// uncorrelated subquery is evaluated once per statement).
type Subquery struct {
	Kind       SubqueryKind
	Plan       Node
	X          Expr  // SubIn, SubAny, SubAll: the left operand
	Cmp        *Func // SubAny, SubAll (and SubIn, "="): the comparison
	Not        bool  // NOT EXISTS, NOT IN
	Correlated bool
	Typ        catalog.Type
}

// Type implements Expr.
func (e *ColRef) Type() catalog.Type { return e.Typ }

// Type implements Expr.
func (e *OuterRef) Type() catalog.Type { return e.Typ }

// Type implements Expr.
func (e *Const) Type() catalog.Type { return e.Typ }

// Type implements Expr.
func (e *ParamRef) Type() catalog.Type { return e.Typ }

// Type implements Expr.
func (e *Call) Type() catalog.Type { return e.Fn.Ret }

// Type implements Expr.
func (e *Cast) Type() catalog.Type { return e.To }

// Type implements Expr.
func (e *Case) Type() catalog.Type { return e.Typ }

// Type implements Expr.
func (e *IsNull) Type() catalog.Type { return catalog.TypeBool }

// Type implements Expr.
func (e *InList) Type() catalog.Type { return catalog.TypeBool }

// Type implements Expr.
func (e *Subquery) Type() catalog.Type { return e.Typ }

func (e *ColRef) String() string {
	if e.Name != "" {
		return fmt.Sprintf("%s#%d", e.Name, e.Idx)
	}
	return fmt.Sprintf("#%d", e.Idx)
}

func (e *OuterRef) String() string { return fmt.Sprintf("outer(%d).%s#%d", e.Depth, e.Name, e.Idx) }

func (e *Const) String() string {
	if e.Val == nil {
		return "NULL"
	}
	s := catalog.FormatValue(e.Typ, e.Val)
	if e.Typ.IsString() || e.Typ.IsTime() || e.Typ.ID == catalog.Interval {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return s
}

func (e *ParamRef) String() string { return fmt.Sprintf("$%d", e.Idx+1) }

func (e *Call) String() string {
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = a.String()
	}
	if e.Fn.Operator {
		switch len(args) {
		case 1:
			return "(" + e.Fn.Name + " " + args[0] + ")"
		case 2:
			return "(" + args[0] + " " + e.Fn.Name + " " + args[1] + ")"
		}
	}
	if e.Fn.Name == RegexpMatchElem && len(args) > 2 {
		return "(regexp_match(" + strings.Join(args[:len(args)-1], ", ") + "))[" + args[len(args)-1] + "]"
	}
	return e.Fn.Name + "(" + strings.Join(args, ", ") + ")"
}

func (e *Cast) String() string { return fmt.Sprintf("%s::%s", e.X, e.To) }

func (e *Case) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, w := range e.Whens {
		fmt.Fprintf(&b, " WHEN %s THEN %s", w.Cond, w.Result)
	}
	fmt.Fprintf(&b, " ELSE %s END", e.Else)
	return b.String()
}

func (e *IsNull) String() string {
	if e.Not {
		return fmt.Sprintf("(%s IS NOT NULL)", e.X)
	}
	return fmt.Sprintf("(%s IS NULL)", e.X)
}

func (e *InList) String() string {
	items := make([]string, len(e.List))
	for i, x := range e.List {
		items[i] = x.String()
	}
	not := ""
	if e.Not {
		not = "NOT "
	}
	return fmt.Sprintf("(%s %sIN (%s))", e.X, not, strings.Join(items, ", "))
}

func (e *Subquery) String() string {
	kind := [...]string{"scalar", "exists", "in", "any", "all"}[e.Kind]
	if e.Not {
		kind = "not " + kind
	}
	if e.X != nil {
		return fmt.Sprintf("subquery(%s %s)", kind, e.X)
	}
	return "subquery(" + kind + ")"
}

// WalkExpr calls fn for e and, if fn returns true, for its children, in
// pre-order. It does not descend into subquery plans.
func WalkExpr(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *Call:
		for _, a := range e.Args {
			WalkExpr(a, fn)
		}
	case *Cast:
		WalkExpr(e.X, fn)
	case *Case:
		for _, w := range e.Whens {
			WalkExpr(w.Cond, fn)
			WalkExpr(w.Result, fn)
		}
		WalkExpr(e.Else, fn)
	case *IsNull:
		WalkExpr(e.X, fn)
	case *InList:
		WalkExpr(e.X, fn)
		for _, x := range e.List {
			WalkExpr(x, fn)
		}
	case *Subquery:
		WalkExpr(e.X, fn)
	}
}

// MapExpr rebuilds e bottom-up, replacing each node by fn's result. fn
// receives a node whose children are already mapped.
func MapExpr(e Expr, fn func(Expr) Expr) Expr {
	if e == nil {
		return nil
	}
	switch x := e.(type) {
	case *Call:
		args := make([]Expr, len(x.Args))
		for i, a := range x.Args {
			args[i] = MapExpr(a, fn)
		}
		e = &Call{Fn: x.Fn, Args: args}
	case *Cast:
		e = &Cast{X: MapExpr(x.X, fn), To: x.To}
	case *Case:
		c := &Case{Typ: x.Typ, Else: MapExpr(x.Else, fn)}
		for _, w := range x.Whens {
			c.Whens = append(c.Whens, When{Cond: MapExpr(w.Cond, fn), Result: MapExpr(w.Result, fn)})
		}
		e = c
	case *IsNull:
		e = &IsNull{X: MapExpr(x.X, fn), Not: x.Not}
	case *InList:
		l := &InList{X: MapExpr(x.X, fn), Not: x.Not}
		for _, it := range x.List {
			l.List = append(l.List, MapExpr(it, fn))
		}
		e = l
	case *Subquery:
		s := *x
		s.X = MapExpr(x.X, fn)
		e = &s
	}
	return fn(e)
}
