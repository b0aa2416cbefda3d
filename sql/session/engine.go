package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	streamlog "github.com/sqld/sqld/connectors/log"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/scheduler"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/sql/pgwire"
)

// Keyspaces of the wide-column store.
const (
	keyspaceSystem = "system"
	keyspaceData   = "data"
	relationsTable = "relations"
)

// Config configures an Engine.
type Config struct {
	// DataDir holds the store's files.
	DataDir string
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// Store overrides the store options (tests use an in-memory FS).
	Store *widecol.Options
	// Scheduler sizes the in-process agent that runs the view jobs.
	Scheduler SchedulerConfig
}

// Engine is the state shared by every session: storage and the catalog.
// It implements pgwire.Handler.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	store  *widecol.Store
	relTab *widecol.Table
	log_   *streamlog.Log

	// viewPlanVersion is recorded with the views CREATE VIEW makes and
	// plans them (planner.ViewPlanVersion).
	viewPlanVersion int

	// mu guards the catalog maps. DDL takes it for writing.
	mu     sync.RWMutex
	rels   map[string]*catalog.Relation
	tables map[string]*widecol.Table
	nextID uint64
	// funcs are the user-defined functions, stored in funcTab. DDL
	// changes them under mu; funcMu guards the map for readers.
	funcMu  sync.RWMutex
	funcs   funcSet
	funcTab *widecol.Table

	// writeMu serializes writes to tables, so that key checks and the
	// write they guard are atomic.
	writeMu sync.Mutex
	rowID   atomic.Int64
	alloc   memory.Allocator
	// rr rotates the first partition of round-robin stream appends.
	rr atomic.Int64
	// appended is closed and replaced after every stream append, waking
	// whoever waits for new data.
	appendMu sync.Mutex
	appended chan struct{}

	parseMu sync.Mutex
	parsed  map[string][]parser.Stmt
	// catVersion counts catalog changes; cached plans of an older
	// version are planned again.
	catVersion atomic.Int64
	planMu     sync.Mutex
	plans      map[string]cachedPlan

	verMu    sync.Mutex
	versions map[string]int64

	// jobs holds the running view jobs by view name (guarded by mu).
	jobs map[string]*viewJob
	// streamSlots bounds the CPUs streaming work uses at once.
	streamSlots chan struct{}
	// sources generate connector streams (guarded by mu).
	sources map[string]*nexmarkSource
	// fw and sched run the view jobs as scheduled, supervised tasks.
	fw    *streaming
	sched *scheduler.Driver
}

// commitTable commits a write to a table and tells the views.
func (e *Engine) commitTable(ctx context.Context, b *widecol.Batch, name string) error {
	if err := b.Commit(ctx); err != nil {
		return err
	}
	e.bumpVersion(name)
	e.notifyChange()
	return nil
}

// bumpVersion records a committed write to a table.
func (e *Engine) bumpVersion(name string) {
	e.verMu.Lock()
	e.versions[name]++
	e.verMu.Unlock()
}

// version returns the number of writes committed to a table since start.
func (e *Engine) version(name string) int64 {
	e.verMu.Lock()
	defer e.verMu.Unlock()
	return e.versions[name]
}

// notifyChange wakes everything waiting for a change: a stream append, a table write or a view epoch.
func (e *Engine) notifyChange() {
	e.appendMu.Lock()
	close(e.appended)
	e.appended = make(chan struct{})
	e.appendMu.Unlock()
}

// changeSignal returns a channel closed at the next change.
func (e *Engine) changeSignal() <-chan struct{} {
	e.appendMu.Lock()
	defer e.appendMu.Unlock()
	return e.appended
}

var _ pgwire.Handler = (*Engine)(nil)

