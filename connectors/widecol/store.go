package widecol

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// FormatVersion is the on-disk format this build writes and reads. It
// covers the key encoding, the value encoding and the catalog encoding.
const FormatVersion = 1

// SyncMode says when committed batches reach stable storage.
type SyncMode int

const (
	// SyncEveryBatch fsyncs the write-ahead log before Commit returns, so
	// an acknowledged batch survives a crash. Concurrent commits share
	// fsyncs (group commit).
	SyncEveryBatch SyncMode = iota
	// SyncInterval commits without waiting for fsync; a background
	// goroutine syncs the log every Options.SyncInterval. A crash loses at
	// most the batches of the last interval, each batch whole or not at all.
	SyncInterval
)

// String returns the mode's name.
func (m SyncMode) String() string {
	switch m {
	case SyncEveryBatch:
		return "every-batch"
	case SyncInterval:
		return "interval"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Options configures a Store. The zero value works.
type Options struct {
	// FS is the file system all files go through; nil means vfs.Default.
	FS vfs.FS
	// CacheSize is the block cache size in bytes; 0 means 64 MiB.
	CacheSize int64
	// MemTableSize is the size of one memtable in bytes; 0 means
	// CacheSize/8, clamped to [4 MiB, 64 MiB].
	//
	// NB: Pebble reserves the memory of live memtables (up to two while one
	// flushes) inside the block cache, so a memtable larger than a quarter
	// of the cache leaves no room for cached blocks and reads miss.
	MemTableSize uint64
	// Sync is the fsync policy.
	Sync SyncMode
	// SyncInterval is the period of background syncs under SyncInterval;
	// 0 means 100ms.
	SyncInterval time.Duration
	// Now is the clock used for TTLs; nil means time.Now.
	Now func() time.Time
	// Logger receives Pebble's log lines; nil means Pebble's default.
	Logger pebble.Logger
}

// Store is a wide-column store on one Pebble database. All methods are
// safe for concurrent use.
type Store struct {
	db   *pebble.DB
	opts Options
	now  func() time.Time

	// mu guards the catalog. Commits hold it shared so that a table cannot
	// be dropped under a commit; DDL and Sweep hold it exclusively.
	mu      sync.RWMutex
	byID    map[uint32]*Table
	byName  map[[2]string]*Table
	nextID  uint32
	closed  atomic.Bool
	dirty   atomic.Bool
	stop    chan struct{}
	stopped chan struct{}

	rowsWritten, bytesWritten, rowsRead, bytesRead, batches atomic.Uint64
}

// Open opens or creates the store in dir. Opening a directory written with
// another format version fails with ErrIncompatibleFormat. The Store must
// be closed with Close.
func Open(ctx context.Context, dir string, opts *Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 64 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = uint64(min(max(o.CacheSize/8, 4<<20), 64<<20))
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = 100 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		FS:                 o.FS,
		Cache:              cache,
		MemTableSize:       o.MemTableSize,
		Merger:             newMerger(o.Now),
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             o.Logger,
		// The log is written back as it grows, so that the sync ending
		// a large batch, or closing a log when a memtable is full, has
		// little left to write.
		WALBytesPerSync: 1 << 20,
	}
	// Large values (append-only chunks, join state) go to blob files
	// once, at flush; compactions then move references, not bytes.
	po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{Enabled: true, MinimumSize: 4 << 10, MaxBlobReferenceDepth: 10,
			RewriteMinimumAge: time.Minute, TargetGarbageRatio: 0.3}
	}
	// Only the bottom level is compressed. Once a store has grown it holds
	// most of the data, while tables of the levels above are rewritten
	// soon after they are written: compressing them spent about a tenth
	// of the CPU of write-heavy views for space held briefly.
	po.ApplyCompressionSettings(bottomCompression)
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("widecol: open %s: %w", dir, err)
	}
	s := &Store{db: db, opts: o, now: o.Now, byID: map[uint32]*Table{}, byName: map[[2]string]*Table{}}
	if err := s.checkFormat(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadCatalog(); err != nil {
		db.Close()
		return nil, err
	}
	if o.Sync == SyncInterval {
		s.stop, s.stopped = make(chan struct{}), make(chan struct{})
		go s.syncLoop()
	}
	return s, nil
}

