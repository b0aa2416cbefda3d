package log

import (
	"bytes"
	"context"
	"hash/crc32"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestTailReads checks that large batches read right after they are
// written come from the bytes the partition kept, hold the same rows as
// the same batches read from the segment after a reopen, and that only the
// newest TailBatches batches are kept.
func TestTailReads(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, err := l.CreateTopic("bids", bidConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	const rows = 8192 // encodes to more than poolMax
	ctx := context.Background()
	const n = TailBatches + 2
	for i := range n {
		if _, err := tp.Append(ctx, 0, bids(e.mem, i*rows, rows), AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(tp *Topic) []string {
		var out []string
		r, _ := tp.NewReader(0, 0)
		for range n {
			b, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for c := range b.Record.NumCols() {
				out = append(out, b.Record.Column(int(c)).String())
			}
			b.Record.Release()
		}
		return out
	}
	first := read(tp)
	st, _ := tp.Stats(0)
	if st.TailReads != TailBatches {
		t.Errorf("TailReads = %d, want %d (the newest batches)", st.TailReads, TailBatches)
	}
	// Generators pace themselves by the batches kept (sql/session).
	if st.TailBatches != TailBatches {
		t.Errorf("TailBatches = %d, want %d", st.TailBatches, TailBatches)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = e.open()
	defer l.Close()
	tp, err = l.Topic("bids")
	if err != nil {
		t.Fatal(err)
	}
	again := read(tp)
	if st, _ := tp.Stats(0); st.TailReads != 0 {
		t.Errorf("TailReads after reopen = %d, want 0", st.TailReads)
	}
	if len(first) != len(again) {
		t.Fatalf("%d values, then %d", len(first), len(again))
	}
	for i := range first {
		if first[i] != again[i] {
			t.Fatalf("value %d: %q from the tail, %q from the segment", i, first[i], again[i])
		}
	}
	e.checkMem()
}

// flat returns a copy of the whole encoded batch: header, then payload.
func (e *encoded) flat() []byte {
	if e.pieces == nil {
		return append([]byte(nil), e.buf...)
	}
	out := append([]byte(nil), e.buf[:headerSize]...)
	for _, p := range e.pieces {
		out = append(out, p...)
	}
	return out
}

// TestPiecesMatchContiguous checks that a large batch written as pieces
// has the same bytes and CRC as the contiguous encoding.
func TestPiecesMatchContiguous(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec := bids(mem, 0, 8192)
	defer rec.Release()
	enc, err := encodeBatch(rec, mem, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.release()
	if enc.pieces == nil {
		t.Fatal("a 8192-row batch was not written as pieces")
	}
	pl, err := ipc.GetRecordBatchPayload(rec, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Release()
	var w appendWriter
	if _, err := pl.WritePayload(&w); err != nil {
		t.Fatal(err)
	}
	got := enc.flat()[headerSize:]
	if !bytes.Equal(got, w.b) || enc.payloadLen != len(w.b) {
		t.Fatalf("pieces give %d bytes, contiguous %d; equal %v", len(got), len(w.b), bytes.Equal(got, w.b))
	}
	if c := crc32.Update(0, castagnoli, w.b); c != enc.payloadCRC {
		t.Fatalf("payload CRC %#x, want %#x", enc.payloadCRC, c)
	}
}

// poisonAlloc overwrites memory as it is freed, so a use after free
// shows.
type poisonAlloc struct{ memory.Allocator }

func (a poisonAlloc) Free(b []byte) {
	for i := range b {
		b[i] = 0xa5
	}
	a.Allocator.Free(b)
}

// TestLargeSlicedAppend appends a slice of a large batch (for which the
// IPC writer makes buffers of its own, from the log's allocator) and
// reads it back.
func TestLargeSlicedAppend(t *testing.T) {
	e := newEnv(t)
	l := e.open(func(o *Options) { o.Allocator = poisonAlloc{e.mem} })
	tp, err := l.CreateTopic("bids", bidConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	whole := bids(e.mem, 0, 9000)
	sl := whole.NewSlice(123, 8900)
	want := make([]string, sl.NumCols())
	for c := range want {
		want[c] = sl.Column(c).String()
	}
	whole.Release()
	if _, err := tp.Append(context.Background(), 0, sl, AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	r, _ := tp.NewReader(0, 0)
	b, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for c := range want {
		if got := b.Record.Column(c).String(); got != want[c] {
			t.Fatalf("column %d differs after the append", c)
		}
	}
	b.Record.Release()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	e.checkMem()
}

// Large batches: the partition keeps fewer than TailBatches, within
// tailBytes, and says how many.
func TestTailBatchesByBytes(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, err := l.CreateTopic("big", bidConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	const rows = 70000 // about 7 MiB in memory each
	for i := range 4 {
		if _, err := tp.Append(context.Background(), 0, bids(e.mem, i*rows, rows), AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := tp.Stats(0)
	if st.TailBatches < 1 || st.TailBatches > 2 {
		t.Errorf("TailBatches = %d, want 1 or 2 batches of about 7 MiB within %d bytes", st.TailBatches, tailBytes)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}
