package widecol

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2"
)

// WriteOptions tunes one write.
type WriteOptions struct {
	// TTL overrides the table's default time to live for the written
	// cells: 0 keeps the table default, a negative value means no expiry.
	TTL time.Duration
}

// Row is one row as Go values, keyed by column name. Values use the Go
// types accepted by key arguments (see Range); nil is NULL.
type Row map[string]any

// Batch collects upserts and deletes, possibly on several tables, and
// commits them atomically: after a crash or to any reader, either all of
// a committed batch is visible or none of it.
//
// A Batch is not safe for concurrent use. If any operation fails (for
// example a record whose types do not match the table), the batch is
// poisoned: Commit writes nothing and returns that error. A Batch must be
// closed with Close, also after Commit.
type Batch struct {
	s  *Store
	pb *pebble.Batch
	// segs are writes absorbed (Absorb) and those before them, in order,
	// all before pb's: Commit joins them.
	segs   []*pebble.Batch
	tables map[uint32]*Table
	err    error
	done   bool
	rows   uint64
	key    []byte
	val    []byte
	sc     scalar
}

// NewBatchSize returns an empty batch with room for about size bytes of
// writes, for a caller that knows it will write much.
func (s *Store) NewBatchSize(size int) *Batch {
	return &Batch{s: s, pb: s.db.NewBatchWithSize(size), tables: map[uint32]*Table{}}
}

// NewBatch returns an empty batch.
func (s *Store) NewBatch() *Batch {
	return &Batch{s: s, pb: s.db.NewBatch(), tables: map[uint32]*Table{}}
}

func (b *Batch) start(t *Table) error {
	if b.done || b.pb == nil {
		return ErrClosed
	}
	if b.err != nil {
		return b.err
	}
	if t == nil {
		return b.fail(fmt.Errorf("%w: nil table", ErrTableNotFound))
	}
	b.tables[t.ID] = t
	return nil
}

func (b *Batch) fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return err
}

func (b *Batch) expiry(t *Table, o *WriteOptions) int64 {
	ttl := t.TTL
	if o != nil && o.TTL != 0 {
		ttl = o.TTL
	}
	if ttl <= 0 {
		return 0
	}
	return b.s.now().Add(ttl).UnixNano()
}

type srcCol struct {
	tcol int
	arr  arrow.Array
}

