package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// ViewMode is how a continuous view is maintained.
type ViewMode uint8

// The maintenance modes.
const (
	// Incremental views read only the new rows of one stream each epoch:
	// filters and projections, optionally one aggregation whose state is
	// kept per group.
	Incremental ViewMode = iota
	// Recompute views evaluate their query over the current contents of
	// their inputs whenever an input changed, and apply the difference.
	// Every query the batch engine runs can be maintained this way.
	Recompute
)

func (m ViewMode) String() string {
	if m == Recompute {
		return "recompute"
	}
	return "incremental"
}

// ViewPlan is the streaming plan of a continuous view.
type ViewPlan struct {
	Query *Query
	Mode  ViewMode
	// Why explains the choice of Recompute.
	Why string

	// Incremental mode:
	// Source is the stream read.
	Source *catalog.Relation
	// Input is the plan over the source's new rows: the whole query for
	// a view without aggregation, else the aggregation's input.
	Input Node
	// Agg is the aggregation (nil without one); its calls are partial:
	// avg is split into a sum and a count (see Partials).
	Agg *Aggregate
	// Partials maps each aggregate of the query to its partial calls
	// in Agg (one index, or two for avg: sum then count).
	Partials [][]int
	// AggRel is the relation of the aggregation's final output (group
	// keys, then one column per aggregate of the query); Post reads it.
	AggRel *catalog.Relation
	// Post computes the view's rows from AggRel, followed by the group
	// keys (the rows' key) as extra trailing columns.
	Post Node

	// Event-time windows of an incremental aggregation:
	// WindowKey is the index of the group key holding a window's start
	// (or end), -1 if none; the window ends at that value plus
	// WindowSize (0 when the key is window_end).
	WindowKey  int
	WindowSize int64
	// RowCount is the index in Agg of a count(*) partial the job uses to
	// count late rows, -1 if none.
	RowCount int
	// EmitOnWindowClose writes each window's row once, final, after the
	// watermark passes its end.
	EmitOnWindowClose bool
	// EventTime is, for a view without aggregation that emits on window
	// close, the index of Input's trailing event-time column (-1: none).
	EventTime int
	// Notices warn of what the view will cost, such as state that grows
	// without bound; CREATE VIEW sends them and EXPLAIN shows them.
	Notices []string

	// Join, for an incremental view over a join of two streams, is the
	// join; Source is then its Joined relation of output pairs.
	Join *JoinPlan
	// TableJoin, for an incremental view over a join of a stream with a
	// table or a view, is the join; Source is the stream and Input reads
	// the joined rows (TableJoin.Joined), their key columns last.
	TableJoin *TableJoinPlan
	// Lookups are the tables of lookup joins (FOR SYSTEM_TIME AS OF
	// PROCTIME()) in Input, read from the store as of each epoch.
	Lookups []*catalog.Relation
	// TopN, for an incremental top-N view, ranks Input's rows; Post reads
	// its kept rows (TopN.Rel).
	TopN *TopNPlan

	// Distincts are the count(DISTINCT x) aggregates of an incremental
	// aggregation. The job keeps the values each group has seen and
	// counts new ones into the partial's Slot. DistinctIn computes them
	// from the aggregation's input: the group keys, then per entry of
	// Distincts its argument and its filter (true without FILTER).
	Distincts  []DistinctAgg
	DistinctIn Node

	// Outer, for a view aggregating an aggregation's rows, is the second
	// aggregation; Agg is then the first, and the view's rows come from
	// Outer.Post.
	Outer *OuterAgg

	// AggTop, for a view's ORDER BY ... LIMIT over an aggregation, ranks
	// the aggregation's rows (Post's); the view's rows come from
	// AggTop.Above.
	AggTop *AggTopPlan
}

// DistinctAgg is a count(DISTINCT x) kept by remembering values.
type DistinctAgg struct {
	Slot int     // the partial (an index of Agg.Aggs) holding the count
	Call AggCall // the query's call, for EXPLAIN
}

// streamLike reports whether a relation's new rows can be read epoch by
// epoch: a stream, or a view that only adds rows.
func streamLike(r *catalog.Relation) bool {
	return r.Kind == catalog.KindStream || (r.Kind == catalog.KindView && r.AppendOnly)
}

