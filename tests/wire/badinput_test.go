package wire

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestErrorCodes: each bad statement gets Postgres's SQLSTATE, the
// session stays usable, and rows written before are intact.
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"Extended", pgx.QueryExecModeCacheStatement}, {"Simple", pgx.QueryExecModeSimpleProtocol}} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := connectMode(t, m.mode)
			tbl := name(t, "errs")
			mustExec(t, c, `CREATE TABLE `+tbl+` (id INT PRIMARY KEY, n INT NOT NULL, s TEXT, b BIGINT)`)
			mustExec(t, c, `INSERT INTO `+tbl+` VALUES (1, 10, 'a', 100), (2, 20, 'b', 200)`)
			cases := []struct {
				code, sql string
			}{
				{"42P01", `SELECT * FROM no_such_table_xyz`},
				{"42P01", `INSERT INTO no_such_table_xyz VALUES (1)`},
				{"42703", `SELECT no_such_col FROM ` + tbl},
				{"42703", `INSERT INTO ` + tbl + ` (id, no_such_col) VALUES (3, 1)`},
				{"42703", `UPDATE ` + tbl + ` SET no_such_col = 1`},
				{"22P02", `SELECT 'abc'::int`},
				{"22P02", `INSERT INTO ` + tbl + ` VALUES (3, 'abc', 'x', 1)`},
				{"22012", `SELECT 1/0`},
				{"22012", `SELECT n / (id - 1) FROM ` + tbl},
				{"22012", `SELECT 1 % 0`},
				{"22003", `SELECT 2147483647::int + 1`},
				{"22003", `SELECT 9223372036854775807 + 1`},
				{"22003", `INSERT INTO ` + tbl + ` VALUES (3, 3000000000, 'x', 1)`},
				{"22003", `SELECT (-2147483648)::int * -1`},
				{"23505", `INSERT INTO ` + tbl + ` VALUES (1, 11, 'dup', 1)`},
				{"23505", `INSERT INTO ` + tbl + ` VALUES (5, 1, 'x', 1), (5, 2, 'y', 2)`},
				{"23502", `INSERT INTO ` + tbl + ` VALUES (3, NULL, 'x', 1)`},
				{"23502", `INSERT INTO ` + tbl + ` (id, s) VALUES (3, 'x')`},
				{"23502", `UPDATE ` + tbl + ` SET n = NULL WHERE id = 1`},
				{"42P07", `CREATE TABLE ` + tbl + ` (id INT PRIMARY KEY)`},
				{"42883", `SELECT no_such_function(1)`},
				{"42804", `SELECT * FROM ` + tbl + ` WHERE 1`},
				{"42803", `SELECT id, count(*) FROM ` + tbl},
				{"42702", `SELECT id FROM ` + tbl + ` a, ` + tbl + ` b`},
				{"21000", `SELECT (SELECT id FROM ` + tbl + `)`},
			}
			for _, tc := range cases {
				_, err := c.Exec(ctxT(t, 10*time.Second), tc.sql)
				if err == nil {
					t.Errorf("%s: no error, want %s", tc.sql, tc.code)
					continue
				}
				wantCode(t, err, tc.code, tc.sql)
			}
			// Type mismatch on INSERT: Postgres refuses a boolean for an
			// integer column (42804).
			t.Run("BoolIntoInt", func(t *testing.T) {
				_, err := c.Exec(ctxT(t, 10*time.Second), `INSERT INTO `+tbl+` (id, n) VALUES (7, true)`)
				if err == nil {
					mustExec(t, c, `DELETE FROM `+tbl+` WHERE id = 7`)
					knownBug(t, "TRUE/FALSE accepted as integers", "INSERT INTO t (id, n) VALUES (7, true) succeeded; Postgres: 42804 column \"n\" is of type integer but expression is of type boolean")
				}
				wantCode(t, err, "42804", "INSERT boolean into int")
			})
			t.Run("BoolPlusInt", func(t *testing.T) {
				_, err := c.Exec(ctxT(t, 10*time.Second), `SELECT true + 1`)
				if err == nil {
					knownBug(t, "TRUE/FALSE accepted as integers", "SELECT true + 1 succeeded; Postgres: 42883 operator does not exist: boolean + integer")
				}
				wantCode(t, err, "42883", "SELECT true + 1")
			})
			// Nothing written before was lost, nothing half-written stayed.
			rows, _ := c.Query(ctxT(t, 10*time.Second), `SELECT id, n, s, b FROM `+tbl+` ORDER BY id`)
			got, err := pgx.CollectRows(rows, rowValues)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[[1 10 a 100] [2 20 b 200]]" {
				t.Errorf("table after errors: %v", got)
			}
		})
	}
}

