// Package agents runs sqld with agents in other processes (and in
// goroutines), places view tasks on them, kills agents while rows arrive,
// and checks that every view equals its query run in batch after FLUSH:
// nothing lost, nothing counted twice.
package agents

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqld/sqld/agent"
	"github.com/sqld/sqld/sql/server"
	"github.com/sqld/sqld/sql/session"
)

// views are maintained incrementally over one stream, so their epochs'
// evaluation runs on remote agents.
var views = map[string]string{
	"by_k":    "SELECT k, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi FROM s GROUP BY k",
	"totals":  "SELECT count(*) AS n, sum(v) AS s, avg(v) AS a FROM s",
	"big":     "SELECT k, v, tag FROM s WHERE v > 900",
	"by_tag":  "SELECT tag, count(*) AS n FROM s WHERE v % 3 = 0 GROUP BY tag",
	"windows": "SELECT window_start, count(*) AS n, sum(v) AS s FROM TUMBLE(s, ts, INTERVAL '10' SECOND) GROUP BY window_start",
}

func startServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AgentListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func connect(t *testing.T, addr string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://test@"+addr+"/sqld?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec1(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func rows(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	rs, err := conn.Query(context.Background(), sql)
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

// waitUntil polls cond until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inserter appends rows to s until stopped, one INSERT of 200 rows at a
// time, with event times that move forward.
type inserter struct {
	gate sync.Mutex // held by each INSERT; checks hold it to pause them
	stop chan struct{}
	done chan error
	mu   sync.Mutex
	n    int
}

func startInserter(addr string) *inserter {
	in := &inserter{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, "postgres://test@"+addr+"/sqld?sslmode=disable")
		if err != nil {
			in.done <- err
			return
		}
		defer conn.Close(ctx)
		for i := 0; ; i++ {
			select {
			case <-in.stop:
				in.done <- nil
				return
			default:
			}
			var b strings.Builder
			b.WriteString("INSERT INTO s VALUES ")
			for r := 0; r < 200; r++ {
				x := i*200 + r
				if r > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "(%d, %d, 'tag%d', TIMESTAMP '2024-01-01 00:00:00' + INTERVAL '%d' SECOND)", x%37, (x*7919)%1000, x%5, x/100)
			}
			in.gate.Lock()
			_, err := conn.Exec(ctx, b.String())
			in.gate.Unlock()
			if err != nil {
				in.done <- err
				return
			}
			in.mu.Lock()
			in.n++
			in.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return in
}

func (in *inserter) inserts() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.n
}

func (in *inserter) finish(t *testing.T) {
	t.Helper()
	close(in.stop)
	if err := <-in.done; err != nil {
		t.Fatalf("inserter: %v", err)
	}
}

func setup(t *testing.T, conn *pgx.Conn) {
	exec1(t, conn, "CREATE STREAM s (k INT, v INT, tag VARCHAR, ts TIMESTAMP) WITH (partitions = 3)")
	for name, q := range views {
		exec1(t, conn, fmt.Sprintf("CREATE VIEW %s AS %s", name, q))
	}
}

