package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// TestExtractKernel checks the vector extract and date_part against the
// row function for every field, over timestamps before and after 1970 and
// dates, with NULLs, with the registry's result type and the binder's
// narrowed one.
func TestExtractKernel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(15, 16))
	const n = 400
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	db := array.NewDate32Builder(mem)
	for i := range n {
		if i%11 == 3 {
			tb.AppendNull()
			db.AppendNull()
			continue
		}
		us := r.Int64N(200*365*usPerDay) - 100*365*usPerDay
		if i%7 == 0 {
			us -= floorMod(us, usPerSec) // whole seconds
		}
		tb.Append(arrow.Timestamp(us))
		db.Append(arrow.Date32(floorDiv(us, usPerDay)))
	}
	ts, ds := tb.NewArray(), db.NewArray()
	tb.Release()
	db.Release()
	batch := makeBatch(ts, ds)
	ts.Release()
	ds.Release()
	defer batch.Release()
	fields := []string{"microseconds", "milliseconds", "second", "minute", "hour", "HOUR", "h", "day", "week", "month",
		"quarter", "year", "decade", "century", "millennium", "epoch", "dow", "isodow", "doy", "isoyear", "julian"}
	for _, src := range []planner.Expr{col(0, tTs), col(0, tTsTZ), col(1, tDate)} {
		for _, f := range fields {
			for _, name := range []string{"extract", "date_part"} {
				e := call(name, lit(f, tUnk), src).(*planner.Call)
				exprs := []planner.Expr{e}
				if name == "extract" {
					narrowed := *e.Fn
					narrowed.Ret = planner.ExtractType(f)
					exprs = append(exprs, &planner.Call{Fn: &narrowed, Args: e.Args})
				}
				for _, x := range exprs {
					if _, ok := mustCompile(t, x).root.(*extractNode); !ok {
						t.Fatalf("%s: not compiled to the vector kernel", x)
					}
					sameAsRows(t, mem, x, batch)
				}
			}
		}
	}
	// A constant and an unknown field.
	env := &Env{Alloc: mem}
	v, err := EvalScalar(env, call("extract", lit("hour", tUnk), lit(int64(-1), tTs)))
	if err != nil || showValue(catalog.Type{ID: catalog.Numeric, Scale: 6}, v) != "23.000000" {
		t.Fatalf("extract(hour from -1us) = %v, %v", v, err)
	}
	if _, err := Eval(env, call("extract", lit("fortnight", tUnk), col(0, tTs)), batch); err == nil {
		t.Fatal("extract(fortnight ...) did not fail")
	}
}
