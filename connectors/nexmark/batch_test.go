package nexmark

import (
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestSchemas(t *testing.T) {
	want := map[Kind]string{
		KindPerson:  "id:int64 name:utf8 email_address:utf8 credit_card:utf8 city:utf8 state:utf8 date_time:timestamp[us] extra:utf8",
		KindAuction: "id:int64 item_name:utf8 description:utf8 initial_bid:int64 reserve:int64 date_time:timestamp[us] expires:timestamp[us] seller:int64 category:int64 extra:utf8",
		KindBid:     "auction:int64 bidder:int64 price:int64 channel:utf8 url:utf8 date_time:timestamp[us] extra:utf8",
	}
	for k, w := range want {
		var parts []string
		for _, f := range Schema(k).Fields() {
			parts = append(parts, f.Name+":"+f.Type.String())
			if ts, ok := f.Type.(*arrow.TimestampType); ok && ts.TimeZone != "" {
				t.Errorf("%v.%s has time zone %q", k, f.Name, ts.TimeZone)
			}
		}
		if got := strings.Join(parts, " "); got != w {
			t.Errorf("%v schema\n got %s\nwant %s", k, got, w)
		}
	}
	if Schema(Kind(9)) != nil {
		t.Error("Schema of an unknown kind is not nil")
	}
}

// TestMaxBatchRows checks that capped batches, chained through next, cover
// a range exactly once.
func TestMaxBatchRows(t *testing.T) {
	mem := checkedMem(t)
	for _, limit := range []int{1, 7, 46, 100} {
		g := newGen(t, Config{Seed: 6, MaxBatchRows: limit})
		for _, k := range kinds {
			var got []Event
			for n := int64(13); n < 2000; {
				rec, next := g.Batch(k, n, 2000, mem)
				if rec.NumRows() > int64(limit) || next <= n {
					t.Fatalf("limit %d %v: batch from %d has %d rows, next %d", limit, k, n, rec.NumRows(), next)
				}
				got = append(got, events(t, k, rec)...)
				n = next
			}
			equalEvents(t, "capped "+k.String(), got, eventsOf(g, k, 13, 2000))
		}
	}
}

func TestEmptyRanges(t *testing.T) {
	mem := checkedMem(t)
	g := newGen(t, Config{})
	for _, k := range kinds {
		for _, r := range [][2]int64{{10, 10}, {10, 5}, {-5, -1}, {1, 4}} {
			rec, next := g.Batch(k, r[0], r[1], mem)
			if r[0] >= 0 && next != max(r[0], r[1]) {
				t.Errorf("%v [%d,%d): next %d", k, r[0], r[1], next)
			}
			if k != KindAuction || r != [2]int64{1, 4} {
				if rec.NumRows() != 0 {
					t.Errorf("%v [%d,%d): %d rows", k, r[0], r[1], rec.NumRows())
				}
			}
			rec.Release()
		}
	}
	// A negative start is clamped to 0.
	rec, _ := g.Batch(KindPerson, -100, 1, mem)
	if evs := events(t, KindPerson, rec); len(evs) != 1 || evs[0].Person.ID != 1000 {
		t.Errorf("Batch(person, -100, 1) = %+v", evs)
	}
	if rec, next := g.Batch(Kind(9), 0, 10, mem); rec != nil || next != 0 {
		t.Errorf("unknown kind: %v, %d", rec, next)
	}
}

var (
	emailRE = regexp.MustCompile(`^[a-z]{7}@[a-z]{5}\.com$`)
	cardRE  = regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{4}$`)
	urlRE   = regexp.MustCompile(`^https://www\.nexmark\.com/[a-z]{5}/[a-z]{5}/[a-z]{5}/item\.htm\?query=1(&channel_id=(\d+))?$`)
	nameRE  = regexp.MustCompile(`^[A-Z][a-z]+ [A-Z][a-z]+$`)
)

func TestStrings(t *testing.T) {
	mem := checkedMem(t)
	g := newGen(t, Config{Seed: 7})
	p, a, b := g.Split(0, 500_000, mem)
	states := map[string]int{}
	var personBytes int
	persons := events(t, KindPerson, p)
	for _, ev := range persons {
		p := ev.Person
		if !emailRE.MatchString(p.EmailAddress) || !cardRE.MatchString(p.CreditCard) || !nameRE.MatchString(p.Name) {
			t.Fatalf("malformed person %+v", p)
		}
		states[p.State]++
		personBytes += 16 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State) + len(p.Extra)
	}
	for _, s := range []string{"OR", "ID", "CA"} {
		if states[s] < len(persons)/10 {
			t.Errorf("state %s on %d of %d persons", s, states[s], len(persons))
		}
	}
	checkAvg(t, "person", personBytes, len(persons), 200)
	var auctionBytes int
	auctions := events(t, KindAuction, a)
	for _, ev := range auctions {
		a := ev.Auction
		if a.Category < 10 || a.Category > 14 || a.ItemName == "" || a.Description == "" {
			t.Fatalf("malformed auction %+v", a)
		}
		auctionBytes += 7*8 + len(a.ItemName) + len(a.Description) + len(a.Extra)
	}
	checkAvg(t, "auction", auctionBytes, len(auctions), 500)
	hot := map[string]bool{"Apple": true, "Google": true, "Facebook": true, "Baidu": true}
	var hotN, withID int
	bids := events(t, KindBid, b)
	for _, ev := range bids {
		b := ev.Bid
		m := urlRE.FindStringSubmatch(b.URL)
		if m == nil {
			t.Fatalf("malformed url %q", b.URL)
		}
		switch {
		case hot[b.Channel]:
			hotN++
			if m[1] != "" {
				t.Fatalf("hot channel %s with channel_id: %q", b.Channel, b.URL)
			}
		case m[1] != "":
			withID++
			if b.Channel != "channel-"+m[2] {
				t.Fatalf("channel %q with url %q", b.Channel, b.URL)
			}
		case !strings.HasPrefix(b.Channel, "channel-"):
			t.Fatalf("unknown channel %q", b.Channel)
		}
	}
	if f := float64(hotN) / float64(len(bids)); f < 0.985 || f > 0.995 {
		t.Errorf("hot channels carry %.4f of bids, want ~0.99", f)
	}
	if cold := len(bids) - hotN; withID < cold*8/10 || withID > cold*95/100 {
		t.Errorf("%d of %d cold-channel bids carry a channel_id, want ~90%%", withID, cold)
	}
}

