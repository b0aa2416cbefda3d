package planner

import (
	"fmt"
	"strings"

	"github.com/sqld/sqld/catalog"
)

// AggTopPlan ranks an incremental aggregation's rows: a view's ORDER BY
// ... LIMIT over GROUP BY (a leaderboard). The job keeps, in memory, the
// best rows of the groups in the view's order (at least N of them while
// there are that many groups, a prefix of the order), and the view's
// rows are the first N of those, past Offset.
type AggTopPlan struct {
	// Keys order the aggregation's rows (Rel): the ORDER BY, then the
	// rows' own columns (limitTies), so that ties are decided as the
	// query decides them.
	Keys []SortKey
	// N is OFFSET plus LIMIT; the first Offset of them are not shown.
	N, Offset int64
	// Rel is the relation of the aggregation's rows as Post gives them
	// (the rows, then the group keys).
	Rel *catalog.Relation
	// Above computes the view's rows from the shown rows of Rel, the
	// group keys passed along last.
	Above Node
}

// maxRankedLimit bounds the OFFSET plus LIMIT of a view ranked as rows
// arrive: its rows are held in memory. Larger ones are recomputed.
const maxRankedLimit = 1 << 20

// limitShape recognizes chain(Limit(Sort(x))) with chain made of
// projections and filters without subqueries, a constant LIMIT of at
// least one and a constant OFFSET, the two adding up to at most
// maxRankedLimit.
func limitShape(root Node) (chain []Node, s *Sort, count, offset int64, ok bool) {
	chain, n, ok := plainChain(root)
	if !ok {
		return nil, nil, 0, 0, false
	}
	l, isLimit := n.(*Limit)
	if !isLimit {
		return nil, nil, 0, 0, false
	}
	if s, ok = l.Input.(*Sort); !ok {
		return nil, nil, 0, 0, false
	}
	if count, ok = constInt(l.Count); !ok || count < 1 {
		return nil, nil, 0, 0, false
	}
	if l.Offset != nil {
		if offset, ok = constInt(l.Offset); !ok || offset < 0 {
			return nil, nil, 0, 0, false
		}
	}
	if count > maxRankedLimit || offset > maxRankedLimit-count {
		return nil, nil, 0, 0, false
	}
	return chain, s, count, offset, true
}

// planAggTop plans a view's ORDER BY ... LIMIT over an incremental
// aggregation (x, under the sort), or says why it is recomputed.
func planAggTop(vp *ViewPlan, chain []Node, s *Sort, count, offset int64) string {
	if why := incrementalShape(s.Input, vp); why != "" {
		return why
	}
	if vp.Agg == nil {
		return "a top-N (ORDER BY ... LIMIT) is maintained by recomputation"
	}
	if vp.WindowKey >= 0 || vp.EmitOnWindowClose || vp.Outer != nil {
		return "a top-N (ORDER BY ... LIMIT) over a window's or a nested aggregation's groups is maintained by recomputation"
	}
	for _, k := range s.Keys {
		if hasSubquery(k.Expr) {
			return "subqueries are maintained by recomputation"
		}
	}
	cols := vp.Post.Columns()
	rel := &catalog.Relation{Name: "ranked groups", Kind: catalog.KindSystem}
	scan := &Scan{Rel: rel, Cols: cols}
	for i, c := range cols {
		rel.Columns = append(rel.Columns, catalog.Column{Name: c.Name, Type: c.Type})
		scan.Project = append(scan.Project, i)
	}
	nx := len(s.Input.Columns())
	keys := make([]int, len(cols)-nx)
	for i := range keys {
		keys[i] = nx + i
	}
	// The rows ranked end with the keys already: without a projection
	// above the LIMIT, they are the view's rows as they are.
	above, _ := passKeysBelow(chain, scan, keys)
	if hasProject(chain) {
		above, _ = passKeys(chain, scan, keys)
	}
	vp.AggTop = &AggTopPlan{Keys: s.Keys, N: offset + count, Offset: offset, Rel: rel, Above: above}
	return ""
}

func explainAggTop(sb *strings.Builder, at *AggTopPlan) {
	keys := make([]string, len(at.Keys))
	for i, k := range at.Keys {
		keys[i] = k.Expr.String()
		if k.Desc {
			keys[i] += " desc"
		}
	}
	shown := fmt.Sprintf("the first %d", at.N)
	if at.Offset > 0 {
		shown = fmt.Sprintf("rows %d to %d", at.Offset+1, at.N)
	}
	fmt.Fprintf(sb, "  RankGroups order=[%s] (state: the best groups in memory, at least %d; the view shows %s)\n", strings.Join(keys, ", "), at.N, shown)
}
