package windows

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func tsArray(t *testing.T, mem memory.Allocator, typ *arrow.TimestampType, vals []int64, valid []bool) *array.Timestamp {
	t.Helper()
	b := array.NewTimestampBuilder(mem, typ)
	defer b.Release()
	for i, v := range vals {
		if valid != nil && !valid[i] {
			b.AppendNull()
			continue
		}
		b.Append(arrow.Timestamp(v))
	}
	return b.NewTimestampArray()
}

var micros = &arrow.TimestampType{Unit: arrow.Microsecond}

func TestTumbleAssignArray(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	utc := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	in := tsArray(t, mem, utc, []int64{-1, 0, 5, 10, 0, 19}, []bool{true, true, true, true, false, true})
	defer in.Release()
	tu := Tumble{Size: 10}
	starts, err := tu.AssignArray(in, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer starts.Release()
	if !arrow.TypeEqual(starts.DataType(), utc) {
		t.Fatalf("type %s, want %s", starts.DataType(), utc)
	}
	ends, err := WindowEnds(starts, tu.Size, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer ends.Release()
	wantS := []int64{-10, 0, 0, 10, 0, 10}
	for i := range wantS {
		if i == 4 {
			if !starts.IsNull(i) || !ends.IsNull(i) {
				t.Fatalf("row 4: want NULL start and end")
			}
			continue
		}
		if got := int64(starts.Value(i)); got != wantS[i] {
			t.Errorf("row %d: start %d, want %d", i, got, wantS[i])
		}
		if got := int64(ends.Value(i)); got != wantS[i]+10 {
			t.Errorf("row %d: end %d, want %d", i, got, wantS[i]+10)
		}
	}
}

func TestHopAssignArray(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := tsArray(t, mem, micros, []int64{0, 7, 3, -1}, []bool{true, false, true, true})
	defer in.Release()
	h := Hop{Slide: 2, Size: 5}
	rows, starts, err := h.AssignArray(in, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Release()
	defer starts.Release()
	// 0 ∈ [-4,1) [-2,3) [0,5); NULL dropped; 3 ∈ [0,5) [2,7); -1 ∈ [-4,1) [-2,3)
	wantRows := []int32{0, 0, 0, 2, 2, 3, 3}
	wantStarts := []int64{-4, -2, 0, 0, 2, -4, -2}
	if !slices.Equal(rows.Int32Values(), wantRows) {
		t.Fatalf("rows %v, want %v", rows.Int32Values(), wantRows)
	}
	var got []int64
	for _, v := range starts.Values() {
		got = append(got, int64(v))
	}
	if !slices.Equal(got, wantStarts) {
		t.Fatalf("starts %v, want %v", got, wantStarts)
	}
}

func TestArrayErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ms := tsArray(t, mem, &arrow.TimestampType{Unit: arrow.Millisecond}, []int64{1}, nil)
	defer ms.Release()
	if _, err := (Tumble{Size: 10}).AssignArray(ms, mem); !errors.Is(err, ErrNotMicros) {
		t.Errorf("tumble on ms: %v", err)
	}
	if _, _, err := (Hop{Slide: 1, Size: 2}).AssignArray(ms, mem); !errors.Is(err, ErrNotMicros) {
		t.Errorf("hop on ms: %v", err)
	}
	if _, err := WindowEnds(ms, 1, mem); !errors.Is(err, ErrNotMicros) {
		t.Errorf("ends on ms: %v", err)
	}
	if _, err := (Tumble{Size: 10}).AssignArray(nil, mem); !errors.Is(err, ErrNotMicros) {
		t.Errorf("tumble on nil: %v", err)
	}
	us := tsArray(t, mem, micros, []int64{1}, nil)
	defer us.Release()
	if _, err := (Tumble{}).AssignArray(us, mem); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("zero tumble: %v", err)
	}
	if _, _, err := (Hop{Slide: 1}).AssignArray(us, mem); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("zero hop size: %v", err)
	}
	if _, err := WindowEnds(us, 0, mem); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("zero size ends: %v", err)
	}
	tr, _ := NewTracker(1, 0)
	if err := tr.ObserveArray(0, ms); !errors.Is(err, ErrNotMicros) {
		t.Errorf("tracker on ms: %v", err)
	}
	if _, err := NewWindowState[int](0, EmitOnUpdate); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("window state size 0: %v", err)
	}
	if _, err := NewWindowState[int](1, EmitMode(7)); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("window state mode 7: %v", err)
	}
	if _, err := NewSessionState[int](Session{Gap: 1}, EmitOnUpdate, nil); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("session without merge: %v", err)
	}
}

