package eval

import (
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// matcher tests one string against a compiled LIKE or regular expression
// pattern.
type matcher func(s string) bool

// compileLikePattern compiles a LIKE pattern with the given escape
// character ("" for none; the default is a backslash).
func compileLikePattern(pat, esc string, fold bool) (matcher, error) {
	var escR rune = -1
	if esc != "" {
		if utf8.RuneCountInString(esc) != 1 {
			return nil, pgerror.New(pgerror.CodeInvalidEscapeSequence, "invalid escape string").
				WithHint("Escape string must be empty or one character.")
		}
		escR, _ = utf8.DecodeRuneInString(esc)
	}
	// Fast paths for patterns made of one literal and % at the ends.
	if !fold && !strings.ContainsRune(pat, '_') && (escR < 0 || !strings.ContainsRune(pat, escR)) {
		lit := strings.Trim(pat, "%")
		if !strings.Contains(lit, "%") {
			pre, suf := strings.HasPrefix(pat, "%"), strings.HasSuffix(pat, "%") && len(pat) > len(lit)
			switch {
			case pat == "%" || pat == "%%":
				return func(string) bool { return true }, nil
			case pre && suf:
				return func(s string) bool { return strings.Contains(s, lit) }, nil
			case pre:
				return func(s string) bool { return strings.HasSuffix(s, lit) }, nil
			case suf:
				return func(s string) bool { return strings.HasPrefix(s, lit) }, nil
			default:
				return func(s string) bool { return s == lit }, nil
			}
		}
	}
	var b strings.Builder
	b.WriteString("^(?s")
	if fold {
		b.WriteString("i")
	}
	b.WriteString(":")
	var lit strings.Builder
	flush := func() {
		b.WriteString(regexp.QuoteMeta(lit.String()))
		lit.Reset()
	}
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == escR:
			if i+1 >= len(rs) {
				return nil, pgerror.New(pgerror.CodeInvalidEscapeSequence, "LIKE pattern must not end with escape character")
			}
			i++
			lit.WriteRune(rs[i])
		case r == '%':
			flush()
			b.WriteString(".*")
		case r == '_':
			flush()
			b.WriteString(".")
		default:
			lit.WriteRune(r)
		}
	}
	flush()
	b.WriteString(")$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, errInternal("like pattern: %v", err)
	}
	return re.MatchString, nil
}

// compileRegex compiles a POSIX-style regular expression for ~ and ~*.
func compileRegex(pat string, fold bool) (*regexp.Regexp, error) {
	if fold {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, pgerror.New("2201B", "invalid regular expression: %v", err)
	}
	return re, nil
}

// likeKind describes a pattern operator.
type likeKind struct {
	regex, fold, not bool
}

func likeKindOf(name string) (likeKind, bool) {
	switch name {
	case "like":
		return likeKind{}, true
	case "not like":
		return likeKind{not: true}, true
	case "ilike":
		return likeKind{fold: true}, true
	case "not ilike":
		return likeKind{fold: true, not: true}, true
	case "~":
		return likeKind{regex: true}, true
	case "~*":
		return likeKind{regex: true, fold: true}, true
	case "!~":
		return likeKind{regex: true, not: true}, true
	case "!~*":
		return likeKind{regex: true, fold: true, not: true}, true
	}
	return likeKind{}, false
}

func (k likeKind) compile(pat string, esc string) (matcher, error) {
	if k.regex {
		re, err := compileRegex(pat, k.fold)
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	}
	if k.fold {
		// ILIKE folds both sides; the pattern is folded by the regexp.
		return compileLikePattern(pat, esc, true)
	}
	return compileLikePattern(pat, esc, false)
}

// compileLike returns a vectorized node for a pattern match whose pattern
// (and escape) are constants, or nil.
func compileLike(e *planner.Call, args []node) node {
	kind, ok := likeKindOf(e.Fn.Name)
	if !ok || len(e.Args) < 2 {
		return nil
	}
	pc, ok := e.Args[1].(*planner.Const)
	if !ok {
		return nil
	}
	pat, ok := pc.Val.(string)
	if !ok {
		return nil
	}
	esc := `\`
	if len(e.Args) == 3 {
		ec, ok := e.Args[2].(*planner.Const)
		if !ok {
			return nil
		}
		if ec.Val == nil {
			return nil
		}
		esc, _ = ec.Val.(string)
	}
	m, err := kind.compile(pat, esc)
	if err != nil {
		return &errNode{err: err}
	}
	return &likeNode{x: args[0], m: m, not: kind.not}
}

type errNode struct{ err error }

func (n *errNode) eval(*ctx, *input) (vec, error) { return vec{}, n.err }

type likeNode struct {
	x   node
	m   matcher
	not bool
}

func (nd *likeNode) eval(c *ctx, in *input) (vec, error) {
	v, err := nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	if v.isConst() {
		s, ok := v.c.(string)
		if !ok {
			return constVec(nil, in.n), nil
		}
		return constVec(nd.m(s) != nd.not, in.n), nil
	}
	sa := v.arr.(*array.String)
	valid, nulls := andValidity(c.alloc, in.n, v)
	vals := newBitmap(c.alloc, in.n, false)
	out := vals.Bytes()
	for i := 0; i < in.n; i++ {
		if nd.m(sa.Value(i)) != nd.not {
			bitutil.SetBit(out, i)
		}
	}
	return vec{arr: boolArray(in.n, vals, valid, nulls), n: in.n}, nil
}

// patternCache caches compiled patterns for pattern matches whose pattern
// varies per row.
type patternCache struct {
	mu sync.Mutex
	m  map[[2]string]matcher
}

func (pc *patternCache) get(k likeKind, pat, esc string) (matcher, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	key := [2]string{pat, esc}
	if m, ok := pc.m[key]; ok {
		return m, nil
	}
	m, err := k.compile(pat, esc)
	if err != nil {
		return nil, err
	}
	if pc.m == nil || len(pc.m) > 256 {
		pc.m = map[[2]string]matcher{}
	}
	pc.m[key] = m
	return m, nil
}

func likeRowFactory(call *planner.Call) (rowFn, error) {
	kind, _ := likeKindOf(call.Fn.Name)
	cache := &patternCache{}
	return func(c *ctx, args []any) (any, error) {
		s, _ := args[0].(string)
		pat, _ := args[1].(string)
		esc := `\`
		if len(args) == 3 {
			esc, _ = args[2].(string)
		}
		m, err := cache.get(kind, strings.Clone(pat), strings.Clone(esc))
		if err != nil {
			return nil, err
		}
		return m(s) != kind.not, nil
	}, nil
}
