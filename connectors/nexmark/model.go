package nexmark

// The per-event generation core. Each function draws from the event's own
// PRNG in a fixed order and returns column values that alias the
// generator's tables or the caller's scratch space, so the batch path
// appends them without allocating and Event copies them into strings.

// Target average row sizes in bytes; extra pads each row towards them.
const (
	personTarget  = 200
	auctionTarget = 500
	bidTarget     = 100
)

// Price bounds: initial bids are log-uniform in [minPrice, maxPrice).
const (
	minPrice = 100
	maxPrice = 100_000_000
)

// rngFor returns the PRNG of the event with the given id.
func (g *Generator) rngFor(e int64) rng {
	return rng{s: mix64(g.seedKey + uint64(e)*idStride)}
}

// scratch holds the bytes of values built per row rather than sliced from
// a table. One per goroutine; values alias it until the next row.
type scratch struct {
	email [7 + 1 + 5 + 4]byte
	card  [19]byte
}

type personRow struct {
	id                             int64
	name, email, card, city, state []byte
	extra                          []byte
}

type auctionRow struct {
	id, initialBid, reserve int64
	seller, category        int64
	lifeMicros              int64 // expires - date_time
	itemName, description   []byte
	extra                   []byte
}

type bidRow struct {
	auction, bidder, price int64
	channel                int64 // index into tables.chans and tables.urls
	extra                  []byte
}

// person generates the person with event id e.
func (g *Generator) person(e int64, s *scratch) personRow {
	r := g.rngFor(e)
	t := g.t
	p := personRow{id: FirstPersonID + lastPerson(e)}
	p.name = t.names.get(r.intn(t.names.len()))
	n := copy(s.email[:], t.randString(&r, 7))
	s.email[n] = '@'
	n++
	n += copy(s.email[n:], t.randString(&r, 5))
	n += copy(s.email[n:], ".com")
	p.email = s.email[:n]
	for i := range 4 {
		v := r.intn(10_000)
		for j := 3; j >= 0; j-- {
			s.card[i*5+j] = '0' + byte(v%10)
			v /= 10
		}
		if i < 3 {
			s.card[i*5+4] = ' '
		}
	}
	p.card = s.card[:]
	c := r.intn(t.cities.len())
	p.city, p.state = t.cities.get(c), t.states.get(c)
	fixed := 8 + len(p.name) + len(p.email) + len(p.card) + len(p.city) + len(p.state) + 8
	p.extra = t.randString(&r, extraLen(&r, fixed, personTarget))
	return p
}

// initialBid returns the initial bid of the auction whose PRNG is r,
// log-uniform in [minPrice, maxPrice). It is the auction's first draw, so a
// bid can recompute it cheaply.
func (t *tables) initialBid(r *rng) int64 {
	return int64(min(scalePow2(t.pow2, minPrice, uniformExp(r, log2Of1e6)), maxPrice-1))
}

// aboveBid returns a price log-uniform within one decade above base, capped
// at maxPrice.
func (t *tables) aboveBid(r *rng, base int64) int64 {
	return int64(min(scalePow2(t.pow2, uint64(base), uniformExp(r, log2Of10)), maxPrice))
}

// auction generates the auction with event id e.
func (g *Generator) auction(e int64) auctionRow {
	r := g.rngFor(e)
	t := g.t
	a := auctionRow{id: FirstAuctionID + lastAuction(e)}
	a.initialBid = t.initialBid(&r)
	a.reserve = t.aboveBid(&r, a.initialBid)
	lastP := lastPerson(e)
	if r.intn(4) > 0 {
		a.seller = FirstPersonID + hotSeller(lastP)
	} else {
		a.seller = FirstPersonID + lastP - r.intn(min(lastP+1, int64(g.cfg.ActivePeople)))
	}
	a.category = FirstCategory + r.intn(NumCategories)
	a.lifeMicros = 1000 + r.intn(g.expiryMicros)
	a.itemName = t.randString(&r, 8+r.intn(13))
	a.description = t.randString(&r, 40+r.intn(61))
	fixed := 8 + len(a.itemName) + len(a.description) + 7*8
	a.extra = t.randString(&r, extraLen(&r, fixed, auctionTarget))
	return a
}

// initialBids caches the initial bids of recent auctions for one batch:
// most bids name the hot auction or one of the newest, so a bid's price
// rarely needs its auction's PRNG. Entries are keyed by zero-based auction
// id plus one, so the zero value is empty.
type initialBids struct {
	key, val [256]int64
}

// initialBidOf returns the initial bid of the auction with zero-based id a,
// using and filling c when it is not nil.
func (g *Generator) initialBidOf(a int64, c *initialBids) int64 {
	if c == nil {
		ar := g.rngFor(auctionEvent(a))
		return g.t.initialBid(&ar)
	}
	i := a & int64(len(c.key)-1)
	if c.key[i] == a+1 {
		return c.val[i]
	}
	ar := g.rngFor(auctionEvent(a))
	v := g.t.initialBid(&ar)
	c.key[i], c.val[i] = a+1, v
	return v
}

// bid generates the bid with event id e into b; ib, if not nil, caches
// initial bids across calls. Without extra, b.extra is left empty (it is
// drawn last, so the other values do not change).
func (g *Generator) bid(e int64, ib *initialBids, b *bidRow, extra bool) {
	r := g.rngFor(e)
	t := g.t
	lastA := lastAuction(e)
	var a int64
	if r.intn(2) > 0 {
		a = hotAuction(lastA)
	} else {
		a = lastA - r.intn(min(lastA+1, int64(g.cfg.InFlightAuctions)))
	}
	b.auction = FirstAuctionID + a
	lastP := lastPerson(e)
	if r.intn(4) > 0 {
		b.bidder = FirstPersonID + hotBidder(lastP)
	} else {
		b.bidder = FirstPersonID + lastP - r.intn(min(lastP+1, int64(g.cfg.ActivePeople)))
	}
	b.price = t.aboveBid(&r, g.initialBidOf(a, ib))
	var c int64
	if r.intn(coldChannelRatio) > 0 {
		c = r.intn(int64(len(hotChannels)))
	} else {
		c = int64(len(hotChannels)) + r.intn(numChannels)
	}
	b.channel = c
	if !extra {
		b.extra = nil
		return
	}
	fixed := 3*8 + t.chans.size(c) + t.urls.size(c) + 8
	b.extra = t.randString(&r, extraLen(&r, fixed, bidTarget))
}
