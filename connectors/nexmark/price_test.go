package nexmark

import (
	"fmt"
	"hash/fnv"
	"math"
	"testing"
)

func TestScalePow2(t *testing.T) {
	for _, c := range []struct{ m, x uint64 }{
		{100, 0}, {100, 1 << 32}, {100, log2Of1e6 - 1}, {100, 12345678901},
		{99_999_999, log2Of10 - 1}, {1234, 3 << 31}, {1 << 20, 7<<32 + 99},
	} {
		want := float64(c.m) * math.Exp2(float64(c.x)/(1<<32))
		got := float64(scalePow2(pow2Table(), c.m, c.x))
		if math.Abs(got-want) > 1+want*1e-7 {
			t.Errorf("scalePow2(%d, %d) = %v, want %v", c.m, c.x, got, want)
		}
	}
	if got := scalePow2(pow2Table(), 100, log2Of1e6); got < 99_999_990 || got > 100_000_010 {
		t.Errorf("100 * 10^6 = %d", got)
	}
}

// TestKnownAnswer pins the data set of seed 1: a change here changes every
// replay and every stored expectation, so it must be deliberate.
func TestKnownAnswer(t *testing.T) {
	g := newGen(t, Config{Seed: 1})
	h := fnv.New64a()
	for n := range int64(20_000) {
		fmt.Fprintf(h, "%+v\n", g.Event(n))
	}
	const want = 0xe5994c747f2eb7b
	if got := h.Sum64(); got != want {
		t.Errorf("seed 1 events [0, 20000) hash to %#x, want %#x", got, want)
	}
	if ev := g.Event(4).Bid; !ev.DateTime.Equal(g.EventTime(4)) {
		t.Errorf("event 4 = %+v", ev)
	}
}
