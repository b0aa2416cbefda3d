package widecol

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

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
const chunkFormat = 0xC1

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
	rows := 0
	defer func() {
		for _, r := range chunk {
			r.Release()
		}
	}()
	flush := func() error {
		if rows == 0 {
			return nil
		}
		err := b.writeChunk(t, chunk)
		for _, r := range chunk {
			r.Release()
		}
		chunk, rows = chunk[:0], 0
		return err
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
	return flush()
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

// writeChunk writes recs (non-empty, the table's schema) as one chunk.
func (b *Batch) writeChunk(t *Table, recs []arrow.RecordBatch) error {
	first := recs[0]
	key := append(b.key[:0], t.prefix...)
	for _, kc := range t.keyCols {
		b.sc.fromArray(first.Column(kc.col), 0, t.kinds[kc.col])
		key = appendKey(key, t.kinds[kc.col], &b.sc, kc.desc)
	}
	b.key = key
	b.val = encodeChunk(b.val[:0], t, recs)
	if err := b.pb.Set(key, b.val, nil); err != nil {
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
//	column = byte hasNulls, [validity bitmap: ceil(nrows/8) bytes], data
//	data   = fixed width: nrows × width bytes (bool: a bitmap)
//	         string, binary: (nrows+1) × uint32 LE offsets from 0, bytes
//
// Bitmaps are LSB first, as in Arrow, so columns decode by copying.

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

// chunkSize bounds the encoded size of recs.
func chunkSize(t *Table, recs []arrow.RecordBatch) int {
	size := 1 + binary.MaxVarintLen64
	for _, r := range recs {
		n := int(r.NumRows())
		size += binary.MaxVarintLen64
		for c, k := range t.kinds {
			size += 1 + (n+7)/8
			switch w := k.width(); {
			case k == kBool:
				size += (n + 7) / 8
			case w > 0:
				size += n * w
			default:
				offs := arrow.Int32Traits.CastFromBytes(r.Column(c).Data().Buffers()[1].Bytes())
				off := r.Column(c).Data().Offset()
				size += (n+1)*4 + int(offs[off+n]-offs[off])
			}
		}
	}
	return size
}

func encodeChunk(dst []byte, t *Table, recs []arrow.RecordBatch) []byte {
	dst = slices.Grow(dst[:0], chunkSize(t, recs))
	dst = append(dst, chunkFormat)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for _, r := range recs {
		n := int(r.NumRows())
		dst = binary.AppendUvarint(dst, uint64(n))
		for c, k := range t.kinds {
			arr := r.Column(c)
			d := arr.Data()
			off := d.Offset()
			bufs := d.Buffers()
			if arr.NullN() > 0 { // NB: Data.NullN is -1 when not yet counted
				dst = append(dst, 1)
				dst = appendBitmap(dst, bufs[0].Bytes(), off, n)
			} else {
				dst = append(dst, 0)
			}
			switch w := k.width(); {
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

// errAppendOnly is the error of a write an append-only table refuses.
func errAppendOnly(t *Table, what string) error {
	return fmt.Errorf("%w: table %s is append-only: %s", ErrAppendOnly, t, what)
}

// chunkReader reads a chunk value; every length is checked against what
// is left, so bad input cannot make it allocate more than the value's size.
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

// column decodes one column of n rows of type dt.
func (r *chunkReader) column(k kind, dt arrow.DataType, n int) (arrow.Array, error) {
	flag, err := r.take(1)
	if err != nil {
		return nil, err
	}
	if flag[0] > 1 {
		return nil, errors.New("bad null flag")
	}
	bufs := make([]*memory.Buffer, 2, 3)
	nulls := 0
	if flag[0] == 1 {
		bm, err := r.take((n + 7) / 8)
		if err != nil {
			return nil, err
		}
		nulls = n - bitutil.CountSetBits(bm, 0, n)
		bufs[0] = r.buffer(bm)
	}
	switch w := k.width(); {
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

// decodeChunk decodes a chunk value into record batches of the table's
// schema, which the caller releases. It never panics on bad input.
func decodeChunk(t *Table, v []byte, mem memory.Allocator) (recs []arrow.RecordBatch, err error) {
	if len(v) == 0 || v[0] != chunkFormat {
		return nil, errors.New("not a chunk")
	}
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
		// Each row takes at least one bit of each column.
		n, err := r.uvarint(uint64(len(r.b)) * 8)
		if err != nil {
			return recs, err
		}
		for c, k := range t.kinds {
			if cols[c], err = r.column(k, t.Schema.Field(c).Type, n); err != nil {
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
