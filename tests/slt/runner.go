package slt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultHashThreshold is the hash threshold of SQLite files until a
// hash-threshold record changes it. sqllogictest-rs files start at 0 (never
// hash).
const DefaultHashThreshold = 8

// Runner runs test files. Connect is required; every other field may be
// left zero.
type Runner struct {
	// Connect opens a connection to the server under test. It is called
	// once per named connection used by a file, and again after a restart
	// or a lost connection. The runner closes what it opens.
	Connect func(ctx context.Context) (*pgx.Conn, error)
	// Restart, if set, restarts the server for the "restart" directive.
	// The runner closes its connections before calling it.
	Restart func(ctx context.Context) error
	// Labels are the names this database answers to in skipif/onlyif
	// conditions, such as "postgresql".
	Labels []string
	// Verbose prints every record as it runs to Out.
	Verbose bool
	// Out receives verbose output; nil discards it.
	Out io.Writer
	// StopOnFail ends a file at its first failing record.
	StopOnFail bool
	// RecordTimeout bounds each attempt of a record; zero means no limit.
	RecordTimeout time.Duration
	// Vars are extra variables for "control substitution on", alongside
	// the environment and the built-in $__TEST_DIR__, $__NOW__ and
	// $__DATABASE__.
	Vars map[string]string
}

// Result counts the records of a file.
type Result struct {
	Passed, Failed, Skipped int
	// Failures describe the failed records in file order.
	Failures []Failure
}

// Add adds the counts and failures of o to r.
func (r *Result) Add(o Result) {
	r.Passed += o.Passed
	r.Failed += o.Failed
	r.Skipped += o.Skipped
	r.Failures = append(r.Failures, o.Failures...)
}

// Failure describes one failed record.
type Failure struct {
	File string
	Line int
	SQL  string
	// Expected and Got are the compared results, one line each; empty
	// when the record failed with Err instead.
	Expected []string
	Got      []string
	// Err is the error that failed the record, if any.
	Err error
}

