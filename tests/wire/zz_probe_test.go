package wire

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

func TestZZProbe(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes {
		c := connectMode(t, m.mode)
		ts := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
		tbl := name(t, "p")
		mustExec(t, c, `CREATE TABLE `+tbl+` (id INT PRIMARY KEY, big BIGINT, txt TEXT, b BOOLEAN, f DOUBLE PRECISION, num NUMERIC(12,3), ts TIMESTAMP, d DATE, by BYTEA, iv INTERVAL)`)
		for i, kv := range []struct{ col string; v any }{
			{"big", int64(5)}, {"txt", "x"}, {"b", true}, {"f", 1.5}, {"num", numeric(t, "1.5")}, {"ts", ts}, {"d", ts}, {"by", []byte("ab")}, {"iv", pgtype.Interval{Days: 1, Valid: true}},
		} {
			_, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO %s (id, %s) VALUES ($1, $2)", tbl, kv.col), i, kv.v)
			fmt.Println(m.name, kv.col, err)
			var s string
			err = c.QueryRow(ctx, fmt.Sprintf("SELECT %s::text FROM %s WHERE id = $1", kv.col, tbl), i).Scan(&s)
			fmt.Println("   ", s, err)
		}
	}
	_ = pgx.Batch{}
}
