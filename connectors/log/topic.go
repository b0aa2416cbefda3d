package log

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// SyncMode says when appended data is fsynced.
type SyncMode uint8

const (
	// SyncEveryBatch fsyncs before an append is acknowledged; concurrent
	// appenders to a partition share one fsync (group commit). Readers see a
	// batch only once it is synced. It is the zero value.
	SyncEveryBatch SyncMode = iota
	// SyncInterval acknowledges appends once written and fsyncs dirty
	// partitions every SyncPolicy.Interval.
	SyncInterval
	// SyncNever leaves flushing to the operating system (and Close).
	SyncNever
)

// String returns the mode's name.
func (m SyncMode) String() string {
	switch m {
	case SyncEveryBatch:
		return "every-batch"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return "SyncMode(" + strconv.Itoa(int(m)) + ")"
}

// SyncPolicy is a topic's durability policy.
type SyncPolicy struct {
	// Mode selects the policy; the zero value syncs every batch.
	Mode SyncMode
	// Interval is the fsync period for SyncInterval (default 10ms).
	Interval time.Duration
}

// Retention limits how much of a partition is kept. Zero fields are
// unlimited. Only whole segments are deleted, never the active one.
type Retention struct {
	// Age deletes segments whose newest batch was appended longer ago.
	Age time.Duration
	// Bytes deletes the oldest segments while a partition is larger.
	Bytes int64
}

// DefaultSegmentBytes is the segment size used when TopicConfig.SegmentBytes
// is zero.
const DefaultSegmentBytes = 64 << 20

// TopicConfig describes a topic. It is fixed at creation and persisted.
type TopicConfig struct {
	// Partitions is the number of partitions, at least 1.
	Partitions int
	// Schema is the schema every appended batch must have.
	Schema *arrow.Schema
	// EventTimeColumn is the index of a Timestamp or Int64 column holding
	// event time, or -1 for none. NB: 0 names the first column.
	EventTimeColumn int
	// Sync is the durability policy.
	Sync SyncPolicy
	// Retention bounds each partition.
	Retention Retention
	// SegmentBytes is the size at which a partition starts a new segment
	// (0: DefaultSegmentBytes). A single larger batch still fits.
	SegmentBytes int64
}

func (c *TopicConfig) validate() error {
	switch {
	case c.Partitions < 1 || c.Partitions > 1<<16:
		return fmt.Errorf("%w: %d partitions", ErrInvalidArgument, c.Partitions)
	case c.Schema == nil:
		return fmt.Errorf("%w: nil schema", ErrInvalidArgument)
	case c.Sync.Mode > SyncNever:
		return fmt.Errorf("%w: sync mode %v", ErrInvalidArgument, c.Sync.Mode)
	case c.Sync.Interval < 0 || c.Retention.Age < 0 || c.Retention.Bytes < 0 || c.SegmentBytes < 0:
		return fmt.Errorf("%w: negative duration or size", ErrInvalidArgument)
	}
	if c.EventTimeColumn != -1 {
		if c.EventTimeColumn < 0 || c.EventTimeColumn >= c.Schema.NumFields() {
			return fmt.Errorf("%w: event-time column %d of %d", ErrInvalidArgument, c.EventTimeColumn, c.Schema.NumFields())
		}
		switch id := c.Schema.Field(c.EventTimeColumn).Type.ID(); id {
		case arrow.TIMESTAMP, arrow.INT64:
		default:
			return fmt.Errorf("%w: event-time column %q has type %v, want timestamp or int64", ErrInvalidArgument, c.Schema.Field(c.EventTimeColumn).Name, id)
		}
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.Sync.Mode == SyncInterval && c.Sync.Interval == 0 {
		c.Sync.Interval = 10 * time.Millisecond
	}
	return nil
}

// topicMeta is the persisted form of a topic (topic.json).
type topicMeta struct {
	Version         int    `json:"version"`
	Partitions      int    `json:"partitions"`
	Schema          []byte `json:"schema"` // Arrow IPC stream holding only the schema
	EventTimeColumn int    `json:"event_time_column"`
	SyncMode        uint8  `json:"sync_mode"`
	SyncInterval    int64  `json:"sync_interval_ns"`
	RetentionAge    int64  `json:"retention_age_ns"`
	RetentionBytes  int64  `json:"retention_bytes"`
	SegmentBytes    int64  `json:"segment_bytes"`
}

func encodeTopicMeta(cfg TopicConfig) ([]byte, error) {
	sb, err := schemaBytes(cfg.Schema)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(topicMeta{
		Version: formatVersion, Partitions: cfg.Partitions, Schema: sb,
		EventTimeColumn: cfg.EventTimeColumn, SyncMode: uint8(cfg.Sync.Mode),
		SyncInterval: int64(cfg.Sync.Interval), RetentionAge: int64(cfg.Retention.Age),
		RetentionBytes: cfg.Retention.Bytes, SegmentBytes: cfg.SegmentBytes,
	}, "", "  ")
}

func decodeTopicMeta(b []byte) (TopicConfig, []byte, error) {
	var m topicMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return TopicConfig{}, nil, err
	}
	if m.Version != formatVersion {
		return TopicConfig{}, nil, fmt.Errorf("%w: topic format version %d, this build reads %d", ErrIncompatibleFormat, m.Version, formatVersion)
	}
	schema, meta, err := parseSchema(m.Schema)
	if err != nil {
		return TopicConfig{}, nil, err
	}
	cfg := TopicConfig{
		Partitions: m.Partitions, Schema: schema, EventTimeColumn: m.EventTimeColumn,
		Sync:         SyncPolicy{Mode: SyncMode(m.SyncMode), Interval: time.Duration(m.SyncInterval)},
		Retention:    Retention{Age: time.Duration(m.RetentionAge), Bytes: m.RetentionBytes},
		SegmentBytes: m.SegmentBytes,
	}
	if err := cfg.validate(); err != nil {
		return TopicConfig{}, nil, err
	}
	return cfg, meta, nil
}

// Topic is a named stream of record batches split into partitions. Its
// methods are safe for concurrent use.
type Topic struct {
	l          *Log
	name       string
	dir        string
	cfg        TopicConfig
	schemaMeta []byte // flatbuffer metadata of the schema's IPC message
	parts      []*partition
	regen      atomic.Pointer[Regenerator]

	stop chan struct{}
	wg   sync.WaitGroup
}

// Name returns the topic's name.
func (t *Topic) Name() string { return t.name }

// Schema returns the topic's schema.
func (t *Topic) Schema() *arrow.Schema { return t.cfg.Schema }

// Config returns the topic's configuration, with defaults filled in.
func (t *Topic) Config() TopicConfig { return t.cfg }

// SetRegenerator sets the function that rebuilds batches appended with a
// regeneration description (AppendOptions.Regen). Reading such a batch
// that the partition no longer keeps in memory fails until it is set.
func (t *Topic) SetRegenerator(f Regenerator) { t.regen.Store(&f) }

// HasRegenerator reports whether SetRegenerator was called.
func (t *Topic) HasRegenerator() bool { return t.regen.Load() != nil }

// Partitions returns the number of partitions.
func (t *Topic) Partitions() int { return len(t.parts) }

func (t *Topic) partition(i int) (*partition, error) {
	if i < 0 || i >= len(t.parts) {
		return nil, fmt.Errorf("%w: topic %q has no partition %d (it has %d)", ErrInvalidArgument, t.name, i, len(t.parts))
	}
	return t.parts[i], nil
}

// checkSchema rejects a batch whose schema is not the topic's.
func (t *Topic) checkSchema(batch arrow.RecordBatch) error {
	if batch == nil {
		return fmt.Errorf("%w: nil batch", ErrInvalidArgument)
	}
	if !batch.Schema().Equal(t.cfg.Schema) {
		return fmt.Errorf("%w: topic %q has schema %v; batch has schema %v", ErrSchemaMismatch, t.name, t.cfg.Schema, batch.Schema())
	}
	if batch.NumRows() == 0 || batch.NumRows() > maxCount {
		return fmt.Errorf("%w: batch of %d rows", ErrInvalidArgument, batch.NumRows())
	}
	return nil
}

// Append appends batch to a partition and returns the offset of its first
// row; the batch occupies offsets [base, base+rows). It returns once the
// batch is as durable as the topic's sync policy says (for SyncEveryBatch,
// after an fsync shared with concurrent appenders), and the batch is then
// visible to readers.
//
// Append takes over the caller's reference to batch and releases it, also
// on error. ctx is checked before writing; a write in progress is not
// abandoned. An empty batch is rejected.
func (t *Topic) Append(ctx context.Context, partition int, batch arrow.RecordBatch, opts AppendOptions) (int64, error) {
	if batch != nil {
		defer batch.Release()
	}
	return t.append(ctx, partition, batch, opts, 0)
}

func (t *Topic) append(ctx context.Context, partition int, batch arrow.RecordBatch, opts AppendOptions, txnID int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p, err := t.partition(partition)
	if err != nil {
		return 0, err
	}
	if err := t.checkSchema(batch); err != nil {
		return 0, err
	}
	var enc encoded
	if opts.Regen != nil {
		if t.regen.Load() == nil {
			return 0, fmt.Errorf("%w: topic %q has no regenerator", ErrInvalidArgument, t.name)
		}
		if err := t.l.needFormat(formatVersionRegen); err != nil {
			return 0, err
		}
		if c := opts.Columns; c != nil {
			if len(c) != len(t.cfg.Schema.Fields()) {
				return 0, fmt.Errorf("%w: %d column flags for %d columns", ErrInvalidArgument, len(c), len(t.cfg.Schema.Fields()))
			}
			if et := t.cfg.EventTimeColumn; et >= 0 && !c[et] {
				return 0, fmt.Errorf("%w: the event-time column must hold its values", ErrInvalidArgument)
			}
		}
		enc, err = encodeRegen(batch, opts.Regen, t.cfg.EventTimeColumn)
		enc.cols = opts.Columns
	} else {
		if opts.Columns != nil {
			return 0, fmt.Errorf("%w: column flags without a regeneration description", ErrInvalidArgument)
		}
		enc, err = encodeBatch(batch, t.l.mem, t.cfg.EventTimeColumn)
	}
	if err != nil {
		return 0, err
	}
	defer enc.release()
	return p.append(&enc, opts.WriterID, opts.Sequence, txnID)
}

// Read returns the first committed batch containing offset or, when offset
// was skipped (it belonged to an aborted transaction or a marker), the next
// one after it. It blocks until such a batch is visible or ctx is done. The
// caller owns the returned Record. If offset falls inside the batch,
// Batch.FirstRow says which row it is.
func (t *Topic) Read(ctx context.Context, partition int, offset int64) (Batch, error) {
	p, err := t.partition(partition)
	if err != nil {
		return Batch{}, err
	}
	return p.read(ctx, offset, nil, t.l.mem)
}

// ReadBefore is Read bounded by end: it returns the first visible batch
// holding an offset in [offset, end), and false, without waiting, when no
// visible batch starts before end (offsets up to end that aborted
// transactions held are skipped). A bounded scan of what a partition
// held at some moment reads with end = that moment's StableOffset.
func (t *Topic) ReadBefore(ctx context.Context, partition int, offset, end int64) (Batch, bool, error) {
	return t.ReadBeforeColumns(ctx, partition, offset, end, nil)
}

// ReadBeforeColumns is ReadBefore for a reader that uses only the columns
// need flags (nil: all): the returned batch's other columns may hold
// anything of their type (see AppendOptions.Columns).
func (t *Topic) ReadBeforeColumns(ctx context.Context, partition int, offset, end int64, need []bool) (Batch, bool, error) {
	p, err := t.partition(partition)
	if err != nil {
		return Batch{}, false, err
	}
	b, err := p.readBefore(ctx, offset, end, nil, t.l.mem, need)
	if err == errEnd {
		return Batch{}, false, nil
	}
	if err != nil {
		return Batch{}, false, err
	}
	return b, true, nil
}

// NewReader returns a sequential reader of one partition starting at offset.
func (t *Topic) NewReader(partition int, offset int64) (*Reader, error) {
	p, err := t.partition(partition)
	if err != nil {
		return nil, err
	}
	return &Reader{p: p, off: offset, mem: t.l.mem}, nil
}

// OffsetForTime returns the base offset of the first batch of the partition
// whose max event time is at least eventTime (in the event-time column's
// unit), or the end offset if none is. It uses the time index.
func (t *Topic) OffsetForTime(partition int, eventTime int64) (int64, error) {
	p, err := t.partition(partition)
	if err != nil {
		return 0, err
	}
	return p.offsetForTime(eventTime)
}

// Stats returns the metrics of one partition, with the lag of every named
// reader (consumer group) that committed an offset for it.
func (t *Topic) Stats(partition int) (PartitionStats, error) {
	p, err := t.partition(partition)
	if err != nil {
		return PartitionStats{}, err
	}
	st := p.stats()
	t.l.fillLag(&st)
	return st, nil
}

// startSyncer starts the background fsync of a SyncInterval topic. The
// goroutine is owned by the topic and exits on close.
func (t *Topic) startSyncer() {
	if t.cfg.Sync.Mode != SyncInterval {
		return
	}
	tk := t.l.clock.NewTicker(t.cfg.Sync.Interval)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer tk.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tk.C():
				for _, p := range t.parts {
					_ = p.syncIfDirty() // a failure is sticky and surfaces on the next append
				}
			}
		}
	}()
}

