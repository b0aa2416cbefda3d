package session

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// topnArrays builds one array per type with random values, NULLs and
// edge cases.
func topnArrays(t testing.TB, rng *rand.Rand, n int) []arrow.Array {
	t.Helper()
	mem := memory.NewGoAllocator()
	ints := array.NewInt64Builder(mem)
	floats := array.NewFloat64Builder(mem)
	strs := array.NewStringBuilder(mem)
	bools := array.NewBooleanBuilder(mem)
	dates := array.NewDate32Builder(mem)
	decs := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: 2})
	ts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	specialF := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), -1.5, 2.25}
	specialI := []int64{0, -1, 1, math.MinInt64, math.MaxInt64}
	specialS := []string{"", "a", "a\x00", "a\x00b", "ab", "\x00", "\xff", "b"}
	for i := 0; i < n; i++ {
		if rng.IntN(8) == 0 {
			for _, b := range []array.Builder{ints, floats, strs, bools, dates, decs, ts} {
				b.AppendNull()
			}
			continue
		}
		ints.Append(specialI[rng.IntN(len(specialI))] + int64(rng.IntN(3)))
		floats.Append(specialF[rng.IntN(len(specialF))])
		strs.Append(specialS[rng.IntN(len(specialS))] + specialS[rng.IntN(len(specialS))])
		bools.Append(rng.IntN(2) == 0)
		dates.Append(arrow.Date32(rng.IntN(5) - 2))
		decs.Append(decimal128.FromI64(int64(rng.IntN(7) - 3)))
		ts.Append(arrow.Timestamp(specialI[rng.IntN(len(specialI))]))
	}
	var out []arrow.Array
	for _, b := range []array.Builder{ints, floats, strs, bools, dates, decs, ts} {
		out = append(out, b.NewArray())
	}
	return out
}

// The bytes of encoded ORDER BY values compare as compareSortValue
// compares the values, in every direction and NULL placement.
func TestTopNOrderEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 300
	for _, a := range topnArrays(t, rng, n) {
		for _, desc := range []bool{false, true} {
			for _, nullsFirst := range []bool{false, true} {
				enc := orderEncoder(a, desc, nullsFirst)
				for k := 0; k < 2000; k++ {
					i, j := rng.IntN(n), rng.IntN(n)
					want := compareSortValue(valueAt(a, i), valueAt(a, j), desc, nullsFirst)
					got := bytes.Compare(enc(nil, i), enc(nil, j))
					if got != want {
						t.Fatalf("%s desc=%v nullsFirst=%v: %v vs %v: bytes compare %d, values %d",
							a.DataType(), desc, nullsFirst, valueAt(a, i), valueAt(a, j), got, want)
					}
				}
			}
		}
	}
}

// Partition keys decode to the values valueAt reads, and equal values
// encode equally.
func TestTopNKeyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 200
	arrs := topnArrays(t, rng, n)
	types := make([]arrow.DataType, len(arrs))
	encs := make([]rowEnc, len(arrs))
	for c, a := range arrs {
		types[c] = a.DataType()
		e, err := keyEncoder(a)
		if err != nil {
			t.Fatal(err)
		}
		encs[c] = e
	}
	seen := map[string][]any{}
	for i := 0; i < n; i++ {
		var kb []byte
		want := make([]any, len(arrs))
		for c, a := range arrs {
			kb = encs[c](kb, i)
			want[c] = valueAt(a, i)
			if f, ok := want[c].(float64); ok && f == 0 {
				want[c] = 0.0 // -0 keys as 0
			}
		}
		got, err := decodeTopKey(string(kb), types)
		if err != nil {
			t.Fatal(err)
		}
		for c := range got {
			if f, ok := want[c].(float64); ok && math.IsNaN(f) {
				if g, ok := got[c].(float64); !ok || !math.IsNaN(g) {
					t.Fatalf("row %d column %d: got %v, want NaN", i, c, got[c])
				}
				got[c], want[c] = nil, nil
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d: decoded %#v, want %#v", i, got, want)
		}
		if prev, ok := seen[string(kb)]; ok && !reflect.DeepEqual(prev, got) {
			t.Fatalf("key %x encodes both %v and %v", kb, prev, got)
		}
		seen[string(kb)] = got
	}
	if _, err := decodeTopKey("\x01\x00", types); err == nil {
		t.Fatal("a truncated key decoded")
	}
}

