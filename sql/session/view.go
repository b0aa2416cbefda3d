package session

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"math/big"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	streamlog "github.com/sqld/sqld/connectors/log"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/windows"
)

const epochsTable = "epochs"

// maxEpochRows caps the rows one incremental epoch reads, so a backfill
// of a long stream runs as several epochs of bounded memory.
const maxEpochRows = 1 << 18

// maxAggEpochRows caps an aggregation's epochs instead. It writes each
// group its epoch changed once, so larger epochs write fewer rows (Nexmark
// q17 ran 10-15% faster at 1M rows than at 256K, a hop view used half the
// CPU); its epoch holds its input and its partials, so an epoch takes as
// many rows as give about maxEpochRows partial rows by the last epoch's
// reduction, between maxEpochRows and this. Views that write rows in
// proportion to their input (top-N, filters) gained nothing and hold more.
const maxAggEpochRows = 1 << 20

// epochRows is the cap of the view's epochs; tests lower it to run many.
func (j *viewJob) epochRows() int64 {
	if testEpochRows > 0 {
		return testEpochRows
	}
	if j.plan.Agg != nil && j.plan.TopN == nil && j.aggReduce > 0 {
		return int64(min(maxAggEpochRows, max(maxEpochRows, maxEpochRows/j.aggReduce)))
	}
	return maxEpochRows
}

// testStep, when set, is called at the start of each epoch step (tests
// make a view's task panic with it).
var testStep atomic.Pointer[func(view string)]

// testEpochRows overrides epochRows when positive.
var testEpochRows int64

// JobState is the state of a view job.
type JobState uint8

// The job states.
const (
	JobStarting JobState = iota
	JobRunning
	JobFailed
	JobStopped
	// JobRestarting is a job whose task failed, waiting for the supervisor
	// to launch it again.
	JobRestarting
)

func (s JobState) String() string {
	return [...]string{"STARTING", "RUNNING", "FAILED", "STOPPED", "RESTARTING"}[s]
}

// epochRecord is what a view job commits with every epoch, and the plan
// it records before running one.
type epochRecord struct {
	Epoch int64   `json:"epoch"`
	Ends  []int64 `json:"ends,omitempty"` // per source partition: next offset to read
	// Tracker is the watermark tracker's state after the epoch; Late the
	// number of late rows dropped so far.
	Tracker []byte `json:"tracker,omitempty"`
	// Trackers are a join view's trackers, one per side.
	Trackers [][]byte `json:"trackers,omitempty"`
	Late     int64    `json:"late,omitempty"`
	// Watermark, for a view reading a view that carries a watermark, is
	// its watermark after Epoch. Records of other views (and of builds
	// before views carried watermarks) have none.
	Watermark *int64 `json:"watermark,omitempty"`
	// Planned, when set, is the epoch planned after Epoch: its ranges
	// are re-run exactly after a crash.
	Planned *plannedEpoch `json:"planned,omitempty"`
}

type plannedEpoch struct {
	Epoch  int64   `json:"epoch"`
	Starts []int64 `json:"starts"`
	Ends   []int64 `json:"ends"`
	// Idle marks the partitions read to their end: they do not hold the
	// watermark back.
	Idle []bool `json:"idle,omitempty"`
	// Watermark, for a view reading a view that carries a watermark, is
	// the watermark after the epoch: the source view's as of epoch
	// Ends[0], when known, else the one before.
	Watermark *int64 `json:"watermark,omitempty"`
}

// epochMark is a view's watermark after an epoch, for views reading it.
type epochMark struct{ epoch, wm int64 }

// maxMarks bounds the watermarks a view keeps for its readers: a reader
// further behind does not advance its watermark until it catches up.
const maxMarks = 1024

// viewJob maintains one continuous view.
type viewJob struct {
	eng    *Engine
	rel    *catalog.Relation
	plan   *planner.ViewPlan
	result *widecol.Table
	state  *widecol.Table // incremental aggregation state, or nil
	// distinct holds the values seen by count(DISTINCT) aggregates
	// (opened on first use).
	distinct *widecol.Table
	// dargs are the arguments of the distinct aggregates.
	dargs []distinctArg
	// tj is a table join's state (nil until read); tjCheck asks the
	// next epoch to compare the table side with it.
	tj      *tableJoinState
	tjCheck bool
	// batchHint sizes an epoch's write batch: the last one's size.
	batchHint int
	// carry holds, per partition read, the batch the last epoch ended
	// inside, so the next epoch starts from memory.
	carry map[carryKey]streamlog.Batch
	// outer holds a nested aggregation's outer groups; outerT their table.
	outer  map[string]*groupState
	outerT *widecol.Table

	// task is the id of the job's current task; attempt counts restarts.
	task    string
	attempt int

	mu       sync.Mutex
	status   JobState
	lastErr  error
	epoch    int64
	offsets  []int64          // incremental: next offset per source partition
	seen     map[string]int64 // recompute: source versions of the last epoch
	rowsIn   int64
	rowsOut  int64
	restarts int
	groups   map[string]*aggGroup
	keyTypes []catalog.Type
	// ops are the merge operations of the partials; mark counts the
	// epochs that changed groups; valChunk is the free part of the
	// chunk new groups take their partials from.
	ops  []mergeOp
	mark uint64
	// aggReduce is the last epoch's partial rows per input row.
	aggReduce float64
	// pre is the next epoch, read ahead (viewprefetch.go); cur is the
	// current epoch's, and nextFrom where the current epoch ends.
	pre, cur *epochPrefetch
	nextFrom []int64
	// inflight is the epoch committing behind the job (viewbehind.go),
	// behind the same for others (guarded by mu) until it is in the
	// store; planned is the epoch planned and recorded with it, and
	// plannedRecorded tells runIncremental that the epoch it runs is.
	inflight        *behindCommit
	behind          *behindCommit
	planned         *plannedEpoch
	plannedRecorded bool
	valChunk        []partialVal
	lastTime        time.Time

	// Open windows by end time, for closing them in order: ends is
	// sorted ascending, byEnd lists the groups of each end.
	ends  []int64
	byEnd map[int64][]string

	// Watermarks of a source stream that declares one, or of a source
	// view that carries one (no tracker then).
	tracker   *windows.Tracker
	wmExpr    planner.Expr
	watermark int64
	late      int64
	// stateGroups is len(groups) as of the last epoch, for sys.jobs: the
	// job's goroutine changes groups without mu. Guarded by mu.
	stateGroups int64
	// failing is the error of the job's last failure until an epoch
	// commits after it (FLUSH warns of it). Guarded by mu.
	failing error
	// marks are the watermarks after recent epochs (one per change,
	// ascending), kept when the view carries a watermark
	// (catalog.Watermark.From), for the views reading it. Guarded by mu.
	marks []epochMark

	// join is the state of a join view; topN of a top-N view; aggTop of
	// a view ranking an aggregation's rows (ORDER BY ... LIMIT).
	join   *joinState
	topN   *topNState
	aggTop *aggTop
}

// groupState is a group of a nested aggregation's outer level, and an
// inner group as the outer level reads it.
type groupState struct {
	keys     []any
	partials []any
	// stored reports whether the state table holds the group.
	stored bool
}

// viewTables returns the store table names of a view.
func viewStateTable(rel *catalog.Relation) string { return tableName(rel) + "_state" }

func (s *Session) createView(ctx context.Context, x *ast.CreateView, text string) (string, []arrow.RecordBatch, error) {
	if _, ok := s.eng.Relation(x.Name); ok {
		if x.IfNotExists {
			return "CREATE VIEW", nil, nil
		}
		return "", nil, pgerror.New(pgerror.CodeDuplicateTable, "relation %q already exists", x.Name)
	}
	b := planner.NewBinder(s.eng, nil)
	b.View = true
	q, err := b.BindSelect(x.Query)
	if err != nil {
		return "", nil, err
	}
	if len(q.Params) > 0 {
		return "", nil, pgerror.New(pgerror.CodeUndefinedParameter, "there is no parameter $1")
	}
	q.PlanVersion = s.eng.viewPlanVersion
	vp, err := planner.PlanView(q, s.eng)
	if err != nil {
		return "", nil, err
	}
	for _, n := range vp.Notices {
		s.notices = append(s.notices, &pgerror.Error{Code: pgerror.CodeSuccessfulCompletion, Message: n})
	}
	rel := &catalog.Relation{Name: x.Name, Kind: catalog.KindView, SQL: text, Options: options(x.With), DependsOn: q.Relations,
		PlanVersion: q.PlanVersion}
	if _, err := joinBudget(rel); err != nil {
		return "", nil, err
	}
	if _, err := topNBudget(rel); err != nil {
		return "", nil, err
	}
	rel.Query = parser.Format(x.Query)
	rel.AppendOnly = appendOnlyResult(vp)
	rel.Watermark = vp.CarriedWatermark()
	seen := map[string]bool{}
	for i, c := range q.Cols {
		name := c.Name
		if i < len(x.Columns) {
			name = x.Columns[i]
		}
		if seen[name] {
			return "", nil, pgerror.New(pgerror.CodeDuplicateColumn, "column %q specified more than once", name)
		}
		seen[name] = true
		rel.Columns = append(rel.Columns, catalog.Column{Name: name, Type: c.Type})
	}
	if len(x.Columns) > len(q.Cols) {
		return "", nil, pgerror.New(pgerror.CodeSyntaxError, "CREATE VIEW specifies more column names than columns")
	}
	var keyCols []catalog.Column
	switch {
	case vp.Mode == planner.Recompute:
		keyCols = []catalog.Column{{Name: "_h", Type: catalog.TypeInt8}, {Name: "_n", Type: catalog.TypeInt8}}
	case vp.TableJoin != nil && vp.Outer == nil:
		for _, c := range vp.TableJoin.Joined.Columns[len(vp.TableJoin.Joined.Columns)-4:] {
			keyCols = append(keyCols, catalog.Column{Name: c.Name, Type: c.Type})
		}
	case vp.TopN != nil:
		for i, p := range vp.TopN.Call.PartitionBy {
			keyCols = append(keyCols, catalog.Column{Name: fmt.Sprintf("_k%d", i), Type: p.Type()})
		}
		keyCols = append(keyCols, catalog.Column{Name: fmt.Sprintf("_k%d", len(keyCols)), Type: catalog.TypeInt8})
	case vp.Agg != nil || vp.Outer != nil:
		var groupBy []planner.Expr
		if vp.Outer != nil {
			groupBy = vp.Outer.Agg.GroupBy
		} else {
			groupBy = vp.Agg.GroupBy
		}
		for i, g := range groupBy {
			keyCols = append(keyCols, catalog.Column{Name: fmt.Sprintf("_k%d", i), Type: g.Type()})
		}
		if len(keyCols) == 0 {
			keyCols = []catalog.Column{{Name: "_k", Type: catalog.TypeInt8}}
		}
	default:
		keyCols = []catalog.Column{{Name: "_epoch", Type: catalog.TypeInt8}, {Name: "_seq", Type: catalog.TypeInt8}}
	}
	for _, k := range keyCols {
		if k.Type.ID == catalog.Interval {
			return "", nil, pgerror.New(pgerror.CodeFeatureNotSupported, "grouping by an interval is not supported in a view")
		}
		k.Hidden = true
		k.NotNull = false
		rel.PrimaryKey = append(rel.PrimaryKey, len(rel.Columns))
		rel.Columns = append(rel.Columns, k)
	}
	e := s.eng
	e.mu.Lock()
	if _, ok := e.rels[rel.Name]; ok {
		e.mu.Unlock()
		return "", nil, pgerror.New(pgerror.CodeDuplicateTable, "relation %q already exists", rel.Name)
	}
	rel.ID = e.nextID
	e.nextID++
	job, err := e.createViewLocked(ctx, rel, vp)
	e.mu.Unlock()
	if err != nil {
		return "", nil, err
	}
	// Like a materialized view, the view is ready when it covers what
	// its inputs held at creation.
	if err := e.waitViews(ctx, []*viewJob{job}); err != nil {
		// A view that cannot compute what its inputs hold now is not
		// created: nothing of it stays behind.
		if derr := e.dropRelation(context.WithoutCancel(ctx), catalog.KindView, rel.Name, true, true); derr != nil {
			e.log.Warn("drop of a failed view", "view", rel.Name, "err", derr)
		}
		return "", nil, err
	}
	return "CREATE VIEW", nil, nil
}

