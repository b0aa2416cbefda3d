package nexmark

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func newGen(t testing.TB, cfg Config) *Generator {
	t.Helper()
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func checkedMem(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// events converts a batch of the given kind to Events and releases it.
func events(t *testing.T, kind Kind, rec arrow.RecordBatch) []Event {
	t.Helper()
	defer rec.Release()
	if !rec.Schema().Equal(Schema(kind)) {
		t.Fatalf("schema %v, want %v", rec.Schema(), Schema(kind))
	}
	return eventsNoCheck(rec, kind)
}

// eventsNoCheck converts a batch of the given kind to Events; safe to call
// off the test goroutine.
func eventsNoCheck(rec arrow.RecordBatch, kind Kind) []Event {
	i64 := func(c int) *array.Int64 { return rec.Column(c).(*array.Int64) }
	str := func(c int) *array.String { return rec.Column(c).(*array.String) }
	ts := func(c, i int) time.Time {
		return time.UnixMicro(int64(rec.Column(c).(*array.Timestamp).Value(i))).UTC()
	}
	out := make([]Event, rec.NumRows())
	for i := range out {
		out[i].Kind = kind
		switch kind {
		case KindPerson:
			out[i].Person = Person{
				ID: i64(0).Value(i), Name: str(1).Value(i), EmailAddress: str(2).Value(i),
				CreditCard: str(3).Value(i), City: str(4).Value(i), State: str(5).Value(i),
				DateTime: ts(6, i), Extra: str(7).Value(i),
			}
		case KindAuction:
			out[i].Auction = Auction{
				ID: i64(0).Value(i), ItemName: str(1).Value(i), Description: str(2).Value(i),
				InitialBid: i64(3).Value(i), Reserve: i64(4).Value(i),
				DateTime: ts(5, i), Expires: ts(6, i),
				Seller: i64(7).Value(i), Category: i64(8).Value(i), Extra: str(9).Value(i),
			}
		case KindBid:
			out[i].Bid = Bid{
				Auction: i64(0).Value(i), Bidder: i64(1).Value(i), Price: i64(2).Value(i),
				Channel: str(3).Value(i), URL: str(4).Value(i),
				DateTime: ts(5, i), Extra: str(6).Value(i),
			}
		}
	}
	return out
}

// eventsOf returns Event(n) for the events of the kind in [from, to).
func eventsOf(g *Generator, kind Kind, from, to int64) []Event {
	var out []Event
	for n := from; n < to; n++ {
		if g.Kind(n) == kind {
			out = append(out, g.Event(n))
		}
	}
	return out
}

func equalEvents(t *testing.T, what string, got, want []Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: event %d differs:\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

var kinds = []Kind{KindPerson, KindAuction, KindBid}
