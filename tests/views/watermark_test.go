package views

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
)

// A view created before views carried watermarks has none recorded in the
// catalog. It keeps working as it did: the views over it go on from their
// epochs, and windows that emit on close over it are refused.
func TestViewWithoutRecordedWatermark(t *testing.T) {
	dir := t.TempDir()
	srv, conn := start(t, dir)
	run(t, conn,
		"CREATE STREAM ev (k BIGINT, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)",
		"CREATE VIEW f AS SELECT k, v, ts FROM ev WHERE v > 0",
		"CREATE VIEW per_k AS SELECT k, count(*) AS n FROM f GROUP BY k",
		"CREATE VIEW later AS SELECT k, ts FROM f",
		"INSERT INTO ev VALUES (1, 1, '2024-01-01 00:00:01'), (2, 2, '2024-01-01 00:00:02'), (1, -1, '2024-01-01 00:00:03')",
		"FLUSH")
	if got := sorted(t, conn, "SELECT name FROM sys.jobs WHERE watermark IS NOT NULL"); got != "f\nlater\nper_k" {
		t.Fatalf("views with a watermark: %q", got)
	}
	conn.Close(context.Background())
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	// Remove f's watermark from the catalog, as an older build left it.
	ctx := context.Background()
	st, err := widecol.Open(ctx, filepath.Join(dir, "store"), &widecol.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	rels, err := st.Table("system", "relations")
	if err != nil {
		t.Fatal(err)
	}
	row, err := st.GetRow(ctx, rels, []any{"f"})
	if err != nil {
		t.Fatal(err)
	}
	rel, err := catalog.DecodeRelation(row["def"].([]byte))
	if err != nil {
		t.Fatal(err)
	}
	if rel.Watermark == nil || rel.Watermark.From != "ev" || rel.Columns[rel.Watermark.Column].Name != "ts" {
		t.Fatalf("f's recorded watermark: %+v", rel.Watermark)
	}
	rel.Watermark = nil
	def, err := rel.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch()
	if err := b.UpsertRow(rels, widecol.Row{"name": "f", "def": def}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	srv, conn = start(t, dir)
	defer srv.Close()
	defer conn.Close(context.Background())
	run(t, conn, "INSERT INTO ev VALUES (2, 5, '2024-01-01 00:00:20'), (3, 1, '2024-01-01 00:00:21')", "FLUSH")
	if got := sorted(t, conn, "SELECT k, n FROM per_k"); got != "1|1\n2|2\n3|1" {
		t.Errorf("per_k after a restart:\n%s", got)
	}
	if got := sorted(t, conn, "SELECT count(*) FROM later"); got != "4" {
		t.Errorf("later has %s rows, want 4", got)
	}
	if got := sorted(t, conn, "SELECT name FROM sys.jobs WHERE watermark IS NOT NULL"); got != "f" {
		t.Errorf("views with a watermark after a restart: %q", got)
	}
	_, err = conn.Exec(ctx, "CREATE VIEW w AS SELECT window_start, count(*) FROM TUMBLE(f, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "0A000" || !strings.Contains(pe.Message, `needs a watermark on view "f"`) {
		t.Errorf("EMIT ON WINDOW CLOSE over a view without a recorded watermark: %v", err)
	}
}
