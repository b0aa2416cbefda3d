package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/sql/pgerror"
)

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1 << 20, "'64MB'": 64 << 20, "2GB": 2 << 30, "512kB": 512 << 10, "100B": 100, "1TB": 1 << 40,
	} {
		if got, err := parseMemory(in); err != nil || got != want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1", "5 parsecs", "1.5GB", "12mb", "99999999999999999999", "9999999999TB"} {
		if n, err := parseMemory(in); err == nil {
			t.Errorf("parseMemory(%q) = %d, want an error", in, n)
		}
	}
}

// Whatever a client sends, parseMemory answers without panicking, and
// the sizes it accepts print back (exec.FormatBytes) as they parse.
func FuzzParseMemory(f *testing.F) {
	for _, s := range []string{"0", "64MB", "'1GB'", "12kB", "3 TB", "x", "-5", "99999999999999999999GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseMemory(s)
		if err != nil || n == 0 {
			return
		}
		if n < 0 {
			t.Fatalf("parseMemory(%q) = %d", s, n)
		}
		back, err := parseMemory(exec.FormatBytes(n))
		if err != nil || back != n {
			t.Fatalf("%q: %d prints as %q, which parses as %d, %v", s, n, exec.FormatBytes(n), back, err)
		}
	})
}

// A view maintained by recomputation whose evaluation needs more than the
// server's statement_mem fails with 53200, which sys.jobs shows; the
// server, the stream and the other views go on.
func TestRecomputeOverBudget(t *testing.T) {
	testStatementMem.Store(1 << 20)
	defer testStatementMem.Store(0)
	e, err := Open(context.Background(), Config{DataDir: t.TempDir(), Scheduler: SchedulerConfig{InitialBackoff: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	testSQL(t, e, "CREATE STREAM s (k BIGINT, t TEXT)",
		"CREATE VIEW small AS SELECT k, t, RANK() OVER (ORDER BY t) AS r FROM s",
		"CREATE VIEW counts AS SELECT k % 10 AS g, count(*) AS n FROM s GROUP BY k % 10")
	testSQL(t, e, "INSERT INTO s SELECT g, repeat('t', 50) || CAST(g AS TEXT) FROM generate_series(1, 50000) AS t(g)")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := testSQL(t, e, "SELECT last_error FROM sys.jobs WHERE name = 'small'")
		if strings.Contains(st, "out of memory") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("view small: %s", testSQL(t, e, "SELECT state, restarts, last_error FROM sys.jobs"))
		}
	}
	// FLUSH warns of it.
	_, notices := testRun(t, e, "FLUSH")
	if len(notices) != 1 || notices[0].Code != pgerror.CodeWarning || !strings.Contains(notices[0].Message, `view "small" is failing`) {
		t.Fatalf("FLUSH notices: %v", notices)
	}
	if got := testSQL(t, e, "SELECT sum(n) FROM counts"); got != "50000" {
		t.Fatalf("counts holds %s rows", got)
	}
	if got := testSQL(t, e, "SELECT count(*) FROM s"); got != "50000" {
		t.Fatalf("stream holds %s rows", got)
	}
}
