package wire

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestTextOutput compares Postgres's text output of a few values, read
// in the simple protocol as psql sees them.
func TestTextOutput(t *testing.T) {
	t.Parallel()
	c := connectMode(t, pgx.QueryExecModeSimpleProtocol)
	for _, tc := range []struct{ sql, want, bug string }{
		{"SELECT 0.1::float8 + 0.2::float8", "0.30000000000000004", ""},
		{"SELECT 'NaN'::float8", "NaN", ""},
		{"SELECT '-infinity'::float8", "-Infinity", ""},
		{"SELECT true", "true", ""}, // bool::text is true, unlike the t of bool output
		{"SELECT '2024-01-02 03:04:05.5'::timestamp", "2024-01-02 03:04:05.5", ""},
		{"SELECT 7 / 2", "3", ""},
		{"SELECT 10::numeric / 4", "2.5000000000000000", ""},
		{"SELECT 1::numeric", "1", "cast to unconstrained numeric adds 16 decimal places"},
		{"SELECT 1.50::numeric", "1.50", "cast to unconstrained numeric adds 16 decimal places"},
		{"SELECT 'abcdef'::varchar(3)", "abc", "explicit cast to varchar(n) does not truncate"},
	} {
		got := queryString(t, c, "SELECT ("+tc.sql[len("SELECT "):]+")::text")
		if got != tc.want {
			if tc.bug != "" {
				t.Run("", func(t *testing.T) { knownBug(t, tc.bug, "%s = %q, want %q", tc.sql, got, tc.want) })
				continue
			}
			t.Errorf("%s = %q, want %q", tc.sql, got, tc.want)
		}
	}
}
