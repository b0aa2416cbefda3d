package log

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// On-disk batch layout: an 80-byte header followed by the payload, an Arrow
// IPC encapsulated record-batch message (continuation token, metadata length,
// flatbuffer metadata padded to 8 bytes, body). Control batches (transaction
// markers) have no payload. All integers are little endian.
//
//	0:4   magic "SQLB"
//	4:8   CRC32C (Castagnoli) of payload, then header bytes 8:80
//	8     batch format version
//	9     flags
//	10:12 reserved, zero
//	12:16 payload length
//	16:24 base offset
//	24:28 record count
//	28:32 reserved, zero
//	32:40 min event time
//	40:48 max event time
//	48:56 writer id (0: none)
//	56:64 writer sequence
//	64:72 transaction id (0: none)
//	72:80 append time, Unix milliseconds
//
// The CRC covers the payload first so that it can be computed before the
// base offset is assigned and extended cheaply under the partition lock.
const (
	headerSize    = 80
	batchMagic    = 0x424c5153 // "SQLB"
	batchVersion  = 1
	maxPayloadLen = 1 << 30
	maxCount      = 1 << 30
)

// Header flags.
const (
	flagTxn       = 1 << 0 // the batch belongs to a transaction
	flagControl   = 1 << 1 // a transaction marker, no payload
	flagCommit    = 1 << 2 // with flagControl: commit marker, else abort
	flagEventTime = 1 << 3 // min/max event time are set
	flagRegen     = 1 << 4 // the payload describes the rows for the topic's regenerator
	knownFlags    = flagTxn | flagControl | flagCommit | flagEventTime | flagRegen
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the decoded fixed-size batch header.
type header struct {
	crc        uint32
	flags      uint8
	payloadLen uint32
	base       int64
	count      int64
	minTime    int64
	maxTime    int64
	writerID   int64
	seq        int64
	txnID      int64
	appendTime int64
}

func (h *header) end() int64     { return h.base + h.count }
func (h *header) size() int64    { return headerSize + int64(h.payloadLen) }
func (h *header) control() bool  { return h.flags&flagControl != 0 }
func (h *header) txn() bool      { return h.flags&flagTxn != 0 }
func (h *header) commit() bool   { return h.flags&flagCommit != 0 }
func (h *header) hasTime() bool  { return h.flags&flagEventTime != 0 }
func (h *header) String() string { return fmt.Sprintf("batch@%d+%d", h.base, h.count) }

// put writes h into b[0:headerSize], except the CRC.
func (h *header) put(b []byte) {
	_ = b[headerSize-1]
	binary.LittleEndian.PutUint32(b[0:], batchMagic)
	b[8] = batchVersion
	b[9] = h.flags
	b[10], b[11] = 0, 0
	binary.LittleEndian.PutUint32(b[12:], h.payloadLen)
	binary.LittleEndian.PutUint64(b[16:], uint64(h.base))
	binary.LittleEndian.PutUint32(b[24:], uint32(h.count))
	binary.LittleEndian.PutUint32(b[28:], 0)
	binary.LittleEndian.PutUint64(b[32:], uint64(h.minTime))
	binary.LittleEndian.PutUint64(b[40:], uint64(h.maxTime))
	binary.LittleEndian.PutUint64(b[48:], uint64(h.writerID))
	binary.LittleEndian.PutUint64(b[56:], uint64(h.seq))
	binary.LittleEndian.PutUint64(b[64:], uint64(h.txnID))
	binary.LittleEndian.PutUint64(b[72:], uint64(h.appendTime))
}

// sealCRC computes the batch CRC from the payload CRC and the header bytes
// and stores it in b[4:8].
func sealCRC(b []byte, payloadCRC uint32) uint32 {
	c := crc32.Update(payloadCRC, castagnoli, b[8:headerSize])
	binary.LittleEndian.PutUint32(b[4:], c)
	return c
}

// decodeHeader parses and sanity-checks a batch header. It never panics; the
// CRC is not checked here (see verifyCRC).
func decodeHeader(b []byte) (header, error) {
	var h header
	if len(b) < headerSize {
		return h, fmt.Errorf("short header: %d bytes", len(b))
	}
	if m := binary.LittleEndian.Uint32(b[0:]); m != batchMagic {
		return h, fmt.Errorf("bad magic %#x", m)
	}
	if v := b[8]; v != batchVersion {
		return h, fmt.Errorf("unknown batch version %d", v)
	}
	h.crc = binary.LittleEndian.Uint32(b[4:])
	h.flags = b[9]
	if h.flags&^knownFlags != 0 {
		return h, fmt.Errorf("unknown flags %#x", h.flags)
	}
	if b[10] != 0 || b[11] != 0 || binary.LittleEndian.Uint32(b[28:]) != 0 {
		return h, fmt.Errorf("reserved bytes set")
	}
	h.payloadLen = binary.LittleEndian.Uint32(b[12:])
	h.base = int64(binary.LittleEndian.Uint64(b[16:]))
	h.count = int64(binary.LittleEndian.Uint32(b[24:]))
	h.minTime = int64(binary.LittleEndian.Uint64(b[32:]))
	h.maxTime = int64(binary.LittleEndian.Uint64(b[40:]))
	h.writerID = int64(binary.LittleEndian.Uint64(b[48:]))
	h.seq = int64(binary.LittleEndian.Uint64(b[56:]))
	h.txnID = int64(binary.LittleEndian.Uint64(b[64:]))
	h.appendTime = int64(binary.LittleEndian.Uint64(b[72:]))
	switch {
	case h.payloadLen > maxPayloadLen:
		return h, fmt.Errorf("payload length %d too large", h.payloadLen)
	case h.base < 0 || h.base > (1<<62):
		return h, fmt.Errorf("bad base offset %d", h.base)
	case h.count <= 0 || h.count > maxCount:
		return h, fmt.Errorf("bad record count %d", h.count)
	case h.control() && (h.count != 1 || h.payloadLen != 0 || !h.txn()):
		return h, fmt.Errorf("malformed control batch")
	case !h.control() && h.payloadLen < 8:
		return h, fmt.Errorf("payload length %d too small", h.payloadLen)
	case h.flags&flagRegen != 0 && (h.control() || h.payloadLen > maxRegenLen):
		return h, fmt.Errorf("malformed regeneration description")
	case h.txn() && h.txnID <= 0:
		return h, fmt.Errorf("transactional batch without transaction id")
	case h.hasTime() && h.minTime > h.maxTime:
		return h, fmt.Errorf("min event time above max")
	}
	return h, nil
}

// verifyCRC checks a whole batch (header and payload) against its CRC.
func verifyCRC(hdr, payload []byte) bool {
	c := crc32.Update(0, castagnoli, payload)
	c = crc32.Update(c, castagnoli, hdr[8:headerSize])
	return c == binary.LittleEndian.Uint32(hdr[4:])
}

// encoded is a batch serialized for writing. A small batch is one
// contiguous buffer: header room, then the IPC payload. A large one is
// the header room in buf followed by pieces: the payload's small parts
// copied, its column buffers referenced where they are (no copy of the
// batch), with rec held until the write is done. The header fields that
// depend on the partition (offset, writer, transaction, time) are filled
// in under the partition lock.
type encoded struct {
	buf        []byte   // header room (+ the payload when pieces is nil)
	pieces     [][]byte // the payload of a large batch, in order
	pl         *ipc.Payload
	rec        arrow.RecordBatch
	payloadLen int
	payloadCRC uint32
	count      int64
	minTime    int64
	maxTime    int64
	hasTime    bool
	pooled     bool   // buf came from bufPool
	regen      bool   // the payload is a regeneration description
	cols       []bool // with regen, the columns of rec that hold values (nil: all)
}

// size is the number of bytes the batch occupies on disk.
func (e *encoded) size() int { return headerSize + e.payloadLen }

// bufPool holds the buffers of small batches.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// poolMax is the largest payload encoded into one contiguous buffer;
// larger ones are written as pieces. It keeps pooled buffers small, and
// the number of writes per batch small where a copy costs little.
const poolMax = 256 << 10

func (e *encoded) release() {
	if e.buf != nil && e.pooled {
		b := e.buf[:0]
		bufPool.Put(&b)
	}
	e.buf, e.pieces = nil, nil
	if e.pl != nil {
		// NB: pieces may alias buffers only the payload holds (the IPC
		// writer makes new ones for sliced arrays), so it lives as long.
		e.pl.Release()
		e.pl = nil
	}
	if e.rec != nil {
		e.rec.Release()
		e.rec = nil
	}
}

// appendWriter is an io.Writer appending to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// refMin is the smallest piece pieceWriter references rather than copies.
// The IPC writer hands over column buffers (alive as long as the batch)
// and small scratch slices (prefixes, padding) that must be copied.
const refMin = 4 << 10

// pieceWriter collects what the IPC writer writes as a list of pieces,
// referencing large ones and copying small ones into one scratch slice.
type pieceWriter struct {
	pieces [][]byte
	small  []byte
	from   int // start of the small bytes not yet in pieces
	n      int
}

func (w *pieceWriter) Write(p []byte) (int, error) {
	if len(p) < refMin {
		w.small = append(w.small, p...)
	} else {
		w.flush()
		w.pieces = append(w.pieces, p)
	}
	w.n += len(p)
	return len(p), nil
}

func (w *pieceWriter) flush() {
	if len(w.small) > w.from {
		w.pieces = append(w.pieces, w.small[w.from:len(w.small):len(w.small)])
		w.from = len(w.small)
	}
}

// bodyBound returns at least the IPC body size of arrays: every buffer
// padded to 8 bytes (the writer may leave out some, such as an all-valid
// bitmap, or trim sliced ones).
func bodyBound(cols []arrow.Array) int {
	n := 0
	for _, c := range cols {
		n += dataBound(c.Data())
	}
	return n
}

func dataBound(d arrow.ArrayData) int {
	n := 0
	for _, b := range d.Buffers() {
		if b != nil {
			n += (b.Len() + 63) &^ 63
		}
	}
	for _, c := range d.Children() {
		n += dataBound(c)
	}
	return n
}

// encodeBatch serializes rec. It does not release rec; a large batch's
// encoding holds a reference of its own until released.
func encodeBatch(rec arrow.RecordBatch, mem memory.Allocator, eventCol int) (enc encoded, err error) {
	defer func() {
		if r := recover(); r != nil {
			enc.release()
			err = fmt.Errorf("log: encoding batch: %v", r)
		}
	}()
	pl, err := ipc.GetRecordBatchPayload(rec, ipc.WithAllocator(mem))
	if err != nil {
		return encoded{}, fmt.Errorf("log: encoding batch: %w", err)
	}
	held := false // whether enc holds pl
	defer func() {
		if !held {
			pl.Release()
		}
	}()
	meta := pl.Meta()
	need := 16 + meta.Len() + bodyBound(rec.Columns())
	meta.Release()
	if need <= poolMax {
		bp := bufPool.Get().(*[]byte)
		w := appendWriter{b: (*bp)[:headerSize]}
		clear(w.b)
		enc = encoded{buf: w.b, pooled: true}
		if _, err := pl.WritePayload(&w); err != nil {
			enc.release()
			return encoded{}, fmt.Errorf("log: encoding batch: %w", err)
		}
		enc.buf = w.b
		enc.payloadLen = len(w.b) - headerSize
		enc.payloadCRC = crc32.Update(0, castagnoli, w.b[headerSize:])
	} else {
		// The pieces alias rec's buffers and the payload's: hold both
		// until the write is done.
		rec.Retain()
		enc = encoded{buf: make([]byte, headerSize), rec: rec, pl: &pl}
		held = true
		w := pieceWriter{small: make([]byte, 0, 1024)}
		if _, err := pl.WritePayload(&w); err != nil {
			enc.release()
			return encoded{}, fmt.Errorf("log: encoding batch: %w", err)
		}
		w.flush()
		enc.pieces, enc.payloadLen = w.pieces, w.n
		for _, p := range w.pieces {
			enc.payloadCRC = crc32.Update(enc.payloadCRC, castagnoli, p)
		}
	}
	enc.count = rec.NumRows()
	if eventCol >= 0 {
		enc.minTime, enc.maxTime, enc.hasTime = eventTimeRange(rec.Column(eventCol))
	}
	return enc, nil
}

// encodeRegen stores desc in place of rec's rows (see AppendOptions.Regen).
// The encoding holds a reference to rec so that the partition can keep it
// for readers that follow closely.
func encodeRegen(rec arrow.RecordBatch, desc []byte, eventCol int) (encoded, error) {
	if len(desc) < minRegenLen || len(desc) > maxRegenLen {
		return encoded{}, fmt.Errorf("%w: regeneration description of %d bytes", ErrInvalidArgument, len(desc))
	}
	buf := make([]byte, headerSize+len(desc))
	copy(buf[headerSize:], desc)
	rec.Retain()
	enc := encoded{buf: buf, rec: rec, regen: true, payloadLen: len(desc), count: rec.NumRows(),
		payloadCRC: crc32.Update(0, castagnoli, desc)}
	if eventCol >= 0 {
		enc.minTime, enc.maxTime, enc.hasTime = eventTimeRange(rec.Column(eventCol))
	}
	return enc, nil
}

// A regeneration description has minRegenLen to maxRegenLen bytes (a
// batch's payload has at least 8).
const (
	minRegenLen = 8
	maxRegenLen = 4 << 10
)

// zeroOffsets reports whether every array of rec (and every child) starts
// at offset 0, as a decoded batch's do.
func zeroOffsets(rec arrow.RecordBatch) bool {
	var ok func(d arrow.ArrayData) bool
	ok = func(d arrow.ArrayData) bool {
		if d.Offset() != 0 {
			return false
		}
		for _, c := range d.Children() {
			if !ok(c) {
				return false
			}
		}
		return true
	}
	for _, c := range rec.Columns() {
		if !ok(c.Data()) {
			return false
		}
	}
	return true
}

// eventTimeRange returns the min and max of a Timestamp or Int64 column,
// skipping nulls; ok is false when every value is null.
func eventTimeRange(col arrow.Array) (lo, hi int64, ok bool) {
	var vals []int64
	switch a := col.(type) {
	case *array.Timestamp:
		ts := a.TimestampValues()
		vals = *(*[]int64)(unsafePointer(&ts))
	case *array.Int64:
		vals = a.Int64Values()
	default:
		return 0, 0, false
	}
	nulls := col.NullN() > 0
	for i, v := range vals {
		if nulls && col.IsNull(i) {
			continue
		}
		if !ok {
			lo, hi, ok = v, v, true
			continue
		}
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi, ok
}

// schemaMessage returns the flatbuffer metadata of the IPC schema message for
// schema, and the full IPC stream bytes (used to persist the schema).
func schemaBytes(schema *arrow.Schema) ([]byte, error) {
	var w appendWriter
	iw := ipc.NewWriter(&w, ipc.WithSchema(schema))
	if err := iw.Close(); err != nil {
		return nil, err
	}
	return w.b, nil
}

// parseSchema decodes the stream written by schemaBytes and returns the
// schema and the flatbuffer metadata of its schema message.
func parseSchema(b []byte) (schema *arrow.Schema, meta []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoding schema: %v", r)
		}
	}()
	rd, err := ipc.NewReader(&byteReader{b: b})
	if err != nil {
		return nil, nil, err
	}
	schema = rd.Schema()
	rd.Release()
	meta, _, err = splitMessage(b)
	if err != nil {
		return nil, nil, err
	}
	return schema, meta, nil
}