func (e *Engine) epochTable(ctx context.Context) (*widecol.Table, error) {
	t, err := e.store.Table(keyspaceSystem, epochsTable)
	if errors.Is(err, widecol.ErrTableNotFound) {
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "name", Type: arrow.BinaryTypes.String},
			{Name: "record", Type: arrow.BinaryTypes.Binary, Nullable: true},
		}, nil)
		t, err = e.store.CreateTable(ctx, widecol.TableSpec{Keyspace: keyspaceSystem, Name: epochsTable, Schema: schema, PartitionKey: []string{"name"}})
	}
	return t, err
}

// createViewLocked creates a view's tables, records it and starts its job.
func (e *Engine) createViewLocked(ctx context.Context, rel *catalog.Relation, vp *planner.ViewPlan) (*viewJob, error) {
	key := make([]string, len(rel.PrimaryKey))
	for i, k := range rel.PrimaryKey {
		key[i] = rel.Columns[k].Name
	}
	spec := widecol.TableSpec{Keyspace: keyspaceData, Name: tableName(rel), Schema: rel.Schema(), PartitionKey: key,
		AppendOnly: appendOnlyResult(vp)}
	if vp.TableJoin != nil && vp.Outer == nil {
		// A join key's rows are one partition, replaced when the key's
		// table rows change.
		spec.PartitionKey = key[:1]
		for _, c := range key[1:] {
			spec.Clustering = append(spec.Clustering, widecol.ClusteringColumn{Name: c})
		}
	}
	aggInResult := aggStateInResult(rel, vp)
	if aggInResult {
		// The groups' partials are hidden cells of the view's rows.
		fields := append([]arrow.Field(nil), rel.Schema().Fields()...)
		spec.Schema = arrow.NewSchema(append(fields, partialFields(vp.Agg)...), nil)
	}
	topNInResult := vp.TopN != nil && vp.TopN.ResultCols != nil
	if topNInResult {
		// A top-N partition's rows are one partition of the view's rows,
		// read back when a row enters it.
		rk := vp.TopN.ResultKeys
		spec.PartitionKey = nil
		for _, c := range rk[:len(rk)-1] {
			spec.PartitionKey = append(spec.PartitionKey, rel.Columns[c].Name)
		}
		spec.Clustering = []widecol.ClusteringColumn{{Name: rel.Columns[rk[len(rk)-1]].Name}}
	}
	result, err := e.store.CreateTable(ctx, spec)
	if err != nil {
		return nil, err
	}
	if vp.TableJoin != nil {
		for _, ts := range tableJoinSpecs(rel, vp.TableJoin) {
			if _, err := e.store.CreateTable(ctx, ts); err != nil {
				e.dropViewTables(ctx, rel)
				return nil, err
			}
		}
	}
	var state *widecol.Table
	if topNInResult || aggInResult {
		state = result
	} else if vp.TopN != nil {
		if state, err = e.store.CreateTable(ctx, topNSpec(rel, vp)); err != nil {
			_ = e.store.DropTable(ctx, keyspaceData, tableName(rel))
			return nil, err
		}
	} else if vp.Mode == planner.Incremental && (vp.Agg != nil || vp.EventTime >= 0) {
		if state, err = e.store.CreateTable(ctx, stateSpec(rel, vp)); err != nil {
			_ = e.store.DropTable(ctx, keyspaceData, tableName(rel))
			return nil, err
		}
	}
	if vp.Outer != nil {
		if _, err := e.store.CreateTable(ctx, outerSpec(rel, vp.Outer)); err != nil {
			e.dropViewTables(ctx, rel)
			return nil, err
		}
	}
	if len(vp.Distincts) > 0 {
		if _, err := e.store.CreateTable(ctx, distinctSpec(rel)); err != nil {
			e.dropViewTables(ctx, rel)
			return nil, err
		}
	}
	if vp.Join != nil {
		for i := range vp.Join.Sides {
			if _, err := e.store.CreateTable(ctx, joinSideSpec(rel, i, &vp.Join.Sides[i])); err != nil {
				e.dropViewTables(ctx, rel)
				return nil, err
			}
		}
		if vp.Join.Kind != planner.InnerJoin {
			if _, err := e.store.CreateTable(ctx, joinPadsSpec(rel)); err != nil {
				e.dropViewTables(ctx, rel)
				return nil, err
			}
		}
	}
	b := e.store.NewBatch()
	defer b.Close()
	if err := e.putRelation(b, rel); err != nil {
		return nil, err
	}
	if err := b.Commit(ctx); err != nil {
		return nil, err
	}
	e.rels[rel.Name] = rel
	e.catVersion.Add(1)
	e.tables[rel.Name] = result
	job := e.newJob(rel, vp, result, state)
	e.jobs[rel.Name] = job
	job.start()
	return job, nil
}

// appendOnlyResult reports whether a view only ever adds rows to its
// result (planner.ViewPlan.AppendOnly). Its table then keeps rows in
// chunks (widecol's append-only tables), a key per epoch rather than per
// row.
func appendOnlyResult(vp *planner.ViewPlan) bool { return vp.AppendOnly() }

func stateSpec(rel *catalog.Relation, vp *planner.ViewPlan) widecol.TableSpec {
	if vp.Agg == nil {
		// Rows waiting for the watermark, in event-time order.
		fields := []arrow.Field{
			{Name: "_p", Type: arrow.PrimitiveTypes.Int64},
			{Name: "_ts", Type: arrow.PrimitiveTypes.Int64},
			{Name: "_pe", Type: arrow.PrimitiveTypes.Int64},
			{Name: "_ps", Type: arrow.PrimitiveTypes.Int64},
		}
		for _, c := range rel.Columns[:len(rel.Columns)-2] {
			fields = append(fields, catalog.Field(c.Name, c.Type, true))
		}
		return widecol.TableSpec{Keyspace: keyspaceData, Name: viewStateTable(rel), Schema: arrow.NewSchema(fields, nil),
			PartitionKey: []string{"_p"}, Clustering: []widecol.ClusteringColumn{{Name: "_ts"}, {Name: "_pe"}, {Name: "_ps"}}}
	}
	return groupStateSpec(viewStateTable(rel), vp.Agg)
}

// groupStateSpec is the spec of a table of an aggregation's groups: the
// group keys (_k0, ...; _k, always 0, without any), then the partials.
func groupStateSpec(name string, agg *planner.Aggregate) widecol.TableSpec {
	var fields []arrow.Field
	var key []string
	for i, g := range agg.GroupBy {
		name := fmt.Sprintf("_k%d", i)
		fields = append(fields, catalog.Field(name, g.Type(), true))
		key = append(key, name)
	}
	if len(key) == 0 {
		fields = append(fields, arrow.Field{Name: "_k", Type: arrow.PrimitiveTypes.Int64})
		key = []string{"_k"}
	}
	fields = append(fields, partialFields(agg)...)
	return widecol.TableSpec{Keyspace: keyspaceData, Name: name, Schema: arrow.NewSchema(fields, nil), PartitionKey: key}
}

// partialFields are the columns of an aggregation's partials in a table
// of its groups: _p0, _p1, ...
func partialFields(agg *planner.Aggregate) []arrow.Field {
	fields := make([]arrow.Field, len(agg.Aggs))
	for i, a := range agg.Aggs {
		fields[i] = catalog.Field(fmt.Sprintf("_p%d", i), a.Agg.Ret, true)
	}
	return fields
}

// aggStateInResult reports whether an incremental aggregation keeps its
// groups' partials as hidden cells of the view's rows (_p0, ... beside the
// group keys _k0, ...), one write per changed group, rather than in a
// table of their own: when every group has exactly one row for as long as
// the view exists. That rules out HAVING, windows (their groups close),
// nested aggregations and distinct counts (their state is elsewhere), and
// joins.
func aggStateInResult(rel *catalog.Relation, vp *planner.ViewPlan) bool {
	if vp.Mode != planner.Incremental || vp.Agg == nil || len(vp.Agg.Aggs) == 0 || vp.WindowKey >= 0 || vp.EmitOnWindowClose ||
		vp.Outer != nil || vp.DistinctIn != nil || len(vp.Distincts) > 0 || vp.Join != nil || vp.TableJoin != nil ||
		vp.TopN != nil || vp.AggTop != nil || !postOneToOne(vp.Post) {
		return false
	}
	for _, f := range partialFields(vp.Agg) {
		if slices.ContainsFunc(rel.Columns, func(c catalog.Column) bool { return c.Name == f.Name }) {
			return false
		}
	}
	return true
}

func (e *Engine) newJob(rel *catalog.Relation, vp *planner.ViewPlan, result, state *widecol.Table) *viewJob {
	j := &viewJob{eng: e, rel: rel, plan: vp, result: result, state: state, seen: map[string]int64{}, watermark: windows.NoWatermark}
	if vp.Agg != nil {
		for _, g := range vp.Agg.GroupBy {
			j.keyTypes = append(j.keyTypes, g.Type())
		}
	}
	return j
}

