package windows

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Tracker computes the watermark of one stream from its input partitions.
//
// A partition's own watermark is max(event time seen) − delay, or
// NoWatermark before it has seen an event. The stream's watermark is
// computed by Advance:
//
//   - over the partitions that still have unread data (not idle), it is the
//     minimum of their watermarks: a busy partition that lags holds the
//     watermark back, because its unread rows may be old;
//   - a partition the caller marked idle (caught up to the end of its
//     input) does not hold the watermark back, so a quiet partition never
//     stalls windows;
//   - if every partition is idle, it is the maximum of their watermarks.
//     Everything written so far has been read, and that value is what the
//     most advanced partition has vouched for; it is also what the
//     watermark would be had that partition been the last one still busy.
//     Taking it lets the windows of a stream that went quiet close, which
//     otherwise only new data or the end of the input could do. The price,
//     as for every idle rule: a row that later arrives on a partition behind
//     that watermark is late.
//   - it never goes backwards: Advance keeps the previous value if the
//     computed one is lower (for example when a lagging idle partition
//     becomes busy again).
//
// After Finish (a bounded input was read to its end) the watermark is
// FinalWatermark, under which every window closes.
//
// Observations change nothing until Advance, so the caller decides when the
// watermark moves (once per epoch) and records it, with MarshalBinary, in the
// epoch's plan for exact replay. A Tracker is a pure state machine: no clock,
// no goroutines; it is not safe for concurrent use.
type Tracker struct {
	delay     int64
	parts     []partState
	watermark int64
	finished  bool
}

type partState struct {
	maxSeen int64
	seen    bool
	idle    bool
}

// PartitionState describes one partition of a Tracker.
type PartitionState struct {
	MaxEventTime int64 // max event time seen; meaningful only if Seen
	Seen         bool  // some event time was observed
	Idle         bool  // caught up: does not hold the watermark back
	Watermark    int64 // MaxEventTime − delay, or NoWatermark if !Seen
}

// NewTracker returns a tracker over partitions inputs (> 0) whose rows may be
// up to delay (>= 0) microseconds out of order. All partitions start busy
// with no event seen, so the watermark is NoWatermark.
func NewTracker(partitions int, delay int64) (*Tracker, error) {
	if partitions <= 0 {
		return nil, fmt.Errorf("%w: %d partitions, want at least 1", ErrInvalidSpec, partitions)
	}
	if delay < 0 {
		return nil, fmt.Errorf("%w: watermark delay %d must not be negative", ErrInvalidSpec, delay)
	}
	return &Tracker{delay: delay, parts: make([]partState, partitions), watermark: NoWatermark}, nil
}

// Partitions returns the number of partitions.
func (t *Tracker) Partitions() int { return len(t.parts) }

// Delay returns the allowed out-of-orderness.
func (t *Tracker) Delay() int64 { return t.delay }

// Watermark returns the watermark computed by the last Advance (or Finish).
func (t *Tracker) Watermark() int64 { return t.watermark }

// Finished reports whether Finish was called.
func (t *Tracker) Finished() bool { return t.finished }

func (t *Tracker) check(p int) error {
	if t.finished {
		return ErrFinished
	}
	if p < 0 || p >= len(t.parts) {
		return fmt.Errorf("%w: partition %d of %d", ErrPartition, p, len(t.parts))
	}
	return nil
}

// Observe records that partition p produced a row with event time
// eventTime (typically the max event time of a batch, which the log keeps
// in each batch header). It does not change the idle flag.
func (t *Tracker) Observe(p int, eventTime int64) error {
	if err := t.check(p); err != nil {
		return err
	}
	ps := &t.parts[p]
	if !ps.seen || eventTime > ps.maxSeen {
		ps.maxSeen, ps.seen = eventTime, true
	}
	return nil
}

// ObserveArray records the event times of a batch's TIMESTAMP column read
// from partition p; NULL times are ignored.
func (t *Tracker) ObserveArray(p int, ts *array.Timestamp) error {
	if err := t.check(p); err != nil {
		return err
	}
	if _, err := microsType(ts); err != nil {
		return err
	}
	vals := ts.Values()
	for i := range ts.Len() {
		if ts.IsValid(i) {
			_ = t.Observe(p, int64(vals[i]))
		}
	}
	return nil
}

