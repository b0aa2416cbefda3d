package widecol

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2"
)

// Append-only tables (TableSpec.AppendOnly) keep their rows in chunks:
// one Pebble key per chunk, the key of the chunk's first row, whose value
// holds the rows column by column (every column of the table, key columns
// included, in schema order; see encodeChunk). Rows are
// never rewritten in place, so a chunk costs one key however many rows it
// holds: writing, flushing and compacting a view's output is then a
// matter of bytes, not of keys.
//
// NB: chunks must not overlap. Each Append must add rows whose keys
// ascend and are greater than every key already in the table; scans rely
// on it to stop at the end of a range. The store does not check it.

// chunkFormat is the first byte of a chunk value.
const chunkFormat = 0xC2

// maxChunkRows bounds the rows of one chunk; Append splits larger writes
// so a point read or a short range scan decodes a bounded amount.
const maxChunkRows = 1 << 16

// Append writes the rows of recs. On an append-only table they become
// chunks (see TableSpec.AppendOnly): each record must have every column
// of the table, in schema order, with the table's names and types, and
// the rows' keys must ascend and follow every key already written. On any
// other table Append upserts each record. The batch keeps no reference to
// recs after Append returns.
func (b *Batch) Append(t *Table, recs ...arrow.RecordBatch) error {
	if err := b.start(t); err != nil {
		return err
	}
	if !t.appendOnly {
		for _, rec := range recs {
			if err := b.Upsert(t, rec, nil); err != nil {
				return err
			}
		}
		return nil
	}
	var chunk []arrow.RecordBatch
	var chunks [][]arrow.RecordBatch
	rows := 0
	defer func() {
		for _, r := range chunk {
			r.Release()
		}
		for _, c := range chunks {
			for _, r := range c {
				r.Release()
			}
		}
	}()
	flush := func() error {
		if rows > 0 {
			chunks = append(chunks, chunk)
			chunk, rows = nil, 0
		}
		return nil
	}
	for _, rec := range recs {
		if rec == nil {
			return b.fail(fmt.Errorf("%w: table %s: nil record batch", ErrSchemaMismatch, t))
		}
		if err := t.checkChunkSchema(rec); err != nil {
			return b.fail(err)
		}
		for off := 0; off < int(rec.NumRows()); {
			n := min(int(rec.NumRows())-off, maxChunkRows-rows)
			cols := make([]arrow.Array, len(t.kinds))
			for i := range cols {
				cols[i] = array.NewSlice(rec.Column(i), int64(off), int64(off+n))
			}
			chunk = append(chunk, array.NewRecordBatch(t.Schema, cols, int64(n)))
			for _, c := range cols {
				c.Release()
			}
			off += n
			if rows += n; rows == maxChunkRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	_ = flush()
	return b.writeChunks(t, chunks)
}

// writeChunks writes chunks of rows, encoding them on several cores when
// there are several.
func (b *Batch) writeChunks(t *Table, chunks [][]arrow.RecordBatch) error {
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	if workers < 2 {
		for _, c := range chunks {
			if err := b.writeChunk(t, c); err != nil {
				return err
			}
		}
		return nil
	}
	keys := make([][]byte, len(chunks))
	for i, c := range chunks {
		key := append([]byte(nil), t.prefix...)
		for _, kc := range t.keyCols {
			b.sc.fromArray(c[0].Column(kc.col), 0, t.kinds[kc.col])
			key = appendKey(key, t.kinds[kc.col], &b.sc, kc.desc)
		}
		keys[i] = key
	}
	vals := make([][]byte, len(chunks))
	errs := make([]error, len(chunks))
	next := make(chan int, len(chunks))
	for i := range chunks {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := encoderPool.Get().(*chunkEncoder)
			defer encoderPool.Put(enc)
			for i := range next {
				size := enc.plan(t, chunks[i])
				v := enc.write(make([]byte, 0, size), t, chunks[i])
				if len(v) != size {
					errs[i] = fmt.Errorf("widecol: table %s: chunk encoded to %d bytes, planned %d", t, len(v), size)
				}
				vals[i] = v
			}
		}()
	}
	wg.Wait()
	for i, c := range chunks {
		if errs[i] != nil {
			return b.fail(errs[i])
		}
		if err := b.pb.Set(keys[i], vals[i], nil); err != nil {
			return b.fail(fmt.Errorf("widecol: table %s: %w", t, err))
		}
		for _, r := range c {
			b.rows += uint64(r.NumRows())
		}
	}
	return nil
}

// checkChunkSchema checks that rec holds exactly the table's columns.
func (t *Table) checkChunkSchema(rec arrow.RecordBatch) error {
	if int(rec.NumCols()) != len(t.kinds) {
		return fmt.Errorf("%w: append-only table %s: record has %d columns, want all %d", ErrSchemaMismatch, t, rec.NumCols(), len(t.kinds))
	}
	for i, f := range rec.Schema().Fields() {
		tf := t.Schema.Field(i)
		if f.Name != tf.Name {
			return fmt.Errorf("%w: append-only table %s: column %d is %q, want %q", ErrSchemaMismatch, t, i, f.Name, tf.Name)
		}
		arr := rec.Column(i)
		if !arrow.TypeEqual(arr.DataType(), tf.Type) {
			return fmt.Errorf("%w: table %s, column %q: got type %s, want %s", ErrSchemaMismatch, t, f.Name, arr.DataType(), tf.Type)
		}
		if !tf.Nullable && arr.NullN() > 0 {
			return fmt.Errorf("%w: table %s, column %q: NULL in a NOT NULL column", ErrSchemaMismatch, t, f.Name)
		}
	}
	return nil
}

// writeChunk writes recs (non-empty, the table's schema) as one chunk,
// encoded straight into the Pebble batch.
func (b *Batch) writeChunk(t *Table, recs []arrow.RecordBatch) error {
	first := recs[0]
	key := append(b.key[:0], t.prefix...)
	for _, kc := range t.keyCols {
		b.sc.fromArray(first.Column(kc.col), 0, t.kinds[kc.col])
		key = appendKey(key, t.kinds[kc.col], &b.sc, kc.desc)
	}
	b.key = key
	enc := encoderPool.Get().(*chunkEncoder)
	defer encoderPool.Put(enc)
	size := enc.plan(t, recs)
	op := b.pb.SetDeferred(len(key), size)
	copy(op.Key, key)
	if n := len(enc.write(op.Value[:0], t, recs)); n != size {
		// The batch holds a malformed record now; it must not commit.
		return b.fail(fmt.Errorf("widecol: table %s: chunk encoded to %d bytes, planned %d", t, n, size))
	}
	if err := op.Finish(); err != nil {
		return b.fail(fmt.Errorf("widecol: table %s: %w", t, err))
	}
	for _, r := range recs {
		b.rows += uint64(r.NumRows())
	}
	return nil
}

// Chunk value encoding:
//
//	byte chunkFormat, uvarint nrecords, nrecords × record
//	record = uvarint nrows, ncols × column (the table's columns, in order)
//	column = byte tag, [validity bitmap: ceil(nrows/8) bytes, if tag&1], data
//
// The tag's upper bits give the data's encoding:
//
//	encPlain: fixed width: nrows × width bytes (bool: a bitmap)
//	          string, binary: (nrows+1) × uint32 LE offsets from 0, bytes
//	encSeq (8-byte integer kinds): int64 first, int64 step; value i is
//	          first + i*step (so a constant column takes 16 bytes)
//	encNarrow (8-byte integer kinds): byte w (1, 2 or 4), int64 base,
//	          nrows × w-byte unsigned deltas; value i is base + delta i
//	encDict (string, binary): uvarint ndict, (ndict+1) × uint32 offsets,
//	          bytes, byte w (1 or 2), nrows × w-byte codes < ndict
//
// All integers are little endian and all arithmetic wraps, so every bit
// pattern round trips, also in the slots of NULLs. Format 0xC1 values
// (plain columns only, tag 0 or 1) are still read. Bitmaps are LSB first,
// as in Arrow, so plain columns decode by copying.
//
// Sequence, narrow and dictionary columns cut the bytes a view's rows
// cost on their way through the write-ahead log, the memtable and the
// compressed blob files: a view's epoch and row number columns take
// nothing, ids and times of one chunk fit in a few bytes, and strings
// with few values (channels, URL parts, labels) in one or two.
const (
	encPlain = iota
	encSeq
	encNarrow
	encDict
	numEncodings
)

// chunkFormatV1 is the first byte of chunks of plain columns only.
const chunkFormatV1 = 0xC1

// maxDictEntries bounds a dictionary column's distinct values.
const maxDictEntries = 4096

// maxDictExpansion bounds how many times larger than its encoded form a
// dictionary column decodes, so a corrupt value cannot ask for a huge
// allocation; the encoder keeps within it.
const maxDictExpansion = 64

func appendBitmap(dst []byte, bits []byte, off, n int) []byte {
	if off%8 == 0 {
		return append(dst, bits[off/8:off/8+(n+7)/8]...)
	}
	start := len(dst)
	dst = append(dst, make([]byte, (n+7)/8)...)
	for i := 0; i < n; i++ {
		if bitutil.BitIsSet(bits, off+i) {
			bitutil.SetBit(dst[start:], i)
		}
	}
	return dst
}

// colPlan is how one column of one record is encoded.
type colPlan struct {
	enc         int
	nulls       bool
	w           int   // encNarrow, encDict: bytes per value
	base, step  int64 // encSeq: first, step; encNarrow: base
	codes       int   // encDict: start of the column's codes in chunkEncoder.codes
	dict        int   // encDict: start of its entries in chunkEncoder.entries
	ndict       int
	dictBytes   int
	encodedSize int
}

// dictEntry is a distinct value of a dictionary column: a span of the
// column's data buffer.
type dictEntry struct{ start, end int32 }

// chunkEncoder chooses each column's encoding and writes chunks; it is
// reused across chunks to keep its scratch space.
type chunkEncoder struct {
	plans   []colPlan
	codes   []uint16
	entries []dictEntry
	slots   []int32 // open addressing: entry index+1, 0 empty
}

var encoderPool = sync.Pool{New: func() any { return new(chunkEncoder) }}

// dictSeed seeds the hash of dictionary strings. A dictionary's order is
// that of first occurrence, so the encoding does not depend on it.
var dictSeed = maphash.MakeSeed()

// narrowable reports whether k is an 8-byte integer kind whose values may
// be stored as sequences or narrow deltas.
func narrowable(k kind) bool { return k == kInt64 || k == kUint64 || k == kTimestamp }

// plan chooses the encoding of every column of recs and returns the exact
// encoded size of the chunk.
func (e *chunkEncoder) plan(t *Table, recs []arrow.RecordBatch) int {
	e.plans, e.codes, e.entries = e.plans[:0], e.codes[:0], e.entries[:0]
	size := 1 + uvarintLen(uint64(len(recs)))
	for _, r := range recs {
		n := int(r.NumRows())
		size += uvarintLen(uint64(n))
		for c, k := range t.kinds {
			arr := r.Column(c)
			d := arr.Data()
			off := d.Offset()
			bufs := d.Buffers()
			p := colPlan{nulls: arr.NullN() > 0} // NB: Data.NullN is -1 when not yet counted
			size++
			if p.nulls {
				size += (n + 7) / 8
			}
			switch w := k.width(); {
			case k == kBool:
				p.encodedSize = (n + 7) / 8
			case w > 0:
				p.encodedSize = n * w
				if narrowable(k) && n > 0 {
					e.planInts(&p, arrow.Int64Traits.CastFromBytes(bufs[1].Bytes())[off:off+n])
				}
			default:
				offs := arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[off : off+n+1]
				p.encodedSize = (n+1)*4 + int(offs[n]-offs[0])
				e.planDict(&p, offs, bufs[2].Bytes())
			}
			size += p.encodedSize
			e.plans = append(e.plans, p)
		}
	}
	return size
}

// planInts picks a sequence or narrow deltas for v when they are smaller.
func (e *chunkEncoder) planInts(p *colPlan, v []int64) {
	step := int64(0)
	if len(v) > 1 {
		step = v[1] - v[0]
	}
	lo, hi := v[0], v[0]
	seq := true
	prev := v[0]
	for _, x := range v[1:] {
		if x-prev != step {
			seq = false
		}
		prev = x
		lo, hi = min(lo, x), max(hi, x)
	}
	if seq {
		p.enc, p.base, p.step, p.encodedSize = encSeq, v[0], step, 16
		return
	}
	var w int
	switch r := uint64(hi) - uint64(lo); {
	case r <= math.MaxUint8:
		w = 1
	case r <= math.MaxUint16:
		w = 2
	case r <= math.MaxUint32:
		w = 4
	default:
		return
	}
	p.enc, p.w, p.base, p.encodedSize = encNarrow, w, lo, 1+8+len(v)*w
}

// planDict builds a dictionary of the string column given by offs (n+1
// offsets) and data, and picks it when it is smaller than the plain form.
func (e *chunkEncoder) planDict(p *colPlan, offs []int32, data []byte) {
	n := len(offs) - 1
	if n < 16 {
		return
	}
	limit := min(maxDictEntries, n/4)
	nslots := 64
	for nslots < 2*limit {
		nslots *= 2
	}
	if cap(e.slots) < nslots {
		e.slots = make([]int32, nslots)
	}
	slots := e.slots[:nslots]
	clear(slots)
	mask := uint64(nslots - 1)
	codes0, dict0 := len(e.codes), len(e.entries)
	dictBytes := 0
	var prev []byte
	for i := range n {
		s, end := offs[i], offs[i+1]
		v := data[s:end]
		if i > 0 && bytes.Equal(v, prev) {
			// Runs of one value (labels of nearby times) skip the hash.
			e.codes = append(e.codes, e.codes[len(e.codes)-1])
			continue
		}
		prev = v
		h := maphash.Bytes(dictSeed, v) & mask
		for {
			j := slots[h]
			if j == 0 {
				if len(e.entries)-dict0 == limit {
					e.codes, e.entries = e.codes[:codes0], e.entries[:dict0]
					return
				}
				e.entries = append(e.entries, dictEntry{s, end})
				j = int32(len(e.entries) - dict0)
				slots[h] = j
				dictBytes += len(v)
			} else if en := e.entries[dict0+int(j)-1]; !bytes.Equal(data[en.start:en.end], v) {
				h = (h + 1) & mask
				continue
			}
			e.codes = append(e.codes, uint16(j-1))
			break
		}
	}
	ndict := len(e.entries) - dict0
	w := 1
	if ndict > 256 {
		w = 2
	}
	size := uvarintLen(uint64(ndict)) + (ndict+1)*4 + dictBytes + 1 + n*w
	if size >= p.encodedSize || p.encodedSize > maxDictExpansion*size {
		e.codes, e.entries = e.codes[:codes0], e.entries[:dict0]
		return
	}
	p.enc, p.w, p.codes, p.dict, p.ndict, p.dictBytes, p.encodedSize = encDict, w, codes0, dict0, ndict, dictBytes, size
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// write appends the chunk planned by the last plan call to dst.
func (e *chunkEncoder) write(dst []byte, t *Table, recs []arrow.RecordBatch) []byte {
	dst = append(dst, chunkFormat)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	pi := 0
	for _, r := range recs {
		n := int(r.NumRows())
		dst = binary.AppendUvarint(dst, uint64(n))
		for c, k := range t.kinds {
			p := &e.plans[pi]
			pi++
			arr := r.Column(c)
			d := arr.Data()
			off := d.Offset()
			bufs := d.Buffers()
			tag := byte(p.enc << 1)
			if p.nulls {
				tag |= 1
			}
			dst = append(dst, tag)
			if p.nulls {
				dst = appendBitmap(dst, bufs[0].Bytes(), off, n)
			}
			switch w := k.width(); {
			case p.enc == encSeq:
				dst = binary.LittleEndian.AppendUint64(dst, uint64(p.base))
				dst = binary.LittleEndian.AppendUint64(dst, uint64(p.step))
			case p.enc == encNarrow:
				dst = appendNarrow(dst, p, arrow.Int64Traits.CastFromBytes(bufs[1].Bytes())[off:off+n])
			case p.enc == encDict:
				dst = e.appendDict(dst, p, n, bufs[2].Bytes())
			case k == kBool:
				dst = appendBitmap(dst, bufs[1].Bytes(), off, n)
			case w > 0:
				dst = append(dst, bufs[1].Bytes()[off*w:(off+n)*w]...)
			default:
				offs := arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[off : off+n+1]
				base := offs[0]
				for _, o := range offs {
					dst = binary.LittleEndian.AppendUint32(dst, uint32(o-base))
				}
				dst = append(dst, bufs[2].Bytes()[base:offs[n]]...)
			}
		}
	}
	return dst
}

func appendNarrow(dst []byte, p *colPlan, v []int64) []byte {
	dst = append(dst, byte(p.w))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(p.base))
	start := len(dst)
	dst = slices.Grow(dst, len(v)*p.w)[:start+len(v)*p.w]
	out := dst[start:]
	base := p.base
	switch p.w {
	case 1:
		for i, x := range v {
			out[i] = byte(x - base)
		}
	case 2:
		for i, x := range v {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(x-base))
		}
	default:
		for i, x := range v {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(x-base))
		}
	}
	return dst
}

