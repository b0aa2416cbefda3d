package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	streamlog "github.com/sqld/sqld/connectors/log"
	"github.com/sqld/sqld/connectors/nexmark"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/sql/pgerror"
)

// sourceBatchEvents is how many Nexmark events one generated batch spans.
const sourceBatchEvents = 100_000

// nexmarkSource generates a Nexmark stream into the log. Events are a pure
// function of (seed, event number), batch k covers event numbers
// [k*B, (k+1)*B) and is appended with writer id = the stream's id and
// sequence k, so a restart that appends a batch again is deduplicated by
// the log: the stream holds every event exactly once.
type nexmarkSource struct {
	rel    *catalog.Relation
	kind   nexmark.Kind
	gen    *nexmark.Generator
	rate   float64 // events per second of wall time; 0: as fast as possible
	limit  int64   // total events (all kinds); 0: unbounded
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	next int64 // next event number to generate
	err  error
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
	if err != nil {
		return nil, err
	}
	if _, given := opt["rate"]; given && rate <= 0 {
		return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "option rate must be a positive number of events per second (omit it for no limit)")
	}
	limit, err := num("events")
	if err != nil {
		return nil, err
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
	return &nexmarkSource{rel: rel, kind: kind, gen: gen, rate: float64(rate), limit: limit}, nil
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

type sourceProgress struct {
	Next int64 `json:"next"`
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
	if b, ok := row["record"].([]byte); ok {
		var p sourceProgress
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("stream %q: corrupt source progress: %w", s.rel.Name, err)
		}
		s.mu.Lock()
		s.next = p.Next
		s.mu.Unlock()
	}
	t, err := e.topic(s.rel)
	if err != nil {
		return err
	}
	schema := s.rel.Schema()
	start := time.Now()
	first := s.next
	for {
		n := s.next
		if s.limit > 0 && n >= s.limit {
			return nil
		}
		end := n + sourceBatchEvents
		if s.limit > 0 && end > s.limit {
			end = s.limit
		}
		if s.rate > 0 {
			due := start.Add(time.Duration(float64(end-first) / s.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(d):
				}
			}
		}
		// The generator is streaming work in this process: it yields to
		// interactive queries like view tasks (and catches up after).
		if err := e.yieldToBatch(ctx); err != nil {
			return nil
		}
		b, _ := s.gen.Batch(s.kind, n, end, e.alloc)
		if b == nil {
			return fmt.Errorf("nexmark: no batch for %s", s.kind)
		}
		k := n / sourceBatchEvents
		if b.NumRows() > 0 {
			rec := array.NewRecordBatch(schema, b.Columns(), b.NumRows())
			b.Release()
			part := int(k % int64(s.rel.Partitions))
			_, err := t.Append(ctx, part, rec, streamlog.AppendOptions{WriterID: int64(s.rel.ID), Sequence: k + 1})
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		} else {
			b.Release()
		}
		p, _ := json.Marshal(sourceProgress{Next: end})
		wb := e.store.NewBatch()
		err = wb.UpsertRow(et, widecol.Row{"name": key, "record": p}, nil)
		if err == nil {
			err = wb.Commit(ctx)
		}
		wb.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.mu.Lock()
		s.next = end
		s.mu.Unlock()
		e.notifyChange()
	}
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
