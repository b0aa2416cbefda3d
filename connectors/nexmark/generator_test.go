package nexmark

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"time"
)

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindPerson: "person", KindAuction: "auction", KindBid: "bid", Kind(7): "Kind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint8(k), got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{FirstEventID: -1}, {EventsPerSecond: -1}, {InFlightAuctions: -1},
		{ActivePeople: -1}, {MaxBatchRows: -1},
	} {
		if _, err := NewGenerator(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewGenerator(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	g := newGen(t, Config{})
	c := g.Config()
	if c.EventsPerSecond != 10_000 || c.InFlightAuctions != 100 || c.ActivePeople != 1000 || !c.BaseTime.Equal(DefaultBaseTime) {
		t.Errorf("defaults not filled in: %+v", c)
	}
}

func TestMix(t *testing.T) {
	g := newGen(t, Config{Seed: 1})
	var counts [3]int64
	for n := range int64(50_000) {
		counts[g.Kind(n)]++
	}
	if counts != [3]int64{1000, 3000, 46000} {
		t.Fatalf("kind counts %v, want 1:3:46 = [1000 3000 46000]", counts)
	}
	for n, want := range map[int64]Kind{0: KindPerson, 1: KindAuction, 3: KindAuction, 4: KindBid, 49: KindBid, 50: KindPerson, 53: KindAuction} {
		if got := g.Kind(n); got != want {
			t.Errorf("Kind(%d) = %v, want %v", n, got, want)
		}
	}
	// EventsForKind and Count agree with counting one by one, for any
	// range and any FirstEventID.
	r := rand.New(rand.NewPCG(1, 2))
	gens := map[int64]*Generator{}
	for range 2000 {
		first := r.Int64N(100) * 7
		g := gens[first]
		if g == nil {
			g = newGen(t, Config{FirstEventID: first})
			gens[first] = g
		}
		from := r.Int64N(400) - 20
		to := from + r.Int64N(300) - 20
		var want [3]int64
		for n := max(from, 0); n < to; n++ {
			want[g.Kind(n)]++
		}
		for _, k := range kinds {
			if got := g.Count(k, from, to); got != want[k] {
				t.Fatalf("first %d: Count(%v, %d, %d) = %d, want %d", first, k, from, to, got, want[k])
			}
			if first == 0 {
				if got := EventsForKind(k, from, to); got != want[k] {
					t.Fatalf("EventsForKind(%v, %d, %d) = %d, want %d", k, from, to, got, want[k])
				}
			}
		}
	}
}

func TestIDs(t *testing.T) {
	g := newGen(t, Config{Seed: 2})
	wantP, wantA := int64(FirstPersonID), int64(FirstAuctionID)
	for n := range int64(20_000) {
		ev := g.Event(n)
		switch ev.Kind {
		case KindPerson:
			if ev.Person.ID != wantP {
				t.Fatalf("event %d: person id %d, want %d", n, ev.Person.ID, wantP)
			}
			wantP++
		case KindAuction:
			if ev.Auction.ID != wantA {
				t.Fatalf("event %d: auction id %d, want %d", n, ev.Auction.ID, wantA)
			}
			wantA++
		}
	}
}

// TestReferential checks that every bid names an auction and a bidder, and
// every auction a seller, generated at or before it, and that hot ids take
// their share.
func TestReferential(t *testing.T) {
	g := newGen(t, Config{Seed: 3})
	const events = 200_000
	maxP, maxA := int64(-1), int64(-1)
	var bids, hotA, hotB, auctions, hotS int
	for n := range int64(events) {
		ev := g.Event(n)
		switch ev.Kind {
		case KindPerson:
			maxP = ev.Person.ID
		case KindAuction:
			a := ev.Auction
			if a.Seller < FirstPersonID || a.Seller > maxP {
				t.Fatalf("event %d: seller %d not among persons [1000, %d]", n, a.Seller, maxP)
			}
			maxA = a.ID
			auctions++
			if a.Seller == FirstPersonID+hotSeller(maxP-FirstPersonID) {
				hotS++
			}
		case KindBid:
			b := ev.Bid
			if b.Auction < FirstAuctionID || b.Auction > maxA {
				t.Fatalf("event %d: auction %d not among auctions [1000, %d]", n, b.Auction, maxA)
			}
			if b.Bidder < FirstPersonID || b.Bidder > maxP {
				t.Fatalf("event %d: bidder %d not among persons [1000, %d]", n, b.Bidder, maxP)
			}
			if maxA-b.Auction >= DefaultInFlightAuctions && b.Auction != FirstAuctionID+hotAuction(maxA-FirstAuctionID) {
				t.Fatalf("event %d: auction %d is neither hot nor in flight (newest %d)", n, b.Auction, maxA)
			}
			bids++
			if b.Auction == FirstAuctionID+hotAuction(maxA-FirstAuctionID) {
				hotA++
			}
			if b.Bidder == FirstPersonID+hotBidder(maxP-FirstPersonID) {
				hotB++
			}
		}
	}
	// Hot shares are 1/2, 3/4 and 3/4, plus the cold picks that land on the
	// hot id by chance.
	share := func(what string, k, n int, lo, hi float64) {
		if f := float64(k) / float64(n); f < lo || f > hi {
			t.Errorf("%s share %.3f, want in [%.2f, %.2f]", what, f, lo, hi)
		}
	}
	share("hot auction", hotA, bids, 0.49, 0.53)
	share("hot bidder", hotB, bids, 0.74, 0.77)
	share("hot seller", hotS, auctions, 0.73, 0.78)
}

func TestPrices(t *testing.T) {
	g := newGen(t, Config{Seed: 4})
	mem := checkedMem(t)
	persons, auctions, bids := g.Split(0, 1_000_000, mem)
	persons.Release()
	initial := map[int64]int64{}
	var decades [6]int
	as := events(t, KindAuction, auctions)
	for _, ev := range as {
		a := ev.Auction
		if a.InitialBid < 100 || a.InitialBid >= 1e8 {
			t.Fatalf("auction %d: initial bid %d outside [100, 1e8)", a.ID, a.InitialBid)
		}
		if a.Reserve < a.InitialBid || a.Reserve > min(10*a.InitialBid, 1e8) {
			t.Fatalf("auction %d: reserve %d outside [%d, %d]", a.ID, a.Reserve, a.InitialBid, min(10*a.InitialBid, 1e8))
		}
		initial[a.ID] = a.InitialBid
		decades[int(math.Log10(float64(a.InitialBid)))-2]++
	}
	// Log-uniform: each decade of [100, 1e8) holds a sixth of initial bids.
	for d, c := range decades {
		if f := float64(c) / float64(len(as)); math.Abs(f-1.0/6) > 0.02 {
			t.Errorf("decade 10^%d holds %.3f of initial bids, want ~1/6", d+2, f)
		}
	}
	for _, ev := range events(t, KindBid, bids) {
		b := ev.Bid
		ib, ok := initial[b.Auction]
		if !ok {
			t.Fatalf("bid on unknown auction %d", b.Auction)
		}
		if b.Price < ib || b.Price > min(10*ib, 1e8) {
			t.Fatalf("bid on auction %d: price %d outside [%d, %d]", b.Auction, b.Price, ib, min(10*ib, 1e8))
		}
	}
}

func TestEventTime(t *testing.T) {
	g := newGen(t, Config{})
	if got := g.EventTime(0); !got.Equal(time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC)) || got.Location() != time.UTC {
		t.Fatalf("EventTime(0) = %v", got)
	}
	for _, n := range []int64{0, 1, 49, 12345, 1e9, 1e13, 1e15} {
		if d := g.EventTime(n + 1).Sub(g.EventTime(n)); d != 100*time.Microsecond {
			t.Errorf("EventTime(%d+1) - EventTime(%d) = %v, want 100µs", n, n, d)
		}
	}
	if got := g.Watermark(100); !got.Equal(g.EventTime(99).Add(-4 * time.Second)) {
		t.Errorf("Watermark(100) = %v", got)
	}
	// Rows carry their event's time; auctions expire after they start.
	for n := range int64(2000) {
		ev := g.Event(n)
		var dt time.Time
		switch ev.Kind {
		case KindPerson:
			dt = ev.Person.DateTime
		case KindAuction:
			dt = ev.Auction.DateTime
			life := ev.Auction.Expires.Sub(dt)
			if life < time.Millisecond || life > time.Millisecond+2*(100*50/3)*100*time.Microsecond {
				t.Fatalf("event %d: auction lasts %v", n, life)
			}
		case KindBid:
			dt = ev.Bid.DateTime
		}
		if !dt.Equal(g.EventTime(n)) {
			t.Fatalf("event %d: date_time %v, want %v", n, dt, g.EventTime(n))
		}
	}
	// Other rates, and exact arithmetic for huge event numbers.
	base := time.Date(2024, 1, 2, 3, 4, 5, 6007, time.UTC)
	g3 := newGen(t, Config{EventsPerSecond: 3, BaseTime: base})
	if got, want := g3.EventTime(4), base.Truncate(time.Microsecond).Add(1333333*time.Microsecond); !got.Equal(want) {
		t.Errorf("3 events/s: EventTime(4) = %v, want %v", got, want)
	}
	gm := newGen(t, Config{EventsPerSecond: 7_000_000})
	n := int64(math.MaxInt64 / 1000)
	if got, want := gm.offsetMicros(n), int64(float64(n)*1e6/7e6); math.Abs(float64(got-want)) > 1e4 {
		t.Errorf("offsetMicros(%d) = %d, want ~%d", n, got, want)
	}
}

func TestFirstEventID(t *testing.T) {
	g0 := newGen(t, Config{Seed: 5})
	gk := newGen(t, Config{Seed: 5, FirstEventID: 1234})
	for n := range int64(500) {
		a, b := g0.Event(n+1234), gk.Event(n)
		// Same content; time follows the event number.
		a.Person.DateTime, a.Auction.DateTime, a.Bid.DateTime = b.Person.DateTime, b.Auction.DateTime, b.Bid.DateTime
		a.Auction.Expires = b.Auction.Expires
		if a != b {
			t.Fatalf("event id %d differs: %+v vs %+v", n+1234, a, b)
		}
	}
}

func TestDeterminism(t *testing.T) {
	mem := checkedMem(t)
	g1 := newGen(t, Config{Seed: 42})
	g2 := newGen(t, Config{Seed: 42})
	other := newGen(t, Config{Seed: 43})
	for _, k := range kinds {
		r1, next := g1.Batch(k, 0, 1000, mem)
		if next != 1000 {
			t.Fatalf("%v: next %d, want 1000", k, next)
		}
		whole := events(t, k, r1)
		r2, _ := g2.Batch(k, 0, 1000, mem)
		equalEvents(t, k.String()+" across generators", events(t, k, r2), whole)
		a, _ := g1.Batch(k, 0, 500, mem)
		b, _ := g1.Batch(k, 500, 1000, mem)
		equalEvents(t, k.String()+" split at 500", append(events(t, k, a), events(t, k, b)...), whole)
		equalEvents(t, k.String()+" vs Event", whole, eventsOf(g1, k, 0, 1000))
		ro, _ := other.Batch(k, 0, 1000, mem)
		if diff := events(t, k, ro); len(diff) == len(whole) && diff[0] == whole[0] {
			t.Errorf("%v: seeds 42 and 43 give the same first row", k)
		}
	}
	// Split equals Batch per kind, at odd boundaries too.
	for _, r := range [][2]int64{{0, 1000}, {37, 977}, {51, 52}, {3, 3}} {
		p, a, b := g1.Split(r[0], r[1], mem)
		for i, rec := range []arrow.RecordBatch{p, a, b} {
			k := kinds[i]
			equalEvents(t, "Split "+k.String(), events(t, k, rec), eventsOf(g1, k, r[0], r[1]))
		}
	}
}
