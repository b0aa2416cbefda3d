package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// tlogWriter sends log lines to the test log until the test ends.
type tlogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
	buf  strings.Builder
}

func (w *tlogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *tlogWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

var lastLog *tlogWriter

func testLogger(t testing.TB) *slog.Logger {
	w := &tlogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	lastLog = w
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func connect(t *testing.T, ts *testServer, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(ts.url("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if mode != 0 {
		cfg.DefaultQueryExecMode = mode
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pgErr(t *testing.T, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("want a PgError, got %v", err)
	}
	return pe
}

func TestPgxExtended(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := connect(t, ts, mode)
			for k := 0; k < 3; k++ { // again from the statement cache
				var one int32
				if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
					t.Fatalf("select 1: %v %v", one, err)
				}
			}
			rows, _ := conn.Query(ctx, "select series 10")
			got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil || fmt.Sprint(got) != "[1 2 3 4 5 6 7 8 9 10]" {
				t.Fatalf("series: %v %v", got, err)
			}
			if tag := rows.CommandTag().String(); tag != "SELECT 10" {
				t.Errorf("tag %q", tag)
			}
		})
	}
}

func TestPgxParameters(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := connect(t, ts, mode)
			var num pgtype.Numeric
			if err := num.Scan("-12.35"); err != nil {
				t.Fatal(err)
			}
			date := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
			tsv := time.Date(2022, 1, 1, 10, 0, 0, 500000000, time.UTC)
			tz := time.Date(1999, 12, 31, 23, 59, 59, 123456000, time.UTC)
			iv := pgtype.Interval{Months: 14, Days: 3, Microseconds: 4*3600e6 + 5e6, Valid: true}
			var (
				b    bool
				i2   int16
				i4   int32
				i8   int64
				f4   float32
				f8   float64
				n    pgtype.Numeric
				s    string
				by   []byte
				d    time.Time
				ts2  time.Time
				tz2  time.Time
				iv2  pgtype.Interval
				null *int32
			)
			err := conn.QueryRow(ctx, "select echo bool|int2|int4|int8|float4|float8|numeric(10,2)|text|bytea|date|timestamp|timestamptz|interval|int4",
				true, int16(-2), int32(math.MaxInt32), int64(math.MinInt64), float32(1.5), 0.1, num, "héllo", []byte{0, 1, 0xff}, date, tsv, tz, iv, nil).
				Scan(&b, &i2, &i4, &i8, &f4, &f8, &n, &s, &by, &d, &ts2, &tz2, &iv2, &null)
			if err != nil {
				t.Fatal(err)
			}
			nf, _ := n.Float64Value()
			if !b || i2 != -2 || i4 != math.MaxInt32 || i8 != math.MinInt64 || f4 != 1.5 || f8 != 0.1 || nf.Float64 != -12.35 ||
				s != "héllo" || string(by) != "\x00\x01\xff" || !d.Equal(date) || !ts2.Equal(tsv) || !tz2.Equal(tz) || iv2 != iv || null != nil {
				t.Errorf("round trip: %v %v %v %v %v %v %v %q %x %v %v %v %+v %v", b, i2, i4, i8, f4, f8, nf, s, by, d, ts2, tz2, iv2, null)
			}
			// A text parameter that does not parse as the declared type.
			var x int32
			err = conn.QueryRow(ctx, "select echo int4", "abc").Scan(&x)
			if err == nil {
				t.Fatal("bad int accepted")
			}
		})
	}
}

// TestTextParameters sends parameters in text format, as libpq does.
func TestTextParameters(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	conn := connect(t, ts, 0)
	rr := conn.PgConn().ExecParams(ctx, "select echo int8|text|date|interval|numeric(5,1)",
		[][]byte{[]byte("42"), []byte("x"), []byte("2022-01-01"), []byte("1 day 2 hours"), []byte("1.25")},
		nil, []int16{0}, []int16{0})
	res := rr.Read()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var got []string
	for _, v := range res.Rows[0] {
		got = append(got, string(v))
	}
	if want := "42|x|2022-01-01|1 day 02:00:00|1.3"; strings.Join(got, "|") != want {
		t.Errorf("got %q want %q", strings.Join(got, "|"), want)
	}
	rr = conn.PgConn().ExecParams(ctx, "select echo int4", [][]byte{[]byte("abc")}, nil, nil, nil)
	res = rr.Read()
	if pe := pgErr(t, res.Err); pe.Code != "22P02" || pe.Message != `invalid input syntax for type integer: "abc"` {
		t.Errorf("got %s %s", pe.Code, pe.Message)
	}
	// Binary results chosen per column.
	rr = conn.PgConn().ExecParams(ctx, "select echo int4|text", [][]byte{[]byte("7"), []byte("y")}, nil, nil, []int16{1, 0})
	res = rr.Read()
	if res.Err != nil || string(res.Rows[0][0]) != "\x00\x00\x00\x07" || string(res.Rows[0][1]) != "y" {
		t.Errorf("per-column formats: %q %v", res.Rows, res.Err)
	}
}

