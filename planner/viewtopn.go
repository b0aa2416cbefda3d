package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sqld/sqld/catalog"
)

// TopNPlan is the streaming plan of an incremental top-N view: the rows
// ranked at most N by ROW_NUMBER() or RANK() over a partition, of an input
// whose rows are only ever added (a stream, or the pairs of a join of
// streams). Each partition keeps its best rows; a new row enters when it
// ranks within N and pushes the worst out, which can never come back. N =
// 1 ordered by time is deduplication.
//
// Rows that tie in the ORDER BY are ordered by their remaining columns, as
// the batch engine orders them, so the view does not depend on arrival
// order.
type TopNPlan struct {
	// Call is the ranking function; its PartitionBy and OrderBy are over
	// the view plan's Input columns.
	Call WindowCall
	// N is the largest rank kept.
	N int64
	// Rel is the relation of the kept rows that Post reads: Input's
	// columns, the rank, then the partition key values and the row's
	// position in its partition (the view's row key).
	Rel *catalog.Relation
	// With EMIT ON WINDOW CLOSE, WindowKey is the PARTITION BY value
	// holding a window's start (or end); the window ends at that value
	// plus WindowSize. A partition's rows are written once, final, when
	// the watermark passes its end. -1 otherwise.
	WindowKey  int
	WindowSize int64
	// PostKeepsAll reports that Post keeps every kept row (its only
	// filter bounds the rank), so a row rewritten at a position replaces
	// the view row there without deleting it first.
	PostKeepsAll bool
	// ResultCols, when not nil, gives for each input column the view
	// column holding it unchanged, and ResultKeys the view columns of the
	// partition values and the position: the view's rows then hold all
	// its state, and it keeps no separate state rows.
	ResultCols []int
	ResultKeys []int
	// Ties are the input columns that order rows tied in the ORDER BY
	// (planner.Window.Ties); nil means every column.
	Ties []int
	// ViewFrom, with ResultCols, is set when every view column passes a
	// column of Rel unchanged: for each view column, that column (an
	// input column, the rank, a partition value or the position). The
	// view's rows are then written from the kept rows directly.
	ViewFrom []int
}

// topNResultState sets ResultCols and ResultKeys when Post keeps every
// kept row and passes every input column, partition value and position
// through unchanged.
func topNResultState(tp *TopNPlan, post Node) {
	if !tp.PostKeepsAll || len(tp.Call.PartitionBy) == 0 {
		return
	}
	src := passedCols(post)
	find := func(c int) int {
		for j, s := range src {
			if s == c {
				return j
			}
		}
		return -1
	}
	nw := len(tp.Rel.Columns) - len(tp.Call.PartitionBy) - 1 // input columns and the rank
	cols := make([]int, nw-1)
	for c := range cols {
		if cols[c] = find(c); cols[c] < 0 {
			return
		}
	}
	keys := make([]int, len(tp.Call.PartitionBy)+1)
	for i := range keys {
		if keys[i] = find(nw + i); keys[i] < 0 {
			return
		}
	}
	tp.ResultCols, tp.ResultKeys = cols, keys
	if !slices.Contains(src, -1) {
		tp.ViewFrom = src
	}
}

// passedCols returns, for each column of n, the column of the scan below
// it that it passes through unchanged, or -1.
func passedCols(n Node) []int {
	switch x := n.(type) {
	case *Scan:
		return append([]int(nil), x.Project...)
	case *Filter:
		return passedCols(x.Input)
	case *Project:
		in := passedCols(x.Input)
		out := make([]int, len(x.Exprs))
		for i, e := range x.Exprs {
			out[i] = -1
			if r, ok := e.(*ColRef); ok && r.Idx < len(in) {
				out[i] = in[r.Idx]
			}
		}
		return out
	}
	out := make([]int, len(n.Columns()))
	for i := range out {
		out[i] = -1
	}
	return out
}

