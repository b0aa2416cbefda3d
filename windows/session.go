package windows

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"sort"
)

// Session describes session windows: per group key, events closer than Gap
// to each other form one session, whose window is [first event, last event
// + Gap). Each event alone spans [t, t+Gap); sessions whose spans overlap
// merge, so an event that bridges two sessions merges them into one. Spans
// are half-open: an event exactly Gap after the last one starts a new
// session.
type Session struct {
	Gap int64 // inactivity gap in microseconds, > 0
}

// Validate returns an error wrapping ErrInvalidSpec if s defines no windows.
func (s Session) Validate() error {
	if s.Gap <= 0 {
		return fmt.Errorf("%w: session gap %d must be positive", ErrInvalidSpec, s.Gap)
	}
	return nil
}

// SessionState holds the open sessions of a session window aggregation, per
// group key a sorted set of disjoint sessions, each with the caller's
// accumulators V. A session closes when the watermark reaches its end
// (last event + gap); Close removes it, so memory is bounded by the open
// sessions. A SessionState is not safe for concurrent use.
type SessionState[V any] struct {
	gap       int64
	mode      EmitMode
	merge     func(into, from *V)
	watermark int64
	keys      map[string][]*session[V] // each ascending by start, disjoint
	peakKeys  int
	sessions  int
	minEnd    int64 // no open session ends before minEnd
	late      LateCount
	dirty     []*session[V]
}

type session[V any] struct {
	key         string
	start, last int64
	value       V
	dirty       bool
	gone        bool // closed or merged away
}

func (s *session[V]) window(gap int64) Window {
	return Window{Start: s.start, End: addSat(s.last, gap)}
}

// NewSessionState returns an empty session state. merge folds the
// accumulators of a session into those of another when an event bridges
// them; it is required. The initial watermark is NoWatermark.
func NewSessionState[V any](spec Session, mode EmitMode, merge func(into, from *V)) (*SessionState[V], error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if !mode.Valid() {
		return nil, fmt.Errorf("%w: unknown %s", ErrInvalidSpec, mode)
	}
	if merge == nil {
		return nil, fmt.Errorf("%w: session state needs a merge function", ErrInvalidSpec)
	}
	return &SessionState[V]{
		gap: spec.Gap, mode: mode, merge: merge, watermark: NoWatermark,
		keys: make(map[string][]*session[V]), minEnd: math.MaxInt64,
	}, nil
}

// Watermark returns the highest watermark passed to Close.
func (s *SessionState[V]) Watermark() int64 { return s.watermark }

// Len returns the number of open sessions held, over all keys.
func (s *SessionState[V]) Len() int { return s.sessions }

// Keys returns the number of keys with an open session.
func (s *SessionState[V]) Keys() int { return len(s.keys) }

// Late returns the late counters; for sessions Rows and Windows are equal.
func (s *SessionState[V]) Late() LateCount { return s.late }

// SetLate restores the late counters, e.g. from a checkpoint.
func (s *SessionState[V]) SetLate(c LateCount) { s.late = c }

// Add adds an event at time t for key and returns the accumulators of the
// session that now holds it, merging sessions the event bridges. The
// windows of sessions that stopped existing in this call (merged away, or
// replaced by a longer window of the same session) are appended to retired
// and returned; in EmitOnUpdate mode rows written for them are stale.
//
// An event that joins no open session and whose own window [t, t+gap) has
// ended under the watermark is late: Add returns ok == false and counts it.
// An event that joins an open session is never late (as in Flink, lateness
// is judged on the merged window), even if it extends the session's start
// backwards.
func (s *SessionState[V]) Add(key string, t int64, retired []Window) (v *V, _ []Window, ok bool) {
	list := s.keys[key]
	end := addSat(t, s.gap)
	// Sessions are disjoint and sorted, so ends ascend too.
	i := sort.Search(len(list), func(i int) bool { return addSat(list[i].last, s.gap) > t })
	j := i
	for j < len(list) && list[j].start < end {
		j++
	}
	if i == j {
		if IsLate(end, s.watermark) {
			s.late.Rows++
			s.late.Windows++
			return nil, retired, false
		}
		ns := &session[V]{key: key, start: t, last: t}
		if len(list) == 0 {
			s.peakKeys = max(s.peakKeys, len(s.keys)+1)
		}
		s.keys[key] = slices.Insert(list, i, ns)
		s.sessions++
		s.minEnd = min(s.minEnd, end)
		s.touch(ns)
		return &ns.value, retired, true
	}
	target := list[i]
	old := target.window(s.gap)
	for _, o := range list[i+1 : j] {
		retired = append(retired, o.window(s.gap))
		s.merge(&target.value, &o.value)
		o.gone = true
		target.last = max(target.last, o.last)
	}
	target.start = min(target.start, t)
	target.last = max(target.last, t)
	if w := target.window(s.gap); w != old {
		retired = append(retired, old)
	}
	if j-i > 1 {
		list = slices.Delete(list, i+1, j)
		s.keys[key] = list
		s.sessions -= j - i - 1
	}
	s.touch(target)
	return &target.value, retired, true
}

