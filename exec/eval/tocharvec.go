package eval

import (
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// compileToCharVec compiles to_char(t, template) of a timestamp or date
// with a constant template into a vector kernel. Rows that fall in the
// same unit of the template's finest pattern (the same day for a date
// template, the same minute for 'HH24:MI') share one formatting. It
// returns nil when the call does not qualify.
func compileToCharVec(e *planner.Call, args []node) node {
	if e.Fn.Name != "to_char" || len(e.Args) != 2 {
		return nil
	}
	switch e.Args[0].Type().ID {
	case catalog.Timestamp, catalog.TimestampTZ, catalog.Date:
	default:
		return nil
	}
	format, ok := constString(e.Args[1])
	if !ok {
		return nil
	}
	p := compileToChar(format)
	return &toCharNode{x: args[0], p: p, unit: p.unit()}
}

type toCharNode struct {
	x    node
	p    *toCharProgram
	unit int64 // microseconds over which the text stays the same
}

// unit is the span of time over which the template's text cannot change.
func (p *toCharProgram) unit() int64 {
	if p.dateOnly {
		return usPerDay
	}
	unit := int64(usPerDay)
	for _, pat := range p.pats {
		switch strings.ToUpper(pat) {
		case "MS", "US":
			return 1
		case "SS":
			unit = min(unit, usPerSec)
		case "MI":
			unit = min(unit, 60*usPerSec)
		case "HH", "HH12", "HH24", "AM", "PM":
			unit = min(unit, 3600*usPerSec)
		default:
			// A pattern of the date, or one this list does not know.
			if !toCharDatePattern(pat) {
				return 1
			}
		}
	}
	return unit
}

func toCharDatePattern(pat string) bool {
	for _, pt := range toCharPatterns {
		if pt.pat == pat || pt.fold && strings.EqualFold(pt.pat, pat) {
			return pt.date
		}
	}
	return false
}

func (nd *toCharNode) eval(c *ctx, in *input) (vec, error) {
	v, err := nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer v.release()
	if v.isConst() {
		if v.c == nil {
			return constVec(nil, in.n), nil
		}
		var us int64
		switch x := v.c.(type) {
		case int32:
			us = int64(x) * usPerDay
		default:
			us = toI(v.c)
		}
		return constVec(nd.p.format1(time.UnixMicro(us).UTC()), in.n), nil
	}
	// Values is what Value reads: the array's own rows, its offset applied.
	var arr arrow.Array
	switch a := v.arr.(type) {
	case *array.Timestamp:
		arr, err = toCharArray(nd, c.alloc, a, a.Values(), 1)
	case *array.Date32:
		arr, err = toCharArray(nd, c.alloc, a, a.Values(), usPerDay)
	default:
		return vec{}, errInternal("to_char of %s", v.arr.DataType())
	}
	if err != nil {
		return vec{}, err
	}
	return vec{arr: arr, n: in.n}, nil
}

// toCharArray formats the rows of a, whose values are vals times scale
// microseconds, into a String array written directly. A text repeats over
// a run of rows, so a row costs only its offset: the run's bytes are
// filled once it ends, by doubling copies, where a builder would append
// each row with its bookkeeping and growth.
func toCharArray[T arrow.Timestamp | arrow.Date32](nd *toCharNode, alloc memory.Allocator, a arrow.Array, vals []T, scale int64) (arrow.Array, error) {
	n := len(vals)
	nulls := a.NullN()
	offs := memory.NewResizableBuffer(alloc)
	offs.Resize((n + 1) * arrow.Int32SizeBytes)
	o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
	data := memory.NewResizableBuffer(alloc)
	var valid *memory.Buffer
	var vb []byte
	if nulls > 0 {
		valid = memory.NewResizableBuffer(alloc)
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		vb = valid.Bytes()
		clear(vb)
	}
	release := func() {
		for _, b := range []*memory.Buffer{valid, offs, data} {
			if b != nil {
				b.Release()
			}
		}
	}
	var d []byte
	end, seen := 0, 0 // data bytes and NULL rows so far
	run := 0          // where the copies of text start in d
	// Rows in [lo, lo+span) share text: comparing with the unit's bounds
	// spares a division per row. span is 0 before the first row, and for
	// a unit that starts below the int64 range (lo wrapped).
	lo, span, text := int64(0), uint64(0), ""
	for i, x := range vals {
		o[i] = int32(end)
		if vb != nil {
			if a.IsNull(i) {
				seen++
				continue
			}
			bitutil.SetBit(vb, i)
		}
		us := int64(x) * scale
		if us < lo || uint64(us-lo) >= span {
			if !fillRun(d, run, end, len(text)) {
				release()
				return nil, errToCharSize
			}
			text = nd.p.format1(time.UnixMicro(us).UTC())
			lo, span, run = floorDiv(us, nd.unit)*nd.unit, uint64(nd.unit), end
			if lo > us {
				span = 0
			}
			// Room for every non-NULL row left at this text's length, so
			// that the run fits: one allocation when the texts all have
			// the same length, a few when they do not (month names), as
			// the template bounds their lengths.
			rest := int64(n - i - (nulls - seen))
			if size := min(int64(end)+rest*int64(len(text)), math.MaxInt32); size > int64(len(d)) {
				data.Resize(int(size))
				d = data.Bytes()
			}
			if end+len(text) > len(d) {
				release()
				return nil, errToCharSize
			}
			copy(d[end:], text)
		}
		end += len(text)
	}
	if !fillRun(d, run, end, len(text)) {
		release()
		return nil, errToCharSize
	}
	o[n] = int32(end)
	data.Resize(end)
	ad := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{valid, offs, data}, nil, nulls, 0)
	release()
	defer ad.Release()
	return array.NewStringData(ad), nil
}

var errToCharSize = pgerror.New(pgerror.CodeProgramLimitExceeded, "to_char results exceed the 2 GB of a text column")

// fillRun fills d[run:end] with copies of its first k bytes; false when
// they do not fit in d.
func fillRun(d []byte, run, end, k int) bool {
	if end > len(d) {
		return false
	}
	for w := k; run+w < end; w *= 2 {
		copy(d[run+w:end], d[run:run+w])
	}
	return true
}
