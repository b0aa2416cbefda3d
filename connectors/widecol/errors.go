package widecol

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these where it
// applies, so callers test them with errors.Is.
var (
	// ErrIncompatibleFormat means the data directory was written by a format
	// version this build cannot read. The message names both versions.
	ErrIncompatibleFormat = errors.New("widecol: incompatible format version")
	// ErrCorrupt means a stored key, value or table definition could not be
	// decoded. The message names the table and the key where known.
	ErrCorrupt = errors.New("widecol: corrupt data")
	// ErrSchemaMismatch means written data does not match the table schema:
	// unknown column, wrong type, missing key column or NULL in a NOT NULL
	// column.
	ErrSchemaMismatch = errors.New("widecol: schema mismatch")
	// ErrBadKey means a key given by the caller (point key, partition key or
	// range bound) does not fit the table's key columns.
	ErrBadKey = errors.New("widecol: bad key")
	// ErrBadPredicate means a pushed-down predicate names an unknown column,
	// an unknown operator or a constant of the wrong type.
	ErrBadPredicate = errors.New("widecol: bad predicate")
	// ErrUnsupportedType means a schema uses an Arrow type the store cannot
	// hold, or uses as a key column a type that has no key encoding.
	ErrUnsupportedType = errors.New("widecol: unsupported type")
	// ErrTableExists is returned by CreateTable when (keyspace, name) is taken.
	ErrTableExists = errors.New("widecol: table already exists")
	// ErrTableNotFound is returned when a table does not exist (any more).
	ErrTableNotFound = errors.New("widecol: table not found")
	// ErrNotFound is returned by point reads when the row does not exist or
	// has expired.
	ErrNotFound = errors.New("widecol: row not found")
	// ErrAppendOnly is returned by writes an append-only table refuses:
	// single-row upserts and deletes, partial upserts, range deletions.
	ErrAppendOnly = errors.New("widecol: append-only table")
	// ErrClosed is returned by operations on a closed Store, Batch, Snapshot
	// or Iterator.
	ErrClosed = errors.New("widecol: closed")
)
