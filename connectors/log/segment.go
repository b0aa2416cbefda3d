package log

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

const segSuffix = ".seg"

// segmentName returns the file name of the segment whose first offset is base.
func segmentName(base int64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

// parseSegmentName is the inverse of segmentName.
func parseSegmentName(name string) (int64, bool) {
	if !strings.HasSuffix(name, segSuffix) || len(name) != 20+len(segSuffix) {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSuffix(name, segSuffix), 10, 64)
	return v, err == nil && v >= 0
}

// indexEntry maps an offset to the byte position of the batch starting there.
type indexEntry struct {
	off int64
	pos int64
}

// timeEntry records that the batch at (off, pos) raised the segment's running
// maximum event time to maxTime: batches before it all have smaller times.
type timeEntry struct {
	maxTime int64
	off     int64
	pos     int64
}

// segment is one file of a partition. Fields other than base, path and f are
// guarded by the partition's mutex. Bytes below size are immutable once
// written, so readers read them without the lock.
type segment struct {
	base int64
	path string
	f    vfs.File

	size        int64 // bytes written
	end         int64 // offset after the last batch
	lastIndexed int64 // position of the last index entry
	index       []indexEntry
	tindex      []timeEntry
	maxTime     int64 // running max event time; valid if hasTime
	hasTime     bool
	lastAppend  int64 // append time (Unix ms) of the newest batch

	refs    atomic.Int32 // one for the partition list, one per in-flight user
	removed atomic.Bool  // delete the file when the last reference goes
	fs      vfs.FS
}

func (s *segment) ref() { s.refs.Add(1) }

// unref drops a reference; the last one closes the file and, for a segment
// removed by retention or drop, deletes it.
func (s *segment) unref() {
	if s.refs.Add(-1) != 0 {
		return
	}
	_ = s.f.Close()
	if s.removed.Load() {
		_ = s.fs.Remove(s.path)
	}
}

// noteBatch updates the in-memory indexes for a batch written at pos.
func (s *segment) noteBatch(h *header, pos int64, indexInterval int64) {
	if len(s.index) == 0 || pos-s.lastIndexed >= indexInterval {
		s.index = append(s.index, indexEntry{off: h.base, pos: pos})
		s.lastIndexed = pos
	}
	if h.hasTime() && !h.control() {
		if !s.hasTime || h.maxTime > s.maxTime {
			if len(s.tindex) == 0 || s.tindex[len(s.tindex)-1].pos != pos {
				s.tindex = append(s.tindex, timeEntry{maxTime: h.maxTime, off: h.base, pos: pos})
			}
			s.maxTime, s.hasTime = h.maxTime, true
		}
	}
	if h.appendTime > s.lastAppend {
		s.lastAppend = h.appendTime
	}
	s.size = pos + h.size()
	s.end = h.end()
}

// lookup returns the position of the last indexed batch at or before off.
func (s *segment) lookup(off int64) int64 {
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].off > off })
	if i == 0 {
		return 0
	}
	return s.index[i-1].pos
}

// lookupTime returns the position from which to scan for the first batch
// whose max event time is at least t.
func (s *segment) lookupTime(t int64) int64 {
	i := sort.Search(len(s.tindex), func(i int) bool { return s.tindex[i].maxTime >= t })
	if i == 0 {
		return 0
	}
	return s.tindex[i-1].pos
}

// scanResult describes a scanned segment.
type scanResult struct {
	validSize int64 // bytes up to the end of the last valid batch
	torn      bool  // the bytes after validSize are a torn or corrupt tail
}