// TestSyntaxErrorPosition: 42601 carries the 1-based character position
// of the offending token.
func TestSyntaxErrorPosition(t *testing.T) {
	t.Parallel()
	c := connect(t)
	for _, tc := range []struct {
		sql string
		pos int32
	}{
		{"SELECT 1 +", 11},          // at end of input
		{"SELEC 1", 1},              // at or near "SELEC"
		{"SELECT * FROM WHERE", 15}, // at or near "WHERE"
		{"SELECT 'é', 1 2", 15},     // positions count characters, not bytes
	} {
		pe := execErr(t, c, "42601", tc.sql)
		if pe.Position != tc.pos {
			t.Errorf("%q: position %d, want %d (%s)", tc.sql, pe.Position, tc.pos, pe.Message)
		}
	}
	if pc := c.PgConn(); pc.TxStatus() != 'I' {
		t.Errorf("TxStatus %q", pc.TxStatus())
	}
}

// TestGarbageStartup: random bytes instead of a startup message close
// that connection (perhaps with an ErrorResponse) and nothing else.
func TestGarbageStartup(t *testing.T) {
	t.Parallel()
	payloads := [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		{0, 0, 0, 8, 0, 0, 0, 0},             // protocol version 0.0
		{0xff, 0xff, 0xff, 0xff, 0, 3, 0, 0}, // negative length
		{0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0}, // 2 GB startup packet
		{0, 0, 0, 9, 0, 3, 0, 0, 'x'},        // parameters without terminators
		{0, 0, 0, 4},                         // length shorter than the header
	}
	rnd := make([]byte, 4096)
	rand.Read(rnd)
	payloads = append(payloads, rnd)
	for i, p := range payloads {
		nc, err := net.DialTimeout("tcp", shared.Addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write(p)
		// The server must end the connection, not wait for more input
		// forever (except when the packet claims more bytes than sent,
		// where waiting for them is fair; close our side then).
		if cw, ok := nc.(*net.TCPConn); ok && (i == 3 || i == 4) {
			cw.CloseWrite()
		}
		reply, err := io.ReadAll(nc)
		nc.Close()
		if err != nil {
			t.Errorf("payload %d: server did not close the connection: %v (read %q)", i, err, reply)
			continue
		}
		if len(reply) > 0 && reply[0] != 'E' && reply[0] != 'N' {
			t.Errorf("payload %d: unexpected reply %q", i, reply)
		}
	}
	alive(t, shared.Addr())
}

// rawStartup opens a raw connection and completes the startup phase.
func rawStartup(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", shared.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	params := "user\x00sqld\x00database\x00sqld\x00\x00"
	msg := make([]byte, 8+len(params))
	binary.BigEndian.PutUint32(msg, uint32(len(msg)))
	binary.BigEndian.PutUint32(msg[4:], 196608)
	copy(msg[8:], params)
	if _, err := nc.Write(msg); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(nc)
	for {
		typ, body := readMsg(t, r)
		if typ == 'E' {
			t.Fatalf("startup error: %q", body)
		}
		if typ == 'Z' {
			return nc, r
		}
	}
}

func readMsg(t *testing.T, r *bufio.Reader) (byte, []byte) {
	t.Helper()
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("read message: %v", err)
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<20 {
		t.Fatalf("message %q length %d", hdr[0], n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return hdr[0], body
}

// errorCode extracts the SQLSTATE from an ErrorResponse body.
func errorCode(body []byte) string {
	for _, f := range strings.Split(string(body), "\x00") {
		if strings.HasPrefix(f, "C") {
			return f[1:]
		}
	}
	return ""
}

// TestHugeLengthMessage: a message whose length field says 2 GB, after
// startup, gets an error (08P01) or a close, never an attempt to
// allocate it, and the server serves others.
func TestHugeLengthMessage(t *testing.T) {
	t.Parallel()
	for _, typ := range []byte{'Q', 'P', 'd', 'X'} {
		nc, r := rawStartup(t)
		msg := []byte{typ, 0x7f, 0xff, 0xff, 0xff, 'S', 'E', 'L'}
		if _, err := nc.Write(msg); err != nil {
			t.Fatal(err)
		}
		// Expect an ErrorResponse (then close) or a close.
		var hdr [5]byte
		_, err := io.ReadFull(r, hdr[:])
		if err == nil {
			if hdr[0] != 'E' {
				t.Errorf("%c with 2 GB length: reply %q, want ErrorResponse or close", typ, hdr[0])
			} else {
				n := binary.BigEndian.Uint32(hdr[1:])
				body := make([]byte, n-4)
				io.ReadFull(r, body)
				if code := errorCode(body); code != "08P01" && code != "54000" {
					t.Errorf("%c with 2 GB length: SQLSTATE %s (%q), want 08P01", typ, code, body)
				}
			}
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%c with 2 GB length: server kept waiting for 2 GB", typ)
		}
	}
	// A message type the protocol does not have.
	nc, r := rawStartup(t)
	nc.Write([]byte{'@', 0, 0, 0, 4})
	typ, body := readMsg(t, r)
	if typ != 'E' || errorCode(body) != "08P01" {
		t.Errorf("unknown message type: reply %q %q, want ErrorResponse 08P01", typ, body)
	}
	alive(t, shared.Addr())
}

// TestLargeStatements: a 10 MB statement works, as a huge literal and as
// a multi-row INSERT.
func TestLargeStatements(t *testing.T) {
	t.Parallel()
	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"Extended", pgx.QueryExecModeCacheStatement}, {"Simple", pgx.QueryExecModeSimpleProtocol}} {
		t.Run(m.name, func(t *testing.T) {
			c := connectMode(t, m.mode)
			big := strings.Repeat("abcdefghij", 1<<20) // 10 MiB
			var n int64
			if err := c.QueryRow(ctxT(t, 30*time.Second), "SELECT length('"+big+"')").Scan(&n); err != nil {
				t.Fatalf("10 MB literal: %v", err)
			} else if n != int64(len(big)) {
				t.Errorf("length = %d, want %d", n, len(big))
			}
			tbl := name(t, "big")
			mustExec(t, c, `CREATE TABLE `+tbl+` (id BIGINT PRIMARY KEY, s TEXT)`)
			var sb strings.Builder
			sb.WriteString(`INSERT INTO ` + tbl + ` VALUES `)
			const rows = 20000
			pad := strings.Repeat("x", 520)
			for i := 0; i < rows; i++ {
				if i > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, "(%d,'%s')", i, pad)
			}
			if sb.Len() < 10<<20 {
				t.Fatalf("statement is only %d bytes", sb.Len())
			}
			tag, err := c.Exec(ctxT(t, 60*time.Second), sb.String())
			if err != nil {
				t.Fatalf("INSERT of %d rows (%d bytes): %v", rows, sb.Len(), err)
			}
			if tag.RowsAffected() != rows {
				t.Errorf("tag %q", tag)
			}
			if got := queryInt(t, c, `SELECT count(*) FROM `+tbl); got != rows {
				t.Errorf("count %d, want %d", got, rows)
			}
		})
	}
}
