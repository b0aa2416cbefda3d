package exec

import (
	"context"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

var (
	i8   = catalog.TypeInt8
	i4   = catalog.TypeInt4
	text = catalog.TypeText
	boo  = catalog.TypeBool
)

// testEnv returns an Env over a checked allocator and a check to defer.
func testEnv(t testing.TB) (*Env, *memory.CheckedAllocator) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	env := &Env{Storage: &memStorage{mem: mem, rels: map[string][][][]any{}}}
	env.Alloc = mem
	return env, mem
}

// memStorage serves relations from Go rows, split into batches.
type memStorage struct {
	mem  memory.Allocator
	rels map[string][][][]any // relation -> batches -> rows
}

func (s *memStorage) Scan(ctx context.Context, rel *catalog.Relation, project []int, filter planner.Expr) (Operator, error) {
	cols := make([]planner.Column, len(project))
	for i, p := range project {
		cols[i] = planner.Column{Name: rel.Columns[p].Name, Type: rel.Columns[p].Type}
	}
	var batches [][][]any
	for _, b := range s.rels[rel.Name] {
		var rows [][]any
		for _, r := range b {
			row := make([]any, len(project))
			for i, p := range project {
				row[i] = r[p]
			}
			rows = append(rows, row)
		}
		batches = append(batches, rows)
	}
	return &rowsOp{mem: s.mem, cols: cols, batches: batches}, nil
}

// rowsOp produces batches made from Go rows.
type rowsOp struct {
	mem     memory.Allocator
	cols    []planner.Column
	batches [][][]any
	i       int
}

func (o *rowsOp) Schema() *arrow.Schema      { return schemaOf(o.cols) }
func (o *rowsOp) Open(context.Context) error { return nil }
func (o *rowsOp) Close() error               { return nil }
func (o *rowsOp) Next(context.Context) (arrow.RecordBatch, error) {
	if o.i >= len(o.batches) {
		return nil, io.EOF
	}
	rows := o.batches[o.i]
	o.i++
	return mkBatch(o.mem, o.cols, rows), nil
}

func mkBatch(mem memory.Allocator, cols []planner.Column, rows [][]any) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		b := array.NewBuilder(mem, c.Type.Arrow())
		for _, r := range rows {
			if err := appendValue(b, r[i]); err != nil {
				panic(err)
			}
		}
		arrs[i] = b.NewArray()
		b.Release()
	}
	rb, err := newBatch(schemaOf(cols), arrs, len(rows))
	if err != nil {
		panic(err)
	}
	return rb
}

// table registers a relation with the given columns and batches of rows
// and returns a Scan of all its columns.
func (s *memStorage) table(name string, cols []planner.Column, batches ...[][]any) *planner.Scan {
	rel := &catalog.Relation{Name: name}
	proj := make([]int, len(cols))
	for i, c := range cols {
		rel.Columns = append(rel.Columns, catalog.Column{Name: c.Name, Type: c.Type})
		proj[i] = i
	}
	s.rels[name] = batches
	return &planner.Scan{Rel: rel, Cols: cols, Project: proj}
}

func storage(env *Env) *memStorage { return env.Storage.(*memStorage) }

func cols(spec ...any) []planner.Column {
	var out []planner.Column
	for i := 0; i < len(spec); i += 2 {
		out = append(out, planner.Column{Name: spec[i].(string), Type: spec[i+1].(catalog.Type)})
	}
	return out
}

func col(i int, t catalog.Type) *planner.ColRef { return &planner.ColRef{Idx: i, Typ: t} }

func lit(v any, t catalog.Type) *planner.Const { return &planner.Const{Val: v, Typ: t} }

func fn(name string, ret catalog.Type, args ...planner.Expr) *planner.Call {
	f := &planner.Func{Name: name, Ret: ret, Strict: true, Operator: len(name) <= 2}
	for _, a := range args {
		f.Args = append(f.Args, a.Type())
	}
	return &planner.Call{Fn: f, Args: args}
}

func eq(a, b planner.Expr) planner.Expr { return fn("=", boo, a, b) }
func lt(a, b planner.Expr) planner.Expr { return fn("<", boo, a, b) }
func gt(a, b planner.Expr) planner.Expr { return fn(">", boo, a, b) }

// run builds and collects n and returns its rows formatted as
// "v1|v2|...", in output order.
func run(t testing.TB, env *Env, n planner.Node) []string {
	t.Helper()
	rows, err := runErr(env, n)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rows
}

func runErr(env *Env, n planner.Node) ([]string, error) {
	op, err := Build(env, n)
	if err != nil {
		return nil, err
	}
	bs, err := Collect(context.Background(), op)
	if err != nil {
		return nil, err
	}
	defer releaseBatches(bs)
	types := make([]catalog.Type, len(n.Columns()))
	for i, c := range n.Columns() {
		types[i] = c.Type
	}
	return formatBatches(bs, types), nil
}

func formatBatches(bs []arrow.RecordBatch, types []catalog.Type) []string {
	var out []string
	for _, b := range bs {
		for r := 0; r < int(b.NumRows()); r++ {
			var sb []byte
			for c := 0; c < int(b.NumCols()); c++ {
				if c > 0 {
					sb = append(sb, '|')
				}
				a := b.Column(c)
				if a.IsNull(r) {
					sb = append(sb, "NULL"...)
					continue
				}
				sb = catalog.AppendText(sb, types[c], a, r)
			}
			out = append(out, string(sb))
		}
	}
	return out
}

func sorted(rows []string) []string {
	out := append([]string(nil), rows...)
	sort.Strings(out)
	return out
}

func expect(t testing.TB, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func expectSet(t testing.TB, got []string, want ...string) {
	t.Helper()
	expect(t, sorted(got), sorted(want)...)
}

func isCode(err error, code string) bool { return pgerror.CodeOf(err) == code }

func arrowInterval(months, days int32, ns int64) arrow.MonthDayNanoInterval {
	return arrow.MonthDayNanoInterval{Months: months, Days: days, Nanoseconds: ns}
}