// Upsert writes the rows of rec into t. rec's columns are matched to the
// table's by name and must have the table's types; every key column must
// be present. Columns of the table missing from rec keep their stored
// cells (a partial upsert); NULLs in rec overwrite. The batch keeps no
// reference to rec after Upsert returns.
func (b *Batch) Upsert(t *Table, rec arrow.RecordBatch, o *WriteOptions) error {
	if err := b.start(t); err != nil {
		return err
	}
	if rec == nil {
		return b.fail(fmt.Errorf("%w: table %s: nil record batch", ErrSchemaMismatch, t))
	}
	if t.appendOnly {
		return b.Append(t, rec)
	}
	// Validate everything before touching the Pebble batch.
	seen := make([]bool, len(t.kinds))
	var vals []srcCol
	keys := make([]arrow.Array, len(t.keyCols))
	for i, f := range rec.Schema().Fields() {
		tc := t.Column(f.Name)
		if tc < 0 {
			return b.fail(fmt.Errorf("%w: table %s has no column %q", ErrSchemaMismatch, t, f.Name))
		}
		if seen[tc] {
			return b.fail(fmt.Errorf("%w: table %s: column %q given twice", ErrSchemaMismatch, t, f.Name))
		}
		seen[tc] = true
		tf := t.Schema.Field(tc)
		arr := rec.Column(i)
		if !arrow.TypeEqual(arr.DataType(), tf.Type) || !arrow.TypeEqual(f.Type, tf.Type) {
			return b.fail(fmt.Errorf("%w: table %s, column %q: got type %s, want %s", ErrSchemaMismatch, t, f.Name, arr.DataType(), tf.Type))
		}
		if !tf.Nullable && arr.NullN() > 0 {
			return b.fail(fmt.Errorf("%w: table %s, column %q: NULL in a NOT NULL column", ErrSchemaMismatch, t, f.Name))
		}
		if t.isKey[tc] {
			for j, kc := range t.keyCols {
				if kc.col == tc {
					keys[j] = arr
				}
			}
		} else {
			vals = append(vals, srcCol{tc, arr})
		}
	}
	for j, kc := range t.keyCols {
		if keys[j] == nil {
			return b.fail(fmt.Errorf("%w: table %s: key column %q missing", ErrSchemaMismatch, t, t.Schema.Field(kc.col).Name))
		}
	}
	slices.SortFunc(vals, func(a, c srcCol) int { return a.tcol - c.tcol })
	full := len(vals)+len(t.keyCols) == len(t.kinds)
	exp := b.expiry(t, o)
	n := int(rec.NumRows())
	for r := 0; r < n; r++ {
		key := append(b.key[:0], t.prefix...)
		for j, kc := range t.keyCols {
			b.sc.fromArray(keys[j], r, t.kinds[kc.col])
			key = appendKey(key, t.kinds[kc.col], &b.sc, kc.desc)
		}
		val := appendHeader(b.val[:0], exp)
		for _, c := range vals {
			k := t.kinds[c.tcol]
			b.sc.fromArray(c.arr, r, k)
			if b.sc.null && full {
				continue // absent reads as NULL and Set replaces the row
			}
			val = appendCell(val, c.tcol, k, &b.sc, exp)
		}
		b.key, b.val = key, val
		var err error
		if full {
			err = b.pb.Set(key, val, nil)
		} else {
			err = b.pb.Merge(key, val, nil)
		}
		if err != nil {
			return b.fail(fmt.Errorf("widecol: table %s: %w", t, err))
		}
	}
	b.rows += uint64(n)
	return nil
}

// UpsertRow writes one row given as Go values. Every key column must be
// present; other columns not in row keep their stored cells.
func (b *Batch) UpsertRow(t *Table, row Row, o *WriteOptions) error {
	if err := b.start(t); err != nil {
		return err
	}
	if t.appendOnly {
		return b.fail(errAppendOnly(t, "rows are written as records with Append"))
	}
	vals := make([]scalar, len(t.kinds))
	given := make([]bool, len(t.kinds))
	for name, v := range row {
		tc := t.Column(name)
		if tc < 0 {
			return b.fail(fmt.Errorf("%w: table %s has no column %q", ErrSchemaMismatch, t, name))
		}
		f := t.Schema.Field(tc)
		sc, err := fromGo(v, f.Type)
		if err != nil {
			return b.fail(fmt.Errorf("%w: table %s, column %q: %v", ErrSchemaMismatch, t, name, err))
		}
		if sc.null && !f.Nullable {
			return b.fail(fmt.Errorf("%w: table %s, column %q: NULL in a NOT NULL column", ErrSchemaMismatch, t, name))
		}
		vals[tc], given[tc] = sc, true
	}
	key := append(b.key[:0], t.prefix...)
	for _, kc := range t.keyCols {
		if !given[kc.col] {
			return b.fail(fmt.Errorf("%w: table %s: key column %q missing", ErrSchemaMismatch, t, t.Schema.Field(kc.col).Name))
		}
		key = appendKey(key, t.kinds[kc.col], &vals[kc.col], kc.desc)
	}
	full := len(row) == len(t.kinds)
	exp := b.expiry(t, o)
	val := appendHeader(b.val[:0], exp)
	for c := range t.kinds {
		if t.isKey[c] || !given[c] || (full && vals[c].null) {
			continue
		}
		val = appendCell(val, c, t.kinds[c], &vals[c], exp)
	}
	b.key, b.val = key, val
	var err error
	if full {
		err = b.pb.Set(key, val, nil)
	} else {
		err = b.pb.Merge(key, val, nil)
	}
	if err != nil {
		return b.fail(fmt.Errorf("widecol: table %s: %w", t, err))
	}
	b.rows++
	return nil
}

