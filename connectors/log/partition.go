package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// seqEntry remembers where an idempotent append landed.
type seqEntry struct {
	writer, seq, base, count int64
}

// recentSeqs is how many of a writer's latest sequences a partition can map
// back to their offsets when they are re-sent.
const recentSeqs = 8

// writerState is the idempotence state of one writer in one partition.
type writerState struct {
	last   int64
	recent []seqEntry // oldest first, at most recentSeqs
}

func (w *writerState) add(e seqEntry) {
	if e.seq > w.last || len(w.recent) == 0 {
		w.last = e.seq
	}
	if len(w.recent) == recentSeqs {
		copy(w.recent, w.recent[1:])
		w.recent = w.recent[:recentSeqs-1]
	}
	w.recent = append(w.recent, e)
}

func (w *writerState) find(seq int64) (seqEntry, bool) {
	for i := len(w.recent) - 1; i >= 0; i-- {
		if w.recent[i].seq == seq {
			return w.recent[i], true
		}
	}
	return seqEntry{}, false
}

// partition is one ordered sequence of segments.
//
// Lock order: syncMu before mu. mu guards everything below it except the
// atomic counters; it is held only for in-memory work and the write call
// itself, never while waiting for an fsync of another writer.
type partition struct {
	t   *Topic
	id  int
	dir string
	fs  vfs.FS

	syncMu  sync.Mutex
	durable int64 // offsets below are synced (guarded by syncMu)

	mu      sync.Mutex
	segs    []*segment
	end     int64 // next offset to assign
	hw      int64 // offsets below are acknowledged as durable as the policy says
	visible int64 // min(hw, last stable offset): what readers may see
	notify  chan struct{}
	closed  bool
	err     error // sticky write or sync error; the partition is read-only after it
	dirty   bool  // written since the last sync
	writers map[int64]*writerState
	open    map[int64]int64      // open transaction id -> its first offset here
	pending map[int64][]seqEntry // idempotent entries applied when a transaction commits
	aborted map[int64]int64      // aborted transaction id -> offset of its abort marker
	maxTxn  int64
	tail    []tailBatch // newest last; see keepTailLocked

	appends, records, bytes, syncs, dups, tailHits atomic.Uint64
}

// tailBatch is a large batch this process wrote recently, kept as the
// record it was given: a reader that follows the writer closely gets that
// record (another reference to it) instead of reading, allocating,
// checksumming and decoding the batch again.
//
// NB: records are immutable, so sharing one between the writer's memory
// and every reader is safe; its memory goes back to the writer's
// allocator when the partition and all readers have released it.
type tailBatch struct {
	seg  *segment
	pos  int64
	hdr  [headerSize]byte // the header as written, to check against
	rec  arrow.RecordBatch
	size int
	cols []bool // the columns of rec that hold values (nil: all)
}

// The tail keeps at most TailBatches batches and tailBytes bytes per
// partition.
const (
	TailBatches = 8
	tailBytes   = 16 << 20
)

// keepTailLocked remembers the batch just written at pos in s, taking over
// a reference to rec, and drops the oldest ones beyond the bounds.
func (p *partition) keepTailLocked(s *segment, pos int64, hdr []byte, rec arrow.RecordBatch, size int, cols []bool) {
	if size > tailBytes {
		rec.Release()
		return
	}
	t := tailBatch{seg: s, pos: pos, rec: rec, size: size, cols: cols}
	copy(t.hdr[:], hdr)
	p.tail = append(p.tail, t)
	total := 0
	for _, t := range p.tail {
		total += t.size
	}
	for len(p.tail) > TailBatches || total > tailBytes {
		total -= p.tail[0].size
		p.tail[0].rec.Release()
		p.tail[0] = tailBatch{}
		p.tail = p.tail[1:]
	}
}

// tailAt returns a new reference to the record written at pos in s, if the
// partition still keeps it with the columns need flags (nil: all) and its
// header is hdr, else nil.
func (p *partition) tailAt(s *segment, pos int64, hdr []byte, need []bool) arrow.RecordBatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.tail {
		if t.seg == s && t.pos == pos && bytes.Equal(t.hdr[:], hdr[:headerSize]) && holds(t.cols, need) {
			t.rec.Retain()
			return t.rec
		}
	}
	return nil
}

// holds reports whether a batch with the columns have (nil: all) has the
// columns need (nil: all).
func holds(have, need []bool) bool {
	for i, h := range have {
		if !h && (need == nil || (i < len(need) && need[i])) {
			return false
		}
	}
	return true
}