// Open opens (or creates) the data directory and loads the catalog.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts := cfg.Store
	if opts == nil {
		opts = &widecol.Options{Sync: widecol.SyncEveryBatch, CacheSize: 256 << 20, MemTableSize: 64 << 20}
	}
	if opts.Logger == nil {
		o := *opts
		o.Logger = storeLogger{lg}
		opts = &o
	}
	store, err := widecol.Open(ctx, filepath.Join(cfg.DataDir, "store"), opts)
	if err != nil {
		return nil, fmt.Errorf("session: open store: %w", err)
	}
	lg2, err := streamlog.Open(filepath.Join(cfg.DataDir, "log"), streamlog.Options{})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("session: open log: %w", err)
	}
	e := &Engine{
		cfg: cfg, log: lg, store: store, log_: lg2, viewPlanVersion: planner.ViewPlanVersion,
		rels: map[string]*catalog.Relation{}, tables: map[string]*widecol.Table{},
		alloc: memory.DefaultAllocator, appended: make(chan struct{}),
		versions: map[string]int64{}, parsed: map[string][]parser.Stmt{}, plans: map[string]cachedPlan{}, jobs: map[string]*viewJob{},
	}
	if err := e.loadCatalog(ctx); err != nil {
		lg2.Close()
		store.Close()
		return nil, err
	}
	if err := e.startScheduler(cfg.Scheduler); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.startViews(ctx); err != nil {
		e.Close()
		return nil, err
	}
	// Row ids: microseconds since the epoch, shifted to leave room for
	// many rows per microsecond, and above every id handed out before.
	e.rowID.Store(time.Now().UnixMicro() << 8)
	return e, nil
}

// Close closes storage. Sessions must be closed first.
func (e *Engine) Close() error {
	e.mu.RLock()
	jobs := make([]*viewJob, 0, len(e.jobs))
	for _, j := range e.jobs {
		jobs = append(jobs, j)
	}
	e.mu.RUnlock()
	e.mu.RLock()
	var srcs []string
	for name := range e.sources {
		srcs = append(srcs, name)
	}
	e.mu.RUnlock()
	for _, name := range srcs {
		e.stopSource(name)
	}
	if e.fw != nil {
		for _, j := range jobs {
			j.stop()
		}
		e.sched.Close()
	}
	lerr := e.log_.Close()
	if err := e.store.Close(); err != nil {
		return err
	}
	return lerr
}

// Store returns the wide-column store.
func (e *Engine) Store() *widecol.Store { return e.store }

func (e *Engine) loadCatalog(ctx context.Context) error {
	t, err := e.store.Table(keyspaceSystem, relationsTable)
	if errors.Is(err, widecol.ErrTableNotFound) {
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "name", Type: arrow.BinaryTypes.String},
			{Name: "def", Type: arrow.BinaryTypes.Binary, Nullable: true},
		}, nil)
		t, err = e.store.CreateTable(ctx, widecol.TableSpec{
			Keyspace: keyspaceSystem, Name: relationsTable, Schema: schema, PartitionKey: []string{"name"},
		})
	}
	if err != nil {
		return fmt.Errorf("session: catalog table: %w", err)
	}
	e.relTab = t
	it, err := e.store.Scan(ctx, t, widecol.Range{}, nil)
	if err != nil {
		return fmt.Errorf("session: read catalog: %w", err)
	}
	defer it.Close()
	for {
		b, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("session: read catalog: %w", err)
		}
		defs := b.Column(1).(*array.Binary)
		for i := 0; i < int(b.NumRows()); i++ {
			rel, err := catalog.DecodeRelation(defs.Value(i))
			if err != nil {
				b.Release()
				return err
			}
			e.rels[rel.Name] = rel
			if rel.ID >= e.nextID {
				e.nextID = rel.ID + 1
			}
			if rel.Kind == catalog.KindTable {
				tab, err := e.store.Table(keyspaceData, tableName(rel))
				if err != nil {
					b.Release()
					return fmt.Errorf("session: table %q: %w", rel.Name, err)
				}
				e.tables[rel.Name] = tab
			}
		}
		b.Release()
	}
	if e.nextID == 0 {
		e.nextID = 1
	}
	return e.loadFunctions(ctx)
}

// tableName is the store table of a relation: its id keeps a dropped and
// re-created name from meeting old data.
func tableName(rel *catalog.Relation) string { return fmt.Sprintf("%s_%d", rel.Name, rel.ID) }