// startViews plans and starts the job of every view after a restart.
func (e *Engine) startViews(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var views []*catalog.Relation
	for _, r := range e.rels {
		if r.Kind == catalog.KindView {
			views = append(views, r)
		}
		if r.Kind == catalog.KindStream && r.Options["connector"] == "nexmark" {
			e.startSourceLocked(r)
		}
	}
	sort.Slice(views, func(i, j int) bool { return views[i].ID < views[j].ID })
	for _, rel := range views {
		job, err := e.restoreJobLocked(ctx, rel)
		if err != nil {
			// The view stays in the catalog and reports its error.
			e.log.Error("view cannot resume", "view", rel.Name, "err", err)
			job = &viewJob{eng: e, rel: rel, status: JobFailed, lastErr: err, seen: map[string]int64{}, watermark: windows.NoWatermark}
		}
		e.jobs[rel.Name] = job
	}
	return nil
}

func (e *Engine) restoreJobLocked(ctx context.Context, rel *catalog.Relation) (*viewJob, error) {
	x, err := parser.Parse(rel.Query)
	if err != nil {
		return nil, err
	}
	if len(x) != 1 {
		return nil, fmt.Errorf("view %q: stored query is not one statement", rel.Name)
	}
	sel, ok := x[0].AST.(*ast.Select)
	if !ok {
		return nil, fmt.Errorf("view %q: stored query is not a SELECT", rel.Name)
	}
	q, err := planner.NewBinder(lockedCatalog{e}, nil).BindSelect(sel)
	if err != nil {
		return nil, err
	}
	q.PlanVersion = rel.PlanVersion
	vp, err := planner.PlanView(q, lockedCatalog{e})
	if err != nil {
		return nil, err
	}
	result, err := e.store.Table(keyspaceData, tableName(rel))
	if err != nil {
		return nil, err
	}
	e.tables[rel.Name] = result
	var state *widecol.Table
	if topNStateInResult(vp, result) || (aggStateInResult(rel, vp) && len(result.Schema.Fields()) == len(rel.Columns)+len(vp.Agg.Aggs)) {
		// Views created before their state could be in their rows keep
		// the state table they have.
		state = result
	} else if vp.Mode == planner.Incremental && (vp.Agg != nil || vp.EventTime >= 0 || vp.TopN != nil) {
		if state, err = e.store.Table(keyspaceData, viewStateTable(rel)); err != nil {
			return nil, err
		}
	}
	job := e.newJob(rel, vp, result, state)
	job.start()
	return job, nil
}

// lockedCatalog reads the catalog while the caller holds e.mu.
type lockedCatalog struct{ e *Engine }

func (c lockedCatalog) Relation(name string) (*catalog.Relation, bool) {
	r, ok := c.e.rels[name]
	return r, ok
}

func (j *viewJob) start() {
	j.eng.fw.launch(j)
}

// stop ends the job for good (DROP VIEW, shutdown) and waits for its task.
func (j *viewJob) stop() {
	j.eng.fw.stop(j)
}

func (j *viewJob) setStatus(s JobState, err error) {
	j.mu.Lock()
	j.status = s
	j.lastErr = err
	if err != nil {
		j.failing = err
	}
	j.mu.Unlock()
	j.eng.notifyChange()
}

// runTask is the body of the job's task: it resumes from the last
// committed epoch and runs epochs until ctx ends (nil) or an epoch fails
// (the error, for the supervisor).
func (j *viewJob) runTask(ctx context.Context) (err error) {
	// A task's read-ahead and commit behind end with it.
	defer j.dropPrefetch()
	defer j.endBehind()
	// A bug that panics fails the task, which the supervisor restarts
	// from the last committed epoch, rather than the server.
	defer func() {
		if r := recover(); r != nil {
			j.eng.log.Error("view task panicked", "view", j.rel.Name, "panic", r, "stack", string(debug.Stack()))
			err = pgerror.New(pgerror.CodeInternalError, "view %q: internal error: %v", j.rel.Name, r)
		}
	}()
	j.endBehind()
	j.mu.Lock()
	j.groups, j.ends, j.byEnd = nil, nil, nil
	j.topN, j.aggTop = nil, nil
	j.status = JobStarting
	j.mu.Unlock()
	if err := j.recover(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	j.mu.Lock()
	j.stateGroups = int64(len(j.groups))
	j.mu.Unlock()
	j.setStatus(JobRunning, nil)
	first := true
	for {
		sig := j.eng.changeSignal()
		start := time.Now()
		did, err := j.step(ctx, first)
		first = false
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if did && j.plan.Mode == planner.Recompute {
			// A recomputation reads all its inputs: pace it so that it
			// takes at most half of the job's time.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(min(time.Since(start), time.Second)):
			}
		}
		if did {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-sig:
		}
	}
}

// recover loads the last committed epoch and the aggregation state, and
// re-runs a planned epoch that did not commit.
func (j *viewJob) recover(ctx context.Context) error {
	et, err := j.eng.epochTable(ctx)
	if err != nil {
		return err
	}
	row, err := j.eng.store.GetRow(ctx, et, []any{j.rel.Name})
	if errors.Is(err, widecol.ErrNotFound) {
		row, err = nil, nil
	}
	if err != nil {
		return err
	}
	var rec epochRecord
	if row != nil {
		if b, ok := row["record"].([]byte); ok {
			if err := json.Unmarshal(b, &rec); err != nil {
				return fmt.Errorf("view %q: corrupt epoch record: %w", j.rel.Name, err)
			}
		}
	}
	// Other jobs read a view's epoch (views over views) while it recovers;
	// its watermark is not known until the tracker is read.
	j.mu.Lock()
	j.epoch = rec.Epoch
	j.late = rec.Late
	j.watermark = windows.NoWatermark
	j.marks = nil
	j.mu.Unlock()
	j.tj, j.outerT = nil, nil // a table join's and an outer aggregation's state are read again
	if j.plan.Join != nil {
		return j.recoverJoin(ctx, &rec)
	}
	if j.plan.Mode == planner.Incremental && j.plan.Source.Kind == catalog.KindView {
		// A view read as a stream of its epochs: one offset, its epoch.
		if rec.Watermark != nil && j.readsViewWatermark() {
			j.setWatermark(*rec.Watermark)
		} else {
			j.setWatermark(windows.NoWatermark)
		}
		j.offsets = []int64{0}
		if len(rec.Ends) == 1 {
			j.offsets[0] = rec.Ends[0]
		}
		return j.resume(ctx, &rec)
	}
	if j.plan.Mode == planner.Incremental {
		t, err := j.eng.topic(j.plan.Source)
		if err != nil {
			return err
		}
		if wm := j.plan.Source.Watermark; wm != nil {
			if j.wmExpr, err = bindWatermark(j.plan.Source, wm.Expr); err != nil {
				return err
			}
			if j.tracker, err = windows.NewTracker(t.Partitions(), 0); err != nil {
				return err
			}
			if len(rec.Tracker) > 0 {
				if err := j.tracker.UnmarshalBinary(rec.Tracker); err != nil {
					return fmt.Errorf("view %q: %w", j.rel.Name, err)
				}
			}
			j.setWatermark(j.tracker.Watermark())
		} else {
			j.setWatermark(windows.NoWatermark)
		}
		j.offsets = make([]int64, t.Partitions())
		for p := range j.offsets {
			if p < len(rec.Ends) {
				j.offsets[p] = rec.Ends[p]
			} else {
				st, err := t.Stats(p)
				if err != nil {
					return err
				}
				j.offsets[p] = st.OldestOffset
			}
		}
		return j.resume(ctx, &rec)
	}
	return nil
}

// resume loads an incremental view's state and re-runs the epoch that was
// planned but not committed, if any.
func (j *viewJob) resume(ctx context.Context, rec *epochRecord) error {
	if j.state != nil && j.plan.Agg != nil {
		if err := j.loadState(ctx); err != nil {
			return err
		}
	}
	if j.plan.TopN != nil {
		if err := j.loadTopN(ctx); err != nil {
			return err
		}
	}
	if rec.Planned != nil && rec.Planned.Epoch == rec.Epoch+1 {
		wm := j.watermark
		if rec.Planned.Watermark != nil {
			wm = *rec.Planned.Watermark
		}
		return j.runIncremental(ctx, rec.Planned.Starts, rec.Planned.Ends, rec.Planned.Idle, wm)
	}
	return nil
}

func (j *viewJob) loadState(ctx context.Context) error {
	j.groups = map[string]*aggGroup{}
	j.aggTop = nil
	var ro *widecol.ReadOptions
	if j.state == j.result {
		// The group keys, then the partials, as a state table has them.
		var cols []string
		for _, k := range j.rel.PrimaryKey {
			cols = append(cols, j.rel.Columns[k].Name)
		}
		for _, f := range partialFields(j.plan.Agg) {
			cols = append(cols, f.Name)
		}
		ro = &widecol.ReadOptions{Columns: cols}
	}
	it, err := j.eng.store.Scan(ctx, j.state, widecol.Range{}, ro)
	if err != nil {
		return err
	}
	defer it.Close()
	nk := len(j.keyTypes)
	if nk == 0 {
		nk = 1
	}
	for {
		b, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		for i := 0; i < int(b.NumRows()); i++ {
			var keys []any
			for c := 0; c < len(j.keyTypes); c++ {
				keys = append(keys, valueAt(b.Column(c), i))
			}
			g := j.newAggGroup(encodeKey(keys), func() []any { return keys })
			for c := nk; c < int(b.NumCols()) && c-nk < len(g.vals); c++ {
				p, o := partialAt(b.Column(c), i)
				g.setPartial(c-nk, p, o)
			}
			g.stored = true
			var start int64
			windowed := false
			if wk := j.plan.WindowKey; wk >= 0 && wk < len(keys) {
				start, windowed = keys[wk].(int64)
			}
			j.addGroup(g, start, windowed)
		}
		b.Release()
	}
	if j.plan.Outer != nil {
		if err := j.loadOuter(ctx); err != nil {
			return err
		}
	}
	if j.plan.DistinctIn != nil {
		return j.loadDistinct(ctx)
	}
	return nil
}

