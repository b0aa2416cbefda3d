package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/agent"
	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/scheduler"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
)

// Remote agents run the stage of an incremental view's epoch that
// evaluates the view's plan over the epoch's input: the aggregation into
// partials (vp.Agg), or the rows of a view without aggregation (vp.Input).
// The server keeps everything else: it plans and records the epoch, reads
// the input from the log, merges the result into the group state and
// commits the epoch atomically. A task placed on a remote agent ships the
// view's SQL and its source's catalog entry once (the agent plans the view
// again with planner.PlanView), then, per epoch, the input batches as one
// Arrow IPC stream; the agent answers with the result batches the same
// way. An agent lost in the middle of an epoch leaves it uncommitted, and
// the job's restart re-runs that recorded epoch exactly.

// stageShipPlan is what a remote task is launched with.
type stageShipPlan struct {
	View      string              `json:"view"`
	Query     string              `json:"query"`
	Relations []*catalog.Relation `json:"relations"`
	// PlanVersion is the view's (catalog.Relation.PlanVersion).
	PlanVersion int `json:"plan_version,omitempty"`
}

// stageRequest precedes a stage's input.
type stageRequest struct {
	// Node is the plan node to evaluate: "agg" or "input".
	Node string `json:"node"`
	// Now is the epoch's time for now() and friends, in microseconds.
	Now int64 `json:"now"`
}

// shippable reports whether a view's epochs can run their stage on a
// remote agent: incremental views over one stream, without joins, top-N
// or lookup joins (those read server state in the stage).
func shippable(vp *planner.ViewPlan) bool {
	return vp != nil && vp.Mode == planner.Incremental && vp.Join == nil && vp.TopN == nil && vp.TableJoin == nil &&
		len(vp.Lookups) == 0 && vp.Source != nil && vp.Source.Kind == catalog.KindStream && vp.Input != nil
}

// remoteTask is a view task running on a remote agent.
type remoteTask struct {
	r     *agent.Remote
	id    string
	count func() // counts a stage run on the agent
}

// stage runs node over the epoch's input on the agent and returns the
// result batches (the caller releases them). ok is false when the stage
// is not one a remote agent runs; the caller then runs it here.
func (rt *remoteTask) stage(ctx context.Context, j *viewJob, node planner.Node, st exec.Storage) (_ []arrow.RecordBatch, ok bool, _ error) {
	ms, isMem := st.(*memStorage)
	var name string
	switch {
	case !isMem || ms.lookup != nil:
		return nil, false, nil
	case node == j.plan.Agg && node != nil:
		name = "agg"
	case node == j.plan.Input:
		name = "input"
	default:
		return nil, false, nil
	}
	input := ms.byName[j.plan.Source.Name]
	schema := j.plan.Source.Schema()
	if len(input) > 0 {
		schema = input[0].Schema()
	}
	payload, err := encodeStage(stageRequest{Node: name, Now: time.Now().UnixMicro()}, schema, input)
	if err != nil {
		return nil, true, err
	}
	out, err := rt.r.Call(ctx, agent.OpStage, rt.id, j.rel.Name, payload)
	if err != nil {
		return nil, true, err
	}
	res, err := decodeBatches(out, j.eng.alloc)
	if err != nil {
		return nil, true, fmt.Errorf("view %q: result from agent %s: %w", j.rel.Name, rt.r.ID(), err)
	}
	rt.count()
	return res, true, nil
}

// encodeStage writes a stage request: a length-prefixed JSON header, then
// the batches as one Arrow IPC stream.
func encodeStage(req stageRequest, schema *arrow.Schema, batches []arrow.RecordBatch) ([]byte, error) {
	h, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(binary.BigEndian.AppendUint32(nil, uint32(len(h))))
	buf.Write(h)
	if err := writeBatches(buf, schema, batches); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeStage(b []byte, alloc memory.Allocator) (stageRequest, []arrow.RecordBatch, error) {
	var req stageRequest
	if len(b) < 4 || uint64(binary.BigEndian.Uint32(b)) > uint64(len(b)-4) {
		return req, nil, errors.New("truncated stage request")
	}
	n := int(binary.BigEndian.Uint32(b))
	if err := json.Unmarshal(b[4:4+n], &req); err != nil {
		return req, nil, fmt.Errorf("stage request: %w", err)
	}
	batches, err := decodeBatches(b[4+n:], alloc)
	return req, batches, err
}

func writeBatches(buf *bytes.Buffer, schema *arrow.Schema, batches []arrow.RecordBatch) error {
	w := ipc.NewWriter(buf, ipc.WithSchema(schema))
	for _, b := range batches {
		if b.NumRows() == 0 {
			continue
		}
		if err := w.Write(b); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// decodeBatches reads an Arrow IPC stream; the batches may alias b.
func decodeBatches(b []byte, alloc memory.Allocator) ([]arrow.RecordBatch, error) {
	r, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(alloc))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	var out []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		out = append(out, rec)
	}
	if err := r.Err(); err != nil {
		releaseAll(out)
		return nil, err
	}
	return out, nil
}

// remoteRunner runs the tasks placed on one remote agent: the job runs
// here, its stages on the agent.
type remoteRunner struct {
	f *streaming
	r *agent.Remote
}

var (
	_ scheduler.TaskRunner  = (*remoteRunner)(nil)
	_ scheduler.AgentCloser = (*remoteRunner)(nil)
)

// Run launches the task on the agent (which plans the view) and runs the
// job with its stages shipped there.
func (rr *remoteRunner) Run(ctx context.Context, spec scheduler.TaskSpec) error {
	j := rr.f.job(spec.Job)
	if j == nil {
		return fmt.Errorf("no view %q", spec.Job)
	}
	if !shippable(j.plan) {
		return fmt.Errorf("view %q cannot run on a remote agent", spec.Job)
	}
	deps := []*catalog.Relation{j.plan.Source}
	plan, err := json.Marshal(stageShipPlan{View: j.rel.Name, Query: j.rel.Query, Relations: deps, PlanVersion: j.rel.PlanVersion})
	if err != nil {
		return err
	}
	if _, err := rr.r.Call(ctx, agent.OpLaunch, spec.ID, spec.Job, plan); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return rr.lost(err)
	}
	defer rr.r.Kill(spec.ID)
	rt := &remoteTask{r: rr.r, id: spec.ID, count: func() { rr.f.countStage(rr.r.ID()) }}
	return rr.lost(rr.f.runOn(ctx, spec, rt))
}

