package planner

import (
	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// Insert is a bound INSERT: Source produces one column per Target entry,
// already of the target column's type.
type Insert struct {
	Rel    *catalog.Relation
	Source Node
	// Target holds the relation column index of each source column.
	Target []int
	Params []catalog.Type
	// OnConflictDoNothing skips rows whose key exists.
	OnConflictDoNothing bool
	// Returning computes RETURNING over the written rows (all relation
	// columns, in order); nil without RETURNING.
	Returning *Returning
}

// Returning is a bound RETURNING list: expressions over a row of all the
// relation's columns, and the result columns.
type Returning struct {
	Exprs []Expr
	Cols  []Column
}

// Update is a bound UPDATE: Source produces, for each matching row, the
// new values of every relation column followed by the old values of the
// key columns (so a changed key deletes the old row).
type Update struct {
	Rel       *catalog.Relation
	Source    Node
	Params    []catalog.Type
	Returning *Returning // over the new rows
}

// Delete is a bound DELETE: Source produces the key columns of each row to
// delete, or, with RETURNING, every column of it.
type Delete struct {
	Rel       *catalog.Relation
	Source    Node
	Params    []catalog.Type
	Returning *Returning // over the deleted rows
}

// DefaultParser parses a column's DEFAULT text; set by the session layer
// (the planner does not parse SQL text itself).
var DefaultParser func(sql string) (ast.Expr, error)

func (b *Binder) relation(name string) (*catalog.Relation, error) {
	rel, ok := b.cat.Relation(name)
	if !ok {
		return nil, pgerror.New(pgerror.CodeUndefinedTable, "relation %q does not exist", name)
	}
	b.rels[rel.Name] = true
	return rel, nil
}

// defaultExpr binds column c's default, or NULL.
func (b *Binder) defaultExpr(c catalog.Column) (Expr, error) {
	if c.Default == "" || DefaultParser == nil {
		return &Const{Typ: c.Type}, nil
	}
	x, err := DefaultParser(c.Default)
	if err != nil {
		return nil, err
	}
	e, err := b.bindExpr(x, &scope{}, nil)
	if err != nil {
		return nil, err
	}
	return b.assign(e, c)
}

// assign coerces a value for column c (assignment cast).
func (b *Binder) assign(e Expr, c catalog.Column) (Expr, error) {
	t := e.Type()
	if t != c.Type && t.ID != catalog.Unknown && !CanAssignCast(t, c.Type) {
		return nil, pgerror.New(pgerror.CodeDatatypeMismatch,
			"column %q is of type %s but expression is of type %s", c.Name, c.Type, t).WithHint("You will need to rewrite or cast the expression.")
	}
	if t.IsString() && !c.Type.IsString() && t.ID != catalog.Unknown {
		if _, isConst := e.(*Const); !isConst {
			return nil, pgerror.New(pgerror.CodeDatatypeMismatch,
				"column %q is of type %s but expression is of type %s", c.Name, c.Type, t).WithHint("You will need to rewrite or cast the expression.")
		}
	}
	return b.coerce(e, c.Type, c.Name)
}

// BindInsert binds INSERT.
func (b *Binder) BindInsert(ins *ast.Insert) (*Insert, error) {
	rel, err := b.relation(ins.Table)
	if err != nil {
		return nil, err
	}
	if rel.Kind == catalog.KindView {
		return nil, pgerror.New(pgerror.CodeWrongObjectType, "cannot insert into view %q", rel.Name)
	}
	var target []int
	if len(ins.Columns) == 0 {
		for i, c := range rel.Columns {
			if !c.Hidden {
				target = append(target, i)
			}
		}
	} else {
		seen := map[int]bool{}
		for _, name := range ins.Columns {
			i := rel.ColumnIndex(name)
			if i < 0 || rel.Columns[i].Hidden {
				return nil, pgerror.New(pgerror.CodeUndefinedColumn, "column %q of relation %q does not exist", name, rel.Name)
			}
			if seen[i] {
				return nil, pgerror.New(pgerror.CodeDuplicateColumn, "column %q specified more than once", name)
			}
			seen[i] = true
			target = append(target, i)
		}
	}
	out := &Insert{Rel: rel, Target: target}
	if ins.OnConflict != nil {
		if !ins.OnConflict.DoNothing {
			return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "ON CONFLICT DO UPDATE is not supported")
		}
		out.OnConflictDoNothing = true
	}
	cols := make([]Column, len(target))
	for i, t := range target {
		cols[i] = Column{Name: rel.Columns[t].Name, Type: rel.Columns[t].Type}
	}
	switch {
	case ins.DefaultValues:
		row := make([]Expr, len(target))
		for i, t := range target {
			if row[i], err = b.defaultExpr(rel.Columns[t]); err != nil {
				return nil, err
			}
		}
		out.Source = &Values{Cols: cols, Rows: [][]Expr{row}}
	case isPlainValues(ins.Source):
		vals := ins.Source.Body.(*ast.Values)
		rows := make([][]Expr, len(vals.Rows))
		for r, vr := range vals.Rows {
			if len(vr) > len(target) {
				return nil, pgerror.New(pgerror.CodeSyntaxError, "INSERT has more expressions than target columns")
			}
			if len(vr) < len(target) && len(ins.Columns) > 0 {
				return nil, pgerror.New(pgerror.CodeSyntaxError, "INSERT has more target columns than expressions")
			}
			row := make([]Expr, len(target))
			for i, t := range target {
				c := rel.Columns[t]
				if i >= len(vr) || isDefault(vr[i]) {
					if row[i], err = b.defaultExpr(c); err != nil {
						return nil, err
					}
					continue
				}
				e, err := b.bindExpr(vr[i], &scope{}, nil)
				if err != nil {
					return nil, err
				}
				if row[i], err = b.assign(e, c); err != nil {
					return nil, err
				}
			}
			rows[r] = row
		}
		out.Source = &Values{Cols: cols, Rows: rows}
	default:
		n, scols, err := b.bindQuery(ins.Source, nil)
		if err != nil {
			return nil, err
		}
		if len(scols) > len(target) {
			return nil, pgerror.New(pgerror.CodeSyntaxError, "INSERT has more expressions than target columns")
		}
		if len(scols) < len(target) {
			if len(ins.Columns) > 0 {
				return nil, pgerror.New(pgerror.CodeSyntaxError, "INSERT has more target columns than expressions")
			}
			target = target[:len(scols)]
			out.Target = target
			cols = cols[:len(scols)]
		}
		exprs := make([]Expr, len(scols))
		for i, sc := range scols {
			if exprs[i], err = b.assign(&ColRef{Idx: i, Typ: sc.Type, Name: sc.Name}, rel.Columns[target[i]]); err != nil {
				return nil, err
			}
		}
		out.Source = Optimize(&Project{Input: n, Exprs: exprs, Cols: cols})
	}
	if len(ins.Returning) > 0 {
		if out.Returning, err = b.bindReturning(rel, "", ins.Returning); err != nil {
			return nil, err
		}
	}
	out.Params = b.Params()
	return out, nil
}

