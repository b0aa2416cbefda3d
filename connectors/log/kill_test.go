package log

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

const killEnv = "SQLD_LOG_KILL_CHILD_DIR"

// TestKill9 runs an appender in a child process (this test binary re-run
// with killEnv set), SIGKILLs it mid-stream, reopens its directory and
// checks that every batch the child saw acknowledged is there, intact, and
// that nothing partial is.
func TestKill9(t *testing.T) {
	if dir := os.Getenv(killEnv); dir != "" {
		killChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$", "-test.v=false")
	cmd.Env = append(os.Environ(), killEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct{ base, first, rows int64 }
	var acks []ack
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for sc.Scan() && len(acks) < 150 && time.Now().Before(deadline) {
		var a ack
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d %d", &a.base, &a.first, &a.rows); err == nil {
			acks = append(acks, a)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if len(acks) < 20 {
		t.Fatalf("child acknowledged only %d appends", len(acks))
	}

	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	l, err := Open(dir, Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { l.Close(); mem.AssertSize(t, 0) }()
	tp, err := l.Topic("k")
	if err != nil {
		t.Fatal(err)
	}
	// Every batch in the log is whole and decodes, with contiguous offsets.
	type got struct{ first, rows int64 }
	batches := map[int64]got{}
	r, _ := tp.NewReader(0, 0)
	st, _ := tp.Stats(0)
	for r.Offset() < st.EndOffset {
		b, err := r.Next(context.Background())
		if err != nil {
			t.Fatalf("reading back at %d: %v", r.Offset(), err)
		}
		a := auctionsOf(b.Record, 0)
		for i := range a {
			if a[i] != a[0]+int64(i) {
				t.Fatalf("batch at %d is not intact", b.BaseOffset)
			}
		}
		batches[b.BaseOffset] = got{a[0] - 1000, b.Record.NumRows()}
		b.Record.Release()
	}
	for _, a := range acks {
		if g, ok := batches[a.base]; !ok || g.first != a.first || g.rows != a.rows {
			t.Fatalf("acknowledged batch %+v lost or changed (found %+v, %v)", a, g, ok)
		}
	}
	t.Logf("%d acknowledged, %d batches recovered, end offset %d", len(acks), len(batches), st.EndOffset)
}

// killChild appends from four goroutines until killed, printing each
// acknowledged append.
func killChild(dir string) {
	l, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg := bidConfig(1)
	cfg.SegmentBytes = 256 << 10
	tp, err := l.CreateTopic("k", cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				first, rows := g*1_000_000+i*500, 100+(i*37)%400
				off, err := tp.Append(context.Background(), 0, bids(memory.DefaultAllocator, first, rows), AppendOptions{})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(w, "ack %d %d %d\n", off, first, rows)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
