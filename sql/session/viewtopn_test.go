package session

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// tieArrays are topnArrays and arrays of the other types a kept row may
// hold, with NULLs.
func tieArrays(t *testing.T, rng *rand.Rand, n int) []arrow.Array {
	t.Helper()
	mem := memory.NewGoAllocator()
	i16 := array.NewInt16Builder(mem)
	i32 := array.NewInt32Builder(mem)
	f32 := array.NewFloat32Builder(mem)
	bin := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	ivl := array.NewMonthDayNanoIntervalBuilder(mem)
	for i := 0; i < n; i++ {
		if rng.IntN(6) == 0 {
			for _, b := range []array.Builder{i16, i32, f32, bin, ivl} {
				b.AppendNull()
			}
			continue
		}
		i16.Append(int16(rng.IntN(5) - 2))
		i32.Append(int32(rng.IntN(5) - 2))
		f32.Append([]float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), -1.5, 3}[rng.IntN(5)])
		bin.Append([][]byte{{}, {0}, {0, 1}, {1}, {0xff}}[rng.IntN(5)])
		ivl.Append(arrow.MonthDayNanoInterval{Months: int32(rng.IntN(3)), Days: int32(rng.IntN(3) - 1), Nanoseconds: int64(rng.IntN(3))})
	}
	out := topnArrays(t, rng, n)
	for _, b := range []array.Builder{i16, i32, f32, bin, ivl} {
		out = append(out, b.NewArray())
	}
	return out
}

// sameValue is reflect.DeepEqual with NaN equal to NaN.
func sameValue(a, b any) bool {
	if x, ok := a.(float64); ok && math.IsNaN(x) {
		y, ok := b.(float64)
		return ok && math.IsNaN(y)
	}
	return reflect.DeepEqual(a, b)
}

// encodeRows encodes each row of arrs as a kept row (rowEncoder).
func encodeRows(t testing.TB, arrs []arrow.Array) (rows []string, types []arrow.DataType) {
	t.Helper()
	encs := make([]rowEnc, len(arrs))
	for c, a := range arrs {
		e, err := rowEncoder(a)
		if err != nil {
			t.Fatal(err)
		}
		encs[c] = e
		types = append(types, a.DataType())
	}
	for i := 0; i < arrs[0].Len(); i++ {
		rows = append(rows, string(encodeWith(nil, encs, i)))
	}
	return rows, types
}

// A column read alone from an encoded row is the value decodeTopKey
// decodes, in whatever order the columns are read, and a column read from
// an array is the value valueAt reads.
func TestTieColumnDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 300
	arrs := tieArrays(t, rng, n)
	rows, types := encodeRows(t, arrs)
	for i, row := range rows {
		want, err := decodeTopKey(row, types)
		if err != nil {
			t.Fatal(err)
		}
		cur := rowCursor{row: row}
		// Ascending, then in random order (a cursor behind its column
		// starts over).
		order := make([]int, len(types))
		for c := range order {
			order[c] = c
		}
		order = append(order, rng.Perm(len(types))...)
		for _, c := range order {
			var v, av tieVal
			if err := cur.at(types, c, &v); err != nil {
				t.Fatalf("row %d column %d: %v", i, c, err)
			}
			if got := v.box(); !sameValue(got, want[c]) {
				t.Fatalf("row %d column %d (%s): decoded %#v, want %#v", i, c, types[c], got, want[c])
			}
			tieOfArray(arrs[c], i, &av)
			if got, want := av.box(), valueAt(arrs[c], i); !sameValue(got, want) {
				t.Fatalf("row %d column %d (%s): from the array %#v, want %#v", i, c, types[c], got, want)
			}
		}
	}
	cur := rowCursor{row: rows[0][:len(rows[0])-1]}
	if err := cur.at(types, len(types)-1, new(tieVal)); err == nil {
		t.Fatal("a truncated row decoded")
	}
}

// compareTie orders values as compareSortValue orders valueAt's, NULLs
// last, whether each row is read from its array or its encoding.
func TestCompareTie(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n = 200
	arrs := tieArrays(t, rng, n)
	rows, types := encodeRows(t, arrs)
	for c, a := range arrs {
		for k := 0; k < 3000; k++ {
			i, j := rng.IntN(n), rng.IntN(n)
			want := compareSortValue(valueAt(a, i), valueAt(a, j), false, false)
			ci, cj := rowCursor{row: rows[i]}, rowCursor{row: rows[j]}
			var ei, ej, ai, aj tieVal
			if err := ci.at(types, c, &ei); err != nil {
				t.Fatal(err)
			}
			if err := cj.at(types, c, &ej); err != nil {
				t.Fatal(err)
			}
			tieOfArray(a, i, &ai)
			tieOfArray(a, j, &aj)
			for _, p := range [][2]tieVal{{ai, aj}, {ai, ej}, {ei, aj}, {ei, ej}} {
				if got := compareTie(&p[0], &p[1]); got != want {
					t.Fatalf("%s: %v vs %v: compareTie %d, want %d", a.DataType(), valueAt(a, i), valueAt(a, j), got, want)
				}
			}
		}
	}
}

