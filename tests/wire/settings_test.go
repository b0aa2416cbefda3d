package wire

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestSetShowReset covers session settings over SET, SHOW, RESET and
// current_setting, and the ParameterStatus messages pgx tracks.
func TestSetShowReset(t *testing.T) {
	t.Parallel()
	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"Extended", pgx.QueryExecModeCacheStatement}, {"Simple", pgx.QueryExecModeSimpleProtocol}} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := connectMode(t, m.mode)
			pc := c.PgConn()
			show := func(setting string) string {
				t.Helper()
				return queryString(t, c, "SHOW "+setting)
			}
			// Startup ParameterStatus values a driver relies on.
			for k, want := range map[string]string{
				"server_encoding": "UTF8", "client_encoding": "UTF8", "DateStyle": "ISO, MDY",
				"integer_datetimes": "on", "standard_conforming_strings": "on", "TimeZone": "UTC",
			} {
				if got := pc.ParameterStatus(k); got != want {
					t.Errorf("startup ParameterStatus %s = %q, want %q", k, got, want)
				}
			}
			if v := pc.ParameterStatus("server_version"); v == "" {
				t.Errorf("no server_version ParameterStatus")
			}

			mustExec(t, c, "SET application_name = 'wire-suite'")
			if got := pc.ParameterStatus("application_name"); got != "wire-suite" {
				t.Errorf("ParameterStatus application_name = %q after SET, want wire-suite", got)
			}
			if got := show("application_name"); got != "wire-suite" {
				t.Errorf("SHOW application_name = %q", got)
			}
			if got := queryString(t, c, "SELECT current_setting('application_name')"); got != "wire-suite" {
				t.Errorf("current_setting('application_name') = %q", got)
			}
			mustExec(t, c, "SET application_name TO other")
			if got := show("application_name"); got != "other" {
				t.Errorf("SET ... TO: SHOW application_name = %q, want other", got)
			}
			mustExec(t, c, "RESET application_name")
			if got := pc.ParameterStatus("application_name"); got != "" {
				t.Errorf("ParameterStatus application_name = %q after RESET, want empty", got)
			}

			mustExec(t, c, "SET TimeZone = 'UTC'")
			if got := show("TimeZone"); got != "UTC" {
				t.Errorf("SHOW TimeZone = %q", got)
			}
			if got := queryString(t, c, "SELECT current_setting('timezone')"); got != "UTC" {
				t.Errorf("current_setting('timezone') = %q", got)
			}
			mustExec(t, c, "SET TIME ZONE 'UTC'")
			mustExec(t, c, "SET DateStyle = 'ISO, MDY'")
			if got := show("DateStyle"); got != "ISO, MDY" {
				t.Errorf("SHOW DateStyle = %q", got)
			}
			mustExec(t, c, "SET extra_float_digits = 3")
			if got := show("extra_float_digits"); got != "3" {
				t.Errorf("SHOW extra_float_digits = %q, want 3", got)
			}
			mustExec(t, c, "SET search_path = public")
			if got := show("search_path"); got != "public" {
				t.Errorf("SHOW search_path = %q, want public", got)
			}
			mustExec(t, c, "RESET search_path")
			if got := show("search_path"); got != `"$user", public` {
				t.Errorf("SHOW search_path after RESET = %q", got)
			}
			mustExec(t, c, "SET statement_timeout = 5000")
			if got := show("statement_timeout"); got != "5s" {
				t.Run("StatementTimeoutUnits", func(t *testing.T) {
					knownBug(t, "SHOW statement_timeout has no unit", "SHOW statement_timeout = %q, want 5s", got)
				})
			}
			mustExec(t, c, "SET statement_timeout = 0")
			mustExec(t, c, "SET implicit_flush = true")
			if got := show("implicit_flush"); got != "on" {
				t.Errorf("SHOW implicit_flush = %q, want on", got)
			}
			mustExec(t, c, "RESET implicit_flush")
			if got := show("implicit_flush"); got != "off" {
				t.Errorf("SHOW implicit_flush after RESET = %q, want off", got)
			}
			mustExec(t, c, "SET SESSION application_name = 'x'")
			mustExec(t, c, "SET LOCAL application_name = 'y'") // outside a block: a warning in Postgres
			mustExec(t, c, "RESET ALL")
			if got := show("application_name"); got != "" {
				t.Errorf("SHOW application_name after RESET ALL = %q", got)
			}

			pe := execErr(t, c, "42704", "SET nosuch = 1")
			if !strings.Contains(pe.Message, "nosuch") {
				t.Errorf("SET nosuch message %q does not name the parameter", pe.Message)
			}
			execErr(t, c, "42704", "SHOW nosuch")
			execErr(t, c, "42704", "RESET nosuch")
			execErr(t, c, "22023", "SET implicit_flush = maybe")
			execErr(t, c, "55P02", "SET server_version = '1'")
			// Custom (dotted) settings are allowed, as in Postgres.
			mustExec(t, c, "SET myapp.flag = 'on'")
			if got := show("myapp.flag"); got != "on" {
				t.Errorf("SHOW myapp.flag = %q", got)
			}
		})
	}
}

