package wire

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

var modes = []struct {
	name string
	mode pgx.QueryExecMode
}{
	{"CacheStatement", pgx.QueryExecModeCacheStatement},
	{"CacheDescribe", pgx.QueryExecModeCacheDescribe},
	{"DescribeExec", pgx.QueryExecModeDescribeExec},
	{"Exec", pgx.QueryExecModeExec},
	{"SimpleProtocol", pgx.QueryExecModeSimpleProtocol},
}

// row is one row of the all-types table, as Go values.
type row struct {
	id  int32
	big *int64
	txt *string
	b   *bool
	f   *float64
	num pgtype.Numeric
	ts  *time.Time
	d   *time.Time
}

func ptr[T any](v T) *T { return &v }

func numeric(t *testing.T, s string) pgtype.Numeric {
	t.Helper()
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		t.Fatalf("numeric %q: %v", s, err)
	}
	return n
}

func numString(t *testing.T, n pgtype.Numeric) string {
	t.Helper()
	if !n.Valid {
		return "NULL"
	}
	v, err := n.Value()
	if err != nil {
		t.Fatal(err)
	}
	return v.(string)
}

// sameNumeric compares numerics by value (1.50 equals 1.5).
func sameNumeric(a, b pgtype.Numeric) bool {
	if a.Valid != b.Valid {
		return false
	}
	if !a.Valid {
		return true
	}
	ra := new(big.Rat).SetInt(a.Int)
	rb := new(big.Rat).SetInt(b.Int)
	scale := func(r *big.Rat, exp int32) {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(exp))), nil)
		if exp >= 0 {
			r.Mul(r, new(big.Rat).SetInt(p))
		} else {
			r.Quo(r, new(big.Rat).SetInt(p))
		}
	}
	scale(ra, a.Exp)
	scale(rb, b.Exp)
	return ra.Cmp(rb) == 0
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// TestParamsAllModes inserts and reads back every scalar type through $n
// parameters, NULLs included, in each pgx query execution mode.
func TestParamsAllModes(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := connectMode(t, m.mode)
			tbl := name(t, "params")
			mustExec(t, c, `CREATE TABLE `+tbl+` (id INT PRIMARY KEY, big BIGINT, txt TEXT, b BOOLEAN,
				f DOUBLE PRECISION, num NUMERIC(12,3), ts TIMESTAMP, d DATE)`)
			ts := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
			d := time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
			want := []row{
				{1, ptr(int64(9007199254740993)), ptr("héllo 'q' \"dq\" \\ back"), ptr(true), ptr(-1.25e-7), numeric(t, "12345.678"), &ts, &d},
				{2, ptr(int64(-1)), ptr(""), ptr(false), ptr(3.0), numeric(t, "-0.5"), ptr(ts.Add(-24 * time.Hour)), ptr(d.AddDate(0, 0, 1))},
				{3, nil, nil, nil, nil, pgtype.Numeric{}, nil, nil},
			}
			ctx := ctxT(t, 30*time.Second)
			for _, r := range want {
				// The timestamp goes as a text parameter cast to
				// timestamp here; timestamp-typed parameters have their
				// own subtest below.
				var tsArg any
				if r.ts != nil {
					tsArg = r.ts.Format("2006-01-02 15:04:05.999999")
				}
				tag, err := c.Exec(ctx, `INSERT INTO `+tbl+` (id, big, txt, b, f, num, ts, d) VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamp, $8)`,
					r.id, r.big, r.txt, r.b, r.f, r.num, tsArg, r.d)
				if err != nil {
					t.Fatalf("insert %d: %v", r.id, err)
				}
				if tag.String() != "INSERT 0 1" {
					t.Errorf("insert tag %q, want INSERT 0 1", tag)
				}
			}
			for _, w := range want {
				var g row
				err := c.QueryRow(ctx, `SELECT id, big, txt, b, f, num, ts, d FROM `+tbl+` WHERE id = $1`, w.id).
					Scan(&g.id, &g.big, &g.txt, &g.b, &g.f, &g.num, &g.ts, &g.d)
				if err != nil {
					t.Fatalf("select %d: %v", w.id, err)
				}
				checkRow(t, w, g)
			}
			// Parameters in predicates, of each type.
			preds := []struct {
				where string
				arg   any
				want  int64
			}{
				{"big = $1", int64(9007199254740993), 1},
				{"txt = $1", "", 1},
				{"b = $1", false, 1},
				{"f < $1", 0.0, 1},
				{"num > $1", numeric(t, "0"), 1},
				{"d = $1", d, 1},
				{"id + $1 = 4", int32(1), 1},
				{"big IS NULL AND $1::int = 1", 1, 1},
			}
			for _, p := range preds {
				var n int64
				if err := c.QueryRow(ctx, `SELECT count(*) FROM `+tbl+` WHERE `+p.where, p.arg).Scan(&n); err != nil {
					t.Errorf("WHERE %s: %v", p.where, err)
					continue
				}
				if n != p.want {
					t.Errorf("WHERE %s (%v): count %d, want %d", p.where, p.arg, n, p.want)
				}
			}
			// A NULL parameter compares as unknown.
			var n int64
			if err := c.QueryRow(ctx, `SELECT count(*) FROM `+tbl+` WHERE txt = $1`, nil).Scan(&n); err != nil {
				t.Errorf("txt = NULL param: %v", err)
			} else if n != 0 {
				t.Errorf("txt = NULL param matched %d rows, want 0", n)
			}
			// Parameters in the select list.
			var s string
			var i int64
			if err := c.QueryRow(ctx, `SELECT $1::text || 'x', $2::bigint * 2`, "ab", int64(21)).Scan(&s, &i); err != nil {
				t.Errorf("select-list params: %v", err)
			} else if s != "abx" || i != 42 {
				t.Errorf("select-list params = %q, %d; want abx, 42", s, i)
			}
			t.Run("TimestampParam", func(t *testing.T) {
				// A parameter whose type is timestamp, bound from a time.Time.
				var n int64
				err := c.QueryRow(ctx, `SELECT count(*) FROM `+tbl+` WHERE ts >= $1`, ts).Scan(&n)
				if err != nil || n != 1 {
					knownBug(t, "binary timestamp parameter", "SELECT ... WHERE ts >= $1 with a time.Time: count %d, err %v; want 1, nil", n, err)
				}
				_, err = c.Exec(ctx, `INSERT INTO `+tbl+` (id, ts) VALUES ($1, $2)`, 10, ts)
				if err != nil {
					knownBug(t, "binary timestamp parameter", "INSERT ... VALUES ($1, $2) with a time.Time: %v", err)
				}
				var got time.Time
				if err := c.QueryRow(ctx, `SELECT ts FROM `+tbl+` WHERE id = 10`).Scan(&got); err != nil || !got.Equal(ts) {
					t.Errorf("timestamp round trip: %v, %v; want %v", got, err, ts)
				}
			})
		})
	}
}

