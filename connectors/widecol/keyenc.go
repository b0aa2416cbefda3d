package widecol

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Key encoding.
//
// Every key column is encoded as a marker byte followed, for non-NULL
// values, by a payload whose bytewise order equals the value order:
//
//	marker   0x01 value, 0xFF NULL (so NULLs sort last ascending)
//	ints     big-endian, sign bit flipped
//	uints    big-endian
//	floats   IEEE bits, -0 folded to +0, every NaN folded to one NaN that
//	         sorts after +Inf; negatives have all bits inverted, others
//	         the sign bit set
//	bool     0x00 / 0x01
//	decimal  high word as a signed int, then low word, big-endian
//	bytes    0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01
//
// Each column encoding is prefix-free, so a tuple of columns compares
// column by column and a key prefix selects exactly the rows that share
// those leading columns. A descending column inverts all its bytes
// (marker included), which reverses its order and puts NULLs first.

const (
	keyValue = 0x01
	keyNull  = 0xFF
)

var errKeyTruncated = errors.New("truncated key")

// appendKey appends the key encoding of s (kind k) to dst.
func appendKey(dst []byte, k kind, s *scalar, desc bool) []byte {
	start := len(dst)
	if s.null {
		dst = append(dst, keyNull)
	} else {
		dst = append(dst, keyValue)
		switch k {
		case kBool:
			dst = append(dst, byte(s.i&1))
		case kInt8:
			dst = append(dst, byte(s.i)^0x80)
		case kInt16:
			dst = binary.BigEndian.AppendUint16(dst, uint16(s.i)^0x8000)
		case kInt32, kDate32:
			dst = binary.BigEndian.AppendUint32(dst, uint32(s.i)^0x80000000)
		case kInt64, kTimestamp:
			dst = binary.BigEndian.AppendUint64(dst, uint64(s.i)^(1<<63))
		case kUint8:
			dst = append(dst, byte(s.u))
		case kUint16:
			dst = binary.BigEndian.AppendUint16(dst, uint16(s.u))
		case kUint32:
			dst = binary.BigEndian.AppendUint32(dst, uint32(s.u))
		case kUint64:
			dst = binary.BigEndian.AppendUint64(dst, s.u)
		case kFloat32:
			dst = binary.BigEndian.AppendUint32(dst, float32Key(float32(s.f)))
		case kFloat64:
			dst = binary.BigEndian.AppendUint64(dst, float64Key(s.f))
		case kDecimal128:
			dst = binary.BigEndian.AppendUint64(dst, uint64(s.d.HighBits())^(1<<63))
			dst = binary.BigEndian.AppendUint64(dst, s.d.LowBits())
		case kString, kBinary:
			for _, c := range s.b {
				if c == 0 {
					dst = append(dst, 0x00, 0xFF)
				} else {
					dst = append(dst, c)
				}
			}
			dst = append(dst, 0x00, 0x01)
		}
	}
	if desc {
		for i := start; i < len(dst); i++ {
			dst[i] = ^dst[i]
		}
	}
	return dst
}

func float32Key(f float32) uint32 {
	if f == 0 {
		f = 0 // folds -0
	}
	b := math.Float32bits(f)
	if f != f {
		b = 0x7FC00000
	}
	if b&(1<<31) != 0 {
		return ^b
	}
	return b | 1<<31
}

func float64Key(f float64) uint64 {
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if f != f {
		b = 0x7FF8000000000000
	}
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}

func float32FromKey(b uint32) float32 {
	if b&(1<<31) != 0 {
		return math.Float32frombits(b &^ (1 << 31))
	}
	return math.Float32frombits(^b)
}

func float64FromKey(b uint64) float64 {
	if b&(1<<63) != 0 {
		return math.Float64frombits(b &^ (1 << 63))
	}
	return math.Float64frombits(^b)
}

// decodeKey decodes one key column of kind k from src into s and returns
// the rest of src. Strings and binaries are copied into s.buf.
func decodeKey(src []byte, k kind, desc bool, s *scalar) ([]byte, error) {
	var inv byte
	if desc {
		inv = 0xFF
	}
	if !k.keyable() {
		return nil, errors.New("kind has no key encoding")
	}
	if len(src) == 0 {
		return nil, errKeyTruncated
	}
	switch src[0] ^ inv {
	case keyNull:
		s.null = true
		return src[1:], nil
	case keyValue:
		s.null = false
	default:
		return nil, errors.New("bad key marker")
	}
	src = src[1:]
	if k == kString || k == kBinary {
		out := s.buf[:0]
		for i := 0; ; i++ {
			if i >= len(src) {
				return nil, errKeyTruncated
			}
			c := src[i] ^ inv
			if c != 0 {
				out = append(out, c)
				continue
			}
			if i+1 >= len(src) {
				return nil, errKeyTruncated
			}
			switch src[i+1] ^ inv {
			case 0xFF:
				out = append(out, 0)
				i++
			case 0x01:
				s.buf = out
				s.b = out
				return src[i+2:], nil
			default:
				return nil, errors.New("bad byte escape in key")
			}
		}
	}
	w := k.width()
	if w == 0 || k == kInterval {
		return nil, errors.New("kind has no key encoding")
	}
	if len(src) < w {
		return nil, errKeyTruncated
	}
	var tmp [16]byte
	p := tmp[:w]
	for i := range p {
		p[i] = src[i] ^ inv
	}
	switch k {
	case kBool:
		if p[0] > 1 {
			return nil, errors.New("bad bool in key")
		}
		s.i = int64(p[0])
	case kInt8:
		s.i = int64(int8(p[0] ^ 0x80))
	case kInt16:
		s.i = int64(int16(binary.BigEndian.Uint16(p) ^ 0x8000))
	case kInt32, kDate32:
		s.i = int64(int32(binary.BigEndian.Uint32(p) ^ 0x80000000))
	case kInt64, kTimestamp:
		s.i = int64(binary.BigEndian.Uint64(p) ^ (1 << 63))
	case kUint8:
		s.u = uint64(p[0])
	case kUint16:
		s.u = uint64(binary.BigEndian.Uint16(p))
	case kUint32:
		s.u = uint64(binary.BigEndian.Uint32(p))
	case kUint64:
		s.u = binary.BigEndian.Uint64(p)
	case kFloat32:
		s.f = float64(float32FromKey(binary.BigEndian.Uint32(p)))
	case kFloat64:
		s.f = float64FromKey(binary.BigEndian.Uint64(p))
	case kDecimal128:
		s.d = decimal128.New(int64(binary.BigEndian.Uint64(p)^(1<<63)), binary.BigEndian.Uint64(p[8:]))
	}
	return src[w:], nil
}

// prefixEnd returns the smallest key greater than every key that starts
// with p, or nil if there is none (p is all 0xFF). The result is a new slice.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
