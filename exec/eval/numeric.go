package eval

import (
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// Errors of evaluation, with Postgres's SQLSTATEs and texts.
var (
	errDivByZero       = pgerror.New(pgerror.CodeDivisionByZero, "division by zero")
	errNumericOverflow = pgerror.New(pgerror.CodeNumericValueOutOfRange, "numeric field overflow").
				WithDetail("A field with precision 38 cannot hold this value.")
	errFloatOverflow  = pgerror.New(pgerror.CodeNumericValueOutOfRange, "value out of range: overflow")
	errFloatUnderflow = pgerror.New(pgerror.CodeNumericValueOutOfRange, "value out of range: underflow")
	errIntervalRange  = pgerror.New(pgerror.CodeDatetimeFieldOverflow, "interval out of range")
	errTsRange        = pgerror.New(pgerror.CodeDatetimeFieldOverflow, "timestamp out of range")
)

// outOfRange returns the Postgres error for an integer result that does
// not fit its type.
func outOfRange(t catalog.Type) error {
	switch t.ID {
	case catalog.Int2:
		return pgerror.New(pgerror.CodeNumericValueOutOfRange, "smallint out of range")
	case catalog.Int4:
		return pgerror.New(pgerror.CodeNumericValueOutOfRange, "integer out of range")
	case catalog.Int8:
		return pgerror.New(pgerror.CodeNumericValueOutOfRange, "bigint out of range")
	case catalog.Numeric:
		return errNumericOverflow
	case catalog.Float4, catalog.Float8:
		return errFloatOverflow
	}
	return pgerror.New(pgerror.CodeNumericValueOutOfRange, "%s out of range", t)
}

var maxDecimal = decimal128.GetMaxValue(catalog.NumericPrecision)

func decFits(n decimal128.Num) bool { return n.Abs().LessEqual(maxDecimal) && n.Abs().Sign() >= 0 }

var bigTen = big.NewInt(10)

func pow10Big(n int32) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// divRound returns a/b rounded half away from zero (b != 0).
func divRound(a, b *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(a, b, new(big.Int))
	if r.Sign() != 0 {
		r2 := new(big.Int).Abs(r)
		r2.Lsh(r2, 1)
		if r2.Cmp(new(big.Int).Abs(b)) >= 0 {
			if (a.Sign() < 0) != (b.Sign() < 0) {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	return q
}

// bigToDec converts a big integer to a 38-digit decimal, or fails with
// numeric field overflow.
func bigToDec(b *big.Int) (decimal128.Num, error) {
	if b.BitLen() > 127 {
		return decimal128.Num{}, errNumericOverflow
	}
	n := decimal128.FromBigInt(b)
	if !decFits(n) {
		return decimal128.Num{}, errNumericOverflow
	}
	return n, nil
}

// rescaleDecimal changes a decimal's scale, rounding half away from zero
// as Postgres does.
func rescaleDecimal(n decimal128.Num, from, to int32) (decimal128.Num, error) {
	if from == to {
		return n, nil
	}
	if to > from {
		d := to - from
		if d <= 38 {
			m := decimal128.GetScaleMultiplier(int(d))
			// Fast path: small values multiply without overflow.
			if n.HighBits() == 0 && n.LowBits() < 1<<63 && d <= 18 {
				hi, lo := mul64(n.LowBits(), m.LowBits())
				r := decimal128.New(int64(hi), lo)
				if hi < 1<<62 && decFits(r) {
					return r, nil
				}
			}
		}
		return bigToDec(new(big.Int).Mul(n.BigInt(), pow10Big(d)))
	}
	return bigToDec(divRound(n.BigInt(), pow10Big(from-to)))
}

// pow10u64 holds 10^0 .. 10^19.
var pow10u64 = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// int64Of returns n as an int64 if it fits.
func int64Of(n decimal128.Num) (int64, bool) {
	lo := n.LowBits()
	switch n.HighBits() {
	case 0:
		return int64(lo), lo < 1<<63
	case -1:
		return int64(lo), lo >= 1<<63
	}
	return 0, false
}

// mulSmall multiplies unscaled decimals x and y, whose product has scale
// s, and rescales the product to scale, rounding half away from zero: the
// result of the exact path whenever the product and the result fit in an
// int64. ok is false otherwise.
func mulSmall(x, y decimal128.Num, s, scale int32) (r decimal128.Num, ok bool) {
	xi, ok1 := int64Of(x)
	yi, ok2 := int64Of(y)
	if !ok1 || !ok2 {
		return r, false
	}
	neg := (xi < 0) != (yi < 0)
	hi, p := bits.Mul64(absU64(xi), absU64(yi))
	if hi != 0 || p >= 1<<63 {
		return r, false
	}
	switch d := scale - s; {
	case d > 0:
		if d >= int32(len(pow10u64)) {
			return r, false
		}
		if hi, p = bits.Mul64(p, pow10u64[d]); hi != 0 || p >= 1<<63 {
			return r, false
		}
	case d < 0:
		if -d >= int32(len(pow10u64)) {
			return r, false
		}
		m := pow10u64[-d]
		q, rem := p/m, p%m
		if rem >= m-rem { // 2*rem >= m: round half away from zero
			q++
		}
		p = q
	}
	v := int64(p)
	if neg {
		v = -v
	}
	return decimal128.FromI64(v), true
}

func absU64(v int64) uint64 {
	if v < 0 {
		return uint64(-v) // -MinInt64 wraps to 1<<63, its magnitude
	}
	return uint64(v)
}

func mul64(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t & mask32
	w2 := t >> 32
	w1 += a0 * b1
	hi = a1*b1 + w2 + w1>>32
	lo = a * b
	return
}

// normDecimal strips trailing fraction zeros so equal values compare
// equal as map keys.
func normDecimal(d catalog.Decimal) catalog.Decimal {
	if d.Num.Sign() == 0 {
		return catalog.Decimal{}
	}
	ten := decimal128.FromI64(10)
	for d.Scale > 0 {
		q, r := d.Num.Div(ten)
		if r.Sign() != 0 {
			break
		}
		d.Num, d.Scale = q, d.Scale-1
	}
	return d
}

func cmpDecimal(a, b catalog.Decimal) int {
	if a.Scale == b.Scale {
		return a.Num.Cmp(b.Num)
	}
	s := max(a.Scale, b.Scale)
	x, err1 := rescaleDecimal(a.Num, a.Scale, s)
	y, err2 := rescaleDecimal(b.Num, b.Scale, s)
	if err1 != nil || err2 != nil {
		return a.Num.ToBigFloat(a.Scale).Cmp(b.Num.ToBigFloat(b.Scale))
	}
	return x.Cmp(y)
}

func decAdd(a, b catalog.Decimal, scale int32, sub bool) (catalog.Decimal, error) {
	x, err := rescaleDecimal(a.Num, a.Scale, max(a.Scale, b.Scale))
	if err != nil {
		return catalog.Decimal{}, err
	}
	y, err := rescaleDecimal(b.Num, b.Scale, max(a.Scale, b.Scale))
	if err != nil {
		return catalog.Decimal{}, err
	}
	var r decimal128.Num
	if sub {
		r = x.Sub(y)
	} else {
		r = x.Add(y)
	}
	if !decFits(r) || (x.Sign() == y.Sign() != sub && r.Sign() != 0 && r.Sign() != x.Sign()) {
		return catalog.Decimal{}, errNumericOverflow
	}
	r, err = rescaleDecimal(r, max(a.Scale, b.Scale), scale)
	return catalog.Decimal{Num: r, Scale: scale}, err
}

func decMul(a, b catalog.Decimal, scale int32) (catalog.Decimal, error) {
	if r, ok := mulSmall(a.Num, b.Num, a.Scale+b.Scale, scale); ok {
		return catalog.Decimal{Num: r, Scale: scale}, nil
	}
	p := new(big.Int).Mul(a.Num.BigInt(), b.Num.BigInt())
	s := a.Scale + b.Scale
	if scale >= s {
		p.Mul(p, pow10Big(scale-s))
	} else {
		p = divRound(p, pow10Big(s-scale))
	}
	n, err := bigToDec(p)
	return catalog.Decimal{Num: n, Scale: scale}, err
}

func decDiv(a, b catalog.Decimal, scale int32) (catalog.Decimal, error) {
	if b.Num.Sign() == 0 {
		return catalog.Decimal{}, errDivByZero
	}
	// a/b at scale: a * 10^(scale + sb - sa) / b.
	num := a.Num.BigInt()
	e := scale + b.Scale - a.Scale
	den := b.Num.BigInt()
	if e >= 0 {
		num.Mul(num, pow10Big(e))
	} else {
		den.Mul(den, pow10Big(-e))
	}
	n, err := bigToDec(divRound(num, den))
	return catalog.Decimal{Num: n, Scale: scale}, err
}

func decMod(a, b catalog.Decimal, scale int32) (catalog.Decimal, error) {
	if b.Num.Sign() == 0 {
		return catalog.Decimal{}, errDivByZero
	}
	s := max(a.Scale, b.Scale)
	x := new(big.Int).Mul(a.Num.BigInt(), pow10Big(s-a.Scale))
	y := new(big.Int).Mul(b.Num.BigInt(), pow10Big(s-b.Scale))
	r := new(big.Int).Rem(x, y)
	n, err := bigToDec(r)
	if err != nil {
		return catalog.Decimal{}, err
	}
	n, err = rescaleDecimal(n, s, scale)
	return catalog.Decimal{Num: n, Scale: scale}, err
}

// decFromInt converts an integer to a decimal of the given scale.
func decFromInt(v int64, scale int32) (catalog.Decimal, error) {
	n, err := rescaleDecimal(decimal128.FromI64(v), 0, scale)
	return catalog.Decimal{Num: n, Scale: scale}, err
}

// decFromFloat converts a float to a decimal of the given scale, rounding
// half away from zero (through the shortest decimal text of the float, as
// Postgres converts float8 to numeric).
func decFromFloat(f float64, scale int32) (catalog.Decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return catalog.Decimal{}, pgerror.New(pgerror.CodeFeatureNotSupported, "cannot convert %s to numeric", formatFloat(f, 64))
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', 15, 64))
	if !ok {
		return catalog.Decimal{}, errNumericOverflow
	}
	r.Mul(r, new(big.Rat).SetInt(pow10Big(scale)))
	n, err := bigToDec(divRound(r.Num(), r.Denom()))
	return catalog.Decimal{Num: n, Scale: scale}, err
}

// decToInt rounds a decimal half away from zero to an integer.
func decToInt(d catalog.Decimal) (*big.Int, bool) {
	b := divRound(d.Num.BigInt(), pow10Big(d.Scale))
	return b, b.IsInt64()
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// intervalKey is a comparable key for an interval that equals for equal
// spans (Postgres compares intervals as 30-day months and 24-hour days).
func intervalKey(iv arrow.MonthDayNanoInterval) [2]int64 {
	return intervalSpan(iv)
}

// intervalSpan returns the interval as a 128-bit count of nanoseconds
// (hi, lo) with months of 30 days and days of 24 hours.
func intervalSpan(iv arrow.MonthDayNanoInterval) [2]int64 {
	days := int64(iv.Months)*30 + int64(iv.Days)
	b := new(big.Int).Mul(big.NewInt(days), big.NewInt(86400e9))
	b.Add(b, big.NewInt(iv.Nanoseconds))
	n := decimal128.FromBigInt(b)
	return [2]int64{n.HighBits(), int64(n.LowBits())}
}

func cmpInterval(a, b arrow.MonthDayNanoInterval) int {
	if a == b {
		return 0
	}
	x, y := intervalSpan(a), intervalSpan(b)
	return decimal128.New(x[0], uint64(x[1])).Cmp(decimal128.New(y[0], uint64(y[1])))
}
