package session

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/pgerror"
)

// columnsFromDefs converts column definitions to catalog columns and the
// primary key.
func columnsFromDefs(name string, defs []ast.ColumnDef, tablePK []string) ([]catalog.Column, []int, error) {
	var cols []catalog.Column
	var pk []int
	seen := map[string]bool{}
	for _, d := range defs {
		if seen[d.Name] {
			return nil, nil, pgerror.New(pgerror.CodeDuplicateColumn, "column %q specified more than once", d.Name)
		}
		seen[d.Name] = true
		t, err := catalog.ParseTypeName(d.Type)
		if err != nil {
			return nil, nil, pgerror.New(pgerror.CodeUndefinedObject, "type %q does not exist", d.Type)
		}
		if t.ID == catalog.Unknown || t.ID == catalog.Record {
			return nil, nil, pgerror.New(pgerror.CodeInvalidTableDefinition, "column %q has pseudo-type %s", d.Name, t)
		}
		c := catalog.Column{Name: d.Name, Type: t, NotNull: d.NotNull || d.PrimaryKey}
		if d.Default != nil {
			c.Default = parser.Format(d.Default)
		}
		if d.PrimaryKey {
			if len(pk) > 0 || len(tablePK) > 0 {
				return nil, nil, pgerror.New(pgerror.CodeInvalidTableDefinition, "multiple primary keys for table %q are not allowed", name)
			}
			pk = append(pk, len(cols))
		}
		cols = append(cols, c)
	}
	for _, k := range tablePK {
		i := -1
		for j, c := range cols {
			if c.Name == k {
				i = j
			}
		}
		if i < 0 {
			return nil, nil, pgerror.New(pgerror.CodeUndefinedColumn, "column %q named in key does not exist", k)
		}
		cols[i].NotNull = true
		pk = append(pk, i)
	}
	if len(cols) == 0 {
		return nil, nil, pgerror.New(pgerror.CodeInvalidTableDefinition, "a table must have at least one column")
	}
	for _, k := range pk {
		if cols[k].Type.ID == catalog.Interval {
			return nil, nil, pgerror.New(pgerror.CodeFeatureNotSupported, "an interval column cannot be part of a primary key")
		}
	}
	return cols, pk, nil
}

func (s *Session) createTable(ctx context.Context, x *ast.CreateTable, text string) (string, []arrow.RecordBatch, error) {
	if x.Kind == ast.ObjStream {
		return s.createStream(ctx, x, text)
	}
	if x.AsQuery != nil {
		return s.createTableAs(ctx, x, text)
	}
	if x.Watermark != nil {
		return "", nil, pgerror.New(pgerror.CodeInvalidTableDefinition, "Defining watermarks on table requires the table to be append only").WithHint("Use CREATE STREAM, or CREATE TABLE ... APPEND ONLY.")
	}
	cols, pk, err := columnsFromDefs(x.Name, x.Columns, x.PrimaryKey)
	if err != nil {
		return "", nil, err
	}
	// Defaults must bind.
	for _, c := range cols {
		if c.Default != "" {
			e, err := parser.ParseExpr(c.Default)
			if err != nil {
				return "", nil, err
			}
			_ = e
		}
	}
	if len(pk) == 0 {
		cols = append(cols, catalog.Column{Name: catalog.RowIDColumn, Type: catalog.TypeInt8, NotNull: true, Hidden: true})
		pk = []int{len(cols) - 1}
	}
	rel := &catalog.Relation{Name: x.Name, Kind: catalog.KindTable, Columns: cols, PrimaryKey: pk, SQL: text, Options: options(x.With)}
	if err := s.eng.createTable(ctx, rel, x.IfNotExists); err != nil {
		if err == errExists {
			return "CREATE TABLE", nil, nil
		}
		return "", nil, err
	}
	return "CREATE TABLE", nil, nil
}

// createTableAs is CREATE TABLE ... AS SELECT.
func (s *Session) createTableAs(ctx context.Context, x *ast.CreateTable, text string) (string, []arrow.RecordBatch, error) {
	b := planner.NewBinder(s.eng, nil)
	q, err := b.BindSelect(x.AsQuery)
	if err != nil {
		return "", nil, err
	}
	var defs []ast.ColumnDef
	for i, c := range q.Cols {
		name := c.Name
		if i < len(x.Columns) {
			name = x.Columns[i].Name
		}
		defs = append(defs, ast.ColumnDef{Name: name, Type: c.Type.String()})
	}
	ct := &ast.CreateTable{Kind: ast.ObjTable, Name: x.Name, IfNotExists: x.IfNotExists, Columns: defs}
	if _, _, err := s.createTable(ctx, ct, text); err != nil {
		return "", nil, err
	}
	ins := &ast.Insert{Table: x.Name, Source: x.AsQuery}
	plan, err := planner.NewBinder(s.eng, nil).BindInsert(ins)
	if err != nil {
		return "", nil, err
	}
	n, err := s.runInsert(ctx, plan, nil)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("SELECT %d", n), nil, nil
}

