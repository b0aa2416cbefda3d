package planner

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
)

// JoinPlan is the streaming plan of an incremental inner join of two
// streams (a symmetric hash join). Each side keeps the rows it has seen,
// indexed by the join keys; each epoch, a side's new rows probe the other
// side's stored rows, then are stored themselves. The pairs found are the
// join's new output rows, which the view plan's Input reads from Joined in
// place of the join (its residual condition is a filter over them).
//
// Time conditions between the sides bound the state: a stored row that no
// row of the other side at or after that side's watermark can match is
// dropped once the watermark passes it (an interval or window join).
type JoinPlan struct {
	Sides [2]JoinSide
	// Joined is the relation of the join's output pairs: the left side's
	// columns, then the right side's.
	Joined *catalog.Relation
	// Kind is the join's kind; an outer join evaluates Cond itself (the
	// plan reads no filter) and marks its padded rows in Joined's last
	// column, _pad, which Input passes through as its last column.
	Kind JoinKind
	Cond Expr
	// TimeSide and TimeCol locate the column, in a side's Input, of the
	// event time that the view's window is over (TimeSide -1: none). The
	// pairs' watermark is that side's watermark, lowered to the oldest
	// time its stored rows may still have; without such a bound it has
	// none.
	TimeSide, TimeCol int
	// TimeSlack is the bound on the stored rows: they are at least the
	// other side's watermark plus TimeSlack. The side's rows to come are
	// at least its watermark minus TimeLag.
	TimeSlack, TimeLag int64
}

// JoinSide is one input of a JoinPlan.
type JoinSide struct {
	// Source is the stream the side reads.
	Source *catalog.Relation
	// Input computes the side's rows from the stream's new rows:
	// projections and filters over a scan of Source.
	Input Node
	// Keys are the equality keys, over Input's columns.
	Keys []Expr
	// Evict lists the rules that free the side's stored rows; empty when
	// the side keeps every row.
	Evict []EvictRule
	// WatermarkCol is the Input column whose values the stream's
	// watermark bounds, -1 if none: the rows to come have values of at
	// least the watermark minus WatermarkLag (0 for the watermark column
	// itself, the window's size for a window_start over it).
	WatermarkCol int
	WatermarkLag int64
	// Distinct sides are a grouping without aggregates (the distinct rows
	// of each window): a row seen before is not new.
	Distinct bool
	// DropLate is set when the other side frees rows by this side's
	// watermark: this side's rows behind its watermark could have matched
	// rows already freed, so they are dropped as late and counted.
	DropLate bool
}

// EvictRule frees a stored row once its value in column Col (of the side's
// Input) is below the other side's watermark plus Slack (microseconds).
type EvictRule struct {
	Col   int
	Slack int64
}

