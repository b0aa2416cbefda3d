package nexmark

// FirstPersonID and FirstAuctionID are the ids of the first person and the
// first auction; ids count up from there without gaps.
const (
	FirstPersonID  = 1000
	FirstAuctionID = 1000
	// FirstCategory is the lowest auction category; there are NumCategories.
	FirstCategory = 10
	NumCategories = 5
)

// hotRatio spaces hot ids: the hot seller is the newest person whose
// zero-based id is a multiple of hotRatio, the hot bidder the newest one
// that is one more than a multiple, and the hot auction likewise.
const hotRatio = 100

// lastPerson returns the zero-based id of the newest person whose event id
// is at most e. Event 0 is a person, so it is never negative.
func lastPerson(e int64) int64 {
	return e / totalProportion
}

// lastAuction returns the zero-based id of the newest auction whose event
// id is at most e, or -1 before the first auction.
func lastAuction(e int64) int64 {
	epoch, off := e/totalProportion, e%totalProportion
	switch {
	case off < firstAuctionOffset:
		return epoch*auctionProportion - 1
	case off < firstBidOffset:
		return epoch*auctionProportion + off - firstAuctionOffset
	default:
		return epoch*auctionProportion + auctionProportion - 1
	}
}

// auctionEvent returns the event id of the auction with zero-based id a.
func auctionEvent(a int64) int64 {
	return a/auctionProportion*totalProportion + firstAuctionOffset + a%auctionProportion
}

// hotSeller, hotBidder and hotAuction return the current hot zero-based id
// given the newest existing one; they never exceed it.
func hotSeller(last int64) int64 { return last / hotRatio * hotRatio }

func hotBidder(last int64) int64 {
	if last < 1 {
		return 0
	}
	return (last-1)/hotRatio*hotRatio + 1
}

func hotAuction(last int64) int64 { return last / hotRatio * hotRatio }