func options(opts []ast.Option) map[string]string {
	if len(opts) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, o := range opts {
		m[strings.ToLower(o.Key)] = o.Value
	}
	return m
}

func (s *Session) drop(ctx context.Context, x *ast.Drop) (string, []arrow.RecordBatch, error) {
	var kind catalog.RelKind
	tag := "DROP " + x.Kind.String()
	switch x.Kind {
	case ast.ObjTable:
		kind = catalog.KindTable
	case ast.ObjStream, ast.ObjSource:
		kind = catalog.KindStream
	case ast.ObjView, ast.ObjMaterializedView:
		kind = catalog.KindView
	case ast.ObjIndex:
		for _, name := range x.Names {
			if err := s.eng.dropIndex(ctx, name, x.IfExists); err != nil {
				return "", nil, err
			}
		}
		return "DROP INDEX", nil, nil
	default:
		return "", nil, pgerror.New(pgerror.CodeFeatureNotSupported, "DROP %s is not supported", x.Kind)
	}
	for _, name := range x.Names {
		// A table created as APPEND ONLY is a stream; DROP TABLE drops it too.
		k := kind
		if r, ok := s.eng.Relation(name); ok && kind == catalog.KindTable && r.Kind == catalog.KindStream {
			k = catalog.KindStream
		}
		if err := s.eng.dropRelation(ctx, k, name, x.IfExists, x.Cascade); err != nil {
			return "", nil, err
		}
	}
	return tag, nil, nil
}

func (s *Session) transaction(ctx context.Context, x *ast.Transaction) (string, []arrow.RecordBatch, error) {
	switch x.Kind {
	case ast.TxBegin:
		if s.tx != 'I' {
			// Postgres warns and stays in the block.
			return "BEGIN", nil, nil
		}
		s.tx = 'T'
		return "BEGIN", nil, nil
	case ast.TxCommit:
		failed := s.tx == 'E'
		if failed || s.tx == 'I' {
			s.tx = 'I'
			_ = s.endBlock(ctx, false)
			if failed {
				return "ROLLBACK", nil, nil
			}
			return "COMMIT", nil, nil
		}
		err := s.endBlock(ctx, true)
		s.tx = 'I'
		if err != nil {
			return "", nil, err
		}
		if err := s.afterWrite(ctx); err != nil {
			return "", nil, err
		}
		return "COMMIT", nil, nil
	default:
		s.tx = 'I'
		return "ROLLBACK", nil, s.endBlock(ctx, false)
	}
}

func (s *Session) showObjects(x *ast.ShowObjects) (string, []arrow.RecordBatch, error) {
	var kind catalog.RelKind
	switch strings.ToLower(x.Kind) {
	case "jobs":
		return s.showJobs()
	case "tables":
		kind = catalog.KindTable
	case "streams", "sources":
		kind = catalog.KindStream
	case "views", "materialized views":
		kind = catalog.KindView
	default:
		return "", nil, pgerror.New(pgerror.CodeFeatureNotSupported, "SHOW %s is not supported", strings.ToUpper(x.Kind))
	}
	var rows [][]string
	for _, r := range s.eng.relations() {
		if r.Kind == kind {
			rows = append(rows, []string{r.Name})
		}
	}
	return fmt.Sprintf("SHOW %d", len(rows)), []arrow.RecordBatch{s.textBatch([]string{"Name"}, rows)}, nil
}

func (s *Session) showCreate(x *ast.ShowCreate) (string, []arrow.RecordBatch, error) {
	r, ok := s.eng.Relation(x.Name)
	if !ok {
		return "", nil, pgerror.New(pgerror.CodeUndefinedTable, "relation %q does not exist", x.Name)
	}
	return "SHOW", []arrow.RecordBatch{s.textBatch([]string{"Name", "Create Sql"}, [][]string{{r.Name, r.SQL}})}, nil
}

func (s *Session) describe(x *ast.Describe) (string, []arrow.RecordBatch, error) {
	r, ok := s.eng.Relation(x.Name)
	if !ok {
		return "", nil, pgerror.New(pgerror.CodeUndefinedTable, "relation %q does not exist", x.Name)
	}
	var rows [][]string
	for i, c := range r.Columns {
		desc := ""
		for _, k := range r.PrimaryKey {
			if k == i && !c.Hidden {
				desc = "primary key"
			}
		}
		if c.NotNull && desc == "" {
			desc = "not null"
		}
		if r.Watermark != nil && r.Watermark.Column == i {
			if r.Watermark.From != "" {
				desc = strings.TrimSpace(desc + " watermark: from " + r.Watermark.From)
			} else {
				desc = strings.TrimSpace(desc + " watermark: " + r.Watermark.Expr)
			}
		}
		rows = append(rows, []string{c.Name, c.Type.String(), fmt.Sprint(c.Hidden), desc})
	}
	return fmt.Sprintf("SHOW %d", len(rows)), []arrow.RecordBatch{s.textBatch([]string{"Name", "Type", "Is Hidden", "Description"}, rows)}, nil
}

