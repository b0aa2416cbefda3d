package eval

import (
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
)

// arithOp is a binary arithmetic operator.
type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opDiv
	opMod
)

func arithOpOf(name string) (arithOp, bool) {
	switch name {
	case "+":
		return opAdd, true
	case "-":
		return opSub, true
	case "*":
		return opMul, true
	case "/":
		return opDiv, true
	case "%", "mod":
		return opMod, true
	}
	return 0, false
}

// mulChecked64 multiplies with overflow detection.
func mulChecked64(x, y int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	if x < 0 {
		hi -= uint64(y)
	}
	if y < 0 {
		hi -= uint64(x)
	}
	return int64(lo), hi == uint64(int64(lo)>>63)
}

// intOp applies op to one pair with Postgres semantics; ok is false on
// overflow; zero reports a zero divisor.
func intOp64(op arithOp, x, y int64) (r int64, ok, zero bool) {
	switch op {
	case opAdd:
		r = x + y
		return r, (x^r)&(y^r) >= 0, false
	case opSub:
		r = x - y
		return r, (x^y)&(x^r) >= 0, false
	case opMul:
		r, ok = mulChecked64(x, y)
		return r, ok, false
	case opDiv:
		if y == 0 {
			return 0, true, true
		}
		if y == -1 {
			return -x, x != math.MinInt64, false
		}
		return x / y, true, false
	default:
		if y == 0 {
			return 0, true, true
		}
		if y == -1 {
			return 0, true, false
		}
		return x % y, true, false
	}
}

// arithI64 computes out = a op b for every row and reports whether any row
// (NULL or not) overflowed or divided by zero; the caller then rechecks
// the valid rows one by one.
func arithI64(op arithOp, a, b, out []int64) bool {
	n := len(out)
	a, b = a[:n], b[:n]
	bad := false
	switch op {
	case opAdd:
		for i := 0; i < n; i++ {
			r := a[i] + b[i]
			bad = bad || (a[i]^r)&(b[i]^r) < 0
			out[i] = r
		}
	case opSub:
		for i := 0; i < n; i++ {
			r := a[i] - b[i]
			bad = bad || (a[i]^b[i])&(a[i]^r) < 0
			out[i] = r
		}
	case opMul:
		for i := 0; i < n; i++ {
			x, y := a[i], b[i]
			if uint64(x+(1<<31)) < 1<<32 && uint64(y+(1<<31)) < 1<<32 {
				out[i] = x * y
				continue
			}
			r, ok := mulChecked64(x, y)
			bad = bad || !ok
			out[i] = r
		}
	default:
		for i := 0; i < n; i++ {
			r, ok, zero := intOp64(op, a[i], b[i])
			bad = bad || !ok || zero
			out[i] = r
		}
	}
	return bad
}

// arithI64Const is arithI64 with a constant right operand (+, -, *).
func arithI64Const(op arithOp, a []int64, c int64, out []int64) bool {
	n := len(out)
	a = a[:n]
	bad := false
	switch op {
	case opAdd:
		for i := 0; i < n; i++ {
			r := a[i] + c
			bad = bad || (a[i]^r)&(c^r) < 0
			out[i] = r
		}
	case opSub:
		for i := 0; i < n; i++ {
			r := a[i] - c
			bad = bad || (a[i]^c)&(a[i]^r) < 0
			out[i] = r
		}
	case opMul:
		if uint64(c+(1<<31)) < 1<<32 {
			for i := 0; i < n; i++ {
				x := a[i]
				if uint64(x+(1<<31)) < 1<<32 {
					out[i] = x * c
					continue
				}
				r, ok := mulChecked64(x, c)
				bad = bad || !ok
				out[i] = r
			}
			return bad
		}
		for i := 0; i < n; i++ {
			r, ok := mulChecked64(a[i], c)
			bad = bad || !ok
			out[i] = r
		}
	}
	return bad
}

// arithSmall is arithI64 for int16 and int32, computed in int64.
func arithSmall[T int16 | int32](op arithOp, a, b, out []T) bool {
	n := len(out)
	a, b = a[:n], b[:n]
	bad := false
	switch op {
	case opAdd:
		for i := 0; i < n; i++ {
			w := int64(a[i]) + int64(b[i])
			bad = bad || int64(T(w)) != w
			out[i] = T(w)
		}
	case opSub:
		for i := 0; i < n; i++ {
			w := int64(a[i]) - int64(b[i])
			bad = bad || int64(T(w)) != w
			out[i] = T(w)
		}
	case opMul:
		for i := 0; i < n; i++ {
			w := int64(a[i]) * int64(b[i])
			bad = bad || int64(T(w)) != w
			out[i] = T(w)
		}
	default:
		for i := 0; i < n; i++ {
			w, _, zero := intOp64(op, int64(a[i]), int64(b[i]))
			bad = bad || zero || int64(T(w)) != w
			out[i] = T(w)
		}
	}
	return bad
}

