package planner

// pruneColumns drops the columns a plan computes but never uses: scans
// read only the columns used above them, and projections compute only
// what their parents use. A continuous view keeps the rows of its join
// sides and windows in state, so every column pruned there is memory and
// work saved for as long as the view runs. The root's columns all stay.
func pruneColumns(root Node, windows bool) Node {
	need := make([]bool, len(root.Columns()))
	for i := range need {
		need[i] = true
	}
	n, _ := pruner{windows: windows}.prune(root, need)
	return n
}

// pruner prunes columns; windows says whether it prunes below window
// functions (views planned before it did keep those columns), and mark
// whether it sets the Ties of the plan's own windows (markWindowTies).
type pruner struct{ windows, mark bool }

// markWindowTies sets the Ties of every window of the plan, outside
// subqueries, to the input columns the query reads: the columns a view's
// pruning keeps below it, so that a continuous view and a batch query of
// the same SELECT order tied rows alike.
func markWindowTies(root Node) {
	need := make([]bool, len(root.Columns()))
	for i := range need {
		need[i] = true
	}
	pruner{windows: true, mark: true}.prune(root, need)
}

// exprCols marks the columns e reads; false if e has a subquery, whose
// references the pruning does not follow.
func exprCols(e Expr, mark []bool) bool {
	ok := true
	WalkExpr(e, func(x Expr) bool {
		switch c := x.(type) {
		case *Subquery:
			ok = false
		case *ColRef:
			if c.Idx >= 0 && c.Idx < len(mark) {
				mark[c.Idx] = true
			}
		}
		return ok
	})
	return ok
}

// remap rewrites the column references of e by m (old index to new).
func remap(e Expr, m []int) Expr {
	if e == nil {
		return nil
	}
	return MapExpr(e, func(x Expr) Expr {
		if c, ok := x.(*ColRef); ok && c.Idx >= 0 && c.Idx < len(m) && m[c.Idx] >= 0 {
			r := *c
			r.Idx = m[c.Idx]
			return &r
		}
		return x
	})
}

func identity(n int) []int {
	m := make([]int, n)
	for i := range m {
		m[i] = i
	}
	return m
}

// keepAll prunes below a node that is left as it is: its children keep
// every column.
func (pr pruner) keepAll(n Node) (Node, []int) {
	kids := n.Children()
	if len(kids) == 0 {
		return n, identity(len(n.Columns()))
	}
	next := make([]Node, len(kids))
	for i, k := range kids {
		all := make([]bool, len(k.Columns()))
		for j := range all {
			all[j] = true
		}
		next[i], _ = pr.prune(k, all)
		if len(next[i].Columns()) != len(k.Columns()) {
			return n, identity(len(n.Columns()))
		}
	}
	return n.WithChildren(next...), identity(len(n.Columns()))
}