// SetIdle marks partition p as caught up (idle true: it has no unread data
// and does not hold the watermark back) or busy again (idle false).
func (t *Tracker) SetIdle(p int, idle bool) error {
	if err := t.check(p); err != nil {
		return err
	}
	t.parts[p].idle = idle
	return nil
}

// Partition returns the state of partition p.
func (t *Tracker) Partition(p int) (PartitionState, error) {
	if p < 0 || p >= len(t.parts) {
		return PartitionState{}, fmt.Errorf("%w: partition %d of %d", ErrPartition, p, len(t.parts))
	}
	ps := t.parts[p]
	return PartitionState{MaxEventTime: ps.maxSeen, Seen: ps.seen, Idle: ps.idle, Watermark: t.partWatermark(ps)}, nil
}

func (t *Tracker) partWatermark(ps partState) int64 {
	if !ps.seen {
		return NoWatermark
	}
	return subSat(ps.maxSeen, t.delay)
}

// Advance recomputes the watermark from the partitions (see Tracker) and
// returns it. It never returns less than the previous watermark.
func (t *Tracker) Advance() int64 {
	if t.finished {
		return t.watermark
	}
	busyMin, allMax, busy := int64(math.MaxInt64), NoWatermark, false
	for _, ps := range t.parts {
		w := t.partWatermark(ps)
		allMax = max(allMax, w)
		if !ps.idle {
			busy = true
			busyMin = min(busyMin, w)
		}
	}
	next := allMax
	if busy {
		next = busyMin
	}
	t.watermark = max(t.watermark, next)
	return t.watermark
}

// Finish marks the input as ended (bounded input read to its end) and sets
// the watermark to FinalWatermark, closing every window. Later observations
// fail with ErrFinished.
func (t *Tracker) Finish() int64 {
	t.finished = true
	t.watermark = FinalWatermark
	return t.watermark
}

// Encoding of a Tracker, all integers big-endian:
//
//	magic "sqWM" | version u8 = 1 | flags u8 (bit 0: finished) |
//	delay i64 | watermark i64 | count u32 |
//	count × (max event time i64 | flags u8 (bit 0: seen, bit 1: idle))
const (
	trackerMagic   = "sqWM"
	trackerVersion = 1
	trackerHeader  = 4 + 1 + 1 + 8 + 8 + 4
	trackerPart    = 8 + 1
	// maxTrackerPartitions bounds the partition count a decoder accepts.
	maxTrackerPartitions = 1 << 20
)

// MarshalBinary encodes the tracker's whole state; UnmarshalBinary restores
// it exactly. The encoding is canonical: equal states encode equally.
func (t *Tracker) MarshalBinary() ([]byte, error) {
	buf := make([]byte, 0, trackerHeader+trackerPart*len(t.parts))
	buf = append(buf, trackerMagic...)
	var f byte
	if t.finished {
		f = 1
	}
	buf = append(buf, trackerVersion, f)
	buf = binary.BigEndian.AppendUint64(buf, uint64(t.delay))
	buf = binary.BigEndian.AppendUint64(buf, uint64(t.watermark))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(t.parts)))
	for _, ps := range t.parts {
		var pf byte
		maxSeen := ps.maxSeen
		if ps.seen {
			pf |= 1
		} else {
			maxSeen = 0
		}
		if ps.idle {
			pf |= 2
		}
		buf = binary.BigEndian.AppendUint64(buf, uint64(maxSeen))
		buf = append(buf, pf)
	}
	return buf, nil
}

