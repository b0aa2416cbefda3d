package catalog

import (
	"errors"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/sql/pgerror"
)

func mustDays(y int64, m, d int) int32 { return int32(daysFromCivil(y, m, d)) }

func ts(y int64, mo, d, h, mi, s int, us int64) int64 {
	return daysFromCivil(y, mo, d)*usPerDay + int64(h)*usPerHour + int64(mi)*usPerMinute + int64(s)*usPerSecond + us
}

func dec(s string, scale int32) Decimal {
	d, err := ParseDecimal(s, scale)
	if err != nil {
		panic(err)
	}
	return d
}

func iv(months, days int32, us int64) arrow.MonthDayNanoInterval {
	return arrow.MonthDayNanoInterval{Months: months, Days: days, Nanoseconds: us * 1000}
}

func TestFormatValue(t *testing.T) {
	numeric2 := Type{ID: Numeric, Scale: 2}
	tests := []struct {
		t    Type
		v    any
		want string
	}{
		{TypeBool, true, "t"},
		{TypeBool, false, "f"},
		{TypeInt2, int64(-32768), "-32768"},
		{TypeInt4, int64(42), "42"},
		{TypeInt8, int64(math.MaxInt64), "9223372036854775807"},
		{TypeFloat8, 0.1, "0.1"},
		{TypeFloat8, 1.5, "1.5"},
		{TypeFloat8, 1e20, "1e+20"},
		{TypeFloat8, 123456789012345680000.0, "1.2345678901234568e+20"},
		{TypeFloat8, 1e-5, "1e-05"},
		{TypeFloat8, 1e-4, "0.0001"},
		{TypeFloat8, 0.00012345, "0.00012345"},
		{TypeFloat8, 123456789012345.0, "123456789012345"},
		{TypeFloat8, 1234567890123456.0, "1.234567890123456e+15"},
		{TypeFloat8, 1e15, "1e+15"},
		{TypeFloat8, 999999999999999.0, "999999999999999"},
		{TypeFloat8, 100.0, "100"},
		{TypeFloat8, -2.5, "-2.5"},
		{TypeFloat8, math.NaN(), "NaN"},
		{TypeFloat8, math.Inf(1), "Infinity"},
		{TypeFloat8, math.Inf(-1), "-Infinity"},
		{TypeFloat8, math.Copysign(0, -1), "-0"},
		{TypeFloat8, 0.0, "0"},
		{TypeFloat8, 1.0 / 3, "0.3333333333333333"},
		{TypeFloat8, math.MaxFloat64, "1.7976931348623157e+308"},
		{TypeFloat8, 5e-324, "5e-324"},
		{TypeFloat4, 123456.0, "123456"},
		{TypeFloat4, 1234567.0, "1.234567e+06"},
		{TypeFloat4, 0.1, "0.1"},
		{TypeFloat4, 123456.789, "123456.79"},
		{TypeFloat4, 0.000123456789, "0.00012345679"},
		{TypeFloat4, 0.0000123456789, "1.2345679e-05"},
		{TypeFloat4, 1e6, "1e+06"},
		{numeric2, dec("1.5", 2), "1.50"},
		{numeric2, dec("-0.05", 2), "-0.05"},
		{Type{ID: Numeric, Scale: 0}, dec("12345678901234567890123456789", 0), "12345678901234567890123456789"},
		{Type{ID: Numeric, Scale: 3}, dec("-12345678901234567890123456789.123", 3), "-12345678901234567890123456789.123"},
		{Type{ID: Numeric, Scale: 0}, dec("0", 0), "0"},
		{Type{ID: Numeric, Scale: 4}, dec("0", 4), "0.0000"},
		{TypeText, "héllo", "héllo"},
		{TypeBytea, []byte{1, 2, 0xff}, `\x0102ff`},
		{TypeBytea, []byte{}, `\x`},
		{TypeDate, mustDays(2022, 1, 1), "2022-01-01"},
		{TypeDate, mustDays(1970, 1, 1), "1970-01-01"},
		{TypeDate, mustDays(0, 1, 1), "0001-01-01 BC"},
		{TypeDate, mustDays(1, 1, 1), "0001-01-01"},
		{TypeDate, mustDays(-4712, 1, 1), "4713-01-01 BC"},
		{TypeDate, mustDays(2000, 2, 29), "2000-02-29"},
		{TypeDate, mustDays(12345, 6, 7), "12345-06-07"},
		{TypeDate, int32(DateInfinity), "infinity"},
		{TypeDate, int32(DateNegInfinity), "-infinity"},
		{TypeTimestamp, ts(2022, 1, 1, 10, 0, 0, 0), "2022-01-01 10:00:00"},
		{TypeTimestamp, ts(2022, 1, 1, 10, 0, 0, 500000), "2022-01-01 10:00:00.5"},
		{TypeTimestamp, ts(2022, 1, 1, 10, 0, 0, 123), "2022-01-01 10:00:00.000123"},
		{TypeTimestamp, ts(1969, 12, 31, 23, 59, 59, 999999), "1969-12-31 23:59:59.999999"},
		{TypeTimestamp, ts(0, 3, 1, 0, 0, 0, 0), "0001-03-01 00:00:00 BC"},
		{TypeTimestampTZ, ts(2022, 1, 1, 10, 0, 0, 0), "2022-01-01 10:00:00+00"},
		{TypeTimestampTZ, ts(0, 3, 1, 1, 2, 3, 0), "0001-03-01 01:02:03+00 BC"},
		{TypeTimestamp, int64(TimestampInfinity), "infinity"},
		{TypeInterval, iv(14, 3, 4*usPerHour+5*usPerMinute+6*usPerSecond), "1 year 2 mons 3 days 04:05:06"},
		{TypeInterval, iv(0, 0, 10*usPerSecond), "00:00:10"},
		{TypeInterval, iv(0, 0, -usPerSecond), "-00:00:01"},
		{TypeInterval, iv(0, 1, 0), "1 day"},
		{TypeInterval, iv(0, 0, 0), "00:00:00"},
		{TypeInterval, iv(0, -1, 0), "-1 days"},
		{TypeInterval, iv(0, -1, usPerHour), "-1 days +01:00:00"},
		{TypeInterval, iv(-1, 2, 0), "-1 mons +2 days"},
		{TypeInterval, iv(-14, 0, 0), "-1 years -2 mons"},
		{TypeInterval, iv(1, 0, 0), "1 mon"},
		{TypeInterval, iv(0, 0, 1500*usPerMinute/1000*1000+500000), "25:00:00.5"},
		{TypeInterval, iv(0, 0, 100*usPerHour), "100:00:00"},
		{TypeInterval, iv(12, 0, 0), "1 year"},
		{TypeInterval, iv(0, 2, 90*usPerMinute), "2 days 01:30:00"},
	}
	for _, tc := range tests {
		if got := FormatValue(tc.t, tc.v); got != tc.want {
			t.Errorf("FormatValue(%s, %#v) = %q, want %q", tc.t, tc.v, got, tc.want)
		}
	}
	if got := FormatValue(TypeInt4, nil); got != "NULL" {
		t.Errorf("nil: %q", got)
	}
}