// releaseTailLocked drops every kept batch.
func (p *partition) releaseTailLocked() {
	for _, t := range p.tail {
		t.rec.Release()
	}
	p.tail = nil
}

// writePieces writes enc's header and payload at pos.
func writePieces(f vfs.File, pos int64, enc *encoded) error {
	if enc.pieces == nil {
		_, err := f.WriteAt(enc.buf, pos)
		return err
	}
	if _, err := f.WriteAt(enc.buf[:headerSize], pos); err != nil {
		return err
	}
	pos += headerSize
	for _, b := range enc.pieces {
		if _, err := f.WriteAt(b, pos); err != nil {
			return err
		}
		pos += int64(len(b))
	}
	return nil
}

func newPartition(t *Topic, id int, dir string) *partition {
	return &partition{
		t: t, id: id, dir: dir, fs: t.l.fs,
		notify:  make(chan struct{}),
		writers: map[int64]*writerState{},
		open:    map[int64]int64{},
		pending: map[int64][]seqEntry{},
		aborted: map[int64]int64{},
	}
}

func (p *partition) String() string { return fmt.Sprintf("%s/%d", p.t.name, p.id) }

// broadcastLocked wakes every reader waiting for new data.
func (p *partition) broadcastLocked() {
	close(p.notify)
	p.notify = make(chan struct{})
}

// advanceLocked recomputes what readers may see and wakes them if it grew.
func (p *partition) advanceLocked() {
	v := p.hw
	for _, first := range p.open {
		if first < v {
			v = first
		}
	}
	if v != p.visible {
		p.visible = v
		p.broadcastLocked()
	}
}

func (p *partition) active() *segment { return p.segs[len(p.segs)-1] }