// bottomCompression leaves the data blocks of every level but the last
// uncompressed. Value blocks, which hold large values (also in blob
// files, written once at flush and never again), are compressed at every
// level.
func bottomCompression() pebble.DBCompressionSettings {
	upper := *sstable.NoCompression
	upper.Name = "values"
	upper.ValueBlocks = sstable.SnappyCompression.ValueBlocks
	cs := pebble.UniformDBCompressionSettings(&upper)
	cs.Name = "bottom"
	cs.Levels[len(cs.Levels)-1] = sstable.SnappyCompression
	return cs
}

func (s *Store) checkFormat() error {
	v, closer, err := s.db.Get(formatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		it, err := s.db.NewIter(nil)
		if err != nil {
			return fmt.Errorf("widecol: check format: %w", err)
		}
		empty := !it.First()
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return fmt.Errorf("widecol: check format: %w", err)
		}
		if !empty {
			return fmt.Errorf("%w: data directory has no format marker, this build reads version %d", ErrIncompatibleFormat, FormatVersion)
		}
		if err := s.db.Set(formatKey, binary.AppendUvarint(nil, FormatVersion), pebble.Sync); err != nil {
			return fmt.Errorf("widecol: write format marker: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("widecol: read format marker: %w", err)
	}
	defer closer.Close()
	ver, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return fmt.Errorf("%w: unreadable format marker %x, this build reads version %d", ErrIncompatibleFormat, v, FormatVersion)
	}
	if ver != FormatVersion {
		return fmt.Errorf("%w: data directory has version %d, this build reads version %d", ErrIncompatibleFormat, ver, FormatVersion)
	}
	return nil
}

func (s *Store) loadCatalog() error {
	if v, closer, err := s.db.Get(seqKey); err == nil {
		if len(v) == 4 {
			s.nextID = binary.BigEndian.Uint32(v)
		}
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("widecol: read table sequence: %w", err)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: catalogPrefix, UpperBound: catalogPrefixUB})
	if err != nil {
		return fmt.Errorf("widecol: load catalog: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		t, err := decodeTableDef(it.Value())
		if err != nil {
			it.Close()
			return fmt.Errorf("widecol: catalog key %x: %w", it.Key(), err)
		}
		if !bytes.Equal(catalogKey(t.ID), it.Key()) {
			it.Close()
			return fmt.Errorf("%w: catalog key %x holds table %s with id %d", ErrCorrupt, it.Key(), t, t.ID)
		}
		s.byID[t.ID] = t
		s.byName[[2]string{t.Keyspace, t.Name}] = t
		if t.ID >= s.nextID {
			s.nextID = t.ID + 1
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("widecol: load catalog: %w", err)
	}
	return nil
}

func (s *Store) syncLoop() {
	defer close(s.stopped)
	t := time.NewTicker(s.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if s.dirty.Swap(false) {
				if err := s.db.LogData(nil, pebble.Sync); err != nil {
					s.dirty.Store(true)
				}
			}
		}
	}
}

// Sync makes every batch committed so far durable. It is only needed
// under SyncInterval.
func (s *Store) Sync(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.dirty.Store(false)
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("widecol: sync: %w", err)
	}
	return nil
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// Close stops the background sync, syncs the log and closes the database.
// Iterators and snapshots must be closed first. Close is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.stop != nil {
		close(s.stop)
		<-s.stopped
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.LogData(nil, pebble.Sync)
	return errors.Join(err, s.db.Close())
}

