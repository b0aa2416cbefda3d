package eval

import (
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// Accumulator holds the state of one aggregate for many groups, indexed by
// dense group ids 0..n-1. Group state grows as larger ids appear. An
// Accumulator is used by one goroutine at a time.
type Accumulator interface {
	// Update adds row i of args to group groups[i] for every row i. args
	// are the evaluated argument arrays, each of len(groups); count(*) has
	// none. Strict aggregates skip rows whose (first) argument is NULL.
	Update(groups []uint32, args []arrow.Array) error
	// Retract removes rows previously added, for views over changing
	// inputs. string_agg cannot retract (0A000); min and max can unless
	// the accumulator was made AppendOnly.
	Retract(groups []uint32, args []arrow.Array) error
	// Merge adds the state of group src of other (an Accumulator made for
	// the same aggregate and options) into group dst, for partial
	// aggregation in parallel.
	Merge(dst uint32, other Accumulator, src uint32) error
	// Result returns the values of groups 0..n-1 as an array of the
	// aggregate's result type: count of an empty group is 0; the others
	// are NULL over no rows. The caller releases the array.
	Result(n int) (arrow.Array, error)
	// Release frees the state.
	Release()
}

// AccOptions tune an accumulator.
type AccOptions struct {
	// AppendOnly accumulators never see Retract: min and max then keep
	// only the current extreme instead of a multiset of values per group.
	AppendOnly bool
}

// NewAccumulator returns an accumulator for agg (resolved by
// planner.ResolveAgg), able to retract. distinct makes it aggregate each
// group's distinct argument values only (count(DISTINCT x), ...).
func NewAccumulator(env *Env, agg *planner.Agg, distinct bool) (Accumulator, error) {
	return NewAccumulatorOpts(env, agg, distinct, AccOptions{})
}

// NewAccumulatorOpts is NewAccumulator with options.
func NewAccumulatorOpts(env *Env, agg *planner.Agg, distinct bool, opts AccOptions) (Accumulator, error) {
	acc, err := newAcc(env.Allocator(), agg, opts)
	if err != nil {
		return nil, err
	}
	if distinct && len(agg.Args) > 0 {
		return &distinctAcc{inner: acc, t: agg.Args[0], alloc: env.Allocator()}, nil
	}
	return acc, nil
}

func newAcc(alloc memory.Allocator, agg *planner.Agg, opts AccOptions) (Accumulator, error) {
	var argT catalog.Type
	if len(agg.Args) > 0 {
		argT = agg.Args[0]
	}
	switch agg.Name {
	case "count":
		return &countAcc{alloc: alloc, star: len(agg.Args) == 0}, nil
	case "sum", "avg":
		a := &sumAcc{alloc: alloc, argT: argT, ret: agg.Ret, avg: agg.Name == "avg"}
		switch {
		case argT.IsInteger():
			a.kind = sumInt
		case argT.ID == catalog.Numeric:
			a.kind = sumDec
		case argT.ID == catalog.Float4 || argT.ID == catalog.Float8:
			a.kind = sumFloat
		case argT.ID == catalog.Interval:
			a.kind = sumInterval
		default:
			return nil, pgerror.New(pgerror.CodeUndefinedFunction, "function %s(%s) does not exist", agg.Name, argT)
		}
		return a, nil
	case "min", "max":
		sign := 1
		if agg.Name == "min" {
			sign = -1
		}
		if opts.AppendOnly {
			if a := newFastExtreme(alloc, argT, sign > 0); a != nil {
				return a, nil
			}
		}
		return &extremeAcc{alloc: alloc, t: argT, sign: sign, multiset: !opts.AppendOnly}, nil
	case "bool_and", "every", "bool_or":
		return &boolAcc{alloc: alloc, or: agg.Name == "bool_or"}, nil
	case "string_agg":
		return &stringAggAcc{alloc: alloc, t: agg.Ret, argT: agg.Args}, nil
	case "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop":
		return &statsAcc{alloc: alloc, name: agg.Name, argT: argT, ret: agg.Ret}, nil
	}
	return nil, pgerror.New(pgerror.CodeUndefinedFunction, "aggregate %s is not implemented", agg.Name)
}

func grow[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		return s[:n]
	}
	out := make([]T, n, max(n, 2*cap(s)))
	copy(out, s)
	return out
}

