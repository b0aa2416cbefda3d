package session

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// An incremental aggregation keeps one aggGroup per group in memory. Its
// partial aggregates are typed values (partialVal) rather than boxed
// ones: merging an epoch's partials allocates nothing, and a million
// groups hold few pointers for the garbage collector to trace.

// aggGroup is one group of a view's incremental aggregation.
type aggGroup struct {
	// key is the group's encodeKey form, its key in viewJob.groups;
	// the key values are decoded from it (see groupKeys).
	key string
	// vals holds, per partial of the plan's Agg, its value; a value of
	// kind partialOther is in ext.other.
	vals []partialVal
	// ext holds what few groups need, nil until one of them does.
	ext *groupExt
	// mark is the epoch mark (viewJob.mark) of the last epoch that
	// changed the group; closed is set when its window closes.
	mark   uint64
	closed bool
	// stored reports whether the state table holds the group.
	stored bool
}

// groupExt is the rarely needed part of a group.
type groupExt struct {
	// keys are the key values when the key's encoded form cannot be
	// decoded (decimals, intervals).
	keys []any
	// other holds the values of partials of kind partialOther.
	other []any
	// distinct holds, per argument of the plan's count(DISTINCT)
	// aggregates, the values the group has seen.
	distinct []distinctSet
}

func (g *aggGroup) extra() *groupExt {
	if g.ext == nil {
		g.ext = &groupExt{}
	}
	return g.ext
}

// otherAt returns the boxed value of partial a of kind partialOther.
func (g *aggGroup) otherAt(a int) any {
	if g.ext == nil || g.ext.other == nil {
		return nil
	}
	return g.ext.other[a]
}

// groupKeys returns the group's key values, as valueAt gave them.
func (g *aggGroup) groupKeys(nk int) []any {
	if g.ext != nil && g.ext.keys != nil {
		return g.ext.keys
	}
	keys, _ := decodeKey(g.key, nk)
	return keys
}

// partialKind says how a partialVal holds its value.
type partialKind uint8

const (
	partialNull  partialKind = iota
	partialInt               // int64 in lo
	partialFloat             // float64 bits in lo
	partialDec               // decimal128 in hi, lo with scale
	partialOther             // boxed in aggGroup.other
)

// partialVal is a partial aggregate's value without pointers.
type partialVal struct {
	kind  partialKind
	scale int32
	hi    int64
	lo    uint64
}

// mergeOp is what merging a partial does: add (count, sum), or keep the
// smaller or the larger value.
type mergeOp uint8

const (
	opAdd mergeOp = iota
	opMin
	opMax
)

func mergeOpOf(name string) mergeOp {
	switch name {
	case "min":
		return opMin
	case "max":
		return opMax
	}
	return opAdd
}

// aggOps returns the merge operation of each partial of the plan's Agg.
func (j *viewJob) aggOps() []mergeOp {
	if j.ops == nil {
		for _, call := range j.plan.Agg.Aggs {
			j.ops = append(j.ops, mergeOpOf(call.Agg.Name))
		}
	}
	return j.ops
}

// newAggGroup returns a group with its partials at their initial values:
// counts at zero, the others NULL.
func (j *viewJob) newAggGroup(key string, keys func() []any) *aggGroup {
	aggs := j.plan.Agg.Aggs
	if len(j.valChunk) < len(aggs) {
		// Partials come from shared chunks: one allocation for many
		// groups.
		j.valChunk = make([]partialVal, max(256*len(aggs), len(aggs)))
	}
	g := &aggGroup{key: key, vals: j.valChunk[:len(aggs):len(aggs)]}
	j.valChunk = j.valChunk[len(aggs):]
	if !keyDecodable(key) {
		g.extra().keys = keys()
	}
	for a, call := range aggs {
		if call.Agg.Name == "count" {
			g.vals[a] = partialVal{kind: partialInt}
		}
	}
	return g
}