type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// splitMessage splits an encapsulated IPC message into metadata and body.
func splitMessage(b []byte) (meta, body []byte, err error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("short IPC message")
	}
	if binary.LittleEndian.Uint32(b) != 0xFFFFFFFF {
		return nil, nil, fmt.Errorf("missing IPC continuation token")
	}
	n := binary.LittleEndian.Uint32(b[4:])
	if n < 8 || uint64(n) > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("bad IPC metadata length %d", n)
	}
	return b[8 : 8+n], b[8+n:], nil
}

// rawBuffer is a buffer read from a segment, whose memory goes back to the
// allocator exactly once: when its last reference is released or, if
// decoding failed, when decodePayload gives up on it (arrow's IPC reader can
// leave references behind when it rejects malformed input).
type rawBuffer struct {
	mem  memory.Allocator
	data []byte
	done atomic.Bool
}

func newRawBuffer(mem memory.Allocator, n int) (*memory.Buffer, *rawBuffer) {
	r := &rawBuffer{mem: mem, data: mem.Allocate(n)}
	return memory.NewBufferWithAllocator(r.data, r), r
}

func (r *rawBuffer) Allocate(n int) []byte             { return r.mem.Allocate(n) }
func (r *rawBuffer) Reallocate(n int, b []byte) []byte { return r.mem.Reallocate(n, b) }
func (r *rawBuffer) Free([]byte) {
	if r.done.CompareAndSwap(false, true) {
		r.mem.Free(r.data)
	}
}