// AppendOnly reports whether a view with this plan only ever adds rows to
// its result, keyed by (epoch, sequence): an incremental view without
// aggregation, top-N or NULL-padded outer-join rows. Other views read
// such a view as a stream of its epochs (catalog.Relation.AppendOnly).
func (vp *ViewPlan) AppendOnly() bool {
	return vp.Mode == Incremental && vp.Agg == nil && vp.TopN == nil && vp.TableJoin == nil &&
		(vp.Join == nil || vp.Join.Kind == InnerJoin)
}

// CarriedWatermark returns the watermark a view with this plan carries
// from its source, or nil: when the view only adds rows, reads one stream
// or view that has a watermark (no join), and passes the watermarked
// column through unchanged, possibly renamed. Column is then the first of
// the view's columns that does. The view's watermark after an epoch is
// the source's as the epoch read it, so a view reading this one judges
// late rows and closes windows as it would over the source.
func (vp *ViewPlan) CarriedWatermark() *catalog.Watermark {
	if !vp.AppendOnly() || vp.Join != nil || len(vp.Lookups) > 0 || vp.Source == nil ||
		!streamLike(vp.Source) || vp.Source.Watermark == nil || vp.Query == nil {
		return nil
	}
	for c := range vp.Query.Cols {
		if passesWatermarkCol(vp.Query.Plan, vp.Source, c) {
			return &catalog.Watermark{Column: c, From: vp.Source.Name}
		}
	}
	return nil
}

// passesWatermarkCol reports whether column col of a plan of projections,
// filters and windows over a scan of src is src's watermarked column,
// passed through unchanged. A window's bounds are not: their rows' lateness
// differs from the rows'.
func passesWatermarkCol(n Node, src *catalog.Relation, col int) bool {
	for {
		switch x := n.(type) {
		case *Project:
			ref, ok := x.Exprs[col].(*ColRef)
			if !ok {
				return false
			}
			col, n = ref.Idx, x.Input
		case *Filter:
			n = x.Input
		case *HopWindow:
			if col >= len(x.Input.Columns()) {
				return false
			}
			n = x.Input
		case *Scan:
			return x.Rel.Name == src.Name && col < len(x.Project) && x.Project[col] == src.Watermark.Column
		default:
			return false
		}
	}
}

// topNInput returns the incremental plan of a top-N's input (a stream's
// rows under projections and filters, or a join's pairs), or nil.
func topNInput(root Node, version int) *ViewPlan {
	tp, _, input := topNShape(root, version)
	if tp == nil {
		return nil
	}
	sub := &ViewPlan{WindowKey: -1, RowCount: -1, EventTime: -1}
	if incrementalShape(input, sub) != "" || sub.Agg != nil || sub.Source == nil || !streamLike(sub.Source) {
		return nil
	}
	return sub
}

// lookupSide returns the table scan read as of processing time under a
// chain of projections and filters, or nil.
func lookupSide(n Node) *Scan {
	return scanUnder(n, func(x *Scan) bool { return x.AsOf && x.Rel.Kind == catalog.KindTable })
}

// scanUnder returns the scan under a chain of projections and filters
// without subqueries, if ok accepts it, or nil.
func scanUnder(n Node, ok func(*Scan) bool) *Scan {
	for {
		switch x := n.(type) {
		case *Project, *Filter:
			for _, p := range nodeExprs(x) {
				if *p != nil && hasSubquery(*p) {
					return nil
				}
			}
			n = x.Children()[0]
		case *Scan:
			if ok(x) && (x.Filter == nil || !hasSubquery(x.Filter)) {
				return x
			}
			return nil
		default:
			return nil
		}
	}
}

// ViewPlanVersion is the version of view planning of this build, recorded
// with each view it creates (catalog.Relation.PlanVersion, given back to
// PlanView as Query.PlanVersion).
//
//	0: the first.
//	1: columns no one reads are pruned below window functions too, so a
//	   top-N keeps only the columns its view shows.
//	2: ORDER BY ... LIMIT over a stream is a top-N of one partition
//	   (limitAsRank), and over an aggregation ranks its groups
//	   (planAggTop); DENSE_RANK is a top-N as ROW_NUMBER and RANK are.
const ViewPlanVersion = 2

// rankedIncrementally reports whether a view's plan rewritten by
// limitAsRank is a top-N over a stream or a join of streams.
func rankedIncrementally(root Node, version int) bool {
	root = pruneColumns(shareFilterExprs(root), version >= 1)
	if jp, rewritten := joinShape(root); jp != nil && topNInput(rewritten, version) != nil {
		return true
	}
	return topNInput(root, version) != nil
}

