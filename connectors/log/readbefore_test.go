package log

import "testing"

// TestReadBefore checks that a bounded read returns the batches below the
// bound and reports the end, without waiting, when only aborted offsets or
// nothing remain below it.
func TestReadBefore(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	defer l.Close()
	tp, err := l.CreateTopic("bids", bidConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Append(bg, 0, bids(e.mem, 0, 10), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	tx, err := l.BeginTxn()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Append(bg, tp, 0, bids(e.mem, 10, 5), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Abort(bg); err != nil {
		t.Fatal(err)
	}
	st, err := tp.Stats(0)
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := tp.ReadBefore(bg, 0, 0, st.StableOffset)
	if err != nil || !ok || b.Record.NumRows() != 10 {
		t.Fatalf("first read: ok=%v err=%v", ok, err)
	}
	next := b.NextOffset()
	b.Record.Release()
	// Only the aborted batch and its marker lie between next and the end.
	if _, ok, err := tp.ReadBefore(bg, 0, next, st.StableOffset); ok || err != nil {
		t.Fatalf("read over aborted tail: ok=%v err=%v", ok, err)
	}
	// A later batch beyond the bound is not returned either.
	if _, err := tp.Append(bg, 0, bids(e.mem, 20, 3), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := tp.ReadBefore(bg, 0, next, st.StableOffset); ok || err != nil {
		t.Fatalf("read past the bound: ok=%v err=%v", ok, err)
	}
	st2, _ := tp.Stats(0)
	b, ok, err = tp.ReadBefore(bg, 0, next, st2.StableOffset)
	if err != nil || !ok || b.Record.NumRows() != 3 || auctionsOf(b.Record, 0)[0] != 1020 {
		t.Fatalf("read of the new batch: ok=%v err=%v", ok, err)
	}
	b.Record.Release()
	e.checkMem()
}
