package catalog

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// buildArray returns a one-row array of type t holding v.
func buildArray(t *testing.T, mem memory.Allocator, typ Type, v any) arrow.Array {
	t.Helper()
	b := array.NewBuilder(mem, typ.Arrow())
	defer b.Release()
	switch b := b.(type) {
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.Int16Builder:
		b.Append(int16(v.(int64)))
	case *array.Int32Builder:
		b.Append(int32(v.(int64)))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Float32Builder:
		b.Append(float32(v.(float64)))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.Decimal128Builder:
		b.Append(v.(Decimal).Num)
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.(int32)))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.(int64)))
	case *array.MonthDayNanoIntervalBuilder:
		b.Append(v.(arrow.MonthDayNanoInterval))
	default:
		t.Fatalf("no builder for %s", typ)
	}
	return b.NewArray()
}

func TestBinary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	tests := []struct {
		t    Type
		v    any
		wire string // hex
	}{
		{TypeBool, true, "01"},
		{TypeBool, false, "00"},
		{TypeInt2, int64(-2), "fffe"},
		{TypeInt4, int64(1), "00000001"},
		{TypeInt8, int64(-1), "ffffffffffffffff"},
		{TypeFloat4, 1.5, "3fc00000"},
		{TypeFloat8, 1.5, "3ff8000000000000"},
		{TypeText, "hé", "68c3a9"},
		{TypeBytea, []byte{0, 1}, "0001"},
		{TypeDate, mustDays(2000, 1, 1), "00000000"},
		{TypeDate, mustDays(1999, 12, 31), "ffffffff"},
		{TypeDate, int32(DateInfinity), "7fffffff"},
		{TypeTimestamp, ts(2000, 1, 1, 0, 0, 1, 0), "00000000000f4240"},
		{TypeTimestampTZ, ts(1999, 12, 31, 23, 59, 59, 999999), "ffffffffffffffff"},
		{TypeInterval, iv(14, 3, usPerSecond), "00000000000f4240" + "00000003" + "0000000e"},
		// numeric: ndigits, weight, sign, dscale, digits
		{Type{ID: Numeric, Scale: 2}, dec("0", 2), "0000" + "0000" + "0000" + "0002"},
		{Type{ID: Numeric, Scale: 2}, dec("1.5", 2), "0002" + "0000" + "0000" + "0002" + "0001" + "1388"},
		{Type{ID: Numeric, Scale: 0}, dec("-12345678", 0), "0002" + "0001" + "4000" + "0000" + "04d2" + "162e"},
		{Type{ID: Numeric, Scale: 0}, dec("10000", 0), "0001" + "0001" + "0000" + "0000" + "0001"},
		{Type{ID: Numeric, Scale: 8}, dec("0.00000001", 8), "0001" + "fffe" + "0000" + "0008" + "0001"},
		{Type{ID: Numeric, Scale: 4}, dec("0.0001", 4), "0001" + "ffff" + "0000" + "0004" + "0001"},
	}
	for _, tc := range tests {
		arr := buildArray(t, mem, tc.t, tc.v)
		got, err := AppendBinary(nil, tc.t, arr, 0)
		arr.Release()
		if err != nil {
			t.Errorf("AppendBinary(%s, %v): %v", tc.t, tc.v, err)
			continue
		}
		if hex.EncodeToString(got) != tc.wire {
			t.Errorf("AppendBinary(%s, %v) = %x, want %s", tc.t, tc.v, got, tc.wire)
		}
		wire, _ := hex.DecodeString(tc.wire)
		back, err := ParseBinary(tc.t, wire)
		if err != nil {
			t.Errorf("ParseBinary(%s, %s): %v", tc.t, tc.wire, err)
			continue
		}
		if !equalValue(back, tc.v) {
			t.Errorf("ParseBinary(%s, %s) = %#v, want %#v", tc.t, tc.wire, back, tc.v)
		}
	}
}