// TestAppendText checks that arrays format like FormatValue of their values.
func TestAppendText(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)

	check := func(typ Type, arr arrow.Array, want ...string) {
		t.Helper()
		defer arr.Release()
		for i, w := range want {
			if got := string(AppendText([]byte("x"), typ, arr, i)); got != "x"+w {
				t.Errorf("%s row %d: got %q want %q", typ, i, got[1:], w)
			}
		}
	}

	bb := array.NewBooleanBuilder(mem)
	bb.AppendValues([]bool{true, false}, nil)
	check(TypeBool, bb.NewArray(), "t", "f")

	i2 := array.NewInt16Builder(mem)
	i2.AppendValues([]int16{-5, 32767}, nil)
	check(TypeInt2, i2.NewArray(), "-5", "32767")

	i4 := array.NewInt32Builder(mem)
	i4.AppendValues([]int32{1, math.MinInt32}, nil)
	check(TypeInt4, i4.NewArray(), "1", "-2147483648")

	i8 := array.NewInt64Builder(mem)
	i8.AppendValues([]int64{0, math.MinInt64}, nil)
	check(TypeInt8, i8.NewArray(), "0", "-9223372036854775808")

	f4 := array.NewFloat32Builder(mem)
	f4.AppendValues([]float32{0.1, 1e10, float32(math.Inf(-1))}, nil)
	check(TypeFloat4, f4.NewArray(), "0.1", "1e+10", "-Infinity")

	f8 := array.NewFloat64Builder(mem)
	f8.AppendValues([]float64{0.1, 1e20, math.NaN()}, nil)
	check(TypeFloat8, f8.NewArray(), "0.1", "1e+20", "NaN")

	nt := Type{ID: Numeric, Scale: 2}
	db := array.NewDecimal128Builder(mem, nt.Arrow().(*arrow.Decimal128Type))
	db.Append(decimal128.FromI64(150))
	db.Append(decimal128.FromI64(-1))
	db.Append(decimal128.GetMaxValue(38))
	check(nt, db.NewArray(), "1.50", "-0.01", "999999999999999999999999999999999999.99")

	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a", ""}, nil)
	check(TypeText, sb.NewArray(), "a", "")

	by := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	by.AppendValues([][]byte{{0xde, 0xad}, {}}, nil)
	check(TypeBytea, by.NewArray(), `\xdead`, `\x`)

	d32 := array.NewDate32Builder(mem)
	d32.AppendValues([]arrow.Date32{arrow.Date32(mustDays(2022, 1, 1)), arrow.Date32(mustDays(0, 12, 31))}, nil)
	check(TypeDate, d32.NewArray(), "2022-01-01", "0001-12-31 BC")

	tb := array.NewTimestampBuilder(mem, TypeTimestamp.Arrow().(*arrow.TimestampType))
	tb.Append(arrow.Timestamp(ts(2022, 1, 1, 10, 0, 0, 500000)))
	check(TypeTimestamp, tb.NewArray(), "2022-01-01 10:00:00.5")

	tz := array.NewTimestampBuilder(mem, TypeTimestampTZ.Arrow().(*arrow.TimestampType))
	tz.Append(arrow.Timestamp(ts(2022, 1, 1, 10, 0, 0, 0)))
	check(TypeTimestampTZ, tz.NewArray(), "2022-01-01 10:00:00+00")

	ns := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Nanosecond})
	ns.Append(arrow.Timestamp(ts(2022, 1, 1, 10, 0, 0, 1) * 1000))
	check(TypeTimestamp, ns.NewArray(), "2022-01-01 10:00:00.000001")

	ib := array.NewMonthDayNanoIntervalBuilder(mem)
	ib.Append(iv(14, 3, 4*usPerHour+5*usPerMinute+6*usPerSecond))
	ib.Append(iv(0, 0, -usPerSecond))
	check(TypeInterval, ib.NewArray(), "1 year 2 mons 3 days 04:05:06", "-00:00:01")
}

