package log

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
)

const benchRows = 4096

// benchBatches returns a few distinct 4096-row bid batches.
func benchBatches(n int) []arrow.RecordBatch {
	out := make([]arrow.RecordBatch, n)
	for i := range out {
		out[i] = bids(memory.DefaultAllocator, i*benchRows, benchRows)
	}
	return out
}

func encodedSize(b testing.TB, rec arrow.RecordBatch) int {
	enc, err := encodeBatch(rec, memory.DefaultAllocator, 5)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.release()
	return enc.size()
}

// BenchmarkRawAppend is the baseline for BenchmarkLogAppend: it writes the
// same bytes (header and IPC payload of each batch) to a plain file and
// fdatasyncs after every batch, the cadence of a single appender under
// SyncEveryBatch.
func BenchmarkRawAppend(b *testing.B) {
	recs := benchBatches(4)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var bufs [][]byte
	for _, r := range recs {
		enc, _ := encodeBatch(r, memory.DefaultAllocator, 5)
		bufs = append(bufs, enc.flat())
		enc.release()
	}
	f, err := vfs.Default.Create(b.TempDir()+"/raw", vfs.WriteCategoryUnspecified)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(int64(len(bufs[0])))
	b.ReportAllocs()
	b.ResetTimer()
	var pos int64
	for i := 0; i < b.N; i++ {
		buf := bufs[i%len(bufs)]
		if _, err := f.WriteAt(buf, pos); err != nil {
			b.Fatal(err)
		}
		pos += int64(len(buf))
		if err := f.SyncData(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLogAppend appends 4096-row Nexmark bid batches with SyncEveryBatch
// (an fsync per group commit), from one appender (serial, comparable to
// BenchmarkRawAppend) and from 8 concurrent appenders sharing fsyncs.
func BenchmarkLogAppend(b *testing.B) {
	recs := benchBatches(4)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	size := encodedSize(b, recs[0])
	run := func(b *testing.B, appenders int) {
		l, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		tp, err := l.CreateTopic("bids", bidConfig(1))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.ResetTimer()
		var wg sync.WaitGroup
		var mu sync.Mutex
		n := 0
		for w := 0; w < appenders; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					mu.Lock()
					if n == b.N {
						mu.Unlock()
						return
					}
					n++
					mu.Unlock()
					rec := recs[i%len(recs)]
					rec.Retain()
					if _, err := tp.Append(context.Background(), 0, rec, AppendOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		st, _ := tp.Stats(0)
		b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(st.Syncs)/float64(b.N), "fsyncs/op")
	}
	b.Run("appenders=1", func(b *testing.B) { run(b, 1) })
	b.Run("appenders=8", func(b *testing.B) { run(b, 8) })
}

// BenchmarkLogRead reads 4096-row bid batches back sequentially with one
// reader (one goroutine), decoding each batch's IPC message zero-copy.
func BenchmarkLogRead(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cfg := bidConfig(1)
	cfg.Sync.Mode = SyncNever
	tp, err := l.CreateTopic("bids", cfg)
	if err != nil {
		b.Fatal(err)
	}
	recs := benchBatches(4)
	const batches = 128
	for i := 0; i < batches; i++ {
		recs[i%4].Retain()
		if _, err := tp.Append(context.Background(), 0, recs[i%4], AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, r := range recs {
		r.Release()
	}
	st, _ := tp.Stats(0)
	r, _ := tp.NewReader(0, 0)
	ctx := context.Background()
	b.SetBytes(st.Bytes / batches)
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		if r.Offset() == st.EndOffset {
			r.SetOffset(0)
		}
		bt, err := r.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rows += int(bt.Record.NumRows())
		bt.Record.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWakeLatency measures the time from the start of an append of a
// one-row batch to a reader blocked in Next returning it. The topic uses
// SyncNever so that the figure is the wake-up path, not the disk's fsync.
func BenchmarkWakeLatency(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cfg := bidConfig(1)
	cfg.Sync.Mode = SyncNever
	tp, err := l.CreateTopic("bids", cfg)
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	got := make(chan time.Time, 1)
	ctx := context.Background()
	go func() {
		r, _ := tp.NewReader(0, 0)
		for {
			bt, err := r.Next(ctx)
			if err != nil {
				close(got)
				return
			}
			got <- time.Now()
			bt.Record.Release()
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := bids(memory.DefaultAllocator, i, 1)
		t0 := time.Now()
		if _, err := tp.Append(ctx, 0, rec, AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-got).Sub(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkEncode serializes bid batches of a few sizes into the stored
// form (header room, IPC payload, payload CRC).
func BenchmarkEncode(b *testing.B) {
	for _, rows := range []int{4096, 65536} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			rec := bids(memory.DefaultAllocator, 0, rows)
			defer rec.Release()
			b.SetBytes(int64(encodedSize(b, rec)))
			b.ReportAllocs()
			for b.Loop() {
				enc, err := encodeBatch(rec, memory.DefaultAllocator, 5)
				if err != nil {
					b.Fatal(err)
				}
				enc.release()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkLogFollow appends 65536-row bid batches and reads each back
// right after, as a view does that keeps up with a stream.
func BenchmarkLogFollow(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cfg := bidConfig(1)
	cfg.Sync.Mode = SyncNever
	tp, err := l.CreateTopic("bids", cfg)
	if err != nil {
		b.Fatal(err)
	}
	const rows = 65536
	recs := make([]arrow.RecordBatch, 4)
	for i := range recs {
		recs[i] = bids(memory.DefaultAllocator, i*rows, rows)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	b.SetBytes(int64(encodedSize(b, recs[0])))
	b.ReportAllocs()
	r, _ := tp.NewReader(0, 0)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		rec := recs[i%len(recs)]
		rec.Retain()
		if _, err := tp.Append(ctx, 0, rec, AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		bt, err := r.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		bt.Record.Release()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
