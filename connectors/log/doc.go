// Package log is sqld's built-in log: Kafka's design on local disk. Streams
// live here; it is the durable, replayable input of every continuous view.
//
// # Model
//
// A Log holds topics. A topic has a fixed number of partitions, an Arrow
// schema fixed at creation and optionally an event-time column. A partition
// is a sequence of segment files of record batches; offsets count records,
// so a batch of n rows occupies offsets [base, base+n). Each segment has a
// sparse offset index and a time index (event time to offset), kept in
// memory and rebuilt from batch headers on open.
//
// A stored batch is an Arrow IPC record-batch message behind an 80-byte
// header: base offset, record count, min/max event time, writer id and
// sequence, transaction id, append time, and a CRC32C over header and
// payload (see format.go).
//
// # Writing
//
// Topic.Append writes one batch to one partition. Under SyncEveryBatch
// appends are group-committed: concurrent appenders share one fsync and each
// returns once its batch is synced. With AppendOptions.WriterID an append is
// idempotent: re-sending a (writer, sequence) the partition has returns the
// original base offset without writing. A Txn appends several batches,
// across partitions and topics, that become visible together on Commit or
// never (Abort, or a crash before the commit point).
//
// # Reading
//
// Topic.Read and Reader.Next return whole batches decoded zero-copy from a
// single buffer the batch owns (or, for the newest large batches this
// process appended, the appended records themselves, which a partition
// keeps so readers that follow the writer skip the read and decode); a read starting inside a batch reports the
// first row to use (Batch.FirstRow). Reads block, with a context, until data
// arrives and wake on a broadcast when it does. Reading consumes nothing.
// Readers see only committed data: never past the last stable offset (the
// first batch of an open transaction), never aborted batches, and under
// SyncEveryBatch never unsynced data. Named readers store their positions
// with Log.CommitOffset.
//
// # Durability and recovery
//
// All file I/O goes through vfs.FS. On Open, the last segment of every
// partition is checked batch by batch; a torn or corrupt tail is truncated to
// the last good batch, while a corrupt batch followed by good ones (anywhere)
// is an error wrapping ErrCorrupt naming the file and byte position, as is a
// CRC mismatch found when reading. Retention deletes whole old segments by
// age or size (Log.EnforceRetention, or periodically with
// Options.RetentionInterval); reading below the oldest retained offset
// returns ErrOffsetOutOfRange.
//
// # Ownership and concurrency
//
// Passing a batch hands over one reference: Append releases the batch it is
// given, also on error, and the caller releases every Batch.Record it
// receives. Log, Topic and Txn are safe for concurrent use; a Reader is used
// by one goroutine at a time. Goroutines started by a Log (interval syncers,
// the retention ticker) exit on Close. Nothing panics across the API.
package log