func TestParseText(t *testing.T) {
	tests := []struct {
		t    Type
		in   string
		want any
	}{
		{TypeBool, "t", true},
		{TypeBool, "TRUE", true},
		{TypeBool, " yes ", true},
		{TypeBool, "on", true},
		{TypeBool, "1", true},
		{TypeBool, "tr", true},
		{TypeBool, "f", false},
		{TypeBool, "false", false},
		{TypeBool, "no", false},
		{TypeBool, "off", false},
		{TypeBool, "0", false},
		{TypeInt2, "32767", int64(32767)},
		{TypeInt2, "-32768", int64(-32768)},
		{TypeInt4, " 42 ", int64(42)},
		{TypeInt4, "+7", int64(7)},
		{TypeInt4, "-2147483648", int64(math.MinInt32)},
		{TypeInt8, "9223372036854775807", int64(math.MaxInt64)},
		{TypeFloat8, "1.5", 1.5},
		{TypeFloat8, "1e20", 1e20},
		{TypeFloat8, " -0.1 ", -0.1},
		{TypeFloat8, "Infinity", math.Inf(1)},
		{TypeFloat8, "-infinity", math.Inf(-1)},
		{TypeFloat8, "inf", math.Inf(1)},
		{TypeFloat4, "0.1", float64(float32(0.1))},
		{TypeNumeric, "1.5", dec("1.5", NumericDefaultScale)},
		{Type{ID: Numeric, Scale: 2}, "1.005", Decimal{Num: decimal128.FromI64(101), Scale: 2}},
		{Type{ID: Numeric, Scale: 2}, "-1.005", Decimal{Num: decimal128.FromI64(-101), Scale: 2}},
		{Type{ID: Numeric, Scale: 2}, "1.004", Decimal{Num: decimal128.FromI64(100), Scale: 2}},
		{Type{ID: Numeric, Scale: 2}, "9.999", Decimal{Num: decimal128.FromI64(1000), Scale: 2}},
		{Type{ID: Numeric, Scale: 2}, "1.5e2", Decimal{Num: decimal128.FromI64(15000), Scale: 2}},
		{Type{ID: Numeric, Scale: 2}, "150E-2", Decimal{Num: decimal128.FromI64(150), Scale: 2}},
		{Type{ID: Numeric, Scale: 2}, ".5", Decimal{Num: decimal128.FromI64(50), Scale: 2}},
		{Type{ID: Numeric, Scale: 2}, "5.", Decimal{Num: decimal128.FromI64(500), Scale: 2}},
		{Type{ID: Numeric, Scale: 0}, "0.4", Decimal{Num: decimal128.FromI64(0), Scale: 0}},
		{Type{ID: Numeric, Scale: 0}, "1e-9", Decimal{Num: decimal128.FromI64(0), Scale: 0}},
		{Type{ID: Numeric, Scale: 0}, "-000123", Decimal{Num: decimal128.FromI64(-123), Scale: 0}},
		{TypeText, "abc", "abc"},
		{TypeUnknown, "abc", "abc"},
		{Type{ID: Varchar, Length: 3}, "abc  ", "abc"},
		{TypeBytea, `\x0102`, []byte{1, 2}},
		{TypeBytea, `\xDE AD`, []byte{0xde, 0xad}},
		{TypeBytea, `a\\b\001`, []byte{'a', '\\', 'b', 1}},
		{TypeBytea, ``, []byte{}},
		{TypeDate, "2022-01-01", mustDays(2022, 1, 1)},
		{TypeDate, "0001-01-01 BC", mustDays(0, 1, 1)},
		{TypeDate, "2022-01-01 10:00:00", mustDays(2022, 1, 1)},
		{TypeDate, "2000-02-29", mustDays(2000, 2, 29)},
		{TypeDate, "infinity", int32(DateInfinity)},
		{TypeDate, "epoch", int32(0)},
		{TypeTimestamp, "2022-01-01 10:00:00", ts(2022, 1, 1, 10, 0, 0, 0)},
		{TypeTimestamp, "2022-01-01T10:00:00.123", ts(2022, 1, 1, 10, 0, 0, 123000)},
		{TypeTimestamp, "2022-01-01 10:00", ts(2022, 1, 1, 10, 0, 0, 0)},
		{TypeTimestamp, "2022-01-01", ts(2022, 1, 1, 0, 0, 0, 0)},
		{TypeTimestamp, "2022-01-01 10:00:00.1234565", ts(2022, 1, 1, 10, 0, 0, 123457)},
		{TypeTimestamp, "2022-01-01 10:00:00+05", ts(2022, 1, 1, 10, 0, 0, 0)},
		{TypeTimestamp, "2022-01-01 24:00:00", ts(2022, 1, 2, 0, 0, 0, 0)},
		{TypeTimestamp, "0001-01-01 00:00:00 BC", ts(0, 1, 1, 0, 0, 0, 0)},
		{TypeTimestampTZ, "2022-01-01 10:00:00+02", ts(2022, 1, 1, 8, 0, 0, 0)},
		{TypeTimestampTZ, "2022-01-01 10:00:00-05:30", ts(2022, 1, 1, 15, 30, 0, 0)},
		{TypeTimestampTZ, "2022-01-01T10:00:00Z", ts(2022, 1, 1, 10, 0, 0, 0)},
		{TypeTimestampTZ, "2022-01-01 10:00:00 UTC", ts(2022, 1, 1, 10, 0, 0, 0)},
		{TypeTimestampTZ, "2022-01-01 10:00:00+0130", ts(2022, 1, 1, 8, 30, 0, 0)},
		{TypeTimestampTZ, "2022-01-01 10:00:00", ts(2022, 1, 1, 10, 0, 0, 0)},
		{TypeInterval, "1 day", iv(0, 1, 0)},
		{TypeInterval, "10 seconds", iv(0, 0, 10*usPerSecond)},
		{TypeInterval, "10 second", iv(0, 0, 10*usPerSecond)},
		{TypeInterval, "1 hour 30 minutes", iv(0, 0, 90*usPerMinute)},
		{TypeInterval, "00:00:10", iv(0, 0, 10*usPerSecond)},
		{TypeInterval, "1:30", iv(0, 0, 90*usPerMinute)},
		{TypeInterval, "-00:00:01", iv(0, 0, -usPerSecond)},
		{TypeInterval, "1 year 2 mons", iv(14, 0, 0)},
		{TypeInterval, "1 year 2 mons 3 days 04:05:06", iv(14, 3, 4*usPerHour+5*usPerMinute+6*usPerSecond)},
		{TypeInterval, "-1 day", iv(0, -1, 0)},
		{TypeInterval, "1.5 days", iv(0, 1, 12*usPerHour)},
		{TypeInterval, "1.5 months", iv(1, 15, 0)},
		{TypeInterval, "1.5 years", iv(18, 0, 0)},
		{TypeInterval, "2 weeks", iv(0, 14, 0)},
		{TypeInterval, "10", iv(0, 0, 10*usPerSecond)},
		{TypeInterval, "500 ms", iv(0, 0, 500000)},
		{TypeInterval, "10s", iv(0, 0, 10*usPerSecond)},
		{TypeInterval, "1day", iv(0, 1, 0)},
		{TypeInterval, "@ 1 day ago", iv(0, -1, 0)},
		{TypeInterval, "1 DAY", iv(0, 1, 0)},
		{TypeInterval, "00:00:00.5", iv(0, 0, 500000)},
		{TypeInterval, "P1D", iv(0, 1, 0)},
		{TypeInterval, "P1Y2M3DT4H5M6S", iv(14, 3, 4*usPerHour+5*usPerMinute+6*usPerSecond)},
		{TypeInterval, "PT0.5S", iv(0, 0, 500000)},
		{TypeInterval, "1 century", iv(1200, 0, 0)},
	}
	for _, tc := range tests {
		got, err := ParseText(tc.t, tc.in)
		if err != nil {
			t.Errorf("ParseText(%s, %q): %v", tc.t, tc.in, err)
			continue
		}
		if !equalValue(got, tc.want) {
			t.Errorf("ParseText(%s, %q) = %#v (%s), want %#v (%s)", tc.t, tc.in, got, FormatValue(tc.t, got), tc.want, FormatValue(tc.t, tc.want))
		}
	}
}