// decodePayload decodes the IPC record-batch message held in raw, taking over
// the caller's reference to raw. The returned batch's buffers are slices of
// raw (no copy): raw is freed when the batch is released. rb is raw's
// allocator, or nil for bytes the garbage collector owns.
func decodePayload(raw *memory.Buffer, rb *rawBuffer, schemaMeta []byte, mem memory.Allocator) (rec arrow.RecordBatch, err error) {
	var msg *ipc.Message
	rawHeld := true
	defer func() {
		if r := recover(); r != nil {
			rec = nil
			err = fmt.Errorf("decoding IPC payload: %v", r)
		}
		if err != nil {
			if msg != nil {
				msg.Release()
			}
			if rawHeld {
				raw.Release()
			}
			if rb != nil {
				rb.Free(nil)
			}
		}
	}()
	b := raw.Bytes()
	meta, _, err := splitMessage(b)
	if err != nil {
		return nil, err
	}
	bodyOff := 8 + len(meta)
	body := memory.SliceBuffer(raw, bodyOff, len(b)-bodyOff)
	raw.Release() // the body slice holds raw now
	rawHeld = false
	msg = ipc.NewMessage(memory.NewBufferBytes(meta), body)
	body.Release() // the message holds the body now
	if msg.Type() != ipc.MessageRecordBatch {
		return nil, fmt.Errorf("IPC message type %v, want record batch", msg.Type())
	}
	if msg.BodyLen() > int64(len(b)-bodyOff) {
		return nil, fmt.Errorf("IPC body length %d beyond payload", msg.BodyLen())
	}
	sm := ipc.NewMessage(memory.NewBufferBytes(schemaMeta), memory.NewBufferBytes(nil))
	mr := &msgReader{msgs: []*ipc.Message{sm, msg}}
	mr.refs.Store(1)
	msg = nil // owned by mr
	rd, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	rec, err = rd.Read()
	if err != nil {
		return nil, err
	}
	rec.Retain()
	return rec, nil
}

// msgReader hands a fixed list of messages to an ipc.Reader.
type msgReader struct {
	msgs []*ipc.Message
	cur  *ipc.Message
	refs atomic.Int64
}

func (r *msgReader) Message() (*ipc.Message, error) {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if len(r.msgs) == 0 {
		return nil, io.EOF
	}
	r.cur = r.msgs[0]
	r.msgs = r.msgs[1:]
	return r.cur, nil
}

func (r *msgReader) Retain() { r.refs.Add(1) }

func (r *msgReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for _, m := range r.msgs {
		m.Release()
	}
	r.msgs = nil
}
