package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// timestampType is TIMESTAMP (without time zone) in µs.
var timestampType = &arrow.TimestampType{Unit: arrow.Microsecond}

func col(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: false}
}

// PersonSchema is the schema of person batches. No column is ever null.
var PersonSchema = arrow.NewSchema([]arrow.Field{
	col("id", arrow.PrimitiveTypes.Int64),
	col("name", arrow.BinaryTypes.String),
	col("email_address", arrow.BinaryTypes.String),
	col("credit_card", arrow.BinaryTypes.String),
	col("city", arrow.BinaryTypes.String),
	col("state", arrow.BinaryTypes.String),
	col("date_time", timestampType),
	col("extra", arrow.BinaryTypes.String),
}, nil)

// AuctionSchema is the schema of auction batches. No column is ever null.
var AuctionSchema = arrow.NewSchema([]arrow.Field{
	col("id", arrow.PrimitiveTypes.Int64),
	col("item_name", arrow.BinaryTypes.String),
	col("description", arrow.BinaryTypes.String),
	col("initial_bid", arrow.PrimitiveTypes.Int64),
	col("reserve", arrow.PrimitiveTypes.Int64),
	col("date_time", timestampType),
	col("expires", timestampType),
	col("seller", arrow.PrimitiveTypes.Int64),
	col("category", arrow.PrimitiveTypes.Int64),
	col("extra", arrow.BinaryTypes.String),
}, nil)

// BidSchema is the schema of bid batches. No column is ever null.
var BidSchema = arrow.NewSchema([]arrow.Field{
	col("auction", arrow.PrimitiveTypes.Int64),
	col("bidder", arrow.PrimitiveTypes.Int64),
	col("price", arrow.PrimitiveTypes.Int64),
	col("channel", arrow.BinaryTypes.String),
	col("url", arrow.BinaryTypes.String),
	col("date_time", timestampType),
	col("extra", arrow.BinaryTypes.String),
}, nil)

// Schema returns the schema of batches of the given kind, or nil for an
// unknown kind.
func Schema(kind Kind) *arrow.Schema {
	switch kind {
	case KindPerson:
		return PersonSchema
	case KindAuction:
		return AuctionSchema
	case KindBid:
		return BidSchema
	}
	return nil
}

// Batch returns the events of the given kind among event numbers
// [fromEvent, toEvent) as one record batch of Schema(kind), in event order,
// and the event number to continue from. Without Config.MaxBatchRows, next
// is toEvent; with it, the batch holds at most that many rows and next
// follows the last event taken. The caller releases the batch. A range with
// no events of the kind gives an empty batch; an unknown kind gives nil.
func (g *Generator) Batch(kind Kind, fromEvent, toEvent int64, mem memory.Allocator) (arrow.RecordBatch, int64) {
	return g.batch(kind, fromEvent, toEvent, int64(g.cfg.MaxBatchRows), mem)
}

// BatchColumns is Batch for a reader that uses only the columns cols
// flags (nil: all): the bids' string columns it does not use hold empty
// strings, which saves most of the time of generating bids. The other
// columns are those Batch gives.
func (g *Generator) BatchColumns(kind Kind, fromEvent, toEvent int64, mem memory.Allocator, cols []bool) (arrow.RecordBatch, int64) {
	if kind != KindBid || cols == nil {
		return g.Batch(kind, fromEvent, toEvent, mem)
	}
	from := max(fromEvent, 0)
	to := max(toEvent, from)
	rows, limit := g.Count(kind, from, to), int64(g.cfg.MaxBatchRows)
	if limit > 0 && rows > limit {
		rows = limit
	} else {
		limit = 0
	}
	return g.bidColumns(from, to, rows, limit > 0, mem, cols)
}

