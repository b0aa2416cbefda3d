package exec

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// batchesOp replays prebuilt batches, handing out a new reference each
// time.
type batchesOp struct {
	schema *arrow.Schema
	bs     []arrow.RecordBatch
	i      int
}

func (o *batchesOp) Schema() *arrow.Schema      { return o.schema }
func (o *batchesOp) Open(context.Context) error { o.i = 0; return nil }
func (o *batchesOp) Close() error               { return nil }
func (o *batchesOp) Next(context.Context) (arrow.RecordBatch, error) {
	if o.i >= len(o.bs) {
		return nil, io.EOF
	}
	b := o.bs[o.i]
	o.i++
	b.Retain()
	return b, nil
}

// benchStorage serves one prebuilt relation per name.
type benchStorage map[string]*batchesOp

func (s benchStorage) Scan(_ context.Context, rel *catalog.Relation, _ []int, _ planner.Expr) (Operator, error) {
	op := *s[rel.Name]
	return &op, nil
}

// int64Batches makes rows of two int64 columns (key = gen(i), value = i),
// in batches of 4096.
func int64Batches(cs []planner.Column, rows int, key func(i int) int64) []arrow.RecordBatch {
	mem := memory.DefaultAllocator
	schema := schemaOf(cs)
	var out []arrow.RecordBatch
	for start := 0; start < rows; start += 4096 {
		n := min(4096, rows-start)
		kb, vb := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
		for i := start; i < start+n; i++ {
			kb.Append(key(i))
			vb.Append(int64(i))
		}
		b, _ := newBatch(schema, []arrow.Array{kb.NewArray(), vb.NewArray()}, n)
		kb.Release()
		vb.Release()
		out = append(out, b)
	}
	return out
}

func benchScan(st benchStorage, name string, cs []planner.Column, bs []arrow.RecordBatch) *planner.Scan {
	st[name] = &batchesOp{schema: schemaOf(cs), bs: bs}
	rel := &catalog.Relation{Name: name}
	for _, c := range cs {
		rel.Columns = append(rel.Columns, catalog.Column{Name: c.Name, Type: c.Type})
	}
	return &planner.Scan{Rel: rel, Cols: cs, Project: []int{0, 1}}
}

