package eval

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// Typed append-only min/max. Each group keeps its current extreme in a
// typed slice with a flag saying whether it has one; Update reads the
// argument array's values directly, without boxing. Retraction needs the
// multiset of extremeAcc and is refused.

// ordered are the types compared with < and > (floats get NaN handling:
// NaN is above every number, as in CompareValues).
type ordered interface {
	~int16 | ~int32 | ~int64 | ~float32 | ~float64 | ~string
}

// fastExtreme is an append-only min or max over values of type T.
type fastExtreme[T any] struct {
	alloc memory.Allocator
	t     catalog.Type
	max   bool
	vals  []T
	has   []bool
	// values returns the array's values when it has the expected layout.
	values func(x arrow.Array) ([]T, bool)
	// update folds vals (aligned with groups, NULL rows skipped) into the
	// state.
	update func(a *fastExtreme[T], groups []uint32, vals []T, x arrow.Array)
	// better reports whether v replaces cur as the extreme.
	better func(max bool, v, cur T) bool
	// fromAny converts a boxed value (fallback for unexpected layouts).
	fromAny func(v any) (T, bool)
	// keep copies a value that may alias an input array (nil: no copy).
	keep func(v T) T
	// appendAll appends vals with validity has to a builder of a.t.
	appendAll func(b array.Builder, vals []T, has []bool) bool
}

// newFastExtreme returns a typed append-only min/max for argument type t,
// or nil when t has no typed path.
func newFastExtreme(alloc memory.Allocator, t catalog.Type, max bool) Accumulator {
	switch t.ID {
	case catalog.Int2:
		return newOrdExtreme(alloc, t, max, func(x *array.Int16) []int16 { return x.Int16Values() },
			func(v any) (int16, bool) { i, err := asInt64(v); return int16(i), err == nil })
	case catalog.Int4:
		return newOrdExtreme(alloc, t, max, func(x *array.Int32) []int32 { return x.Int32Values() },
			func(v any) (int32, bool) { i, err := asInt64(v); return int32(i), err == nil })
	case catalog.Int8:
		return newOrdExtreme(alloc, t, max, func(x *array.Int64) []int64 { return x.Int64Values() },
			func(v any) (int64, bool) { i, err := asInt64(v); return i, err == nil })
	case catalog.Float4:
		return newOrdExtreme(alloc, t, max, func(x *array.Float32) []float32 { return x.Float32Values() },
			func(v any) (float32, bool) { f, ok := v.(float64); return float32(f), ok })
	case catalog.Float8:
		return newOrdExtreme(alloc, t, max, func(x *array.Float64) []float64 { return x.Float64Values() },
			func(v any) (float64, bool) { f, ok := v.(float64); return f, ok })
	case catalog.Date:
		return newOrdExtreme(alloc, t, max, func(x *array.Date32) []arrow.Date32 { return x.Date32Values() },
			func(v any) (arrow.Date32, bool) { i, err := asInt64(v); return arrow.Date32(i), err == nil })
	case catalog.Timestamp, catalog.TimestampTZ:
		return newOrdExtreme(alloc, t, max, func(x *array.Timestamp) []arrow.Timestamp { return x.TimestampValues() },
			func(v any) (arrow.Timestamp, bool) { i, err := asInt64(v); return arrow.Timestamp(i), err == nil })
	case catalog.Text, catalog.Varchar, catalog.Bytea:
		return newStringExtreme(alloc, t, max)
	case catalog.Numeric:
		return newDecimalExtreme(alloc, t, max)
	case catalog.Bool:
		return newBoolExtreme(alloc, t, max)
	}
	return nil
}

func betterOrd[T ordered](max bool, v, cur T) bool {
	if max {
		return v > cur || (v != v && cur == cur)
	}
	return v < cur || (cur != cur && v == v)
}

// appendValuesTo appends with a builder's AppendValues([]T, []bool).
func appendValuesTo[T any](b array.Builder, vals []T, has []bool) bool {
	bb, ok := b.(interface{ AppendValues([]T, []bool) })
	if !ok {
		return false
	}
	bb.AppendValues(vals, has)
	return true
}