// PlanView builds the streaming plan of a view query. It rejects what
// would need unbounded memory it cannot bound.
func PlanView(q *Query, cat Catalog) (*ViewPlan, error) {
	vp := &ViewPlan{Query: q}
	var streams int
	for _, name := range q.Relations {
		if r, ok := cat.Relation(name); ok && r.Kind == catalog.KindStream {
			streams++
		}
	}
	if streams > 0 {
		if err := checkBounded(q.Plan); err != nil {
			return nil, err
		}
	}
	vp.WindowKey, vp.RowCount, vp.EventTime = -1, -1, -1
	vp.EmitOnWindowClose = q.EmitOnWindowClose
	root := q.Plan
	if q.PlanVersion >= 2 && !q.EmitOnWindowClose {
		if ranked, ok := limitAsRank(root); ok && rankedIncrementally(ranked, q.PlanVersion) {
			root = ranked
		}
	}
	if !q.EmitOnWindowClose {
		// The view keeps only the columns it uses, in its state too,
		// and computes what its filter and projection share once.
		root = pruneColumns(shareFilterExprs(root), q.PlanVersion >= 1)
	}
	if jp, rewritten := joinShape(root); jp != nil && (jp.Kind == InnerJoin || !q.EmitOnWindowClose) {
		if incrementalShape(rewritten, &ViewPlan{Query: q, WindowKey: -1, RowCount: -1, EventTime: -1}) == "" || topNInput(rewritten, q.PlanVersion) != nil {
			vp.Join, root = jp, rewritten
		}
	}
	if vp.Join == nil && !q.EmitOnWindowClose {
		if tj, rewritten, vo := tableJoinShape(root); tj != nil {
			vp.Mode, vp.TableJoin, vp.Source, vp.Input, vp.Outer = Incremental, tj, tj.Stream.Source, rewritten, vo
			vp.Notices = append(vp.Notices, fmt.Sprintf("the join keeps every row of stream %s by join key, to join it again when %s changes: its state grows without bound", tj.Stream.Source.Name, tj.Table.Source.Name))
			return vp, nil
		}
	}
	if tp, post, _ := topNShape(root, q.PlanVersion); tp != nil {
		if sub := topNInput(root, q.PlanVersion); sub != nil {
			vp.TopN, vp.Source, vp.Input, vp.Lookups = tp, sub.Source, sub.Input, sub.Lookups
			vp.Post = topNPost(tp, post)
			if !q.EmitOnWindowClose {
				// With EMIT ON WINDOW CLOSE the view's rows wait for the
				// watermark while the state changes.
				topNResultState(tp, vp.Post)
			}
			if q.EmitOnWindowClose {
				if vp.Join != nil || vp.Source.Watermark == nil || !topNWindow(tp, vp.Input) {
					return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "EMIT ON WINDOW CLOSE on a top-N needs a stream with a watermark and a PARTITION BY on window_start or window_end of a TUMBLE or HOP window")
				}
			}
			if vp.Join != nil {
				if sides := unboundedSides(vp.Join); len(sides) > 0 {
					vp.Notices = append(vp.Notices, fmt.Sprintf("the join of two streams keeps every row of its %s side: its state grows without bound (a time condition between the sides' watermarked columns bounds it)", strings.Join(sides, " and ")))
				}
			}
			return vp, nil
		}
	}
	why := incrementalShape(root, vp)
	if why == "" && vp.Join != nil {
		joinedTime(vp.Input, vp.Join)
		if vp.EmitOnWindowClose && (vp.Agg == nil || vp.Join.Joined.Watermark == nil) {
			return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "EMIT ON WINDOW CLOSE over a join needs watermarks on both streams and a GROUP BY on a window of the join's rows")
		}
		if sides := unboundedSides(vp.Join); len(sides) > 0 {
			vp.Notices = append(vp.Notices, fmt.Sprintf("the join of two streams keeps every row of its %s side: its state grows without bound (a time condition between the sides' watermarked columns bounds it)", strings.Join(sides, " and ")))
		}
	}
	if why == "" && vp.Source != nil && streamLike(vp.Source) {
		if vp.EmitOnWindowClose {
			if vp.Source.Watermark == nil && vp.Source.Kind == catalog.KindView {
				return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "EMIT ON WINDOW CLOSE needs a watermark on view %q", vp.Source.Name).
					WithDetail("A view has a watermark when it reads one stream or view with a watermark, only adds rows, and passes the watermarked column through unchanged.").
					WithHint("Select the watermarked column in view %q, or read its source directly.", vp.Source.Name)
			}
			if vp.Source.Watermark == nil {
				return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "EMIT ON WINDOW CLOSE needs a watermark on stream %q", vp.Source.Name).
					WithHint("Declare one with WATERMARK FOR column AS column - INTERVAL '...'.")
			}
			if vp.Agg == nil {
				// Rows are emitted once the watermark passes their event
				// time: carry the source's event-time column along.
				if err := withEventTime(vp); err != nil {
					return nil, err
				}
			} else if vp.WindowKey < 0 {
				return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "EMIT ON WINDOW CLOSE needs a GROUP BY on window_start or window_end of a TUMBLE or HOP window")
			}
		}
		return vp, nil
	}
	if why == "" {
		why = "its input is a table or a view, whose rows can change"
	}
	if q.EmitOnWindowClose {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "EMIT ON WINDOW CLOSE is not supported for this view: %s", why)
	}
	asOf := false
	walkNodes(q.Plan, func(n Node) {
		if s, ok := n.(*Scan); ok && s.AsOf {
			asOf = true
		}
	})
	if asOf {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "a lookup join (FOR SYSTEM_TIME AS OF PROCTIME()) in a view needs a stream on its left, joined to the table with JOIN or LEFT JOIN, under projections, filters, a window and one aggregation: %s", why)
	}
	// Recomputation reads only the columns the query uses.
	pq := *q
	pq.Plan = pruneColumns(q.Plan, q.PlanVersion >= 1)
	rp := &ViewPlan{Query: &pq, Mode: Recompute, Why: why, WindowKey: -1, RowCount: -1}
	if streams > 0 {
		rp.Notices = append(rp.Notices, "the view reads streams and is maintained by recomputation over all their retained rows: each change costs a full evaluation")
	}
	walkNodes(q.Plan, func(n Node) {
		if j, ok := n.(*Join); ok && readsStream(j.Left) && readsStream(j.Right) && !timeBounded(j) {
			rp.Notices = append(rp.Notices, "the join of two streams has no time condition: its state keeps every row of both and grows without bound")
		}
	})
	return rp, nil
}

