package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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

// eachEvent calls fn for the event numbers in [from, to) whose event id has
// an offset in [lo, hi) within its block of totalProportion ids, stopping
// after rows calls. It returns to, or when capped, the event number after
// the last one visited. Whole runs of other kinds are skipped
// arithmetically rather than event by event.
func (g *Generator) eachEvent(from, to, rows int64, capped bool, lo, hi int64, fn func(n, e int64)) int64 {
	if rows == 0 {
		return to
	}
	n, e := from, g.EventID(from)
	var count int64
	for n < to {
		off := e % totalProportion
		if off < lo || off >= hi {
			d := (lo - off + totalProportion) % totalProportion
			n, e = n+d, e+d
			continue
		}
		end := min(to, n+hi-off)
		for ; n < end; n, e = n+1, e+1 {
			fn(n, e)
			if count++; count == rows {
				if capped {
					return n + 1
				}
				return to
			}
		}
	}
	return to
}

// stringCol is a string column builder reserved for rows values of about
// avg bytes each.
func stringCol(mem memory.Allocator, rows int64, avg int) *array.StringBuilder {
	b := array.NewStringBuilder(mem)
	b.Reserve(int(rows))
	b.ReserveData(int(rows) * avg)
	return b
}

func int64Col(mem memory.Allocator, rows int64) *array.Int64Builder {
	b := array.NewInt64Builder(mem)
	b.Reserve(int(rows))
	return b
}

func timestampCol(mem memory.Allocator, rows int64) *array.TimestampBuilder {
	b := array.NewTimestampBuilder(mem, timestampType)
	b.Reserve(int(rows))
	return b
}

// finish turns the builders into a record batch and releases them.
func finish(schema *arrow.Schema, rows int64, bs ...array.Builder) arrow.RecordBatch {
	cols := make([]arrow.Array, len(bs))
	for i, b := range bs {
		cols[i] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

func (g *Generator) persons(from, to, rows int64, capped bool, mem memory.Allocator) (arrow.RecordBatch, int64) {
	var (
		id    = int64Col(mem, rows)
		name  = stringCol(mem, rows, 12)
		email = stringCol(mem, rows, 17)
		card  = stringCol(mem, rows, 19)
		city  = stringCol(mem, rows, 9)
		state = stringCol(mem, rows, 2)
		dt    = timestampCol(mem, rows)
		extra = stringCol(mem, rows, personTarget-75)
		s     scratch
		nrows int64
	)
	next := g.eachEvent(from, to, rows, capped, 0, firstAuctionOffset, func(n, e int64) {
		p := g.person(e, &s)
		id.UnsafeAppend(p.id)
		name.BinaryBuilder.Append(p.name)
		email.BinaryBuilder.Append(p.email)
		card.BinaryBuilder.Append(p.card)
		city.BinaryBuilder.Append(p.city)
		state.BinaryBuilder.Append(p.state)
		dt.UnsafeAppend(arrow.Timestamp(g.EventTimeMicros(n)))
		extra.BinaryBuilder.Append(p.extra)
		nrows++
	})
	return finish(PersonSchema, nrows, id, name, email, card, city, state, dt, extra), next
}

func (g *Generator) auctions(from, to, rows int64, capped bool, mem memory.Allocator) (arrow.RecordBatch, int64) {
	var (
		id       = int64Col(mem, rows)
		item     = stringCol(mem, rows, 14)
		desc     = stringCol(mem, rows, 70)
		initial  = int64Col(mem, rows)
		reserve  = int64Col(mem, rows)
		dt       = timestampCol(mem, rows)
		expires  = timestampCol(mem, rows)
		seller   = int64Col(mem, rows)
		category = int64Col(mem, rows)
		extra    = stringCol(mem, rows, auctionTarget-148)
		nrows    int64
	)
	next := g.eachEvent(from, to, rows, capped, firstAuctionOffset, firstBidOffset, func(n, e int64) {
		a := g.auction(e)
		ts := g.EventTimeMicros(n)
		id.UnsafeAppend(a.id)
		item.BinaryBuilder.Append(a.itemName)
		desc.BinaryBuilder.Append(a.description)
		initial.UnsafeAppend(a.initialBid)
		reserve.UnsafeAppend(a.reserve)
		dt.UnsafeAppend(arrow.Timestamp(ts))
		expires.UnsafeAppend(arrow.Timestamp(ts + a.lifeMicros))
		seller.UnsafeAppend(a.seller)
		category.UnsafeAppend(a.category)
		extra.BinaryBuilder.Append(a.extra)
		nrows++
	})
	return finish(AuctionSchema, nrows, id, item, desc, initial, reserve, dt, expires, seller, category, extra), next
}

func (g *Generator) bids(from, to, rows int64, capped bool, mem memory.Allocator) (arrow.RecordBatch, int64) {
	var (
		auction = int64Col(mem, rows)
		bidder  = int64Col(mem, rows)
		price   = int64Col(mem, rows)
		channel = stringCol(mem, rows, 7)
		url     = stringCol(mem, rows, 60)
		dt      = timestampCol(mem, rows)
		extra   = stringCol(mem, rows, 4)
		nrows   int64
	)
	next := g.eachEvent(from, to, rows, capped, firstBidOffset, totalProportion, func(n, e int64) {
		b := g.bid(e)
		auction.UnsafeAppend(b.auction)
		bidder.UnsafeAppend(b.bidder)
		price.UnsafeAppend(b.price)
		channel.BinaryBuilder.Append(b.channel)
		url.BinaryBuilder.Append(b.url)
		dt.UnsafeAppend(arrow.Timestamp(g.EventTimeMicros(n)))
		extra.BinaryBuilder.Append(b.extra)
		nrows++
	})
	return finish(BidSchema, nrows, auction, bidder, price, channel, url, dt, extra), next
}
