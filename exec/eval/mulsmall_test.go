package eval

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TestMulSmall checks the int64 fast path of decimal multiplication
// against exact big-integer arithmetic with Postgres rounding (half away
// from zero), including values at the edges of int64.
func TestMulSmall(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := []int64{0, 1, -1, 5, -5, 15, -15, 908, math.MaxInt64, math.MinInt64, math.MaxInt32, 1 << 40, -(1 << 40)}
	for range 2000 {
		vals = append(vals, r.Int64N(1<<uint(r.IntN(62)+1))*int64(1-2*r.IntN(2)))
	}
	for i := range 20000 {
		x, y := vals[r.IntN(len(vals))], vals[r.IntN(len(vals))]
		if i < len(vals) {
			x = vals[i]
		}
		s := int32(r.IntN(8))
		scale := int32(r.IntN(12))
		got, ok := mulSmall(decimal128.FromI64(x), decimal128.FromI64(y), s, scale)
		p := new(big.Int).Mul(big.NewInt(x), big.NewInt(y))
		if scale >= s {
			p.Mul(p, pow10Big(scale-s))
		} else {
			p = divRound(p, pow10Big(s-scale))
		}
		if !ok {
			if p.IsInt64() && x != math.MinInt64 && y != math.MinInt64 && new(big.Int).Mul(big.NewInt(x), big.NewInt(y)).IsInt64() && scale <= s {
				t.Fatalf("mulSmall(%d, %d, %d, %d) declined a product that fits", x, y, s, scale)
			}
			continue
		}
		if want := decimal128.FromBigInt(p); got != want {
			t.Fatalf("mulSmall(%d, %d, %d, %d) = %v, want %v", x, y, s, scale, got.BigInt(), p)
		}
	}
}
