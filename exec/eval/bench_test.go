package eval

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
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

// nexmarkBids is rows bid-like rows: auction, price (int64) and url
// (varchar), with auctions and prices spread like Nexmark's.
func nexmarkBids(alloc memory.Allocator, rows int) arrow.RecordBatch {
	ab, pb, ub := array.NewInt64Builder(alloc), array.NewInt64Builder(alloc), array.NewStringBuilder(alloc)
	for i := range rows {
		ab.Append(int64(1000 + (i*7)%1500))
		pb.Append(int64(100 + (i*7919)%10_000_000))
		ub.Append(fmt.Sprintf("https://www.nexmark.com/%s/%s/%s/item.htm?query=1", "abcde"[i%5:], "fghij"[i%3:], "klmno"[i%4:]))
	}
	a, p, u := ab.NewArray(), pb.NewArray(), ub.NewArray()
	ab.Release()
	pb.Release()
	ub.Release()
	batch := makeBatch(a, p, u)
	a.Release()
	p.Release()
	u.Release()
	return batch
}

// BenchmarkEvalNexmark evaluates the expressions of the stateless Nexmark
// queries over 4096 bid rows: q1's 0.908 * price::numeric, q2's filter on
// five auction ids, and q22's split_part of the url.
func BenchmarkEvalNexmark(b *testing.B) {
	const rows = 4096
	alloc := memory.NewGoAllocator()
	batch := nexmarkBids(alloc, rows)
	defer batch.Release()
	auction, price, url := col(0, tI8), col(1, tI8), col(2, tVc)
	var q2 planner.Expr
	for _, id := range []int64{1007, 1020, 2001, 2019, 2087} {
		e := call("=", auction, lit(id, tI8))
		if q2 == nil {
			q2 = e
		} else {
			q2 = call("or", q2, e)
		}
	}
	for _, c := range []struct {
		name string
		e    planner.Expr
	}{
		{"q1", call("*", lit(catalog.Decimal{Num: dec(908), Scale: 3}, tNum(3)), cast(price, catalog.Type{ID: catalog.Numeric}))},
		{"q2", q2},
		{"q22", call("split_part", cast(url, tTxt), lit("/", tTxt), lit(int64(4), tI4))},
	} {
		b.Run(c.name, func(b *testing.B) {
			env := &Env{Alloc: alloc}
			b.ReportAllocs()
			for b.Loop() {
				out, err := Eval(env, c.e, batch)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