// step runs one epoch if there is new input; it reports whether it did.
func (j *viewJob) step(ctx context.Context, first bool) (bool, error) {
	if f := testStep.Load(); f != nil {
		(*f)(j.rel.Name)
	}
	if c := j.inflight; c != nil {
		select {
		case <-c.done:
			// A commit behind that failed fails the job even when
			// there is nothing more to read.
			if err := j.waitBehind(); err != nil {
				return false, err
			}
		default:
		}
	}
	ctx, release, err := j.eng.acquireStreaming(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	if j.plan.Mode == planner.Recompute {
		vers := j.sourceVersions()
		if !first && equalVersions(vers, j.seenVersions()) {
			return false, nil
		}
		if err := j.runRecompute(ctx, vers); err != nil {
			return false, err
		}
		return true, nil
	}
	if j.plan.Join != nil {
		return j.stepJoin(ctx, first)
	}
	var tableName string
	var tableVer int64
	if tj := j.plan.TableJoin; tj != nil {
		// A change of the joined table or view is work too.
		tableName = tj.Table.Source.Name
		tableVer = j.eng.position(tableName)
		seen, known := j.seenVersions()[tableName]
		j.tjCheck = !known || seen != tableVer
	}
	if j.plan.Source.Kind == catalog.KindView {
		return j.stepViewSource(ctx, first)
	}
	if p := j.planned; p != nil {
		// Planned and recorded with the last epoch.
		j.planned, j.plannedRecorded = nil, true
		plannedRuns.Add(1)
		if err := j.runIncremental(ctx, p.Starts, p.Ends, p.Idle, windows.NoWatermark); err != nil {
			return false, err
		}
		return true, nil
	}
	t, err := j.eng.topic(j.plan.Source)
	if err != nil {
		return false, err
	}
	starts, ends, idle, more, err := j.epochRanges(t, j.offsets)
	if err != nil {
		return false, err
	}
	if !more && !(first && j.epoch == 0) && !j.tjCheck {
		return false, nil
	}
	if err := j.runIncremental(ctx, starts, ends, idle, windows.NoWatermark); err != nil {
		return false, err
	}
	if tableName != "" {
		j.mu.Lock()
		seen := maps.Clone(j.seen)
		if seen == nil {
			seen = map[string]int64{}
		}
		seen[tableName] = tableVer
		j.seen = seen
		j.mu.Unlock()
	}
	return more, nil
}

// epochRanges returns the ranges of the source's partitions an epoch
// starting at offsets from takes now: up to what is stable, at most
// epochRows() in all; idle tells the partitions read to their end, more
// whether there is anything to read.
func (j *viewJob) epochRanges(t *streamlog.Topic, from []int64) (starts, ends []int64, idle []bool, more bool, err error) {
	starts = append([]int64(nil), from...)
	ends = make([]int64, len(starts))
	idle = make([]bool, len(starts))
	budget := j.epochRows()
	stats, err := j.eng.stableStats(t)
	if err != nil {
		return nil, nil, nil, false, err
	}
	for p := range ends {
		st := stats[0][p]
		if starts[p] < st.OldestOffset {
			starts[p] = st.OldestOffset
		}
		ends[p] = st.StableOffset
		share := budget / int64(len(ends))
		if ends[p]-starts[p] > share {
			ends[p] = starts[p] + share
		}
		if ends[p] > starts[p] {
			more = true
		}
		idle[p] = ends[p] == st.StableOffset
	}
	return starts, ends, idle, more, nil
}

func equalVersions(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (j *viewJob) seenVersions() map[string]int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seen
}

// sourceVersions returns a position for each input: the sum of a stream's
// visible offsets, a table's write count, a view's epoch.
func (j *viewJob) sourceVersions() map[string]int64 {
	out := map[string]int64{}
	for _, name := range j.rel.DependsOn {
		out[name] = j.eng.position(name)
	}
	return out
}

// position returns the current position of a relation (see sourceVersions).
func (e *Engine) position(name string) int64 {
	rel, ok := e.Relation(name)
	if !ok {
		return -1
	}
	switch rel.Kind {
	case catalog.KindStream:
		t, err := e.topic(rel)
		if err != nil {
			return -1
		}
		var sum int64
		for p := 0; p < t.Partitions(); p++ {
			if st, err := t.Stats(p); err == nil {
				sum += st.StableOffset
			}
		}
		return sum
	case catalog.KindView:
		e.mu.RLock()
		j := e.jobs[name]
		e.mu.RUnlock()
		if j == nil {
			return -1
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.committedLocked()
	}
	return e.version(name)
}

// readDelta reads the rows of the source in [starts, ends) per partition.
func (j *viewJob) readDelta(ctx context.Context, starts, ends []int64) ([]arrow.RecordBatch, []int, error) {
	if j.plan.Source.Kind == catalog.KindView {
		return j.readViewEpochs(ctx, starts[0], ends[0])
	}
	t, err := j.eng.topic(j.plan.Source)
	if err != nil {
		return nil, nil, err
	}
	return j.readTopic(ctx, t, starts, ends, j.readColumns(j.plan.Source, t))
}

// memStorage serves in-memory batches for given relations, and the
// tables of lookup joins from a store snapshot.
type memStorage struct {
	batches map[*catalog.Relation][]arrow.RecordBatch
	byName  map[string][]arrow.RecordBatch
	lookup  exec.Storage
}

func (m *memStorage) Scan(ctx context.Context, rel *catalog.Relation, project []int, filter planner.Expr) (exec.Operator, error) {
	bs, ok := m.batches[rel]
	if !ok {
		bs, ok = m.byName[rel.Name]
	}
	if !ok && m.lookup != nil && rel.Kind == catalog.KindTable {
		return m.lookup.Scan(ctx, rel, project, filter)
	}
	if !ok {
		return nil, fmt.Errorf("view input %q is not available", rel.Name)
	}
	fields := make([]arrow.Field, len(project))
	for i, p := range project {
		fields[i] = catalog.Field(rel.Columns[p].Name, rel.Columns[p].Type, true)
	}
	return &memScan{batches: bs, project: project, schema: arrow.NewSchema(fields, nil)}, nil
}

type memScan struct {
	batches []arrow.RecordBatch
	project []int
	schema  *arrow.Schema
	i       int
}

func (m *memScan) Schema() *arrow.Schema          { return m.schema }
func (m *memScan) Open(ctx context.Context) error { return nil }
func (m *memScan) Close() error                   { return nil }
func (m *memScan) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for m.i < len(m.batches) {
		b := m.batches[m.i]
		m.i++
		if b.NumRows() == 0 {
			continue
		}
		cols := make([]arrow.Array, len(m.project))
		for i, p := range m.project {
			cols[i] = b.Column(p)
		}
		return array.NewRecordBatch(m.schema, cols, b.NumRows()), nil
	}
	return nil, io.EOF
}

func (j *viewJob) env(st exec.Storage) *exec.Env {
	s := &Session{eng: j.eng, user: "sqld", db: "sqld", settings: map[string]string{}}
	env := s.env(nil, st)
	return env
}

// runStage evaluates node over the epoch's input in st and returns its
// batches (the caller releases them): on the remote agent the job's task
// runs on, if any (see remote.go), else here.
func (j *viewJob) runStage(ctx context.Context, node planner.Node, st exec.Storage) ([]arrow.RecordBatch, error) {
	if rt := j.eng.fw.remoteTask(j.rel.Name); rt != nil {
		if res, ok, err := rt.stage(ctx, j, node, st); ok {
			return res, err
		}
	}
	op, err := exec.Build(j.env(j.eng.yielding(st)), node)
	if err != nil {
		return nil, err
	}
	return exec.Collect(ctx, op)
}

// runIncremental runs one epoch over the source rows in [starts, ends).
// For a view reading a view that carries a watermark, wm is the
// watermark after the epoch (see stepViewSource); otherwise it is unused.
func (j *viewJob) runIncremental(ctx context.Context, starts, ends []int64, idle []bool, wm int64) error {
	e := j.eng
	epoch := j.epoch + 1
	// An epoch read ahead is taken when it is a part of this one.
	pre := j.takePrefetch(starts, ends)
	if pre != nil {
		idle = slices.Clone(idle)
		for p := range idle {
			idle[p] = idle[p] && pre.ends[p] == ends[p]
		}
		ends = pre.ends
		j.cur = pre
	}
	defer func() {
		if j.cur != nil {
			j.cur.release()
			j.cur = nil
		}
		j.nextFrom = nil
	}()
	et, err := e.epochTable(ctx)
	if err != nil {
		return err
	}
	var trackerBefore []byte
	if j.tracker != nil {
		if trackerBefore, err = j.tracker.MarshalBinary(); err != nil {
			return err
		}
	}
	recorded := j.plannedRecorded
	j.plannedRecorded = false
	// Record the plan first, so a crash re-runs exactly these ranges with
	// the same watermark; an epoch planned with the last one is recorded
	// already.
	carried := j.readsViewWatermark()
	var wmPrev, wmNext *int64
	if carried {
		wm = max(wm, j.watermark)
		wmPrev, wmNext = &j.watermark, &wm
	}
	planned, _ := json.Marshal(epochRecord{Epoch: j.epoch, Ends: starts, Tracker: trackerBefore, Late: j.late, Watermark: wmPrev,
		Planned: &plannedEpoch{Epoch: epoch, Starts: starts, Ends: ends, Idle: idle, Watermark: wmNext}})
	if !recorded {
		// After the last epoch's record, which it replaces.
		if err := j.waitBehind(); err != nil {
			return err
		}
		if err := j.writeRecord(ctx, et, planned); err != nil {
			return err
		}
	}

	var delta []arrow.RecordBatch
	var parts []int
	if pre != nil {
		delta, parts = pre.delta, pre.parts
		pre.delta = nil
	} else if delta, parts, err = j.readDelta(ctx, starts, ends); err != nil {
		return err
	}
	defer releaseAll(delta)
	j.nextFrom = ends
	var in int64
	for _, b := range delta {
		in += b.NumRows()
	}
	// The watermark before the epoch judges lateness; the one after it
	// closes windows.
	wmBefore := j.watermark
	wmAfter, err := j.advanceWatermark(delta, parts, idle)
	if err != nil {
		j.restoreTracker(trackerBefore)
		return err
	}
	if carried {
		wmAfter = wm
	}
	st := &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{}, byName: map[string][]arrow.RecordBatch{j.plan.Source.Name: delta}}
	if len(j.plan.Lookups) > 0 {
		// Lookup joins read their tables as of this epoch.
		snap := e.store.NewSnapshot()
		defer snap.Close()
		st.lookup = &storage{eng: e, snap: snap, mem: e.alloc}
	}
	batch := e.store.NewBatchSize(j.batchHint)
	defer func() {
		if batch != nil {
			batch.Close()
		}
	}()
	var out, late int64
	if j.plan.TableJoin != nil {
		out, err = j.applyTableJoin(ctx, batch, st, epoch, j.tjCheck)
	} else if j.plan.TopN != nil {
		out, late, err = j.applyTopN(ctx, batch, st, wmBefore, wmAfter)
	} else if j.plan.Agg == nil && j.plan.EventTime >= 0 {
		out, late, err = j.applyRowsOnClose(ctx, batch, st, epoch, wmBefore, wmAfter)
	} else if j.plan.Agg == nil {
		out, err = j.applyRows(ctx, batch, st, epoch, nil)
	} else {
		out, late, err = j.applyAgg(ctx, batch, st, wmBefore, wmAfter)
	}
	if err != nil {
		j.restoreTracker(trackerBefore)
		return err
	}
	var trackerAfter []byte
	if j.tracker != nil {
		if trackerAfter, err = j.tracker.MarshalBinary(); err != nil {
			return err
		}
	}
	var wmRec *int64
	if carried {
		wmRec = &wmAfter
	}
	// A view committing behind plans its next epoch now, to run it while
	// this one commits.
	behind := j.commitsBehind()
	var next *plannedEpoch
	if behind {
		t, err := e.topic(j.plan.Source)
		if err != nil {
			return err
		}
		starts, ends, idle, more, err := j.epochRanges(t, ends)
		if err != nil {
			return err
		}
		if more {
			next = &plannedEpoch{Epoch: epoch + 1, Starts: starts, Ends: ends, Idle: idle}
		}
	}
	rec, _ := json.Marshal(epochRecord{Epoch: epoch, Ends: ends, Tracker: trackerAfter, Late: j.late + late, Watermark: wmRec, Planned: next})
	if err := batch.UpsertRow(et, widecol.Row{"name": j.rel.Name, "record": rec}, nil); err != nil {
		return err
	}
	// The next epoch's batch starts at about this one's size, rather
	// than growing by copies.
	j.batchHint = min(batch.Bytes(), 1<<30)
	if err := j.waitBehind(); err != nil {
		return err
	}
	var c *behindCommit
	if behind {
		c = &behindCommit{done: make(chan struct{})}
		j.inflight, j.planned = c, next
	} else if err := batch.Commit(ctx); err != nil {
		return err
	}
	j.mu.Lock()
	j.behind = c
	j.epoch = epoch
	j.offsets = ends
	j.rowsIn += in
	j.rowsOut += out
	j.late += late
	j.stateGroups = int64(len(j.groups))
	j.failing = nil
	j.watermark = wmAfter
	j.markLocked()
	j.lastTime = time.Now()
	j.mu.Unlock()
	if c != nil {
		j.commitBehind(ctx, c, batch)
		batch = nil
	}
	e.notifyChange()
	return nil
}

