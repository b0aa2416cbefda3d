package session

import (
	"fmt"
	"testing"
)

// Top-N views commit each epoch while they rank the next, which they
// planned with it. Views that backfill a stream over many epochs, and
// keep up while rows arrive during their epochs, equal their queries
// once FLUSH returns, and their epochs committed behind and ran as
// planned.
func TestCommitBehind(t *testing.T) {
	insert := func(from, to int) string {
		return fmt.Sprintf("INSERT INTO s SELECT g %% 5003, (g * 7919) %% 1009, g FROM generate_series(%d, %d) AS t(g)", from, to)
	}
	queries := map[string]string{
		"top3":  "SELECT k, v, id, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM s) t WHERE rn <= 3",
		"ranks": "SELECT k, v, id, r FROM (SELECT *, RANK() OVER (PARTITION BY k % 101 ORDER BY v) AS r FROM s) t WHERE r <= 2",
		"first": "SELECT k, v, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY id) AS rn FROM s) t WHERE rn = 1",
		"dense": "SELECT k, v, id, r FROM (SELECT *, DENSE_RANK() OVER (PARTITION BY k % 97 ORDER BY v / 100 DESC) AS r FROM s) t WHERE r <= 2",
	}
	// Small memory budgets, so that epochs read partitions the epoch
	// before wrote back from the store.
	budgets := map[string]string{"top3": "top_n_state_rows = 2000", "ranks": "top_n_state_rows = 50", "first": "top_n_state_rows = 0", "dense": "top_n_state_rows = 100"}
	behind, planned := behindCommits.Load(), plannedRuns.Load()
	e := epochsWhileWriting(t, "CREATE STREAM s (k BIGINT, v BIGINT, id BIGINT) WITH (partitions = 2)", insert, queries, budgets)
	// 270,000 rows in epochs of 32,768 rows, three views.
	if n := behindCommits.Load() - behind; n < 18 {
		t.Errorf("%d epochs committed behind, want all of them", n)
	}
	if n := plannedRuns.Load() - planned; n < 9 {
		t.Errorf("%d epochs ran as planned with the one before, want most of them", n)
	}
	// Reopened, the views are where FLUSH left them.
	e = reopen(t, e)
	defer e.Close()
	testSQL(t, e, "FLUSH")
	viewsEqualQueries(t, e, "reopened", queries)
}