// checkBounded rejects plans over streams that need memory growing with
// the stream without a bound: a full sort (ORDER BY without LIMIT).
func checkBounded(n Node) error {
	if _, ok := n.(*Sort); ok {
		return pgerror.New(pgerror.CodeFeatureNotSupported,
			"ORDER BY without LIMIT is not supported in a view over a stream").
			WithDetail("Sorting every row of an unbounded stream needs unbounded memory, and a view's rows have no order.").
			WithHint("Remove the ORDER BY and sort when you SELECT from the view, or add a LIMIT.")
	} else if _, ok := n.(*Limit); ok {
		// A top-N is bounded by N.
		if sn, ok := n.Children()[0].(*Sort); ok {
			return checkBounded(sn.Input)
		}
	}
	for _, c := range n.Children() {
		if err := checkBounded(c); err != nil {
			return err
		}
	}
	return nil
}

// incrementalShape checks whether the plan is Post(Agg(Input)) or
// Input alone, with Input and Post made only of projections and filters
// over one scan, and fills vp. It returns why not, or "".
func incrementalShape(root Node, vp *ViewPlan) string {
	if chain, s, count, offset, ok := limitShape(root); ok && vp.Query != nil && vp.Query.PlanVersion >= 2 {
		return planAggTop(vp, chain, s, count, offset)
	}
	if post, outer, inner := nestedShape(root); inner != nil {
		if why := incrementalShape(inner, vp); why != "" {
			return why
		}
		if vp.Outer != nil {
			return "three levels of aggregation are maintained by recomputation"
		}
		return planOuter(vp, post, outer, inner)
	}
	var agg *Aggregate
	var post []Node // nodes from the root down to the aggregate
	n := root
	for {
		switch x := n.(type) {
		case *Project, *Filter:
			for _, p := range nodeExprs(n) {
				if *p != nil && hasSubquery(*p) {
					return "subqueries are maintained by recomputation"
				}
			}
			post = append(post, n)
			n = n.Children()[0]
			continue
		case *Aggregate:
			agg = x
		case *Distinct:
			if len(x.On) > 0 {
				return "DISTINCT ON needs the full input"
			}
			cols := x.Input.Columns()
			g := make([]Expr, len(cols))
			for i, c := range cols {
				g[i] = &ColRef{Idx: i, Typ: c.Type, Name: c.Name}
			}
			agg = &Aggregate{Input: x.Input, GroupBy: g, Cols: cols}
		case *Scan, *Join, *HopWindow:
		default:
			return nodeName(n) + " is maintained by recomputation"
		}
		break
	}
	var input Node = root
	if agg != nil {
		input = agg.Input
	}
	var src *Scan
	var hop *HopWindow
	for m := input; ; {
		switch x := m.(type) {
		case *Join:
			// A lookup join reads its table as of each epoch.
			if (x.Kind == InnerJoin || x.Kind == LeftJoin) && lookupSide(x.Right) != nil && (x.Cond == nil || !hasSubquery(x.Cond)) {
				vp.Lookups = append(vp.Lookups, lookupSide(x.Right).Rel)
				m = x.Left
				continue
			}
			return nodeName(m) + " is maintained by recomputation"
		case *HopWindow:
			if hop != nil {
				return "nested windows are maintained by recomputation"
			}
			hop = x
			m = x.Input
			continue
		case *Project, *Filter:
			for _, p := range nodeExprs(m) {
				if *p != nil && hasSubquery(*p) {
					return "subqueries are maintained by recomputation"
				}
			}
			m = m.Children()[0]
			continue
		case *Scan:
			src = x
		default:
			return nodeName(m) + " is maintained by recomputation"
		}
		break
	}
	if src.Filter != nil && hasSubquery(src.Filter) {
		return "subqueries are maintained by recomputation"
	}
	vp.Source = src.Rel
	vp.Input = input
	if agg == nil {
		vp.Post = nil
		return ""
	}
	for _, a := range agg.Aggs {
		switch a.Agg.Name {
		case "count", "sum", "avg", "min", "max":
		default:
			return fmt.Sprintf("aggregate %s is maintained by recomputation", a.Agg.Name)
		}
		if len(a.OrderBy) > 0 {
			return "ordered aggregates are maintained by recomputation"
		}
		if a.Distinct && (a.Agg.Name == "sum" || a.Agg.Name == "avg" || len(a.Args) != 1) {
			return "DISTINCT sums and averages are maintained by recomputation"
		}
	}
	// Partial aggregation: avg(x) becomes sum(x) and count(x).
	part := &Aggregate{Input: agg.Input, GroupBy: agg.GroupBy}
	for _, g := range agg.Cols[:len(agg.GroupBy)] {
		part.Cols = append(part.Cols, g)
	}
	var distinctIn *Project
	for _, a := range agg.Aggs {
		if a.Distinct && (a.Agg.Name == "min" || a.Agg.Name == "max") {
			a.Distinct = false // the same without DISTINCT
		}
		if a.Distinct {
			// count(DISTINCT x): the job keeps each group's values seen
			// and counts the new ones into this slot, which the
			// partial aggregation leaves at zero.
			if distinctIn == nil {
				distinctIn = &Project{Input: agg.Input}
				for i, g := range agg.GroupBy {
					distinctIn.Exprs = append(distinctIn.Exprs, g)
					distinctIn.Cols = append(distinctIn.Cols, Column{Name: fmt.Sprintf("_k%d", i), Type: g.Type()})
				}
			}
			var filter Expr = &Const{Val: true, Typ: catalog.TypeBool}
			if a.Filter != nil {
				filter = a.Filter
			}
			vp.Distincts = append(vp.Distincts, DistinctAgg{Slot: len(part.Aggs), Call: a})
			distinctIn.Exprs = append(distinctIn.Exprs, a.Args[0], filter)
			distinctIn.Cols = append(distinctIn.Cols, Column{Name: "_v", Type: a.Args[0].Type()}, Column{Name: "_f", Type: catalog.TypeBool})
			vp.Partials = append(vp.Partials, []int{len(part.Aggs)})
			part.Aggs = append(part.Aggs, AggCall{Agg: a.Agg, Args: a.Args, Filter: &Const{Val: false, Typ: catalog.TypeBool}})
			part.Cols = append(part.Cols, Column{Name: a.Agg.Name, Type: a.Agg.Ret})
			continue
		}
		if a.Agg.Name != "avg" {
			vp.Partials = append(vp.Partials, []int{len(part.Aggs)})
			part.Aggs = append(part.Aggs, a)
			part.Cols = append(part.Cols, Column{Name: a.Agg.Name, Type: a.Agg.Ret})
			continue
		}
		sum, err := ResolveAgg("sum", a.Agg.Args)
		if err != nil {
			return err.Error()
		}
		cnt, err := ResolveAgg("count", a.Agg.Args)
		if err != nil {
			return err.Error()
		}
		vp.Partials = append(vp.Partials, []int{len(part.Aggs), len(part.Aggs) + 1})
		part.Aggs = append(part.Aggs, AggCall{Agg: sum, Args: a.Args, Filter: a.Filter}, AggCall{Agg: cnt, Args: a.Args, Filter: a.Filter})
		part.Cols = append(part.Cols, Column{Name: "sum", Type: sum.Ret}, Column{Name: "count", Type: cnt.Ret})
	}
	if hop != nil {
		// A group key that is the window's start or end tells when its
		// group closes.
		for i, g := range agg.GroupBy {
			if c, ok := g.(*ColRef); ok && (c.Name == "window_start" || c.Name == "window_end") && c.Typ.ID == catalog.Timestamp {
				vp.WindowKey = i
				if c.Name == "window_start" {
					vp.WindowSize = hop.Size
				}
				break
			}
		}
		if vp.WindowKey >= 0 {
			cnt, err := ResolveAgg("count", nil)
			if err != nil {
				return err.Error()
			}
			vp.RowCount = len(part.Aggs)
			part.Aggs = append(part.Aggs, AggCall{Agg: cnt})
			part.Cols = append(part.Cols, Column{Name: "rows", Type: cnt.Ret})
		}
	}
	vp.Agg = part
	if distinctIn != nil {
		vp.DistinctIn = distinctIn
	}
	vp.AggRel, vp.Post = groupsPost(agg, post)
	return ""
}

