package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/planner"
)

// TestToCharKernel checks the vector to_char against the row function for
// templates of days, hours, minutes, seconds and fractions, over
// timestamps before and after 1970 in runs of nearby times (where rows
// share a formatting) and dates, with NULLs.
func TestToCharKernel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(21, 22))
	const n = 600
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	db := array.NewDate32Builder(mem)
	us := -3 * 365 * usPerDay
	for i := range n {
		if i%13 == 5 {
			tb.AppendNull()
			db.AppendNull()
			continue
		}
		switch r.IntN(4) {
		case 0:
			us = r.Int64N(200*365*usPerDay) - 100*365*usPerDay
		case 1:
			us += r.Int64N(2 * 3600 * usPerSec)
		default:
			us += r.Int64N(90 * usPerSec)
		}
		tb.Append(arrow.Timestamp(us))
		db.Append(arrow.Date32(floorDiv(us, usPerDay)))
	}
	ts, ds := tb.NewArray(), db.NewArray()
	tb.Release()
	db.Release()
	batch := makeBatch(ts, ds)
	ts.Release()
	ds.Release()
	defer batch.Release()
	formats := []string{"YYYY-MM-DD", "yyyy-mm-dd", "HH:mm", "HH24:MI", "HH12:MI AM", "YYYY-MM-DD HH24:MI:SS", "HH24:MI:SS.MS",
		"SS.US", "Day DD Month", "\"at\" HH24", "Q-DDD-D", "literal only"}
	for _, src := range []planner.Expr{col(0, tTs), col(0, tTsTZ), col(1, tDate)} {
		for _, f := range formats {
			x := call("to_char", src, lit(f, tUnk))
			if _, ok := mustCompile(t, x).root.(*toCharNode); !ok {
				t.Fatalf("%s: not compiled to the vector kernel", x)
			}
			sameAsRows(t, mem, x, batch)
		}
	}
}
