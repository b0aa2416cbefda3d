// Package joins checks continuous views over joins of streams with tables
// against the same queries run in batch, under random inserts, updates
// and deletes on the table side (differential testing).
package joins

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sqld/sqld/sql/server"
	"github.com/sqld/sqld/tests/bench"
)

func rows(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	out, err := bench.SortedRows(context.Background(), conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func TestStreamTableJoinsEqualBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	connect := func() *pgx.Conn {
		conn, err := pgx.Connect(ctx, "postgres://test@"+srv.Addr()+"/sqld?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	conn := connect()
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE STREAM ev (id BIGINT, k INT, v INT) WITH (partitions = 2)")
	exec("CREATE TABLE dim (pk INT PRIMARY KEY, k INT, label VARCHAR)")
	queries := map[string]string{
		"v_inner": "SELECT e.id, e.v + d.pk AS s, d.label FROM ev e JOIN dim d ON e.k = d.k WHERE d.label <> 'l0'",
		"v_left":  "SELECT e.id, d.pk FROM ev e LEFT JOIN dim d ON e.k = d.k",
		"v_right": "SELECT d.pk, d.label, e.id FROM ev e RIGHT JOIN dim d ON e.k = d.k",
		"v_full":  "SELECT d.pk, e.id, e.v FROM dim d FULL JOIN ev e ON d.k = e.k",
		// Aggregations of the joined rows take back a key's old rows.
		"v_agg_inner": "SELECT d.label, count(*) AS n, sum(e.v) AS s, avg(e.v) AS a FROM ev e JOIN dim d ON e.k = d.k GROUP BY d.label",
		"v_agg_full":  "SELECT d.label, count(*) AS n, count(e.id) AS c, sum(d.pk) AS sp FROM dim d FULL JOIN ev e ON d.k = e.k GROUP BY d.label",
		"v_agg_left":  "SELECT count(*) AS n, sum(e.v) AS s FROM ev e LEFT JOIN dim d ON e.k = d.k WHERE d.pk IS NULL",
	}
	for name, q := range queries {
		exec("CREATE VIEW " + name + " AS " + q)
		if got := rows(t, conn, fmt.Sprintf("SELECT mode FROM sys.jobs WHERE name = '%s'", name)); len(got) != 1 || got[0] != "incremental" {
			t.Fatalf("view %s is %v, want incremental", name, got)
		}
	}
	rng := rand.New(rand.NewSource(3))
	key := func() string {
		if rng.Intn(10) == 0 {
			return "NULL"
		}
		return fmt.Sprint(rng.Intn(8))
	}
	nextID := 0
	for round := 0; round < 30; round++ {
		for op := 0; op < 6; op++ {
			switch rng.Intn(5) {
			case 0, 1:
				var vals []string
				for i := rng.Intn(4) + 1; i > 0; i-- {
					nextID++
					vals = append(vals, fmt.Sprintf("(%d, %s, %d)", nextID, key(), rng.Intn(100)))
				}
				exec("INSERT INTO ev VALUES " + strings.Join(vals, ", "))
			case 2:
				exec(fmt.Sprintf("INSERT INTO dim VALUES (%d, %s, 'l%d') ON CONFLICT DO NOTHING", rng.Intn(12), key(), rng.Intn(3)))
			case 3:
				exec(fmt.Sprintf("UPDATE dim SET k = %s WHERE pk = %d", key(), rng.Intn(12)))
			case 4:
				exec(fmt.Sprintf("DELETE FROM dim WHERE pk = %d", rng.Intn(12)))
			}
		}
		if round == 15 {
			// A restart in the middle: the views go on from their state.
			conn.Close(ctx)
			srv.Close()
			if srv, err = server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir}); err != nil {
				t.Fatal(err)
			}
			conn = connect()
		}
		exec("FLUSH")
		for name, q := range queries {
			got, want := rows(t, conn, "SELECT * FROM "+name), rows(t, conn, q)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("round %d: view %s differs from its query\nview:  %v\nbatch: %v", round, name, got, want)
			}
		}
	}
	if n := len(rows(t, conn, "SELECT * FROM v_inner")); n == 0 {
		t.Fatal("the inner join has no rows: the test data never matched")
	}
	conn.Close(ctx)
	srv.Close()
}