func equalValue(a, b any) bool {
	switch a := a.(type) {
	case []byte:
		bb, ok := b.([]byte)
		return ok && string(a) == string(bb)
	case float64:
		bf, ok := b.(float64)
		return ok && (a == bf || (math.IsNaN(a) && math.IsNaN(bf)))
	}
	return a == b
}

func TestParseTextErrors(t *testing.T) {
	tests := []struct {
		t    Type
		in   string
		code string
		msg  string
	}{
		{TypeInt4, "abc", "22P02", `invalid input syntax for type integer: "abc"`},
		{TypeInt4, "", "22P02", `invalid input syntax for type integer: ""`},
		{TypeInt4, "1.5", "22P02", `invalid input syntax for type integer: "1.5"`},
		{TypeInt4, "2147483648", "22003", `value "2147483648" is out of range for type integer`},
		{TypeInt2, "32768", "22003", `value "32768" is out of range for type smallint`},
		{TypeInt8, "9223372036854775808", "22003", `value "9223372036854775808" is out of range for type bigint`},
		{TypeInt8, "1_000", "22P02", `invalid input syntax for type bigint: "1_000"`},
		{TypeBool, "maybe", "22P02", `invalid input syntax for type boolean: "maybe"`},
		{TypeBool, "o", "22P02", `invalid input syntax for type boolean: "o"`},
		{TypeFloat8, "abc", "22P02", `invalid input syntax for type double precision: "abc"`},
		{TypeFloat8, "0x10", "22P02", `invalid input syntax for type double precision: "0x10"`},
		{TypeFloat8, "1e400", "22003", `"1e400" is out of range for type double precision`},
		{TypeFloat4, "1e40", "22003", `"1e40" is out of range for type real`},
		{TypeFloat4, "1e-70", "22003", `"1e-70" is out of range for type real`},
		{TypeNumeric, "abc", "22P02", `invalid input syntax for type numeric: "abc"`},
		{TypeNumeric, "1.2.3", "22P02", `invalid input syntax for type numeric: "1.2.3"`},
		{TypeNumeric, "1e", "22P02", `invalid input syntax for type numeric: "1e"`},
		{Type{ID: Numeric, Scale: 2}, "1e40", "22003", "numeric field overflow"},
		{TypeBytea, `\xzz`, "22023", `invalid hexadecimal digit: "z"`},
		{TypeBytea, `\x0`, "22023", "invalid hexadecimal data: odd number of digits"},
		{TypeBytea, `\q`, "22P02", "invalid input syntax for type bytea"},
		{TypeDate, "abc", "22007", `invalid input syntax for type date: "abc"`},
		{TypeDate, "2022-13-01", "22008", `date/time field value out of range: "2022-13-01"`},
		{TypeDate, "2022-02-29", "22008", `date/time field value out of range: "2022-02-29"`},
		{TypeDate, "0000-01-01", "22008", `date/time field value out of range: "0000-01-01"`},
		{TypeDate, "5000-01-01 BC", "22008", `date out of range: "5000-01-01 BC"`},
		{TypeTimestamp, "2022-01-01 25:00:00", "22008", `date/time field value out of range: "2022-01-01 25:00:00"`},
		{TypeTimestamp, "2022-01-01 10:00:00 junk", "22007", `invalid input syntax for type timestamp: "2022-01-01 10:00:00 junk"`},
		{TypeTimestamp, "300000-01-01", "22008", `timestamp out of range: "300000-01-01"`},
		{TypeTimestamp, "5000000-01-01", "22008", `timestamp out of range: "5000000-01-01"`},
		{TypeTimestampTZ, "x", "22007", `invalid input syntax for type timestamp with time zone: "x"`},
		{TypeInterval, "abc", "22007", `invalid input syntax for type interval: "abc"`},
		{TypeInterval, "1 fortnight", "22007", `invalid input syntax for type interval: "1 fortnight"`},
		{TypeInterval, "", "22007", `invalid input syntax for type interval: ""`},
		{TypeInterval, "99999999999 years", "22008", `interval out of range`},
		{TypeInterval, "999999999999999999 hours", "22008", `interval field value out of range: "999999999999999999 hours"`},
		{Type{ID: Varchar, Length: 2}, "abc", "22001", "value too long for type character varying(2)"},
		{TypeText, "a\xffb", "22021", `invalid byte sequence for encoding "UTF8": 0xff`},
	}
	for _, tc := range tests {
		_, err := ParseText(tc.t, tc.in)
		var pe *pgerror.Error
		if !errors.As(err, &pe) {
			t.Errorf("ParseText(%s, %q): error %v is not a *pgerror.Error", tc.t, tc.in, err)
			continue
		}
		if pe.Code != tc.code || pe.Message != tc.msg {
			t.Errorf("ParseText(%s, %q): got %s %q, want %s %q", tc.t, tc.in, pe.Code, pe.Message, tc.code, tc.msg)
		}
	}
}

