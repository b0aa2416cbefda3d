package planner

import (
	"fmt"
	"strings"

	"github.com/sqld/sqld/catalog"
)

// TableJoinPlan is an incremental view over an equi-join of a stream
// with a table or a view, under projections and filters. The stream's rows
// are kept by join key; the table side's rows are kept by join key too,
// also in memory. New stream rows probe the table side; when the table or
// view changes, the view's rows of each join key whose table rows changed
// are recomputed from the kept stream rows of that key: deleted, then
// joined again. The view's rows are keyed by (join key, stream row,
// table row), so such a recomputation is one partition of its result.
type TableJoinPlan struct {
	// Kind is the query's join. PadStream and PadTable tell which side's
	// rows without a match are kept, NULL-padded (an outer join
	// preserving the stream's rows, the table's, or both).
	Kind                JoinKind
	PadStream, PadTable bool
	// StreamLeft reports whether the stream is the join's left input.
	StreamLeft bool
	// Stream and Table compute each side's rows (projections and filters
	// over a scan of Stream.Source and Table.Source); Keys are over them.
	Stream, Table JoinSide
	// Joined is the relation of joined rows the view's plan reads: the
	// join's columns, then the hidden row key _jk (the encoded join key),
	// _e, _n (the stream row's epoch and number, -1 for a table row
	// without a match) and _t (the table row's number within its key, -1
	// for a stream row without a match).
	Joined *catalog.Relation
}

// tableJoinKeyCols are the hidden key columns of a table join's rows.
var tableJoinKeyCols = []Column{
	{Name: "_jk", Type: catalog.TypeBytea, Hidden: true},
	{Name: "_e", Type: catalog.TypeInt8, Hidden: true},
	{Name: "_n", Type: catalog.TypeInt8, Hidden: true},
	{Name: "_t", Type: catalog.TypeInt8, Hidden: true},
}

// tableSideScan returns the table or view scan under a chain of
// projections and filters without subqueries, or nil.
func tableSideScan(n Node) *Scan {
	return scanUnder(n, func(x *Scan) bool {
		return !x.AsOf && (x.Rel.Kind == catalog.KindTable || x.Rel.Kind == catalog.KindView)
	})
}