func maxGroup(groups []uint32) int {
	m := -1
	for _, g := range groups {
		if int(g) > m {
			m = int(g)
		}
	}
	return m + 1
}

// countAcc implements count(*) and count(x).
type countAcc struct {
	alloc  memory.Allocator
	star   bool
	counts []int64
}

func (a *countAcc) add(groups []uint32, args []arrow.Array, d int64) error {
	a.counts = grow(a.counts, maxGroup(groups))
	if a.star || len(args) == 0 || args[0].NullN() == 0 {
		for _, g := range groups {
			a.counts[g] += d
		}
		return nil
	}
	x := args[0]
	for i, g := range groups {
		if x.IsValid(i) {
			a.counts[g] += d
		}
	}
	return nil
}

func (a *countAcc) Update(groups []uint32, args []arrow.Array) error { return a.add(groups, args, 1) }
func (a *countAcc) Retract(groups []uint32, args []arrow.Array) error {
	return a.add(groups, args, -1)
}

func (a *countAcc) Merge(dst uint32, other Accumulator, src uint32) error {
	o, ok := other.(*countAcc)
	if !ok {
		return errInternal("merge of different accumulators")
	}
	a.counts = grow(a.counts, int(dst)+1)
	if int(src) < len(o.counts) {
		a.counts[dst] += o.counts[src]
	}
	return nil
}

func (a *countAcc) Result(n int) (arrow.Array, error) {
	a.counts = grow(a.counts, n)
	buf, out := newFixed[int64](a.alloc, n)
	copy(out, a.counts[:n])
	return fixedArray(arrow.PrimitiveTypes.Int64, n, nil, 0, buf), nil
}

func (a *countAcc) Release() { a.counts = nil }

type sumKind uint8

const (
	sumInt sumKind = iota
	sumDec
	sumFloat
	sumInterval
)

// sumAcc implements sum and avg: integers and numerics add exactly in 128
// bits, floats in float64, intervals field by field.
type sumAcc struct {
	alloc  memory.Allocator
	kind   sumKind
	argT   catalog.Type
	ret    catalog.Type
	avg    bool
	counts []int64
	dec    []decimal128.Num
	flt    []float64
	iv     [][3]int64
}

func (a *sumAcc) grow(n int) {
	a.counts = grow(a.counts, n)
	switch a.kind {
	case sumInt, sumDec:
		a.dec = grow(a.dec, n)
	case sumFloat:
		a.flt = grow(a.flt, n)
	case sumInterval:
		a.iv = grow(a.iv, n)
	}
}

func sumInts[T int16 | int32 | int64](vals []T, x arrow.Array, groups []uint32, sums []decimal128.Num, counts []int64, neg bool) {
	vals = vals[:len(groups)]
	if x.NullN() == 0 && !neg {
		for i, g := range groups {
			counts[g]++
			sums[g] = add128(sums[g], int64(vals[i]))
		}
		return
	}
	nulls := x.NullN() > 0
	bm, off := x.NullBitmapBytes(), x.Data().Offset()
	for i, g := range groups {
		if nulls && !bitutil.BitIsSet(bm, off+i) {
			continue
		}
		v := int64(vals[i])
		if neg {
			counts[g]--
			sums[g] = sums[g].Sub(decimal128.FromI64(v))
		} else {
			counts[g]++
			sums[g] = add128(sums[g], v)
		}
	}
}

// add128 returns s + v in 128 bits.
func add128(s decimal128.Num, v int64) decimal128.Num {
	lo, carry := bits.Add64(s.LowBits(), uint64(v), 0)
	return decimal128.New(s.HighBits()+(v>>63)+int64(carry), lo)
}

