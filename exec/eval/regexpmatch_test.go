package eval

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMatchCache checks remembered matches against matching, across
// patterns that share inputs, past a table's bound, past the number of
// patterns, and for inputs too long to remember.
func TestMatchCache(t *testing.T) {
	mc := &matchCache{}
	res := []*regexp.Regexp{regexp.MustCompile(`(&|^)id=([^&]*)`), regexp.MustCompile(`(?i)ID=(\d+)`)}
	check := func(re *regexp.Regexp, key, s string) {
		t.Helper()
		want := re.FindStringSubmatchIndex(s)
		for range 2 { // computed, then remembered
			if got := mc.find(re, key, s); !slices.Equal(got, want) {
				t.Fatalf("%s on %q: got %v, want %v", key, s, got, want)
			}
		}
	}
	for i := range matchCacheEntries + 100 {
		s := fmt.Sprintf("a=%d&id=%d", i%7, i)
		if i%3 == 0 {
			s = fmt.Sprintf("ID=%d", i)
		}
		for k, re := range res {
			check(re, fmt.Sprint(k), s)
		}
	}
	if n := len(mc.m["0"]); n > matchCacheEntries {
		t.Fatalf("table holds %d entries, bound %d", n, matchCacheEntries)
	}
	for k := range matchCachePatterns + 5 {
		check(res[0], fmt.Sprintf("p%d", k), "x&id=7")
	}
	if n := len(mc.m); n > matchCachePatterns {
		t.Fatalf("%d tables, bound %d", n, matchCachePatterns)
	}
	long := strings.Repeat("x", matchCacheMaxInput) + "&id=1"
	check(res[0], "0", long)
	if _, ok := mc.m["0"][long]; ok {
		t.Fatal("a long input was remembered")
	}
}