func TestPgxSimpleProtocol(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	conn := connect(t, ts, pgx.QueryExecModeSimpleProtocol)
	var one int32
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1: %v %v", one, err)
	}
	rows, _ := conn.Query(ctx, "select series 9")
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(got) != 9 || got[8] != 9 {
		t.Fatalf("series: %v %v", got, err)
	}
	// Every type in text format, parsed by pgx, and NULLs.
	rows, _ = conn.Query(ctx, "select types")
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("rows: %v", all)
	}
	s := fmt.Sprint(all[0])
	want := "[true 2 4 8 1.5 0.1 {1234 -2 false finite true} text varchar [1 2] 2023-01-01 00:00:00 +0000 UTC 2023-01-01 10:00:00 +0000 UTC 2023-01-01 10:00:00.5 +0000 UTC {14400000000 3 14 true}]"
	if s != want {
		t.Errorf("types:\n got %s\nwant %s", s, want)
	}
	for i, v := range all[1] {
		if v != nil {
			t.Errorf("null row column %d: %v", i, v)
		}
	}
	if _, err := conn.Exec(ctx, "set search_path = x"); err != nil {
		t.Fatal(err)
	}
	if v := conn.PgConn().ParameterStatus("search_path"); v != "x" {
		t.Errorf("ParameterStatus search_path = %q", v)
	}
}

func TestErrors(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := connect(t, ts, mode)
			_, err := conn.Exec(ctx, "fail 22012")
			pe := pgErr(t, err)
			if pe.Code != "22012" || pe.Message != "failed as asked" || pe.Detail != "some detail" || pe.Hint != "some hint" || pe.Severity != "ERROR" {
				t.Errorf("got %+v", pe)
			}
			_, err = conn.Exec(ctx, "bogus statement")
			if pe := pgErr(t, err); pe.Code != "42601" || pe.Position != 1 {
				t.Errorf("syntax error: %+v", pe)
			}
			for _, q := range []string{"select panic", "prepare panic", "select badbatch"} {
				_, err = conn.Exec(ctx, q)
				if pe := pgErr(t, err); pe.Code != "XX000" {
					t.Errorf("%s: %+v", q, pe)
				}
			}
			var one int32
			if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("after errors: %v", err)
			}
		})
	}
	if !strings.Contains(lastLog.String(), "next exploded") || !strings.Contains(lastLog.String(), "stack=") {
		t.Error("panic not logged with its stack")
	}
}

func TestMultiStatement(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	conn := connect(t, ts, 0)
	results, err := conn.PgConn().Exec(ctx, "select 1; select series 3; insert;").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, r := range results {
		tags = append(tags, r.CommandTag.String())
	}
	if got := strings.Join(tags, ","); got != "SELECT 1,SELECT 3,INSERT 0 1" {
		t.Errorf("tags %q", got)
	}
	// An error skips the rest of the message.
	results, err = conn.PgConn().Exec(ctx, "insert; fail 22012; set a = b").ReadAll()
	if pe := pgErr(t, err); pe.Code != "22012" {
		t.Errorf("got %v", pe)
	}
	if len(results) != 1 || conn.PgConn().ParameterStatus("a") != "" {
		t.Errorf("rest of the message ran: %d results, a=%q", len(results), conn.PgConn().ParameterStatus("a"))
	}
	// Empty statements: EmptyQueryResponse.
	results, err = conn.PgConn().Exec(ctx, ";;").ReadAll()
	if err != nil || len(results) != 1 || results[0].CommandTag.String() != "" {
		t.Errorf("empty query: %v %v", results, err)
	}
	if _, err := conn.Exec(ctx, "", pgx.QueryExecModeExec); err != nil {
		t.Errorf("empty extended query: %v", err)
	}
}

