package eval

import (
	"bytes"
	"cmp"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
)

// cmpFloat orders floats as Postgres does: NaN equals NaN and sorts above
// every other value, -0 equals 0.
func cmpFloat[T float32 | float64](x, y T) int {
	if x < y {
		return -1
	}
	if x > y {
		return 1
	}
	if x == y {
		return 0
	}
	xn, yn := x != x, y != y
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	}
	return -1
}

// CompareValues compares two non-NULL values of type t (catalog Go value
// convention) with Postgres ordering: byte order for text (C collation),
// NaN above all floats, intervals by span. It is exported for the
// executor's sorts and joins.
func CompareValues(t catalog.Type, a, b any) int {
	switch x := a.(type) {
	case int64:
		y, _ := asInt64(b)
		return cmp.Compare(x, y)
	case float64:
		y, _ := b.(float64)
		return cmpFloat(x, y)
	case string:
		switch y := b.(type) {
		case string:
			return strings.Compare(x, y)
		case []byte:
			return strings.Compare(x, string(y))
		}
	case []byte:
		switch y := b.(type) {
		case []byte:
			return bytes.Compare(x, y)
		case string:
			return strings.Compare(string(x), y)
		}
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case int32:
		switch y := b.(type) {
		case int32:
			return cmp.Compare(x, y)
		case int64:
			return cmp.Compare(int64(x), y)
		}
	case catalog.Decimal:
		y, _ := b.(catalog.Decimal)
		return cmpDecimal(x, y)
	case arrow.MonthDayNanoInterval:
		y, _ := b.(arrow.MonthDayNanoInterval)
		return cmpInterval(x, y)
	}
	return 0
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opLT
	opLE
	opGT
	opGE
)

func cmpOpOf(name string) (cmpOp, bool) {
	switch name {
	case "=":
		return opEQ, true
	case "<>":
		return opNE, true
	case "<":
		return opLT, true
	case "<=":
		return opLE, true
	case ">":
		return opGT, true
	case ">=":
		return opGE, true
	}
	return 0, false
}

func (o cmpOp) test(c int) bool {
	switch o {
	case opEQ:
		return c == 0
	case opNE:
		return c != 0
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	}
	return c >= 0
}