// compareTop breaks ORDER BY ties by the tie columns as comparing the
// decoded rows' values does, for rows read from their batch or held
// encoded.
func TestCompareTopTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const n = 100
	arrs := tieArrays(t, rng, n)
	rows, types := encodeRows(t, arrs)
	fields := make([]arrow.Field, len(arrs))
	for c, a := range arrs {
		fields[c] = arrow.Field{Name: fmt.Sprintf("c%d", c), Type: a.DataType(), Nullable: true}
	}
	b := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, n)
	value := func(r *topRow, c int) any {
		if r.src != nil {
			return valueAt(r.src.Column(c), r.idx)
		}
		vals, err := decodeTopKey(r.row, types)
		if err != nil {
			t.Fatal(err)
		}
		return vals[c]
	}
	for _, ties := range [][]int{nil, {1}, {0, 3, 4}, {2, 5, 7, 9, 11}, {10, 11}} {
		cols := ties
		if cols == nil {
			for c := range arrs {
				cols = append(cols, c)
			}
		}
		tn := &topNState{plan: &planner.TopNPlan{Ties: ties}, ncols: len(arrs), inTypes: types, ties: cols}
		for k := 0; k < 3000; k++ {
			i, j := rng.IntN(n), rng.IntN(n)
			// Tied on the ORDER BY half the time.
			oi, oj := "x", "x"
			if rng.IntN(2) == 0 {
				oj = string(rune('a' + rng.IntN(26)))
			}
			ra := &topRow{order: oi, src: b, idx: i}
			if rng.IntN(2) == 0 {
				ra = &topRow{order: oi, row: rows[i]}
			}
			rb := &topRow{order: oj, src: b, idx: j}
			if rng.IntN(2) == 0 {
				rb = &topRow{order: oj, row: rows[j]}
			}
			want := strings.Compare(oi, oj)
			for _, c := range cols {
				if want != 0 {
					break
				}
				want = compareSortValue(value(ra, c), value(rb, c), false, false)
			}
			if got := tn.compareTop(ra, rb); got != want {
				t.Fatalf("ties %v: rows %d and %d: compareTop %d, want %d", ties, i, j, got, want)
			}
		}
	}
}

// Rows tied on the ORDER BY are ordered by the tie columns but for the
// partition's own ones, which are equal within a partition; a
// floating-point partition column stays, as -0 and +0 share a partition.
func TestTieCols(t *testing.T) {
	input := []planner.Column{{Name: "a", Type: catalog.TypeInt8}, {Name: "b", Type: catalog.TypeText},
		{Name: "c", Type: catalog.TypeFloat8}, {Name: "d", Type: catalog.TypeInt4}}
	for _, tc := range []struct {
		ties, keyCols, want []int
	}{
		{nil, nil, []int{0, 1, 2, 3}},
		{nil, []int{0}, []int{1, 2, 3}},
		{nil, []int{-1, 1}, []int{0, 2, 3}},
		{nil, []int{2}, []int{0, 1, 2, 3}},
		{[]int{1, 3}, []int{3}, []int{1}},
		{[]int{0}, []int{0}, nil},
	} {
		got := tieCols(&planner.TopNPlan{Ties: tc.ties}, input, tc.keyCols)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ties %v, partition columns %v: got %v, want %v", tc.ties, tc.keyCols, got, tc.want)
		}
	}
}

