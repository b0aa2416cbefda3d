package windows

import (
	"fmt"
	"iter"
	"slices"
	"sort"
)

// Entry is the state of one group in one window: the caller's accumulators
// V for (Window, Key).
type Entry[V any] struct {
	Window Window
	Key    string
	Value  *V
}

// LateCount counts what a WindowState dropped as late.
type LateCount struct {
	// Rows counts rows dropped from every window they belong to (counted
	// by AddRow only).
	Rows int64
	// Windows counts (row, window) pairs dropped because the window had
	// already closed; a hopping row late for two of its windows adds 2.
	Windows int64
}

// WindowState holds the per-group state of a tumbling or hopping window
// aggregation: one V per (window start, group key), ordered by window start.
// Windows all have the same Size, so a window closes when the watermark
// reaches start+Size. Only open windows are held: Close removes closed ones
// and hands them back, so memory is bounded by the open windows.
//
// Iteration and emission orders are deterministic: by window start, then by
// key in byte order. A WindowState is not safe for concurrent use.
type WindowState[V any] struct {
	size      int64
	mode      EmitMode
	watermark int64
	buckets   []*bucket[V] // ascending start
	entries   int
	late      LateCount
	dirty     []*entry[V] // EmitOnUpdate: entries changed since Updated
}

type bucket[V any] struct {
	start  int64
	byKey  map[string]*entry[V]
	keys   []string // every key of byKey
	sorted bool     // keys is sorted
}

type entry[V any] struct {
	start  int64
	key    string
	value  V
	dirty  bool
	closed bool
}

// NewWindowState returns an empty state for windows of length size under
// the given emit mode. In EmitOnUpdate mode the state tracks which entries
// changed since the last call to Updated. The initial watermark is
// NoWatermark.
func NewWindowState[V any](size int64, mode EmitMode) (*WindowState[V], error) {
	if size <= 0 {
		return nil, fmt.Errorf("%w: window size %d must be positive", ErrInvalidSpec, size)
	}
	if !mode.Valid() {
		return nil, fmt.Errorf("%w: unknown %s", ErrInvalidSpec, mode)
	}
	return &WindowState[V]{size: size, mode: mode, watermark: NoWatermark}, nil
}

// Size returns the window length.
func (s *WindowState[V]) Size() int64 { return s.size }

// Mode returns the emit mode.
func (s *WindowState[V]) Mode() EmitMode { return s.mode }

// Watermark returns the highest watermark passed to Close.
func (s *WindowState[V]) Watermark() int64 { return s.watermark }

// Windows returns the number of open windows held.
func (s *WindowState[V]) Windows() int { return len(s.buckets) }

// Len returns the number of (window, key) entries held.
func (s *WindowState[V]) Len() int { return s.entries }

// Late returns the late counters.
func (s *WindowState[V]) Late() LateCount { return s.late }

// SetLate restores the late counters, e.g. from a checkpoint.
func (s *WindowState[V]) SetLate(c LateCount) { s.late = c }

// IsLate reports whether the window starting at start has closed under the
// current watermark.
func (s *WindowState[V]) IsLate(start int64) bool {
	return IsLate(addSat(start, s.size), s.watermark)
}

// Add returns the accumulators of (start, key), creating a zero V if
// absent, and marks the entry updated. If the window has already closed it
// returns (nil, false) and counts one late window; the row must then be
// left out of that window. The pointer stays valid until the window closes.
func (s *WindowState[V]) Add(start int64, key string) (*V, bool) {
	if s.IsLate(start) {
		s.late.Windows++
		return nil, false
	}
	b := s.bucketFor(start)
	e, ok := b.byKey[key]
	if !ok {
		e = &entry[V]{start: start, key: key}
		b.byKey[key] = e
		if n := len(b.keys); n > 0 && b.sorted && b.keys[n-1] > key {
			b.sorted = false
		}
		b.keys = append(b.keys, key)
		s.entries++
	}
	if s.mode == EmitOnUpdate && !e.dirty {
		e.dirty = true
		s.dirty = append(s.dirty, e)
	}
	return &e.value, true
}

