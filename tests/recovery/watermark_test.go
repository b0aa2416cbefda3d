package recovery

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// TestKillWithViewWatermarks kills sqld while a client copies rows into a
// stream with a watermark, read through a filter view that carries the
// watermark, under windows that emit on close. After each restart, every
// window the watermark closed holds its exact count and sum, no other
// window is written, and no row was taken as late.
func TestKillWithViewWatermarks(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	dir := t.TempDir()
	c := startChild(t, dir)
	conn := connect(t, c.addr)
	exec1(t, conn, "CREATE STREAM ev (k BIGINT, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH (partitions = 3)")
	exec1(t, conn, "CREATE VIEW f AS SELECT k, v, ts FROM ev WHERE v % 3 <> 0")
	exec1(t, conn, "CREATE VIEW w AS SELECT k, window_start, count(*) AS n, sum(v) AS s FROM TUMBLE(f, ts, INTERVAL '10' SECOND) GROUP BY k, window_start EMIT ON WINDOW CLOSE")
	exec1(t, conn, "CREATE VIEW r AS SELECT ts AS t, k, v FROM f")
	exec1(t, conn, "CREATE VIEW settled AS SELECT k, v, t FROM r EMIT ON WINDOW CLOSE")
	conn.Close(context.Background())

	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(3))
	next := 0
	for round := 0; round < 4; round++ {
		// Event times only grow, so no row is ever late.
		copyUntilKilled(t, c, rng, "COPY ev FROM STDIN", 500, 100, func(sb *strings.Builder) {
			ts := base.Add(time.Duration(next) * 5 * time.Millisecond)
			fmt.Fprintf(sb, "%d\t%d\t%s\n", next%7, (next*7919)%1000, ts.Format("2006-01-02 15:04:05.000"))
			next++
		})

		c = startChild(t, dir)
		conn = connect(t, c.addr)
		exec1(t, conn, "FLUSH")
		wm := rows(t, conn, "SELECT watermark::text FROM sys.jobs WHERE name = 'w'")
		if len(wm) != 1 || wm[0] == "" || wm[0] == "<nil>" {
			t.Fatalf("round %d: view w has no watermark: %v", round, wm)
		}
		want := rows(t, conn, fmt.Sprintf(`SELECT k, window_start, count(*), sum(v) FROM TUMBLE(ev, ts, INTERVAL '10' SECOND)
			WHERE v %% 3 <> 0 AND window_end <= '%s' GROUP BY k, window_start ORDER BY k, window_start`, wm[0]))
		got := rows(t, conn, "SELECT k, window_start, n, s FROM w ORDER BY k, window_start")
		if len(got) == 0 || strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Fatalf("round %d: view w differs from its query over the stream up to watermark %s:\nview:  %v\nbatch: %v", round, wm[0], got, want)
		}
		swm := rows(t, conn, "SELECT watermark::text FROM sys.jobs WHERE name = 'settled'")
		wantS := rows(t, conn, fmt.Sprintf("SELECT count(*), sum(v) FROM ev WHERE v %% 3 <> 0 AND ts <= '%s'", swm[0]))
		gotS := rows(t, conn, "SELECT count(*), sum(v) FROM settled")
		if wantS[0] != gotS[0] {
			t.Fatalf("round %d: view settled has count, sum %s, its query up to watermark %s %s", round, gotS[0], swm[0], wantS[0])
		}
		late := rows(t, conn, "SELECT name, late_rows FROM sys.jobs WHERE late_rows <> 0")
		if len(late) > 0 {
			t.Fatalf("round %d: rows taken as late: %v", round, late)
		}
		t.Logf("round %d: %v rows in the stream, watermark %s, %d windows", round, rows(t, conn, "SELECT count(*) FROM ev"), wm[0], len(got))
		conn.Close(context.Background())
	}
	c.kill()
}
