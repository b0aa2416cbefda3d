package catalog

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sqld/sqld/sql/pgerror"
)

// This file holds the Postgres text formats of values: what the wire sends
// for result columns in text format, what casts to and from text produce,
// and what text parameters and COPY fields are parsed from. The output is
// the one of PostgreSQL 15 with DateStyle ISO, IntervalStyle postgres,
// extra_float_digits 1 and TimeZone UTC.
//
// NB: catalog imports sql/pgerror (a leaf package of the standard library
// only) so that input errors carry Postgres's SQLSTATE and message.

// Time constants in microseconds and days.
const (
	usPerSecond = int64(1_000_000)
	usPerMinute = 60 * usPerSecond
	usPerHour   = 60 * usPerMinute
	usPerDay    = 24 * usPerHour

	// unixToPGDays is the number of days from 1970-01-01 to 2000-01-01,
	// the epoch of Postgres's binary date and timestamp formats.
	unixToPGDays = 10957
	unixToPGUs   = unixToPGDays * usPerDay
)

// Ranges accepted: from 4713-01-01 BC (Julian day 0) as in Postgres, up to
// the year 5874897 for dates. Timestamps end earlier than in Postgres
// (294247-01-10 instead of 294276-12-31) because they count microseconds
// from 1970 rather than from 2000 in an int64.
var (
	minDateDays    = daysFromCivil(-4713, 11, 24) // proleptic Gregorian for JD 0
	maxDateDays    = daysFromCivil(5874897, 12, 31)
	minTimestampUs = daysFromCivil(-4713, 11, 24) * usPerDay
	maxTimestampUs = int64(TimestampInfinity - 1)
)

// Infinite dates and timestamps are stored as the extreme values, as
// Postgres does.
const (
	// DateInfinity is the DATE 'infinity' (days).
	DateInfinity = math.MaxInt32
	// DateNegInfinity is the DATE '-infinity' (days).
	DateNegInfinity = math.MinInt32
	// TimestampInfinity is the TIMESTAMP[TZ] 'infinity' (microseconds).
	TimestampInfinity = math.MaxInt64
	// TimestampNegInfinity is the TIMESTAMP[TZ] '-infinity' (microseconds).
	TimestampNegInfinity = math.MinInt64

	maxIntervalMicros = math.MaxInt64 / 1000 // what fits in Arrow's nanoseconds
)