// TestAssignersAgainstDefinition compares the assigners with a brute-force
// reading of their definitions on small random parameters, negative times
// included.
func TestAssignersAgainstDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		size := 1 + r.Int64N(20)
		slide := 1 + r.Int64N(20)
		off := r.Int64N(81) - 40
		ts := r.Int64N(201) - 100

		tu := Tumble{Size: size, Offset: off}
		var want int64 = math.MaxInt64
		for s := ts - size + 1; s <= ts; s++ {
			if floorMod(s-off, size) == 0 {
				want = s
			}
		}
		if got := tu.Start(ts); got != want {
			t.Fatalf("%+v.Start(%d) = %d, want %d", tu, ts, got, want)
		}

		h := Hop{Slide: slide, Size: size, Offset: off}
		var wantHop []int64
		for s := ts - size + 1; s <= ts; s++ {
			if floorMod(s-off, slide) == 0 {
				wantHop = append(wantHop, s)
			}
		}
		if got := h.Starts(ts, nil); !slices.Equal(got, wantHop) {
			t.Fatalf("%+v.Starts(%d) = %v, want %v", h, ts, got, wantHop)
		}
	}
}

func TestExtremeTimes(t *testing.T) {
	for _, ts := range []int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64, math.MaxInt64 - 1} {
		w := Tumble{Size: 7, Offset: 3}.Window(ts)
		if !w.Contains(ts) && ts != math.MaxInt64 {
			t.Errorf("tumble window %v misses %d", w, ts)
		}
		ws := Hop{Slide: 3, Size: 10}.Windows(ts)
		if len(ws) == 0 {
			t.Errorf("hop: no window for %d", ts)
		}
		for i := 1; i < len(ws); i++ {
			if ws[i].Start <= ws[i-1].Start {
				t.Errorf("hop windows for %d not ascending: %v", ts, ws)
			}
		}
	}
}

// TestSessionAgainstRecompute checks incremental session merging against
// sessions recomputed from all events at once.
func TestSessionAgainstRecompute(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := range 300 {
		gap := 1 + r.Int64N(6)
		ss, err := NewSessionState[int](Session{Gap: gap}, EmitOnWindowClose, func(a, b *int) { *a += *b })
		if err != nil {
			t.Fatal(err)
		}
		events := map[string][]int64{}
		for range 1 + r.IntN(30) {
			k := string(rune('a' + r.IntN(3)))
			ts := r.Int64N(60) - 20
			v, _, ok := ss.Add(k, ts, nil)
			if !ok {
				t.Fatal("late without a watermark")
			}
			*v++
			events[k] = append(events[k], ts)
		}
		var want []Entry[int]
		for k, ev := range events {
			slices.Sort(ev)
			start, last, n := ev[0], ev[0], 1
			for _, e := range ev[1:] {
				if e < last+gap {
					last, n = e, n+1
					continue
				}
				c := n
				want = append(want, Entry[int]{Window: Window{start, last + gap}, Key: k, Value: &c})
				start, last, n = e, e, 1
			}
			want = append(want, Entry[int]{Window: Window{start, last + gap}, Key: k, Value: &n})
		}
		sortEntries(want)
		var got []Entry[int]
		for e := range ss.Open() {
			got = append(got, e)
		}
		if len(got) != len(want) || ss.Len() != len(want) {
			t.Fatalf("iter %d: %d sessions (Len %d), want %d", iter, len(got), ss.Len(), len(want))
		}
		for i := range got {
			if got[i].Window != want[i].Window || got[i].Key != want[i].Key || *got[i].Value != *want[i].Value {
				t.Fatalf("iter %d: session %d = %v %s %d, want %v %s %d", iter, i,
					got[i].Window, got[i].Key, *got[i].Value, want[i].Window, want[i].Key, *want[i].Value)
			}
		}
		closed := ss.Close(FinalWatermark)
		if len(closed) != len(want) || ss.Len() != 0 || ss.Keys() != 0 {
			t.Fatalf("iter %d: close returned %d, left %d", iter, len(closed), ss.Len())
		}
	}
}