// BatchTimes is Batch for a reader of nothing but the event times: the
// rows have Batch's date_time values, and every other column holds zeros
// or empty strings. Nothing else is generated, so it costs a small part
// of Batch. An unknown kind gives nil.
func (g *Generator) BatchTimes(kind Kind, fromEvent, toEvent int64, mem memory.Allocator) (arrow.RecordBatch, int64) {
	schema := Schema(kind)
	if schema == nil {
		return nil, fromEvent
	}
	from := max(fromEvent, 0)
	to := max(toEvent, from)
	rows, limit := g.Count(kind, from, to), int64(g.cfg.MaxBatchRows)
	capped := limit > 0 && rows > limit
	if capped {
		rows = limit
	}
	lo, hi := int64(0), int64(firstAuctionOffset)
	switch kind {
	case KindAuction:
		lo, hi = firstAuctionOffset, firstBidOffset
	case KindBid:
		lo, hi = firstBidOffset, totalProportion
	}
	dt := newInt64Col(mem, rows)
	i := 0
	r := g.runs(from, to, rows, capped, lo, hi)
	for r.advance() {
		clk := g.clockAt(r.n)
		for range r.k {
			dt.v[i] = clk.next()
			i++
		}
	}
	cols := make([]arrow.Array, len(schema.Fields()))
	for c, f := range schema.Fields() {
		switch {
		case f.Name == "date_time":
			cols[c] = dt.finish(timestampType)
		case f.Type.ID() == arrow.STRING:
			s := newStringCol(mem, rows, 0)
			for range rows {
				s.add(nil)
			}
			cols[c] = s.finish()
		default:
			z := newInt64Col(mem, rows)
			clear(z.v)
			cols[c] = z.finish(f.Type)
		}
	}
	return record(schema, rows, cols...), r.next
}

// Split returns the persons, auctions and bids among event numbers
// [from, to) as three record batches, ignoring Config.MaxBatchRows. The
// caller releases all three.
func (g *Generator) Split(from, to int64, mem memory.Allocator) (persons, auctions, bids arrow.RecordBatch) {
	persons, _ = g.batch(KindPerson, from, to, 0, mem)
	auctions, _ = g.batch(KindAuction, from, to, 0, mem)
	bids, _ = g.batch(KindBid, from, to, 0, mem)
	return persons, auctions, bids
}

func (g *Generator) batch(kind Kind, from, to, limit int64, mem memory.Allocator) (arrow.RecordBatch, int64) {
	from = max(from, 0)
	to = max(to, from)
	rows := g.Count(kind, from, to)
	if limit > 0 && rows > limit {
		// Capped: eachEvent stops at the limit and next follows the last
		// row. Otherwise it runs through to.
		rows = limit
	} else {
		limit = 0
	}
	switch kind {
	case KindPerson:
		return g.persons(from, to, rows, limit > 0, mem)
	case KindAuction:
		return g.auctions(from, to, rows, limit > 0, mem)
	case KindBid:
		return g.bids(from, to, rows, limit > 0, mem)
	}
	return nil, from
}

// runs iterates over the runs of consecutive event numbers in [from, to)
// whose event ids have an offset in [lo, hi) within their block of
// totalProportion ids, up to rows events in all. Each run covers event
// numbers n..n+k-1 with event ids e..e+k-1. Runs of other kinds are
// skipped arithmetically rather than event by event. It is a struct rather
// than a callback so the batch loops keep their columns in registers.
type runs struct {
	to, rows, lo, hi int64
	capped           bool
	n, e, k          int64 // the current run
	next             int64 // where the next batch continues
}

func (g *Generator) runs(from, to, rows int64, capped bool, lo, hi int64) runs {
	return runs{to: to, rows: rows, lo: lo, hi: hi, capped: capped, n: from, e: g.EventID(from), next: to}
}

// advance moves to the next run; it returns false after the last.
func (r *runs) advance() bool {
	r.n, r.e, r.k = r.n+r.k, r.e+r.k, 0
	for r.rows > 0 && r.n < r.to {
		off := r.e % totalProportion
		if off < r.lo || off >= r.hi {
			d := (r.lo - off + totalProportion) % totalProportion
			r.n, r.e = r.n+d, r.e+d
			continue
		}
		r.k = min(min(r.to, r.n+r.hi-off)-r.n, r.rows)
		r.rows -= r.k
		if r.rows == 0 && r.capped {
			// Capped: next follows the last row. Otherwise it is to.
			r.next = r.n + r.k
		}
		return true
	}
	return false
}

func (g *Generator) persons(from, to, rows int64, capped bool, mem memory.Allocator) (arrow.RecordBatch, int64) {
	var (
		id    = newInt64Col(mem, rows)
		name  = newStringCol(mem, rows, 12)
		email = newStringCol(mem, rows, 17)
		card  = newStringCol(mem, rows, 19)
		city  = newStringCol(mem, rows, 9)
		state = newStringCol(mem, rows, 2)
		dt    = newInt64Col(mem, rows)
		extra = newStringCol(mem, rows, personTarget-64)
		s     scratch
		i     int
	)
	r := g.runs(from, to, rows, capped, 0, firstAuctionOffset)
	for r.advance() {
		clk := g.clockAt(r.n)
		for j := range r.k {
			p := g.person(r.e+j, &s)
			id.v[i] = p.id
			name.add(p.name)
			email.add(p.email)
			card.add(p.card)
			city.add(p.city)
			state.add(p.state)
			dt.v[i] = clk.next()
			extra.add(p.extra)
			i++
		}
	}
	return record(PersonSchema, rows, id.finish(arrow.PrimitiveTypes.Int64), name.finish(), email.finish(),
		card.finish(), city.finish(), state.finish(), dt.finish(timestampType), extra.finish()), r.next
}