// TestSettingsInTransaction: SET inside a rolled-back block is undone,
// as in Postgres.
func TestSettingsInTransaction(t *testing.T) {
	t.Parallel()
	c := connect(t)
	mustExec(t, c, "BEGIN")
	mustExec(t, c, "SET application_name = 'in-block'")
	mustExec(t, c, "ROLLBACK")
	if got := queryString(t, c, "SHOW application_name"); got != "" {
		knownBug(t, "SET is not transactional", "SHOW application_name after ROLLBACK = %q, want empty", got)
	}
}

// TestSettingsRejected: values sqld does not support are refused with
// 22023 rather than silently ignored.
func TestSettingsRejected(t *testing.T) {
	t.Parallel()
	c := connect(t)
	_, err := c.Exec(ctxT(t, 5*time.Second), "SET TimeZone = 'Europe/Oslo'")
	if err == nil {
		// Postgres accepts it; sqld then must honour it.
		if got := queryString(t, c, "SHOW TimeZone"); got != "Europe/Oslo" {
			t.Errorf("SET TimeZone = 'Europe/Oslo' accepted but SHOW says %q", got)
		}
	} else {
		wantCode(t, err, "22023", "SET TimeZone = 'Europe/Oslo'")
	}
	// sqld prints dates in the ISO style only: other styles are refused
	// rather than accepted and ignored.
	_, err = c.Exec(ctxT(t, 5*time.Second), "SET DateStyle = 'German'")
	if err == nil {
		if got := queryString(t, c, "SHOW DateStyle"); got != "German, DMY" {
			t.Errorf("SET DateStyle = 'German' accepted but SHOW DateStyle = %q", got)
		}
	} else {
		wantCode(t, err, "22023", "SET DateStyle = 'German'")
	}
	mustExec(t, c, "SET DateStyle = 'ISO, MDY'")
}

// TestSystemFunctions checks the functions tools call on connect.
func TestSystemFunctions(t *testing.T) {
	t.Parallel()
	c := connect(t)
	v := queryString(t, c, "SELECT version()")
	if !strings.HasPrefix(v, "PostgreSQL ") {
		t.Errorf("version() = %q, want it to start with PostgreSQL", v)
	}
	sv := c.PgConn().ParameterStatus("server_version")
	if !strings.HasPrefix(v, "PostgreSQL "+sv+" ") && !strings.HasPrefix(v, "PostgreSQL "+sv+",") {
		t.Run("VersionMatches", func(t *testing.T) {
			knownBug(t, "version() disagrees with server_version", "version() = %q but server_version = %q", v, sv)
		})
	}
	if got := queryString(t, c, "SELECT current_database()"); got != "sqld" {
		t.Errorf("current_database() = %q, want sqld", got)
	}
	if got := queryString(t, c, "SELECT current_user"); got != "sqld" {
		t.Errorf("current_user = %q, want sqld", got)
	}
	t.Run("SessionUser", func(t *testing.T) {
		var got string
		err := c.QueryRow(ctxT(t, 5*time.Second), "SELECT session_user").Scan(&got)
		if err != nil {
			knownBug(t, "session_user is not supported", "SELECT session_user: %v", err)
		}
		if got != "sqld" {
			t.Errorf("session_user = %q, want sqld", got)
		}
	})
	if got := queryString(t, c, "SELECT current_setting('timezone')"); got != "UTC" {
		t.Errorf("current_setting('timezone') = %q", got)
	}
	if got := queryString(t, c, "SELECT current_schema()"); got != "public" {
		t.Errorf("current_schema() = %q, want public", got)
	}
	if got := queryString(t, c, "SHOW server_version"); got != sv {
		t.Errorf("SHOW server_version = %q, ParameterStatus says %q", got, sv)
	}
	if got := queryString(t, c, "SHOW transaction_isolation"); got != "read committed" {
		t.Errorf("SHOW transaction_isolation = %q", got)
	}
	t.Run("BackendPID", func(t *testing.T) {
		var n int64
		if err := c.QueryRow(ctxT(t, 5*time.Second), "SELECT pg_backend_pid()").Scan(&n); err != nil {
			knownBug(t, "pg_backend_pid() is missing", "SELECT pg_backend_pid(): %v", err)
		}
		if n != int64(c.PgConn().PID()) {
			t.Errorf("pg_backend_pid() = %d, BackendKeyData said %d", n, c.PgConn().PID())
		}
	})
}
