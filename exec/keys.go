package exec

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// keyEncoder encodes the values of some columns, row by row, into byte
// strings that are equal exactly when the rows are equal as group keys
// (NULLs equal each other, -0 = 0, NaN = NaN, intervals by their span, as
// Postgres groups them). Buffers are reused from batch to batch.
type keyEncoder struct {
	buf  []byte
	offs []int32 // n+1 offsets into buf
	pos  []int32 // scratch write positions
}

// key returns the encoded key of row i of the last encode call. It aliases
// the encoder's buffer.
func (e *keyEncoder) key(i int) []byte { return e.buf[e.offs[i]:e.offs[i+1]] }

func fixedKeyWidth(dt arrow.DataType) (int, bool) {
	switch dt.ID() {
	case arrow.BOOL, arrow.NULL:
		return 1, true
	case arrow.INT16:
		return 3, true
	case arrow.INT32, arrow.DATE32, arrow.FLOAT32:
		return 5, true
	case arrow.INT64, arrow.TIMESTAMP, arrow.FLOAT64:
		return 9, true
	case arrow.DECIMAL128, arrow.INTERVAL_MONTH_DAY_NANO:
		return 17, true
	}
	return 0, false
}

// encode encodes rows [0, n) of cols.
func (e *keyEncoder) encode(cols []arrow.Array, n int) error {
	if cap(e.offs) < n+1 {
		e.offs = make([]int32, n+1)
		e.pos = make([]int32, n+1)
	}
	e.offs = e.offs[:n+1]
	e.pos = e.pos[:n+1]
	stride := 0
	variable := false
	for _, c := range cols {
		if w, ok := fixedKeyWidth(c.DataType()); ok {
			stride += w
			continue
		}
		switch c.DataType().ID() {
		case arrow.STRING, arrow.BINARY:
			stride += 5
			variable = true
		default:
			return fmt.Errorf("%w: key of type %s", ErrUnsupported, c.DataType())
		}
	}
	if !variable {
		for i := range e.offs {
			e.offs[i] = int32(i * stride)
		}
	} else {
		for i := range e.offs {
			e.offs[i] = 0
		}
		for _, c := range cols {
			var offs []int32
			switch a := c.(type) {
			case *array.String:
				offs = a.ValueOffsets()
			case *array.Binary:
				offs = a.ValueOffsets()
			default:
				continue
			}
			for i := 0; i < n; i++ {
				e.offs[i+1] += offs[i+1] - offs[i]
			}
		}
		sum := int32(0)
		for i := 0; i <= n; i++ {
			sum += e.offs[i]
			e.offs[i] = sum + int32(i*stride)
		}
	}
	total := int(e.offs[n])
	if cap(e.buf) < total {
		e.buf = make([]byte, total, total+total/4)
	}
	e.buf = e.buf[:total]
	copy(e.pos, e.offs)
	buf, pos := e.buf, e.pos
	for _, c := range cols {
		nulls := c.NullN() > 0
		switch a := c.(type) {
		case *array.Null:
			for i := 0; i < n; i++ {
				buf[pos[i]] = 0
				pos[i]++
			}
		case *array.Boolean:
			for i := 0; i < n; i++ {
				var t byte
				if !nulls || a.IsValid(i) {
					t = 1
					if a.Value(i) {
						t = 2
					}
				}
				buf[pos[i]] = t
				pos[i]++
			}
		case *array.Int16:
			vals := a.Int16Values()
			for i := 0; i < n; i++ {
				p := pos[i]
				if nulls && a.IsNull(i) {
					buf[p] = 0
					binary.LittleEndian.PutUint16(buf[p+1:], 0)
				} else {
					buf[p] = 1
					binary.LittleEndian.PutUint16(buf[p+1:], uint16(vals[i]))
				}
				pos[i] = p + 3
			}
		case *array.Int32:
			encode32(buf, pos, a, a.Int32Values(), nulls, n, func(v int32) uint32 { return uint32(v) })
		case *array.Date32:
			encode32(buf, pos, a, a.Date32Values(), nulls, n, func(v arrow.Date32) uint32 { return uint32(v) })
		case *array.Float32:
			encode32(buf, pos, a, a.Float32Values(), nulls, n, func(v float32) uint32 {
				if v == 0 {
					return 0
				}
				if v != v {
					return 0x7fc00000
				}
				return math.Float32bits(v)
			})
		case *array.Int64:
			encode64(buf, pos, a, a.Int64Values(), nulls, n, func(v int64) uint64 { return uint64(v) })
		case *array.Timestamp:
			encode64(buf, pos, a, a.TimestampValues(), nulls, n, func(v arrow.Timestamp) uint64 { return uint64(v) })
		case *array.Float64:
			encode64(buf, pos, a, a.Float64Values(), nulls, n, func(v float64) uint64 {
				if v == 0 {
					return 0
				}
				if v != v {
					return 0x7ff8000000000001
				}
				return math.Float64bits(v)
			})
		case *array.Decimal128:
			for i := 0; i < n; i++ {
				p := pos[i]
				if nulls && a.IsNull(i) {
					buf[p] = 0
					clear(buf[p+1 : p+17])
				} else {
					v := a.Value(i)
					buf[p] = 1
					binary.LittleEndian.PutUint64(buf[p+1:], v.LowBits())
					binary.LittleEndian.PutUint64(buf[p+9:], uint64(v.HighBits()))
				}
				pos[i] = p + 17
			}
		case *array.MonthDayNanoInterval:
			for i := 0; i < n; i++ {
				p := pos[i]
				if nulls && a.IsNull(i) {
					buf[p] = 0
					clear(buf[p+1 : p+17])
				} else {
					d, ns := intervalSpan(a.Value(i))
					buf[p] = 1
					binary.LittleEndian.PutUint64(buf[p+1:], uint64(d))
					binary.LittleEndian.PutUint64(buf[p+9:], uint64(ns))
				}
				pos[i] = p + 17
			}
		case *array.String:
			encodeVar(buf, pos, a, a.ValueOffsets(), a.ValueBytes(), nulls, n)
		case *array.Binary:
			encodeVar(buf, pos, a, a.ValueOffsets(), a.ValueBytes(), nulls, n)
		}
	}
	return nil
}

