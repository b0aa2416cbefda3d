package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/sqld/sqld/catalog"
	streamlog "github.com/sqld/sqld/connectors/log"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/windows"
)

// An incremental join view keeps, per side, the side's rows that can
// still match, in memory and in a store table (<view>_join0 and
// <view>_join1). Rows are kept in chunks, a batch of rows read in one
// epoch; the store holds each chunk as one Arrow IPC message keyed by
// (epoch, chunk number). Each epoch a side's new rows probe the other
// side's stored rows through a hash index on the join keys, and are then
// stored themselves; the pairs found are the epoch's new join rows, which
// the view's plan processes like the new rows of a single stream. Rows
// that a time condition proves dead are dropped from memory as the
// watermarks pass them, and a chunk's store row is deleted once all its
// rows are dead. A restart loads the store tables and drops the rows
// already dead.

// joinTableName is the store table of a join view's side.
func joinTableName(rel *catalog.Relation, side int) string {
	return fmt.Sprintf("%s_join%d", tableName(rel), side)
}

func joinSideSpec(rel *catalog.Relation, side int, js *planner.JoinSide) widecol.TableSpec {
	fields := []arrow.Field{
		{Name: "_e", Type: arrow.PrimitiveTypes.Int64},
		{Name: "_c", Type: arrow.PrimitiveTypes.Int64},
		{Name: "rows", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}
	return widecol.TableSpec{Keyspace: keyspaceData, Name: joinTableName(rel, side), Schema: arrow.NewSchema(fields, nil),
		PartitionKey: []string{"_e"}, Clustering: []widecol.ClusteringColumn{{Name: "_c"}}}
}

// joinState is the runtime state of an incremental join.
type joinState struct {
	jp     *planner.JoinPlan
	topics [2]*streamlog.Topic
	parts  [2]int // partitions per side: side 1's offsets follow side 0's
	tables [2]*widecol.Table
	sides  [2]*joinSide
	// Per side: the watermark tracker (nil without a watermark), its
	// expression and the side's watermark.
	trackers [2]*windows.Tracker
	wmExprs  [2]planner.Expr
	wms      [2]int64
	// rows is the number of stored rows of both sides, for sys.jobs.
	rows atomic.Int64
	// budget bounds each side's rows in memory (the view's option
	// join_state_bytes).
	budget int64
	// Outer joins: the sides whose unmatched rows are NULL-padded, and
	// the view row of each padded row not matched since.
	preserved [2]bool
	pads      map[padID][2]int64
	padTable  *widecol.Table
}

// joinBudget reads a view's join_state_bytes option.
func joinBudget(rel *catalog.Relation) (int64, error) {
	v, ok := rel.Options["join_state_bytes"]
	if !ok {
		return joinSideMemory, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, pgerror.New(pgerror.CodeInvalidParameterValue, "join_state_bytes must be a non-negative integer, not %q", v)
	}
	return n, nil
}

// joinSide is one side's stored rows and their hash index.
type joinSide struct {
	js     *planner.JoinSide
	schema *arrow.Schema
	chunks []*joinChunk
	// The index: heads[index[key]] is the newest row with the key, next
	// chains rows of one key. Rows are numbered in chunk order: row i of
	// a chunk is base+i.
	index  map[string]int32
	heads  []int32
	next   []int32
	live   int64
	dead   int64
	keyBuf []byte
	// onDead, if set, is called when all of a chunk's rows are dead.
	onDead func(*widecol.Batch, *joinChunk) error
}

// joinChunk is a batch of a side's rows, all read in one epoch. Under
// memory pressure a chunk is spilled: its rows and keys are dropped from
// memory (rec and keys are nil) and read back from the store table when a
// probe finds them; its times stay for eviction.
type joinChunk struct {
	rec   arrow.RecordBatch
	base  int32 // the number of row 0 in the side's index
	rows  int
	bytes int64         // memory of rec
	keys  []arrow.Array // the join keys of the rows
	times []arrow.Array // the time column of each eviction rule
	// The chunk's store key.
	epoch, no int64
	dead      []bool
	// matched marks, during the epoch that read them, the rows of an
	// outer join's preserved side that found a match.
	matched []bool
	live    int
	// minTime is, per eviction rule, the smallest time of the chunk's
	// live rows when last checked.
	minTime []int64
}

func newJoinSide(js *planner.JoinSide) *joinSide {
	fields := make([]arrow.Field, len(js.Input.Columns()))
	for i, c := range js.Input.Columns() {
		fields[i] = catalog.Field(c.Name, c.Type, true)
	}
	return &joinSide{js: js, schema: arrow.NewSchema(fields, nil), index: map[string]int32{}}
}

func (s *joinSide) release() {
	for _, c := range s.chunks {
		if c != nil {
			c.release()
		}
	}
	s.chunks = nil
}

func (c *joinChunk) release() {
	if c.rec != nil {
		c.rec.Release()
		c.rec = nil
	}
	releaseAll2(c.keys)
	releaseAll2(c.times)
}

// joinSideMemory bounds the memory of a join side's rows; beyond it the
// oldest chunks are spilled to the store table.
const joinSideMemory = 32 << 20

// spill drops the rows of the oldest chunks from memory until the side
// fits its budget. Only chunks of committed epochs may be spilled.
func (s *joinSide) spill(budget int64) {
	var total int64
	for _, c := range s.chunks {
		if c != nil && c.rec != nil {
			total += c.bytes
		}
	}
	for _, c := range s.chunks {
		if total <= budget {
			return
		}
		if c == nil || c.rec == nil {
			continue
		}
		total -= c.bytes
		c.rec.Release()
		c.rec = nil
		releaseAll2(c.keys)
		c.keys = nil
	}
}

func recBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		for _, b := range col.Data().Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
	}
	return n
}

