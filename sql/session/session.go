package session

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/sql/pgwire"
)

func init() {
	planner.DefaultParser = parser.ParseExpr
}

// Session is one client's state. It implements pgwire.Session.
type Session struct {
	eng      *Engine
	user, db string
	settings map[string]string
	changed  [][2]string
	tx       byte
	txn      *txnState
	// returned holds the RETURNING rows of the statement running now.
	returned []arrow.RecordBatch
	// implicit is set while the statements of one multi-statement
	// simple query run as an implicit transaction.
	implicit bool
	notices  []*pgerror.Error
}

// TakeNotices implements pgwire.Noticer.
func (s *Session) TakeNotices() []*pgerror.Error {
	out := s.notices
	s.notices = nil
	return out
}

var _ pgwire.Session = (*Session)(nil)

// NewSession implements pgwire.Handler.
func (e *Engine) NewSession(ctx context.Context, p pgwire.StartupParams) (pgwire.Session, error) {
	s := &Session{eng: e, user: p.User, db: p.Database, settings: map[string]string{}, tx: 'I'}
	if s.db == "" {
		s.db = s.user
	}
	for k, v := range p.Options {
		k = strings.ToLower(k)
		if k == "user" || k == "database" || k == "options" || k == "replication" {
			continue
		}
		if _, ok := settingDefaults[k]; ok {
			s.settings[k] = v
		}
	}
	return s, nil
}

// Status implements pgwire.Session.
func (s *Session) Status() [][2]string {
	var out [][2]string
	for _, k := range reportedSettings {
		v, _ := s.setting(k)
		out = append(out, [2]string{settingNames[k], v})
	}
	return out
}

// TxStatus implements pgwire.Session.
func (s *Session) TxStatus() byte { return s.tx }

// ParamChanges implements pgwire.Session.
func (s *Session) ParamChanges() [][2]string {
	out := s.changed
	s.changed = nil
	return out
}

// Close implements pgwire.Session. An open transaction block is rolled
// back.
func (s *Session) Close() error { return s.endBlock(context.Background(), false) }

// Parse implements pgwire.Session.
func (s *Session) Parse(ctx context.Context, sql string) ([]pgwire.Statement, error) {
	stmts, err := s.eng.parse(sql)
	if err != nil {
		s.failed()
		return nil, err
	}
	out := make([]pgwire.Statement, len(stmts))
	for i, st := range stmts {
		out[i] = &statement{s: s, st: st}
	}
	// Several statements in one simple query run as one implicit
	// transaction, as in Postgres, unless they control transactions
	// themselves.
	if len(stmts) > 1 && s.tx == 'I' {
		s.implicit = true
		for _, st := range stmts {
			if _, ok := st.AST.(*ast.Transaction); ok {
				s.implicit = false
			}
		}
		if s.implicit {
			out[len(out)-1].(*statement).last = true
		}
	}
	return out, nil
}