// partialAt reads row i of a partial aggregate's column.
func partialAt(arr arrow.Array, i int) (partialVal, any) {
	if arr.IsNull(i) {
		return partialVal{}, nil
	}
	switch a := arr.(type) {
	case *array.Int64:
		return partialVal{kind: partialInt, lo: uint64(a.Value(i))}, nil
	case *array.Int32:
		return partialVal{kind: partialInt, lo: uint64(int64(a.Value(i)))}, nil
	case *array.Int16:
		return partialVal{kind: partialInt, lo: uint64(int64(a.Value(i)))}, nil
	case *array.Timestamp:
		return partialVal{kind: partialInt, lo: uint64(int64(a.Value(i)))}, nil
	case *array.Float64:
		return partialVal{kind: partialFloat, lo: math.Float64bits(a.Value(i))}, nil
	case *array.Float32:
		return partialVal{kind: partialFloat, lo: math.Float64bits(float64(a.Value(i)))}, nil
	case *array.Decimal128:
		n := a.Value(i)
		return partialVal{kind: partialDec, scale: a.DataType().(*arrow.Decimal128Type).Scale, hi: n.HighBits(), lo: n.LowBits()}, nil
	}
	return partialVal{kind: partialOther}, valueAt(arr, i)
}

// box returns the value as valueAt would: int64, float64,
// catalog.Decimal, or the boxed other value.
func (p partialVal) box(other any) any {
	switch p.kind {
	case partialInt:
		return int64(p.lo)
	case partialFloat:
		return math.Float64frombits(p.lo)
	case partialDec:
		return catalog.Decimal{Num: decimal128.New(p.hi, p.lo), Scale: p.scale}
	case partialOther:
		return other
	}
	return nil
}

// unbox is the inverse of box.
func unbox(v any) (partialVal, any) {
	switch x := v.(type) {
	case nil:
		return partialVal{}, nil
	case int64:
		return partialVal{kind: partialInt, lo: uint64(x)}, nil
	case float64:
		return partialVal{kind: partialFloat, lo: math.Float64bits(x)}, nil
	case catalog.Decimal:
		return partialVal{kind: partialDec, scale: x.Scale, hi: x.Num.HighBits(), lo: x.Num.LowBits()}, nil
	}
	return partialVal{kind: partialOther}, v
}

// partial returns the group's partial a, boxed.
func (g *aggGroup) partial(a int) any {
	return g.vals[a].box(g.otherAt(a))
}

// setPartial sets the group's partial a.
func (g *aggGroup) setPartial(a int, p partialVal, o any) {
	g.vals[a] = p
	if p.kind == partialOther {
		x := g.extra()
		if x.other == nil {
			x.other = make([]any, len(g.vals))
		}
		x.other[a] = o
	} else if g.ext != nil && g.ext.other != nil {
		g.ext.other[a] = nil
	}
}

// boxPartials returns the group's partials as mergePartial takes them.
func (g *aggGroup) boxPartials() []any {
	out := make([]any, len(g.vals))
	for a := range out {
		out[a] = g.partial(a)
	}
	return out
}

// merge combines the partial v (with o, for a value of kind
// partialOther) of an epoch into the group's partial a, as mergePartial.
func (g *aggGroup) merge(a int, op mergeOp, name string, v partialVal, o any) error {
	old := &g.vals[a]
	if v.kind == partialNull {
		return nil
	}
	if old.kind == partialNull {
		g.setPartial(a, v, o)
		return nil
	}
	if old.kind == v.kind {
		switch v.kind {
		case partialInt:
			x, y := int64(old.lo), int64(v.lo)
			switch op {
			case opAdd:
				s := x + y
				if (s > x) != (y > 0) {
					return errBigintRange()
				}
				old.lo = uint64(s)
			case opMin:
				old.lo = uint64(min(x, y))
			case opMax:
				old.lo = uint64(max(x, y))
			}
			return nil
		case partialFloat:
			if op == opAdd {
				old.lo = math.Float64bits(math.Float64frombits(old.lo) + math.Float64frombits(v.lo))
				return nil
			}
		case partialDec:
			if old.scale == v.scale {
				x, y := decimal128.New(old.hi, old.lo), decimal128.New(v.hi, v.lo)
				switch op {
				case opAdd:
					s := x.Add(y)
					old.hi, old.lo = s.HighBits(), s.LowBits()
				case opMin:
					if x.Cmp(y) > 0 {
						old.hi, old.lo = v.hi, v.lo
					}
				case opMax:
					if x.Cmp(y) < 0 {
						old.hi, old.lo = v.hi, v.lo
					}
				}
				return nil
			}
		}
	}
	m, err := mergePartial(name, g.partial(a), v.box(o))
	if err != nil {
		return err
	}
	p, mo := unbox(m)
	g.setPartial(a, p, mo)
	return nil
}