func checkRow(t *testing.T, w, g row) {
	t.Helper()
	eq := func(what string, ok bool, gv, wv any) {
		if !ok {
			t.Errorf("row %d %s = %v, want %v", w.id, what, gv, wv)
		}
	}
	deref := func(p any) any {
		switch v := p.(type) {
		case *int64:
			if v != nil {
				return *v
			}
		case *string:
			if v != nil {
				return *v
			}
		case *bool:
			if v != nil {
				return *v
			}
		case *float64:
			if v != nil {
				return *v
			}
		case *time.Time:
			if v != nil {
				return *v
			}
		}
		return nil
	}
	eq("id", g.id == w.id, g.id, w.id)
	eq("big", deref(g.big) == deref(w.big), deref(g.big), deref(w.big))
	eq("txt", deref(g.txt) == deref(w.txt), deref(g.txt), deref(w.txt))
	eq("b", deref(g.b) == deref(w.b), deref(g.b), deref(w.b))
	eq("f", deref(g.f) == deref(w.f), deref(g.f), deref(w.f))
	eq("num", sameNumeric(g.num, w.num), numString(t, g.num), numString(t, w.num))
	tsEq := func(a, b *time.Time) bool {
		if a == nil || b == nil {
			return a == nil && b == nil
		}
		return a.Equal(*b)
	}
	eq("ts", tsEq(g.ts, w.ts), deref(g.ts), deref(w.ts))
	eq("d", tsEq(g.d, w.d), deref(g.d), deref(w.d))
}

