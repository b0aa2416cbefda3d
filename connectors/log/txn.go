package log

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The transaction state log (txn.log) holds one 16-byte record per
// committed transaction: id, kind, CRC32C of the first 12 bytes. Writing and
// syncing the commit record is the commit point. On open, transactions found
// open in partitions are finished with commit markers if they have a commit
// record and abort markers otherwise, and the file is then rewritten to hold
// only the highest transaction id.
const (
	txnFile       = "txn.log"
	txnRecordSize = 16
	txnCommitted  = 1
	txnHighWater  = 2
)

func encodeTxnRecord(id int64, kind byte) []byte {
	b := make([]byte, txnRecordSize)
	binary.LittleEndian.PutUint64(b, uint64(id))
	b[8] = kind
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
	return b
}

// decodeTxnLog returns the committed ids and the highest id in a txn log,
// ignoring a torn tail.
func decodeTxnLog(b []byte) (committed map[int64]bool, maxID int64) {
	committed = map[int64]bool{}
	for len(b) >= txnRecordSize {
		r := b[:txnRecordSize]
		b = b[txnRecordSize:]
		if crc32.Checksum(r[:12], castagnoli) != binary.LittleEndian.Uint32(r[12:]) {
			break
		}
		id := int64(binary.LittleEndian.Uint64(r))
		if r[8] == txnCommitted {
			committed[id] = true
		}
		if id > maxID {
			maxID = id
		}
	}
	return committed, maxID
}

// recoverTxns finishes the transactions a crash left open, then resets the
// transaction log.
func (l *Log) recoverTxns() error {
	path := l.path(txnFile)
	b, err := readFile(l.fs, path)
	if err != nil && !oserrorIsNotExist(err) {
		return err
	}
	committed, maxID := decodeTxnLog(b)
	for _, t := range l.topics {
		for _, p := range t.parts {
			p.mu.Lock()
			ids := make([]int64, 0, len(p.open))
			for id := range p.open {
				ids = append(ids, id)
			}
			if p.maxTxn > maxID {
				maxID = p.maxTxn
			}
			p.mu.Unlock()
			for _, id := range ids {
				if err := p.writeMarker(id, committed[id]); err != nil {
					return fmt.Errorf("finishing transaction %d in %s: %w", id, p, err)
				}
			}
			if len(ids) > 0 {
				p.mu.Lock()
				end := p.end
				p.mu.Unlock()
				if err := p.syncTo(end); err != nil {
					return err
				}
			}
		}
	}
	if err := writeFileAtomic(l.fs, l.dir, txnFile, encodeTxnRecord(maxID, txnHighWater)); err != nil {
		return err
	}
	f, err := l.fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	l.txnLog, l.txnSize = f, txnRecordSize
	l.nextTxn.Store(maxID)
	return nil
}

// Txn is an atomic multi-batch append across partitions and topics: readers
// see all of its batches, once committed, or none. Batches appended in a
// transaction occupy offsets at once, but readers stop before the first
// batch of an open transaction (the last stable offset) and skip the batches
// of aborted ones. A transaction open when the process dies is aborted on
// the next Open. A Txn is safe for concurrent use.
type Txn struct {
	l     *Log
	id    int64
	mu    sync.Mutex
	parts []*partition
	done  bool
}

// BeginTxn starts a transaction.
func (l *Log) BeginTxn() (*Txn, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return &Txn{l: l, id: l.nextTxn.Add(1)}, nil
}

// ID returns the transaction's id, unique within the log.
func (tx *Txn) ID() int64 { return tx.id }

// Append appends batch to a partition of t as part of the transaction and
// returns its base offset. It takes over the caller's reference to batch.
// The batch is written but not synced; Commit syncs. With opts.WriterID, a
// sequence the partition already committed is acknowledged with its
// original offset and not written again.
func (tx *Txn) Append(ctx context.Context, t *Topic, partition int, batch arrow.RecordBatch, opts AppendOptions) (int64, error) {
	if batch != nil {
		defer batch.Release()
	}
	if t == nil || t.l != tx.l {
		return 0, fmt.Errorf("%w: topic of another log", ErrInvalidArgument)
	}
	p, err := t.partition(partition)
	if err != nil {
		return 0, err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.done {
		return 0, ErrTxnDone
	}
	off, err := t.append(ctx, partition, batch, opts, tx.id)
	if err != nil {
		return 0, err
	}
	found := false
	for _, q := range tx.parts {
		found = found || q == p
	}
	if !found {
		tx.parts = append(tx.parts, p)
	}
	return off, nil
}

// Commit makes the transaction's batches durable and visible, atomically.
// It syncs every partition written, whatever its sync policy, then writes
// and syncs the commit record (the commit point), then writes commit
// markers. If Commit fails after the commit point, the next Open completes
// it. ctx is checked before the commit point.
func (tx *Txn) Commit(ctx context.Context) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.done {
		return ErrTxnDone
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, p := range tx.parts {
		p.mu.Lock()
		end := p.end
		p.mu.Unlock()
		if err := p.syncTo(end); err != nil {
			return fmt.Errorf("log: commit transaction %d: %w", tx.id, err)
		}
	}
	tx.done = true
	if len(tx.parts) == 0 {
		return nil
	}
	l := tx.l
	l.txnMu.Lock()
	_, err := l.txnLog.WriteAt(encodeTxnRecord(tx.id, txnCommitted), l.txnSize)
	if err == nil {
		l.txnSize += txnRecordSize
		err = l.txnLog.SyncData()
	}
	l.txnMu.Unlock()
	if err != nil {
		tx.abortLocked()
		return fmt.Errorf("log: commit transaction %d: %w", tx.id, err)
	}
	// The transaction's rows become visible in all its partitions at
	// once for readers that take a consistent cut (Log.Consistent).
	ends := make([]int64, len(tx.parts))
	l.visMu.Lock()
	for i, p := range tx.parts {
		end, err := p.writeMarkerVisible(tx.id, true)
		if err != nil {
			l.visMu.Unlock()
			return fmt.Errorf("log: commit transaction %d (committed; finished on next open): %w", tx.id, err)
		}
		ends[i] = end
	}
	l.visMu.Unlock()
	for i, p := range tx.parts {
		if err := p.waitDurable(ends[i]); err != nil {
			return fmt.Errorf("log: commit transaction %d (committed; finished on next open): %w", tx.id, err)
		}
	}
	return nil
}

// Abort discards the transaction: its batches are never visible. Aborting a
// finished transaction returns ErrTxnDone.
func (tx *Txn) Abort(ctx context.Context) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.done {
		return ErrTxnDone
	}
	tx.done = true
	return tx.abortLocked()
}

func (tx *Txn) abortLocked() error {
	var first error
	for _, p := range tx.parts {
		if err := p.writeMarker(tx.id, false); err != nil && first == nil {
			first = fmt.Errorf("log: abort transaction %d: %w", tx.id, err)
		}
	}
	return first
}
