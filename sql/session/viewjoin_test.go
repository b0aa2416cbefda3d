package session

import (
	"math"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// testChunk builds a chunk of (k BIGINT, ts TIMESTAMP) rows; a negative
// key is NULL.
func testChunk(t *testing.T, s *joinSide, epoch int64, keys, times []int64) *joinChunk {
	t.Helper()
	mem := memory.NewGoAllocator()
	kb := array.NewInt64Builder(mem)
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	for i, k := range keys {
		if k < 0 {
			kb.AppendNull()
		} else {
			kb.Append(k)
		}
		tb.Append(arrow.Timestamp(times[i]))
	}
	ka, ta := kb.NewArray(), tb.NewArray()
	rec := array.NewRecordBatch(s.schema, []arrow.Array{ka, ta}, int64(len(keys)))
	c := &joinChunk{rec: rec, rows: len(keys), bytes: recBytes(rec), epoch: epoch, minTime: []int64{1 << 62}}
	ka.Retain()
	c.keys = []arrow.Array{ka}
	ta.Retain()
	c.times = []arrow.Array{ta}
	for _, v := range times {
		c.minTime[0] = min(c.minTime[0], v)
	}
	ka.Release()
	ta.Release()
	return c
}

func testSide() *joinSide {
	cols := []planner.Column{{Name: "k", Type: catalog.TypeInt8}, {Name: "ts", Type: catalog.TypeTimestamp}}
	rel := &catalog.Relation{Name: "s", Kind: catalog.KindStream}
	scan := &planner.Scan{Rel: rel, Cols: cols, Project: []int{0, 1}}
	js := &planner.JoinSide{Source: rel, Input: scan, Keys: []planner.Expr{&planner.ColRef{Idx: 0, Typ: catalog.TypeInt8}},
		Evict: []planner.EvictRule{{Col: 1, Slack: 10}}, WatermarkCol: 1}
	return newJoinSide(js)
}

// matches probes s with keys and returns "probe row:chunk.row" pairs.
func matches(s *joinSide, keys ...int64) []string {
	b := array.NewInt64Builder(memory.NewGoAllocator())
	b.AppendValues(keys, nil)
	a := b.NewArray()
	defer a.Release()
	found := map[int]*pairList{}
	s.probe([]arrow.Array{a}, len(keys), found)
	var out []string
	for ci, pl := range found {
		for i := range pl.probe {
			out = append(out, string(rune('0'+pl.probe[i]))+":"+string(rune('a'+ci))+string(rune('0'+pl.stored[i])))
		}
	}
	sort.Strings(out)
	return out
}

func TestJoinSideProbeEvictRebuild(t *testing.T) {
	s := testSide()
	s.add(testChunk(t, s, 1, []int64{1, 2, -1, 1}, []int64{100, 200, 300, 400}))
	s.add(testChunk(t, s, 2, []int64{2, 3}, []int64{500, 600}))
	if s.live != 5 {
		t.Fatalf("live = %d, want 5 (the NULL key is not stored)", s.live)
	}
	if got, want := matches(s, 1, 2, 9), []string{"0:a0", "0:a3", "1:a1", "1:b0"}; !equalStrings(got, want) {
		t.Fatalf("probe = %v, want %v", got, want)
	}
	// Other side's watermark 195: rows with ts < 205 are dead.
	if err := s.evict(195, 0, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := matches(s, 1, 2), []string{"0:a3", "1:b0"}; !equalStrings(got, want) {
		t.Fatalf("after evict: probe = %v, want %v", got, want)
	}
	if s.live != 3 || s.chunks[0].live != 1 || s.chunks[1].live != 2 {
		t.Fatalf("live = %d, per chunk %d and %d", s.live, s.chunks[0].live, s.chunks[1].live)
	}
	// Rebuild keeps exactly the live rows and renumbers the chunks.
	if err := s.rebuild(nil); err != nil {
		t.Fatal(err)
	}
	if got, want := matches(s, 1, 2, 3), []string{"0:a3", "1:b0", "2:b1"}; !equalStrings(got, want) {
		t.Fatalf("after rebuild: probe = %v, want %v", got, want)
	}
	if len(s.next) != 6 || len(s.chunks) != 2 || s.chunks[1].base != 4 {
		t.Fatalf("rebuild numbered %d rows in %d chunks, want 6 in 2", len(s.next), len(s.chunks))
	}
	// A spilled chunk keeps its index entries; its rows leave memory.
	s.spill(s.chunks[1].bytes)
	if s.chunks[0].rec != nil || s.chunks[1].rec == nil {
		t.Fatalf("spill dropped the wrong chunk")
	}
	if got, want := matches(s, 1), []string{"0:a3"}; !equalStrings(got, want) {
		t.Fatalf("after spill: probe = %v, want %v", got, want)
	}
	if s.chunks[0].keys != nil {
		t.Fatalf("a spilled chunk keeps its keys")
	}
	// A rebuild asks for the keys of spilled chunks and drops them again.
	reloaded := 0
	reload := func(c *joinChunk) error {
		reloaded++
		fresh := testChunk(t, s, c.epoch, []int64{1, 2, -1, 1}, []int64{100, 200, 300, 400})
		c.keys, fresh.keys = fresh.keys, nil
		fresh.release()
		return nil
	}
	if err := s.rebuild(reload); err != nil {
		t.Fatal(err)
	}
	if reloaded != 1 || s.chunks[0].keys != nil {
		t.Fatalf("rebuild reloaded %d chunks; spilled keys kept: %v", reloaded, s.chunks[0].keys != nil)
	}
	if got, want := matches(s, 1, 2, 3), []string{"0:a3", "1:b0", "2:b1"}; !equalStrings(got, want) {
		t.Fatalf("after rebuild of a spilled side: probe = %v, want %v", got, want)
	}
	s.release()
}

func TestAppendKeyDistinguishes(t *testing.T) {
	mem := memory.NewGoAllocator()
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"ab", "a", ""}, nil)
	sa := sb.NewArray()
	defer sa.Release()
	fb := array.NewFloat64Builder(mem)
	fb.AppendValues([]float64{0, 0, 1}, nil)
	fa := fb.NewArray()
	defer fa.Release()
	seen := map[string]int{}
	for i := 0; i < 3; i++ {
		k, ok := appendKey(nil, []arrow.Array{sa, fa}, i)
		if !ok {
			t.Fatalf("row %d: no key", i)
		}
		if j, dup := seen[string(k)]; dup {
			t.Fatalf("rows %d and %d encode alike", j, i)
		}
		seen[string(k)] = i
	}
	negZero, _ := appendKey(nil, []arrow.Array{floats(mem, math.Copysign(0, -1))}, 0)
	zero, _ := appendKey(nil, []arrow.Array{floats(mem, 0)}, 0)
	if string(negZero) != string(zero) {
		t.Fatalf("-0 and 0 encode differently")
	}
}

func floats(mem memory.Allocator, v float64) arrow.Array {
	b := array.NewFloat64Builder(mem)
	b.Append(v)
	return b.NewArray()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
