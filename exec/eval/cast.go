package eval

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// CastArray casts an array of type from to type to with Postgres
// assignment-cast semantics, as INSERT and COPY coercion need: numbers are
// range-checked (22003 "integer out of range", ...), floats round half to
// even into integers, numerics round half away from zero, text is parsed
// with the type's input syntax (22P02 "invalid input syntax for type
// integer: ..."), and a string too long for VARCHAR(n) is an error (22001).
// The caller releases the result. The Env supplies the allocator.
func CastArray(env *Env, arr arrow.Array, from, to catalog.Type) (arrow.Array, error) {
	return castArray(env.Allocator(), arr, from, to, true)
}

// CastValue casts one Go value (catalog convention) from one type to
// another with the semantics of CastArray.
func CastValue(v any, from, to catalog.Type) (any, error) {
	return castValue(v, from, to, true)
}

func intRange(t catalog.Type) (lo, hi int64) {
	switch t.ID {
	case catalog.Int2:
		return math.MinInt16, math.MaxInt16
	case catalog.Int4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// castValue casts v; assign selects assignment semantics for VARCHAR(n)
// (error instead of truncation).
func castValue(v any, from, to catalog.Type, assign bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if from.ID == catalog.Unknown || from.ID == catalog.Varchar {
		from = catalog.TypeText
	}
	switch to.ID {
	case catalog.Text, catalog.Varchar, catalog.Unknown:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case bool:
			s = "false"
			if x {
				s = "true"
			}
		case []byte:
			if from.ID == catalog.Text {
				s = string(x)
			} else {
				s = catalog.FormatValue(from, x)
			}
		default:
			s = catalog.FormatValue(from, v)
		}
		if to.ID == catalog.Varchar && to.Length > 0 && utf8.RuneCountInString(s) > int(to.Length) {
			if assign && strings.TrimRight(truncRunes(s, int(to.Length)+1), " ") != truncRunes(s, int(to.Length)) {
				return nil, pgerror.New(pgerror.CodeStringDataRightTrunc, "value too long for type character varying(%d)", to.Length)
			}
			s = truncRunes(s, int(to.Length))
		}
		return s, nil
	}
	if from.ID == catalog.Text {
		s, _ := v.(string)
		if b, ok := v.([]byte); ok {
			s = string(b)
		}
		return parseText(to, s)
	}
	switch from.ID {
	case catalog.Int2, catalog.Int4, catalog.Int8:
		x, err := asInt64(v)
		if err != nil {
			return nil, err
		}
		switch to.ID {
		case catalog.Int2, catalog.Int4, catalog.Int8:
			lo, hi := intRange(to)
			if x < lo || x > hi {
				return nil, outOfRange(to)
			}
			return x, nil
		case catalog.Float4, catalog.Float8:
			return float64(x), nil
		case catalog.Numeric:
			return decFromInt(x, to.Scale)
		case catalog.Bool:
			return x != 0, nil
		}
	case catalog.Float4, catalog.Float8:
		f, _ := v.(float64)
		switch to.ID {
		case catalog.Int2, catalog.Int4, catalog.Int8:
			return floatToInt(f, to)
		case catalog.Float8:
			return f, nil
		case catalog.Float4:
			return toFloat4(f)
		case catalog.Numeric:
			return decFromFloat(f, to.Scale)
		}
	case catalog.Numeric:
		d, _ := v.(catalog.Decimal)
		switch to.ID {
		case catalog.Int2, catalog.Int4, catalog.Int8:
			b, ok := decToInt(d)
			if !ok {
				return nil, outOfRange(to)
			}
			x := b.Int64()
			lo, hi := intRange(to)
			if x < lo || x > hi {
				return nil, outOfRange(to)
			}
			return x, nil
		case catalog.Float4:
			return toFloat4(d.Float64())
		case catalog.Float8:
			return d.Float64(), nil
		case catalog.Numeric:
			n, err := rescaleDecimal(d.Num, d.Scale, to.Scale)
			return catalog.Decimal{Num: n, Scale: to.Scale}, err
		}
	case catalog.Bool:
		b, _ := v.(bool)
		switch to.ID {
		case catalog.Bool:
			return b, nil
		case catalog.Int2, catalog.Int4, catalog.Int8:
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case catalog.Date:
		d := dateOf(v)
		switch to.ID {
		case catalog.Date:
			return d, nil
		case catalog.Timestamp, catalog.TimestampTZ:
			return int64(d) * usPerDay, nil
		}
	case catalog.Timestamp, catalog.TimestampTZ:
		x, _ := asInt64(v)
		switch to.ID {
		case catalog.Timestamp, catalog.TimestampTZ:
			return x, nil
		case catalog.Date:
			return int32(floorDiv(x, usPerDay)), nil
		}
	default:
		if from.ID == to.ID {
			return v, nil
		}
	}
	return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "cannot cast type %s to %s", from, to)
}

func dateOf(v any) int32 {
	switch x := v.(type) {
	case int32:
		return x
	case int64:
		return int32(x)
	}
	return 0
}

func truncRunes(s string, n int) string {
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

func floatToInt(f float64, to catalog.Type) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, outOfRange(to)
	}
	r := math.RoundToEven(f)
	lo, hi := intRange(to)
	// float64(hi) rounds up to 2^63 for bigint, hence >=.
	if r < float64(lo) || r >= float64(hi)+1 {
		return nil, outOfRange(to)
	}
	return int64(r), nil
}

