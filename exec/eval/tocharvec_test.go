package eval

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/planner"
)

// TestToCharKernel checks the vector to_char against the row function for
// templates of days, hours, minutes, seconds and fractions, over
// timestamps before and after 1970 in runs of nearby times (where rows
// share a formatting) and dates, with NULLs.
func TestToCharKernel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(21, 22))
	const n = 600
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	db := array.NewDate32Builder(mem)
	us := -3 * 365 * usPerDay
	for i := range n {
		if i%13 == 5 {
			tb.AppendNull()
			db.AppendNull()
			continue
		}
		switch r.IntN(4) {
		case 0:
			us = r.Int64N(200*365*usPerDay) - 100*365*usPerDay
		case 1:
			us += r.Int64N(2 * 3600 * usPerSec)
		default:
			us += r.Int64N(90 * usPerSec)
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
	formats := []string{"YYYY-MM-DD", "yyyy-mm-dd", "HH:mm", "HH24:MI", "HH12:MI AM", "YYYY-MM-DD HH24:MI:SS", "HH24:MI:SS.MS",
		"SS.US", "Day DD Month", "\"at\" HH24", "Q-DDD-D", "literal only"}
	for _, src := range []planner.Expr{col(0, tTs), col(0, tTsTZ), col(1, tDate)} {
		for _, f := range formats {
			x := call("to_char", src, lit(f, tUnk))
			if _, ok := mustCompile(t, x).root.(*toCharNode); !ok {
				t.Fatalf("%s: not compiled to the vector kernel", x)
			}
			sameAsRows(t, mem, x, batch)
		}
	}
}

// TestToCharKernelSliced checks the vector to_char row by row against the
// row formatting over slices of a column (offsets that are not a multiple
// of 8, so the slice's validity bits are not byte aligned), with NULLs
// (leading ones too), runs within a day and days apart, the ends of the
// int64 range, and over dates.
func TestToCharKernelSliced(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(31, 32))
	const n = 700
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	db := array.NewDate32Builder(mem)
	us := int64(19000) * usPerDay
	for i := range n {
		if i < 3 || i%7 == 2 {
			tb.AppendNull()
			db.AppendNull()
			continue
		}
		if i >= 600 && i < 604 {
			// The ends of the range, where the start of a unit is not an
			// int64, and whose texts are longer than the ones before.
			x := []int64{math.MinInt64, math.MaxInt64, math.MinInt64 + 1, math.MaxInt64 - 1}[i-600]
			tb.Append(arrow.Timestamp(x))
			db.Append(arrow.Date32(int32(x >> 32)))
			continue
		}
		if r.IntN(20) == 0 {
			us += r.Int64N(3*usPerDay) - usPerDay
		} else {
			us += r.Int64N(600 * usPerSec)
		}
		tb.Append(arrow.Timestamp(us))
		db.Append(arrow.Date32(floorDiv(us, usPerDay)))
	}
	ts, ds := tb.NewArray(), db.NewArray()
	tb.Release()
	db.Release()
	defer ts.Release()
	defer ds.Release()
	env := &Env{Alloc: mem}
	for _, c := range []struct {
		arr  arrow.Array
		x    planner.Expr
		tmpl string
	}{
		{ts, col(0, tTs), "YYYY-MM-DD"},
		{ts, col(0, tTs), "Day DD Month YYYY"},
		{ts, col(0, tTs), "YYYY-MM-DD HH24:MI"},
		{ts, col(0, tTs), "HH24:MI:SS.US"},
		{ds, col(0, tDate), "YYYY-MM-DD"},
		{ds, col(0, tDate), "Dy DD Mon"},
	} {
		p := mustCompile(t, call("to_char", c.x, lit(c.tmpl, tUnk)))
		nd, ok := p.root.(*toCharNode)
		if !ok {
			t.Fatalf("%s: not compiled to the vector kernel", c.tmpl)
		}
		for _, span := range [][2]int{{0, n}, {1, n}, {3, 4}, {5, 613}, {13, 13}, {0, 3}} {
			in := array.NewSlice(c.arr, int64(span[0]), int64(span[1]))
			batch := makeBatch(in)
			got, err := p.Eval(env, batch)
			if err != nil {
				t.Fatal(err)
			}
			s := got.(*array.String)
			if s.Len() != in.Len() {
				t.Fatalf("%s %v: %d rows, want %d", c.tmpl, span, s.Len(), in.Len())
			}
			for i := range in.Len() {
				if in.IsNull(i) {
					if !s.IsNull(i) {
						t.Fatalf("%s %v row %d: got %q, want NULL", c.tmpl, span, i, s.Value(i))
					}
					continue
				}
				var v int64
				switch a := in.(type) {
				case *array.Timestamp:
					v = int64(a.Value(i))
				case *array.Date32:
					v = int64(a.Value(i)) * usPerDay
				}
				want := nd.p.format1(time.UnixMicro(v).UTC())
				if s.IsNull(i) || s.Value(i) != want {
					t.Fatalf("%s %v row %d: got %q (null %v), want %q", c.tmpl, span, i, s.Value(i), s.IsNull(i), want)
				}
			}
			if s.NullN() != in.NullN() {
				t.Fatalf("%s %v: %d NULLs, want %d", c.tmpl, span, s.NullN(), in.NullN())
			}
			got.Release()
			batch.Release()
			in.Release()
		}
	}
}

// BenchmarkToCharDay formats 1M timestamps spread over four days with a
// day template, as Nexmark q17's DATE_FORMAT(date_time, 'yyyy-MM-dd'):
// "direct" is the kernel, "builder" the same memoized formatting appended
// through an array.StringBuilder, as a baseline.
func BenchmarkToCharDay(b *testing.B) {
	alloc := memory.NewGoAllocator()
	const rows = 1 << 20
	tb := array.NewTimestampBuilder(alloc, &arrow.TimestampType{Unit: arrow.Microsecond})
	start := int64(19000) * usPerDay
	for i := range rows {
		tb.Append(arrow.Timestamp(start + int64(i)*(4*usPerDay/rows)))
	}
	ts := tb.NewArray()
	tb.Release()
	batch := makeBatch(ts)
	ts.Release()
	defer batch.Release()
	x := call("to_char", col(0, tTs), lit("YYYY-MM-DD", tUnk))
	p, err := Compile(x)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    *Program
	}{
		{"direct", p},
		{"builder", &Program{expr: x, root: toCharByBuilder{p.root.(*toCharNode)}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			env := &Env{Alloc: alloc}
			b.ReportAllocs()
			for b.Loop() {
				out, err := c.p.Eval(env, batch)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// toCharByBuilder formats a timestamp column like toCharNode but appends
// through an array.StringBuilder: the baseline of BenchmarkToCharDay.
type toCharByBuilder struct{ nd *toCharNode }

func (t toCharByBuilder) eval(c *ctx, in *input) (vec, error) {
	v, err := t.nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	a := v.arr.(*array.Timestamp)
	n := a.Len()
	b := array.NewStringBuilder(c.alloc)
	defer b.Release()
	b.Reserve(n)
	last, text := int64(math.MinInt64), ""
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		us := int64(a.Value(i))
		if k := floorDiv(us, t.nd.unit); k != last || i == 0 {
			last, text = k, t.nd.p.format1(time.UnixMicro(us).UTC())
		}
		b.Append(text)
	}
	return vec{arr: b.NewArray(), n: in.n}, nil
}
