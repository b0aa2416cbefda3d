package session

import (
	"math"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// appendKeyAt must give exactly encodeKey's form of valueAt's value: the
// groups found through it are the ones loaded through encodeKey.
func TestAppendKeyAtMatchesEncodeKey(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var arrs []arrow.Array
	add := func(b array.Builder) {
		arrs = append(arrs, b.NewArray())
		b.Release()
	}
	i64 := array.NewInt64Builder(mem)
	i64.AppendValues([]int64{0, -1, math.MaxInt64, math.MinInt64}, nil)
	i64.AppendNull()
	add(i64)
	i32 := array.NewInt32Builder(mem)
	i32.AppendValues([]int32{7, -7}, nil)
	add(i32)
	i16 := array.NewInt16Builder(mem)
	i16.AppendValues([]int16{3, -3}, nil)
	add(i16)
	ts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	ts.AppendValues([]arrow.Timestamp{1_700_000_000_000_000, -5}, nil)
	add(ts)
	d32 := array.NewDate32Builder(mem)
	d32.AppendValues([]arrow.Date32{19000, -1}, nil)
	add(d32)
	f64 := array.NewFloat64Builder(mem)
	f64.AppendValues([]float64{1.5, math.NaN(), math.Inf(-1)}, nil)
	add(f64)
	f32 := array.NewFloat32Builder(mem)
	f32.AppendValues([]float32{2.25}, nil)
	add(f32)
	bl := array.NewBooleanBuilder(mem)
	bl.AppendValues([]bool{true, false}, nil)
	add(bl)
	s := array.NewStringBuilder(mem)
	s.AppendValues([]string{"", "2024-01-01", string(make([]byte, 300))}, nil)
	s.AppendNull()
	add(s)
	bin := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	bin.AppendValues([][]byte{{}, {0, 1, 2}}, nil)
	add(bin)
	dec := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: 2})
	dec.Append(decimal128.FromI64(12345))
	add(dec)
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	for _, a := range arrs {
		for i := 0; i < a.Len(); i++ {
			want := encodeKey([]any{valueAt(a, i)})
			if got := string(appendKeyAt(nil, a, i)); got != want {
				t.Errorf("%s row %d: appendKeyAt %q, encodeKey %q", a.DataType(), i, got, want)
			}
			if n, err := keyValueLen([]byte(want)); err != nil || n != len(want) {
				t.Errorf("%s row %d: keyValueLen %d, %v; want %d", a.DataType(), i, n, err, len(want))
			}
			// Group keys are decoded from this form, but for the
			// types it holds as text (decimals).
			vals, ok := decodeKey(want, 1)
			if _, dec := a.(*array.Decimal128); ok == dec || keyDecodable(want) == dec {
				t.Errorf("%s row %d: decodable %v", a.DataType(), i, ok)
			}
			if ok && encodeKey(vals) != want {
				t.Errorf("%s row %d: decoded %v, encoded again %q, want %q", a.DataType(), i, vals, encodeKey(vals), want)
			}
		}
	}
}

// avgDecimal must round as finalAvg does.
func TestAvgDecimalMatchesFinalAvg(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	sums := []int64{0, 1, -1, 5, -5, 15, 2, math.MaxInt64, math.MinInt64 + 1, 999_999_999_999}
	for range 2000 {
		sums = append(sums, r.Int63n(1<<40)-1<<39)
	}
	for _, s := range sums {
		for _, n := range []int64{1, 2, 3, 6, 7, 9, 1000, 1 << 17, 3_000_000_007, r.Int63n(1<<20) + 1} {
			for _, scale := range []int32{0, 2} {
				// Exact halves, which round away from zero, are
				// frequent at scale 0.
				typ := catalog.Type{ID: catalog.Numeric, Scale: []int32{catalog.NumericDefaultScale, 2}[r.Intn(2)]}
				sum := partialVal{kind: partialDec, scale: scale, hi: decimal128.FromI64(s).HighBits(), lo: decimal128.FromI64(s).LowBits()}
				got, ok := avgDecimal(sum, n, typ.Scale)
				want, err := finalAvg(catalog.Decimal{Num: decimal128.FromI64(s), Scale: scale}, n, typ)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					t.Fatalf("avg of %d (scale %d) over %d takes the slow path", s, scale, n)
				}
				if w := want.(catalog.Decimal).Num; got != w {
					t.Fatalf("avg of %d (scale %d) over %d: %v, want %v", s, scale, n, got, w)
				}
			}
		}
	}
	if _, ok := avgDecimal(partialVal{kind: partialDec, hi: 1}, 3, catalog.NumericDefaultScale); ok {
		t.Errorf("a sum over 64 bits takes the fast path")
	}
}

