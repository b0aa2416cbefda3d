package planner

import (
	"github.com/sqld/sqld/catalog"
)

// HopWindow assigns each input row to every hopping window that holds its
// time, producing one row per (row, window): the input columns, then
// window_start and window_end. Times are microseconds; Time is TIMESTAMP.
type HopWindow struct {
	Input               Node
	Time                Expr
	Slide, Size, Offset int64
	// Tumble is set for TUMBLE (Slide == Size: one window per row).
	Tumble bool
	Cols   []Column
}

// SessionWindow groups rows into sessions per key: rows of one key whose
// times are less than Gap apart belong to one session, whose window_start
// is its first time and window_end its last time plus Gap. Keys are set by
// the binder from the GROUP BY of the query over the window (empty: one
// key). Output: the input columns, then window_start and window_end.
type SessionWindow struct {
	Input Node
	Time  Expr
	Gap   int64
	Keys  []Expr
	Cols  []Column
}

// Columns implements Node.
func (n *HopWindow) Columns() []Column { return n.Cols }

// Children implements Node.
func (n *HopWindow) Children() []Node { return []Node{n.Input} }

// WithChildren implements Node.
func (n *HopWindow) WithChildren(c ...Node) Node { m := *n; m.Input = c[0]; return &m }

// Columns implements Node.
func (n *SessionWindow) Columns() []Column { return n.Cols }

// Children implements Node.
func (n *SessionWindow) Children() []Node { return []Node{n.Input} }

// WithChildren implements Node.
func (n *SessionWindow) WithChildren(c ...Node) Node { m := *n; m.Input = c[0]; return &m }

// windowCols are the input columns followed by window_start and window_end.
func windowCols(in []Column, alias string, t catalog.Type) []Column {
	cols := make([]Column, 0, len(in)+2)
	for _, c := range in {
		c.Table = alias
		cols = append(cols, c)
	}
	return append(cols, Column{Name: "window_start", Type: t, Table: alias}, Column{Name: "window_end", Type: t, Table: alias})
}
