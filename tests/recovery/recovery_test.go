// Package recovery kills a real sqld process with SIGKILL while it ingests
// and checks that, after a restart, every view equals its query run in
// batch over the stream: nothing lost, nothing counted twice.
package recovery

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqld/sqld/sql/server"
)

const childEnv = "SQLD_RECOVERY_CHILD_DIR"

// TestMain turns the test binary into a sqld server when asked to, so the
// test can kill a real process.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		srv, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: dir})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("ready", srv.Addr())
		select {}
	}
	os.Exit(m.Run())
}

type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not start: %q %v", line, err)
	}
	c := &child{cmd: cmd, addr: strings.TrimSpace(strings.TrimPrefix(line, "ready "))}
	t.Cleanup(c.kill)
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

func connect(t *testing.T, addr string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://test@"+addr+"/sqld?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func exec1(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// rows returns a query's rows as sorted text lines.
func rows(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	rs, err := conn.Query(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		vals, err := rs.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// TestKillDuringCopy kills sqld at random moments while a client copies
// rows into a stream, restarts it, and compares each view with its query
// evaluated in batch over the stream's rows.
func TestKillDuringCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	dir := t.TempDir()
	c := startChild(t, dir)
	conn := connect(t, c.addr)
	exec1(t, conn, "CREATE STREAM bid (auction BIGINT, price BIGINT, ts TIMESTAMP) WITH (partitions = 4)")
	exec1(t, conn, "CREATE VIEW agg AS SELECT auction, count(*) AS n, sum(price) AS s, max(price) AS m FROM bid GROUP BY auction")
	exec1(t, conn, "CREATE VIEW cheap AS SELECT auction, price FROM bid WHERE price < 10")
	// A top-N, which commits each epoch while it ranks the next; a small
	// memory budget makes it read partitions back from the store.
	const top = "SELECT auction, price, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bid) t WHERE rn <= 3"
	exec1(t, conn, "CREATE VIEW top3 WITH (top_n_state_rows = 60) AS "+top)
	// Leaderboards: the best groups of an aggregation, and the best rows.
	const leaders = "SELECT auction, count(*) AS n, max(price) AS m FROM bid GROUP BY auction ORDER BY n DESC, m LIMIT 5"
	const best = "SELECT auction, price FROM bid ORDER BY price DESC, auction LIMIT 7"
	exec1(t, conn, "CREATE VIEW leaders AS "+leaders)
	exec1(t, conn, "CREATE VIEW best AS "+best)
	conn.Close(context.Background())

	rng := rand.New(rand.NewSource(1))
	next := 0
	for round := 0; round < 4; round++ {
		copyUntilKilled(t, c, rng, "COPY bid FROM STDIN", 200, 500, func(sb *strings.Builder) {
			fmt.Fprintf(sb, "%d\t%d\t2024-01-01 10:00:00\n", next%97, (next*7919)%1000)
			next++
		})

		start := time.Now()
		c = startChild(t, dir)
		conn = connect(t, c.addr)
		exec1(t, conn, "FLUSH")
		t.Logf("round %d: restarted and caught up in %v", round, time.Since(start))
		want := rows(t, conn, "SELECT auction, count(*), sum(price), max(price) FROM bid GROUP BY auction ORDER BY auction")
		got := rows(t, conn, "SELECT auction, n, s, m FROM agg ORDER BY auction")
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Fatalf("round %d: view agg differs from its query over the stream:\nview:  %v\nbatch: %v", round, got, want)
		}
		wantTop := rows(t, conn, top+" ORDER BY auction, rn")
		gotTop := rows(t, conn, "SELECT auction, price, rn FROM top3 ORDER BY auction, rn")
		if strings.Join(wantTop, "\n") != strings.Join(gotTop, "\n") {
			t.Fatalf("round %d: view top3 differs from its query over the stream:\nview:  %v\nbatch: %v", round, gotTop, wantTop)
		}
		for view, q := range map[string]string{"leaders": leaders, "best": best} {
			want, got := rows(t, conn, q), rows(t, conn, "SELECT * FROM "+view)
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Fatalf("round %d: view %s differs from its query over the stream:\nview:  %v\nbatch: %v", round, view, got, want)
			}
		}
		wantN := rows(t, conn, "SELECT count(*) FROM bid WHERE price < 10")
		gotN := rows(t, conn, "SELECT count(*) FROM cheap")
		if wantN[0] != gotN[0] {
			t.Fatalf("round %d: view cheap has %s rows, its query %s", round, gotN[0], wantN[0])
		}
		total := rows(t, conn, "SELECT count(*) FROM bid")
		t.Logf("round %d: %s rows in the stream", round, total[0])
		conn.Close(context.Background())
	}
	c.kill()
}

// copyUntilKilled copies batches of rows (row appends one, tab-separated)
// with copySQL on a connection to c while it kills c after 100 to 500 ms,
// and returns once the copy has stopped.
func copyUntilKilled(t *testing.T, c *child, rng *rand.Rand, copySQL string, batches, rows int, row func(*strings.Builder)) {
	t.Helper()
	conn := connect(t, c.addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < batches; i++ {
			var sb strings.Builder
			for r := 0; r < rows; r++ {
				row(&sb)
			}
			if _, err := conn.PgConn().CopyFrom(context.Background(), strings.NewReader(sb.String()), copySQL); err != nil {
				return // killed mid-copy
			}
		}
	}()
	time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
	c.kill()
	<-done
	conn.Close(context.Background())
}