// String returns a multi-line description of the failure.
func (f Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: ", f.File, f.Line)
	if f.Err != nil {
		fmt.Fprintf(&b, "%v\n", f.Err)
	} else {
		b.WriteString("wrong result\n")
	}
	for _, l := range strings.Split(f.SQL, "\n") {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	if f.Err == nil {
		b.WriteString("  expected:\n")
		for _, l := range f.Expected {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		b.WriteString("  got:\n")
		for _, l := range f.Got {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	return b.String()
}

// errHalt stops the current file after a halt record.
var errHalt = errors.New("slt: halt")

// run is the state of one RunFile call.
type run struct {
	r            *Runner
	conns        map[string]*pgx.Conn
	res          Result
	threshold    int
	thresholdSet bool
	sortMode     SortMode
	valuewise    bool
	subst        bool
	vars         map[string]string
	labels       map[string]string // label → hash
	testDir      string
	depth        int
}

// RunFile runs one file in a fresh session: its own connections, hash
// threshold, sort mode, labels and variables. The error is non-nil only
// when the file cannot be read or parsed, or ctx ends; failing records are
// reported in the Result. Records run before a parse error are not run:
// the whole file is parsed first.
func (r *Runner) RunFile(ctx context.Context, path string) (Result, error) {
	if r.Connect == nil {
		return Result{}, errors.New("slt: Runner.Connect is nil")
	}
	st := &run{
		r:      r,
		conns:  map[string]*pgx.Conn{},
		vars:   map[string]string{},
		labels: map[string]string{},
	}
	defer st.closeAll()
	dir, err := os.MkdirTemp("", "slt-*")
	if err != nil {
		return Result{}, fmt.Errorf("slt: test dir: %w", err)
	}
	defer os.RemoveAll(dir)
	st.testDir = dir
	err = st.runFile(ctx, path)
	if errors.Is(err, errHalt) {
		err = nil
	}
	return st.res, err
}

func (st *run) runFile(ctx context.Context, path string) error {
	recs, d, err := ParseFile(path)
	if err != nil {
		return err
	}
	if !st.thresholdSet && st.depth == 0 {
		if d == DialectSQLite {
			st.threshold = DefaultHashThreshold
		}
	}
	for i := range recs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("slt: %s: %w", path, err)
		}
		if err := st.record(ctx, &recs[i], d, path); err != nil {
			return err
		}
		if st.r.StopOnFail && st.res.Failed > 0 {
			return errHalt
		}
	}
	return nil
}

func (st *run) logf(format string, args ...any) {
	if st.r.Verbose && st.r.Out != nil {
		fmt.Fprintf(st.r.Out, format, args...)
	}
}

func (st *run) skipped(rec *Record) bool {
	for _, c := range rec.Conditions {
		has := slices.Contains(st.r.Labels, c.Label)
		if c.Only != has {
			return true
		}
	}
	return false
}

func (st *run) fail(rec *Record, f Failure) {
	f.File, f.Line = rec.File, rec.Line
	if f.SQL == "" {
		f.SQL = rec.SQL
	}
	st.res.Failed++
	st.res.Failures = append(st.res.Failures, f)
	st.logf("%s: FAIL\n", rec.Loc())
}

func (st *run) pass(rec *Record) {
	st.res.Passed++
	st.logf("%s: ok\n", rec.Loc())
}

func (st *run) record(ctx context.Context, rec *Record, d Dialect, path string) error {
	if st.skipped(rec) {
		if rec.Kind == KindStatement || rec.Kind == KindQuery || rec.Kind == KindLet ||
			rec.Kind == KindSystem || rec.Kind == KindRestart {
			st.res.Skipped++
			st.logf("%s: skipped\n", rec.Loc())
		}
		return nil
	}
	switch rec.Kind {
	case KindHalt:
		return errHalt
	case KindHashThreshold:
		st.threshold, st.thresholdSet = rec.Threshold, true
	case KindControl:
		switch rec.Args[0] {
		case "substitution":
			st.subst = rec.Args[1] == "on"
		case "sortmode":
			st.sortMode, _ = parseSortMode(rec.Args[1])
		case "resultmode":
			st.valuewise = rec.Args[1] == "valuewise"
		}
	case KindSleep:
		st.logf("%s: sleep %v\n", rec.Loc(), rec.Duration)
		if err := sleep(ctx, rec.Duration); err != nil {
			return fmt.Errorf("slt: %s: %w", rec.Loc(), err)
		}
	case KindSystem:
		st.res.Skipped++
		st.logf("%s: system skipped\n", rec.Loc())
	case KindInclude:
		return st.include(ctx, rec, path)
	case KindRestart:
		if err := st.restart(ctx); err != nil {
			st.fail(rec, Failure{SQL: "restart", Err: err})
		} else {
			st.pass(rec)
		}
	case KindLet:
		st.let(ctx, rec)
	case KindStatement, KindQuery:
		var f *Failure
		for attempt := 0; ; attempt++ {
			f = st.attempt(ctx, rec, d)
			if f == nil || attempt >= rec.Retry || ctx.Err() != nil {
				break
			}
			st.logf("%s: retry %d after %v\n", rec.Loc(), attempt+1, rec.Backoff)
			if err := sleep(ctx, rec.Backoff); err != nil {
				break
			}
		}
		if f != nil {
			st.fail(rec, *f)
		} else {
			st.pass(rec)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("slt: %s: %w", rec.Loc(), err)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (st *run) include(ctx context.Context, rec *Record, path string) error {
	pattern := rec.Args[0]
	if st.subst {
		pattern = st.substitute(pattern)
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(path), pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("slt: %s: include %q: %w", rec.Loc(), rec.Args[0], err)
	}
	if len(matches) == 0 {
		st.fail(rec, Failure{SQL: "include " + rec.Args[0], Err: errors.New("include matches no file")})
		return nil
	}
	if st.depth > 16 {
		return fmt.Errorf("slt: %s: includes nested too deep", rec.Loc())
	}
	slices.Sort(matches)
	st.depth++
	defer func() { st.depth-- }()
	for _, m := range matches {
		if err := st.runFile(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (st *run) closeAll() {
	for name, c := range st.conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Close(ctx)
		cancel()
		delete(st.conns, name)
	}
}

func (st *run) restart(ctx context.Context) error {
	if st.r.Restart == nil {
		return errors.New("restart: the runner has no Restart function")
	}
	st.closeAll()
	if err := st.r.Restart(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	_, err := st.conn(ctx, "")
	return err
}

// conn returns the named connection, opening it if needed or lost.
func (st *run) conn(ctx context.Context, name string) (*pgx.Conn, error) {
	if c, ok := st.conns[name]; ok {
		if !c.IsClosed() {
			return c, nil
		}
		delete(st.conns, name)
	}
	c, err := st.r.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	st.conns[name] = c
	return c, nil
}

// exec runs sql with the simple protocol and returns the last result that
// has a row description, else the last result.
func (st *run) exec(ctx context.Context, rec *Record, sql string) (*pgconn.Result, error) {
	if st.r.RecordTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.r.RecordTimeout)
		defer cancel()
	}
	c, err := st.conn(ctx, rec.Connection)
	if err != nil {
		return nil, err
	}
	mrr := c.PgConn().Exec(ctx, sql)
	var last *pgconn.Result
	for mrr.NextResult() {
		res := readResult(mrr.ResultReader())
		if res.FieldDescriptions != nil || last == nil || last.FieldDescriptions == nil {
			last = res
		}
	}
	if err := mrr.Close(); err != nil {
		return nil, err
	}
	if last == nil {
		last = &pgconn.Result{}
	}
	return last, nil
}

// readResult reads one result. Unlike ResultReader.Read it keeps the row
// description of a result without rows, so an empty query result still
// has its columns.
func readResult(rr *pgconn.ResultReader) *pgconn.Result {
	res := &pgconn.Result{}
	if fds := rr.FieldDescriptions(); fds != nil {
		res.FieldDescriptions = slices.Clone(fds)
	}
	for rr.NextRow() {
		values := rr.Values()
		row := make([][]byte, len(values))
		for i, v := range values {
			if v != nil {
				row[i] = slices.Clone(v)
				if row[i] == nil {
					row[i] = []byte{}
				}
			}
		}
		res.Rows = append(res.Rows, row)
	}
	res.CommandTag, res.Err = rr.Close()
	return res
}

func (st *run) sql(rec *Record) string {
	if st.subst {
		return st.substitute(rec.SQL)
	}
	return rec.SQL
}

// attempt runs a statement or query once and returns nil if it passed.
func (st *run) attempt(ctx context.Context, rec *Record, d Dialect) *Failure {
	sql := st.sql(rec)
	res, err := st.exec(ctx, rec, sql)
	if rec.ExpectError {
		if err == nil {
			return &Failure{SQL: sql, Err: errors.New("expected an error, got success")}
		}
		if ctx.Err() != nil {
			return &Failure{SQL: sql, Err: err}
		}
		if !errorMatches(rec, err) {
			return &Failure{SQL: sql, Err: fmt.Errorf("error %q does not match %q", errText(err), rec.ErrorPattern)}
		}
		return nil
	}
	if err != nil {
		return &Failure{SQL: sql, Err: err}
	}
	if rec.Kind == KindStatement {
		if rec.HasCount && res.CommandTag.RowsAffected() != rec.Count {
			return &Failure{SQL: sql, Err: fmt.Errorf("expected %d rows affected, got %d (%s)",
				rec.Count, res.CommandTag.RowsAffected(), res.CommandTag.String())}
		}
		return nil
	}
	return st.compare(rec, d, sql, res)
}

func errText(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	return err.Error()
}

func errorMatches(rec *Record, err error) bool {
	if rec.ErrorPattern == "" {
		return true
	}
	full, msg := err.Error(), errText(err)
	if rec.ErrorExact {
		want := strings.TrimSpace(rec.ErrorPattern)
		return want == strings.TrimSpace(msg) || want == strings.TrimSpace(full) ||
			strings.Contains(full, want)
	}
	re, rerr := regexp.Compile(rec.ErrorPattern)
	if rerr != nil {
		return strings.Contains(full, rec.ErrorPattern)
	}
	return re.MatchString(full) || re.MatchString(msg)
}

// columns converts the row description.
func columns(res *pgconn.Result) []Column {
	cols := make([]Column, len(res.FieldDescriptions))
	for i, fd := range res.FieldDescriptions {
		cols[i] = Column{Name: fd.Name, OID: fd.DataTypeOID}
	}
	return cols
}

// render turns the result into rendered rows for the dialect.
func render(d Dialect, types string, res *pgconn.Result) [][]string {
	cols := columns(res)
	rows := make([][]string, len(res.Rows))
	for i, raw := range res.Rows {
		row := make([]string, len(raw))
		for j, v := range raw {
			if d == DialectSQLite {
				typ := byte('T')
				if j < len(types) {
					typ = types[j]
				}
				var col Column
				if j < len(cols) {
					col = cols[j]
				}
				row[j] = RenderSQLite(v, typ, col)
			} else {
				row[j] = RenderRS(v)
			}
		}
		rows[i] = row
	}
	return rows
}

func (st *run) compare(rec *Record, d Dialect, sql string, res *pgconn.Result) *Failure {
	rows := render(d, rec.Types, res)
	if d == DialectSQLite && len(res.FieldDescriptions) != len(rec.Types) {
		return &Failure{SQL: sql, Err: fmt.Errorf("query has %d columns, the record declares %d (%q)",
			len(res.FieldDescriptions), len(rec.Types), rec.Types)}
	}
	mode := rec.Sort
	if mode == SortDefault {
		mode = st.sortMode
	}
	var values []string
	switch mode {
	case RowSort:
		SortRows(rows)
		values = Flatten(rows)
	case ValueSort:
		values = Flatten(rows)
		slices.Sort(values)
		rows = nil
		for _, v := range values {
			rows = append(rows, []string{v})
		}
	default:
		values = Flatten(rows)
	}

	var f *Failure
	if n, hash, ok := parseHashLine(rec.Expected); ok {
		if n != len(values) || hash != Hash(values) {
			f = &Failure{SQL: sql, Expected: rec.Expected, Got: []string{HashLine(values)}}
		}
	} else if !matches(d, st.valuewise, rec.Expected, rows, values) {
		got := gotLines(d, st.valuewise, rows, values)
		if st.threshold > 0 && len(values) > st.threshold && len(rec.Expected) <= 1 {
			got = append(got, HashLine(values))
		}
		f = &Failure{SQL: sql, Expected: rec.Expected, Got: got}
	}
	if f != nil {
		return f
	}
	if rec.Label != "" {
		h := HashLine(values)
		if prev, ok := st.labels[rec.Label]; ok && prev != h {
			return &Failure{SQL: sql, Err: fmt.Errorf("label %s: result %s differs from earlier %s", rec.Label, h, prev)}
		}
		st.labels[rec.Label] = h
	}
	return nil
}

func gotLines(d Dialect, valuewise bool, rows [][]string, values []string) []string {
	if d == DialectSQLite || valuewise {
		return values
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, " ")
	}
	return out
}

// matches compares expected lines with the result. SQLite files list one
// value per line; some write one row per line, which is accepted too.
// sqllogictest-rs files list one row per line, compared after whitespace
// normalisation.
func matches(d Dialect, valuewise bool, expected []string, rows [][]string, values []string) bool {
	if d == DialectSQLite || valuewise {
		if len(expected) == len(values) {
			ok := true
			for i, e := range expected {
				if strings.TrimSpace(e) != values[i] {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
	}
	if len(expected) != len(rows) {
		return false
	}
	for i, e := range expected {
		if normalizeRow(e) != normalizeRow(strings.Join(rows[i], " ")) {
			return false
		}
	}
	return true
}

func (st *run) let(ctx context.Context, rec *Record) {
	sql := st.sql(rec)
	res, err := st.exec(ctx, rec, sql)
	if err != nil {
		st.fail(rec, Failure{SQL: sql, Err: err})
		return
	}
	if len(res.Rows) == 0 {
		st.fail(rec, Failure{SQL: sql, Err: errors.New("let: the query returned no rows")})
		return
	}
	row := res.Rows[0]
	if len(row) != len(rec.Args) {
		st.fail(rec, Failure{SQL: sql, Err: fmt.Errorf("let: %d variables for %d columns", len(rec.Args), len(row))})
		return
	}
	for i, name := range rec.Args {
		st.vars[name] = string(row[i])
	}
	st.pass(rec)
}

// substitute replaces $name and ${name} with variables: let bindings,
// Runner.Vars, the built-ins and the environment, in that order. Unknown
// names, "$$" and positional "$1" are left alone; "\$" is a literal "$".
func (st *run) substitute(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		name, end := "", i
		if s[i+1] == '{' {
			if j := strings.IndexByte(s[i+2:], '}'); j >= 0 {
				name, end = s[i+2:i+2+j], i+2+j
			}
		} else {
			j := i + 1
			for j < len(s) && (s[j] == '_' || isAlpha(s[j]) || (j > i+1 && isDigit(s[j]))) {
				j++
			}
			name, end = s[i+1:j], j-1
		}
		if v, ok := st.lookup(name); ok && name != "" {
			b.WriteString(v)
			i = end
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (st *run) lookup(name string) (string, bool) {
	if v, ok := st.vars[name]; ok {
		return v, true
	}
	if v, ok := st.r.Vars[name]; ok {
		return v, true
	}
	switch name {
	case "__TEST_DIR__":
		return st.testDir, true
	case "__NOW__":
		return strconv.FormatInt(time.Now().UnixNano(), 10), true
	case "__DATABASE__":
		if c, ok := st.conns[""]; ok {
			return c.Config().Database, true
		}
	}
	return os.LookupEnv(name)
}
