package wire

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// copyFrom runs COPY ... FROM STDIN with data through pgconn.
func copyFrom(t *testing.T, c *pgx.Conn, sql, data string) (pgconn.CommandTag, error) {
	t.Helper()
	return c.PgConn().CopyFrom(ctxT(t, 30*time.Second), strings.NewReader(data), sql)
}

// lineNamed reports whether the error names the line (Postgres puts
// "COPY t, line N" in the CONTEXT field).
func lineNamed(pe *pgconn.PgError, line int) bool {
	want := fmt.Sprintf("line %d", line)
	return strings.Contains(pe.Where, want) || strings.Contains(pe.Detail, want) || strings.Contains(pe.Message, want)
}

// TestCopyIntoTableAndStream loads text and CSV (with a header) through
// COPY FROM STDIN into a table and into a stream.
func TestCopyIntoTableAndStream(t *testing.T) {
	t.Parallel()
	c := connect(t)
	tbl := name(t, "ctab")
	str := name(t, "cstr")
	mustExec(t, c, `CREATE TABLE `+tbl+` (id BIGINT PRIMARY KEY, name VARCHAR, price NUMERIC(10,2), ts TIMESTAMP, ok BOOLEAN)`)
	mustExec(t, c, `CREATE STREAM `+str+` (id BIGINT, name VARCHAR, price NUMERIC(10,2), ts TIMESTAMP, ok BOOLEAN)`)
	text := "1\tann\t1.50\t2024-01-01 00:00:01\tt\n" +
		"2\t\\N\t2.25\t2024-01-01 00:00:02\tf\n" +
		"3\ttab\\there\t\\N\t2024-01-01 00:00:03\t\\N\n"
	csv := "id,name,price,ts,ok\n" +
		"4,\"comma, quoted\",4.00,2024-01-01 00:00:04,true\n" +
		"5,,5.5,2024-01-01 00:00:05,false\n" +
		"6,\"\",6,2024-01-01 00:00:06,\n"
	for _, rel := range []string{tbl, str} {
		tag, err := copyFrom(t, c, `COPY `+rel+` FROM STDIN`, text)
		if err != nil {
			t.Fatalf("COPY %s text: %v", rel, err)
		}
		if tag.String() != "COPY 3" {
			t.Errorf("COPY %s text tag %q", rel, tag)
		}
		tag, err = copyFrom(t, c, `COPY `+rel+` FROM STDIN WITH (FORMAT csv, HEADER true)`, csv)
		if err != nil {
			t.Fatalf("COPY %s csv: %v", rel, err)
		}
		if tag.String() != "COPY 3" {
			t.Errorf("COPY %s csv tag %q", rel, tag)
		}
		rows, _ := c.Query(ctxT(t, 10*time.Second), `SELECT id, name, price::text, ts::text, ok FROM `+rel+` ORDER BY id`)
		got, err := pgx.CollectRows(rows, rowValues)
		if err != nil {
			t.Fatal(err)
		}
		want := "[[1 ann 1.50 2024-01-01 00:00:01 true] [2 <nil> 2.25 2024-01-01 00:00:02 false] " +
			"[3 tab\there <nil> 2024-01-01 00:00:03 <nil>] [4 comma, quoted 4.00 2024-01-01 00:00:04 true] " +
			"[5 <nil> 5.50 2024-01-01 00:00:05 false] [6  6.00 2024-01-01 00:00:06 <nil>]]"
		if fmt.Sprint(got) != want {
			t.Errorf("%s after COPY:\n got %v\nwant %s", rel, got, want)
		}
	}
	// COPY with a column list.
	tag, err := copyFrom(t, c, `COPY `+tbl+` (name, id) FROM STDIN (FORMAT csv)`, "seven,7\n")
	if err != nil || tag.RowsAffected() != 1 {
		t.Errorf("COPY with column list: %q, %v", tag, err)
	}
	if got := queryString(t, c, `SELECT name FROM `+tbl+` WHERE id = 7`); got != "seven" {
		t.Errorf("COPY with column list: name %q", got)
	}
}

