package exec

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// takeArray gathers arr[idx[0]], arr[idx[1]], ... into a new array. A
// negative index produces a NULL (outer join padding). The caller releases
// the result.
func takeArray(mem memory.Allocator, arr arrow.Array, idx []int32) arrow.Array {
	n := len(idx)
	data := arr.Data()
	dt := arr.DataType()
	if dt.ID() == arrow.NULL {
		return array.NewNull(n)
	}

	// Validity.
	var valid *memory.Buffer
	nulls := 0
	srcNulls := arr.NullN() > 0
	if !srcNulls {
		for _, j := range idx {
			if j < 0 {
				srcNulls = true // some padding: need a bitmap
				break
			}
		}
	}
	if srcNulls {
		valid = memory.NewResizableBuffer(mem)
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := valid.Bytes()
		clear(bits)
		for i, j := range idx {
			if j >= 0 && arr.IsValid(int(j)) {
				bitutil.SetBit(bits, i)
			} else {
				nulls++
			}
		}
	}

	var bufs []*memory.Buffer
	off := data.Offset()
	switch a := arr.(type) {
	case *array.Boolean:
		vals := memory.NewResizableBuffer(mem)
		vals.Resize(int(bitutil.BytesForBits(int64(n))))
		dst := vals.Bytes()
		clear(dst)
		src := data.Buffers()[1].Bytes()
		for i, j := range idx {
			if j >= 0 && bitutil.BitIsSet(src, off+int(j)) {
				bitutil.SetBit(dst, i)
			}
		}
		bufs = []*memory.Buffer{valid, vals}
	case *array.String:
		bufs = takeVarBinary(mem, valid, idx, a.ValueOffsets(), a.ValueBytes())
	case *array.Binary:
		bufs = takeVarBinary(mem, valid, idx, a.ValueOffsets(), a.ValueBytes())
	default:
		fw, ok := dt.(arrow.FixedWidthDataType)
		if !ok {
			panic(fmt.Sprintf("exec: take of unsupported type %s", dt))
		}
		w := fw.BitWidth() / 8
		vals := memory.NewResizableBuffer(mem)
		vals.Resize(n * w)
		dst := vals.Bytes()
		var src []byte
		if b := data.Buffers()[1]; b != nil {
			src = b.Bytes()[off*w:]
		}
		switch w {
		case 1:
			gather(dst, src, idx)
		case 2:
			gather(asSlice[uint16](dst), asSlice[uint16](src), idx)
		case 4:
			gather(asSlice[uint32](dst), asSlice[uint32](src), idx)
		case 8:
			gather(asSlice[uint64](dst), asSlice[uint64](src), idx)
		case 16:
			gather(asSlice[[2]uint64](dst), asSlice[[2]uint64](src), idx)
		default:
			panic(fmt.Sprintf("exec: take of unsupported width %d", w))
		}
		bufs = []*memory.Buffer{valid, vals}
	}
	d := array.NewData(dt, n, bufs, nil, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	out := array.MakeFromData(d)
	d.Release()
	return out
}

func takeVarBinary(mem memory.Allocator, valid *memory.Buffer, idx []int32, offs []int32, data []byte) []*memory.Buffer {
	n := len(idx)
	base := 0
	if len(offs) > 0 {
		base = int(offs[0])
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((n + 1) * 4)
	dstOffs := asSlice[int32](ob.Bytes())
	total := 0
	for _, j := range idx {
		if j >= 0 {
			total += int(offs[j+1] - offs[j])
		}
	}
	db := memory.NewResizableBuffer(mem)
	db.Resize(total)
	dst := db.Bytes()
	pos := 0
	dstOffs[0] = 0
	for i, j := range idx {
		if j >= 0 {
			s, e := int(offs[j])-base, int(offs[j+1])-base
			pos += copy(dst[pos:], data[s:e])
		}
		dstOffs[i+1] = int32(pos)
	}
	return []*memory.Buffer{valid, ob, db}
}

func gather[T any](dst, src []T, idx []int32) {
	var zero T
	for i, j := range idx {
		if j >= 0 {
			dst[i] = src[j]
		} else {
			dst[i] = zero
		}
	}
}

// asSlice views b as a slice of T (b must be suitably aligned, as Arrow
// buffers are).
func asSlice[T any](b []byte) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	if len(b) < size {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/size)
}

// takeColumns gathers every column of cols at idx.
func takeColumns(mem memory.Allocator, cols []arrow.Array, idx []int32) []arrow.Array {
	out := make([]arrow.Array, len(cols))
	for i, c := range cols {
		out[i] = takeArray(mem, c, idx)
	}
	return out
}

// newBatch makes a batch of schema from cols, taking over the caller's
// references to cols. It reports an error instead of panicking when a
// column does not match the schema.
func newBatch(schema *arrow.Schema, cols []arrow.Array, n int) (arrow.RecordBatch, error) {
	if len(cols) != schema.NumFields() {
		releaseAll(cols)
		return nil, fmt.Errorf("exec: %d columns for a schema of %d", len(cols), schema.NumFields())
	}
	for i, c := range cols {
		if c.Len() != n {
			releaseAll(cols)
			return nil, fmt.Errorf("exec: column %d has %d rows, want %d", i, c.Len(), n)
		}
		if !arrow.TypeEqual(c.DataType(), schema.Field(i).Type) {
			releaseAll(cols)
			return nil, fmt.Errorf("exec: column %d (%s) has type %s, want %s", i, schema.Field(i).Name, c.DataType(), schema.Field(i).Type)
		}
	}
	b := array.NewRecordBatch(schema, cols, int64(n))
	releaseAll(cols)
	return b, nil
}

// rebatch returns b with schema (same columns), releasing b. Upstream
// operators may name fields differently; types must agree.
func rebatch(schema *arrow.Schema, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	if b.Schema() == schema {
		return b, nil
	}
	cols := b.Columns()
	for _, c := range cols {
		c.Retain()
	}
	n := int(b.NumRows())
	b.Release()
	return newBatch(schema, cols, n)
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}

func releaseBatches(bs []arrow.RecordBatch) {
	for _, b := range bs {
		if b != nil {
			b.Release()
		}
	}
}

// concatBatches concatenates batches column by column. The result holds
// its own references; the caller releases them. With no batches it
// returns empty arrays of the schema's types.
func concatBatches(mem memory.Allocator, schema *arrow.Schema, bs []arrow.RecordBatch) ([]arrow.Array, int, error) {
	cols := make([]arrow.Array, schema.NumFields())
	n := 0
	for _, b := range bs {
		n += int(b.NumRows())
	}
	for i := range cols {
		switch len(bs) {
		case 0:
			cols[i] = array.MakeArrayOfNull(mem, schema.Field(i).Type, 0)
		case 1:
			cols[i] = bs[0].Column(i)
			cols[i].Retain()
		default:
			parts := make([]arrow.Array, len(bs))
			for j, b := range bs {
				parts[j] = b.Column(i)
			}
			c, err := array.Concatenate(parts, mem)
			if err != nil {
				releaseAll(cols[:i])
				return nil, 0, err
			}
			cols[i] = c
		}
	}
	return cols, n, nil
}

// schemaOf returns the Arrow schema of plan columns.
func schemaOf(cols []planner.Column) *arrow.Schema {
	if len(cols) == 0 {
		return arrow.NewSchema(nil, nil)
	}
	// Plans are immutable and cached by the session layer, so the same
	// column slice comes back for every execution of a statement:
	// building its schema once saves an allocation-heavy step.
	key := schemaKey{&cols[0], len(cols)}
	schemaMu.Lock()
	sc, ok := schemas[key]
	schemaMu.Unlock()
	if ok {
		return sc
	}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = catalog.Field(c.Name, c.Type, true)
	}
	sc = arrow.NewSchema(fields, nil)
	schemaMu.Lock()
	if len(schemas) >= maxSchemas {
		clear(schemas)
	}
	schemas[key] = sc
	schemaMu.Unlock()
	return sc
}