func (e *chunkEncoder) appendDict(dst []byte, p *colPlan, n int, data []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(p.ndict))
	entries := e.entries[p.dict : p.dict+p.ndict]
	o := uint32(0)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	for _, en := range entries {
		o += uint32(en.end - en.start)
		dst = binary.LittleEndian.AppendUint32(dst, o)
	}
	for _, en := range entries {
		dst = append(dst, data[en.start:en.end]...)
	}
	dst = append(dst, byte(p.w))
	codes := e.codes[p.codes : p.codes+n]
	if p.w == 1 {
		for _, c := range codes {
			dst = append(dst, byte(c))
		}
	} else {
		for _, c := range codes {
			dst = binary.LittleEndian.AppendUint16(dst, c)
		}
	}
	return dst
}

// encodeChunk appends the encoding of recs to dst.
func encodeChunk(dst []byte, t *Table, recs []arrow.RecordBatch) []byte {
	e := new(chunkEncoder)
	size := e.plan(t, recs)
	dst = slices.Grow(dst, size)
	return e.write(dst, t, recs)
}

// errAppendOnly is the error of a write an append-only table refuses.
func errAppendOnly(t *Table, what string) error {
	return fmt.Errorf("%w: table %s is append-only: %s", ErrAppendOnly, t, what)
}

