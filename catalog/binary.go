package catalog

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sqld/sqld/sql/pgerror"
)

// This file holds the Postgres binary formats of values, as sent on the
// wire for parameters and result columns in binary format: big-endian
// integers and IEEE floats, raw text and bytea, dates as days and
// timestamps as microseconds since 2000-01-01, intervals as (µs, days,
// months), and NUMERIC as base-10000 digits.

// Signs of the binary NUMERIC format.
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

func binaryFormatError(typ string) *pgerror.Error {
	return pgerror.New(pgerror.CodeInvalidParameterValue, "incorrect binary data format for type %s", typ)
}

// AppendBinary appends the Postgres binary form of row i of arr, which
// holds values of type t, to buf (without the length prefix). The caller
// checks nulls. It fails for types without a binary form in sqld.
func AppendBinary(buf []byte, t Type, arr arrow.Array, i int) ([]byte, error) {
	switch a := arr.(type) {
	case *array.Boolean:
		if a.Value(i) {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case *array.Int16:
		return appendIntBinary(buf, t, int64(a.Value(i)), 2), nil
	case *array.Int32:
		return appendIntBinary(buf, t, int64(a.Value(i)), 4), nil
	case *array.Int64:
		return appendIntBinary(buf, t, a.Value(i), 8), nil
	case *array.Float32:
		if t.ID == Float8 {
			return binary.BigEndian.AppendUint64(buf, math.Float64bits(float64(a.Value(i)))), nil
		}
		return binary.BigEndian.AppendUint32(buf, math.Float32bits(a.Value(i))), nil
	case *array.Float64:
		if t.ID == Float4 {
			return binary.BigEndian.AppendUint32(buf, math.Float32bits(float32(a.Value(i)))), nil
		}
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(a.Value(i))), nil
	case *array.Decimal128:
		return appendNumericBinary(buf, a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale), nil
	case *array.String:
		return append(buf, a.Value(i)...), nil
	case *array.LargeString:
		return append(buf, a.Value(i)...), nil
	case *array.Binary:
		return append(buf, a.Value(i)...), nil
	case *array.Date32:
		d := a.Value(i)
		switch d {
		case DateInfinity, DateNegInfinity:
			return binary.BigEndian.AppendUint32(buf, uint32(d)), nil
		}
		return binary.BigEndian.AppendUint32(buf, uint32(int32(d)-unixToPGDays)), nil
	case *array.Timestamp:
		us, ok := toMicros(int64(a.Value(i)), a.DataType().(*arrow.TimestampType).Unit)
		if !ok {
			return buf, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "timestamp out of range")
		}
		return appendTimestampBinary(buf, us), nil
	case *array.MonthDayNanoInterval:
		v := a.Value(i)
		buf = binary.BigEndian.AppendUint64(buf, uint64(v.Nanoseconds/1000))
		buf = binary.BigEndian.AppendUint32(buf, uint32(v.Days))
		return binary.BigEndian.AppendUint32(buf, uint32(v.Months)), nil
	}
	return buf, pgerror.New(pgerror.CodeFeatureNotSupported, "binary output of type %s is not supported", t)
}

// appendIntBinary writes v with the width of t (a value too wide for it
// cannot occur for well-typed data; it is written with its own width).
func appendIntBinary(buf []byte, t Type, v int64, width int) []byte {
	switch t.ID {
	case Int2:
		width = 2
	case Int4:
		width = 4
	case Int8:
		width = 8
	}
	switch width {
	case 2:
		if v >= math.MinInt16 && v <= math.MaxInt16 {
			return binary.BigEndian.AppendUint16(buf, uint16(v))
		}
		fallthrough
	case 4:
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			return binary.BigEndian.AppendUint32(buf, uint32(v))
		}
	}
	return binary.BigEndian.AppendUint64(buf, uint64(v))
}

func appendTimestampBinary(buf []byte, us int64) []byte {
	switch us {
	case TimestampInfinity, TimestampNegInfinity:
		return binary.BigEndian.AppendUint64(buf, uint64(us))
	}
	return binary.BigEndian.AppendUint64(buf, uint64(us-unixToPGUs))
}

