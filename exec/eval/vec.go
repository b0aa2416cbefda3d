package eval

import (
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
)

// vec is an evaluated value: an array of n rows, or one constant (c, in
// catalog's Go value convention; nil is NULL) standing for n equal rows.
// A vec owns one reference to arr.
type vec struct {
	arr arrow.Array
	c   any
	n   int
}

func constVec(v any, n int) vec { return vec{c: v, n: n} }

func (v vec) isConst() bool { return v.arr == nil }

func (v vec) release() {
	if v.arr != nil {
		v.arr.Release()
	}
}

// isNull reports whether row i is NULL.
func (v vec) isNull(i int) bool {
	if v.arr == nil {
		return v.c == nil
	}
	return v.arr.IsNull(i)
}

// value returns row i boxed. Strings and byte slices may point into the
// array's memory: clone them before keeping them past the array's life.
func (v vec) value(t catalog.Type, i int) any {
	if v.arr == nil {
		return v.c
	}
	return getValue(t, v.arr, i)
}

// hasNulls reports whether any row is NULL.
func (v vec) hasNulls() bool {
	if v.arr == nil {
		return v.c == nil
	}
	return v.arr.NullN() > 0
}

// toArray materializes v as an array of type t (a new reference).
func (v vec) toArray(alloc memory.Allocator, t catalog.Type) (arrow.Array, error) {
	if v.arr != nil {
		v.arr.Retain()
		return v.arr, nil
	}
	return constArray(alloc, t, v.c, v.n)
}

// constArray returns an array of n copies of val.
func constArray(alloc memory.Allocator, t catalog.Type, val any, n int) (arrow.Array, error) {
	if val == nil {
		return array.MakeArrayOfNull(alloc, t.Arrow(), n), nil
	}
	switch t.ID {
	case catalog.Int8, catalog.Timestamp, catalog.TimestampTZ:
		x, err := asInt64(val)
		if err != nil {
			return nil, err
		}
		buf, vals := newFixed[int64](alloc, n)
		for i := range vals {
			vals[i] = x
		}
		return fixedArray(t.Arrow(), n, nil, 0, buf), nil
	case catalog.Float8:
		x, ok := val.(float64)
		if !ok {
			break
		}
		buf, vals := newFixed[float64](alloc, n)
		for i := range vals {
			vals[i] = x
		}
		return fixedArray(t.Arrow(), n, nil, 0, buf), nil
	}
	b := array.NewBuilder(alloc, t.Arrow())
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		if err := appendValue(b, t, val); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

func asInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	}
	return 0, fmt.Errorf("eval: value %v (%T) is not an integer", v, v)
}

// getValue returns row i of arr in catalog's Go value convention (nil for
// NULL). Strings and []byte alias the array's memory.
func getValue(t catalog.Type, arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Decimal128:
		return catalog.Decimal{Num: a.Value(i), Scale: a.DataType().(*arrow.Decimal128Type).Scale}
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return a.Value(i)
	case *array.Date32:
		return int32(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.MonthDayNanoInterval:
		return a.Value(i)
	}
	return nil
}

// cloneValue copies the memory a value may alias.
func cloneValue(v any) any {
	switch x := v.(type) {
	case string:
		return strings.Clone(x)
	case []byte:
		return append([]byte(nil), x...)
	}
	return v
}

// appendValue appends v (catalog convention, nil = NULL) to a builder of
// type t.
func appendValue(b array.Builder, t catalog.Type, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	bad := func() error { return fmt.Errorf("eval: cannot store %T in %s", v, t) }
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.Int16Builder:
		x, err := asInt64(v)
		if err != nil {
			return err
		}
		bb.Append(int16(x))
	case *array.Int32Builder:
		x, err := asInt64(v)
		if err != nil {
			return err
		}
		bb.Append(int32(x))
	case *array.Int64Builder:
		x, err := asInt64(v)
		if err != nil {
			return err
		}
		bb.Append(x)
	case *array.Float32Builder:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		bb.Append(float32(x))
	case *array.Float64Builder:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.Decimal128Builder:
		x, ok := v.(catalog.Decimal)
		if !ok {
			return bad()
		}
		if x.Scale != t.Scale {
			n, err := rescaleDecimal(x.Num, x.Scale, t.Scale)
			if err != nil {
				return err
			}
			x.Num = n
		}
		bb.Append(x.Num)
	case *array.StringBuilder:
		switch x := v.(type) {
		case string:
			bb.Append(x)
		case []byte:
			bb.BinaryBuilder.Append(x)
		default:
			return bad()
		}
	case *array.BinaryBuilder:
		switch x := v.(type) {
		case []byte:
			bb.Append(x)
		case string:
			bb.AppendString(x)
		default:
			return bad()
		}
	case *array.Date32Builder:
		switch x := v.(type) {
		case int32:
			bb.Append(arrow.Date32(x))
		case int64:
			bb.Append(arrow.Date32(x))
		default:
			return bad()
		}
	case *array.TimestampBuilder:
		x, err := asInt64(v)
		if err != nil {
			return err
		}
		bb.Append(arrow.Timestamp(x))
	case *array.MonthDayNanoIntervalBuilder:
		x, ok := v.(arrow.MonthDayNanoInterval)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.NullBuilder:
		bb.AppendNull()
	default:
		return bad()
	}
	return nil
}