func (s *Session) explain(x *ast.Explain) (string, []arrow.RecordBatch, error) {
	b := planner.NewBinder(s.eng, nil)
	var text string
	switch st := x.Stmt.(type) {
	case *ast.Select:
		q, err := b.BindSelect(st)
		if err != nil {
			return "", nil, err
		}
		text = planner.Explain(q.Plan)
	case *ast.Insert:
		p, err := b.BindInsert(st)
		if err != nil {
			return "", nil, err
		}
		text = fmt.Sprintf("Insert %s\n%s", p.Rel.Name, indent(planner.Explain(p.Source)))
	case *ast.Update:
		p, err := b.BindUpdate(st)
		if err != nil {
			return "", nil, err
		}
		text = fmt.Sprintf("Update %s\n%s", p.Rel.Name, indent(planner.Explain(p.Source)))
	case *ast.Delete:
		p, err := b.BindDelete(st)
		if err != nil {
			return "", nil, err
		}
		text = fmt.Sprintf("Delete %s\n%s", p.Rel.Name, indent(planner.Explain(p.Source)))
	case *ast.CreateView:
		b.View = true
		q, err := b.BindSelect(st.Query)
		if err != nil {
			return "", nil, err
		}
		q.PlanVersion = s.eng.viewPlanVersion
		vp, err := planner.PlanView(q, s.eng)
		if err != nil {
			return "", nil, err
		}
		text = planner.ExplainView(vp)
	default:
		return "", nil, pgerror.New(pgerror.CodeFeatureNotSupported, "EXPLAIN of %T is not supported", x.Stmt)
	}
	var rows [][]string
	for _, line := range strings.Split(text, "\n") {
		rows = append(rows, []string{line})
	}
	return "EXPLAIN", []arrow.RecordBatch{s.textBatch([]string{"QUERY PLAN"}, rows)}, nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// indexOwnerLocked returns the relation that declares an index.
func (e *Engine) indexOwnerLocked(name string) *catalog.Relation {
	for _, r := range e.rels {
		for _, ix := range r.Indexes {
			if ix == name {
				return r
			}
		}
	}
	return nil
}

// createIndex records CREATE INDEX on a table.
func (e *Engine) createIndex(ctx context.Context, x *ast.CreateIndex) (string, []arrow.RecordBatch, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rel, ok := e.rels[x.Table]
	if !ok {
		return "", nil, pgerror.New(pgerror.CodeUndefinedTable, "relation %q does not exist", x.Table)
	}
	if rel.Kind != catalog.KindTable {
		return "", nil, pgerror.New(pgerror.CodeWrongObjectType, "cannot create index on %s %q", rel.Kind, rel.Name)
	}
	for _, c := range x.Columns {
		if rel.ColumnIndex(c) < 0 {
			return "", nil, pgerror.New(pgerror.CodeUndefinedColumn, "column %q does not exist", c)
		}
	}
	name := x.Name
	if name == "" {
		name = rel.Name + "_" + strings.Join(x.Columns, "_") + "_idx"
	}
	if _, exists := e.rels[name]; exists || e.indexOwnerLocked(name) != nil {
		if x.IfNotExists {
			return "CREATE INDEX", nil, nil
		}
		return "", nil, pgerror.New(pgerror.CodeDuplicateTable, "relation %q already exists", name)
	}
	next := *rel
	next.Indexes = append(append([]string(nil), rel.Indexes...), name)
	if err := e.saveRelationLocked(ctx, &next); err != nil {
		return "", nil, err
	}
	return "CREATE INDEX", nil, nil
}

// dropIndex removes an index declaration.
func (e *Engine) dropIndex(ctx context.Context, name string, ifExists bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	rel := e.indexOwnerLocked(name)
	if rel == nil {
		if ifExists {
			return nil
		}
		return pgerror.New(pgerror.CodeUndefinedObject, "index %q does not exist", name)
	}
	next := *rel
	next.Indexes = nil
	for _, ix := range rel.Indexes {
		if ix != name {
			next.Indexes = append(next.Indexes, ix)
		}
	}
	return e.saveRelationLocked(ctx, &next)
}

// saveRelationLocked persists a changed descriptor and installs it.
func (e *Engine) saveRelationLocked(ctx context.Context, rel *catalog.Relation) error {
	b := e.store.NewBatch()
	defer b.Close()
	if err := e.putRelation(b, rel); err != nil {
		return err
	}
	if err := b.Commit(ctx); err != nil {
		return err
	}
	e.rels[rel.Name] = rel
	e.catVersion.Add(1)
	return nil
}