type schemaKey struct {
	first *planner.Column
	n     int
}

// maxSchemas bounds the schema cache; it is cleared when full.
const maxSchemas = 4096

var (
	schemaMu sync.Mutex
	schemas  = map[schemaKey]*arrow.Schema{}
)

// valueAt returns arr[i] as a Go value in catalog's convention (nil for
// NULL).
func valueAt(arr arrow.Array, i int) any {
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
		return append([]byte(nil), a.Value(i)...)
	case *array.Date32:
		return int32(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.MonthDayNanoInterval:
		return a.Value(i)
	}
	return nil
}

// appendValue appends the Go value v (catalog's convention) to bld.
func appendValue(bld array.Builder, v any) error {
	if v == nil {
		bld.AppendNull()
		return nil
	}
	bad := func() error {
		return fmt.Errorf("exec: cannot store %T in a %s column", v, bld.Type())
	}
	switch b := bld.(type) {
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Int16Builder:
		x, ok := toInt64(v)
		if !ok {
			return bad()
		}
		if x != int64(int16(x)) {
			return errOutOfRange("smallint")
		}
		b.Append(int16(x))
	case *array.Int32Builder:
		x, ok := toInt64(v)
		if !ok {
			return bad()
		}
		if x != int64(int32(x)) {
			return errOutOfRange("integer")
		}
		b.Append(int32(x))
	case *array.Int64Builder:
		x, ok := toInt64(v)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Float32Builder:
		x, ok := toFloat64(v)
		if !ok {
			return bad()
		}
		b.Append(float32(x))
	case *array.Float64Builder:
		x, ok := toFloat64(v)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Decimal128Builder:
		scale := b.Type().(*arrow.Decimal128Type).Scale
		switch x := v.(type) {
		case catalog.Decimal:
			num := x.Num
			if x.Scale != scale {
				var err error
				num, err = x.Num.Rescale(x.Scale, scale)
				if err != nil {
					return errOutOfRange("numeric")
				}
			}
			b.Append(num)
		case int64:
			num, err := decimal128.FromI64(x).Rescale(0, scale)
			if err != nil {
				return errOutOfRange("numeric")
			}
			b.Append(num)
		default:
			return bad()
		}
	case *array.StringBuilder:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.BinaryBuilder:
		switch x := v.(type) {
		case []byte:
			b.Append(x)
		case string:
			b.AppendString(x)
		default:
			return bad()
		}
	case *array.Date32Builder:
		switch x := v.(type) {
		case int32:
			b.Append(arrow.Date32(x))
		case int64:
			b.Append(arrow.Date32(x))
		default:
			return bad()
		}
	case *array.TimestampBuilder:
		x, ok := toInt64(v)
		if !ok {
			return bad()
		}
		b.Append(arrow.Timestamp(x))
	case *array.MonthDayNanoIntervalBuilder:
		x, ok := v.(arrow.MonthDayNanoInterval)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.NullBuilder:
		return bad()
	default:
		return bad()
	}
	return nil
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	case int16:
		return int64(x), true
	}
	return 0, false
}

func toFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// constArray returns an array of n copies of the Go value v of type t.
func constArray(mem memory.Allocator, t catalog.Type, v any, n int) (arrow.Array, error) {
	bld := array.NewBuilder(mem, t.Arrow())
	defer bld.Release()
	bld.Reserve(n)
	if v == nil {
		bld.AppendNulls(n)
		return bld.NewArray(), nil
	}
	for range n {
		if err := appendValue(bld, v); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// TakeColumns gathers the rows idx of every column of cols. The caller
// releases the returned arrays.
func TakeColumns(mem memory.Allocator, cols []arrow.Array, idx []int32) []arrow.Array {
	return takeColumns(mem, cols, idx)
}