func arithFloat[T float32 | float64](op arithOp, a, b, out []T) bool {
	n := len(out)
	a, b = a[:n], b[:n]
	bad := false
	switch op {
	case opAdd:
		for i := 0; i < n; i++ {
			out[i] = a[i] + b[i]
		}
	case opSub:
		for i := 0; i < n; i++ {
			out[i] = a[i] - b[i]
		}
	case opMul:
		for i := 0; i < n; i++ {
			out[i] = a[i] * b[i]
		}
	case opDiv:
		for i := 0; i < n; i++ {
			if b[i] == 0 {
				bad = true
				continue
			}
			out[i] = a[i] / b[i]
		}
	}
	if bad {
		return true
	}
	for i := 0; i < n; i++ {
		if floatErr(op, float64(a[i]), float64(b[i]), float64(out[i])) != nil {
			return true
		}
	}
	return false
}

// floatErr returns Postgres's error for a float result, if any.
func floatErr(op arithOp, x, y, r float64) error {
	if op == opDiv && y == 0 {
		return errDivByZero
	}
	if math.IsInf(r, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		return errFloatOverflow
	}
	if r == 0 && (op == opMul || op == opDiv) && x != 0 && (op == opDiv || y != 0) && !math.IsInf(y, 0) {
		return errFloatUnderflow
	}
	return nil
}

// arithVecs computes a op b for non-NULL-constant operands of the numeric
// type t (the result type of the operator, equal to the argument types).
func arithVecs(alloc memory.Allocator, op arithOp, t catalog.Type, argT [2]catalog.Type, a, b vec, n int) (arrow.Array, error) {
	valid, nulls := andValidity(alloc, n, a, b)
	releaseValid := func() {
		if valid != nil {
			valid.Release()
		}
	}
	switch t.ID {
	case catalog.Int8:
		buf, out := newFixed[int64](alloc, n)
		if a.arr != nil && b.arr == nil && op <= opMul {
			// Column op constant: no broadcast.
			x, c := a.arr.(*array.Int64).Int64Values(), convInt[int64](b.c)
			if arithI64Const(op, x, c, out) {
				for i := 0; i < n; i++ {
					if _, ok, _ := intOp64(op, x[i], c); !ok && validAt(valid, i) {
						buf.Release()
						releaseValid()
						return nil, outOfRange(t)
					}
				}
			}
			return fixedArray(t.Arrow(), n, valid, nulls, buf), nil
		}
		x, y := fixedValues(a, convInt[int64]), fixedValues(b, convInt[int64])
		if arithI64(op, x, y, out) {
			for i := 0; i < n; i++ {
				if !validAt(valid, i) {
					continue
				}
				if _, ok, zero := intOp64(op, x[i], y[i]); zero {
					buf.Release()
					releaseValid()
					return nil, errDivByZero
				} else if !ok {
					buf.Release()
					releaseValid()
					return nil, outOfRange(t)
				}
			}
		}
		return fixedArray(t.Arrow(), n, valid, nulls, buf), nil
	case catalog.Int4:
		return smallArith[int32](alloc, op, t, a, b, n, valid, nulls)
	case catalog.Int2:
		return smallArith[int16](alloc, op, t, a, b, n, valid, nulls)
	case catalog.Float8:
		return floatArith[float64](alloc, op, t, a, b, n, valid, nulls)
	case catalog.Float4:
		return floatArith[float32](alloc, op, t, a, b, n, valid, nulls)
	case catalog.Numeric:
		releaseValid()
		return decimalArith(alloc, op, t, argT, a, b, n)
	}
	releaseValid()
	return nil, errInternal("arithmetic on %s", t)
}

func smallArith[T int16 | int32](alloc memory.Allocator, op arithOp, t catalog.Type, a, b vec, n int, valid *memory.Buffer, nulls int) (arrow.Array, error) {
	buf, out := newFixed[T](alloc, n)
	x, y := fixedValues(a, convInt[T]), fixedValues(b, convInt[T])
	if arithSmall(op, x, y, out) {
		for i := 0; i < n; i++ {
			if !validAt(valid, i) {
				continue
			}
			w, _, zero := intOp64(op, int64(x[i]), int64(y[i]))
			var err error
			if zero {
				err = errDivByZero
			} else if int64(T(w)) != w {
				err = outOfRange(t)
			}
			if err != nil {
				buf.Release()
				if valid != nil {
					valid.Release()
				}
				return nil, err
			}
		}
	}
	return fixedArray(t.Arrow(), n, valid, nulls, buf), nil
}

