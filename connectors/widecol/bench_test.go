package widecol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// benchSpec: 4 BIGINT (id is the partition key) + 1 short TEXT.
func benchSpec() TableSpec {
	return TableSpec{Keyspace: "bench", Name: "t",
		Schema: arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "a", Type: arrow.PrimitiveTypes.Int64},
			{Name: "b", Type: arrow.PrimitiveTypes.Int64},
			{Name: "c", Type: arrow.PrimitiveTypes.Int64},
			{Name: "s", Type: arrow.BinaryTypes.String},
		}, nil),
		PartitionKey: []string{"id"}}
}

// benchRecord builds n rows with ids start, start+1, ...
func benchRecord(schema *arrow.Schema, start, n int) arrow.RecordBatch {
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for i := start; i < start+n; i++ {
		rb.Field(0).(*array.Int64Builder).Append(int64(i))
		rb.Field(1).(*array.Int64Builder).Append(int64(i) * 3)
		rb.Field(2).(*array.Int64Builder).Append(int64(i) ^ 0x5555)
		rb.Field(3).(*array.Int64Builder).Append(-int64(i))
		rb.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("name-%06d", i%1000000))
	}
	return rb.NewRecordBatch()
}

func openBench(b *testing.B, o Options) *Store {
	if o.Logger == nil {
		o.Logger = quietLogger{b}
	}
	s, err := Open(context.Background(), b.TempDir(), &o)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// fill writes rows [0, n) in large unsynced batches, then syncs, flushes
// and compacts so reads come from sstables.
func fill(b testing.TB, s *Store, t *Table, n int) {
	const chunk = 65536
	for start := 0; start < n; start += chunk {
		rec := benchRecord(t.Schema, start, min(chunk, n-start))
		mustCommit(b, s, func(bt *Batch) error { return bt.Upsert(t, rec, nil) })
		rec.Release()
	}
	if err := s.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.Compact(ctx, t); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkWidecolUpsert(b *testing.B) {
	const batch = 4096
	s := openBench(b, Options{})
	defer s.Close()
	t, err := s.CreateTable(ctx, benchSpec())
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]arrow.RecordBatch, 64)
	for i := range recs {
		recs[i] = benchRecord(t.Schema, i*batch, batch)
		defer recs[i].Release()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		bt := s.NewBatch()
		if err := bt.Upsert(t, recs[i%len(recs)], nil); err != nil {
			b.Fatal(err)
		}
		if err := bt.Commit(ctx); err != nil { // one fsync per batch
			b.Fatal(err)
		}
		bt.Close()
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N*batch)/el.Seconds(), "rows/s")
}

func BenchmarkWidecolScan(b *testing.B) {
	sizes := []int{1_000_000, 10_000_000}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			if n > 1_000_000 && testing.Short() {
				b.Skip("large data set")
			}
			s := openBench(b, Options{Sync: SyncInterval, CacheSize: 256 << 20, MemTableSize: 64 << 20})
			defer s.Close()
			t, err := s.CreateTable(ctx, benchSpec())
			if err != nil {
				b.Fatal(err)
			}
			fill(b, s, t, n)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				it, err := s.Scan(ctx, t, Range{}, &ReadOptions{BatchSize: 4096})
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for {
					rec, err := it.Next(ctx)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					got += int(rec.NumRows())
					rec.Release()
				}
				it.Close()
				if got != n {
					b.Fatalf("scanned %d rows, want %d", got, n)
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(b.N*n)/el.Seconds(), "rows/s")
		})
	}
}

