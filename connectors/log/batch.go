package log

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// AppendOptions are the optional parts of an append. The zero value is a
// plain, non-idempotent append.
type AppendOptions struct {
	// WriterID identifies an idempotent writer; 0 means none. With a writer
	// id, an append whose Sequence the partition already holds for that
	// writer is acknowledged with the original base offset and not written
	// again. Sequences must increase per writer and partition; gaps are
	// allowed (an epoch number works).
	WriterID int64
	// Sequence is the writer's sequence number for this batch.
	Sequence int64
	// Regen, when set, is stored in place of the batch's rows: a short
	// description from which the topic's regenerator (see
	// Topic.SetRegenerator) rebuilds exactly the same batch. It is for
	// sources whose rows are a pure function of where they are, such as
	// a seeded generator: the log then keeps offsets, sequences and event
	// times, not the rows. Readers that follow the writer closely still
	// get the appended batch itself. It has 8 bytes to 4 KiB.
	Regen []byte
	// Columns, with Regen, says which columns of the batch hold its values
	// (nil: all of them). The others may hold anything of their type (a
	// generator leaves out the columns no reader wants): a reader that asks
	// for one of them (Topic.ReadBeforeColumns) gets the batch regenerated
	// instead. The event-time column must be among them.
	Columns []bool
}

// Regenerator rebuilds a batch from the description it was appended with
// (AppendOptions.Regen). It must return a batch of the topic's schema with
// the rows the description stood for, allocated from mem.
type Regenerator func(desc []byte, mem memory.Allocator) (arrow.RecordBatch, error)

// Batch is one record batch read from a partition.
type Batch struct {
	// Record holds every row of the stored batch. The caller owns one
	// reference and must Release it. Its buffers are slices of a single
	// buffer read from the segment (no per-row decoding, no copy) or, for
	// a large batch this process appended recently, the appended record
	// itself, shared with the partition and other readers.
	Record arrow.RecordBatch
	// BaseOffset is the offset of row 0 of Record.
	BaseOffset int64
	// FirstRow is the first row at or after the offset that was asked
	// for: rows before it were below that offset. It is 0 unless the read
	// started inside the batch. See Trim.
	FirstRow int
	// MinEventTime and MaxEventTime bound the event-time column, in that
	// column's unit, when HasEventTime.
	MinEventTime, MaxEventTime int64
	// HasEventTime reports whether the topic has an event-time column and
	// the batch had a non-null value in it.
	HasEventTime bool
	// WriterID and Sequence are the idempotent writer's, or zero.
	WriterID, Sequence int64
	// AppendTime is when the batch was appended (millisecond precision).
	AppendTime time.Time
}

// NextOffset returns the offset after the batch's last row.
func (b *Batch) NextOffset() int64 { return b.BaseOffset + b.Record.NumRows() }

// Trim drops the rows before FirstRow: Record is replaced by a slice (the
// original reference is released), BaseOffset advances by FirstRow and
// FirstRow becomes 0.
func (b *Batch) Trim() {
	if b.FirstRow == 0 {
		return
	}
	s := b.Record.NewSlice(int64(b.FirstRow), b.Record.NumRows())
	b.Record.Release()
	b.Record = s
	b.BaseOffset += int64(b.FirstRow)
	b.FirstRow = 0
}

// Reader reads one partition sequentially from an offset. Reading consumes
// nothing: any number of readers see every committed record. A Reader is not
// safe for concurrent use; it holds no resources and needs no Close.
type Reader struct {
	p   *partition
	off int64
	cur cursor
	mem memory.Allocator
}

// Next returns the next batch, blocking until one is visible or ctx is done.
// Batches of aborted or still open transactions are never returned; the
// offsets they occupy are skipped. It returns an error wrapping
// ErrOffsetOutOfRange if retention deleted the reader's position, and
// ErrClosed once the log is closed or the topic dropped.
func (r *Reader) Next(ctx context.Context) (Batch, error) {
	b, err := r.p.read(ctx, r.off, &r.cur, r.mem)
	if err != nil {
		return Batch{}, err
	}
	r.off = b.NextOffset()
	return b, nil
}

// Offset returns the offset the next call to Next starts at.
func (r *Reader) Offset() int64 { return r.off }

// SetOffset moves the reader to offset.
func (r *Reader) SetOffset(offset int64) { r.off = offset; r.cur = cursor{} }