// AppendText appends the Postgres text output of row i of arr, which holds
// values of type t (Arrow type t.Arrow()), to buf. The caller checks nulls.
// The Arrow array's own type decides the encoding where it differs from t,
// so an unexpected array never makes it panic.
func AppendText(buf []byte, t Type, arr arrow.Array, i int) []byte {
	switch a := arr.(type) {
	case *array.Boolean:
		return appendBool(buf, a.Value(i))
	case *array.Int16:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(buf, a.Value(i), 10)
	case *array.Int8:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Float32:
		return appendFloat(buf, float64(a.Value(i)), 32)
	case *array.Float64:
		return appendFloat(buf, a.Value(i), 64)
	case *array.Decimal128:
		return appendDecimal(buf, a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.String:
		return append(buf, a.Value(i)...)
	case *array.LargeString:
		return append(buf, a.Value(i)...)
	case *array.Binary:
		if t.ID == Bytea || t.ID == Unknown {
			return appendBytea(buf, a.Value(i))
		}
		return append(buf, a.Value(i)...)
	case *array.Date32:
		return appendDate(buf, int64(a.Value(i)))
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		us, ok := toMicros(int64(a.Value(i)), tt.Unit)
		if !ok {
			return append(buf, a.ValueStr(i)...)
		}
		return appendTimestamp(buf, us, tt.TimeZone != "" || t.ID == TimestampTZ)
	case *array.MonthDayNanoInterval:
		v := a.Value(i)
		return appendInterval(buf, v.Months, v.Days, v.Nanoseconds/1000)
	}
	return append(buf, arr.ValueStr(i)...)
}

// FormatValue returns the Postgres text output of v, a Go value of type t
// in the catalog's value convention (see Type). nil formats as "NULL"; a
// value of an unexpected Go type is formatted with fmt.
func FormatValue(t Type, v any) string {
	if v == nil {
		return "NULL"
	}
	return string(appendValue(nil, t, v))
}

func appendValue(buf []byte, t Type, v any) []byte {
	switch v := v.(type) {
	case bool:
		return appendBool(buf, v)
	case int64:
		switch t.ID {
		case Timestamp, TimestampTZ:
			return appendTimestamp(buf, v, t.ID == TimestampTZ)
		case Date:
			return appendDate(buf, v)
		}
		return strconv.AppendInt(buf, v, 10)
	case int32:
		if t.ID == Date {
			return appendDate(buf, int64(v))
		}
		return strconv.AppendInt(buf, int64(v), 10)
	case int:
		return strconv.AppendInt(buf, int64(v), 10)
	case int16:
		return strconv.AppendInt(buf, int64(v), 10)
	case float64:
		if t.ID == Float4 {
			return appendFloat(buf, float64(float32(v)), 32)
		}
		return appendFloat(buf, v, 64)
	case float32:
		return appendFloat(buf, float64(v), 32)
	case Decimal:
		return appendDecimal(buf, v.Num, v.Scale)
	case string:
		return append(buf, v...)
	case []byte:
		return appendBytea(buf, v)
	case arrow.MonthDayNanoInterval:
		return appendInterval(buf, v.Months, v.Days, v.Nanoseconds/1000)
	}
	return fmt.Append(buf, v)
}

func appendBool(buf []byte, v bool) []byte {
	if v {
		return append(buf, 't')
	}
	return append(buf, 'f')
}

// appendFloat appends v as Postgres prints float4 (bits 32) and float8
// (bits 64): the shortest text that reads back as the same value, in
// positional notation for decimal exponents from -4 up to 5 (float4) or
// 14 (float8) and in exponent notation otherwise.
func appendFloat(buf []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(buf, "NaN"...)
	case math.IsInf(v, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(v, -1):
		return append(buf, "-Infinity"...)
	}
	av := math.Abs(v)
	hi := 1e15
	if bits == 32 {
		hi = 1e6
		av = float64(float32(av))
	}
	// The bounds are exact in both precisions: 1e-4 reads back as the
	// float nearest to it, whose shortest form has exponent -4.
	lo := 1e-4
	if bits == 32 {
		lo = float64(float32(1e-4))
	}
	if av == 0 || (av >= lo && av < hi) {
		return strconv.AppendFloat(buf, v, 'f', -1, bits)
	}
	return strconv.AppendFloat(buf, v, 'e', -1, bits)
}

// appendDecimal appends n scaled by 10^-scale with exactly scale fraction
// digits.
func appendDecimal(buf []byte, n decimal128.Num, scale int32) []byte {
	var digits []byte
	neg := n.Sign() < 0
	hi, lo := n.HighBits(), n.LowBits()
	if (hi == 0 && lo < 1<<63) || (hi == -1 && lo >= 1<<63) {
		// Fits in an int64: no big.Int needed.
		v := int64(lo)
		var tmp [24]byte
		if v < 0 {
			digits = strconv.AppendUint(tmp[:0], uint64(-v), 10)
		} else {
			digits = strconv.AppendUint(tmp[:0], uint64(v), 10)
		}
	} else {
		digits = new(big.Int).Abs(n.BigInt()).Append(nil, 10)
	}
	if neg {
		buf = append(buf, '-')
	}
	if scale <= 0 {
		buf = append(buf, digits...)
		if len(digits) > 1 || digits[0] != '0' {
			for ; scale < 0; scale++ {
				buf = append(buf, '0')
			}
		}
		return buf
	}
	s := int(scale)
	if len(digits) <= s {
		buf = append(buf, '0', '.')
		for k := len(digits); k < s; k++ {
			buf = append(buf, '0')
		}
		return append(buf, digits...)
	}
	at := len(digits) - s
	buf = append(buf, digits[:at]...)
	buf = append(buf, '.')
	return append(buf, digits[at:]...)
}

// appendBytea appends the hex format of a bytea: \x then two lowercase
// hex digits per byte.
func appendBytea(buf []byte, b []byte) []byte {
	buf = append(buf, '\\', 'x')
	n := len(buf)
	buf = append(buf, make([]byte, hex.EncodedLen(len(b)))...)
	hex.Encode(buf[n:], b)
	return buf
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian
// date with astronomical year numbering (0 is 1 BC).
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// daysFromCivil is the inverse of civilFromDays.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func append2(buf []byte, v int) []byte {
	return append(buf, byte('0'+v/10), byte('0'+v%10))
}

// appendYMD appends YYYY-MM-DD and reports whether the year is BC.
func appendYMD(buf []byte, days int64) ([]byte, bool) {
	y, m, d := civilFromDays(days)
	bc := y <= 0
	if bc {
		y = 1 - y
	}
	if y < 1000 {
		for p := int64(1000); p > y && p > 1; p /= 10 {
			buf = append(buf, '0')
		}
	}
	buf = strconv.AppendInt(buf, y, 10)
	buf = append(buf, '-')
	buf = append2(buf, m)
	buf = append(buf, '-')
	buf = append2(buf, d)
	return buf, bc
}

func appendDate(buf []byte, days int64) []byte {
	switch days {
	case DateInfinity:
		return append(buf, "infinity"...)
	case DateNegInfinity:
		return append(buf, "-infinity"...)
	}
	buf, bc := appendYMD(buf, days)
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// appendFraction appends .ffffff without trailing zeros, or nothing for 0.
func appendFraction(buf []byte, us int64) []byte {
	if us == 0 {
		return buf
	}
	var tmp [6]byte
	for k := 5; k >= 0; k-- {
		tmp[k] = byte('0' + us%10)
		us /= 10
	}
	n := 6
	for n > 0 && tmp[n-1] == '0' {
		n--
	}
	buf = append(buf, '.')
	return append(buf, tmp[:n]...)
}

func appendTimestamp(buf []byte, us int64, tz bool) []byte {
	switch us {
	case TimestampInfinity:
		return append(buf, "infinity"...)
	case TimestampNegInfinity:
		return append(buf, "-infinity"...)
	}
	days := floorDiv(us, usPerDay)
	tod := us - days*usPerDay
	buf, bc := appendYMD(buf, days)
	buf = append(buf, ' ')
	buf = append2(buf, int(tod/usPerHour))
	buf = append(buf, ':')
	buf = append2(buf, int(tod/usPerMinute%60))
	buf = append(buf, ':')
	buf = append2(buf, int(tod/usPerSecond%60))
	buf = appendFraction(buf, tod%usPerSecond)
	if tz {
		buf = append(buf, "+00"...)
	}
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// toMicros converts a timestamp in unit u to microseconds.
func toMicros(v int64, u arrow.TimeUnit) (int64, bool) {
	switch u {
	case arrow.Microsecond:
		return v, true
	case arrow.Nanosecond:
		return floorDiv(v, 1000), true
	case arrow.Millisecond:
		if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
			return 0, false
		}
		return v * 1000, true
	case arrow.Second:
		if v > math.MaxInt64/usPerSecond || v < math.MinInt64/usPerSecond {
			return 0, false
		}
		return v * usPerSecond, true
	}
	return 0, false
}

// appendIntervalPart appends one "N unit(s)" field of the postgres
// interval style. A field after a negative one shows a + sign when
// positive, as Postgres prints it.
func appendIntervalPart(buf []byte, v int64, unit string, zero, before *bool) []byte {
	if v == 0 {
		return buf
	}
	if !*zero {
		buf = append(buf, ' ')
	}
	if *before && v > 0 {
		buf = append(buf, '+')
	}
	buf = strconv.AppendInt(buf, v, 10)
	buf = append(buf, ' ')
	buf = append(buf, unit...)
	if v != 1 {
		buf = append(buf, 's')
	}
	*before = v < 0
	*zero = false
	return buf
}

func appendInterval(buf []byte, months, days int32, us int64) []byte {
	zero, before := true, false
	buf = appendIntervalPart(buf, int64(months/12), "year", &zero, &before)
	buf = appendIntervalPart(buf, int64(months%12), "mon", &zero, &before)
	buf = appendIntervalPart(buf, int64(days), "day", &zero, &before)
	if zero || us != 0 {
		if !zero {
			buf = append(buf, ' ')
		}
		var abs uint64
		if us < 0 {
			buf = append(buf, '-')
			abs = uint64(-us)
		} else {
			if before {
				buf = append(buf, '+')
			}
			abs = uint64(us)
		}
		h := abs / uint64(usPerHour)
		if h < 10 {
			buf = append(buf, '0')
		}
		buf = strconv.AppendUint(buf, h, 10)
		buf = append(buf, ':')
		buf = append2(buf, int(abs/uint64(usPerMinute)%60))
		buf = append(buf, ':')
		buf = append2(buf, int(abs/uint64(usPerSecond)%60))
		buf = appendFraction(buf, int64(abs%uint64(usPerSecond)))
	}
	return buf
}

// ---------------------------------------------------------------------------
// Input.

func syntaxError(typ, s string) *pgerror.Error {
	return pgerror.New(pgerror.CodeInvalidTextRepresentation, "invalid input syntax for type %s: %q", typ, s)
}

func rangeError(typ, s string) *pgerror.Error {
	return pgerror.New(pgerror.CodeNumericValueOutOfRange, "value %q is out of range for type %s", s, typ)
}

func dateSyntaxError(typ, s string) *pgerror.Error {
	return pgerror.New(pgerror.CodeInvalidDatetimeFormat, "invalid input syntax for type %s: %q", typ, s)
}

func dateFieldError(s string) *pgerror.Error {
	return pgerror.New(pgerror.CodeDatetimeFieldOverflow, "date/time field value out of range: %q", s)
}

// isSpace reports the white space Postgres skips around values.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// ParseText parses s, the Postgres text input of a value of type t, into a
// Go value of the catalog's value convention. Errors are *pgerror.Error
// values with Postgres's codes and messages (22P02 invalid syntax, 22003
// out of range, 22007/22008 for dates and times, ...). Unknown, Text and
// Varchar return s itself.
func ParseText(t Type, s string) (any, error) {
	switch t.ID {
	case Unknown, Text:
		if !utf8.ValidString(s) {
			return nil, invalidUTF8(s)
		}
		return s, nil
	case Varchar:
		if !utf8.ValidString(s) {
			return nil, invalidUTF8(s)
		}
		if t.Length > 0 && len(s) > int(t.Length) && utf8.RuneCountInString(s) > int(t.Length) {
			// Postgres drops excess trailing spaces silently.
			trimmed := strings.TrimRight(s, " ")
			if utf8.RuneCountInString(trimmed) > int(t.Length) {
				return nil, pgerror.New(pgerror.CodeStringDataRightTrunc, "value too long for type character varying(%d)", t.Length)
			}
			r := []rune(s)
			return string(r[:t.Length]), nil
		}
		return s, nil
	case Bool:
		return parseBool(s)
	case Int2:
		return parseInt(s, 16, "smallint")
	case Int4:
		return parseInt(s, 32, "integer")
	case Int8:
		return parseInt(s, 64, "bigint")
	case Float4:
		return parseFloat(s, 32, "real")
	case Float8:
		return parseFloat(s, 64, "double precision")
	case Numeric:
		return ParseDecimal(s, t.Scale)
	case Bytea:
		return parseBytea(s)
	case Date:
		return parseDate(s)
	case Timestamp:
		return parseTimestamp(s, false)
	case TimestampTZ:
		return parseTimestamp(s, true)
	case Interval:
		return ParseInterval(s)
	}
	return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "cannot parse input of type %s", t)
}

func invalidUTF8(s string) *pgerror.Error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return pgerror.New("22021", "invalid byte sequence for encoding \"UTF8\": 0x%02x", s[i])
		}
		i += n
	}
	return pgerror.New("22021", "invalid byte sequence for encoding \"UTF8\"")
}

