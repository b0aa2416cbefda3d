package eval

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// extractNode is extract(field FROM t) and date_part(field, t) with a
// constant field over a timestamp or date column: the fields are computed
// from the integer values and written as numeric or double precision
// without boxing. Hours and minutes are plain arithmetic on the time of
// day (timestamps are UTC); other fields go through extractTs per row.
type extractNode struct {
	x     node
	unit  string // normalized
	field string // as written, for extractTs
	from  catalog.Type
	ret   catalog.Type
}

// compileExtract returns the vector kernel for an extract or date_part
// call, or nil when it has none.
func compileExtract(e *planner.Call, args []node) node {
	if (e.Fn.Name != "extract" && e.Fn.Name != "date_part") || len(e.Args) != 2 {
		return nil
	}
	field, ok := constString(e.Args[0])
	if !ok {
		return nil
	}
	from := e.Args[1].Type()
	switch from.ID {
	case catalog.Timestamp, catalog.TimestampTZ, catalog.Date:
	default:
		return nil
	}
	if _, _, err := extractTs(field, 0, from); err != nil {
		return nil // the row path reports the error
	}
	if e.Fn.Ret.ID != catalog.Numeric && e.Fn.Ret.ID != catalog.Float8 {
		return nil
	}
	return &extractNode{x: args[1], unit: normUnit(field), field: field, from: from, ret: e.Fn.Ret}
}

func (nd *extractNode) eval(c *ctx, in *input) (vec, error) {
	v, err := nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	if v.isConst() {
		if v.c == nil {
			return constVec(nil, in.n), nil
		}
		us, err := timeArg(nd.from, v.c)
		if err != nil {
			return vec{}, err
		}
		r, err := nd.one(us)
		if err != nil {
			return vec{}, err
		}
		return constVec(r, in.n), nil
	}
	n := in.n
	var get func(i int) int64
	switch a := v.arr.(type) {
	case *array.Timestamp:
		vals := a.TimestampValues()
		get = func(i int) int64 { return int64(vals[i]) }
	case *array.Date32:
		vals := a.Date32Values()
		get = func(i int) int64 { return int64(vals[i]) * usPerDay }
	default:
		return vec{}, errInternal("extract from %s", v.arr.DataType())
	}
	field := func(i int) (int64, int32, error) { return extractTs(nd.field, get(i), nd.from) }
	switch nd.unit {
	case "hour":
		field = func(i int) (int64, int32, error) { return floorMod(get(i), usPerDay) / (3600 * usPerSec), 0, nil }
	case "minute":
		field = func(i int) (int64, int32, error) { return floorMod(get(i), 3600*usPerSec) / (60 * usPerSec), 0, nil }
	}
	valid := validCopy(c.alloc, v.arr)
	fail := func(err error) (vec, error) {
		if valid != nil {
			valid.Release()
		}
		return vec{}, err
	}
	if nd.ret.ID == catalog.Float8 {
		buf, out := newFixed[float64](c.alloc, n)
		for i := range out {
			if valid != nil && v.arr.IsNull(i) {
				continue
			}
			num, scale, err := field(i)
			if err != nil {
				buf.Release()
				return fail(err)
			}
			out[i] = float64(num) / math.Pow10(int(scale))
		}
		return vec{arr: fixedArray(nd.ret.Arrow(), n, valid, v.arr.NullN(), buf), n: n}, nil
	}
	buf := memory.NewResizableBuffer(c.alloc)
	buf.Resize(n * arrow.Decimal128SizeBytes)
	out := arrow.Decimal128Traits.CastFromBytes(buf.Bytes())
	for i := range out {
		if valid != nil && v.arr.IsNull(i) {
			out[i] = decimal128.Num{}
			continue
		}
		num, scale, err := field(i)
		if err == nil && scale == nd.ret.Scale {
			out[i] = decimal128.FromI64(num)
			continue
		}
		if err == nil {
			out[i], err = rescaleDecimal(decimal128.FromI64(num), scale, nd.ret.Scale)
		}
		if err != nil {
			buf.Release()
			return fail(err)
		}
	}
	return vec{arr: fixedArray(nd.ret.Arrow(), n, valid, v.arr.NullN(), buf), n: n}, nil
}

// one computes the field of one time value as the row function does.
func (nd *extractNode) one(us int64) (any, error) {
	num, scale, err := extractTs(nd.field, us, nd.from)
	if err != nil {
		return nil, err
	}
	if nd.ret.ID == catalog.Float8 {
		return float64(num) / math.Pow10(int(scale)), nil
	}
	r, err := rescaleDecimal(decimal128.FromI64(num), scale, nd.ret.Scale)
	return catalog.Decimal{Num: r, Scale: nd.ret.Scale}, err
}