// Prepare implements pgwire.Session.
func (s *Session) Prepare(ctx context.Context, sql string, paramOIDs []uint32) (pgwire.Statement, error) {
	stmts, err := s.eng.parse(sql)
	if err != nil {
		s.failed()
		return nil, err
	}
	if len(stmts) == 0 {
		return nil, nil
	}
	if len(stmts) > 1 {
		return nil, pgerror.New(pgerror.CodeSyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	st := &statement{s: s, st: stmts[0], prepared: true}
	for _, oid := range paramOIDs {
		t, ok := catalog.TypeByOID(oid)
		if !ok {
			return nil, pgerror.New(pgerror.CodeUndefinedObject, "type with OID %d is not supported", oid)
		}
		st.params = append(st.params, t)
	}
	if err := st.describe(); err != nil {
		s.failed()
		return nil, err
	}
	return st, nil
}

// failed moves an open transaction block to the failed state.
func (s *Session) failed() {
	if s.tx == 'T' {
		s.tx = 'E'
	}
	if s.implicit {
		s.implicit = false
		_ = s.endBlock(context.Background(), false)
	}
}

// statement is a parsed statement.
type statement struct {
	s *Session
	// last marks the final statement of an implicit transaction.
	last     bool
	st       parser.Stmt
	prepared bool
	params   []catalog.Type
	cols     []pgwire.Column
}

// describe binds a prepared statement to learn its parameter and result
// types.
func (st *statement) describe() error {
	if x, ok := st.st.AST.(*ast.Select); ok {
		q, err := st.s.eng.planSelect(st.st.Text, x, st.params)
		if err != nil {
			return err
		}
		st.cols = columnsOf(q.Cols)
		st.params = append([]catalog.Type(nil), q.Params...)
		for i, t := range st.params {
			if t.ID == catalog.Unknown {
				st.params[i] = catalog.TypeText
			}
		}
		return nil
	}
	b := planner.NewBinder(st.s.eng, st.params)
	switch x := st.st.AST.(type) {
	case *ast.Insert:
		p, err := b.BindInsert(x)
		if err != nil {
			return err
		}
		if p.Returning != nil {
			st.cols = columnsOf(p.Returning.Cols)
		}
	case *ast.Update:
		p, err := b.BindUpdate(x)
		if err != nil {
			return err
		}
		if p.Returning != nil {
			st.cols = columnsOf(p.Returning.Cols)
		}
	case *ast.Delete:
		p, err := b.BindDelete(x)
		if err != nil {
			return err
		}
		if p.Returning != nil {
			st.cols = columnsOf(p.Returning.Cols)
		}
	default:
		st.cols = utilityColumns(st.s, st.st.AST)
	}
	st.params = b.Params()
	for i, t := range st.params {
		if t.ID == catalog.Unknown {
			st.params[i] = catalog.TypeText
		}
	}
	return nil
}

func columnsOf(cols []planner.Column) []pgwire.Column {
	out := make([]pgwire.Column, 0, len(cols))
	for _, c := range cols {
		out = append(out, pgwire.Column{Name: c.Name, Type: c.Type})
	}
	return out
}

// ParamTypes implements pgwire.Statement.
func (st *statement) ParamTypes() []catalog.Type { return st.params }

// Columns implements pgwire.Statement.
func (st *statement) Columns() []pgwire.Column { return st.cols }

// Bind implements pgwire.Statement.
func (st *statement) Bind(ctx context.Context, params []any) (pgwire.Portal, error) {
	p, err := st.bind(ctx, params)
	if err != nil {
		st.s.failed()
		return nil, err
	}
	return p, nil
}

func (st *statement) bind(ctx context.Context, params []any) (*portal, error) {
	s := st.s
	if s.tx == 'E' {
		switch x := st.st.AST.(type) {
		case *ast.Transaction:
			if x.Kind == ast.TxBegin {
				break
			}
		default:
			return nil, pgerror.New(pgerror.CodeInFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
		}
	}
	p := &portal{s: s, st: st, params: params}
	if task, ok := killTaskCall(st.st.AST); ok {
		if err := s.eng.fw.kill(task); err != nil {
			return nil, pgerror.New(pgerror.CodeUndefinedObject, "%v", err)
		}
		p.cols = textColumns("kill_task")
		p.results = []arrow.RecordBatch{s.textBatch([]string{"kill_task"}, [][]string{{task}})}
		p.started, p.tag = true, "SELECT 1"
		return p, nil
	}
	switch x := st.st.AST.(type) {
	case *ast.Select:
		q, err := s.eng.planSelect(st.st.Text, x, st.params)
		if err != nil {
			return nil, err
		}
		p.query = q
		p.cols = columnsOf(q.Cols)
	case *ast.Insert, *ast.Update, *ast.Delete:
		cols, err := returningColumns(s, st)
		if err != nil {
			return nil, err
		}
		p.cols = cols
	default:
		p.cols = utilityColumns(s, st.st.AST)
	}
	return p, nil
}

// returningColumns binds a DML statement with RETURNING to learn its
// result columns (nil without RETURNING).
func returningColumns(s *Session, st *statement) ([]pgwire.Column, error) {
	b := planner.NewBinder(s.eng, st.params)
	var r *planner.Returning
	switch x := st.st.AST.(type) {
	case *ast.Insert:
		if len(x.Returning) == 0 {
			return nil, nil
		}
		p, err := b.BindInsert(x)
		if err != nil {
			return nil, err
		}
		r = p.Returning
	case *ast.Update:
		if len(x.Returning) == 0 {
			return nil, nil
		}
		p, err := b.BindUpdate(x)
		if err != nil {
			return nil, err
		}
		r = p.Returning
	case *ast.Delete:
		if len(x.Returning) == 0 {
			return nil, nil
		}
		p, err := b.BindDelete(x)
		if err != nil {
			return nil, err
		}
		r = p.Returning
	}
	if r == nil {
		return nil, nil
	}
	return columnsOf(r.Cols), nil
}

// killTaskCall recognises SELECT sys.kill_task('id'), the operator's way
// to kill a task and watch its job recover.
func killTaskCall(st ast.Statement) (string, bool) {
	sel, ok := st.(*ast.Select)
	if !ok {
		return "", false
	}
	core, ok := sel.Body.(*ast.SelectCore)
	if !ok || len(core.From) > 0 || len(core.Items) != 1 {
		return "", false
	}
	f, ok := core.Items[0].Expr.(*ast.Func)
	if !ok || (f.Name != "kill_task" && f.Name != "sys.kill_task") || len(f.Args) != 1 {
		return "", false
	}
	lit, ok := f.Args[0].(*ast.Literal)
	if !ok || lit.Kind != ast.LitString {
		return "", false
	}
	return lit.Val, true
}

// portal is a bound statement; it runs on the first Next.
type portal struct {
	s      *Session
	st     *statement
	params []any
	query  *planner.Query
	cols   []pgwire.Column

	started bool
	done    bool
	tag     string
	rows    int64
	op      exec.Operator
	snap    interface{ Close() error }
	// endDemand ends the query's batch demand (see batchGate).
	endDemand func()
	results   []arrow.RecordBatch // precomputed results of utility statements
	copyIn    pgwire.CopyIn
	// deadline is when statement_timeout ends the statement; the year-1
	// time means none.
	deadline time.Time
}

// statementDeadline returns when a statement starting now times out, or
// the year-1 time for no timeout.
func (s *Session) statementDeadline() time.Time {
	v, _ := s.setting("statement_timeout")
	d, err := parseTimeout(v)
	if err != nil || d <= 0 {
		return time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)
	}
	return time.Now().Add(d)
}

// parseTimeout reads a timeout setting: milliseconds, or with a unit
// (ms, s, min, h).
func parseTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(strings.Trim(v, "'"))
	if v == "" || v == "0" {
		return 0, nil
	}
	units := []struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"min", time.Minute}, {"s", time.Second}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	mult := time.Millisecond
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.d
			break
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid value for statement_timeout")
	}
	return time.Duration(n * float64(mult)), nil
}

