// Package views checks how continuous views keep their state, from
// outside: through SQL and by opening the store a server left behind.
package views

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/sql/server"
	"github.com/sqld/sqld/tests/bench"
)

// quiet drops the store's log lines.
type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func start(t *testing.T, dir string) (*server.Server, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	srv, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, "postgres://test@"+srv.Addr()+"/sqld?sslmode=disable")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	return srv, conn
}

func run(t *testing.T, conn *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

func sorted(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	out, err := bench.SortedRows(context.Background(), conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.Join(out, "\n")
}

// An aggregation whose groups keep one row each has no state table: the
// partials are cells of the view's rows, and a restart goes on from them.
// One with HAVING keeps its state table.
func TestAggregationStateInViewRows(t *testing.T) {
	dir := t.TempDir()
	srv, conn := start(t, dir)
	const (
		inRows  = "SELECT k, count(*) AS n, avg(v) AS mean, max(v) AS top FROM s GROUP BY k"
		byState = "SELECT k, sum(v) AS total FROM s GROUP BY k HAVING count(*) > 1"
	)
	run(t, conn, "CREATE STREAM s (k BIGINT, v BIGINT)", "CREATE VIEW in_rows AS "+inRows, "CREATE VIEW by_state AS "+byState,
		"INSERT INTO s VALUES (1, 10), (1, 20), (2, 5), (3, NULL)", "FLUSH")
	conn.Close(context.Background())
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := widecol.Open(context.Background(), filepath.Join(dir, "store"), &widecol.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	columns := map[string][]string{}
	for _, tb := range st.Tables("data") {
		names = append(names, tb.Name)
		for _, f := range tb.Schema.Fields() {
			columns[tb.Name] = append(columns[tb.Name], f.Name)
		}
	}
	st.Close()
	has := func(prefix string) (string, bool) {
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				return n, true
			}
		}
		return "", false
	}
	if n, ok := has("in_rows_"); !ok || strings.HasSuffix(n, "_state") {
		t.Fatalf("tables %v", names)
	} else if cols := columns[n]; !slices.Contains(cols, "_p0") || !slices.Contains(cols, "_p3") {
		t.Fatalf("in_rows's table has the columns %v", cols)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "in_rows_") && strings.HasSuffix(n, "_state") {
			t.Fatalf("in_rows has a state table: %v", names)
		}
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "by_state_") && strings.HasSuffix(n, "_state") }) {
		t.Fatalf("by_state has no state table: %v", names)
	}

	srv, conn = start(t, dir)
	defer srv.Close()
	defer conn.Close(context.Background())
	run(t, conn, "INSERT INTO s VALUES (2, 7), (3, 4), (4, 1), (1, NULL)", "FLUSH")
	for view, query := range map[string]string{"in_rows": inRows, "by_state": byState} {
		if got, want := sorted(t, conn, "SELECT * FROM "+view), sorted(t, conn, query); got != want {
			t.Errorf("%s after a restart:\n%s\nits query:\n%s", view, got, want)
		}
	}
	if got := sorted(t, conn, "SELECT k, n FROM in_rows"); got != "1|3\n2|2\n3|2\n4|1" {
		t.Errorf("counts after a restart:\n%s", got)
	}
}