// appendKey encodes row i of the key columns, reporting false when a key
// is NULL (such a row never matches).
func appendKey(buf []byte, keys []arrow.Array, i int) ([]byte, bool) {
	for _, k := range keys {
		if k.IsNull(i) {
			return buf, false
		}
		switch a := k.(type) {
		case *array.Int16:
			buf = binary.BigEndian.AppendUint64(buf, uint64(a.Value(i)))
		case *array.Int32:
			buf = binary.BigEndian.AppendUint64(buf, uint64(a.Value(i)))
		case *array.Int64:
			buf = binary.BigEndian.AppendUint64(buf, uint64(a.Value(i)))
		case *array.Timestamp:
			buf = binary.BigEndian.AppendUint64(buf, uint64(a.Value(i)))
		case *array.Date32:
			buf = binary.BigEndian.AppendUint32(buf, uint32(a.Value(i)))
		case *array.Float64:
			v := a.Value(i)
			if v == 0 {
				v = 0 // -0 equals 0
			}
			if math.IsNaN(v) {
				v = math.NaN()
			}
			buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(v))
		case *array.String:
			v := a.Value(i)
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
		case *array.Binary:
			v := a.Value(i)
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
		case *array.Boolean:
			if a.Value(i) {
				buf = append(buf, 1)
			} else {
				buf = append(buf, 0)
			}
		default:
			v := catalog.FormatValue(catalog.Type{}, valueAt(k, i))
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
		}
	}
	return buf, true
}

// add stores a chunk's rows and indexes them.
func (s *joinSide) add(c *joinChunk) {
	s.chunks = append(s.chunks, c)
	c.dead = make([]bool, c.rows)
	s.index1(c, true)
	s.live += int64(c.live)
}

// index1 numbers a chunk's rows after the side's last and indexes them
// (with fresh, the NULL keys are marked dead and the live rows counted).
func (s *joinSide) index1(c *joinChunk, fresh bool) {
	c.base = int32(len(s.next))
	s.next = slices.Grow(s.next, c.rows)
	for i := 0; i < c.rows; i++ {
		s.next = append(s.next, -1)
		if c.dead[i] {
			continue
		}
		var ok bool
		s.keyBuf, ok = appendKey(s.keyBuf[:0], c.keys, i)
		if !ok {
			c.dead[i] = true
			continue
		}
		id := c.base + int32(i)
		h, found := s.index[string(s.keyBuf)]
		if !found {
			h = int32(len(s.heads))
			s.index[string(s.keyBuf)] = h
			s.heads = append(s.heads, -1)
		}
		s.next[id] = s.heads[h]
		s.heads[h] = id
		if fresh {
			c.live++
		}
	}
}

// chunkOf returns the index of the chunk holding row id.
func (s *joinSide) chunkOf(id int32) int {
	return sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].base > id }) - 1
}

// probe appends to out, per chunk of s, the pairs (row of keys, row of
// the chunk) of equal keys.
func (s *joinSide) probe(keys []arrow.Array, n int, out map[int]*pairList) {
	for i := 0; i < n; i++ {
		var ok bool
		s.keyBuf, ok = appendKey(s.keyBuf[:0], keys, i)
		if !ok {
			continue
		}
		h, ok := s.index[string(s.keyBuf)]
		if !ok {
			continue
		}
		ci := len(s.chunks) - 1
		for id := s.heads[h]; id >= 0; id = s.next[id] {
			// Chains run from newer rows to older ones.
			if id < s.chunks[ci].base {
				ci = s.chunkOf(id)
			}
			c := s.chunks[ci]
			row := int(id - c.base)
			if c.dead[row] {
				continue
			}
			pl := out[ci]
			if pl == nil {
				pl = &pairList{}
				out[ci] = pl
			}
			pl.probe = append(pl.probe, int32(i))
			pl.stored = append(pl.stored, int32(row))
		}
	}
}

type pairList struct {
	probe, stored []int32
}

// evict drops the rows that the rules prove dead given the other side's
// watermark, deleting the store rows of chunks left without live rows.
// reload gives a spilled chunk its keys back for a rebuild of the index.
//
// A distinct side's row also stays while a row equal to it may still come
// (its own watermark has not passed it): it is how the side knows the row
// is not new.
func (s *joinSide) evict(otherWM, ownWM int64, batch *widecol.Batch, t *widecol.Table, reload func(*joinChunk) error) error {
	if len(s.js.Evict) == 0 || otherWM == windows.NoWatermark {
		return nil
	}
	distinct := s.js.Distinct
	if distinct && (s.js.WatermarkCol < 0 || ownWM == windows.NoWatermark) {
		return nil
	}
	ownBound := ownWM - s.js.WatermarkLag
	for _, c := range s.chunks {
		if c == nil || c.live == 0 {
			continue
		}
		skip := true
		for ri, r := range s.js.Evict {
			if c.minTime[ri] < otherWM+r.Slack {
				skip = false
			}
		}
		if skip {
			continue
		}
		for ri := range c.minTime {
			c.minTime[ri] = math.MaxInt64
		}
		var own *array.Timestamp
		if distinct {
			own = c.times[len(s.js.Evict)].(*array.Timestamp)
		}
		for ri, r := range s.js.Evict {
			ts := c.times[ri].(*array.Timestamp)
			bound := otherWM + r.Slack
			for i := range c.dead {
				if own != nil && own.IsValid(i) && int64(own.Value(i)) >= ownBound {
					continue
				}
				if !c.dead[i] && (ts.IsNull(i) || int64(ts.Value(i)) < bound) {
					c.dead[i] = true
					c.live--
					s.live--
					s.dead++
				}
			}
		}
		if c.live == 0 && batch != nil {
			if err := batch.DeleteRow(t, []any{c.epoch, c.no}); err != nil {
				return err
			}
			if s.onDead != nil {
				if err := s.onDead(batch, c); err != nil {
					return err
				}
			}
		}
		for ri := range s.js.Evict {
			ts := c.times[ri].(*array.Timestamp)
			for i := range c.dead {
				if !c.dead[i] && ts.IsValid(i) && int64(ts.Value(i)) < c.minTime[ri] {
					c.minTime[ri] = int64(ts.Value(i))
				}
			}
		}
	}
	if s.dead > s.live && s.dead > 4096 {
		return s.rebuild(reload)
	}
	return nil
}