// epochKeys gives each worker the rows of its shards, all of them once,
// in input order, with their keys and hashes as encoded and hashed one
// by one; with one worker, every row.
func TestEpochKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	tn := &topNState{cold: newColdTable()}
	var res []arrow.RecordBatch
	var encs [][]rowEnc
	var rows int64
	for _, n := range []int{0, 1, 700, 5000, 3} {
		arrs := topnArrays(t, rng, n)
		fields := make([]arrow.Field, len(arrs))
		var enc []rowEnc
		for c, a := range arrs {
			fields[c] = arrow.Field{Name: fmt.Sprintf("c%d", c), Type: a.DataType(), Nullable: true}
			e, err := keyEncoder(a)
			if err != nil {
				t.Fatal(err)
			}
			// A key of two of the columns: many rows share one.
			if c == 3 || c == 4 {
				enc = append(enc, e)
			}
		}
		res = append(res, array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(n)))
		encs = append(encs, enc)
		rows += int64(n)
	}
	enc := func(bi int) []rowEnc { return encs[bi] }
	type row struct {
		bi, i int
		key   string
		h     uint64
	}
	for _, workers := range []int{1, 2, 3, 16} {
		// Twice: the second epoch reuses the first's buffers.
		for range 2 {
			ek, err := tn.epochKeys(context.Background(), res, enc, rows, workers)
			if err != nil {
				t.Fatal(err)
			}
			var all []row
			for w := range workers {
				var got []row
				if err := ek.each(context.Background(), w, func(bi, i int, key []byte, h uint64) error {
					got = append(got, row{bi, i, string(key), h})
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				for k, r := range got {
					key := encodeWith(nil, encs[r.bi], r.i)
					if r.key != string(key) || r.h != tn.cold.Hash(key) || ShardOf(r.h)%workers != w {
						t.Fatalf("%d workers: worker %d got row %d of batch %d with key %x hash %x, want %x %x",
							workers, w, r.i, r.bi, r.key, r.h, key, tn.cold.Hash(key))
					}
					if k > 0 && (r.bi < got[k-1].bi || r.bi == got[k-1].bi && r.i <= got[k-1].i) {
						t.Fatalf("%d workers: worker %d's rows out of input order", workers, w)
					}
				}
				all = append(all, got...)
			}
			if int64(len(all)) != rows {
				t.Fatalf("%d workers: %d rows walked, want %d", workers, len(all), rows)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tn.epochKeys(ctx, res, enc, rows, 2); err == nil {
		t.Fatal("a cancelled epoch's keys encoded")
	}
}

// BenchmarkCompareTopTies compares rows tied on the ORDER BY, read from
// their batch and held encoded, by their other columns.
func BenchmarkCompareTopTies(b *testing.B) {
	rng := rand.New(rand.NewPCG(19, 20))
	const n = 1024
	arrs := topnArrays(b, rng, n)
	rows, types := encodeRows(b, arrs)
	fields := make([]arrow.Field, len(arrs))
	for c, a := range arrs {
		fields[c] = arrow.Field{Name: fmt.Sprintf("c%d", c), Type: a.DataType(), Nullable: true}
	}
	batch := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, n)
	tn := &topNState{plan: &planner.TopNPlan{Ties: []int{0, 2, 6}}, ncols: len(arrs), inTypes: types}
	src := make([]*topRow, n)
	enc := make([]*topRow, n)
	for i := range n {
		src[i] = &topRow{src: batch, idx: i}
		enc[i] = &topRow{row: rows[i]}
	}
	for _, bc := range []struct {
		name string
		rows []*topRow
	}{{"batch", src}, {"encoded", enc}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for k := 0; b.Loop(); k++ {
				tn.compareTop(bc.rows[k%n], bc.rows[(k*7+1)%n])
			}
		})
	}
}

// sortParts orders partitions by their keys, compared or radix sorted,
// with keys that share their first 24 bytes and keys shorter than that.
func TestSortParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{0, 1, 5, radixMinParts - 1, radixMinParts, 5000, 40000} {
		parts := make([]*topPart, n)
		for i := range parts {
			var key []byte
			switch rng.IntN(4) {
			case 0: // a tag and an integer, as a BIGINT partition
				key = binary.BigEndian.AppendUint64([]byte{encPresent}, rng.Uint64N(1000))
			case 1: // two integers
				key = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{encPresent}, rng.Uint64N(50)), rng.Uint64())
			case 2: // a long key sharing its first 24 bytes with others
				key = append(make([]byte, 24), byte(rng.IntN(256)), byte(rng.IntN(3)))
				key[3] = byte(rng.IntN(2))
			default: // short and empty keys
				key = make([]byte, rng.IntN(3))
				for k := range key {
					key[k] = byte(rng.IntN(256))
				}
			}
			parts[i] = &topPart{key: string(key)}
		}
		want := slices.Clone(parts)
		slices.SortStableFunc(want, func(a, b *topPart) int { return strings.Compare(a.key, b.key) })
		sortParts(parts)
		for i := range parts {
			if parts[i].key != want[i].key {
				t.Fatalf("%d partitions: at %d key %x, want %x", n, i, parts[i].key, want[i].key)
			}
		}
	}
}