// groupsPost returns the relation of an aggregation's final rows (group
// keys, then its aggregates), as a view's job builds them from the group
// state, and the view's rows computed from it by post, the group keys
// passed along last.
func groupsPost(agg *Aggregate, post []Node) (*catalog.Relation, Node) {
	rel := &catalog.Relation{Name: "groups", Kind: catalog.KindSystem}
	for _, c := range agg.Cols {
		rel.Columns = append(rel.Columns, catalog.Column{Name: c.Name, Type: c.Type})
	}
	scan := &Scan{Rel: rel, Cols: agg.Cols}
	for i := range agg.Cols {
		scan.Project = append(scan.Project, i)
	}
	keys := make([]int, len(agg.GroupBy))
	for i := range keys {
		keys[i] = i
	}
	p, _ := passKeys(post, scan, keys)
	return rel, p
}

// passKeys rebuilds the chain of projections and filters over leaf so that
// the columns keys of leaf also come out last, after the chain's own
// output columns. A chain without a projection (only filters, or
// nothing, as under SELECT DISTINCT) gets one that adds them.
func passKeys(chain []Node, leaf Node, keys []int) (Node, []int) {
	n, idx := passKeysBelow(chain, leaf, keys)
	if hasProject(chain) {
		return n, idx
	}
	cols := n.Columns()
	p := &Project{Input: n}
	for i, c := range cols {
		p.Exprs = append(p.Exprs, &ColRef{Idx: i, Typ: c.Type, Name: c.Name})
		p.Cols = append(p.Cols, c)
	}
	out := make([]int, len(idx))
	for i, k := range idx {
		out[i] = len(p.Exprs)
		p.Exprs = append(p.Exprs, &ColRef{Idx: k, Typ: cols[k].Type, Name: cols[k].Name})
		p.Cols = append(p.Cols, Column{Name: fmt.Sprintf("_k%d", i), Type: cols[k].Type, Hidden: true})
	}
	return p, out
}

