// Package nexmark generates the Nexmark auction workload: persons, auctions
// and bids, as Arrow record batches for sqld's built-in streaming source.
//
// # Model
//
// Events are numbered n = 0, 1, 2, ... by a Generator; event n has event id
// Config.FirstEventID + n. The kind of an event follows its id modulo 50:
// 0 is a person, 1-3 an auction, 4-49 a bid, so persons, auctions and bids
// come in the ratio 1:3:46. Person and auction ids are consecutive and start
// at 1000; the id an event gets, and the newest person and auction that
// exist at any event, are computed arithmetically from the event id.
//
// A bid names an auction and a bidder, and an auction a seller, that were
// generated at or before it: half of all bids go to the current hot auction
// and three quarters of bids and auctions name the current hot bidder or
// seller; the rest pick uniformly among the newest Config.InFlightAuctions
// auctions or Config.ActivePeople persons. Hot ids are the newest ids on a
// grid of 100, so the hot set is small, recent, and moves as ids grow.
// Initial bids are log-uniform in [100, 10^8); an auction's reserve and the
// price of every bid on it are log-uniform within one decade above its
// initial bid, capped at 10^8. Prices are computed in fixed point, so they
// are the same on every platform. Auctions expire after a random
// duration of about twice the time in which InFlightAuctions new auctions
// appear. Categories are 10 to 14. Four hot channels (Apple, Google,
// Facebook, Baidu) carry 99% of the bids; the rest use one of 10,000
// numbered channels, most of whose URLs carry a channel_id parameter.
// Extra columns pad rows to about 200 (person), 500 (auction) and 100 (bid)
// bytes.
//
// # Time
//
// Event n happens at Config.BaseTime + n * 1e6/EventsPerSecond microseconds
// (0.1 ms apart at the default 10,000 events/s); all timestamps are whole
// microseconds in UTC, stored as Arrow Timestamp(µs) without a zone. A source
// publishes a watermark WatermarkLag (4 s) behind the newest event time; see
// Generator.Watermark.
//
// # Determinism
//
// Every event is a pure function of (Config.Seed, event id), and its time of
// (BaseTime, EventsPerSecond, n): each event draws from its own PRNG seeded
// by a hash of the seed and the event id, and nothing is carried from one
// event to the next. A source that restarts from any event number after a
// crash regenerates exactly the same rows, and any split of a range into
// batches yields the same rows as the whole range.
//
// # Ownership and concurrency
//
// A Generator is immutable after NewGenerator and safe for concurrent use.
// Batch and Split return record batches holding one reference each, which
// the caller releases; all their memory comes from the given allocator.
//
// NB: event numbers are non-negative; Event panics on a negative n, as an
// index out of range would. Range methods clamp a negative start to 0 and
// treat an empty or inverted range as empty.
package nexmark