// parseBool accepts what Postgres's boolin accepts: any unambiguous prefix
// of true/false/yes/no, on/off, 1/0, in any case, around white space.
func parseBool(in string) (any, error) {
	s := strings.ToLower(trimSpace(in))
	if s != "" {
		switch s[0] {
		case 't':
			if strings.HasPrefix("true", s) {
				return true, nil
			}
		case 'f':
			if strings.HasPrefix("false", s) {
				return false, nil
			}
		case 'y':
			if strings.HasPrefix("yes", s) {
				return true, nil
			}
		case 'n':
			if strings.HasPrefix("no", s) {
				return false, nil
			}
		case 'o':
			if len(s) >= 2 && strings.HasPrefix("on", s) {
				return true, nil
			}
			if len(s) >= 2 && strings.HasPrefix("off", s) {
				return false, nil
			}
		case '1':
			if s == "1" {
				return true, nil
			}
		case '0':
			if s == "0" {
				return false, nil
			}
		}
	}
	return nil, syntaxError("boolean", in)
}

func parseInt(in string, bits int, typ string) (any, error) {
	s := trimSpace(in)
	if s == "" {
		return nil, syntaxError(typ, in)
	}
	// strconv accepts a leading '+' and '-', and digits only: what
	// Postgres 15 accepts.
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, rangeError(typ, in)
		}
		return nil, syntaxError(typ, in)
	}
	return v, nil
}

