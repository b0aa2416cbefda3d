package widecol

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	randv2 "math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func chunkSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "e", Type: arrow.PrimitiveTypes.Int64},
		{Name: "q", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

func chunkSpecs(name string) (TableSpec, TableSpec) {
	spec := TableSpec{Keyspace: "ks", Name: name, Schema: chunkSchema(), PartitionKey: []string{"e"}, Clustering: []ClusteringColumn{{Name: "q"}}}
	ao := spec
	ao.Name += "_ao"
	ao.AppendOnly = true
	return spec, ao
}

// appendRows makes epochs of rows with ascending (e, q) keys.
func chunkRows(rng *rand.Rand, epoch int64, n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		var s, v any
		if rng.Intn(5) > 0 {
			s = fmt.Sprintf("r%d", rng.Intn(50))
		}
		if rng.Intn(5) > 0 {
			v = float64(rng.Intn(100))
		}
		rows[i] = []any{s, v, epoch, int64(i)}
	}
	return rows
}

// TestAppendOnlyMatchesRowTable writes the same rows to an append-only
// table and to an ordinary one and checks that scans with ranges,
// projections and predicates, and point reads, agree.
func TestAppendOnlyMatchesRowTable(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	mem := checkedAlloc(t)
	spec, aoSpec := chunkSpecs("t")
	rt, err := s.CreateTable(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	at, err := s.CreateTable(ctx, aoSpec)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	for epoch := int64(1); epoch <= 6; epoch++ {
		rows := chunkRows(rng, epoch, rng.Intn(300)+1)
		// Several records per Append, split at random points.
		var recs []arrow.RecordBatch
		for lo := 0; lo < len(rows); {
			hi := min(len(rows), lo+rng.Intn(120)+1)
			recs = append(recs, makeRecord(t, mem, at.Schema, rows[lo:hi]))
			lo = hi
		}
		mustCommit(t, s, func(b *Batch) error {
			for _, r := range recs {
				if err := b.Upsert(rt, r, nil); err != nil {
					return err
				}
			}
			return b.Append(at, recs...)
		})
		for _, r := range recs {
			r.Release()
		}
	}
	check := func(s *Store, at *Table) {
		t.Helper()
		ranges := []Range{
			{},
			{Partition: []any{int64(3)}},
			{Partition: []any{int64(9)}},
			{Partition: []any{int64(2)}, Lower: &Bound{Values: []any{int64(10)}, Inclusive: true}},
			{Partition: []any{int64(4)}, Lower: &Bound{Values: []any{int64(3)}}, Upper: &Bound{Values: []any{int64(40)}}},
			{Partition: []any{int64(5)}, Upper: &Bound{Values: []any{int64(7)}, Inclusive: true}},
		}
		opts := []*ReadOptions{
			nil,
			{Allocator: mem, BatchSize: 7},
			{Allocator: mem, Columns: []string{"q", "s"}},
			{Allocator: mem, Columns: []string{"v", "v"}},
			{Allocator: mem, Filter: []Predicate{{Column: "v", Op: OpGe, Value: float64(50)}}},
			{Allocator: mem, Columns: []string{"e", "q"}, Filter: []Predicate{{Column: "s", Op: OpIsNull}}},
		}
		for i, r := range ranges {
			for j, o := range opts {
				want := scanAll(t, s, rt, r, o)
				got := scanAll(t, s, at, r, o)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("range %d options %d: append-only scan has %d rows, row table %d\ngot  %v\nwant %v", i, j, len(got), len(want), got, want)
				}
			}
		}
		for _, key := range [][]any{{int64(1), int64(0)}, {int64(6), int64(0)}, {int64(3), int64(5)}, {int64(2), int64(100000)}, {int64(99), int64(0)}} {
			want, werr := s.GetRow(ctx, rt, key)
			got, gerr := s.GetRow(ctx, at, key)
			if errors.Is(werr, ErrNotFound) != errors.Is(gerr, ErrNotFound) || !reflect.DeepEqual(got, want) {
				t.Fatalf("get %v: append-only %v %v, row table %v %v", key, got, gerr, want, werr)
			}
		}
	}
	check(s, at)
	// The table stays append-only after a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, fs, nil)
	defer s.Close()
	if at, err = s.Table("ks", "t_ao"); err != nil || !at.AppendOnly {
		t.Fatalf("reopened table: %v, append-only %v", err, at != nil && at.AppendOnly)
	}
	if rt, err = s.Table("ks", "t"); err != nil || rt.AppendOnly {
		t.Fatalf("reopened row table: %v", err)
	}
	check(s, at)
}

