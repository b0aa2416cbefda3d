package session

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	streamlog "github.com/sqld/sqld/connectors/log"
	"github.com/sqld/sqld/connectors/nexmark"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// sourceBatchEvents is how many Nexmark events one generated batch spans
// at most, and always for a source without a rate.
const sourceBatchEvents = 100_000

// sourceBatchesPerSecond is how often a source with a rate appends: its
// batches span a tenth of a second of events, so that its rows arrive
// steadily rather than in bursts of sourceBatchEvents (over a minute apart
// at 1,000 events a second).
const sourceBatchesPerSecond = 10

// batchEvents returns the events per batch of a source with the given rate
// (0: none). recorded is the size its progress record names (0: none, or a
// record written before the size was recorded), found whether there is a
// record at all, and empty whether its stream has never been appended to.
// NB: a stream's batch size never changes, since batch k is appended with
// sequence k+1 and a batch appended again after a restart must carry the
// same sequence to be recognized. Streams generated before the size was
// recorded used sourceBatchEvents, and keep it.
func batchEvents(rate float64, recorded int64, found, empty bool) int64 {
	switch {
	case recorded > 0:
		return recorded
	case found || !empty || rate <= 0:
		return sourceBatchEvents
	}
	return min(sourceBatchEvents, max(1, int64(rate)/sourceBatchesPerSecond))
}

// nexmarkSource generates a Nexmark stream into the log. Events are a pure
// function of (seed, event number), batch k covers event numbers
// [k*B, (k+1)*B) and is appended with writer id = the stream's id and
// sequence k+1, so a restart that appends a batch again is deduplicated by
// the log: the stream holds every event exactly once.
//
// FLUSH waits for its progress (see flushMark): next, the events recorded
// as in the log, and begun, the end of the newest batch being generated,
// appended or recorded.
type nexmarkSource struct {
	rel  *catalog.Relation
	kind nexmark.Kind
	gen  *nexmark.Generator
	seed int64
	rate float64 // events per second of wall time; 0: as fast as possible
	// storeRows logs the generated rows rather than descriptions of them
	// (see regenerate).
	storeRows bool
	limit     int64 // total events (all kinds); 0: unbounded
	cancel    context.CancelFunc
	done      chan struct{} // closed when the generator has stopped

	mu    sync.Mutex
	batch int64 // events per batch (see batchEvents); 0 until known
	next  int64 // next event number to generate: all before it are recorded
	// begun is the end of the newest batch begun (being generated,
	// appended or recorded; next when none is), -1 before the first;
	// firstEnd is the end of the first.
	begun, firstEnd int64
	err             error
	changed         chan struct{} // closed and replaced when begun, next or err change
}

func newNexmarkSource(rel *catalog.Relation) (*nexmarkSource, error) {
	opt := rel.Options
	var kind nexmark.Kind
	switch opt["event"] {
	case "bid":
		kind = nexmark.KindBid
	case "auction":
		kind = nexmark.KindAuction
	case "person":
		kind = nexmark.KindPerson
	default:
		return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "connector 'nexmark' needs event = 'bid', 'auction' or 'person'")
	}
	num := func(k string) (int64, error) {
		v, ok := opt[k]
		if !ok {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, pgerror.New(pgerror.CodeInvalidParameterValue, "option %s must be a non-negative integer, not %q", k, v)
		}
		return n, nil
	}
	seed, err := num("seed")
	if err != nil {
		return nil, err
	}
	rate, err := num("rate")
	if _, given := opt["rate"]; given && (err != nil || rate <= 0) {
		return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "option rate must be a positive whole number of events per second (omit it for no limit), not %q", opt["rate"])
	}
	limit, err := num("events")
	if err != nil {
		return nil, err
	}
	var storeRows bool
	if v, given := opt["store_rows"]; given {
		b, ok := parseBoolSetting(v)
		if !ok {
			return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "option store_rows must be true or false, not %q", v)
		}
		storeRows = b == "on"
	}
	gen, err := nexmark.NewGenerator(nexmark.Config{Seed: seed})
	if err != nil {
		return nil, pgerror.Wrap(err, pgerror.CodeInvalidParameterValue, "")
	}
	want := nexmark.Schema(kind)
	if len(rel.Columns) != want.NumFields() {
		return nil, pgerror.New(pgerror.CodeInvalidTableDefinition, "a nexmark %s stream has the columns %s", opt["event"], schemaText(want))
	}
	for i, c := range rel.Columns {
		f := want.Field(i)
		if c.Name != f.Name || !arrow.TypeEqual(c.Type.Arrow(), f.Type) {
			return nil, pgerror.New(pgerror.CodeInvalidTableDefinition, "a nexmark %s stream has the columns %s", opt["event"], schemaText(want))
		}
	}
	return &nexmarkSource{rel: rel, kind: kind, gen: gen, seed: seed, rate: float64(rate), limit: limit, storeRows: storeRows,
		begun: -1, changed: make(chan struct{})}, nil
}