// rebuild drops dead chunks and rebuilds the index over the live rows.
func (s *joinSide) rebuild(reload func(*joinChunk) error) error {
	chunks := s.chunks
	s.chunks = nil
	s.index = map[string]int32{}
	s.heads, s.next = s.heads[:0], nil
	s.live, s.dead = 0, 0
	for k, c := range chunks {
		if c.live == 0 {
			c.release()
			continue
		}
		spilled := c.keys == nil
		if spilled {
			if err := reload(c); err != nil {
				// The index is incomplete: the error fails the epoch,
				// and the restarted task loads the side again.
				s.chunks = append(s.chunks, chunks[k:]...)
				return err
			}
		}
		s.chunks = append(s.chunks, c)
		s.index1(c, false)
		s.live += int64(c.live)
		if spilled {
			releaseAll2(c.keys)
			c.keys = nil
		}
	}
	return nil
}

// newChunk makes a chunk of rows read in epoch, with their join keys.
func (j *viewJob) newChunk(env *exec.Env, s *joinSide, rec arrow.RecordBatch, epoch int64) (*joinChunk, error) {
	c := &joinChunk{rec: rec, rows: int(rec.NumRows()), bytes: recBytes(rec), epoch: epoch, minTime: make([]int64, len(s.js.Evict))}
	for _, k := range s.js.Keys {
		a, err := eval.Eval(&env.Env, k, rec)
		if err != nil {
			c.release()
			return nil, err
		}
		c.keys = append(c.keys, a)
	}
	for ri, r := range s.js.Evict {
		c.minTime[ri] = math.MaxInt64
		ts, ok := rec.Column(r.Col).(*array.Timestamp)
		if !ok {
			c.release()
			return nil, fmt.Errorf("view %q: join time column is not a timestamp", j.rel.Name)
		}
		ts.Retain()
		c.times = append(c.times, ts)
		for i := 0; i < ts.Len(); i++ {
			if ts.IsValid(i) && int64(ts.Value(i)) < c.minTime[ri] {
				c.minTime[ri] = int64(ts.Value(i))
			}
		}
	}
	if s.js.Distinct && s.js.WatermarkCol >= 0 {
		ts, ok := rec.Column(s.js.WatermarkCol).(*array.Timestamp)
		if !ok {
			c.release()
			return nil, fmt.Errorf("view %q: join time column is not a timestamp", j.rel.Name)
		}
		ts.Retain()
		c.times = append(c.times, ts)
	}
	return c, nil
}

// recoverJoin opens the join's inputs and loads its stored rows.
func (j *viewJob) recoverJoin(ctx context.Context, rec *epochRecord) error {
	jp := j.plan.Join
	if j.join != nil {
		for _, s := range j.join.sides {
			s.release()
		}
	}
	budget, err := joinBudget(j.rel)
	if err != nil {
		return err
	}
	js := &joinState{jp: jp, budget: budget}
	switch jp.Kind {
	case planner.LeftJoin:
		js.preserved[0] = true
	case planner.RightJoin:
		js.preserved[1] = true
	case planner.FullJoin:
		js.preserved = [2]bool{true, true}
	}
	j.mu.Lock()
	j.join = js
	j.mu.Unlock()
	var ends []int64
	for i := range jp.Sides {
		side := &jp.Sides[i]
		t, err := j.eng.topic(side.Source)
		if err != nil {
			return err
		}
		js.topics[i] = t
		js.parts[i] = t.Partitions()
		js.wms[i] = windows.NoWatermark
		if wm := side.Source.Watermark; wm != nil {
			if js.wmExprs[i], err = bindWatermark(side.Source, wm.Expr); err != nil {
				return err
			}
			if js.trackers[i], err = windows.NewTracker(t.Partitions(), 0); err != nil {
				return err
			}
			if i < len(rec.Trackers) && len(rec.Trackers[i]) > 0 {
				if err := js.trackers[i].UnmarshalBinary(rec.Trackers[i]); err != nil {
					return fmt.Errorf("view %q: %w", j.rel.Name, err)
				}
			}
			js.wms[i] = js.trackers[i].Watermark()
		}
		for p := 0; p < t.Partitions(); p++ {
			at := len(ends)
			if at < len(rec.Ends) {
				ends = append(ends, rec.Ends[at])
				continue
			}
			st, err := t.Stats(p)
			if err != nil {
				return err
			}
			ends = append(ends, st.OldestOffset)
		}
		tbl, err := j.eng.store.Table(keyspaceData, joinTableName(j.rel, i))
		if err != nil {
			return err
		}
		js.tables[i] = tbl
	}
	j.offsets = ends
	j.watermark = js.shownWatermark()
	env := j.env(nil)
	if jp.Kind != planner.InnerJoin {
		if js.padTable, err = j.eng.store.Table(keyspaceData, joinPadsTable(j.rel)); err != nil {
			return err
		}
		if err := j.loadPads(ctx); err != nil {
			return err
		}
	}
	for i := range jp.Sides {
		s := newJoinSide(&jp.Sides[i])
		js.sides[i] = s
		if js.preserved[i] {
			side := i
			s.onDead = func(b *widecol.Batch, c *joinChunk) error { return j.dropPads(b, side, c) }
		}
		if err := j.loadJoinSide(ctx, env, s, js.tables[i]); err != nil {
			return err
		}
	}
	// Rows that died before the crash but whose epochs kept live rows.
	b := j.eng.store.NewBatch()
	defer b.Close()
	for i, s := range js.sides {
		if err := s.evict(js.wms[1-i], js.wms[i], b, js.tables[i], j.reloadKeys(ctx, i)); err != nil {
			return err
		}
	}
	if err := b.Commit(ctx); err != nil {
		return err
	}
	js.rows.Store(js.sides[0].live + js.sides[1].live)
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
	if p := rec.Planned; p != nil && p.Epoch == rec.Epoch+1 {
		return j.runJoinEpoch(ctx, p.Starts, p.Ends, p.Idle)
	}
	return nil
}

func (j *viewJob) loadJoinSide(ctx context.Context, env *exec.Env, s *joinSide, t *widecol.Table) error {
	return j.eng.scanTable(ctx, t, widecol.Range{}, &widecol.ReadOptions{BatchSize: 16}, func(b arrow.RecordBatch) error {
		ep, no, blobs := b.Column(0).(*array.Int64), b.Column(1).(*array.Int64), b.Column(2).(*array.Binary)
		for r := 0; r < int(b.NumRows()); r++ {
			rec, err := j.decodeChunk(s, blobs.Value(r))
			if err != nil {
				return fmt.Errorf("view %q: stored join chunk (%d, %d): %w", j.rel.Name, ep.Value(r), no.Value(r), err)
			}
			c, err := j.newChunk(env, s, rec, ep.Value(r))
			if err != nil {
				return err
			}
			c.no = no.Value(r)
			s.add(c)
			s.spill(j.join.budget)
		}
		return nil
	})
}