func TestAppendOnlyRefusals(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, nil)
	defer s.Close()
	mem := memory.NewGoAllocator()
	_, aoSpec := chunkSpecs("t")
	at, err := s.CreateTable(ctx, aoSpec)
	if err != nil {
		t.Fatal(err)
	}
	rec := makeRecord(t, mem, at.Schema, [][]any{{"a", 1.0, int64(1), int64(0)}})
	defer rec.Release()
	mustCommit(t, s, func(b *Batch) error { return b.Append(at, rec) })
	partial := rec.NewSlice(0, 1)
	defer partial.Release()
	ops := map[string]func(b *Batch) error{
		"delete row":   func(b *Batch) error { return b.DeleteRow(at, []any{int64(1), int64(0)}) },
		"delete":       func(b *Batch) error { return b.Delete(at, rec) },
		"upsert row":   func(b *Batch) error { return b.UpsertRow(at, Row{"e": int64(2), "q": int64(0)}, nil) },
		"delete range": func(b *Batch) error { return b.DeleteRange(at, Range{Partition: []any{int64(1)}}) },
	}
	for name, op := range ops {
		b := s.NewBatch()
		err := op(b)
		if !errors.Is(err, ErrAppendOnly) {
			t.Errorf("%s: got %v, want ErrAppendOnly", name, err)
		}
		if cerr := b.Commit(ctx); !errors.Is(cerr, ErrAppendOnly) {
			t.Errorf("%s: commit of a poisoned batch: %v", name, cerr)
		}
		b.Close()
	}
	// A record without every column, in order, is a schema mismatch.
	sub := makeRecord(t, mem, arrow.NewSchema([]arrow.Field{{Name: "e", Type: arrow.PrimitiveTypes.Int64}, {Name: "q", Type: arrow.PrimitiveTypes.Int64}}, nil),
		[][]any{{int64(2), int64(0)}})
	defer sub.Release()
	b := s.NewBatch()
	if err := b.Upsert(at, sub, nil); !errors.Is(err, ErrSchemaMismatch) {
		t.Errorf("partial upsert: %v", err)
	}
	b.Close()
	if _, err := s.CreateTable(ctx, TableSpec{Keyspace: "ks", Name: "ttl", Schema: chunkSchema(), PartitionKey: []string{"e"}, AppendOnly: true, TTL: 1e9}); err == nil {
		t.Error("an append-only table with a TTL was created")
	}
	// Nothing refused was written; deleting all rows works.
	if rows := scanAll(t, s, at, Range{}, nil); len(rows) != 1 {
		t.Fatalf("rows after refusals: %v", rows)
	}
	mustCommit(t, s, func(b *Batch) error { return b.DeleteRange(at, Range{}) })
	if rows := scanAll(t, s, at, Range{}, nil); len(rows) != 0 {
		t.Fatalf("rows after delete of all: %v", rows)
	}
}

// TestAppendOnlyLargeAppend checks that an Append beyond maxChunkRows is
// split into chunks that read back whole.
func TestAppendOnlyLargeAppend(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, nil)
	defer s.Close()
	mem := checkedAlloc(t)
	_, aoSpec := chunkSpecs("big")
	at, err := s.CreateTable(ctx, aoSpec)
	if err != nil {
		t.Fatal(err)
	}
	n := maxChunkRows*2 + 17
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{nil, float64(i), int64(1), int64(i)}
	}
	rec := makeRecord(t, mem, at.Schema, rows)
	mustCommit(t, s, func(b *Batch) error { return b.Append(at, rec) })
	rec.Release()
	got := scanAll(t, s, at, Range{}, &ReadOptions{Allocator: mem, Columns: []string{"q"}, BatchSize: 5000})
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for i, r := range got {
		if r[0] != int64(i) {
			t.Fatalf("row %d is %v", i, r)
		}
	}
	row, err := s.GetRow(ctx, at, []any{int64(1), int64(maxChunkRows + 3)})
	if err != nil || row["v"] != float64(maxChunkRows+3) {
		t.Fatalf("get across chunks: %v %v", row, err)
	}
}