// Merging typed partials gives mergePartial's results.
func TestAggGroupMergeMatchesMergePartial(t *testing.T) {
	cases := []struct {
		name   string
		values []any
	}{
		{"sum", []any{int64(5), nil, int64(-7), int64(1 << 40)}},
		{"count", []any{int64(0), int64(3), int64(4)}},
		{"min", []any{nil, int64(9), int64(-2), int64(4)}},
		{"max", []any{int64(9), int64(-2), nil, int64(40)}},
		{"sum", []any{catalog.Decimal{Num: decimal128.FromI64(150), Scale: 2}, catalog.Decimal{Num: decimal128.FromI64(-1), Scale: 2}}},
		{"max", []any{catalog.Decimal{Num: decimal128.FromI64(150), Scale: 2}, catalog.Decimal{Num: decimal128.FromI64(151), Scale: 2}}},
		{"min", []any{1.5, math.NaN(), -3.0}},
		{"max", []any{1.5, math.NaN(), -3.0}},
		{"sum", []any{1.5, 2.25}},
		{"min", []any{"b", "a", "c"}},
		{"max", []any{"b", nil, "c", "a"}},
	}
	for _, c := range cases {
		g := &aggGroup{vals: make([]partialVal, 1)}
		var want any
		for _, v := range c.values {
			var err error
			if want, err = mergePartial(c.name, want, v); err != nil {
				t.Fatal(err)
			}
			p, o := unbox(v)
			if err := g.merge(0, mergeOpOf(c.name), c.name, p, o); err != nil {
				t.Fatal(err)
			}
		}
		got := g.partial(0)
		if f, ok := want.(float64); ok && math.IsNaN(f) {
			if gf, ok := got.(float64); !ok || !math.IsNaN(gf) {
				t.Errorf("%s of %v: %v, want NaN", c.name, c.values, got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s of %v: %v, want %v", c.name, c.values, got, want)
		}
	}
	g := &aggGroup{vals: []partialVal{{kind: partialInt, lo: math.MaxInt64}}}
	if err := g.merge(0, opAdd, "sum", partialVal{kind: partialInt, lo: 1}, nil); err == nil {
		t.Errorf("an overflowing sum merged without error")
	}
}

// appendKeys writes the key values a group was found by, decoded from its
// encoded key or, for decimals, kept aside.
func TestAppendKeysFromEncodedKey(t *testing.T) {
	mem := memory.NewGoAllocator()
	ts := []catalog.Type{catalog.TypeText, catalog.TypeInt8, catalog.TypeInt4, catalog.TypeTimestamp,
		catalog.TypeDate, catalog.TypeBool, catalog.TypeFloat8, {ID: catalog.Numeric, Scale: 2}}
	rows := [][]any{
		{"2024-01-01", int64(-3), int64(7), int64(1_700_000_000_000_000), int32(19000), true, 1.5, catalog.Decimal{Num: decimal128.FromI64(1234), Scale: 2}},
		{"", nil, nil, nil, nil, nil, nil, nil},
		{string(make([]byte, 200)), int64(math.MaxInt64), int64(-1), int64(0), int32(-1), false, math.Inf(1), catalog.Decimal{Num: decimal128.FromI64(-5), Scale: 2}},
	}
	for _, n := range []int{len(ts), len(ts) - 1} {
		j := &viewJob{plan: &planner.ViewPlan{Agg: &planner.Aggregate{}}, keyTypes: ts[:n]}
		got, want := make([]array.Builder, n), make([]array.Builder, n)
		for c := range got {
			got[c] = array.NewBuilder(mem, ts[c].Arrow())
			want[c] = array.NewBuilder(mem, ts[c].Arrow())
		}
		for _, r := range rows {
			keys := r[:n]
			g := j.newAggGroup(encodeKey(keys), func() []any { return keys })
			if (g.ext != nil) != (n == len(ts) && keys[n-1] != nil) {
				t.Errorf("%d keys: decimal keys kept aside %v", n, g.ext != nil)
			}
			if err := appendKeys(got, ts[:n], g); err != nil {
				t.Fatal(err)
			}
			for c, v := range keys {
				if err := appendValue(want[c], ts[c], v); err != nil {
					t.Fatal(err)
				}
			}
			if gk := g.groupKeys(n); encodeKey(gk) != encodeKey(keys) {
				t.Errorf("groupKeys %v, want %v", gk, keys)
			}
		}
		for c := range got {
			a, b := got[c].NewArray(), want[c].NewArray()
			if !array.Equal(a, b) {
				t.Errorf("column %d (%s): %v, want %v", c, ts[c], a, b)
			}
			a.Release()
			b.Release()
		}
	}
}