func sumFloats[T float32 | float64](vals []T, x arrow.Array, groups []uint32, sums []float64, counts []int64, neg bool) {
	vals = vals[:len(groups)]
	nulls := x.NullN() > 0
	bm, off := x.NullBitmapBytes(), x.Data().Offset()
	for i, g := range groups {
		if nulls && !bitutil.BitIsSet(bm, off+i) {
			continue
		}
		if neg {
			sums[g] -= float64(vals[i])
			counts[g]--
		} else {
			sums[g] += float64(vals[i])
			counts[g]++
		}
	}
}

func (a *sumAcc) add(groups []uint32, args []arrow.Array, neg bool) error {
	if len(args) == 0 {
		return errInternal("%s without argument", a.ret)
	}
	a.grow(maxGroup(groups))
	x := args[0]
	switch arr := x.(type) {
	case *array.Int64:
		sumInts(arr.Int64Values(), x, groups, a.dec, a.counts, neg)
		return nil
	case *array.Int32:
		sumInts(arr.Int32Values(), x, groups, a.dec, a.counts, neg)
		return nil
	case *array.Int16:
		sumInts(arr.Int16Values(), x, groups, a.dec, a.counts, neg)
		return nil
	case *array.Float64:
		if a.kind == sumFloat {
			sumFloats(arr.Float64Values(), x, groups, a.flt, a.counts, neg)
			return nil
		}
	case *array.Float32:
		if a.kind == sumFloat {
			sumFloats(arr.Float32Values(), x, groups, a.flt, a.counts, neg)
			return nil
		}
	}
	d := int64(1)
	if neg {
		d = -1
	}
	for i, g := range groups {
		v := getValue(a.argT, x, i)
		if v == nil {
			continue
		}
		a.counts[g] += d
		switch a.kind {
		case sumFloat:
			a.flt[g] += float64(d) * toF(v)
		case sumDec:
			dv := v.(catalog.Decimal)
			n, err := rescaleDecimal(dv.Num, dv.Scale, a.argT.Scale)
			if err != nil {
				return err
			}
			if neg {
				n = n.Negate()
			}
			a.dec[g] = a.dec[g].Add(n)
		case sumInterval:
			iv := v.(arrow.MonthDayNanoInterval)
			a.iv[g][0] += d * int64(iv.Months)
			a.iv[g][1] += d * int64(iv.Days)
			a.iv[g][2] += d * iv.Nanoseconds
		}
	}
	return nil
}

func (a *sumAcc) Update(groups []uint32, args []arrow.Array) error { return a.add(groups, args, false) }
func (a *sumAcc) Retract(groups []uint32, args []arrow.Array) error {
	return a.add(groups, args, true)
}

func (a *sumAcc) Merge(dst uint32, other Accumulator, src uint32) error {
	o, ok := other.(*sumAcc)
	if !ok || o.kind != a.kind {
		return errInternal("merge of different accumulators")
	}
	a.grow(int(dst) + 1)
	o.grow(int(src) + 1)
	a.counts[dst] += o.counts[src]
	switch a.kind {
	case sumInt, sumDec:
		a.dec[dst] = a.dec[dst].Add(o.dec[src])
	case sumFloat:
		a.flt[dst] += o.flt[src]
	case sumInterval:
		for k := range 3 {
			a.iv[dst][k] += o.iv[src][k]
		}
	}
	return nil
}

