package session

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/windows"
)

// flushTargets are the positions every view must reach: the inputs as
// they were when the wait began.
type flushTargets struct {
	ends map[string][]int64 // stream -> visible end offset per partition
	pos  map[string]int64   // every relation -> position (see Engine.position)
}

func (e *Engine) captureTargets() *flushTargets {
	t := &flushTargets{ends: map[string][]int64{}, pos: map[string]int64{}}
	for _, r := range e.relations() {
		switch r.Kind {
		case catalog.KindStream:
			t.captureStream(e, r)
		case catalog.KindTable:
			t.pos[r.Name] = e.version(r.Name)
		}
	}
	return t
}

// captureStream sets the targets of stream r to what its log holds now.
func (t *flushTargets) captureStream(e *Engine, r *catalog.Relation) {
	tp, err := e.topic(r)
	if err != nil {
		return
	}
	ends := make([]int64, tp.Partitions())
	var sum int64
	for p := range ends {
		if st, err := tp.Stats(p); err == nil {
			ends[p] = st.StableOffset
			sum += st.StableOffset
		}
	}
	t.ends[r.Name] = ends
	t.pos[r.Name] = sum
}

// flushMark is how far a source must get for FLUSH: the end of the batch
// it is generating, appending or recording now (its recorded progress when
// it is between batches), or, when first is set, of the first batch it
// begins (it is starting).
type flushMark struct {
	end   int64
	first bool
}

// flushMark returns the source's mark now.
func (s *nexmarkSource) flushMark() flushMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.begun < 0 {
		return flushMark{first: true}
	}
	return flushMark{end: max(s.begun, s.next)}
}

// reached reports whether the source has recorded the events up to m, or
// will never get there (it failed or stopped), and returns a channel
// closed at its next change.
func (s *nexmarkSource) reached(m flushMark) (bool, <-chan struct{}) {
	select {
	case <-s.done:
		return true, nil
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return true, nil
	}
	if m.first {
		if s.begun < 0 {
			return false, s.changed
		}
		m.end = s.firstEnd
	}
	return s.next >= m.end, s.changed
}

// waitSources waits until every connector stream's source has recorded
// the events it had produced when the call began (see flushMark), and
// returns the streams it waited for. A source that stops or fails, or
// whose stream is dropped, is not waited for any longer.
func (e *Engine) waitSources(ctx context.Context) ([]*catalog.Relation, error) {
	e.mu.RLock()
	srcs := make([]*nexmarkSource, 0, len(e.sources))
	for _, s := range e.sources {
		srcs = append(srcs, s)
	}
	e.mu.RUnlock()
	marks := make([]flushMark, len(srcs))
	for i, s := range srcs {
		marks[i] = s.flushMark()
	}
	rels := make([]*catalog.Relation, 0, len(srcs))
	for i, s := range srcs {
		for {
			ok, changed := s.reached(marks[i])
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-s.done:
			case <-changed:
			}
		}
		rels = append(rels, s.rel)
	}
	return rels, nil
}

// caughtUp reports whether the job has processed its inputs up to the
// targets, or cannot make progress (failed or stopped).
func (j *viewJob) caughtUp(t *flushTargets) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.status == JobFailed || j.status == JobStopped || (j.status == JobRestarting && j.lastErr != nil) {
		return true
	}
	if j.status == JobStarting || j.behind != nil {
		// Not yet in the store.
		return false
	}
	if j.plan.Mode == planner.Incremental {
		if j.epoch == 0 {
			return false
		}
		if src := j.plan.Source; src != nil && src.Kind == catalog.KindView && j.plan.Join == nil {
			// A view read as a stream of its epochs.
			target, ok := t.pos[src.Name]
			return !ok || (len(j.offsets) == 1 && j.offsets[0] >= target)
		}
		base := 0
		for _, src := range j.inputStreams() {
			ends := t.ends[src.Name]
			for p, end := range ends {
				if base+p >= len(j.offsets) || j.offsets[base+p] < end {
					return false
				}
			}
			base += len(ends)
		}
		if tj := j.plan.TableJoin; tj != nil {
			// The joined table's or view's changes too.
			name := tj.Table.Source.Name
			if target, ok := t.pos[name]; ok && j.seen[name] < target {
				return false
			}
		}
		return true
	}
	if j.epoch == 0 {
		return false
	}
	for _, d := range j.rel.DependsOn {
		if target, ok := t.pos[d]; ok && j.seen[d] < target {
			return false
		}
	}
	return true
}

