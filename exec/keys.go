package exec

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"

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
// to distinct keys made of one or more columns. It is an open-addressing
// table (linear probing, at most half full) of slots holding a 32-bit hash
// tag and the id; keys are stored once per id, out of line:
//
//   - word keys: when every key column fits in one or two 64-bit words
//     (integers, dates, timestamps, floats, booleans, numerics, intervals),
//     a row's key is those words, normalized as the byte encoding is, plus
//     a word of NULL flags when there are several columns (a single
//     column's NULL takes an id of its own). Rows are converted column at
//     a time, then hashed and probed without any per-row allocation.
//   - byte keys: other keys (text, bytea) use the keyEncoder's byte
//     strings, copied into one arena.
type hashTable struct {
	mode  int8 // 0 undecided, 1 bytes, 2 words
	count uint32
	null  int64 // single-column word keys: id of the NULL key, or -1

	slots  []uint64 // tag<<32 | id+1; 0 is empty
	shift  uint     // slot index = hash >> shift
	hashes []uint64 // per id

	// word keys
	colW  []int    // words per column
	w     int      // words per key
	words []uint64 // per id, w words
	row   []uint64 // scratch: the words of each row of a batch
	rowH  []uint64 // scratch: the hash of each row of a batch
	isNul []bool   // scratch: single-column NULL rows

	// byte keys
	enc   keyEncoder
	seed  maphash.Seed
	arena []byte
	offs  []int // per id, start in arena; offs[count] is the end
}

func newHashTable() *hashTable { return &hashTable{null: -1} }

// len returns the number of distinct keys.
func (h *hashTable) len() int { return int(h.count) }

// keyWords returns how many 64-bit words a key column of type dt takes, 0
// if it has no word form.
func keyWords(dt arrow.DataType) int {
	switch dt.ID() {
	case arrow.BOOL, arrow.NULL, arrow.INT16, arrow.INT32, arrow.DATE32, arrow.FLOAT32,
		arrow.INT64, arrow.TIMESTAMP, arrow.FLOAT64:
		return 1
	case arrow.DECIMAL128, arrow.INTERVAL_MONTH_DAY_NANO:
		return 2
	}
	return 0
}

func (h *hashTable) decide(cols []arrow.Array) {
	if h.mode != 0 {
		return
	}
	h.mode = 2
	h.colW = make([]int, len(cols))
	for k, c := range cols {
		h.colW[k] = keyWords(c.DataType())
		if h.colW[k] == 0 || len(cols) > 64 {
			h.mode = 1
		}
		h.w += h.colW[k]
	}
	if h.mode == 2 && len(cols) > 1 {
		h.w++ // NULL flags
	}
	if h.mode == 1 {
		h.seed = maphash.MakeSeed()
		h.offs = []int{0}
	}
	h.slots = make([]uint64, 64)
	h.shift = 64 - 6
}

// mix64 hashes one word into h.
func mix64(h, w uint64) uint64 {
	hi, lo := bits.Mul64(h^w, 0x9E3779B97F4A7C15)
	return hi ^ lo
}

