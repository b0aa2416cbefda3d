package planner

import (
	"slices"

	"github.com/sqld/sqld/catalog"
)

// Optimize applies the rewrite rules to a bound plan, in order:
//
//  1. pushFilters: conjuncts of WHERE/ON move as close to the scans as
//     the join kinds allow, into Scan.Filter at the leaves.
//  2. (within pushFilters) joinKeys: equality conjuncts between the two
//     sides of a join become hash-join keys.
//  3. markWindowTies: windows order tied rows by the columns the query
//     reads.
//  4. keepRanks: a ranking window under a filter on its rank learns the
//     highest rank read (Window.Keep).
//  5. limitTies: a sort under a LIMIT orders rows tied in its keys by
//     their columns.
func Optimize(n Node) Node {
	n = pushFilters(n, nil)
	markWindowTies(n)
	return limitTies(keepRanks(n))
}

// limitTies gives each sort under a LIMIT the input's columns as further
// ascending keys (those of a type with an order, not already keys), so
// that which of the rows tied in the ORDER BY the LIMIT keeps depends on
// the rows, not on the order they come in: a view ranking rows as they
// arrive keeps the same ones as the query run once.
func limitTies(n Node) Node {
	return rewriteUp(n, func(n Node, kids []Node) []Node {
		if l, ok := n.(*Limit); ok && l.Count != nil {
			if s, ok := kids[0].(*Sort); ok {
				if t := withTies(s); t != s {
					return []Node{t}
				}
			}
		}
		return nil
	})
}

// rewriteUp rebuilds n bottom up: at each node, after its children,
// change gets the node and its children (rewritten) and returns new
// children for it, or nil to keep them. Nodes with nothing changed
// below are kept as they are.
func rewriteUp(n Node, change func(n Node, kids []Node) []Node) Node {
	kids := n.Children()
	var out []Node
	for i, k := range kids {
		if nk := rewriteUp(k, change); nk != k {
			if out == nil {
				out = append([]Node(nil), kids...)
			}
			out[i] = nk
		}
	}
	cur := kids
	if out != nil {
		cur = out
	}
	if len(cur) > 0 {
		if c := change(n, cur); c != nil {
			out = c
		}
	}
	if out == nil {
		return n
	}
	return n.WithChildren(out...)
}

// withTies returns s with its input's columns as further keys.
func withTies(s *Sort) *Sort {
	keys := s.Keys
	for i, c := range s.Input.Columns() {
		if !ordered(c.Type) || slices.ContainsFunc(s.Keys, func(k SortKey) bool {
			r, ok := k.Expr.(*ColRef)
			return ok && r.Idx == i
		}) {
			continue
		}
		if len(keys) == len(s.Keys) {
			keys = append([]SortKey(nil), s.Keys...)
		}
		keys = append(keys, SortKey{Expr: &ColRef{Idx: i, Typ: c.Type, Name: c.Name}})
	}
	if len(keys) == len(s.Keys) {
		return s
	}
	return &Sort{Input: s.Input, Keys: keys}
}

// ordered reports whether values of t have an order to sort by.
func ordered(t catalog.Type) bool {
	switch t.ID {
	case catalog.Unknown, catalog.Record:
		return false
	}
	return true
}

// keepRanks sets Window.Keep on each window of one ranking call
// (row_number, rank, dense_rank) under a filter that bounds it (rank <= k,
// rank < k, rank = 1), on a copy of the window.
func keepRanks(n Node) Node {
	return rewriteUp(n, func(n Node, kids []Node) []Node {
		f, ok := n.(*Filter)
		if !ok {
			return nil
		}
		w, ok := kids[0].(*Window)
		if !ok || w.Keep != 0 || len(w.Calls) != 1 || len(w.Calls[0].Args) != 0 {
			return nil
		}
		switch w.Calls[0].Name {
		case "row_number", "rank", "dense_rank":
		default:
			return nil
		}
		keep := int64(-1)
		for _, c := range splitAnd(f.Cond) {
			if k, ok := rankBound(c, len(w.Input.Columns())); ok && (keep < 0 || k < keep) {
				keep = k
			}
		}
		if keep < 1 {
			return nil
		}
		wc := *w
		wc.Keep = keep
		return []Node{&wc}
	})
}

// splitAnd returns the conjuncts of e.
func splitAnd(e Expr) []Expr {
	if e == nil {
		return nil
	}
	if c, ok := e.(*Call); ok && c.Fn.Name == "and" && len(c.Args) == 2 {
		return append(splitAnd(c.Args[0]), splitAnd(c.Args[1])...)
	}
	return []Expr{e}
}

// colRange reports the lowest and highest input column an expression
// reads (-1, -1 for none) and whether it holds a correlated subquery,
// which pins it where it is.
func colRange(e Expr) (lo, hi int, pinned bool) {
	lo, hi = -1, -1
	WalkExpr(e, func(x Expr) bool {
		switch r := x.(type) {
		case *ColRef:
			if lo < 0 || r.Idx < lo {
				lo = r.Idx
			}
			if r.Idx > hi {
				hi = r.Idx
			}
		case *Subquery:
			if r.Correlated {
				pinned = true
			}
		case *Call:
			if r.Fn.Volatile {
				pinned = true
			}
		}
		return true
	})
	return lo, hi, pinned
}