// topNWindow finds a PARTITION BY value that is the start or end of an
// event-time window in input and sets tp.WindowKey; it reports whether
// there is one.
func topNWindow(tp *TopNPlan, input Node) bool {
	for i, e := range tp.Call.PartitionBy {
		ref, ok := e.(*ColRef)
		if !ok {
			continue
		}
		col := ref.Idx
		for n := input; ; {
			switch x := n.(type) {
			case *Project:
				r, ok := x.Exprs[col].(*ColRef)
				if !ok {
					break
				}
				col, n = r.Idx, x.Input
				continue
			case *Filter:
				n = x.Input
				continue
			case *HopWindow:
				nin := len(x.Input.Columns())
				if col < nin {
					n = x.Input
					continue
				}
				tp.WindowKey = i
				if col == nin {
					tp.WindowSize = x.Size
				}
				return true
			}
			break
		}
	}
	return false
}

// topNShape matches Post(Filter(rank <= N, Window(Input))) with one
// ranking call. It returns the plan, the nodes above the window (root
// first) and the window's input, or nil.
func topNShape(root Node, version int) (*TopNPlan, []Node, Node) {
	post, n, ok := plainChain(root)
	if !ok {
		return nil, nil, nil
	}
	w, ok := n.(*Window)
	if !ok || len(w.Calls) != 1 || len(post) == 0 {
		return nil, nil, nil
	}
	call := w.Calls[0]
	switch {
	case call.Name == "row_number", call.Name == "rank", call.Name == "dense_rank" && version >= 2:
	default:
		return nil, nil, nil
	}
	if len(call.Args) > 0 || len(call.OrderBy) == 0 {
		return nil, nil, nil
	}
	f, ok := post[len(post)-1].(*Filter)
	if !ok {
		return nil, nil, nil
	}
	rankCol := len(w.Input.Columns())
	limit := int64(-1)
	keepsAll := true
	for _, c := range splitAnd(f.Cond) {
		k, ok := rankBound(c, rankCol)
		if !ok {
			keepsAll = false
			continue
		}
		if limit < 0 || k < limit {
			limit = k
		}
	}
	if limit < 1 {
		return nil, nil, nil
	}
	for _, n := range post[:len(post)-1] {
		if _, ok := n.(*Filter); ok {
			keepsAll = false
		}
	}
	tp := &TopNPlan{Call: call, N: limit, WindowKey: -1, PostKeepsAll: keepsAll, Ties: w.Ties}
	rel := &catalog.Relation{Name: "top rows", Kind: catalog.KindSystem}
	for _, c := range w.Cols {
		rel.Columns = append(rel.Columns, catalog.Column{Name: c.Name, Type: c.Type})
	}
	for i, p := range call.PartitionBy {
		rel.Columns = append(rel.Columns, catalog.Column{Name: fmt.Sprintf("_pk%d", i), Type: p.Type(), Hidden: true})
	}
	rel.Columns = append(rel.Columns, catalog.Column{Name: "_pos", Type: catalog.TypeInt8, Hidden: true})
	tp.Rel = rel
	return tp, post, w.Input
}

// rankBound matches rank <= k or rank < k+1 (either way round).
func rankBound(e Expr, rankCol int) (int64, bool) {
	c, ok := e.(*Call)
	if !ok || len(c.Args) != 2 {
		return 0, false
	}
	op := c.Fn.Name
	col, k := c.Args[0], c.Args[1]
	if _, ok := col.(*Const); ok {
		col, k = k, col
		op = flipComparison(op)
	}
	ref, ok := col.(*ColRef)
	if !ok || ref.Idx != rankCol {
		return 0, false
	}
	kc, ok := k.(*Const)
	if !ok {
		return 0, false
	}
	v, ok := kc.Val.(int64)
	if !ok {
		return 0, false
	}
	switch op {
	case "<=":
		return v, true
	case "<":
		return v - 1, true
	case "=":
		if v == 1 {
			return 1, true
		}
	}
	return 0, false
}

// topNPost builds Post over the kept rows: the nodes above the window,
// reading Rel, with the row key (partition values, position) last.
func topNPost(tp *TopNPlan, post []Node) Node {
	nw := len(tp.Rel.Columns) - len(tp.Call.PartitionBy) - 1
	scan := &Scan{Rel: tp.Rel}
	for i, c := range tp.Rel.Columns {
		scan.Cols = append(scan.Cols, Column{Name: c.Name, Type: c.Type, Hidden: c.Hidden})
		scan.Project = append(scan.Project, i)
	}
	keys := make([]int, 0, len(tp.Rel.Columns)-nw)
	for i := nw; i < len(tp.Rel.Columns); i++ {
		keys = append(keys, i)
	}
	// The nodes above the window read the window's columns, which are
	// the first nw columns of Rel: the extra key columns ride along.
	p, _ := passKeys(post, scan, keys)
	return p
}

