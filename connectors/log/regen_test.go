package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// regenDesc describes the rows bids(mem, first, n) returns.
func regenDesc(first, n int) []byte {
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(first)), uint32(n))
}

// bidRegenerator rebuilds bids from regenDesc, counting its calls; extra
// rows are added to every batch it builds.
func bidRegenerator(calls *atomic.Int64, extra int) Regenerator {
	return func(desc []byte, mem memory.Allocator) (arrow.RecordBatch, error) {
		if len(desc) != 8 {
			return nil, fmt.Errorf("bad description of %d bytes", len(desc))
		}
		calls.Add(1)
		first, n := binary.LittleEndian.Uint32(desc), binary.LittleEndian.Uint32(desc[4:])
		return bids(mem, int(first), int(n)+extra), nil
	}
}

func TestRegenerableAppend(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, err := l.CreateTopic("gen", bidConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	// Without a regenerator a description could never be read back.
	if _, err := tp.Append(bg, 0, bids(e.mem, 0, 10), AppendOptions{Regen: regenDesc(0, 10)}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("append without a regenerator: %v", err)
	}
	format := func() string {
		b, err := readFile(e.fs, "/data/"+formatFile)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// Plain batches keep the directory readable by builds without
	// descriptions; the first description moves it on, so that those
	// builds refuse it rather than cut it short.
	plain, err := l.CreateTopic("plain", bidConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Append(bg, 0, bids(e.mem, 0, 1), AppendOptions{}); err != nil || format() != "sqld-log 1\n" {
		t.Fatalf("format %q after a plain batch: %v", format(), err)
	}
	var calls atomic.Int64
	tp.SetRegenerator(bidRegenerator(&calls, 0))
	const batches, rows = TailBatches + 3, 100
	for k := range batches {
		off, err := tp.Append(bg, 0, bids(e.mem, k*rows, rows), AppendOptions{WriterID: 3, Sequence: int64(k + 1), Regen: regenDesc(k*rows, rows)})
		if err != nil || off != int64(k*rows) {
			t.Fatalf("batch %d: %d %v", k, off, err)
		}
	}
	if f := format(); f != "sqld-log 2\n" {
		t.Fatalf("format %q after descriptions", f)
	}
	// A batch appended again is recognized by its sequence, as any other.
	last := int64(batches-1) * rows
	if off, err := tp.Append(bg, 0, bids(e.mem, int(last), rows), AppendOptions{WriterID: 3, Sequence: batches, Regen: regenDesc(int(last), rows)}); err != nil || off != last {
		t.Fatalf("duplicate: %d %v", off, err)
	}
	st, _ := tp.Stats(0)
	if st.EndOffset != batches*rows || st.Bytes > batches*(headerSize+8) {
		t.Fatalf("stats %+v: want %d rows in at most %d bytes", st, batches*rows, batches*(headerSize+8))
	}
	want := make([]int64, 0, batches*rows)
	for i := range batches * rows {
		want = append(want, int64(1000+i))
	}
	got, _ := readAll(t, tp, 0, 0)
	if !slices.Equal(got, want) {
		t.Fatalf("read %v", got)
	}
	// The partition keeps the newest batches; the older ones were rebuilt.
	if n := calls.Load(); n != batches-TailBatches {
		t.Fatalf("%d batches regenerated, want %d", n, batches-TailBatches)
	}
	// Event times are in the headers, as for stored rows.
	if off, err := tp.OffsetForTime(0, 250*100); err != nil || off != 200 {
		t.Fatalf("offset for time: %d %v", off, err)
	}
	l.Close()

	// After a restart nothing is in memory: reads need the regenerator.
	l = e.open()
	tp, _ = l.Topic("gen")
	if _, err := readAllErr(tp, 0); err == nil || !strings.Contains(err.Error(), "no regenerator") || errors.Is(err, ErrCorrupt) {
		t.Fatalf("read without a regenerator: %v", err)
	}
	calls.Store(0)
	tp.SetRegenerator(bidRegenerator(&calls, 0))
	if got, _ := readAll(t, tp, 0, 0); !slices.Equal(got, want) {
		t.Fatalf("read after reopen %v", got)
	}
	if n := calls.Load(); n != batches {
		t.Fatalf("%d batches regenerated after reopen, want %d", n, batches)
	}
	// A regenerator that does not give back the rows is an error, not
	// different data.
	tp.SetRegenerator(bidRegenerator(&calls, 1))
	if _, err := readAllErr(tp, 0); err == nil || !strings.Contains(err.Error(), "header says") {
		t.Fatalf("wrong row count: %v", err)
	}
	l.Close()
	e.checkMem()
}

func TestRegenDescriptionBounds(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	defer l.Close()
	tp, _ := l.CreateTopic("gen", bidConfig(1))
	var calls atomic.Int64
	tp.SetRegenerator(bidRegenerator(&calls, 0))
	for _, desc := range [][]byte{{}, make([]byte, minRegenLen-1), make([]byte, maxRegenLen+1)} {
		if _, err := tp.Append(bg, 0, bids(e.mem, 0, 1), AppendOptions{Regen: desc}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("description of %d bytes: %v", len(desc), err)
		}
	}
}

// A batch appended with some columns left out is given as it is to
// readers that do not use them, and regenerated whole for the others.
func TestRegenPartialColumns(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, _ := l.CreateTopic("gen", bidConfig(1))
	var calls atomic.Int64
	tp.SetRegenerator(bidRegenerator(&calls, 0))
	const rows = 100
	// The url column (4) holds empty strings instead of its values.
	partial := func() arrow.RecordBatch {
		full := bids(e.mem, 0, rows)
		defer full.Release()
		b := array.NewStringBuilder(e.mem)
		defer b.Release()
		for range rows {
			b.Append("")
		}
		empty := b.NewArray()
		defer empty.Release()
		cols := slices.Clone(full.Columns())
		cols[4] = empty
		return array.NewRecordBatch(full.Schema(), cols, rows)
	}
	without := []bool{true, true, true, true, false, true, true}
	for _, c := range []struct {
		opts AppendOptions
		why  string
	}{
		{AppendOptions{Columns: without}, "column flags without a description"},
		{AppendOptions{Regen: regenDesc(0, rows), Columns: without[:3]}, "too few flags"},
		{AppendOptions{Regen: regenDesc(0, rows), Columns: []bool{true, true, true, true, true, false, true}}, "the event time left out"},
	} {
		rec := partial()
		if _, err := tp.Append(bg, 0, rec, c.opts); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("%s: %v", c.why, err)
		}
		rec.Release()
	}
	if _, err := tp.Append(bg, 0, partial(), AppendOptions{Regen: regenDesc(0, rows), Columns: without}); err != nil {
		t.Fatal(err)
	}
	urls := func(need []bool) []string {
		t.Helper()
		b, ok, err := tp.ReadBeforeColumns(bg, 0, 0, rows, need)
		if err != nil || !ok {
			t.Fatalf("read: %v %v", ok, err)
		}
		defer b.Record.Release()
		if got := auctionsOf(b.Record, 0); len(got) != rows || got[rows-1] != 1000+rows-1 {
			t.Fatalf("auctions %v", got)
		}
		var out []string
		for i := range rows {
			out = append(out, b.Record.Column(4).(*array.String).Value(i))
		}
		return out
	}
	// Auction and price only: the appended batch, placeholders and all.
	if got := urls([]bool{true, false, true, false, false, false, false}); calls.Load() != 0 || got[7] != "" {
		t.Fatalf("%d regenerated, url %q", calls.Load(), got[7])
	}
	// The url, or every column: the batch generated again.
	want := "https://www.nexmark.com/item.htm?query=1&channel_id=7"
	if got := urls([]bool{false, false, false, false, true, false, false}); calls.Load() != 1 || got[7] != want {
		t.Fatalf("%d regenerated, url %q", calls.Load(), got[7])
	}
	if got := urls(nil); calls.Load() != 2 || got[7] != want {
		t.Fatalf("%d regenerated, url %q", calls.Load(), got[7])
	}
	l.Close()
	e.checkMem()
}