// newFixed allocates a zeroed buffer of n values of T.
func newFixed[T arrow.FixedWidthType](alloc memory.Allocator, n int) (*memory.Buffer, []T) {
	var zero T
	size := int(sizeOf(zero))
	buf := memory.NewResizableBuffer(alloc)
	buf.Resize(n * size)
	vals := arrow.GetData[T](buf.Bytes())
	return buf, vals[:n:n]
}

func sizeOf(v any) uintptr {
	switch v.(type) {
	case int8, uint8:
		return 1
	case int16, uint16:
		return 2
	case int32, uint32, float32, arrow.Date32:
		return 4
	case int64, uint64, float64, arrow.Timestamp:
		return 8
	case arrow.MonthDayNanoInterval:
		return 16
	}
	panic(fmt.Sprintf("eval: sizeOf %T", v))
}

// fixedArray wraps buffers into an array; it takes over the references to
// valid (may be nil) and values.
func fixedArray(dt arrow.DataType, n int, valid *memory.Buffer, nulls int, values *memory.Buffer) arrow.Array {
	data := array.NewData(dt, n, []*memory.Buffer{valid, values}, nil, nulls, 0)
	if valid != nil {
		valid.Release()
	}
	values.Release()
	defer data.Release()
	return array.MakeFromData(data)
}

// newBitmap allocates a bitmap of n bits, all set if ones.
func newBitmap(alloc memory.Allocator, n int, ones bool) *memory.Buffer {
	buf := memory.NewResizableBuffer(alloc)
	nb := int(bitutil.BytesForBits(int64(n)))
	buf.Resize(nb)
	b := buf.Bytes()
	if ones {
		for i := range b {
			b[i] = 0xff
		}
	} else {
		for i := range b {
			b[i] = 0
		}
	}
	return buf
}

// andValidity returns the AND of the validity bitmaps of the array
// operands (nil, 0 when no row is NULL) and the NULL count.
func andValidity(alloc memory.Allocator, n int, vs ...vec) (*memory.Buffer, int) {
	var out *memory.Buffer
	for _, v := range vs {
		if v.arr == nil || v.arr.NullN() == 0 {
			continue
		}
		bm := v.arr.NullBitmapBytes()
		off := int64(v.arr.Data().Offset())
		if out == nil {
			out = newBitmap(alloc, n, false)
			bitutil.CopyBitmap(bm, int(off), n, out.Bytes(), 0)
			continue
		}
		ob := out.Bytes()
		bitutil.BitmapAnd(ob, bm, 0, off, ob, 0, int64(n))
	}
	if out == nil {
		return nil, 0
	}
	return out, n - bitutil.CountSetBits(out.Bytes(), 0, n)
}

// validAt reports whether bit i of a validity bitmap (nil = all valid) is
// set.
func validAt(valid *memory.Buffer, i int) bool {
	return valid == nil || bitutil.BitIsSet(valid.Bytes(), i)
}

// boolArray builds a Boolean array from a value bitmap and a validity
// bitmap (nil = no NULLs); it takes over both references.
func boolArray(n int, vals, valid *memory.Buffer, nulls int) arrow.Array {
	return fixedArray(arrow.FixedWidthTypes.Boolean, n, valid, nulls, vals)
}

// int64s returns v's values as []int64 (broadcasting a constant); only for
// Int64/Timestamp arrays and integer constants.
func int64s(v vec) []int64 {
	if v.arr == nil {
		x, _ := asInt64(v.c)
		out := make([]int64, v.n)
		for i := range out {
			out[i] = x
		}
		return out
	}
	switch a := v.arr.(type) {
	case *array.Int64:
		return a.Int64Values()
	case *array.Timestamp:
		return arrow.GetData[int64](arrow.GetBytes(a.TimestampValues()))
	}
	return nil
}

// fixedValues returns the typed values of a fixed-width array or the
// broadcast constant c converted by conv.
func fixedValues[T arrow.FixedWidthType](v vec, conv func(any) T) []T {
	if v.arr == nil {
		x := conv(v.c)
		out := make([]T, v.n)
		for i := range out {
			out[i] = x
		}
		return out
	}
	return arrow.GetValues[T](v.arr.Data(), 1)
}

func convInt[T int16 | int32 | int64](c any) T {
	x, _ := asInt64(c)
	return T(x)
}

func convFloat[T float32 | float64](c any) T {
	x, _ := c.(float64)
	return T(x)
}