// TestRowDescriptionOIDs checks the type OIDs in RowDescription against
// Postgres's, for literals and for table columns, and that every value
// scans into its natural Go type.
func TestRowDescriptionOIDs(t *testing.T) {
	t.Parallel()
	for _, m := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		c := connectMode(t, m)
		ctx := ctxT(t, 30*time.Second)
		rows, err := c.Query(ctx, `SELECT 1::int, 2::bigint, 'x'::text, 'y'::varchar, true, 1.5::float8,
			1.25::numeric, '2024-01-02 03:04:05'::timestamp, '2024-01-02'::date,
			INTERVAL '1 day', 'ab'::bytea, 3::smallint, 2.5::real`)
		if err != nil {
			t.Fatalf("mode %v: %v", m, err)
		}
		fds := rows.FieldDescriptions()
		want := []uint32{23, 20, 25, 1043, 16, 701, 1700, 1114, 1082, 1186, 17, 21, 700}
		names := []string{"int4", "int8", "text", "varchar", "bool", "float8", "numeric", "timestamp", "date", "interval", "bytea", "int2", "float4"}
		if len(fds) != len(want) {
			t.Fatalf("mode %v: %d fields, want %d", m, len(fds), len(want))
		}
		for i, fd := range fds {
			if fd.DataTypeOID != want[i] {
				t.Errorf("mode %v: column %d (%s) OID %d, want %d (%s)", m, i, fd.Name, fd.DataTypeOID, want[i], names[i])
			}
		}
		if !rows.Next() {
			t.Fatalf("mode %v: no row: %v", m, rows.Err())
		}
		var (
			i4 int32
			i8 int64
			tx string
			vc string
			bo bool
			f8 float64
			nm pgtype.Numeric
			ts time.Time
			dt time.Time
			iv pgtype.Interval
			by []byte
			i2 int16
			f4 float32
		)
		if err := rows.Scan(&i4, &i8, &tx, &vc, &bo, &f8, &nm, &ts, &dt, &iv, &by, &i2, &f4); err != nil {
			t.Fatalf("mode %v: scan: %v", m, err)
		}
		rows.Close()
		if i4 != 1 || i8 != 2 || tx != "x" || vc != "y" || !bo || f8 != 1.5 || i2 != 3 || f4 != 2.5 {
			t.Errorf("mode %v: scalars %v %v %q %q %v %v %v %v", m, i4, i8, tx, vc, bo, f8, i2, f4)
		}
		if !sameNumeric(nm, numeric(t, "1.25")) {
			t.Errorf("mode %v: numeric %s, want 1.25", m, numString(t, nm))
		}
		if !ts.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("mode %v: timestamp %v", m, ts)
		}
		if !dt.Equal(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("mode %v: date %v", m, dt)
		}
		if !iv.Valid || iv.Days != 1 || iv.Months != 0 || iv.Microseconds != 0 {
			t.Errorf("mode %v: interval %+v, want 1 day", m, iv)
		}
		if string(by) != "ab" {
			t.Errorf("mode %v: bytea %q, want ab", m, by)
		}
	}
}

