package parser

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// seedStatements reads every input of testdata/* as fuzz seeds.
func seedStatements(t testing.TB) []string {
	files, _ := filepath.Glob("testdata/*")
	var out []string
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split(string(b), "\n\n") {
			lines := strings.Split(strings.TrimSpace(block), "\n")
			if len(lines) < 2 {
				continue
			}
			var in []string
			for _, l := range lines[1:] {
				if l == "----" {
					break
				}
				in = append(in, l)
			}
			out = append(out, strings.Join(in, "\n"))
		}
	}
	return out
}

// FuzzParse checks that Parse and ParseExpr never panic and that every
// error they return is a *pgerror.Error.
func FuzzParse(f *testing.F) {
	for _, s := range seedStatements(f) {
		f.Add(s)
	}
	for _, s := range []string{"", ";", "SELECT", "(((", "'", "$$", "E'\\", "SELECT 1::", "SELECT * FROM f(", "x IS", "a ~*", "INTERVAL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		check := func(err error) {
			if err == nil {
				return
			}
			var pe *pgerror.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a pgerror: %v", err)
			}
			if pe.Code == pgerror.CodeInternalError {
				t.Fatalf("internal error for %q: %v", sql, err)
			}
		}
		stmts, err := Parse(sql)
		check(err)
		for _, s := range stmts {
			_ = Format(s.AST)
		}
		_, err = ParseExpr(sql)
		check(err)
	})
}

func bigInsert(rows int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO bid VALUES ")
	for i := 0; i < rows; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "(%d, %d, %d.25, 'channel-%d', 'https://example.com/%d', TIMESTAMP '2024-01-01 10:00:00', NULL, TRUE)", i, i*7, i, i%5, i)
	}
	return sb.String()
}

func TestBigInsert(t *testing.T) {
	sql := bigInsert(10000) // about 1 MB
	start := time.Now()
	stmts, err := Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	ins := stmts[0].AST.(*ast.Insert)
	rows := ins.Source.Body.(*ast.Values).Rows
	if len(rows) != 10000 || len(rows[9999]) != 8 {
		t.Fatalf("got %d rows", len(rows))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("parsing %d bytes took %v", len(sql), d)
	}
}

func TestSyntaxErrorPositionInBigStatement(t *testing.T) {
	sql := bigInsert(5000) + ", (1, 2"
	_, err := Parse(sql)
	var pe *pgerror.Error
	if !errors.As(err, &pe) || pe.Code != pgerror.CodeSyntaxError {
		t.Fatalf("want a syntax error, got %v", err)
	}
	sql = bigInsert(5000) + " garbage"
	_, err = Parse(sql)
	if !errors.As(err, &pe) || pe.Position != len(sql)-len("garbage")+1 {
		t.Fatalf("want position %d, got %v (%d)", len(sql)-len("garbage")+1, err, pe.Position)
	}
}

func BenchmarkParseInsert(b *testing.B) {
	for _, rows := range []int{100, 10000, 100000} {
		sql := bigInsert(rows)
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(sql)))
			for i := 0; i < b.N; i++ {
				if _, err := Parse(sql); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func BenchmarkParseQuery(b *testing.B) {
	sql := `SELECT window_start, window_end, auction, count(*) AS n, max(price)::numeric(10,2)
		FROM TUMBLE(bid, date_time, INTERVAL '10' SECOND) WHERE price > 100 AND channel ~* 'a.*'
		GROUP BY window_start, window_end, auction ORDER BY n DESC NULLS LAST LIMIT 10`
	b.ReportAllocs()
	b.SetBytes(int64(len(sql)))
	for i := 0; i < b.N; i++ {
		if _, err := Parse(sql); err != nil {
			b.Fatal(err)
		}
	}
}
