package widecol

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

var ctx = context.Background()

var tsType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// eventsSpec: partition (user), clustering (ts DESC, seq ASC NULLs last).
func eventsSpec() TableSpec {
	return TableSpec{
		Keyspace: "app", Name: "events",
		Schema: arrow.NewSchema([]arrow.Field{
			{Name: "user", Type: arrow.BinaryTypes.String},
			{Name: "ts", Type: tsType},
			{Name: "seq", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		}, nil),
		PartitionKey: []string{"user"},
		Clustering:   []ClusteringColumn{{Name: "ts", Desc: true}, {Name: "seq"}},
	}
}

func ts(i int64) arrow.Timestamp { return arrow.Timestamp(i) }

func seedEvents(t *testing.T, s *Store, mem memory.Allocator) *Table {
	t.Helper()
	tb, err := s.CreateTable(ctx, eventsSpec())
	if err != nil {
		t.Fatal(err)
	}
	rec := makeRecord(t, mem, tb.Schema, [][]any{
		{"bob", ts(1), int64(1), int64(10), "x"},
		{"bob", ts(2), int64(1), int64(20), nil},
		{"bob", ts(2), nil, int64(21), "n"},
		{"bob", ts(2), int64(0), int64(22), "z"},
		{"al\x00ice", ts(5), int64(1), nil, "a"},
		{"al", ts(5), int64(1), int64(7), "b"},
	})
	defer rec.Release()
	mustCommit(t, s, func(b *Batch) error { return b.Upsert(tb, rec, nil) })
	return tb
}

func TestUpsertScanGet(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)

	got := scanAll(t, s, tb, Range{Partition: []any{"bob"}}, &ReadOptions{Allocator: mem, BatchSize: 2})
	want := [][]any{
		{"bob", ts(2), int64(0), int64(22), "z"},
		{"bob", ts(2), int64(1), int64(20), nil},
		{"bob", ts(2), nil, int64(21), "n"},
		{"bob", ts(1), int64(1), int64(10), "x"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("partition scan:\n got %v\nwant %v", got, want)
	}
	// Whole table: partitions in key order; "al" < "al\x00ice" < "bob".
	all := scanAll(t, s, tb, Range{}, &ReadOptions{Allocator: mem, Columns: []string{"s", "user"}})
	wantAll := [][]any{{"b", "al"}, {"a", "al\x00ice"}, {"z", "bob"}, {nil, "bob"}, {"n", "bob"}, {"x", "bob"}}
	if !reflect.DeepEqual(all, wantAll) {
		t.Fatalf("table scan:\n got %v\nwant %v", all, wantAll)
	}
	// Point get.
	rec, err := s.Get(ctx, tb, []any{"bob", ts(2), nil}, &ReadOptions{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	if r := recordRows(rec); !reflect.DeepEqual(r, [][]any{{"bob", ts(2), nil, int64(21), "n"}}) {
		t.Fatalf("get: %v", r)
	}
	rec.Release()
	if _, err := s.Get(ctx, tb, []any{"bob", ts(3), int64(1)}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := s.Get(ctx, tb, []any{"bob"}, nil); !errors.Is(err, ErrBadKey) {
		t.Fatalf("short key: %v", err)
	}
	row, err := s.GetRow(ctx, tb, []any{"al\x00ice", ts(5), 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(row, Row{"user": "al\x00ice", "ts": ts(5), "seq": int64(1), "s": "a"}) {
		t.Fatalf("get row: %v", row)
	}
}

func TestClusteringRanges(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)
	seqs := func(r Range) []any {
		var out []any
		for _, row := range scanAll(t, s, tb, r, &ReadOptions{Allocator: mem, Columns: []string{"a"}}) {
			out = append(out, row[0])
		}
		return out
	}
	p := []any{"bob"}
	cases := []struct {
		name string
		r    Range
		want []any
	}{
		{"prefix ts=2", Range{Partition: p, Lower: &Bound{[]any{ts(2)}, true}, Upper: &Bound{[]any{ts(2)}, true}}, []any{int64(22), int64(20), int64(21)}},
		// Descending ts: "after ts=2" in clustering order means ts < 2.
		{"exclusive lower", Range{Partition: p, Lower: &Bound{[]any{ts(2)}, false}}, []any{int64(10)}},
		{"exclusive upper", Range{Partition: p, Upper: &Bound{[]any{ts(1)}, false}}, []any{int64(22), int64(20), int64(21)}},
		{"tuple bounds", Range{Partition: p, Lower: &Bound{[]any{ts(2), 1}, true}, Upper: &Bound{[]any{ts(1), 1}, false}}, []any{int64(20), int64(21)}},
		{"empty", Range{Partition: p, Lower: &Bound{[]any{ts(9)}, true}, Upper: &Bound{[]any{ts(8)}, true}}, nil},
	}
	for _, c := range cases {
		if got := seqs(c.r); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v want %v", c.name, got, c.want)
		}
	}
	if _, err := s.Scan(ctx, tb, Range{Lower: &Bound{[]any{ts(1)}, true}}, nil); !errors.Is(err, ErrBadKey) {
		t.Errorf("bounds without partition: %v", err)
	}
	if _, err := s.Scan(ctx, tb, Range{Partition: []any{42}}, nil); !errors.Is(err, ErrBadKey) {
		t.Errorf("wrong key type: %v", err)
	}
}

func TestPredicates(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)
	count := func(ps ...Predicate) int {
		return len(scanAll(t, s, tb, Range{}, &ReadOptions{Allocator: mem, Filter: ps, Columns: []string{"user"}}))
	}
	cases := []struct {
		p    Predicate
		want int
	}{
		{Predicate{"a", OpEq, 20}, 1},
		{Predicate{"a", OpNe, 20}, 4}, // NULL a is excluded
		{Predicate{"a", OpLt, 20}, 2},
		{Predicate{"a", OpLe, 20}, 3},
		{Predicate{"a", OpGt, 20}, 2},
		{Predicate{"a", OpGe, 20}, 3},
		{Predicate{"a", OpIsNull, nil}, 1},
		{Predicate{"s", OpIsNull, nil}, 1},
		{Predicate{"s", OpIsNotNull, nil}, 5},
		{Predicate{"seq", OpIsNull, nil}, 1},
		{Predicate{"user", OpEq, "bob"}, 4},
		{Predicate{"ts", OpGe, ts(2)}, 5},
		{Predicate{"a", OpEq, nil}, 0},
	}
	for _, c := range cases {
		if got := count(c.p); got != c.want {
			t.Errorf("%s %s %v: %d rows, want %d", c.p.Column, c.p.Op, c.p.Value, got, c.want)
		}
	}
	if got := count(Predicate{"user", OpEq, "bob"}, Predicate{"a", OpGt, 20}); got != 2 {
		t.Errorf("conjunction: %d", got)
	}
	for _, bad := range []Predicate{{"nope", OpEq, 1}, {"a", OpEq, "str"}, {"a", Op(99), 1}} {
		if _, err := s.Scan(ctx, tb, Range{}, &ReadOptions{Filter: []Predicate{bad}}); !errors.Is(err, ErrBadPredicate) {
			t.Errorf("bad predicate %+v: %v", bad, err)
		}
	}
}

func TestPartialUpsertKeepsOtherCells(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)
	key := []any{"bob", ts(1), int64(1)}
	sub := arrow.NewSchema([]arrow.Field{tb.Schema.Field(1), tb.Schema.Field(0), tb.Schema.Field(2), tb.Schema.Field(4)}, nil)
	rec := makeRecord(t, mem, sub, [][]any{{ts(1), "bob", int64(1), "updated"}})
	mustCommit(t, s, func(b *Batch) error { return b.Upsert(tb, rec, nil) })
	rec.Release()
	row, err := s.GetRow(ctx, tb, key)
	if err != nil {
		t.Fatal(err)
	}
	if row["a"] != int64(10) || row["s"] != "updated" {
		t.Fatalf("after partial upsert: %v", row)
	}
	// An explicit NULL overwrites; an upsert of a new row with a subset
	// creates it with the other cells absent.
	mustCommit(t, s, func(b *Batch) error {
		if err := b.UpsertRow(tb, Row{"user": "bob", "ts": ts(1), "seq": 1, "a": nil}, nil); err != nil {
			return err
		}
		return b.UpsertRow(tb, Row{"user": "new", "ts": ts(1), "seq": 1, "s": "only"}, nil)
	})
	if row, _ = s.GetRow(ctx, tb, key); !reflect.DeepEqual(row, Row{"user": "bob", "ts": ts(1), "seq": int64(1), "s": "updated"}) {
		t.Fatalf("after NULL upsert: %v", row)
	}
	if row, _ = s.GetRow(ctx, tb, []any{"new", ts(1), 1}); row["s"] != "only" || row["a"] != nil {
		t.Fatalf("new partial row: %v", row)
	}
	// Flush and compact so merges are resolved in sstables too.
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx, tb); err != nil {
		t.Fatal(err)
	}
	if row, _ = s.GetRow(ctx, tb, key); !reflect.DeepEqual(row, Row{"user": "bob", "ts": ts(1), "seq": int64(1), "s": "updated"}) {
		t.Fatalf("after compaction: %v", row)
	}
}

func TestMismatchWritesNothing(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb, err := s.CreateTable(ctx, eventsSpec())
	if err != nil {
		t.Fatal(err)
	}
	good := makeRecord(t, mem, tb.Schema, [][]any{{"bob", ts(1), int64(1), int64(1), "x"}})
	defer good.Release()
	badSchema := arrow.NewSchema([]arrow.Field{
		{Name: "user", Type: arrow.BinaryTypes.String},
		{Name: "ts", Type: tsType},
		{Name: "seq", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "a", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	bad := makeRecord(t, mem, badSchema, [][]any{{"eve", ts(1), int64(1), int32(1)}})
	defer bad.Release()
	noKey := makeRecord(t, mem, arrow.NewSchema([]arrow.Field{{Name: "user", Type: arrow.BinaryTypes.String}}, nil), [][]any{{"x"}})
	defer noKey.Release()

	b := s.NewBatch()
	if err := b.Upsert(tb, good, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Upsert(tb, bad, nil); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("bad upsert: %v", err)
	}
	if err := b.Commit(ctx); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("commit of poisoned batch: %v", err)
	}
	b.Close()
	if rows := scanAll(t, s, tb, Range{}, nil); len(rows) != 0 {
		t.Fatalf("poisoned batch wrote %v", rows)
	}
	for name, fn := range map[string]func(b *Batch) error{
		"missing key":   func(b *Batch) error { return b.Upsert(tb, noKey, nil) },
		"unknown col":   func(b *Batch) error { return b.UpsertRow(tb, Row{"user": "x", "ts": ts(1), "seq": 1, "zz": 1}, nil) },
		"not null":      func(b *Batch) error { return b.UpsertRow(tb, Row{"user": nil, "ts": ts(1), "seq": 1}, nil) },
		"bad row type":  func(b *Batch) error { return b.UpsertRow(tb, Row{"user": "x", "ts": "now", "seq": 1}, nil) },
		"int overflow":  func(b *Batch) error { return b.DeleteRow(tb, []any{"x", ts(1), uint64(1 << 63)}) },
		"short del key": func(b *Batch) error { return b.DeleteRow(tb, []any{"x"}) },
	} {
		b := s.NewBatch()
		if err := fn(b); err == nil {
			t.Errorf("%s: no error", name)
		}
		if err := b.Commit(ctx); err == nil {
			t.Errorf("%s: commit succeeded", name)
		}
		b.Close()
	}
}

func TestDeletes(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)
	keys := makeRecord(t, mem, arrow.NewSchema([]arrow.Field{tb.Schema.Field(0), tb.Schema.Field(1), tb.Schema.Field(2)}, nil),
		[][]any{{"bob", ts(2), int64(0)}, {"bob", ts(2), nil}})
	defer keys.Release()
	mustCommit(t, s, func(b *Batch) error {
		if err := b.Delete(tb, keys); err != nil {
			return err
		}
		return b.DeleteRow(tb, []any{"bob", ts(1), 1})
	})
	if got := scanAll(t, s, tb, Range{Partition: []any{"bob"}}, &ReadOptions{Columns: []string{"a"}}); !reflect.DeepEqual(got, [][]any{{int64(20)}}) {
		t.Fatalf("after deletes: %v", got)
	}
	mustCommit(t, s, func(b *Batch) error { return b.DeletePartition(tb, []any{"bob"}) })
	if got := scanAll(t, s, tb, Range{}, &ReadOptions{Columns: []string{"user"}}); !reflect.DeepEqual(got, [][]any{{"al"}, {"al\x00ice"}}) {
		t.Fatalf("after partition delete: %v", got)
	}
}

func TestAtomicCrossTableAndSnapshot(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb, err := s.CreateTable(ctx, eventsSpec())
	if err != nil {
		t.Fatal(err)
	}
	epochs, err := s.CreateTable(ctx, TableSpec{Keyspace: "sys", Name: "epochs",
		Schema: arrow.NewSchema([]arrow.Field{
			{Name: "job", Type: arrow.BinaryTypes.String},
			{Name: "rec", Type: arrow.BinaryTypes.Binary, Nullable: true},
		}, nil),
		PartitionKey: []string{"job"}})
	if err != nil {
		t.Fatal(err)
	}
	snap := s.NewSnapshot()
	defer snap.Close()
	rec := makeRecord(t, mem, tb.Schema, [][]any{{"bob", ts(1), int64(1), int64(1), "x"}})
	defer rec.Release()
	mustCommit(t, s, func(b *Batch) error {
		if err := b.Upsert(tb, rec, nil); err != nil {
			return err
		}
		return b.UpsertRow(epochs, Row{"job": "v1", "rec": []byte("epoch 7 done\x00offsets=1,2")}, nil)
	})
	if _, err := snap.GetRow(ctx, epochs, []any{"v1"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("snapshot sees later commit: %v", err)
	}
	it, err := snap.Scan(ctx, tb, Range{}, &ReadOptions{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	if rows := collect(t, it); len(rows) != 0 {
		t.Fatalf("snapshot scan sees later commit: %v", rows)
	}
	row, err := s.GetRow(ctx, epochs, []any{"v1"})
	if err != nil || string(row["rec"].([]byte)) != "epoch 7 done\x00offsets=1,2" {
		t.Fatalf("epoch record: %v %v", row, err)
	}
	if n := len(scanAll(t, s, tb, Range{}, nil)); n != 1 {
		t.Fatalf("view rows: %d", n)
	}
	snap.Close()
	if _, err := snap.GetRow(ctx, epochs, []any{"v1"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed snapshot: %v", err)
	}
}

func TestTTL(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	s := openTest(t, nil, &Options{Now: clock.Now})
	defer s.Close()
	spec := eventsSpec()
	spec.TTL = time.Minute
	tb, err := s.CreateTable(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, func(b *Batch) error {
		for i := 0; i < 10; i++ {
			if err := b.UpsertRow(tb, Row{"user": "u", "ts": ts(int64(i)), "seq": 0, "a": i, "s": "v"}, nil); err != nil {
				return err
			}
		}
		// Overrides: one row lives an hour, one forever.
		if err := b.UpsertRow(tb, Row{"user": "long", "ts": ts(0), "seq": 0, "a": 1}, &WriteOptions{TTL: time.Hour}); err != nil {
			return err
		}
		return b.UpsertRow(tb, Row{"user": "forever", "ts": ts(0), "seq": 0, "a": 1}, &WriteOptions{TTL: -1})
	})
	// A later partial write without TTL keeps row u/0 alive through its cell s.
	mustCommit(t, s, func(b *Batch) error {
		return b.UpsertRow(tb, Row{"user": "u", "ts": ts(0), "seq": 0, "s": "kept"}, &WriteOptions{TTL: -1})
	})
	if n := len(scanAll(t, s, tb, Range{}, nil)); n != 12 {
		t.Fatalf("before expiry: %d rows", n)
	}
	clock.t = clock.t.Add(2 * time.Minute)
	got := scanAll(t, s, tb, Range{}, &ReadOptions{Columns: []string{"user", "a", "s"}})
	want := [][]any{{"forever", int64(1), nil}, {"long", int64(1), nil}, {"u", nil, "kept"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after expiry:\n got %v\nwant %v", got, want)
	}
	if _, err := s.GetRow(ctx, tb, []any{"u", ts(5), 0}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired get: %v", err)
	}
	n, err := s.Sweep(ctx, tb)
	if err != nil || n != 9 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	clock.t = clock.t.Add(2 * time.Hour)
	if n, err = s.Sweep(ctx, tb); err != nil || n != 1 {
		t.Fatalf("second sweep: %d, %v", n, err)
	}
	if err := s.Compact(ctx, tb); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, s, tb, Range{}, &ReadOptions{Columns: []string{"user"}}); !reflect.DeepEqual(got, [][]any{{"forever"}, {"u"}}) {
		t.Fatalf("after sweep: %v", got)
	}
}

func TestCatalogReopenAndDrop(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	spec := eventsSpec()
	spec.Clustering = []ClusteringColumn{{Name: "ts", Desc: true}}
	spec.Schema = arrow.NewSchema(append(spec.Schema.Fields(),
		arrow.Field{Name: "d", Type: &arrow.Decimal128Type{Precision: 20, Scale: 4}, Nullable: true},
		arrow.Field{Name: "iv", Type: arrow.FixedWidthTypes.MonthDayNanoInterval, Nullable: true},
		arrow.Field{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	), nil)
	spec.TTL = time.Hour
	tb, err := s.CreateTable(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTable(ctx, spec); !errors.Is(err, ErrTableExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	other := eventsSpec()
	other.Keyspace = "b"
	if _, err := s.CreateTable(ctx, other); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, func(b *Batch) error {
		return b.UpsertRow(tb, Row{"user": "u", "ts": ts(1), "a": 5, "iv": arrow.MonthDayNanoInterval{Months: 1, Days: -2, Nanoseconds: 3}}, nil)
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, fs, nil)
	defer s.Close()
	got, err := s.Table("app", "events")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tb.ID || !got.Schema.Equal(tb.Schema) || got.TTL != time.Hour ||
		!reflect.DeepEqual(got.Clustering, tb.Clustering) || !reflect.DeepEqual(got.PartitionKey, tb.PartitionKey) {
		t.Fatalf("reloaded table differs: %+v", got)
	}
	row, err := s.GetRow(ctx, got, []any{"u", ts(1)})
	if err != nil || row["iv"] != (arrow.MonthDayNanoInterval{Months: 1, Days: -2, Nanoseconds: 3}) {
		t.Fatalf("row after reopen: %v %v", row, err)
	}
	if names := fmt.Sprint(s.Tables("")); names != "[app.events b.events]" {
		t.Fatalf("tables: %s", names)
	}
	if err := s.DropTable(ctx, "app", "events"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Table("app", "events"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("dropped table: %v", err)
	}
	b := s.NewBatch()
	_ = b.UpsertRow(got, Row{"user": "u", "ts": ts(2)}, nil)
	if err := b.Commit(ctx); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("write to dropped table: %v", err)
	}
	b.Close()
	tb2, err := s.CreateTable(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if tb2.ID == tb.ID {
		t.Fatal("table id reused")
	}
	if rows := scanAll(t, s, tb2, Range{}, nil); len(rows) != 0 {
		t.Fatalf("recreated table has rows %v", rows)
	}
	// The dropped table's key range is empty.
	lo, hi := tb.bounds()
	it, _ := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if it.First() {
		t.Fatalf("dropped data still present at %x", it.Key())
	}
	it.Close()
}

func TestBadTableSpecs(t *testing.T) {
	s := openTest(t, nil, nil)
	defer s.Close()
	base := eventsSpec
	cases := map[string]func(*TableSpec){
		"no name":      func(sp *TableSpec) { sp.Name = "" },
		"no pk":        func(sp *TableSpec) { sp.PartitionKey = nil },
		"unknown key":  func(sp *TableSpec) { sp.PartitionKey = []string{"zz"} },
		"key twice":    func(sp *TableSpec) { sp.Clustering = []ClusteringColumn{{Name: "user"}} },
		"negative ttl": func(sp *TableSpec) { sp.TTL = -1 },
		"list type": func(sp *TableSpec) {
			sp.Schema = arrow.NewSchema([]arrow.Field{{Name: "user", Type: arrow.ListOf(arrow.PrimitiveTypes.Int8)}}, nil)
		},
		"interval key": func(sp *TableSpec) {
			sp.Schema = arrow.NewSchema([]arrow.Field{{Name: "user", Type: arrow.FixedWidthTypes.MonthDayNanoInterval}}, nil)
			sp.Clustering = nil
		},
		"dup column": func(sp *TableSpec) {
			sp.Schema = arrow.NewSchema([]arrow.Field{{Name: "user", Type: arrow.BinaryTypes.String}, {Name: "user", Type: arrow.BinaryTypes.String}}, nil)
			sp.Clustering = nil
		},
		"nil schema": func(sp *TableSpec) { sp.Schema = nil },
	}
	for name, mod := range cases {
		sp := base()
		mod(&sp)
		if _, err := s.CreateTable(ctx, sp); err == nil {
			t.Errorf("%s: created", name)
		}
	}
	if len(s.Tables("")) != 0 {
		t.Fatal("a bad spec created a table")
	}
}

func TestFormatVersion(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	if err := s.db.Set(formatKey, []byte{99}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(ctx, "db", &Options{FS: fs, Logger: quietLogger{t}})
	if !errors.Is(err, ErrIncompatibleFormat) || !strings.Contains(err.Error(), "version 99") || !strings.Contains(err.Error(), fmt.Sprint("version ", FormatVersion)) {
		t.Fatalf("open with format 99: %v", err)
	}
	// A non-empty directory without a marker is refused too.
	fs2 := vfs.NewMem()
	db, err := pebble.Open("db", &pebble.Options{FS: fs2, Logger: quietLogger{t}, Merger: newMerger(time.Now), FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Set([]byte("foreign"), []byte("x"), pebble.Sync)
	db.Close()
	if _, err := Open(ctx, "db", &Options{FS: fs2, Logger: quietLogger{t}}); !errors.Is(err, ErrIncompatibleFormat) {
		t.Fatalf("open foreign data: %v", err)
	}
}

func TestCorruptValueIsError(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)
	key := append(append([]byte(nil), tb.prefix...), 0x01, 'z', 0x00, 0x01)
	if err := s.db.Set(key, []byte{0x00, 0x7F}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	it, err := s.Scan(ctx, tb, Range{}, &ReadOptions{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	var scanErr error
	for scanErr == nil {
		var rec arrow.RecordBatch
		rec, scanErr = it.Next(ctx)
		if rec != nil {
			rec.Release()
		}
	}
	it.Close()
	if !errors.Is(scanErr, ErrCorrupt) || !strings.Contains(scanErr.Error(), "app.events") || !strings.Contains(scanErr.Error(), fmt.Sprintf("%x", key)) {
		t.Fatalf("scan over corrupt row: %v", scanErr)
	}
	// A wrong cell width for the column type is caught too.
	val := appendCell(appendHeader(nil, 0), 3, kInt32, &scalar{i: 1}, 0)
	k2, _ := tb.appendKeyValues(append([]byte(nil), tb.prefix...), []any{"bob", ts(9), 1}, 0)
	_ = s.db.Set(k2, val, pebble.Sync)
	if _, err := s.GetRow(ctx, tb, []any{"bob", ts(9), 1}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong width: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)
	scanAll(t, s, tb, Range{}, &ReadOptions{Allocator: mem})
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	m := s.Metrics()
	if m.RowsWritten != 6 || m.BatchesCommitted != 1 || m.BytesWritten == 0 || m.RowsRead != 6 || m.BytesRead == 0 {
		t.Fatalf("counters: %+v", m)
	}
	if m.Flushes == 0 || m.DiskUsage == 0 || m.CacheCapacity != 8<<20 {
		t.Fatalf("pebble figures: %+v", m)
	}
	if len(m.Tables) != 1 || m.Tables[0].Name != "events" || m.Tables[0].DiskBytes == 0 {
		t.Fatalf("table figures: %+v", m.Tables)
	}
}

func TestClosedStore(t *testing.T) {
	s := openTest(t, nil, &Options{Sync: SyncInterval, SyncInterval: time.Millisecond})
	tb, err := s.CreateTable(ctx, eventsSpec())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := s.Scan(ctx, tb, Range{}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("scan after close: %v", err)
	}
	if _, err := s.CreateTable(ctx, eventsSpec()); !errors.Is(err, ErrClosed) {
		t.Fatalf("create after close: %v", err)
	}
}

// Batches filled apart commit as one when one absorbs the others, in
// order; an error in an absorbed batch keeps the whole from committing.
func TestAbsorbBatches(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)
	main, other := s.NewBatch(), s.NewBatch()
	if err := main.DeleteRow(tb, []any{"al", ts(5), int64(1)}); err != nil {
		t.Fatal(err)
	}
	if err := other.UpsertRow(tb, Row{"user": "al", "ts": ts(5), "seq": int64(1), "a": int64(8)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := other.UpsertRow(tb, Row{"user": "cy", "ts": ts(9), "seq": int64(1), "s": "c"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := main.Absorb(other); err != nil {
		t.Fatal(err)
	}
	if main.Len() != 3 {
		t.Fatalf("absorbed batch holds %d rows, want 3", main.Len())
	}
	// Nothing is visible before the commit.
	if _, err := s.GetRow(ctx, tb, []any{"cy", ts(9), int64(1)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before commit: %v", err)
	}
	if err := main.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	main.Close()
	// The absorbed upsert came after the delete of the same row.
	if row, err := s.GetRow(ctx, tb, []any{"al", ts(5), int64(1)}); err != nil || row["a"] != int64(8) {
		t.Fatalf("row written after its delete: %v %v", row, err)
	}
	if row, err := s.GetRow(ctx, tb, []any{"cy", ts(9), int64(1)}); err != nil || row["s"] != "c" {
		t.Fatalf("absorbed row: %v %v", row, err)
	}

	// Writes after an absorb come after the absorbed ones, across
	// several absorbs; Bytes counts them all.
	main = s.NewBatch()
	var absorbed int
	for i := range 3 {
		o := s.NewBatch()
		if err := o.UpsertRow(tb, Row{"user": "al", "ts": ts(5), "seq": int64(1), "a": int64(20 + i)}, nil); err != nil {
			t.Fatal(err)
		}
		absorbed += o.Bytes() - batchHeaderLen
		if err := main.Absorb(o); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := main.Bytes(), 2*batchHeaderLen+absorbed-batchHeaderLen; got < want {
		t.Fatalf("Bytes %d after absorbing %d bytes of writes", got, absorbed)
	}
	if row, err := s.GetRow(ctx, tb, []any{"al", ts(5), int64(1)}); err != nil || row["a"] != int64(8) {
		t.Fatalf("before commit: %v %v", row, err)
	}
	if err := main.UpsertRow(tb, Row{"user": "al", "ts": ts(5), "seq": int64(1), "a": int64(30)}, nil); err != nil {
		t.Fatal(err)
	}
	if main.Len() != 4 {
		t.Fatalf("batch holds %d rows, want 4", main.Len())
	}
	if err := main.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	main.Close()
	if row, err := s.GetRow(ctx, tb, []any{"al", ts(5), int64(1)}); err != nil || row["a"] != int64(30) {
		t.Fatalf("last write after absorbs: %v %v", row, err)
	}
	// An uncommitted batch with absorbed ones closes them all.
	main, other = s.NewBatch(), s.NewBatch()
	if err := other.UpsertRow(tb, Row{"user": "al", "ts": ts(5), "seq": int64(1), "a": int64(40)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := main.Absorb(other); err != nil {
		t.Fatal(err)
	}
	main.Close()
	if row, err := s.GetRow(ctx, tb, []any{"al", ts(5), int64(1)}); err != nil || row["a"] != int64(30) {
		t.Fatalf("a closed batch wrote: %v %v", row, err)
	}

	main, other = s.NewBatch(), s.NewBatch()
	defer main.Close()
	if err := main.UpsertRow(tb, Row{"user": "dee", "ts": ts(1), "seq": int64(1)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := other.UpsertRow(tb, Row{"user": "dee", "nope": 1}, nil); err == nil {
		t.Fatal("upsert of an unknown column")
	}
	if err := main.Absorb(other); err == nil {
		t.Fatal("absorbed a failed batch")
	}
	if err := main.Commit(ctx); err == nil {
		t.Fatal("committed after absorbing a failed batch")
	}
	if _, err := s.GetRow(ctx, tb, []any{"dee", ts(1), int64(1)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a poisoned batch wrote: %v", err)
	}
}

// Data blocks are written uncompressed above the bottom level and
// compressed in it; large values, kept in blob files from the flush on,
// are compressed from the start.
func TestCompressionOnlyAtTheBottom(t *testing.T) {
	mem := checkedAlloc(t)
	fs := vfs.NewMem()
	s := openTest(t, fs, nil)
	defer s.Close()
	tb := seedEvents(t, s, mem)
	write := func(v string, n int) {
		for i := range 2000 {
			b := s.NewBatch()
			if err := b.UpsertRow(tb, Row{"user": fmt.Sprintf("u%04d", i), "ts": ts(int64(i)), "seq": int64(i), "s": strings.Repeat(v, n)}, nil); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			b.Close()
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	write("compressible ", 20)
	// The counts come from table statistics, loaded in the background.
	metrics := func(want func(m *pebble.Metrics) bool) *pebble.Metrics {
		deadline := time.Now().Add(10 * time.Second)
		for {
			m := s.db.Metrics()
			if want(m) || time.Now().After(deadline) {
				return m
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Tables of the upper levels use a profile of their own ("unknown"
	// to Pebble's counts), never snappy for data blocks.
	m := metrics(func(m *pebble.Metrics) bool { return m.Table.CompressedCountUnknown+m.Table.CompressedCountSnappy > 0 })
	if m.Levels[0].TablesCount == 0 || m.Table.CompressedCountUnknown == 0 || m.Table.CompressedCountSnappy != 0 {
		t.Fatalf("after a flush: %d tables in L0, %d of the upper levels' profile, %d snappy", m.Levels[0].TablesCount, m.Table.CompressedCountUnknown, m.Table.CompressedCountSnappy)
	}
	// The first compaction may move the table down as it is; merging
	// newer rows into it rewrites it.
	for _, v := range []string{"", "again "} {
		if v != "" {
			write(v, 20)
		}
		if err := s.Compact(ctx, tb); err != nil {
			t.Fatal(err)
		}
	}
	m = metrics(func(m *pebble.Metrics) bool { return m.Table.CompressedCountSnappy > 0 })
	if n := m.Levels[len(m.Levels)-1].TablesCount; n == 0 || m.Table.CompressedCountSnappy == 0 {
		t.Fatalf("after compacting: %d tables in the bottom level, %d snappy", n, m.Table.CompressedCountSnappy)
	}
	// Append-only chunks are large values: they go to blob files at the
	// flush, compressed there (uncompressed they would take about 1.5 MB).
	_, ao := chunkSpecs("chunks")
	ct, err := s.CreateTable(ctx, ao)
	if err != nil {
		t.Fatal(err)
	}
	for e := range int64(40) {
		rows := make([][]any, 4000)
		for i := range rows {
			rows[i] = []any{fmt.Sprintf("row %d %s", i%50, strings.Repeat("compressible ", 4)), float64(i % 10), e, int64(i)}
		}
		rec := makeRecord(t, mem, ct.Schema, rows)
		b := s.NewBatch()
		if err := b.Append(ct, rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		if err := b.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	names, err := fs.List("db")
	if err != nil {
		t.Fatal(err)
	}
	var blobs int64
	for _, n := range names {
		if strings.HasSuffix(n, ".blob") {
			fi, err := fs.Stat(fs.PathJoin("db", n))
			if err != nil {
				t.Fatal(err)
			}
			blobs += fi.Size()
		}
	}
	if blobs == 0 || blobs > 400<<10 {
		t.Fatalf("blob files hold %d bytes of chunks", blobs)
	}
}

// Rows written cell by cell with a RowWriter are the rows Upsert writes
// from a record; a wrong type, a column not set and a NULL key are errors.
func TestRowWriter(t *testing.T) {
	mem := checkedAlloc(t)
	s := openTest(t, nil, nil)
	defer s.Close()
	byRecord := seedEvents(t, s, mem)
	spec := eventsSpec()
	spec.Name = "events_by_cell"
	byCell, err := s.CreateTable(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	rec := makeRecord(t, mem, byRecord.Schema, scanAll(t, s, byRecord, Range{}, &ReadOptions{Allocator: mem}))
	defer rec.Release()
	mustCommit(t, s, func(b *Batch) error {
		w, err := b.Rows(byCell, nil)
		if err != nil {
			return err
		}
		for r := range int(rec.NumRows()) {
			for c := range rec.NumCols() {
				var err error
				v := rec.Column(3).(*array.Int64)
				if c == 0 {
					// The partition given as a Go value, a number
					// as one, the rest taken from the record.
					err = w.Set(0, rec.Column(0).(*array.String).Value(r))
				} else if c == 3 && v.IsValid(r) {
					err = w.SetInt64(3, v.Value(r))
				} else {
					err = w.FromArray(int(c), rec.Column(int(c)), r)
				}
				if err != nil {
					return err
				}
			}
			if err := w.Write(); err != nil {
				return err
			}
		}
		return nil
	})
	want := scanAll(t, s, byRecord, Range{}, &ReadOptions{Allocator: mem})
	if got := scanAll(t, s, byCell, Range{}, &ReadOptions{Allocator: mem}); !reflect.DeepEqual(got, want) || len(got) != 6 {
		t.Fatalf("written by cell:\n got %v\nwant %v", got, want)
	}
	b := s.NewBatch()
	defer b.Close()
	w, err := b.Rows(byCell, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.FromArray(0, rec.Column(3), 0); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("an int64 array for a string column: %v", err)
	}
	b2 := s.NewBatch()
	defer b2.Close()
	w, _ = b2.Rows(byCell, nil)
	w.Set(0, "x")
	if err := w.Write(); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("a row with columns not set: %v", err)
	}
}