// TestTableColumnOIDs checks OIDs of declared columns, including VARCHAR,
// BYTEA and INTERVAL columns, and bytea/interval round trips.
func TestTableColumnOIDs(t *testing.T) {
	t.Parallel()
	c := connect(t)
	tbl := name(t, "oids")
	mustExec(t, c, `CREATE TABLE `+tbl+` (a INT PRIMARY KEY, b BIGINT, c TEXT, d VARCHAR, e BOOLEAN,
		f DOUBLE PRECISION, g NUMERIC(10,2), h TIMESTAMP, i DATE, j BYTEA, k INTERVAL)`)
	mustExec(t, c, `INSERT INTO `+tbl+` VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::timestamp, $9, $10, $11)`,
		1, int64(2), "c", "d", true, 6.5, numeric(t, "7.25"), "2020-01-01 00:00:01",
		time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC), []byte{0, 1, 0xff}, pgtype.Interval{Days: 2, Microseconds: 3e6, Valid: true})
	rows, err := c.Query(ctxT(t, 10*time.Second), `SELECT * FROM `+tbl)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := []uint32{23, 20, 25, 1043, 16, 701, 1700, 1114, 1082, 17, 1186}
	for i, fd := range rows.FieldDescriptions() {
		if i < len(want) && fd.DataTypeOID != want[i] {
			t.Errorf("column %s OID %d, want %d", fd.Name, fd.DataTypeOID, want[i])
		}
	}
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	vals, err := rows.Values()
	if err != nil {
		t.Fatal(err)
	}
	if by, ok := vals[9].([]byte); !ok || string(by) != "\x00\x01\xff" {
		t.Errorf("bytea %#v, want 00 01 ff", vals[9])
	}
	if iv, ok := vals[10].(pgtype.Interval); !ok || iv.Days != 2 || iv.Microseconds != 3e6 {
		t.Errorf("interval %#v, want 2 days 00:00:03", vals[10])
	}
}

// TestBatch sends a pgx.Batch mixing DDL, writes and reads, and checks that
// an error in the middle of a batch is reported for that query.
func TestBatch(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := connectMode(t, m.mode)
			tbl := name(t, "batch")
			mustExec(t, c, `CREATE TABLE `+tbl+` (id BIGINT PRIMARY KEY, v TEXT)`)
			ctx := ctxT(t, 30*time.Second)
			b := &pgx.Batch{}
			for i := 1; i <= 5; i++ {
				b.Queue(`INSERT INTO `+tbl+` VALUES ($1, $2)`, int64(i), strings.Repeat("v", i))
			}
			b.Queue(`SELECT count(*), max(length(v)) FROM ` + tbl)
			b.Queue(`SELECT v FROM `+tbl+` WHERE id = $1`, int64(3))
			br := c.SendBatch(ctx, b)
			for i := 1; i <= 5; i++ {
				tag, err := br.Exec()
				if err != nil {
					t.Fatalf("batch insert %d: %v", i, err)
				}
				if tag.RowsAffected() != 1 {
					t.Errorf("batch insert %d: %q", i, tag)
				}
			}
			var n, ml int64
			if err := br.QueryRow().Scan(&n, &ml); err != nil {
				t.Fatalf("batch count: %v", err)
			}
			if n != 5 || ml != 5 {
				t.Errorf("batch count = %d, %d; want 5, 5", n, ml)
			}
			var v string
			if err := br.QueryRow().Scan(&v); err != nil || v != "vvv" {
				t.Errorf("batch select = %q, %v", v, err)
			}
			if err := br.Close(); err != nil {
				t.Fatalf("batch close: %v", err)
			}
			// A failing query in a batch.
			b = &pgx.Batch{}
			b.Queue(`SELECT 1`)
			b.Queue(`SELECT 1/0`)
			b.Queue(`SELECT 2`)
			br = c.SendBatch(ctx, b)
			var one int
			if err := br.QueryRow().Scan(&one); err != nil || one != 1 {
				t.Errorf("batch 1: %d, %v", one, err)
			}
			var z int
			wantCode(t, br.QueryRow().Scan(&z), "22012", "batch SELECT 1/0")
			br.Close()
			// The connection is usable after the failed batch.
			if n := queryInt(t, c, `SELECT count(*) FROM `+tbl); n != 5 {
				t.Errorf("after failed batch: count %d, want 5", n)
			}
		})
	}
}

