package pgwire

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestPgbench measures SELECT 1 throughput with pgbench against a session
// that answers instantly. It runs only with SQLD_PGBENCH=1 and prints the
// figures; it asserts nothing about speed.
//
//	SQLD_PGBENCH=1 go test ./sql/pgwire -run Pgbench -v
func TestPgbench(t *testing.T) {
	if os.Getenv("SQLD_PGBENCH") != "1" {
		t.Skip("set SQLD_PGBENCH=1 to run pgbench")
	}
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Skip("pgbench not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newFakeHandler()
	h.alloc = memory.NewGoAllocator()
	srv := &Server{Handler: h, Logger: slog.New(slog.DiscardHandler)}
	go srv.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	script := filepath.Join(t.TempDir(), "select1.sql")
	if err := os.WriteFile(script, []byte("SELECT 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	secs := os.Getenv("SQLD_PGBENCH_SECONDS")
	if secs == "" {
		secs = "10"
	}
	tps := regexp.MustCompile(`tps = ([0-9.]+)`)
	for _, mode := range []string{"simple", "extended", "prepared"} {
		out, err := exec.Command(pgbench, "-n", "-M", mode, "-c", "8", "-j", "2", "-T", secs, "-f", script,
			"-h", "127.0.0.1", "-p", port, "-U", "x", "sqld").CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench -M %s: %v\n%s", mode, err, out)
		}
		m := tps.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no tps in output:\n%s", out)
		}
		t.Logf("pgbench -M %s -c 8 -j 2: %s tps", mode, m[1])
	}
}