func checkAvg(t *testing.T, what string, bytes, rows, target int) {
	t.Helper()
	if avg := bytes / rows; avg < target*9/10 || avg > target*11/10 {
		t.Errorf("%s rows average %d bytes, want ~%d", what, avg, target)
	}
}

// TestConcurrent runs batches of one generator from several goroutines; run
// it with -race.
func TestConcurrent(t *testing.T) {
	mem := checkedMem(t)
	g := newGen(t, Config{Seed: 8})
	want := make([][]Event, len(kinds))
	for i, k := range kinds {
		rec, _ := g.Batch(k, 0, 3000, mem)
		want[i] = events(t, k, rec)
	}
	done := make(chan []Event, 4*len(kinds))
	for range 4 {
		for _, k := range kinds {
			go func() {
				rec, _ := g.Batch(k, 0, 3000, mem)
				evs := eventsNoCheck(rec, k)
				// Released before the test can end and check the memory.
				rec.Release()
				done <- evs
			}()
		}
	}
	for range 4 * len(kinds) {
		got := <-done
		equalEvents(t, "concurrent "+got[0].Kind.String(), got, want[got[0].Kind])
	}
}

func TestEventNegative(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Event(-1) did not panic")
		}
	}()
	newGen(t, Config{}).Event(-1)
}

// Bids generated for a reader of some columns have those columns' values;
// the string columns it does not use are empty.
func TestBatchColumns(t *testing.T) {
	g, err := NewGenerator(Config{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	full, next := g.Batch(KindBid, 1000, 30000, mem)
	defer full.Release()
	for _, cols := range [][]bool{
		{true, false, true, false, false, true, false},
		{false, false, false, false, true, true, false},
		{true, true, true, true, true, true, true},
	} {
		part, pnext := g.BatchColumns(KindBid, 1000, 30000, mem, cols)
		if pnext != next || part.NumRows() != full.NumRows() {
			t.Fatalf("%v: %d rows to %d, want %d to %d", cols, part.NumRows(), pnext, full.NumRows(), next)
		}
		for c := range cols {
			want := full.Column(c)
			if !cols[c] {
				if s, ok := part.Column(c).(*array.String); ok {
					if s.ValueLen(int(part.NumRows())-1) != 0 || s.Len() != want.Len() {
						t.Errorf("%v: unused column %d not empty", cols, c)
					}
					continue
				}
			}
			if !array.Equal(part.Column(c), want) {
				t.Errorf("%v: column %d differs", cols, c)
			}
		}
		part.Release()
	}
	// Other kinds, and no flags, are Batch.
	a, _ := g.BatchColumns(KindAuction, 0, 1000, mem, []bool{true})
	b, _ := g.Batch(KindAuction, 0, 1000, mem)
	if !array.RecordEqual(a, b) {
		t.Error("auctions differ")
	}
	a.Release()
	b.Release()
}

// A batch of event times only has Batch's rows and times, and nothing
// else, for every kind and with MaxBatchRows.
func TestBatchTimes(t *testing.T) {
	for _, max := range []int{0, 700} {
		g, err := NewGenerator(Config{Seed: 9, MaxBatchRows: max})
		if err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		for _, k := range []Kind{KindPerson, KindAuction, KindBid} {
			full, next := g.Batch(k, 500, 21000, mem)
			times, tnext := g.BatchTimes(k, 500, 21000, mem)
			if tnext != next || times.NumRows() != full.NumRows() || !times.Schema().Equal(full.Schema()) {
				t.Fatalf("%v max %d: %d rows to %d, want %d to %d", k, max, times.NumRows(), tnext, full.NumRows(), next)
			}
			for c, f := range full.Schema().Fields() {
				same := array.Equal(times.Column(c), full.Column(c))
				if f.Name == "date_time" && !same {
					t.Errorf("%v max %d: event times differ", k, max)
				}
				if f.Name != "date_time" && same {
					t.Errorf("%v max %d: column %s was generated", k, max, f.Name)
				}
			}
			full.Release()
			times.Release()
		}
		mem.AssertSize(t, 0)
	}
}
