package nexmark

import "time"

// Person is a person row: a user who sells and bids.
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     time.Time
	Extra        string
}

// Auction is an auction row: an item for sale from DateTime to Expires.
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	InitialBid  int64
	Reserve     int64
	DateTime    time.Time
	Expires     time.Time
	Seller      int64 // a Person.ID
	Category    int64
	Extra       string
}

// Bid is a bid row: a bidder's offer on an auction.
type Bid struct {
	Auction  int64 // an Auction.ID
	Bidder   int64 // a Person.ID
	Price    int64
	Channel  string
	URL      string
	DateTime time.Time
	Extra    string
}

// Event is one generated event. Kind says which of Person, Auction and Bid
// is set; the other two are zero.
type Event struct {
	Kind    Kind
	Person  Person
	Auction Auction
	Bid     Bid
}

// Event returns event number n. It allocates its strings; use Batch for
// bulk generation. The values equal the row Batch produces for n.
//
// NB: n must not be negative; Event panics otherwise.
func (g *Generator) Event(n int64) Event {
	if n < 0 {
		panic("nexmark: negative event number")
	}
	e := g.EventID(n)
	ts := g.EventTimeMicros(n)
	ev := Event{Kind: KindOf(e)}
	switch ev.Kind {
	case KindPerson:
		var s scratch
		p := g.person(e, &s)
		ev.Person = Person{
			ID: p.id, Name: string(p.name), EmailAddress: string(p.email),
			CreditCard: string(p.card), City: string(p.city), State: string(p.state),
			DateTime: micros(ts), Extra: string(p.extra),
		}
	case KindAuction:
		a := g.auction(e)
		ev.Auction = Auction{
			ID: a.id, ItemName: string(a.itemName), Description: string(a.description),
			InitialBid: a.initialBid, Reserve: a.reserve,
			DateTime: micros(ts), Expires: micros(ts + a.lifeMicros),
			Seller: a.seller, Category: a.category, Extra: string(a.extra),
		}
	case KindBid:
		var b bidRow
		g.bid(e, nil, &b, true)
		ev.Bid = Bid{
			Auction: b.auction, Bidder: b.bidder, Price: b.price,
			Channel: string(g.t.chans.get(b.channel)), URL: string(g.t.urls.get(b.channel)),
			DateTime: micros(ts), Extra: string(b.extra),
		}
	}
	return ev
}

func micros(us int64) time.Time { return time.UnixMicro(us).UTC() }
