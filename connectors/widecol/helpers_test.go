package widecol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// fakeClock is an injectable clock for TTL tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func openTest(t testing.TB, fs vfs.FS, o *Options) *Store {
	t.Helper()
	var opts Options
	if o != nil {
		opts = *o
	}
	if fs == nil {
		fs = vfs.NewMem()
	}
	opts.FS = fs
	if opts.Logger == nil {
		opts.Logger = quietLogger{t}
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 8 << 20
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 4 << 20
	}
	s, err := Open(context.Background(), "db", &opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func checkedAlloc(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// makeRecord builds a record batch from rows of Go values (nil is NULL).
func makeRecord(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows [][]any) arrow.RecordBatch {
	t.Helper()
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	for _, row := range rows {
		for i, v := range row {
			f := schema.Field(i)
			sc, err := fromGo(v, f.Type)
			if err != nil {
				t.Fatalf("makeRecord: column %s: %v", f.Name, err)
			}
			sc.appendTo(rb.Field(i), kindOf(f.Type))
		}
	}
	return rb.NewRecordBatch()
}

// collect drains an iterator into rows of Go values and closes it.
func collect(t testing.TB, it *Iterator) [][]any {
	t.Helper()
	defer it.Close()
	var out [][]any
	for {
		rec, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		out = append(out, recordRows(rec)...)
		rec.Release()
	}
}

func recordRows(rec arrow.RecordBatch) [][]any {
	var out [][]any
	for r := 0; r < int(rec.NumRows()); r++ {
		row := make([]any, rec.NumCols())
		for c := range row {
			var sc scalar
			k := kindOf(rec.Column(c).DataType())
			sc.fromArray(rec.Column(c), r, k)
			row[c] = sc.toGo(k)
		}
		out = append(out, row)
	}
	return out
}

func scanAll(t testing.TB, s *Store, tb *Table, r Range, o *ReadOptions) [][]any {
	t.Helper()
	it, err := s.Scan(context.Background(), tb, r, o)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return collect(t, it)
}

func mustCommit(t testing.TB, s *Store, fn func(b *Batch) error) {
	t.Helper()
	b := s.NewBatch()
	defer b.Close()
	if err := fn(b); err != nil {
		t.Fatalf("batch op: %v", err)
	}
	if err := b.Commit(context.Background()); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// quietLogger drops Pebble's informational lines.
type quietLogger struct{ t testing.TB }

func (quietLogger) Infof(string, ...any) {}

func (l quietLogger) Errorf(f string, a ...any) {
	if l.t != nil {
		l.t.Logf(f, a...)
	}
}

func (l quietLogger) Fatalf(f string, a ...any) {
	if l.t != nil {
		l.t.Fatalf(f, a...)
	}
	panic(fmt.Sprintf(f, a...))
}