func TestCancel(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	conn := connect(t, ts, 0)

	// CancelRequest sent explicitly.
	go func() {
		<-ts.h.sleeping
		if err := conn.PgConn().CancelRequest(ctx); err != nil {
			t.Error(err)
		}
	}()
	_, err := conn.Exec(ctx, "select sleep")
	if pe := pgErr(t, err); pe.Code != "57014" || pe.Message != "canceling statement due to user request" {
		t.Errorf("got %+v", pe)
	}
	var one int32
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil {
		t.Fatalf("after cancel: %v", err)
	}

	// A wrong secret cancels nothing.
	wrong := append([]byte(nil), conn.PgConn().SecretKey()...)
	wrong[0]++
	if ts.srv.cancel(conn.PgConn().PID(), wrong) {
		t.Error("cancel with a wrong key succeeded")
	}
	if !ts.srv.cancel(conn.PgConn().PID(), conn.PgConn().SecretKey()) {
		t.Error("cancel with the right key failed")
	}

	// Context cancellation in pgx sends a CancelRequest.
	qctx, cancel := context.WithCancel(ctx)
	go func() {
		<-ts.h.sleeping
		cancel()
	}()
	_, err = conn.Exec(qctx, "select sleep")
	if err == nil {
		t.Fatal("cancelled query succeeded")
	}
}

func TestClientGoneMidQuery(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	nc, fe := rawConnect(t, ts)
	fe.Send(&pgproto3.Query{String: "select sleep"})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	<-ts.h.sleeping
	nc.Close()
	// The watcher notices and the session ends.
	for ts.h.openSessions() != 0 {
		select {
		case <-ctx.Done():
			t.Fatal("session still open after the client left")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestCopy(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	conn := connect(t, ts, 0)
	tag, err := conn.PgConn().CopyFrom(ctx, strings.NewReader("1\ta\n2\tb\n"), "copy 2")
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("copy: %v %v", tag, err)
	}
	ts.h.mu.Lock()
	if len(ts.h.copied) != 1 || ts.h.copied[0] != "1\ta\n2\tb\n" {
		t.Errorf("copied %q", ts.h.copied)
	}
	ts.h.mu.Unlock()

	// The client gives up: CopyFail.
	_, err = conn.PgConn().CopyFrom(ctx, io.MultiReader(strings.NewReader("1\n"), errReader{}), "copy 1")
	if pe := pgErr(t, err); pe.Code != "57014" || !strings.HasPrefix(pe.Message, "COPY from stdin failed: ") {
		t.Errorf("got %+v", pe)
	}
	// The sink rejects the data.
	_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("bad\n"+strings.Repeat("x\n", 100000)), "copy 1")
	if pe := pgErr(t, err); pe.Code != "22P04" {
		t.Errorf("got %+v", pe)
	}
	ts.h.mu.Lock()
	if len(ts.h.aborted) != 2 {
		t.Errorf("aborted %q", ts.h.aborted)
	}
	ts.h.mu.Unlock()
	var one int32
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil {
		t.Fatalf("after copy: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("client gave up") }

// rawConnect opens a connection driven by pgproto3.Frontend and completes
// startup.
func rawConnect(t *testing.T, ts *testServer) (net.Conn, *pgproto3.Frontend) {
	t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "bob"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	expect(t, fe, "AuthenticationOk", "ParameterStatus*", "BackendKeyData", "ReadyForQuery")
	return nc, fe
}

// expect reads messages and checks their types. A type ending in * matches
// any number of that message. It returns the messages' descriptions.
func expect(t *testing.T, fe *pgproto3.Frontend, want ...string) []string {
	t.Helper()
	var got []string
	var pending pgproto3.BackendMessage
	next := func() pgproto3.BackendMessage {
		if pending != nil {
			m := pending
			pending = nil
			return m
		}
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("after %v: %v (want %v)", got, err, want)
		}
		return m
	}
	for _, w := range want {
		many := strings.HasSuffix(w, "*")
		w = strings.TrimSuffix(w, "*")
		for {
			m := next()
			name := strings.TrimPrefix(fmt.Sprintf("%T", m), "*pgproto3.")
			if name != w {
				if many {
					pending = m
					break
				}
				t.Fatalf("after %v: got %s %s, want %s", got, name, describe(m), w)
			}
			got = append(got, name+describe(m))
			if !many {
				break
			}
		}
	}
	if pending != nil {
		t.Fatalf("unexpected %T after %v", pending, got)
	}
	return got
}

func describe(m pgproto3.BackendMessage) string {
	switch m := m.(type) {
	case *pgproto3.DataRow:
		var vs []string
		for _, v := range m.Values {
			vs = append(vs, string(v))
		}
		return "(" + strings.Join(vs, ",") + ")"
	case *pgproto3.CommandComplete:
		return "(" + string(m.CommandTag) + ")"
	case *pgproto3.ErrorResponse:
		return "(" + m.Severity + " " + m.Code + " " + m.Message + ")"
	case *pgproto3.ReadyForQuery:
		return "(" + string(m.TxStatus) + ")"
	case *pgproto3.RowDescription:
		var fs []string
		for _, f := range m.Fields {
			fs = append(fs, fmt.Sprintf("%s:%d:%d", f.Name, f.DataTypeOID, f.Format))
		}
		return "(" + strings.Join(fs, ",") + ")"
	}
	return ""
}

func TestExtendedErrorSkipsToSync(t *testing.T) {
	ts := startServer(t)
	_, fe := rawConnect(t, ts)
	fe.SendParse(&pgproto3.Parse{Query: "bogus"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'P'})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got := expect(t, fe, "ErrorResponse", "ReadyForQuery")
	if got[0] != `ErrorResponse(ERROR 42601 syntax error at or near "bogus")` {
		t.Errorf("got %v", got)
	}
	// An error at Execute skips the rest up to Sync too.
	fe.SendParse(&pgproto3.Parse{Query: "fail 22012"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendParse(&pgproto3.Parse{Name: "s1", Query: "select 1"})
	fe.SendSync(&pgproto3.Sync{})
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "s1"}) // s1 was never parsed
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got = expect(t, fe, "ParseComplete", "ErrorResponse", "ReadyForQuery", "ErrorResponse", "ReadyForQuery")
	if got[3] != `ErrorResponse(ERROR 26000 prepared statement "s1" does not exist)` {
		t.Errorf("got %v", got)
	}
	// A working pipeline: named statement, describe, two executions.
	fe.SendParse(&pgproto3.Parse{Name: "one", Query: "select 1"})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'S', Name: "one"})
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "one", ResultFormatCodes: []int16{1}})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'P'})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "one"})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendClose(&pgproto3.Close{ObjectType: 'S', Name: "one"})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got = expect(t, fe, "ParseComplete", "ParameterDescription", "RowDescription", "BindComplete", "RowDescription", "DataRow",
		"CommandComplete", "BindComplete", "DataRow", "CommandComplete", "CloseComplete", "ReadyForQuery")
	want := "[ParseComplete ParameterDescription RowDescription(?column?:23:0) BindComplete RowDescription(?column?:23:1) DataRow(\x00\x00\x00\x01) CommandComplete(SELECT 1) BindComplete DataRow(1) CommandComplete(SELECT 1) CloseComplete ReadyForQuery(I)]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Statements without rows, and the empty statement.
	fe.SendParse(&pgproto3.Parse{Query: "insert"})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'S'})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendParse(&pgproto3.Parse{Query: "  "})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'P'})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	expect(t, fe, "ParseComplete", "ParameterDescription", "NoData", "BindComplete", "CommandComplete",
		"ParseComplete", "BindComplete", "NoData", "EmptyQueryResponse", "ReadyForQuery")
}