func shiftCols(e Expr, by int) Expr {
	return MapExpr(e, func(x Expr) Expr {
		if r, ok := x.(*ColRef); ok {
			return &ColRef{Idx: r.Idx + by, Typ: r.Typ, Name: r.Name}
		}
		return x
	})
}

func wrapFilter(n Node, conds []Expr) Node {
	if len(conds) == 0 {
		return n
	}
	return &Filter{Input: n, Cond: andAll(conds)}
}

// pushFilters returns n with conds (conjuncts over n's output) applied,
// pushed as deep as is correct.
func pushFilters(n Node, conds []Expr) Node {
	switch n := n.(type) {
	case *Filter:
		return pushFilters(n.Input, append(conds, splitAnd(n.Cond)...))
	case *Scan:
		if len(conds) == 0 {
			return n
		}
		m := *n
		all := conds
		if n.Filter != nil {
			all = append(splitAnd(n.Filter), conds...)
		}
		m.Filter = andAll(all)
		return &m
	case *Project:
		// Through a pure renaming projection only.
		var pushed, kept []Expr
		for _, c := range conds {
			if _, _, pinned := colRange(c); pinned || !pureRefs(n.Exprs, c) {
				kept = append(kept, c)
				continue
			}
			pushed = append(pushed, MapExpr(c, func(x Expr) Expr {
				if r, ok := x.(*ColRef); ok {
					return n.Exprs[r.Idx]
				}
				return x
			}))
		}
		m := *n
		m.Input = pushFilters(n.Input, pushed)
		return wrapFilter(&m, kept)
	case *Join:
		return pushJoin(n, conds)
	}
	children := n.Children()
	if len(children) > 0 {
		opt := make([]Node, len(children))
		for i, c := range children {
			opt[i] = pushFilters(c, nil)
		}
		n = n.WithChildren(opt...)
	}
	return wrapFilter(n, conds)
}

// pureRefs reports whether every column c reads is a plain column
// reference in exprs (so c can be rewritten below the projection).
func pureRefs(exprs []Expr, c Expr) bool {
	ok := true
	WalkExpr(c, func(x Expr) bool {
		if r, isRef := x.(*ColRef); isRef {
			if r.Idx >= len(exprs) {
				ok = false
			} else if _, plain := exprs[r.Idx].(*ColRef); !plain {
				ok = false
			}
		}
		return ok
	})
	return ok
}

func pushJoin(j *Join, above []Expr) Node {
	nl := len(j.Left.Columns())
	var lconds, rconds, keepAbove, joinConds []Expr
	place := func(c Expr, fromOn bool) {
		lo, hi, pinned := colRange(c)
		leftOnly := lo >= 0 && hi < nl
		rightOnly := lo >= nl
		switch {
		case pinned:
		case lo < 0 && j.Kind == InnerJoin:
			lconds = append(lconds, c)
			return
		case leftOnly && (j.Kind == InnerJoin || j.Kind == SemiJoin || j.Kind == AntiJoin || (j.Kind == LeftJoin && !fromOn)):
			if j.Kind == AntiJoin && fromOn {
				break
			}
			lconds = append(lconds, c)
			return
		case rightOnly && (j.Kind == InnerJoin || j.Kind == SemiJoin || (j.Kind == LeftJoin && fromOn) || (j.Kind == RightJoin && !fromOn) || (j.Kind == AntiJoin && fromOn)):
			rconds = append(rconds, shiftCols(c, -nl))
			return
		}
		if fromOn || j.Kind == InnerJoin {
			joinConds = append(joinConds, c)
		} else {
			keepAbove = append(keepAbove, c)
		}
	}
	for _, c := range splitAnd(j.Cond) {
		place(c, true)
	}
	for _, c := range above {
		place(c, false)
	}
	m := *j
	m.Left = pushFilters(j.Left, lconds)
	m.Right = pushFilters(j.Right, rconds)
	m.Cond = nil
	m.LeftKeys = append([]Expr(nil), j.LeftKeys...)
	m.RightKeys = append([]Expr(nil), j.RightKeys...)
	var residual []Expr
	for _, c := range joinConds {
		if call, ok := c.(*Call); ok && call.Fn.Name == "=" && len(call.Args) == 2 {
			a, b := call.Args[0], call.Args[1]
			alo, ahi, ap := colRange(a)
			blo, bhi, bp := colRange(b)
			if !ap && !bp && alo >= 0 && blo >= 0 {
				if ahi < nl && blo >= nl {
					m.LeftKeys = append(m.LeftKeys, a)
					m.RightKeys = append(m.RightKeys, shiftCols(b, -nl))
					continue
				}
				if bhi < nl && alo >= nl {
					m.LeftKeys = append(m.LeftKeys, b)
					m.RightKeys = append(m.RightKeys, shiftCols(a, -nl))
					continue
				}
			}
		}
		residual = append(residual, c)
	}
	if len(residual) > 0 {
		m.Cond = andAll(residual)
	}
	return wrapFilter(&m, keepAbove)
}