func parseFloat(in string, bits int, typ string) (any, error) {
	s := trimSpace(in)
	if s == "" {
		return nil, syntaxError(typ, in)
	}
	// strconv also reads hexadecimal floats and underscores; Postgres
	// does not.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == 'x' || c == 'X' || c == 'p' || c == 'P' {
			return nil, syntaxError(typ, in)
		}
	}
	v, err := strconv.ParseFloat(s, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, pgerror.New(pgerror.CodeNumericValueOutOfRange, "%q is out of range for type %s", in, typ)
		}
		return nil, syntaxError(typ, in)
	}
	if v == 0 && !math.IsInf(v, 0) {
		// Underflow: strconv rounds to zero, Postgres reports it.
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= '1' && c <= '9' {
				if e := strings.IndexAny(s, "eE"); e < 0 || i < e {
					return nil, pgerror.New(pgerror.CodeNumericValueOutOfRange, "%q is out of range for type %s", in, typ)
				}
			}
		}
	}
	return v, nil
}

// ParseDecimal parses the text of a NUMERIC value and rounds it, half away
// from zero, to scale fraction digits. It accepts an optional sign, digits
// with an optional decimal point, and an optional exponent (1.5e3).
func ParseDecimal(in string, scale int32) (Decimal, error) {
	s := trimSpace(in)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	digits := make([]byte, 0, len(s))
	frac := 0
	seenDot, seenDigit := false, false
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			seenDigit = true
			if len(digits) > 0 || c != '0' {
				digits = append(digits, c)
			}
			if seenDot {
				frac++
			}
			continue
		}
		if c == '.' && !seenDot {
			seenDot = true
			continue
		}
		break
	}
	if !seenDigit {
		if l := strings.ToLower(trimSpace(in)); l == "nan" || strings.TrimLeft(l, "+-") == "infinity" || strings.TrimLeft(l, "+-") == "inf" {
			return Decimal{}, pgerror.New(pgerror.CodeFeatureNotSupported, "numeric value %q is not supported", in)
		}
		return Decimal{}, syntaxError("numeric", in)
	}
	exp := int64(0)
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return Decimal{}, syntaxError("numeric", in)
		}
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil || s[i+1:] == "" {
			return Decimal{}, syntaxError("numeric", in)
		}
		if e > 1000 || e < -1000 {
			return Decimal{}, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid input syntax for type numeric: %q", in)
		}
		exp = e
	}
	// Trailing zeros were counted in frac when after the point; leading
	// zeros were dropped from digits.
	return decimalFromDigits(digits, exp-int64(frac), neg, scale, in)
}