func toFloat4(f float64) (any, error) {
	g := float32(f)
	if math.IsInf(float64(g), 0) && !math.IsInf(f, 0) {
		return nil, errFloatOverflow
	}
	if g == 0 && f != 0 {
		return nil, errFloatUnderflow
	}
	return float64(g), nil
}

// parseText parses s with t's input syntax, giving parse failures
// Postgres's SQLSTATE when the parser did not.
func parseText(t catalog.Type, s string) (any, error) {
	v, err := catalog.ParseText(t, s)
	if err != nil {
		if pgerror.CodeOf(err) == pgerror.CodeInternalError {
			return nil, pgerror.New(pgerror.CodeInvalidTextRepresentation, "invalid input syntax for type %s: %q", t, s).WithCause(err)
		}
		return nil, err
	}
	if t.ID == catalog.Numeric {
		if d, ok := v.(catalog.Decimal); ok && d.Scale != t.Scale {
			n, err := rescaleDecimal(d.Num, d.Scale, t.Scale)
			if err != nil {
				return nil, err
			}
			v = catalog.Decimal{Num: n, Scale: t.Scale}
		}
	}
	return v, nil
}

// castArray casts every row of arr.
func castArray(alloc memory.Allocator, arr arrow.Array, from, to catalog.Type, assign bool) (arrow.Array, error) {
	n := arr.Len()
	same := arrow.TypeEqual(arr.DataType(), to.Arrow()) &&
		(from.ID == to.ID || from.IsString() && to.IsString())
	if same && !(to.ID == catalog.Varchar && to.Length > 0) {
		arr.Retain()
		return arr, nil
	}
	if arr.NullN() == n {
		return array.MakeArrayOfNull(alloc, to.Arrow(), n), nil
	}
	switch a := arr.(type) {
	case *array.Int32:
		switch to.ID {
		case catalog.Int8:
			buf, out := newFixed[int64](alloc, n)
			for i, x := range a.Int32Values() {
				out[i] = int64(x)
			}
			return fixedArray(to.Arrow(), n, validCopy(alloc, arr), arr.NullN(), buf), nil
		case catalog.Float8:
			buf, out := newFixed[float64](alloc, n)
			for i, x := range a.Int32Values() {
				out[i] = float64(x)
			}
			return fixedArray(to.Arrow(), n, validCopy(alloc, arr), arr.NullN(), buf), nil
		}
	case *array.Int64:
		switch to.ID {
		case catalog.Numeric:
			if out := intsToDecimal(alloc, arr, a.Int64Values(), to); out != nil {
				return out, nil
			}
		case catalog.Float8:
			buf, out := newFixed[float64](alloc, n)
			for i, x := range a.Int64Values() {
				out[i] = float64(x)
			}
			return fixedArray(to.Arrow(), n, validCopy(alloc, arr), arr.NullN(), buf), nil
		case catalog.Int4:
			buf, out := newFixed[int32](alloc, n)
			for i, x := range a.Int64Values() {
				if int64(int32(x)) != x && a.IsValid(i) {
					buf.Release()
					return nil, outOfRange(to)
				}
				out[i] = int32(x)
			}
			return fixedArray(to.Arrow(), n, validCopy(alloc, arr), arr.NullN(), buf), nil
		}
	case *array.Int16:
		switch to.ID {
		case catalog.Int4:
			buf, out := newFixed[int32](alloc, n)
			for i, x := range a.Int16Values() {
				out[i] = int32(x)
			}
			return fixedArray(to.Arrow(), n, validCopy(alloc, arr), arr.NullN(), buf), nil
		case catalog.Int8:
			buf, out := newFixed[int64](alloc, n)
			for i, x := range a.Int16Values() {
				out[i] = int64(x)
			}
			return fixedArray(to.Arrow(), n, validCopy(alloc, arr), arr.NullN(), buf), nil
		}
	case *array.Float32:
		if to.ID == catalog.Float8 {
			buf, out := newFixed[float64](alloc, n)
			for i, x := range a.Float32Values() {
				out[i] = float64(x)
			}
			return fixedArray(to.Arrow(), n, validCopy(alloc, arr), arr.NullN(), buf), nil
		}
	}
	if to.IsString() && from.ID != catalog.Bool && !from.IsString() && from.ID != catalog.Bytea {
		b := array.NewStringBuilder(alloc)
		defer b.Release()
		b.Reserve(n)
		var buf []byte
		for i := 0; i < n; i++ {
			if arr.IsNull(i) {
				b.AppendNull()
				continue
			}
			buf = catalog.AppendText(buf[:0], from, arr, i)
			if to.ID == catalog.Varchar && to.Length > 0 {
				s, err := castValue(string(buf), catalog.TypeText, to, assign)
				if err != nil {
					return nil, err
				}
				b.Append(s.(string))
				continue
			}
			b.BinaryBuilder.Append(buf)
		}
		return b.NewArray(), nil
	}
	if to.ID == catalog.Numeric && from.ID == catalog.Numeric {
		b := array.NewDecimal128Builder(alloc, to.Arrow().(*arrow.Decimal128Type))
		defer b.Release()
		b.Reserve(n)
		a := arr.(*array.Decimal128)
		fs := a.DataType().(*arrow.Decimal128Type).Scale
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				b.AppendNull()
				continue
			}
			x, err := rescaleDecimal(a.Value(i), fs, to.Scale)
			if err != nil {
				return nil, err
			}
			b.Append(x)
		}
		return b.NewArray(), nil
	}
	b := array.NewBuilder(alloc, to.Arrow())
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		v := getValue(from, arr, i)
		r, err := castValue(v, from, to, assign)
		if err != nil {
			return nil, err
		}
		if err := appendValue(b, to, r); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

// validCopy returns a copy of arr's validity bitmap at offset 0, or nil.
// intsToDecimal casts integers to a numeric type, writing the result
// buffer directly, or returns nil when a value does not fit (the generic
// path then reports the error).
func intsToDecimal(alloc memory.Allocator, arr arrow.Array, vals []int64, to catalog.Type) arrow.Array {
	n := len(vals)
	buf := memory.NewResizableBuffer(alloc)
	buf.Resize(n * arrow.Decimal128SizeBytes)
	out := arrow.Decimal128Traits.CastFromBytes(buf.Bytes())
	nulls := arr.NullN() > 0
	for i, x := range vals {
		if nulls && arr.IsNull(i) {
			continue
		}
		d, err := rescaleDecimal(decimal128.FromI64(x), 0, to.Scale)
		if err != nil {
			buf.Release()
			return nil
		}
		out[i] = d
	}
	return fixedArray(to.Arrow(), n, validCopy(alloc, arr), arr.NullN(), buf)
}

func validCopy(alloc memory.Allocator, arr arrow.Array) *memory.Buffer {
	if arr.NullN() == 0 {
		return nil
	}
	buf, _ := andValidity(alloc, arr.Len(), vec{arr: arr, n: arr.Len()})
	return buf
}
