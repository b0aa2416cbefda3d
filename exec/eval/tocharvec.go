package eval

import (
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
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
	var at func(i int) int64
	switch a := v.arr.(type) {
	case *array.Timestamp:
		at = func(i int) int64 { return int64(a.Value(i)) }
	case *array.Date32:
		at = func(i int) int64 { return int64(a.Value(i)) * usPerDay }
	default:
		return vec{}, errInternal("to_char of %s", v.arr.DataType())
	}
	n := v.arr.Len()
	b := array.NewStringBuilder(c.alloc)
	defer b.Release()
	b.Reserve(n)
	last, text := int64(math.MinInt64), ""
	for i := 0; i < n; i++ {
		if v.arr.IsNull(i) {
			b.AppendNull()
			continue
		}
		us := at(i)
		if k := floorDiv(us, nd.unit); k != last || i == 0 {
			last, text = k, nd.p.format1(time.UnixMicro(us).UTC())
		}
		b.Append(text)
	}
	return vec{arr: b.NewArray(), n: in.n}, nil
}