func (g *Generator) auctions(from, to, rows int64, capped bool, mem memory.Allocator) (arrow.RecordBatch, int64) {
	var (
		id       = newInt64Col(mem, rows)
		item     = newStringCol(mem, rows, 15)
		desc     = newStringCol(mem, rows, 71)
		initial  = newInt64Col(mem, rows)
		reserve  = newInt64Col(mem, rows)
		dt       = newInt64Col(mem, rows)
		expires  = newInt64Col(mem, rows)
		seller   = newInt64Col(mem, rows)
		category = newInt64Col(mem, rows)
		extra    = newStringCol(mem, rows, auctionTarget-140)
		i        int
	)
	r := g.runs(from, to, rows, capped, firstAuctionOffset, firstBidOffset)
	for r.advance() {
		clk := g.clockAt(r.n)
		for j := range r.k {
			a := g.auction(r.e + j)
			ts := clk.next()
			id.v[i] = a.id
			item.add(a.itemName)
			desc.add(a.description)
			initial.v[i] = a.initialBid
			reserve.v[i] = a.reserve
			dt.v[i] = ts
			expires.v[i] = ts + a.lifeMicros
			seller.v[i] = a.seller
			category.v[i] = a.category
			extra.add(a.extra)
			i++
		}
	}
	i64 := arrow.PrimitiveTypes.Int64
	return record(AuctionSchema, rows, id.finish(i64), item.finish(), desc.finish(), initial.finish(i64),
		reserve.finish(i64), dt.finish(timestampType), expires.finish(timestampType), seller.finish(i64),
		category.finish(i64), extra.finish()), r.next
}

func (g *Generator) bids(from, to, rows int64, capped bool, mem memory.Allocator) (arrow.RecordBatch, int64) {
	return g.bidColumns(from, to, rows, capped, mem, nil)
}

// bidColumns generates bids, leaving the string columns cols does not flag
// (nil: all flagged) empty.
func (g *Generator) bidColumns(from, to, rows int64, capped bool, mem memory.Allocator, cols []bool) (arrow.RecordBatch, int64) {
	want := func(c int) bool { return cols == nil || cols[c] }
	wantChannel, wantURL, wantExtra := want(3), want(4), want(6)
	// The data of a column left empty needs no room.
	avg := func(want bool, n int) int {
		if want {
			return n
		}
		return 0
	}
	var (
		auction = newInt64Col(mem, rows)
		bidder  = newInt64Col(mem, rows)
		price   = newInt64Col(mem, rows)
		channel = newStringCol(mem, rows, avg(wantChannel, len(hotChannels[0])+2))
		url     = newStringCol(mem, rows, avg(wantURL, g.t.hotURLLen+2))
		dt      = newInt64Col(mem, rows)
		extra   = newStringCol(mem, rows, avg(wantExtra, 6))
		cache   initialBids
		b       bidRow
		t       = g.t
		i       int
	)
	r := g.runs(from, to, rows, capped, firstBidOffset, totalProportion)
	for r.advance() {
		clk := g.clockAt(r.n)
		for j := range r.k {
			g.bid(r.e+j, &cache, &b, wantExtra)
			auction.v[i] = b.auction
			bidder.v[i] = b.bidder
			price.v[i] = b.price
			if wantChannel {
				channel.add(t.chans.get(b.channel))
			} else {
				channel.add(nil)
			}
			if wantURL {
				url.add(t.urls.get(b.channel))
			} else {
				url.add(nil)
			}
			dt.v[i] = clk.next()
			extra.add(b.extra)
			i++
		}
	}
	i64 := arrow.PrimitiveTypes.Int64
	return record(BidSchema, rows, auction.finish(i64), bidder.finish(i64), price.finish(i64),
		channel.finish(), url.finish(), dt.finish(timestampType), extra.finish()), r.next
}