// topoJobs returns the jobs ordered so that a view comes after the views
// it reads.
func (e *Engine) topoJobs(only []*viewJob) []*viewJob {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var all []*viewJob
	if only != nil {
		all = only
	} else {
		for _, j := range e.jobs {
			all = append(all, j)
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].rel.ID < all[b].rel.ID })
	// Views are created after what they read, so their ids are ordered.
	return all
}

// waitViews waits until the given jobs (nil: all) reflect every write
// acknowledged before the call.
func (e *Engine) waitViews(ctx context.Context, jobs []*viewJob) error {
	return e.waitViewsFor(ctx, jobs, e.captureTargets())
}

// waitViewsFor waits until the given jobs (nil: all) reach the targets.
func (e *Engine) waitViewsFor(ctx context.Context, jobs []*viewJob, t *flushTargets) error {
	for _, j := range e.topoJobs(jobs) {
		for {
			sig := e.changeSignal()
			if j.caughtUp(t) {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-sig:
			case <-time.After(100 * time.Millisecond):
			}
		}
		j.mu.Lock()
		t.pos[j.rel.Name] = j.epoch
		failed := j.status == JobFailed || (j.status == JobRestarting && j.lastErr != nil)
		err := j.lastErr
		j.mu.Unlock()
		if failed && jobs != nil {
			return pgerror.From(err)
		}
	}
	return nil
}

// flush implements FLUSH.
func (s *Session) flush(ctx context.Context) (string, []arrow.RecordBatch, error) {
	if err := s.eng.flush(ctx); err != nil {
		return "", nil, err
	}
	// FLUSH does not wait for a view whose task is failing: say so.
	for _, f := range s.eng.failingViews() {
		s.notices = append(s.notices, pgerror.New(pgerror.CodeWarning, "view %q is failing and may not reflect every write: %s", f.name, f.msg).
			WithHint("sys.jobs shows its state; its task restarts from its last committed epoch."))
	}
	return "FLUSH", nil, nil
}

type failingView struct{ name, msg string }

// failingViews lists the views whose tasks failed and have not committed
// an epoch since, by name.
func (e *Engine) failingViews() []failingView {
	e.mu.RLock()
	jobs := make([]*viewJob, 0, len(e.jobs))
	for _, j := range e.jobs {
		jobs = append(jobs, j)
	}
	e.mu.RUnlock()
	var out []failingView
	for _, j := range jobs {
		j.mu.Lock()
		if j.failing != nil && j.status != JobStopped {
			out = append(out, failingView{j.rel.Name, pgerror.From(j.failing).Message})
		}
		j.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b failingView) int { return strings.Compare(a.name, b.name) })
	return out
}

// flush waits until the views reflect everything produced into the
// database when it is called: every write acknowledged before, and the
// events of connector streams up to their sources' positions (the batch a
// source is generating or appending counts as produced, and so does the
// first batch of a source that is starting). It does not wait for a
// bounded source to produce all its events.
func (e *Engine) flush(ctx context.Context) error {
	t := e.captureTargets()
	gen, err := e.waitSources(ctx)
	if err != nil {
		return err
	}
	// The generated streams' views wait for what their sources appended
	// meanwhile; everything else's for what the log held at the start.
	for _, r := range gen {
		if _, ok := t.ends[r.Name]; ok {
			t.captureStream(e, r)
		}
	}
	return e.waitViewsFor(ctx, nil, t)
}

// systemRelations are the system tables, by qualified name.
var systemRelations = map[string]*catalog.Relation{
	"sys.jobs": {Name: "sys.jobs", Kind: catalog.KindSystem, Columns: []catalog.Column{
		{Name: "name", Type: catalog.TypeText},
		{Name: "state", Type: catalog.TypeText},
		{Name: "mode", Type: catalog.TypeText},
		{Name: "epoch", Type: catalog.TypeInt8},
		{Name: "rows_in", Type: catalog.TypeInt8},
		{Name: "rows_out", Type: catalog.TypeInt8},
		{Name: "lag", Type: catalog.TypeInt8},
		{Name: "watermark", Type: catalog.TypeTimestamp},
		{Name: "late_rows", Type: catalog.TypeInt8},
		{Name: "state_groups", Type: catalog.TypeInt8},
		{Name: "restarts", Type: catalog.TypeInt8},
		{Name: "last_error", Type: catalog.TypeText},
		{Name: "join_rows", Type: catalog.TypeInt8},
	}},
}

