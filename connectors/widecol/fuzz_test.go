package widecol

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func FuzzDecodeKey(f *testing.F) {
	for _, k := range keyKinds {
		s := scalar{i: -5, u: 7, f: math.Inf(-1), b: []byte("a\x00b"), d: decimal128.New(-1, 3)}
		f.Add(appendKey(nil, k, &s, false), uint8(k), false)
		f.Add(appendKey(nil, k, &s, true), uint8(k), true)
	}
	f.Add([]byte{0x01, 0x00}, uint8(kString), false)
	f.Add([]byte{0xFF}, uint8(kInt64), true)
	f.Fuzz(func(t *testing.T, data []byte, kb uint8, desc bool) {
		k := kind(kb % uint8(kMaxKind))
		var s scalar
		rest, err := decodeKey(data, k, desc, &s)
		if err != nil {
			return
		}
		if !k.keyable() {
			t.Fatalf("decoded a %s key", k)
		}
		// Decoded values re-encode to something that decodes the same.
		enc := appendKey(nil, k, &s, desc)
		var s2 scalar
		if rest2, err := decodeKey(enc, k, desc, &s2); err != nil || len(rest2) != 0 {
			t.Fatalf("re-decode: %v", err)
		}
		if s.null != s2.null || (!s.null && compareScalars(&s, &s2, k) != 0) {
			t.Fatalf("round trip %+v != %+v", s, s2)
		}
		if len(rest) > len(data) {
			t.Fatal("rest longer than input")
		}
	})
}

func FuzzDecodeValue(f *testing.F) {
	v := appendHeader(nil, 12345)
	v = appendCell(v, 1, kInt64, &scalar{i: 9}, 0)
	v = appendCell(v, 2, kString, &scalar{b: []byte("hi")}, 99)
	v = appendCell(v, 3, kFloat32, &scalar{null: true}, 0)
	v = appendCell(v, 700, kDecimal128, &scalar{d: decimal128.New(1, 2)}, 0)
	f.Add(v)
	f.Add(appendHeader(nil, 0))
	f.Add([]byte{0x00, 0x20})
	f.Add([]byte{0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, cells, err := parseHeader(data)
		if err == nil {
			var c cellRef
			for len(cells) > 0 && err == nil {
				if cells, err = nextCell(cells, &c); err == nil {
					for k := kBool; k < kMaxKind; k++ {
						var s scalar
						_ = decodePayload(&c, k, &s)
					}
				}
			}
		}
		_, _ = rowVisible(data, 100)
		for _, base := range []bool{false, true} {
			out, err := mergeValues([][]byte{data, data}, base, 100)
			if err == nil {
				// A merge result is itself a valid value.
				if _, err := mergeValues([][]byte{out}, base, 100); err != nil {
					t.Fatalf("merge output does not parse: %v", err)
				}
			}
		}
	})
}

// FuzzDecodeRow feeds arbitrary keys and values to the scan decoder of a
// table that uses every type.
func FuzzDecodeRow(f *testing.F) {
	fields := []arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String},
		{Name: "c", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}
	for i, dt := range []arrow.DataType{arrow.FixedWidthTypes.Boolean, arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Uint16,
		arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float32, arrow.BinaryTypes.Binary, arrow.FixedWidthTypes.Date32,
		tsType, &arrow.Decimal128Type{Precision: 10, Scale: 2}, arrow.FixedWidthTypes.MonthDayNanoInterval} {
		fields = append(fields, arrow.Field{Name: string(rune('m' + i)), Type: dt, Nullable: true})
	}
	tb, err := newTable(TableSpec{Keyspace: "f", Name: "t", Schema: arrow.NewSchema(fields, nil),
		PartitionKey: []string{"k"}, Clustering: []ClusteringColumn{{Name: "c", Desc: true}}}, 3)
	if err != nil {
		f.Fatal(err)
	}
	key, _ := tb.appendKeyValues(append([]byte(nil), tb.prefix...), []any{"x", 1.5}, 0)
	val := appendHeader(nil, 0)
	val = appendCell(val, 2, kBool, &scalar{i: 1}, 0)
	val = appendCell(val, 7, kBinary, &scalar{b: []byte{0}}, 0)
	f.Add(key, val)
	f.Add(tb.prefix, []byte{0})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		p, err := newPlan(tb, &ReadOptions{Filter: []Predicate{{Column: "m", Op: OpIsNotNull}}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(k, tb.prefix) {
			k = append(append([]byte(nil), tb.prefix...), k...)
		}
		if ok, err := p.decodeRow(k, v, time.Now().UnixNano()); err == nil && ok {
			blds := p.newBuilders()
			p.appendRow(blds)
			rec := p.finish(blds, 1)
			rec.Release()
			for _, b := range blds {
				b.Release()
			}
		}
	})
}

func FuzzDecodeTableDef(f *testing.F) {
	spec := eventsSpec()
	spec.Schema = arrow.NewSchema(append(spec.Schema.Fields(),
		arrow.Field{Name: "d", Type: &arrow.Decimal128Type{Precision: 20, Scale: 4}, Nullable: true}), nil)
	spec.TTL = time.Hour
	tb, err := newTable(spec, 42)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encodeTableDef(tb))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := decodeTableDef(data)
		if err != nil {
			return
		}
		again, err := decodeTableDef(encodeTableDef(tb))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !again.Schema.Equal(tb.Schema) || again.ID != tb.ID || again.TTL != tb.TTL || again.String() != tb.String() {
			t.Fatal("round trip differs")
		}
	})
}

func FuzzDecodeChunk(f *testing.F) {
	tb, err := newTable(TableSpec{Keyspace: "ks", Name: "f", Schema: chunkSchema(), PartitionKey: []string{"e"}, Clustering: []ClusteringColumn{{Name: "q"}}, AppendOnly: true}, 1)
	if err != nil {
		f.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	rec := makeRecord(f, mem, tb.Schema, [][]any{{"x", 1.5, int64(1), int64(2)}, {nil, nil, int64(1), int64(3)}})
	f.Add(encodeChunk(nil, tb, []arrow.RecordBatch{rec}))
	rec.Release()
	// A chunk of every column encoding: sequences, narrow integers and
	// a dictionary.
	var rows [][]any
	for i := range 64 {
		rows = append(rows, []any{[]any{"a", "bc", nil}[i%3], float64(i), int64(7), int64(100 + 2*i)})
	}
	rows[5][3] = int64(1000)
	rec = makeRecord(f, mem, tb.Schema, rows)
	f.Add(encodeChunk(nil, tb, []arrow.RecordBatch{rec}))
	rec.Release()
	f.Add([]byte{chunkFormat})
	f.Add([]byte{chunkFormat, 0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := decodeChunk(tb, data, mem)
		if err != nil {
			return
		}
		// Whatever decodes can be read row by row.
		cs := &chunkScan{recs: recs}
		defer cs.release()
		for _, r := range recs {
			for i := 0; i < int(r.NumRows()); i++ {
				cs.rowKey(tb, r, i)
				for c := range tb.kinds {
					var sc scalar
					sc.fromArray(r.Column(c), i, tb.kinds[c])
				}
			}
		}
	})
}