// Rows kept encoded append back to builders as the values they were,
// floats bit for bit (-0, NaN) and NULLs included.
func TestTopNRowRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 300
	arrs := topnArrays(t, rng, n)
	types := make([]arrow.DataType, len(arrs))
	encs := make([]rowEnc, len(arrs))
	bs := make([]array.Builder, len(arrs))
	mem := memory.NewGoAllocator()
	for c, a := range arrs {
		types[c] = a.DataType()
		e, err := rowEncoder(a)
		if err != nil {
			t.Fatal(err)
		}
		encs[c] = e
		bs[c] = array.NewBuilder(mem, a.DataType())
	}
	for i := 0; i < n; i++ {
		var row []byte
		for _, e := range encs {
			row = e(row, i)
		}
		if err := appendEncodedRow(bs, string(row), types); err != nil {
			t.Fatal(err)
		}
	}
	for c, a := range arrs {
		got := bs[c].NewArray()
		if f, ok := a.(*array.Float64); ok {
			g := got.(*array.Float64)
			for i := 0; i < n; i++ {
				if f.IsNull(i) != g.IsNull(i) || !f.IsNull(i) && math.Float64bits(f.Value(i)) != math.Float64bits(g.Value(i)) {
					t.Fatalf("float row %d: got %v, want %v", i, g.Value(i), f.Value(i))
				}
			}
			continue
		}
		if !array.Equal(a, got) {
			t.Fatalf("column %d (%s): got %v, want %v", c, a.DataType(), got, a)
		}
	}
	if err := appendEncodedRow(bs, "\x01\x00", types); err == nil {
		t.Fatal("a truncated row appended")
	}
}

// Kept rows copy straight from their arrays into the view's builders for
// the common types, without boxing.
func TestAppendFromArrayTyped(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	mem := memory.NewGoAllocator()
	for _, a := range topnArrays(t, rng, 50) {
		b := array.NewBuilder(mem, a.DataType())
		for i := 0; i < a.Len(); i++ {
			if err := appendFromArray(b, a, i); err != nil {
				t.Fatal(err)
			}
		}
		got := b.NewArray()
		if !array.Equal(got, a) && a.DataType().ID() != arrow.FLOAT64 {
			t.Fatalf("%s: got %v, want %v", a.DataType(), got, a)
		}
		// A column appender gives the same array, in any row order.
		cb := array.NewBuilder(mem, a.DataType())
		app := newColumnAppender(cb)
		perm := rng.Perm(a.Len())
		for _, i := range perm {
			if err := app(a, i); err != nil {
				t.Fatal(err)
			}
		}
		byApp := cb.NewArray()
		for k, i := range perm {
			if byApp.IsNull(k) != a.IsNull(i) || (!a.IsNull(i) && fmt.Sprint(valueAt(byApp, k)) != fmt.Sprint(valueAt(a, i))) {
				t.Fatalf("%s: row %d: appender gave %v, want %v", a.DataType(), i, valueAt(byApp, k), valueAt(a, i))
			}
		}
		nb := array.NewBuilder(mem, a.DataType())
		typed := true
		switch x := a.(type) {
		case *array.Int64:
			typed = appendAs(nb, x.Value(0))
		case *array.Timestamp:
			typed = appendAs(nb, x.Value(0))
		case *array.String:
			typed = appendAs(nb, x.Value(0))
		case *array.Decimal128:
			typed = appendAs(nb, x.Value(0))
		}
		if !typed {
			t.Fatalf("%s: no typed append", a.DataType())
		}
	}
}
