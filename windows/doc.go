// Package windows holds the event-time machinery of sqld's streaming views:
// window assigners (TUMBLE, HOP, SESSION), watermark tracking, and the
// per-window state of windowed aggregations with its emit modes.
//
// # Contract
//
// Times and durations are int64 microseconds since the Unix epoch, the unit
// of TIMESTAMP columns. Arrow inputs must be Timestamp arrays in
// microseconds (any time zone); results keep the input's type.
//
// Everything here is a deterministic state machine: no goroutines, no wall
// clock, no randomness, and every iteration order is defined (by window
// start, then group key). Replaying the same inputs in the same order
// gives the same outputs, which exactly-once epochs rely on. No type is
// safe for concurrent use; one task owns each value.
//
// Windows are half-open, [start, end). A window closes when the watermark
// reaches its end (end <= watermark). A row whose window has closed is late
// for that window: it is left out of it and counted, never silently
// dropped. Lateness is judged per window, so a HOP row can count in its
// open windows while being late for closed ones (LateCount keeps both
// numbers). State of closed windows is handed back by Close and forgotten,
// so memory is bounded by the open windows.
//
// The watermark of a stream comes from a Tracker: per partition the max
// event time seen minus the WATERMARK delay, combined as the minimum over
// partitions with unread data; idle (caught-up) partitions do not hold it
// back; it never goes backwards; a finished bounded input yields
// FinalWatermark. The Tracker's state is encoded into each epoch's plan
// (MarshalBinary) so a replayed epoch sees the same watermark. Operators
// with several inputs combine watermarks with Combiner or MinWatermark.
//
// Window arithmetic rounds toward minus infinity, so times before 1970 land
// in the right windows. Windows that would reach outside the int64 range
// are clipped to it rather than wrapped.
//
// Errors are values wrapping the package's sentinel errors (ErrInvalidSpec,
// ErrNotMicros, ErrPartition, ErrFinished, ErrCorrupt); nothing panics on
// bad input. Arrow arrays returned to the caller are owned by the caller,
// who releases them.
package windows
