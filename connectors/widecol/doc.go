// Package widecol is sqld's built-in wide-column store on Pebble: tables,
// view results, operator state, epoch records and the catalog live here.
//
// # Data model
//
// A Store holds tables identified by (keyspace, name) and by a numeric id
// used as key prefix. A table has an Arrow schema, a partition key of one
// or more columns and zero or more clustering columns, each ascending or
// descending. Rows are sparse: a cell never written is absent and reads
// as NULL. Table definitions are persisted, so Table works after reopen.
//
// # Storage layout
//
// One Pebble key per row: 0x01, the big-endian table id, then the
// order-preserving encoding of the partition and clustering columns (see
// keyenc.go; NULLs sort last ascending and first descending, -0 equals +0,
// NaN sorts after +Inf, descending columns invert their bytes). The value
// holds the non-key cells as (column id, payload) pairs (see cell.go). A
// partition, a clustering prefix and a clustering range are each one
// Pebble range scan. System records (format marker, table id sequence,
// catalog) live under 0x00. A data directory written with another
// FormatVersion is refused with ErrIncompatibleFormat.
//
// An append-only table (TableSpec.AppendOnly, used for view results that
// never retract) keeps one Pebble key per chunk of rows instead: the key
// of the chunk's first row, and a value holding the rows column by column
// (chunk.go). Values of 4 KiB and more (chunks, operator state blobs) are
// separated into Pebble blob files at flush, so compactions move
// references rather than rewriting the bytes.
//
// # Writes
//
// A Batch collects upserts and deletes over any number of tables and
// commits them atomically; an epoch commit writes view rows, operator
// state and the epoch record (an ordinary row with a Binary column) in
// one Batch. Upsert takes an arrow.RecordBatch whose columns are a subset
// of the table's, matched by name. A record with all columns replaces the
// row; a record with fewer columns is written as a Pebble merge operand
// that leaves the other cells as they are, without a read. A batch with a
// type mismatch writes nothing.
//
// # TTL
//
// A table has an optional default TTL and a write may override it. The
// expiry is stored with the row marker and with each cell; reads drop
// expired cells and rows that have nothing live left. Space comes back
// in two ways: merges that reach the row's base drop expired cells during
// compaction, and Sweep deletes expired rows in chunks (call it
// periodically, then Compact to force reclamation). Pebble v2 has no
// compaction filter, hence this design.
//
// # Reads
//
// Get, GetRow and Scan read through a consistent Pebble view, so a reader
// never sees part of a batch; a Snapshot pins one view for several reads.
// Scans return arrow.RecordBatches of ReadOptions.BatchSize rows built
// with ReadOptions.Allocator, with a projection and simple predicates
// (column op constant, IS [NOT] NULL) evaluated inside the store. The
// caller releases every batch and closes every Iterator and Snapshot.
//
// # Durability
//
// With SyncEveryBatch, Commit returns after the write-ahead log is
// fsynced; with SyncInterval, a goroutine owned by the Store syncs every
// interval and stops on Close. All files go through Options.FS (a
// pebble vfs.FS), so tests run on an in-memory crashable file system.
//
// # Errors
//
// Errors wrap the package's sentinel errors. Corrupt keys or values are
// reported as ErrCorrupt naming the table and key; decoders never panic.
//
// # Concurrency
//
// Store, Table and Snapshot are safe for concurrent use; Batch and
// Iterator are not.
package widecol