func floatArith[T float32 | float64](alloc memory.Allocator, op arithOp, t catalog.Type, a, b vec, n int, valid *memory.Buffer, nulls int) (arrow.Array, error) {
	buf, out := newFixed[T](alloc, n)
	x, y := fixedValues(a, convFloat[T]), fixedValues(b, convFloat[T])
	if op == opMod {
		buf.Release()
		if valid != nil {
			valid.Release()
		}
		return nil, errInternal("float modulo")
	}
	if arithFloat(op, x, y, out) {
		for i := 0; i < n; i++ {
			if !validAt(valid, i) {
				continue
			}
			var r T
			if y[i] != 0 {
				switch op {
				case opAdd:
					r = x[i] + y[i]
				case opSub:
					r = x[i] - y[i]
				case opMul:
					r = x[i] * y[i]
				case opDiv:
					r = x[i] / y[i]
				}
			}
			if err := floatErr(op, float64(x[i]), float64(y[i]), float64(r)); err != nil {
				buf.Release()
				if valid != nil {
					valid.Release()
				}
				return nil, err
			}
		}
	}
	return fixedArray(t.Arrow(), n, valid, nulls, buf), nil
}

func decimalAt(v vec, i int, scale int32) catalog.Decimal {
	if v.arr == nil {
		d, _ := v.c.(catalog.Decimal)
		return d
	}
	return catalog.Decimal{Num: v.arr.(*array.Decimal128).Value(i), Scale: scale}
}

func decimalArith(alloc memory.Allocator, op arithOp, t catalog.Type, argT [2]catalog.Type, a, b vec, n int) (arrow.Array, error) {
	sa, sb := argScale(a, argT[0]), argScale(b, argT[1])
	if op == opMul {
		if out := decimalMulSmall(alloc, t, a, b, sa, sb, n); out != nil {
			return out, nil
		}
	}
	bld := array.NewDecimal128Builder(alloc, t.Arrow().(*arrow.Decimal128Type))
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		if a.isNull(i) || b.isNull(i) {
			bld.AppendNull()
			continue
		}
		x, y := decimalAt(a, i, sa), decimalAt(b, i, sb)
		var r catalog.Decimal
		var err error
		switch op {
		case opAdd:
			if x.Scale == t.Scale && y.Scale == t.Scale {
				s := x.Num.Add(y.Num)
				if decFits(s) {
					bld.Append(s)
					continue
				}
			}
			r, err = decAdd(x, y, t.Scale, false)
		case opSub:
			r, err = decAdd(x, y, t.Scale, true)
		case opMul:
			r, err = decMul(x, y, t.Scale)
		case opDiv:
			r, err = decDiv(x, y, t.Scale)
		case opMod:
			r, err = decMod(x, y, t.Scale)
		}
		if err != nil {
			return nil, err
		}
		bld.Append(r.Num)
	}
	return bld.NewArray(), nil
}

// decimalMulSmall multiplies decimals whose unscaled values, product and
// rescaled product all fit in an int64, writing the result buffer
// directly; it returns nil, having allocated nothing it keeps, as soon as
// a row does not fit, and decimalArith's exact path then does the batch.
func decimalMulSmall(alloc memory.Allocator, t catalog.Type, a, b vec, sa, sb int32, n int) arrow.Array {
	valid, nulls := andValidity(alloc, n, a, b)
	buf := memory.NewResizableBuffer(alloc)
	buf.Resize(n * arrow.Decimal128SizeBytes)
	out := arrow.Decimal128Traits.CastFromBytes(buf.Bytes())
	for i := range n {
		if !validAt(valid, i) {
			continue
		}
		x, y := decimalAt(a, i, sa), decimalAt(b, i, sb)
		r, ok := mulSmall(x.Num, y.Num, x.Scale+y.Scale, t.Scale)
		if !ok {
			buf.Release()
			if valid != nil {
				valid.Release()
			}
			return nil
		}
		out[i] = r
	}
	return fixedArray(t.Arrow(), n, valid, nulls, buf)
}

// argScale returns the scale of a decimal operand: the array's own scale
// when it is an array (it always matches the data), else the type's.
func argScale(v vec, t catalog.Type) int32 {
	if v.arr != nil {
		if dt, ok := v.arr.DataType().(*arrow.Decimal128Type); ok {
			return dt.Scale
		}
	}
	return t.Scale
}

// negate computes unary minus.
func negateVec(alloc memory.Allocator, t catalog.Type, a vec, n int) (arrow.Array, error) {
	zero := constVec(int64(0), n)
	switch t.ID {
	case catalog.Int2, catalog.Int4, catalog.Int8:
		return arithVecs(alloc, opSub, t, [2]catalog.Type{t, t}, zero, a, n)
	case catalog.Float4, catalog.Float8:
		return arithVecs(alloc, opMul, t, [2]catalog.Type{t, t}, constVec(float64(-1), n), a, n)
	}
	return nil, errInternal("negate %s", t)
}