// explainTopN describes a top-N plan.
func explainTopN(sb *strings.Builder, tp *TopNPlan) {
	var parts, order []string
	for _, p := range tp.Call.PartitionBy {
		parts = append(parts, p.String())
	}
	for _, o := range tp.Call.OrderBy {
		d := ""
		if o.Desc {
			d = " desc"
		}
		order = append(order, o.Expr.String()+d)
	}
	emit := ""
	if tp.WindowKey >= 0 {
		emit = ", emitted when the watermark closes the window"
	}
	if tp.ResultCols != nil {
		emit = ", which are the view's rows"
	}
	fmt.Fprintf(sb, "  TopN %s <= %d partition=[%s] order=[%s] (state: the kept rows per partition%s)\n",
		tp.Call.Name, tp.N, strings.Join(parts, ", "), strings.Join(order, ", "), emit)
}

// limitAsRank rewrites a view's ORDER BY ... LIMIT (under projections and
// filters) as a top-N of one partition: row_number() over the ORDER BY,
// kept while over OFFSET and at most OFFSET plus LIMIT, so that the view
// is maintained as its rows arrive rather than recomputed. The sort's
// keys end with its input's columns (limitTies) and the window orders
// ties by them too, so both keep the same rows.
func limitAsRank(root Node) (Node, bool) {
	chain, s, count, offset, ok := limitShape(root)
	if !ok {
		return root, false
	}
	cols := s.Input.Columns()
	w := &Window{Input: s.Input, Calls: []WindowCall{{Name: "row_number", OrderBy: s.Keys, Typ: catalog.TypeInt8}},
		Cols: append(append([]Column(nil), cols...), Column{Name: "row_number", Type: catalog.TypeInt8})}
	rank := &ColRef{Idx: len(cols), Typ: catalog.TypeInt8, Name: "row_number"}
	le, err1 := ResolveFunc("<=", []catalog.Type{catalog.TypeInt8, catalog.TypeInt8})
	gt, err2 := ResolveFunc(">", []catalog.Type{catalog.TypeInt8, catalog.TypeInt8})
	if err1 != nil || err2 != nil {
		return root, false
	}
	conds := []Expr{&Call{Fn: le, Args: []Expr{rank, &Const{Val: offset + count, Typ: catalog.TypeInt8}}}}
	if offset > 0 {
		conds = append(conds, &Call{Fn: gt, Args: []Expr{rank, &Const{Val: offset, Typ: catalog.TypeInt8}}})
	}
	p := &Project{Input: &Filter{Input: w, Cond: andAll(conds)}, Cols: cols}
	for i, c := range cols {
		p.Exprs = append(p.Exprs, &ColRef{Idx: i, Typ: c.Type, Name: c.Name})
	}
	var out Node = p
	for i := len(chain) - 1; i >= 0; i-- {
		out = chain[i].WithChildren(out)
	}
	return out, true
}

// plainChain walks down the projections and filters from root: it
// returns them, top first, and the node under them; ok is false when one
// of them holds a subquery.
func plainChain(root Node) (chain []Node, below Node, ok bool) {
	n := root
	for {
		switch n.(type) {
		case *Project, *Filter:
			for _, p := range nodeExprs(n) {
				if *p != nil && hasSubquery(*p) {
					return nil, nil, false
				}
			}
			chain, n = append(chain, n), n.Children()[0]
		default:
			return chain, n, true
		}
	}
}

// constInt is the value of a constant integer expression, or of one cast
// to another integer type.
func constInt(e Expr) (int64, bool) {
	if c, ok := e.(*Cast); ok && c.To.IsInteger() && c.X.Type().IsInteger() {
		e = c.X
	}
	c, ok := e.(*Const)
	if !ok {
		return 0, false
	}
	switch v := c.Val.(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int16:
		return int64(v), true
	}
	return 0, false
}