// TestCopyMalformed: a COPY whose Nth line is malformed fails with an
// error that names line N, and appends nothing.
func TestCopyMalformed(t *testing.T) {
	t.Parallel()
	c := connect(t)
	tbl := name(t, "mtab")
	str := name(t, "mstr")
	mustExec(t, c, `CREATE TABLE `+tbl+` (id BIGINT PRIMARY KEY, v INT)`)
	mustExec(t, c, `CREATE STREAM `+str+` (id BIGINT, v INT)`)
	var notInContext *pgconn.PgError
	for _, rel := range []string{tbl, str} {
		mustExec(t, c, `INSERT INTO `+rel+` VALUES (100, 1)`)
		cases := []struct {
			what, sql, data string
			line            int
			code            string
		}{
			{"text, bad integer", `COPY ` + rel + ` FROM STDIN`, "1\t1\n2\t2\n3\tx\n4\t4\n", 3, "22P02"},
			{"text, missing column", `COPY ` + rel + ` FROM STDIN`, "1\t1\n2\n", 2, "22P04"},
			{"text, extra column", `COPY ` + rel + ` FROM STDIN`, "1\t1\t1\n", 1, "22P04"},
			{"csv, bad integer", `COPY ` + rel + ` FROM STDIN (FORMAT csv, HEADER true)`, "id,v\n1,1\n2,zz\n", 3, "22P02"},
			{"csv, unterminated quote", `COPY ` + rel + ` FROM STDIN (FORMAT csv)`, "1,1\n2,\"2\n", 2, "22P04"},
			{"text, int overflow", `COPY ` + rel + ` FROM STDIN`, "1\t1\n2\t99999999999\n", 2, "22003"},
		}
		for _, tc := range cases {
			before := queryInt(t, c, `SELECT count(*) FROM `+rel)
			_, err := copyFrom(t, c, tc.sql, tc.data)
			pe := pgErr(t, err, rel+": "+tc.what)
			if pe.Code != tc.code {
				t.Errorf("%s: %s: SQLSTATE %s (%s), want %s", rel, tc.what, pe.Code, pe.Message, tc.code)
			}
			if !lineNamed(pe, tc.line) {
				t.Errorf("%s: %s: error does not name line %d: message %q detail %q where %q", rel, tc.what, tc.line, pe.Message, pe.Detail, pe.Where)
			} else if !strings.Contains(pe.Where, fmt.Sprintf("line %d", tc.line)) && notInContext == nil {
				notInContext = pe
			}
			if after := queryInt(t, c, `SELECT count(*) FROM `+rel); after != before {
				t.Errorf("%s: %s: count %d -> %d; a failed COPY must append nothing", rel, tc.what, before, after)
			}
		}
	}
	alive(t, shared.Addr())
	if notInContext != nil {
		knownBug(t, "COPY line number in DETAIL, not CONTEXT", "Postgres puts \"COPY t, line N\" in the CONTEXT field; sqld: detail %q, context %q", notInContext.Detail, notInContext.Where)
	}
}

