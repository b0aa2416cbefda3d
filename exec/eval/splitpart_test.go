package eval

import (
	"strings"
	"testing"
)

// TestSplitPart checks splitPart against splitting into fields.
func TestSplitPart(t *testing.T) {
	for _, s := range []string{"", "a", "a,b", ",a,,b,", "abc", "a,,", ",,"} {
		for _, d := range []string{",", ",,", "", "x"} {
			for n := int64(-5); n <= 5; n++ {
				if n == 0 {
					continue
				}
				parts := []string{s}
				if d != "" {
					parts = strings.Split(s, d)
				}
				k := n
				if k < 0 {
					k = int64(len(parts)) + k + 1
				}
				want := ""
				if k >= 1 && k <= int64(len(parts)) {
					want = parts[k-1]
				}
				if got := splitPart(s, d, n); got != want {
					t.Errorf("splitPart(%q, %q, %d) = %q, want %q", s, d, n, got, want)
				}
			}
		}
	}
}