// open loads the partition's segments, truncating a torn tail of the last.
func (p *partition) load() error {
	if err := p.fs.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	names, err := p.fs.List(p.dir)
	if err != nil {
		return err
	}
	var bases []int64
	for _, n := range names {
		if b, ok := parseSegmentName(n); ok {
			bases = append(bases, b)
		} else if len(n) > 4 && n[len(n)-4:] == ".tmp" {
			_ = p.fs.Remove(p.fs.PathJoin(p.dir, n))
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	interval := p.t.l.opts.IndexIntervalBytes
	for i, base := range bases {
		last := i == len(bases)-1
		path := p.fs.PathJoin(p.dir, segmentName(base))
		if len(p.segs) > 0 && base != p.end {
			return fmt.Errorf("%w: segment %s starts at offset %d, previous ends at %d", ErrCorrupt, path, base, p.end)
		}
		var f vfs.File
		if last {
			f, err = p.fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
		} else {
			f, err = p.fs.Open(path)
		}
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return err
		}
		s := &segment{base: base, path: path, f: f, fs: p.fs, end: base}
		s.refs.Store(1)
		p.segs = append(p.segs, s)
		res, err := scanSegment(f, path, base, st.Size(), last || p.t.l.opts.VerifyOnOpen, last,
			func(h *header, pos int64) error {
				p.noteRecovered(h)
				s.noteBatch(h, pos, interval)
				return nil
			})
		if err != nil {
			return err
		}
		if res.torn {
			if err := p.truncateTail(s, res.validSize); err != nil {
				return err
			}
		}
		p.end = s.end
	}
	if len(p.segs) == 0 {
		if err := p.newSegmentLocked(0); err != nil {
			return err
		}
	} else if err := p.active().f.SyncData(); err != nil {
		return err
	}
	p.hw, p.visible, p.durable = p.end, p.end, p.end
	return nil
}

// noteRecovered rebuilds idempotence and transaction state from a header
// found on open.
func (p *partition) noteRecovered(h *header) {
	if h.txnID > p.maxTxn {
		p.maxTxn = h.txnID
	}
	switch {
	case h.control():
		p.finishTxnLocked(h.txnID, h.commit(), h.base)
	case h.txn():
		if _, ok := p.open[h.txnID]; !ok {
			p.open[h.txnID] = h.base
		}
		if h.writerID != 0 {
			p.pending[h.txnID] = append(p.pending[h.txnID], seqEntry{h.writerID, h.seq, h.base, h.count})
		}
	case h.writerID != 0:
		p.writerLocked(h.writerID).add(seqEntry{h.writerID, h.seq, h.base, h.count})
	}
}

// finishTxnLocked applies a commit or abort marker at markerOff.
func (p *partition) finishTxnLocked(txnID int64, commit bool, markerOff int64) {
	if commit {
		for _, e := range p.pending[txnID] {
			p.writerLocked(e.writer).add(e)
		}
	} else {
		p.aborted[txnID] = markerOff
	}
	delete(p.open, txnID)
	delete(p.pending, txnID)
}

func (p *partition) writerLocked(id int64) *writerState {
	w := p.writers[id]
	if w == nil {
		w = &writerState{}
		p.writers[id] = w
	}
	return w
}

// truncateTail cuts a torn tail off s by rewriting its valid prefix, since
// vfs.File has no Truncate.
func (p *partition) truncateTail(s *segment, n int64) error {
	tmp := s.path + ".tmp"
	dst, err := p.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, io.NewSectionReader(s.f, 0, n)); err != nil {
		_ = dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := p.fs.Rename(tmp, s.path); err != nil {
		return err
	}
	if err := syncDir(p.fs, p.dir); err != nil {
		return err
	}
	_ = s.f.Close()
	f, err := p.fs.OpenReadWrite(s.path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	s.f = f
	s.size = n
	return nil
}

// newSegmentLocked creates an empty active segment starting at base.
func (p *partition) newSegmentLocked(base int64) error {
	path := p.fs.PathJoin(p.dir, segmentName(base))
	f, err := p.fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if err := syncDir(p.fs, p.dir); err != nil {
		_ = f.Close()
		return err
	}
	s := &segment{base: base, path: path, f: f, fs: p.fs, end: base}
	s.refs.Store(1)
	p.segs = append(p.segs, s)
	return nil
}

// rollLocked seals the active segment (syncing it, so a sync of the new
// active segment later covers every earlier offset) and starts a new one.
func (p *partition) rollLocked() error {
	if err := p.active().f.SyncData(); err != nil {
		return err
	}
	return p.newSegmentLocked(p.end)
}

// writeLocked assigns offsets to enc and writes it to the active segment.
func (p *partition) writeLocked(enc *encoded, flags uint8, writerID, seq, txnID int64) (header, error) {
	if p.closed {
		return header{}, ErrClosed
	}
	if p.err != nil {
		return header{}, p.err
	}
	s := p.active()
	if s.size > 0 && s.size+int64(enc.size()) > p.t.cfg.SegmentBytes {
		if err := p.rollLocked(); err != nil {
			p.err = fmt.Errorf("log: partition %s: rolling segment: %w", p, err)
			return header{}, p.err
		}
		s = p.active()
	}
	h := header{
		flags:      flags,
		payloadLen: uint32(enc.payloadLen),
		base:       p.end,
		count:      enc.count,
		writerID:   writerID,
		seq:        seq,
		txnID:      txnID,
		appendTime: p.t.l.clock.Now().UnixMilli(),
	}
	if enc.regen {
		h.flags |= flagRegen
	}
	if enc.hasTime {
		h.flags |= flagEventTime
		h.minTime, h.maxTime = enc.minTime, enc.maxTime
	}
	h.put(enc.buf)
	sealCRC(enc.buf, enc.payloadCRC)
	pos := s.size
	if err := writePieces(s.f, pos, enc); err != nil {
		p.err = fmt.Errorf("log: partition %s: write: %w", p, err)
		return header{}, p.err
	}
	s.noteBatch(&h, pos, p.t.l.opts.IndexIntervalBytes)
	if !h.control() && enc.rec != nil && zeroOffsets(enc.rec) {
		// The partition holds the batch's reference now.
		size := enc.size()
		if enc.regen {
			// The description is small; the rows kept are not.
			size = bodyBound(enc.rec.Columns())
		}
		p.keepTailLocked(s, pos, enc.buf, enc.rec, size, enc.cols)
		enc.rec = nil
	}
	p.end = h.end()
	p.dirty = true
	if txnID > p.maxTxn {
		p.maxTxn = txnID
	}
	if p.t.cfg.Sync.Mode != SyncEveryBatch {
		p.hw = p.end
	}
	p.advanceLocked()
	p.appends.Add(1)
	if !h.control() {
		p.records.Add(uint64(h.count))
	}
	p.bytes.Add(uint64(enc.size()))
	return h, nil
}

// append writes one encoded batch. It handles idempotence and, for the
// every-batch sync policy outside transactions, waits for the group fsync.
func (p *partition) append(enc *encoded, writerID, seq, txnID int64) (int64, error) {
	p.mu.Lock()
	if writerID != 0 && !p.closed {
		if w := p.writers[writerID]; w != nil && seq <= w.last {
			e, ok := w.find(seq)
			p.mu.Unlock()
			if !ok {
				return 0, fmt.Errorf("%w: writer %d sequence %d, partition %s has up to %d", ErrStaleSequence, writerID, seq, p, w.last)
			}
			p.dups.Add(1)
			if err := p.waitDurable(e.base + e.count); err != nil {
				return 0, err
			}
			return e.base, nil
		}
	}
	var flags uint8
	if txnID != 0 {
		flags |= flagTxn
	}
	h, err := p.writeLocked(enc, flags, writerID, seq, txnID)
	if err != nil {
		p.mu.Unlock()
		return 0, err
	}
	if txnID != 0 {
		if _, ok := p.open[txnID]; !ok {
			p.open[txnID] = h.base
		}
		if writerID != 0 {
			p.pending[txnID] = append(p.pending[txnID], seqEntry{writerID, seq, h.base, h.count})
		}
		p.advanceLocked()
		p.mu.Unlock()
		return h.base, nil
	}
	if writerID != 0 {
		p.writerLocked(writerID).add(seqEntry{writerID, seq, h.base, h.count})
	}
	p.mu.Unlock()
	if err := p.waitDurable(h.end()); err != nil {
		return 0, err
	}
	return h.base, nil
}

// waitDurable returns once offsets below target are as durable as the sync
// policy promises.
func (p *partition) waitDurable(target int64) error {
	if p.t.cfg.Sync.Mode != SyncEveryBatch {
		return nil
	}
	return p.syncTo(target)
}

// syncTo makes offsets below target durable. Concurrent callers form a group
// commit: one fsync covers everything written before it started, and callers
// whose data it covered return without a sync of their own.
func (p *partition) syncTo(target int64) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	if p.durable >= target {
		return nil
	}
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return err
	}
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	end := p.end
	s := p.active()
	s.ref()
	p.dirty = false
	p.mu.Unlock()

	err := s.f.SyncData()
	s.unref()
	p.syncs.Add(1)

	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.err = fmt.Errorf("log: partition %s: sync: %w", p, err)
		return p.err
	}
	p.durable = end
	if end > p.hw {
		p.hw = end
		p.advanceLocked()
	}
	return nil
}

