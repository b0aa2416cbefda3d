package log

import (
	"context"
	"testing"
)

// TestTailReads checks that large batches read right after they are
// written come from the bytes the partition kept, hold the same rows as
// the same batches read from the segment after a reopen, and that only the
// newest tailBatches batches are kept.
func TestTailReads(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, err := l.CreateTopic("bids", bidConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	const rows = 8192 // encodes to more than poolMax
	ctx := context.Background()
	const n = tailBatches + 2
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
	if st.TailReads != tailBatches {
		t.Errorf("TailReads = %d, want %d (the newest batches)", st.TailReads, tailBatches)
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