func TestPortalRowLimit(t *testing.T) {
	ts := startServer(t)
	_, fe := rawConnect(t, ts)
	fe.SendParse(&pgproto3.Parse{Query: "select series 10"})
	fe.SendBind(&pgproto3.Bind{DestinationPortal: "p"})
	fe.SendExecute(&pgproto3.Execute{Portal: "p", MaxRows: 3})
	fe.SendExecute(&pgproto3.Execute{Portal: "p", MaxRows: 3})
	fe.Send(&pgproto3.Flush{})
	fe.Flush()
	got := expect(t, fe, "ParseComplete", "BindComplete", "DataRow*", "PortalSuspended", "DataRow*", "PortalSuspended")
	want := "[ParseComplete BindComplete DataRow(1) DataRow(2) DataRow(3) PortalSuspended DataRow(4) DataRow(5) DataRow(6) PortalSuspended]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	fe.SendExecute(&pgproto3.Execute{Portal: "p", MaxRows: 4})
	fe.SendExecute(&pgproto3.Execute{Portal: "p"})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got = expect(t, fe, "DataRow*", "PortalSuspended", "CommandComplete", "ReadyForQuery")
	want = "[DataRow(7) DataRow(8) DataRow(9) DataRow(10) PortalSuspended CommandComplete(SELECT 10) ReadyForQuery(I)]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	// Sync outside a transaction block ended the portal.
	fe.SendExecute(&pgproto3.Execute{Portal: "p"})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got = expect(t, fe, "ErrorResponse", "ReadyForQuery")
	if got[0] != `ErrorResponse(ERROR 34000 portal "p" does not exist)` {
		t.Errorf("got %v", got)
	}
	// Inside a transaction block portals survive Sync.
	fe.SendQuery(&pgproto3.Query{String: "begin"})
	fe.Flush()
	expect(t, fe, "CommandComplete", "ReadyForQuery")
	fe.SendParse(&pgproto3.Parse{Name: "s", Query: "select series 5"})
	fe.SendBind(&pgproto3.Bind{DestinationPortal: "q", PreparedStatement: "s", ResultFormatCodes: []int16{1}})
	fe.SendExecute(&pgproto3.Execute{Portal: "q", MaxRows: 2})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got = expect(t, fe, "ParseComplete", "BindComplete", "DataRow*", "PortalSuspended", "ReadyForQuery")
	if got[len(got)-1] != "ReadyForQuery(T)" || got[2] != "DataRow(\x00\x00\x00\x00\x00\x00\x00\x01)" {
		t.Errorf("got %q", got)
	}
	fe.SendExecute(&pgproto3.Execute{Portal: "q"})
	fe.SendClose(&pgproto3.Close{ObjectType: 'P', Name: "q"})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got = expect(t, fe, "DataRow*", "CommandComplete", "CloseComplete", "ReadyForQuery")
	if len(got) != 6 {
		t.Errorf("got %q", got)
	}
	fe.SendQuery(&pgproto3.Query{String: "commit"})
	fe.Flush()
	expect(t, fe, "CommandComplete", "ReadyForQuery")
}