// syncIfDirty syncs everything written so far, if anything was.
func (p *partition) syncIfDirty() error {
	p.mu.Lock()
	dirty, end := p.dirty, p.end
	p.mu.Unlock()
	if !dirty {
		return nil
	}
	return p.syncTo(end)
}

// writeMarker writes a transaction commit or abort marker and updates the
// transaction state.
func (p *partition) writeMarker(txnID int64, commit bool) error {
	end, err := p.writeMarkerVisible(txnID, commit)
	if err != nil {
		return err
	}
	return p.waitDurable(end)
}

// writeMarkerVisible writes a transaction marker and makes the
// transaction's outcome visible to readers without waiting for the marker
// to be durable; it returns the offset to wait for.
func (p *partition) writeMarkerVisible(txnID int64, commit bool) (int64, error) {
	enc := encoded{buf: make([]byte, headerSize), count: 1}
	flags := uint8(flagTxn | flagControl)
	if commit {
		flags |= flagCommit
	}
	p.mu.Lock()
	h, err := p.writeLocked(&enc, flags, 0, 0, txnID)
	if err != nil {
		p.mu.Unlock()
		return 0, err
	}
	p.finishTxnLocked(txnID, commit, h.base)
	p.advanceLocked()
	p.mu.Unlock()
	return h.end(), nil
}

// cursor remembers where a reader stopped, so sequential reads skip the
// index lookup. It is valid while seg is still in the partition.
type cursor struct {
	seg *segment
	pos int64
	off int64
}

// read returns the first visible data batch containing off or, if off was
// skipped (aborted or control batches), after it. It blocks until one is
// visible or ctx is done.
func (p *partition) read(ctx context.Context, off int64, cur *cursor, mem memory.Allocator) (Batch, error) {
	return p.readBefore(ctx, off, -1, cur, mem, nil)
}

// errEnd reports that no visible batch starts before the end offset given
// to readBefore.
var errEnd = errors.New("log: no batch before the end offset")