const nanosPerDay = 86400 * 1e9

// intervalSpan normalizes an interval to (days, nanoseconds within the
// day), counting a month as 30 days, as Postgres compares intervals.
func intervalSpan(v arrow.MonthDayNanoInterval) (int64, int64) {
	d := int64(v.Months)*30 + int64(v.Days)
	ns := v.Nanoseconds
	q := ns / nanosPerDay
	r := ns % nanosPerDay
	if r < 0 {
		r += nanosPerDay
		q--
	}
	return d + q, r
}

func encode32[T any](buf []byte, pos []int32, a arrow.Array, vals []T, nulls bool, n int, bits func(T) uint32) {
	for i := 0; i < n; i++ {
		p := pos[i]
		if nulls && a.IsNull(i) {
			buf[p] = 0
			binary.LittleEndian.PutUint32(buf[p+1:], 0)
		} else {
			buf[p] = 1
			binary.LittleEndian.PutUint32(buf[p+1:], bits(vals[i]))
		}
		pos[i] = p + 5
	}
}

func encode64[T any](buf []byte, pos []int32, a arrow.Array, vals []T, nulls bool, n int, bits func(T) uint64) {
	for i := 0; i < n; i++ {
		p := pos[i]
		if nulls && a.IsNull(i) {
			buf[p] = 0
			binary.LittleEndian.PutUint64(buf[p+1:], 0)
		} else {
			buf[p] = 1
			binary.LittleEndian.PutUint64(buf[p+1:], bits(vals[i]))
		}
		pos[i] = p + 9
	}
}

func encodeVar(buf []byte, pos []int32, a arrow.Array, offs []int32, data []byte, nulls bool, n int) {
	base := int32(0)
	if len(offs) > 0 {
		base = offs[0]
	}
	for i := 0; i < n; i++ {
		p := pos[i]
		if nulls && a.IsNull(i) {
			buf[p] = 0
			binary.LittleEndian.PutUint32(buf[p+1:], 0)
			pos[i] = p + 5
			continue
		}
		s, e := offs[i]-base, offs[i+1]-base
		buf[p] = 1
		binary.LittleEndian.PutUint32(buf[p+1:], uint32(e-s))
		pos[i] = p + 5 + int32(copy(buf[p+5:], data[s:e]))
	}
}

// hashTable assigns dense ids (0, 1, 2, ... in order of first appearance)
// to distinct keys made of one or more columns. A single integer column
// takes a faster path keyed by the value itself.
type hashTable struct {
	enc   keyEncoder
	m     map[string]uint32
	ints  map[int64]uint32
	mode  int8 // 0 undecided, 1 bytes, 2 ints
	null  int64
	count uint32
}

func newHashTable() *hashTable { return &hashTable{null: -1} }

// len returns the number of distinct keys.
func (h *hashTable) len() int { return int(h.count) }

