package widecol

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2/vfs"
)

const rowsPerBatch = 20

func crashSpec() TableSpec {
	return TableSpec{Keyspace: "crash", Name: "t",
		Schema: arrow.NewSchema([]arrow.Field{
			{Name: "batch", Type: arrow.PrimitiveTypes.Int64},
			{Name: "i", Type: arrow.PrimitiveTypes.Int64},
			{Name: "v", Type: arrow.BinaryTypes.String},
		}, nil),
		PartitionKey: []string{"batch"}, Clustering: []ClusteringColumn{{Name: "i"}}}
}

// writeNumbered commits batch n: rowsPerBatch rows in table t, plus one row
// in table m, so atomicity spans tables.
func writeNumbered(s *Store, t, m *Table, n int64) error {
	b := s.NewBatch()
	defer b.Close()
	for i := 0; i < rowsPerBatch; i++ {
		if err := b.UpsertRow(t, Row{"batch": n, "i": i, "v": strings.Repeat("x", 50)}, nil); err != nil {
			return err
		}
	}
	if err := b.UpsertRow(m, Row{"batch": n, "i": 0, "v": "marker"}, nil); err != nil {
		return err
	}
	return b.Commit(context.Background())
}

// verifyBatches checks that each batch is whole or absent and that every
// batch below acked is present. It returns the number of batches present.
func verifyBatches(t *testing.T, s *Store, acked int64) int {
	t.Helper()
	tb, err := s.Table("crash", "t")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Table("crash", "m")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int64]int{}
	for _, row := range scanAll(t, s, tb, Range{}, &ReadOptions{Columns: []string{"batch"}}) {
		counts[row[0].(int64)]++
	}
	for _, row := range scanAll(t, s, mb, Range{}, &ReadOptions{Columns: []string{"batch"}}) {
		counts[row[0].(int64)]++
	}
	for n, c := range counts {
		if c != rowsPerBatch+1 {
			t.Fatalf("batch %d is partial: %d of %d rows", n, c, rowsPerBatch+1)
		}
	}
	for n := int64(0); n < acked; n++ {
		if counts[n] == 0 {
			t.Fatalf("acknowledged batch %d lost (acked %d)", n, acked)
		}
	}
	// One writer commits in order, so the batches present are a prefix.
	for n := int64(0); n < int64(len(counts)); n++ {
		if counts[n] == 0 {
			t.Fatalf("batch %d missing but a later one present", n)
		}
	}
	return len(counts)
}

func TestCrashAtomicity(t *testing.T) {
	for _, mode := range []SyncMode{SyncEveryBatch, SyncInterval} {
		t.Run(mode.String(), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			s := openTest(t, fs, &Options{Sync: mode, SyncInterval: 2 * time.Millisecond})
			tb, err := s.CreateTable(ctx, crashSpec())
			if err != nil {
				t.Fatal(err)
			}
			ms := crashSpec()
			ms.Name = "m"
			mb, err := s.CreateTable(ctx, ms)
			if err != nil {
				t.Fatal(err)
			}
			var acked atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := int64(0); n < 1000; n++ {
					if err := writeNumbered(s, tb, mb, n); err != nil {
						t.Error(err)
						return
					}
					if mode == SyncEveryBatch {
						acked.Store(n + 1)
					}
				}
			}()
			type clone struct {
				fs    *vfs.MemFS
				acked int64
			}
			var clones []clone
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 8; i++ {
				time.Sleep(time.Duration(rng.IntN(25000)) * time.Microsecond)
				a := acked.Load()
				clones = append(clones, clone{fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(100), RNG: rng}), a})
			}
			wg.Wait()
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			clones = append(clones, clone{fs.CrashClone(vfs.CrashCloneCfg{}), 1000})
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			for i, c := range clones {
				s2 := openTest(t, c.fs, nil)
				n := verifyBatches(t, s2, c.acked)
				t.Logf("clone %d: %d batches present, %d acknowledged", i, n, c.acked)
				s2.Close()
			}
		})
	}
}

// TestKill9 runs a child process that writes synced batches and prints
// each acknowledged batch number, kills it with SIGKILL, and checks the
// data directory.
func TestKill9(t *testing.T) {
	if dir := os.Getenv("WIDECOL_KILL9_DIR"); dir != "" {
		kill9Child(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WIDECOL_KILL9_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := int64(-1)
	sc := bufio.NewScanner(out)
	for sc.Scan() && acked < 40 {
		if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			acked = v
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 40 {
		t.Fatalf("child acknowledged only %d batches", acked)
	}
	s, err := Open(ctx, dir, &Options{Logger: quietLogger{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := verifyBatches(t, s, acked+1)
	t.Logf("acknowledged %d, present %d", acked+1, n)
}

func kill9Child(dir string) {
	s, err := Open(context.Background(), dir, &Options{Logger: quietLogger{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tb, err1 := s.CreateTable(context.Background(), crashSpec())
	ms := crashSpec()
	ms.Name = "m"
	mb, err2 := s.CreateTable(context.Background(), ms)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, err1, err2)
		os.Exit(2)
	}
	for n := int64(0); ; n++ {
		if err := writeNumbered(s, tb, mb, n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", n)
	}
}
