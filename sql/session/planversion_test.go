package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/sql/pgwire"
)

// testSQL runs statements on a session of e and returns the rows of the
// last one as sorted "a|b" lines.
func testSQL(t *testing.T, e *Engine, sqls ...string) string {
	t.Helper()
	lines, _ := testRun(t, e, sqls...)
	return lines
}

// testRun runs statements on a session of e and returns the rows of the
// last one as sorted "a|b" lines, and the notices the session was left.
func testRun(t *testing.T, e *Engine, sqls ...string) (string, []*pgerror.Error) {
	t.Helper()
	ctx := context.Background()
	s, err := e.NewSession(ctx, pgwire.StartupParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var lines []string
	for _, sql := range sqls {
		stmts, err := s.Parse(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		for _, st := range stmts {
			p, err := st.Bind(ctx, nil)
			if err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			lines = lines[:0]
			for {
				b, err := p.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
				for r := 0; r < int(b.NumRows()); r++ {
					var vals []string
					for c := 0; c < int(b.NumCols()); c++ {
						vals = append(vals, array.NewSlice(b.Column(c), int64(r), int64(r+1)).ValueStr(0))
					}
					lines = append(lines, strings.Join(vals, "|"))
				}
				b.Release()
			}
			p.Close()
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n"), s.(*Session).TakeNotices()
}

// A view keeps the plan of the build that created it across a restart:
// its state is laid out by that plan. A deduplication created before
// columns were pruned below windows keeps its state table and the column
// no one reads; one created now keeps its state in its rows.
func TestViewKeepsItsPlanVersion(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	const query = "SELECT k, v, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM s) WHERE rn <= 1"
	e, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	testSQL(t, e, "CREATE STREAM s (k BIGINT, v BIGINT, ts TIMESTAMP, note TEXT)")
	e.viewPlanVersion = 0
	testSQL(t, e, "CREATE VIEW before AS "+query)
	e.viewPlanVersion = planner.ViewPlanVersion
	testSQL(t, e, "CREATE VIEW now AS "+query,
		"INSERT INTO s VALUES (1, 10, '2026-01-01 00:00:01', 'a'), (1, 11, '2026-01-01 00:00:03', 'b'), (2, 20, '2026-01-01 00:00:02', 'c')",
		"FLUSH")
	state := func() map[string]int {
		cols := map[string]int{}
		for _, tb := range e.store.Tables(keyspaceData) {
			if strings.HasSuffix(tb.Name, "_state") {
				cols[strings.SplitN(tb.Name, "_", 2)[0]] = len(tb.Schema.Fields())
			}
		}
		return cols
	}
	check := func(when string) {
		t.Helper()
		// The old plan's state keeps every input column (note too): the
		// key, the position and four columns.
		if got := fmt.Sprint(state()); got != "map[before:6]" {
			t.Fatalf("%s: state tables (columns) %s, want before's only", when, got)
		}
		want := testSQL(t, e, query)
		for _, v := range []string{"before", "now"} {
			if got := testSQL(t, e, "SELECT * FROM "+v); got != want {
				t.Fatalf("%s: view %s:\n%s\nits query:\n%s", when, v, got, want)
			}
		}
	}
	check("created")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e, err = Open(ctx, Config{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	testSQL(t, e, "INSERT INTO s VALUES (1, 12, '2026-01-01 00:00:02', 'd'), (2, 21, '2026-01-01 00:00:09', 'e'), (3, 30, '2026-01-01 00:00:01', 'f')",
		"FLUSH")
	check("after a restart")
	if got := testSQL(t, e, "SELECT k, v FROM now"); got != "1|11\n2|21\n3|30" {
		t.Fatalf("after a restart:\n%s", got)
	}
}
