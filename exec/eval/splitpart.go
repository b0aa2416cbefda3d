package eval

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/planner"
)

// compileSplitPart compiles split_part(s, d, n) with a constant delimiter
// and field number into a vector kernel that copies each field straight
// into the result buffers (the row path boxes every argument and result).
// It returns nil when the call does not qualify.
func compileSplitPart(e *planner.Call, args []node) node {
	if e.Fn.Name != "split_part" || len(e.Args) != 3 {
		return nil
	}
	dc, ok1 := e.Args[1].(*planner.Const)
	nc, ok2 := e.Args[2].(*planner.Const)
	if !ok1 || !ok2 || dc.Val == nil || nc.Val == nil {
		return nil
	}
	d, ok := dc.Val.(string)
	if !ok {
		return nil
	}
	n, err := asInt64(nc.Val)
	if err != nil || n == 0 {
		return nil // the row path reports the error
	}
	return &splitPartNode{x: args[0], d: d, field: n}
}

type splitPartNode struct {
	x     node
	d     string
	field int64
}

func (nd *splitPartNode) eval(c *ctx, in *input) (vec, error) {
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
		return constVec(splitPart(s, nd.d, nd.field), in.n), nil
	}
	sa, ok := v.arr.(*array.String)
	if !ok {
		return vec{}, errInternal("split_part of %s", v.arr.DataType())
	}
	return vec{arr: splitPartArray(c.alloc, sa, nd.d, nd.field), n: in.n}, nil
}

// splitMemoProbe is how many rows split_part reads before it decides
// whether remembering fields per distinct string pays: it stops when more
// than a quarter of them were distinct.
const splitMemoProbe = 1024

// splitPartArray applies split_part to every row of sa: one pass finds the
// fields, a second copies them into a data buffer of the exact size.
func splitPartArray(alloc memory.Allocator, sa *array.String, d string, field int64) arrow.Array {
	n := sa.Len()
	offs := memory.NewResizableBuffer(alloc)
	offs.Resize((n + 1) * arrow.Int32SizeBytes)
	o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
	starts := make([]int32, n)
	nulls := sa.NullN() > 0
	total := 0
	// Strings that repeat (a table's few URLs) are split once: the
	// field's bounds are remembered per distinct string, while the
	// strings seen so far repeat often enough to pay for the lookups.
	var memo map[string]uint64
	if n >= splitMemoProbe {
		memo = make(map[string]uint64, 64)
	}
	for i := range n {
		o[i] = int32(total)
		if nulls && sa.IsNull(i) {
			continue
		}
		s := sa.Value(i)
		var lo, hi int
		if memo != nil {
			if span, ok := memo[s]; ok {
				lo, hi = int(span>>32), int(uint32(span))
			} else {
				lo, hi = splitPartSpan(s, d, field)
				memo[s] = uint64(lo)<<32 | uint64(uint32(hi))
				if i+1 == splitMemoProbe && len(memo) > splitMemoProbe/4 {
					memo = nil
				}
			}
		} else {
			lo, hi = splitPartSpan(s, d, field)
		}
		starts[i] = int32(sa.ValueOffset(i) + lo)
		total += hi - lo
	}
	o[n] = int32(total)
	data := memory.NewResizableBuffer(alloc)
	data.Resize(total)
	out := data.Bytes()
	src := sa.ValueBytes()
	base := 0
	if n > 0 {
		base = sa.ValueOffset(0)
	}
	for i := range n {
		if o[i+1] > o[i] {
			lo := int(starts[i]) - base
			copy(out[o[i]:o[i+1]], src[lo:lo+int(o[i+1]-o[i])])
		}
	}
	arr := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{validCopy(alloc, sa), offs, data}, nil, sa.NullN(), 0)
	for _, b := range arr.Buffers() {
		if b != nil {
			b.Release()
		}
	}
	defer arr.Release()
	return array.MakeFromData(arr)
}

// splitPartSpan returns the bounds in s of split_part(s, d, n) for
// n != 0; lo == hi when the field is empty or missing.
func splitPartSpan(s, d string, n int64) (lo, hi int) {
	if d == "" {
		if n == 1 || n == -1 {
			return 0, len(s)
		}
		return 0, 0
	}
	if len(d) == 1 && n > 0 {
		return splitPartByte(s, d[0], n)
	}
	if n < 0 {
		n = int64(strings.Count(s, d)) + 2 + n
		if n <= 0 {
			return 0, 0
		}
	}
	for ; n > 1; n-- {
		i := strings.Index(s[lo:], d)
		if i < 0 {
			return 0, 0
		}
		lo += i + len(d)
	}
	if i := strings.Index(s[lo:], d); i >= 0 {
		return lo, lo + i
	}
	return lo, len(s)
}

// splitPartByte is splitPartSpan for a one-byte delimiter and n > 0. The
// fields of the strings split in practice (url paths, key=value lists) are
// a few bytes long, where a plain loop beats strings.IndexByte's setup.
func splitPartByte(s string, d byte, n int64) (lo, hi int) {
	i := 0
	for ; n > 1; n-- {
		for i < len(s) && s[i] != d {
			i++
		}
		if i == len(s) {
			return 0, 0
		}
		i++
	}
	lo = i
	for i < len(s) && s[i] != d {
		i++
	}
	return lo, i
}