func TestParseBinaryConversions(t *testing.T) {
	// A numeric with more digits than the target scale rounds.
	v, err := ParseBinary(Type{ID: Numeric, Scale: 1}, mustHex("0002"+"0000"+"0000"+"0002"+"0001"+"1388"))
	if err != nil || FormatValue(Type{ID: Numeric, Scale: 1}, v) != "1.5" {
		t.Errorf("numeric rescale: %v %v", v, err)
	}
	v, err = ParseBinary(Type{ID: Numeric, Scale: 0}, mustHex("0002"+"0000"+"4000"+"0002"+"0001"+"1388"))
	if err != nil || FormatValue(Type{ID: Numeric, Scale: 0}, v) != "-2" {
		t.Errorf("numeric round half away: %v %v", v, err)
	}
	// Integers of another width are accepted within range.
	if v, err := ParseBinary(TypeInt8, mustHex("00000005")); err != nil || v != int64(5) {
		t.Errorf("int4 as int8: %v %v", v, err)
	}
	if _, err := ParseBinary(TypeInt2, mustHex("00010000")); err == nil {
		t.Error("int2 out of range accepted")
	}
	if v, err := ParseBinary(TypeFloat8, mustHex("3fc00000")); err != nil || v != 1.5 {
		t.Errorf("float4 as float8: %v %v", v, err)
	}
	if v, err := ParseBinary(TypeUnknown, []byte("abc")); err != nil || v != "abc" {
		t.Errorf("unknown: %v %v", v, err)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseBinaryErrors(t *testing.T) {
	bad := []struct {
		t Type
		b string
	}{
		{TypeBool, ""}, {TypeBool, "0101"}, {TypeInt4, "000001"}, {TypeInt8, ""},
		{TypeFloat8, "00"}, {TypeDate, "0000"}, {TypeTimestamp, "00000000"}, {TypeInterval, "00"},
		{TypeNumeric, "0001"}, {TypeNumeric, "0001000000000000"}, // digit count lies
		{TypeNumeric, "0001000000000000" + "2710"},                                // digit 10000
		{TypeNumeric, "0000000012340000"},                                         // bad sign
		{TypeNumeric, "00000000c0000000"},                                         // NaN
		{Type{ID: Numeric, Scale: 0}, "0001" + "7fff" + "0000" + "0000" + "0001"}, // overflow
		{TypeText, "ff"},
		{TypeTimestamp, "7ffffffffffffffe"},
	}
	for _, tc := range bad {
		if v, err := ParseBinary(tc.t, mustHex(tc.b)); err == nil {
			t.Errorf("ParseBinary(%s, %s) = %v, want error", tc.t, tc.b, v)
		}
	}
}

func TestAppendBinaryNumericRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for _, s := range []string{"0.5", "-0.5", "123456789.123456789", "99999999999999999999.999999999999999999", "1", "-10000.0001", "0.000000000000000001"} {
		typ := Type{ID: Numeric, Scale: 18}
		want := dec(s, 18)
		arr := buildArray(t, mem, typ, want)
		b, err := AppendBinary(nil, typ, arr, 0)
		arr.Release()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseBinary(typ, b)
		if err != nil || got != want {
			t.Errorf("%s: %x -> %v, %v", s, b, got, err)
		}
	}
}

func FuzzParseBinary(f *testing.F) {
	for _, s := range []string{"", "00", "0001", "00000001", "3ff8000000000000", "00020000000000020001" + "1388",
		"00000000000f4240000000030000000e", "ffff"} {
		for k := range fuzzTypes {
			f.Add(uint8(k), mustHex(s))
		}
	}
	mem := memory.NewGoAllocator()
	f.Fuzz(func(t *testing.T, k uint8, b []byte) {
		typ := fuzzTypes[int(k)%len(fuzzTypes)]
		v, err := ParseBinary(typ, b)
		if err != nil {
			return
		}
		// What decodes must encode and decode to the same value.
		arr := buildArray(t, mem, typ, v)
		defer arr.Release()
		out, err := AppendBinary(nil, typ, arr, 0)
		if err != nil {
			t.Fatalf("%s %x: AppendBinary: %v", typ, b, err)
		}
		v2, err := ParseBinary(typ, out)
		if err != nil {
			t.Fatalf("%s %x -> %x: %v", typ, b, out, err)
		}
		if !equalValue(v, v2) && !bytes.Equal(out, b) {
			t.Fatalf("%s %x -> %v -> %x -> %v", typ, b, v, out, v2)
		}
	})
}
