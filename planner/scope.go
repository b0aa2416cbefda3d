package planner

import (
	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// scopeCol is a column visible to name resolution.
type scopeCol struct {
	table  string // qualifier: table name or alias ("" for computed)
	name   string
	typ    catalog.Type
	hidden bool // skipped by *
	// usingDup marks the right-hand copy of a USING/NATURAL join column:
	// unqualified references and * resolve to the left copy instead.
	usingDup bool
}

// scope is the set of columns of the current FROM clause, in the order of
// the plan node's output, and the scope of the enclosing query.
type scope struct {
	cols   []scopeCol
	parent *scope
	// correlated is set when a name resolved through this scope to an
	// enclosing one (the query being bound is correlated).
	correlated bool
	// fn marks the scope of a user function's body: its names are the
	// function's parameters (Binder.inlining).
	fn bool
}

func (s *scope) resolve(table, name string) (int, error) {
	found := -1
	for i, c := range s.cols {
		if c.name != name {
			continue
		}
		if table != "" && c.table != table {
			continue
		}
		if table == "" && c.usingDup {
			continue
		}
		if found >= 0 {
			ref := name
			if table != "" {
				ref = table + "." + name
			}
			return -1, pgerror.New(pgerror.CodeAmbiguousColumn, "column reference %q is ambiguous", ref)
		}
		found = i
	}
	return found, nil
}

// hasTable reports whether some column is qualified by table.
func (s *scope) hasTable(table string) bool {
	for _, c := range s.cols {
		if c.table == table {
			return true
		}
	}
	return false
}

func scopeFromColumns(cols []Column) *scope {
	s := &scope{}
	for _, c := range cols {
		s.cols = append(s.cols, scopeCol{table: c.Table, name: c.Name, typ: c.Type, hidden: c.Hidden})
	}
	return s
}

func (s *scope) columns() []Column {
	out := make([]Column, len(s.cols))
	for i, c := range s.cols {
		out[i] = Column{Name: c.name, Type: c.typ, Table: c.table, Hidden: c.hidden}
	}
	return out
}