// Columns implements pgwire.Portal.
func (p *portal) Columns() []pgwire.Column { return p.cols }

// Tag implements pgwire.Portal.
func (p *portal) Tag() string { return p.tag }

// CopyIn implements pgwire.Portal.
func (p *portal) CopyIn() pgwire.CopyIn {
	if c, ok := p.st.st.AST.(*ast.Copy); ok && !c.To {
		if p.copyIn == nil {
			ci, err := p.s.newCopyIn(c)
			if err != nil {
				return &failedCopy{err: err}
			}
			p.copyIn = ci
		}
		return p.copyIn
	}
	return nil
}

// Next implements pgwire.Portal.
func (p *portal) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if p.deadline.IsZero() {
		p.deadline = p.s.statementDeadline()
	}
	if !p.deadline.IsZero() && p.deadline.Year() > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, p.deadline)
		defer cancel()
	}
	b, err := p.nextInBudget(ctx)
	if err != nil && err != io.EOF {
		p.s.failed()
		p.cleanup()
	}
	if err == io.EOF && p.st.last && p.s.implicit {
		p.s.implicit = false
		if cerr := p.s.endBlock(ctx, true); cerr != nil {
			return nil, cerr
		}
		if cerr := p.s.afterWrite(ctx); cerr != nil {
			return nil, cerr
		}
	}
	return b, err
}

// nextInBudget is next, with a query's memory budget running out (see
// exec.Budget) turned into the statement's error.
func (p *portal) nextInBudget(ctx context.Context) (b arrow.RecordBatch, err error) {
	defer func() {
		if r := recover(); r != nil {
			e := exec.BudgetError(r)
			if e == nil {
				panic(r)
			}
			b, err = nil, e
		}
	}()
	return p.next(ctx)
}