// writeRecord commits the job's epoch record alone (a planned epoch's).
func (j *viewJob) writeRecord(ctx context.Context, et *widecol.Table, rec []byte) error {
	pb := j.eng.store.NewBatch()
	defer pb.Close()
	if err := pb.UpsertRow(et, widecol.Row{"name": j.rel.Name, "record": rec}, nil); err != nil {
		return err
	}
	return pb.Commit(ctx)
}

// advanceWatermark feeds the epoch's rows to the watermark tracker and
// returns the new watermark (NoWatermark without one).
func (j *viewJob) advanceWatermark(delta []arrow.RecordBatch, parts []int, idle []bool) (int64, error) {
	if j.tracker == nil {
		return windows.NoWatermark, nil
	}
	if err := observeWatermark(j.env(nil), j.tracker, j.wmExpr, delta, parts, idle, j.plan.Source.Name); err != nil {
		return 0, err
	}
	return j.tracker.Advance(), nil
}

// readsViewWatermark reports whether the job reads a view, as a stream of
// its epochs, that carries a watermark: the job's watermark is then that
// view's, not computed by a tracker.
func (j *viewJob) readsViewWatermark() bool {
	src := j.plan.Source
	return j.plan.Mode == planner.Incremental && j.plan.Join == nil && src != nil && src.Kind == catalog.KindView && src.Watermark != nil
}

// setWatermark sets the watermark after the last committed epoch, as
// recovery finds it.
func (j *viewJob) setWatermark(wm int64) {
	j.mu.Lock()
	j.watermark = wm
	j.markLocked()
	j.mu.Unlock()
}

// markLocked records the watermark after the job's epoch for the views
// reading it, when the view carries one. j.mu is held.
func (j *viewJob) markLocked() {
	if j.rel.Watermark == nil {
		return
	}
	n := len(j.marks)
	switch {
	case n > 0 && j.marks[n-1].epoch == j.epoch:
		j.marks[n-1].wm = j.watermark
	case n > 0 && j.marks[n-1].wm == j.watermark:
		// Unchanged since the last mark.
	default:
		if n == maxMarks {
			j.marks = j.marks[1:]
		}
		j.marks = append(j.marks, epochMark{epoch: j.epoch, wm: j.watermark})
	}
}

// watermarkAt returns the view's watermark after its epoch, when it
// carries one and still knows it.
func (j *viewJob) watermarkAt(epoch int64) (int64, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if epoch > j.epoch {
		return 0, false
	}
	i := sort.Search(len(j.marks), func(i int) bool { return j.marks[i].epoch > epoch }) - 1
	if i < 0 {
		return 0, false
	}
	return j.marks[i].wm, true
}

// restoreTracker puts back the tracker state of before a failed epoch.
func (j *viewJob) restoreTracker(b []byte) {
	if j.tracker != nil && len(b) > 0 {
		_ = j.tracker.UnmarshalBinary(b)
	}
}

// applyRows writes the rows of a view without aggregation, keyed by
// (epoch, row number): re-running the epoch rewrites the same keys.
//
// onPad, when not nil, is called with the last column's value (an outer
// join's _pad) and the row's seq for every row where it is not NULL.
func (j *viewJob) applyRows(ctx context.Context, batch *widecol.Batch, st exec.Storage, epoch int64, onPad func(pad, seq int64)) (int64, error) {
	res, err := j.runInput(ctx, j.plan.Input, st)
	if err != nil {
		return 0, err
	}
	defer releaseAll(res)
	var seq, n int64
	visible := len(j.rel.Columns) - 2
	// The epoch's rows go to the store in one Append: one chunk when
	// the view's table is append-only.
	var out []arrow.RecordBatch
	defer func() { releaseAll(out) }()
	for _, b := range res {
		rows := int(b.NumRows())
		if rows == 0 {
			continue
		}
		if onPad != nil {
			pads := b.Column(int(b.NumCols()) - 1).(*array.Int64)
			for i := 0; i < rows; i++ {
				if pads.IsValid(i) {
					onPad(pads.Value(i), seq+int64(i))
				}
			}
		}
		ea, sa := seqArray(j.eng.alloc, rows, epoch, 0), seqArray(j.eng.alloc, rows, seq, 1)
		seq += int64(rows)
		cols := append(append([]arrow.Array(nil), b.Columns()[:visible]...), ea, sa)
		out = append(out, array.NewRecordBatch(j.rel.Schema(), cols, int64(rows)))
		ea.Release()
		sa.Release()
		n += int64(rows)
	}
	if len(out) > 0 {
		if err := batch.Append(j.result, out...); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// seqArray returns the non-null Int64 array first, first+step, ... of n
// values.
func seqArray(mem memory.Allocator, n int, first, step int64) arrow.Array {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * 8)
	v := arrow.Int64Traits.CastFromBytes(buf.Bytes())
	for i := range v {
		v[i] = first
		first += step
	}
	d := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, buf}, nil, 0, 0)
	buf.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

// applyRowsOnClose writes the rows of a view without aggregation that
// emits on window close: a row appears once the watermark passes its event
// time. Rows behind the watermark before the epoch are late; rows ahead
// of the new watermark wait in the state table, ordered by time.
func (j *viewJob) applyRowsOnClose(ctx context.Context, batch *widecol.Batch, st exec.Storage, epoch, wmBefore, wmAfter int64) (int64, int64, error) {
	res, err := j.runStage(ctx, j.plan.Input, st)
	if err != nil {
		return 0, 0, err
	}
	defer releaseAll(res)
	visible := len(j.rel.Columns) - 2
	var late, seq, n int64
	emit := func(b arrow.RecordBatch, idx []int64) error {
		if len(idx) == 0 {
			return nil
		}
		sel, err := takeRows(j.eng, b, idx)
		if err != nil {
			return err
		}
		defer sel.Release()
		eb, sb := array.NewInt64Builder(j.eng.alloc), array.NewInt64Builder(j.eng.alloc)
		for range idx {
			eb.Append(epoch)
			sb.Append(seq)
			seq++
		}
		ea, sa := eb.NewArray(), sb.NewArray()
		eb.Release()
		sb.Release()
		cols := append(append([]arrow.Array(nil), sel.Columns()[:visible]...), ea, sa)
		rec := array.NewRecordBatch(j.rel.Schema(), cols, int64(len(idx)))
		ea.Release()
		sa.Release()
		err = batch.Append(j.result, rec)
		rec.Release()
		n += int64(len(idx))
		return err
	}
	// Rows released by the new watermark from the pending state.
	if wmAfter != windows.NoWatermark {
		it, err := j.eng.store.Scan(ctx, j.state, widecol.Range{Partition: []any{int64(0)},
			Upper: &widecol.Bound{Values: []any{wmAfter}, Inclusive: true}}, nil)
		if err != nil {
			return 0, 0, err
		}
		for {
			b, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				it.Close()
				return 0, 0, err
			}
			rows := int(b.NumRows())
			idx := make([]int64, rows)
			for i := range idx {
				idx[i] = int64(i)
				key := []any{int64(0), valueAt(b.Column(1), i), valueAt(b.Column(2), i), valueAt(b.Column(3), i)}
				if err := batch.DeleteRow(j.state, key); err != nil {
					b.Release()
					it.Close()
					return 0, 0, err
				}
			}
			cols := b.Columns()[4:]
			fields := make([]arrow.Field, len(cols))
			for i := range cols {
				fields[i] = b.Schema().Field(4 + i)
			}
			view := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(rows))
			err = emit(view, idx)
			view.Release()
			b.Release()
			if err != nil {
				it.Close()
				return 0, 0, err
			}
		}
		it.Close()
	}
	// This epoch's rows: late, emitted now, or pending.
	var pseq int64
	for _, b := range res {
		ts, ok := b.Column(j.plan.EventTime).(*array.Timestamp)
		if !ok {
			return 0, 0, fmt.Errorf("event time of view %q is not a timestamp", j.rel.Name)
		}
		var now, wait []int64
		for i := 0; i < int(b.NumRows()); i++ {
			if ts.IsNull(i) {
				late++
				continue
			}
			t := int64(ts.Value(i))
			switch {
			case wmBefore != windows.NoWatermark && t <= wmBefore:
				late++
			case wmAfter != windows.NoWatermark && t <= wmAfter:
				now = append(now, int64(i))
			default:
				wait = append(wait, int64(i))
			}
		}
		if err := emit(b, now); err != nil {
			return 0, 0, err
		}
		if len(wait) > 0 {
			sel, err := takeRows(j.eng, b, wait)
			if err != nil {
				return 0, 0, err
			}
			bld := array.NewRecordBuilder(j.eng.alloc, j.state.Schema)
			selTs := sel.Column(j.plan.EventTime).(*array.Timestamp)
			for i := 0; i < len(wait); i++ {
				bld.Field(0).(*array.Int64Builder).Append(0)
				bld.Field(1).(*array.Int64Builder).Append(int64(selTs.Value(i)))
				bld.Field(2).(*array.Int64Builder).Append(epoch)
				bld.Field(3).(*array.Int64Builder).Append(pseq)
				pseq++
			}
			for c := 0; c < visible; c++ {
				col := sel.Column(c)
				for i := 0; i < len(wait); i++ {
					if err := appendFrom(bld.Field(4+c), col, i); err != nil {
						bld.Release()
						sel.Release()
						return 0, 0, err
					}
				}
			}
			rec := bld.NewRecordBatch()
			bld.Release()
			sel.Release()
			err = batch.Upsert(j.state, rec, nil)
			rec.Release()
			if err != nil {
				return 0, 0, err
			}
		}
	}
	return n, late, nil
}

