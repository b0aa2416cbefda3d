package windows

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors of the package. Returned errors wrap one of these, so
// callers test them with errors.Is.
var (
	// ErrInvalidSpec reports window parameters that define no valid window
	// (a size, slide or gap that is not positive, too many windows per row).
	ErrInvalidSpec = errors.New("windows: invalid window specification")
	// ErrNotMicros reports a timestamp array whose unit is not microseconds.
	ErrNotMicros = errors.New("windows: timestamp unit is not microseconds")
	// ErrPartition reports a partition or input index out of range.
	ErrPartition = errors.New("windows: partition out of range")
	// ErrFinished reports an event observed after Finish.
	ErrFinished = errors.New("windows: input already finished")
	// ErrCorrupt reports encoded state that cannot be decoded.
	ErrCorrupt = errors.New("windows: corrupt encoded state")
)

const (
	// NoWatermark is the watermark before any event time is known: every
	// window is still open under it.
	NoWatermark int64 = math.MinInt64
	// FinalWatermark is the watermark of a finished (bounded) input: every
	// window closes under it.
	FinalWatermark int64 = math.MaxInt64
)

// Window is the half-open event-time interval [Start, End) in microseconds
// since the Unix epoch. Windows that would reach beyond the int64 range are
// clipped to it (Start saturates at math.MinInt64, End at math.MaxInt64).
type Window struct {
	Start int64
	End   int64
}

// Contains reports whether t lies in [w.Start, w.End).
func (w Window) Contains(t int64) bool { return w.Start <= t && t < w.End }

// String renders the window as [start, end) with raw microsecond values.
func (w Window) String() string { return fmt.Sprintf("[%d, %d)", w.Start, w.End) }

// IsLate reports whether a row is late for a window ending at windowEnd under
// watermark: the window has closed once the watermark reached its end. The
// judgement is per window, so a row that belongs to several hopping windows
// can be late for some of them and on time for the others.
func IsLate(windowEnd, watermark int64) bool { return windowEnd <= watermark }

// floorMod returns a mod m in [0, m) for m > 0, also for negative a.
func floorMod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// alignDown returns the largest s <= t with s ≡ offset (mod m), for m > 0.
// It saturates at math.MinInt64 instead of wrapping.
func alignDown(t, m, offset int64) int64 {
	// (t mod m) - (offset mod m) lies in (-m, m): no overflow.
	d := floorMod(floorMod(t, m)-floorMod(offset, m), m)
	return subSat(t, d)
}

// addSat returns a+b for b >= 0, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// subSat returns a-b for b >= 0, saturating at math.MinInt64.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}