// joinShape finds an inner equi-join of two streams under the view's
// projections, filters, window and aggregation, and returns the join's
// plan with the plan rewritten to read the join's pairs from Joined. It
// returns nil when the view has no such join.
func joinShape(root Node) (*JoinPlan, Node) {
	var join *Join
	var chain []Node // the nodes above the join
	n := root
	for join == nil {
		switch x := n.(type) {
		case *Project, *Filter, *Aggregate, *Distinct, *HopWindow, *Window, *Limit, *Sort:
			// (A LIMIT or sort above the join is ranked over its pairs,
			// see limitAsRank and planAggTop; an outer join allows
			// neither, below.)
			chain = append(chain, n)
			n = x.Children()[0]
		case *Join:
			join = x
		default:
			return nil, nil
		}
	}
	if len(join.LeftKeys) == 0 {
		return nil, nil
	}
	switch join.Kind {
	case InnerJoin:
	case LeftJoin, RightJoin, FullJoin:
		// An outer join's view retracts a NULL-padded row when its match
		// arrives: only plain rows (projections and filters) can.
		for _, c := range chain {
			switch c.(type) {
			case *Project, *Filter:
			default:
				return nil, nil
			}
		}
	default:
		return nil, nil
	}
	if join.Cond != nil && hasSubquery(join.Cond) {
		return nil, nil
	}
	jp := &JoinPlan{TimeSide: -1, TimeCol: -1, Kind: join.Kind}
	for i, side := range []Node{join.Left, join.Right} {
		scan, distinct := sideScan(side)
		if scan == nil {
			return nil, nil
		}
		jp.Sides[i] = JoinSide{Source: scan.Rel, Input: side, WatermarkCol: -1, Distinct: distinct}
		for c := range side.Columns() {
			if lag, ok := watermarkLag(side, scan.Rel, c); ok && (jp.Sides[i].WatermarkCol < 0 || lag < jp.Sides[i].WatermarkLag) {
				jp.Sides[i].WatermarkCol, jp.Sides[i].WatermarkLag = c, lag
			}
		}
	}
	for i := range join.LeftKeys {
		lt, rt := join.LeftKeys[i].Type(), join.RightKeys[i].Type()
		if lt.ID != rt.ID && !(lt.IsInteger() && rt.IsInteger()) {
			return nil, nil
		}
	}
	jp.Sides[0].Keys = join.LeftKeys
	jp.Sides[1].Keys = join.RightKeys
	timeBounds(join, jp)
	for i := range jp.Sides {
		// A distinct side keeps a row while an equal one may come: for
		// ever without a watermark of its own.
		if s := &jp.Sides[i]; s.Distinct && s.WatermarkCol < 0 && len(s.Evict) > 0 {
			s.Evict = nil
			jp.Sides[1-i].DropLate = false
		}
	}

	joined := &catalog.Relation{Name: "join pairs", Kind: catalog.KindStream}
	for _, c := range join.Cols {
		joined.Columns = append(joined.Columns, catalog.Column{Name: c.Name, Type: c.Type})
	}
	jp.Joined = joined
	if join.Kind == InnerJoin {
		scan := &Scan{Rel: joined, Cols: join.Cols, Filter: join.Cond}
		for i := range join.Cols {
			scan.Project = append(scan.Project, i)
		}
		return jp, replaceNode(root, join, scan)
	}
	// An outer join decides matches with its condition, and its rows
	// carry a hidden _pad column through the view's projections: the
	// NULL-padded row it stands for, NULL for a pair.
	jp.Cond = join.Cond
	joined.Columns = append(joined.Columns, catalog.Column{Name: "_pad", Type: catalog.TypeInt8, Hidden: true})
	cols := append(append([]Column(nil), join.Cols...), Column{Name: "_pad", Type: catalog.TypeInt8, Hidden: true})
	scan := &Scan{Rel: joined, Cols: cols}
	for i := range cols {
		scan.Project = append(scan.Project, i)
	}
	p, _ := passKeys(chain, scan, []int{len(join.Cols)})
	return jp, p
}

// sideScan returns the stream scan under a chain of projections, filters
// and event-time windows without subqueries, with at most one grouping
// without aggregates (the distinct rows of a window, as in a window join),
// or nil. distinct reports the grouping.
func sideScan(n Node) (scan *Scan, distinct bool) {
	for {
		switch x := n.(type) {
		case *Project, *Filter, *HopWindow:
			for _, p := range nodeExprs(x) {
				if *p != nil && hasSubquery(*p) {
					return nil, false
				}
			}
			n = x.Children()[0]
		case *Aggregate:
			if distinct || len(x.Aggs) > 0 || len(x.GroupBy) == 0 {
				return nil, false
			}
			distinct = true
			n = x.Input
		case *Distinct:
			if distinct || len(x.On) > 0 {
				return nil, false
			}
			distinct = true
			n = x.Input
		case *Scan:
			if x.Rel.Kind != catalog.KindStream || (x.Filter != nil && hasSubquery(x.Filter)) {
				return nil, false
			}
			return x, distinct
		default:
			return nil, false
		}
	}
}

// replaceNode returns root with the node old replaced by repl.
func replaceNode(root, old, repl Node) Node {
	if root == old {
		return repl
	}
	kids := root.Children()
	if len(kids) == 0 {
		return root
	}
	next := make([]Node, len(kids))
	for i, k := range kids {
		next[i] = replaceNode(k, old, repl)
	}
	return root.WithChildren(next...)
}