func hasProject(chain []Node) bool {
	return slices.ContainsFunc(chain, func(c Node) bool { _, ok := c.(*Project); return ok })
}

// passKeysBelow rebuilds the chain over leaf, its projections adding the
// columns keys of leaf last.
func passKeysBelow(chain []Node, leaf Node, keys []int) (Node, []int) {
	if len(chain) == 0 {
		return leaf, keys
	}
	below, idx := passKeysBelow(chain[1:], leaf, keys)
	switch x := chain[0].(type) {
	case *Filter:
		return &Filter{Input: below, Cond: x.Cond}, idx
	case *Project:
		inCols := below.Columns()
		exprs := append([]Expr(nil), x.Exprs...)
		cols := append([]Column(nil), x.Cols...)
		out := make([]int, len(idx))
		for i, k := range idx {
			out[i] = len(exprs)
			exprs = append(exprs, &ColRef{Idx: k, Typ: inCols[k].Type, Name: inCols[k].Name})
			cols = append(cols, Column{Name: fmt.Sprintf("_k%d", i), Type: inCols[k].Type, Hidden: true})
		}
		return &Project{Input: below, Exprs: exprs, Cols: cols}, out
	}
	return chain[0], idx
}

func hasSubquery(e Expr) bool {
	found := false
	WalkExpr(e, func(x Expr) bool {
		if _, ok := x.(*Subquery); ok {
			found = true
		}
		return !found
	})
	return found
}

