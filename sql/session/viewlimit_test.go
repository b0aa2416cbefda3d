package session

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A view's ORDER BY ... LIMIT over a stream is ranked as rows arrive, and
// among rows tied in the ORDER BY it keeps those the query keeps: both
// order ties by the rows' columns. Views that backfill over many epochs
// while rows arrive equal their queries, and again after reopening.
func TestLimitViews(t *testing.T) {
	insert := func(from, to int) string {
		return fmt.Sprintf("INSERT INTO s SELECT g %% 5003, (g * 7919) %% 1009, g FROM generate_series(%d, %d) AS t(g)", from, to)
	}
	queries := map[string]string{
		// Each value of v is held by about 270 rows.
		"top":  "SELECT k, v, id FROM s ORDER BY v DESC LIMIT 25",
		"page": "SELECT k % 100 AS m, v FROM s WHERE v > 500 ORDER BY v, m DESC LIMIT 10 OFFSET 5",
		"one":  "SELECT v FROM s ORDER BY v LIMIT 1",
	}
	e := epochsWhileWriting(t, "CREATE STREAM s (k BIGINT, v BIGINT, id BIGINT) WITH (partitions = 2)", insert, queries, nil)
	for name := range queries {
		if mode := testSQL(t, e, fmt.Sprintf("SELECT mode FROM sys.jobs WHERE name = '%s'", name)); mode != "incremental" {
			t.Errorf("view %s is maintained by %s", name, mode)
		}
	}
	if got := testSQL(t, e, "SELECT count(*) FROM page"); got != "10" {
		t.Errorf("page holds %s rows, want 10", got)
	}
	e = reopen(t, e)
	defer e.Close()
	testSQL(t, e, "INSERT INTO s SELECT g % 5003, (g::BIGINT * 7919) % 1009, g FROM generate_series(270001, 280000) AS t(g)", "FLUSH")
	viewsEqualQueries(t, e, "reopened", queries)
}

// A view with ORDER BY ... LIMIT created by a build that recomputed it
// is recomputed still after a restart; one created now is ranked.
func TestLimitViewKeepsItsPlan(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	const query = "SELECT k, v FROM s ORDER BY v DESC, k LIMIT 3"
	const grouped = "SELECT v, count(*) AS n FROM s GROUP BY v ORDER BY n DESC, v LIMIT 2"
	e, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	testSQL(t, e, "CREATE STREAM s (k BIGINT, v BIGINT)")
	e.viewPlanVersion = 1
	testSQL(t, e, "CREATE VIEW before AS "+query, "CREATE VIEW gbefore AS "+grouped)
	e.viewPlanVersion = 2
	testSQL(t, e, "CREATE VIEW now AS "+query, "CREATE VIEW gnow AS "+grouped,
		"INSERT INTO s VALUES (1, 10), (2, 30), (3, 20), (4, 30), (5, 5)", "FLUSH")
	for i := 0; i < 2; i++ {
		want := testSQL(t, e, query)
		if want != "2|30\n3|20\n4|30" {
			t.Fatalf("query: %s", want)
		}
		for _, v := range []string{"before", "now"} {
			if got := testSQL(t, e, "SELECT * FROM "+v); got != want {
				t.Fatalf("view %s:\n%s\nits query:\n%s", v, got, want)
			}
		}
		gwant := testSQL(t, e, grouped)
		for _, v := range []string{"gbefore", "gnow"} {
			if got := testSQL(t, e, "SELECT * FROM "+v); got != gwant {
				t.Fatalf("view %s:\n%s\nits query:\n%s", v, got, gwant)
			}
		}
		modes := testSQL(t, e, "SELECT name, mode FROM sys.jobs")
		if modes != "before|recompute\ngbefore|recompute\ngnow|incremental\nnow|incremental" {
			t.Fatalf("modes:\n%s", strings.ReplaceAll(modes, "\n", "; "))
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if e, err = Open(ctx, Config{DataDir: dir}); err != nil {
			t.Fatal(err)
		}
		testSQL(t, e, "INSERT INTO s VALUES (6, 1)", "FLUSH")
	}
	e.Close()
}

// A view task that panics fails, and the supervisor starts it again from
// its last committed epoch: the server stays up and the view catches up.
func TestViewTaskPanics(t *testing.T) {
	e, err := Open(context.Background(), Config{DataDir: t.TempDir(), Scheduler: SchedulerConfig{InitialBackoff: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const q = "SELECT k % 10 AS g, count(*) AS n FROM s GROUP BY k % 10 ORDER BY n DESC, g LIMIT 3"
	testSQL(t, e, "CREATE STREAM s (k BIGINT)", "CREATE VIEW v AS "+q)
	var panics atomic.Int32
	step := func(view string) {
		if view == "v" && panics.Add(1) <= 2 {
			panic("injected")
		}
	}
	testStep.Store(&step)
	defer testStep.Store(nil)
	testSQL(t, e, "INSERT INTO s SELECT g FROM generate_series(1, 1000) AS t(g)", "INSERT INTO s VALUES (1), (1), (2)")
	// FLUSH does not wait for a failed task; the restarted one catches up.
	want := testSQL(t, e, q)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		testSQL(t, e, "FLUSH")
		got := testSQL(t, e, "SELECT * FROM v")
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("view:\n%s\nquery:\n%s\njob: %s", got, want, testSQL(t, e, "SELECT state, restarts, last_error FROM sys.jobs"))
		}
	}
	if r := testSQL(t, e, "SELECT restarts FROM sys.jobs WHERE name = 'v'"); r != "2" {
		t.Fatalf("restarts %s, want 2", r)
	}
}