// lost marks err as the loss of the agent when its connection is gone (the
// scheduler may not have heard of it yet), so that the job restarts
// without counting it as the view's error.
func (rr *remoteRunner) lost(err error) error {
	if err == nil || rr.r.Err() == nil || errors.Is(err, scheduler.ErrAgentLost) {
		return err
	}
	return fmt.Errorf("agent %q: %w: %w", rr.r.ID(), scheduler.ErrAgentLost, err)
}

// AgentGone drops the connection of an agent the scheduler removed.
func (rr *remoteRunner) AgentGone(err error) { rr.r.Close(err) }

// JoinAgent registers a remote agent that completed the handshake with the
// scheduler; an error (an agent offering no CPUs or memory) refuses it.
func (e *Engine) JoinAgent(r *agent.Remote) error {
	cpus, mem := r.Resources()
	if err := e.sched.AddAgent(r.ID(), scheduler.Resources{CPUs: cpus, MemBytes: mem}, &remoteRunner{f: e.fw, r: r}); err != nil {
		return err
	}
	e.fw.mu.Lock()
	e.fw.addrs[r.ID()] = r.Addr()
	e.fw.mu.Unlock()
	return nil
}

// AgentHeartbeat tells the scheduler that a remote agent is alive.
func (e *Engine) AgentHeartbeat(r *agent.Remote) { _ = e.sched.Heartbeat(r.ID()) }

// LeaveAgent removes a remote agent whose connection ended: its tasks are
// LOST and the supervisor restarts their jobs on the agents left.
func (e *Engine) LeaveAgent(r *agent.Remote, err error) {
	e.log.Warn("agent lost", "agent", r.ID(), "err", err)
	_ = e.sched.RemoveAgent(r.ID(), err)
}

// StageExecutor returns the executor of a `sqld agent` process: it plans
// the views the server launches on the agent and runs their stages.
func StageExecutor() agent.Executor { return stageExecutor{alloc: memory.NewGoAllocator()} }

type stageExecutor struct{ alloc memory.Allocator }

type mapCatalog map[string]*catalog.Relation

func (m mapCatalog) Relation(name string) (*catalog.Relation, bool) {
	r, ok := m[name]
	return r, ok
}

// Launch plans the view from its SQL, as the server did.
func (x stageExecutor) Launch(task, job string, b []byte) (agent.Task, error) {
	var p stageShipPlan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("task %s: plan: %w", task, err)
	}
	cat := mapCatalog{}
	for _, r := range p.Relations {
		if r == nil {
			return nil, fmt.Errorf("task %s: plan: empty relation", task)
		}
		cat[r.Name] = r
	}
	stmts, err := parser.Parse(p.Query)
	if err != nil {
		return nil, fmt.Errorf("view %q: %w", p.View, err)
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("view %q: query is not one statement", p.View)
	}
	sel, ok := stmts[0].AST.(*ast.Select)
	if !ok {
		return nil, fmt.Errorf("view %q: query is not a SELECT", p.View)
	}
	q, err := planner.NewBinder(cat, nil).BindSelect(sel)
	if err != nil {
		return nil, fmt.Errorf("view %q: %w", p.View, err)
	}
	q.PlanVersion = p.PlanVersion
	vp, err := planner.PlanView(q, cat)
	if err != nil {
		return nil, fmt.Errorf("view %q: %w", p.View, err)
	}
	if !shippable(vp) {
		return nil, fmt.Errorf("view %q cannot run on a remote agent", p.View)
	}
	return &stageTask{vp: vp, alloc: x.alloc}, nil
}

type stageTask struct {
	vp    *planner.ViewPlan
	alloc memory.Allocator
}

// Stage evaluates the requested node over the input batches.
func (t *stageTask) Stage(ctx context.Context, in []byte) ([]byte, error) {
	req, batches, err := decodeStage(in, t.alloc)
	if err != nil {
		return nil, err
	}
	defer releaseAll(batches)
	var node planner.Node
	switch req.Node {
	case "agg":
		if t.vp.Agg == nil {
			return nil, errors.New("the view has no aggregation")
		}
		node = t.vp.Agg
	case "input":
		node = t.vp.Input
	default:
		return nil, fmt.Errorf("unknown stage %q", req.Node)
	}
	st := &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{},
		byName: map[string][]arrow.RecordBatch{t.vp.Source.Name: batches}}
	env := &exec.Env{Env: eval.Env{Alloc: t.alloc, Now: req.Now, User: "sqld", Database: "sqld",
		Setting: func(name string) (string, bool) {
			v, ok := settingDefaults[canonicalSetting(name)]
			return v, ok
		}}, Storage: st}
	op, err := exec.Build(env, node)
	if err != nil {
		return nil, err
	}
	res, err := exec.Collect(ctx, op)
	if err != nil {
		return nil, err
	}
	defer releaseAll(res)
	var buf bytes.Buffer
	if err := writeBatches(&buf, op.Schema(), res); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Close implements agent.Task.
func (t *stageTask) Close() {}
