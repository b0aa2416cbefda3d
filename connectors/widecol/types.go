package widecol

import (
	"bytes"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// kind is the storage class of a column, derived from its Arrow type.
type kind uint8

const (
	kInvalid kind = iota
	kBool
	kInt8
	kInt16
	kInt32
	kInt64
	kUint8
	kUint16
	kUint32
	kUint64
	kFloat32
	kFloat64
	kString
	kBinary
	kDate32
	kTimestamp
	kDecimal128
	kInterval // MonthDayNano; value columns only (no total order)
	kMaxKind
)

var kindNames = [...]string{"invalid", "bool", "int8", "int16", "int32", "int64",
	"uint8", "uint16", "uint32", "uint64", "float32", "float64", "string", "binary",
	"date32", "timestamp", "decimal128", "interval"}

// String returns the kind's name.
func (k kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// kindOf maps an Arrow type to its storage kind, kInvalid if unsupported.
func kindOf(dt arrow.DataType) kind {
	switch dt.ID() {
	case arrow.BOOL:
		return kBool
	case arrow.INT8:
		return kInt8
	case arrow.INT16:
		return kInt16
	case arrow.INT32:
		return kInt32
	case arrow.INT64:
		return kInt64
	case arrow.UINT8:
		return kUint8
	case arrow.UINT16:
		return kUint16
	case arrow.UINT32:
		return kUint32
	case arrow.UINT64:
		return kUint64
	case arrow.FLOAT32:
		return kFloat32
	case arrow.FLOAT64:
		return kFloat64
	case arrow.STRING:
		return kString
	case arrow.BINARY:
		return kBinary
	case arrow.DATE32:
		return kDate32
	case arrow.TIMESTAMP:
		return kTimestamp
	case arrow.DECIMAL128:
		return kDecimal128
	case arrow.INTERVAL_MONTH_DAY_NANO:
		return kInterval
	}
	return kInvalid
}

// keyable reports whether the kind has an order-preserving key encoding.
func (k kind) keyable() bool { return k != kInvalid && k != kInterval && k < kMaxKind }

// width is the fixed payload width of a cell of this kind, 0 if variable.
func (k kind) width() int {
	switch k {
	case kBool, kInt8, kUint8:
		return 1
	case kInt16, kUint16:
		return 2
	case kInt32, kUint32, kFloat32, kDate32:
		return 4
	case kInt64, kUint64, kFloat64, kTimestamp:
		return 8
	case kDecimal128, kInterval:
		return 16
	}
	return 0
}

// scalar holds one value of any kind without boxing. Which field is used
// depends on the kind: i for signed integers, dates, timestamps and bools
// (0/1), u for unsigned integers, f for floats, b for strings and binaries
// (it may alias a caller's buffer), d for decimals, iv for intervals.
type scalar struct {
	null bool
	i    int64
	u    uint64
	f    float64
	b    []byte
	d    decimal128.Num
	iv   arrow.MonthDayNanoInterval
	buf  []byte // scratch owned by the scalar, reused by decoders
}

// fromArray loads row i of arr (whose kind is k) into s. b aliases arr's data.
func (s *scalar) fromArray(arr arrow.Array, i int, k kind) {
	if arr.IsNull(i) {
		s.null = true
		return
	}
	s.null = false
	switch k {
	case kBool:
		if arr.(*array.Boolean).Value(i) {
			s.i = 1
		} else {
			s.i = 0
		}
	case kInt8:
		s.i = int64(arr.(*array.Int8).Value(i))
	case kInt16:
		s.i = int64(arr.(*array.Int16).Value(i))
	case kInt32:
		s.i = int64(arr.(*array.Int32).Value(i))
	case kInt64:
		s.i = arr.(*array.Int64).Value(i)
	case kUint8:
		s.u = uint64(arr.(*array.Uint8).Value(i))
	case kUint16:
		s.u = uint64(arr.(*array.Uint16).Value(i))
	case kUint32:
		s.u = uint64(arr.(*array.Uint32).Value(i))
	case kUint64:
		s.u = arr.(*array.Uint64).Value(i)
	case kFloat32:
		s.f = float64(arr.(*array.Float32).Value(i))
	case kFloat64:
		s.f = arr.(*array.Float64).Value(i)
	case kString:
		v := arr.(*array.String).Value(i)
		s.b = unsafe.Slice(unsafe.StringData(v), len(v)) // read-only alias
	case kBinary:
		s.b = arr.(*array.Binary).Value(i)
	case kDate32:
		s.i = int64(arr.(*array.Date32).Value(i))
	case kTimestamp:
		s.i = int64(arr.(*array.Timestamp).Value(i))
	case kDecimal128:
		s.d = arr.(*array.Decimal128).Value(i)
	case kInterval:
		s.iv = arr.(*array.MonthDayNanoInterval).Value(i)
	}
}

// appendTo appends s to a builder of kind k. The builder's concrete type
// must match k (builders are made from the same schema).
func (s *scalar) appendTo(bld array.Builder, k kind) {
	if s.null {
		bld.AppendNull()
		return
	}
	switch k {
	case kBool:
		bld.(*array.BooleanBuilder).Append(s.i != 0)
	case kInt8:
		bld.(*array.Int8Builder).Append(int8(s.i))
	case kInt16:
		bld.(*array.Int16Builder).Append(int16(s.i))
	case kInt32:
		bld.(*array.Int32Builder).Append(int32(s.i))
	case kInt64:
		bld.(*array.Int64Builder).Append(s.i)
	case kUint8:
		bld.(*array.Uint8Builder).Append(uint8(s.u))
	case kUint16:
		bld.(*array.Uint16Builder).Append(uint16(s.u))
	case kUint32:
		bld.(*array.Uint32Builder).Append(uint32(s.u))
	case kUint64:
		bld.(*array.Uint64Builder).Append(s.u)
	case kFloat32:
		bld.(*array.Float32Builder).Append(float32(s.f))
	case kFloat64:
		bld.(*array.Float64Builder).Append(s.f)
	case kString:
		bld.(*array.StringBuilder).BinaryBuilder.Append(s.b)
	case kBinary:
		bld.(*array.BinaryBuilder).Append(s.b)
	case kDate32:
		bld.(*array.Date32Builder).Append(arrow.Date32(s.i))
	case kTimestamp:
		bld.(*array.TimestampBuilder).Append(arrow.Timestamp(s.i))
	case kDecimal128:
		bld.(*array.Decimal128Builder).Append(s.d)
	case kInterval:
		bld.(*array.MonthDayNanoIntervalBuilder).Append(s.iv)
	}
}

// toGo returns s as a Go value: nil for NULL; bool, int8..int64,
// uint8..uint64, float32, float64, string, []byte (a copy), arrow.Date32,
// arrow.Timestamp, decimal128.Num or arrow.MonthDayNanoInterval.
func (s *scalar) toGo(k kind) any {
	if s.null {
		return nil
	}
	switch k {
	case kBool:
		return s.i != 0
	case kInt8:
		return int8(s.i)
	case kInt16:
		return int16(s.i)
	case kInt32:
		return int32(s.i)
	case kInt64:
		return s.i
	case kUint8:
		return uint8(s.u)
	case kUint16:
		return uint16(s.u)
	case kUint32:
		return uint32(s.u)
	case kUint64:
		return s.u
	case kFloat32:
		return float32(s.f)
	case kFloat64:
		return s.f
	case kString:
		return string(s.b)
	case kBinary:
		return bytes.Clone(s.b)
	case kDate32:
		return arrow.Date32(s.i)
	case kTimestamp:
		return arrow.Timestamp(s.i)
	case kDecimal128:
		return s.d
	case kInterval:
		return s.iv
	}
	return nil
}

// fromGo converts a Go value to a scalar of the column type dt. nil is
// NULL. Integers of any Go type are accepted for integer columns when in
// range; time.Time is accepted for Date32 and Timestamp columns; string and
// []byte are accepted for both String and Binary columns.
func fromGo(v any, dt arrow.DataType) (scalar, error) {
	var s scalar
	k := kindOf(dt)
	if v == nil {
		s.null = true
		return s, nil
	}
	bad := func() (scalar, error) {
		return s, fmt.Errorf("value %v (%T) does not fit type %s", v, v, dt)
	}
	asInt := func() (int64, bool) {
		switch x := v.(type) {
		case int:
			return int64(x), true
		case int8:
			return int64(x), true
		case int16:
			return int64(x), true
		case int32:
			return int64(x), true
		case int64:
			return x, true
		case uint:
			return int64(x), x <= math.MaxInt64
		case uint8:
			return int64(x), true
		case uint16:
			return int64(x), true
		case uint32:
			return int64(x), true
		case uint64:
			return int64(x), x <= math.MaxInt64
		}
		return 0, false
	}
	switch k {
	case kBool:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		if b {
			s.i = 1
		}
	case kInt8, kInt16, kInt32, kInt64:
		i, ok := asInt()
		if !ok {
			return bad()
		}
		bits := uint(8) << (k - kInt8)
		if bits < 64 && (i < -(1<<(bits-1)) || i >= 1<<(bits-1)) {
			return bad()
		}
		s.i = i
	case kUint8, kUint16, kUint32, kUint64:
		var u uint64
		switch x := v.(type) {
		case uint:
			u = uint64(x)
		case uint64:
			u = x
		default:
			i, ok := asInt()
			if !ok || i < 0 {
				return bad()
			}
			u = uint64(i)
		}
		bits := uint(8) << (k - kUint8)
		if bits < 64 && u >= 1<<bits {
			return bad()
		}
		s.u = u
	case kFloat32, kFloat64:
		switch x := v.(type) {
		case float32:
			s.f = float64(x)
		case float64:
			if k == kFloat32 && float64(float32(x)) != x && !math.IsNaN(x) {
				return bad()
			}
			s.f = x
		default:
			i, ok := asInt()
			if !ok {
				return bad()
			}
			s.f = float64(i)
		}
	case kString, kBinary:
		switch x := v.(type) {
		case string:
			s.b = []byte(x)
		case []byte:
			s.b = x
		default:
			return bad()
		}
	case kDate32:
		switch x := v.(type) {
		case arrow.Date32:
			s.i = int64(x)
		case time.Time:
			s.i = int64(arrow.Date32FromTime(x))
		default:
			i, ok := asInt()
			if !ok || i < math.MinInt32 || i > math.MaxInt32 {
				return bad()
			}
			s.i = i
		}
	case kTimestamp:
		switch x := v.(type) {
		case arrow.Timestamp:
			s.i = int64(x)
		case time.Time:
			ts, err := arrow.TimestampFromTime(x, dt.(*arrow.TimestampType).Unit)
			if err != nil {
				return bad()
			}
			s.i = int64(ts)
		default:
			i, ok := asInt()
			if !ok {
				return bad()
			}
			s.i = i
		}
	case kDecimal128:
		x, ok := v.(decimal128.Num)
		if !ok {
			return bad()
		}
		s.d = x
	case kInterval:
		x, ok := v.(arrow.MonthDayNanoInterval)
		if !ok {
			return bad()
		}
		s.iv = x
	default:
		return bad()
	}
	return s, nil
}

// compareScalars orders two non-NULL scalars of kind k like Postgres does:
// -0 equals +0 and NaN is greater than every other float, equal to itself.
func compareScalars(a, b *scalar, k kind) int {
	switch k {
	case kBool, kInt8, kInt16, kInt32, kInt64, kDate32, kTimestamp:
		return cmpOrdered(a.i, b.i)
	case kUint8, kUint16, kUint32, kUint64:
		return cmpOrdered(a.u, b.u)
	case kFloat32, kFloat64:
		an, bn := math.IsNaN(a.f), math.IsNaN(b.f)
		switch {
		case an && bn:
			return 0
		case an:
			return 1
		case bn:
			return -1
		}
		return cmpOrdered(a.f, b.f)
	case kString, kBinary:
		return bytes.Compare(a.b, b.b)
	case kDecimal128:
		return a.d.Cmp(b.d)
	case kInterval:
		if c := cmpOrdered(a.iv.Months, b.iv.Months); c != 0 {
			return c
		}
		if c := cmpOrdered(a.iv.Days, b.iv.Days); c != 0 {
			return c
		}
		return cmpOrdered(a.iv.Nanoseconds, b.iv.Nanoseconds)
	}
	return 0
}

func cmpOrdered[T int64 | uint64 | float64 | int32](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