// timeBounds derives the eviction rules of both sides from the join's
// time conditions: each conjunct comparing a time on one side with a time
// (plus a constant interval) on the other.
func timeBounds(join *Join, jp *JoinPlan) {
	nl := len(join.Left.Columns())
	type comparison struct {
		op   string
		a, b Expr // over the combined columns
	}
	var cmps []comparison
	for i, lk := range join.LeftKeys {
		// An equality key on times is a time condition too.
		rk := MapExpr(join.RightKeys[i], func(e Expr) Expr {
			if c, ok := e.(*ColRef); ok {
				return &ColRef{Idx: c.Idx + nl, Typ: c.Typ, Name: c.Name}
			}
			return e
		})
		cmps = append(cmps, comparison{"=", lk, rk})
	}
	for _, c := range splitAnd(join.Cond) {
		if call, ok := c.(*Call); ok && len(call.Args) == 2 {
			cmps = append(cmps, comparison{call.Fn.Name, call.Args[0], call.Args[1]})
		}
	}
	for _, c := range cmps {
		op := c.op
		switch op {
		case "<", "<=", ">", ">=", "=":
		default:
			continue
		}
		ca, oa, ok1 := linearTime(c.a)
		cb, ob, ok2 := linearTime(c.b)
		if !ok1 || !ok2 {
			continue
		}
		// Normalize to left - right OP k.
		var l, r int
		var k int64
		switch {
		case ca < nl && cb >= nl:
			l, r, k = ca, cb-nl, ob-oa
		case cb < nl && ca >= nl:
			l, r, k = cb, ca-nl, oa-ob
			op = flipComparison(op)
		default:
			continue
		}
		lowerOnLeft := op == ">" || op == ">=" || op == "="
		upperOnLeft := op == "<" || op == "<=" || op == "="
		// left >= right + k: a left row is dead once the right side's
		// bound on its rows to come passes left - k.
		if lag, ok := watermarkLag(jp.Sides[1].Input, jp.Sides[1].Source, r); lowerOnLeft && ok {
			jp.Sides[0].Evict = append(jp.Sides[0].Evict, EvictRule{Col: l, Slack: k - lag})
			jp.Sides[1].DropLate = true
		}
		// left <= right + k: a right row is dead once the left side's
		// bound passes right + k.
		if lag, ok := watermarkLag(jp.Sides[0].Input, jp.Sides[0].Source, l); upperOnLeft && ok {
			jp.Sides[1].Evict = append(jp.Sides[1].Evict, EvictRule{Col: r, Slack: -k - lag})
			jp.Sides[0].DropLate = true
		}
	}
}

func flipComparison(op string) string {
	switch op {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	}
	return op
}

// linearTime matches a timestamp column plus or minus a constant interval
// of fixed length, returning the column and the offset in microseconds.
func linearTime(e Expr) (int, int64, bool) {
	switch x := e.(type) {
	case *ColRef:
		if x.Typ.ID == catalog.Timestamp || x.Typ.ID == catalog.TimestampTZ {
			return x.Idx, 0, true
		}
	case *Call:
		if len(x.Args) != 2 || (x.Fn.Name != "+" && x.Fn.Name != "-") {
			return 0, 0, false
		}
		col, iv := x.Args[0], x.Args[1]
		if _, ok := col.(*Const); ok && x.Fn.Name == "+" {
			col, iv = iv, col
		}
		c, off, ok := linearTime(col)
		if !ok {
			return 0, 0, false
		}
		k, ok := iv.(*Const)
		if !ok || k.Val == nil {
			return 0, 0, false
		}
		d, ok := k.Val.(arrow.MonthDayNanoInterval)
		if !ok || d.Months != 0 {
			return 0, 0, false
		}
		us := int64(d.Days)*86_400_000_000 + d.Nanoseconds/1000
		if x.Fn.Name == "-" {
			us = -us
		}
		return c, off + us, true
	}
	return 0, 0, false
}

// isWatermarkCol reports whether column col of a side's input is its
// stream's watermark column, passed through unchanged.
func isWatermarkCol(n Node, src *catalog.Relation, col int) bool {
	lag, ok := watermarkLag(n, src, col)
	return ok && lag == 0
}

// watermarkLag reports whether the stream's watermark bounds column col of
// a plan over it: the watermark column passed through, or the start or
// end of an event-time window over it. The rows to come have values of at
// least the watermark minus lag.
func watermarkLag(n Node, src *catalog.Relation, col int) (lag int64, ok bool) {
	if src.Watermark == nil {
		return 0, false
	}
	for {
		switch x := n.(type) {
		case *Project:
			ref, ok := x.Exprs[col].(*ColRef)
			if !ok {
				return 0, false
			}
			col = ref.Idx
			n = x.Input
		case *Filter, *Distinct:
			n = x.Children()[0]
		case *Aggregate:
			if col >= len(x.GroupBy) {
				return 0, false
			}
			ref, ok := x.GroupBy[col].(*ColRef)
			if !ok {
				return 0, false
			}
			col = ref.Idx
			n = x.Input
		case *HopWindow:
			nin := len(x.Input.Columns())
			if col < nin {
				n = x.Input
				continue
			}
			t, ok := x.Time.(*ColRef)
			if !ok || x.Offset != 0 {
				return 0, false
			}
			if col == nin {
				// A row at time t opens windows starting after t - size.
				lag += x.Size
			}
			col = t.Idx
			n = x.Input
		case *Scan:
			return lag, col < len(x.Project) && x.Project[col] == src.Watermark.Column
		default:
			return 0, false
		}
	}
}