// appendPartial appends a partial's value to b, a builder of type t.
func appendPartial(b array.Builder, t catalog.Type, p partialVal, o any) error {
	switch p.kind {
	case partialNull:
		b.AppendNull()
		return nil
	case partialInt:
		if ib, ok := b.(*array.Int64Builder); ok {
			ib.Append(int64(p.lo))
			return nil
		}
	case partialDec:
		if db, ok := b.(*array.Decimal128Builder); ok {
			db.Append(decimal128.New(p.hi, p.lo))
			return nil
		}
	}
	return appendValue(b, t, p.box(o))
}

// appendAvg appends sum / count, the final value of an average of type
// t, to b.
func appendAvg(b array.Builder, t catalog.Type, sum, count partialVal, so any) error {
	if db, ok := b.(*array.Decimal128Builder); ok && sum.kind != partialOther && count.kind == partialInt {
		if n, ok := avgDecimal(sum, int64(count.lo), t.Scale); ok {
			db.Append(n)
			return nil
		}
	}
	var n any
	if count.kind == partialInt {
		n = int64(count.lo)
	}
	v, err := finalAvg(sum.box(so), n, t)
	if err != nil {
		return err
	}
	return appendValue(b, t, v)
}

// avgDecimal computes sum / n rounded half away from zero to scale, as
// finalAvg does, for a sum of at most 64 bits: in 128-bit integers. It
// reports false when the values are outside that range.
func avgDecimal(sum partialVal, n int64, scale int32) (decimal128.Num, bool) {
	if n <= 0 {
		return decimal128.Num{}, false
	}
	var s int64
	var shift int32
	switch sum.kind {
	case partialInt:
		s = int64(sum.lo)
	case partialDec:
		// A decimal that fits 64 bits.
		if (sum.hi != 0 || sum.lo > math.MaxInt64) && (sum.hi != -1 || sum.lo < 1<<63) {
			return decimal128.Num{}, false
		}
		s, shift = int64(sum.lo), sum.scale
	default:
		return decimal128.Num{}, false
	}
	d := scale - shift
	if d < 0 || d > 19 || s == math.MinInt64 {
		return decimal128.Num{}, false
	}
	neg := s < 0
	u := uint64(s)
	if neg {
		u = uint64(-s)
	}
	// |s| * 10^d < 2^127, divided by n in two 64-bit steps.
	hi, lo := bits.Mul64(u, pow10u64[d])
	m := uint64(n)
	qh, r := hi/m, hi%m
	ql, r := bits.Div64(r, lo, m)
	// Round half away from zero: 2r >= n.
	if r >= m-r {
		ql++
		if ql == 0 {
			qh++
		}
	}
	v := decimal128.New(int64(qh), ql)
	if neg {
		v = v.Negate()
	}
	return v, true
}