// TestTextRoundTrip checks that the output of every value reads back as
// the same value.
func TestTextRoundTrip(t *testing.T) {
	values := []struct {
		t Type
		v any
	}{
		{TypeFloat8, 0.1}, {TypeFloat8, 1e300}, {TypeFloat8, -1e-300}, {TypeFloat8, math.Pi},
		{TypeFloat8, 123456789012345680000.0}, {TypeFloat4, float64(float32(math.E))},
		{TypeDate, mustDays(-4712, 1, 1)}, {TypeDate, mustDays(5874897, 12, 31)},
		{TypeTimestamp, ts(294246, 12, 31, 23, 59, 59, 999999)}, {TypeTimestamp, ts(-4712, 1, 1, 0, 0, 0, 0)},
		{TypeTimestampTZ, ts(1999, 12, 31, 23, 59, 59, 1)},
		{TypeInterval, iv(-14, 3, -4*usPerHour)}, {TypeInterval, iv(0, 0, 1)}, {TypeInterval, iv(25, -40, 36*usPerHour+1)},
		{Type{ID: Numeric, Scale: 5}, dec("-12345.00001", 5)},
		{TypeBytea, []byte("\x00\\abc")},
	}
	for _, tc := range values {
		s := FormatValue(tc.t, tc.v)
		got, err := ParseText(tc.t, s)
		if err != nil {
			t.Errorf("%s %q: %v", tc.t, s, err)
			continue
		}
		if !equalValue(got, tc.v) {
			t.Errorf("%s: %#v -> %q -> %#v", tc.t, tc.v, s, got)
		}
	}
}