// decimalFromDigits returns the value digits × 10^exp10 (digits without
// leading zeros), negated if neg, rounded half away from zero to scale.
func decimalFromDigits(digits []byte, exp10 int64, neg bool, scale int32, in string) (Decimal, error) {
	shift := exp10 + int64(scale)
	if shift < 0 {
		drop := -shift
		if drop > int64(len(digits)) {
			digits = digits[:0]
		} else {
			keep := int64(len(digits)) - drop
			roundUp := digits[keep] >= '5'
			digits = digits[:keep]
			if roundUp {
				digits = incrementDigits(digits)
			}
		}
		shift = 0
	}
	if len(digits) == 0 {
		return Decimal{Scale: scale}, nil
	}
	if int64(len(digits))+shift > NumericPrecision {
		return Decimal{}, numericOverflow(scale)
	}
	var n decimal128.Num
	if len(digits)+int(shift) <= 18 {
		v, _ := strconv.ParseInt(string(digits), 10, 64)
		for k := int64(0); k < shift; k++ {
			v *= 10
		}
		n = decimal128.FromI64(v)
	} else {
		b, ok := new(big.Int).SetString(string(digits), 10)
		if !ok {
			return Decimal{}, syntaxError("numeric", in)
		}
		if shift > 0 {
			b.Mul(b, new(big.Int).Exp(big.NewInt(10), big.NewInt(shift), nil))
		}
		n = decimal128.FromBigInt(b)
	}
	if neg {
		n = n.Negate()
	}
	return Decimal{Num: n, Scale: scale}, nil
}

func incrementDigits(d []byte) []byte {
	for k := len(d) - 1; k >= 0; k-- {
		if d[k] < '9' {
			d[k]++
			return d
		}
		d[k] = '0'
	}
	return append([]byte{'1'}, d...)
}

func numericOverflow(scale int32) *pgerror.Error {
	return pgerror.New(pgerror.CodeNumericValueOutOfRange, "numeric field overflow").
		WithDetail("A field with precision %d, scale %d must round to an absolute value less than 10^%d.", NumericPrecision, scale, NumericPrecision-scale)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseBytea accepts the hex format (\x0102, white space allowed between
// byte pairs) and the escape format (\\ for a backslash, \ooo octal).
func parseBytea(s string) (any, error) {
	if len(s) >= 2 && s[0] == '\\' && (s[1] == 'x' || s[1] == 'X') {
		out := make([]byte, 0, (len(s)-2)/2)
		for i := 2; i < len(s); {
			c := s[i]
			if isSpace(c) {
				i++
				continue
			}
			hi, ok := unhex(c)
			if !ok {
				return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid hexadecimal digit: %q", string(rune(c)))
			}
			if i+1 >= len(s) {
				return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid hexadecimal data: odd number of digits")
			}
			lo, ok := unhex(s[i+1])
			if !ok {
				return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid hexadecimal digit: %q", string(rune(s[i+1])))
			}
			out = append(out, hi<<4|lo)
			i += 2
		}
		return out, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '\\' {
			out = append(out, '\\')
			i += 2
			continue
		}
		if i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && s[i+2] >= '0' && s[i+2] <= '7' && s[i+3] >= '0' && s[i+3] <= '7' {
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 4
			continue
		}
		return nil, pgerror.New(pgerror.CodeInvalidTextRepresentation, "invalid input syntax for type bytea")
	}
	return out, nil
}

// dateTime is the result of scanning date/time text.
type dateTime struct {
	days    int64 // days since 1970-01-01
	tod     int64 // microseconds since midnight
	hasTime bool
	zone    int64 // offset east of UTC in seconds
	hasZone bool
	special int // +1 infinity, -1 -infinity
}

// scanner reads the fields of date/time text.
type scanner struct {
	s string
	i int
}

func (p *scanner) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// digits reads up to max decimal digits (at least one) as a number.
func (p *scanner) digits(max int) (int64, int, bool) {
	start := p.i
	v := int64(0)
	for p.i < len(p.s) && p.i-start < max && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		v = v*10 + int64(p.s[p.i]-'0')
		p.i++
	}
	return v, p.i - start, p.i > start
}

func (p *scanner) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) done() bool { return p.i >= len(p.s) }

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y int64, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// scanDateTime reads "YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][ zone][ BC]" and
// the special words infinity, -infinity and epoch.
func scanDateTime(typ, in string) (dateTime, error) {
	var dt dateTime
	s := trimSpace(in)
	switch strings.ToLower(s) {
	case "infinity", "+infinity":
		dt.special = 1
		return dt, nil
	case "-infinity":
		dt.special = -1
		return dt, nil
	case "epoch":
		return dt, nil
	}
	bc := false
	if l := len(s); l >= 3 && isSpace(s[l-3]) {
		switch strings.ToLower(s[l-2:]) {
		case "bc":
			bc = true
			s = trimSpace(s[:l-2])
		case "ad":
			s = trimSpace(s[:l-2])
		}
	}
	p := &scanner{s: s}
	y, n, ok := p.digits(9)
	if !ok || n < 1 || !p.eat('-') {
		return dt, dateSyntaxError(typ, in)
	}
	mv, _, ok := p.digits(2)
	if !ok || !p.eat('-') {
		return dt, dateSyntaxError(typ, in)
	}
	dv, _, ok := p.digits(2)
	if !ok {
		return dt, dateSyntaxError(typ, in)
	}
	m, d := int(mv), int(dv)
	if bc {
		if y == 0 {
			return dt, dateFieldError(in)
		}
		y = 1 - y
	} else if y == 0 {
		return dt, dateFieldError(in)
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return dt, dateFieldError(in)
	}
	dt.days = daysFromCivil(y, m, d)
	if p.done() {
		return dt, nil
	}
	if p.s[p.i] == 'T' || p.s[p.i] == 't' {
		p.i++
	} else {
		p.skipSpace()
	}
	if !p.done() && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		h, _, _ := p.digits(2)
		if !p.eat(':') {
			return dt, dateSyntaxError(typ, in)
		}
		mi, _, ok := p.digits(2)
		if !ok {
			return dt, dateSyntaxError(typ, in)
		}
		var sec, us int64
		if p.eat(':') {
			if sec, _, ok = p.digits(2); !ok {
				return dt, dateSyntaxError(typ, in)
			}
			if p.eat('.') {
				us, ok = p.fraction()
				if !ok {
					return dt, dateSyntaxError(typ, in)
				}
			}
		}
		if h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi != 0 || sec != 0 || us != 0)) {
			return dt, dateFieldError(in)
		}
		dt.tod = h*usPerHour + mi*usPerMinute + sec*usPerSecond + us
		dt.hasTime = true
		p.skipSpace()
	}
	if !p.done() {
		z, ok := p.zone()
		if !ok || !p.done() {
			return dt, dateSyntaxError(typ, in)
		}
		dt.zone, dt.hasZone = z, true
	}
	return dt, nil
}