// rowWords converts rows [0, n) of cols into h.row (w words per row) and
// their hashes into h.rowH.
func (h *hashTable) rowWords(cols []arrow.Array, n int) error {
	w := h.w
	if cap(h.row) < n*w {
		h.row = make([]uint64, n*w)
	}
	if cap(h.rowH) < n {
		h.rowH = make([]uint64, n)
	}
	row := h.row[:n*w]
	single := len(cols) == 1
	if single {
		if cap(h.isNul) < n {
			h.isNul = make([]bool, n)
		}
		h.isNul = h.isNul[:n]
		clear(h.isNul)
	} else {
		for i := 0; i < n; i++ {
			row[i*w+w-1] = 0
		}
	}
	at := 0
	for k, c := range cols {
		if got := keyWords(c.DataType()); got != h.colW[k] {
			return fmt.Errorf("%w: key column %d changed type to %s", ErrUnsupported, k, c.DataType())
		}
		switch a := c.(type) {
		case *array.Boolean:
			for i := 0; i < n; i++ {
				v := uint64(0)
				if a.Value(i) {
					v = 1
				}
				row[i*w+at] = v
			}
		case *array.Null:
			for i := 0; i < n; i++ {
				row[i*w+at] = 0
			}
		case *array.Int16:
			wordsOf(row, w, at, a.Int16Values(), n, func(v int16) uint64 { return uint64(v) })
		case *array.Int32:
			wordsOf(row, w, at, a.Int32Values(), n, func(v int32) uint64 { return uint64(v) })
		case *array.Date32:
			wordsOf(row, w, at, a.Date32Values(), n, func(v arrow.Date32) uint64 { return uint64(v) })
		case *array.Int64:
			wordsOf(row, w, at, a.Int64Values(), n, func(v int64) uint64 { return uint64(v) })
		case *array.Timestamp:
			wordsOf(row, w, at, a.TimestampValues(), n, func(v arrow.Timestamp) uint64 { return uint64(v) })
		case *array.Float32:
			wordsOf(row, w, at, a.Float32Values(), n, func(v float32) uint64 {
				if v == 0 {
					return 0
				}
				if v != v {
					return 0x7fc00000
				}
				return uint64(math.Float32bits(v))
			})
		case *array.Float64:
			wordsOf(row, w, at, a.Float64Values(), n, func(v float64) uint64 {
				if v == 0 {
					return 0
				}
				if v != v {
					return 0x7ff8000000000001
				}
				return math.Float64bits(v)
			})
		case *array.Decimal128:
			vals := a.Values()
			for i := 0; i < n; i++ {
				row[i*w+at] = vals[i].LowBits()
				row[i*w+at+1] = uint64(vals[i].HighBits())
			}
		case *array.MonthDayNanoInterval:
			for i := 0; i < n; i++ {
				d, ns := intervalSpan(a.Value(i))
				row[i*w+at] = uint64(d)
				row[i*w+at+1] = uint64(ns)
			}
		default:
			return fmt.Errorf("%w: key of type %s", ErrUnsupported, c.DataType())
		}
		if c.NullN() > 0 {
			cw := h.colW[k]
			for i := 0; i < n; i++ {
				if c.IsValid(i) {
					continue
				}
				for j := 0; j < cw; j++ {
					row[i*w+at+j] = 0
				}
				if single {
					h.isNul[i] = true
				} else {
					row[i*w+w-1] |= 1 << k
				}
			}
		}
		at += h.colW[k]
	}
	hs := h.rowH[:n]
	switch w {
	case 1:
		for i := range hs {
			hs[i] = mix64(0x243F6A8885A308D3, row[i])
		}
	case 3:
		for i := range hs {
			r := row[i*3 : i*3+3]
			hs[i] = mix64(mix64(mix64(0x243F6A8885A308D3, r[0]), r[1]), r[2])
		}
	default:
		for i := range hs {
			x := uint64(0x243F6A8885A308D3)
			for _, v := range row[i*w : i*w+w] {
				x = mix64(x, v)
			}
			hs[i] = x
		}
	}
	return nil
}

func wordsOf[T any](row []uint64, w, at int, vals []T, n int, conv func(T) uint64) {
	vals = vals[:n]
	for i, v := range vals {
		row[i*w+at] = conv(v)
	}
}

// reserve doubles the slot table when it would be more than half full.
func (h *hashTable) reserve() {
	if int(h.count+1)*2 <= len(h.slots) {
		return
	}
	size := len(h.slots) * 2
	h.slots = make([]uint64, size)
	h.shift--
	// Per-id state grows with the slots, doubling, so appends never
	// reallocate in between.
	if c := size / 2; cap(h.hashes) < c {
		h.hashes = append(make([]uint64, 0, c), h.hashes...)
		if h.mode == 2 {
			h.words = append(make([]uint64, 0, c*h.w), h.words...)
		}
	}
	mask := uint64(size - 1)
	for id, hv := range h.hashes[:h.count] {
		if int64(id) == h.null {
			continue
		}
		pos := hv >> h.shift
		for h.slots[pos] != 0 {
			pos = (pos + 1) & mask
		}
		h.slots[pos] = hv<<32 | uint64(id+1)
	}
}