func (a *sumAcc) Result(n int) (arrow.Array, error) {
	a.grow(n)
	b := array.NewBuilder(a.alloc, a.ret.Arrow())
	defer b.Release()
	b.Reserve(n)
	if ok, err := a.typedResult(b, n); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return b.NewArray(), nil
	}
	for g := 0; g < n; g++ {
		v, err := a.value(g)
		if err != nil {
			return nil, err
		}
		if err := appendValue(b, a.ret, v); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

// typedResult appends the results of sums (not averages) without boxing
// when the result type allows; it reports whether it did.
func (a *sumAcc) typedResult(b array.Builder, n int) (bool, error) {
	if a.avg {
		return false, nil
	}
	counts := a.counts[:n]
	switch bb := b.(type) {
	case *array.Int64Builder:
		if a.kind != sumInt {
			return false, nil
		}
		for g, c := range counts {
			if c == 0 {
				bb.AppendNull()
				continue
			}
			s := a.dec[g]
			if s.HighBits() != int64(s.LowBits())>>63 {
				return true, outOfRange(a.ret)
			}
			bb.UnsafeAppend(int64(s.LowBits()))
		}
		return true, nil
	case *array.Decimal128Builder:
		scale := int32(0)
		if a.kind == sumDec {
			scale = a.argT.Scale
		}
		if (a.kind != sumInt && a.kind != sumDec) || scale != a.ret.Scale {
			return false, nil
		}
		for g, c := range counts {
			if c == 0 {
				bb.AppendNull()
				continue
			}
			s := a.dec[g]
			if !decFits(s) {
				return true, outOfRange(a.ret)
			}
			bb.UnsafeAppend(s)
		}
		return true, nil
	case *array.Float64Builder:
		if a.kind != sumFloat {
			return false, nil
		}
		for g, c := range counts {
			if c == 0 {
				bb.AppendNull()
				continue
			}
			bb.UnsafeAppend(a.flt[g])
		}
		return true, nil
	case *array.Float32Builder:
		if a.kind != sumFloat {
			return false, nil
		}
		for g, c := range counts {
			if c == 0 {
				bb.AppendNull()
				continue
			}
			bb.UnsafeAppend(float32(a.flt[g]))
		}
		return true, nil
	}
	return false, nil
}

func (a *sumAcc) value(g int) (any, error) {
	cnt := a.counts[g]
	if cnt == 0 {
		return nil, nil
	}
	switch a.kind {
	case sumInt, sumDec:
		sum := a.dec[g]
		scale := int32(0)
		if a.kind == sumDec {
			scale = a.argT.Scale
		}
		if !decFits(sum) {
			return nil, outOfRange(a.ret)
		}
		if a.avg {
			q, err := decDiv(catalog.Decimal{Num: sum, Scale: scale}, catalog.Decimal{Num: decimal128.FromI64(cnt)}, a.ret.Scale)
			if err != nil {
				return nil, err
			}
			return q, nil
		}
		if a.ret.ID == catalog.Int8 {
			b := sum.BigInt()
			if !b.IsInt64() {
				return nil, outOfRange(a.ret)
			}
			return b.Int64(), nil
		}
		r, err := rescaleDecimal(sum, scale, a.ret.Scale)
		return catalog.Decimal{Num: r, Scale: a.ret.Scale}, err
	case sumFloat:
		s := a.flt[g]
		if a.avg {
			return s / float64(cnt), nil
		}
		if a.ret.ID == catalog.Float4 {
			return float64(float32(s)), nil
		}
		return s, nil
	case sumInterval:
		s := a.iv[g]
		if s[0] != int64(int32(s[0])) || s[1] != int64(int32(s[1])) {
			return nil, errIntervalRange
		}
		iv := arrow.MonthDayNanoInterval{Months: int32(s[0]), Days: int32(s[1]), Nanoseconds: s[2]}
		if a.avg {
			return ivMul(iv, 1/float64(cnt))
		}
		return iv, nil
	}
	return nil, nil
}

func (a *sumAcc) Release() { a.counts, a.dec, a.flt, a.iv = nil, nil, nil, nil }

// msEntry is one distinct value of a group's multiset.
type msEntry struct {
	val any
	n   int64
}

// extremeAcc implements min and max. With multiset set it keeps every
// value of every group with its multiplicity, so a retracted extreme can
// be replaced by the next one.
type extremeAcc struct {
	alloc    memory.Allocator
	t        catalog.Type
	sign     int // 1 max, -1 min
	multiset bool
	best     []any
	sets     []map[any]*msEntry
}

func (a *extremeAcc) grow(n int) {
	a.best = grow(a.best, n)
	if a.multiset {
		a.sets = grow(a.sets, n)
	}
}

func (a *extremeAcc) better(v, than any) bool {
	return than == nil || CompareValues(a.t, v, than)*a.sign > 0
}

func (a *extremeAcc) addValue(g uint32, v any, n int64) {
	if a.multiset {
		k := hashKey(v)
		s := a.sets[g]
		if s == nil {
			s = map[any]*msEntry{}
			a.sets[g] = s
		}
		if e, ok := s[k]; ok {
			e.n += n
		} else {
			v = cloneValue(v)
			s[k] = &msEntry{val: v, n: n}
		}
	}
	if a.better(v, a.best[g]) {
		a.best[g] = cloneValue(v)
	}
}

func (a *extremeAcc) Update(groups []uint32, args []arrow.Array) error {
	a.grow(maxGroup(groups))
	x := args[0]
	for i, g := range groups {
		v := getValue(a.t, x, i)
		if v == nil {
			continue
		}
		a.addValue(g, v, 1)
	}
	return nil
}

func (a *extremeAcc) Retract(groups []uint32, args []arrow.Array) error {
	if !a.multiset {
		return pgerror.New(pgerror.CodeFeatureNotSupported, "cannot retract from an append-only min/max")
	}
	a.grow(maxGroup(groups))
	x := args[0]
	for i, g := range groups {
		v := getValue(a.t, x, i)
		if v == nil {
			continue
		}
		s := a.sets[g]
		k := hashKey(v)
		e, ok := s[k]
		if !ok {
			return errInternal("retracting a value never added")
		}
		e.n--
		if e.n > 0 {
			continue
		}
		delete(s, k)
		if a.best[g] != nil && CompareValues(a.t, v, a.best[g]) == 0 {
			a.best[g] = nil
			for _, e := range s {
				if a.better(e.val, a.best[g]) {
					a.best[g] = e.val
				}
			}
		}
	}
	return nil
}

func (a *extremeAcc) Merge(dst uint32, other Accumulator, src uint32) error {
	o, ok := other.(*extremeAcc)
	if !ok {
		return errInternal("merge of different accumulators")
	}
	a.grow(int(dst) + 1)
	o.grow(int(src) + 1)
	if a.multiset && o.multiset {
		for _, e := range o.sets[src] {
			a.addValue(dst, e.val, e.n)
		}
		return nil
	}
	if v := o.best[src]; v != nil && a.better(v, a.best[dst]) {
		a.best[dst] = v
	}
	return nil
}

func (a *extremeAcc) Result(n int) (arrow.Array, error) {
	a.grow(n)
	b := array.NewBuilder(a.alloc, a.t.Arrow())
	defer b.Release()
	b.Reserve(n)
	for g := 0; g < n; g++ {
		if err := appendValue(b, a.t, a.best[g]); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

func (a *extremeAcc) Release() { a.best, a.sets = nil, nil }

// boolAcc implements bool_and/every and bool_or by counting trues and
// falses, which makes retraction exact.
type boolAcc struct {
	alloc         memory.Allocator
	or            bool
	trues, falses []int64
}

func (a *boolAcc) add(groups []uint32, args []arrow.Array, d int64) error {
	n := maxGroup(groups)
	a.trues, a.falses = grow(a.trues, n), grow(a.falses, n)
	x := args[0].(*array.Boolean)
	for i, g := range groups {
		if x.IsNull(i) {
			continue
		}
		if x.Value(i) {
			a.trues[g] += d
		} else {
			a.falses[g] += d
		}
	}
	return nil
}

func (a *boolAcc) Update(groups []uint32, args []arrow.Array) error { return a.add(groups, args, 1) }
func (a *boolAcc) Retract(groups []uint32, args []arrow.Array) error {
	return a.add(groups, args, -1)
}

func (a *boolAcc) Merge(dst uint32, other Accumulator, src uint32) error {
	o, ok := other.(*boolAcc)
	if !ok {
		return errInternal("merge of different accumulators")
	}
	a.trues, a.falses = grow(a.trues, int(dst)+1), grow(a.falses, int(dst)+1)
	o.trues, o.falses = grow(o.trues, int(src)+1), grow(o.falses, int(src)+1)
	a.trues[dst] += o.trues[src]
	a.falses[dst] += o.falses[src]
	return nil
}

func (a *boolAcc) Result(n int) (arrow.Array, error) {
	a.trues, a.falses = grow(a.trues, n), grow(a.falses, n)
	b := array.NewBooleanBuilder(a.alloc)
	defer b.Release()
	for g := 0; g < n; g++ {
		switch {
		case a.trues[g]+a.falses[g] == 0:
			b.AppendNull()
		case a.or:
			b.Append(a.trues[g] > 0)
		default:
			b.Append(a.falses[g] == 0)
		}
	}
	return b.NewArray(), nil
}

func (a *boolAcc) Release() { a.trues, a.falses = nil, nil }

// stringAggAcc implements string_agg(value, delimiter): the delimiter of
// each row precedes its value, except for a group's first value.
type stringAggAcc struct {
	alloc memory.Allocator
	t     catalog.Type
	argT  []catalog.Type
	bufs  [][]byte
	has   []bool
}

func (a *stringAggAcc) Update(groups []uint32, args []arrow.Array) error {
	n := maxGroup(groups)
	a.bufs, a.has = grow(a.bufs, n), grow(a.has, n)
	for i, g := range groups {
		v := getValue(a.argT[0], args[0], i)
		if v == nil {
			continue
		}
		if a.has[g] && len(args) > 1 {
			if d := getValue(a.argT[1], args[1], i); d != nil {
				a.bufs[g] = appendBytes(a.bufs[g], d)
			}
		}
		a.bufs[g] = appendBytes(a.bufs[g], v)
		a.has[g] = true
	}
	return nil
}

func appendBytes(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return append(b, x...)
	case []byte:
		return append(b, x...)
	}
	return b
}

func (a *stringAggAcc) Retract([]uint32, []arrow.Array) error {
	return pgerror.New(pgerror.CodeFeatureNotSupported, "string_agg cannot be maintained over retractions")
}

func (a *stringAggAcc) Merge(dst uint32, other Accumulator, src uint32) error {
	return pgerror.New(pgerror.CodeFeatureNotSupported, "string_agg cannot be merged")
}

func (a *stringAggAcc) Result(n int) (arrow.Array, error) {
	a.bufs, a.has = grow(a.bufs, n), grow(a.has, n)
	b := array.NewBuilder(a.alloc, a.t.Arrow())
	defer b.Release()
	for g := 0; g < n; g++ {
		if !a.has[g] {
			b.AppendNull()
			continue
		}
		switch bb := b.(type) {
		case *array.StringBuilder:
			bb.BinaryBuilder.Append(a.bufs[g])
		case *array.BinaryBuilder:
			bb.Append(a.bufs[g])
		}
	}
	return b.NewArray(), nil
}

func (a *stringAggAcc) Release() { a.bufs, a.has = nil, nil }

// statsAcc implements the variance and standard deviation aggregates from
// running count, sum and sum of squares (in float64; numeric results are
// converted at the end).
type statsAcc struct {
	alloc     memory.Allocator
	name      string
	argT, ret catalog.Type
	n         []int64
	s, ss     []float64
}

func (a *statsAcc) add(groups []uint32, args []arrow.Array, d int64) error {
	m := maxGroup(groups)
	a.n, a.s, a.ss = grow(a.n, m), grow(a.s, m), grow(a.ss, m)
	for i, g := range groups {
		v := getValue(a.argT, args[0], i)
		if v == nil {
			continue
		}
		f := toF(v)
		a.n[g] += d
		a.s[g] += float64(d) * f
		a.ss[g] += float64(d) * f * f
	}
	return nil
}

func (a *statsAcc) Update(groups []uint32, args []arrow.Array) error { return a.add(groups, args, 1) }
func (a *statsAcc) Retract(groups []uint32, args []arrow.Array) error {
	return a.add(groups, args, -1)
}

func (a *statsAcc) Merge(dst uint32, other Accumulator, src uint32) error {
	o, ok := other.(*statsAcc)
	if !ok {
		return errInternal("merge of different accumulators")
	}
	a.n, a.s, a.ss = grow(a.n, int(dst)+1), grow(a.s, int(dst)+1), grow(a.ss, int(dst)+1)
	o.n, o.s, o.ss = grow(o.n, int(src)+1), grow(o.s, int(src)+1), grow(o.ss, int(src)+1)
	a.n[dst] += o.n[src]
	a.s[dst] += o.s[src]
	a.ss[dst] += o.ss[src]
	return nil
}

func (a *statsAcc) Result(n int) (arrow.Array, error) {
	a.n, a.s, a.ss = grow(a.n, n), grow(a.s, n), grow(a.ss, n)
	b := array.NewBuilder(a.alloc, a.ret.Arrow())
	defer b.Release()
	pop := a.name == "stddev_pop" || a.name == "var_pop"
	sqrt := a.name == "stddev" || a.name == "stddev_samp" || a.name == "stddev_pop"
	for g := 0; g < n; g++ {
		cnt := float64(a.n[g])
		if a.n[g] == 0 || (!pop && a.n[g] == 1) {
			b.AppendNull()
			continue
		}
		num := a.ss[g] - a.s[g]*a.s[g]/cnt
		if num < 0 {
			num = 0
		}
		den := cnt - 1
		if pop {
			den = cnt
		}
		r := num / den
		if sqrt {
			r = math.Sqrt(r)
		}
		v, err := floatResult(a.ret, r)
		if err != nil {
			return nil, err
		}
		if err := appendValue(b, a.ret, v); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

func (a *statsAcc) Release() { a.n, a.s, a.ss = nil, nil, nil }

// distinctAcc feeds its inner accumulator only the first occurrence of
// each value per group (and retracts it when its last occurrence goes).
type distinctAcc struct {
	alloc memory.Allocator
	inner Accumulator
	t     catalog.Type
	sets  []map[any]int64
}

func (a *distinctAcc) filter(groups []uint32, args []arrow.Array, d int64) ([]uint32, []arrow.Array, error) {
	a.sets = grow(a.sets, maxGroup(groups))
	var idx []int32
	var sub []uint32
	for i, g := range groups {
		v := getValue(a.t, args[0], i)
		if v == nil {
			continue
		}
		s := a.sets[g]
		if s == nil {
			s = map[any]int64{}
			a.sets[g] = s
		}
		k := hashKey(v)
		before := s[k]
		after := before + d
		if after <= 0 {
			delete(s, k)
		} else {
			s[k] = after
		}
		if (d > 0 && before == 0) || (d < 0 && before == 1) {
			idx = append(idx, int32(i))
			sub = append(sub, g)
		}
	}
	if len(idx) == 0 {
		return nil, nil, nil
	}
	out := make([]arrow.Array, len(args))
	for k, x := range args {
		t, err := takeArray(a.alloc, x, idx)
		if err != nil {
			for _, o := range out[:k] {
				o.Release()
			}
			return nil, nil, err
		}
		out[k] = t
	}
	return sub, out, nil
}

func (a *distinctAcc) apply(groups []uint32, args []arrow.Array, d int64) error {
	sub, taken, err := a.filter(groups, args, d)
	if err != nil || len(sub) == 0 {
		return err
	}
	defer func() {
		for _, t := range taken {
			t.Release()
		}
	}()
	if d > 0 {
		return a.inner.Update(sub, taken)
	}
	return a.inner.Retract(sub, taken)
}

func (a *distinctAcc) Update(groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, 1)
}

func (a *distinctAcc) Retract(groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, -1)
}

func (a *distinctAcc) Merge(uint32, Accumulator, uint32) error {
	return pgerror.New(pgerror.CodeFeatureNotSupported, "DISTINCT aggregates cannot be merged")
}

func (a *distinctAcc) Result(n int) (arrow.Array, error) { return a.inner.Result(n) }

func (a *distinctAcc) Release() {
	a.inner.Release()
	a.sets = nil
}
