package slt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseString(t *testing.T, d Dialect, src string) []Record {
	t.Helper()
	recs, err := Parse("t", strings.NewReader(src), d)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return recs
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          Dialect
	}{
		{"a.slt", "hash-threshold 8\n", DialectRS},
		{"a.slt.part", "", DialectRS},
		{"a.test", "", DialectSQLite},
		{"a.txt", "statement ok\nSELECT 1\n\nhash-threshold 3\n", DialectSQLite},
		{"a.txt", "statement ok\nSELECT 1\n", DialectRS},
	} {
		if got := Detect(tc.name, []byte(tc.content)); got != tc.want {
			t.Errorf("Detect(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseSQLite(t *testing.T) {
	src := `hash-threshold 4

# a comment before a record
statement ok
CREATE TABLE t(a INTEGER,
# a comment inside the SQL is dropped
  b TEXT)

skipif postgresql
onlyif mysql # trailing words are ignored
statement error
SELECT nothing

query IT rowsort label-7
SELECT a, b FROM t
----
1
x
-2
(empty)

query I nosort
SELECT 1 WHERE false

halt
`
	recs := parseString(t, DialectSQLite, src)
	if len(recs) != 6 {
		t.Fatalf("got %d records, want 6", len(recs))
	}
	if r := recs[0]; r.Kind != KindHashThreshold || r.Threshold != 4 {
		t.Errorf("record 0 = %+v", r)
	}
	if r := recs[1]; r.Kind != KindStatement || r.SQL != "CREATE TABLE t(a INTEGER,\n  b TEXT)" || r.Line != 4 {
		t.Errorf("record 1 = %+v", r)
	}
	r := recs[2]
	if !r.ExpectError || r.ErrorPattern != "" || len(r.Conditions) != 2 ||
		r.Conditions[0] != (Condition{Label: "postgresql"}) ||
		r.Conditions[1] != (Condition{Only: true, Label: "mysql"}) {
		t.Errorf("record 2 = %+v", r)
	}
	r = recs[3]
	if r.Kind != KindQuery || r.Types != "IT" || r.Sort != RowSort || r.Label != "label-7" ||
		strings.Join(r.Expected, ",") != "1,x,-2,(empty)" || !r.HasResults {
		t.Errorf("record 3 = %+v", r)
	}
	if r := recs[4]; r.Kind != KindQuery || r.Sort != NoSort || r.HasResults || len(r.Expected) != 0 {
		t.Errorf("record 4 = %+v", r)
	}
	if recs[5].Kind != KindHalt {
		t.Errorf("record 5 = %+v", recs[5])
	}
}

func TestParseRS(t *testing.T) {
	src := `control substitution on

include ./parts/*.slt.part

statement count 3
INSERT INTO t VALUES (1), (2), (3);

statement ok retry 2 backoff 10ms
FLUSH;

statement error relation "\w+" does not exist
SELECT * FROM missing;

statement error
SELECT 1/0;
----
division by zero

query error .*out of range.*
SELECT 2147483647 + 1;

query IT rowsort retry 11 backoff 1s
SELECT a, b
FROM t;
----
1 one two
2 (empty)


connection other
query I
SELECT 1;
----
1

sleep 1500ms

system ok
echo "$x"

let id, name
SELECT 1, 'a'

control sortmode valuesort

restart
`
	recs := parseString(t, DialectRS, src)
	kinds := []Kind{KindControl, KindInclude, KindStatement, KindStatement, KindStatement,
		KindStatement, KindQuery, KindQuery, KindQuery, KindSleep, KindSystem, KindLet,
		KindControl, KindRestart}
	if len(recs) != len(kinds) {
		t.Fatalf("got %d records, want %d: %+v", len(recs), len(kinds), recs)
	}
	for i, k := range kinds {
		if recs[i].Kind != k {
			t.Errorf("record %d: kind %v, want %v", i, recs[i].Kind, k)
		}
	}
	if r := recs[2]; !r.HasCount || r.Count != 3 {
		t.Errorf("count record = %+v", r)
	}
	if r := recs[3]; r.Retry != 2 || r.Backoff != 10*time.Millisecond {
		t.Errorf("retry record = %+v", r)
	}
	if r := recs[4]; r.ErrorPattern != `relation "\w+" does not exist` || r.ErrorExact {
		t.Errorf("error record = %+v", r)
	}
	if r := recs[5]; r.ErrorPattern != "division by zero" || !r.ErrorExact {
		t.Errorf("exact error record = %+v", r)
	}
	if r := recs[6]; !r.ExpectError || r.ErrorPattern != ".*out of range.*" {
		t.Errorf("query error record = %+v", r)
	}
	r := recs[7]
	if r.Types != "IT" || r.Sort != RowSort || r.Retry != 11 || r.Backoff != time.Second ||
		r.SQL != "SELECT a, b\nFROM t;" || len(r.Expected) != 2 || r.Expected[1] != "2 (empty)" {
		t.Errorf("query record = %+v", r)
	}
	if r := recs[8]; r.Connection != "other" || r.Line != 31 {
		t.Errorf("connection record = %+v", r)
	}
	if recs[9].Duration != 1500*time.Millisecond {
		t.Errorf("sleep = %v", recs[9].Duration)
	}
	if r := recs[11]; strings.Join(r.Args, ",") != "id,name" || r.SQL != "SELECT 1, 'a'" {
		t.Errorf("let record = %+v", r)
	}
	if recs[10].Connection != "" {
		t.Errorf("connection leaked to the next record")
	}
}

func TestParseErrors(t *testing.T) {
	for _, src := range []string{
		"frobnicate\n",
		"statement maybe\nSELECT 1\n",
		"statement ok\n",
		"query I\n----\n1\n",
		"statement ok\nSELECT 1\n----\n1\n",
		"query I retry x backoff 1s\nSELECT 1\n",
		"query I retry 3 wait 1s\nSELECT 1\n",
		"sleep forever\n",
		"hash-threshold -1\n",
		"control sortmode sideways\n",
		"control flavour on\n",
	} {
		_, err := Parse("t", strings.NewReader(src), DialectRS)
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error = %v, want ErrSyntax", src, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1s": time.Second, "250ms": 250 * time.Millisecond, "2min": 2 * time.Minute,
		"1m30s": 90 * time.Second, "3sec": 3 * time.Second,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestParseCorpora parses every test file of the shared corpora, when they
// are present next to the repository, in the dialect Detect picks.
func TestParseCorpora(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "corpora")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("corpora not found: %v", err)
	}
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".test") && !strings.HasSuffix(path, ".slt") &&
			!strings.HasSuffix(path, ".slt.part") {
			return nil
		}
		n++
		if _, _, err := ParseFile(path); err != nil {
			t.Errorf("%v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("parsed %d files", n)
}
