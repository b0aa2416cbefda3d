package slt

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRenderSQLite(t *testing.T) {
	boolCol := Column{OID: oidBool}
	for _, tc := range []struct {
		v    []byte
		typ  byte
		col  Column
		want string
	}{
		{nil, 'I', Column{}, "NULL"},
		{nil, 'T', Column{}, "NULL"},
		{[]byte("42"), 'I', Column{}, "42"},
		{[]byte("-0"), 'I', Column{}, "0"},
		{[]byte("107.5000000000"), 'I', Column{}, "107"},
		{[]byte("-3.99"), 'I', Column{}, "-3"},
		{[]byte("-0.5"), 'I', Column{}, "0"},
		{[]byte("1e3"), 'I', Column{}, "1000"},
		{[]byte("12abc"), 'I', Column{}, "12"},
		{[]byte("abc"), 'I', Column{}, "0"},
		{[]byte("123456789012345678.9"), 'I', Column{}, "123456789012345678"},
		{[]byte("t"), 'I', boolCol, "1"},
		{[]byte("f"), 'I', boolCol, "0"},
		{[]byte("2"), 'R', Column{}, "2.000"},
		{[]byte("2.0005"), 'R', Column{}, "2.001"},
		{[]byte("-1.23456"), 'R', Column{}, "-1.235"},
		{[]byte("x"), 'R', Column{}, "0.000"},
		{[]byte(""), 'T', Column{}, "(empty)"},
		{[]byte("a\tb\x7fc\xc3\xa9"), 'T', Column{}, "a@b@c@@"},
		{[]byte("plain text"), 'T', Column{}, "plain text"},
	} {
		if got := RenderSQLite(tc.v, tc.typ, tc.col); got != tc.want {
			t.Errorf("RenderSQLite(%q, %c) = %q, want %q", tc.v, tc.typ, got, tc.want)
		}
	}
}

func TestRenderRS(t *testing.T) {
	if got := RenderRS(nil); got != "NULL" {
		t.Errorf("null = %q", got)
	}
	if got := RenderRS([]byte{}); got != "(empty)" {
		t.Errorf("empty = %q", got)
	}
	if got := RenderRS([]byte("2024-01-01 00:00:00")); got != "2024-01-01 00:00:00" {
		t.Errorf("text = %q", got)
	}
}

// The hashes below appear in SQLite's random/aggregates corpus for the
// tab2 rows (64,77,40), (75,67,58), (46,51,23).
func TestHashKnown(t *testing.T) {
	rows := [][]string{{"64", "77", "40"}, {"75", "67", "58"}, {"46", "51", "23"}}
	SortRows(rows)
	if got := HashLine(Flatten(rows)); got != "9 values hashing to 75c998aa53ac83218cbf2feb962d0a49" {
		t.Errorf("rowsort hash = %s", got)
	}
	rows = [][]string{{"64", "40", "-40"}, {"75", "58", "-58"}, {"46", "23", "-23"}}
	SortRows(rows)
	if got := Hash(Flatten(rows)); got != "07f4d5785b161b1fdf2cce5e95bba1fd" {
		t.Errorf("rowsort hash = %s", got)
	}
	if got := Hash(nil); got != "d41d8cd98f00b204e9800998ecf8427e" {
		t.Errorf("empty hash = %s", got)
	}
}

func TestSortRowsIsTextual(t *testing.T) {
	rows := [][]string{{"9", "b"}, {"10", "a"}, {"9", "a"}}
	SortRows(rows)
	got := strings.Join(Flatten(rows), " ")
	if got != "10 a 9 a 9 b" {
		t.Errorf("sorted = %s", got)
	}
}

