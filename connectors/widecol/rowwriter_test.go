package widecol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/cockroachdb/pebble/v2"
)

// kindsSpec has a column of every kind, its key columns in the middle and
// at the end: partition k, then c descending and a nullable seq.
func kindsSpec(name string, ttl time.Duration) TableSpec {
	return TableSpec{Keyspace: "kinds", Name: name, TTL: ttl,
		Schema: arrow.NewSchema([]arrow.Field{
			{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
			{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
			{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
			{Name: "k", Type: arrow.BinaryTypes.String},
			{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
			{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
			{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
			{Name: "c", Type: arrow.PrimitiveTypes.Int32},
			{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
			{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
			{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
			{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
			{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
			{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
			{Name: "ts", Type: tsType, Nullable: true},
			{Name: "dec", Type: &arrow.Decimal128Type{Precision: 20, Scale: 2}, Nullable: true},
			{Name: "iv", Type: arrow.FixedWidthTypes.MonthDayNanoInterval, Nullable: true},
			{Name: "i64n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "seq", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, nil),
		PartitionKey: []string{"k"},
		Clustering:   []ClusteringColumn{{Name: "c", Desc: true}, {Name: "seq"}},
	}
}

// kindsRows returns n rows of kindsSpec with distinct keys, about a
// quarter of the nullable cells NULL.
func kindsRows(rng *rand.Rand, n int) [][]any {
	rows := make([][]any, n)
	for r := range rows {
		row := []any{rng.Intn(2) == 0, int8(rng.Intn(256) - 128), int16(rng.Intn(1 << 16)), fmt.Sprintf("p%d", r%3),
			int32(rng.Uint32()), rng.Int63() - rng.Int63(), uint8(rng.Intn(256)), int32(r),
			uint16(rng.Intn(1 << 16)), rng.Uint32(), rng.Uint64(), rng.Float32() - 0.5, rng.NormFloat64(),
			strings.Repeat("é\x00s", rng.Intn(50)), []byte{byte(r), 0, 255}, arrow.Date32(rng.Int31() - rng.Int31()),
			arrow.Timestamp(rng.Int63() - rng.Int63()), decimal128.New(rng.Int63()-rng.Int63(), rng.Uint64()),
			arrow.MonthDayNanoInterval{Months: rng.Int31(), Days: -rng.Int31(), Nanoseconds: rng.Int63()},
			rng.Int63(), int64(r % 4)}
		for c, f := range kindsSpec("", 0).Schema.Fields() {
			if f.Nullable && rng.Intn(4) == 0 {
				row[c] = nil
			}
		}
		rows[r] = row
	}
	return rows
}

// rawRows returns the stored keys, without the table prefix, and values
// of tb's rows.
func rawRows(t *testing.T, s *Store, tb *Table) [][2][]byte {
	t.Helper()
	lo, hi := tb.prefix, prefixEnd(tb.prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][2][]byte
	for it.First(); it.Valid(); it.Next() {
		out = append(out, [2][]byte{bytes.Clone(it.Key()[len(lo):]), bytes.Clone(it.Value())})
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

// setRow sets the columns of a row with a RowWriter.
type setRow func(w *RowWriter, rec arrow.RecordBatch, r int) error

// goValue returns cell (r, c) of rec as a Go value Set takes.
func goValue(rec arrow.RecordBatch, r, c int) any {
	var sc scalar
	k := kindOf(rec.Column(c).DataType())
	sc.fromArray(rec.Column(c), r, k)
	return sc.toGo(k)
}

// Rows written with a RowWriter are stored byte for byte as Upsert stores
// them from a record, whatever the order the columns are set in, however
// they are given, however often, and with any expiry.
func TestRowWriterEncoding(t *testing.T) {
	mem := checkedAlloc(t)
	clock := &fakeClock{t: time.Unix(1000, 0)}
	s := openTest(t, nil, &Options{Now: clock.Now})
	defer s.Close()
	rows := kindsRows(rand.New(rand.NewSource(1)), 300)
	n := len(rows[0])
	schema := kindsSpec("", 0).Schema
	rec := makeRecord(t, mem, schema, rows)
	defer rec.Release()
	perm := rand.New(rand.NewSource(2))
	fromArray := func(w *RowWriter, rec arrow.RecordBatch, r, c int) error { return w.FromArray(c, rec.Column(c), r) }
	ways := []struct {
		name string
		set  setRow
	}{
		{"in order", func(w *RowWriter, rec arrow.RecordBatch, r int) error {
			for c := range n {
				if err := fromArray(w, rec, r, c); err != nil {
					return err
				}
			}
			return nil
		}},
		{"in reverse", func(w *RowWriter, rec arrow.RecordBatch, r int) error {
			for c := n - 1; c >= 0; c-- {
				if err := fromArray(w, rec, r, c); err != nil {
					return err
				}
			}
			return nil
		}},
		{"shuffled, some twice", func(w *RowWriter, rec arrow.RecordBatch, r int) error {
			for _, c := range perm.Perm(n) {
				if perm.Intn(3) == 0 { // first another row's cell, or NULL
					var err error
					if perm.Intn(2) == 0 {
						err = fromArray(w, rec, (r+1)%int(rec.NumRows()), c)
					} else {
						err = w.Set(c, nil)
					}
					if err != nil {
						return err
					}
				}
				if err := fromArray(w, rec, r, c); err != nil {
					return err
				}
			}
			return nil
		}},
		{"in order, the last twice", func(w *RowWriter, rec arrow.RecordBatch, r int) error {
			for c := range n {
				if err := fromArray(w, rec, r, c); err != nil {
					return err
				}
			}
			return w.Set(n-2, goValue(rec, r, n-2))
		}},
		{"as Go values", func(w *RowWriter, rec arrow.RecordBatch, r int) error {
			for c := range n {
				if err := w.Set(c, goValue(rec, r, c)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"mixed", func(w *RowWriter, rec arrow.RecordBatch, r int) error {
			for c := range n {
				var err error
				switch v := goValue(rec, r, c).(type) {
				case int64:
					err = w.SetInt64(c, v)
				case string:
					err = w.Set(c, v)
				default:
					err = fromArray(w, rec, r, c)
				}
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"one array per row", func(w *RowWriter, rec arrow.RecordBatch, r int) error {
			// Arrays change every row, with and without NULLs.
			one := rec.NewSlice(int64(r), int64(r+1))
			defer one.Release()
			for c := range n {
				if err := fromArray(w, one, 0, c); err != nil {
					return err
				}
			}
			// A key column refers to its array until Write.
			return w.Set(3, goValue(rec, r, 3))
		}},
	}
	for _, exp := range []struct {
		name string
		ttl  time.Duration
		o    *WriteOptions
	}{
		{"no TTL", 0, nil},
		{"table TTL", time.Minute, nil},
		{"write TTL", time.Minute, &WriteOptions{TTL: time.Hour}},
		{"no expiry", time.Minute, &WriteOptions{TTL: -1}},
	} {
		t.Run(exp.name, func(t *testing.T) {
			ref, err := s.CreateTable(ctx, kindsSpec(exp.name, exp.ttl))
			if err != nil {
				t.Fatal(err)
			}
			mustCommit(t, s, func(b *Batch) error { return b.Upsert(ref, rec, exp.o) })
			want := rawRows(t, s, ref)
			if len(want) != len(rows) {
				t.Fatalf("%d rows stored, want %d", len(want), len(rows))
			}
			wantRows := scanAll(t, s, ref, Range{}, &ReadOptions{Allocator: mem})
			for i, way := range ways {
				tb, err := s.CreateTable(ctx, kindsSpec(fmt.Sprintf("%s %d", exp.name, i), exp.ttl))
				if err != nil {
					t.Fatal(err)
				}
				mustCommit(t, s, func(b *Batch) error {
					w, err := b.Rows(tb, exp.o)
					if err != nil {
						return err
					}
					for r := range int(rec.NumRows()) {
						if err := way.set(w, rec, r); err != nil {
							return err
						}
						if err := w.Write(); err != nil {
							return err
						}
					}
					return nil
				})
				got := rawRows(t, s, tb)
				if len(got) != len(want) {
					t.Fatalf("%s: %d rows stored, want %d", way.name, len(got), len(want))
				}
				for j := range got {
					if !bytes.Equal(got[j][0], want[j][0]) || !bytes.Equal(got[j][1], want[j][1]) {
						t.Fatalf("%s: row %d stored as\nkey %x\nval %x\nwant\nkey %x\nval %x", way.name, j,
							got[j][0], got[j][1], want[j][0], want[j][1])
					}
				}
				if gotRows := scanAll(t, s, tb, Range{}, &ReadOptions{Allocator: mem}); !reflect.DeepEqual(gotRows, wantRows) {
					t.Fatalf("%s: read back\n got %v\nwant %v", way.name, gotRows, wantRows)
				}
			}
		})
	}
}

// The encoding of a row written with a RowWriter, spelled out.
func TestRowWriterBytes(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	s := openTest(t, nil, &Options{Now: clock.Now})
	defer s.Close()
	tb, err := s.CreateTable(ctx, TableSpec{Keyspace: "ks", Name: "t",
		Schema: arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "a", Type: arrow.PrimitiveTypes.Int64},
			{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		}, nil),
		PartitionKey: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range []*WriteOptions{nil, {TTL: time.Minute}} {
		mustCommit(t, s, func(b *Batch) error {
			w, err := b.Rows(tb, o)
			if err != nil {
				return err
			}
			w.SetInt64(0, int64(i+1))
			w.SetInt64(1, 5)
			w.Set(2, "hi")
			w.Set(3, nil)
			return w.Write()
		})
	}
	// key: value marker, id sign-flipped big-endian; value: header, then
	// a (tag 1<<5|4<<2, 8 bytes) and s (tag 2<<5, length, bytes); n, NULL,
	// has no cell. Expiring at 1000s+1m, the header flags it and each
	// cell has it.
	got := rawRows(t, s, tb)
	want := []string{
		"01" + "8000000000000001", "00" + "30" + "0500000000000000" + "40" + "02" + "6869",
		"01" + "8000000000000002", "01" + "0068ecccf6000000" + "32" + "0068ecccf6000000" + "0500000000000000" + "42" + "0068ecccf6000000" + "02" + "6869",
	}
	if len(got) != 2 {
		t.Fatalf("%d rows stored", len(got))
	}
	for i, kv := range got {
		if k, v := hex.EncodeToString(kv[0]), hex.EncodeToString(kv[1]); k != want[2*i] || v != want[2*i+1] {
			t.Errorf("row %d: key %s value %s, want key %s value %s", i, k, v, want[2*i], want[2*i+1])
		}
	}
}

// A RowWriter's errors: a wrong type, a column not set, a NULL in a NOT
// NULL column, each reported for the first column at fault, and each
// failing the batch.
func TestRowWriterErrors(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb, err := s.CreateTable(ctx, kindsSpec("errors", 0))
	if err != nil {
		t.Fatal(err)
	}
	rows := kindsRows(rand.New(rand.NewSource(3)), 4)
	rows[1][1], rows[1][13] = nil, nil // i8, s
	rec := makeRecord(t, mem, tb.Schema, rows)
	defer rec.Release()
	n := len(rows[0])
	fields := kindsSpec("", 0).Schema.Fields() // a copy
	for i := range fields {
		fields[i].Nullable = true
	}
	withNulls := makeRecord(t, mem, arrow.NewSchema(fields, nil), [][]any{make([]any, n)})
	defer withNulls.Release()
	nsType := &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	nsRec := makeRecord(t, mem, arrow.NewSchema([]arrow.Field{{Name: "ts", Type: nsType}}, nil), [][]any{{arrow.Timestamp(1)}})
	defer nsRec.Release()

	setAll := func(w *RowWriter, r int, skip ...int) {
		for c := range n {
			if !slices.Contains(skip, c) {
				if err := w.FromArray(c, rec.Column(c), r); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, c := range []struct {
		name string
		do   func(w *RowWriter) error
		want string
	}{
		{"int64 array for a string column", func(w *RowWriter) error {
			return w.FromArray(3, rec.Column(5), 0)
		}, `column "k": got type int64, want utf8`},
		{"int64 array for a timestamp column", func(w *RowWriter) error {
			return w.FromArray(16, rec.Column(5), 0)
		}, `column "ts": got type int64`},
		{"timestamp of another unit after a good one", func(w *RowWriter) error {
			if err := w.FromArray(16, rec.Column(16), 0); err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
			return w.FromArray(16, nsRec.Column(0), 0)
		}, `column "ts": got type timestamp[ns, tz=UTC], want timestamp[us, tz=UTC]`},
		{"decimal array for an interval column", func(w *RowWriter) error {
			return w.FromArray(18, rec.Column(17), 0)
		}, `column "iv": got type decimal`},
		{"Go value of a wrong type", func(w *RowWriter) error {
			return w.Set(13, 5)
		}, `column "s": value 5 (int) does not fit type utf8`},
		{"SetInt64 out of range of an int8 column", func(w *RowWriter) error {
			return w.SetInt64(1, 300)
		}, `column "i8": value 300`},
		{"columns not set", func(w *RowWriter) error {
			setAll(w, 0, 4, 7)
			return w.Write()
		}, `column "i32" not set`},
		{"a row after a written one, partly set", func(w *RowWriter) error {
			setAll(w, 0)
			if err := w.Write(); err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
			setAll(w, 1, 20)
			return w.Write()
		}, `column "seq" not set`},
		{"NULL key column from an array", func(w *RowWriter) error {
			setAll(w, 0)
			w.FromArray(3, withNulls.Column(3), 0)
			return w.Write()
		}, `column "k": NULL in a NOT NULL column`},
		{"NULL value column from an array", func(w *RowWriter) error {
			setAll(w, 0)
			w.FromArray(5, withNulls.Column(5), 0)
			return w.Write()
		}, `column "i64": NULL in a NOT NULL column`},
		{"NULL as a Go value, first at fault", func(w *RowWriter) error {
			setAll(w, 0, 20)
			w.Set(7, nil)
			w.Set(5, nil)
			return w.Write()
		}, `column "i64": NULL in a NOT NULL column`},
		{"NULL replaced, then not", func(w *RowWriter) error {
			setAll(w, 0)
			w.Set(5, nil)
			w.SetInt64(5, 1)
			w.FromArray(3, withNulls.Column(3), 0)
			w.Set(3, "x")
			w.Set(7, 3)
			w.FromArray(7, withNulls.Column(7), 0)
			return w.Write()
		}, `column "c": NULL in a NOT NULL column`},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := s.NewBatch()
			defer b.Close()
			w, err := b.Rows(tb, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.do(w)
			if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %s", err, c.want)
			}
			if err := w.Write(); !errors.Is(err, ErrSchemaMismatch) {
				t.Fatalf("writing after an error: %v", err)
			}
			if err := b.Commit(ctx); !errors.Is(err, ErrSchemaMismatch) {
				t.Fatalf("commit after an error: %v", err)
			}
		})
	}
	if got := rawRows(t, s, tb); len(got) != 0 {
		t.Fatalf("%d rows stored by failed batches", len(got))
	}

	// NULLs replaced before Write are no error; NULLs in nullable columns,
	// from arrays with NULLs, are none either.
	b := s.NewBatch()
	defer b.Close()
	w, err := b.Rows(tb, nil)
	if err != nil {
		t.Fatal(err)
	}
	for c := range n {
		if err := w.FromArray(c, withNulls.Column(c), 0); err != nil {
			t.Fatal(err)
		}
	}
	w.SetInt64(5, 7)
	w.Set(3, "k")
	w.FromArray(7, rec.Column(7), 0)
	if err := w.Write(); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, s, tb, Range{}, &ReadOptions{Allocator: mem})
	want := make([]any, n)
	want[3], want[5], want[7] = "k", int64(7), rows[0][7]
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("row of NULLs: got %v, want %v", got, [][]any{want})
	}
}
