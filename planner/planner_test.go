package planner_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/pgerror"
)

// testCatalog is a catalog built from DDL inside the golden files.
type testCatalog struct {
	rels  map[string]*catalog.Relation
	funcs map[string][]*planner.UserFunc
}

func newTestCatalog() *testCatalog {
	return &testCatalog{rels: map[string]*catalog.Relation{}, funcs: map[string][]*planner.UserFunc{}}
}

func (c *testCatalog) Relation(name string) (*catalog.Relation, bool) {
	r, ok := c.rels[name]
	return r, ok
}

// Functions implements planner.FunctionCatalog.
func (c *testCatalog) Functions(name string) []*planner.UserFunc { return c.funcs[name] }

func (c *testCatalog) exec(t *testing.T, sql string) string {
	stmts, err := parser.Parse(sql)
	if err != nil {
		return errText(err)
	}
	var out strings.Builder
	for _, st := range stmts {
		if cv, ok := st.AST.(*ast.CreateView); ok {
			text, err := c.createView(cv, st.Text)
			if err != nil {
				return errText(err)
			}
			out.WriteString(text + "\n")
			continue
		}
		if cf, ok := st.AST.(*ast.CreateFunction); ok {
			uf, err := planner.DefineFunction(cf, st.Text)
			if err == nil {
				c.funcs[uf.Def.Name] = append(c.funcs[uf.Def.Name], uf)
				if err = planner.CheckFunctionBody(c, uf); err != nil {
					c.funcs[uf.Def.Name] = c.funcs[uf.Def.Name][:len(c.funcs[uf.Def.Name])-1]
				}
			}
			if err != nil {
				return errText(err)
			}
			continue
		}
		ct, ok := st.AST.(*ast.CreateTable)
		if !ok {
			t.Fatalf("exec-ddl takes CREATE TABLE/STREAM/FUNCTION/VIEW, got %T", st.AST)
		}
		rel := &catalog.Relation{ID: uint64(len(c.rels) + 1), Name: ct.Name, Kind: catalog.KindTable, SQL: st.Text}
		if ct.Kind == ast.ObjStream {
			rel.Kind = catalog.KindStream
		}
		if ct.Watermark != nil {
			defer func(rel *catalog.Relation, w *ast.Watermark) {
				rel.Watermark = &catalog.Watermark{Column: rel.ColumnIndex(w.Column), Expr: parser.Format(w.Expr)}
			}(rel, ct.Watermark)
		}
		for _, d := range ct.Columns {
			typ, err := catalog.ParseTypeName(d.Type)
			if err != nil {
				return err.Error()
			}
			if d.PrimaryKey {
				rel.PrimaryKey = append(rel.PrimaryKey, len(rel.Columns))
			}
			rel.Columns = append(rel.Columns, catalog.Column{Name: d.Name, Type: typ, NotNull: d.NotNull || d.PrimaryKey})
		}
		if len(rel.PrimaryKey) == 0 && rel.Kind == catalog.KindTable {
			rel.Columns = append(rel.Columns, catalog.Column{Name: catalog.RowIDColumn, Type: catalog.TypeInt8, Hidden: true, NotNull: true})
			rel.PrimaryKey = []int{len(rel.Columns) - 1}
		}
		c.rels[rel.Name] = rel
	}
	return out.String()
}

// createView adds a continuous view to the catalog as sqld records one:
// its columns, whether it only adds rows (then other views read it as a
// stream of its epochs) and the watermark it carries. It describes the
// view in one line.
func (c *testCatalog) createView(cv *ast.CreateView, text string) (string, error) {
	b := planner.NewBinder(c, nil)
	b.View = true
	q, err := b.BindSelect(cv.Query)
	if err != nil {
		return "", err
	}
	vp, err := planner.PlanView(q, c)
	if err != nil {
		return "", err
	}
	rel := &catalog.Relation{ID: uint64(len(c.rels) + 1), Name: cv.Name, Kind: catalog.KindView, SQL: text,
		AppendOnly: vp.AppendOnly(), Watermark: vp.CarriedWatermark(), DependsOn: q.Relations}
	for i, col := range q.Cols {
		name := col.Name
		if i < len(cv.Columns) {
			name = cv.Columns[i]
		}
		rel.Columns = append(rel.Columns, catalog.Column{Name: name, Type: col.Type})
	}
	desc := fmt.Sprintf("view %s: %s", rel.Name, vp.Mode)
	if rel.AppendOnly {
		// Such a view's rows are keyed by the epoch that added them.
		for _, k := range []string{"_epoch", "_seq"} {
			rel.PrimaryKey = append(rel.PrimaryKey, len(rel.Columns))
			rel.Columns = append(rel.Columns, catalog.Column{Name: k, Type: catalog.TypeInt8, Hidden: true})
		}
		desc += ", append-only"
	}
	if wm := rel.Watermark; wm != nil {
		desc += fmt.Sprintf(", watermark on %s from %s", rel.Columns[wm.Column].Name, wm.From)
	}
	c.rels[rel.Name] = rel
	return desc, nil
}

func errText(err error) string {
	pe := pgerror.From(err)
	return fmt.Sprintf("error (%s): %s", pe.Code, pe.Message)
}

func columnsText(cols []planner.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + ":" + c.Type.String()
	}
	return "columns: " + strings.Join(parts, ", ")
}

// TestPlanner runs the golden files in testdata: exec-ddl builds the
// catalog; build shows the bound plan, opt the optimized one, and explain
// the EXPLAIN text.
func TestPlanner(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		cat := newTestCatalog()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "exec-ddl":
				return cat.exec(t, d.Input)
			case "explain":
				stmts, err := parser.Parse(d.Input)
				if err != nil {
					return errText(err) + "\n"
				}
				cv, ok := stmts[0].AST.(*ast.CreateView)
				if !ok {
					t.Fatalf("explain takes CREATE VIEW")
				}
				b := planner.NewBinder(cat, nil)
				b.View = true
				q, err := b.BindSelect(cv.Query)
				if err != nil {
					return errText(err) + "\n"
				}
				// version=N plans as a view created by a build of that
				// version of view planning.
				q.PlanVersion = planner.ViewPlanVersion
				if d.HasArg("version") {
					d.ScanArgs(t, "version", &q.PlanVersion)
				}
				vp, err := planner.PlanView(q, cat)
				if err != nil {
					return errText(err) + "\n"
				}
				return planner.ExplainView(vp) + "\n"
			case "build", "opt":
				stmts, err := parser.Parse(d.Input)
				if err != nil {
					return errText(err) + "\n"
				}
				sel, ok := stmts[0].AST.(*ast.Select)
				if !ok {
					t.Fatalf("%s takes a query", d.Cmd)
				}
				b := planner.NewBinder(cat, nil)
				var q *planner.Query
				if d.Cmd == "build" {
					q, err = b.BindSelectUnoptimized(sel)
				} else {
					q, err = b.BindSelect(sel)
				}
				if err != nil {
					return errText(err) + "\n"
				}
				out := columnsText(q.Cols) + "\n" + planner.Explain(q.Plan) + "\n"
				if len(q.Params) > 0 {
					ps := make([]string, len(q.Params))
					for i, p := range q.Params {
						ps[i] = p.String()
					}
					out += "params: " + strings.Join(ps, ", ") + "\n"
				}
				return out
			}
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		})
	})
}