// prune returns n computing at least the columns marked in need, and the
// map from n's column indexes to the new node's (-1: dropped).
func (pr pruner) prune(n Node, need []bool) (Node, []int) {
	switch x := n.(type) {
	case *Scan:
		if x.Filter != nil && !exprCols(x.Filter, append([]bool(nil), need...)) {
			return n, identity(len(x.Cols))
		}
		use := append([]bool(nil), need...)
		exprCols(x.Filter, use)
		any := false
		for _, u := range use {
			any = any || u
		}
		if !any && len(use) > 0 {
			use[0] = true // a row count still needs rows
		}
		m := make([]int, len(x.Cols))
		s := &Scan{Rel: x.Rel, Alias: x.Alias, AsOf: x.AsOf}
		for i, u := range use {
			m[i] = -1
			if u {
				m[i] = len(s.Cols)
				s.Cols = append(s.Cols, x.Cols[i])
				s.Project = append(s.Project, x.Project[i])
			}
		}
		s.Filter = remap(x.Filter, m)
		return s, m
	case *Project:
		childNeed := make([]bool, len(x.Input.Columns()))
		for i, e := range x.Exprs {
			if need[i] && !exprCols(e, childNeed) {
				return pr.keepAll(n)
			}
		}
		keep := append([]bool(nil), need...)
		any := false
		for _, k := range keep {
			any = any || k
		}
		if !any && len(keep) > 0 {
			// Rows without columns are not a thing batches carry.
			keep[0] = true
			if !exprCols(x.Exprs[0], childNeed) {
				return pr.keepAll(n)
			}
		}
		in, cm := pr.prune(x.Input, childNeed)
		p := &Project{Input: in}
		m := make([]int, len(x.Exprs))
		for i, e := range x.Exprs {
			m[i] = -1
			if keep[i] {
				m[i] = len(p.Exprs)
				p.Exprs = append(p.Exprs, remap(e, cm))
				p.Cols = append(p.Cols, x.Cols[i])
			}
		}
		return p, m
	case *Filter:
		childNeed := append([]bool(nil), need...)
		if !exprCols(x.Cond, childNeed) {
			return pr.keepAll(n)
		}
		in, cm := pr.prune(x.Input, childNeed)
		return &Filter{Input: in, Cond: remap(x.Cond, cm)}, cm
	case *Join:
		switch x.Kind {
		case InnerJoin, LeftJoin, RightJoin, FullJoin:
		default:
			return pr.keepAll(n)
		}
		nl := len(x.Left.Columns())
		all := append([]bool(nil), need...)
		if !exprCols(x.Cond, all) {
			return pr.keepAll(n)
		}
		ln, rn := all[:nl], all[nl:]
		for _, k := range x.LeftKeys {
			if !exprCols(k, ln) {
				return pr.keepAll(n)
			}
		}
		for _, k := range x.RightKeys {
			if !exprCols(k, rn) {
				return pr.keepAll(n)
			}
		}
		l, lm := pr.prune(x.Left, append([]bool(nil), ln...))
		r, rm := pr.prune(x.Right, append([]bool(nil), rn...))
		nlNew := len(l.Columns())
		m := make([]int, len(x.Cols))
		j := &Join{Kind: x.Kind, Left: l, Right: r}
		for i := range x.Cols {
			var to int
			if i < nl {
				to = lm[i]
			} else if to = rm[i-nl]; to >= 0 {
				to += nlNew
			}
			m[i] = to
			if to >= 0 {
				j.Cols = append(j.Cols, x.Cols[i])
			}
		}
		for _, k := range x.LeftKeys {
			j.LeftKeys = append(j.LeftKeys, remap(k, lm))
		}
		for _, k := range x.RightKeys {
			j.RightKeys = append(j.RightKeys, remap(k, rm))
		}
		j.Cond = remap(x.Cond, m)
		if len(j.Cols) != len(l.Columns())+len(r.Columns()) {
			// A child kept a column no one above reads (a key): the
			// join's columns are its children's.
			return pr.keepAll(n)
		}
		return j, m
	case *Aggregate:
		childNeed := make([]bool, len(x.Input.Columns()))
		for _, g := range x.GroupBy {
			if !exprCols(g, childNeed) {
				return pr.keepAll(n)
			}
		}
		for _, a := range x.Aggs {
			for _, e := range a.Args {
				if !exprCols(e, childNeed) {
					return pr.keepAll(n)
				}
			}
			if !exprCols(a.Filter, childNeed) {
				return pr.keepAll(n)
			}
			for _, k := range a.OrderBy {
				if !exprCols(k.Expr, childNeed) {
					return pr.keepAll(n)
				}
			}
		}
		in, cm := pr.prune(x.Input, childNeed)
		ag := &Aggregate{Input: in, Cols: x.Cols}
		for _, g := range x.GroupBy {
			ag.GroupBy = append(ag.GroupBy, remap(g, cm))
		}
		for _, a := range x.Aggs {
			c := a
			c.Args = nil
			for _, e := range a.Args {
				c.Args = append(c.Args, remap(e, cm))
			}
			c.Filter = remap(a.Filter, cm)
			c.OrderBy = nil
			for _, k := range a.OrderBy {
				c.OrderBy = append(c.OrderBy, SortKey{Expr: remap(k.Expr, cm), Desc: k.Desc, NullsFirst: k.NullsFirst})
			}
			ag.Aggs = append(ag.Aggs, c)
		}
		return ag, identity(len(x.Cols))
	case *HopWindow:
		nin := len(x.Input.Columns())
		childNeed := append([]bool(nil), need[:nin]...)
		if !exprCols(x.Time, childNeed) {
			return pr.keepAll(n)
		}
		in, cm := pr.prune(x.Input, childNeed)
		h := *x
		h.Input = in
		h.Time = remap(x.Time, cm)
		h.Cols = nil
		m := make([]int, len(x.Cols))
		for i := range x.Cols {
			to := len(in.Columns()) + (i - nin) // window_start, window_end
			if i < nin {
				to = cm[i]
			}
			m[i] = to
			if to >= 0 {
				h.Cols = append(h.Cols, x.Cols[i])
			}
		}
		if len(h.Cols) != len(in.Columns())+2 {
			return pr.keepAll(n)
		}
		return &h, m
	case *Window:
		// The window functions' values are kept; of the input, the
		// columns read above and by the calls.
		if !pr.windows {
			return pr.keepAll(n)
		}
		nin := len(x.Input.Columns())
		childNeed := append([]bool(nil), need[:nin]...)
		all := func() (Node, []int) {
			if pr.mark {
				x.Ties = nil
			}
			return pr.keepAll(n)
		}
		for _, c := range x.Calls {
			for _, e := range append(append([]Expr(nil), c.Args...), c.PartitionBy...) {
				if !exprCols(e, childNeed) {
					return all()
				}
			}
			for _, k := range c.OrderBy {
				if !exprCols(k.Expr, childNeed) {
					return all()
				}
			}
		}
		var ties []int
		for i, u := range childNeed {
			if u {
				ties = append(ties, i)
			}
		}
		if pr.mark {
			x.Ties = ties
		}
		in, cm := pr.prune(x.Input, childNeed)
		w := &Window{Input: in, Keep: x.Keep}
		for _, t := range ties {
			w.Ties = append(w.Ties, cm[t])
		}
		m := make([]int, len(x.Cols))
		for i := range x.Cols {
			to := len(in.Columns()) + (i - nin) // a call's value
			if i < nin {
				to = cm[i]
			}
			m[i] = to
			if to >= 0 {
				w.Cols = append(w.Cols, x.Cols[i])
			}
		}
		if len(w.Cols) != len(in.Columns())+len(x.Calls) {
			return pr.keepAll(n)
		}
		for _, c := range x.Calls {
			nc := c
			nc.Args, nc.PartitionBy, nc.OrderBy = nil, nil, nil
			for _, e := range c.Args {
				nc.Args = append(nc.Args, remap(e, cm))
			}
			for _, e := range c.PartitionBy {
				nc.PartitionBy = append(nc.PartitionBy, remap(e, cm))
			}
			for _, k := range c.OrderBy {
				nc.OrderBy = append(nc.OrderBy, SortKey{Expr: remap(k.Expr, cm), Desc: k.Desc, NullsFirst: k.NullsFirst})
			}
			w.Calls = append(w.Calls, nc)
		}
		return w, m
	}
	return pr.keepAll(n)
}