// appendNumericBinary writes n × 10^-scale as ndigits, weight, sign,
// dscale and base-10000 digits.
func appendNumericBinary(buf []byte, n decimal128.Num, scale int32) []byte {
	sign := uint16(numericPos)
	b := n.BigInt()
	if b.Sign() < 0 {
		sign = numericNeg
		b.Neg(b)
	}
	ds := b.String()
	if scale < 0 {
		if ds != "0" {
			for k := scale; k < 0; k++ {
				ds += "0"
			}
		}
		scale = 0
	}
	s := int(scale)
	var intPart, fracPart string
	if len(ds) > s {
		intPart, fracPart = ds[:len(ds)-s], ds[len(ds)-s:]
	} else {
		fracPart = zeros(s-len(ds)) + ds
	}
	// Align to groups of four digits around the decimal point.
	if r := len(intPart) % 4; r != 0 {
		intPart = zeros(4-r) + intPart
	}
	if r := len(fracPart) % 4; r != 0 {
		fracPart += zeros(4 - r)
	}
	all := intPart + fracPart
	groups := make([]uint16, 0, len(all)/4)
	for k := 0; k < len(all); k += 4 {
		v, _ := strconv.Atoi(all[k : k+4])
		groups = append(groups, uint16(v))
	}
	weight := len(intPart)/4 - 1
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 {
		groups = groups[:len(groups)-1]
	}
	if len(groups) == 0 {
		weight = 0
		sign = numericPos
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(groups)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	for _, g := range groups {
		buf = binary.BigEndian.AppendUint16(buf, g)
	}
	return buf
}

func zeros(n int) string {
	b := make([]byte, n)
	for k := range b {
		b[k] = '0'
	}
	return string(b)
}

// ParseBinary decodes b, the Postgres binary form of a value of type t,
// into a Go value of the catalog's value convention. Wrong lengths and
// invalid contents are errors (*pgerror.Error), never panics. Integers are
// accepted in any of the widths 2, 4 and 8, checked against t's range.
// Unknown is decoded as text.
func ParseBinary(t Type, b []byte) (any, error) {
	switch t.ID {
	case Unknown, Text, Varchar:
		if !utf8.Valid(b) {
			return nil, invalidUTF8(string(b))
		}
		s := string(b)
		if t.ID == Varchar && t.Length > 0 {
			return ParseText(t, s)
		}
		return s, nil
	case Bytea:
		return append([]byte{}, b...), nil
	case Bool:
		if len(b) != 1 {
			return nil, binaryFormatError("boolean")
		}
		return b[0] != 0, nil
	case Int2, Int4, Int8:
		var v int64
		switch len(b) {
		case 2:
			v = int64(int16(binary.BigEndian.Uint16(b)))
		case 4:
			v = int64(int32(binary.BigEndian.Uint32(b)))
		case 8:
			v = int64(binary.BigEndian.Uint64(b))
		default:
			return nil, binaryFormatError(t.String())
		}
		if (t.ID == Int2 && (v < math.MinInt16 || v > math.MaxInt16)) || (t.ID == Int4 && (v < math.MinInt32 || v > math.MaxInt32)) {
			return nil, pgerror.New(pgerror.CodeNumericValueOutOfRange, "%s out of range", t)
		}
		return v, nil
	case Float4, Float8:
		switch len(b) {
		case 4:
			return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
		case 8:
			v := math.Float64frombits(binary.BigEndian.Uint64(b))
			if t.ID == Float4 {
				v = float64(float32(v))
			}
			return v, nil
		}
		return nil, binaryFormatError(t.String())
	case Numeric:
		return parseNumericBinary(b, t.Scale)
	case Date:
		if len(b) != 4 {
			return nil, binaryFormatError("date")
		}
		d := int32(binary.BigEndian.Uint32(b))
		switch d {
		case DateInfinity, DateNegInfinity:
			return d, nil
		}
		days := int64(d) + unixToPGDays
		if days < minDateDays || days > maxDateDays {
			return nil, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "date out of range")
		}
		return int32(days), nil
	case Timestamp, TimestampTZ:
		if len(b) != 8 {
			return nil, binaryFormatError(t.String())
		}
		v := int64(binary.BigEndian.Uint64(b))
		switch v {
		case TimestampInfinity, TimestampNegInfinity:
			return v, nil
		}
		if v < minTimestampUs-unixToPGUs || v > maxTimestampUs-unixToPGUs {
			return nil, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "timestamp out of range")
		}
		return v + unixToPGUs, nil
	case Interval:
		if len(b) != 16 {
			return nil, binaryFormatError("interval")
		}
		us := int64(binary.BigEndian.Uint64(b))
		if us > maxIntervalMicros || us < -maxIntervalMicros {
			return nil, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "interval out of range")
		}
		return arrow.MonthDayNanoInterval{
			Nanoseconds: us * 1000,
			Days:        int32(binary.BigEndian.Uint32(b[8:])),
			Months:      int32(binary.BigEndian.Uint32(b[12:])),
		}, nil
	}
	return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "binary input of type %s is not supported", t)
}

// parseNumericBinary decodes the base-10000 NUMERIC format and rounds the
// value to scale.
func parseNumericBinary(b []byte, scale int32) (Decimal, error) {
	if len(b) < 8 {
		return Decimal{}, binaryFormatError("numeric")
	}
	ndigits := int(binary.BigEndian.Uint16(b))
	weight := int64(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := binary.BigEndian.Uint16(b[6:])
	if len(b) != 8+2*ndigits {
		return Decimal{}, binaryFormatError("numeric")
	}
	switch sign {
	case numericPos, numericNeg:
	case numericNaN, numericPInf, numericNInf:
		return Decimal{}, pgerror.New(pgerror.CodeFeatureNotSupported, "numeric NaN and infinity are not supported")
	default:
		return Decimal{}, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid sign in external \"numeric\" value")
	}
	if dscale&0xC000 != 0 {
		return Decimal{}, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid scale in external \"numeric\" value")
	}
	digits := make([]byte, 0, 4*ndigits)
	for k := 0; k < ndigits; k++ {
		g := binary.BigEndian.Uint16(b[8+2*k:])
		if g >= 10000 {
			return Decimal{}, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid digit in external \"numeric\" value")
		}
		digits = append(digits, byte('0'+g/1000), byte('0'+g/100%10), byte('0'+g/10%10), byte('0'+g%10))
	}
	// Drop leading zeros: decimalFromDigits expects none.
	k := 0
	for k < len(digits) && digits[k] == '0' {
		k++
	}
	digits = digits[k:]
	exp10 := 4 * (weight - int64(ndigits) + 1)
	return decimalFromDigits(digits, exp10, sign == numericNeg, scale, "")
}
