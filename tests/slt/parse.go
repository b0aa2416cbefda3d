package slt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrSyntax is wrapped by every error about a malformed test file.
var ErrSyntax = errors.New("slt: syntax error")

// Detect chooses the dialect of a file from its name and content: ".slt"
// and ".slt.part" files are sqllogictest-rs files; ".test" files and any
// file holding a hash-threshold record are SQLite files; anything else is
// read as sqllogictest-rs.
func Detect(name string, content []byte) Dialect {
	switch {
	case strings.HasSuffix(name, ".slt"), strings.HasSuffix(name, ".slt.part"):
		return DialectRS
	case strings.HasSuffix(name, ".test"):
		return DialectSQLite
	}
	for line := range bytes.Lines(content) {
		if bytes.HasPrefix(line, []byte("hash-threshold")) {
			return DialectSQLite
		}
	}
	return DialectRS
}

// ParseFile reads and parses a file, detecting its dialect.
func ParseFile(path string) ([]Record, Dialect, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("slt: read %s: %w", path, err)
	}
	d := Detect(path, content)
	recs, err := Parse(path, bytes.NewReader(content), d)
	return recs, d, err
}

// Parse reads the records of a file written in dialect d. name is used in
// record locations and errors only.
func Parse(name string, r io.Reader, d Dialect) ([]Record, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("slt: read %s: %w", name, err)
	}
	p := &parser{name: name, lines: lines, dialect: d}
	return p.parse()
}

type parser struct {
	name    string
	lines   []string
	dialect Dialect
	i       int // index of the next line
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrSyntax, p.name, line, fmt.Sprintf(format, args...))
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func isComment(s string) bool { return strings.HasPrefix(strings.TrimLeft(s, " \t"), "#") }

// body reads the lines of a record after its header up to the next blank
// line, dropping comment lines, and splits them at a "----" line.
func (p *parser) body(keepResultComments bool) (sql []string, results []string, hasResults bool) {
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if isBlank(l) {
			break
		}
		p.i++
		if !hasResults {
			if isComment(l) {
				continue
			}
			if strings.TrimSpace(l) == "----" {
				hasResults = true
				continue
			}
			sql = append(sql, l)
			continue
		}
		if !keepResultComments && isComment(l) {
			continue
		}
		results = append(results, l)
	}
	return sql, results, hasResults
}

func (p *parser) parse() ([]Record, error) {
	var recs []Record
	var conds []Condition
	conn := ""
	for p.i < len(p.lines) {
		lineNo := p.i + 1
		line := p.lines[p.i]
		if isBlank(line) || isComment(line) {
			p.i++
			continue
		}
		p.i++
		f := strings.Fields(line)
		rec := Record{File: p.name, Line: lineNo, Conditions: conds, Connection: conn}
		switch f[0] {
		case "skipif", "onlyif":
			if len(f) < 2 {
				return nil, p.errorf(lineNo, "%s needs a label", f[0])
			}
			conds = append(conds, Condition{Only: f[0] == "onlyif", Label: f[1]})
			continue
		case "connection":
			if len(f) != 2 {
				return nil, p.errorf(lineNo, "connection needs a name")
			}
			conn = f[1]
			continue
		case "statement":
			if err := p.statement(&rec, f, line); err != nil {
				return nil, err
			}
		case "query":
			if err := p.query(&rec, f, line); err != nil {
				return nil, err
			}
		case "let":
			rec.Kind = KindLet
			for _, v := range strings.Split(strings.TrimSpace(strings.TrimPrefix(line, "let")), ",") {
				if v = strings.TrimSpace(v); v != "" {
					rec.Args = append(rec.Args, v)
				}
			}
			if len(rec.Args) == 0 {
				return nil, p.errorf(lineNo, "let needs variable names")
			}
			sql, _, _ := p.body(false)
			rec.SQL = strings.Join(sql, "\n")
		case "system":
			rec.Kind = KindSystem
			sql, res, _ := p.body(true)
			rec.SQL = strings.Join(sql, "\n")
			rec.Expected = res
		case "halt":
			rec.Kind = KindHalt
		case "restart":
			rec.Kind = KindRestart
		case "hash-threshold":
			if len(f) != 2 {
				return nil, p.errorf(lineNo, "hash-threshold needs a number")
			}
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 {
				return nil, p.errorf(lineNo, "bad hash-threshold %q", f[1])
			}
			rec.Kind, rec.Threshold = KindHashThreshold, n
		case "include":
			if len(f) != 2 {
				return nil, p.errorf(lineNo, "include needs one glob")
			}
			rec.Kind, rec.Args = KindInclude, f[1:]
		case "sleep":
			if len(f) != 2 {
				return nil, p.errorf(lineNo, "sleep needs a duration")
			}
			d, err := ParseDuration(f[1])
			if err != nil {
				return nil, p.errorf(lineNo, "%v", err)
			}
			rec.Kind, rec.Duration = KindSleep, d
		case "control":
			if len(f) < 3 {
				return nil, p.errorf(lineNo, "control needs a setting and a value")
			}
			rec.Kind, rec.Args = KindControl, f[1:]
			switch f[1] {
			case "substitution":
				if f[2] != "on" && f[2] != "off" {
					return nil, p.errorf(lineNo, "control substitution takes on or off")
				}
			case "sortmode":
				if _, ok := parseSortMode(f[2]); !ok {
					return nil, p.errorf(lineNo, "bad sort mode %q", f[2])
				}
			case "resultmode":
				if f[2] != "valuewise" && f[2] != "rowwise" {
					return nil, p.errorf(lineNo, "bad result mode %q", f[2])
				}
			default:
				return nil, p.errorf(lineNo, "unknown control %q", f[1])
			}
		default:
			return nil, p.errorf(lineNo, "unknown record %q", f[0])
		}
		recs = append(recs, rec)
		conds, conn = nil, ""
	}
	return recs, nil
}