// splitAgg reports whether an aggregation's partials over the epoch's
// input st are computed on several workers. Partials merge into their
// groups one row at a time, so a group may come from several workers;
// directRows checks for that. Each worker keeps its own groups, so a
// windowed aggregation whose epochs have about as many groups as rows (a
// short hop over many keys) splits its rows only while they reduce well
// (reduce: the last epoch's partial rows per input row).
func (j *viewJob) splitAgg(st *memStorage, reduce float64) bool {
	return j.splitInput(st) >= 2 && (j.plan.WindowKey < 0 || reduce < splitMaxReduce)
}

// aggPartials evaluates the aggregation's partials over the epoch's input
// st, on several workers when splitAgg says so (split).
func (j *viewJob) aggPartials(ctx context.Context, st *memStorage, reduce float64) (parts []arrow.RecordBatch, split bool, err error) {
	if split = j.splitAgg(st, reduce); split {
		parts, err = j.runSplit(ctx, j.plan.Agg, st)
	} else {
		parts, err = j.runStage(ctx, j.plan.Agg, st)
	}
	return parts, split, err
}

// applyAgg merges the epoch's partial aggregates into the group state and
// rewrites the view rows of the groups it touched (or, with EMIT ON WINDOW
// CLOSE, of the windows the watermark closed). Rows of windows already
// closed before the epoch are late: dropped and counted. Closed windows'
// state is freed.
func (j *viewJob) applyAgg(ctx context.Context, batch *widecol.Batch, st *memStorage, wmBefore, wmAfter int64) (int64, int64, error) {
	vp := j.plan
	var parts []arrow.RecordBatch
	var err error
	var split bool
	if pre := j.cur; pre != nil {
		// Computed ahead, while the last epoch merged its partials.
		parts, split = pre.stage, pre.split
		pre.stage = nil
	} else if parts, split, err = j.aggPartials(ctx, st, j.aggReduce); err != nil {
		return 0, 0, err
	}
	defer releaseAll(parts)
	if in := j.inputRows(st); in > 0 {
		var out int64
		for _, b := range parts {
			out += b.NumRows()
		}
		j.aggReduce = float64(out) / float64(in)
	}
	if j.nextFrom != nil {
		j.startPrefetch(ctx, j.nextFrom)
	}
	if j.groups == nil {
		j.groups = map[string]*aggGroup{}
	}
	nk := len(vp.Agg.GroupBy)
	ops := j.aggOps()
	// The epoch's mark tells the groups it changed.
	j.mark++
	mark := j.mark
	var late int64
	var order []*aggGroup
	// A nested aggregation retracts the old rows of the groups changed.
	var old map[string][]any
	if vp.Outer != nil {
		old = map[string][]any{}
	}
	// Groups of windows that both open and close in this epoch need no
	// state: their partials are final. They go to the view's rows in
	// whole-batch operations, without the per-group state.
	direct, fast, err := j.directRows(parts, wmBefore, wmAfter, split)
	if err != nil {
		return 0, 0, err
	}
	defer releaseAll(direct)
	var kb []byte
	for bi, b := range parts {
		cols := b.Columns()
		for i := 0; i < int(b.NumRows()); i++ {
			if fast != nil && fast[bi][i] {
				continue
			}
			var start int64
			windowed := false
			if vp.WindowKey >= 0 {
				if start, windowed = windowStartAt(cols[vp.WindowKey], i); windowed && windows.IsLate(start+vp.WindowSize, wmBefore) {
					if n, ok := valueAt(cols[nk+vp.RowCount], i).(int64); ok {
						late += n
					}
					continue
				}
			}
			kb = kb[:0]
			for c := 0; c < nk; c++ {
				kb = appendKeyAt(kb, cols[c], i)
			}
			g, ok := j.groups[string(kb)]
			if !ok {
				g = j.newAggGroup(string(kb), func() []any {
					keys := make([]any, nk)
					for c := 0; c < nk; c++ {
						keys[c] = valueAt(cols[c], i)
					}
					return keys
				})
				j.addGroup(g, start, windowed)
			} else if old != nil && g.mark != mark {
				old[g.key] = g.boxPartials()
			}
			for a, op := range ops {
				v, o := partialAt(cols[nk+a], i)
				if err := g.merge(a, op, vp.Agg.Aggs[a].Agg.Name, v, o); err != nil {
					return 0, 0, err
				}
			}
			if g.mark != mark {
				g.mark = mark
				order = append(order, g)
			}
		}
	}
	if vp.DistinctIn != nil {
		if err := j.applyDistinct(ctx, batch, st, wmBefore); err != nil {
			return 0, 0, err
		}
	}
	// Windows the new watermark closes, in the order of their ends.
	var closed []*aggGroup
	if vp.WindowKey >= 0 && wmAfter != windows.NoWatermark {
		for len(j.ends) > 0 && windows.IsLate(j.ends[0], wmAfter) {
			end := j.ends[0]
			j.ends = j.ends[1:]
			keys := j.byEnd[end]
			delete(j.byEnd, end)
			sort.Strings(keys)
			for _, k := range keys {
				if g, ok := j.groups[k]; ok && !g.closed {
					g.closed = true
					closed = append(closed, g)
				}
			}
		}
	}
	emit := order
	if vp.EmitOnWindowClose {
		emit = closed
	}
	// State: touched open groups are written, closed ones freed.
	if err := j.writeState(batch, order); err != nil {
		return 0, 0, err
	}
	for _, g := range closed {
		if g.stored {
			if err := batch.DeleteRow(j.state, g.groupKeys(nk)); err != nil {
				return 0, 0, err
			}
		}
		if err := j.freeDistinct(batch, g); err != nil {
			return 0, 0, err
		}
		delete(j.groups, g.key)
	}
	if len(emit) == 0 && len(direct) == 0 {
		return 0, late, nil
	}
	if vp.Outer != nil {
		// The outer aggregation reads the inner groups' partials boxed.
		keys := make([]string, len(order))
		touched := make(map[string]*groupState, len(order))
		for i, g := range order {
			keys[i] = g.key
			touched[g.key] = &groupState{keys: g.groupKeys(nk), partials: g.boxPartials()}
		}
		n, err := j.applyOuter(ctx, batch, keys, touched, old)
		return n, late, err
	}
	if vp.AggTop != nil {
		n, err := j.applyAggTop(ctx, batch, order)
		return n, late, err
	}
	n, err := j.writeGroupRowsSplit(ctx, batch, st, emit, direct)
	return n, late, err
}

// writeGroupRowsSplit is writeGroupRows on several cores when many groups
// changed: each worker writes a share of the groups into a batch of its
// own (the first one with the windows written straight from their
// partials), and batch absorbs the others' in order.
func (j *viewJob) writeGroupRowsSplit(ctx context.Context, batch *widecol.Batch, st *memStorage, order []*aggGroup, direct []arrow.RecordBatch) (int64, error) {
	n := splitWorkers(int64(len(order)))
	if n < 2 || j.eng.fw.remoteTask(j.rel.Name) != nil {
		return j.writeGroupRows(ctx, batch, st, order, direct)
	}
	per := (len(order) + n - 1) / n
	return j.writeShares(batch, n, func(w int, b *widecol.Batch) (int64, error) {
		share := order[min(w*per, len(order)):min((w+1)*per, len(order))]
		d := direct
		if w > 0 {
			d = nil
		}
		// Each worker's plan reads the groups from a storage of its own.
		var sw *memStorage
		if st != nil {
			sw = &memStorage{batches: maps.Clone(st.batches), byName: st.byName, lookup: st.lookup}
		}
		return j.writeGroupRows(ctx, b, sw, share, d)
	})
}

// directRows picks the partial rows of windows that open and close within
// this epoch (no state of that window exists, it ends after the
// watermark before the epoch and by the one after it) and returns them as
// AggRel batches, with a mask per partial batch of the rows taken. It
// takes none when the view has an average (its final value needs the
// division done per group) or no window.
func (j *viewJob) directRows(parts []arrow.RecordBatch, wmBefore, wmAfter int64, split bool) ([]arrow.RecordBatch, [][]bool, error) {
	vp := j.plan
	if vp.WindowKey < 0 || wmAfter == windows.NoWatermark || vp.DistinctIn != nil || vp.Outer != nil {
		return nil, nil, nil
	}
	for _, idx := range vp.Partials {
		if len(idx) != 1 {
			return nil, nil, nil
		}
	}
	nk := len(vp.Agg.GroupBy)
	schema := vp.AggRel.Schema()
	var out []arrow.RecordBatch
	masks := make([][]bool, len(parts))
	for bi, b := range parts {
		starts, ok := b.Column(vp.WindowKey).(*array.Timestamp)
		if !ok {
			return nil, nil, nil
		}
		mask := make([]bool, b.NumRows())
		for i := range mask {
			if starts.IsNull(i) {
				continue
			}
			end := int64(starts.Value(i)) + vp.WindowSize
			if windows.IsLate(end, wmBefore) || !windows.IsLate(end, wmAfter) {
				continue
			}
			if _, open := j.byEnd[end]; open {
				continue
			}
			mask[i] = true
		}
		masks[bi] = mask
	}
	if split {
		// Workers each aggregate a share of the rows: a group that came
		// from more than one is merged row by row instead.
		dropSharedGroups(parts, nk, masks)
	}
	for bi, b := range parts {
		var take []int64
		for i, ok := range masks[bi] {
			if ok {
				take = append(take, int64(i))
			}
		}
		if len(take) == 0 {
			continue
		}
		cols := make([]arrow.Array, 0, len(schema.Fields()))
		for c := 0; c < nk; c++ {
			cols = append(cols, b.Column(c))
		}
		for _, idx := range vp.Partials {
			cols = append(cols, b.Column(nk+idx[0]))
		}
		src := array.NewRecordBatch(schema, cols, b.NumRows())
		sel, err := takeRows(j.eng, src, take)
		src.Release()
		if err != nil {
			releaseAll(out)
			return nil, nil, err
		}
		out = append(out, sel)
	}
	return out, masks, nil
}