func init() {
	systemRelations["sys.agents"] = &catalog.Relation{Name: "sys.agents", Kind: catalog.KindSystem, Columns: []catalog.Column{
		{Name: "id", Type: catalog.TypeText},
		{Name: "cpus", Type: catalog.TypeFloat8},
		{Name: "mem_bytes", Type: catalog.TypeInt8},
		{Name: "cpus_used", Type: catalog.TypeFloat8},
		{Name: "mem_used", Type: catalog.TypeInt8},
		{Name: "cpus_offered", Type: catalog.TypeFloat8},
		{Name: "tasks", Type: catalog.TypeInt8},
		// address is a remote agent's network address (NULL for the
		// in-process agent); stages counts the epoch stages it ran.
		{Name: "address", Type: catalog.TypeText},
		{Name: "stages", Type: catalog.TypeInt8},
	}}
	systemRelations["sys.frameworks"] = &catalog.Relation{Name: "sys.frameworks", Kind: catalog.KindSystem, Columns: []catalog.Column{
		{Name: "name", Type: catalog.TypeText},
		{Name: "weight", Type: catalog.TypeFloat8},
		{Name: "dominant_share", Type: catalog.TypeFloat8},
		{Name: "cpus", Type: catalog.TypeFloat8},
		{Name: "mem_bytes", Type: catalog.TypeInt8},
		{Name: "tasks", Type: catalog.TypeInt8},
		{Name: "offers", Type: catalog.TypeInt8},
	}}
	systemRelations["sys.sources"] = &catalog.Relation{Name: "sys.sources", Kind: catalog.KindSystem, Columns: []catalog.Column{
		{Name: "name", Type: catalog.TypeText},
		{Name: "connector", Type: catalog.TypeText},
		{Name: "next_event", Type: catalog.TypeInt8},
		{Name: "events", Type: catalog.TypeInt8},
		{Name: "done", Type: catalog.TypeBool},
		{Name: "last_error", Type: catalog.TypeText},
		// rows is how many rows the events before next_event give the
		// stream (one kind of event among the three): after FLUSH, a
		// count of the stream's rows is at least this.
		{Name: "rows", Type: catalog.TypeInt8},
	}}
	systemRelations["sys.tasks"] = &catalog.Relation{Name: "sys.tasks", Kind: catalog.KindSystem, Columns: []catalog.Column{
		{Name: "id", Type: catalog.TypeText},
		{Name: "job", Type: catalog.TypeText},
		{Name: "framework", Type: catalog.TypeText},
		{Name: "agent", Type: catalog.TypeText},
		{Name: "state", Type: catalog.TypeText},
		{Name: "cpus", Type: catalog.TypeFloat8},
		{Name: "mem_bytes", Type: catalog.TypeInt8},
	}}
}

// schedulerRows returns the rows of sys.agents, sys.frameworks or sys.tasks.
func (e *Engine) schedulerRows(name string) [][]any {
	var rows [][]any
	if e.sched == nil {
		return nil
	}
	switch name {
	case "sys.agents":
		e.fw.mu.Lock()
		addrs, stages := e.fw.addrs, e.fw.stages
		for _, a := range e.sched.Agents() {
			var addr any
			if v, ok := addrs[a.ID]; ok {
				addr = v
			}
			rows = append(rows, []any{a.ID, a.Total.CPUs, a.Total.MemBytes, a.Used.CPUs, a.Used.MemBytes, a.Offered.CPUs, int64(a.Tasks), addr, stages[a.ID]})
		}
		e.fw.mu.Unlock()
	case "sys.frameworks":
		for _, f := range e.sched.Frameworks() {
			rows = append(rows, []any{f.Name, f.Weight, f.DominantShare, f.Allocated.CPUs, f.Allocated.MemBytes, int64(f.Tasks), int64(f.Offers)})
		}
	case "sys.tasks":
		for _, t := range e.sched.Tasks() {
			rows = append(rows, []any{t.ID, t.Job, t.Framework, t.Agent, t.State.String(), t.Resources.CPUs, t.Resources.MemBytes})
		}
	}
	return rows
}

