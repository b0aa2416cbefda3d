package widecol

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
)

// NewIndexedBatch returns a batch that can also be read: its Get, GetRow
// and Scan see the store's latest committed state with the batch's own
// writes applied on top. A transaction block of SQL statements keeps its
// writes in one, so each statement sees the ones before it, and nothing is
// visible to others before Commit.
func (s *Store) NewIndexedBatch() *Batch {
	return &Batch{s: s, pb: s.db.NewIndexedBatch(), tables: map[uint32]*Table{}}
}

// Indexed reports whether the batch was made by NewIndexedBatch.
func (b *Batch) Indexed() bool { return !b.done && b.pb != nil && b.pb.Indexed() }

// Get is Store.Get through an indexed batch (see NewIndexedBatch).
func (b *Batch) Get(ctx context.Context, t *Table, key []any, o *ReadOptions) (arrow.RecordBatch, error) {
	if err := b.readable(); err != nil {
		return nil, err
	}
	return b.s.getBatch(ctx, b.pb, t, key, o)
}

// GetRow is Store.GetRow through an indexed batch.
func (b *Batch) GetRow(ctx context.Context, t *Table, key []any) (Row, error) {
	if err := b.readable(); err != nil {
		return nil, err
	}
	return b.s.getRow(ctx, b.pb, t, key)
}

// Scan is Store.Scan through an indexed batch. The iterator must be closed
// before the batch is written to again or committed.
func (b *Batch) Scan(ctx context.Context, t *Table, r Range, o *ReadOptions) (*Iterator, error) {
	if err := b.readable(); err != nil {
		return nil, err
	}
	return b.s.scan(ctx, b.pb, t, r, o)
}

func (b *Batch) readable() error {
	if b.done || b.pb == nil {
		return ErrClosed
	}
	if !b.pb.Indexed() {
		return ErrNotIndexed
	}
	return b.err
}

// ErrNotIndexed is returned by reads through a batch not made by
// NewIndexedBatch.
var ErrNotIndexed = errors.New("widecol: batch is not indexed")