// fraction reads the digits after a decimal point as microseconds, rounded
// to the nearest.
func (p *scanner) fraction() (int64, bool) {
	start := p.i
	us := int64(0)
	n := 0
	round := false
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		if n < 6 {
			us = us*10 + int64(p.s[p.i]-'0')
		} else if n == 6 {
			round = p.s[p.i] >= '5'
		}
		n++
		p.i++
	}
	for k := n; k < 6; k++ {
		us *= 10
	}
	if round {
		us++
	}
	return us, p.i > start
}

// zone reads Z, UTC, GMT, or +HH[:MM[:SS]] / +HHMM and returns the offset
// east of UTC in seconds.
func (p *scanner) zone() (int64, bool) {
	rest := strings.ToLower(p.s[p.i:])
	for _, name := range []string{"utc", "gmt", "z"} {
		if rest == name {
			p.i = len(p.s)
			return 0, true
		}
	}
	if p.done() || (p.s[p.i] != '+' && p.s[p.i] != '-') {
		return 0, false
	}
	sign := int64(1)
	if p.s[p.i] == '-' {
		sign = -1
	}
	p.i++
	h, n, ok := p.digits(4)
	if !ok {
		return 0, false
	}
	var mi, sec int64
	switch {
	case n == 4:
		mi = h % 100
		h /= 100
	case n == 3:
		return 0, false
	case p.eat(':'):
		if mi, _, ok = p.digits(2); !ok {
			return 0, false
		}
		if p.eat(':') {
			if sec, _, ok = p.digits(2); !ok {
				return 0, false
			}
		}
	}
	if h > 15 || mi > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + mi*60 + sec), true
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func parseDate(in string) (any, error) {
	dt, err := scanDateTime("date", in)
	if err != nil {
		return nil, err
	}
	switch dt.special {
	case 1:
		return int32(DateInfinity), nil
	case -1:
		return int32(DateNegInfinity), nil
	}
	if dt.days < minDateDays || dt.days > maxDateDays {
		return nil, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "date out of range: %q", in)
	}
	return int32(dt.days), nil
}

func parseTimestamp(in string, tz bool) (any, error) {
	typ := "timestamp"
	if tz {
		typ = "timestamp with time zone"
	}
	dt, err := scanDateTime(typ, in)
	if err != nil {
		return nil, err
	}
	switch dt.special {
	case 1:
		return int64(TimestampInfinity), nil
	case -1:
		return int64(TimestampNegInfinity), nil
	}
	if dt.days < minDateDays-1 || dt.days > maxTimestampUs/usPerDay {
		return nil, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "timestamp out of range: %q", in)
	}
	us := dt.days*usPerDay + dt.tod
	if tz && dt.hasZone {
		us -= dt.zone * usPerSecond
	}
	if us < minTimestampUs || us > maxTimestampUs {
		return nil, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "timestamp out of range: %q", in)
	}
	return us, nil
}