// encodeChunk serializes a chunk's rows as one Arrow IPC stream.
func encodeChunk(rec arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeChunk reads back a chunk's rows; the batch owns its memory.
func (j *viewJob) decodeChunk(s *joinSide, blob []byte) (arrow.RecordBatch, error) {
	r, err := ipc.NewReader(bytes.NewReader(blob), ipc.WithSchema(s.schema), ipc.WithAllocator(j.eng.alloc))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("empty chunk")
	}
	rec := r.RecordBatch()
	// Copy out of the reader's buffer: the blob is not ours to keep.
	idx := make([]int32, rec.NumRows())
	for i := range idx {
		idx[i] = int32(i)
	}
	cols := exec.TakeColumns(j.eng.alloc, rec.Columns(), idx)
	out := array.NewRecordBatch(s.schema, cols, rec.NumRows())
	releaseAll2(cols)
	return out, nil
}

// outputWatermark is the watermark of the join's pairs (see
// planner.JoinPlan.TimeSide).
func (js *joinState) outputWatermark() int64 {
	ts := js.jp.TimeSide
	if ts < 0 || js.wms[0] == windows.NoWatermark || js.wms[1] == windows.NoWatermark {
		return windows.NoWatermark
	}
	return min(js.wms[ts]-js.jp.TimeLag, js.wms[1-ts]+js.jp.TimeSlack)
}

// maxJoinEpochRows caps the rows a join epoch reads: the epoch's rows are
// kept as state, so smaller epochs keep the memory of a backfill lower.
const maxJoinEpochRows = 1 << 18

// stepJoin runs one epoch of a join view if either side has new rows.
func (j *viewJob) stepJoin(ctx context.Context, first bool) (bool, error) {
	js := j.join
	n := js.parts[0] + js.parts[1]
	starts := append([]int64(nil), j.offsets...)
	ends := make([]int64, n)
	idle := make([]bool, n)
	more := false
	share := int64(maxJoinEpochRows) / int64(n)
	stats, err := j.eng.stableStats(js.topics[0], js.topics[1])
	if err != nil {
		return false, err
	}
	for g := 0; g < n; g++ {
		side, p := 0, g
		if g >= js.parts[0] {
			side, p = 1, g-js.parts[0]
		}
		st := stats[side][p]
		if starts[g] < st.OldestOffset {
			starts[g] = st.OldestOffset
		}
		ends[g] = min(st.StableOffset, starts[g]+share)
		if ends[g] > starts[g] {
			more = true
		}
		idle[g] = ends[g] == st.StableOffset
	}
	if !more && !(first && j.epoch == 0) {
		return false, nil
	}
	if err := j.runJoinEpoch(ctx, starts, ends, idle); err != nil {
		return false, err
	}
	return more, nil
}

