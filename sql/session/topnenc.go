package session

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sqld/sqld/catalog"
)

// A top-N view keys its partitions by their values encoded as bytes, and
// keeps a partition's worst row as its ORDER BY values encoded so that
// comparing the bytes orders rows as the ranking does. Neither holds a Go
// pointer per value, so millions of partitions cost a few tens of bytes
// each and little garbage collection.

// rowEnc appends row i of an array to dst.
type rowEnc func(dst []byte, i int) []byte

const (
	encNull    = 0x00
	encPresent = 0x01
)

// keyEncoder encodes the values of a partition column; decodeTopKey
// reverses it. The encoding is unique per value, not ordered: -0 and 0,
// and every NaN, are one key.
func keyEncoder(a arrow.Array) (rowEnc, error) { return valueEncoder(a, keyFloatBits) }

// rowEncoder encodes a column of a kept row as keyEncoder does, floats
// bit for bit.
func rowEncoder(a arrow.Array) (rowEnc, error) { return valueEncoder(a, math.Float64bits) }

func valueEncoder(a arrow.Array, floatBits func(float64) uint64) (rowEnc, error) {
	var val rowEnc
	u64 := func(dst []byte, v int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(v)) }
	ints, floats := int64At(a), float64At(a)
	switch x := a.(type) {
	case *array.Int16, *array.Int32, *array.Int64, *array.Timestamp:
		val = func(dst []byte, i int) []byte { return u64(dst, ints(i)) }
	case *array.Date32:
		val = func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint32(dst, uint32(x.Value(i))) }
	case *array.Float32, *array.Float64:
		val = func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint64(dst, floatBits(floats(i))) }
	case *array.Boolean:
		val = func(dst []byte, i int) []byte {
			if x.Value(i) {
				return append(dst, 1)
			}
			return append(dst, 0)
		}
	case *array.String:
		val = func(dst []byte, i int) []byte {
			v := x.Value(i)
			return append(binary.AppendUvarint(dst, uint64(len(v))), v...)
		}
	case *array.Binary:
		val = func(dst []byte, i int) []byte {
			v := x.Value(i)
			return append(binary.AppendUvarint(dst, uint64(len(v))), v...)
		}
	case *array.Decimal128:
		val = func(dst []byte, i int) []byte {
			v := x.Value(i)
			return binary.BigEndian.AppendUint64(u64(dst, v.HighBits()), v.LowBits())
		}
	case *array.MonthDayNanoInterval:
		val = func(dst []byte, i int) []byte {
			v := x.Value(i)
			dst = binary.BigEndian.AppendUint32(dst, uint32(v.Months))
			dst = binary.BigEndian.AppendUint32(dst, uint32(v.Days))
			return u64(dst, v.Nanoseconds)
		}
	default:
		return nil, fmt.Errorf("a top-N partition cannot be keyed by a %s value", a.DataType())
	}
	return func(dst []byte, i int) []byte {
		if a.IsNull(i) {
			return append(dst, encNull)
		}
		return val(append(dst, encPresent), i)
	}, nil
}

// keyFloatBits gives -0 the key of 0 and every NaN one key.
func keyFloatBits(f float64) uint64 {
	switch {
	case math.IsNaN(f):
		return math.Float64bits(math.NaN())
	case f == 0:
		return 0
	}
	return math.Float64bits(f)
}

// decodeTopKey decodes a partition key of the given column types into the
// values valueAt would give.
func decodeTopKey(s string, types []arrow.DataType) ([]any, error) {
	b := []byte(s)
	out := make([]any, len(types))
	short := func() error { return fmt.Errorf("top-N partition key %x is truncated", s) }
	for c, t := range types {
		if len(b) == 0 {
			return nil, short()
		}
		tag := b[0]
		b = b[1:]
		if tag == encNull {
			continue
		}
		need := func(n int) bool { return len(b) >= n }
		switch t.ID() {
		case arrow.INT16, arrow.INT32, arrow.INT64, arrow.TIMESTAMP:
			if !need(8) {
				return nil, short()
			}
			out[c] = int64(binary.BigEndian.Uint64(b))
			b = b[8:]
		case arrow.DATE32:
			if !need(4) {
				return nil, short()
			}
			out[c] = int32(binary.BigEndian.Uint32(b))
			b = b[4:]
		case arrow.FLOAT32, arrow.FLOAT64:
			if !need(8) {
				return nil, short()
			}
			out[c] = math.Float64frombits(binary.BigEndian.Uint64(b))
			b = b[8:]
		case arrow.BOOL:
			if !need(1) {
				return nil, short()
			}
			out[c] = b[0] == 1
			b = b[1:]
		case arrow.STRING, arrow.BINARY:
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return nil, short()
			}
			v := b[w : w+int(n)]
			if t.ID() == arrow.STRING {
				out[c] = string(v)
			} else {
				out[c] = append([]byte(nil), v...)
			}
			b = b[w+int(n):]
		case arrow.DECIMAL128:
			if !need(16) {
				return nil, short()
			}
			num := decimal128.New(int64(binary.BigEndian.Uint64(b)), binary.BigEndian.Uint64(b[8:]))
			out[c] = catalog.Decimal{Num: num, Scale: t.(*arrow.Decimal128Type).Scale}
			b = b[16:]
		case arrow.INTERVAL_MONTH_DAY_NANO:
			if !need(16) {
				return nil, short()
			}
			out[c] = arrow.MonthDayNanoInterval{Months: int32(binary.BigEndian.Uint32(b)), Days: int32(binary.BigEndian.Uint32(b[4:])),
				Nanoseconds: int64(binary.BigEndian.Uint64(b[8:]))}
			b = b[16:]
		default:
			return nil, fmt.Errorf("a top-N partition cannot be keyed by a %s value", t)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("top-N partition key %x has %d bytes left over", s, len(b))
	}
	return out, nil
}