// chunkReader reads a chunk value; every length is checked against what
// is left, so bad input cannot make it allocate more than a small multiple
// of the value's size per column (sequences and dictionaries expand, see
// maxDictExpansion).
type chunkReader struct {
	b   []byte
	mem memory.Allocator
}

var errShortChunk = errors.New("truncated chunk")

func (r *chunkReader) uvarint(limit uint64) (int, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errShortChunk
	}
	if v > limit {
		return 0, errors.New("count out of range")
	}
	r.b = r.b[n:]
	return int(v), nil
}

func (r *chunkReader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.b) {
		return nil, errShortChunk
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p, nil
}

// buffer copies p into a buffer of the allocator.
func (r *chunkReader) buffer(p []byte) *memory.Buffer {
	buf := memory.NewResizableBuffer(r.mem)
	buf.Resize(len(p))
	copy(buf.Bytes(), p)
	return buf
}

func releaseBuffers(bufs []*memory.Buffer) {
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}

// column decodes one column of n rows of type dt; v1 allows plain
// columns only.
func (r *chunkReader) column(k kind, dt arrow.DataType, n int, v1 bool) (arrow.Array, error) {
	flag, err := r.take(1)
	if err != nil {
		return nil, err
	}
	tag := flag[0]
	enc := int(tag >> 1)
	if enc >= numEncodings || (v1 && enc != encPlain) {
		return nil, errors.New("bad column tag")
	}
	switch {
	case enc == encSeq || enc == encNarrow:
		if !narrowable(k) {
			return nil, errors.New("integer encoding of a non-integer column")
		}
	case enc == encDict:
		if k.width() != 0 {
			return nil, errors.New("dictionary encoding of a fixed-width column")
		}
	}
	bufs := make([]*memory.Buffer, 2, 3)
	nulls := 0
	if tag&1 == 1 {
		bm, err := r.take((n + 7) / 8)
		if err != nil {
			return nil, err
		}
		nulls = n - bitutil.CountSetBits(bm, 0, n)
		bufs[0] = r.buffer(bm)
	}
	switch w := k.width(); {
	case enc == encSeq:
		p, err := r.take(16)
		if err != nil {
			releaseBuffers(bufs)
			return nil, err
		}
		first := int64(binary.LittleEndian.Uint64(p))
		step := int64(binary.LittleEndian.Uint64(p[8:]))
		buf := memory.NewResizableBuffer(r.mem)
		buf.Resize(n * 8)
		v := arrow.Int64Traits.CastFromBytes(buf.Bytes())
		x := first
		for i := range v {
			v[i] = x
			x += step
		}
		bufs[1] = buf
	case enc == encNarrow:
		hdr, err := r.take(9)
		if err != nil {
			releaseBuffers(bufs)
			return nil, err
		}
		vw := int(hdr[0])
		if vw != 1 && vw != 2 && vw != 4 {
			releaseBuffers(bufs)
			return nil, errors.New("bad value width")
		}
		if n > len(r.b)/vw {
			releaseBuffers(bufs)
			return nil, errShortChunk
		}
		p, _ := r.take(n * vw)
		bufs[1] = narrowBuffer(r.mem, p, vw, int64(binary.LittleEndian.Uint64(hdr[1:])), n)
	case enc == encDict:
		data, offs, err := r.dict(n)
		if err != nil {
			releaseBuffers(bufs)
			return nil, err
		}
		bufs[1], bufs = offs, append(bufs, data)
	case k == kBool:
		p, err := r.take((n + 7) / 8)
		if err != nil {
			releaseBuffers(bufs)
			return nil, err
		}
		bufs[1] = r.buffer(p)
	case w > 0:
		if n > len(r.b)/w {
			releaseBuffers(bufs)
			return nil, errShortChunk
		}
		p, _ := r.take(n * w)
		bufs[1] = r.buffer(p)
	default:
		if n >= len(r.b)/4 {
			releaseBuffers(bufs)
			return nil, errShortChunk
		}
		p, _ := r.take((n + 1) * 4)
		prev := uint32(0)
		for i := 0; i <= n; i++ {
			o := binary.LittleEndian.Uint32(p[i*4:])
			if (i == 0 && o != 0) || o < prev || o > math.MaxInt32 {
				releaseBuffers(bufs)
				return nil, errors.New("bad string offsets")
			}
			prev = o
		}
		data, err := r.take(int(prev))
		if err != nil {
			releaseBuffers(bufs)
			return nil, err
		}
		bufs[1] = r.buffer(p)
		bufs = append(bufs, r.buffer(data))
	}
	d := array.NewData(dt, n, bufs, nil, nulls, 0)
	releaseBuffers(bufs)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// narrowBuffer widens n w-byte deltas from base into int64 values.
func narrowBuffer(mem memory.Allocator, p []byte, w int, base int64, n int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * 8)
	v := arrow.Int64Traits.CastFromBytes(buf.Bytes())
	switch w {
	case 1:
		for i := range v {
			v[i] = base + int64(p[i])
		}
	case 2:
		for i := range v {
			v[i] = base + int64(binary.LittleEndian.Uint16(p[2*i:]))
		}
	default:
		for i := range v {
			v[i] = base + int64(binary.LittleEndian.Uint32(p[4*i:]))
		}
	}
	return buf
}

