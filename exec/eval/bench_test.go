package eval

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/planner"
)

// BenchmarkEvalArith evaluates a*2+b > 10 over int64 columns.
func BenchmarkEvalArith(b *testing.B) {
	for _, rows := range []int{1024, 4096} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			alloc := memory.NewGoAllocator()
			ab := array.NewInt64Builder(alloc)
			bb := array.NewInt64Builder(alloc)
			for i := 0; i < rows; i++ {
				ab.Append(int64(i % 17))
				if i%10 == 0 {
					bb.AppendNull()
				} else {
					bb.Append(int64(i % 5))
				}
			}
			a, bc := ab.NewArray(), bb.NewArray()
			batch := makeBatch(a, bc)
			a.Release()
			bc.Release()
			defer batch.Release()
			e := call(">", call("+", call("*", col(0, tI8), lit(2, tI8)), col(1, tI8)), lit(10, tI8))
			env := &Env{Alloc: alloc}
			b.ReportAllocs()
			b.SetBytes(int64(rows * 16))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err := Eval(env, e, batch)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkEvalPredicateText evaluates a LIKE filter on strings.
func BenchmarkEvalPredicateText(b *testing.B) {
	alloc := memory.NewGoAllocator()
	sb := array.NewStringBuilder(alloc)
	const rows = 4096
	for i := 0; i < rows; i++ {
		sb.Append(fmt.Sprintf("item-%d-channel", i))
	}
	s := sb.NewArray()
	batch := makeBatch(s)
	s.Release()
	defer batch.Release()
	e := call("and", call("like", col(0, tTxt), lit("%-12%", tUnk)), call("<>", col(0, tTxt), lit("x", tUnk)))
	env := &Env{Alloc: alloc}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := EvalPredicate(env, e, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

var _ arrow.Array
var _ planner.Expr