func (s *SessionState[V]) touch(ss *session[V]) {
	if s.mode == EmitOnUpdate && !ss.dirty {
		ss.dirty = true
		s.dirty = append(s.dirty, ss)
	}
}

// Close raises the watermark to watermark (a lower value is ignored) and
// removes every session whose end is <= the watermark, returning them
// ordered by window start, then key. Close costs O(1) while no session can
// close and O(open sessions) when some do.
func (s *SessionState[V]) Close(watermark int64) []Entry[V] {
	if watermark > s.watermark {
		s.watermark = watermark
	}
	if s.minEnd > s.watermark {
		return nil
	}
	var out []Entry[V]
	minEnd := int64(math.MaxInt64)
	for key, list := range s.keys {
		kept := list[:0]
		for _, ss := range list {
			w := ss.window(s.gap)
			if IsLate(w.End, s.watermark) {
				ss.gone = true
				out = append(out, Entry[V]{Window: w, Key: key, Value: &ss.value})
				continue
			}
			minEnd = min(minEnd, w.End)
			kept = append(kept, ss)
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(s.keys, key)
		} else {
			s.keys[key] = kept
		}
	}
	s.minEnd = minEnd
	s.sessions -= len(out)
	// Go maps do not shrink: rebuild after most keys went away.
	if s.peakKeys > 64 && len(s.keys) < s.peakKeys/4 {
		s.keys = maps.Clone(s.keys)
		if s.keys == nil {
			s.keys = make(map[string][]*session[V])
		}
		s.peakKeys = len(s.keys)
	}
	if len(s.dirty) > 0 {
		s.dirty = slices.DeleteFunc(s.dirty, func(ss *session[V]) bool { return ss.gone })
	}
	sortEntries(out)
	return out
}

func sortEntries[V any](es []Entry[V]) {
	slices.SortFunc(es, func(a, b Entry[V]) int {
		if c := cmp.Compare(a.Window.Start, b.Window.Start); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.Window.End, b.Window.End)
	})
}

// Open iterates over the open sessions ordered by window start, then key.
// The state must not be changed during the iteration.
func (s *SessionState[V]) Open() iter.Seq[Entry[V]] {
	return func(yield func(Entry[V]) bool) {
		out := make([]Entry[V], 0, s.sessions)
		for key, list := range s.keys {
			for _, ss := range list {
				out = append(out, Entry[V]{Window: ss.window(s.gap), Key: key, Value: &ss.value})
			}
		}
		sortEntries(out)
		for _, e := range out {
			if !yield(e) {
				return
			}
		}
	}
}

// Updated returns the open sessions added to since the previous call,
// ordered by window start, then key, and clears the marks. In
// EmitOnWindowClose mode it returns nil.
func (s *SessionState[V]) Updated() []Entry[V] {
	var out []Entry[V]
	for _, ss := range s.dirty {
		ss.dirty = false
		if !ss.gone {
			out = append(out, Entry[V]{Window: ss.window(s.gap), Key: ss.key, Value: &ss.value})
		}
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	sortEntries(out)
	return out
}
