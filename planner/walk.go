package planner

// nodeExprs returns pointers to every expression held directly by n (not
// its children's), so walkers and rewriters share one list of fields.
func nodeExprs(n Node) []*Expr {
	var out []*Expr
	add := func(es []Expr) {
		for i := range es {
			out = append(out, &es[i])
		}
	}
	switch n := n.(type) {
	case *Scan:
		out = append(out, &n.Filter)
	case *Values:
		for _, r := range n.Rows {
			add(r)
		}
	case *GenerateSeries:
		out = append(out, &n.Start, &n.Stop, &n.Step)
	case *Project:
		add(n.Exprs)
	case *Filter:
		out = append(out, &n.Cond)
	case *Aggregate:
		add(n.GroupBy)
		for i := range n.Aggs {
			add(n.Aggs[i].Args)
			out = append(out, &n.Aggs[i].Filter)
			for j := range n.Aggs[i].OrderBy {
				out = append(out, &n.Aggs[i].OrderBy[j].Expr)
			}
		}
	case *Sort:
		for i := range n.Keys {
			out = append(out, &n.Keys[i].Expr)
		}
	case *Limit:
		out = append(out, &n.Count, &n.Offset)
	case *Distinct:
		add(n.On)
	case *Join:
		add(n.LeftKeys)
		add(n.RightKeys)
		out = append(out, &n.Cond)
	case *HopWindow:
		out = append(out, &n.Time)
	case *SessionWindow:
		out = append(out, &n.Time)
		add(n.Keys)
	case *Window:
		for i := range n.Calls {
			add(n.Calls[i].Args)
			add(n.Calls[i].PartitionBy)
			for j := range n.Calls[i].OrderBy {
				out = append(out, &n.Calls[i].OrderBy[j].Expr)
			}
		}
	}
	return out
}

// WalkNodeExprs calls fn for every non-nil expression held by n and its
// descendants (not descending into subquery plans).
func WalkNodeExprs(n Node, fn func(Expr)) {
	for _, p := range nodeExprs(n) {
		if *p != nil {
			fn(*p)
		}
	}
	for _, c := range n.Children() {
		WalkNodeExprs(c, fn)
	}
}

// MapNodeExprs returns a copy of the plan with every expression replaced
// by fn's result. Nodes are copied; the input plan is not modified.
func MapNodeExprs(n Node, fn func(Expr) Expr) Node {
	children := n.Children()
	mapped := make([]Node, len(children))
	for i, c := range children {
		mapped[i] = MapNodeExprs(c, fn)
	}
	out := copyNode(n)
	if len(mapped) > 0 {
		out = out.WithChildren(mapped...)
	}
	for _, p := range nodeExprs(out) {
		if *p != nil {
			*p = fn(*p)
		}
	}
	return out
}

// copyNode returns a shallow copy of n with its expression slices copied,
// so that nodeExprs pointers can be written without touching n.
func copyNode(n Node) Node {
	cp := func(es []Expr) []Expr { return append([]Expr(nil), es...) }
	switch n := n.(type) {
	case *Scan:
		m := *n
		return &m
	case *Values:
		m := *n
		m.Rows = make([][]Expr, len(n.Rows))
		for i, r := range n.Rows {
			m.Rows[i] = cp(r)
		}
		return &m
	case *GenerateSeries:
		m := *n
		return &m
	case *Project:
		m := *n
		m.Exprs = cp(n.Exprs)
		return &m
	case *Filter:
		m := *n
		return &m
	case *Aggregate:
		m := *n
		m.GroupBy = cp(n.GroupBy)
		m.Aggs = append([]AggCall(nil), n.Aggs...)
		for i := range m.Aggs {
			m.Aggs[i].Args = cp(m.Aggs[i].Args)
			m.Aggs[i].OrderBy = append([]SortKey(nil), m.Aggs[i].OrderBy...)
		}
		return &m
	case *Sort:
		m := *n
		m.Keys = append([]SortKey(nil), n.Keys...)
		return &m
	case *Limit:
		m := *n
		return &m
	case *Distinct:
		m := *n
		m.On = cp(n.On)
		return &m
	case *Join:
		m := *n
		m.LeftKeys, m.RightKeys = cp(n.LeftKeys), cp(n.RightKeys)
		return &m
	case *SetOp:
		m := *n
		return &m
	case *HopWindow:
		m := *n
		return &m
	case *SessionWindow:
		m := *n
		m.Keys = cp(n.Keys)
		return &m
	case *Window:
		m := *n
		m.Calls = append([]WindowCall(nil), n.Calls...)
		for i := range m.Calls {
			m.Calls[i].Args = cp(m.Calls[i].Args)
			m.Calls[i].PartitionBy = cp(m.Calls[i].PartitionBy)
			m.Calls[i].OrderBy = append([]SortKey(nil), m.Calls[i].OrderBy...)
		}
		return &m
	}
	return n
}