// explainJoin describes a join plan's sides and their state.
func explainJoin(sb *strings.Builder, jp *JoinPlan) {
	for i, s := range jp.Sides {
		name := [2]string{"left", "right"}[i]
		var keys []string
		for _, k := range s.Keys {
			keys = append(keys, k.String())
		}
		state := "kept without bound"
		if len(s.Evict) > 0 {
			var rules []string
			cols := s.Input.Columns()
			other := jp.Sides[1-i].Source.Name
			for _, r := range s.Evict {
				rules = append(rules, fmt.Sprintf("%s#%d < watermark(%s) %+ds", cols[r.Col].Name, r.Col, other, r.Slack/1_000_000))
			}
			state = "freed when " + strings.Join(rules, " or ")
		}
		late := ""
		if s.DropLate {
			late = ", late rows dropped"
		}
		if s.Distinct {
			late += ", distinct rows"
		}
		fmt.Fprintf(sb, "  SymmetricHashJoin %s side keys=[%s] state %s%s\n", name, strings.Join(keys, ", "), state, late)
		sb.WriteString(indentLines(Explain(s.Input), "    "))
		sb.WriteString("\n")
	}
	if jp.TimeSide >= 0 {
		s := jp.Sides[jp.TimeSide]
		fmt.Fprintf(sb, "  Watermark of the pairs: min(watermark(%s), watermark(%s) %+ds) on %s#%d\n",
			s.Source.Name, jp.Sides[1-jp.TimeSide].Source.Name, jp.TimeSlack/1_000_000, s.Input.Columns()[jp.TimeCol].Name, jp.TimeCol)
	}
}

// unboundedSides names the sides of a join plan whose state grows without
// bound.
func unboundedSides(jp *JoinPlan) []string {
	var out []string
	for i, s := range jp.Sides {
		if len(s.Evict) == 0 {
			out = append(out, [2]string{"left", "right"}[i])
		}
	}
	return out
}

// joinedTime finds the event time of the view's window over a join: the
// window's time column traced through projections and filters to a side's
// column. When that side's stored rows are bounded by a time condition,
// the pairs get a watermark (see JoinPlan.TimeSide) and Joined declares it.
func joinedTime(input Node, jp *JoinPlan) {
	var hop *HopWindow
	walkNodes(input, func(n Node) {
		if h, ok := n.(*HopWindow); ok {
			hop = h
		}
	})
	if hop == nil {
		return
	}
	ref, ok := hop.Time.(*ColRef)
	if !ok {
		return
	}
	col := ref.Idx
	for n := hop.Input; ; {
		switch x := n.(type) {
		case *Project:
			r, ok := x.Exprs[col].(*ColRef)
			if !ok {
				return
			}
			col = r.Idx
			n = x.Input
			continue
		case *Filter:
			n = x.Input
			continue
		case *Scan:
			if x.Rel != jp.Joined {
				return
			}
			col = x.Project[col]
		default:
			return
		}
		break
	}
	side, sc := 0, col
	if nl := len(jp.Sides[0].Input.Columns()); col >= nl {
		side, sc = 1, col-nl
	}
	s := jp.Sides[side]
	lag, ok := watermarkLag(s.Input, s.Source, sc)
	if !ok {
		return
	}
	jp.TimeLag = lag
	found := false
	for _, r := range s.Evict {
		if r.Col == sc && (!found || r.Slack > jp.TimeSlack) {
			jp.TimeSlack, found = r.Slack, true
		}
	}
	if !found {
		return
	}
	jp.TimeSide, jp.TimeCol = side, sc
	jp.Joined.Watermark = &catalog.Watermark{Column: col, Expr: s.Source.Watermark.Expr}
}