// orderEncoder encodes an ORDER BY value so that the bytes of two rows
// compare as compareSortValue compares their values: NULLs first or
// last whatever the direction, values ascending or descending.
func orderEncoder(a arrow.Array, desc, nullsFirst bool) rowEnc {
	nullTag := byte(0x02)
	if nullsFirst {
		nullTag = 0x00
	}
	var val func(dst []byte, i int) []byte
	ints, floats := int64At(a), float64At(a)
	switch x := a.(type) {
	case *array.Int16, *array.Int32, *array.Int64, *array.Timestamp, *array.Date32:
		val = func(dst []byte, i int) []byte { return appendOrderInt(dst, ints(i)) }
	case *array.Float32, *array.Float64:
		val = func(dst []byte, i int) []byte { return appendOrderFloat(dst, floats(i)) }
	case *array.Boolean:
		val = func(dst []byte, i int) []byte {
			if x.Value(i) {
				return append(dst, 1)
			}
			return append(dst, 0)
		}
	case *array.String:
		val = func(dst []byte, i int) []byte { return appendOrderBytes(dst, x.Value(i)) }
	case *array.Binary:
		val = func(dst []byte, i int) []byte { return appendOrderBytes(dst, x.Value(i)) }
	case *array.Decimal128:
		val = func(dst []byte, i int) []byte {
			v := x.Value(i)
			dst = binary.BigEndian.AppendUint64(dst, uint64(v.HighBits())^(1<<63))
			return binary.BigEndian.AppendUint64(dst, v.LowBits())
		}
	default:
		// Other types order by their text, as compareValues does.
		val = func(dst []byte, i int) []byte { return appendOrderBytes(dst, fmt.Sprint(valueAt(a, i))) }
	}
	return func(dst []byte, i int) []byte {
		if a.IsNull(i) {
			return append(dst, nullTag)
		}
		dst = append(dst, 0x01)
		at := len(dst)
		dst = val(dst, i)
		if desc {
			for j := at; j < len(dst); j++ {
				dst[j] = ^dst[j]
			}
		}
		return dst
	}
}

// int64At reads the integer-like arrays' values as int64; nil for others.
func int64At(a arrow.Array) func(int) int64 {
	switch x := a.(type) {
	case *array.Int16:
		return func(i int) int64 { return int64(x.Value(i)) }
	case *array.Int32:
		return func(i int) int64 { return int64(x.Value(i)) }
	case *array.Int64:
		return x.Value
	case *array.Timestamp:
		return func(i int) int64 { return int64(x.Value(i)) }
	case *array.Date32:
		return func(i int) int64 { return int64(x.Value(i)) }
	}
	return nil
}

// float64At reads the float arrays' values as float64; nil for others.
func float64At(a arrow.Array) func(int) float64 {
	switch x := a.(type) {
	case *array.Float32:
		return func(i int) float64 { return float64(x.Value(i)) }
	case *array.Float64:
		return x.Value
	}
	return nil
}

func appendOrderInt(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// appendOrderFloat orders floats as compareValues does: -0 equals 0 and
// NaN sorts above every other value.
func appendOrderFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return binary.BigEndian.AppendUint64(dst, math.MaxUint64)
	case f == 0:
		f = 0
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, b)
}

// appendOrderBytes escapes 0x00 as 0x00 0xff and ends the value with
// 0x00 0x01, so a value sorts before every longer value it prefixes.
func appendOrderBytes[T string | []byte](dst []byte, v T) []byte {
	for i := 0; i < len(v); i++ {
		if v[i] == 0 {
			dst = append(dst, 0, 0xff)
			continue
		}
		dst = append(dst, v[i])
	}
	return append(dst, 0, 0x01)
}

// appendAs appends v to b if b appends values of v's type.
func appendAs[T any](b array.Builder, v T) bool {
	bb, ok := b.(interface{ Append(T) })
	if ok {
		bb.Append(v)
	}
	return ok
}

