package nexmark

import "math/bits"

// rng is a splitmix64 stream. Each event gets its own, seeded from a hash of
// the generator's seed and the event id, so no state crosses events.
type rng struct{ s uint64 }

const (
	golden   = 0x9e3779b97f4a7c15 // splitmix64 increment
	idStride = 0xd1b54a32d192ed03 // odd multiplier spreading event ids
)

// mix64 is the splitmix64 finalizer: a bijective avalanche of a 64-bit word.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *rng) next() uint64 {
	r.s += golden
	return mix64(r.s)
}

// intn returns a uniform value in [0, n) for n > 0 (multiply-high, whose
// bias is below 2^-40 for the small n used here).
func (r *rng) intn(n int64) int64 {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}
