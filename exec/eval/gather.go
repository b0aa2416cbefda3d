package eval

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// gatherMany builds an array of len(from) rows whose row i is row at[i]
// of srcs[from[i]]; every source has the type dt. It returns nil for a
// type it does not handle (the caller then concatenates and takes).
func gatherMany(alloc memory.Allocator, dt arrow.DataType, srcs []arrow.Array, from []uint16, at []int32) arrow.Array {
	n := len(from)
	// Validity.
	var valid *memory.Buffer
	nulls := 0
	for _, s := range srcs {
		if s.NullN() > 0 {
			valid = newBitmap(alloc, n, false)
			break
		}
	}
	if valid != nil {
		vb := valid.Bytes()
		for i, p := range from {
			if srcs[p].IsValid(int(at[i])) {
				bitutil.SetBit(vb, i)
			} else {
				nulls++
			}
		}
	}
	switch t := dt.(type) {
	case *arrow.StringType, *arrow.BinaryType:
		offs := make([][]int32, len(srcs))
		data := make([][]byte, len(srcs))
		for k, s := range srcs {
			switch a := s.(type) {
			case *array.String:
				offs[k], data[k] = a.ValueOffsets(), a.ValueBytes()
			case *array.Binary:
				offs[k], data[k] = a.ValueOffsets(), a.ValueBytes()
			default:
				if valid != nil {
					valid.Release()
				}
				return nil
			}
		}
		total := 0
		for i, p := range from {
			o := offs[p]
			total += int(o[at[i]+1] - o[at[i]])
		}
		w := newStrOut(alloc, n, total)
		for i, p := range from {
			o, j := offs[p], at[i]
			w.putBytes(data[p][o[j]-o[0] : o[j+1]-o[0]])
			w.endRow()
		}
		return w.finish(dt, valid, nulls)
	case *arrow.BooleanType:
		vals := newBitmap(alloc, n, false)
		ob := vals.Bytes()
		bits := make([][]byte, len(srcs))
		offs := make([]int, len(srcs))
		for k, s := range srcs {
			bits[k], offs[k] = s.Data().Buffers()[1].Bytes(), s.Data().Offset()
		}
		for i, p := range from {
			if bitutil.BitIsSet(bits[p], offs[p]+int(at[i])) {
				bitutil.SetBit(ob, i)
			}
		}
		return fixedArray(dt, n, valid, nulls, vals)
	case arrow.FixedWidthDataType:
		w := t.BitWidth() / 8
		if w == 0 {
			break
		}
		bufs := make([][]byte, len(srcs))
		for k, s := range srcs {
			b := s.Data().Buffers()[1].Bytes()
			bufs[k] = b[s.Data().Offset()*w:]
		}
		buf := memory.NewResizableBuffer(alloc)
		buf.Resize(n * w)
		out := buf.Bytes()
		switch w {
		case 8:
			o := arrow.Int64Traits.CastFromBytes(out)
			vs := make([][]int64, len(srcs))
			for k, b := range bufs {
				vs[k] = arrow.Int64Traits.CastFromBytes(b)
			}
			for i, p := range from {
				o[i] = vs[p][at[i]]
			}
		default:
			for i, p := range from {
				s := int(at[i]) * w
				copy(out[i*w:(i+1)*w], bufs[p][s:s+w])
			}
		}
		return fixedArray(dt, n, valid, nulls, buf)
	}
	if valid != nil {
		valid.Release()
	}
	return nil
}