func runBench(b *testing.B, env *Env, n planner.Node, rows int) {
	b.ReportAllocs()
	b.SetBytes(int64(rows) * 16)
	b.ResetTimer()
	for range b.N {
		op, err := Build(env, n)
		if err != nil {
			b.Fatal(err)
		}
		bs, err := Collect(context.Background(), op)
		if err != nil {
			b.Fatal(err)
		}
		releaseBatches(bs)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func mustAgg(b *testing.B, name string, args ...catalog.Type) *planner.Agg {
	a, err := planner.ResolveAgg(name, args)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func BenchmarkHashAggregate(b *testing.B) {
	const rows, groups = 1 << 20, 10000
	cs := cols("k", i8, "v", i8)
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]int64, rows)
	for i := range keys {
		keys[i] = rng.Int64N(groups)
	}
	bs := int64Batches(cs, rows, func(i int) int64 { return keys[i] })
	defer releaseBatches(bs)
	st := benchStorage{}
	scan := benchScan(st, "t", cs, bs)
	cnt, sum, mx := mustAgg(b, "count"), mustAgg(b, "sum", i8), mustAgg(b, "max", i8)
	a := &planner.Aggregate{Input: scan, GroupBy: []planner.Expr{col(0, i8)}, Aggs: []planner.AggCall{
		{Agg: cnt}, {Agg: sum, Args: []planner.Expr{col(1, i8)}}, {Agg: mx, Args: []planner.Expr{col(1, i8)}},
	}, Cols: cols("k", i8, "count", i8, "sum", sum.Ret, "max", i8)}
	runBench(b, &Env{Storage: st}, a, rows)
}

func BenchmarkHashJoin(b *testing.B) {
	const probe, build = 1 << 20, 1 << 16
	cs := cols("k", i8, "v", i8)
	rng := rand.New(rand.NewPCG(3, 4))
	pk := make([]int64, probe)
	for i := range pk {
		pk[i] = rng.Int64N(2 * build) // half the probe rows find a match
	}
	left := int64Batches(cs, probe, func(i int) int64 { return pk[i] })
	right := int64Batches(cs, build, func(i int) int64 { return int64(i) })
	defer releaseBatches(left)
	defer releaseBatches(right)
	st := benchStorage{}
	j := &planner.Join{Kind: planner.InnerJoin, Left: benchScan(st, "l", cs, left), Right: benchScan(st, "r", cs, right),
		LeftKeys: []planner.Expr{col(0, i8)}, RightKeys: []planner.Expr{col(0, i8)},
		Cols: cols("k", i8, "v", i8, "k2", i8, "v2", i8)}
	runBench(b, &Env{Storage: st}, j, probe)
}

func BenchmarkSort(b *testing.B) {
	const rows = 1 << 20
	cs := cols("k", i8, "v", i8)
	rng := rand.New(rand.NewPCG(5, 6))
	keys := make([]int64, rows)
	for i := range keys {
		keys[i] = rng.Int64()
	}
	bs := int64Batches(cs, rows, func(i int) int64 { return keys[i] })
	defer releaseBatches(bs)
	st := benchStorage{}
	s := &planner.Sort{Input: benchScan(st, "t", cs, bs), Keys: []planner.SortKey{{Expr: col(0, i8)}}}
	runBench(b, &Env{Storage: st}, s, rows)
}

// columnBatches makes batches of 4096 rows from per-column generators;
// gen[c](b, i) appends row i of column c to builder b.
func columnBatches(cs []planner.Column, rows int, gen []func(b array.Builder, i int)) []arrow.RecordBatch {
	mem := memory.DefaultAllocator
	schema := schemaOf(cs)
	var out []arrow.RecordBatch
	for start := 0; start < rows; start += 4096 {
		n := min(4096, rows-start)
		arrs := make([]arrow.Array, len(cs))
		for c := range cs {
			bld := array.NewBuilder(mem, cs[c].Type.Arrow())
			for i := start; i < start+n; i++ {
				gen[c](bld, i)
			}
			arrs[c] = bld.NewArray()
			bld.Release()
		}
		b, _ := newBatch(schema, arrs, n)
		out = append(out, b)
	}
	return out
}

// BenchmarkHashAggregateHop groups the output of a HOP window (size five
// slides) over a stream of 1M events from 1000 keys: 5M rows of
// (key, window_start) into ~550k groups, counted.
func BenchmarkHashAggregateHop(b *testing.B) {
	const events, keys, hops = 1 << 20, 1000, 5
	const rows = events * hops
	const slide = int64(60_000_000) // one minute in microseconds
	step := 546 * slide / events
	ts := catalog.TypeTimestamp
	cs := cols("k", i8, "window_start", ts)
	rng := rand.New(rand.NewPCG(7, 8))
	ev := make([]int64, events)
	for i := range ev {
		ev[i] = rng.Int64N(keys)
	}
	bs := columnBatches(cs, rows, []func(array.Builder, int){
		func(bld array.Builder, i int) { bld.(*array.Int64Builder).Append(ev[i/hops]) },
		func(bld array.Builder, i int) {
			t := int64(i/hops) * step
			bld.(*array.TimestampBuilder).Append(arrow.Timestamp((t/slide - int64(i%hops)) * slide))
		},
	})
	defer releaseBatches(bs)
	st := benchStorage{}
	scan := benchScan(st, "t", cs, bs)
	cnt := mustAgg(b, "count")
	a := &planner.Aggregate{Input: scan, GroupBy: []planner.Expr{col(0, i8), col(1, ts)},
		Aggs: []planner.AggCall{{Agg: cnt}}, Cols: cols("k", i8, "window_start", ts, "count", i8)}
	runBench(b, &Env{Storage: st}, a, rows)
}

// BenchmarkHashAggregateMixedKey groups 1M rows by five columns (three
// bigint, two text) into ~50k groups, with count(*) and sum.
func BenchmarkHashAggregateMixedKey(b *testing.B) {
	const rows, groups = 1 << 20, 50000
	cs := cols("a", i8, "b", text, "c", i8, "d", text, "e", i8, "v", i8)
	rng := rand.New(rand.NewPCG(9, 10))
	g := make([]int64, rows)
	for i := range g {
		g[i] = rng.Int64N(groups)
	}
	str := func(x int64) string { return fmt.Sprintf("customer-%06d", x) }
	bs := columnBatches(cs, rows, []func(array.Builder, int){
		func(bld array.Builder, i int) { bld.(*array.Int64Builder).Append(g[i] % 97) },
		func(bld array.Builder, i int) { bld.(*array.StringBuilder).Append(str(g[i])) },
		func(bld array.Builder, i int) { bld.(*array.Int64Builder).Append(g[i] * 31) },
		func(bld array.Builder, i int) { bld.(*array.StringBuilder).Append(str(g[i] % 13)) },
		func(bld array.Builder, i int) { bld.(*array.Int64Builder).Append(g[i] / 7) },
		func(bld array.Builder, i int) { bld.(*array.Int64Builder).Append(int64(i)) },
	})
	defer releaseBatches(bs)
	st := benchStorage{}
	scan := benchScan(st, "t", cs, bs)
	scan.Project = []int{0, 1, 2, 3, 4, 5}
	cnt, sum := mustAgg(b, "count"), mustAgg(b, "sum", i8)
	a := &planner.Aggregate{Input: scan,
		GroupBy: []planner.Expr{col(0, i8), col(1, text), col(2, i8), col(3, text), col(4, i8)},
		Aggs:    []planner.AggCall{{Agg: cnt}, {Agg: sum, Args: []planner.Expr{col(5, i8)}}},
		Cols:    cols("a", i8, "b", text, "c", i8, "d", text, "e", i8, "count", i8, "sum", sum.Ret)}
	runBench(b, &Env{Storage: st}, a, rows)
}
