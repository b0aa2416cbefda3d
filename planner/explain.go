package planner

import (
	"fmt"
	"strings"
	"time"
)

// Explain returns the plan as an indented tree, one node per line, as
// EXPLAIN shows it.
func Explain(n Node) string {
	var sb strings.Builder
	explain(&sb, n, 0)
	return strings.TrimRight(sb.String(), "\n")
}

func exprList(es []Expr) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

func sortKeys(keys []SortKey) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		dir := "asc"
		if k.Desc {
			dir = "desc"
		}
		nulls := "nulls last"
		if k.NullsFirst {
			nulls = "nulls first"
		}
		s[i] = fmt.Sprintf("%s %s %s", k.Expr, dir, nulls)
	}
	return strings.Join(s, ", ")
}

func explain(sb *strings.Builder, n Node, depth int) {
	pad := strings.Repeat("  ", depth)
	sb.WriteString(pad)
	var subs []*Subquery
	collect := func(e Expr) {
		WalkExpr(e, func(x Expr) bool {
			if s, ok := x.(*Subquery); ok {
				subs = append(subs, s)
			}
			return true
		})
	}
	for _, p := range nodeExprs(n) {
		if *p != nil {
			collect(*p)
		}
	}
	switch n := n.(type) {
	case *Scan:
		names := make([]string, len(n.Cols))
		for i, c := range n.Cols {
			names[i] = c.Name
		}
		fmt.Fprintf(sb, "Scan %s %s [%s]", n.Rel.Kind, n.Rel.Name, strings.Join(names, ", "))
		if n.Alias != "" && n.Alias != n.Rel.Name {
			fmt.Fprintf(sb, " as %s", n.Alias)
		}
		if n.AsOf {
			sb.WriteString(" as of proctime")
		}
		if n.Filter != nil {
			fmt.Fprintf(sb, " filter=%s", n.Filter)
		}
	case *Values:
		fmt.Fprintf(sb, "Values rows=%d cols=%d", len(n.Rows), len(n.Cols))
	case *GenerateSeries:
		step := "1"
		if n.Step != nil {
			step = n.Step.String()
		}
		fmt.Fprintf(sb, "GenerateSeries %s to %s step %s", n.Start, n.Stop, step)
	case *Project:
		fmt.Fprintf(sb, "Project [%s]", exprList(n.Exprs))
	case *Filter:
		fmt.Fprintf(sb, "Filter %s", n.Cond)
	case *Aggregate:
		aggs := make([]string, len(n.Aggs))
		for i, a := range n.Aggs {
			d := ""
			if a.Distinct {
				d = "distinct "
			}
			aggs[i] = fmt.Sprintf("%s(%s%s)", a.Agg.Name, d, exprList(a.Args))
			if a.Filter != nil {
				aggs[i] += fmt.Sprintf(" filter %s", a.Filter)
			}
		}
		fmt.Fprintf(sb, "Aggregate group=[%s] aggs=[%s]", exprList(n.GroupBy), strings.Join(aggs, ", "))
	case *Sort:
		fmt.Fprintf(sb, "Sort [%s]", sortKeys(n.Keys))
	case *Limit:
		fmt.Fprintf(sb, "Limit")
		if n.Count != nil {
			fmt.Fprintf(sb, " count=%s", n.Count)
		}
		if n.Offset != nil {
			fmt.Fprintf(sb, " offset=%s", n.Offset)
		}
	case *Distinct:
		if len(n.On) > 0 {
			fmt.Fprintf(sb, "Distinct on=[%s]", exprList(n.On))
		} else {
			sb.WriteString("Distinct")
		}
	case *Join:
		algo := "NestedLoopJoin"
		if len(n.LeftKeys) > 0 {
			algo = "HashJoin"
		}
		fmt.Fprintf(sb, "%s %s", algo, n.Kind)
		if len(n.LeftKeys) > 0 {
			fmt.Fprintf(sb, " keys=[%s]=[%s]", exprList(n.LeftKeys), exprList(n.RightKeys))
		}
		if n.Cond != nil {
			fmt.Fprintf(sb, " cond=%s", n.Cond)
		}
	case *SetOp:
		all := ""
		if n.All {
			all = " all"
		}
		fmt.Fprintf(sb, "SetOp %s%s", n.Kind, all)
	case *Window:
		calls := make([]string, len(n.Calls))
		for i, c := range n.Calls {
			calls[i] = fmt.Sprintf("%s(%s) over (partition by [%s] order by [%s])", c.Name, exprList(c.Args), exprList(c.PartitionBy), sortKeys(c.OrderBy))
		}
		keep := ""
		if n.Keep > 0 {
			keep = fmt.Sprintf(" keep<=%d", n.Keep)
		}
		fmt.Fprintf(sb, "Window%s [%s]", keep, strings.Join(calls, ", "))
	case *HopWindow:
		if n.Tumble {
			fmt.Fprintf(sb, "TumbleWindow time=%s size=%s offset=%s", n.Time, micros(n.Size), micros(n.Offset))
			break
		}
		fmt.Fprintf(sb, "HopWindow time=%s slide=%s size=%s offset=%s", n.Time, micros(n.Slide), micros(n.Size), micros(n.Offset))
	case *SessionWindow:
		fmt.Fprintf(sb, "SessionWindow time=%s gap=%s keys=[%s]", n.Time, micros(n.Gap), exprList(n.Keys))
	default:
		fmt.Fprintf(sb, "%T", n)
	}
	sb.WriteString("\n")
	for _, s := range subs {
		fmt.Fprintf(sb, "%s  %s:\n", pad, s)
		explain(sb, s.Plan, depth+2)
	}
	for _, c := range n.Children() {
		explain(sb, c, depth+1)
	}
}

// micros prints a duration in microseconds as Go does.
func micros(us int64) string { return time.Duration(us * 1000).String() }
