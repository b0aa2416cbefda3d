package eval

import (
	"regexp"
	"strings"
	"sync"

	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

func init() {
	reg(regexpMatchElemFactory, planner.RegexpMatchElem)
	reg(regexpLikeFactory, "regexp_like")
}

// regexCache compiles the patterns of one call site, keyed by flags and
// pattern; a pattern that is a constant compiles once and is found again
// without building a key.
type regexCache struct {
	m                  map[string]*regexp.Regexp
	lastPat, lastFlags string
	last               *regexp.Regexp
}

// get compiles pat with Postgres's flags for the function fn: i (fold
// case), c (respect case), n and m (newline-sensitive), s (the default),
// q (the pattern is a literal string). Without n, '.' matches a newline
// and ^ and $ anchor at the ends of the string, as in Postgres.
func (rc *regexCache) get(fn, pat, flags string) (*regexp.Regexp, error) {
	if rc.last != nil && pat == rc.lastPat && flags == rc.lastFlags {
		return rc.last, nil
	}
	key := flags + "\x00" + pat
	if re, ok := rc.m[key]; ok {
		rc.last, rc.lastPat, rc.lastFlags = re, strings.Clone(pat), strings.Clone(flags)
		return re, nil
	}
	fold, newline, literal := false, false, false
	for _, f := range flags {
		switch f {
		case 'i':
			fold = true
		case 'c':
			fold = false
		case 'n', 'm':
			newline = true
		case 's':
			newline = false
		case 'q':
			literal = true
		case 'g':
			return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "%s() does not support the \"global\" option", fn).
				WithHint("Use the regexp_matches function instead.")
		default:
			return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid regular expression option: \"%c\"", f)
		}
	}
	if literal {
		pat = regexp.QuoteMeta(pat)
	}
	prefix := "(?s)"
	if newline {
		prefix = "(?m)"
	}
	if fold {
		prefix += "(?i)"
	}
	re, err := regexp.Compile(prefix + pat)
	if err != nil {
		return nil, pgerror.New("2201B", "invalid regular expression: %v", err)
	}
	if rc.m == nil || len(rc.m) > 256 {
		rc.m = map[string]*regexp.Regexp{}
	}
	rc.m[strings.Clone(key)] = re
	rc.last, rc.lastPat, rc.lastFlags = re, strings.Clone(pat), strings.Clone(flags)
	return re, nil
}

// regexpMatchElemFactory implements (regexp_match(s, pattern [, flags]))[i]:
// element i (1-based) of the text[] regexp_match returns, which is the
// i-th capture group of the first match, or the whole match when the
// pattern has no groups. No match, an index out of range and a group that
// did not take part in the match are NULL.
func regexpMatchElemFactory(call *planner.Call) (rowFn, error) {
	rc := &regexCache{}
	return func(c *ctx, a []any) (any, error) {
		s, pat, idx := toS(a[0]), toS(a[1]), toI(a[len(a)-1])
		flags := ""
		if len(a) == 4 {
			flags = toS(a[2])
		}
		re, err := rc.get("regexp_match", pat, flags)
		if err != nil {
			return nil, err
		}
		n := int64(re.NumSubexp())
		if n == 0 {
			n = 1
		}
		if idx < 1 || idx > n {
			return nil, nil // outside the array
		}
		loc := matches.find(re, flags+"\x00"+pat, s)
		if loc == nil {
			return nil, nil
		}
		if re.NumSubexp() == 0 {
			return s[loc[0]:loc[1]], nil
		}
		if loc[2*idx] < 0 {
			return nil, nil
		}
		return s[loc[2*idx]:loc[2*idx+1]], nil
	}, nil
}

// regexpLikeFactory implements regexp_like(s, pattern [, flags]).
func regexpLikeFactory(call *planner.Call) (rowFn, error) {
	rc := &regexCache{}
	return func(c *ctx, a []any) (any, error) {
		flags := ""
		if len(a) == 3 {
			flags = toS(a[2])
		}
		re, err := rc.get("regexp_like", toS(a[1]), flags)
		if err != nil {
			return nil, err
		}
		return re.MatchString(toS(a[0])), nil
	}, nil
}

// matches remembers the submatch positions of regexp_match per pattern and
// input across evaluations: the inputs of a stream's regular expressions
// (urls, user agents) come from a bounded set that every batch draws from
// anew, and a match costs microseconds. Rows repeated within a batch are
// memoized by rowNode already; this serves the first row of each value in
// later batches and statements. It is bounded: a pattern's table is
// dropped when it reaches matchCacheEntries, all tables when there are
// matchCachePatterns of them.
var matches = &matchCache{}

const (
	matchCacheEntries  = 1 << 14
	matchCachePatterns = 64
	matchCacheMaxInput = 256 // longer inputs are matched, not remembered
)

type matchCache struct {
	mu sync.Mutex
	m  map[string]map[string][]int // flags\x00pattern -> input -> loc
}

// find returns re.FindStringSubmatchIndex(s); key identifies re. The
// result is shared: callers must not modify it.
func (mc *matchCache) find(re *regexp.Regexp, key, s string) []int {
	if len(s) > matchCacheMaxInput {
		return re.FindStringSubmatchIndex(s)
	}
	mc.mu.Lock()
	t := mc.m[key]
	loc, ok := t[s]
	mc.mu.Unlock()
	if ok {
		return loc
	}
	loc = re.FindStringSubmatchIndex(s)
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.m == nil || len(mc.m) >= matchCachePatterns && mc.m[key] == nil {
		mc.m = map[string]map[string][]int{}
	}
	t = mc.m[key]
	if t == nil || len(t) >= matchCacheEntries {
		t = map[string][]int{}
		mc.m[strings.Clone(key)] = t
	}
	t[strings.Clone(s)] = loc
	return loc
}