// retry parses a trailing "retry N backoff D" from words and returns the
// words before it.
func (p *parser) retry(rec *Record, words []string) ([]string, error) {
	for i, w := range words {
		if w != "retry" {
			continue
		}
		if len(words) != i+4 || words[i+2] != "backoff" {
			return nil, p.errorf(rec.Line, "retry must read: retry N backoff DURATION")
		}
		n, err := strconv.Atoi(words[i+1])
		if err != nil || n < 0 {
			return nil, p.errorf(rec.Line, "bad retry count %q", words[i+1])
		}
		d, err := ParseDuration(words[i+3])
		if err != nil {
			return nil, p.errorf(rec.Line, "%v", err)
		}
		rec.Retry, rec.Backoff = n, d
		return words[:i], nil
	}
	return words, nil
}

func (p *parser) statement(rec *Record, f []string, line string) error {
	rec.Kind = KindStatement
	if len(f) < 2 {
		return p.errorf(rec.Line, "statement needs ok, error or count")
	}
	switch f[1] {
	case "ok":
		if _, err := p.retry(rec, f[2:]); err != nil {
			return err
		}
	case "count":
		rest, err := p.retry(rec, f[2:])
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return p.errorf(rec.Line, "statement count needs a number")
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return p.errorf(rec.Line, "bad count %q", rest[0])
		}
		rec.Count, rec.HasCount = n, true
	case "error":
		rec.ExpectError = true
		rec.ErrorPattern = errorPattern(line, "statement")
	default:
		return p.errorf(rec.Line, "unknown statement mode %q", f[1])
	}
	sql, res, has := p.body(true)
	rec.SQL = strings.Join(sql, "\n")
	if has {
		if !rec.ExpectError {
			return p.errorf(rec.Line, "results after a statement that is not expected to fail")
		}
		rec.ErrorPattern, rec.ErrorExact = strings.Join(res, "\n"), true
	}
	if rec.SQL == "" {
		return p.errorf(rec.Line, "statement without SQL")
	}
	return nil
}

// errorPattern returns what follows "<kw> error" on the header line.
func errorPattern(line, kw string) string {
	s := strings.TrimSpace(line)
	s = strings.TrimSpace(strings.TrimPrefix(s, kw))
	s = strings.TrimPrefix(s, "error")
	return strings.TrimSpace(s)
}

func (p *parser) query(rec *Record, f []string, line string) error {
	rec.Kind = KindQuery
	if len(f) >= 2 && f[1] == "error" {
		rec.ExpectError = true
		rec.ErrorPattern = errorPattern(line, "query")
	} else {
		words := f[1:]
		if len(words) > 0 {
			rec.Types = words[0]
			words = words[1:]
		}
		words, err := p.retry(rec, words)
		if err != nil {
			return err
		}
		for _, w := range words {
			if m, ok := parseSortMode(w); ok && rec.Sort == SortDefault {
				rec.Sort = m
				continue
			}
			if rec.Label != "" {
				return p.errorf(rec.Line, "unexpected %q in query header", w)
			}
			rec.Label = w
		}
	}
	sql, res, has := p.body(p.dialect == DialectRS)
	rec.SQL = strings.Join(sql, "\n")
	if rec.SQL == "" {
		return p.errorf(rec.Line, "query without SQL")
	}
	if rec.ExpectError {
		if has {
			rec.ErrorPattern, rec.ErrorExact = strings.Join(res, "\n"), true
		}
		return nil
	}
	rec.Expected, rec.HasResults = res, has
	return nil
}

// ParseDuration parses durations as the test files write them: Go's syntax
// ("1s", "500ms", "1m30s") and the humantime words "sec", "min" and
// "hour".
func ParseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	r := strings.NewReplacer("hours", "h", "hour", "h", "mins", "m", "min", "m",
		"secs", "s", "sec", "s", "msec", "ms", "millis", "ms")
	d, err := time.ParseDuration(r.Replace(s))
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: %w", s, err)
	}
	return d, nil
}
