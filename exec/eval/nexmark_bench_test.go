package eval

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/nexmark"
	"github.com/sqld/sqld/planner"
)

// generatedBids returns the bids among the first events of the Nexmark
// generator's standard workload (seed 1): real urls, channels and times.
func generatedBids(tb testing.TB, alloc memory.Allocator, events int64) arrow.RecordBatch {
	tb.Helper()
	g, err := nexmark.NewGenerator(nexmark.Config{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	p, a, b := g.Split(0, events, alloc)
	p.Release()
	a.Release()
	return b
}

// bidCols are column references to a bid batch, typed as the bid stream
// declares them.
var bidCols = struct {
	auction, bidder, price, channel, url, dateTime, extra planner.Expr
}{
	col(0, tI8), col(1, tI8), col(2, tI8), col(3, tVc), col(4, tVc), col(5, tTs), col(6, tVc),
}

func numLit(unscaled int64, scale int32) planner.Expr {
	return lit(catalog.Decimal{Num: dec(unscaled), Scale: scale}, tNum(scale))
}

// nexmarkExprs are expressions shaped like the binder's for the stateless
// Nexmark queries q14, q21 and q22: a filter (nil: none) and projections.
func nexmarkExprs() map[string]struct {
	filter planner.Expr
	proj   []planner.Expr
} {
	c := bidCols
	price := call("*", numLit(908, 3), cast(c.price, catalog.Type{ID: catalog.Numeric}))
	// The binder narrows extract's result to the field's scale.
	hour := func() planner.Expr {
		e := call("extract", lit("hour", tUnk), c.dateTime).(*planner.Call)
		f := *e.Fn
		f.Ret = planner.ExtractType("hour")
		e.Fn = &f
		return e
	}
	numCmp := func(op string, x planner.Expr, v int64) planner.Expr { return call(op, x, numLit(v, 0)) }
	q14Case := &planner.Case{Typ: tTxt, Whens: []planner.When{
		{Cond: call("and", numCmp(">=", hour(), 8), numCmp("<=", hour(), 18)), Result: lit("dayTime", tTxt)},
		{Cond: call("or", numCmp("<=", hour(), 6), numCmp(">=", hour(), 20)), Result: lit("nightTime", tTxt)},
	}, Else: lit("otherTime", tTxt)}
	extra := cast(c.extra, tTxt)
	countChar := call("-", call("length", extra), call("length", call("replace", extra, lit("c", tTxt), lit("", tTxt))))

	re := func() planner.Expr {
		return call(planner.RegexpMatchElem, cast(c.url, tTxt), lit("(&|^)channel_id=([^&]*)", tTxt), lit(int64(2), tI4))
	}
	lower := func() planner.Expr { return call("lower", cast(c.channel, tTxt)) }
	var in []planner.Expr
	in = append(in, lower())
	for _, s := range []string{"apple", "google", "facebook", "baidu"} {
		in = append(in, lit(s, tTxt))
	}
	q21Case := &planner.Case{Typ: tTxt, Else: re()}
	for i, s := range []string{"apple", "google", "facebook", "baidu"} {
		q21Case.Whens = append(q21Case.Whens, planner.When{Cond: call("=", lower(), lit(s, tTxt)), Result: lit(string(rune('0'+i)), tTxt)})
	}
	split := func(n int64) planner.Expr {
		return call("split_part", cast(c.url, tTxt), lit("/", tTxt), lit(n, tI4))
	}
	return map[string]struct {
		filter planner.Expr
		proj   []planner.Expr
	}{
		"q14": {
			filter: call("and", call(">", price, numLit(1_000_000_000, 3)), call("<", price, numLit(50_000_000_000, 3))),
			proj:   []planner.Expr{c.auction, c.bidder, price, q14Case, c.dateTime, countChar},
		},
		"q21": {
			filter: call("or", &planner.IsNull{X: re(), Not: true}, &planner.InList{X: in[0], List: in[1:]}),
			proj:   []planner.Expr{c.auction, c.bidder, c.price, c.channel, q21Case},
		},
		"q22": {
			proj: []planner.Expr{c.auction, c.bidder, c.price, c.channel, split(4), split(5), split(6)},
		},
	}
}

// BenchmarkNexmarkQueries evaluates the filter and then the projections of
// q14, q21 and q22 over the bids of 50,000 generated events, as a view's
// scan and projection do.
func BenchmarkNexmarkQueries(b *testing.B) {
	alloc := memory.NewGoAllocator()
	batch := generatedBids(b, alloc, 50_000)
	defer batch.Release()
	rows := batch.NumRows()
	for _, q := range []string{"q14", "q21", "q22"} {
		e := nexmarkExprs()[q]
		b.Run(q, func(b *testing.B) {
			env := &Env{Alloc: alloc}
			b.ReportAllocs()
			for b.Loop() {
				in := batch
				if e.filter != nil {
					sel, err := EvalPredicate(env, e.filter, batch)
					if err != nil {
						b.Fatal(err)
					}
					cols := make([]arrow.Array, batch.NumCols())
					for i, c := range batch.Columns() {
						if cols[i], err = takeArray(alloc, c, sel); err != nil {
							b.Fatal(err)
						}
					}
					in = makeBatch(cols...)
					for _, c := range cols {
						c.Release()
					}
				}
				for _, p := range e.proj {
					out, err := Eval(env, p, in)
					if err != nil {
						b.Fatal(err)
					}
					out.Release()
				}
				if in != batch {
					in.Release()
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