func result(oids []uint32, rows ...[]any) *pgconn.Result {
	res := &pgconn.Result{}
	for i, oid := range oids {
		res.FieldDescriptions = append(res.FieldDescriptions, pgconn.FieldDescription{Name: string(rune('a' + i)), DataTypeOID: oid})
	}
	for _, r := range rows {
		var row [][]byte
		for _, v := range r {
			if v == nil {
				row = append(row, nil)
			} else {
				row = append(row, []byte(v.(string)))
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res
}

func TestCompare(t *testing.T) {
	const int4, text = 23, 25
	for _, tc := range []struct {
		name      string
		d         Dialect
		threshold int
		rec       Record
		res       *pgconn.Result
		pass      bool
	}{
		{"sqlite values", DialectSQLite, 8,
			Record{Types: "IT", Expected: []string{"1", "a", "2", "NULL"}},
			result([]uint32{int4, text}, []any{"1", "a"}, []any{"2", nil}), true},
		{"sqlite rowsort", DialectSQLite, 8,
			Record{Types: "IT", Sort: RowSort, Expected: []string{"1", "a", "2", "(empty)"}},
			result([]uint32{int4, text}, []any{"2", ""}, []any{"1", "a"}), true},
		{"sqlite nosort order matters", DialectSQLite, 8,
			Record{Types: "IT", Expected: []string{"1", "a", "2", "b"}},
			result([]uint32{int4, text}, []any{"2", "b"}, []any{"1", "a"}), false},
		{"sqlite valuesort", DialectSQLite, 8,
			Record{Types: "II", Sort: ValueSort, Expected: []string{"1", "3", "4", "9"}},
			result([]uint32{int4, int4}, []any{"9", "1"}, []any{"4", "3"}), true},
		{"sqlite hash", DialectSQLite, 8,
			Record{Types: "III", Sort: RowSort, Expected: []string{"9 values hashing to 75c998aa53ac83218cbf2feb962d0a49"}},
			result([]uint32{int4, int4, int4}, []any{"64", "77", "40"}, []any{"75", "67", "58"}, []any{"46", "51", "23"}), true},
		{"sqlite wrong hash", DialectSQLite, 8,
			Record{Types: "III", Expected: []string{"9 values hashing to 75c998aa53ac83218cbf2feb962d0a49"}},
			result([]uint32{int4, int4, int4}, []any{"64", "77", "40"}, []any{"75", "67", "58"}, []any{"46", "51", "23"}), false},
		{"sqlite column count", DialectSQLite, 8,
			Record{Types: "I", Expected: []string{"1", "2"}},
			result([]uint32{int4, int4}, []any{"1", "2"}), false},
		{"sqlite empty", DialectSQLite, 8,
			Record{Types: "I"}, result([]uint32{int4}), true},
		{"rs rows", DialectRS, 0,
			Record{Types: "IT", Expected: []string{"1  hello   world", "2 NULL"}},
			result([]uint32{int4, text}, []any{"1", "hello world"}, []any{"2", nil}), true},
		{"rs rowsort", DialectRS, 0,
			Record{Types: "IT", Sort: RowSort, Expected: []string{"1 (empty)", "2 b"}},
			result([]uint32{int4, text}, []any{"2", "b"}, []any{"1", ""}), true},
		{"rs mismatch", DialectRS, 0,
			Record{Types: "I", Expected: []string{"1"}},
			result([]uint32{int4}, []any{"1"}, []any{"2"}), false},
	} {
		st := &run{r: &Runner{}, threshold: tc.threshold, labels: map[string]string{}}
		f := st.compare(&tc.rec, tc.d, "SELECT", tc.res)
		if (f == nil) != tc.pass {
			t.Errorf("%s: pass = %v, want %v (%+v)", tc.name, f == nil, tc.pass, f)
		}
	}
}

func TestCompareLabels(t *testing.T) {
	st := &run{r: &Runner{}, threshold: 8, labels: map[string]string{}}
	rec := Record{Types: "I", Label: "label-1", Expected: []string{"5"}}
	if f := st.compare(&rec, DialectSQLite, "q1", result([]uint32{23}, []any{"5"})); f != nil {
		t.Fatalf("first: %+v", f)
	}
	if f := st.compare(&rec, DialectSQLite, "q2", result([]uint32{23}, []any{"5"})); f != nil {
		t.Fatalf("same: %+v", f)
	}
	rec.Expected = []string{"6"}
	if f := st.compare(&rec, DialectSQLite, "q3", result([]uint32{23}, []any{"6"})); f == nil {
		t.Fatal("a different result under the same label passed")
	}
}

func TestSubstitute(t *testing.T) {
	t.Setenv("SLT_TEST_ENV", "env")
	st := &run{
		r:       &Runner{Vars: map[string]string{"given": "g"}},
		vars:    map[string]string{"tbl": "t_1"},
		testDir: "/tmp/x",
	}
	for in, want := range map[string]string{
		"SELECT * FROM $tbl":         "SELECT * FROM t_1",
		"SELECT * FROM ${tbl}_old":   "SELECT * FROM t_1_old",
		"COPY TO '$__TEST_DIR__/f'":  "COPY TO '/tmp/x/f'",
		"$given $SLT_TEST_ENV":       "g env",
		"SELECT $1, $$body$$, $nope": "SELECT $1, $$body$$, $nope",
		`SELECT '\$tbl'`:             "SELECT '$tbl'",
	} {
		if got := st.substitute(in); got != want {
			t.Errorf("substitute(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConditions(t *testing.T) {
	st := &run{r: &Runner{Labels: []string{"postgresql"}}}
	for _, tc := range []struct {
		conds []Condition
		skip  bool
	}{
		{nil, false},
		{[]Condition{{Label: "postgresql"}}, true},
		{[]Condition{{Label: "mysql"}}, false},
		{[]Condition{{Only: true, Label: "sqlite"}}, true},
		{[]Condition{{Only: true, Label: "postgresql"}}, false},
		{[]Condition{{Only: true, Label: "postgresql"}, {Label: "postgresql"}}, true},
	} {
		if got := st.skipped(&Record{Conditions: tc.conds}); got != tc.skip {
			t.Errorf("skipped(%+v) = %v, want %v", tc.conds, got, tc.skip)
		}
	}
}