func (h *hashTable) decide(cols []arrow.Array) {
	if h.mode != 0 {
		return
	}
	h.mode = 1
	if len(cols) == 1 {
		switch cols[0].DataType().ID() {
		case arrow.INT16, arrow.INT32, arrow.INT64, arrow.DATE32, arrow.TIMESTAMP:
			h.mode = 2
			h.ints = make(map[int64]uint32)
			return
		}
	}
	h.m = make(map[string]uint32)
}

// intValues returns a reader of a single integer column.
func intValues(a arrow.Array) func(i int) int64 {
	switch a := a.(type) {
	case *array.Int16:
		v := a.Int16Values()
		return func(i int) int64 { return int64(v[i]) }
	case *array.Int32:
		v := a.Int32Values()
		return func(i int) int64 { return int64(v[i]) }
	case *array.Int64:
		v := a.Int64Values()
		return func(i int) int64 { return v[i] }
	case *array.Date32:
		v := a.Date32Values()
		return func(i int) int64 { return int64(v[i]) }
	case *array.Timestamp:
		v := a.TimestampValues()
		return func(i int) int64 { return int64(v[i]) }
	}
	panic("exec: not an integer column")
}

// insert assigns ids[i] for rows [0, n) of cols, adding unseen keys, and
// appends the rows that introduced new keys to newRows.
func (h *hashTable) insert(cols []arrow.Array, n int, ids []uint32, newRows []int32) ([]int32, error) {
	h.decide(cols)
	if h.mode == 2 {
		a := cols[0]
		nulls := a.NullN() > 0
		if v, ok := a.(*array.Int64); ok && !nulls {
			vals := v.Int64Values()
			for i := 0; i < n; i++ {
				id, ok := h.ints[vals[i]]
				if !ok {
					id = h.count
					h.count++
					h.ints[vals[i]] = id
					newRows = append(newRows, int32(i))
				}
				ids[i] = id
			}
			return newRows, nil
		}
		get := intValues(a)
		for i := 0; i < n; i++ {
			if nulls && a.IsNull(i) {
				if h.null < 0 {
					h.null = int64(h.count)
					h.count++
					newRows = append(newRows, int32(i))
				}
				ids[i] = uint32(h.null)
				continue
			}
			k := get(i)
			id, ok := h.ints[k]
			if !ok {
				id = h.count
				h.count++
				h.ints[k] = id
				newRows = append(newRows, int32(i))
			}
			ids[i] = id
		}
		return newRows, nil
	}
	if err := h.enc.encode(cols, n); err != nil {
		return newRows, err
	}
	for i := 0; i < n; i++ {
		k := h.enc.key(i)
		id, ok := h.m[string(k)]
		if !ok {
			id = h.count
			h.count++
			h.m[string(k)] = id
			newRows = append(newRows, int32(i))
		}
		ids[i] = id
	}
	return newRows, nil
}

// lookup sets ids[i] to the id of row i's key, or -1 if it is absent.
func (h *hashTable) lookup(cols []arrow.Array, n int, ids []int32) error {
	h.decide(cols)
	if h.mode == 2 {
		a := cols[0]
		nulls := a.NullN() > 0
		get := intValues(a)
		for i := 0; i < n; i++ {
			if nulls && a.IsNull(i) {
				ids[i] = int32(h.null)
				continue
			}
			id, ok := h.ints[get(i)]
			if !ok {
				ids[i] = -1
			} else {
				ids[i] = int32(id)
			}
		}
		return nil
	}
	if err := h.enc.encode(cols, n); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		id, ok := h.m[string(h.enc.key(i))]
		if !ok {
			ids[i] = -1
		} else {
			ids[i] = int32(id)
		}
	}
	return nil
}

// anyNullMask returns, for rows [0, n), whether any of cols is NULL; nil
// when no column has NULLs.
func anyNullMask(cols []arrow.Array, n int, mask []bool) []bool {
	has := false
	for _, c := range cols {
		if c.NullN() > 0 {
			has = true
			break
		}
	}
	if !has {
		return nil
	}
	if cap(mask) < n {
		mask = make([]bool, n)
	}
	mask = mask[:n]
	clear(mask)
	for _, c := range cols {
		if c.NullN() == 0 {
			continue
		}
		if c.DataType().ID() == arrow.NULL {
			for i := range mask {
				mask[i] = true
			}
			continue
		}
		bits := c.NullBitmapBytes()
		off := c.Data().Offset()
		for i := 0; i < n; i++ {
			if !bitutil.BitIsSet(bits, off+i) {
				mask[i] = true
			}
		}
	}
	return mask
}