// TestStreamsAndViews: a stream fed by INSERT and COPY, a GROUP BY view
// over it, FLUSH, implicit_flush, SHOW JOBS and sys.jobs.
func TestStreamsAndViews(t *testing.T) {
	t.Parallel()
	c := connect(t)
	str := name(t, "bids")
	view := name(t, "per_auction")
	mustExec(t, c, `CREATE STREAM `+str+` (auction BIGINT, price BIGINT, ts TIMESTAMP,
		WATERMARK FOR ts AS ts - INTERVAL '4' SECOND) WITH (partitions = 2)`)
	mustExec(t, c, `INSERT INTO `+str+` VALUES (1, 10, '2024-01-01 00:00:01'), (2, 20, '2024-01-01 00:00:02')`)
	if _, err := copyFrom(t, c, `COPY `+str+` FROM STDIN (FORMAT csv, HEADER true)`,
		"auction,price,ts\n1,5,2024-01-01 00:00:03\n3,7,2024-01-01 00:00:04\n"); err != nil {
		t.Fatalf("COPY into stream: %v", err)
	}
	// The view backfills what the stream already holds.
	mustExec(t, c, `CREATE VIEW `+view+` AS SELECT auction, count(*) AS n, sum(price) AS total FROM `+str+` GROUP BY auction`)
	// Postgres-style params are allowed in a stream INSERT too.
	mustExec(t, c, `INSERT INTO `+str+` VALUES ($1, $2, $3::text::timestamp)`, int64(2), int64(1), "2024-01-01 00:00:05")
	tag := mustExec(t, c, "FLUSH")
	if tag.String() != "FLUSH" {
		t.Errorf("FLUSH tag %q", tag)
	}
	check := func(want string) {
		t.Helper()
		rows, _ := c.Query(ctxT(t, 10*time.Second), `SELECT auction, n, total::bigint FROM `+view+` ORDER BY auction`)
		got, err := pgx.CollectRows(rows, rowValues)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != want {
			t.Errorf("view:\n got %v\nwant %s", got, want)
		}
	}
	check("[[1 2 15] [2 2 21] [3 1 7]]")
	rows, _ := c.Query(ctxT(t, 10*time.Second), `SELECT n, total FROM `+view+` LIMIT 1`)
	fds := rows.FieldDescriptions()
	rows.Close()
	if len(fds) != 2 || fds[0].DataTypeOID != 20 || fds[1].DataTypeOID != 1700 {
		var oids []uint32
		for _, f := range fds {
			oids = append(oids, f.DataTypeOID)
		}
		t.Errorf("view column OIDs %v, want [20 1700] (count is bigint, sum(bigint) is numeric)", oids)
	}

	// With implicit_flush, a write is visible in the view at once.
	mustExec(t, c, "SET implicit_flush = true")
	mustExec(t, c, `INSERT INTO `+str+` VALUES (3, 100, '2024-01-01 00:00:06')`)
	check("[[1 2 15] [2 2 21] [3 2 107]]")
	if _, err := copyFrom(t, c, `COPY `+str+` FROM STDIN`, "4\t1\t2024-01-01 00:00:07\n"); err != nil {
		t.Fatal(err)
	}
	check("[[1 2 15] [2 2 21] [3 2 107] [4 1 1]]")
	mustExec(t, c, "SET implicit_flush = false")

	// Another session's writes appear after FLUSH.
	c2 := connect(t)
	mustExec(t, c2, `INSERT INTO `+str+` VALUES (1, 1, '2024-01-01 00:00:08')`)
	mustExec(t, c, "FLUSH")
	check("[[1 3 16] [2 2 21] [3 2 107] [4 1 1]]")

	// The view's job, in SHOW JOBS and sys.jobs.
	found := false
	rows, _ = c.Query(ctxT(t, 10*time.Second), "SHOW JOBS")
	all, err := pgx.CollectRows(rows, rowValues)
	if err != nil {
		t.Fatalf("SHOW JOBS: %v", err)
	}
	for _, r := range all {
		if len(r) > 1 && r[0] == view {
			found = true
			if r[1] != "RUNNING" {
				t.Errorf("SHOW JOBS: %s state %v", view, r[1])
			}
		}
	}
	if !found {
		t.Errorf("SHOW JOBS does not list %s: %v", view, all)
	}
	var state string
	var rowsIn int64
	if err := c.QueryRow(ctxT(t, 10*time.Second), `SELECT state, rows_in FROM sys.jobs WHERE name = $1`, view).Scan(&state, &rowsIn); err != nil {
		t.Fatalf("sys.jobs: %v", err)
	}
	if state != "RUNNING" || rowsIn != 8 {
		t.Errorf("sys.jobs: state %q rows_in %d, want RUNNING 8", state, rowsIn)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM `+str); n != 8 {
		t.Errorf("stream holds %d rows, want 8", n)
	}

	// Streams are append-only.
	_, err = c.Exec(ctxT(t, 10*time.Second), `UPDATE `+str+` SET price = 0`)
	pgErr(t, err, "UPDATE of a stream")
	_, err = c.Exec(ctxT(t, 10*time.Second), `DELETE FROM `+str)
	pgErr(t, err, "DELETE from a stream")
	// A view is read-only.
	_, err = c.Exec(ctxT(t, 10*time.Second), `INSERT INTO `+view+` VALUES (9, 9, 9)`)
	pgErr(t, err, "INSERT into a view")

	mustExec(t, c, `DROP VIEW `+view)
	execErr(t, c, "42P01", `SELECT * FROM `+view)
}

// TestTumbleView: an event-time window view with EMIT ON WINDOW CLOSE
// over the wire.
func TestTumbleView(t *testing.T) {
	t.Parallel()
	c := connect(t)
	str := name(t, "tbids")
	view := name(t, "tmax")
	mustExec(t, c, `CREATE STREAM `+str+` (price BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)`)
	mustExec(t, c, `CREATE VIEW `+view+` AS SELECT window_start, window_end, max(price) AS maxprice
		FROM TUMBLE(`+str+`, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end EMIT ON WINDOW CLOSE`)
	mustExec(t, c, `INSERT INTO `+str+` VALUES (5, '2024-01-01 00:00:01'), (9, '2024-01-01 00:00:05'),
		(3, '2024-01-01 00:00:12'), (1, '2024-01-01 00:00:30')`)
	mustExec(t, c, "FLUSH")
	rows, _ := c.Query(ctxT(t, 10*time.Second), `SELECT window_start::text, maxprice FROM `+view+` ORDER BY window_start`)
	got, err := pgx.CollectRows(rows, rowValues)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[[2024-01-01 00:00:00 9] [2024-01-01 00:00:10 3]]" {
		t.Errorf("tumble view: %v", got)
	}
}
