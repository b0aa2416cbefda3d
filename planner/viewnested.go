package planner

import (
	"fmt"

	"github.com/sqld/sqld/catalog"
)

// OuterAgg is the second aggregation of a view that aggregates an
// aggregation's rows (Nexmark q4: the average of each auction's highest
// bid). The inner aggregation is the view's Agg; each epoch, the rows of
// the inner groups it changed are retracted with their old values and
// added with their new ones, through Agg here, whose partials are
// retractable: counts and sums (an average is a sum and a count; a sum
// also counts its values, to be NULL when none is left).
type OuterAgg struct {
	// Agg is the partial aggregation over the inner aggregation's rows
	// (a scan of the view's AggRel) through the projections and filters
	// between the two.
	Agg *Aggregate
	// Partials maps each aggregate of the query's outer aggregation to
	// its partials in Agg: one for count, (sum, count) for sum and avg.
	Partials [][]int
	// Avg marks the outer aggregates that are averages.
	Avg []bool
	// RowCount is the index in Agg of a count(*): a group whose count
	// drops to zero has no rows left and is deleted.
	RowCount int
	// AggRel is the outer aggregation's output (group keys, then one
	// column per aggregate); Post computes the view's rows from it,
	// followed by the group keys.
	AggRel *catalog.Relation
	Post   Node
}

// nestedShape recognizes Post(Agg2(Mid(Agg1(Input)))) with Post and Mid
// made of projections and filters and Agg2's aggregates retractable. It
// returns the outer aggregation, Mid's chain and the inner one, or nils.
func nestedShape(root Node) (post []Node, outer *Aggregate, inner *Aggregate) {
	n := root
	for {
		switch x := n.(type) {
		case *Project, *Filter:
			post = append(post, n)
			n = x.Children()[0]
			continue
		case *Aggregate:
			outer = x
		}
		break
	}
	if outer == nil {
		return nil, nil, nil
	}
	for m := outer.Input; ; {
		switch x := m.(type) {
		case *Project, *Filter:
			m = x.Children()[0]
			continue
		case *Aggregate:
			inner = x
		}
		break
	}
	if inner == nil {
		return nil, nil, nil
	}
	return post, outer, inner
}

// planOuter fills vp.Outer for a nested aggregation whose inner
// aggregation incrementalShape planned as vp.Agg. It returns why not, or "".
func planOuter(vp *ViewPlan, post []Node, outer, inner *Aggregate) string {
	for _, p := range append(append([]Node(nil), post...), outer) {
		for _, e := range nodeExprs(p) {
			if *e != nil && hasSubquery(*e) {
				return "subqueries are maintained by recomputation"
			}
		}
	}
	if vp.EmitOnWindowClose {
		return "EMIT ON WINDOW CLOSE of a nested aggregation is not supported"
	}
	if why := retractable(outer, "an aggregation"); why != "" {
		return why
	}
	// The inner aggregation's rows, as the view's AggRel holds them.
	scan := &Scan{Rel: vp.AggRel, Cols: inner.Cols}
	for i := range inner.Cols {
		scan.Project = append(scan.Project, i)
	}
	vo, why := retractableAgg(post, outer, replaceNode(outer.Input, inner, scan))
	if why != "" {
		return why
	}
	vp.Outer = vo
	return ""
}

// retractable returns why the aggregates of agg, over rows that can be
// taken back (of what), cannot be maintained, or "".
func retractable(agg *Aggregate, of string) string {
	for _, p := range nodeExprs(agg) {
		if *p != nil && hasSubquery(*p) {
			return "subqueries are maintained by recomputation"
		}
	}
	for _, a := range agg.Aggs {
		if a.Distinct || len(a.OrderBy) > 0 {
			return fmt.Sprintf("DISTINCT and ordered aggregates over %s are maintained by recomputation", of)
		}
		switch a.Agg.Name {
		case "count", "sum", "avg":
		default:
			return fmt.Sprintf("%s over %s is maintained by recomputation (it cannot take back a value)", a.Agg.Name, of)
		}
	}
	return ""
}

// retractableAgg plans the aggregation outer, over the rows mid computes
// (outer.Input rewritten to read its rows from where the view keeps
// them), with partials that rows can be taken back from, and the view's
// rows post computes from it.
func retractableAgg(post []Node, outer *Aggregate, mid Node) (*OuterAgg, string) {
	part := &Aggregate{Input: mid, GroupBy: outer.GroupBy}
	part.Cols = append(part.Cols, outer.Cols[:len(outer.GroupBy)]...)
	add := func(name string, args []Expr, filter Expr) (int, string) {
		var types []catalog.Type
		for _, a := range args {
			types = append(types, a.Type())
		}
		fn, err := ResolveAgg(name, types)
		if err != nil {
			return 0, err.Error()
		}
		part.Aggs = append(part.Aggs, AggCall{Agg: fn, Args: args, Filter: filter})
		part.Cols = append(part.Cols, Column{Name: name, Type: fn.Ret})
		return len(part.Aggs) - 1, ""
	}
	vo := &OuterAgg{Agg: part}
	for _, a := range outer.Aggs {
		if a.Agg.Name == "count" {
			i, why := add("count", a.Args, a.Filter)
			if why != "" {
				return nil, why
			}
			vo.Partials = append(vo.Partials, []int{i})
			vo.Avg = append(vo.Avg, false)
			continue
		}
		s, why := add("sum", a.Args, a.Filter)
		if why != "" {
			return nil, why
		}
		c, why := add("count", a.Args, a.Filter)
		if why != "" {
			return nil, why
		}
		vo.Partials = append(vo.Partials, []int{s, c})
		vo.Avg = append(vo.Avg, a.Agg.Name == "avg")
	}
	rc, why := add("count", nil, nil)
	if why != "" {
		return nil, why
	}
	vo.RowCount = rc
	vo.AggRel, vo.Post = groupsPost(outer, post)
	return vo, ""
}