// runJoinEpoch runs one epoch of a join view over the rows of both sides
// in [starts, ends) (side 0's partitions, then side 1's).
func (j *viewJob) runJoinEpoch(ctx context.Context, starts, ends []int64, idle []bool) error {
	e := j.eng
	js := j.join
	epoch := j.epoch + 1
	et, err := e.epochTable(ctx)
	if err != nil {
		return err
	}
	var trackersBefore [2][]byte
	for i, t := range js.trackers {
		if t != nil {
			if trackersBefore[i], err = t.MarshalBinary(); err != nil {
				return err
			}
		}
	}
	restore := func() {
		for i, t := range js.trackers {
			if t != nil && len(trackersBefore[i]) > 0 {
				_ = t.UnmarshalBinary(trackersBefore[i])
			}
		}
	}
	planned, _ := json.Marshal(epochRecord{Epoch: j.epoch, Ends: starts, Trackers: trackersBefore[:], Late: j.late,
		Planned: &plannedEpoch{Epoch: epoch, Starts: starts, Ends: ends, Idle: idle}})
	if err := j.writeRecord(ctx, et, planned); err != nil {
		return err
	}

	// A failure from here on leaves the in-memory state ahead of the
	// store: the task restarts and reloads it.
	var deltas [2][]arrow.RecordBatch
	var parts [2][]int
	defer func() { releaseAll(deltas[0]); releaseAll(deltas[1]) }()
	var size int64
	for i, base := range []int{0, js.parts[0]} {
		np := js.parts[i]
		need := j.readColumns(j.plan.Join.Sides[i].Source, js.topics[i])
		if deltas[i], parts[i], err = j.readTopic(ctx, js.topics[i], starts[base:base+np], ends[base:base+np], need); err != nil {
			return err
		}
		for _, b := range deltas[i] {
			size += recBytes(b)
		}
	}
	// The epoch writes the new stored rows and the view's new rows.
	batch := e.store.NewBatchSize(int(min(size, 1<<30)))
	defer batch.Close()
	env := j.env(nil)
	wmBefore := js.outputWatermark()
	sideWM := js.wms
	var in, late int64
	var pairs []arrow.RecordBatch
	defer func() { releaseAll(pairs) }()
	base := 0
	for i := range js.sides {
		s := js.sides[i]
		np := js.parts[i]
		delta, parts := deltas[i], parts[i]
		deltas[i] = nil
		for _, b := range delta {
			in += b.NumRows()
		}
		if t := js.trackers[i]; t != nil {
			if err := observeWatermark(env, t, js.wmExprs[i], delta, parts, idle[base:base+np], s.js.Source.Name); err != nil {
				releaseAll(delta)
				restore()
				return err
			}
		}
		base += np
		rows, err := j.sideRows(ctx, s, delta)
		releaseAll(delta)
		if err != nil {
			restore()
			return err
		}
		// Rows behind this side's watermark may have matched rows the
		// other side already freed: they are late.
		if s.js.DropLate && sideWM[i] != windows.NoWatermark {
			var n int64
			rows, n, err = j.dropLate(rows, s, sideWM[i])
			if err != nil {
				releaseAll(rows)
				restore()
				return err
			}
			late += n
		}
		if s.js.Distinct {
			if rows, err = j.dropSeen(ctx, i, rows); err != nil {
				releaseAll(rows)
				restore()
				return err
			}
		}
		for no, rec := range rows {
			c, err := j.newChunk(env, s, rec, epoch)
			if err != nil {
				restore()
				return err
			}
			c.no = int64(no)
			if js.preserved[i] {
				c.matched = make([]bool, c.rows)
			}
			ps, err := j.joinPairs(ctx, i, c, batch)
			if err != nil {
				c.release()
				restore()
				return err
			}
			pairs = append(pairs, ps...)
			s.add(c)
			if err := j.storeChunk(batch, js.tables[i], c); err != nil {
				restore()
				return err
			}
		}
	}
	for i, t := range js.trackers {
		if t != nil {
			js.wms[i] = t.Advance()
		}
	}
	wmAfter := js.outputWatermark()
	var padded []padID
	if js.jp.Kind != planner.InnerJoin {
		// The new rows of a preserved side that nothing matched.
		ps, ids, err := j.paddedRows(epoch)
		if err != nil {
			return err
		}
		pairs = append(pairs, ps...)
		padded = ids
	}
	for i, s := range js.sides {
		if err := s.evict(js.wms[1-i], js.wms[i], batch, js.tables[i], j.reloadKeys(ctx, i)); err != nil {
			return err
		}
	}
	st := &memStorage{batches: map[*catalog.Relation][]arrow.RecordBatch{js.jp.Joined: pairs}}
	var out, wlate int64
	if j.plan.TopN != nil {
		out, wlate, err = j.applyTopN(ctx, batch, st, wmBefore, wmAfter)
	} else if j.plan.Agg == nil && js.jp.Kind != planner.InnerJoin {
		var padErr error
		out, err = j.applyRows(ctx, batch, st, epoch, func(pad, seq int64) {
			if e := j.notePad(batch, padded[pad], epoch, seq); e != nil && padErr == nil {
				padErr = e
			}
		})
		if err == nil {
			err = padErr
		}
	} else if j.plan.Agg == nil {
		out, err = j.applyRows(ctx, batch, st, epoch, nil)
	} else {
		out, wlate, err = j.applyAgg(ctx, batch, st, wmBefore, wmAfter)
	}
	if err != nil {
		return err
	}
	late += wlate
	var trackersAfter [2][]byte
	for i, t := range js.trackers {
		if t != nil {
			if trackersAfter[i], err = t.MarshalBinary(); err != nil {
				return err
			}
		}
	}
	rec, _ := json.Marshal(epochRecord{Epoch: epoch, Ends: ends, Trackers: trackersAfter[:], Late: j.late + late})
	if err := batch.UpsertRow(et, widecol.Row{"name": j.rel.Name, "record": rec}, nil); err != nil {
		return err
	}
	if err := batch.Commit(ctx); err != nil {
		return err
	}
	j.mu.Lock()
	j.epoch = epoch
	j.offsets = ends
	j.rowsIn += in
	j.rowsOut += out
	j.late += late
	j.stateGroups = int64(len(j.groups))
	j.failing = nil
	j.watermark = js.shownWatermark()
	j.lastTime = time.Now()
	j.mu.Unlock()
	js.rows.Store(js.sides[0].live + js.sides[1].live)
	for _, s := range js.sides {
		s.spill(js.budget)
	}
	e.notifyChange()
	return nil
}

// shownWatermark is the watermark sys.jobs shows: the pairs' watermark,
// else the smaller of the sides'.
func (js *joinState) shownWatermark() int64 {
	if js.jp.TimeSide >= 0 || js.wms[0] == windows.NoWatermark || js.wms[1] == windows.NoWatermark {
		return js.outputWatermark()
	}
	return min(js.wms[0], js.wms[1])
}

// readTopic reads the rows of a topic in [starts, ends) per partition.
//
// need flags the columns the view uses (nil: all); the others may hold
// anything (see streamlog.AppendOptions.Columns).
func (j *viewJob) readTopic(ctx context.Context, t *streamlog.Topic, starts, ends []int64, need []bool) ([]arrow.RecordBatch, []int, error) {
	var out []arrow.RecordBatch
	var parts []int
	for p := range starts {
		off := starts[p]
		key := carryKey{t.Name(), p}
		for off < ends[p] {
			var b streamlog.Batch
			if c, ok := j.carry[key]; ok && off >= c.BaseOffset && off < c.NextOffset() {
				// The rest of a batch the last epoch ended inside.
				b = streamlog.Batch{Record: c.Record.NewSlice(off-c.BaseOffset, c.Record.NumRows()), BaseOffset: off}
			} else {
				var ok bool
				var err error
				if b, ok, err = readBounded(ctx, t, p, off, ends[p], need); err != nil {
					releaseAll(out)
					return nil, nil, err
				}
				if !ok {
					break
				}
				b.Trim()
			}
			rec := b.Record
			if next := b.NextOffset(); next > ends[p] {
				// The epoch ends inside the batch: keep the batch for the
				// next epoch rather than read it again.
				j.keepCarry(key, b)
				sl := rec.NewSlice(0, rec.NumRows()-(next-ends[p]))
				rec.Release()
				rec = sl
			}
			off = b.NextOffset()
			out = append(out, rec)
			parts = append(parts, p)
		}
	}
	return out, parts, nil
}

// readColumns returns the columns of stream rel (read through topic t)
// that the view uses, with its watermark and event-time columns; nil for
// all of them.
func (j *viewJob) readColumns(rel *catalog.Relation, t *streamlog.Topic) []bool {
	return withTimeColumns(viewColumns(j.plan, rel), rel, t.Config().EventTimeColumn)
}

// carryKey names a partition of a topic.
type carryKey struct {
	topic string
	part  int
}

// keepCarry keeps a batch an epoch ended inside (one per partition),
// holding a reference of its own.
func (j *viewJob) keepCarry(key carryKey, b streamlog.Batch) {
	if j.carry == nil {
		j.carry = map[carryKey]streamlog.Batch{}
	}
	if old, ok := j.carry[key]; ok {
		old.Record.Release()
	}
	b.Record.Retain()
	j.carry[key] = b
}

