package nexmark

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var benchSizes = []int64{1 << 10, 1 << 13, 1 << 16}

// batchBytes is the size of a batch's column buffers.
func batchBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		for _, buf := range c.Data().Buffers() {
			if buf != nil {
				n += int64(buf.Len())
			}
		}
	}
	return n
}

// benchKind generates consecutive ranges of size events, keeping the rows
// of one kind. events/s counts every event number covered (all kinds);
// rows/s counts the rows produced.
func benchKind(b *testing.B, kind Kind, size int64) {
	g := newGen(b, Config{Seed: 1})
	mem := memory.NewGoAllocator()
	rec, _ := g.Batch(kind, 0, size, mem)
	b.SetBytes(batchBytes(rec))
	rec.Release()
	b.ReportAllocs()
	var from, rows int64
	for b.Loop() {
		rec, next := g.Batch(kind, from, from+size, mem)
		rows += rec.NumRows()
		rec.Release()
		from = next
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(from)/sec, "events/s")
	b.ReportMetric(float64(rows)/sec, "rows/s")
}

func BenchmarkGenerateBids(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) { benchKind(b, KindBid, size) })
	}
}

func BenchmarkGeneratePersons(b *testing.B) {
	b.Run("events=65536", func(b *testing.B) { benchKind(b, KindPerson, 1<<16) })
}

func BenchmarkGenerateAuctions(b *testing.B) {
	b.Run("events=65536", func(b *testing.B) { benchKind(b, KindAuction, 1<<16) })
}

// BenchmarkSplit generates all three kinds of each range.
func BenchmarkSplit(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			g := newGen(b, Config{Seed: 1})
			mem := memory.NewGoAllocator()
			b.ReportAllocs()
			var from int64
			for b.Loop() {
				p, a, bids := g.Split(from, from+size, mem)
				p.Release()
				a.Release()
				bids.Release()
				from += size
			}
			b.ReportMetric(float64(from)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkEvent is the one-event path, which allocates its strings.
func BenchmarkEvent(b *testing.B) {
	g := newGen(b, Config{Seed: 1})
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		_ = g.Event(n)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkNewGenerator(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewGenerator(Config{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
