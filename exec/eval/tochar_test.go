package eval

import (
	"testing"
	"time"
)

func TestToChar(t *testing.T) {
	ts := time.Date(2024, 3, 5, 14, 7, 9, 123456000, time.UTC)
	for _, c := range []struct{ format, want string }{
		{"YYYY-MM-DD", "2024-03-05"},
		{"HH24:MI:SS", "14:07:09"},
		{"HH:MI AM", "02:07 PM"},
		{"HH:mm", "02:03"},
		{"yyyy-MM-dd", "2024-03-05"},
		{"hh24:mi:ss.us", "14:07:09.123456"},
		{"Y YY YYY", "4 24 024"},
		{"Mon DD, YYYY", "Mar 05, 2024"},
		{"YYYY-MM-DD HH24:MI:SS.US", "2024-03-05 14:07:09.123456"},
		{`"week day" D`, "week day 3"},
		{"Q", "1"},
	} {
		if got := toChar(ts, c.format); got != c.want {
			t.Errorf("to_char(%q) = %q, want %q", c.format, got, c.want)
		}
		// The compiled form, with its cache of the last day, agrees.
		p := compileToChar(c.format)
		for _, us := range []int64{ts.UnixMicro(), ts.UnixMicro() + 1, ts.Add(time.Hour).UnixMicro(), ts.UnixMicro()} {
			if got, want := p.run(us), toChar(time.UnixMicro(us).UTC(), c.format); got != want {
				t.Errorf("compiled to_char(%q) at %d = %q, want %q", c.format, us, got, want)
			}
		}
	}
}