// dict decodes a dictionary column of n rows into its offsets and data
// buffers.
func (r *chunkReader) dict(n int) (data, offs *memory.Buffer, err error) {
	start := len(r.b)
	nd, err := r.uvarint(maxDictEntries)
	if err != nil {
		return nil, nil, err
	}
	if nd == 0 {
		return nil, nil, errors.New("empty dictionary")
	}
	p, err := r.take((nd + 1) * 4)
	if err != nil {
		return nil, nil, err
	}
	ends := make([]uint32, nd+1)
	for i := range ends {
		ends[i] = binary.LittleEndian.Uint32(p[i*4:])
		if (i == 0 && ends[i] != 0) || (i > 0 && ends[i] < ends[i-1]) || ends[i] > math.MaxInt32 {
			return nil, nil, errors.New("bad dictionary offsets")
		}
	}
	values, err := r.take(int(ends[nd]))
	if err != nil {
		return nil, nil, err
	}
	wb, err := r.take(1)
	if err != nil {
		return nil, nil, err
	}
	w := int(wb[0])
	if w != 1 && w != 2 {
		return nil, nil, errors.New("bad code width")
	}
	if n > len(r.b)/w {
		return nil, nil, errShortChunk
	}
	codes, _ := r.take(n * w)
	code := func(i int) int {
		if w == 1 {
			return int(codes[i])
		}
		return int(binary.LittleEndian.Uint16(codes[2*i:]))
	}
	total := 0
	for i := range n {
		c := code(i)
		if c >= nd {
			return nil, nil, errors.New("dictionary code out of range")
		}
		total += int(ends[c+1] - ends[c])
	}
	if total > maxDictExpansion*(start-len(r.b)) || total > math.MaxInt32 {
		return nil, nil, errors.New("dictionary column too large")
	}
	offs = memory.NewResizableBuffer(r.mem)
	offs.Resize((n + 1) * 4)
	o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
	data = memory.NewResizableBuffer(r.mem)
	data.Resize(total)
	d := data.Bytes()
	at := 0
	o[0] = 0
	for i := range n {
		c := code(i)
		at += copy(d[at:], values[ends[c]:ends[c+1]])
		o[i+1] = int32(at)
	}
	return data, offs, nil
}