// TestWindowStateBounded runs a long stream through a tumbling state and
// checks the held state never exceeds the open windows.
func TestWindowStateBounded(t *testing.T) {
	ws, err := NewWindowState[int64](10, EmitOnUpdate)
	if err != nil {
		t.Fatal(err)
	}
	tu := Tumble{Size: 10}
	r := rand.New(rand.NewPCG(5, 6))
	var total, emitted int64
	for epoch := range int64(1000) {
		for range 20 {
			ts := epoch*5 + r.Int64N(15) // up to 15 out of order
			if v, ok := ws.Add(tu.Start(ts), string(rune('a'+r.IntN(4)))); ok {
				*v++
				total++
			}
		}
		ws.Updated()
		for _, e := range ws.Close(epoch*5 - 1) {
			emitted += *e.Value
		}
		if ws.Windows() > 5 || ws.Len() > 20 || len(ws.dirty) != 0 || cap(ws.buckets) > 16 {
			t.Fatalf("epoch %d: %d windows, %d entries, %d dirty, cap %d",
				epoch, ws.Windows(), ws.Len(), len(ws.dirty), cap(ws.buckets))
		}
	}
	for _, e := range ws.Close(FinalWatermark) {
		emitted += *e.Value
	}
	if emitted != total || ws.Len() != 0 || ws.Windows() != 0 {
		t.Fatalf("emitted %d of %d, left %d", emitted, total, ws.Len())
	}
	if total+ws.Late().Windows != 20000 {
		t.Fatalf("%d taken + %d late != 20000", total, ws.Late().Windows)
	}
}

func TestEmitModeString(t *testing.T) {
	for m, want := range map[EmitMode]string{
		EmitOnUpdate: "EMIT ON UPDATE", EmitOnWindowClose: "EMIT ON WINDOW CLOSE", 9: "EmitMode(9)",
	} {
		if got := m.String(); got != want {
			t.Errorf("%d: %q, want %q", m, got, want)
		}
	}
	var zero EmitMode
	if zero != EmitOnUpdate {
		t.Error("zero EmitMode must be EmitOnUpdate")
	}
}

func TestTrackerUnmarshalLeavesStateOnError(t *testing.T) {
	tr, _ := NewTracker(2, 5)
	_ = tr.Observe(0, 100)
	tr.Advance()
	before, _ := tr.MarshalBinary()
	for n := range len(before) {
		if err := tr.UnmarshalBinary(before[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	bad := bytes.Clone(before)
	bad[len(bad)-1] = 0xff
	if err := tr.UnmarshalBinary(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad flags: %v", err)
	}
	after, _ := tr.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("failed decode changed the tracker")
	}
}

func FuzzTrackerUnmarshal(f *testing.F) {
	tr, _ := NewTracker(3, 4_000_000)
	_ = tr.Observe(0, 12_000_000)
	_ = tr.SetIdle(2, true)
	tr.Advance()
	enc, _ := tr.MarshalBinary()
	f.Add(enc)
	tr.Finish()
	enc, _ = tr.MarshalBinary()
	f.Add(enc)
	f.Add([]byte{})
	f.Add([]byte("sqWM\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tr Tracker
		if err := tr.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// Accepted input is canonical: it re-encodes to the same bytes,
		// and the decoded tracker keeps working.
		enc, err := tr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n%x\n%x", data, enc)
		}
		before := tr.Watermark()
		_ = tr.Observe(0, 1)
		if tr.Advance() < before {
			t.Fatal("watermark went backwards")
		}
	})
}