// ParseInterval parses interval text in the forms Postgres accepts:
// "1 year 2 mons 3 days 04:05:06", "10 seconds", "1 hour 30 minutes",
// "-1 day", "1.5 days", "00:00:10", "@ 1 day ago", a bare number of
// seconds, and ISO 8601 ("P1Y2M3DT4H5M6S").
func ParseInterval(in string) (arrow.MonthDayNanoInterval, error) {
	var iv intervalAcc
	s := trimSpace(in)
	if s == "" {
		return arrow.MonthDayNanoInterval{}, dateSyntaxError("interval", in)
	}
	var err error
	if s[0] == 'P' || s[0] == 'p' {
		err = iv.iso(s[1:])
	} else {
		err = iv.postgres(s)
	}
	if err != nil {
		if err == errIntervalRange {
			return arrow.MonthDayNanoInterval{}, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "interval field value out of range: %q", in)
		}
		return arrow.MonthDayNanoInterval{}, dateSyntaxError("interval", in)
	}
	if iv.months > math.MaxInt32 || iv.months < math.MinInt32 || iv.days > math.MaxInt32 || iv.days < math.MinInt32 ||
		iv.us > maxIntervalMicros || iv.us < -maxIntervalMicros {
		return arrow.MonthDayNanoInterval{}, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "interval out of range")
	}
	return arrow.MonthDayNanoInterval{Months: int32(iv.months), Days: int32(iv.days), Nanoseconds: iv.us * 1000}, nil
}

var (
	errIntervalSyntax = fmt.Errorf("interval syntax")
	errIntervalRange  = fmt.Errorf("interval range")
)

// intervalAcc accumulates interval fields. Values are kept in int64 and
// checked against overflow as they are added.
type intervalAcc struct {
	months, days, us int64
}

// intervalUnits maps unit words to their kind and multiplier.
type unitKind uint8

const (
	unitMicros unitKind = iota
	unitDays
	unitMonths
)

type unitDef struct {
	kind unitKind
	mult int64 // µs, days or months per unit
}

var intervalUnits = map[string]unitDef{}

func init() {
	add := func(d unitDef, names ...string) {
		for _, n := range names {
			intervalUnits[n] = d
		}
	}
	add(unitDef{unitMicros, 1}, "microsecond", "microseconds", "us", "usec", "usecs", "useconds")
	add(unitDef{unitMicros, 1000}, "millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds")
	add(unitDef{unitMicros, usPerSecond}, "second", "seconds", "s", "sec", "secs")
	add(unitDef{unitMicros, usPerMinute}, "minute", "minutes", "m", "min", "mins")
	add(unitDef{unitMicros, usPerHour}, "hour", "hours", "h", "hr", "hrs")
	add(unitDef{unitDays, 1}, "day", "days", "d")
	add(unitDef{unitDays, 7}, "week", "weeks", "w")
	add(unitDef{unitMonths, 1}, "month", "months", "mon", "mons")
	add(unitDef{unitMonths, 12}, "year", "years", "y", "yr", "yrs")
	add(unitDef{unitMonths, 120}, "decade", "decades")
	add(unitDef{unitMonths, 1200}, "century", "centuries")
	add(unitDef{unitMonths, 12000}, "millennium", "millennia", "millenniums")
}

const maxIntervalField = int64(1) << 62

func addChecked(a, b int64) (int64, error) {
	c := a + b
	if (b > 0 && c < a) || (b < 0 && c > a) || c > maxIntervalField || c < -maxIntervalField {
		return 0, errIntervalRange
	}
	return c, nil
}

func mulChecked(a, b int64) (int64, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	c := a * b
	if c/b != a || c > maxIntervalField || c < -maxIntervalField {
		return 0, errIntervalRange
	}
	return c, nil
}

// add adds ip+frac units of u (frac has the sign of ip), carrying
// fractions of months into days and of days into microseconds, as
// Postgres does (a month is 30 days).
func (iv *intervalAcc) add(ip int64, frac float64, u unitDef) error {
	v, err := mulChecked(ip, u.mult)
	if err != nil {
		return err
	}
	fr := frac * float64(u.mult)
	switch u.kind {
	case unitMicros:
		if iv.us, err = addChecked(iv.us, v); err != nil {
			return err
		}
		iv.us, err = addChecked(iv.us, int64(math.Round(fr)))
		return err
	case unitDays:
		if iv.days, err = addChecked(iv.days, v); err != nil {
			return err
		}
		whole := math.Trunc(fr)
		if iv.days, err = addChecked(iv.days, int64(whole)); err != nil {
			return err
		}
		iv.us, err = addChecked(iv.us, int64(math.Round((fr-whole)*float64(usPerDay))))
		return err
	case unitMonths:
		if iv.months, err = addChecked(iv.months, v); err != nil {
			return err
		}
		if u.mult >= 12 {
			// Fractions of years go to whole months only.
			iv.months, err = addChecked(iv.months, int64(math.Round(fr)))
			return err
		}
		whole := math.Trunc(fr)
		if iv.months, err = addChecked(iv.months, int64(whole)); err != nil {
			return err
		}
		return iv.add(0, (fr-whole)*30, unitDef{unitDays, 1})
	}
	return nil
}