// AddRow adds one row of group key to each window in starts (the windows a
// Tumble or Hop assigns to the row), calling update with the accumulators
// of every window that is still open. It returns how many windows took the
// row. A row that no window took is counted as a late row; windows that
// were closed are counted as late windows either way.
func (s *WindowState[V]) AddRow(key string, starts []int64, update func(start int64, v *V)) int {
	took := 0
	for _, st := range starts {
		v, ok := s.Add(st, key)
		if !ok {
			continue
		}
		took++
		if update != nil {
			update(st, v)
		}
	}
	if took == 0 && len(starts) > 0 {
		s.late.Rows++
	}
	return took
}

func (s *WindowState[V]) bucketFor(start int64) *bucket[V] {
	n := len(s.buckets)
	// Rows mostly land in the newest windows: check the tail first.
	if n > 0 && s.buckets[n-1].start == start {
		return s.buckets[n-1]
	}
	i := n
	if n > 0 && s.buckets[n-1].start > start {
		i = sort.Search(n, func(i int) bool { return s.buckets[i].start >= start })
		if s.buckets[i].start == start {
			return s.buckets[i]
		}
	}
	b := &bucket[V]{start: start, byKey: make(map[string]*entry[V]), sorted: true}
	s.buckets = slices.Insert(s.buckets, i, b)
	return b
}

// Close raises the watermark to watermark (a lower value is ignored: the
// watermark never goes backwards) and removes every window whose end is
// <= the watermark, returning their entries ordered by window start, then
// key. The caller owns the returned entries; the state forgets them.
func (s *WindowState[V]) Close(watermark int64) []Entry[V] {
	if watermark > s.watermark {
		s.watermark = watermark
	}
	n := 0
	for n < len(s.buckets) && s.IsLate(s.buckets[n].start) {
		n++
	}
	if n == 0 {
		return nil
	}
	var out []Entry[V]
	for _, b := range s.buckets[:n] {
		out = b.appendEntries(out, s.size)
		for _, e := range b.byKey {
			e.closed = true
		}
		s.entries -= len(b.byKey)
	}
	// Drop the references so closed buckets can be collected; copying the
	// open tail to a fresh slice bounds the backing array by open windows.
	clear(s.buckets[:n])
	s.buckets = append([]*bucket[V](nil), s.buckets[n:]...)
	if len(s.dirty) > 0 {
		s.dirty = slices.DeleteFunc(s.dirty, func(e *entry[V]) bool { return e.closed })
	}
	return out
}

func (b *bucket[V]) appendEntries(out []Entry[V], size int64) []Entry[V] {
	if !b.sorted {
		slices.Sort(b.keys)
		b.sorted = true
	}
	w := Window{Start: b.start, End: addSat(b.start, size)}
	for _, k := range b.keys {
		out = append(out, Entry[V]{Window: w, Key: k, Value: &b.byKey[k].value})
	}
	return out
}

// Open iterates over the entries of the open windows, ordered by window
// start, then key. The state must not be changed during the iteration.
func (s *WindowState[V]) Open() iter.Seq[Entry[V]] {
	return func(yield func(Entry[V]) bool) {
		var buf []Entry[V]
		for _, b := range s.buckets {
			buf = b.appendEntries(buf[:0], s.size)
			for _, e := range buf {
				if !yield(e) {
					return
				}
			}
		}
	}
}

// Updated returns the open entries added to since the previous call,
// ordered by window start, then key, and clears the marks: in EmitOnUpdate
// mode these are the rows to write this epoch. In EmitOnWindowClose mode
// it returns nil. Close drops the marks of the windows it removes, so within
// an epoch call Updated before Close (or also write what Close returns).
func (s *WindowState[V]) Updated() []Entry[V] {
	if len(s.dirty) == 0 {
		return nil
	}
	slices.SortFunc(s.dirty, func(a, b *entry[V]) int {
		if a.start != b.start {
			if a.start < b.start {
				return -1
			}
			return 1
		}
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	out := make([]Entry[V], 0, len(s.dirty))
	for _, e := range s.dirty {
		e.dirty = false
		out = append(out, Entry[V]{Window: Window{Start: e.start, End: addSat(e.start, s.size)}, Key: e.key, Value: &e.value})
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	return out
}
