package recovery

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/connectors/nexmark"
)

// TestKillDuringNexmarkSource kills sqld while a Nexmark source generates
// into a stream, restarts it until the source is done, and checks that
// the stream holds every bid exactly once, with the generator's values.
func TestKillDuringNexmarkSource(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	const events = 1_500_000
	dir := t.TempDir()
	c := startChild(t, dir)
	conn := connect(t, c.addr)
	exec1(t, conn, fmt.Sprintf(`CREATE STREAM bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  date_time TIMESTAMP, extra VARCHAR) WITH (connector = 'nexmark', event = 'bid', seed = 3, events = %d, partitions = 3)`, events))
	// Views over the generated stream, whose epochs read batches back
	// through regeneration after each restart: an aggregation keeping its
	// partials in its rows, and a top-N.
	views := map[string]string{
		"per_auction": "SELECT auction, count(*) AS n, avg(price) AS mean, max(price) AS top FROM bid GROUP BY auction",
		"top_two":     "SELECT auction, bidder, price, date_time, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bid) t WHERE rn <= 2",
	}
	for name, q := range views {
		exec1(t, conn, "CREATE VIEW "+name+" AS "+q)
	}
	conn.Close(context.Background())
	rng := rand.New(rand.NewSource(2))
	for round := 0; ; round++ {
		time.Sleep(time.Duration(50+rng.Intn(300)) * time.Millisecond)
		c.kill()
		c = startChild(t, dir)
		conn = connect(t, c.addr)
		pending := rows(t, conn, "SELECT count(*) FROM sys.sources WHERE NOT done")
		t.Logf("round %d: restarted, %v", round, rows(t, conn, "SELECT * FROM sys.sources"))
		conn.Close(context.Background())
		if pending[0] == "0" || round == 3 {
			break
		}
	}
	conn = connect(t, c.addr)
	defer conn.Close(context.Background())
	deadline := time.Now().Add(60 * time.Second)
	for rows(t, conn, "SELECT count(*) FROM sys.sources WHERE NOT done")[0] != "0" {
		if time.Now().After(deadline) {
			t.Fatal("source not done after 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	g, err := nexmark.NewGenerator(nexmark.Config{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := g.Batch(nexmark.KindBid, 0, events, memory.NewGoAllocator())
	var sum int64
	for _, p := range rec.Column(2).(*array.Int64).Int64Values() {
		sum += p
	}
	want := fmt.Sprint(rec.NumRows(), rec.NumRows(), fmt.Sprint(sum)) // as rows prints the text sum
	rec.Release()
	got := rows(t, conn, "SELECT count(*), count(DISTINCT date_time), sum(price)::text FROM bid")
	if got[0] != want {
		t.Fatalf("stream holds count, distinct times, sum(price) = %s, want %s", got[0], want)
	}
	exec1(t, conn, "FLUSH")
	for name, q := range views {
		got, want := rows(t, conn, "SELECT * FROM "+name), rows(t, conn, q)
		slices.Sort(got)
		slices.Sort(want)
		if len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("view %s has %d rows, its query %d", name, len(got), len(want))
		}
	}
}
