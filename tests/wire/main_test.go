// Package wire is an end-to-end conformance suite: it starts sqld
// in-process and talks to it with real Postgres clients (pgx, psql,
// node-postgres) and raw protocol messages, checking what a Postgres user
// would see.
package wire

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sqld/sqld/sql/server"
)

// shared is the server most tests use; each test works on its own
// uniquely named relations so tests can run in parallel.
var shared *server.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sqld-wire-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	shared, err = server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start sqld:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := shared.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close sqld:", err)
		if code == 0 {
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// startOwn starts a private server for a test that must not share one.
func startOwn(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start sqld: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close sqld: %v", err)
		}
	})
	return s
}

func connString(addr string) string {
	return fmt.Sprintf("postgres://sqld@%s/sqld?sslmode=disable&connect_timeout=10", addr)
}

func hostPort(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// ctxT returns a context that ends with the test or after d.
func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// connectMode opens a pgx connection to the shared server with the given
// default query execution mode.
func connectMode(t *testing.T, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	return connectTo(t, shared.Addr(), mode)
}

func connectTo(t *testing.T, addr string, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString(addr))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	return connectMode(t, pgx.QueryExecModeCacheStatement)
}

var seq atomic.Int64

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

// name returns a relation name unique to this test run.
func name(t *testing.T, base string) string {
	s := nonIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(s) > 30 {
		s = s[len(s)-30:]
	}
	return fmt.Sprintf("%s_%s_%d", base, strings.Trim(s, "_"), seq.Add(1))
}

func mustExec(t *testing.T, c *pgx.Conn, sql string, args ...any) pgconn.CommandTag {
	t.Helper()
	tag, err := c.Exec(ctxT(t, 30*time.Second), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag
}

// queryInt runs a query returning one bigint-compatible value.
func queryInt(t *testing.T, c *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := c.QueryRow(ctxT(t, 30*time.Second), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func queryString(t *testing.T, c *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := c.QueryRow(ctxT(t, 30*time.Second), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// pgErr returns err as a *pgconn.PgError or fails the test.
func pgErr(t *testing.T, err error, what string) *pgconn.PgError {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want an error, got none", what)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: want a server error, got %T: %v", what, err, err)
	}
	return pe
}

// wantCode checks that err is a server error with the given SQLSTATE.
func wantCode(t *testing.T, err error, code, what string) *pgconn.PgError {
	t.Helper()
	pe := pgErr(t, err, what)
	if pe.Code != code {
		t.Errorf("%s: SQLSTATE %s (%s), want %s", what, pe.Code, pe.Message, code)
	}
	return pe
}

// execErr runs sql expecting a server error with code.
func execErr(t *testing.T, c *pgx.Conn, code, sql string, args ...any) *pgconn.PgError {
	t.Helper()
	_, err := c.Exec(ctxT(t, 30*time.Second), sql, args...)
	return wantCode(t, err, code, sql)
}

// alive checks that a fresh session on addr still answers.
func alive(t *testing.T, addr string) {
	t.Helper()
	c := connectTo(t, addr, pgx.QueryExecModeCacheStatement)
	if n := queryInt(t, c, "SELECT 41 + 1"); n != 42 {
		t.Fatalf("SELECT 41 + 1 = %d", n)
	}
}

// knownBug marks a check that sqld fails today. It skips the (sub)test
// with the reason, so the suite stays green while the bug is open; with
// SQLD_WIRE_STRICT=1 it fails instead, which shows every open bug.
func knownBug(t *testing.T, bug string, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("SQLD_WIRE_STRICT") != "" {
		t.Fatalf("known bug (%s): %s", bug, msg)
	}
	t.Skipf("known bug (%s): %s", bug, msg)
}
