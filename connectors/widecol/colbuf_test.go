package widecol

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fuzzTable uses every type, a string partition key and a descending
// float clustering column.
func fuzzTable(t testing.TB) *Table {
	fields := []arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String},
		{Name: "c", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}
	for i, dt := range []arrow.DataType{arrow.FixedWidthTypes.Boolean, arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Uint16,
		arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float32, arrow.BinaryTypes.Binary, arrow.FixedWidthTypes.Date32,
		tsType, &arrow.Decimal128Type{Precision: 10, Scale: 2}, arrow.FixedWidthTypes.MonthDayNanoInterval,
		arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String, arrow.PrimitiveTypes.Uint64} {
		fields = append(fields, arrow.Field{Name: string(rune('m' + i)), Type: dt, Nullable: true})
	}
	tb, err := newTable(TableSpec{Keyspace: "f", Name: "t", Schema: arrow.NewSchema(fields, nil),
		PartitionKey: []string{"k"}, Clustering: []ClusteringColumn{{Name: "c", Desc: true}}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// decodeBoth decodes rows with the direct scan decoder and with
// decodeRow plus array builders, and checks they agree.
func decodeBoth(t *testing.T, tb *Table, cols []string, keys, vals [][]byte, now int64) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	pd, err := newPlan(tb, &ReadOptions{Allocator: mem, Columns: cols, BatchSize: len(keys)})
	if err != nil {
		t.Fatal(err)
	}
	if !pd.direct {
		t.Fatal("plan is not direct")
	}
	pr, _ := newPlan(tb, &ReadOptions{Allocator: mem, Columns: cols})
	cbs := newColBufs(pd)
	defer func() {
		for j := range cbs {
			cbs[j].release()
		}
	}()
	for j := range cbs {
		cbs[j].begin(pd.size)
	}
	blds := pr.newBuilders()
	defer func() {
		for _, b := range blds {
			b.Release()
		}
	}()
	n := 0
	for i := range keys {
		ok1, err1 := pd.decodeInto(cbs, n, keys[i], vals[i], now)
		ok2, err2 := pr.decodeRow(keys[i], vals[i], now)
		if (err1 == nil) != (err2 == nil) || ok1 != ok2 {
			t.Fatalf("row %d: direct (%v, %v), decodeRow (%v, %v)", i, ok1, err1, ok2, err2)
		}
		if err1 != nil {
			return
		}
		if ok1 {
			pr.appendRow(blds)
			n++
		}
	}
	if n == 0 {
		return
	}
	got := pd.finishCols(cbs, n)
	defer got.Release()
	want := pr.finish(blds, n)
	defer want.Release()
	// Sprint, not DeepEqual: NaN is a possible value.
	if !array.RecordApproxEqual(got, want, array.WithNaNsEqual(true)) || fmt.Sprintf("%#v", recordRows(got)) != fmt.Sprintf("%#v", recordRows(want)) {
		t.Fatalf("direct decode differs:\n got %v\nwant %v", recordRows(got), recordRows(want))
	}
	for j := range got.Columns() {
		// The store does not check that String values are UTF-8.
		if err := array.ValidateFull(got.Column(j)); err != nil && !strings.Contains(err.Error(), "utf8") {
			t.Fatalf("column %d: %v", j, err)
		}
	}
}

func fuzzSeedRows(tb *Table) (keys, vals [][]byte) {
	key, _ := tb.appendKeyValues(append([]byte(nil), tb.prefix...), []any{"x", 1.5}, 0)
	key2, _ := tb.appendKeyValues(append([]byte(nil), tb.prefix...), []any{"y\x00z", nil}, 0)
	v := appendHeader(nil, 0)
	v = appendCell(v, 2, kBool, &scalar{i: 1}, 0)
	v = appendCell(v, 3, kInt8, &scalar{i: -3}, 0)
	v = appendCell(v, 4, kUint16, &scalar{u: 7}, 50)
	v = appendCell(v, 5, kInt32, &scalar{i: 9}, 500)
	v = appendCell(v, 6, kFloat32, &scalar{null: true}, 0)
	v = appendCell(v, 7, kBinary, &scalar{b: []byte{0, 1}}, 0)
	v = appendCell(v, 8, kDate32, &scalar{i: 3}, 0)
	v = appendCell(v, 9, kTimestamp, &scalar{i: -5}, 0)
	v = appendCell(v, 10, kDecimal128, &scalar{d: decimal128.New(-2, 7)}, 0)
	v = appendCell(v, 11, kInterval, &scalar{iv: arrow.MonthDayNanoInterval{Months: 1, Days: -2, Nanoseconds: 3}}, 0)
	v = appendCell(v, 12, kInt64, &scalar{i: -1 << 40}, 0)
	v = appendCell(v, 13, kString, &scalar{b: []byte("hello")}, 0)
	v = appendCell(v, 14, kUint64, &scalar{u: 1 << 63}, 0)
	v2 := appendHeader(nil, 50) // expired marker, one live cell
	v2 = appendCell(v2, 13, kString, &scalar{b: []byte("w")}, 0)
	v3 := appendHeader(nil, 50) // expired marker and cells: invisible
	v3 = appendCell(v3, 13, kString, &scalar{b: []byte("gone")}, 60)
	v3 = appendCell(v3, 2, kBool, &scalar{i: 0}, 60)
	v4 := appendHeader(nil, 0) // only the row marker
	v5 := appendHeader(nil, 0)
	v5 = appendCell(v5, 2, kBool, &scalar{i: 0}, 0)
	v5 = appendCell(v5, 13, kString, &scalar{b: []byte("again")}, 0)
	v5 = appendCell(v5, 13, kString, &scalar{null: true}, 0)
	return [][]byte{key, key2, key, key2, key}, [][]byte{v, v2, v3, v4, v5}
}

var directProjections = [][]string{nil, {"k"}, {"s", "c", "m"}, {"p", "r", "y", "x", "q", "w", "u", "v", "n", "o", "t"}}

func TestDirectDecodeMatchesBuilders(t *testing.T) {
	tb := fuzzTable(t)
	keys, vals := fuzzSeedRows(tb)
	for _, cols := range directProjections {
		decodeBoth(t, tb, cols, keys, vals, 100)
		// Every visible row first, then every row after an invisible one,
		// so validity bitmaps start at different rows.
		for i := range keys {
			decodeBoth(t, tb, cols, keys[i:], vals[i:], 100)
			decodeBoth(t, tb, cols, keys[:i+1], vals[:i+1], 100)
		}
	}
}

// FuzzDirectDecode checks the scan decoder against decodeRow on arbitrary
// rows: same errors, same visibility, same values.
func FuzzDirectDecode(f *testing.F) {
	tb := fuzzTable(f)
	keys, vals := fuzzSeedRows(tb)
	for i := range keys {
		f.Add(keys[i], vals[i], vals[(i+1)%len(vals)], uint8(i))
	}
	f.Fuzz(func(t *testing.T, k, v1, v2 []byte, proj uint8) {
		if !bytes.HasPrefix(k, tb.prefix) {
			k = append(append([]byte(nil), tb.prefix...), k...)
		}
		cols := directProjections[int(proj)%len(directProjections)]
		decodeBoth(t, tb, cols, [][]byte{k, k, k}, [][]byte{v1, v2, v1}, 100)
	})
}