func TestAppendOnlyCorruptChunk(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, nil)
	defer s.Close()
	_, aoSpec := chunkSpecs("c")
	at, err := s.CreateTable(ctx, aoSpec)
	if err != nil {
		t.Fatal(err)
	}
	key := append(append([]byte(nil), at.prefix...), 0x01)
	if err := s.db.Set(key, []byte{chunkFormat, 1, 2, 3}, nil); err != nil {
		t.Fatal(err)
	}
	it, err := s.Scan(ctx, at, Range{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if _, err := it.Next(ctx); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("scan of a corrupt chunk: %v", err)
	}
}

// TestAppendOnlyLargeChunksCrash writes chunks large enough to be kept
// apart from their keys (value separation), flushes and compacts between
// writes, and checks after simulated crashes that every acknowledged
// chunk reads back whole and nothing partial appears.
func TestAppendOnlyLargeChunksCrash(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewCrashableMem()
	s := openTest(t, fs, &Options{Sync: SyncEveryBatch})
	mem := memory.NewGoAllocator()
	_, aoSpec := chunkSpecs("big")
	at, err := s.CreateTable(ctx, aoSpec)
	if err != nil {
		t.Fatal(err)
	}
	const rowsPerChunk = 500
	rng := rand.New(rand.NewSource(7))
	check := func(fs vfs.FS, acked int) {
		t.Helper()
		s2 := openTest(t, fs, nil)
		defer s2.Close()
		t2, err := s2.Table("ks", "big_ao")
		if err != nil {
			t.Fatal(err)
		}
		counts := map[int64]int{}
		for _, r := range scanAll(t, s2, t2, Range{}, &ReadOptions{Columns: []string{"e", "s"}}) {
			if r[1] != fmt.Sprintf("row-%d-%s", r[0], strings.Repeat("p", 40)) {
				t.Fatalf("bad row %v", r)
			}
			counts[r[0].(int64)]++
		}
		for e, c := range counts {
			if c != rowsPerChunk {
				t.Fatalf("chunk %d has %d rows", e, c)
			}
		}
		for e := int64(0); e < int64(acked); e++ {
			if counts[e] != rowsPerChunk {
				t.Fatalf("acknowledged chunk %d lost (acked %d)", e, acked)
			}
		}
	}
	for e := int64(0); e < 40; e++ {
		rows := make([][]any, rowsPerChunk)
		for i := range rows {
			rows[i] = []any{fmt.Sprintf("row-%d-%s", e, strings.Repeat("p", 40)), float64(i), e, int64(i)}
		}
		rec := makeRecord(t, mem, at.Schema, rows)
		mustCommit(t, s, func(b *Batch) error { return b.Append(at, rec) })
		rec.Release()
		switch rng.Intn(4) {
		case 0:
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := s.Compact(ctx, at); err != nil {
				t.Fatal(err)
			}
		}
		if e%10 == 9 {
			check(fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: randv2.New(randv2.NewPCG(uint64(e), 1))}), int(e)+1)
		}
	}
	// The chunks were kept apart from their keys, in blob files.
	names, err := fs.List("db")
	if err != nil {
		t.Fatal(err)
	}
	blobs := 0
	for _, n := range names {
		if strings.HasSuffix(n, ".blob") {
			blobs++
		}
	}
	if blobs == 0 {
		t.Errorf("no blob files among %v", names)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(fs, 40)
}

// encodingSchema has a column for each chunk encoding: a row number
// (sequence), an epoch (constant), narrow and wide integers, a timestamp,
// a string with few values (dictionary) and one with many (plain).
func encodingSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
		{Name: "epoch", Type: arrow.PrimitiveTypes.Int64},
		{Name: "small", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "wide", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "text", Type: arrow.BinaryTypes.String},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint64},
	}, nil)
}