// Delete deletes the rows whose keys are given by rec, which must hold
// every key column of t (by name, with the table's types); other columns
// are ignored. Deleting a missing row is not an error.
func (b *Batch) Delete(t *Table, rec arrow.RecordBatch) error {
	if err := b.start(t); err != nil {
		return err
	}
	if rec == nil {
		return b.fail(fmt.Errorf("%w: table %s: nil record batch", ErrSchemaMismatch, t))
	}
	if t.appendOnly {
		return b.fail(errAppendOnly(t, "rows cannot be deleted one by one"))
	}
	keys := make([]arrow.Array, len(t.keyCols))
	for j, kc := range t.keyCols {
		f := t.Schema.Field(kc.col)
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) != 1 {
			return b.fail(fmt.Errorf("%w: table %s: key column %q missing or repeated", ErrSchemaMismatch, t, f.Name))
		}
		arr := rec.Column(idx[0])
		if !arrow.TypeEqual(arr.DataType(), f.Type) {
			return b.fail(fmt.Errorf("%w: table %s, column %q: got type %s, want %s", ErrSchemaMismatch, t, f.Name, arr.DataType(), f.Type))
		}
		keys[j] = arr
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		key := append(b.key[:0], t.prefix...)
		for j, kc := range t.keyCols {
			b.sc.fromArray(keys[j], r, t.kinds[kc.col])
			key = appendKey(key, t.kinds[kc.col], &b.sc, kc.desc)
		}
		b.key = key
		if err := b.pb.Delete(key, nil); err != nil {
			return b.fail(fmt.Errorf("widecol: table %s: %w", t, err))
		}
	}
	b.rows += uint64(rec.NumRows())
	return nil
}

// DeleteRow deletes the row with the given full key (partition key values
// then clustering values).
func (b *Batch) DeleteRow(t *Table, key []any) error {
	if err := b.start(t); err != nil {
		return err
	}
	if t.appendOnly {
		return b.fail(errAppendOnly(t, "rows cannot be deleted one by one"))
	}
	if len(key) != len(t.keyCols) {
		return b.fail(fmt.Errorf("%w: table %s: %d key values, want %d", ErrBadKey, t, len(key), len(t.keyCols)))
	}
	k, err := t.appendKeyValues(append(b.key[:0], t.prefix...), key, 0)
	if err != nil {
		return b.fail(err)
	}
	b.key = k
	if err := b.pb.Delete(k, nil); err != nil {
		return b.fail(fmt.Errorf("widecol: table %s: %w", t, err))
	}
	b.rows++
	return nil
}

// DeletePartition deletes every row of one partition with a range
// deletion; partition holds the partition key values.
func (b *Batch) DeletePartition(t *Table, partition []any) error {
	return b.DeleteRange(t, Range{Partition: partition})
}

// DeleteRange deletes every row in r (see Range) with a range deletion.
// An empty Range deletes every row of the table; it is the only range an
// append-only table accepts.
func (b *Batch) DeleteRange(t *Table, r Range) error {
	if err := b.start(t); err != nil {
		return err
	}
	if t.appendOnly && (len(r.Partition) > 0 || r.Lower != nil || r.Upper != nil) {
		return b.fail(errAppendOnly(t, "only all rows can be deleted"))
	}
	lo, hi, err := t.rangeBounds(r)
	if err != nil {
		return b.fail(err)
	}
	if err := b.pb.DeleteRange(lo, hi, nil); err != nil {
		return b.fail(fmt.Errorf("widecol: table %s: %w", t, err))
	}
	return nil
}