var fuzzTypes = []Type{TypeBool, TypeInt2, TypeInt4, TypeInt8, TypeFloat4, TypeFloat8, TypeNumeric,
	{ID: Numeric, Scale: 0}, {ID: Numeric, Scale: 38}, TypeText, {ID: Varchar, Length: 3}, TypeBytea,
	TypeDate, TypeTimestamp, TypeTimestampTZ, TypeInterval}

func FuzzParseText(f *testing.F) {
	for _, s := range []string{"1", "-1.5e3", "t", `\x01`, "2022-01-01 10:00:00+02", "1 year 2 mons -3 days 04:05:06.7 ago",
		"P1Y2M3DT4H5M6.5S", "0001-01-01 BC", "9999999999999999999999", "infinity", "@ 1 day", "1:2:3.4"} {
		for k := range fuzzTypes {
			f.Add(uint8(k), s)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, s string) {
		typ := fuzzTypes[int(k)%len(fuzzTypes)]
		v, err := ParseText(typ, s)
		if err != nil {
			var pe *pgerror.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error without SQLSTATE: %v", err)
			}
			return
		}
		// What parses must format and parse back to the same value.
		out := FormatValue(typ, v)
		v2, err := ParseText(typ, out)
		if err != nil {
			t.Fatalf("%s %q -> %q: %v", typ, s, out, err)
		}
		if out2 := FormatValue(typ, v2); out2 != out {
			t.Fatalf("%s %q -> %q -> %q", typ, s, out, out2)
		}
	})
}