// observeWatermark feeds rows read from partitions parts to a tracker.
func observeWatermark(env *exec.Env, t *windows.Tracker, wm planner.Expr, delta []arrow.RecordBatch, parts []int, idle []bool, name string) error {
	for i, b := range delta {
		a, err := eval.Eval(&env.Env, wm, b)
		if err != nil {
			return err
		}
		ts, ok := a.(*array.Timestamp)
		if !ok {
			a.Release()
			return fmt.Errorf("watermark of %q is not a timestamp", name)
		}
		err = t.ObserveArray(parts[i], ts)
		a.Release()
		if err != nil {
			return err
		}
	}
	for p, v := range idle {
		if err := t.SetIdle(p, v); err != nil {
			return err
		}
	}
	return nil
}

// sideRows computes a side's rows from its stream's new rows.
func (j *viewJob) sideRows(ctx context.Context, s *joinSide, delta []arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	if len(delta) == 0 {
		return nil, nil
	}
	st := &memStorage{byName: map[string][]arrow.RecordBatch{s.js.Source.Name: delta}}
	op, err := exec.Build(j.env(st), s.js.Input)
	if err != nil {
		return nil, err
	}
	res, err := exec.Collect(ctx, op)
	if err != nil {
		return nil, err
	}
	out := res[:0]
	for _, b := range res {
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		// Stored rows get buffers of their own: the stream's batches
		// share one buffer for all their columns, which the side's
		// columns would otherwise keep alive whole.
		idx := make([]int32, b.NumRows())
		for i := range idx {
			idx[i] = int32(i)
		}
		cols := exec.TakeColumns(j.eng.alloc, b.Columns(), idx)
		b.Release()
		out = append(out, array.NewRecordBatch(s.schema, cols, int64(len(idx))))
		releaseAll2(cols)
	}
	return out, nil
}

// dropLate removes the rows whose event time (the side's watermark
// column) is behind wm.
func (j *viewJob) dropLate(rows []arrow.RecordBatch, s *joinSide, wm int64) ([]arrow.RecordBatch, int64, error) {
	// The other side's rules compare this side's watermark with the
	// watermark column: find it through the source's watermark.
	col := s.js.WatermarkCol
	if col < 0 {
		return rows, 0, nil
	}
	wm -= s.js.WatermarkLag
	var late int64
	out := rows[:0]
	for _, b := range rows {
		ts := b.Column(col).(*array.Timestamp)
		var keep []int32
		for i := 0; i < ts.Len(); i++ {
			if ts.IsValid(i) && int64(ts.Value(i)) >= wm {
				keep = append(keep, int32(i))
			}
		}
		if len(keep) == ts.Len() {
			out = append(out, b)
			continue
		}
		late += int64(ts.Len() - len(keep))
		if len(keep) > 0 {
			cols := exec.TakeColumns(j.eng.alloc, b.Columns(), keep)
			out = append(out, array.NewRecordBatch(b.Schema(), cols, int64(len(keep))))
			releaseAll2(cols)
		}
		b.Release()
	}
	return out, late, nil
}

// joinPairs joins a chunk of side i's new rows with the other side's
// stored rows, returning the pairs as Joined batches. For an outer join
// it applies the join condition, records which rows matched, and
// retracts the NULL-padded rows of stored rows matched for the first time.
func (j *viewJob) joinPairs(ctx context.Context, i int, c *joinChunk, batch *widecol.Batch) ([]arrow.RecordBatch, error) {
	js := j.join
	other := js.sides[1-i]
	found := map[int]*pairList{}
	other.probe(c.keys, c.rows, found)
	var out []arrow.RecordBatch
	schema := js.jp.Joined.Schema()
	outer := js.jp.Kind != planner.InnerJoin
	for ci, pl := range found {
		oc := other.chunks[ci]
		var theirs []arrow.Array
		if oc.rec != nil {
			theirs = exec.TakeColumns(j.eng.alloc, oc.rec.Columns(), pl.stored)
		} else {
			rec, err := j.fetchRows(ctx, js.tables[1-i], other, oc, pl.stored)
			if err != nil {
				releaseAll(out)
				return nil, err
			}
			theirs = rec.Columns()
			for _, a := range theirs {
				a.Retain()
			}
			rec.Release()
		}
		mine := exec.TakeColumns(j.eng.alloc, c.rec.Columns(), pl.probe)
		var cols []arrow.Array
		if i == 0 {
			cols = append(mine, theirs...)
		} else {
			cols = append(theirs, mine...)
		}
		n := len(pl.probe)
		if outer {
			cols = append(cols, array.MakeArrayOfNull(j.eng.alloc, arrow.PrimitiveTypes.Int64, n))
		}
		rec := array.NewRecordBatch(schema, cols, int64(n))
		releaseAll2(cols)
		if outer {
			var err error
			if rec, err = j.matchPairs(rec, i, c, oc, pl, batch); err != nil {
				releaseAll(out)
				return nil, err
			}
		}
		if rec.NumRows() > 0 {
			out = append(out, rec)
		} else {
			rec.Release()
		}
	}
	return out, nil
}

// reloadKeys returns a function giving a spilled chunk of side i its join
// keys back, from the rows in the store.
func (j *viewJob) reloadKeys(ctx context.Context, i int) func(*joinChunk) error {
	return func(c *joinChunk) error {
		s := j.join.sides[i]
		all := make([]int32, c.rows)
		for r := range all {
			all[r] = int32(r)
		}
		rec, err := j.fetchRows(ctx, j.join.tables[i], s, c, all)
		if err != nil {
			return err
		}
		defer rec.Release()
		env := j.env(nil)
		for _, k := range s.js.Keys {
			a, err := eval.Eval(&env.Env, k, rec)
			if err != nil {
				releaseAll2(c.keys)
				c.keys = nil
				return err
			}
			c.keys = append(c.keys, a)
		}
		return nil
	}
}