// checkViews compares every view with its query run in batch.
func checkViews(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	exec1(t, conn, "FLUSH")
	for name, q := range views {
		cols := strings.Join(colsOf(t, conn, name), ", ")
		got := rows(t, conn, fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", cols, name, cols))
		want := rows(t, conn, fmt.Sprintf("SELECT * FROM (%s) AS q ORDER BY %s", q, cols))
		if len(want) == 0 {
			t.Fatalf("view %s: batch query returned nothing", name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("view %s differs from its query:\n got %d rows %.400v\nwant %d rows %.400v", name, len(got), got, len(want), want)
		}
	}
}

func colsOf(t *testing.T, conn *pgx.Conn, view string) []string {
	rs, err := conn.Query(context.Background(), "SELECT * FROM "+view+" LIMIT 0")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for _, f := range rs.FieldDescriptions() {
		out = append(out, f.Name)
	}
	return out
}

// agentOf returns the agent of each view's live task.
func agentOf(t *testing.T, conn *pgx.Conn) map[string]string {
	out := map[string]string{}
	for _, r := range rows(t, conn, "SELECT job || ' ' || agent FROM sys.tasks WHERE state = 'RUNNING'") {
		job, ag, _ := strings.Cut(r, " ")
		out[job] = ag
	}
	return out
}

func allOn(t *testing.T, conn *pgx.Conn, want func(agent string) bool) bool {
	m := agentOf(t, conn)
	if len(m) != len(views) {
		return false
	}
	for _, a := range m {
		if !want(a) {
			return false
		}
	}
	return true
}

func stages(t *testing.T, conn *pgx.Conn, id string) int64 {
	var n int64
	if err := conn.QueryRow(context.Background(), "SELECT stages FROM sys.agents WHERE id = $1", id).Scan(&n); err != nil {
		return 0
	}
	return n
}

// scenario runs the views on two remote agents, kills the agents one after
// the other while rows arrive, and checks the views after each.
func scenario(t *testing.T, srv *server.Server, start func(name string), kill1, kill2 func()) {
	conn := connect(t, srv.Addr())
	start("a1")
	start("a2")
	waitUntil(t, "two remote agents", func() bool {
		return len(rows(t, conn, "SELECT id FROM sys.agents WHERE address IS NOT NULL")) == 2
	})
	setup(t, conn)
	in := startInserter(srv.Addr())
	defer func() {
		select {
		case <-in.stop:
		default:
			close(in.stop)
			<-in.done
		}
	}()
	// Remote agents are preferred: every task lands on a1 or a2, spread.
	waitUntil(t, "tasks on the remote agents", func() bool {
		return allOn(t, conn, func(a string) bool { return a == "a1" || a == "a2" })
	})
	placed := agentOf(t, conn)
	var on1 int
	for _, a := range placed {
		if a == "a1" {
			on1++
		}
	}
	if on1 == 0 || on1 == len(views) {
		t.Errorf("tasks not spread over the remote agents: %v", placed)
	}
	waitUntil(t, "stages run remotely", func() bool { return stages(t, conn, "a1") > 3 && stages(t, conn, "a2") > 3 })
	waitUntil(t, "rows flowing", func() bool { return in.inserts() > 20 })

	kill1()
	waitUntil(t, "tasks moved to a2", func() bool { return allOn(t, conn, func(a string) bool { return a == "a2" }) })
	if got := rows(t, conn, "SELECT id FROM sys.agents ORDER BY id"); !reflect.DeepEqual(got, []string{"a2", "local"}) {
		t.Fatalf("agents after a1 died: %v", got)
	}
	at := in.inserts()
	waitUntil(t, "rows flowing", func() bool { return in.inserts() > at+20 })
	in.gate.Lock()
	checkViews(t, conn)
	in.gate.Unlock()

	kill2()
	waitUntil(t, "tasks moved to the in-process agent", func() bool {
		return allOn(t, conn, func(a string) bool { return a == "local" })
	})
	at = in.inserts()
	waitUntil(t, "rows flowing", func() bool { return in.inserts() > at+20 })
	in.finish(t)
	checkViews(t, conn)
	for _, r := range rows(t, conn, "SELECT name || ' ' || state || ' ' || coalesce(last_error, '') FROM sys.jobs") {
		if !strings.HasSuffix(r, " RUNNING ") {
			t.Errorf("job %s", r)
		}
	}
}

// TestAgentGoroutines runs the agents in goroutines; each is killed by
// closing its connection without a word.
func TestAgentGoroutines(t *testing.T) {
	srv := startServer(t)
	cancels := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(name string) {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[name] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = agent.Run(ctx, agent.Config{Join: srv.AgentAddr(), Name: name, CPUs: 1, MemBytes: 256 << 20,
				Executor: session.StageExecutor(), HeartbeatInterval: 100 * time.Millisecond})
		}()
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	scenario(t, srv, start, func() { cancels["a1"]() }, func() { cancels["a2"]() })
}

// TestAgentProcesses runs two `sqld agent` processes, kills one with
// SIGKILL and freezes the other with SIGSTOP (it is lost when its
// heartbeats stop).
func TestAgentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sqld")
	}
	bin := filepath.Join(t.TempDir(), "sqld")
	if runtime.GOOS == "windows" {
		t.Skip("signals")
	}
	build := exec.Command("go", "build", "-o", bin, "github.com/sqld/sqld/cmd/sqld")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	srv := startServer(t)
	procs := map[string]*exec.Cmd{}
	start := func(name string) {
		cmd := exec.Command(bin, "agent", "--join", srv.AgentAddr(), "--name", name, "--cpus", "1", "--memory", "256", "--log-level", "warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[name] = cmd
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		})
	}
	// An agent offering nothing is refused with a message.
	out, err := exec.Command(bin, "agent", "--join", srv.AgentAddr(), "--cpus", "0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "must offer some CPUs and memory") {
		t.Fatalf("agent with no CPUs: %v %s", err, out)
	}
	scenario(t, srv, start,
		func() { procs["a1"].Process.Signal(syscall.SIGKILL) },
		func() { procs["a2"].Process.Signal(syscall.SIGSTOP) })
}
