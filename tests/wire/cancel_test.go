package wire

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

const longQuery = `SELECT count(*) FROM generate_series(1, 2000000000)`

// TestCancelRequest cancels a long query through ctx; pgx sends a
// CancelRequest, and the server must answer 57014 quickly and keep the
// connection usable.
func TestCancelRequest(t *testing.T) {
	t.Parallel()
	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"Extended", pgx.QueryExecModeCacheStatement}, {"Simple", pgx.QueryExecModeSimpleProtocol}} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := pgx.ParseConfig(connString(shared.Addr()))
			if err != nil {
				t.Fatal(err)
			}
			cfg.DefaultQueryExecMode = m.mode
			// Wait for the server's answer to the CancelRequest instead of
			// closing the connection at once (pgx's default).
			cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
				return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, CancelRequestDelay: 0, DeadlineDelay: 5 * time.Second}
			}
			c, err := pgx.ConnectConfig(ctxT(t, 10*time.Second), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			var n int64
			err = c.QueryRow(ctx, longQuery).Scan(&n)
			took := time.Since(start)
			if err == nil {
				t.Fatalf("long query finished with %d; want it cancelled", n)
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "57014" {
				t.Errorf("cancelled query: %v, want SQLSTATE 57014", err)
			}
			if took > 3*time.Second {
				t.Errorf("cancel took %v", took)
			}
			if c.IsClosed() {
				t.Fatalf("connection closed after cancel")
			}
			if got := queryInt(t, c, "SELECT 7"); got != 7 {
				t.Errorf("after cancel: SELECT 7 = %d", got)
			}
			if c.PgConn().TxStatus() != 'I' {
				t.Errorf("after cancel: TxStatus %q", c.PgConn().TxStatus())
			}
		})
	}
}

// TestCancelDefaultPgx uses pgx's default cancellation (CancelRequest,
// then close after a short delay): the error is a cancellation and the
// server keeps serving.
func TestCancelDefaultPgx(t *testing.T) {
	t.Parallel()
	c := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exec(ctx, longQuery)
	if err == nil {
		t.Fatal("long query was not cancelled")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("cancel took %v", time.Since(start))
	}
	if !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded) {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Errorf("cancelled query: %v", err)
		}
	}
	alive(t, shared.Addr())
}

// TestCancelWrongKey: a CancelRequest with a wrong secret does nothing.
func TestCancelWrongKey(t *testing.T) {
	t.Parallel()
	c := connect(t)
	pid := c.PgConn().PID()
	nc, err := net.DialTimeout("tcp", shared.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// length 16, code 80877102, pid, wrong secret
	msg := []byte{0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, byte(pid >> 24), byte(pid >> 16), byte(pid >> 8), byte(pid), 1, 2, 3, 4}
	nc.Write(msg)
	nc.Close()
	var n int64
	if err := c.QueryRow(ctxT(t, 10*time.Second), "SELECT count(*) FROM generate_series(1, 300000)").Scan(&n); err != nil || n != 300000 {
		t.Errorf("query after a wrong-key cancel: %d, %v", n, err)
	}
}

// TestStatementTimeout: statement_timeout ends a long query with 57014.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	c := connect(t)
	mustExec(t, c, "SET statement_timeout = 200")
	start := time.Now()
	_, err := c.Exec(ctxT(t, 20*time.Second), longQuery)
	if err == nil {
		t.Fatal("long query finished despite statement_timeout")
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		knownBug(t, "statement_timeout is not enforced", "long query with statement_timeout = 200: %v after %v", err, time.Since(start))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("statement_timeout 200ms took %v", d)
	}
	mustExec(t, c, "SET statement_timeout = 0")
	if got := queryInt(t, c, "SELECT 1"); got != 1 {
		t.Errorf("after timeout: %d", got)
	}
}

// TestClientDisconnectMidQuery: a client that goes away during a long
// query does not hurt other sessions, and the query stops.
func TestClientDisconnectMidQuery(t *testing.T) {
	t.Parallel()
	nc, err := net.DialTimeout("tcp", shared.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgconn.ParseConfig(connString(shared.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) { return nc, nil }
	pc, err := pgconn.ConnectConfig(ctxT(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mrr := pc.Exec(context.Background(), longQuery)
	go func() {
		for mrr.NextResult() {
		}
		mrr.Close()
	}()
	time.Sleep(100 * time.Millisecond)
	nc.Close()
	// Other sessions go on.
	for i := 0; i < 3; i++ {
		alive(t, shared.Addr())
	}
	c := connect(t)
	if n := queryInt(t, c, "SELECT count(*) FROM generate_series(1, 1000)"); n != 1000 {
		t.Errorf("count %d", n)
	}
}