// Len returns the number of rows upserted or deleted so far (partition and
// range deletions not counted).
func (b *Batch) Len() int { return int(b.rows) }

// Bytes returns the size of the batch's encoded writes so far, a size
// hint for the next batch of a similar writer (NewBatchSize).
func (b *Batch) Bytes() int {
	if b.pb == nil {
		return 0
	}
	n := b.pb.Len()
	for _, sg := range b.segs {
		n += sg.Len() - batchHeaderLen
	}
	return n
}

// batchHeaderLen is the size of a Pebble batch's header, which joined
// batches share.
const batchHeaderLen = 12

// Absorb appends the writes of o after b's, so that committing b commits
// both, and closes o. It lets several goroutines fill batches of their
// own, on tables or keys that do not overlap, for one commit. An error in
// o poisons b.
//
// The writes are copied together when b commits, not now, unless b reads
// its own writes (Indexed): a batch committed on another goroutine than
// the one that fills it leaves the copying to that goroutine.
func (b *Batch) Absorb(o *Batch) error {
	defer o.Close()
	if b.done || b.pb == nil || o.done || o.pb == nil {
		return ErrClosed
	}
	if b.err != nil {
		return b.err
	}
	if o.err != nil {
		return b.fail(o.err)
	}
	if b.pb.Indexed() {
		if err := b.pb.Apply(o.pb, nil); err != nil {
			return b.fail(fmt.Errorf("widecol: absorb batch: %w", err))
		}
	} else {
		// b's writes so far, then o's; later writes go to a batch of
		// their own.
		b.segs = append(b.segs, b.pb, o.pb)
		b.pb, o.pb = b.s.db.NewBatch(), nil
	}
	for id, t := range o.tables {
		b.tables[id] = t
	}
	b.rows += o.rows
	return nil
}

// join copies the absorbed writes and the later ones into the first
// batch, in order.
func (b *Batch) join() error {
	if len(b.segs) == 0 {
		return nil
	}
	first := b.segs[0]
	for _, sg := range append(b.segs[1:], b.pb) {
		if err := first.Apply(sg, nil); err != nil {
			return fmt.Errorf("widecol: absorb batch: %w", err)
		}
	}
	b.closeSegs()
	_ = b.pb.Close()
	b.pb = first
	return nil
}

// closeSegs closes the absorbed batches but the first, which join keeps.
func (b *Batch) closeSegs() {
	for i, sg := range b.segs {
		if i > 0 {
			_ = sg.Close()
		}
	}
	b.segs = nil
}

// Commit applies the batch atomically, durably when the store syncs every
// batch. After Commit the batch accepts no more operations; Close it.
func (b *Batch) Commit(ctx context.Context) error {
	if b.done || b.pb == nil {
		return ErrClosed
	}
	b.done = true
	if b.err != nil {
		return fmt.Errorf("widecol: batch not committed: %w", b.err)
	}
	s := b.s
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := b.join(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id, t := range b.tables {
		if s.byID[id] != t {
			return fmt.Errorf("%w: %s (dropped)", ErrTableNotFound, t)
		}
	}
	wo := pebble.Sync
	if s.opts.Sync == SyncInterval {
		wo = pebble.NoSync
	}
	size := uint64(b.pb.Len())
	if err := b.pb.Commit(wo); err != nil {
		return fmt.Errorf("widecol: commit: %w", err)
	}
	if wo == pebble.NoSync {
		s.dirty.Store(true)
	}
	s.rowsWritten.Add(b.rows)
	s.bytesWritten.Add(size)
	s.batches.Add(1)
	return nil
}

// Close releases the batch. It is idempotent and discards an uncommitted
// batch.
func (b *Batch) Close() {
	b.done = true
	if len(b.segs) > 0 {
		_ = b.segs[0].Close()
		b.closeSegs()
	}
	if b.pb != nil {
		_ = b.pb.Close()
		b.pb = nil
	}
}
