package exec

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/windows"
)

// hopOp expands each row into one row per hopping window holding it.
type hopOp struct {
	env    *Env
	n      *planner.HopWindow
	hop    windows.Hop
	schema *arrow.Schema
	in     Operator
}

var _ Operator = (*hopOp)(nil)

func newHop(env *Env, n *planner.HopWindow, in Operator) *hopOp {
	return &hopOp{env: env, n: n, hop: windows.Hop{Slide: n.Slide, Size: n.Size, Offset: n.Offset}, schema: schemaOf(n.Cols), in: in}
}

func (o *hopOp) Schema() *arrow.Schema          { return o.schema }
func (o *hopOp) Open(ctx context.Context) error { return o.in.Open(ctx) }
func (o *hopOp) Close() error                   { return o.in.Close() }

func (o *hopOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := o.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		out, err := o.expand(b)
		b.Release()
		if err != nil {
			return nil, err
		}
		if out.NumRows() == 0 {
			out.Release()
			continue
		}
		return out, nil
	}
}

func (o *hopOp) expand(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	mem := o.env.Allocator()
	t, err := eval.Eval(&o.env.Env, o.n.Time, b)
	if err != nil {
		return nil, err
	}
	defer t.Release()
	ts, ok := t.(*array.Timestamp)
	if !ok {
		return nil, fmt.Errorf("exec: hop window time is %s, not a timestamp", t.DataType())
	}
	rows, starts, err := o.hop.AssignArray(ts, mem)
	if err != nil {
		return nil, err
	}
	defer rows.Release()
	ends, err := windows.WindowEnds(starts, o.hop.Size, mem)
	if err != nil {
		starts.Release()
		return nil, err
	}
	cols := takeColumns(mem, b.Columns(), rows.Int32Values())
	cols = append(cols, retype(starts, o.schema.Field(len(cols)).Type), retype(ends, o.schema.Field(len(cols)+1).Type))
	return newBatch(o.schema, cols, rows.Len())
}

// retype returns a timestamp array with the given (timestamp) type, taking
// over a's reference: the window library builds zone-less timestamps.
func retype(a arrow.Array, dt arrow.DataType) arrow.Array {
	if arrow.TypeEqual(a.DataType(), dt) {
		return a
	}
	d := array.NewData(dt, a.Len(), a.Data().Buffers(), nil, a.NullN(), a.Data().Offset())
	out := array.MakeFromData(d)
	d.Release()
	a.Release()
	return out
}

// sessionOp assigns rows to sessions per key. It reads its whole input:
// a session's start and end depend on rows that may come later.
type sessionOp struct {
	env    *Env
	n      *planner.SessionWindow
	schema *arrow.Schema
	in     Operator
	done   bool
}

var _ Operator = (*sessionOp)(nil)

func newSession(env *Env, n *planner.SessionWindow, in Operator) *sessionOp {
	return &sessionOp{env: env, n: n, schema: schemaOf(n.Cols), in: in}
}

func (o *sessionOp) Schema() *arrow.Schema          { return o.schema }
func (o *sessionOp) Open(ctx context.Context) error { return o.in.Open(ctx) }
func (o *sessionOp) Close() error                   { return o.in.Close() }

func (o *sessionOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if o.done {
		return nil, io.EOF
	}
	o.done = true
	bs, err := drain(ctx, o.in)
	if err != nil {
		return nil, err
	}
	defer releaseBatches(bs)
	mem := o.env.Allocator()
	inSchema := o.in.Schema()
	cols, n, err := concatBatches(mem, inSchema, bs)
	if err != nil {
		return nil, err
	}
	defer releaseAll(cols)
	whole := array.NewRecordBatch(inSchema, cols, int64(n))
	defer whole.Release()
	t, err := eval.Eval(&o.env.Env, o.n.Time, whole)
	if err != nil {
		return nil, err
	}
	defer t.Release()
	ts := t.(*array.Timestamp)
	keyArrs, err := evalAll(o.env, o.n.Keys, whole)
	if err != nil {
		return nil, err
	}
	defer releaseAll(keyArrs)
	// Order rows by key, then time; NULL times belong to no session.
	type row struct {
		key string
		t   int64
		i   int32
	}
	var rows []row
	var kb []byte
	for i := 0; i < n; i++ {
		if ts.IsNull(i) {
			continue
		}
		kb = kb[:0]
		for _, k := range keyArrs {
			kb = fmt.Appendf(kb, "%v\x00", valueAt(k, i))
		}
		rows = append(rows, row{key: string(kb), t: int64(ts.Value(i)), i: int32(i)})
	}
	sort.SliceStable(rows, func(a, b int) bool {
		if rows[a].key != rows[b].key {
			return rows[a].key < rows[b].key
		}
		return rows[a].t < rows[b].t
	})
	idx := make([]int32, len(rows))
	starts := make([]int64, len(rows))
	ends := make([]int64, len(rows))
	gap := o.n.Gap
	for s := 0; s < len(rows); {
		e := s + 1
		for e < len(rows) && rows[e].key == rows[s].key && rows[e].t-rows[e-1].t < gap {
			e++
		}
		for k := s; k < e; k++ {
			idx[k] = rows[k].i
			starts[k] = rows[s].t
			ends[k] = rows[e-1].t + gap
		}
		s = e
	}
	out := takeColumns(mem, cols, idx)
	sb := array.NewTimestampBuilder(mem, o.schema.Field(len(out)).Type.(*arrow.TimestampType))
	eb := array.NewTimestampBuilder(mem, o.schema.Field(len(out)+1).Type.(*arrow.TimestampType))
	for k := range idx {
		sb.Append(arrow.Timestamp(starts[k]))
		eb.Append(arrow.Timestamp(ends[k]))
	}
	out = append(out, sb.NewArray(), eb.NewArray())
	sb.Release()
	eb.Release()
	return newBatch(o.schema, out, len(idx))
}