// readBefore is read bounded by end: with end >= 0 it returns errEnd
// instead of returning or waiting for a batch that starts at or after end.
func (p *partition) readBefore(ctx context.Context, off, end int64, cur *cursor, mem memory.Allocator, need []bool) (Batch, error) {
	var hb [headerSize]byte
	for {
		if end >= 0 && off >= end {
			return Batch{}, errEnd
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return Batch{}, ErrClosed
		}
		if oldest := p.segs[0].base; off < oldest {
			p.mu.Unlock()
			return Batch{}, fmt.Errorf("%w: partition %s offset %d is below the oldest retained offset %d", ErrOffsetOutOfRange, p, off, oldest)
		}
		if off >= p.visible {
			ch := p.notify
			p.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return Batch{}, ctx.Err()
			}
		}
		i := sort.Search(len(p.segs), func(i int) bool { return p.segs[i].base > off }) - 1
		s := p.segs[i]
		var pos int64
		if cur != nil && cur.seg == s && cur.off == off {
			pos = cur.pos
		} else {
			pos = s.lookup(off)
		}
		limit, visible := s.size, p.visible
		s.ref()
		p.mu.Unlock()

		for pos < limit {
			h, err := readBatchAt(s.f, pos, limit, -1, false, hb[:], nil)
			if err != nil {
				s.unref()
				return Batch{}, fmt.Errorf("%w: segment %s at byte %d: %v", ErrCorrupt, s.path, pos, err)
			}
			if h.base >= visible {
				break
			}
			if end >= 0 && h.base >= end {
				s.unref()
				return Batch{}, errEnd
			}
			next := pos + h.size()
			if h.end() <= off {
				pos = next
				continue
			}
			if h.control() || (h.txn() && p.isAborted(h.txnID)) {
				off, pos = h.end(), next
				continue
			}
			b, err := p.readPayload(s, pos, &h, hb[:], mem, need)
			s.unref()
			if err != nil {
				return Batch{}, err
			}
			if off > h.base {
				b.FirstRow = int(off - h.base)
			}
			if cur != nil {
				*cur = cursor{seg: s, pos: next, off: h.end()}
			}
			return b, nil
		}
		// Everything up to the visible end of s was skipped: off now is the
		// next unread offset (the next segment's base, or the visible end).
		s.unref()
		if cur != nil {
			*cur = cursor{seg: s, pos: pos, off: off}
		}
	}
}

func (p *partition) isAborted(txnID int64) bool {
	p.mu.Lock()
	_, ok := p.aborted[txnID]
	p.mu.Unlock()
	return ok
}

// readPayload reads, verifies and decodes the payload of the batch at pos,
// or decodes it from the tail when the partition still has its bytes.
func (p *partition) readPayload(s *segment, pos int64, h *header, hb []byte, mem memory.Allocator, need []bool) (Batch, error) {
	if rec := p.tailAt(s, pos, hb, need); rec != nil {
		// Written by this process; checked against its header.
		p.tailHits.Add(1)
		return p.batchOf(rec, h), nil
	}
	raw, rb := newRawBuffer(mem, int(h.payloadLen))
	if _, err := s.f.ReadAt(raw.Bytes(), pos+headerSize); err != nil {
		raw.Release()
		return Batch{}, fmt.Errorf("log: partition %s: reading %s at byte %d: %w", p, s.path, pos, err)
	}
	if !verifyCRC(hb, raw.Bytes()) {
		raw.Release()
		return Batch{}, fmt.Errorf("%w: segment %s at byte %d: CRC mismatch", ErrCorrupt, s.path, pos)
	}
	if h.flags&flagRegen != 0 {
		rec, err := p.regenerate(raw.Bytes(), mem)
		raw.Release()
		if err != nil {
			return Batch{}, fmt.Errorf("log: partition %s: batch at offset %d: %w", p, h.base, err)
		}
		if rec.NumRows() != h.count {
			rec.Release()
			return Batch{}, fmt.Errorf("log: partition %s: batch at offset %d regenerated %d rows, header says %d", p, h.base, rec.NumRows(), h.count)
		}
		return p.batchOf(rec, h), nil
	}
	rec, err := decodePayload(raw, rb, p.t.schemaMeta, mem)
	if err != nil {
		return Batch{}, fmt.Errorf("%w: segment %s at byte %d: %v", ErrCorrupt, s.path, pos, err)
	}
	if rec.NumRows() != h.count {
		rec.Release()
		return Batch{}, fmt.Errorf("%w: segment %s at byte %d: %d rows, header says %d", ErrCorrupt, s.path, pos, rec.NumRows(), h.count)
	}
	return p.batchOf(rec, h), nil
}