// scanSegment walks the batches of a segment file of the given size, calling
// fn for each valid header. With verify, payload CRCs are checked too. A bad
// batch followed by a valid one is corruption (ErrCorrupt); a bad batch with
// nothing valid after it is a torn tail, reported through scanResult when
// tailOK and as ErrCorrupt otherwise.
func scanSegment(f io.ReaderAt, name string, base, size int64, verify, tailOK bool, fn func(h *header, pos int64) error) (scanResult, error) {
	var hb [headerSize]byte
	var payload []byte
	pos, next := int64(0), base
	for pos < size {
		h, err := readBatchAt(f, pos, size, next, verify, hb[:], &payload)
		if err != nil {
			if tailOK && (!validBatchAfter(f, pos, size, verify) || zeroBlockIn(f, pos, size)) {
				return scanResult{validSize: pos, torn: true}, nil
			}
			return scanResult{validSize: pos}, fmt.Errorf("%w: segment %s at byte %d: %v", ErrCorrupt, name, pos, err)
		}
		if fn != nil {
			if err := fn(&h, pos); err != nil {
				return scanResult{validSize: pos}, err
			}
		}
		pos += h.size()
		next = h.end()
	}
	return scanResult{validSize: pos}, nil
}

// readBatchAt reads and validates the batch header at pos (and, with
// verify, its payload CRC). wantBase < 0 accepts any base offset.
func readBatchAt(f io.ReaderAt, pos, size, wantBase int64, verify bool, hb []byte, payload *[]byte) (header, error) {
	if size-pos < headerSize {
		return header{}, fmt.Errorf("short batch header (%d bytes left)", size-pos)
	}
	if _, err := f.ReadAt(hb[:headerSize], pos); err != nil {
		return header{}, fmt.Errorf("reading header: %w", err)
	}
	h, err := decodeHeader(hb)
	if err != nil {
		return h, err
	}
	if wantBase >= 0 && h.base != wantBase {
		return h, fmt.Errorf("base offset %d, want %d", h.base, wantBase)
	}
	if pos+h.size() > size {
		return h, fmt.Errorf("batch of %d bytes runs past end of segment", h.size())
	}
	if verify {
		if cap(*payload) < int(h.payloadLen) {
			*payload = make([]byte, h.payloadLen)
		}
		p := (*payload)[:h.payloadLen]
		if _, err := f.ReadAt(p, pos+headerSize); err != nil {
			return h, fmt.Errorf("reading payload: %w", err)
		}
		if !verifyCRC(hb, p) {
			return h, fmt.Errorf("CRC mismatch")
		}
	}
	return h, nil
}

// zeroBlockIn reports whether the bytes from pos to the end of the batch
// declared there (or of the file) include a zero-filled stretch of at least
// zeroRun bytes within one 4 KiB page: the mark of a page that never reached
// the disk before a crash, as opposed to bit rot. Such damage is a torn tail
// even if complete batches follow, since data after an unsynced hole was
// never acknowledged as durable.
func zeroBlockIn(f io.ReaderAt, pos, size int64) bool {
	const page, zeroRun = 4096, 64
	end := size
	var hb [headerSize]byte
	if size-pos >= headerSize {
		if _, err := f.ReadAt(hb[:], pos); err == nil {
			if h, err := decodeHeader(hb[:]); err == nil && pos+h.size() < end {
				end = pos + h.size()
			}
		}
	}
	buf := make([]byte, page)
	for b := pos - pos%page; b < end; b += page {
		lo, hi := max(b, pos), min(b+page, end)
		if hi-lo < zeroRun {
			continue
		}
		p := buf[:hi-lo]
		if _, err := f.ReadAt(p, lo); err != nil {
			return false
		}
		allZero := true
		for _, c := range p {
			if c != 0 {
				allZero = false
				break
			}
		}
		if allZero {
			return true
		}
	}
	return false
}

// validBatchAfter reports whether a valid batch starts right after the
// (possibly damaged) batch at pos, judging by its declared length. It is how
// a corrupt batch in the middle of a segment is told from a torn tail.
func validBatchAfter(f io.ReaderAt, pos, size int64, verify bool) bool {
	var hb [headerSize]byte
	if size-pos < headerSize {
		return false
	}
	if _, err := f.ReadAt(hb[:], pos); err != nil {
		return false
	}
	h, err := decodeHeader(hb[:])
	if err != nil || pos+h.size() >= size {
		return false
	}
	var payload []byte
	_, err = readBatchAt(f, pos+h.size(), size, h.end(), verify, hb[:], &payload)
	return err == nil
}