var pow10u64 = func() [20]uint64 {
	var p [20]uint64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// appendKeyAt appends encodeKey's form of row i of arr, as
// encodeKey([]any{valueAt(arr, i)}), to buf, without boxing the value.
func appendKeyAt(buf []byte, arr arrow.Array, i int) []byte {
	if arr.IsNull(i) {
		return append(buf, 'N')
	}
	switch a := arr.(type) {
	case *array.Int64:
		return binary.BigEndian.AppendUint64(append(buf, 'i'), uint64(a.Value(i)))
	case *array.Int32:
		return binary.BigEndian.AppendUint64(append(buf, 'i'), uint64(int64(a.Value(i))))
	case *array.Int16:
		return binary.BigEndian.AppendUint64(append(buf, 'i'), uint64(int64(a.Value(i))))
	case *array.Timestamp:
		return binary.BigEndian.AppendUint64(append(buf, 'i'), uint64(int64(a.Value(i))))
	case *array.Date32:
		return binary.BigEndian.AppendUint32(append(buf, 'd'), uint32(a.Value(i)))
	case *array.Float64:
		return binary.BigEndian.AppendUint64(append(buf, 'f'), math.Float64bits(a.Value(i)))
	case *array.Boolean:
		if a.Value(i) {
			return append(buf, 't')
		}
		return append(buf, 'F')
	case *array.String:
		s := a.Value(i)
		buf = binary.AppendUvarint(append(buf, 's'), uint64(len(s)))
		return append(buf, s...)
	case *array.Binary:
		s := a.Value(i)
		buf = binary.AppendUvarint(append(buf, 'b'), uint64(len(s)))
		return append(buf, s...)
	}
	return append(buf, encodeKey([]any{valueAt(arr, i)})...)
}

// keyDecodable reports whether decodeKey decodes k.
func keyDecodable(k string) bool {
	for len(k) > 0 {
		n, err := keyValueLen(k)
		if err != nil || k[0] == 'o' {
			return false
		}
		k = k[n:]
	}
	return true
}

// decodeKey decodes encodeKey's form of n values; it reports false for
// a form it cannot decode.
func decodeKey(k string, n int) ([]any, bool) {
	if n == 0 {
		return nil, k == ""
	}
	out := make([]any, 0, n)
	for len(k) > 0 {
		var v any
		switch k[0] {
		case 'N':
			k = k[1:]
		case 't', 'F':
			v, k = k[0] == 't', k[1:]
		case 'i', 'f':
			if len(k) < 9 {
				return nil, false
			}
			u := binary.BigEndian.Uint64([]byte(k[1:9]))
			if k[0] == 'i' {
				v = int64(u)
			} else {
				v = math.Float64frombits(u)
			}
			k = k[9:]
		case 'd':
			if len(k) < 5 {
				return nil, false
			}
			v, k = int32(binary.BigEndian.Uint32([]byte(k[1:5]))), k[5:]
		case 's', 'b':
			l, w := uvarint(k[1:])
			if w <= 0 || uint64(len(k)-1-w) < l {
				return nil, false
			}
			s := k[1+w : 1+w+int(l)]
			if k[0] == 's' {
				v = s
			} else {
				v = []byte(s)
			}
			k = k[1+w+int(l):]
		default:
			return nil, false
		}
		out = append(out, v)
	}
	return out, len(out) == n
}

// appendKeys appends the group's key values to the builders bs, of types
// ts, without boxing integers and strings.
func appendKeys(bs []array.Builder, ts []catalog.Type, g *aggGroup) error {
	if g.ext == nil || g.ext.keys == nil {
		k := g.key
		for c, b := range bs {
			switch {
			case len(k) >= 9 && k[0] == 'i':
				if ib, ok := b.(*array.Int64Builder); ok {
					ib.Append(int64(binary.BigEndian.Uint64([]byte(k[1:9]))))
					k = k[9:]
					continue
				}
			case len(k) > 1 && k[0] == 's':
				if sb, ok := b.(*array.StringBuilder); ok {
					if l, w := uvarint(k[1:]); w > 0 && uint64(len(k)-1-w) >= l {
						sb.Append(k[1+w : 1+w+int(l)])
						k = k[1+w+int(l):]
						continue
					}
				}
			}
			// Other values one at a time, boxed.
			n, err := keyValueLen(k)
			if err != nil {
				return err
			}
			v, ok := decodeKey(k[:n], 1)
			if !ok {
				return fmt.Errorf("group key %q cannot be decoded", k[:n])
			}
			if err := appendValue(b, ts[c], v[0]); err != nil {
				return err
			}
			k = k[n:]
		}
		return nil
	}
	for c, v := range g.ext.keys {
		if err := appendValue(bs[c], ts[c], v); err != nil {
			return err
		}
	}
	return nil
}

// windowStartAt returns row i of a window key column as an int64, as
// valueAt gives it.
func windowStartAt(arr arrow.Array, i int) (int64, bool) {
	if arr.IsNull(i) {
		return 0, false
	}
	switch a := arr.(type) {
	case *array.Timestamp:
		return int64(a.Value(i)), true
	case *array.Int64:
		return a.Value(i), true
	}
	v, ok := valueAt(arr, i).(int64)
	return v, ok
}

// postOneToOne reports whether a level's post plan gives exactly one row
// per group: it has projections only, no filter (HAVING).
func postOneToOne(n planner.Node) bool {
	for {
		switch x := n.(type) {
		case *planner.Project:
			n = x.Input
		case *planner.Scan:
			return true
		default:
			return false
		}
	}
}

// keyLess orders group keys as sort.Strings orders them.
func keyLess(a, b *aggGroup) int { return strings.Compare(a.key, b.key) }

func errBigintRange() error {
	return pgerror.New(pgerror.CodeNumericValueOutOfRange, "bigint out of range")
}