func schemaText(s *arrow.Schema) string {
	out := "("
	for i, f := range s.Fields() {
		if i > 0 {
			out += ", "
		}
		t, _ := catalog.FromArrow(f.Type)
		out += f.Name + " " + t.String()
	}
	return out + ")"
}

// startSourceLocked starts the generator of a connector stream; e.mu is
// held.
func (e *Engine) startSourceLocked(rel *catalog.Relation) {
	src, err := newNexmarkSource(rel)
	if err != nil {
		e.log.Error("stream source cannot start", "stream", rel.Name, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	src.cancel, src.done = cancel, make(chan struct{})
	if e.sources == nil {
		e.sources = map[string]*nexmarkSource{}
	}
	e.sources[rel.Name] = src
	go func() {
		defer close(src.done)
		if err := src.run(ctx, e); err != nil && ctx.Err() == nil {
			e.log.Error("stream source failed", "stream", rel.Name, "err", err)
			src.mu.Lock()
			src.err = err
			src.signalLocked()
			src.mu.Unlock()
		}
	}()
}

// stopSource stops a stream's generator and waits for it.
func (e *Engine) stopSource(name string) {
	e.mu.Lock()
	src := e.sources[name]
	delete(e.sources, name)
	e.mu.Unlock()
	if src != nil {
		src.cancel()
		<-src.done
	}
}

// sourceProgress is a source's progress record. Batch is absent in
// records written before it was kept (see batchEvents).
type sourceProgress struct {
	Next  int64 `json:"next"`
	Batch int64 `json:"batch,omitempty"`
}

// signalLocked wakes whoever waits for the source's progress; s.mu is
// held.
func (s *nexmarkSource) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// beginBatch records that the batch ending before event end is being
// generated.
func (s *nexmarkSource) beginBatch(end int64) {
	s.mu.Lock()
	if s.begun < 0 {
		s.firstEnd = end
	}
	s.begun = end
	s.signalLocked()
	s.mu.Unlock()
}

func (s *nexmarkSource) run(ctx context.Context, e *Engine) error {
	et, err := e.epochTable(ctx)
	if err != nil {
		return err
	}
	key := "source:" + topicName(s.rel)
	row, err := e.store.GetRow(ctx, et, []any{key})
	if err != nil && !errors.Is(err, widecol.ErrNotFound) {
		return err
	}
	var p sourceProgress
	b, found := row["record"].([]byte)
	if found {
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("stream %q: corrupt source progress: %w", s.rel.Name, err)
		}
	}
	t, err := e.topic(s.rel)
	if err != nil {
		return err
	}
	empty := true
	for part := range t.Partitions() {
		if st, err := t.Stats(part); err != nil || st.EndOffset > 0 {
			empty = false
		}
	}
	batch := batchEvents(s.rate, p.Batch, found, empty)
	if p.Batch != batch {
		// The size is recorded before the first batch is appended with
		// it, so that after a restart every batch is appended again alike.
		p.Batch = batch
		if err := s.writeProgress(ctx, e, et, key, p); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.next, s.batch = p.Next, batch
	s.signalLocked()
	s.mu.Unlock()
	return s.pipeline(ctx, e, t, et, key)
}

// sourceInFlight bounds the batches between generation and recorded
// progress. Generation of the next batch overlaps the append of the last. It stays
// below the log's memory of a writer's recent sequences per partition
// (eight), so after a restart every batch past the recorded progress that
// was already appended is recognized and deduplicated, not rejected as
// stale.
const sourceInFlight = 2

// sourceBatch is a generated batch on its way to the log.
type sourceBatch struct {
	k, end int64 // batch number, and the event number after it
	rec    arrow.RecordBatch
	// cols are the columns rec holds, when the views reading the stream
	// use only those (nil: all); such a batch is logged as a description.
	cols []bool
}

// pipeline generates batches from s.next on, appends them and records
// progress. Three goroutines: the generator (this function's child), the
// appender (batches reach the log in batch order, see below), and the
// recorder (the caller's goroutine), which writes the
// progress of the longest appended prefix of batches and then frees their
// slots. Batch k still covers events [k*B, (k+1)*B) and goes to partition
// k mod partitions with sequence k+1, so concurrency changes no stored
// row. All goroutines exit when ctx is done or one of them fails.
func (s *nexmarkSource) pipeline(parent context.Context, e *Engine, t *streamlog.Topic, et *widecol.Table, key string) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	schema := s.rel.Schema()
	parts := s.rel.Partitions
	s.mu.Lock()
	first, size := s.next, s.batch
	s.mu.Unlock()
	slots := make(chan struct{}, sourceInFlight)
	done := make(chan sourceBatch, sourceInFlight)
	// One appender appends the batches in order: a partition whose log
	// is read to its end must not be passed by a later batch's newer
	// events in another partition, or the watermark would overtake rows
	// still to come and views would drop them as late.
	queues := make([]chan sourceBatch, 1)
	var wg sync.WaitGroup
	finish := func(b sourceBatch) {
		select {
		case done <- b:
		case <-ctx.Done():
		}
	}
	for p := range queues {
		queues[p] = make(chan sourceBatch, sourceInFlight)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range queues[p] {
				// Appending (encoding) waits its turn too.
				if ctx.Err() != nil || e.yieldToBatch(ctx) != nil {
					b.rec.Release()
					continue
				}
				part := int(b.k % int64(parts))
				// The log keeps which events the batch holds, not its
				// rows: they are regenerated when read (see regenerate).
				opts := streamlog.AppendOptions{WriterID: int64(s.rel.ID), Sequence: b.k + 1, Columns: b.cols}
				if b.cols != nil || (!s.storeRows && !e.rereadBy(s.rel)) {
					opts.Regen = nexmarkDesc(s.kind, s.seed, b.k*size, b.end)
				}
				_, err := t.Append(ctx, part, b.rec, opts)
				if err != nil {
					cancel(err)
					continue
				}
				b.rec = nil
				finish(b)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			for _, q := range queues {
				close(q)
			}
		}()
		start := time.Now()
		for n := first; s.limit == 0 || n < s.limit; {
			end := n + size
			if s.limit > 0 && end > s.limit {
				end = s.limit
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if s.rate > 0 {
				due := start.Add(time.Duration(float64(end-first) / s.rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
			}
			s.waitReaders(ctx, e, t, int(n/size%int64(parts)), s.gen.Count(s.kind, n, end))
			// From here the batch counts as produced: FLUSH waits for it.
			s.beginBatch(end)
			// The generator is streaming work in this process: it holds a
			// slot of the batch gate while it generates, like a view's
			// epoch (and catches up after a pause).
			_, leave, err := e.enterStreaming(ctx)
			if err != nil {
				return
			}
			// Only the columns the views reading the stream use are
			// generated; anyone else gets the batch generated again.
			var cols []bool
			if !s.storeRows && !e.rereadBy(s.rel) {
				cols = e.streamColumns(s.rel, t.Config().EventTimeColumn)
			}
			var b arrow.RecordBatch
			if timesOnly(s.rel, cols) {
				b, _ = s.gen.BatchTimes(s.kind, n, end, e.alloc)
			} else {
				b, _ = s.gen.BatchColumns(s.kind, n, end, e.alloc, cols)
			}
			leave()
			if b == nil {
				cancel(fmt.Errorf("nexmark: no batch for %s", s.kind))
				return
			}
			k := n / size
			if b.NumRows() == 0 {
				b.Release()
				finish(sourceBatch{k: k, end: end})
			} else {
				rec := array.NewRecordBatch(schema, b.Columns(), b.NumRows())
				b.Release()
				queues[0] <- sourceBatch{k: k, end: end, rec: rec, cols: cols}
			}
			n = end
		}
	}()
	go func() {
		wg.Wait()
		close(done)
	}()

	// The recorder.
	ready := map[int64]int64{} // appended batch number -> its end
	frontier := first / size
	for b := range done {
		ready[b.k] = b.end
		// Take whatever else has finished, so one write records it all.
		for more := true; more; {
			select {
			case b, ok := <-done:
				if ok {
					ready[b.k] = b.end
				} else {
					more = false
				}
			default:
				more = false
			}
		}
		next, freed := int64(-1), 0
		for {
			end, ok := ready[frontier]
			if !ok {
				break
			}
			delete(ready, frontier)
			frontier++
			next, freed = end, freed+1
		}
		if freed == 0 || ctx.Err() != nil {
			continue
		}
		if err := s.record(ctx, e, et, key, next); err != nil {
			cancel(err)
			continue
		}
		for range freed {
			<-slots
		}
	}
	if err := context.Cause(ctx); err != nil && parent.Err() == nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// sourceReaderWait bounds how long the generator waits for the views
// reading its stream before it generates a batch anyway.
const sourceReaderWait = time.Second

// waitReaders holds the generator back while a running view reading
// the stream is behind in partition part by more batches of rows than the
// log keeps in memory there, less one (at least one batch), for up to
// sourceReaderWait. The log keeps the newest batches of a partition in
// memory (up to streamlog.TailBatches, fewer when they are large) and
// the rest as descriptions, so a view that follows closely takes the
// generated rows as they are, where one that has fallen behind would
// generate them again. Small batches let the generator run a few batches
// ahead, generating while a view's epoch (up to a few batches: epochRows)
// runs. A source without running incremental views
// reading it is not held at all; one with a view slower than its rate is
// held to that view's pace, up to sourceReaderWait a batch.
func (s *nexmarkSource) waitReaders(ctx context.Context, e *Engine, t *streamlog.Topic, part int, rows int64) {
	deadline := time.Now().Add(sourceReaderWait)
	for {
		st, err := t.Stats(part)
		if err != nil {
			return
		}
		changed := e.changeSignal()
		if e.readersBehind(s.rel, part, st.EndOffset) <= rows*int64(max(1, st.TailBatches-1)) {
			return
		}
		d := time.Until(deadline)
		if d <= 0 {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-time.After(d):
			return
		}
	}
}

// rereadBy reports whether a running view recomputed from its inputs
// reads stream rel: it reads the stream's rows again at each change, so
// they are worth storing rather than generating again each time.
func (e *Engine) rereadBy(rel *catalog.Relation) bool {
	for _, j := range e.readersOf(rel) {
		j.mu.Lock()
		re := j.status == JobRunning && j.plan != nil && j.plan.Mode == planner.Recompute
		j.mu.Unlock()
		if re {
			return true
		}
	}
	return false
}

// streamColumns returns the columns of stream rel that its running views
// read, with its watermark and the log's event-time column et (-1: none);
// nil when that is all of them. A stream no view reads needs only those.
func (e *Engine) streamColumns(rel *catalog.Relation, et int) []bool {
	var need []bool
	readers := 0
	for _, j := range e.readersOf(rel) {
		j.mu.Lock()
		running, vp := j.status == JobRunning, j.plan
		j.mu.Unlock()
		if !running {
			continue
		}
		cols := viewColumns(vp, rel)
		if cols == nil {
			return nil
		}
		readers++
		if need == nil {
			need = cols
			continue
		}
		for c, u := range cols {
			need[c] = need[c] || u
		}
	}
	if readers == 0 {
		need = make([]bool, len(rel.Columns))
	}
	return withTimeColumns(need, rel, et)
}

// timesOnly reports whether cols (nil: all) flags no column of generated
// stream rel but its date_time, which BatchTimes generates alone.
func timesOnly(rel *catalog.Relation, cols []bool) bool {
	if cols == nil {
		return false
	}
	for c, u := range cols {
		if u && rel.Columns[c].Name != "date_time" {
			return false
		}
	}
	return true
}

// withTimeColumns adds to need, unless nil, the columns the watermark and
// the log's event times (et, -1: none) of stream rel are read from.
func withTimeColumns(need []bool, rel *catalog.Relation, et int) []bool {
	if need == nil {
		return nil
	}
	if et >= 0 && et < len(need) {
		need[et] = true
	}
	if w := rel.Watermark; w != nil && w.Column < len(need) {
		need[w.Column] = true
	}
	return need
}

// viewColumns returns the columns of stream rel that an incremental
// view's plan reads, or nil when that is all of them or not known.
func viewColumns(vp *planner.ViewPlan, rel *catalog.Relation) []bool {
	if vp == nil || vp.Mode != planner.Incremental {
		return nil
	}
	roots := []planner.Node{vp.Input}
	if vp.Join != nil {
		for _, s := range vp.Join.Sides {
			roots = append(roots, s.Input)
		}
	}
	need := make([]bool, len(rel.Columns))
	found, ok := false, true
	var walk func(n planner.Node)
	walk = func(n planner.Node) {
		if n == nil || !ok {
			return
		}
		if s, isScan := n.(*planner.Scan); isScan && s.Rel != nil && s.Rel.Name == rel.Name {
			found = true
			for _, p := range s.Project {
				if p < 0 || p >= len(need) {
					ok = false
					return
				}
				need[p] = true
			}
		}
		for _, c := range n.Children() {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	if !found || !ok || !slices.Contains(need, false) {
		return nil
	}
	return need
}

// readersOf returns the view jobs that read relation rel directly.
func (e *Engine) readersOf(rel *catalog.Relation) []*viewJob {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var jobs []*viewJob
	for _, j := range e.jobs {
		if slices.Contains(j.rel.DependsOn, rel.Name) {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// readersBehind returns how many rows before end the slowest running
// incremental view reading partition part of stream rel has yet to
// take; 0 when there is none.
func (e *Engine) readersBehind(rel *catalog.Relation, part int, end int64) int64 {
	var behind int64
	for _, j := range e.readersOf(rel) {
		j.mu.Lock()
		if j.status == JobRunning && j.plan != nil && j.plan.Mode == planner.Incremental {
			base := 0
			for _, src := range j.inputStreams() {
				if src.ID == rel.ID && base+part < len(j.offsets) {
					behind = max(behind, end-j.offsets[base+part])
				}
				base += src.Partitions
			}
		}
		j.mu.Unlock()
	}
	return behind
}

// nexmarkDescVersion is the first byte of a generated batch's description.
const nexmarkDescVersion = 1

// nexmarkDesc describes the generated batch of events [from, to): the
// version, the kind, then seed, from and to as little-endian 64-bit
// integers.
func nexmarkDesc(kind nexmark.Kind, seed, from, to int64) []byte {
	b := []byte{nexmarkDescVersion, byte(kind)}
	b = binary.LittleEndian.AppendUint64(b, uint64(seed))
	b = binary.LittleEndian.AppendUint64(b, uint64(from))
	return binary.LittleEndian.AppendUint64(b, uint64(to))
}

// regenerate rebuilds a generated batch from its description: the same
// seed and event numbers give the same rows.
func (s *nexmarkSource) regenerate(desc []byte, mem memory.Allocator) (arrow.RecordBatch, error) {
	if len(desc) != 26 || desc[0] != nexmarkDescVersion {
		return nil, fmt.Errorf("nexmark: bad batch description (%d bytes)", len(desc))
	}
	kind := nexmark.Kind(desc[1])
	seed := int64(binary.LittleEndian.Uint64(desc[2:]))
	from := int64(binary.LittleEndian.Uint64(desc[10:]))
	to := int64(binary.LittleEndian.Uint64(desc[18:]))
	if kind != s.kind || seed != s.seed {
		return nil, fmt.Errorf("nexmark: batch of kind %d seed %d in stream %q of kind %d seed %d", kind, seed, s.rel.Name, s.kind, s.seed)
	}
	if from < 0 || to <= from || to-from > sourceBatchEvents {
		return nil, fmt.Errorf("nexmark: bad batch description: events [%d, %d)", from, to)
	}
	b, _ := s.gen.Batch(kind, from, to, mem)
	if b == nil {
		return nil, fmt.Errorf("nexmark: no batch for %s", kind)
	}
	defer b.Release()
	return array.NewRecordBatch(s.rel.Schema(), b.Columns(), b.NumRows()), nil
}

// record writes the source's progress: every event before next is in the
// log.
func (s *nexmarkSource) record(ctx context.Context, e *Engine, et *widecol.Table, key string, next int64) error {
	s.mu.Lock()
	batch := s.batch
	s.mu.Unlock()
	if err := s.writeProgress(ctx, e, et, key, sourceProgress{Next: next, Batch: batch}); err != nil {
		return err
	}
	s.mu.Lock()
	s.next = next
	s.signalLocked()
	s.mu.Unlock()
	e.notifyChange()
	return nil
}

// writeProgress stores the source's progress record.
func (s *nexmarkSource) writeProgress(ctx context.Context, e *Engine, et *widecol.Table, key string, p sourceProgress) error {
	b, _ := json.Marshal(p)
	wb := e.store.NewBatch()
	defer wb.Close()
	if err := wb.UpsertRow(et, widecol.Row{"name": key, "record": b}, nil); err != nil {
		return err
	}
	return wb.Commit(ctx)
}

// sourceDone reports whether a bounded source stream has produced all its
// events (true for streams without a source).
func (e *Engine) sourceDone(name string) (bool, int64) {
	e.mu.RLock()
	src := e.sources[name]
	e.mu.RUnlock()
	if src == nil {
		return true, 0
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.limit > 0 && src.next >= src.limit, src.next
}
