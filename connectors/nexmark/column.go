package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Columns are written straight into allocator buffers sized for the exact
// row count: a row is a few stores, with none of a builder's per-value
// validity bitmap, capacity checks and growth.
//
// NB: a batch's row count is known before its rows are generated
// (Generator.Count, or the cap), and a column must be given exactly that
// many values; the int64 columns and offsets do not grow.

// int64Col is a non-null Int64 or Timestamp column of a known row count.
type int64Col struct {
	buf *memory.Buffer
	v   []int64
}

func newInt64Col(mem memory.Allocator, rows int64) int64Col {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(rows) * 8)
	return int64Col{buf: buf, v: arrow.Int64Traits.CastFromBytes(buf.Bytes())}
}

// finish returns the column as an array of type t and gives up the
// buffer.
func (c *int64Col) finish(t arrow.DataType) arrow.Array {
	d := array.NewData(t, len(c.v), []*memory.Buffer{nil, c.buf}, nil, 0, 0)
	c.buf.Release()
	a := array.MakeFromData(d)
	d.Release()
	return a
}

// stringCol is a non-null String column of a known row count. Its data
// buffer starts at an estimate and grows by doubling. Values are copied
// into the buffers by index, so adding one stores no pointer (and needs no
// write barrier).
type stringCol struct {
	offs, data *memory.Buffer
	o          []int32 // rows + 1 offsets
	d          []byte  // the data buffer's whole capacity
	i          int     // values so far
	n          int     // data bytes so far
}

func newStringCol(mem memory.Allocator, rows int64, avg int) stringCol {
	offs := memory.NewResizableBuffer(mem)
	offs.Resize((int(rows) + 1) * 4)
	data := memory.NewResizableBuffer(mem)
	data.Reserve(max(int(rows)*avg, 64))
	o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
	o[0] = 0
	return stringCol{offs: offs, data: data, o: o, d: data.Buf()}
}

// add appends one value.
func (c *stringCol) add(s []byte) {
	end := c.n + len(s)
	if end > len(c.d) {
		c.grow(end)
	}
	copy(c.d[c.n:end], s)
	c.n = end
	c.i++
	c.o[c.i] = int32(end)
}

func (c *stringCol) grow(need int) {
	c.data.ResizeNoShrink(c.n)
	c.data.Reserve(max(2*len(c.d), need))
	c.d = c.data.Buf()
}

// finish returns the column as a String array and gives up the buffers.
func (c *stringCol) finish() arrow.Array {
	c.data.ResizeNoShrink(c.n)
	d := array.NewData(arrow.BinaryTypes.String, c.i, []*memory.Buffer{nil, c.offs, c.data}, nil, 0, 0)
	c.offs.Release()
	c.data.Release()
	a := array.MakeFromData(d)
	d.Release()
	return a
}

// record assembles finished columns into a batch and releases them.
func record(schema *arrow.Schema, rows int64, cols ...arrow.Array) arrow.RecordBatch {
	rec := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// clock yields the event times of consecutive event numbers without a
// division per event: it carries the quotient and remainder of n*1e6/rate.
type clock struct {
	g      *Generator
	n      int64
	q, r   int64 // n*1e6 = q*rate + r, on the fast path
	dq, dr int64 // 1e6 = dq*rate + dr
	exact  bool  // n*1e6 may overflow: compute each time
}

func (g *Generator) clockAt(n int64) clock {
	const perSec = 1_000_000
	c := clock{g: g, n: n}
	// Stay on the fast path only while n*1e6 cannot overflow for any n
	// this clock will reach (batches are far smaller than the margin).
	if n < 0 || n > (1<<62)/perSec {
		c.exact = true
		return c
	}
	c.q, c.r = n*perSec/g.rate, n*perSec%g.rate
	c.dq, c.dr = perSec/g.rate, perSec%g.rate
	return c
}

// next returns the event time of the clock's event number and advances it.
func (c *clock) next() int64 {
	if c.exact {
		t := c.g.EventTimeMicros(c.n)
		c.n++
		return t
	}
	t := c.g.baseMicros + c.q
	c.q += c.dq
	if c.r += c.dr; c.r >= c.g.rate {
		c.q++
		c.r -= c.g.rate
	}
	c.n++
	return t
}
