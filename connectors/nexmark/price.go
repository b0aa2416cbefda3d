package nexmark

import (
	"math/big"
	"math/bits"
	"sync"
)

// Prices are log-uniform: a base scaled by 2^x for a uniform x. They are
// computed in fixed point from a table of powers of two built with math/big,
// so every platform produces the same prices (a float Exp may differ in the
// last bit between architectures, and a truncated price with it), and no
// transcendental function runs per row.

const (
	pow2Bits  = 10 // table steps per doubling: 2^pow2Bits
	pow2Steps = 1 << pow2Bits
	pow2One   = 52 // pow2Table entries are scaled by 2^pow2One
	// Fixed-point exponents have 32 fractional bits.
	log2Of1e6 = 85605435163 // round(log2(10^6) * 2^32)
	log2Of10  = 14267572527 // round(log2(10) * 2^32)
)

// pow2Table returns round(2^(i/pow2Steps) * 2^pow2One) for i in
// [0, pow2Steps].
var pow2Table = sync.OnceValue(func() *[pow2Steps + 1]uint64 {
	const prec = 128
	// roots[j] = 2^(2^-(j+1)), by repeated square roots of 2.
	var roots [pow2Bits]*big.Float
	r := new(big.Float).SetPrec(prec).SetInt64(2)
	for j := range roots {
		r = new(big.Float).SetPrec(prec).Sqrt(r)
		roots[j] = r
	}
	var t [pow2Steps + 1]uint64
	scale := new(big.Float).SetPrec(prec).SetMantExp(big.NewFloat(1), pow2One)
	half := big.NewFloat(0.5)
	for i := range pow2Steps {
		v := new(big.Float).SetPrec(prec).SetInt64(1)
		for j := range pow2Bits {
			if i&(1<<(pow2Bits-1-j)) != 0 {
				v.Mul(v, roots[j])
			}
		}
		v.Mul(v, scale).Add(v, half)
		t[i], _ = v.Uint64()
	}
	t[pow2Steps] = 2 << pow2One
	return &t
})

// uniformExp returns a fixed-point exponent uniform in [0, span) for a
// fixed-point span (32 fractional bits).
func uniformExp(r *rng, span uint64) uint64 {
	hi, lo := bits.Mul64(r.next()>>32, span)
	return hi<<32 | lo>>32
}

// scalePow2 returns about m * 2^(x/2^32), for m*2^x below 2^63 and
// x below 2^32 * 40, interpolating linearly between table entries (relative
// error below 1e-7). t is pow2Table(), passed in so the hot path does not
// go through the sync.OnceValue.
func scalePow2(t *[pow2Steps + 1]uint64, m, x uint64) uint64 {
	k := x >> 32
	f := x & (1<<32 - 1)
	const remBits = 32 - pow2Bits
	i := f >> remBits
	rem := f & (1<<remBits - 1)
	dh, dl := bits.Mul64(t[i+1]-t[i], rem)
	p := t[i] + (dh<<(64-remBits) | dl>>remBits)
	hi, lo := bits.Mul64(m, p)
	s := pow2One - k
	return hi<<(64-s) | lo>>s
}