// fetchRows reads rows of a spilled chunk back from the side's store
// table, in the order asked (repeats included).
func (j *viewJob) fetchRows(ctx context.Context, t *widecol.Table, s *joinSide, c *joinChunk, rows []int32) (arrow.RecordBatch, error) {
	row, err := j.eng.store.GetRow(ctx, t, []any{c.epoch, c.no})
	if err != nil {
		return nil, fmt.Errorf("view %q: stored join chunk (%d, %d): %w", j.rel.Name, c.epoch, c.no, err)
	}
	blob, _ := row["rows"].([]byte)
	all, err := j.decodeChunk(s, blob)
	if err != nil {
		return nil, fmt.Errorf("view %q: stored join chunk (%d, %d): %w", j.rel.Name, c.epoch, c.no, err)
	}
	defer all.Release()
	if int(all.NumRows()) != c.rows {
		return nil, fmt.Errorf("view %q: stored join chunk (%d, %d) has %d rows, want %d", j.rel.Name, c.epoch, c.no, all.NumRows(), c.rows)
	}
	cols := exec.TakeColumns(j.eng.alloc, all.Columns(), rows)
	rec := array.NewRecordBatch(s.schema, cols, int64(len(rows)))
	releaseAll2(cols)
	return rec, nil
}

// concatBatches makes one batch of several of one schema.
func concatBatches(e *Engine, schema *arrow.Schema, parts []arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	var n int64
	for _, p := range parts {
		n += p.NumRows()
	}
	for c := range cols {
		arrs := make([]arrow.Array, len(parts))
		for k, p := range parts {
			arrs[k] = p.Column(c)
		}
		if len(arrs) == 0 {
			cols[c] = array.MakeArrayOfNull(e.alloc, schema.Field(c).Type, 0)
			continue
		}
		a, err := array.Concatenate(arrs, e.alloc)
		if err != nil {
			releaseAll2(cols[:c])
			return nil, err
		}
		cols[c] = a
	}
	rec := array.NewRecordBatch(schema, cols, n)
	releaseAll2(cols)
	return rec, nil
}

// storeChunk writes a chunk's rows to the side's store table.
func (j *viewJob) storeChunk(batch *widecol.Batch, t *widecol.Table, c *joinChunk) error {
	if c.live == 0 {
		return nil
	}
	blob, err := encodeChunk(c.rec)
	if err != nil {
		return err
	}
	return batch.UpsertRow(t, widecol.Row{"_e": c.epoch, "_c": c.no, "rows": blob}, nil)
}

// dropViewTables drops the store tables of a view, those it may not have
// included.
func (e *Engine) dropViewTables(ctx context.Context, rel *catalog.Relation) {
	for _, name := range []string{tableName(rel), viewStateTable(rel), viewDistinctTable(rel), viewOuterTable(rel), viewSSideTable(rel), viewTSideTable(rel), joinTableName(rel, 0), joinTableName(rel, 1), joinPadsTable(rel)} {
		if _, err := e.store.Table(keyspaceData, name); err == nil {
			_ = e.store.DropTable(ctx, keyspaceData, name)
		}
	}
}

// stableStats reads the stats of every partition of the topics as one
// consistent cut: a transaction that wrote to several partitions is
// visible in all of them or in none, so that a partition read to its end
// (idle, not holding the watermark back) has not yet to show rows that
// other partitions already show.
func (e *Engine) stableStats(topics ...*streamlog.Topic) ([][]streamlog.PartitionStats, error) {
	out := make([][]streamlog.PartitionStats, len(topics))
	var err error
	e.log_.Consistent(func() {
		for i, t := range topics {
			out[i] = make([]streamlog.PartitionStats, t.Partitions())
			for p := range out[i] {
				if out[i][p], err = t.Stats(p); err != nil {
					return
				}
			}
		}
	})
	return out, err
}

// dropSeen removes from a distinct side's new rows those it already holds.
func (j *viewJob) dropSeen(ctx context.Context, i int, rows []arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	s := j.join.sides[i]
	env := j.env(nil)
	out := rows[:0]
	for bi, b := range rows {
		keys, err := evalColumns(env, s.js.Keys, b)
		if err != nil {
			releaseAll(rows[bi:])
			return out, err
		}
		var keep []int32
		for r := 0; r < int(b.NumRows()); r++ {
			seen, err := j.holds(ctx, i, keys, b, r)
			if err != nil {
				releaseAll2(keys)
				releaseAll(rows[bi:])
				return out, err
			}
			if !seen {
				keep = append(keep, int32(r))
			}
		}
		releaseAll2(keys)
		if len(keep) == int(b.NumRows()) {
			out = append(out, b)
			continue
		}
		if len(keep) > 0 {
			cols := exec.TakeColumns(j.eng.alloc, b.Columns(), keep)
			out = append(out, array.NewRecordBatch(b.Schema(), cols, int64(len(keep))))
			releaseAll2(cols)
		}
		b.Release()
	}
	return out, nil
}

// holds reports whether side i stores a row equal to row r of b (NULLs
// equal), looking it up by its join keys.
func (j *viewJob) holds(ctx context.Context, i int, keys []arrow.Array, b arrow.RecordBatch, r int) (bool, error) {
	s := j.join.sides[i]
	var ok bool
	s.keyBuf, ok = appendKey(s.keyBuf[:0], keys, r)
	if !ok {
		return false, nil
	}
	h, ok := s.index[string(s.keyBuf)]
	if !ok {
		return false, nil
	}
	for id := s.heads[h]; id >= 0; id = s.next[id] {
		c := s.chunks[s.chunkOf(id)]
		row := int(id - c.base)
		if c.dead[row] {
			continue
		}
		rec := c.rec
		at := row
		if rec == nil {
			got, err := j.fetchRows(ctx, j.join.tables[i], s, c, []int32{int32(row)})
			if err != nil {
				return false, err
			}
			defer got.Release()
			rec, at = got, 0
		}
		same := true
		for col := 0; col < int(b.NumCols()) && same; col++ {
			same = compareSortValue(valueAt(b.Column(col), r), valueAt(rec.Column(col), at), false, false) == 0
		}
		if same {
			return true, nil
		}
	}
	return false, nil
}

// padID names a row of an outer join's preserved side: its side and its
// chunk's store key.
type padID struct {
	side      int
	epoch, no int64
	row       int32
}

// joinPadsTable is the store table of an outer join view's NULL-padded
// rows: which view row (epoch, seq) stands for each preserved row that
// nothing has matched yet.
func joinPadsTable(rel *catalog.Relation) string { return tableName(rel) + "_pads" }

