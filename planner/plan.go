package planner

import (
	"github.com/sqld/sqld/catalog"
)

// Column is one output column of a plan node. Table is the name the column
// can be qualified with in the query (the table or alias it came from), or
// "" for computed columns. Hidden columns (a table's row id) are not
// expanded by `*`.
type Column struct {
	Name   string
	Type   catalog.Type
	Table  string
	Hidden bool
}

// Node is a node of a query plan. Nodes are immutable; rules rebuild the
// tree with WithChildren. Each node's output columns are fixed at build
// time; expressions inside a node refer to its input by position (for a
// join: left columns, then right columns).
type Node interface {
	Columns() []Column
	Children() []Node
	// WithChildren returns a copy of the node with new children (same
	// count and output columns).
	WithChildren(children ...Node) Node
}

// Scan reads a stored relation: a table, the retained contents of a
// stream, or a view's current results. Filter (may be nil) is evaluated on
// the scanned columns before projection, and may be pushed into the store.
type Scan struct {
	Rel     *catalog.Relation
	Alias   string
	Cols    []Column // output columns: the relation's columns selected by Project
	Project []int    // relation column indexes, in output order
	Filter  Expr     // refers to output columns
	// AsOf marks a table read as of processing time (FOR SYSTEM_TIME AS
	// OF PROCTIME()): in a view, each epoch looks up the table's current
	// rows, and rows already emitted are not revised when it changes.
	AsOf bool
}

// Values produces constant rows (VALUES, SELECT without FROM).
type Values struct {
	Cols []Column
	Rows [][]Expr // may reference params and outer columns, not input columns
}

// GenerateSeries produces generate_series(Start, Stop[, Step]) as one column.
type GenerateSeries struct {
	Cols              []Column
	Start, Stop, Step Expr
}

// Project computes Exprs over each input row.
type Project struct {
	Input Node
	Exprs []Expr
	Cols  []Column
}

// Filter keeps the rows for which Cond is true.
type Filter struct {
	Input Node
	Cond  Expr
}

// AggCall is one aggregate of an Aggregate node.
type AggCall struct {
	Agg      *Agg
	Args     []Expr // over the Aggregate's input
	Distinct bool
	Filter   Expr      // FILTER (WHERE ...), nil if none
	OrderBy  []SortKey // ordered-set input order (string_agg ... ORDER BY)
}

// Aggregate groups its input by GroupBy and computes Aggs. Output columns
// are the group keys, then the aggregates. With no GroupBy it produces
// exactly one row, even for empty input.
type Aggregate struct {
	Input   Node
	GroupBy []Expr
	Aggs    []AggCall
	Cols    []Column
}

// SortKey is one ORDER BY key.
type SortKey struct {
	Expr       Expr
	Desc       bool
	NullsFirst bool
}

// Sort orders its input.
type Sort struct {
	Input Node
	Keys  []SortKey
}

// Limit skips Offset rows and returns at most Count rows (nil Count: all).
// Both are constant expressions (constants or parameters).
type Limit struct {
	Input  Node
	Count  Expr
	Offset Expr
}

// Distinct removes duplicate rows (NULLs equal). With On set, it keeps
// the first row of each group of equal On values (DISTINCT ON), in input
// order.
type Distinct struct {
	Input Node
	On    []Expr
}

// JoinKind is the kind of a join.
type JoinKind uint8

// The join kinds. Semi and Anti come from decorrelated EXISTS / IN.
const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
	SemiJoin
	AntiJoin
)

func (k JoinKind) String() string {
	return [...]string{"inner", "left", "right", "full", "semi", "anti"}[k]
}

// Join joins Left and Right. LeftKeys[i] = RightKeys[i] are equality keys
// (over each side's own columns; NULL never matches), Cond a residual
// condition over the combined row (left columns, then right). Output
// columns are left's then right's (only left's for Semi and Anti).
type Join struct {
	Kind                JoinKind
	Left, Right         Node
	LeftKeys, RightKeys []Expr
	Cond                Expr
	Cols                []Column
}

// SetOpKind is UNION, INTERSECT or EXCEPT.
type SetOpKind uint8

// The set operations.
const (
	Union SetOpKind = iota
	Intersect
	Except
)

func (k SetOpKind) String() string { return [...]string{"union", "intersect", "except"}[k] }

// SetOp combines two inputs with the same column types.
type SetOp struct {
	Kind        SetOpKind
	All         bool
	Left, Right Node
	Cols        []Column
}

// WindowCall is one window function of a Window node.
type WindowCall struct {
	Name        string // row_number, rank, dense_rank, or an aggregate name
	Agg         *Agg   // for aggregates over a window
	Args        []Expr
	PartitionBy []Expr
	OrderBy     []SortKey
	Typ         catalog.Type
}