func (p *portal) next(ctx context.Context) (arrow.RecordBatch, error) {
	if p.done {
		return nil, io.EOF
	}
	if !p.started {
		p.started = true
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	}
	if p.op != nil {
		b, err := p.op.Next(ctx)
		if err == io.EOF {
			p.tag = fmt.Sprintf("SELECT %d", p.rows)
			p.done = true
			p.cleanup()
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		p.rows += b.NumRows()
		return b, nil
	}
	if len(p.results) > 0 {
		b := p.results[0]
		p.results = p.results[1:]
		return b, nil
	}
	p.done = true
	return nil, io.EOF
}

func (p *portal) cleanup() {
	if p.op != nil {
		p.op.Close()
		p.op = nil
	}
	if p.snap != nil {
		p.snap.Close()
		p.snap = nil
	}
	if p.endDemand != nil {
		p.endDemand()
		p.endDemand = nil
	}
	for _, b := range p.results {
		b.Release()
	}
	p.results = nil
}

// Close implements pgwire.Portal.
func (p *portal) Close() error {
	p.cleanup()
	return nil
}

// env returns the execution environment of a statement.
func (s *Session) env(params []any, st exec.Storage) *exec.Env {
	return &exec.Env{
		Env: eval.Env{
			Alloc:    s.eng.alloc,
			Params:   params,
			Now:      time.Now().UnixMicro(),
			Setting:  s.setting,
			User:     s.user,
			Database: s.db,
		},
		Storage: st,
	}
}

// start runs the statement (or, for a query, opens its operators).
func (p *portal) start(ctx context.Context) error {
	s := p.s
	if p.query != nil {
		var st exec.Storage
		if hasScan(p.query.Plan) {
			// An interactive query over stored data: view tasks yield to
			// it. Reading system tables (monitoring polls) is not.
			if readsUserData(p.query.Plan) {
				p.endDemand = s.eng.batchDemand()
			}
			var rd tableReader = s.blockReader()
			if rd == nil {
				snap := s.eng.store.NewSnapshot()
				p.snap = snap
				rd = snap
			}
			st = &storage{eng: s.eng, snap: rd, mem: s.eng.alloc}
		}
		env := s.env(p.params, st)
		env.Alloc = exec.NewBudget(s.eng.alloc, s.statementMem(), "statement_mem")
		op, err := exec.Build(env, p.query.Plan)
		if err != nil {
			return err
		}
		// Set before Open: cleanup closes it whether Open fails or
		// panics (a budget's, recovered by nextInBudget).
		p.op = op
		return op.Open(ctx)
	}
	tag, results, err := s.execute(ctx, p.st, p.params)
	if err != nil {
		return err
	}
	p.tag = tag
	p.results = results
	return nil
}

// hasScan reports whether a plan reads stored relations (including in
// subqueries), and so needs a snapshot.
// readsUserData reports whether a plan scans a table, stream or view
// (not only system tables), subqueries included.
func readsUserData(n planner.Node) bool {
	found := false
	var walk func(n planner.Node)
	walk = func(n planner.Node) {
		if s, ok := n.(*planner.Scan); ok && s.Rel.Kind != catalog.KindSystem {
			found = true
		}
		planner.WalkNodeExprs(n, func(e planner.Expr) {
			planner.WalkExpr(e, func(x planner.Expr) bool {
				if sq, ok := x.(*planner.Subquery); ok {
					walk(sq.Plan)
				}
				return !found
			})
		})
		for _, c := range n.Children() {
			walk(c)
		}
	}
	walk(n)
	return found
}

func hasScan(n planner.Node) bool {
	if _, ok := n.(*planner.Scan); ok {
		return true
	}
	found := false
	planner.WalkNodeExprs(n, func(e planner.Expr) {
		planner.WalkExpr(e, func(x planner.Expr) bool {
			if sq, ok := x.(*planner.Subquery); ok && hasScan(sq.Plan) {
				found = true
			}
			return !found
		})
	})
	if found {
		return true
	}
	for _, c := range n.Children() {
		if hasScan(c) {
			return true
		}
	}
	return false
}

// execute runs a statement that is not a query.
func (s *Session) execute(ctx context.Context, st *statement, params []any) (string, []arrow.RecordBatch, error) {
	switch x := st.st.AST.(type) {
	case *ast.Insert:
		b := planner.NewBinder(s.eng, st.params)
		plan, err := b.BindInsert(x)
		if err != nil {
			return "", nil, err
		}
		n, err := s.runInsert(ctx, plan, params)
		if err == nil {
			err = s.afterWrite(ctx)
		}
		return fmt.Sprintf("INSERT 0 %d", n), s.takeReturned(err), err
	case *ast.Update:
		b := planner.NewBinder(s.eng, st.params)
		plan, err := b.BindUpdate(x)
		if err != nil {
			return "", nil, err
		}
		n, err := s.runUpdate(ctx, plan, params)
		if err == nil {
			err = s.afterWrite(ctx)
		}
		return fmt.Sprintf("UPDATE %d", n), s.takeReturned(err), err
	case *ast.Delete:
		b := planner.NewBinder(s.eng, st.params)
		plan, err := b.BindDelete(x)
		if err != nil {
			return "", nil, err
		}
		n, err := s.runDelete(ctx, plan, params)
		if err == nil {
			err = s.afterWrite(ctx)
		}
		return fmt.Sprintf("DELETE %d", n), s.takeReturned(err), err
	case *ast.CreateTable:
		return s.createTable(ctx, x, st.st.Text)
	case *ast.CreateIndex:
		return s.eng.createIndex(ctx, x)
	case *ast.Drop:
		return s.drop(ctx, x)
	case *ast.Transaction:
		return s.transaction(ctx, x)
	case *ast.Set:
		return s.set(x)
	case *ast.Reset:
		return s.reset(x)
	case *ast.Show:
		return s.show(x)
	case *ast.ShowObjects:
		return s.showObjects(x)
	case *ast.ShowCreate:
		return s.showCreate(x)
	case *ast.Describe:
		return s.describe(x)
	case *ast.Explain:
		return s.explain(x)
	case *ast.Flush:
		return s.flush(ctx)
	case *ast.Discard:
		return "DISCARD " + strings.ToUpper(x.What), nil, nil
	case *ast.Deallocate:
		if x.All {
			return "DEALLOCATE ALL", nil, nil
		}
		return "DEALLOCATE", nil, nil
	case *ast.Noop:
		return x.Tag, nil, nil
	case *ast.Copy:
		if x.To {
			return s.copyTo(ctx, x)
		}
		return "", nil, pgerror.New(pgerror.CodeFeatureNotSupported, "COPY FROM is only supported from STDIN")
	case *ast.CreateView:
		return s.createView(ctx, x, st.st.Text)
	case *ast.CreateFunction:
		return s.createFunction(ctx, x, st.st.Text)
	case *ast.DropFunction:
		return s.dropFunction(ctx, x)
	}
	return "", nil, pgerror.New(pgerror.CodeFeatureNotSupported, "statement %T is not supported", st.st.AST)
}

// takeReturned hands over the RETURNING rows of the statement that just
// ran (none if it failed).
func (s *Session) takeReturned(err error) []arrow.RecordBatch {
	out := s.returned
	s.returned = nil
	if err != nil {
		releaseAll(out)
		return nil
	}
	return out
}

// afterWrite waits for the views when implicit_flush is on.
func (s *Session) afterWrite(ctx context.Context) error {
	if !s.implicitFlush() {
		return nil
	}
	return s.eng.waitViews(ctx, nil)
}

// textBatch builds a result batch of text columns.
func (s *Session) textBatch(cols []string, rows [][]string) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	bld := array.NewRecordBuilder(s.eng.alloc, schema)
	defer bld.Release()
	for _, r := range rows {
		for i, v := range r {
			bld.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	return bld.NewRecordBatch()
}

func textColumns(names ...string) []pgwire.Column {
	out := make([]pgwire.Column, len(names))
	for i, n := range names {
		out[i] = pgwire.Column{Name: n, Type: catalog.TypeText}
	}
	return out
}

// utilityColumns are the result columns of statements other than
// queries (nil for those that return no rows).
func utilityColumns(s *Session, st ast.Statement) []pgwire.Column {
	switch x := st.(type) {
	case *ast.Show:
		if x.Name == "all" {
			return textColumns("name", "setting", "description")
		}
		return textColumns(settingDisplayName(x.Name))
	case *ast.ShowObjects:
		if x.Kind == "jobs" {
			return textColumns(jobColumnNames...)
		}
		return textColumns("Name")
	case *ast.ShowCreate:
		return textColumns("Name", "Create Sql")
	case *ast.Describe:
		return textColumns("Name", "Type", "Is Hidden", "Description")
	case *ast.Explain:
		return textColumns("QUERY PLAN")
	}
	return nil
}

// failedCopy reports an error for a COPY that could not start.
type failedCopy struct{ err error }

func (f *failedCopy) Columns() int                                 { return 0 }
func (f *failedCopy) Binary() bool                                 { return false }
func (f *failedCopy) Write(ctx context.Context, data []byte) error { return f.err }
func (f *failedCopy) Done(ctx context.Context) (string, error)     { return "", f.err }
func (f *failedCopy) Abort(reason string)                          {}
