package planner

import (
	"sort"
	"strings"

	"github.com/sqld/sqld/catalog"
)

// shareFilterExprs rewrites a projection over a filtered stream scan whose
// filter and projection compute the same expressions (Nexmark q21 matches
// a regular expression in both) into Project(Filter(Project(Scan))): the
// lower projection computes each shared expression once, for every row,
// and the filter and the upper projection read its column. The filter no
// longer copies the columns only the shared expressions read, and column
// pruning drops them. Only expressions that cannot fail move, since the
// lower projection evaluates them on rows where they may not have been
// evaluated before.
func shareFilterExprs(n Node) Node {
	p, ok := n.(*Project)
	if !ok {
		return n
	}
	s, ok := p.Input.(*Scan)
	if !ok || s.Filter == nil || s.Rel.Kind != catalog.KindStream || hasSubquery(s.Filter) {
		return n
	}
	// Candidates: the filter's safe subexpressions, by text and type.
	cands := map[string]Expr{}
	WalkExpr(s.Filter, func(e Expr) bool {
		if worthSharing(e) && safeExpr(e) {
			cands[exprKey(e)] = e
		}
		return true
	})
	if len(cands) == 0 {
		return n
	}
	used := map[string]Expr{}
	for _, e := range p.Exprs {
		if hasSubquery(e) {
			return n
		}
		WalkExpr(e, func(x Expr) bool {
			if c, ok := cands[exprKey(x)]; ok {
				used[exprKey(x)] = c
				return false
			}
			return true
		})
	}
	// Keep the outermost: an expression inside another shared one is
	// computed with it.
	var keys []string
	for k := range used {
		inner := false
		for o := range used {
			if o != k && strings.Contains(o, k) {
				inner = true
			}
		}
		if !inner {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return n
	}
	sort.Strings(keys)
	nin := len(s.Cols)
	low := &Project{Input: &Scan{Rel: s.Rel, Alias: s.Alias, AsOf: s.AsOf, Cols: s.Cols, Project: s.Project}}
	at := map[string]int{}
	for i, c := range s.Cols {
		low.Exprs = append(low.Exprs, &ColRef{Idx: i, Typ: c.Type, Name: c.Name})
		low.Cols = append(low.Cols, c)
	}
	for i, k := range keys {
		e := used[k]
		at[k] = nin + i
		low.Exprs = append(low.Exprs, e)
		low.Cols = append(low.Cols, Column{Name: "_shared", Type: e.Type(), Hidden: true})
	}
	share := func(e Expr) Expr {
		return mapTopDown(e, func(x Expr) (Expr, bool) {
			if i, ok := at[exprKey(x)]; ok {
				return &ColRef{Idx: i, Typ: x.Type(), Name: "_shared"}, true
			}
			return x, false
		})
	}
	f := &Filter{Input: low, Cond: share(s.Filter)}
	top := &Project{Input: f, Cols: p.Cols}
	for _, e := range p.Exprs {
		top.Exprs = append(top.Exprs, share(e))
	}
	return top
}

// exprKey identifies an expression by its text and type.
func exprKey(e Expr) string { return e.String() + " :: " + e.Type().String() }

// worthSharing reports whether computing e once saves work: a call that
// is not a cast of a column or a comparison.
func worthSharing(e Expr) bool {
	c, ok := e.(*Call)
	if !ok {
		return false
	}
	switch c.Fn.Name {
	case "lower", "upper", "length", "char_length", "octet_length", RegexpMatchElem:
		return true
	}
	return false
}

// safeExpr reports whether e cannot fail on any row: columns, constants,
// casts between text types and a few text functions (a regular
// expression's pattern a constant).
func safeExpr(e Expr) bool {
	safe := true
	WalkExpr(e, func(x Expr) bool {
		switch x := x.(type) {
		case *ColRef, *Const:
		case *Cast:
			if !isText(x.To) || !isText(x.X.Type()) {
				safe = false
			}
		case *Call:
			switch x.Fn.Name {
			case "lower", "upper", "length", "char_length", "octet_length":
			case RegexpMatchElem:
				for _, a := range x.Args[1:] {
					if _, ok := a.(*Const); !ok {
						safe = false
					}
				}
			default:
				safe = false
			}
			if x.Fn.Volatile {
				safe = false
			}
		default:
			safe = false
		}
		return safe
	})
	return safe
}

func isText(t catalog.Type) bool {
	return t.ID == catalog.Text || t.ID == catalog.Varchar
}

// mapTopDown rebuilds e, replacing the outermost nodes fn replaces.
func mapTopDown(e Expr, fn func(Expr) (Expr, bool)) Expr {
	if e == nil {
		return nil
	}
	if r, ok := fn(e); ok {
		return r
	}
	switch x := e.(type) {
	case *Call:
		args := make([]Expr, len(x.Args))
		for i, a := range x.Args {
			args[i] = mapTopDown(a, fn)
		}
		return &Call{Fn: x.Fn, Args: args}
	case *Cast:
		return &Cast{X: mapTopDown(x.X, fn), To: x.To}
	case *Case:
		c := &Case{Typ: x.Typ, Else: mapTopDown(x.Else, fn)}
		for _, w := range x.Whens {
			c.Whens = append(c.Whens, When{Cond: mapTopDown(w.Cond, fn), Result: mapTopDown(w.Result, fn)})
		}
		return c
	case *IsNull:
		return &IsNull{X: mapTopDown(x.X, fn), Not: x.Not}
	case *InList:
		l := &InList{X: mapTopDown(x.X, fn), Not: x.Not}
		for _, it := range x.List {
			l.List = append(l.List, mapTopDown(it, fn))
		}
		return l
	}
	return e
}
