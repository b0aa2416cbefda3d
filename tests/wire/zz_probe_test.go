package wire

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5"
)

func TestZZProbe(t *testing.T) {
	s := startOwn(t)
	cfg, _ := pgx.ParseConfig(connString(s.Addr()))
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, CancelRequestDelay: 0, DeadlineDelay: 5 * time.Second}
	}
	c, _ := pgx.ConnectConfig(context.Background(), cfg)
	for _, q := range []string{
		"SELECT count(*) FROM generate_series(1, 20000000)",
		"SELECT count(*) FROM generate_series(1, 20000000) WHERE 1=1",
		"SELECT count(*) FROM generate_series(1, 20000000) g, generate_series(1,10) h",
		"SELECT max(g) FROM generate_series(1, 20000000) g",
	} {
		st := time.Now()
		_, err := c.Exec(context.Background(), q)
		fmt.Println(q, "full", time.Since(st), err)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		st = time.Now()
		_, err = c.Exec(ctx, q)
		cancel()
		fmt.Println(q, "cancelled", time.Since(st), err)
		if c.IsClosed() {
			c, _ = pgx.ConnectConfig(context.Background(), cfg)
		}
	}
}