// Relation implements planner.Catalog.
func (e *Engine) Relation(name string) (*catalog.Relation, bool) {
	if r, ok := systemRelations[name]; ok {
		return r, true
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	r, ok := e.rels[name]
	return r, ok
}

// relations returns every relation sorted by name.
func (e *Engine) relations() []*catalog.Relation {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*catalog.Relation, 0, len(e.rels))
	for _, r := range e.rels {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (e *Engine) table(name string) (*widecol.Table, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, ok := e.tables[name]
	if !ok {
		return nil, pgerror.New(pgerror.CodeUndefinedTable, "relation %q does not exist", name)
	}
	return t, nil
}

// putRelation records rel in the catalog table within batch b.
func (e *Engine) putRelation(b *widecol.Batch, rel *catalog.Relation) error {
	def, err := rel.Encode()
	if err != nil {
		return err
	}
	return b.UpsertRow(e.relTab, widecol.Row{"name": rel.Name, "def": def}, nil)
}

// createTable creates a keyed table.
func (e *Engine) createTable(ctx context.Context, rel *catalog.Relation, ifNotExists bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.rels[rel.Name]; ok {
		if ifNotExists {
			return errExists
		}
		return pgerror.New(pgerror.CodeDuplicateTable, "relation %q already exists", rel.Name)
	}
	rel.ID = e.nextID
	e.nextID++
	key := make([]string, len(rel.PrimaryKey))
	for i, k := range rel.PrimaryKey {
		key[i] = rel.Columns[k].Name
	}
	tab, err := e.store.CreateTable(ctx, widecol.TableSpec{
		Keyspace: keyspaceData, Name: tableName(rel), Schema: rel.Schema(), PartitionKey: key,
	})
	if err != nil {
		return fmt.Errorf("create table %q: %w", rel.Name, err)
	}
	b := e.store.NewBatch()
	defer b.Close()
	if err := e.putRelation(b, rel); err != nil {
		return err
	}
	if err := b.Commit(ctx); err != nil {
		_ = e.store.DropTable(ctx, keyspaceData, tableName(rel))
		return err
	}
	e.rels[rel.Name] = rel
	e.catVersion.Add(1)
	e.tables[rel.Name] = tab
	return nil
}

// errExists reports CREATE ... IF NOT EXISTS of an existing relation.
var errExists = errors.New("relation exists")

// dependents returns the relations that read rel.
func (e *Engine) dependentsLocked(name string) []string {
	var out []string
	for _, r := range e.rels {
		for _, d := range r.DependsOn {
			if d == name {
				out = append(out, r.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// dropRelation drops a relation (and, with cascade, its dependents).
func (e *Engine) dropRelation(ctx context.Context, kind catalog.RelKind, name string, ifExists, cascade bool) error {
	var stopped []*viewJob
	var stoppedSources []*nexmarkSource
	defer func() {
		for _, src := range stoppedSources {
			src.cancel()
			<-src.done
		}
		// Jobs stop outside the catalog lock: they read the catalog.
		for _, j := range stopped {
			j.stop()
			e.dropViewTables(ctx, j.rel)
		}
		if len(stopped) > 0 {
			if et, err := e.epochTable(ctx); err == nil {
				b := e.store.NewBatch()
				for _, j := range stopped {
					_ = b.DeleteRow(et, []any{j.rel.Name})
				}
				_ = b.Commit(ctx)
				b.Close()
			}
		}
	}()
	e.mu.Lock()
	defer e.mu.Unlock()
	rel, ok := e.rels[name]
	if !ok {
		if ifExists {
			return nil
		}
		return pgerror.New(pgerror.CodeUndefinedTable, "%s %q does not exist", kind, name)
	}
	if rel.Kind != kind {
		return pgerror.New(pgerror.CodeWrongObjectType, "%q is not a %s", name, kind).WithHint("Use DROP %s to remove a %s.", map[catalog.RelKind]string{catalog.KindTable: "TABLE", catalog.KindStream: "STREAM", catalog.KindView: "VIEW"}[rel.Kind], rel.Kind)
	}
	order, err := e.dropOrderLocked(name, cascade)
	if err != nil {
		return err
	}
	b := e.store.NewBatch()
	defer b.Close()
	for _, n := range order {
		if err := b.DeleteRow(e.relTab, []any{n}); err != nil {
			return err
		}
	}
	if err := b.Commit(ctx); err != nil {
		return err
	}
	for _, n := range order {
		r := e.rels[n]
		delete(e.rels, n)
		e.catVersion.Add(1)
		switch r.Kind {
		case catalog.KindTable:
			delete(e.tables, n)
			if err := e.store.DropTable(ctx, keyspaceData, tableName(r)); err != nil {
				e.log.Warn("drop table data", "table", n, "err", err)
			}
		case catalog.KindStream:
			if src := e.sources[n]; src != nil {
				// Stopped outside the lock by the deferred cleanup.
				stoppedSources = append(stoppedSources, src)
				delete(e.sources, n)
			}
			if err := e.log_.DropTopic(topicName(r)); err != nil {
				e.log.Warn("drop stream topic", "stream", n, "err", err)
			}
		case catalog.KindView:
			delete(e.tables, n)
			if j := e.jobs[n]; j != nil {
				stopped = append(stopped, j)
				delete(e.jobs, n)
			}
		}
	}
	return nil
}

func (e *Engine) dropOrderLocked(name string, cascade bool) ([]string, error) {
	deps := e.dependentsLocked(name)
	if len(deps) > 0 && !cascade {
		return nil, pgerror.New(pgerror.CodeDependentObjectsStillExist, "cannot drop %s %q because other objects depend on it", e.rels[name].Kind, name).
			WithDetail("%s depends on %s", describeDeps(e, deps), name).WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	var order []string
	for _, d := range deps {
		sub, err := e.dropOrderLocked(d, true)
		if err != nil {
			return nil, err
		}
		order = append(order, sub...)
	}
	return append(order, name), nil
}

func describeDeps(e *Engine, deps []string) string {
	s := ""
	for i, d := range deps {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %s", e.rels[d].Kind, d)
	}
	return s
}

// nextRowIDs reserves n row ids.
func (e *Engine) nextRowIDs(n int) int64 {
	return e.rowID.Add(int64(n)) - int64(n) + 1
}

// tableReader is what table scans read through: a snapshot, or a
// transaction block's indexed batch.
type tableReader interface {
	Scan(ctx context.Context, t *widecol.Table, r widecol.Range, o *widecol.ReadOptions) (*widecol.Iterator, error)
}

// storage reads relations for one statement against one snapshot.
type storage struct {
	eng  *Engine
	snap tableReader
	mem  memory.Allocator
}

var _ exec.Storage = (*storage)(nil)

func (s *storage) Scan(ctx context.Context, rel *catalog.Relation, project []int, filter planner.Expr) (exec.Operator, error) {
	switch rel.Kind {
	case catalog.KindTable, catalog.KindView:
		tab, err := s.eng.table(rel.Name)
		if err != nil {
			return nil, err
		}
		cols := make([]string, len(project))
		fields := make([]arrow.Field, len(project))
		for i, p := range project {
			cols[i] = rel.Columns[p].Name
			fields[i] = catalog.Field(rel.Columns[p].Name, rel.Columns[p].Type, true)
		}
		return &tableScan{snap: s.snap, tab: tab, opts: &widecol.ReadOptions{Allocator: s.mem, Columns: cols, Filter: pushdown(filter, cols)}, schema: arrow.NewSchema(fields, nil)}, nil
	}
	if rel.Kind == catalog.KindStream {
		return s.eng.streamScan(rel, project)
	}
	if rel.Kind == catalog.KindSystem {
		b, err := s.eng.systemTable(rel)
		if err != nil {
			return nil, err
		}
		return (&memStorage{byName: map[string][]arrow.RecordBatch{rel.Name: {b}}}).Scan(ctx, rel, project, filter)
	}
	return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "reading %s %q is not supported yet", rel.Kind, rel.Name)
}

// pushdown converts the simple conjuncts of filter (column op constant)
// into store predicates; the executor re-applies the whole filter.
func pushdown(filter planner.Expr, cols []string) []widecol.Predicate {
	if filter == nil {
		return nil
	}
	var out []widecol.Predicate
	var walk func(e planner.Expr)
	walk = func(e planner.Expr) {
		switch x := e.(type) {
		case *planner.Call:
			if x.Fn.Name == "and" && len(x.Args) == 2 {
				walk(x.Args[0])
				walk(x.Args[1])
				return
			}
			if len(x.Args) != 2 {
				return
			}
			ops := map[string]widecol.Op{"=": widecol.OpEq, "<>": widecol.OpNe, "<": widecol.OpLt, "<=": widecol.OpLe, ">": widecol.OpGt, ">=": widecol.OpGe}
			op, ok := ops[x.Fn.Name]
			if !ok {
				return
			}
			ref, ok1 := x.Args[0].(*planner.ColRef)
			c, ok2 := x.Args[1].(*planner.Const)
			if !ok1 || !ok2 || c.Val == nil || ref.Typ != c.Typ {
				return
			}
			switch c.Val.(type) {
			case int64, float64, string, bool:
			default:
				return
			}
			out = append(out, widecol.Predicate{Column: cols[ref.Idx], Op: op, Value: c.Val})
		case *planner.IsNull:
			if ref, ok := x.X.(*planner.ColRef); ok {
				op := widecol.OpIsNull
				if x.Not {
					op = widecol.OpIsNotNull
				}
				out = append(out, widecol.Predicate{Column: cols[ref.Idx], Op: op})
			}
		}
	}
	walk(filter)
	return out
}

// tableScan is an exec.Operator over a widecol scan.
type tableScan struct {
	snap   tableReader
	tab    *widecol.Table
	opts   *widecol.ReadOptions
	schema *arrow.Schema
	it     *widecol.Iterator
}

func (t *tableScan) Schema() *arrow.Schema { return t.schema }

func (t *tableScan) Open(ctx context.Context) error {
	it, err := t.snap.Scan(ctx, t.tab, widecol.Range{}, t.opts)
	if err != nil {
		return err
	}
	t.it = it
	return nil
}

func (t *tableScan) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := t.it.Next(ctx)
	if err != nil {
		return nil, err
	}
	// The store's schema lacks SQL metadata; give batches ours.
	cols := b.Columns()
	for _, c := range cols {
		c.Retain()
	}
	out := array.NewRecordBatch(t.schema, cols, b.NumRows())
	for _, c := range cols {
		c.Release()
	}
	b.Release()
	return out, nil
}

func (t *tableScan) Close() error {
	if t.it != nil {
		return t.it.Close()
	}
	return nil
}

// parseCacheSize bounds the statements kept parsed, by text.
const parseCacheSize = 1024

// parse parses sql, reusing the result for a text seen before: the syntax
// trees are immutable, so sessions share them.
func (e *Engine) parse(sql string) ([]parser.Stmt, error) {
	if len(sql) <= 4096 {
		e.parseMu.Lock()
		st, ok := e.parsed[sql]
		e.parseMu.Unlock()
		if ok {
			return st, nil
		}
	}
	st, err := parser.Parse(sql)
	if err != nil || len(sql) > 4096 {
		return st, err
	}
	e.parseMu.Lock()
	if len(e.parsed) >= parseCacheSize {
		for k := range e.parsed {
			delete(e.parsed, k)
			break
		}
	}
	e.parsed[sql] = st
	e.parseMu.Unlock()
	return st, nil
}

type cachedPlan struct {
	version int64
	query   *planner.Query
}

// planSelect binds and optimizes a query, reusing the plan of an
// identical text and parameter types while the catalog is unchanged.
// Plans are immutable, so sessions share them.
func (e *Engine) planSelect(text string, sel *ast.Select, params []catalog.Type) (*planner.Query, error) {
	key := text
	for _, p := range params {
		key += "\x00" + p.String()
	}
	ver := e.catVersion.Load()
	e.planMu.Lock()
	c, ok := e.plans[key]
	e.planMu.Unlock()
	if ok && c.version == ver {
		return c.query, nil
	}
	q, err := planner.NewBinder(e, params).BindSelect(sel)
	if err != nil {
		return nil, err
	}
	if len(text) <= 4096 {
		e.planMu.Lock()
		if len(e.plans) >= parseCacheSize {
			for k := range e.plans {
				delete(e.plans, k)
				break
			}
		}
		e.plans[key] = cachedPlan{version: ver, query: q}
		e.planMu.Unlock()
	}
	return q, nil
}

// rowExists reports whether a table holds a row with the given key.
func (e *Engine) rowExists(ctx context.Context, t *widecol.Table, key []any) (bool, error) {
	_, err := e.store.GetRow(ctx, t, key)
	if errors.Is(err, widecol.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// storeLogger sends the storage engine's messages to the server's log:
// its routine messages at debug level.
type storeLogger struct{ l *slog.Logger }

func (s storeLogger) Infof(format string, args ...any) {
	s.l.Debug("store: " + fmt.Sprintf(format, args...))
}

func (s storeLogger) Errorf(format string, args ...any) {
	s.l.Error("store: " + fmt.Sprintf(format, args...))
}

func (s storeLogger) Fatalf(format string, args ...any) {
	s.l.Error("store: fatal: " + fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