// splitMaxReduce is the most partial rows per input row at which a
// windowed aggregation still splits its epochs' rows among workers.
const splitMaxReduce = 0.25

// dropSharedGroups clears the masked rows of parts whose group (the
// first nk columns) has more than one masked row.
func dropSharedGroups(parts []arrow.RecordBatch, nk int, masks [][]bool) {
	type at struct{ b, i int }
	first := map[string]at{}
	var kb []byte
	for bi, b := range parts {
		for i, ok := range masks[bi] {
			if !ok {
				continue
			}
			kb = kb[:0]
			for c := 0; c < nk; c++ {
				kb = appendKeyAt(kb, b.Column(c), i)
			}
			if f, seen := first[string(kb)]; seen {
				masks[bi][i] = false
				masks[f.b][f.i] = false
			} else {
				first[string(kb)] = at{bi, i}
			}
		}
	}
}

// writeState upserts the state of the touched groups that stay open.
func (j *viewJob) writeState(batch *widecol.Batch, order []*aggGroup) error {
	vp := j.plan
	if j.state == j.result {
		// The view's rows carry the partials (writeGroupRows).
		for _, g := range order {
			g.stored = true
		}
		return nil
	}
	nk := len(vp.Agg.GroupBy)
	sbld := array.NewRecordBuilder(j.eng.alloc, j.state.Schema)
	defer sbld.Release()
	sbld.Reserve(len(order))
	keyBs := sbld.Fields()[:nk]
	rows := 0
	for _, g := range order {
		if g.closed {
			continue
		}
		if err := appendKeys(keyBs, j.keyTypes, g); err != nil {
			return err
		}
		sk := nk
		if nk == 0 {
			sbld.Field(0).(*array.Int64Builder).Append(0)
			sk = 1
		}
		for a, call := range vp.Agg.Aggs {
			if err := appendPartial(sbld.Field(sk+a), call.Agg.Ret, g.vals[a], g.otherAt(a)); err != nil {
				return err
			}
		}
		g.stored = true
		rows++
	}
	if rows == 0 {
		return nil
	}
	stateRows := sbld.NewRecordBatch()
	defer stateRows.Release()
	return batch.Upsert(j.state, stateRows, nil)
}

// writeGroupRows computes the view rows of the given groups of the
// view's aggregation, and of the direct rows (see directRows), and writes
// them; a group without a row (HAVING false) loses its row.
func (j *viewJob) writeGroupRows(ctx context.Context, batch *widecol.Batch, st *memStorage, order []*aggGroup, direct []arrow.RecordBatch) (int64, error) {
	lvl := j.innerLevel()
	rows, err := j.groupRows(lvl, order)
	if err != nil {
		return 0, err
	}
	defer rows.Release()
	keys := make([]string, len(order))
	for i, g := range order {
		keys[i] = g.key
	}
	var partials []arrow.Array
	if j.state == j.result {
		if partials, err = j.partialArrays(order); err != nil {
			return 0, err
		}
		defer releaseArrays(partials)
	}
	return j.writeLevelRows(ctx, batch, st, lvl, rows, keys, func(i int) []any { return order[i].groupKeys(lvl.nk) }, direct, partials)
}

// partialArrays returns one array per partial of the view's aggregation
// with the values of the groups in order.
func (j *viewJob) partialArrays(order []*aggGroup) ([]arrow.Array, error) {
	aggs := j.plan.Agg.Aggs
	out := make([]arrow.Array, 0, len(aggs))
	for a, call := range aggs {
		b := array.NewBuilder(j.eng.alloc, call.Agg.Ret.Arrow())
		b.Reserve(len(order))
		for _, g := range order {
			if err := appendPartial(b, call.Agg.Ret, g.vals[a], g.otherAt(a)); err != nil {
				b.Release()
				releaseArrays(out)
				return nil, err
			}
		}
		out = append(out, b.NewArray())
		b.Release()
	}
	return out, nil
}

func releaseArrays(as []arrow.Array) {
	for _, a := range as {
		a.Release()
	}
}