// regenerate rebuilds a batch from its regeneration description.
func (p *partition) regenerate(desc []byte, mem memory.Allocator) (arrow.RecordBatch, error) {
	f := p.t.regen.Load()
	if f == nil {
		return nil, fmt.Errorf("the batch is stored as a description and topic %q has no regenerator", p.t.name)
	}
	rec, err := (*f)(desc, mem)
	if err != nil {
		return nil, fmt.Errorf("regenerating: %w", err)
	}
	if !rec.Schema().Equal(p.t.cfg.Schema) {
		rec.Release()
		return nil, fmt.Errorf("regenerated batch has schema %v, topic has %v", rec.Schema(), p.t.cfg.Schema)
	}
	return rec, nil
}

// batchOf describes rec, the batch with header h.
func (p *partition) batchOf(rec arrow.RecordBatch, h *header) Batch {
	b := Batch{
		Record:     rec,
		BaseOffset: h.base,
		WriterID:   h.writerID,
		Sequence:   h.seq,
		AppendTime: time.UnixMilli(h.appendTime),
	}
	if h.hasTime() {
		b.MinEventTime, b.MaxEventTime, b.HasEventTime = h.minTime, h.maxTime, true
	}
	return b
}

// offsetForTime returns the first offset of the first batch whose max event
// time is at least t, or the end offset if there is none.
func (p *partition) offsetForTime(t int64) (int64, error) {
	p.mu.Lock()
	var s *segment
	for _, c := range p.segs {
		if c.hasTime && c.maxTime >= t {
			s = c
			break
		}
	}
	if s == nil {
		end := p.end
		p.mu.Unlock()
		return end, nil
	}
	pos, limit := s.lookupTime(t), s.size
	s.ref()
	p.mu.Unlock()
	defer s.unref()
	var hb [headerSize]byte
	for pos < limit {
		h, err := readBatchAt(s.f, pos, limit, -1, false, hb[:], nil)
		if err != nil {
			return 0, fmt.Errorf("%w: segment %s at byte %d: %v", ErrCorrupt, s.path, pos, err)
		}
		if !h.control() && h.hasTime() && h.maxTime >= t {
			return h.base, nil
		}
		pos += h.size()
	}
	return s.end, nil
}

// enforceRetention deletes whole old segments (never the active one) older
// than the age limit or beyond the size limit.
func (p *partition) enforceRetention(now time.Time) (deleted int) {
	r := p.t.cfg.Retention
	if r.Age <= 0 && r.Bytes <= 0 {
		return 0
	}
	var doomed []*segment
	p.mu.Lock()
	var total int64
	for _, s := range p.segs {
		total += s.size
	}
	cutoff := now.Add(-r.Age).UnixMilli()
	for len(p.segs) > 1 {
		s := p.segs[0]
		old := r.Age > 0 && s.lastAppend < cutoff
		big := r.Bytes > 0 && total > r.Bytes
		if !old && !big {
			break
		}
		total -= s.size
		p.segs = p.segs[1:]
		doomed = append(doomed, s)
	}
	if len(doomed) > 0 {
		oldest := p.segs[0].base
		for id, off := range p.aborted {
			if off < oldest {
				delete(p.aborted, id)
			}
		}
		p.broadcastLocked() // readers below the new oldest offset learn it now
	}
	p.mu.Unlock()
	for _, s := range doomed {
		s.removed.Store(true)
		s.unref()
	}
	return len(doomed)
}

// close syncs the partition and releases its files. Readers blocked in read
// return ErrClosed.
func (p *partition) close() error {
	err := p.syncIfDirty()
	if errors.Is(err, ErrClosed) {
		err = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.releaseTailLocked()
	p.broadcastLocked()
	for _, s := range p.segs {
		s.unref()
	}
	return err
}

// stats snapshots the partition's metrics.
func (p *partition) stats() PartitionStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := PartitionStats{
		Topic:        p.t.name,
		Partition:    p.id,
		EndOffset:    p.end,
		StableOffset: p.visible,
		OldestOffset: p.segs[0].base,
		Segments:     len(p.segs),
	}
	for _, s := range p.segs {
		st.Bytes += s.size
	}
	st.Appends = p.appends.Load()
	st.AppendedRecords = p.records.Load()
	st.AppendedBytes = p.bytes.Load()
	st.Syncs = p.syncs.Load()
	st.DuplicateAppends = p.dups.Load()
	st.TailReads = p.tailHits.Load()
	st.TailBatches = len(p.tail)
	return st
}

// syncDir makes directory entries (new, renamed files) durable.
func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}