// ExplainView describes a view's streaming plan, as EXPLAIN CREATE VIEW
// shows it.
func ExplainView(vp *ViewPlan) string {
	var sb strings.Builder
	for _, n := range vp.Notices {
		fmt.Fprintf(&sb, "NOTICE: %s\n", n)
	}
	if vp.Mode == Recompute {
		fmt.Fprintf(&sb, "StreamingView mode=recompute (%s)\n", vp.Why)
		fmt.Fprintf(&sb, "  on change of: %s\n", strings.Join(vp.Query.Relations, ", "))
		sb.WriteString(indentLines(Explain(vp.Query.Plan), "  "))
		return sb.String()
	}
	if vp.TableJoin != nil {
		explainTableJoin(&sb, vp.TableJoin)
		if vp.Outer != nil {
			sb.WriteString("  Upsert rows keyed by group\n")
			sb.WriteString(indentLines(Explain(vp.Outer.Post), "    "))
			sb.WriteString("\n  RetractableGroupState (state kept per group; a key joined again retracts its old rows)\n")
			sb.WriteString(indentLines(Explain(vp.Outer.Agg), "    "))
			return sb.String()
		}
		sb.WriteString("  Upsert rows keyed by (join key, stream row, table row)\n")
		sb.WriteString(indentLines(Explain(vp.Input), "    "))
		return sb.String()
	}
	if vp.Join != nil {
		kind := ""
		if vp.Join.Kind != InnerJoin {
			kind = vp.Join.Kind.String() + " "
		}
		fmt.Fprintf(&sb, "StreamingView mode=incremental %sjoin of %s and %s (new rows of each side probe the other side's state each epoch)\n",
			kind, vp.Join.Sides[0].Source.Name, vp.Join.Sides[1].Source.Name)
		if vp.Join.Kind != InnerJoin {
			cond := "keys only"
			if vp.Join.Cond != nil {
				cond = vp.Join.Cond.String()
			}
			fmt.Fprintf(&sb, "  Match condition: %s; unmatched rows are NULL-padded, and retracted when a match comes\n", cond)
		}
		explainJoin(&sb, vp.Join)
	} else {
		fmt.Fprintf(&sb, "StreamingView mode=incremental source=%s (new rows each epoch)\n", vp.Source.Name)
	}
	if vp.TopN != nil {
		sb.WriteString("  Upsert rows keyed by (partition, position)\n")
		sb.WriteString(indentLines(Explain(vp.Post), "    "))
		sb.WriteString("\n")
		explainTopN(&sb, vp.TopN)
		sb.WriteString(indentLines(Explain(vp.Input), "    "))
		return sb.String()
	}
	if vp.Agg == nil {
		sb.WriteString("  Append rows keyed by (epoch, row)\n")
		sb.WriteString(indentLines(Explain(vp.Input), "    "))
		return sb.String()
	}
	if vp.AggTop != nil {
		sb.WriteString("  Upsert the shown rows keyed by group, delete those no longer shown\n")
		sb.WriteString(indentLines(Explain(vp.AggTop.Above), "    "))
		sb.WriteString("\n")
		explainAggTop(&sb, vp.AggTop)
		sb.WriteString(indentLines(Explain(vp.Post), "    "))
		sb.WriteString("\n  MergeGroupState (state kept per group)\n")
		sb.WriteString(indentLines(Explain(vp.Agg), "    "))
		return sb.String()
	}
	sb.WriteString("  Upsert rows keyed by group\n")
	if vp.Outer != nil {
		sb.WriteString(indentLines(Explain(vp.Outer.Post), "    "))
		sb.WriteString("\n  RetractableGroupState (state kept per group; inner groups' changes retract their old rows)\n")
		sb.WriteString(indentLines(Explain(vp.Outer.Agg), "    "))
	} else {
		sb.WriteString(indentLines(Explain(vp.Post), "    "))
	}
	sb.WriteString("\n  MergeGroupState (state kept per group)\n")
	sb.WriteString(indentLines(Explain(vp.Agg), "    "))
	if vp.DistinctIn != nil {
		calls := make([]string, len(vp.Distincts))
		for i, d := range vp.Distincts {
			calls[i] = fmt.Sprintf("count(DISTINCT %s)", d.Call.Args[0])
			if d.Call.Filter != nil {
				calls[i] += fmt.Sprintf(" FILTER (WHERE %s)", d.Call.Filter)
			}
		}
		fmt.Fprintf(&sb, "\n  DistinctValues (values seen kept per group) for %s\n", strings.Join(calls, ", "))
		sb.WriteString(indentLines(Explain(vp.DistinctIn), "    "))
	}
	return sb.String()
}

