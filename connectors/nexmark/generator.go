package nexmark

import (
	"fmt"
	"math/bits"
	"time"
)

// Defaults for the zero values of Config fields.
const (
	DefaultEventsPerSecond  = 10_000
	DefaultInFlightAuctions = 100
	DefaultActivePeople     = 1000
)

// WatermarkLag is how far a Nexmark source's watermark trails the newest
// event time it has emitted.
const WatermarkLag = 4 * time.Second

// DefaultBaseTime is the event time of event 0 when Config.BaseTime is zero:
// 2015-07-15 00:00:00 UTC, as in the standard generator.
var DefaultBaseTime = time.Date(2015, time.July, 15, 0, 0, 0, 0, time.UTC)

// Config configures a Generator. The zero value is the standard workload
// with seed 0.
type Config struct {
	// Seed selects the data set; equal seeds give identical events.
	Seed int64
	// FirstEventID is the event id of event number 0 (default 0, must not be
	// negative). Kinds, ids and field values follow the event id; event time
	// follows the event number.
	FirstEventID int64
	// EventsPerSecond sets event-time spacing: event n happens
	// n*1e6/EventsPerSecond µs after BaseTime. 0 means 10,000 (0.1 ms apart).
	// It says nothing about how fast events are produced.
	EventsPerSecond int
	// BaseTime is the event time of event 0, truncated to µs; the zero value
	// means DefaultBaseTime.
	BaseTime time.Time
	// InFlightAuctions is how many of the newest auctions a cold bid picks
	// from; auctions last about twice the time in which that many new ones
	// appear. 0 means 100.
	InFlightAuctions int
	// ActivePeople is how many of the newest persons a cold seller or bidder
	// is picked from. 0 means 1000.
	ActivePeople int
	// MaxBatchRows caps the rows Batch returns in one call (0: no cap);
	// Batch's next result tells where to continue.
	MaxBatchRows int
}

// Generator produces Nexmark events. It is immutable and safe for
// concurrent use.
type Generator struct {
	cfg          Config
	seedKey      uint64
	baseMicros   int64
	rate         int64 // events per second of event time
	expiryMicros int64 // auctions last 1 ms + [0, expiryMicros) µs
	t            *tables
}

// NewGenerator validates cfg, fills in defaults and precomputes the string
// tables (a few milliseconds). Errors wrap ErrInvalidConfig.
func NewGenerator(cfg Config) (*Generator, error) {
	switch {
	case cfg.FirstEventID < 0:
		return nil, fmt.Errorf("%w: FirstEventID %d is negative", ErrInvalidConfig, cfg.FirstEventID)
	case cfg.EventsPerSecond < 0:
		return nil, fmt.Errorf("%w: EventsPerSecond %d is negative", ErrInvalidConfig, cfg.EventsPerSecond)
	case cfg.InFlightAuctions < 0:
		return nil, fmt.Errorf("%w: InFlightAuctions %d is negative", ErrInvalidConfig, cfg.InFlightAuctions)
	case cfg.ActivePeople < 0:
		return nil, fmt.Errorf("%w: ActivePeople %d is negative", ErrInvalidConfig, cfg.ActivePeople)
	case cfg.MaxBatchRows < 0:
		return nil, fmt.Errorf("%w: MaxBatchRows %d is negative", ErrInvalidConfig, cfg.MaxBatchRows)
	}
	if cfg.EventsPerSecond == 0 {
		cfg.EventsPerSecond = DefaultEventsPerSecond
	}
	if cfg.InFlightAuctions == 0 {
		cfg.InFlightAuctions = DefaultInFlightAuctions
	}
	if cfg.ActivePeople == 0 {
		cfg.ActivePeople = DefaultActivePeople
	}
	if cfg.BaseTime.IsZero() {
		cfg.BaseTime = DefaultBaseTime
	}
	cfg.BaseTime = cfg.BaseTime.UTC().Truncate(time.Microsecond)
	g := &Generator{
		cfg:        cfg,
		seedKey:    mix64(uint64(cfg.Seed) + golden),
		baseMicros: cfg.BaseTime.UnixMicro(),
		rate:       int64(cfg.EventsPerSecond),
	}
	// The time in which InFlightAuctions auctions appear, doubled: auctions
	// then last that long on average.
	events := int64(cfg.InFlightAuctions) * totalProportion / auctionProportion
	g.expiryMicros = max(2*events*1_000_000/g.rate, 1)
	g.t = newTables(g.seedKey)
	return g, nil
}

// Config returns the generator's configuration with defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// EventID returns the event id of event number n.
func (g *Generator) EventID(n int64) int64 { return g.cfg.FirstEventID + n }

// Kind returns the kind of event number n.
func (g *Generator) Kind(n int64) Kind { return KindOf(g.EventID(n)) }

// Count returns how many of the event numbers in [from, to) are of the
// given kind: the row count of Batch(kind, from, to) without a row cap.
func (g *Generator) Count(kind Kind, from, to int64) int64 {
	from, to = max(from, 0), max(to, 0)
	if to <= from {
		return 0
	}
	return EventsForKind(kind, g.EventID(from), g.EventID(to))
}

// EventTimeMicros returns the event time of event number n in µs since the
// Unix epoch: BaseTime + floor(n*1e6/EventsPerSecond) µs.
func (g *Generator) EventTimeMicros(n int64) int64 {
	return g.baseMicros + g.offsetMicros(n)
}

// EventTime returns the event time of event number n, in UTC.
func (g *Generator) EventTime(n int64) time.Time {
	return time.UnixMicro(g.EventTimeMicros(n)).UTC()
}

// Watermark returns the watermark a source publishes once it has emitted
// every event before event number next: the newest event time minus
// WatermarkLag. Event times never decrease, so no later event falls behind
// it.
func (g *Generator) Watermark(next int64) time.Time {
	return g.EventTime(next - 1).Add(-WatermarkLag)
}

// offsetMicros is n*1e6/rate, exact for every n (in 128 bits beyond the
// fast path's ~9.2e12 events).
func (g *Generator) offsetMicros(n int64) int64 {
	const perSec = 1_000_000
	if n >= 0 && n <= (1<<63-1)/perSec {
		return n * perSec / g.rate
	}
	if n < 0 {
		return -g.offsetMicros(-n)
	}
	hi, lo := bits.Mul64(uint64(n), perSec)
	if hi >= uint64(g.rate) {
		return 1<<63 - 1 // beyond any representable time
	}
	q, _ := bits.Div64(hi, lo, uint64(g.rate))
	return int64(min(q, 1<<63-1))
}
