package log

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these where it
// applies, so callers test them with errors.Is.
var (
	// ErrClosed is returned by operations on a closed Log, or on a topic that
	// was dropped while the operation waited.
	ErrClosed = errors.New("log: closed")
	// ErrTopicExists is returned by CreateTopic when the name is taken.
	ErrTopicExists = errors.New("log: topic already exists")
	// ErrTopicNotFound is returned when a topic name is unknown.
	ErrTopicNotFound = errors.New("log: topic not found")
	// ErrInvalidArgument reports a bad name, configuration or partition number.
	ErrInvalidArgument = errors.New("log: invalid argument")
	// ErrSchemaMismatch is returned when an appended batch's schema differs
	// from the topic's schema; the message names both schemas.
	ErrSchemaMismatch = errors.New("log: schema mismatch")
	// ErrOffsetOutOfRange is returned when reading below the oldest retained
	// offset of a partition; the message names the oldest offset.
	ErrOffsetOutOfRange = errors.New("log: offset out of range")
	// ErrCorrupt reports data that fails validation (CRC mismatch, bad
	// header) anywhere but the torn tail of a partition; the message names the
	// segment file and byte position.
	ErrCorrupt = errors.New("log: corrupt data")
	// ErrIncompatibleFormat is returned by Open for a data directory written
	// in a format version this build does not understand.
	ErrIncompatibleFormat = errors.New("log: incompatible format version")
	// ErrStaleSequence is returned for an idempotent append whose sequence is
	// older than the last one the partition has for that writer and too old
	// to be matched to its original offset.
	ErrStaleSequence = errors.New("log: stale writer sequence")
	// ErrTxnDone is returned by a transaction used after Commit or Abort.
	ErrTxnDone = errors.New("log: transaction already finished")
)
