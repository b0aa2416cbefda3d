package widecol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The scan path builds Arrow buffers directly instead of going through
// array.Builder: every buffer of a batch is reserved once for BatchSize
// rows, values are stored at row index n, and a row only becomes part of
// the batch when it is committed. A row that turns out to be invisible
// (expired, filtered out) is simply overwritten by the next one.
//
// Buffers are little-endian on disk and native-endian in Arrow; the
// encoding/binary calls below compile to plain loads and stores on
// little-endian machines.

// colBuf accumulates one output column of a result batch.
type colBuf struct {
	k    kind
	dt   arrow.DataType
	w    int // value width in bytes of fixed-width kinds other than bool
	mem  memory.Allocator
	size int // rows reserved for the current batch

	valid *memory.Buffer // validity bitmap, allocated at the first NULL
	vals  *memory.Buffer // values; bits for bool; int32 offsets for var width
	data  *memory.Buffer // bytes of String and Binary values
	vb    []byte         // valid.Buf()
	xb    []byte         // vals.Buf()
	db    []byte         // data.Buf()

	nulls int
	dlen  int  // end of the committed bytes in data
	cur   int  // end of the current row's bytes in data
	set   bool // the current row has a value
	hint  int  // data bytes used by the previous batch
}

var errBatchTooLarge = errors.New("widecol: result batch exceeds 2 GiB of string data; use a smaller BatchSize")

func newColBufs(p *plan) []colBuf {
	cbs := make([]colBuf, len(p.out))
	for j, col := range p.out {
		k := p.t.kinds[col]
		w := k.width()
		if k == kBool || k == kString || k == kBinary {
			w = 0
		}
		cbs[j] = colBuf{k: k, dt: p.t.Schema.Field(col).Type, w: w, mem: p.mem}
	}
	return cbs
}

// begin prepares the column for a batch of at most size rows.
func (c *colBuf) begin(size int) {
	c.nulls, c.dlen, c.cur, c.set = 0, 0, 0, false
	if c.vals != nil && c.size == size { // left over from a batch that failed: reuse
		if c.k == kString || c.k == kBinary {
			binary.NativeEndian.PutUint32(c.xb, 0)
		}
		return
	}
	c.release()
	c.size = size
	c.vals = memory.NewResizableBuffer(c.mem)
	switch c.k {
	case kBool:
		c.vals.Resize(int(bitsBytes(size)))
		c.xb = c.vals.Buf()
		clear(c.xb)
	case kString, kBinary:
		c.vals.Resize((size + 1) * 4)
		c.xb = c.vals.Buf()
		binary.NativeEndian.PutUint32(c.xb, 0)
		c.data = memory.NewResizableBuffer(c.mem)
		c.data.Reserve(max(c.hint, 64))
		c.db = c.data.Buf()
	default:
		c.vals.Resize(size * c.w)
		c.xb = c.vals.Buf()
	}
}

func bitsBytes(n int) int64 { return int64(n+7) / 8 }

func setBit(b []byte, i int, v bool) {
	if v {
		b[i>>3] |= 1 << (i & 7)
	} else {
		b[i>>3] &^= 1 << (i & 7)
	}
}

// commit ends row n: a column without a value becomes NULL.
func (c *colBuf) commit(n int) {
	if c.set {
		c.set = false
		if c.valid != nil {
			c.vb[n>>3] |= 1 << (n & 7)
		}
		if c.w == 0 && c.k != kBool {
			c.dlen = c.cur
			binary.NativeEndian.PutUint32(c.xb[(n+1)*4:], uint32(c.dlen))
		}
		return
	}
	c.setNull(n)
}

func (c *colBuf) setNull(n int) {
	if c.valid == nil {
		c.valid = memory.NewResizableBuffer(c.mem)
		c.valid.Resize(int(bitsBytes(c.size)))
		c.vb = c.valid.Buf()
		clear(c.vb)
		for i := 0; i < n; i++ { // every committed row so far has a value
			c.vb[i>>3] |= 1 << (i & 7)
		}
	}
	c.vb[n>>3] &^= 1 << (n & 7)
	c.nulls++
	switch c.k {
	case kBool:
		c.xb[n>>3] &^= 1 << (n & 7)
	case kString, kBinary:
		binary.NativeEndian.PutUint32(c.xb[(n+1)*4:], uint32(c.dlen))
	default:
		clear(c.xb[n*c.w : (n+1)*c.w])
	}
}

// putBytes stores a String or Binary value for row n.
func (c *colBuf) putBytes(b []byte) error {
	end := c.dlen + len(b)
	if end > len(c.db) {
		if end > math.MaxInt32 {
			return errBatchTooLarge
		}
		c.data.Reserve(max(end, 2*len(c.db)))
		c.db = c.data.Buf()
	}
	copy(c.db[c.dlen:end], b)
	c.cur = end
	c.set = true
	return nil
}

