package log

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// bidSchema is the Nexmark bid event.
var bidSchema = arrow.NewSchema([]arrow.Field{
	{Name: "auction", Type: arrow.PrimitiveTypes.Int64},
	{Name: "bidder", Type: arrow.PrimitiveTypes.Int64},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64},
	{Name: "channel", Type: arrow.BinaryTypes.String},
	{Name: "url", Type: arrow.BinaryTypes.String},
	{Name: "date_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
	{Name: "extra", Type: arrow.BinaryTypes.String},
}, nil)

var channels = []string{"Google", "Facebook", "Baidu", "Apple"}

// bids builds n bid rows for event ids [first, first+n); event i has
// auction 1000+i and date_time 100µs*i.
func bids(mem memory.Allocator, first, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, bidSchema)
	defer b.Release()
	auction := b.Field(0).(*array.Int64Builder)
	bidder := b.Field(1).(*array.Int64Builder)
	price := b.Field(2).(*array.Int64Builder)
	channel := b.Field(3).(*array.StringBuilder)
	url := b.Field(4).(*array.StringBuilder)
	ts := b.Field(5).(*array.TimestampBuilder)
	extra := b.Field(6).(*array.StringBuilder)
	for i := first; i < first+n; i++ {
		auction.Append(int64(1000 + i))
		bidder.Append(int64(2000 + i%997))
		price.Append(int64(100 + (i*7919)%1000000))
		channel.Append(channels[i%len(channels)])
		url.Append(fmt.Sprintf("https://www.nexmark.com/item.htm?query=1&channel_id=%d", i%1000))
		ts.Append(arrow.Timestamp(int64(i) * 100))
		extra.Append("")
	}
	return b.NewRecordBatch()
}

// auctionsOf returns the auction column of rec from row first on.
func auctionsOf(rec arrow.RecordBatch, first int) []int64 {
	return rec.Column(0).(*array.Int64).Int64Values()[first:]
}

func bidConfig(parts int) TopicConfig {
	return TopicConfig{Partitions: parts, Schema: bidSchema, EventTimeColumn: 5}
}

type env struct {
	t   testing.TB
	fs  vfs.FS
	mem *memory.CheckedAllocator
	clk *manualClock
}

func newEnv(t testing.TB) *env {
	return &env{t: t, fs: vfs.NewCrashableMem(), mem: memory.NewCheckedAllocator(memory.DefaultAllocator), clk: newManualClock(time.Unix(1_700_000_000, 0))}
}

func (e *env) open(opts ...func(*Options)) *Log {
	e.t.Helper()
	o := Options{FS: e.fs, Allocator: e.mem, Clock: e.clk}
	for _, f := range opts {
		f(&o)
	}
	l, err := Open("/data", o)
	if err != nil {
		e.t.Fatalf("open: %v", err)
	}
	return l
}

// checkMem asserts that every buffer from the env's allocator was released.
func (e *env) checkMem() {
	e.t.Helper()
	e.mem.AssertSize(e.t, 0)
}

// readAll reads a partition from off until the end visible now, returning
// the auction ids seen (from FirstRow on) and the next offset.
func readAll(t testing.TB, tp *Topic, part int, off int64) ([]int64, int64) {
	t.Helper()
	r, err := tp.NewReader(part, off)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		b, err := r.Next(ctx)
		cancel()
		if err == context.DeadlineExceeded {
			return out, r.Offset()
		}
		if err != nil {
			t.Fatalf("read at %d: %v", r.Offset(), err)
		}
		out = append(out, auctionsOf(b.Record, b.FirstRow)...)
		b.Record.Release()
	}
}

// manualClock is a Clock moved by tests.
type manualClock struct {
	mu      chan struct{}
	now     time.Time
	tickers []*manualTicker
}

type manualTicker struct {
	c       chan time.Time
	stopped atomic.Bool
}

func newManualClock(t time.Time) *manualClock {
	c := &manualClock{mu: make(chan struct{}, 1), now: t}
	return c
}

func (c *manualClock) lock()   { c.mu <- struct{}{} }
func (c *manualClock) unlock() { <-c.mu }

func (c *manualClock) Now() time.Time { c.lock(); defer c.unlock(); return c.now }

func (c *manualClock) NewTicker(d time.Duration) Ticker {
	c.lock()
	defer c.unlock()
	t := &manualTicker{c: make(chan time.Time, 1)}
	c.tickers = append(c.tickers, t)
	return t
}

// Advance moves time and fires every live ticker once.
func (c *manualClock) Advance(d time.Duration) {
	c.lock()
	c.now = c.now.Add(d)
	now := c.now
	ts := append([]*manualTicker(nil), c.tickers...)
	c.unlock()
	for _, t := range ts {
		if !t.stopped.Load() {
			select {
			case t.c <- now:
			default:
			}
		}
	}
}

func (t *manualTicker) C() <-chan time.Time { return t.c }
func (t *manualTicker) Stop()               { t.stopped.Store(true) }

type vfsCrashCfg = vfs.CrashCloneCfg
type vfsFS = *vfs.MemFS