// takeArray returns the rows idx of arr; an index of -1 gives a NULL.
func takeArray(alloc memory.Allocator, arr arrow.Array, idx []int32) (arrow.Array, error) {
	n := len(idx)
	data := arr.Data()
	off := data.Offset()
	hasNulls := arr.NullN() > 0
	var valid *memory.Buffer
	nulls := 0
	for _, j := range idx {
		if j < 0 || hasNulls && arr.IsNull(int(j)) {
			nulls++
		}
	}
	if nulls > 0 {
		valid = newBitmap(alloc, n, false)
		vb := valid.Bytes()
		for i, j := range idx {
			if j >= 0 && (!hasNulls || arr.IsValid(int(j))) {
				bitutil.SetBit(vb, i)
			}
		}
	}
	switch dt := arr.DataType().(type) {
	case *arrow.BooleanType:
		vals := newBitmap(alloc, n, false)
		src, out := data.Buffers()[1].Bytes(), vals.Bytes()
		for i, j := range idx {
			if j >= 0 && bitutil.BitIsSet(src, off+int(j)) {
				bitutil.SetBit(out, i)
			}
		}
		return fixedArray(dt, n, valid, nulls, vals), nil
	case arrow.FixedWidthDataType:
		w := dt.BitWidth() / 8
		buf := memory.NewResizableBuffer(alloc)
		buf.Resize(n * w)
		out := buf.Bytes()
		src := data.Buffers()[1].Bytes()
		for i, j := range idx {
			if j < 0 {
				clear(out[i*w : (i+1)*w])
				continue
			}
			s := (off + int(j)) * w
			copy(out[i*w:(i+1)*w], src[s:s+w])
		}
		return fixedArray(dt, n, valid, nulls, buf), nil
	case *arrow.StringType, *arrow.BinaryType:
		var offs []int32
		var src []byte
		switch a := arr.(type) {
		case *array.String:
			offs, src = a.ValueOffsets(), a.ValueBytes()
		case *array.Binary:
			offs, src = a.ValueOffsets(), a.ValueBytes()
		}
		return takeVarBinary(alloc, dt, valid, nulls, idx, offs, src), nil
	case *arrow.NullType:
		return array.MakeArrayOfNull(alloc, dt, n), nil
	}
	if valid != nil {
		valid.Release()
	}
	return nil, errInternal("take of %s", arr.DataType())
}

func int32Array(alloc memory.Allocator, idx []int32) arrow.Array {
	buf, vals := newFixed[int32](alloc, len(idx))
	copy(vals, idx)
	return fixedArray(arrow.PrimitiveTypes.Int32, len(idx), nil, 0, buf)
}

// floatKey normalizes a float for use as a map key: all NaNs are one key
// and -0 equals 0, as in Postgres comparisons.
func floatKey(f float64) uint64 {
	if f != f {
		return math.Float64bits(math.NaN())
	}
	if f == 0 {
		return 0
	}
	return math.Float64bits(f)
}

// hashKey returns a comparable key for a value such that equal SQL values
// have equal keys (strings and bytes are copied).
func hashKey(v any) any {
	switch x := v.(type) {
	case float64:
		return floatKey(x)
	case string:
		return strings.Clone(x)
	case []byte:
		return string(x)
	case catalog.Decimal:
		// Normalize the scale so 1.0 and 1.00 are one key.
		return normDecimal(x)
	case arrow.MonthDayNanoInterval:
		return intervalKey(x)
	}
	return v
}

// takeVarBinary gathers the values idx of a string or binary array given
// by its offsets and value bytes (which start at offs[0]) into buffers of
// the exact size; rows idx < 0 and rows NULL in valid are empty. It takes
// over the reference to valid.
func takeVarBinary(alloc memory.Allocator, dt arrow.DataType, valid *memory.Buffer, nulls int, idx []int32, offs []int32, src []byte) arrow.Array {
	n := len(idx)
	base := int32(0)
	if len(offs) > 0 {
		base = offs[0]
	}
	total := 0
	for _, j := range idx {
		if j >= 0 {
			total += int(offs[j+1] - offs[j])
		}
	}
	ob := memory.NewResizableBuffer(alloc)
	ob.Resize((n + 1) * arrow.Int32SizeBytes)
	o := arrow.Int32Traits.CastFromBytes(ob.Bytes())
	db := memory.NewResizableBuffer(alloc)
	db.Resize(total)
	dst := db.Bytes()
	pos := 0
	o[0] = 0
	for i, j := range idx {
		if j >= 0 {
			pos += copy(dst[pos:], src[offs[j]-base:offs[j+1]-base])
		}
		o[i+1] = int32(pos)
	}
	data := array.NewData(dt, n, []*memory.Buffer{valid, ob, db}, nil, nulls, 0)
	if valid != nil {
		valid.Release()
	}
	ob.Release()
	db.Release()
	defer data.Release()
	return array.MakeFromData(data)
}