// Window computes window functions; its output is the input columns
// followed by one column per call.
type Window struct {
	Input Node
	Calls []WindowCall
	Cols  []Column
	// Ties are the input columns, ascending, that order rows tied in a
	// call's PARTITION BY and ORDER BY: those the query reads (see
	// markWindowTies). Nil means every input column.
	Ties []int
	// Keep, when positive, says that nothing above reads a row whose
	// value of the one call (row_number, rank or dense_rank) is over Keep:
	// a filter above drops them (see keepRanks). The executor may drop
	// such rows early; the filter stays.
	Keep int64
}

// Columns implements Node.
func (n *Scan) Columns() []Column           { return n.Cols }
func (n *Values) Columns() []Column         { return n.Cols }
func (n *GenerateSeries) Columns() []Column { return n.Cols }
func (n *Project) Columns() []Column        { return n.Cols }
func (n *Filter) Columns() []Column         { return n.Input.Columns() }
func (n *Aggregate) Columns() []Column      { return n.Cols }
func (n *Sort) Columns() []Column           { return n.Input.Columns() }
func (n *Limit) Columns() []Column          { return n.Input.Columns() }
func (n *Distinct) Columns() []Column       { return n.Input.Columns() }
func (n *Join) Columns() []Column           { return n.Cols }
func (n *SetOp) Columns() []Column          { return n.Cols }
func (n *Window) Columns() []Column         { return n.Cols }

// Children implements Node.
func (n *Scan) Children() []Node           { return nil }
func (n *Values) Children() []Node         { return nil }
func (n *GenerateSeries) Children() []Node { return nil }
func (n *Project) Children() []Node        { return []Node{n.Input} }
func (n *Filter) Children() []Node         { return []Node{n.Input} }
func (n *Aggregate) Children() []Node      { return []Node{n.Input} }
func (n *Sort) Children() []Node           { return []Node{n.Input} }
func (n *Limit) Children() []Node          { return []Node{n.Input} }
func (n *Distinct) Children() []Node       { return []Node{n.Input} }
func (n *Join) Children() []Node           { return []Node{n.Left, n.Right} }
func (n *SetOp) Children() []Node          { return []Node{n.Left, n.Right} }
func (n *Window) Children() []Node         { return []Node{n.Input} }

// WithChildren implements Node.
func (n *Scan) WithChildren(c ...Node) Node           { return n }
func (n *Values) WithChildren(c ...Node) Node         { return n }
func (n *GenerateSeries) WithChildren(c ...Node) Node { return n }
func (n *Project) WithChildren(c ...Node) Node        { m := *n; m.Input = c[0]; return &m }
func (n *Filter) WithChildren(c ...Node) Node         { m := *n; m.Input = c[0]; return &m }
func (n *Aggregate) WithChildren(c ...Node) Node      { m := *n; m.Input = c[0]; return &m }
func (n *Sort) WithChildren(c ...Node) Node           { m := *n; m.Input = c[0]; return &m }
func (n *Limit) WithChildren(c ...Node) Node          { m := *n; m.Input = c[0]; return &m }
func (n *Distinct) WithChildren(c ...Node) Node       { m := *n; m.Input = c[0]; return &m }
func (n *Join) WithChildren(c ...Node) Node {
	m := *n
	m.Left, m.Right = c[0], c[1]
	return &m
}
func (n *SetOp) WithChildren(c ...Node) Node {
	m := *n
	m.Left, m.Right = c[0], c[1]
	return &m
}
func (n *Window) WithChildren(c ...Node) Node { m := *n; m.Input = c[0]; return &m }

// Swapped returns the inner join j with its sides exchanged: Right's
// columns come first, then Left's, and Cond is rewritten to match. It
// returns false when j is not an inner join or its condition holds a
// subquery, whose references are not rewritten.
func (j *Join) Swapped() (*Join, bool) {
	nl, nr := len(j.Left.Columns()), len(j.Right.Columns())
	if j.Kind != InnerJoin || len(j.Cols) != nl+nr || (j.Cond != nil && hasSubquery(j.Cond)) {
		return nil, false
	}
	m := make([]int, nl+nr)
	for i := range m {
		if i < nl {
			m[i] = i + nr
		} else {
			m[i] = i - nl
		}
	}
	cols := append(append(make([]Column, 0, nl+nr), j.Cols[nl:]...), j.Cols[:nl]...)
	return &Join{Kind: InnerJoin, Left: j.Right, Right: j.Left, LeftKeys: j.RightKeys, RightKeys: j.LeftKeys,
		Cond: remap(j.Cond, m), Cols: cols}, true
}