// putCell stores the payload of a non-NULL cell, whose width has been
// checked against the column kind, for row n.
func (c *colBuf) putCell(n int, p []byte) error {
	switch c.w {
	case 8:
		binary.NativeEndian.PutUint64(c.xb[n*8:], binary.LittleEndian.Uint64(p))
	case 4:
		binary.NativeEndian.PutUint32(c.xb[n*4:], binary.LittleEndian.Uint32(p))
	case 0:
		if c.k != kBool {
			return c.putBytes(p)
		}
		if p[0] > 1 {
			return errors.New("bad bool byte")
		}
		setBit(c.xb, n, p[0] == 1)
	case 2:
		binary.NativeEndian.PutUint16(c.xb[n*2:], binary.LittleEndian.Uint16(p))
	case 1:
		c.xb[n] = p[0]
	case 16:
		x := c.xb[n*16 : n*16+16]
		if c.k == kInterval {
			binary.NativeEndian.PutUint32(x, binary.LittleEndian.Uint32(p))
			binary.NativeEndian.PutUint32(x[4:], binary.LittleEndian.Uint32(p[4:]))
		} else { // decimal128: low word, then high word
			binary.NativeEndian.PutUint64(x, binary.LittleEndian.Uint64(p))
		}
		binary.NativeEndian.PutUint64(x[8:], binary.LittleEndian.Uint64(p[8:]))
	}
	c.set = true
	return nil
}

// putScalar stores s (not NULL) for row n.
func (c *colBuf) putScalar(n int, s *scalar) error {
	switch c.k {
	case kBool:
		setBit(c.xb, n, s.i != 0)
	case kInt8:
		c.xb[n] = byte(s.i)
	case kUint8:
		c.xb[n] = byte(s.u)
	case kInt16:
		binary.NativeEndian.PutUint16(c.xb[n*2:], uint16(s.i))
	case kUint16:
		binary.NativeEndian.PutUint16(c.xb[n*2:], uint16(s.u))
	case kInt32, kDate32:
		binary.NativeEndian.PutUint32(c.xb[n*4:], uint32(s.i))
	case kUint32:
		binary.NativeEndian.PutUint32(c.xb[n*4:], uint32(s.u))
	case kFloat32:
		binary.NativeEndian.PutUint32(c.xb[n*4:], math.Float32bits(float32(s.f)))
	case kInt64, kTimestamp:
		binary.NativeEndian.PutUint64(c.xb[n*8:], uint64(s.i))
	case kUint64:
		binary.NativeEndian.PutUint64(c.xb[n*8:], s.u)
	case kFloat64:
		binary.NativeEndian.PutUint64(c.xb[n*8:], math.Float64bits(s.f))
	case kDecimal128:
		binary.NativeEndian.PutUint64(c.xb[n*16:], s.d.LowBits())
		binary.NativeEndian.PutUint64(c.xb[n*16+8:], uint64(s.d.HighBits()))
	case kInterval:
		binary.NativeEndian.PutUint32(c.xb[n*16:], uint32(s.iv.Months))
		binary.NativeEndian.PutUint32(c.xb[n*16+4:], uint32(s.iv.Days))
		binary.NativeEndian.PutUint64(c.xb[n*16+8:], uint64(s.iv.Nanoseconds))
	case kString, kBinary:
		return c.putBytes(s.b)
	default:
		return fmt.Errorf("unsupported kind %s", c.k)
	}
	c.set = true
	return nil
}

// finish returns the column's first n rows as an array and hands the
// buffers over to it.
func (c *colBuf) finish(n int) arrow.Array {
	clearTail := func(b []byte) {
		if n&7 != 0 {
			b[n>>3] &= byte(1)<<(n&7) - 1
		}
	}
	var valid *memory.Buffer
	if c.valid != nil {
		c.valid.ResizeNoShrink(int(bitsBytes(n)))
		clearTail(c.vb)
		valid = c.valid
	}
	var bufs []*memory.Buffer
	switch c.k {
	case kBool:
		c.vals.ResizeNoShrink(int(bitsBytes(n)))
		clearTail(c.xb)
		bufs = []*memory.Buffer{valid, c.vals}
	case kString, kBinary:
		c.vals.ResizeNoShrink((n + 1) * 4)
		c.data.ResizeNoShrink(c.dlen)
		c.hint = max(c.hint, c.dlen)
		bufs = []*memory.Buffer{valid, c.vals, c.data}
	default:
		c.vals.ResizeNoShrink(n * c.w)
		bufs = []*memory.Buffer{valid, c.vals}
	}
	d := array.NewData(c.dt, n, bufs, nil, c.nulls, 0)
	arr := array.MakeFromData(d)
	d.Release()
	c.release()
	return arr
}

// release drops the column's references to its buffers.
func (c *colBuf) release() {
	for _, b := range []*memory.Buffer{c.valid, c.vals, c.data} {
		if b != nil {
			b.Release()
		}
	}
	c.valid, c.vals, c.data = nil, nil, nil
	c.vb, c.xb, c.db = nil, nil, nil
}