func newOrdExtreme[T ordered, A arrow.Array](alloc memory.Allocator, t catalog.Type, max bool, raw func(A) []T, fromAny func(any) (T, bool)) *fastExtreme[T] {
	return &fastExtreme[T]{
		alloc: alloc, t: t, max: max,
		values: func(x arrow.Array) ([]T, bool) {
			a, ok := x.(A)
			if !ok {
				return nil, false
			}
			return raw(a), true
		},
		update:    updateOrd[T],
		better:    betterOrd[T],
		fromAny:   fromAny,
		appendAll: appendValuesTo[T],
	}
}

// updateOrd is the typed loop for ordered values; the max and min loops
// are separate so the comparison does not branch on the direction.
func updateOrd[T ordered](a *fastExtreme[T], groups []uint32, vals []T, x arrow.Array) {
	best, has := a.vals, a.has
	vals = vals[:len(groups)]
	if x.NullN() == 0 {
		if a.max {
			for i, g := range groups {
				v := vals[i]
				if !has[g] || v > best[g] || (v != v && best[g] == best[g]) {
					best[g], has[g] = v, true
				}
			}
		} else {
			for i, g := range groups {
				v := vals[i]
				if !has[g] || v < best[g] || (best[g] != best[g] && v == v) {
					best[g], has[g] = v, true
				}
			}
		}
		return
	}
	bits, off := x.NullBitmapBytes(), x.Data().Offset()
	for i, g := range groups {
		if !bitutil.BitIsSet(bits, off+i) {
			continue
		}
		v := vals[i]
		if !has[g] || betterOrd(a.max, v, best[g]) {
			best[g], has[g] = v, true
		}
	}
}

func (a *fastExtreme[T]) grow(n int) {
	a.vals = grow(a.vals, n)
	a.has = grow(a.has, n)
}

func (a *fastExtreme[T]) set(g uint32, v T) {
	if a.keep != nil {
		v = a.keep(v)
	}
	a.vals[g], a.has[g] = v, true
}

func (a *fastExtreme[T]) Update(groups []uint32, args []arrow.Array) error {
	a.grow(maxGroup(groups))
	if len(groups) == 0 {
		return nil
	}
	x := args[0]
	if x.NullN() == x.Len() {
		return nil
	}
	if vals, ok := a.values(x); ok {
		a.update(a, groups, vals, x)
		return nil
	}
	// Unexpected array layout: box row by row.
	for i, g := range groups {
		bv := getValue(a.t, x, i)
		if bv == nil {
			continue
		}
		v, ok := a.fromAny(bv)
		if !ok {
			return errInternal("min/max of %T as %s", bv, a.t)
		}
		if !a.has[g] || a.better(a.max, v, a.vals[g]) {
			a.set(g, v)
		}
	}
	return nil
}

func (a *fastExtreme[T]) Retract([]uint32, []arrow.Array) error {
	return pgerror.New(pgerror.CodeFeatureNotSupported, "cannot retract from an append-only min/max")
}

func (a *fastExtreme[T]) Merge(dst uint32, other Accumulator, src uint32) error {
	o, ok := other.(*fastExtreme[T])
	if !ok {
		return errInternal("merge of different accumulators")
	}
	a.grow(int(dst) + 1)
	if int(src) >= len(o.has) || !o.has[src] {
		return nil
	}
	if v := o.vals[src]; !a.has[dst] || a.better(a.max, v, a.vals[dst]) {
		a.set(dst, v)
	}
	return nil
}

func (a *fastExtreme[T]) Result(n int) (arrow.Array, error) {
	a.grow(n)
	b := array.NewBuilder(a.alloc, a.t.Arrow())
	defer b.Release()
	if !a.appendAll(b, a.vals[:n], a.has[:n]) {
		return nil, errInternal("min/max result builder %T", b)
	}
	return b.NewArray(), nil
}

func (a *fastExtreme[T]) Release() { a.vals, a.has = nil, nil }

// newStringExtreme handles text and bytea: values compare by bytes and
// are copied when they become a group's extreme.
func newStringExtreme(alloc memory.Allocator, t catalog.Type, max bool) *fastExtreme[string] {
	return &fastExtreme[string]{
		alloc: alloc, t: t, max: max,
		values: func(x arrow.Array) ([]string, bool) { return nil, isStringLike(x) },
		update: updateString,
		better: betterOrd[string],
		fromAny: func(v any) (string, bool) {
			switch s := v.(type) {
			case string:
				return s, true
			case []byte:
				return string(s), true
			}
			return "", false
		},
		keep: strings.Clone,
		appendAll: func(b array.Builder, vals []string, has []bool) bool {
			switch bb := b.(type) {
			case *array.StringBuilder:
				bb.AppendValues(vals, has)
			case *array.BinaryBuilder:
				bb.AppendStringValues(vals, has)
			default:
				return false
			}
			return true
		},
	}
}