func TestExtendedCopy(t *testing.T) {
	ts := startServer(t)
	_, fe := rawConnect(t, ts)
	fe.SendParse(&pgproto3.Parse{Query: "copy 3"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendExecute(&pgproto3.Execute{})
	fe.Flush()
	expect(t, fe, "ParseComplete", "BindComplete", "CopyInResponse")
	fe.Send(&pgproto3.CopyData{Data: []byte("1\t2\t3\n")})
	fe.Send(&pgproto3.CopyDone{})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got := expect(t, fe, "CommandComplete", "ReadyForQuery")
	if got[0] != "CommandComplete(COPY 1)" {
		t.Errorf("got %v", got)
	}
	// A failed extended COPY discards up to Sync.
	fe.SendParse(&pgproto3.Parse{Query: "copy 1"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendExecute(&pgproto3.Execute{})
	fe.Send(&pgproto3.CopyFail{Message: "oops"})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	got = expect(t, fe, "ParseComplete", "BindComplete", "CopyInResponse", "ErrorResponse", "ReadyForQuery")
	if got[3] != "ErrorResponse(ERROR 57014 COPY from stdin failed: oops)" {
		t.Errorf("got %v", got)
	}
}

func TestStartup(t *testing.T) {
	ts := startServer(t)
	// SSL and GSS encryption requests are declined, then startup goes on.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	for _, code := range []uint32{80877103, 80877104} {
		var msg [8]byte
		binary.BigEndian.PutUint32(msg[:], 8)
		binary.BigEndian.PutUint32(msg[4:], code)
		nc.Write(msg[:])
		var b [1]byte
		if _, err := io.ReadFull(nc, b[:]); err != nil || b[0] != 'N' {
			t.Fatalf("request %d: %q %v", code, b, err)
		}
	}
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u", "_pq_.x": "1"}})
	fe.Flush()
	expect(t, fe, "NegotiateProtocolVersion", "AuthenticationOk", "ParameterStatus*", "BackendKeyData", "ReadyForQuery")
	fe.Send(&pgproto3.Terminate{})
	fe.Flush()
	if _, err := fe.Receive(); err == nil {
		t.Error("connection open after Terminate")
	}

	// A rejected user gets a FATAL error.
	_, err = pgx.Connect(testCtx(t), ts.url("reject"))
	if pe := pgErr(t, err); pe.Code != "28000" || pe.Severity != "FATAL" {
		t.Errorf("got %+v", pe)
	}
	// Protocol 3.2 clients are offered 3.0.
	cfg, _ := pgx.ParseConfig(ts.url("alice"))
	cfg.MaxProtocolVersion = "3.2"
	cfg.MinProtocolVersion = "3.0"
	conn, err := pgx.ConnectConfig(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("3.2 client: %v", err)
	}
	conn.Close(context.Background())
}

func TestBadInput(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	dial := func() net.Conn {
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		return nc
	}
	readAll := func(nc net.Conn) string {
		b, _ := io.ReadAll(nc)
		return string(b)
	}
	// Random bytes instead of a startup packet.
	nc := dial()
	nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if out := readAll(nc); out != "" && !strings.Contains(out, "08P01") {
		t.Errorf("garbage: %q", out)
	}
	nc = dial()
	nc.Write([]byte{0, 0, 0, 8, 1, 2, 3, 4})
	readAll(nc)

	// A 2 GB message is refused.
	nc, fe := rawConnect(t, ts)
	nc.Write([]byte{'Q', 0x7f, 0xff, 0xff, 0xff})
	got := expect(t, fe, "ErrorResponse")
	if !strings.HasPrefix(got[0], "ErrorResponse(FATAL 54000") {
		t.Errorf("got %v", got)
	}
	if _, err := fe.Receive(); err == nil {
		t.Error("connection open after a huge message")
	}
	// An unknown message type.
	nc, fe = rawConnect(t, ts)
	nc.Write([]byte{'z', 0, 0, 0, 4})
	got = expect(t, fe, "ErrorResponse")
	if !strings.HasPrefix(got[0], "ErrorResponse(FATAL 08P01") {
		t.Errorf("got %v", got)
	}
	// A malformed message of a known type.
	nc, fe = rawConnect(t, ts)
	nc.Write([]byte{'B', 0, 0, 0, 6, 'x', 'y'})
	got = expect(t, fe, "ErrorResponse")
	if !strings.HasPrefix(got[0], "ErrorResponse(FATAL 08P01") {
		t.Errorf("got %v", got)
	}

	// A 10 MB statement works.
	conn := connect(t, ts, pgx.QueryExecModeSimpleProtocol)
	if _, err := conn.Exec(ctx, "select 1"+strings.Repeat(" ", 10<<20)); err != nil {
		t.Fatal(err)
	}
	conn2 := connect(t, ts, pgx.QueryExecModeExec)
	if _, err := conn2.Exec(ctx, "select echo text", strings.Repeat("x", 10<<20)); err != nil {
		t.Fatal(err)
	}
	// The server still serves.
	var one int32
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
}

func TestShutdown(t *testing.T) {
	ts := startServer(t)
	ctx := testCtx(t)
	idle := connect(t, ts, 0)
	busy := connect(t, ts, 0)
	errc := make(chan error, 1)
	go func() {
		_, err := busy.Exec(ctx, "select sleep")
		errc <- err
	}()
	<-ts.h.sleeping
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if pe := pgErr(t, <-errc); pe.Code != "57P01" {
		t.Errorf("busy: %+v", pe)
	}
	if err := idle.Ping(ctx); err == nil {
		t.Error("idle connection still works")
	}
	if ts.h.openSessions() != 0 {
		t.Error("sessions left open")
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Error("listener still open")
	}
}

func TestPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql not installed")
	}
	ts := startServer(t)
	host, port, _ := net.SplitHostPort(ts.addr)
	run := func(args ...string) (string, error) {
		args = append([]string{"-X", "-h", host, "-p", port, "-U", "someone", "-d", "sqld", "-A", "-t", "-v", "ON_ERROR_STOP=1"}, args...)
		out, err := exec.Command(psql, args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	out, err := run("-c", "select types")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := `t|2|4|8|1.5|0.1|12.34|text|varchar|\x0102|2023-01-01|2023-01-01 10:00:00|2023-01-01 10:00:00.5+00|1 year 2 mons 3 days 04:00:00` + "\n|||||||||||||"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// Several statements in one query string: psql shows every result.
	out, err = run("-c", "select 1; select series 3")
	if err != nil || out != "1\n1\n2\n3" {
		t.Errorf("multi: %q %v", out, err)
	}
	out, err = run("-c", "fail 22012")
	if err == nil || !strings.Contains(out, "ERROR:  failed as asked") || !strings.Contains(out, "DETAIL:  some detail") {
		t.Errorf("error: %q %v", out, err)
	}
	// COPY from stdin.
	cmd := exec.Command(psql, "-X", "-h", host, "-p", port, "-U", "someone", "-d", "sqld", "-c", "copy 2")
	cmd.Stdin = strings.NewReader("1\tx\n2\ty\n\\.\n")
	b, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(b)) != "COPY 2" {
		t.Errorf("copy: %q %v", b, err)
	}
	// Extended protocol through psql's \bind (psql 16+) is not assumed.
}