func joinPadsSpec(rel *catalog.Relation) widecol.TableSpec {
	var fields []arrow.Field
	for _, n := range []string{"side", "e", "c", "row", "re", "rs"} {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Int64})
	}
	return widecol.TableSpec{Keyspace: keyspaceData, Name: joinPadsTable(rel), Schema: arrow.NewSchema(fields, nil),
		PartitionKey: []string{"side", "e", "c"}, Clustering: []widecol.ClusteringColumn{{Name: "row"}}}
}

// matchPairs keeps the pairs of rec that meet the join condition and
// records their rows as matched: a new row of a preserved side is then not
// padded, and a stored one loses its padded view row.
func (j *viewJob) matchPairs(rec arrow.RecordBatch, i int, c, oc *joinChunk, pl *pairList, batch *widecol.Batch) (arrow.RecordBatch, error) {
	js := j.join
	keep := make([]int32, 0, len(pl.probe))
	if js.jp.Cond != nil {
		env := j.env(nil)
		a, err := eval.Eval(&env.Env, js.jp.Cond, rec)
		if err != nil {
			rec.Release()
			return nil, err
		}
		ok := a.(*array.Boolean)
		for k := 0; k < ok.Len(); k++ {
			if ok.IsValid(k) && ok.Value(k) {
				keep = append(keep, int32(k))
			}
		}
		a.Release()
	} else {
		for k := range pl.probe {
			keep = append(keep, int32(k))
		}
	}
	for _, k := range keep {
		if c.matched != nil {
			c.matched[pl.probe[k]] = true
		}
		if !js.preserved[1-i] {
			continue
		}
		row := pl.stored[k]
		if oc.matched != nil {
			oc.matched[row] = true
			continue
		}
		id := padID{side: 1 - i, epoch: oc.epoch, no: oc.no, row: row}
		if key, ok := js.pads[id]; ok {
			delete(js.pads, id)
			if err := batch.DeleteRow(j.result, []any{key[0], key[1]}); err != nil {
				rec.Release()
				return nil, err
			}
			if err := batch.DeleteRow(js.padTable, []any{int64(id.side), id.epoch, id.no, int64(id.row)}); err != nil {
				rec.Release()
				return nil, err
			}
		}
	}
	if len(keep) == int(rec.NumRows()) {
		return rec, nil
	}
	cols := exec.TakeColumns(j.eng.alloc, rec.Columns(), keep)
	out := array.NewRecordBatch(rec.Schema(), cols, int64(len(keep)))
	releaseAll2(cols)
	rec.Release()
	return out, nil
}

// paddedRows makes the NULL-padded Joined rows of the preserved sides' new
// rows that nothing matched in this epoch; row k of them has _pad k, the
// index of its padID.
func (j *viewJob) paddedRows(epoch int64) ([]arrow.RecordBatch, []padID, error) {
	js := j.join
	schema := js.jp.Joined.Schema()
	var out []arrow.RecordBatch
	var ids []padID
	for i, s := range js.sides {
		if !js.preserved[i] {
			continue
		}
		other := js.sides[1-i]
		for _, c := range s.chunks {
			if c.epoch != epoch || c.matched == nil || c.rec == nil {
				continue
			}
			var idx []int32
			for r, m := range c.matched {
				if !m {
					idx = append(idx, int32(r))
				}
			}
			c.matched = nil
			if len(idx) == 0 {
				continue
			}
			mine := exec.TakeColumns(j.eng.alloc, c.rec.Columns(), idx)
			nulls := make([]arrow.Array, len(other.schema.Fields()))
			for k, f := range other.schema.Fields() {
				nulls[k] = array.MakeArrayOfNull(j.eng.alloc, f.Type, len(idx))
			}
			var cols []arrow.Array
			if i == 0 {
				cols = append(mine, nulls...)
			} else {
				cols = append(nulls, mine...)
			}
			pb := array.NewInt64Builder(j.eng.alloc)
			for _, r := range idx {
				pb.Append(int64(len(ids)))
				ids = append(ids, padID{side: i, epoch: c.epoch, no: c.no, row: r})
			}
			cols = append(cols, pb.NewArray())
			pb.Release()
			out = append(out, array.NewRecordBatch(schema, cols, int64(len(idx))))
			releaseAll2(cols)
		}
	}
	return out, ids, nil
}

// notePad records the view row (epoch, seq) of a padded row.
func (j *viewJob) notePad(batch *widecol.Batch, id padID, epoch, seq int64) error {
	js := j.join
	js.pads[id] = [2]int64{epoch, seq}
	return batch.UpsertRow(js.padTable, widecol.Row{"side": int64(id.side), "e": id.epoch, "c": id.no, "row": int64(id.row), "re": epoch, "rs": seq}, nil)
}

// dropPads forgets the padded rows of a chunk whose rows are all dead:
// their view rows are final.
func (j *viewJob) dropPads(batch *widecol.Batch, side int, c *joinChunk) error {
	js := j.join
	for r := range c.rows {
		delete(js.pads, padID{side: side, epoch: c.epoch, no: c.no, row: int32(r)})
	}
	return batch.DeletePartition(js.padTable, []any{int64(side), c.epoch, c.no})
}

// loadPads reads an outer join's padded rows back from the store.
func (j *viewJob) loadPads(ctx context.Context) error {
	js := j.join
	js.pads = map[padID][2]int64{}
	return j.eng.scanTable(ctx, js.padTable, widecol.Range{}, nil, func(b arrow.RecordBatch) error {
		col := func(k int) *array.Int64 { return b.Column(k).(*array.Int64) }
		for r := 0; r < int(b.NumRows()); r++ {
			id := padID{side: int(col(0).Value(r)), epoch: col(1).Value(r), no: col(2).Value(r), row: int32(col(3).Value(r))}
			js.pads[id] = [2]int64{col(4).Value(r), col(5).Value(r)}
		}
		return nil
	})
}

// scanTable calls fn with each batch of a scan of t over rg; fn must not
// keep the batch.
func (e *Engine) scanTable(ctx context.Context, t *widecol.Table, rg widecol.Range, o *widecol.ReadOptions, fn func(b arrow.RecordBatch) error) error {
	it, err := e.store.Scan(ctx, t, rg, o)
	if err != nil {
		return err
	}
	defer it.Close()
	for {
		b, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = fn(b)
		b.Release()
		if err != nil {
			return err
		}
	}
}
