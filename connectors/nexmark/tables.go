package nexmark

import "strconv"

// Word lists the generator draws from. Cities come with their states, so a
// person's address is plausible; the states include OR, ID and CA, which
// Nexmark's q3 filters on.
var (
	firstNames = []string{
		"Ada", "Ben", "Clara", "Dev", "Elena", "Farid", "Greta", "Hugo",
		"Iris", "Jonas", "Kira", "Liam", "Maya", "Noor", "Oscar", "Priya",
	}
	lastNames = []string{
		"Abbott", "Barros", "Chen", "Dufour", "Eriksen", "Fischer", "Garcia", "Haddad",
		"Ivanova", "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Patel",
	}
	cityStates = [][2]string{
		{"Phoenix", "AZ"}, {"Tucson", "AZ"},
		{"Los Angeles", "CA"}, {"San Francisco", "CA"},
		{"Boise", "ID"}, {"Idaho Falls", "ID"},
		{"Portland", "OR"}, {"Bend", "OR"},
		{"Seattle", "WA"}, {"Spokane", "WA"},
		{"Cheyenne", "WY"}, {"Laramie", "WY"},
	}
	hotChannels = []string{"Apple", "Google", "Facebook", "Baidu"}
)

const (
	// numChannels is the number of numbered (cold) channels.
	numChannels = 10_000
	// coldChannelRatio: one bid in coldChannelRatio uses a numbered channel.
	coldChannelRatio = 100
	// lettersLen is the span random strings start in; the table holds
	// lettersLen+maxString letters so every slice is in bounds.
	lettersLen = 1 << 16
	maxString  = 1 << 10
	urlPrefix  = "https://www.nexmark.com/"
)

// table is a list of byte strings in one arena: a cheap source of column
// values, appended to builders without conversion or allocation.
type table struct {
	data []byte
	ends []int32
}

func (t *table) add(parts ...string) {
	for _, p := range parts {
		t.data = append(t.data, p...)
	}
	t.ends = append(t.ends, int32(len(t.data)))
}

func (t *table) get(i int64) []byte {
	var start int32
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.data[start:t.ends[i]:t.ends[i]]
}

// size returns the length of string i.
func (t *table) size(i int64) int {
	var start int32
	if i > 0 {
		start = t.ends[i-1]
	}
	return int(t.ends[i] - start)
}

func (t *table) len() int64 { return int64(len(t.ends)) }

// tables are the generator's precomputed strings, derived from the seed.
type tables struct {
	letters []byte // random lowercase letters
	names   table  // every "First Last" combination
	cities  table
	states  table
	chans   table // hot channels first, then channel-0 .. channel-9999
	urls    table // the URL of each channel

	hotURLLen int // the length of a hot channel's URL
	pow2      *[pow2Steps + 1]uint64
}

func newTables(seedKey uint64) *tables {
	t := &tables{pow2: pow2Table()}
	r := rng{s: mix64(seedKey ^ 0x6c6574746572735f)}
	t.letters = make([]byte, lettersLen+maxString)
	for i := range t.letters {
		t.letters[i] = 'a' + byte(r.intn(26))
	}
	for _, f := range firstNames {
		for _, l := range lastNames {
			t.names.add(f, " ", l)
		}
	}
	for _, cs := range cityStates {
		t.cities.add(cs[0])
		t.states.add(cs[1])
	}
	// URLs are written straight into the arena: three random path segments,
	// then for most numbered channels a channel_id naming the channel.
	var num [20]byte
	addURL := func(channelID int) {
		t.urls.data = append(t.urls.data, urlPrefix...)
		for range 3 {
			t.urls.data = append(t.urls.data, t.randString(&r, 5)...)
			t.urls.data = append(t.urls.data, '/')
		}
		t.urls.data = append(t.urls.data, "item.htm?query=1"...)
		if channelID >= 0 {
			t.urls.data = append(t.urls.data, "&channel_id="...)
			t.urls.data = append(t.urls.data, strconv.AppendInt(num[:0], int64(channelID), 10)...)
		}
		t.urls.ends = append(t.urls.ends, int32(len(t.urls.data)))
	}
	t.chans.data = make([]byte, 0, numChannels*14)
	t.chans.ends = make([]int32, 0, len(hotChannels)+numChannels)
	t.urls.data = make([]byte, 0, (len(hotChannels)+numChannels)*75)
	t.urls.ends = make([]int32, 0, len(hotChannels)+numChannels)
	for _, c := range hotChannels {
		t.chans.add(c)
		addURL(-1)
	}
	t.hotURLLen = len(t.urls.get(0))
	for i := range numChannels {
		t.chans.data = append(t.chans.data, "channel-"...)
		t.chans.data = strconv.AppendInt(t.chans.data, int64(i), 10)
		t.chans.ends = append(t.chans.ends, int32(len(t.chans.data)))
		if r.intn(10) > 0 {
			addURL(i)
		} else {
			addURL(-1)
		}
	}
	return t
}

// randString returns n (at most maxString) random letters from the table;
// the result aliases the table and must not be modified.
func (t *tables) randString(r *rng, n int64) []byte {
	off := r.intn(lettersLen)
	return t.letters[off : off+n : off+n]
}

// extraLen returns the length of the padding that brings a row of fixed
// bytes to about target bytes on average: the shortfall ±20%, or 0.
func extraLen(r *rng, fixed, target int) int64 {
	want := int64(target - fixed)
	if want <= 0 {
		return 0
	}
	delta := want / 5
	return min(want-delta+r.intn(2*delta+1), maxString)
}
