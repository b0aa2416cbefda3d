package session

import (
	"context"
	"fmt"
	"testing"
)

// Views of many shapes over one stream with NULLs in every column each
// equal their query after rows arrive, and again after reopening and
// more rows: distinct rows, groups with and without keys, HAVING,
// filters above aggregations, nested aggregations, windows, LIMITs over
// rows and over groups, ranks, self-joins (inner, outer, within a time).
func TestViewShapes(t *testing.T) {
	queries := map[string]string{}
	for i, q := range []string{
		"SELECT DISTINCT a, b FROM s",
		"SELECT DISTINCT a FROM s WHERE b > 5",
		"SELECT a FROM s GROUP BY a",
		"SELECT a, count(*) AS n FROM s GROUP BY a HAVING count(*) > 3",
		"SELECT count(*) AS n FROM s",
		"SELECT sum(b) AS t FROM s WHERE a > 3",
		"SELECT a, max(b) AS m FROM s GROUP BY a ORDER BY 2 DESC LIMIT 3",
		"SELECT * FROM (SELECT a, count(*) AS c FROM s GROUP BY a) t WHERE c > 2",
		"SELECT a % 3 AS r, avg(b) AS av, min(c) AS mn FROM s GROUP BY a % 3",
		"SELECT avg(x) AS ax FROM (SELECT a, max(b) AS x FROM s GROUP BY a) t",
		"SELECT DISTINCT a FROM s ORDER BY a LIMIT 2 OFFSET 1",
		"SELECT window_start, count(*) AS n FROM TUMBLE(s, ts, INTERVAL '10' SECOND) GROUP BY window_start",
		"SELECT a, b FROM s ORDER BY b LIMIT 5",
		"SELECT * FROM s WHERE b IN (1, 2, 3)",
		"SELECT a, count(DISTINCT b) AS db FROM s GROUP BY a",
		"SELECT count(DISTINCT a) AS da FROM s",
		"SELECT * FROM (SELECT a, b, ROW_NUMBER() OVER (PARTITION BY a ORDER BY b DESC) AS rn FROM s) t WHERE rn <= 2",
		"SELECT x.a, y.b FROM s x JOIN s y ON x.a = y.a WHERE x.b < 3",
		"SELECT a, b FROM s WHERE a IS NULL",
		"SELECT a, sum(b) AS t FROM s GROUP BY a ORDER BY t DESC NULLS LAST, a LIMIT 4",
		"SELECT c, count(*) AS n FROM s GROUP BY c ORDER BY n DESC LIMIT 2",
		"SELECT DISTINCT c FROM s",
		"SELECT * FROM (SELECT DISTINCT a, c FROM s) d WHERE a > 2",
		"SELECT a, b, c FROM s ORDER BY c DESC, b LIMIT 3 OFFSET 2",
		"SELECT max(b) AS m, min(b) AS mn FROM s ORDER BY 1 LIMIT 1",
		"SELECT a, count(*) FILTER (WHERE b > 3) AS f FROM s GROUP BY a",
		"SELECT a, b, RANK() OVER (PARTITION BY a ORDER BY b) AS r FROM s",
		"SELECT * FROM (SELECT a, b, RANK() OVER (ORDER BY b DESC) AS r FROM s) t WHERE r <= 3",
		"SELECT window_start, window_end, a, sum(b) AS t FROM HOP(s, ts, INTERVAL '5' SECOND, INTERVAL '20' SECOND) GROUP BY window_start, window_end, a",
		"SELECT x.a, x.b, y.c FROM s x LEFT JOIN s y ON x.a = y.b AND y.c = 'c1'",
		"SELECT x.a, y.b FROM s x JOIN s y ON x.a = y.a AND y.ts BETWEEN x.ts AND x.ts + INTERVAL '3' SECOND",
		"SELECT a, count(*) AS n FROM (SELECT DISTINCT a, b FROM s) d GROUP BY a",
		"SELECT COALESCE(c, 'none') AS c2, count(*) AS n, sum(b) AS t FROM s GROUP BY COALESCE(c, 'none')",
		"SELECT * FROM (SELECT a, b, ROW_NUMBER() OVER (PARTITION BY a, c ORDER BY b DESC, ts) AS rn FROM s) t WHERE rn = 1",
		"SELECT a, avg(b) AS av FROM s GROUP BY a HAVING avg(b) > 8 ORDER BY av DESC LIMIT 2",
		"SELECT a, count(*) AS n FROM s GROUP BY a ORDER BY n DESC, a LIMIT 100",
		"SELECT x.a, count(*) AS n FROM s x JOIN s y ON x.a = y.a GROUP BY x.a ORDER BY n DESC LIMIT 2",
		"SELECT * FROM (SELECT a, b, c, DENSE_RANK() OVER (PARTITION BY a ORDER BY b DESC) AS r FROM s) t WHERE r <= 2",
		"SELECT * FROM (SELECT a, b, DENSE_RANK() OVER (ORDER BY b % 4) AS r FROM s) t WHERE r < 2",
	} {
		queries[fmt.Sprintf("v%d", i)] = q
	}
	insert := func(from, to, mod int) string {
		return fmt.Sprintf("INSERT INTO s SELECT CASE WHEN g %% 11 = 0 THEN NULL ELSE g %% %d END, CASE WHEN g %% 13 = 0 THEN NULL ELSE (g * 31) %% %d END, "+
			"CASE WHEN g %% 5 = 0 THEN NULL ELSE 'c' || CAST(g %% %d AS TEXT) END, TIMESTAMP '2026-01-01' + g * INTERVAL '1' SECOND FROM generate_series(%d, %d) AS t(g)",
			mod, mod+10, mod-3, from, to)
	}
	e, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	testSQL(t, e, "CREATE STREAM s (a BIGINT, b BIGINT, c TEXT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)", insert(1, 300, 7))
	for name, q := range queries {
		testSQL(t, e, "CREATE VIEW "+name+" AS "+q)
	}
	testSQL(t, e, insert(301, 700, 9), "FLUSH")
	viewsEqualQueries(t, e, "created", queries)
	e = reopen(t, e)
	defer e.Close()
	testSQL(t, e, insert(701, 1000, 5), "FLUSH")
	viewsEqualQueries(t, e, "reopened", queries)
}
