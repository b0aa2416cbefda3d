// Package nexmark checks continuous views against batch queries on
// generated Nexmark data: after FLUSH, every view must equal its SELECT
// run in batch over the same rows (differential testing).
package nexmark

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sqld/sqld/connectors/nexmark"
	"github.com/sqld/sqld/sql/server"
	"github.com/sqld/sqld/tests/bench"
)

// queriesDir holds the Nexmark queries of the test corpus, run from where
// it lies beside the project.
const queriesDir = "../../../shared/corpora/nexmark/risingwave"

func rows(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	out, err := bench.SortedRows(context.Background(), conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func TestViewsEqualBatch(t *testing.T) {
	if _, err := os.Stat(queriesDir); err != nil {
		t.Skipf("Nexmark queries not found at %s", queriesDir)
	}
	ctx := context.Background()
	srv, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := pgx.Connect(ctx, "postgres://test@"+srv.Addr()+"/sqld?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const events = 60_000
	ddl := fmt.Sprintf(`
CREATE STREAM person (id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR, city VARCHAR,
  state VARCHAR, date_time TIMESTAMP, extra VARCHAR, WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
  WITH (connector = 'nexmark', event = 'person', seed = 7, events = %[1]d, partitions = 2);
CREATE STREAM auction (id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT, reserve BIGINT,
  date_time TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR,
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
  WITH (connector = 'nexmark', event = 'auction', seed = 7, events = %[1]d, partitions = 2);
CREATE STREAM bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  date_time TIMESTAMP, extra VARCHAR, WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
  WITH (connector = 'nexmark', event = 'bid', seed = 7, events = %[1]d, partitions = 3)`, events)
	if _, err := conn.Exec(ctx, ddl, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	queries := []string{"q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q9", "q10", "q13", "q14", "q15", "q16", "q17", "q18", "q19", "q20", "q21", "q22"}
	sels := map[string]string{}
	// Views are created while the generators still run, so each sees
	// part of the data at creation and the rest as it arrives.
	for _, q := range queries {
		setup, sel, err := bench.NexmarkFile(queriesDir, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		// The query's own tables and functions (q13's side table, q14's
		// function).
		for _, st := range setup {
			if _, err := conn.Exec(ctx, st, pgx.QueryExecModeSimpleProtocol); err != nil {
				t.Fatalf("%s: %s: %v", q, st, err)
			}
		}
		sels[q] = sel
		if _, err := conn.Exec(ctx, "CREATE VIEW "+q+" AS "+sel, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("CREATE VIEW %s: %v", q, err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pending := rows(t, conn, "SELECT name FROM sys.sources WHERE NOT done")
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sources did not finish: %v", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	if n := rows(t, conn, "SELECT count(*) FROM bid"); n[0] == "0" {
		t.Fatal("no bids were generated")
	}
	// The generator's events come in event-time order within each
	// stream: no view may see a row as late (its watermark overtaking
	// rows still to come would drop them).
	if late := rows(t, conn, "SELECT name, late_rows FROM sys.jobs WHERE late_rows > 0"); len(late) > 0 {
		t.Errorf("views dropped rows as late: %v", late)
	}
	for _, q := range queries {
		got := rows(t, conn, "SELECT * FROM "+q)
		want := rows(t, conn, sels[q])
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: the view has %d rows, its query in batch %d", q, len(got), len(want))
			for i := 0; i < len(got) && i < len(want) && i < 3; i++ {
				if got[i] != want[i] {
					t.Logf("%s: first difference: view %q batch %q", q, got[i], want[i])
					break
				}
			}
		}
		if len(want) == 0 && q != "q2" {
			t.Logf("%s: the query is empty on this data", q)
		}
	}
}

// startServer starts sqld on dir and connects to it; both are closed when
// the test ends, unless the caller closes them first.
func startServer(t *testing.T, dir string) (*server.Server, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	srv, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	conn, err := pgx.Connect(ctx, "postgres://test@"+srv.Addr()+"/sqld?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return srv, conn
}

func execSQL(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// waitSources waits until every generated stream has all its events.
func waitSources(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(rows(t, conn, "SELECT name FROM sys.sources WHERE NOT done")) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("sources did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bidStats is what the generator itself gives for the bids among the
// first events events of seed, as "count|count|sum(price)".
func bidStats(t *testing.T, seed, events int64) string {
	t.Helper()
	g, err := nexmark.NewGenerator(nexmark.Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := g.Batch(nexmark.KindBid, 0, events, memory.NewGoAllocator())
	defer rec.Release()
	var sum int64
	for _, p := range rec.Column(2).(*array.Int64).Int64Values() {
		sum += p
	}
	return fmt.Sprintf("%d|%d|%d", rec.NumRows(), rec.NumRows(), sum)
}

// dirBytes is the size of the files under dir.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

const bidColumns = `auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP,
  extra VARCHAR`

// TestGeneratedStreamAfterRestart reads a generated stream back after a
// restart, when nothing of it is in memory: the log holds where each
// batch's events are, not their rows, and they are generated again.
func TestGeneratedStreamAfterRestart(t *testing.T) {
	dir := t.TempDir()
	srv, conn := startServer(t, dir)
	// Five batches of generated events in one partition: more than a
	// partition keeps in memory for readers that follow closely.
	const events = 500_000
	execSQL(t, conn, fmt.Sprintf("CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', seed = 11, events = %d, partitions = 1)", bidColumns, events))
	const perChannel = "SELECT channel, count(*) AS n, sum(price) AS s FROM bid GROUP BY channel"
	execSQL(t, conn, "CREATE VIEW per_channel AS "+perChannel)
	waitSources(t, conn)
	execSQL(t, conn, "FLUSH")
	const stats = "SELECT count(*), count(DISTINCT date_time), sum(price)::text, max(length(url)), min(extra) FROM bid"
	before := rows(t, conn, stats)
	view := rows(t, conn, "SELECT * FROM per_channel")
	if got, want := rows(t, conn, "SELECT count(*), count(DISTINCT date_time), sum(price)::text FROM bid"), bidStats(t, 11, events); got[0] != want {
		t.Fatalf("the stream holds count, distinct times, sum(price) = %s, want %s", got[0], want)
	}
	if strings.Join(view, "\n") != strings.Join(rows(t, conn, perChannel), "\n") || len(view) == 0 {
		t.Fatalf("the view holds %v", view)
	}
	conn.Close(context.Background())
	srv.Close()

	if logBytes := dirBytes(filepath.Join(dir, "log")); logBytes > 64<<10 {
		t.Errorf("the log holds %d bytes for %d generated events", logBytes, events)
	}

	_, conn = startServer(t, dir)
	if after := rows(t, conn, stats); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("after a restart the stream reads %v, before %v", after, before)
	}
	if after := rows(t, conn, "SELECT * FROM per_channel"); strings.Join(after, "\n") != strings.Join(view, "\n") {
		t.Fatalf("after a restart the view reads %v, before %v", after, view)
	}
	// A view created now reads the whole stream from the log.
	execSQL(t, conn, "CREATE VIEW per_channel2 AS "+perChannel)
	execSQL(t, conn, "FLUSH")
	if got := rows(t, conn, "SELECT * FROM per_channel2"); strings.Join(got, "\n") != strings.Join(view, "\n") {
		t.Fatalf("a new view reads %v, the old one %v", got, view)
	}
}

// TestGeneratedStreamStoredRows: with store_rows the log holds the
// generated rows themselves.
func TestGeneratedStreamStoredRows(t *testing.T) {
	dir := t.TempDir()
	_, conn := startServer(t, dir)
	const ddl = "CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', seed = 5, events = 200000, store_rows = '%s')"
	var pgErr *pgconn.PgError
	if _, err := conn.Exec(context.Background(), fmt.Sprintf(ddl, bidColumns, "maybe")); !errors.As(err, &pgErr) || pgErr.Code != "22023" {
		t.Fatalf("store_rows = 'maybe': %v", err)
	}
	execSQL(t, conn, fmt.Sprintf(ddl, bidColumns, "true"))
	waitSources(t, conn)
	if got, want := rows(t, conn, "SELECT count(*), count(*), sum(price)::text FROM bid"), bidStats(t, 5, 200000); got[0] != want {
		t.Fatalf("the stream holds count, count, sum(price) = %s, want %s", got[0], want)
	}
	// The rows themselves: at least their prices and times.
	if n := dirBytes(filepath.Join(dir, "log")); n < 184_000*16 {
		t.Fatalf("the log holds %d bytes for 184,000 rows", n)
	}
}

// TestRecomputedViewGetsStoredRows: while a view recomputed from its
// inputs reads a generated stream, the stream's batches are logged as
// rows, since the view reads them again at every change.
func TestRecomputedViewGetsStoredRows(t *testing.T) {
	dir := t.TempDir()
	_, conn := startServer(t, dir)
	// Half a million events at 250,000 a second: the view exists well
	// before most batches are generated.
	execSQL(t, conn, fmt.Sprintf("CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', seed = 5, events = 500000, rate = 250000, partitions = 1)", bidColumns))
	const view = "SELECT b.auction, b.price FROM bid b JOIN (SELECT max(price) AS m FROM bid) x ON b.price = x.m"
	if plan := strings.Join(rows(t, conn, "EXPLAIN CREATE VIEW top_bid AS "+view), "\n"); !strings.Contains(plan, "mode=recompute") {
		t.Fatalf("the view is not recomputed:\n%s", plan)
	}
	execSQL(t, conn, "CREATE VIEW top_bid AS "+view)
	waitSources(t, conn)
	execSQL(t, conn, "FLUSH")
	if got, want := rows(t, conn, "SELECT * FROM top_bid"), rows(t, conn, view); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the view holds %v, its query %v", got, want)
	}
	// Most of 460,000 bids' prices and times at least.
	if n := dirBytes(filepath.Join(dir, "log")); n < 460_000*16/2 {
		t.Fatalf("the log holds %d bytes", n)
	}
}

// TestGeneratedColumnsForViews: while its views use only some columns of a
// generated stream, the generator leaves the others out of the batches it
// hands them; every other reader (a batch query, a view created later that
// uses them) gets the batches generated whole.
func TestGeneratedColumnsForViews(t *testing.T) {
	_, conn := startServer(t, t.TempDir())
	const events = 800_000
	execSQL(t, conn, fmt.Sprintf("CREATE STREAM bid (%s) WITH (connector = 'nexmark', event = 'bid', seed = 13, events = %d, rate = 2000000, partitions = 2)", bidColumns, events))
	const prices = "SELECT auction, count(*) AS n, sum(price) AS s FROM bid GROUP BY auction"
	const texts = "SELECT channel, count(*) AS n, sum(length(url)) AS u, sum(length(extra)) AS e FROM bid GROUP BY channel"
	const whole = "SELECT count(*), sum(length(channel)), sum(length(url)), sum(length(extra)) FROM bid"
	execSQL(t, conn, "CREATE VIEW prices AS "+prices)
	// Batch queries while the views take batches without the texts.
	for range 3 {
		time.Sleep(50 * time.Millisecond)
		got := rows(t, conn, "SELECT count(*) FROM bid WHERE channel = '' OR url = ''")
		if got[0] != "0" {
			t.Fatalf("a batch query saw %s rows without their texts", got[0])
		}
	}
	execSQL(t, conn, "CREATE VIEW texts AS "+texts)
	waitSources(t, conn)
	execSQL(t, conn, "FLUSH")
	for view, q := range map[string]string{"prices": prices, "texts": texts} {
		got, want := rows(t, conn, "SELECT * FROM "+view), rows(t, conn, q)
		if len(got) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("view %s holds %d rows, its query %d", view, len(got), len(want))
		}
	}
	g, err := nexmark.NewGenerator(nexmark.Config{Seed: 13})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := g.Batch(nexmark.KindBid, 0, events, memory.NewGoAllocator())
	defer rec.Release()
	var lens [3]int
	for i, c := range []int{3, 4, 6} {
		s := rec.Column(c).(*array.String)
		for r := range s.Len() {
			lens[i] += s.ValueLen(r)
		}
	}
	if got, want := rows(t, conn, whole)[0], fmt.Sprintf("%d|%d|%d|%d", rec.NumRows(), lens[0], lens[1], lens[2]); got != want {
		t.Fatalf("the stream holds count and text lengths %s, the generator gives %s", got, want)
	}
}

// TestUnreadGeneratedStream: for a stream no view reads, the generator
// makes only the event times; queries get its batches generated whole.
func TestUnreadGeneratedStream(t *testing.T) {
	_, conn := startServer(t, t.TempDir())
	const events = 400_000
	execSQL(t, conn, fmt.Sprintf(`CREATE STREAM person (id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR, city VARCHAR,
  state VARCHAR, date_time TIMESTAMP, extra VARCHAR) WITH (connector = 'nexmark', event = 'person', seed = 17, events = %d, partitions = 2)`, events))
	waitSources(t, conn)
	g, err := nexmark.NewGenerator(nexmark.Config{Seed: 17})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := g.Batch(nexmark.KindPerson, 0, events, memory.NewGoAllocator())
	defer rec.Release()
	var ids int64
	var names int
	for r := range int(rec.NumRows()) {
		ids += rec.Column(0).(*array.Int64).Value(r)
		names += rec.Column(1).(*array.String).ValueLen(r)
	}
	if got, want := rows(t, conn, "SELECT count(*), sum(id), sum(length(name)), count(DISTINCT date_time) FROM person")[0],
		fmt.Sprintf("%d|%d|%d|%d", rec.NumRows(), ids, names, rec.NumRows()); got != want {
		t.Fatalf("the stream holds %s, the generator gives %s", got, want)
	}
	// A view created now reads the batches the log still keeps in memory
	// with their times only: it gets them generated whole.
	const perCity = "SELECT city, count(*) AS n, sum(length(name)) AS l FROM person GROUP BY city"
	execSQL(t, conn, "CREATE VIEW per_city AS "+perCity)
	execSQL(t, conn, "FLUSH")
	got, want := rows(t, conn, "SELECT * FROM per_city"), rows(t, conn, perCity)
	if len(got) < 2 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("a view created later holds %v, its query %v", got, want)
	}
}