// decodeChunk decodes a chunk value into record batches of the table's
// schema, which the caller releases. It never panics on bad input.
func decodeChunk(t *Table, v []byte, mem memory.Allocator) (recs []arrow.RecordBatch, err error) {
	if len(v) == 0 || (v[0] != chunkFormat && v[0] != chunkFormatV1) {
		return nil, errors.New("not a chunk")
	}
	v1 := v[0] == chunkFormatV1
	r := &chunkReader{b: v[1:], mem: mem}
	defer func() {
		if err != nil {
			for _, rec := range recs {
				rec.Release()
			}
			recs = nil
		}
	}()
	nrec, err := r.uvarint(uint64(len(r.b)))
	if err != nil {
		return nil, err
	}
	if nrec == 0 {
		return nil, errors.New("empty chunk")
	}
	cols := make([]arrow.Array, len(t.kinds))
	for i := 0; i < nrec; i++ {
		// Each row takes at least one bit of each plain column; a
		// sequence column takes none, but a record has no more rows than
		// a chunk.
		limit := uint64(len(r.b)) * 8
		if !v1 {
			limit = min(limit, maxChunkRows)
		}
		n, err := r.uvarint(limit)
		if err != nil {
			return recs, err
		}
		for c, k := range t.kinds {
			if cols[c], err = r.column(k, t.Schema.Field(c).Type, n, v1); err != nil {
				for _, a := range cols[:c] {
					a.Release()
				}
				return recs, err
			}
		}
		recs = append(recs, array.NewRecordBatch(t.Schema, cols, int64(n)))
		for _, a := range cols {
			a.Release()
		}
	}
	if len(r.b) != 0 {
		return recs, errors.New("trailing bytes after chunk")
	}
	return recs, nil
}

