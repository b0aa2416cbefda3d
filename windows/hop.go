package windows

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// MaxHopWindows bounds how many windows one row may belong to under a Hop,
// that is ceil(Size/Slide). A larger ratio multiplies every row into that
// many copies, which is rejected as a specification error rather than
// discovered as memory exhaustion.
const MaxHopWindows = 10000

// Hop assigns each event time to every window [s, s+Size) that holds it,
// with window starts s ≡ Offset (mod Slide). Size need not be a multiple of
// Slide; when Size < Slide some times fall in no window at all.
type Hop struct {
	Slide  int64 // distance between window starts in microseconds, > 0
	Size   int64 // window length in microseconds, > 0
	Offset int64 // alignment of window starts in microseconds
}

// Validate returns an error wrapping ErrInvalidSpec if h defines no windows
// or too many windows per row (see MaxHopWindows).
func (h Hop) Validate() error {
	if h.Slide <= 0 {
		return fmt.Errorf("%w: hop slide %d must be positive", ErrInvalidSpec, h.Slide)
	}
	if h.Size <= 0 {
		return fmt.Errorf("%w: hop size %d must be positive", ErrInvalidSpec, h.Size)
	}
	if n := (h.Size-1)/h.Slide + 1; n > MaxHopWindows {
		return fmt.Errorf("%w: hop size %d / slide %d gives %d windows per row, more than %d",
			ErrInvalidSpec, h.Size, h.Slide, n, MaxHopWindows)
	}
	return nil
}

// Starts appends to dst the starts of every window holding ts, in ascending
// order, and returns the extended slice. h must be valid. Starts below the
// int64 range are clipped to math.MinInt64 and reported once.
func (h Hop) Starts(ts int64, dst []int64) []int64 {
	last := alignDown(ts, h.Slide, h.Offset)
	m := ts - last // in [0, Slide): last is clipped only toward ts
	if h.Size-1-m < 0 {
		return dst // ts falls in a gap between windows
	}
	k := (h.Size - 1 - m) / h.Slide // windows before last
	base := len(dst)
	for j := k; j >= 0; j-- {
		s := subSat(last, j*h.Slide) // j*Slide <= Size-1: no overflow
		if len(dst) > base && s <= dst[len(dst)-1] {
			continue // clipped onto the previous start
		}
		dst = append(dst, s)
	}
	return dst
}

// Windows returns every window holding ts in ascending start order. h must
// be valid.
func (h Hop) Windows(ts int64) []Window {
	starts := h.Starts(ts, nil)
	out := make([]Window, len(starts))
	for i, s := range starts {
		out[i] = Window{Start: s, End: addSat(s, h.Size)}
	}
	return out
}

// AssignArray expands ts (a TIMESTAMP column in microseconds) into one
// entry per (row, window): rows[i] is the index of the input row and
// starts[i] the start of one of its windows. Entries are ordered by row,
// then by ascending start, so rows can be expanded with a take kernel.
// NULL times belong to no window and produce no entry. Both results are
// owned by the caller, who releases them.
func (h Hop) AssignArray(ts *array.Timestamp, mem memory.Allocator) (rows *array.Int32, starts *array.Timestamp, err error) {
	if err := h.Validate(); err != nil {
		return nil, nil, err
	}
	typ, err := microsType(ts)
	if err != nil {
		return nil, nil, err
	}
	n := ts.Len()
	if int64(n) > math.MaxInt32 {
		return nil, nil, fmt.Errorf("%w: %d rows do not fit int32 row indexes", ErrInvalidSpec, n)
	}
	rb := array.NewInt32Builder(mem)
	defer rb.Release()
	sb := array.NewTimestampBuilder(mem, typ)
	defer sb.Release()
	per := int((h.Size-1)/h.Slide + 1)
	rb.Reserve(n * per)
	sb.Reserve(n * per)
	vals := ts.Values()
	var buf []int64
	for i := 0; i < n; i++ {
		if ts.IsNull(i) {
			continue
		}
		buf = h.Starts(int64(vals[i]), buf[:0])
		for _, s := range buf {
			rb.Append(int32(i))
			sb.Append(arrow.Timestamp(s))
		}
	}
	return rb.NewInt32Array(), sb.NewTimestampArray(), nil
}