// appendFromArray appends row i of a to a builder of the same type.
func appendFromArray(b array.Builder, a arrow.Array, i int) error {
	if a.IsNull(i) {
		b.AppendNull()
		return nil
	}
	var ok bool
	switch x := a.(type) {
	case *array.Int64:
		ok = appendAs(b, x.Value(i))
	case *array.Timestamp:
		ok = appendAs(b, x.Value(i))
	case *array.String:
		ok = appendAs(b, x.Value(i))
	case *array.Int32:
		ok = appendAs(b, x.Value(i))
	case *array.Float64:
		ok = appendAs(b, x.Value(i))
	case *array.Decimal128:
		ok = appendAs(b, x.Value(i))
	}
	if ok {
		return nil
	}
	return appendValue(b, catalog.Type{}, valueAt(a, i))
}

// columnAppender appends row i of an array to the builder it was made
// for; see newColumnAppender.
type columnAppender func(a arrow.Array, i int) error

// newColumnAppender returns an appender to b that handles the common
// types without looking up an interface for every value (appendFromArray
// does), falling back to appendFromArray for the others.
func newColumnAppender(b array.Builder) columnAppender {
	switch bb := b.(type) {
	case *array.Int64Builder:
		return typedAppender[int64, *array.Int64](b, bb)
	case *array.TimestampBuilder:
		return typedAppender[arrow.Timestamp, *array.Timestamp](b, bb)
	case *array.StringBuilder:
		return typedAppender[string, *array.String](b, bb)
	}
	return func(a arrow.Array, i int) error { return appendFromArray(b, a, i) }
}

// valueArray is an array with values of type T.
type valueArray[T any] interface {
	arrow.Array
	Value(int) T
}

// typedAppender appends values of arrays of type A to bb (which is b),
// and those of other arrays through appendFromArray.
func typedAppender[T any, A valueArray[T]](b array.Builder, bb interface {
	Append(T)
	AppendNull()
}) columnAppender {
	return func(a arrow.Array, i int) error {
		x, ok := a.(A)
		if !ok {
			return appendFromArray(b, a, i)
		}
		if x.IsNull(i) {
			bb.AppendNull()
		} else {
			bb.Append(x.Value(i))
		}
		return nil
	}
}

// appendEncodedRow appends a row encoded by keyEncoder, of the given
// column types, to one builder per column.
func appendEncodedRow(bs []array.Builder, row string, types []arrow.DataType) error {
	short := func() error { return fmt.Errorf("top-N row %x is truncated", row) }
	b := row
	u64 := func() uint64 { v := binary.BigEndian.Uint64([]byte(b[:8])); b = b[8:]; return v }
	for c, t := range types {
		if len(b) == 0 {
			return short()
		}
		tag := b[0]
		b = b[1:]
		if tag == encNull {
			bs[c].AppendNull()
			continue
		}
		switch t.ID() {
		case arrow.INT16, arrow.INT32, arrow.INT64, arrow.TIMESTAMP, arrow.FLOAT32, arrow.FLOAT64:
			if len(b) < 8 {
				return short()
			}
			v := u64()
			switch bb := bs[c].(type) {
			case *array.Int64Builder:
				bb.Append(int64(v))
			case *array.TimestampBuilder:
				bb.Append(arrow.Timestamp(int64(v)))
			case *array.Int32Builder:
				bb.Append(int32(int64(v)))
			case *array.Int16Builder:
				bb.Append(int16(int64(v)))
			case *array.Float64Builder:
				bb.Append(math.Float64frombits(v))
			case *array.Float32Builder:
				bb.Append(float32(math.Float64frombits(v)))
			default:
				return fmt.Errorf("cannot append a %s value to a %T", t, bs[c])
			}
		case arrow.DATE32:
			if len(b) < 4 {
				return short()
			}
			bs[c].(*array.Date32Builder).Append(arrow.Date32(int32(binary.BigEndian.Uint32([]byte(b[:4])))))
			b = b[4:]
		case arrow.BOOL:
			if len(b) < 1 {
				return short()
			}
			bs[c].(*array.BooleanBuilder).Append(b[0] == 1)
			b = b[1:]
		case arrow.STRING, arrow.BINARY:
			n, w := binary.Uvarint([]byte(b[:min(len(b), binary.MaxVarintLen64)]))
			if w <= 0 || uint64(len(b)-w) < n {
				return short()
			}
			v := b[w : w+int(n)]
			if sb, ok := bs[c].(*array.StringBuilder); ok {
				sb.Append(v)
			} else {
				bs[c].(*array.BinaryBuilder).AppendString(v)
			}
			b = b[w+int(n):]
		case arrow.DECIMAL128:
			if len(b) < 16 {
				return short()
			}
			hi := int64(u64())
			bs[c].(*array.Decimal128Builder).Append(decimal128.New(hi, u64()))
		case arrow.INTERVAL_MONTH_DAY_NANO:
			if len(b) < 16 {
				return short()
			}
			m := int32(binary.BigEndian.Uint32([]byte(b[:4])))
			d := int32(binary.BigEndian.Uint32([]byte(b[4:8])))
			b = b[8:]
			bs[c].(*array.MonthDayNanoIntervalBuilder).Append(arrow.MonthDayNanoInterval{Months: m, Days: d, Nanoseconds: int64(u64())})
		default:
			return fmt.Errorf("a top-N row cannot hold a %s value", t)
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("top-N row %x has %d bytes left over", row, len(b))
	}
	return nil
}
