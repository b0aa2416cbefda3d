package widecol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/cockroachdb/pebble/v2"
)

// Value encoding (one Pebble value per row, key columns live in the key):
//
//	value  = header [rowExpiry] cell*
//	header = one byte; bit 0 set when rowExpiry follows; other bits zero
//	rowExpiry = int64 little-endian, Unix nanoseconds; the row marker
//	         (written by every upsert) is live until then
//	cell   = uvarint(col<<5 | wcode<<2 | hasExpiry<<1 | isNull)
//	         [expiry int64 LE] [payload unless NULL]
//	wcode  = payload width: 0 variable (uvarint length + bytes), 1..5 for
//	         1, 2, 4, 8, 16 fixed bytes
//
// Cells are sorted by column id. Values are self-describing so the merge
// operator, which sees no schema, can combine partial upserts. A row is
// visible while its marker is live or any of its cells is live.

const (
	hdrRowExpiry = 1 << 0
	cellNull     = 1 << 0
	cellExpiry   = 1 << 1
	maxColumns   = 1 << 20
)

var wcodeWidth = [...]int{0, 1, 2, 4, 8, 16}

func wcodeOf(w int) uint64 {
	switch w {
	case 1:
		return 1
	case 2:
		return 2
	case 4:
		return 3
	case 8:
		return 4
	case 16:
		return 5
	}
	return 0
}

// appendHeader appends a value header; exp 0 means no expiry.
func appendHeader(dst []byte, exp int64) []byte {
	if exp == 0 {
		return append(dst, 0)
	}
	dst = append(dst, hdrRowExpiry)
	return binary.LittleEndian.AppendUint64(dst, uint64(exp))
}

// appendCell appends cell col (kind k) holding s; exp 0 means no expiry.
func appendCell(dst []byte, col int, k kind, s *scalar, exp int64) []byte {
	dst = appendCellPrefix(dst, col, k, s.null, exp)
	if s.null {
		return dst
	}
	return appendPayload(dst, k, s)
}

// appendCellPrefix appends what precedes the payload of cell col (kind k):
// its tag, then its expiry unless exp is 0.
func appendCellPrefix(dst []byte, col int, k kind, null bool, exp int64) []byte {
	tag := uint64(col) << 5
	if exp != 0 {
		tag |= cellExpiry
	}
	if null {
		tag |= cellNull
	} else {
		tag |= wcodeOf(k.width()) << 2
	}
	dst = binary.AppendUvarint(dst, tag)
	if exp != 0 {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(exp))
	}
	return dst
}

// appendPayload appends the payload of a cell of kind k holding s, not NULL.
func appendPayload(dst []byte, k kind, s *scalar) []byte {
	switch k {
	case kBool, kInt8:
		dst = append(dst, byte(s.i))
	case kUint8:
		dst = append(dst, byte(s.u))
	case kInt16:
		dst = binary.LittleEndian.AppendUint16(dst, uint16(s.i))
	case kUint16:
		dst = binary.LittleEndian.AppendUint16(dst, uint16(s.u))
	case kInt32, kDate32:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(s.i))
	case kUint32:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(s.u))
	case kInt64, kTimestamp:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s.i))
	case kUint64:
		dst = binary.LittleEndian.AppendUint64(dst, s.u)
	case kFloat32:
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(s.f)))
	case kFloat64:
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(s.f))
	case kDecimal128:
		dst = binary.LittleEndian.AppendUint64(dst, s.d.LowBits())
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s.d.HighBits()))
	case kInterval:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(s.iv.Months))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(s.iv.Days))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s.iv.Nanoseconds))
	case kString, kBinary:
		dst = binary.AppendUvarint(dst, uint64(len(s.b)))
		dst = append(dst, s.b...)
	}
	return dst
}

// cellRef is one parsed cell; payload aliases the value.
type cellRef struct {
	col     int
	null    bool
	exp     int64
	width   int // -1 for variable width
	payload []byte
	raw     []byte // the whole encoded cell
}

var errValueTruncated = errors.New("truncated value")

// parseHeader returns the row marker expiry (0: none) and the cells.
func parseHeader(v []byte) (int64, []byte, error) {
	if len(v) == 0 {
		return 0, nil, errValueTruncated
	}
	h := v[0]
	if h&^hdrRowExpiry != 0 {
		return 0, nil, fmt.Errorf("bad value header 0x%02x", h)
	}
	if h&hdrRowExpiry == 0 {
		return 0, v[1:], nil
	}
	if len(v) < 9 {
		return 0, nil, errValueTruncated
	}
	return int64(binary.LittleEndian.Uint64(v[1:])), v[9:], nil
}

// nextCell parses the first cell of v into c and returns the rest.
func nextCell(v []byte, c *cellRef) ([]byte, error) {
	tag, n := binary.Uvarint(v)
	if n <= 0 {
		return nil, errValueTruncated
	}
	start := v
	v = v[n:]
	if tag>>5 >= maxColumns {
		return nil, fmt.Errorf("bad column id %d", tag>>5)
	}
	c.col = int(tag >> 5)
	c.null = tag&cellNull != 0
	c.exp = 0
	if tag&cellExpiry != 0 {
		if len(v) < 8 {
			return nil, errValueTruncated
		}
		c.exp = int64(binary.LittleEndian.Uint64(v))
		v = v[8:]
	}
	wc := (tag >> 2) & 7
	if c.null {
		if wc != 0 {
			return nil, errors.New("NULL cell with payload width")
		}
		c.width, c.payload = 0, nil
		c.raw = start[:len(start)-len(v)]
		return v, nil
	}
	if wc >= uint64(len(wcodeWidth)) {
		return nil, fmt.Errorf("bad width code %d", wc)
	}
	if wc == 0 {
		l, m := binary.Uvarint(v)
		if m <= 0 || l > uint64(len(v)-m) {
			return nil, errValueTruncated
		}
		c.width = -1
		c.payload = v[m : m+int(l)]
		v = v[m+int(l):]
	} else {
		w := wcodeWidth[wc]
		if len(v) < w {
			return nil, errValueTruncated
		}
		c.width = w
		c.payload = v[:w]
		v = v[w:]
	}
	c.raw = start[:len(start)-len(v)]
	return v, nil
}