// chunkScan is the state of a scan over an append-only table.
type chunkScan struct {
	lo, hi []byte // row key bounds
	whole  bool   // the bounds are the table's: no per-row key check
	recs   []arrow.RecordBatch
	ri     int // current record of recs
	row    int // next row of recs[ri]
	key    []byte
	sc     scalar
}

func (cs *chunkScan) release() {
	for _, r := range cs.recs {
		r.Release()
	}
	cs.recs, cs.ri, cs.row = nil, 0, 0
}

// rowKey encodes the key of row i of rec into cs.key.
func (cs *chunkScan) rowKey(t *Table, rec arrow.RecordBatch, i int) []byte {
	k := append(cs.key[:0], t.prefix...)
	for _, kc := range t.keyCols {
		cs.sc.fromArray(rec.Column(kc.col), i, t.kinds[kc.col])
		k = appendKey(k, t.kinds[kc.col], &cs.sc, kc.desc)
	}
	cs.key = k
	return k
}

// nextChunk positions the Pebble iterator on the next chunk and decodes
// it; false at the end.
func (it *Iterator) nextChunk() (bool, error) {
	cs, pit := it.cs, it.it
	cs.release()
	var ok bool
	if !it.started {
		it.started = true
		// The chunk holding lo starts at or before it.
		if ok = pit.SeekLT(cs.lo); !ok {
			ok = pit.First()
		}
	} else {
		ok = pit.Next()
	}
	if !ok {
		return false, pit.Error()
	}
	key := pit.Key()
	val, err := pit.ValueAndErr()
	if err != nil {
		return false, fmt.Errorf("widecol: scan %s, key %x: %w", it.p.t, key, err)
	}
	it.s.bytesRead.Add(uint64(len(key) + len(val)))
	recs, err := decodeChunk(it.p.t, val, it.p.mem)
	if err != nil {
		return false, corrupt(it.p.t, key, err)
	}
	cs.recs = recs
	return true, nil
}