// CreateTable creates a table and persists its definition. It fails with
// ErrTableExists if (keyspace, name) is taken.
func (s *Store) CreateTable(ctx context.Context, spec TableSpec) (*Table, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byName[[2]string{spec.Keyspace, spec.Name}]; ok {
		return nil, fmt.Errorf("%w: %s.%s", ErrTableExists, spec.Keyspace, spec.Name)
	}
	t, err := newTable(spec, s.nextID)
	if err != nil {
		return nil, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(catalogKey(t.ID), encodeTableDef(t), nil)
	_ = b.Set(seqKey, binary.BigEndian.AppendUint32(nil, t.ID+1), nil)
	// A fresh id never held rows, but clear its range in case an older
	// build left some behind.
	lo, hi := t.bounds()
	_ = b.DeleteRange(lo, hi, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("widecol: create table %s: %w", t, err)
	}
	s.nextID++
	s.byID[t.ID] = t
	s.byName[[2]string{t.Keyspace, t.Name}] = t
	return t, nil
}

// DropTable deletes a table's definition and all its rows in one atomic
// write (a range deletion; disk space is reclaimed by compaction).
func (s *Store) DropTable(ctx context.Context, keyspace, name string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byName[[2]string{keyspace, name}]
	if !ok {
		return fmt.Errorf("%w: %s.%s", ErrTableNotFound, keyspace, name)
	}
	b := s.db.NewBatch()
	defer b.Close()
	lo, hi := t.bounds()
	_ = b.DeleteRange(lo, hi, nil)
	_ = b.Delete(catalogKey(t.ID), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("widecol: drop table %s: %w", t, err)
	}
	delete(s.byID, t.ID)
	delete(s.byName, [2]string{keyspace, name})
	return nil
}

// Table returns the named table, or ErrTableNotFound.
func (s *Store) Table(keyspace, name string) (*Table, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.byName[[2]string{keyspace, name}]
	if !ok {
		return nil, fmt.Errorf("%w: %s.%s", ErrTableNotFound, keyspace, name)
	}
	return t, nil
}

// Tables returns all tables, sorted by keyspace and name. An empty
// keyspace means all keyspaces.
func (s *Store) Tables(keyspace string) []*Table {
	s.mu.RLock()
	out := make([]*Table, 0, len(s.byID))
	for _, t := range s.byID {
		if keyspace == "" || t.Keyspace == keyspace {
			out = append(out, t)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Keyspace != out[j].Keyspace {
			return out[i].Keyspace < out[j].Keyspace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Metrics is a point-in-time copy of the store's figures.
type Metrics struct {
	// RowsWritten and BytesWritten count rows upserted or deleted and the
	// bytes of their keys and values, in committed batches.
	RowsWritten, BytesWritten uint64
	// BatchesCommitted counts successful commits.
	BatchesCommitted uint64
	// RowsRead and BytesRead count rows returned by reads and the bytes of
	// keys and values examined.
	RowsRead, BytesRead uint64
	// Compactions is the number of compactions so far; CompactionsInProgress
	// those running now; CompactionDebt the estimated bytes still to compact.
	Compactions, CompactionsInProgress int64
	CompactionDebt                     uint64
	// Flushes is the number of memtable flushes so far.
	Flushes int64
	// CacheCapacity is the configured block cache size; CacheSize the bytes
	// in use; CacheHits and CacheMisses count block lookups.
	CacheCapacity, CacheSize, CacheHits, CacheMisses int64
	// MemTableSize is the bytes held by memtables.
	MemTableSize uint64
	// DiskUsage is the total disk space used by the database.
	DiskUsage uint64
	// Tables lists each table's estimated disk use.
	Tables []TableMetrics
}

// TableMetrics is the estimated disk use of one table.
type TableMetrics struct {
	Keyspace, Name string
	ID             uint32
	// DiskBytes estimates the on-disk bytes of the table's rows (data in
	// memtables is not counted).
	DiskBytes uint64
}

// Metrics returns the store's counters and Pebble's figures.
func (s *Store) Metrics() Metrics {
	m := Metrics{
		RowsWritten:      s.rowsWritten.Load(),
		BytesWritten:     s.bytesWritten.Load(),
		BatchesCommitted: s.batches.Load(),
		RowsRead:         s.rowsRead.Load(),
		BytesRead:        s.bytesRead.Load(),
		CacheCapacity:    s.opts.CacheSize,
	}
	if s.closed.Load() {
		return m
	}
	pm := s.db.Metrics()
	m.Compactions = pm.Compact.Count
	m.CompactionsInProgress = pm.Compact.NumInProgress
	m.CompactionDebt = pm.Compact.EstimatedDebt
	m.Flushes = pm.Flush.Count
	m.CacheSize = pm.BlockCache.Size
	m.CacheHits = pm.BlockCache.Hits
	m.CacheMisses = pm.BlockCache.Misses
	m.MemTableSize = pm.MemTable.Size
	m.DiskUsage = pm.DiskSpaceUsage()
	for _, t := range s.Tables("") {
		lo, hi := t.bounds()
		n, _ := s.db.EstimateDiskUsage(lo, hi)
		m.Tables = append(m.Tables, TableMetrics{Keyspace: t.Keyspace, Name: t.Name, ID: t.ID, DiskBytes: n})
	}
	return m
}

// Compact compacts the key range of a table, which reclaims the space of
// deleted, dropped-partition and swept rows. It may take long on big
// tables.
func (s *Store) Compact(ctx context.Context, t *Table) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	lo, hi := t.bounds()
	if err := s.db.Compact(ctx, lo, hi, true); err != nil {
		return fmt.Errorf("widecol: compact %s: %w", t, err)
	}
	return nil
}

// Flush writes memtables to sstables (useful before Compact or to measure
// disk use).
func (s *Store) Flush(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.db.Flush()
}
