package wire

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const psqlPath = "/usr/bin/psql"

// psql runs psql against addr with script on stdin (and extra args), and
// returns stdout and stderr.
func psql(t *testing.T, addr, script string, args ...string) (string, string) {
	t.Helper()
	if _, err := os.Stat(psqlPath); err != nil {
		t.Skip("psql is not installed")
	}
	host, port := hostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"-X", "-h", host, "-p", port, "-U", "sqld", "-d", "sqld"}, args...)
	cmd := exec.CommandContext(ctx, psqlPath, full...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10", "PGSSLMODE=disable", "PSQLRC=/dev/null", "PAGER=", "PGAPPNAME=psql-wire-test")
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok || ctx.Err() != nil {
			t.Fatalf("psql: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
		}
	}
	return out.String(), errb.String()
}

func wantLines(t *testing.T, what, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("%s: missing %q in:\n%s", what, l, out)
		}
	}
}

// TestPsqlFirstSession replays the README's first session.
func TestPsqlFirstSession(t *testing.T) {
	t.Parallel()
	tbl := name(t, "person")
	script := strings.ReplaceAll(`CREATE TABLE person (id BIGINT PRIMARY KEY, name VARCHAR, city VARCHAR);
INSERT INTO person VALUES (1, 'ann', 'oslo'), (2, 'bob', 'rome'), (3, 'cy', 'oslo');
SELECT city, count(*) FROM person GROUP BY city ORDER BY city;
UPDATE person SET city = 'rome' WHERE id = 3;
SELECT city, count(*) FROM person GROUP BY city ORDER BY city;
EXPLAIN SELECT name FROM person WHERE city = 'rome';
DELETE FROM person WHERE id = 1;
SELECT id, name FROM person ORDER BY id;
`, "person", tbl)
	out, errs := psql(t, shared.Addr(), script)
	if errs != "" {
		t.Errorf("stderr: %s", errs)
	}
	wantLines(t, "first session", out,
		"CREATE TABLE\n",
		"INSERT 0 3\n",
		" city | count \n------+-------\n oslo |     2\n rome |     1\n(2 rows)\n",
		"UPDATE 1\n",
		" city | count \n------+-------\n oslo |     1\n rome |     2\n(2 rows)\n",
		"QUERY PLAN",
		"DELETE 1\n",
		" id | name \n----+------\n  2 | bob\n  3 | cy\n(2 rows)\n",
	)
}

// TestPsqlMultiStatementAndErrors: -c with several statements, and error
// reports with their SQLSTATE under VERBOSITY verbose.
func TestPsqlMultiStatementAndErrors(t *testing.T) {
	t.Parallel()
	tbl := name(t, "pm")
	out, errs := psql(t, shared.Addr(), "", "-c",
		"CREATE TABLE "+tbl+" (id INT PRIMARY KEY); INSERT INTO "+tbl+" VALUES (1), (2); SELECT count(*) AS n FROM "+tbl)
	if errs != "" {
		t.Errorf("stderr: %s", errs)
	}
	// psql -c shows the result of the last statement only.
	wantLines(t, "multi-statement -c", out, " n \n---\n 2\n(1 row)\n")

	script := `\set VERBOSITY verbose
SELECT * FROM no_such_table_p;
SELECT 1/0;
SELECT 'abc'::int;
INSERT INTO ` + tbl + ` VALUES (1);
SELECT 1 +;
SELECT 'still alive' AS s;
`
	out, errs = psql(t, shared.Addr(), script)
	wantLines(t, "errors", errs,
		"ERROR:  42P01: relation \"no_such_table_p\" does not exist",
		"ERROR:  22012: division by zero",
		"ERROR:  22P02: invalid input syntax for type integer: \"abc\"",
		"ERROR:  23505: duplicate key value violates unique constraint",
		"ERROR:  42601: syntax error at end of input",
		"LINE 1: SELECT 1 +;\n                  ^",
	)
	wantLines(t, "after errors", out, "still alive")
	// ON_ERROR_STOP makes psql exit 3 at the first error.
	host, port := hostPort(shared.Addr())
	cmd := exec.Command(psqlPath, "-X", "-h", host, "-p", port, "-U", "sqld", "-d", "sqld", "-v", "ON_ERROR_STOP=1", "-c", "SELECT 1/0")
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10", "PSQLRC=/dev/null")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("psql -c 'SELECT 1/0': %v, want exit status 1", err)
	}
}

// TestPsqlCopy loads files with \copy in text and CSV formats, into a
// table and a stream, and checks a bad file is refused whole.
func TestPsqlCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	txt := filepath.Join(dir, "rows.txt")
	csv := filepath.Join(dir, "rows.csv")
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(txt, []byte("1\tann\t2024-01-01 10:00:00\n2\t\\N\t2024-01-01 11:00:00\n"), 0o644)
	os.WriteFile(csv, []byte("id,name,ts\n3,\"c, d\",2024-01-02 10:00:00\n4,,2024-01-02 11:00:00\n"), 0o644)
	os.WriteFile(bad, []byte("5,e,2024-01-03 10:00:00\n6,f,not a time\n"), 0o644)
	tbl := name(t, "pc")
	str := name(t, "ps")
	script := `\set VERBOSITY verbose
CREATE TABLE ` + tbl + ` (id BIGINT PRIMARY KEY, name VARCHAR, ts TIMESTAMP);
CREATE STREAM ` + str + ` (id BIGINT, name VARCHAR, ts TIMESTAMP);
\copy ` + tbl + ` FROM '` + txt + `'
\copy ` + tbl + ` FROM '` + csv + `' WITH (FORMAT csv, HEADER true)
\copy ` + str + ` FROM '` + txt + `'
\copy ` + str + ` FROM '` + csv + `' CSV HEADER
\copy ` + tbl + ` FROM '` + bad + `' (FORMAT csv)
\copy ` + str + ` FROM '` + bad + `' (FORMAT csv)
SELECT id, coalesce(name, '<null>') AS name, ts FROM ` + tbl + ` ORDER BY id;
SELECT count(*) AS stream_rows FROM ` + str + `;
`
	out, errs := psql(t, shared.Addr(), script)
	if got := strings.Count(out, "COPY 2\n"); got != 4 {
		t.Errorf("want 4 COPY 2 tags, got %d:\n%s\n%s", got, out, errs)
	}
	wantLines(t, "copied rows", out,
		"  1 | ann    | 2024-01-01 10:00:00\n",
		"  2 | <null> | 2024-01-01 11:00:00\n",
		"  3 | c, d   | 2024-01-02 10:00:00\n",
		"  4 | <null> | 2024-01-02 11:00:00\n",
		"(4 rows)\n",
		" stream_rows \n-------------\n           4\n",
	)
	if got := strings.Count(errs, "ERROR:  22007: invalid input syntax for type timestamp"); got != 2 {
		t.Errorf("bad file: want two 22007 errors, stderr:\n%s", errs)
	}
	if !strings.Contains(errs, "line 2") {
		t.Errorf("bad file: error does not name line 2:\n%s", errs)
	}
}
