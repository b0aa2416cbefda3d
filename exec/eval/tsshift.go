package eval

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// tsShiftNode adds a fixed number of microseconds to timestamps: a
// timestamp plus or minus a constant interval without months, such as a
// watermark's `ts - INTERVAL '4' SECOND`. It gives what tsAddInterval
// gives, a column at a time.
type tsShiftNode struct {
	ts    node
	delta int64 // microseconds
	typ   arrow.DataType
}

// compileTsShift returns a tsShiftNode for ts + iv, iv + ts or ts - iv
// with iv a constant interval of days and time, or nil.
func compileTsShift(e *planner.Call, args []node) node {
	if len(e.Args) != 2 || e.Fn.Ret.ID != catalog.Timestamp || (e.Fn.Name != "+" && e.Fn.Name != "-") {
		return nil
	}
	tsArg, ivArg := 0, 1
	if e.Args[0].Type().ID == catalog.Interval {
		if e.Fn.Name == "-" {
			return nil
		}
		tsArg, ivArg = 1, 0
	}
	if e.Args[tsArg].Type().ID != catalog.Timestamp {
		return nil
	}
	c, ok := e.Args[ivArg].(*planner.Const)
	if !ok {
		return nil
	}
	iv, ok := c.Val.(arrow.MonthDayNanoInterval)
	if !ok || iv.Months != 0 {
		return nil
	}
	delta := int64(iv.Days)*usPerDay + iv.Nanoseconds/nsPerUs
	if e.Fn.Name == "-" {
		delta = -delta
	}
	return &tsShiftNode{ts: args[tsArg], delta: delta, typ: e.Fn.Ret.Arrow()}
}

func (n *tsShiftNode) shift(ts int64) (int64, error) {
	return tsAddInterval(ts, arrow.MonthDayNanoInterval{Nanoseconds: n.delta * nsPerUs}, 1)
}

func (n *tsShiftNode) eval(c *ctx, in *input) (vec, error) {
	v, err := n.ts.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	if v.isConst() {
		if v.c == nil {
			return constVec(nil, in.n), nil
		}
		r, err := n.shift(toI(v.c))
		if err != nil {
			return vec{}, err
		}
		return constVec(r, in.n), nil
	}
	src := v.arr.(*array.Timestamp)
	rows := src.Len()
	data := memory.NewResizableBuffer(c.alloc)
	data.Resize(rows * 8)
	out := arrow.TimestampTraits.CastFromBytes(data.Bytes())
	vals := src.TimestampValues()
	for i, ts := range vals {
		r := int64(ts) + n.delta
		if r < -210866803200000000 || r > 9223371331200000000 {
			if src.IsNull(i) {
				continue
			}
			data.Release()
			return vec{}, errTsRange
		}
		out[i] = arrow.Timestamp(r)
	}
	bufs := []*memory.Buffer{nil, data}
	nulls := src.NullN()
	if nulls > 0 {
		bm := memory.NewResizableBuffer(c.alloc)
		bm.Resize(int(bitutil.BytesForBits(int64(rows))))
		bitutil.CopyBitmap(src.NullBitmapBytes(), src.Data().Offset(), rows, bm.Bytes(), 0)
		bufs[0] = bm
	}
	d := array.NewData(n.typ, rows, bufs, nil, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	a := array.MakeFromData(d)
	d.Release()
	return vec{arr: a, n: in.n}, nil
}