// UnmarshalBinary replaces t's state with the one encoded in data. On
// truncated, corrupt or inconsistent input it returns an error wrapping
// ErrCorrupt and leaves t unchanged.
func (t *Tracker) UnmarshalBinary(data []byte) error {
	if len(data) < trackerHeader {
		return fmt.Errorf("%w: tracker: %d bytes, header needs %d", ErrCorrupt, len(data), trackerHeader)
	}
	if string(data[:4]) != trackerMagic {
		return fmt.Errorf("%w: tracker: bad magic %q", ErrCorrupt, data[:4])
	}
	if data[4] != trackerVersion {
		return fmt.Errorf("%w: tracker: unknown version %d", ErrCorrupt, data[4])
	}
	flags := data[5]
	if flags&^1 != 0 {
		return fmt.Errorf("%w: tracker: unknown flags %#x", ErrCorrupt, flags)
	}
	finished := flags&1 != 0
	delay := int64(binary.BigEndian.Uint64(data[6:]))
	wm := int64(binary.BigEndian.Uint64(data[14:]))
	n := binary.BigEndian.Uint32(data[22:])
	if delay < 0 {
		return fmt.Errorf("%w: tracker: negative delay %d", ErrCorrupt, delay)
	}
	if n == 0 || n > maxTrackerPartitions {
		return fmt.Errorf("%w: tracker: %d partitions", ErrCorrupt, n)
	}
	if finished && wm != FinalWatermark {
		return fmt.Errorf("%w: tracker: finished=%t with watermark %d", ErrCorrupt, finished, wm)
	}
	rest := data[trackerHeader:]
	if uint64(len(rest)) != uint64(n)*trackerPart {
		return fmt.Errorf("%w: tracker: %d bytes for %d partitions, want %d", ErrCorrupt, len(rest), n, uint64(n)*trackerPart)
	}
	parts := make([]partState, n)
	for i := range parts {
		rec := rest[i*trackerPart:]
		maxSeen := int64(binary.BigEndian.Uint64(rec))
		pf := rec[8]
		if pf&^3 != 0 {
			return fmt.Errorf("%w: tracker: partition %d: unknown flags %#x", ErrCorrupt, i, pf)
		}
		seen := pf&1 != 0
		if !seen && maxSeen != 0 {
			return fmt.Errorf("%w: tracker: partition %d: event time without an event", ErrCorrupt, i)
		}
		parts[i] = partState{maxSeen: maxSeen, seen: seen, idle: pf&2 != 0}
	}
	*t = Tracker{delay: delay, parts: parts, watermark: wm, finished: finished}
	return nil
}

// MinWatermark returns the minimum of watermarks, the watermark of an
// operator with several inputs; with no inputs it returns NoWatermark.
func MinWatermark(watermarks ...int64) int64 {
	if len(watermarks) == 0 {
		return NoWatermark
	}
	m := watermarks[0]
	for _, w := range watermarks[1:] {
		m = min(m, w)
	}
	return m
}

// Combiner computes the watermark of an operator with several inputs (a
// join, a union): the minimum over its inputs' watermarks, where an idle
// input does not hold it back, and with every input idle the maximum, so it
// follows the same rules as Tracker with a zero delay and never goes
// backwards. An input that ended reports FinalWatermark. Unlike Tracker,
// Update recomputes the combined watermark at once, because input
// watermarks arrive already settled.
type Combiner struct {
	t Tracker
}

// NewCombiner returns a combiner over inputs (> 0) inputs, all busy with
// NoWatermark.
func NewCombiner(inputs int) (*Combiner, error) {
	t, err := NewTracker(inputs, 0)
	if err != nil {
		return nil, err
	}
	return &Combiner{t: *t}, nil
}

// Update records input i's watermark (a lower value than before is
// ignored) and returns the combined watermark.
func (c *Combiner) Update(i int, watermark int64) (int64, error) {
	if err := c.t.Observe(i, watermark); err != nil {
		return c.t.watermark, err
	}
	return c.t.Advance(), nil
}

// SetIdle marks input i idle or busy and returns the combined watermark.
func (c *Combiner) SetIdle(i int, idle bool) (int64, error) {
	if err := c.t.SetIdle(i, idle); err != nil {
		return c.t.watermark, err
	}
	return c.t.Advance(), nil
}

// Watermark returns the combined watermark.
func (c *Combiner) Watermark() int64 { return c.t.watermark }

// MarshalBinary encodes the combiner's state (the Tracker encoding).
func (c *Combiner) MarshalBinary() ([]byte, error) { return c.t.MarshalBinary() }

// UnmarshalBinary restores a state encoded by MarshalBinary.
func (c *Combiner) UnmarshalBinary(data []byte) error {
	var t Tracker
	if err := t.UnmarshalBinary(data); err != nil {
		return err
	}
	if t.delay != 0 {
		return fmt.Errorf("%w: combiner with delay %d", ErrCorrupt, t.delay)
	}
	c.t = t
	return nil
}