func encodingRows(rng *rand.Rand, n int, spread int64) [][]any {
	rows := make([][]any, n)
	labels := []string{"Apple", "Google", "", "channel-17", strings.Repeat("x", 300)}
	for i := range rows {
		var small, label any
		if rng.Intn(7) > 0 {
			small = int64(-5 + rng.Int63n(spread))
		}
		if rng.Intn(9) > 0 {
			label = labels[(i/7+rng.Intn(2))%len(labels)] // runs and changes
		}
		rows[i] = []any{int64(1000 + 3*i), int64(42), small, rng.Int63() - rng.Int63(),
			time.UnixMicro(1_700_000_000_000_000 + int64(i)*7 + rng.Int63n(5)).UTC(), label,
			fmt.Sprintf("t%d", rng.Int63()), uint64(math.MaxUint64 - uint64(rng.Intn(3)))}
	}
	return rows
}

// TestChunkEncodingsRoundTrip encodes records that exercise every column
// encoding (and plain fallbacks, NULLs, sliced arrays) and checks that
// they decode to the same values, and that chunks of the first format
// (plain columns only) still decode.
func TestChunkEncodingsRoundTrip(t *testing.T) {
	tb, err := newTable(TableSpec{Keyspace: "ks", Name: "enc", Schema: encodingSchema(), PartitionKey: []string{"epoch"},
		Clustering: []ClusteringColumn{{Name: "seq"}}, AppendOnly: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	mem := checkedAlloc(t)
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		n      int
		spread int64
	}{{1, 10}, {2, 10}, {15, 10}, {100, 200}, {1000, 60000}, {5000, 1 << 30}, {3000, 1 << 40}} {
		rec := makeRecord(t, mem, tb.Schema, encodingRows(rng, tc.n+3, tc.spread))
		sl := rec.NewSlice(2, int64(tc.n+2)) // non-zero array offsets
		recs := []arrow.RecordBatch{sl, rec}
		want := chunkRecordRows(recs)
		enc := new(chunkEncoder)
		size := enc.plan(tb, recs)
		v := enc.write(nil, tb, recs)
		if len(v) != size {
			t.Fatalf("n=%d: encoded %d bytes, planned %d", tc.n, len(v), size)
		}
		check := func(what string, v []byte) {
			got, err := decodeChunk(tb, v, mem)
			if err != nil {
				t.Fatalf("n=%d %s: %v", tc.n, what, err)
			}
			if g := chunkRecordRows(got); !reflect.DeepEqual(g, want) {
				t.Fatalf("n=%d %s: round trip differs", tc.n, what)
			}
			for _, r := range got {
				r.Release()
			}
		}
		check("encoded", v)
		if tc.n >= 1000 {
			used := map[int]bool{}
			for _, p := range enc.plans {
				used[p.enc] = true
			}
			for e := range numEncodings {
				if !used[e] {
					t.Errorf("n=%d: encoding %d not used", tc.n, e)
				}
			}
		}
		// The same rows in the first format: plain columns only.
		for i := range enc.plans {
			enc.plans[i].enc = encPlain
		}
		v1 := enc.write(nil, tb, recs)
		v1[0] = chunkFormatV1
		check("format 1", v1)
		// A format 1 chunk may not use the later encodings.
		v[0] = chunkFormatV1
		if tc.n >= 1000 {
			if got, err := decodeChunk(tb, v, mem); err == nil {
				for _, r := range got {
					r.Release()
				}
				t.Fatalf("n=%d: format 1 chunk with encoded columns decoded", tc.n)
			}
		}
		sl.Release()
		rec.Release()
	}
}

// chunkRecordRows returns the rows of recs as Go values.
func chunkRecordRows(recs []arrow.RecordBatch) [][]any {
	var out [][]any
	for _, r := range recs {
		for i := 0; i < int(r.NumRows()); i++ {
			row := make([]any, r.NumCols())
			for c := range row {
				col := r.Column(c)
				if col.IsNull(i) {
					continue
				}
				row[c] = col.GetOneForMarshal(i)
			}
			out = append(out, row)
		}
	}
	return out
}