// nextChunked is Next for an append-only table.
func (it *Iterator) nextChunked(ctx context.Context) (arrow.RecordBatch, error) {
	p, cs := it.p, it.cs
	t := p.t
	var cbs []colBuf
	n := 0
	for n < p.size {
		if cs.ri >= len(cs.recs) {
			ok, err := it.nextChunk()
			if err != nil {
				it.done = true
				return nil, err
			}
			if !ok {
				it.done = true
				break
			}
			if err := ctx.Err(); err != nil {
				it.done = true
				return nil, err
			}
			continue
		}
		rec := cs.recs[cs.ri]
		rows := int(rec.NumRows())
		if cs.row >= rows {
			cs.ri++
			cs.row = 0
			continue
		}
		if cs.whole && len(p.preds) == 0 && n == 0 {
			// Every row is wanted: hand out slices of the chunk.
			end := min(rows, cs.row+p.size)
			cols := make([]arrow.Array, len(p.out))
			for j, c := range p.out {
				cols[j] = array.NewSlice(rec.Column(c), int64(cs.row), int64(end))
			}
			out := array.NewRecordBatch(p.schema, cols, int64(end-cs.row))
			for _, c := range cols {
				c.Release()
			}
			it.s.rowsRead.Add(uint64(end - cs.row))
			cs.row = end
			return out, nil
		}
		if cbs == nil {
			if it.cbs == nil {
				it.cbs = newColBufs(p)
			}
			cbs = it.cbs
			for j := range cbs {
				cbs[j].begin(p.size)
			}
		}
		i := cs.row
		cs.row++
		if !cs.whole {
			k := cs.rowKey(t, rec, i)
			if bytes.Compare(k, cs.lo) < 0 {
				continue
			}
			if bytes.Compare(k, cs.hi) >= 0 {
				it.done = true
				break
			}
		}
		for c := range t.kinds {
			if p.need[c] || t.isKey[c] {
				p.slots[c].fromArray(rec.Column(c), i, t.kinds[c])
				p.present[c] = !p.slots[c].null
			}
		}
		visible := true
		for k := range p.preds {
			if !p.eval(&p.preds[k]) {
				visible = false
				break
			}
		}
		if !visible {
			continue
		}
		if err := p.appendSlots(cbs, n); err != nil {
			it.done = true
			return nil, corrupt(t, nil, err)
		}
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	it.s.rowsRead.Add(uint64(n))
	return p.finishCols(cbs, n), nil
}

// getChunked reads the row with key k of an append-only table into the
// plan's slots and calls use while the slots' data is valid; false if
// there is no such row or it fails the predicates.
func (s *Store) getChunked(ctx context.Context, r reader, p *plan, k []byte, use func(p *plan) error) (bool, error) {
	t := p.t
	pit, err := r.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: t.prefix, UpperBound: prefixEnd(k)})
	if err != nil {
		return false, fmt.Errorf("widecol: get from %s: %w", t, err)
	}
	defer pit.Close()
	// Keys are self-delimiting, so the last chunk below prefixEnd(k)
	// starts at or before k.
	if !pit.Last() {
		return false, pit.Error()
	}
	val, err := pit.ValueAndErr()
	if err != nil {
		return false, fmt.Errorf("widecol: get from %s: %w", t, err)
	}
	s.bytesRead.Add(uint64(len(pit.Key()) + len(val)))
	recs, err := decodeChunk(t, val, p.mem)
	if err != nil {
		return false, corrupt(t, pit.Key(), err)
	}
	cs := &chunkScan{recs: recs}
	defer cs.release()
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			if !bytes.Equal(cs.rowKey(t, rec, i), k) {
				continue
			}
			for c := range t.kinds {
				p.slots[c].fromArray(rec.Column(c), i, t.kinds[c])
				p.present[c] = !p.slots[c].null
			}
			for j := range p.preds {
				if !p.eval(&p.preds[j]) {
					return false, nil
				}
			}
			return true, use(p)
		}
	}
	return false, nil
}
