package log

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// seedBatch returns one encoded batch (header and payload) at offset base.
func seedBatch(t testing.TB, base int64, first, rows int) []byte {
	rec := bids(memory.DefaultAllocator, first, rows)
	defer rec.Release()
	enc, err := encodeBatch(rec, memory.DefaultAllocator, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.release()
	h := header{payloadLen: uint32(enc.payloadLen), base: base, count: enc.count,
		flags: flagEventTime, minTime: enc.minTime, maxTime: enc.maxTime, writerID: 1, seq: 2}
	h.put(enc.buf)
	sealCRC(enc.buf, enc.payloadCRC)
	return enc.flat()
}

// seedRegenBatch returns one batch stored as a regeneration description
// (header and payload) at offset base.
func seedRegenBatch(t testing.TB, base int64, rows int) []byte {
	rec := bids(memory.DefaultAllocator, 0, rows)
	defer rec.Release()
	enc, err := encodeRegen(rec, regenDesc(0, rows), 5)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.release()
	h := header{payloadLen: uint32(enc.payloadLen), base: base, count: enc.count,
		flags: flagEventTime | flagRegen, minTime: enc.minTime, maxTime: enc.maxTime, writerID: 1, seq: 3}
	h.put(enc.buf)
	sealCRC(enc.buf, enc.payloadCRC)
	return append([]byte(nil), enc.buf...)
}

func addVariants(f *testing.F, b []byte) {
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add(b[:headerSize-1])
	for _, i := range []int{0, 9, 12, 20, 30, headerSize + 5, len(b) - 1} {
		c := append([]byte(nil), b...)
		c[i] ^= 0x10
		f.Add(c)
	}
	// A flag no build knows.
	c := append([]byte(nil), b...)
	if len(c) > 9 {
		c[9] |= 0x80
		f.Add(c)
	}
}

// FuzzDecodeHeader: random, truncated and bit-flipped headers give errors,
// never panics, and a header that decodes re-encodes to the same bytes.
func FuzzDecodeHeader(f *testing.F) {
	addVariants(f, seedBatch(f, 0, 0, 3))
	addVariants(f, seedRegenBatch(f, 0, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHeader(b)
		if err != nil {
			return
		}
		out := make([]byte, headerSize)
		h.put(out)
		copy(out[4:8], b[4:8])
		if !bytes.Equal(out, b[:headerSize]) {
			t.Fatalf("header does not round-trip:\n%x\n%x", out, b[:headerSize])
		}
	})
}

// FuzzScanSegment: scanning arbitrary segment bytes (as on open, with CRC
// checks) returns an error or a valid prefix, never panics.
func FuzzScanSegment(f *testing.F) {
	a, b := seedBatch(f, 0, 0, 3), seedBatch(f, 3, 3, 2)
	seg := append(append([]byte(nil), a...), b...)
	addVariants(f, seg)
	f.Add(append(append([]byte(nil), seg...), a...))
	f.Add(append(append([]byte(nil), seg...), seedRegenBatch(f, 5, 4)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tailOK := range []bool{false, true} {
			n := 0
			res, err := scanSegment(bytes.NewReader(data), "fuzz", 0, int64(len(data)), true, tailOK, func(h *header, pos int64) error {
				n++
				return nil
			})
			if res.validSize > int64(len(data)) || (err == nil && !res.torn && res.validSize != int64(len(data))) {
				t.Fatalf("scan: %+v %v", res, err)
			}
		}
	})
}

// FuzzDecodePayload: decoding arbitrary payload bytes as an IPC record
// batch of the bid schema returns an error or a batch, never panics, and
// frees what it allocated.
func FuzzDecodePayload(f *testing.F) {
	addVariants(f, seedBatch(f, 0, 0, 3)[headerSize:])
	sb, err := schemaBytes(bidSchema)
	if err != nil {
		f.Fatal(err)
	}
	_, meta, err := parseSchema(sb)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		raw, rb := newRawBuffer(mem, len(data))
		copy(raw.Bytes(), data)
		rec, err := decodePayload(raw, rb, meta, mem)
		if err == nil {
			rec.Release()
		}
		mem.AssertSize(t, 0)
	})
}
