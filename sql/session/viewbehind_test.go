package session

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Top-N views commit each epoch while they rank the next, which they
// planned with it. Views that backfill a stream over many epochs, and
// keep up while rows arrive during their epochs, equal their queries
// once FLUSH returns, and their epochs committed behind and ran as
// planned.
func TestCommitBehind(t *testing.T) {
	defer func(n int64) { testEpochRows = n }(testEpochRows)
	testEpochRows = 4 * splitMinRows
	ctx := context.Background()
	e, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	insert := func(from, to int) string {
		return fmt.Sprintf("INSERT INTO s SELECT g %% 5003, (g * 7919) %% 1009, g FROM generate_series(%d, %d) AS t(g)", from, to)
	}
	testSQL(t, e, "CREATE STREAM s (k BIGINT, v BIGINT, id BIGINT) WITH (partitions = 2)", insert(1, 150000))
	queries := map[string]string{
		"top3":  "SELECT k, v, id, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM s) t WHERE rn <= 3",
		"ranks": "SELECT k, v, id, r FROM (SELECT *, RANK() OVER (PARTITION BY k % 101 ORDER BY v) AS r FROM s) t WHERE r <= 2",
		"first": "SELECT k, v, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY id) AS rn FROM s) t WHERE rn = 1",
	}
	// Small memory budgets, so that epochs read partitions the epoch
	// before wrote back from the store.
	budgets := map[string]int{"top3": 2000, "ranks": 50, "first": 0}
	behind, planned := behindCommits.Load(), plannedRuns.Load()
	for name, q := range queries {
		testSQL(t, e, fmt.Sprintf("CREATE VIEW %s WITH (top_n_state_rows = %d) AS %s", name, budgets[name], q))
	}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := 150001 + w*40000
			for i := 0; i < 4; i++ {
				testSQL(t, e, insert(from+i*10000, from+i*10000+9999))
			}
		}()
	}
	wg.Wait()
	testSQL(t, e, "FLUSH")
	for name, q := range queries {
		got, want := testSQL(t, e, "SELECT * FROM "+name), testSQL(t, e, q)
		if got != want {
			t.Errorf("view %s differs from its query:\nview:\n%.600s\nquery:\n%.600s", name, got, want)
		}
		if n := testSQL(t, e, "SELECT count(*) FROM "+name); n == "0" {
			t.Errorf("view %s is empty", name)
		}
	}
	// 270,000 rows in epochs of 32,768 rows, three views.
	if n := behindCommits.Load() - behind; n < 18 {
		t.Errorf("%d epochs committed behind, want all of them", n)
	}
	if n := plannedRuns.Load() - planned; n < 9 {
		t.Errorf("%d epochs ran as planned with the one before, want most of them", n)
	}
	// Reopened, the views are where FLUSH left them.
	e.Close()
	if e, err = Open(ctx, Config{DataDir: e.cfg.DataDir}); err != nil {
		t.Fatal(err)
	}
	testSQL(t, e, "FLUSH")
	for name, q := range queries {
		if got, want := testSQL(t, e, "SELECT * FROM "+name), testSQL(t, e, q); got != want {
			t.Errorf("reopened: view %s differs from its query", name)
		}
	}
}
