package wire

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestZZProbe(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes[:1] {
		c := connectMode(t, m.mode)
		ts := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
		tbl := name(t, "p")
		mustExec(t, c, `CREATE TABLE `+tbl+` (id INT PRIMARY KEY, ts TIMESTAMP, tz TIMESTAMPTZ)`)
		for i, kv := range []struct{ q string; v any }{
			{"INSERT INTO %s (id, ts) VALUES ($1, $2)", "2024-01-01 00:00:00"},
			{"INSERT INTO %s (id, ts) VALUES ($1, $2::timestamp)", "2024-01-01 00:00:00"},
			{"INSERT INTO %s (id, ts) VALUES ($1, $2::text::timestamp)", "2024-01-01 00:00:00"},
			{"INSERT INTO %s (id, tz) VALUES ($1, $2)", ts},
			{"UPDATE %s SET ts = $2 WHERE id = $1", ts},
			{"SELECT count(*) FROM %s WHERE id = $1 OR ts = $2", ts},
			{"SELECT $2::timestamp, $1", ts},
		} {
			_, err := c.Exec(ctx, fmt.Sprintf(kv.q, tbl), i, kv.v)
			fmt.Println(kv.q, err)
		}
	}
}
