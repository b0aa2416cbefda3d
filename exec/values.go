package exec

import (
	"context"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// valuesOp produces the rows of a VALUES list. Row expressions are
// evaluated when the first batch is requested, so that outer references
// see the current outer row.
type valuesOp struct {
	env    *Env
	n      *planner.Values
	schema *arrow.Schema
	next   int // next row to produce
}

var _ Operator = (*valuesOp)(nil)

func newValues(env *Env, n *planner.Values) *valuesOp {
	return &valuesOp{env: env, n: n, schema: schemaOf(n.Cols)}
}

func (o *valuesOp) Schema() *arrow.Schema      { return o.schema }
func (o *valuesOp) Open(context.Context) error { o.next = 0; return nil }
func (o *valuesOp) Close() error               { return nil }

func (o *valuesOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	rows := o.n.Rows
	if o.next >= len(rows) {
		return nil, io.EOF
	}
	end := min(len(rows), o.next+o.env.batchSize())
	mem := o.env.Allocator()
	blds := make([]array.Builder, len(o.n.Cols))
	for i, c := range o.n.Cols {
		blds[i] = array.NewBuilder(mem, c.Type.Arrow())
	}
	defer func() {
		for _, b := range blds {
			b.Release()
		}
	}()
	for r := o.next; r < end; r++ {
		if len(rows[r]) != len(blds) {
			return nil, pgerror.New(pgerror.CodeSyntaxError, "VALUES lists must all be the same length")
		}
		for i, e := range rows[r] {
			v, err := eval.EvalScalar(&o.env.Env, e)
			if err != nil {
				return nil, err
			}
			if err := appendValue(blds[i], v); err != nil {
				return nil, err
			}
		}
	}
	n := end - o.next
	o.next = end
	cols := make([]arrow.Array, len(blds))
	for i, b := range blds {
		cols[i] = b.NewArray()
	}
	return newBatch(o.schema, cols, n)
}

// seriesOp produces generate_series(start, stop[, step]) for integers,
// numerics and timestamps (with an interval step).
type seriesOp struct {
	env    *Env
	n      *planner.GenerateSeries
	schema *arrow.Schema
	typ    catalog.Type
	done   bool

	// integer state
	cur, stop, step int64
	// numeric state
	dcur, dstop, dstep decimal128.Num
	// timestamp state
	tcur, tstop int64
	tstep       arrow.MonthDayNanoInterval
	tdir        int
}

var _ Operator = (*seriesOp)(nil)

func newSeries(env *Env, n *planner.GenerateSeries) *seriesOp {
	o := &seriesOp{env: env, n: n, schema: schemaOf(n.Cols)}
	if len(n.Cols) > 0 {
		o.typ = n.Cols[0].Type
	}
	return o
}

func (o *seriesOp) Schema() *arrow.Schema { return o.schema }
func (o *seriesOp) Close() error          { return nil }

func errZeroStep() error {
	return pgerror.New(pgerror.CodeInvalidParameterValue, "step size cannot equal zero")
}

func (o *seriesOp) Open(ctx context.Context) error {
	start, err := eval.EvalScalar(&o.env.Env, o.n.Start)
	if err != nil {
		return err
	}
	stop, err := eval.EvalScalar(&o.env.Env, o.n.Stop)
	if err != nil {
		return err
	}
	var step any
	if o.n.Step != nil {
		if step, err = eval.EvalScalar(&o.env.Env, o.n.Step); err != nil {
			return err
		}
	}
	if start == nil || stop == nil || (o.n.Step != nil && step == nil) {
		o.done = true
		return nil
	}
	switch {
	case o.typ.IsInteger():
		o.cur, _ = toInt64(start)
		o.stop, _ = toInt64(stop)
		o.step = 1
		if step != nil {
			o.step, _ = toInt64(step)
		}
		if o.step == 0 {
			return errZeroStep()
		}
	case o.typ.ID == catalog.Numeric:
		scale := o.typ.Scale
		conv := func(v any) (decimal128.Num, error) {
			switch x := v.(type) {
			case catalog.Decimal:
				return x.Num.Rescale(x.Scale, scale)
			case int64:
				return decimal128.FromI64(x).Rescale(0, scale)
			}
			return decimal128.Num{}, pgerror.New(pgerror.CodeDatatypeMismatch, "generate_series: bad numeric argument %T", v)
		}
		if o.dcur, err = conv(start); err != nil {
			return err
		}
		if o.dstop, err = conv(stop); err != nil {
			return err
		}
		o.dstep, _ = decimal128.FromI64(1).Rescale(0, scale)
		if step != nil {
			if o.dstep, err = conv(step); err != nil {
				return err
			}
		}
		if o.dstep.Sign() == 0 {
			return errZeroStep()
		}
	case o.typ.ID == catalog.Timestamp || o.typ.ID == catalog.TimestampTZ:
		o.tcur, _ = toInt64(start)
		o.tstop, _ = toInt64(stop)
		iv, ok := step.(arrow.MonthDayNanoInterval)
		if !ok {
			return pgerror.New(pgerror.CodeUndefinedFunction, "function generate_series(timestamp, timestamp) does not exist")
		}
		o.tstep = iv
		d, ns := intervalSpan(iv)
		switch {
		case d > 0 || (d == 0 && ns > 0):
			o.tdir = 1
		case d == 0 && ns == 0:
			return errZeroStep()
		default:
			o.tdir = -1
		}
	default:
		return pgerror.New(pgerror.CodeFeatureNotSupported, "generate_series of type %s is not supported", o.typ)
	}
	return nil
}

// addInterval adds iv to the timestamp us (µs since the epoch, UTC) with
// Postgres calendar rules: months, then days, then the time part.
func addInterval(us int64, iv arrow.MonthDayNanoInterval) int64 {
	if iv.Months != 0 || iv.Days != 0 {
		t := time.UnixMicro(us).UTC()
		y, m, d := t.Date()
		nm := int(m) - 1 + int(iv.Months)
		y += nm / 12
		nm %= 12
		if nm < 0 {
			nm += 12
			y--
		}
		// Clamp the day to the target month's length, as Postgres does.
		last := time.Date(y, time.Month(nm+2), 0, 0, 0, 0, 0, time.UTC).Day()
		if d > last {
			d = last
		}
		t2 := time.Date(y, time.Month(nm+1), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
		t2 = t2.AddDate(0, 0, int(iv.Days))
		us = t2.UnixMicro()
	}
	return us + iv.Nanoseconds/1000
}

func (o *seriesOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if o.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bs := o.env.batchSize()
	mem := o.env.Allocator()
	bld := array.NewBuilder(mem, o.typ.Arrow())
	defer bld.Release()
	n := 0
	switch {
	case o.typ.IsInteger():
		for n < bs {
			if (o.step > 0 && o.cur > o.stop) || (o.step < 0 && o.cur < o.stop) {
				o.done = true
				break
			}
			if err := appendValue(bld, o.cur); err != nil {
				return nil, err
			}
			n++
			next := o.cur + o.step
			if (o.step > 0 && next < o.cur) || (o.step < 0 && next > o.cur) {
				o.done = true // overflow: the series ends here
				break
			}
			o.cur = next
		}
	case o.typ.ID == catalog.Numeric:
		db := bld.(*array.Decimal128Builder)
		pos := o.dstep.Sign() > 0
		for n < bs {
			c := o.dcur.Cmp(o.dstop)
			if (pos && c > 0) || (!pos && c < 0) {
				o.done = true
				break
			}
			db.Append(o.dcur)
			n++
			o.dcur = o.dcur.Add(o.dstep)
		}
	default:
		tb := bld.(*array.TimestampBuilder)
		for n < bs {
			if (o.tdir > 0 && o.tcur > o.tstop) || (o.tdir < 0 && o.tcur < o.tstop) {
				o.done = true
				break
			}
			tb.Append(arrow.Timestamp(o.tcur))
			n++
			o.tcur = addInterval(o.tcur, o.tstep)
		}
	}
	if n == 0 {
		return nil, io.EOF
	}
	return newBatch(o.schema, []arrow.Array{bld.NewArray()}, n)
}
