package session

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/sqld/sqld/planner"
)

// Aggregations read their next epoch ahead while they merge the current
// one. Views that backfill a stream over many epochs, and keep up while
// rows arrive during their epochs, equal their queries, and the epochs
// took their prefetches.
func TestPrefetchedEpochs(t *testing.T) {
	insert := func(from, to int) string {
		return fmt.Sprintf("INSERT INTO s SELECT g, (g * 7919) %% 1009, TIMESTAMP '2026-01-01 00:00:00' + g * INTERVAL '1' SECOND FROM generate_series(%d, %d) AS t(g)", from, to)
	}
	queries := map[string]string{
		"grouped":  "SELECT k % 997 AS g, count(*) AS n, sum(v) AS total, min(v) AS lo, max(v) AS hi FROM s GROUP BY k % 997",
		"windowed": "SELECT window_start, count(*) AS n, sum(v) AS total FROM TUMBLE(s, ts, INTERVAL '1' HOUR) GROUP BY window_start",
		"filtered": "SELECT v % 7 AS r, count(*) AS n, avg(k) AS mean FROM s WHERE v > 100 GROUP BY v % 7",
	}
	hits := prefetchHits.Load()
	e := epochsWhileWriting(t, "CREATE STREAM s (k BIGINT, v BIGINT, ts TIMESTAMP) WITH (partitions = 2)", insert, queries, nil)
	defer e.Close()
	// 270,000 rows in epochs of 32,768 rows: most epochs of the three
	// views were read ahead.
	if took := prefetchHits.Load() - hits; took < 6 {
		t.Errorf("%d epochs took a prefetch, want most of them", took)
	}
}

// epochsWhileWriting creates stream s with ddl and 150,000 rows (insert
// gives the statement inserting rows from..to), then the views of queries
// (with the WITH options of opts, by name), which backfill in epochs of
// 32,768 rows (large enough to split among workers, splitMinRows) while
// three writers insert 120,000 more rows. After FLUSH, each view must
// equal its query and not be empty.
func epochsWhileWriting(t *testing.T, ddl string, insert func(from, to int) string, queries, opts map[string]string) *Engine {
	t.Helper()
	defer func(n int64) { testEpochRows = n }(testEpochRows)
	testEpochRows = 4 * splitMinRows
	e, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	testSQL(t, e, ddl, insert(1, 150000))
	for name, q := range queries {
		with := ""
		if o, ok := opts[name]; ok {
			with = " WITH (" + o + ")"
		}
		testSQL(t, e, "CREATE VIEW "+name+with+" AS "+q)
	}
	// Rows that arrive while the views run their epochs.
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
	if n := testSQL(t, e, "SELECT count(*) FROM s"); n != "270000" {
		t.Fatalf("stream holds %s rows, want 270000", n)
	}
	return e
}

// reopen closes e and opens its data directory again.
func reopen(t *testing.T, e *Engine) *Engine {
	t.Helper()
	e.Close()
	e, err := Open(context.Background(), Config{DataDir: e.cfg.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// viewsEqualQueries checks that each view of queries (by name) holds
// what its query gives.
func viewsEqualQueries(t *testing.T, e *Engine, when string, queries map[string]string) {
	t.Helper()
	for name, q := range queries {
		if got, want := testSQL(t, e, "SELECT * FROM "+name), testSQL(t, e, q); got != want {
			t.Errorf("%s: view %s differs from its query:\n%.600s\nquery:\n%.600s", when, name, got, want)
		}
	}
}

// An aggregation's epochs take as many rows as give about maxEpochRows
// partial rows by the last epoch's reduction, within bounds; other views'
// take maxEpochRows.
func TestEpochRows(t *testing.T) {
	agg := &viewJob{plan: &planner.ViewPlan{Agg: &planner.Aggregate{}}}
	for _, c := range []struct {
		reduce float64
		want   int64
	}{
		{0, maxEpochRows}, // not known before the first epoch
		{0.001, maxAggEpochRows},
		{0.5, 2 * maxEpochRows},
		{1, maxEpochRows},
		{7, maxEpochRows},
	} {
		agg.aggReduce = c.reduce
		if got := agg.epochRows(); got != c.want {
			t.Errorf("reduction %v: %d rows, want %d", c.reduce, got, c.want)
		}
	}
	topN := &viewJob{plan: &planner.ViewPlan{Agg: &planner.Aggregate{}, TopN: &planner.TopNPlan{}}, aggReduce: 0.001}
	if got := topN.epochRows(); got != maxEpochRows {
		t.Errorf("top-N: %d rows, want %d", got, maxEpochRows)
	}
}
