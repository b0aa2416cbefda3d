package nexmark

import "fmt"

// Kind is the kind of a Nexmark event.
type Kind uint8

const (
	// KindPerson is a new person (event id % 50 == 0).
	KindPerson Kind = iota
	// KindAuction is a new auction (event id % 50 in 1..3).
	KindAuction
	// KindBid is a bid on an auction (event id % 50 in 4..49).
	KindBid
)

// String returns the lowercase name of the kind, as used for table names.
func (k Kind) String() string {
	switch k {
	case KindPerson:
		return "person"
	case KindAuction:
		return "auction"
	case KindBid:
		return "bid"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// The proportions of the kinds within every block of totalProportion
// consecutive event ids: one person, then three auctions, then 46 bids.
const (
	personProportion  = 1
	auctionProportion = 3
	bidProportion     = 46
	totalProportion   = personProportion + auctionProportion + bidProportion

	firstAuctionOffset = personProportion
	firstBidOffset     = personProportion + auctionProportion
)

// KindOf returns the kind of the event with the given (non-negative) event
// id.
func KindOf(eventID int64) Kind {
	switch off := eventID % totalProportion; {
	case off < firstAuctionOffset:
		return KindPerson
	case off < firstBidOffset:
		return KindAuction
	default:
		return KindBid
	}
}

// EventsForKind returns how many of the event ids in [from, to) are of the
// given kind. Negative bounds are clamped to 0. With Config.FirstEventID 0,
// event ids and event numbers coincide; otherwise use Generator.Count.
func EventsForKind(kind Kind, from, to int64) int64 {
	from, to = max(from, 0), max(to, 0)
	if to <= from {
		return 0
	}
	return kindBefore(kind, to) - kindBefore(kind, from)
}

// kindBefore counts the event ids in [0, x) of the given kind.
func kindBefore(kind Kind, x int64) int64 {
	epochs, off := x/totalProportion, x%totalProportion
	switch kind {
	case KindPerson:
		return epochs*personProportion + min(off, personProportion)
	case KindAuction:
		return epochs*auctionProportion + min(max(off-firstAuctionOffset, 0), auctionProportion)
	case KindBid:
		return epochs*bidProportion + max(off-firstBidOffset, 0)
	}
	return 0
}