// findWords returns the id of the key of row i of the last rowWords, or
// -1, and the slot where it would go.
func (h *hashTable) findWords(i int) (int64, uint64) {
	w := h.w
	key := h.row[i*w : i*w+w]
	hv := h.rowH[i]
	tag := hv << 32
	mask := uint64(len(h.slots) - 1)
	pos := hv >> h.shift
	for {
		s := h.slots[pos]
		if s == 0 {
			return -1, pos
		}
		if s&^0xffffffff == tag {
			id := int(uint32(s)) - 1
			if w == 1 {
				if h.words[id] == key[0] {
					return int64(id), pos
				}
			} else if slicesEqual(h.words[id*w:id*w+w], key) {
				return int64(id), pos
			}
		}
		pos = (pos + 1) & mask
	}
}

func slicesEqual(a, b []uint64) bool {
	b = b[:len(a)]
	for i, v := range a {
		if b[i] != v {
			return false
		}
	}
	return true
}

// findBytes is findWords for byte keys.
func (h *hashTable) findBytes(k []byte, hv uint64) (int64, uint64) {
	tag := hv << 32
	mask := uint64(len(h.slots) - 1)
	pos := hv >> h.shift
	for {
		s := h.slots[pos]
		if s == 0 {
			return -1, pos
		}
		if s&^0xffffffff == tag {
			id := int(uint32(s)) - 1
			if string(h.arena[h.offs[id]:h.offs[id+1]]) == string(k) {
				return int64(id), pos
			}
		}
		pos = (pos + 1) & mask
	}
}

// insert assigns ids[i] for rows [0, n) of cols, adding unseen keys, and
// appends the rows that introduced new keys to newRows.
func (h *hashTable) insert(cols []arrow.Array, n int, ids []uint32, newRows []int32) ([]int32, error) {
	h.decide(cols)
	if h.mode == 2 {
		if err := h.rowWords(cols, n); err != nil {
			return newRows, err
		}
		single := len(cols) == 1
		w := h.w
		for i := 0; i < n; i++ {
			if single && h.isNul[i] {
				if h.null < 0 {
					h.null = int64(h.count)
					h.count++
					h.hashes = append(h.hashes, 0) // never in a slot
					h.words = append(h.words, 0)
					newRows = append(newRows, int32(i))
				}
				ids[i] = uint32(h.null)
				continue
			}
			id, pos := h.findWords(i)
			if id < 0 {
				if int(h.count+1)*2 > len(h.slots) {
					h.reserve()
					_, pos = h.findWords(i)
				}
				id = int64(h.count)
				h.count++
				hv := h.rowH[i]
				h.slots[pos] = hv<<32 | uint64(id+1)
				h.hashes = append(h.hashes, hv)
				h.words = append(h.words, h.row[i*w:i*w+w]...)
				newRows = append(newRows, int32(i))
			}
			ids[i] = uint32(id)
		}
		return newRows, nil
	}
	if err := h.enc.encode(cols, n); err != nil {
		return newRows, err
	}
	for i := 0; i < n; i++ {
		k := h.enc.key(i)
		hv := maphash.Bytes(h.seed, k)
		id, pos := h.findBytes(k, hv)
		if id < 0 {
			if int(h.count+1)*2 > len(h.slots) {
				h.reserve()
				_, pos = h.findBytes(k, hv)
			}
			id = int64(h.count)
			h.count++
			h.slots[pos] = hv<<32 | uint64(id+1)
			h.hashes = append(h.hashes, hv)
			h.arena = append(h.arena, k...)
			h.offs = append(h.offs, len(h.arena))
			newRows = append(newRows, int32(i))
		}
		ids[i] = uint32(id)
	}
	return newRows, nil
}

// lookup sets ids[i] to the id of row i's key, or -1 if it is absent.
func (h *hashTable) lookup(cols []arrow.Array, n int, ids []int32) error {
	h.decide(cols)
	if h.mode == 2 {
		if err := h.rowWords(cols, n); err != nil {
			return err
		}
		single := len(cols) == 1
		for i := 0; i < n; i++ {
			if single && h.isNul[i] {
				ids[i] = int32(h.null)
				continue
			}
			id, _ := h.findWords(i)
			ids[i] = int32(id)
		}
		return nil
	}
	if err := h.enc.encode(cols, n); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k := h.enc.key(i)
		id, _ := h.findBytes(k, maphash.Bytes(h.seed, k))
		ids[i] = int32(id)
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