// bindReturning binds a RETURNING list over the relation's columns.
func (b *Binder) bindReturning(rel *catalog.Relation, alias string, items []ast.SelectItem) (*Returning, error) {
	if alias == "" {
		alias = rel.Name
	}
	sc := &scope{}
	for _, c := range rel.Columns {
		sc.cols = append(sc.cols, scopeCol{table: alias, name: c.Name, typ: c.Type, hidden: c.Hidden})
	}
	r := &Returning{}
	for _, it := range items {
		if it.Star {
			for i, c := range rel.Columns {
				if c.Hidden {
					continue
				}
				r.Exprs = append(r.Exprs, &ColRef{Idx: i, Typ: c.Type, Name: c.Name})
				r.Cols = append(r.Cols, Column{Name: c.Name, Type: c.Type})
			}
			continue
		}
		if containsAggregate(it.Expr) {
			return nil, pgerror.New(pgerror.CodeGroupingError, "aggregate functions are not allowed in RETURNING")
		}
		e, err := b.bindExpr(it.Expr, sc, nil)
		if err != nil {
			return nil, err
		}
		t := e.Type()
		if t.ID == catalog.Unknown {
			if e, err = b.coerce(e, catalog.TypeText, "RETURNING"); err != nil {
				return nil, err
			}
			t = catalog.TypeText
		}
		r.Exprs = append(r.Exprs, e)
		r.Cols = append(r.Cols, Column{Name: outputName(it), Type: t})
	}
	return r, nil
}

func isPlainValues(s *ast.Select) bool {
	if s == nil || len(s.OrderBy) > 0 || s.Limit != nil || s.Offset != nil || len(s.With) > 0 {
		return false
	}
	_, ok := s.Body.(*ast.Values)
	return ok
}

func isDefault(e ast.Expr) bool {
	if _, ok := e.(*ast.Default); ok {
		return true
	}
	c, ok := e.(*ast.ColumnRef)
	return ok && c.Table == "" && c.Column == "default"
}

// tableScope binds a FROM of one relation for UPDATE/DELETE.
func (b *Binder) tableScope(name, alias string) (*catalog.Relation, Node, *scope, error) {
	rel, err := b.relation(name)
	if err != nil {
		return nil, nil, nil, err
	}
	if rel.Kind != catalog.KindTable {
		return nil, nil, nil, pgerror.New(pgerror.CodeWrongObjectType, "cannot change %s %q: only tables are mutable", rel.Kind, rel.Name)
	}
	n, sc, err := b.bindTableName(&ast.TableName{Name: name, Alias: alias})
	if err != nil {
		return nil, nil, nil, err
	}
	return rel, n, sc, nil
}