func BenchmarkWidecolGet(b *testing.B) {
	const n = 200_000
	s := openBench(b, Options{Sync: SyncInterval})
	defer s.Close()
	t, err := s.CreateTable(ctx, benchSpec())
	if err != nil {
		b.Fatal(err)
	}
	fill(b, s, t, n)
	key := make([]any, 1)
	for _, mode := range []string{"batch", "row"} {
		b.Run(mode, func(b *testing.B) {
			for i := 0; i < n; i++ { // warm the cache
				key[0] = int64(i)
				if _, err := s.GetRow(ctx, t, key); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			m0 := s.Metrics()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key[0] = int64((i * 7919) % n)
				st := time.Now()
				if mode == "batch" {
					rec, err := s.Get(ctx, t, key, nil)
					if err != nil {
						b.Fatal(err)
					}
					rec.Release()
				} else if _, err := s.GetRow(ctx, t, key); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(st))
			}
			b.StopTimer()
			m1 := s.Metrics()
			b.ReportMetric(float64(m1.CacheMisses-m0.CacheMisses)/float64(b.N), "misses/op")
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}

// TestScanMemoryBounded scans a table about ten times the block cache and
// checks the cache stays within its size and the Go heap does not grow
// with the table.
func TestScanMemoryBounded(t *testing.T) {
	const cache = 2 << 20
	s := openTest(t, vfs.NewMem(), &Options{CacheSize: cache, MemTableSize: 256 << 10, Sync: SyncInterval})
	defer s.Close()
	tb, err := s.CreateTable(ctx, benchSpec())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, tb, 1_000_000)
	if used := s.Metrics().Tables[0].DiskBytes; used < 10*cache {
		t.Fatalf("table is only %d bytes on disk", used)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peakHeap uint64
	var peakCache int64
	it, err := s.Scan(ctx, tb, Range{}, &ReadOptions{BatchSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for i := 0; ; i++ {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows += int(rec.NumRows())
		rec.Release()
		if i%100 == 0 {
			runtime.GC() // measure live memory, not garbage
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapAlloc)
			peakCache = max(peakCache, s.Metrics().CacheSize)
		}
	}
	it.Close()
	if rows != 1_000_000 {
		t.Fatalf("scanned %d rows", rows)
	}
	if peakCache > cache {
		t.Errorf("block cache grew to %d bytes, capacity %d", peakCache, cache)
	}
	// Live heap may hold a batch and iterator buffers, but nothing like
	// the table size.
	if growth := int64(peakHeap) - int64(base); growth > 8<<20 {
		t.Errorf("heap grew by %d bytes during the scan", growth)
	}
	t.Logf("table %d bytes, cache peak %d, heap growth %d", s.Metrics().Tables[0].DiskBytes, peakCache, int64(peakHeap)-int64(base))
}

// BenchmarkChunkEncode encodes chunks of view-like rows: row numbers,
// an epoch, ids, times, and strings with few and with many values.
func BenchmarkChunkEncode(b *testing.B) {
	tb, err := newTable(TableSpec{Keyspace: "ks", Name: "enc", Schema: encodingSchema(), PartitionKey: []string{"epoch"},
		Clustering: []ClusteringColumn{{Name: "seq"}}, AppendOnly: true}, 1)
	if err != nil {
		b.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	rec := makeRecord(b, mem, tb.Schema, encodingRows(rand.New(rand.NewSource(1)), maxChunkRows, 1<<20))
	defer rec.Release()
	recs := []arrow.RecordBatch{rec}
	enc := new(chunkEncoder)
	var dst []byte
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst = enc.write(slices.Grow(dst[:0], enc.plan(tb, recs)), tb, recs)
	}
	b.ReportMetric(float64(b.N)*maxChunkRows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(len(dst))/maxChunkRows, "bytes/row")
}

// q19Schema is the schema of a Nexmark q19 top-N view: bids keyed by
// (auction, pos), the position last.
func q19Schema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "auction", Type: arrow.PrimitiveTypes.Int64},
		{Name: "bidder", Type: arrow.PrimitiveTypes.Int64},
		{Name: "price", Type: arrow.PrimitiveTypes.Int64},
		{Name: "channel", Type: arrow.BinaryTypes.String},
		{Name: "url", Type: arrow.BinaryTypes.String},
		{Name: "date_time", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "extra", Type: arrow.BinaryTypes.String},
		{Name: "rank_number", Type: arrow.PrimitiveTypes.Int64},
		{Name: "pos", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

// q19Record builds n rows of q19Schema, ten per auction.
func q19Record(schema *arrow.Schema, n int) arrow.RecordBatch {
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for i := 0; i < n; i++ {
		rb.Field(0).(*array.Int64Builder).Append(int64(i / 10))
		rb.Field(1).(*array.Int64Builder).Append(int64(i) * 3)
		rb.Field(2).(*array.Int64Builder).Append(int64(i) ^ 0x5555)
		rb.Field(3).(*array.StringBuilder).Append("Google")
		rb.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("https://www.nexmark.com/abcd/efgh/ijkl/item.htm?query=1&channel_id=%d", i))
		rb.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
		rb.Field(6).(*array.StringBuilder).Append(fmt.Sprintf("%060d", i))
		rb.Field(7).(*array.Int64Builder).Append(int64(i % 10))
		rb.Field(8).(*array.Int64Builder).Append(int64(i % 10))
	}
	return rb.NewRecordBatch()
}

// BenchmarkRowWriter writes the rows of a q19 top-N view cell by cell, in
// column order, as the view does. presized starts from a batch large
// enough for every row, growing from an empty one; interleaved takes
// consecutive rows from different arrays (50 slices of the record, in
// turn) as rows kept from many input batches are.
func BenchmarkRowWriter(b *testing.B) {
	const n = 250_000
	s := openBench(b, Options{})
	defer s.Close()
	schema := q19Schema()
	t, err := s.CreateTable(ctx, TableSpec{Keyspace: "bench", Name: "q19", Schema: schema,
		PartitionKey: []string{"auction"}, Clustering: []ClusteringColumn{{Name: "pos"}}})
	if err != nil {
		b.Fatal(err)
	}
	rec := q19Record(schema, n)
	defer rec.Release()
	const slice = n / 50
	slices := make([]arrow.RecordBatch, n/slice)
	for i := range slices {
		slices[i] = rec.NewSlice(int64(i*slice), int64((i+1)*slice))
		defer slices[i].Release()
	}
	// source returns the record holding row r of the run and its index there.
	whole := func(r int) (arrow.RecordBatch, int) { return rec, r }
	interleaved := func(r int) (arrow.RecordBatch, int) { return slices[r%len(slices)], r / len(slices) }
	size := 0
	for _, bc := range []struct {
		name    string
		presize bool
		source  func(int) (arrow.RecordBatch, int)
	}{
		{"presized", true, whole},
		{"growing", false, whole},
		{"interleaved", true, interleaved},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			bytes := 0
			for range b.N {
				bt := s.NewBatch()
				if bc.presize {
					bt.Close()
					bt = s.NewBatchSize(size)
				}
				w, err := bt.Rows(t, nil)
				if err != nil {
					b.Fatal(err)
				}
				for r := range n {
					src, i := bc.source(r)
					for c := range 9 {
						if err := w.FromArray(c, src.Column(c), i); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Write(); err != nil {
						b.Fatal(err)
					}
				}
				bytes = bt.Bytes()
				size = max(size, bytes+bytes/8)
				bt.Close()
			}
			b.SetBytes(int64(bytes))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
