package eval

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

var (
	tI2   = catalog.TypeInt2
	tI4   = catalog.TypeInt4
	tI8   = catalog.TypeInt8
	tF4   = catalog.TypeFloat4
	tF8   = catalog.TypeFloat8
	tTxt  = catalog.TypeText
	tVc   = catalog.TypeVarchar
	tBool = catalog.TypeBool
	tDate = catalog.TypeDate
	tTs   = catalog.TypeTimestamp
	tTsTZ = catalog.TypeTimestampTZ
	tIv   = catalog.TypeInterval
	tUnk  = catalog.TypeUnknown
	tByt  = catalog.TypeBytea
)

func tNum(s int32) catalog.Type { return catalog.Type{ID: catalog.Numeric, Scale: s} }

// makeArray builds an array of type t from Go values (nil = NULL).
func makeArray(t *testing.T, alloc memory.Allocator, typ catalog.Type, vals ...any) arrow.Array {
	t.Helper()
	b := array.NewBuilder(alloc, typ.Arrow())
	defer b.Release()
	for _, v := range vals {
		if err := appendValue(b, typ, norm(typ, v)); err != nil {
			t.Fatal(err)
		}
	}
	return b.NewArray()
}

// norm converts test shorthands to the catalog convention.
func norm(typ catalog.Type, v any) any {
	switch x := v.(type) {
	case int:
		switch typ.ID {
		case catalog.Float4, catalog.Float8:
			return float64(x)
		case catalog.Date:
			return int32(x)
		}
		return int64(x)
	case string:
		if typ.ID != catalog.Text && typ.ID != catalog.Varchar && typ.ID != catalog.Unknown {
			p, err := catalog.ParseText(typ, x)
			if err != nil {
				panic(err)
			}
			return p
		}
	}
	return v
}

func makeBatch(cols ...arrow.Array) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	n := 0
	for i, c := range cols {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: c.DataType(), Nullable: true}
		n = c.Len()
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
}

func col(i int, typ catalog.Type) planner.Expr { return &planner.ColRef{Idx: i, Typ: typ} }

func lit(v any, typ catalog.Type) planner.Expr { return &planner.Const{Val: norm(typ, v), Typ: typ} }

func null(typ catalog.Type) planner.Expr { return &planner.Const{Typ: typ} }

// call resolves a function like the binder does and casts the arguments.
func call(name string, args ...planner.Expr) planner.Expr {
	ts := make([]catalog.Type, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	f, err := planner.ResolveFunc(name, ts)
	if err != nil {
		panic(fmt.Sprintf("%s%v: %v", name, ts, err))
	}
	out := make([]planner.Expr, len(args))
	for i, a := range args {
		out[i] = coerce(a, f.Args[i])
	}
	return &planner.Call{Fn: f, Args: out}
}

func coerce(e planner.Expr, to catalog.Type) planner.Expr {
	if e.Type() == to {
		return e
	}
	if c, ok := e.(*planner.Const); ok && c.Typ.ID == catalog.Unknown && c.Val != nil {
		v, err := CastValue(c.Val, c.Typ, to)
		if err != nil {
			panic(err)
		}
		return &planner.Const{Val: v, Typ: to}
	}
	if c, ok := e.(*planner.Const); ok && c.Val == nil {
		return &planner.Const{Typ: to}
	}
	return &planner.Cast{X: e, To: to}
}

func cast(e planner.Expr, to catalog.Type) planner.Expr { return &planner.Cast{X: e, To: to} }

// show renders row i of arr in Postgres text form ("NULL" for NULL).
func show(typ catalog.Type, arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return "NULL"
	}
	return string(catalog.AppendText(nil, typ, arr, i))
}

func showAll(typ catalog.Type, arr arrow.Array) []string {
	out := make([]string, arr.Len())
	for i := range out {
		out[i] = show(typ, arr, i)
	}
	return out
}

func showValue(typ catalog.Type, v any) string {
	if v == nil {
		return "NULL"
	}
	return catalog.FormatValue(typ, v)
}

func dec(v int64) decimal128.Num { return decimal128.FromI64(v) }

// sameAsRows evaluates x over batch with its compiled kernels and with the
// row path, and fails on the first row where the two differ.
func sameAsRows(t *testing.T, mem memory.Allocator, x planner.Expr, batch arrow.RecordBatch) {
	t.Helper()
	env := &Env{Alloc: mem}
	got, err := Eval(env, x, batch)
	if err != nil {
		t.Fatalf("%s: %v", x, err)
	}
	defer got.Release()
	want, err := rowProgram(t, x).Eval(env, batch)
	if err != nil {
		t.Fatalf("%s (rows): %v", x, err)
	}
	defer want.Release()
	g, w := showAll(x.Type(), got), showAll(x.Type(), want)
	for i := range w {
		if g[i] != w[i] {
			t.Fatalf("%s row %d: got %s, want %s", x, i, g[i], w[i])
		}
	}
}