// close stops the topic's goroutine and closes its partitions.
func (t *Topic) close() error {
	close(t.stop)
	t.wg.Wait()
	var first error
	for _, p := range t.parts {
		if err := p.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// PartitionStats are the metrics of one partition.
type PartitionStats struct {
	Topic     string
	Partition int
	// EndOffset is the offset the next append gets.
	EndOffset int64
	// StableOffset is the end of what readers may see: below any open
	// transaction and, for SyncEveryBatch, below unsynced data.
	StableOffset int64
	// OldestOffset is the first retained offset.
	OldestOffset int64
	// Bytes is the size of the retained segments; Segments their number.
	Bytes    int64
	Segments int
	// Appends counts batches (and transaction markers) written since open;
	// AppendedRecords and AppendedBytes count their rows and bytes.
	Appends, AppendedRecords, AppendedBytes uint64
	// Syncs counts fsyncs by group commit or the interval syncer.
	Syncs uint64
	// DuplicateAppends counts idempotent appends acknowledged without a write.
	DuplicateAppends uint64
	// TailReads counts batches read from the bytes the partition kept
	// after writing them, without reading the segment.
	TailReads uint64
	// TailBatches is the number of batches the partition keeps now (at
	// most TailBatches, fewer when they are large).
	TailBatches int
	// ReaderLag maps each named reader with a committed offset for this
	// partition to EndOffset minus that offset.
	ReaderLag map[string]int64
}