// groupRows builds the view aggregation's relation rows (group keys, then
// each aggregate's final value) of the groups in order.
func (j *viewJob) groupRows(lvl aggLevel, order []*aggGroup) (arrow.RecordBatch, error) {
	nk := lvl.nk
	bld := array.NewRecordBuilder(j.eng.alloc, lvl.rel.Schema())
	defer bld.Release()
	bld.Reserve(len(order))
	keyBs := bld.Fields()[:nk]
	keyTs := make([]catalog.Type, nk)
	for c := range keyTs {
		keyTs[c] = lvl.rel.Columns[c].Type
	}
	for _, g := range order {
		if err := appendKeys(keyBs, keyTs, g); err != nil {
			return nil, err
		}
		for qi, idx := range lvl.partials {
			col := lvl.rel.Columns[nk+qi]
			o := g.otherAt(idx[0])
			var err error
			if len(idx) == 1 {
				err = appendPartial(bld.Field(nk+qi), col.Type, g.vals[idx[0]], o)
			} else {
				err = appendAvg(bld.Field(nk+qi), col.Type, g.vals[idx[0]], g.vals[idx[1]], o)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return bld.NewRecordBatch(), nil
}

// writeRows computes the view rows of the given groups from their state
// and writes them; a group without a row (HAVING false) loses its row.
func (j *viewJob) writeRows(ctx context.Context, batch *widecol.Batch, st *memStorage, lvl aggLevel, order []string, groups map[string]*groupState, direct []arrow.RecordBatch) (int64, error) {
	rows, err := j.aggRows(lvl, order, groups)
	if err != nil {
		return 0, err
	}
	defer rows.Release()
	return j.writeLevelRows(ctx, batch, st, lvl, rows, order, func(i int) []any { return groups[order[i]].keys }, direct, nil)
}

// writeLevelRows runs the level's post plan over aggRows, the rows of the
// groups order (with keysOf giving the i-th group's key values), and the
// direct rows, and writes the view rows; a group without a row (HAVING
// false) loses its row.
func (j *viewJob) writeLevelRows(ctx context.Context, batch *widecol.Batch, st *memStorage, lvl aggLevel, aggRows arrow.RecordBatch, order []string, keysOf func(i int) []any, direct []arrow.RecordBatch, partials []arrow.Array) (int64, error) {
	nk := lvl.nk
	if st == nil {
		st = &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{}}
	}
	st.batches[lvl.rel] = append(append([]arrow.RecordBatch(nil), direct...), aggRows)
	pop, err := exec.Build(j.env(st), lvl.post)
	if err != nil {
		return 0, err
	}
	res, err := exec.Collect(ctx, pop)
	if err != nil {
		return 0, err
	}
	defer releaseAll(res)
	// Without a filter every group keeps its row: no need to tell which.
	var kept map[string]bool
	if !postOneToOne(lvl.post) {
		kept = map[string]bool{}
	}
	var n int64
	visible := len(j.rel.Columns) - len(j.rel.PrimaryKey)
	var kb []byte
	for _, b := range res {
		rows := int(b.NumRows())
		if rows == 0 {
			continue
		}
		cols, made := j.viewRowColumns(b, visible, nk)
		var extra []arrow.Array
		if made != nil {
			extra = append(extra, made)
		}
		for i := 0; kept != nil && i < rows; i++ {
			kb = kb[:0]
			for c := 0; c < nk; c++ {
				kb = appendKeyAt(kb, b.Column(visible+c), i)
			}
			kept[string(kb)] = true
		}
		schema := j.rel.Schema()
		if partials != nil {
			// Row i of the rows written is group i (Post is one to one).
			if int(n)+rows > partials[0].Len() {
				for _, a := range extra {
					a.Release()
				}
				return 0, fmt.Errorf("view %q: %d rows for %d groups", j.rel.Name, int(n)+rows, partials[0].Len())
			}
			for _, p := range partials {
				sl := array.NewSlice(p, n, n+int64(rows))
				extra = append(extra, sl)
				cols = append(cols, sl)
			}
			schema = j.result.Schema
		}
		rec := array.NewRecordBatch(schema, cols, int64(rows))
		err := batch.Upsert(j.result, rec, nil)
		rec.Release()
		for _, a := range extra {
			a.Release()
		}
		if err != nil {
			return 0, err
		}
		n += int64(rows)
	}
	if partials != nil && int(n) != partials[0].Len() {
		return 0, fmt.Errorf("view %q: %d rows for %d groups", j.rel.Name, n, partials[0].Len())
	}
	for i, k := range order {
		if kept == nil || kept[k] {
			continue
		}
		key := keysOf(i)
		if nk == 0 {
			key = []any{int64(0)}
		}
		if err := batch.DeleteRow(j.result, key); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// viewRowColumns returns the columns of the view's rows in b, a plan's
// output: its visible columns, then its nk group keys, or a key of 0
// when there are none, which it makes (made, for the caller to release).
func (j *viewJob) viewRowColumns(b arrow.RecordBatch, visible, nk int) (cols []arrow.Array, made arrow.Array) {
	cols = append([]arrow.Array(nil), b.Columns()[:visible]...)
	if nk > 0 {
		return append(cols, b.Columns()[visible:visible+nk]...), nil
	}
	kb := array.NewInt64Builder(j.eng.alloc)
	defer kb.Release()
	for i := 0; i < int(b.NumRows()); i++ {
		kb.Append(0)
	}
	made = kb.NewArray()
	return append(cols, made), made
}

// aggLevel is one aggregation of a view, as writeRows needs it: the
// view's aggregation, or the outer one of a nested aggregation.
type aggLevel struct {
	nk       int
	rel      *catalog.Relation
	partials [][]int
	// avg tells, for an outer aggregation, which (sum, count) pairs are
	// averages; the others are sums. An inner pair is always an average.
	avg  []bool
	post planner.Node
}

func (j *viewJob) innerLevel() aggLevel {
	vp := j.plan
	return aggLevel{nk: len(vp.Agg.GroupBy), rel: vp.AggRel, partials: vp.Partials, post: vp.Post}
}

func (j *viewJob) outerLevel() aggLevel {
	vo := j.plan.Outer
	return aggLevel{nk: len(vo.Agg.GroupBy), rel: vo.AggRel, partials: vo.Partials, avg: vo.Avg, post: vo.Post}
}

// aggRows builds the level's relation rows (group keys, then each
// aggregate's final value) of the groups in order.
func (j *viewJob) aggRows(lvl aggLevel, order []string, groups map[string]*groupState) (arrow.RecordBatch, error) {
	nk := lvl.nk
	bld := array.NewRecordBuilder(j.eng.alloc, lvl.rel.Schema())
	defer bld.Release()
	for _, k := range order {
		g := groups[k]
		for c, v := range g.keys {
			if err := appendValue(bld.Field(c), lvl.rel.Columns[c].Type, v); err != nil {
				return nil, err
			}
		}
		for qi, idx := range lvl.partials {
			col := lvl.rel.Columns[nk+qi]
			var v any
			switch {
			case len(idx) == 1:
				v = g.partials[idx[0]]
			case lvl.avg != nil && !lvl.avg[qi]:
				// A sum with no values left is NULL.
				if n, _ := g.partials[idx[1]].(int64); n > 0 {
					v = g.partials[idx[0]]
				}
			default:
				var err error
				if v, err = finalAvg(g.partials[idx[0]], g.partials[idx[1]], col.Type); err != nil {
					return nil, err
				}
			}
			if err := appendValue(bld.Field(nk+qi), col.Type, v); err != nil {
				return nil, err
			}
		}
	}
	return bld.NewRecordBatch(), nil
}

// addGroup installs a new group, indexing it by the end of its window
// (starting at start) when windowed.
func (j *viewJob) addGroup(g *aggGroup, start int64, windowed bool) {
	if j.groups == nil {
		j.groups = map[string]*aggGroup{}
	}
	k := g.key
	j.groups[k] = g
	vp := j.plan
	if vp.WindowKey < 0 || !windowed {
		return
	}
	end := start + vp.WindowSize
	if j.byEnd == nil {
		j.byEnd = map[int64][]string{}
	}
	if _, ok := j.byEnd[end]; !ok {
		i := sort.Search(len(j.ends), func(i int) bool { return j.ends[i] >= end })
		j.ends = append(j.ends, 0)
		copy(j.ends[i+1:], j.ends[i:])
		j.ends[i] = end
	}
	j.byEnd[end] = append(j.byEnd[end], k)
}

// mergePartial combines a stored partial aggregate with an epoch's.
func mergePartial(name string, old, v any) (any, error) {
	if v == nil {
		return old, nil
	}
	if old == nil {
		return v, nil
	}
	switch name {
	case "count", "sum":
		switch a := old.(type) {
		case int64:
			b := v.(int64)
			s := a + b
			if (s > a) != (b > 0) {
				return nil, pgerror.New(pgerror.CodeNumericValueOutOfRange, "bigint out of range")
			}
			return s, nil
		case float64:
			return a + v.(float64), nil
		case catalog.Decimal:
			b := v.(catalog.Decimal)
			return catalog.Decimal{Num: a.Num.Add(b.Num), Scale: a.Scale}, nil
		}
	case "min", "max":
		c := compareValues(old, v)
		if (name == "min" && c > 0) || (name == "max" && c < 0) {
			return v, nil
		}
		return old, nil
	}
	return nil, fmt.Errorf("cannot merge %s partials of %T", name, old)
}

// compareValues orders two non-NULL values of one SQL type.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case int64:
		y := b.(int64)
		return cmpOrdered(x, y)
	case int32:
		return cmpOrdered(x, b.(int32))
	case float64:
		return compareFloats(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case catalog.Decimal:
		return x.Num.Cmp(b.(catalog.Decimal).Num)
	case []byte:
		return strings.Compare(string(x), string(b.([]byte)))
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func cmpOrdered[T int64 | int32 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// finalAvg computes sum / count as the avg's result type.
func finalAvg(sum, count any, t catalog.Type) (any, error) {
	n, _ := count.(int64)
	if sum == nil || n == 0 {
		return nil, nil
	}
	if t.ID == catalog.Float8 || t.ID == catalog.Float4 {
		switch s := sum.(type) {
		case float64:
			return s / float64(n), nil
		case int64:
			return float64(s) / float64(n), nil
		}
	}
	var r *big.Rat
	switch s := sum.(type) {
	case int64:
		r = new(big.Rat).SetInt64(s)
	case float64:
		r = new(big.Rat)
		r.SetFloat64(s)
	case catalog.Decimal:
		r = new(big.Rat).SetFrac(s.Num.BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s.Scale)), nil))
	default:
		return nil, fmt.Errorf("avg of %T", sum)
	}
	r.Quo(r, new(big.Rat).SetInt64(n))
	// Round half away from zero to the type's scale.
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Scale)), nil)
	r.Mul(r, new(big.Rat).SetInt(scale))
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return catalog.Decimal{Num: decimal128.FromBigInt(q), Scale: t.Scale}, nil
}

// encodeKey is a map key for a tuple of values, distinguishing NULL.
func encodeKey(vals []any) string {
	var buf [64]byte
	b := buf[:0]
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			b = append(b, 'N')
		case int64:
			b = append(b, 'i')
			b = binary.BigEndian.AppendUint64(b, uint64(x))
		case int32:
			b = append(b, 'd')
			b = binary.BigEndian.AppendUint32(b, uint32(x))
		case float64:
			b = append(b, 'f')
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(x))
		case bool:
			if x {
				b = append(b, 't')
			} else {
				b = append(b, 'F')
			}
		case string:
			b = append(b, 's')
			b = binary.AppendUvarint(b, uint64(len(x)))
			b = append(b, x...)
		case []byte:
			b = append(b, 'b')
			b = binary.AppendUvarint(b, uint64(len(x)))
			b = append(b, x...)
		default:
			str := fmt.Sprintf("%T:%v", v, v)
			b = append(b, 'o')
			b = binary.AppendUvarint(b, uint64(len(str)))
			b = append(b, str...)
		}
	}
	return string(b)
}

// runRecompute evaluates the view's query over its inputs' current
// contents and applies the difference to the stored rows.
func (j *viewJob) runRecompute(ctx context.Context, vers map[string]int64) error {
	e := j.eng
	snap := e.store.NewSnapshot()
	defer snap.Close()
	env := j.env(&storage{eng: e, snap: snap, mem: e.alloc})
	env.Alloc = exec.NewBudget(e.alloc, e.defaultStatementMem(), "statement_mem")
	op, err := exec.Build(env, j.plan.Query.Plan)
	if err != nil {
		return err
	}
	res, err := collectInBudget(ctx, op)
	if err != nil {
		return err
	}
	defer releaseAll(res)
	// Existing keys.
	existing := map[[2]int64]bool{}
	it, err := snap.Scan(ctx, j.result, widecol.Range{}, &widecol.ReadOptions{Columns: []string{"_h", "_n"}})
	if err != nil {
		return err
	}
	for {
		b, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			it.Close()
			return err
		}
		h, n := b.Column(0).(*array.Int64), b.Column(1).(*array.Int64)
		for i := 0; i < int(b.NumRows()); i++ {
			existing[[2]int64{h.Value(i), n.Value(i)}] = true
		}
		b.Release()
	}
	it.Close()
	batch := e.store.NewBatch()
	defer batch.Close()
	visible := len(j.rel.Columns) - 2
	occ := map[int64]int64{}
	var out int64
	for _, b := range res {
		rows := int(b.NumRows())
		if rows == 0 {
			continue
		}
		var keep []int64
		hb, nb := array.NewInt64Builder(e.alloc), array.NewInt64Builder(e.alloc)
		for i := 0; i < rows; i++ {
			vals := make([]any, visible)
			for c := 0; c < visible; c++ {
				vals[c] = valueAt(b.Column(c), i)
			}
			h := fnv.New64a()
			h.Write([]byte(encodeKey(vals)))
			hv := int64(h.Sum64())
			n := occ[hv]
			occ[hv] = n + 1
			k := [2]int64{hv, n}
			if existing[k] {
				delete(existing, k)
				continue
			}
			keep = append(keep, int64(i))
			hb.Append(hv)
			nb.Append(n)
		}
		ha, na := hb.NewArray(), nb.NewArray()
		hb.Release()
		nb.Release()
		if len(keep) > 0 {
			sel, err := takeRows(e, b, keep)
			if err != nil {
				ha.Release()
				na.Release()
				return err
			}
			cols := append(append([]arrow.Array(nil), sel.Columns()[:visible]...), ha, na)
			rec := array.NewRecordBatch(j.rel.Schema(), cols, int64(len(keep)))
			err = batch.Upsert(j.result, rec, nil)
			rec.Release()
			sel.Release()
			if err != nil {
				ha.Release()
				na.Release()
				return err
			}
		}
		ha.Release()
		na.Release()
		out += int64(rows)
	}
	for k := range existing {
		if err := batch.DeleteRow(j.result, []any{k[0], k[1]}); err != nil {
			return err
		}
	}
	epoch := j.epoch + 1
	et, err := e.epochTable(ctx)
	if err != nil {
		return err
	}
	rec, _ := json.Marshal(epochRecord{Epoch: epoch})
	if err := batch.UpsertRow(et, widecol.Row{"name": j.rel.Name, "record": rec}, nil); err != nil {
		return err
	}
	if err := batch.Commit(ctx); err != nil {
		return err
	}
	j.mu.Lock()
	j.epoch = epoch
	j.seen = vers
	j.rowsOut = out
	j.failing = nil
	j.lastTime = time.Now()
	j.mu.Unlock()
	e.notifyChange()
	return nil
}

// compareFloats orders floats with NaN above every other value, as
// Postgres does.
func compareFloats(x, y float64) int {
	switch {
	case math.IsNaN(x) && math.IsNaN(y):
		return 0
	case math.IsNaN(x):
		return 1
	case math.IsNaN(y):
		return -1
	}
	return cmpOrdered(x, y)
}