// BindUpdate binds UPDATE.
func (b *Binder) BindUpdate(u *ast.Update) (*Update, error) {
	if len(u.From) > 0 {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "UPDATE ... FROM is not supported")
	}
	rel, n, sc, err := b.tableScope(u.Table, u.Alias)
	if err != nil {
		return nil, err
	}
	if u.Where != nil {
		cond, err := b.bindCondition(u.Where, sc, nil, "WHERE")
		if err != nil {
			return nil, err
		}
		n = &Filter{Input: n, Cond: cond}
	}
	exprs := make([]Expr, 0, len(rel.Columns)+len(rel.PrimaryKey))
	cols := make([]Column, 0, cap(exprs))
	for i, c := range rel.Columns {
		exprs = append(exprs, &ColRef{Idx: i, Typ: c.Type, Name: c.Name})
		cols = append(cols, Column{Name: c.Name, Type: c.Type})
	}
	seen := map[int]bool{}
	for _, a := range u.Set {
		i := rel.ColumnIndex(a.Column)
		if i < 0 || rel.Columns[i].Hidden {
			return nil, pgerror.New(pgerror.CodeUndefinedColumn, "column %q of relation %q does not exist", a.Column, rel.Name)
		}
		if seen[i] {
			return nil, pgerror.New(pgerror.CodeSyntaxError, "multiple assignments to same column %q", a.Column)
		}
		seen[i] = true
		var e Expr
		if a.Value == nil || isDefault(a.Value) {
			e, err = b.defaultExpr(rel.Columns[i])
		} else {
			if containsAggregate(a.Value) {
				return nil, pgerror.New(pgerror.CodeGroupingError, "aggregate functions are not allowed in UPDATE")
			}
			e, err = b.bindExpr(a.Value, sc, nil)
			if err == nil {
				e, err = b.assign(e, rel.Columns[i])
			}
		}
		if err != nil {
			return nil, err
		}
		exprs[i] = e
	}
	for _, k := range rel.PrimaryKey {
		exprs = append(exprs, &ColRef{Idx: k, Typ: rel.Columns[k].Type})
		cols = append(cols, Column{Name: "old_" + rel.Columns[k].Name, Type: rel.Columns[k].Type})
	}
	up := &Update{Rel: rel, Source: Optimize(&Project{Input: n, Exprs: exprs, Cols: cols})}
	if len(u.Returning) > 0 {
		if up.Returning, err = b.bindReturning(rel, u.Alias, u.Returning); err != nil {
			return nil, err
		}
	}
	up.Params = b.Params()
	return up, nil
}

// BindDelete binds DELETE.
func (b *Binder) BindDelete(d *ast.Delete) (*Delete, error) {
	rel, n, sc, err := b.tableScope(d.Table, d.Alias)
	if err != nil {
		return nil, err
	}
	if d.Where != nil {
		cond, err := b.bindCondition(d.Where, sc, nil, "WHERE")
		if err != nil {
			return nil, err
		}
		n = &Filter{Input: n, Cond: cond}
	}
	var exprs []Expr
	var cols []Column
	for _, k := range rel.PrimaryKey {
		c := rel.Columns[k]
		exprs = append(exprs, &ColRef{Idx: k, Typ: c.Type, Name: c.Name})
		cols = append(cols, Column{Name: c.Name, Type: c.Type})
	}
	del := &Delete{Rel: rel}
	if len(d.Returning) > 0 {
		// The deleted rows' columns follow their keys.
		for i, c := range rel.Columns {
			exprs = append(exprs, &ColRef{Idx: i, Typ: c.Type, Name: c.Name})
			cols = append(cols, Column{Name: c.Name, Type: c.Type})
		}
		if del.Returning, err = b.bindReturning(rel, d.Alias, d.Returning); err != nil {
			return nil, err
		}
	}
	del.Source = Optimize(&Project{Input: n, Exprs: exprs, Cols: cols})
	del.Params = b.Params()
	return del, nil
}

// BindScalar binds a constant expression (a column default) as a value of
// column c.
func (b *Binder) BindScalar(x ast.Expr, c catalog.Column) (Expr, error) {
	e, err := b.bindExpr(x, &scope{}, nil)
	if err != nil {
		return nil, err
	}
	return b.assign(e, c)
}

// BindOver binds a scalar expression over the columns of one relation
// (watermark expressions, CHECK-like rules).
func (b *Binder) BindOver(x ast.Expr, rel *catalog.Relation) (Expr, error) {
	sc := &scope{}
	for _, c := range rel.Columns {
		sc.cols = append(sc.cols, scopeCol{table: rel.Name, name: c.Name, typ: c.Type, hidden: c.Hidden})
	}
	return b.bindExpr(x, sc, nil)
}