// TestPreparedAfterDDL: a cached statement must not return stale rows or
// a stale row shape after its table is dropped and re-created with other
// columns.
func TestPreparedAfterDDL(t *testing.T) {
	t.Parallel()
	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"CacheStatement", pgx.QueryExecModeCacheStatement}, {"CacheDescribe", pgx.QueryExecModeCacheDescribe}} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := connectMode(t, m.mode)
			tbl := name(t, "ddl")
			ctx := ctxT(t, 30*time.Second)
			mustExec(t, c, `CREATE TABLE `+tbl+` (id INT PRIMARY KEY, v TEXT)`)
			mustExec(t, c, `INSERT INTO `+tbl+` VALUES (1, 'old')`)
			q := `SELECT * FROM ` + tbl + ` WHERE id = $1`
			for i := 0; i < 2; i++ { // twice so the statement is cached
				rows, _ := c.Query(ctx, q, 1)
				vals, err := pgx.CollectRows(rows, rowValues)
				if err != nil || len(vals) != 1 || vals[0][1] != "old" {
					t.Fatalf("before DDL: %v, %v", vals, err)
				}
			}
			mustExec(t, c, `DROP TABLE `+tbl)
			mustExec(t, c, `CREATE TABLE `+tbl+` (id INT PRIMARY KEY, n BIGINT, flag BOOLEAN)`)
			mustExec(t, c, `INSERT INTO `+tbl+` VALUES (1, 77, true)`)
			var got [][]any
			var err error
			for attempt := 0; attempt < 2; attempt++ {
				// Postgres answers 0A000 "cached plan must not change
				// result type" once, and pgx then re-prepares; a retry
				// is what a client does.
				rows, _ := c.Query(ctx, q, 1)
				got, err = pgx.CollectRows(rows, rowValues)
				if err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("after DDL: %v", err)
			}
			if len(got) != 1 || len(got[0]) != 3 || got[0][1] != int64(77) || got[0][2] != true {
				t.Fatalf("after DDL: stale or wrong result %#v, want [[1 77 true]]", got)
			}
		})
	}
}

func rowValues(r pgx.CollectableRow) ([]any, error) { return r.Values() }

// TestNamedPrepare uses an explicitly prepared statement, reused many
// times, and its parameter OIDs as described by the server.
func TestNamedPrepare(t *testing.T) {
	t.Parallel()
	c := connect(t)
	ctx := ctxT(t, 30*time.Second)
	tbl := name(t, "prep")
	mustExec(t, c, `CREATE TABLE `+tbl+` (id BIGINT PRIMARY KEY, v TEXT)`)
	sd, err := c.Prepare(ctx, "ins", `INSERT INTO `+tbl+` VALUES ($1, $2)`)
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.ParamOIDs) != 2 || sd.ParamOIDs[0] != 20 || sd.ParamOIDs[1] != 25 {
		t.Errorf("param OIDs %v, want [20 25]", sd.ParamOIDs)
	}
	for i := 0; i < 50; i++ {
		if _, err := c.Exec(ctx, "ins", int64(i), "x"); err != nil {
			t.Fatalf("exec %d: %v", i, err)
		}
	}
	if n := queryInt(t, c, `SELECT count(*) FROM `+tbl); n != 50 {
		t.Errorf("count %d, want 50", n)
	}
	if err := c.Deallocate(ctx, "ins"); err != nil {
		t.Errorf("deallocate: %v", err)
	}
}
