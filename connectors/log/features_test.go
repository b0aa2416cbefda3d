package log

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestIdempotentAppend(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, _ := l.CreateTopic("out", bidConfig(1))
	w := AppendOptions{WriterID: 7}
	for epoch := int64(1); epoch <= 3; epoch++ {
		w.Sequence = epoch * 10 // gaps are allowed
		off, err := tp.Append(bg, 0, bids(e.mem, int(epoch)*10, 10), w)
		if err != nil || off != (epoch-1)*10 {
			t.Fatalf("epoch %d: %d %v", epoch, off, err)
		}
	}
	// The job re-runs epoch 2 after a crash: acknowledged, not written.
	off, err := tp.Append(bg, 0, bids(e.mem, 20, 10), AppendOptions{WriterID: 7, Sequence: 20})
	if err != nil || off != 10 {
		t.Fatalf("duplicate: %d %v", off, err)
	}
	// Another writer with the same sequence is independent.
	if off, err := tp.Append(bg, 0, bids(e.mem, 0, 5), AppendOptions{WriterID: 8, Sequence: 20}); err != nil || off != 30 {
		t.Fatalf("writer 8: %d %v", off, err)
	}
	l.Close()

	// The writer state is rebuilt from the batch headers on open.
	l = e.open()
	tp, _ = l.Topic("out")
	if off, err := tp.Append(bg, 0, bids(e.mem, 30, 10), AppendOptions{WriterID: 7, Sequence: 30}); err != nil || off != 20 {
		t.Fatalf("duplicate after reopen: %d %v", off, err)
	}
	st, _ := tp.Stats(0)
	if st.EndOffset != 35 || st.DuplicateAppends != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Too old to map back to an offset.
	for s := int64(40); s < 40+recentSeqs; s++ {
		if _, err := tp.Append(bg, 0, bids(e.mem, 0, 1), AppendOptions{WriterID: 7, Sequence: s}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tp.Append(bg, 0, bids(e.mem, 0, 1), AppendOptions{WriterID: 7, Sequence: 10}); !errors.Is(err, ErrStaleSequence) {
		t.Fatalf("stale sequence: %v", err)
	}
	l.Close()
	e.checkMem()
}

func TestGroupCommitConcurrent(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, _ := l.CreateTopic("bids", bidConfig(1))
	const writers, each = 8, 25
	var wg sync.WaitGroup
	offs := make(chan int64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				off, err := tp.Append(bg, 0, bids(e.mem, 0, 10), AppendOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				offs <- off
			}
		}()
	}
	wg.Wait()
	close(offs)
	var got []int64
	for o := range offs {
		got = append(got, o)
	}
	slices.Sort(got)
	for i, o := range got {
		if o != int64(i*10) {
			t.Fatalf("offsets not contiguous at %d: %d", i, o)
		}
	}
	st, _ := tp.Stats(0)
	if st.Appends != writers*each || st.Syncs > st.Appends || st.EndOffset != writers*each*10 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d appends, %d fsyncs", st.Appends, st.Syncs)
	// Every acknowledged batch survives a crash that loses unsynced data.
	crashed := e.fs.(interface{ CrashClone(vfsCrashCfg) vfsFS }).CrashClone(vfsCrashCfg{})
	l.Close()
	e2 := *e
	e2.fs = crashed
	l2 := e2.open()
	tp, _ = l2.Topic("bids")
	if got, _ := readAll(t, tp, 0, 0); len(got) != writers*each*10 {
		t.Fatalf("after crash %d rows", len(got))
	}
	l2.Close()
	e.checkMem()
}

func TestReaderWakesAndManyReaders(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	defer l.Close()
	tp, _ := l.CreateTopic("bids", bidConfig(1))
	const readers, batches = 4, 20
	var wg sync.WaitGroup
	results := make([][]int64, readers)
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd, _ := tp.NewReader(0, 0)
			ctx, cancel := context.WithTimeout(bg, 10*time.Second)
			defer cancel()
			for rd.Offset() < batches*3 {
				b, err := rd.Next(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				results[r] = append(results[r], auctionsOf(b.Record, b.FirstRow)...)
				b.Record.Release()
			}
		}()
	}
	for i := 0; i < batches; i++ {
		if _, err := tp.Append(bg, 0, bids(e.mem, i*3, 3), AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for r := range results {
		if !slices.Equal(results[r], seq(0, batches*3)) {
			t.Fatalf("reader %d saw %d rows", r, len(results[r]))
		}
	}
	// A blocked read honours its context.
	ctx, cancel := context.WithTimeout(bg, 5*time.Millisecond)
	defer cancel()
	if _, err := tp.Read(ctx, 0, batches*3); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked read: %v", err)
	}
}

func TestTransactions(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	a, _ := l.CreateTopic("a", bidConfig(2))
	b, _ := l.CreateTopic("b", bidConfig(1))
	mustAppend := func(tp *Topic, p, first, n int) int64 {
		t.Helper()
		off, err := tp.Append(bg, p, bids(e.mem, first, n), AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return off
	}
	mustAppend(a, 0, 0, 5)

	// Committed transaction across two topics.
	tx, _ := l.BeginTxn()
	if _, err := tx.Append(bg, a, 0, bids(e.mem, 5, 5), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Append(bg, b, 0, bids(e.mem, 100, 4), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	// A plain append after the open transaction is not visible until the
	// transaction finishes (readers stop at the last stable offset).
	mustAppend(a, 0, 10, 5)
	if got, _ := readAll(t, a, 0, 0); !slices.Equal(got, seq(0, 5)) {
		t.Fatalf("reader passed an open transaction: %v", got)
	}
	if got, _ := readAll(t, b, 0, 0); len(got) != 0 {
		t.Fatalf("uncommitted batch visible: %v", got)
	}
	if err := tx.Commit(bg); err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, a, 0, 0); !slices.Equal(got, seq(0, 15)) {
		t.Fatalf("after commit: %v", got)
	}
	if got, _ := readAll(t, b, 0, 0); !slices.Equal(got, seq(100, 4)) {
		t.Fatalf("after commit, b: %v", got)
	}
	if err := tx.Commit(bg); !errors.Is(err, ErrTxnDone) {
		t.Fatalf("second commit: %v", err)
	}

	// Aborted transaction: its offsets are skipped.
	tx, _ = l.BeginTxn()
	abortedOff, _ := tx.Append(bg, a, 0, bids(e.mem, 500, 5), AppendOptions{})
	if err := tx.Abort(bg); err != nil {
		t.Fatal(err)
	}
	next := mustAppend(a, 0, 15, 5)
	if got, _ := readAll(t, a, 0, 0); !slices.Equal(got, seq(0, 20)) {
		t.Fatalf("after abort: %v", got)
	}
	if bt, err := a.Read(bg, 0, abortedOff); err != nil || bt.BaseOffset != next {
		t.Fatalf("read at aborted offset: %+v %v", bt, err)
	} else {
		bt.Record.Release()
	}

	// A transaction open at a crash is aborted on open; one committed
	// before the crash stays committed.
	tx, _ = l.BeginTxn()
	tx.Append(bg, a, 1, bids(e.mem, 900, 3), AppendOptions{})
	tx.Append(bg, b, 0, bids(e.mem, 900, 3), AppendOptions{})
	crashed := e.fs.(interface{ CrashClone(vfsCrashCfg) vfsFS }).CrashClone(vfsCrashCfg{})
	tx.Commit(bg)
	l.Close()

	e2 := *e
	e2.fs = crashed
	l = e2.open()
	a, _ = l.Topic("a")
	b, _ = l.Topic("b")
	if got, _ := readAll(t, a, 0, 0); !slices.Equal(got, seq(0, 20)) {
		t.Fatalf("after crash, a/0: %v", got)
	}
	if got, _ := readAll(t, a, 1, 0); len(got) != 0 {
		t.Fatalf("transaction open at crash is visible: %v", got)
	}
	if got, _ := readAll(t, b, 0, 0); !slices.Equal(got, seq(100, 4)) {
		t.Fatalf("after crash, b: %v", got)
	}
	// New appends after recovery are readable past the aborted batches.
	if _, err := a.Append(bg, 1, bids(e.mem, 7, 1), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, a, 1, 0); !slices.Equal(got, seq(7, 1)) {
		t.Fatalf("a/1 after recovery: %v", got)
	}
	l.Close()

	// The same test without the crash: the commit survives reopen.
	l = e.open()
	b, _ = l.Topic("b")
	if got, _ := readAll(t, b, 0, 0); !slices.Equal(got, append(seq(100, 4), seq(900, 3)...)) {
		t.Fatalf("committed transaction after reopen: %v", got)
	}
	l.Close()
	e.checkMem()
}

func TestTxnIdempotent(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, _ := l.CreateTopic("out", bidConfig(1))
	w := AppendOptions{WriterID: 3, Sequence: 1}
	tx, _ := l.BeginTxn()
	off, _ := tx.Append(bg, tp, 0, bids(e.mem, 0, 4), w)
	if err := tx.Commit(bg); err != nil {
		t.Fatal(err)
	}
	// An aborted attempt does not count as written.
	tx, _ = l.BeginTxn()
	tx.Append(bg, tp, 0, bids(e.mem, 4, 4), AppendOptions{WriterID: 3, Sequence: 2})
	tx.Abort(bg)
	l.Close()
	l = e.open()
	tp, _ = l.Topic("out")
	tx, _ = l.BeginTxn()
	if o, err := tx.Append(bg, tp, 0, bids(e.mem, 0, 4), w); err != nil || o != off {
		t.Fatalf("re-run of committed sequence: %d %v", o, err)
	}
	o2, err := tx.Append(bg, tp, 0, bids(e.mem, 4, 4), AppendOptions{WriterID: 3, Sequence: 2})
	if err != nil || o2 == off {
		t.Fatalf("aborted sequence must be written again: %d %v", o2, err)
	}
	tx.Commit(bg)
	if got, _ := readAll(t, tp, 0, 0); !slices.Equal(got, seq(0, 8)) {
		t.Fatalf("read %v", got)
	}
	l.Close()
	e.checkMem()
}

func TestRetention(t *testing.T) {
	e := newEnv(t)
	l := e.open(func(o *Options) { o.RetentionInterval = time.Minute })
	cfg := bidConfig(1)
	cfg.SegmentBytes = 4 << 10
	cfg.Retention = Retention{Age: time.Hour}
	tp, _ := l.CreateTopic("bids", cfg)
	for i := 0; i < 10; i++ {
		tp.Append(bg, 0, bids(e.mem, i*20, 20), AppendOptions{})
	}
	st, _ := tp.Stats(0)
	if st.Segments < 3 {
		t.Fatalf("want several segments, have %d", st.Segments)
	}
	e.clk.Advance(30 * time.Minute)
	if n := l.EnforceRetention(e.clk.Now()); n != 0 {
		t.Fatalf("deleted %d young segments", n)
	}
	tp.Append(bg, 0, bids(e.mem, 200, 20), AppendOptions{})
	// The background ticker deletes everything older than an hour.
	e.clk.Advance(45 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ = tp.Stats(0)
		if st.OldestOffset == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if st.OldestOffset != 200 {
		t.Fatalf("oldest offset %d after age retention, segments %d", st.OldestOffset, st.Segments)
	}
	_, err := tp.Read(bg, 0, 0)
	if !errors.Is(err, ErrOffsetOutOfRange) || !strings.Contains(err.Error(), "oldest retained offset 200") {
		t.Fatalf("read below oldest: %v", err)
	}
	if got, _ := readAll(t, tp, 0, 200); !slices.Equal(got, seq(200, 20)) {
		t.Fatalf("read retained: %v", got)
	}
	l.Close()
	l = e.open()
	tp, _ = l.Topic("bids")
	if st, _ := tp.Stats(0); st.OldestOffset != 200 || st.EndOffset != 220 {
		t.Fatalf("after reopen %+v", st)
	}
	l.Close()

	// Size retention keeps at most Retention.Bytes (plus the active segment).
	l = e.open()
	cfg.Retention = Retention{Bytes: 10 << 10}
	tp, _ = l.CreateTopic("sized", cfg)
	for i := 0; i < 30; i++ {
		tp.Append(bg, 0, bids(e.mem, i*20, 20), AppendOptions{})
	}
	l.EnforceRetention(e.clk.Now())
	st, _ = tp.Stats(0)
	if st.Bytes > 10<<10 || st.OldestOffset == 0 {
		t.Fatalf("size retention: %+v", st)
	}
	if got, _ := readAll(t, tp, 0, st.OldestOffset); len(got) != int(st.EndOffset-st.OldestOffset) {
		t.Fatalf("read %d rows of %d", len(got), st.EndOffset-st.OldestOffset)
	}
	l.Close()
	e.checkMem()
}

func TestConsumerGroupsAndStats(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	tp, _ := l.CreateTopic("bids", bidConfig(2))
	for i := 0; i < 4; i++ {
		tp.Append(bg, 1, bids(e.mem, i*10, 10), AppendOptions{})
	}
	if _, ok := l.CommittedOffset("view1", "bids", 1); ok {
		t.Fatal("offset before commit")
	}
	if err := l.CommitOffset("view1", "bids", 1, 25); err != nil {
		t.Fatal(err)
	}
	if err := l.CommitOffset("view2", "bids", 1, 40); err != nil {
		t.Fatal(err)
	}
	if err := l.CommitOffset("view1", "nope", 0, 1); !errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("commit to unknown topic: %v", err)
	}
	l.Close()
	l = e.open()
	defer l.Close()
	if off, ok := l.CommittedOffset("view1", "bids", 1); !ok || off != 25 {
		t.Fatalf("committed offset after reopen: %d %v", off, ok)
	}
	tp, _ = l.Topic("bids")
	st, _ := tp.Stats(1)
	want := PartitionStats{Topic: "bids", Partition: 1, EndOffset: 40, StableOffset: 40, Segments: 1,
		ReaderLag: map[string]int64{"view1": 15, "view2": 0}}
	if st.EndOffset != want.EndOffset || st.StableOffset != 40 || st.OldestOffset != 0 || st.Bytes == 0 ||
		fmt.Sprint(st.ReaderLag) != fmt.Sprint(want.ReaderLag) {
		t.Fatalf("stats %+v", st)
	}
	tp.Append(bg, 1, bids(e.mem, 0, 1), AppendOptions{})
	st, _ = tp.Stats(1)
	if st.Appends != 1 || st.AppendedRecords != 1 || st.Syncs != 1 || st.ReaderLag["view1"] != 16 {
		t.Fatalf("stats after append %+v", st)
	}
	if all := l.Stats(); len(all) != 2 || all[1].EndOffset != 41 {
		t.Fatalf("log stats %+v", all)
	}
}

func TestIncompatibleFormat(t *testing.T) {
	e := newEnv(t)
	e.open().Close()
	if err := writeFileAtomic(e.fs, "/data", formatFile, []byte("sqld-log 99\n")); err != nil {
		t.Fatal(err)
	}
	_, err := Open("/data", Options{FS: e.fs})
	if !errors.Is(err, ErrIncompatibleFormat) || !strings.Contains(err.Error(), "sqld-log 99") {
		t.Fatalf("open of future format: %v", err)
	}
}

func TestSyncPolicies(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	cfg := bidConfig(1)
	cfg.Sync = SyncPolicy{Mode: SyncInterval, Interval: 5 * time.Millisecond}
	iv, _ := l.CreateTopic("interval", cfg)
	cfg.Sync = SyncPolicy{Mode: SyncNever}
	nv, _ := l.CreateTopic("never", cfg)
	iv.Append(bg, 0, bids(e.mem, 0, 3), AppendOptions{})
	nv.Append(bg, 0, bids(e.mem, 0, 3), AppendOptions{})
	if st, _ := iv.Stats(0); st.Syncs != 0 {
		t.Fatalf("interval topic synced on append: %+v", st)
	}
	e.clk.Advance(5 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for st, _ := iv.Stats(0); st.Syncs == 0 && time.Now().Before(deadline); st, _ = iv.Stats(0) {
		time.Sleep(time.Millisecond)
	}
	if st, _ := iv.Stats(0); st.Syncs != 1 {
		t.Fatalf("interval syncer did not run: %+v", st)
	}
	crashed := e.fs.(interface{ CrashClone(vfsCrashCfg) vfsFS }).CrashClone(vfsCrashCfg{})
	l.Close()
	e2 := *e
	e2.fs = crashed
	l = e2.open()
	defer l.Close()
	iv, _ = l.Topic("interval")
	if got, _ := readAll(t, iv, 0, 0); len(got) != 3 {
		t.Fatalf("interval topic after crash: %v", got)
	}
	nv, _ = l.Topic("never")
	if got, _ := readAll(t, nv, 0, 0); len(got) != 0 {
		t.Fatalf("never-synced data survived a crash that drops unsynced data: %v", got)
	}
}

// TestReaderMemoryBounded reads a partition much larger than one batch and
// checks the reader's live memory stays at about one batch: every batch is
// freed to the allocator when released.
func TestReaderMemoryBounded(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	defer l.Close()
	cfg := bidConfig(1)
	cfg.Sync.Mode = SyncNever
	cfg.SegmentBytes = 1 << 20
	tp, _ := l.CreateTopic("bids", cfg)
	const batches, rows = 200, 1024
	for i := 0; i < batches; i++ {
		tp.Append(bg, 0, bids(memory.DefaultAllocator, i*rows, rows), AppendOptions{})
	}
	st, _ := tp.Stats(0)
	r, _ := tp.NewReader(0, 0)
	maxLive, n := 0, 0
	for r.Offset() < st.EndOffset {
		b, err := r.Next(bg)
		if err != nil {
			t.Fatal(err)
		}
		if c := e.mem.CurrentAlloc(); c > maxLive {
			maxLive = c
		}
		n += int(b.Record.NumRows())
		b.Record.Release()
		if c := e.mem.CurrentAlloc(); c != 0 {
			t.Fatalf("batch not freed on release: %d bytes live", c)
		}
	}
	if n != batches*rows || maxLive == 0 || int64(maxLive) > 2*st.Bytes/batches+4096 {
		t.Fatalf("read %d rows; max live %d bytes for a %d-byte partition", n, maxLive, st.Bytes)
	}
}

// TestRandomCrash crashes, many times, a log being appended to from several
// goroutines, keeping a random part of the unsynced data (so tails are torn
// and have holes), and checks the log opens and keeps every acknowledged
// batch, intact.
func TestRandomCrash(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		e := newEnv(t)
		l := e.open()
		cfg := bidConfig(2)
		cfg.SegmentBytes = 16 << 10
		tp, _ := l.CreateTopic("s", cfg)
		cfg.Sync.Mode = SyncNever
		nv, _ := l.CreateTopic("n", cfg)
		var mu sync.Mutex
		acked := map[[2]int64]int64{} // (partition, base) -> first
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					first, part := g*100000+i*50, i%2
					off, err := tp.Append(bg, part, bids(memory.DefaultAllocator, first, 7+i%40), AppendOptions{})
					if err != nil {
						return
					}
					nv.Append(bg, part, bids(memory.DefaultAllocator, first, 5), AppendOptions{})
					mu.Lock()
					acked[[2]int64{int64(part), off}] = int64(first)
					mu.Unlock()
				}
			}()
		}
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= 40 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		snapshot := maps.Clone(acked)
		crashed := e.fs.(interface{ CrashClone(vfsCrashCfg) vfsFS }).CrashClone(vfsCrashCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(seed, seed))})
		mu.Unlock()
		close(stop)
		wg.Wait()
		l.Close()

		e2 := *e
		e2.fs = crashed
		l2, err := Open("/data", Options{FS: crashed, Clock: e.clk})
		if err != nil {
			t.Fatalf("seed %d: open after crash: %v", seed, err)
		}
		_ = e2
		tp2, _ := l2.Topic("s")
		for part := 0; part < 2; part++ {
			r, _ := tp2.NewReader(part, 0)
			st, _ := tp2.Stats(part)
			found := map[int64]int64{}
			for r.Offset() < st.StableOffset {
				b, err := r.Next(bg)
				if err != nil {
					t.Fatalf("seed %d: read: %v", seed, err)
				}
				a := auctionsOf(b.Record, 0)
				for i := range a {
					if a[i] != a[0]+int64(i) {
						t.Fatalf("seed %d: batch at %d not intact", seed, b.BaseOffset)
					}
				}
				found[b.BaseOffset] = a[0] - 1000
				b.Record.Release()
			}
			for k, first := range snapshot {
				if k[0] == int64(part) && found[k[1]] != first {
					t.Fatalf("seed %d: acknowledged batch %v (first %d) lost", seed, k, first)
				}
			}
		}
		nv2, _ := l2.Topic("n")
		for part := 0; part < 2; part++ {
			if _, err := readAllErr(nv2, part); err != nil {
				t.Fatalf("seed %d: never-synced topic: %v", seed, err)
			}
		}
		l2.Close()
	}
}

func readAllErr(tp *Topic, part int) (int, error) {
	st, _ := tp.Stats(part)
	r, _ := tp.NewReader(part, st.OldestOffset)
	n := 0
	for r.Offset() < st.StableOffset {
		b, err := r.Next(bg)
		if err != nil {
			return n, err
		}
		n += int(b.Record.NumRows())
		b.Record.Release()
	}
	return n, nil
}
