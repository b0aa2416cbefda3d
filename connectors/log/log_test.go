package log

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

var bg = context.Background()

func seq(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(1000 + from + i)
	}
	return out
}

func TestAppendReadReopen(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, err := l.CreateTopic("bids", bidConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		off, err := tp.Append(bg, 0, bids(e.mem, i*100, 100), AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if off != int64(i*100) {
			t.Fatalf("append %d: base %d, want %d", i, off, i*100)
		}
	}
	if off, err := tp.Append(bg, 1, bids(e.mem, 0, 7), AppendOptions{}); err != nil || off != 0 {
		t.Fatalf("partition 1: %d %v", off, err)
	}
	got, next := readAll(t, tp, 0, 0)
	if !slices.Equal(got, seq(0, 500)) || next != 500 {
		t.Fatalf("read %d rows, next %d", len(got), next)
	}
	// Reading from inside a batch reports the first row to use.
	b, err := tp.Read(bg, 0, 250)
	if err != nil {
		t.Fatal(err)
	}
	if b.BaseOffset != 200 || b.FirstRow != 50 || b.Record.NumRows() != 100 {
		t.Fatalf("read at 250: base %d first row %d rows %d", b.BaseOffset, b.FirstRow, b.Record.NumRows())
	}
	if !b.HasEventTime || b.MinEventTime != 200*100 || b.MaxEventTime != 299*100 {
		t.Fatalf("event time %v %d %d", b.HasEventTime, b.MinEventTime, b.MaxEventTime)
	}
	b.Trim()
	if b.BaseOffset != 250 || b.Record.NumRows() != 50 || auctionsOf(b.Record, 0)[0] != 1250 {
		t.Fatalf("trim: base %d rows %d", b.BaseOffset, b.Record.NumRows())
	}
	b.Record.Release()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = e.open()
	defer l.Close()
	if names := l.Topics(); !slices.Equal(names, []string{"bids"}) {
		t.Fatalf("topics %v", names)
	}
	tp, err = l.Topic("bids")
	if err != nil {
		t.Fatal(err)
	}
	if !tp.Schema().Equal(bidSchema) || tp.Partitions() != 2 || tp.Config().EventTimeColumn != 5 {
		t.Fatalf("topic config not restored: %+v", tp.Config())
	}
	got, _ = readAll(t, tp, 0, 0)
	if !slices.Equal(got, seq(0, 500)) {
		t.Fatalf("after reopen read %d rows", len(got))
	}
	if off, err := tp.Append(bg, 0, bids(e.mem, 500, 10), AppendOptions{}); err != nil || off != 500 {
		t.Fatalf("append after reopen: %d %v", off, err)
	}
	got, _ = readAll(t, tp, 1, 0)
	if !slices.Equal(got, seq(0, 7)) {
		t.Fatalf("partition 1: %v", got)
	}
	if off, err := tp.OffsetForTime(0, 250*100); err != nil || off != 200 {
		t.Fatalf("offset for time: %d %v", off, err)
	}
	if off, err := tp.OffsetForTime(0, 1<<50); err != nil || off != 510 {
		t.Fatalf("offset for future time: %d %v", off, err)
	}
	l.Close()
	e.checkMem()
}

func TestTopicAdmin(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	defer l.Close()
	if _, err := l.CreateTopic("a", bidConfig(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTopic("a", bidConfig(1)); !errors.Is(err, ErrTopicExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b", strings.Repeat("x", 300)} {
		if _, err := l.CreateTopic(bad, bidConfig(1)); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("name %q: %v", bad, err)
		}
	}
	cfg := bidConfig(1)
	cfg.EventTimeColumn = 3 // a string column
	if _, err := l.CreateTopic("b", cfg); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("string event-time column: %v", err)
	}
	if _, err := l.Topic("nope"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("missing topic: %v", err)
	}
	tp, _ := l.Topic("a")
	if _, err := tp.Append(bg, 0, bids(e.mem, 0, 3), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Append(bg, 1, bids(e.mem, 0, 3), AppendOptions{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad partition: %v", err)
	}
	// A reader blocked on a dropped topic is released.
	done := make(chan error, 1)
	go func() { _, err := tp.Read(bg, 0, 3); done <- err }()
	if err := l.DropTopic("a"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked reader after drop: %v", err)
	}
	if len(l.Topics()) != 0 {
		t.Fatalf("topics after drop: %v", l.Topics())
	}
	l.Close()
	l = e.open()
	if len(l.Topics()) != 0 {
		t.Fatalf("dropped topic came back: %v", l.Topics())
	}
	// The name can be reused, starting from offset 0.
	tp, err := l.CreateTopic("a", bidConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	if off, err := tp.Append(bg, 0, bids(e.mem, 0, 3), AppendOptions{}); err != nil || off != 0 {
		t.Fatalf("append to re-created topic: %d %v", off, err)
	}
	l.Close()
	e.checkMem()
}

func TestSchemaMismatch(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	defer l.Close()
	tp, _ := l.CreateTopic("bids", bidConfig(1))
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int32}}, nil)
	b := array.NewRecordBuilder(e.mem, other)
	b.Field(0).(*array.Int32Builder).Append(1)
	rec := b.NewRecordBatch()
	b.Release()
	_, err := tp.Append(bg, 0, rec, AppendOptions{})
	if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "x: type=int32") || !strings.Contains(err.Error(), "auction: type=int64") {
		t.Fatalf("schema mismatch error: %v", err)
	}
	l.Close()
	e.checkMem()
}
