package nexmark

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/sqld/sqld/connectors/nexmark"
)

// flushBound bounds a FLUSH that must return: long enough never to be
// hit on a loaded machine, short enough that a hang fails the test.
const flushBound = time.Minute

// flush runs FLUSH, failing the test if it errs or does not return.
func flush(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), flushBound)
	defer cancel()
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
}

// intRow runs a query of one integer.
func intRow(t *testing.T, conn *pgx.Conn, sql string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rows(t, conn, sql)[0], 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestFlushWaitsForGeneratedBatch: right after CREATE STREAM the source
// is starting, and FLUSH waits for its first batch (here all its events)
// and for the views over the stream to take it.
func TestFlushWaitsForGeneratedBatch(t *testing.T) {
	_, conn := startServer(t, t.TempDir())
	const events = 50_000
	execSQL(t, conn, fmt.Sprintf("CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', seed = 4, events = %d)", bidColumns, events))
	execSQL(t, conn, "CREATE VIEW bids AS SELECT count(*) AS n, sum(price) AS s FROM bid")
	flush(t, conn)
	n := intRow(t, conn, "SELECT count(*) FROM bid")
	if n == 0 {
		t.Fatal("FLUSH returned before the source's first batch reached the stream")
	}
	g, err := nexmark.NewGenerator(nexmark.Config{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if want := g.Count(nexmark.KindBid, 0, events); n != want {
		t.Fatalf("the stream holds %d bids, the generator gives %d", n, want)
	}
	if got, want := rows(t, conn, "SELECT next_event, done, rows FROM sys.sources WHERE name = 'bid'"), fmt.Sprintf("%d|t|%d", events, n); got[0] != want {
		t.Fatalf("sys.sources shows next_event|done|rows = %s, want %s", got[0], want)
	}
	if got, want := rows(t, conn, "SELECT n, s FROM bids"), rows(t, conn, "SELECT count(*), sum(price) FROM bid"); got[0] != want[0] {
		t.Fatalf("after FLUSH the view holds %s, the stream %s", got[0], want[0])
	}
}

// TestFlushWhileGenerating: FLUSH while a source generates batch after
// batch, with views reading the stream (which hold the generator back
// while they are behind): each FLUSH returns, and the views hold at
// least what the source had recorded before it.
func TestFlushWhileGenerating(t *testing.T) {
	_, conn := startServer(t, t.TempDir())
	execSQL(t, conn, fmt.Sprintf("CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', seed = 6, events = 600000, partitions = 2)", bidColumns))
	execSQL(t, conn, "CREATE VIEW bids AS SELECT count(*) AS n FROM bid")
	execSQL(t, conn, "CREATE VIEW per_auction AS SELECT auction, count(*) AS n FROM bid GROUP BY auction")
	for round := 0; ; round++ {
		before := intRow(t, conn, "SELECT rows FROM sys.sources")
		flush(t, conn)
		view := intRow(t, conn, "SELECT n FROM bids")
		grouped := intRow(t, conn, "SELECT coalesce(sum(n), 0) FROM per_auction")
		stream := intRow(t, conn, "SELECT count(*) FROM bid")
		if view == 0 || view < before || grouped < before || view > stream {
			t.Fatalf("round %d: before FLUSH the source had recorded %d rows; after it the views hold %d and %d, the stream %d", round, before, view, grouped, stream)
		}
		if rows(t, conn, "SELECT done FROM sys.sources")[0] == "t" {
			break
		}
	}
	flush(t, conn)
	if view, stream := intRow(t, conn, "SELECT n FROM bids"), intRow(t, conn, "SELECT rows FROM sys.sources"); view != stream {
		t.Fatalf("with the source done, the view holds %d rows, the source produced %d", view, stream)
	}
}

// TestFlushRateLimitedSource: FLUSH does not wait for a bounded source
// to finish (ten million events at a thousand a second would take hours),
// but does for the batch it is producing.
func TestFlushRateLimitedSource(t *testing.T) {
	_, conn := startServer(t, t.TempDir())
	execSQL(t, conn, fmt.Sprintf("CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', rate = 1000, events = 10000000)", bidColumns))
	execSQL(t, conn, "CREATE VIEW bids AS SELECT count(*) AS n FROM bid")
	start := time.Now()
	flush(t, conn)
	t.Logf("FLUSH took %v", time.Since(start))
	if n := intRow(t, conn, "SELECT n FROM bids"); n == 0 {
		t.Fatal("FLUSH returned before the first batch reached the view")
	}
	before := intRow(t, conn, "SELECT rows FROM sys.sources")
	flush(t, conn)
	if n := intRow(t, conn, "SELECT n FROM bids"); n < before {
		t.Fatalf("after FLUSH the view holds %d rows, the source had recorded %d before", n, before)
	}
	if done := rows(t, conn, "SELECT done FROM sys.sources")[0]; done != "f" {
		t.Fatalf("the source is done: %s", done)
	}
}

// TestFlushSourceDropped: a FLUSH waiting for a source's batch returns
// when the stream is dropped meanwhile.
func TestFlushSourceDropped(t *testing.T) {
	srv, conn := startServer(t, t.TempDir())
	// One event a second: the first batch is a second away.
	execSQL(t, conn, fmt.Sprintf("CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', rate = 1, events = 1000000)", bidColumns))
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), flushBound)
		defer cancel()
		_, err := conn.Exec(ctx, "FLUSH")
		res <- err
	}()
	time.Sleep(200 * time.Millisecond)
	other, err := pgx.Connect(context.Background(), "postgres://test@"+srv.Addr()+"/sqld?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	execSQL(t, other, "DROP STREAM bid")
	if err := <-res; err != nil {
		t.Fatalf("FLUSH while the stream was dropped: %v", err)
	}
	if got := rows(t, conn, "SELECT count(*) FROM sys.sources"); got[0] != "0" {
		t.Fatalf("sys.sources lists %s sources after DROP STREAM", got[0])
	}
}

// TestFlushCancelled: a FLUSH waiting for a source's batch ends with
// SQLSTATE 57014 when the client cancels it.
func TestFlushCancelled(t *testing.T) {
	srv, _ := startServer(t, t.TempDir())
	cfg, err := pgx.ParseConfig("postgres://test@" + srv.Addr() + "/sqld?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	// Send the CancelRequest at once, and wait for the answer rather
	// than close the connection.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: flushBound}
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Its first batch a second away, as above.
	execSQL(t, conn, fmt.Sprintf("CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', rate = 1, events = 1000000)", bidColumns))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = conn.Exec(ctx, "FLUSH")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("cancelled FLUSH: %v, want SQLSTATE 57014", err)
	}
	flush(t, conn)
}
