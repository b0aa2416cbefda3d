package windows

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Tumble assigns each event time to exactly one fixed-size window: windows
// are [start, start+Size) with start ≡ Offset (mod Size). Offsets that
// differ by a multiple of Size define the same windows, so any Offset is
// accepted, negative ones too.
type Tumble struct {
	Size   int64 // window length in microseconds, > 0
	Offset int64 // alignment of window starts in microseconds
}

// Validate returns an error wrapping ErrInvalidSpec if t defines no windows.
func (t Tumble) Validate() error {
	if t.Size <= 0 {
		return fmt.Errorf("%w: tumble size %d must be positive", ErrInvalidSpec, t.Size)
	}
	return nil
}

// Start returns the start of the window holding ts:
// floor((ts - Offset) / Size) * Size + Offset, rounding toward minus
// infinity also for times before the epoch. t must be valid.
func (t Tumble) Start(ts int64) int64 { return alignDown(ts, t.Size, t.Offset) }

// Window returns the window holding ts. t must be valid.
func (t Tumble) Window(ts int64) Window {
	s := t.Start(ts)
	return Window{Start: s, End: addSat(s, t.Size)}
}

// AssignArray returns the window start of every row of ts (a TIMESTAMP
// column in microseconds); a NULL time gets a NULL start. The result has
// the type of ts and is owned by the caller, who releases it.
func (t Tumble) AssignArray(ts *array.Timestamp, mem memory.Allocator) (*array.Timestamp, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	typ, err := microsType(ts)
	if err != nil {
		return nil, err
	}
	b := array.NewTimestampBuilder(mem, typ)
	defer b.Release()
	n := ts.Len()
	b.Reserve(n)
	vals := ts.Values()
	for i := 0; i < n; i++ {
		if ts.IsNull(i) {
			b.UnsafeAppendBoolToBitmap(false)
			continue
		}
		b.UnsafeAppend(arrow.Timestamp(t.Start(int64(vals[i]))))
	}
	return b.NewTimestampArray(), nil
}