func isStringLike(x arrow.Array) bool {
	switch x.(type) {
	case *array.String, *array.Binary:
		return true
	}
	return false
}

func updateString(a *fastExtreme[string], groups []uint32, _ []string, x arrow.Array) {
	var offs []int32
	var data []byte
	switch s := x.(type) {
	case *array.String:
		offs, data = s.ValueOffsets(), s.ValueBytes()
	case *array.Binary:
		offs, data = s.ValueOffsets(), s.ValueBytes()
	}
	base := int32(0)
	if len(offs) > 0 {
		base = offs[0]
	}
	nulls := x.NullN() > 0
	bits, off := x.NullBitmapBytes(), x.Data().Offset()
	best, has := a.vals, a.has
	for i, g := range groups {
		if nulls && !bitutil.BitIsSet(bits, off+i) {
			continue
		}
		v := data[offs[i]-base : offs[i+1]-base]
		if has[g] {
			if a.max {
				if !(string(v) > best[g]) {
					continue
				}
			} else if !(string(v) < best[g]) {
				continue
			}
		}
		best[g], has[g] = string(v), true
	}
}

// newDecimalExtreme handles numeric: values of one array share the type's
// scale, so they compare as 128-bit integers.
func newDecimalExtreme(alloc memory.Allocator, t catalog.Type, max bool) *fastExtreme[decimal128.Num] {
	return &fastExtreme[decimal128.Num]{
		alloc: alloc, t: t, max: max,
		values: func(x arrow.Array) ([]decimal128.Num, bool) {
			d, ok := x.(*array.Decimal128)
			if !ok || d.DataType().(*arrow.Decimal128Type).Scale != t.Scale {
				return nil, false
			}
			return d.Values(), true
		},
		update: func(a *fastExtreme[decimal128.Num], groups []uint32, vals []decimal128.Num, x arrow.Array) {
			nulls := x.NullN() > 0
			bits, off := x.NullBitmapBytes(), x.Data().Offset()
			best, has := a.vals, a.has
			for i, g := range groups {
				if nulls && !bitutil.BitIsSet(bits, off+i) {
					continue
				}
				v := vals[i]
				if !has[g] || betterDec(a.max, v, best[g]) {
					best[g], has[g] = v, true
				}
			}
		},
		better: betterDec,
		fromAny: func(v any) (decimal128.Num, bool) {
			d, ok := v.(catalog.Decimal)
			if !ok {
				return decimal128.Num{}, false
			}
			n, err := rescaleDecimal(d.Num, d.Scale, t.Scale)
			return n, err == nil
		},
		appendAll: appendValuesTo[decimal128.Num],
	}
}

func betterDec(max bool, v, cur decimal128.Num) bool {
	if max {
		return v.Greater(cur)
	}
	return v.Less(cur)
}

// newBoolExtreme: max is OR, min is AND.
func newBoolExtreme(alloc memory.Allocator, t catalog.Type, max bool) *fastExtreme[bool] {
	better := func(max bool, v, cur bool) bool { return v != cur && v == max }
	return &fastExtreme[bool]{
		alloc: alloc, t: t, max: max,
		values: func(x arrow.Array) ([]bool, bool) { _, ok := x.(*array.Boolean); return nil, ok },
		update: func(a *fastExtreme[bool], groups []uint32, _ []bool, x arrow.Array) {
			b := x.(*array.Boolean)
			nulls := x.NullN() > 0
			best, has := a.vals, a.has
			for i, g := range groups {
				if nulls && b.IsNull(i) {
					continue
				}
				v := b.Value(i)
				if !has[g] || better(a.max, v, best[g]) {
					best[g], has[g] = v, true
				}
			}
		},
		better:    better,
		fromAny:   func(v any) (bool, bool) { b, ok := v.(bool); return b, ok },
		appendAll: appendValuesTo[bool],
	}
}