// cmpOrdered sets bit i of out where a[i] op b[i], for ordered types
// without NaN semantics.
func cmpOrdered[T int16 | int32 | int64 | arrow.Date32 | arrow.Timestamp](op cmpOp, a, b []T, out []byte) {
	n := len(a)
	b = b[:n]
	switch op {
	case opEQ:
		for i := 0; i < n; i++ {
			if a[i] == b[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opNE:
		for i := 0; i < n; i++ {
			if a[i] != b[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opLT:
		for i := 0; i < n; i++ {
			if a[i] < b[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opLE:
		for i := 0; i < n; i++ {
			if a[i] <= b[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opGT:
		for i := 0; i < n; i++ {
			if a[i] > b[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opGE:
		for i := 0; i < n; i++ {
			if a[i] >= b[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	}
}

// cmpOrderedConst is cmpOrdered against a constant.
func cmpOrderedConst[T int32 | int64](op cmpOp, a []T, c T, out []byte) {
	n := len(a)
	switch op {
	case opEQ:
		for i := 0; i < n; i++ {
			if a[i] == c {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opNE:
		for i := 0; i < n; i++ {
			if a[i] != c {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opLT:
		for i := 0; i < n; i++ {
			if a[i] < c {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opLE:
		for i := 0; i < n; i++ {
			if a[i] <= c {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opGT:
		for i := 0; i < n; i++ {
			if a[i] > c {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case opGE:
		for i := 0; i < n; i++ {
			if a[i] >= c {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	}
}

func cmpFloats[T float32 | float64](op cmpOp, a, b []T, out []byte) {
	n := len(a)
	b = b[:n]
	for i := 0; i < n; i++ {
		if op.test(cmpFloat(a[i], b[i])) {
			out[i>>3] |= 1 << (i & 7)
		}
	}
}

// compareVecs evaluates a comparison of two vecs of type t (both non-NULL
// constants or arrays) into a Boolean array.
func compareVecs(alloc memory.Allocator, op cmpOp, t catalog.Type, a, b vec, n int) arrow.Array {
	valid, nulls := andValidity(alloc, n, a, b)
	vals := newBitmap(alloc, n, false)
	out := vals.Bytes()
	switch t.ID {
	case catalog.Int2:
		cmpOrdered(op, fixedValues(a, convInt[int16]), fixedValues(b, convInt[int16]), out)
	case catalog.Int8:
		if a.arr != nil && b.arr == nil {
			cmpOrderedConst(op, a.arr.(*array.Int64).Int64Values(), convInt[int64](b.c), out)
			break
		}
		cmpOrdered(op, fixedValues(a, convInt[int64]), fixedValues(b, convInt[int64]), out)
	case catalog.Int4:
		if a.arr != nil && b.arr == nil {
			cmpOrderedConst(op, a.arr.(*array.Int32).Int32Values(), convInt[int32](b.c), out)
			break
		}
		cmpOrdered(op, fixedValues(a, convInt[int32]), fixedValues(b, convInt[int32]), out)
	case catalog.Timestamp, catalog.TimestampTZ:
		cmpOrdered(op, fixedValues(a, convTs), fixedValues(b, convTs), out)
	case catalog.Date:
		cmpOrdered(op, fixedValues(a, convDate), fixedValues(b, convDate), out)
	case catalog.Float4:
		cmpFloats(op, fixedValues(a, convFloat[float32]), fixedValues(b, convFloat[float32]), out)
	case catalog.Float8:
		cmpFloats(op, fixedValues(a, convFloat[float64]), fixedValues(b, convFloat[float64]), out)
	case catalog.Text, catalog.Varchar, catalog.Unknown:
		cmpStrings(op, a, b, n, out)
	case catalog.Numeric:
		if cmpDecimals(op, t, a, b, n, out) {
			break
		}
		fallthrough
	default:
		for i := 0; i < n; i++ {
			if !validAt(valid, i) {
				continue
			}
			if op.test(CompareValues(t, a.value(t, i), b.value(t, i))) {
				bitutil.SetBit(out, i)
			}
		}
	}
	return boolArray(n, vals, valid, nulls)
}

func convTs(c any) arrow.Timestamp { x, _ := asInt64(c); return arrow.Timestamp(x) }

func convDate(c any) arrow.Date32 {
	switch x := c.(type) {
	case int32:
		return arrow.Date32(x)
	case int64:
		return arrow.Date32(x)
	}
	return 0
}

func cmpStrings(op cmpOp, a, b vec, n int, out []byte) {
	get := func(v vec) func(int) string {
		if v.arr == nil {
			s, _ := v.c.(string)
			return func(int) string { return s }
		}
		sa := v.arr.(*array.String)
		return sa.Value
	}
	if a.arr != nil && b.arr == nil {
		sa := a.arr.(*array.String)
		s, _ := b.c.(string)
		for i := 0; i < n; i++ {
			if op.test(strings.Compare(sa.Value(i), s)) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
		return
	}
	ga, gb := get(a), get(b)
	for i := 0; i < n; i++ {
		if op.test(strings.Compare(ga(i), gb(i))) {
			out[i>>3] |= 1 << (i & 7)
		}
	}
}

// isNaN reports whether v is a float NaN.
func isNaN(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}

// decCmp orders two unscaled 128-bit decimals of one scale.
func decCmp(x, y decimal128.Num) int {
	xh, yh := x.HighBits(), y.HighBits()
	switch {
	case xh < yh:
		return -1
	case xh > yh:
		return 1
	}
	return cmp.Compare(x.LowBits(), y.LowBits())
}

// decimalSide returns the unscaled values of a numeric vec (nil for a
// constant), its constant, and its scale.
func decimalSide(v vec, t catalog.Type) ([]decimal128.Num, decimal128.Num, int32, bool) {
	if v.arr == nil {
		d, ok := v.c.(catalog.Decimal)
		return nil, d.Num, d.Scale, ok
	}
	a, ok := v.arr.(*array.Decimal128)
	if !ok {
		return nil, decimal128.Num{}, 0, false
	}
	return a.Values(), decimal128.Num{}, argScale(v, t), true
}

// cmpDecimals compares numeric vecs without boxing when both sides have
// one scale, or a constant side converts exactly to the other side's
// scale; it reports false (having written nothing) otherwise.
func cmpDecimals(op cmpOp, t catalog.Type, a, b vec, n int, out []byte) bool {
	av, ac, as, ok1 := decimalSide(a, t)
	bv, bc, bs, ok2 := decimalSide(b, t)
	if !ok1 || !ok2 {
		return false
	}
	// exact converts a constant to scale s if no digit is lost.
	exact := func(c decimal128.Num, from, to int32) (decimal128.Num, bool) {
		r, err := rescaleDecimal(c, from, to)
		if err != nil {
			return r, false
		}
		back, err := rescaleDecimal(r, to, from)
		return r, err == nil && back == c
	}
	if as != bs {
		var ok bool
		switch {
		case av == nil:
			ac, ok = exact(ac, as, bs)
		case bv == nil:
			bc, ok = exact(bc, bs, as)
		}
		if !ok {
			return false
		}
	}
	switch {
	case av != nil && bv != nil:
		bv = bv[:len(av)]
		for i, x := range av {
			if op.test(decCmp(x, bv[i])) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case av != nil:
		for i, x := range av[:n] {
			if op.test(decCmp(x, bc)) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case bv != nil:
		for i, y := range bv[:n] {
			if op.test(decCmp(ac, y)) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	default:
		return false
	}
	return true
}
