package nexmark

import (
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// TestKnownBatches pins the bytes of generated batches: every value of
// every column, for several configurations, ranges that start mid-block
// and far from zero, and capped batches. A change to generation that
// alters any value fails here.
func TestKnownBatches(t *testing.T) {
	mem := checkedMem(t)
	h := fnv.New64a()
	for _, cfg := range []Config{
		{Seed: 1},
		{Seed: 7, FirstEventID: 1234, EventsPerSecond: 7, InFlightAuctions: 3, ActivePeople: 5},
		{Seed: 9, MaxBatchRows: 333},
	} {
		g := newGen(t, cfg)
		for _, r := range [][2]int64{{0, 30_000}, {37, 5_011}, {1_000_000_007, 1_000_004_000}} {
			for _, k := range kinds {
				for from := r[0]; from < r[1]; {
					rec, next := g.Batch(k, from, r[1], mem)
					fmt.Fprintf(h, "%v %d %d %d\n", k, from, next, rec.NumRows())
					for c, col := range rec.Columns() {
						switch a := col.(type) {
						case *array.String:
							for i := range a.Len() {
								fmt.Fprintf(h, "%d:%s,", c, a.Value(i))
							}
						default:
							fmt.Fprintf(h, "%d:%v,", c, a)
						}
					}
					rec.Release()
					from = next
				}
			}
		}
	}
	const want = 0x692090829e14beab
	if got := h.Sum64(); got != want {
		t.Errorf("batches hash to %#x, want %#x", got, want)
	}
}
