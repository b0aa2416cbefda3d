package session

import (
	"context"
	"fmt"
	"testing"
)

// A view's ORDER BY ... LIMIT over GROUP BY ranks the groups the epochs
// change, against a prefix of the best groups kept in memory. Counts only
// grow; minimums and averages move groups down and out of the prefix,
// which is then found again from every group. Views that backfill over
// many epochs while rows arrive equal their queries, and again after
// reopening and more rows.
func TestAggTopViews(t *testing.T) {
	insert := func(from, to int) string {
		return fmt.Sprintf("INSERT INTO s SELECT g %% 5003, (g::BIGINT * 7919) %% 1009, g FROM generate_series(%d, %d) AS t(g)", from, to)
	}
	queries := map[string]string{
		"leaders": "SELECT k % 1000 AS g, count(*) AS n, sum(v) AS total FROM s GROUP BY k % 1000 ORDER BY n DESC, total LIMIT 10",
		"page":    "SELECT v, count(*) AS n FROM s WHERE k > 100 GROUP BY v HAVING count(*) > 5 ORDER BY n, v DESC LIMIT 5 OFFSET 3",
		"falling": "SELECT k % 500 AS g, min(v) AS lo FROM s GROUP BY k % 500 ORDER BY lo DESC LIMIT 3",
		"means":   "SELECT k % 300 AS g, avg(v) AS a FROM s GROUP BY k % 300 ORDER BY a DESC LIMIT 4",
		"hidden":  "SELECT k % 1000 AS g FROM s GROUP BY k % 1000 ORDER BY count(*) DESC, max(id) LIMIT 3",
		"total":   "SELECT count(*) AS n FROM s ORDER BY n LIMIT 1",
	}
	searches := aggTopSearches.Load()
	e := epochsWhileWriting(t, "CREATE STREAM s (k BIGINT, v BIGINT, id BIGINT) WITH (partitions = 2)", insert, queries, nil)
	for name := range queries {
		if mode := testSQL(t, e, fmt.Sprintf("SELECT mode FROM sys.jobs WHERE name = '%s'", name)); mode != "incremental" {
			t.Errorf("view %s is maintained by %s", name, mode)
		}
	}
	// Each view searched every group at its first epoch; of the others,
	// only falling minimums and averages call for it, and seldom.
	if n := aggTopSearches.Load() - searches; n < int64(len(queries)) || n > 40 {
		t.Errorf("%d searches of every group", n)
	}
	if got := testSQL(t, e, "SELECT count(*) FROM page"); got != "5" {
		t.Errorf("page holds %s rows, want 5", got)
	}
	e = reopen(t, e)
	defer e.Close()
	for i := 0; i < 2; i++ {
		// Low values: minimums and averages fall.
		testSQL(t, e, fmt.Sprintf("INSERT INTO s SELECT g %% 5003, g %% 3, g FROM generate_series(%d, %d) AS t(g)", 300001+i*20000, 320000+i*20000), "FLUSH")
		viewsEqualQueries(t, e, fmt.Sprintf("reopened, %d", i), queries)
	}
}

// When every group of the prefix falls behind groups outside it, the
// prefix is found again from every group: the groups outside, not the
// fallen ones, lead. A filter above the LIMIT drops shown rows.
func TestAggTopFalls(t *testing.T) {
	e, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	queries := map[string]string{
		"lead":  "SELECT g, min(v) AS lo FROM s GROUP BY g ORDER BY lo DESC LIMIT 1",
		"kept":  "SELECT * FROM (SELECT g, max(v) AS hi FROM s GROUP BY g ORDER BY hi DESC, g LIMIT 5) t WHERE hi < 2000",
		"first": "SELECT g, count(*) AS n FROM s GROUP BY g ORDER BY n DESC, g LIMIT 2 OFFSET 1",
	}
	testSQL(t, e, "CREATE STREAM s (g BIGINT, v BIGINT)", "INSERT INTO s SELECT g, g FROM generate_series(0, 999) AS t(g)")
	for name, q := range queries {
		testSQL(t, e, "CREATE VIEW "+name+" AS "+q)
	}
	check := func(step string, want map[string]string) {
		t.Helper()
		testSQL(t, e, "FLUSH")
		for name, q := range queries {
			got := testSQL(t, e, "SELECT * FROM "+name)
			if exp := testSQL(t, e, q); got != exp {
				t.Errorf("%s: view %s differs from its query:\n%s\nquery:\n%s", step, name, got, exp)
			}
			if w, ok := want[name]; ok && got != w {
				t.Errorf("%s: view %s holds %q, want %q", step, name, got, w)
			}
		}
	}
	check("created", map[string]string{"lead": "999|999", "kept": "995|995\n996|996\n997|997\n998|998\n999|999"})
	// The best groups, more than the prefix holds, fall to 0.
	testSQL(t, e, "INSERT INTO s SELECT g, 0 FROM generate_series(800, 999) AS t(g)")
	check("fallen", map[string]string{"lead": "799|799", "first": "801|2\n802|2"})
	// Two of the shown groups rise past the filter above the LIMIT.
	testSQL(t, e, "INSERT INTO s VALUES (997, 5000), (998, 5000)")
	check("filtered", map[string]string{"kept": "995|995\n996|996\n999|999"})
}