// number reads [sign]digits[.digits] from s and returns the integer part,
// the fraction (with the same sign) and the rest of s.
func splitNumber(s string) (ip int64, frac float64, rest string, ok bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i-start >= 18 {
			return 0, 0, "", false
		}
		ip = ip*10 + int64(s[i]-'0')
		i++
	}
	nInt := i - start
	nFrac := 0
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		nFrac = i - fs
		if nFrac > 0 {
			f, err := strconv.ParseFloat("0."+s[fs:i], 64)
			if err != nil {
				return 0, 0, "", false
			}
			frac = f
		}
	}
	if nInt == 0 && nFrac == 0 {
		return 0, 0, "", false
	}
	if neg {
		ip, frac = -ip, -frac
	}
	return ip, frac, s[i:], true
}

// clock parses [sign]H:MM[:SS[.f]] into microseconds.
func parseClock(tok string) (int64, error) {
	neg := false
	if tok != "" && (tok[0] == '-' || tok[0] == '+') {
		neg = tok[0] == '-'
		tok = tok[1:]
	}
	p := &scanner{s: tok}
	h, _, ok := p.digits(10)
	if !ok || !p.eat(':') {
		return 0, errIntervalSyntax
	}
	mi, _, ok := p.digits(2)
	if !ok {
		return 0, errIntervalSyntax
	}
	var sec, us int64
	if p.eat(':') {
		if sec, _, ok = p.digits(2); !ok {
			return 0, errIntervalSyntax
		}
	}
	if p.eat('.') {
		if us, ok = p.fraction(); !ok {
			return 0, errIntervalSyntax
		}
	}
	if !p.done() || mi > 59 || sec > 60 {
		return 0, errIntervalSyntax
	}
	hus, err := mulChecked(h, usPerHour)
	if err != nil {
		return 0, err
	}
	v := hus + mi*usPerMinute + sec*usPerSecond + us
	if neg {
		v = -v
	}
	return v, nil
}

func (iv *intervalAcc) postgres(s string) error {
	fields := strings.Fields(strings.ToLower(s))
	if len(fields) > 0 && fields[0] == "@" {
		fields = fields[1:]
	} else if len(fields) > 0 && strings.HasPrefix(fields[0], "@") {
		fields[0] = fields[0][1:]
	}
	ago := false
	if n := len(fields); n > 0 && fields[n-1] == "ago" {
		ago = true
		fields = fields[:n-1]
	}
	if len(fields) == 0 {
		return errIntervalSyntax
	}
	for k := 0; k < len(fields); k++ {
		tok := fields[k]
		if strings.IndexByte(tok, ':') >= 0 {
			v, err := parseClock(tok)
			if err != nil {
				return err
			}
			if iv.us, err = addChecked(iv.us, v); err != nil {
				return err
			}
			continue
		}
		ip, frac, rest, ok := splitNumber(tok)
		if !ok {
			return errIntervalSyntax
		}
		unit := rest
		if unit == "" && k+1 < len(fields) && isLetter(fields[k+1][0]) {
			k++
			unit = fields[k]
		}
		if unit == "" {
			unit = "second"
		}
		u, ok := intervalUnits[strings.TrimSuffix(unit, ",")]
		if !ok {
			return errIntervalSyntax
		}
		if err := iv.add(ip, frac, u); err != nil {
			return err
		}
	}
	if ago {
		iv.months, iv.days, iv.us = -iv.months, -iv.days, -iv.us
	}
	return nil
}

// iso parses the part after P of an ISO 8601 duration.
func (iv *intervalAcc) iso(s string) error {
	if s == "" {
		return errIntervalSyntax
	}
	inTime := false
	for s != "" {
		if s[0] == 'T' || s[0] == 't' {
			if inTime {
				return errIntervalSyntax
			}
			inTime = true
			s = s[1:]
			continue
		}
		ip, frac, rest, ok := splitNumber(s)
		if !ok || rest == "" {
			return errIntervalSyntax
		}
		var u unitDef
		switch c := rest[0] | 0x20; {
		case c == 'y' && !inTime:
			u = intervalUnits["year"]
		case c == 'm' && !inTime:
			u = intervalUnits["month"]
		case c == 'w' && !inTime:
			u = intervalUnits["week"]
		case c == 'd' && !inTime:
			u = intervalUnits["day"]
		case c == 'h' && inTime:
			u = intervalUnits["hour"]
		case c == 'm' && inTime:
			u = intervalUnits["minute"]
		case c == 's' && inTime:
			u = intervalUnits["second"]
		default:
			return errIntervalSyntax
		}
		if err := iv.add(ip, frac, u); err != nil {
			return err
		}
		s = rest[1:]
	}
	return nil
}
