package log

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSegments runs the scenarios in testdata/segments: appends, reads,
// crashes (keeping only synced data), and damage to segment files.
//
//	open                                      open the log (closing any open one)
//	close
//	create topic=T [partitions=N] [segment-bytes=N] [sync=every|interval|never]
//	append topic=T [part=P] first=F rows=N [writer=W seq=S]
//	read topic=T [part=P] from=O              every visible batch from O
//	crash                                     drop unsynced data, reopen
//	segments topic=T [part=P]                 list segment files and sizes
//	flip topic=T [part=P] seg=I pos=N          flip a byte (pos<0: from the end)
//	chop topic=T [part=P] seg=I bytes=N        cut N bytes off a segment's end
//	stats topic=T [part=P]
func TestSegments(t *testing.T) {
	datadriven.Walk(t, "testdata/segments", func(t *testing.T, path string) {
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		fs := vfs.NewCrashableMem()
		var l *Log
		defer func() {
			if l != nil {
				l.Close()
			}
			mem.AssertSize(t, 0)
		}()
		clk := newManualClock(time.Unix(1_700_000_000, 0))
		reopen := func() string {
			if l != nil {
				l.Close()
				l = nil
			}
			var err error
			l, err = Open("/data", Options{FS: fs, Allocator: mem, Clock: clk})
			if err != nil {
				return "error: " + err.Error()
			}
			return "ok"
		}
		topic := func(d *datadriven.TestData) (*Topic, int, error) {
			var name string
			var part int
			d.ScanArgs(t, "topic", &name)
			d.MaybeScanArgs(t, "part", &part)
			if l == nil {
				return nil, 0, fmt.Errorf("log not open")
			}
			tp, err := l.Topic(name)
			return tp, part, err
		}
		segPath := func(d *datadriven.TestData) string {
			var name string
			var part, seg int
			d.ScanArgs(t, "topic", &name)
			d.MaybeScanArgs(t, "part", &part)
			d.ScanArgs(t, "seg", &seg)
			dir := fmt.Sprintf("/data/topics/%s/%d", name, part)
			names, err := fs.List(dir)
			if err != nil {
				t.Fatal(err)
			}
			var segs []string
			for _, n := range names {
				if _, ok := parseSegmentName(n); ok {
					segs = append(segs, n)
				}
			}
			sortStrings(segs)
			return dir + "/" + segs[seg]
		}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "open":
				return reopen()
			case "close":
				if err := l.Close(); err != nil {
					return "error: " + err.Error()
				}
				l = nil
				return "ok"
			case "create":
				var name, sync string
				cfg := bidConfig(1)
				d.ScanArgs(t, "topic", &name)
				d.MaybeScanArgs(t, "partitions", &cfg.Partitions)
				d.MaybeScanArgs(t, "segment-bytes", &cfg.SegmentBytes)
				if d.MaybeScanArgs(t, "sync", &sync) {
					cfg.Sync.Mode = map[string]SyncMode{"every": SyncEveryBatch, "interval": SyncInterval, "never": SyncNever}[sync]
				}
				if _, err := l.CreateTopic(name, cfg); err != nil {
					return "error: " + err.Error()
				}
				return "ok"
			case "append":
				tp, part, err := topic(d)
				if err != nil {
					return "error: " + err.Error()
				}
				var first, rows int
				var o AppendOptions
				d.ScanArgs(t, "first", &first)
				d.ScanArgs(t, "rows", &rows)
				d.MaybeScanArgs(t, "writer", &o.WriterID)
				d.MaybeScanArgs(t, "seq", &o.Sequence)
				off, err := tp.Append(context.Background(), part, bids(mem, first, rows), o)
				if err != nil {
					return "error: " + err.Error()
				}
				return fmt.Sprintf("offset %d", off)
			case "read":
				tp, part, err := topic(d)
				if err != nil {
					return "error: " + err.Error()
				}
				var from int64
				d.ScanArgs(t, "from", &from)
				r, _ := tp.NewReader(part, from)
				var sb strings.Builder
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
					b, err := r.Next(ctx)
					cancel()
					if err == context.DeadlineExceeded {
						break
					}
					if err != nil {
						fmt.Fprintf(&sb, "error: %v\n", err)
						break
					}
					a := auctionsOf(b.Record, 0)
					fmt.Fprintf(&sb, "batch base=%d rows=%d first-row=%d auctions=%d..%d\n",
						b.BaseOffset, b.Record.NumRows(), b.FirstRow, a[0], a[len(a)-1])
					b.Record.Release()
				}
				fmt.Fprintf(&sb, "next %d", r.Offset())
				return sb.String()
			case "crash":
				crashed := fs.CrashClone(vfs.CrashCloneCfg{})
				if l != nil {
					l.Close()
					l = nil
				}
				fs = crashed
				return reopen()
			case "segments":
				var name string
				var part int
				d.ScanArgs(t, "topic", &name)
				d.MaybeScanArgs(t, "part", &part)
				dir := fmt.Sprintf("/data/topics/%s/%d", name, part)
				names, _ := fs.List(dir)
				sortStrings(names)
				var sb strings.Builder
				for _, n := range names {
					st, _ := fs.Stat(dir + "/" + n)
					fmt.Fprintf(&sb, "%s %d\n", n, st.Size())
				}
				return strings.TrimSpace(sb.String())
			case "flip":
				p := segPath(d)
				var pos int64
				d.ScanArgs(t, "pos", &pos)
				f, err := fs.OpenReadWrite(p, vfs.WriteCategoryUnspecified)
				if err != nil {
					t.Fatal(err)
				}
				st, _ := f.Stat()
				if pos < 0 {
					pos += st.Size()
				}
				b := make([]byte, 1)
				f.ReadAt(b, pos)
				b[0] ^= 0x40
				f.WriteAt(b, pos)
				f.Sync()
				f.Close()
				return fmt.Sprintf("flipped byte %d of %s", pos, fs.PathBase(p))
			case "chop":
				p := segPath(d)
				var n int64
				d.ScanArgs(t, "bytes", &n)
				f, _ := fs.Open(p)
				st, _ := f.Stat()
				data := make([]byte, st.Size()-n)
				io.ReadFull(io.NewSectionReader(f, 0, int64(len(data))), data)
				f.Close()
				g, _ := fs.Create(p, vfs.WriteCategoryUnspecified)
				g.Write(data)
				g.Sync()
				g.Close()
				return fmt.Sprintf("%s now %d bytes", fs.PathBase(p), len(data))
			case "stats":
				tp, part, err := topic(d)
				if err != nil {
					return "error: " + err.Error()
				}
				st, _ := tp.Stats(part)
				return fmt.Sprintf("end=%d stable=%d oldest=%d segments=%d bytes=%d", st.EndOffset, st.StableOffset, st.OldestOffset, st.Segments, st.Bytes)
			}
			return "unknown command " + d.Cmd
		})
	})
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