// decodePayload interprets a non-NULL cell as kind k into s. b aliases the
// value bytes.
func decodePayload(c *cellRef, k kind, s *scalar) error {
	if c.null {
		s.null = true
		return nil
	}
	w := k.width()
	if w == 0 {
		w = -1
	}
	if c.width != w {
		return fmt.Errorf("column %d: cell width %d does not match type %s", c.col, c.width, k)
	}
	s.null = false
	p := c.payload
	switch k {
	case kBool:
		if p[0] > 1 {
			return fmt.Errorf("column %d: bad bool byte", c.col)
		}
		s.i = int64(p[0])
	case kInt8:
		s.i = int64(int8(p[0]))
	case kUint8:
		s.u = uint64(p[0])
	case kInt16:
		s.i = int64(int16(binary.LittleEndian.Uint16(p)))
	case kUint16:
		s.u = uint64(binary.LittleEndian.Uint16(p))
	case kInt32, kDate32:
		s.i = int64(int32(binary.LittleEndian.Uint32(p)))
	case kUint32:
		s.u = uint64(binary.LittleEndian.Uint32(p))
	case kInt64, kTimestamp:
		s.i = int64(binary.LittleEndian.Uint64(p))
	case kUint64:
		s.u = binary.LittleEndian.Uint64(p)
	case kFloat32:
		s.f = float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
	case kFloat64:
		s.f = math.Float64frombits(binary.LittleEndian.Uint64(p))
	case kDecimal128:
		s.d = decimal128.New(int64(binary.LittleEndian.Uint64(p[8:])), binary.LittleEndian.Uint64(p))
	case kInterval:
		s.iv = arrow.MonthDayNanoInterval{
			Months:      int32(binary.LittleEndian.Uint32(p)),
			Days:        int32(binary.LittleEndian.Uint32(p[4:])),
			Nanoseconds: int64(binary.LittleEndian.Uint64(p[8:])),
		}
	case kString, kBinary:
		s.b = p
	default:
		return fmt.Errorf("column %d: unsupported kind %s", c.col, k)
	}
	return nil
}

// live reports whether an expiry (0: never) is still in the future at now.
func live(exp, now int64) bool { return exp == 0 || exp > now }

// mergerName is recorded by Pebble on disk; changing it makes old data
// directories unopenable, so it is versioned with the value format.
const mergerName = "sqld.widecol.row.v1"

// newMerger returns the Pebble merge operator that combines partial-row
// upserts: cells are unioned by column id, the newest cell of a column
// wins, and the newest row marker wins. When the merge includes the base
// value, expired and NULL cells are dropped since nothing older can show
// through: this reclaims expired cells during compaction.
func newMerger(now func() time.Time) *pebble.Merger {
	return &pebble.Merger{
		Name: mergerName,
		Merge: func(key, value []byte) (pebble.ValueMerger, error) {
			m := &rowMerger{now: now}
			return m, m.MergeNewer(value)
		},
	}
}

type rowMerger struct {
	now func() time.Time
	ops [][]byte // oldest first
}

func (m *rowMerger) MergeNewer(value []byte) error {
	m.ops = append(m.ops, append([]byte(nil), value...))
	return nil
}

func (m *rowMerger) MergeOlder(value []byte) error {
	m.ops = slices.Insert(m.ops, 0, append([]byte(nil), value...))
	return nil
}

func (m *rowMerger) Finish(includesBase bool) ([]byte, io.Closer, error) {
	out, err := mergeValues(m.ops, includesBase, m.now().UnixNano())
	return out, nil, err
}

// mergeValues combines encoded row values, oldest first. See newMerger.
func mergeValues(ops [][]byte, includesBase bool, now int64) ([]byte, error) {
	var rowExp int64
	cells := map[int][]byte{}
	for _, op := range ops {
		exp, rest, err := parseHeader(op)
		if err != nil {
			return nil, fmt.Errorf("%w: merge operand: %v", ErrCorrupt, err)
		}
		rowExp = exp
		var c cellRef
		for len(rest) > 0 {
			if rest, err = nextCell(rest, &c); err != nil {
				return nil, fmt.Errorf("%w: merge operand: %v", ErrCorrupt, err)
			}
			if includesBase && (c.null || !live(c.exp, now)) {
				delete(cells, c.col)
				continue
			}
			cells[c.col] = c.raw
		}
	}
	cols := make([]int, 0, len(cells))
	size := 9
	for col, raw := range cells {
		cols = append(cols, col)
		size += len(raw)
	}
	slices.Sort(cols)
	out := appendHeader(make([]byte, 0, size), rowExp)
	for _, col := range cols {
		out = append(out, cells[col]...)
	}
	return out, nil
}
