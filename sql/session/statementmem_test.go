package session

import (
	"testing"

	"github.com/sqld/sqld/exec"
)

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1 << 20, "'64MB'": 64 << 20, "2GB": 2 << 30, "512kB": 512 << 10, "100B": 100, "1TB": 1 << 40,
	} {
		if got, err := parseMemory(in); err != nil || got != want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1", "5 parsecs", "1.5GB", "12mb", "99999999999999999999", "9999999999TB"} {
		if n, err := parseMemory(in); err == nil {
			t.Errorf("parseMemory(%q) = %d, want an error", in, n)
		}
	}
}

// Whatever a client sends, parseMemory answers without panicking, and
// the sizes it accepts print back (exec.FormatBytes) as they parse.
func FuzzParseMemory(f *testing.F) {
	for _, s := range []string{"0", "64MB", "'1GB'", "12kB", "3 TB", "x", "-5", "99999999999999999999GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseMemory(s)
		if err != nil || n == 0 {
			return
		}
		if n < 0 {
			t.Fatalf("parseMemory(%q) = %d", s, n)
		}
		back, err := parseMemory(exec.FormatBytes(n))
		if err != nil || back != n {
			t.Fatalf("%q: %d prints as %q, which parses as %d, %v", s, n, exec.FormatBytes(n), back, err)
		}
	})
}
