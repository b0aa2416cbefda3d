package eval

import (
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// Vector kernels for common text functions: lower, upper, length (and
// char_length, octet_length) and replace with constant search and
// replacement strings. They read the argument's buffers directly and
// write the result's, where the row path boxes every argument and result.
// NULL rows stay NULL (the functions are strict).

// strOut writes a String array of a known row count: offsets are stored
// by index and the data buffer grows by doubling.
type strOut struct {
	offs, data *memory.Buffer
	o          []int32
	d          []byte // the data buffer's whole length
	n          int    // data bytes so far
	i          int    // rows so far
}

func newStrOut(alloc memory.Allocator, rows, size int) *strOut {
	w := &strOut{offs: memory.NewResizableBuffer(alloc), data: memory.NewResizableBuffer(alloc)}
	w.offs.Resize((rows + 1) * arrow.Int32SizeBytes)
	w.o = arrow.Int32Traits.CastFromBytes(w.offs.Bytes())
	w.o[0] = 0
	w.data.Resize(max(size, 64))
	w.d = w.data.Bytes()
	return w
}

// reserve returns room for k more bytes at w.d[w.n:].
func (w *strOut) reserve(k int) []byte {
	if w.n+k > len(w.d) {
		w.data.Resize(max(2*len(w.d), w.n+k))
		w.d = w.data.Bytes()
	}
	return w.d[w.n : w.n+k]
}

// advance records k bytes written in the room reserve gave.
func (w *strOut) advance(k int) { w.n += k }

// endRow closes the current row.
func (w *strOut) endRow() {
	w.i++
	w.o[w.i] = int32(w.n)
}

// put appends s to the current row.
func (w *strOut) put(s string) {
	copy(w.reserve(len(s)), s)
	w.n += len(s)
}

// putBytes appends b to the current row.
func (w *strOut) putBytes(b []byte) {
	copy(w.reserve(len(b)), b)
	w.n += len(b)
}

// add appends a row of value s.
func (w *strOut) add(s string) {
	w.put(s)
	w.endRow()
}

// finish returns the array; it takes over the reference to valid.
func (w *strOut) finish(dt arrow.DataType, valid *memory.Buffer, nulls int) arrow.Array {
	w.data.Resize(w.n)
	d := array.NewData(dt, w.i, []*memory.Buffer{valid, w.offs, w.data}, nil, nulls, 0)
	if valid != nil {
		valid.Release()
	}
	w.offs.Release()
	w.data.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

// strKernel is a text function of one text argument (the others constant)
// computed over a whole array.
type strKernel func(alloc memory.Allocator, sa *array.String, ret catalog.Type) arrow.Array

// strNode applies a strKernel; a constant argument goes through the row
// function, once.
type strNode struct {
	x      node
	kernel strKernel
	row    func(s string) any
	ret    catalog.Type
}

func (nd *strNode) eval(c *ctx, in *input) (vec, error) {
	v, err := nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	if v.isConst() {
		s, ok := v.c.(string)
		if !ok {
			return constVec(nil, in.n), nil
		}
		return constVec(nd.row(s), in.n), nil
	}
	sa, ok := v.arr.(*array.String)
	if !ok {
		return vec{}, errInternal("%s kernel over %s", nd.ret, v.arr.DataType())
	}
	return vec{arr: nd.kernel(c.alloc, sa, nd.ret), n: in.n}, nil
}

// compileStrFunc returns the vector kernel of a text function call, or
// nil when the call does not have one.
func compileStrFunc(e *planner.Call, args []node) node {
	if len(e.Args) == 0 || !e.Args[0].Type().IsString() || e.Fn.Args[0].ID != catalog.Text {
		return nil
	}
	nd := &strNode{x: args[0], ret: e.Fn.Ret}
	switch e.Fn.Name {
	case "lower", "upper":
		if len(e.Args) != 1 {
			return nil
		}
		upper := e.Fn.Name == "upper"
		nd.kernel = func(alloc memory.Allocator, sa *array.String, _ catalog.Type) arrow.Array {
			return caseMap(alloc, sa, upper)
		}
		nd.row = func(s string) any {
			if upper {
				return strings.ToUpper(s)
			}
			return strings.ToLower(s)
		}
	case "length", "char_length", "character_length", "octet_length":
		if len(e.Args) != 1 || (e.Fn.Ret.ID != catalog.Int4 && e.Fn.Ret.ID != catalog.Int8) {
			return nil
		}
		bytes := e.Fn.Name == "octet_length"
		nd.kernel = func(alloc memory.Allocator, sa *array.String, ret catalog.Type) arrow.Array {
			return lengths(alloc, sa, ret, bytes)
		}
		nd.row = func(s string) any {
			if bytes {
				return int64(len(s))
			}
			return int64(utf8.RuneCountInString(s))
		}
	case "replace":
		if len(e.Args) != 3 {
			return nil
		}
		from, ok1 := constString(e.Args[1])
		to, ok2 := constString(e.Args[2])
		if !ok1 || !ok2 {
			return nil
		}
		nd.kernel = func(alloc memory.Allocator, sa *array.String, _ catalog.Type) arrow.Array {
			return replaceAll(alloc, sa, from, to)
		}
		nd.row = func(s string) any {
			if from == "" {
				return s
			}
			return strings.ReplaceAll(s, from, to)
		}
	default:
		return nil
	}
	return nd
}

// constString returns the value of a non-NULL text constant.
func constString(e planner.Expr) (string, bool) {
	c, ok := e.(*planner.Const)
	if !ok {
		return "", false
	}
	s, ok := c.Val.(string)
	return s, ok
}

// caseMap is lower or upper over every row: ASCII bytes map in place,
// a row with other characters goes through strings.ToLower/ToUpper (Go's
// Unicode case mapping, as the row function).
func caseMap(alloc memory.Allocator, sa *array.String, upper bool) arrow.Array {
	n := sa.Len()
	offs := sa.ValueOffsets()
	w := newStrOut(alloc, n, int(offs[n]-offs[0]))
	lo, hi := byte('A'), byte('Z')
	if upper {
		lo, hi = 'a', 'z'
	}
	for i := 0; i < n; i++ {
		s := sa.Value(i)
		out := w.reserve(len(s))
		ascii := true
		for j := 0; j < len(s); j++ {
			ch := s[j]
			if ch >= utf8.RuneSelf {
				ascii = false
				break
			}
			if lo <= ch && ch <= hi {
				ch ^= 0x20
			}
			out[j] = ch
		}
		if ascii {
			w.advance(len(s))
			w.endRow()
			continue
		}
		var m string
		if upper {
			m = strings.ToUpper(s)
		} else {
			m = strings.ToLower(s)
		}
		w.add(m)
	}
	return w.finish(arrow.BinaryTypes.String, validCopy(alloc, sa), sa.NullN())
}

// lengths is length (characters) or octet_length (bytes) of every row, as
// an integer or bigint array.
func lengths(alloc memory.Allocator, sa *array.String, ret catalog.Type, bytes bool) arrow.Array {
	n := sa.Len()
	count := func(i int) int {
		s := sa.Value(i)
		if bytes {
			return len(s)
		}
		for j := 0; j < len(s); j++ {
			if s[j] >= utf8.RuneSelf {
				return utf8.RuneCountInString(s)
			}
		}
		return len(s)
	}
	if ret.ID == catalog.Int8 {
		buf, out := newFixed[int64](alloc, n)
		for i := range out {
			out[i] = int64(count(i))
		}
		return fixedArray(ret.Arrow(), n, validCopy(alloc, sa), sa.NullN(), buf)
	}
	buf, out := newFixed[int32](alloc, n)
	for i := range out {
		out[i] = int32(count(i))
	}
	return fixedArray(ret.Arrow(), n, validCopy(alloc, sa), sa.NullN(), buf)
}

// replaceAll is replace(s, from, to) over every row; an empty from leaves
// s unchanged, as in Postgres.
func replaceAll(alloc memory.Allocator, sa *array.String, from, to string) arrow.Array {
	n := sa.Len()
	offs := sa.ValueOffsets()
	w := newStrOut(alloc, n, int(offs[n]-offs[0]))
	single := len(from) == 1 && len(to) == 0
	for i := 0; i < n; i++ {
		s := sa.Value(i)
		switch {
		case from == "":
			w.add(s)
		case single:
			// Deleting one byte: copy around it.
			out := w.reserve(len(s))
			k, c := 0, from[0]
			for j := 0; j < len(s); j++ {
				if s[j] != c {
					out[k] = s[j]
					k++
				}
			}
			w.advance(k)
			w.endRow()
		default:
			for {
				j := strings.Index(s, from)
				if j < 0 {
					break
				}
				w.put(s[:j])
				w.put(to)
				s = s[j+len(from):]
			}
			w.add(s)
		}
	}
	return w.finish(arrow.BinaryTypes.String, validCopy(alloc, sa), sa.NullN())
}