func indentLines(s, pad string) string {
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func walkNodes(n Node, fn func(Node)) {
	fn(n)
	for _, c := range n.Children() {
		walkNodes(c, fn)
	}
}

// readsStream reports whether a plan scans a stream.
func readsStream(n Node) bool {
	found := false
	walkNodes(n, func(m Node) {
		if s, ok := m.(*Scan); ok && s.Rel.Kind == catalog.KindStream {
			found = true
		}
	})
	return found
}

// timeBounded reports whether a join relates the two sides' times: a key
// or condition on timestamps (an interval or window join).
func timeBounded(j *Join) bool {
	for _, k := range j.LeftKeys {
		if k.Type().IsTime() {
			return true
		}
	}
	nl := len(j.Left.Columns())
	bounded := false
	for _, c := range splitAnd(j.Cond) {
		call, ok := c.(*Call)
		if !ok || len(call.Args) != 2 {
			continue
		}
		switch call.Fn.Name {
		case "<", "<=", ">", ">=", "=":
		default:
			continue
		}
		if !call.Args[0].Type().IsTime() {
			continue
		}
		lo0, hi0, _ := colRange(call.Args[0])
		lo1, hi1, _ := colRange(call.Args[1])
		if (hi0 >= 0 && hi0 < nl && lo1 >= nl) || (hi1 >= 0 && hi1 < nl && lo0 >= nl) {
			bounded = true
		}
	}
	return bounded
}

// withEventTime makes Input also output the source stream's event-time
// column, last, through the projections and filters over the scan.
func withEventTime(vp *ViewPlan) error {
	var chain []Node
	n := vp.Input
	for {
		switch x := n.(type) {
		case *Project, *Filter:
			chain = append(chain, n)
			n = n.Children()[0]
			continue
		case *Scan:
			wm := vp.Source.Watermark
			col := -1
			for i, p := range x.Project {
				if p == wm.Column {
					col = i
				}
			}
			if col < 0 {
				return pgerror.New(pgerror.CodeInternalError, "the event-time column of %q is not scanned", vp.Source.Name)
			}
			in, idx := passKeys(chain, x, []int{col})
			vp.Input, vp.EventTime = in, idx[0]
			return nil
		default:
			return pgerror.New(pgerror.CodeFeatureNotSupported, "EMIT ON WINDOW CLOSE on a view with %T is not supported", n)
		}
	}
}

// nodeName names a plan node for users.
func nodeName(n Node) string {
	switch x := n.(type) {
	case *Join:
		return "a join"
	case *SetOp:
		return "a set operation (" + strings.ToUpper(x.Kind.String()) + ")"
	case *Window:
		return "a window function (OVER)"
	case *Sort, *Limit:
		return "a top-N (ORDER BY ... LIMIT)"
	case *SessionWindow:
		return "a SESSION window"
	case *Values, *GenerateSeries:
		return "a constant relation"
	case *Distinct:
		return "DISTINCT ON"
	case *Aggregate:
		return "a nested aggregation"
	}
	return fmt.Sprintf("%T", n)
}