// sourceRows returns one row per connector stream.
func (e *Engine) sourceRows() [][]any {
	e.mu.RLock()
	srcs := make([]*nexmarkSource, 0, len(e.sources))
	for _, s := range e.sources {
		srcs = append(srcs, s)
	}
	e.mu.RUnlock()
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].rel.Name < srcs[j].rel.Name })
	var rows [][]any
	for _, s := range srcs {
		s.mu.Lock()
		var errText any
		if s.err != nil {
			errText = s.err.Error()
		}
		var limit any
		if s.limit > 0 {
			limit = s.limit
		}
		rows = append(rows, []any{s.rel.Name, "nexmark", s.next, limit, s.limit > 0 && s.next >= s.limit, errText, s.gen.Count(s.kind, 0, s.next)})
		s.mu.Unlock()
	}
	return rows
}

// jobRows returns one row per view job, for sys.jobs and SHOW JOBS.
func (e *Engine) jobRows() [][]any {
	var rows [][]any
	for _, j := range e.topoJobs(nil) {
		j.mu.Lock()
		var errText any
		if j.lastErr != nil {
			errText = j.lastErr.Error()
		}
		mode := ""
		if j.plan != nil {
			mode = j.plan.Mode.String()
		}
		lag := int64(0)
		if j.plan != nil && j.plan.Mode == planner.Incremental {
			base := 0
			for _, src := range j.inputStreams() {
				t, err := e.topic(src)
				if err != nil {
					break
				}
				for p := 0; p < t.Partitions() && base+p < len(j.offsets); p++ {
					if st, err := t.Stats(p); err == nil {
						lag += st.StableOffset - j.offsets[base+p]
					}
				}
				base += t.Partitions()
			}
		}
		var wm any
		if (j.tracker != nil || j.join != nil || (j.plan != nil && j.readsViewWatermark())) && j.watermark != windows.NoWatermark {
			wm = j.watermark
		}
		var joinRows any
		if j.join != nil {
			joinRows = j.join.rows.Load()
		}
		rows = append(rows, []any{j.rel.Name, j.status.String(), mode, j.epoch, j.rowsIn, j.rowsOut, lag, wm, j.late, j.stateGroups, int64(j.restarts), errText, joinRows})
		j.mu.Unlock()
	}
	return rows
}

// systemTable computes the contents of a system table.
func (e *Engine) systemTable(rel *catalog.Relation) (arrow.RecordBatch, error) {
	var rows [][]any
	switch rel.Name {
	case "sys.jobs":
		rows = e.jobRows()
	case "sys.sources":
		rows = e.sourceRows()
	default:
		rows = e.schedulerRows(rel.Name)
	}
	bld := array.NewRecordBuilder(e.alloc, rel.Schema())
	defer bld.Release()
	for _, r := range rows {
		for i, v := range r {
			if err := appendValue(bld.Field(i), rel.Columns[i].Type, v); err != nil {
				return nil, err
			}
		}
	}
	return bld.NewRecordBatch(), nil
}

// showJobs implements SHOW JOBS.
func (s *Session) showJobs() (string, []arrow.RecordBatch, error) {
	var rows [][]string
	rel := systemRelations["sys.jobs"]
	for _, r := range s.eng.jobRows() {
		row := make([]string, len(r))
		for i, v := range r {
			if v != nil {
				row[i] = catalog.FormatValue(rel.Columns[i].Type, v)
			}
		}
		rows = append(rows, row)
	}
	return fmt.Sprintf("SHOW %d", len(rows)), []arrow.RecordBatch{s.textBatch(jobColumnNames, rows)}, nil
}

var jobColumnNames = []string{"name", "state", "mode", "epoch", "rows_in", "rows_out", "lag", "watermark", "late_rows", "state_groups", "restarts", "last_error", "join_rows"}

// inputStreams lists the streams an incremental view reads, in the order
// of its offsets: the source, or a join's two sides.
func (j *viewJob) inputStreams() []*catalog.Relation {
	if jp := j.plan.Join; jp != nil {
		return []*catalog.Relation{jp.Sides[0].Source, jp.Sides[1].Source}
	}
	return []*catalog.Relation{j.plan.Source}
}