// tableJoinShape finds an equi-join of a stream with a table or a view
// under the view's projections and filters, and returns its plan with the
// view's plan rewritten to read the joined rows, carrying their key. It
// returns nil when the view has no such join.
func tableJoinShape(root Node) (*TableJoinPlan, Node, *OuterAgg) {
	var join *Join
	var agg *Aggregate
	var chain, post []Node
	for n := root; join == nil; {
		switch x := n.(type) {
		case *Project, *Filter:
			for _, p := range nodeExprs(x) {
				if *p != nil && hasSubquery(*p) {
					return nil, nil, nil
				}
			}
			chain = append(chain, n)
			n = x.Children()[0]
		case *Aggregate:
			// One aggregation of the joined rows, whose partials rows can
			// be taken back from when a key's rows are joined again.
			if agg != nil || retractable(x, "a join with a table") != "" {
				return nil, nil, nil
			}
			agg, post, chain = x, chain, nil
			n = x.Input
		case *Join:
			join = x
		default:
			return nil, nil, nil
		}
	}
	if len(join.LeftKeys) == 0 || (join.Cond != nil && hasSubquery(join.Cond)) {
		return nil, nil, nil
	}
	ls, _ := sideScan(join.Left)
	rs, _ := sideScan(join.Right)
	lt, rt := tableSideScan(join.Left), tableSideScan(join.Right)
	tp := &TableJoinPlan{Kind: join.Kind}
	var streamNode, tableNode Node
	var streamKeys, tableKeys []Expr
	switch {
	case ls != nil && !hasDistinct(join.Left) && rt != nil:
		tp.StreamLeft = true
		streamNode, tableNode, streamKeys, tableKeys = join.Left, join.Right, join.LeftKeys, join.RightKeys
	case rs != nil && !hasDistinct(join.Right) && lt != nil:
		streamNode, tableNode, streamKeys, tableKeys = join.Right, join.Left, join.RightKeys, join.LeftKeys
	default:
		return nil, nil, nil
	}
	padLeft := join.Kind == LeftJoin || join.Kind == FullJoin
	padRight := join.Kind == RightJoin || join.Kind == FullJoin
	switch join.Kind {
	case InnerJoin, LeftJoin, RightJoin, FullJoin:
	default:
		return nil, nil, nil
	}
	if join.Kind != InnerJoin && join.Cond != nil {
		// Which rows go unmatched is decided by the keys alone.
		return nil, nil, nil
	}
	if tp.StreamLeft {
		tp.PadStream, tp.PadTable = padLeft, padRight
	} else {
		tp.PadStream, tp.PadTable = padRight, padLeft
	}
	for i := range join.LeftKeys {
		a, b := join.LeftKeys[i].Type(), join.RightKeys[i].Type()
		if a.ID != b.ID && !(a.IsInteger() && b.IsInteger()) {
			return nil, nil, nil
		}
	}
	scan, _ := sideScan(streamNode)
	tscan := tableSideScan(tableNode)
	tp.Stream = JoinSide{Source: scan.Rel, Input: streamNode, Keys: streamKeys, WatermarkCol: -1}
	tp.Table = JoinSide{Source: tscan.Rel, Input: tableNode, Keys: tableKeys, WatermarkCol: -1}
	joined := &catalog.Relation{Name: "join pairs", Kind: catalog.KindStream}
	cols := append(append([]Column(nil), join.Cols...), tableJoinKeyCols...)
	for _, c := range cols {
		joined.Columns = append(joined.Columns, catalog.Column{Name: c.Name, Type: c.Type, Hidden: c.Hidden})
	}
	tp.Joined = joined
	leaf := &Scan{Rel: joined, Cols: cols}
	for i := range cols {
		leaf.Project = append(leaf.Project, i)
	}
	var top Node = leaf
	if join.Kind == InnerJoin && join.Cond != nil {
		top = &Filter{Input: leaf, Cond: join.Cond}
	}
	keys := make([]int, len(tableJoinKeyCols))
	for i := range keys {
		keys[i] = len(join.Cols) + i
	}
	if agg != nil {
		// The aggregation reads the joined rows through the nodes
		// between it and the join.
		vo, why := retractableAgg(post, agg, replaceNode(agg.Input, join, top))
		if why != "" {
			return nil, nil, nil
		}
		return tp, nil, vo
	}
	p, _ := passKeys(chain, top, keys)
	return tp, p, nil
}

// hasDistinct reports whether a side groups its rows (a window join's
// distinct side), which a table join does not do.
func hasDistinct(n Node) bool {
	found := false
	walkNodes(n, func(m Node) {
		switch m.(type) {
		case *Aggregate, *Distinct:
			found = true
		}
	})
	return found
}

func explainTableJoin(sb *strings.Builder, tp *TableJoinPlan) {
	// Named as "stream JOIN table", whichever side the query wrote first.
	kind := ""
	switch {
	case tp.PadStream && tp.PadTable:
		kind = "full "
	case tp.PadStream:
		kind = "left "
	case tp.PadTable:
		kind = "right "
	}
	fmt.Fprintf(sb, "StreamingView mode=incremental %sjoin of stream %s with %s %s (new stream rows probe the %s's rows kept by key; a change of %s recomputes the rows of the keys it changes)\n",
		kind, tp.Stream.Source.Name, tp.Table.Source.Kind, tp.Table.Source.Name, tp.Table.Source.Kind, tp.Table.Source.Name)
	for _, s := range []struct {
		what string
		side *JoinSide
	}{{"stream", &tp.Stream}, {"table", &tp.Table}} {
		var keys []string
		for _, k := range s.side.Keys {
			keys = append(keys, k.String())
		}
		fmt.Fprintf(sb, "  KeyedState %s side keys=[%s]\n", s.what, strings.Join(keys, ", "))
		sb.WriteString(indentLines(Explain(s.side.Input), "    "))
		sb.WriteString("\n")
	}
}
