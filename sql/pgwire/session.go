package pgwire

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// Handler creates a Session for each connection that completes startup.
// It is implemented by sql/session and must be safe for concurrent use.
type Handler interface {
	NewSession(ctx context.Context, p StartupParams) (Session, error)
}

// StartupParams are the values of a client's StartupMessage.
type StartupParams struct {
	User     string
	Database string
	// Options holds every startup parameter, including user and database.
	Options map[string]string
}

// Column describes one result column.
type Column struct {
	Name string
	Type catalog.Type
}

// Session is one client's state: settings, prepared statements' planning
// context and transaction status. The server calls a Session from one
// goroutine at a time; only the context passed to a call may be cancelled
// from another goroutine (CancelRequest).
type Session interface {
	// Status returns the ParameterStatus values reported at startup
	// (server_version, server_encoding, client_encoding, DateStyle,
	// TimeZone, integer_datetimes, standard_conforming_strings, ...).
	Status() [][2]string
	// Parse splits a simple-query string into its statements and parses
	// them. An empty string (or one of only semicolons) returns none.
	// An error is a syntax error for the whole string.
	Parse(ctx context.Context, sql string) ([]Statement, error)
	// Prepare parses one statement for the extended protocol; paramTypes
	// are the OIDs the client specified (0 = let the server infer). A
	// string with no statement returns a nil Statement and no error.
	Prepare(ctx context.Context, sql string, paramTypes []uint32) (Statement, error)
	// TxStatus returns the transaction status for ReadyForQuery: 'I' idle,
	// 'T' in a transaction block, 'E' in a failed transaction block.
	TxStatus() byte
	// ParamChanges returns the ParameterStatus values changed since the
	// last call (by SET or RESET), to be sent to the client.
	ParamChanges() [][2]string
	// Close releases the session. It is called once, when the
	// connection ends.
	Close() error
}

// Statement is a parsed and analysed statement.
type Statement interface {
	// ParamTypes returns the types of $1..$n (Unknown where nothing could
	// be inferred; such parameters are passed as text).
	ParamTypes() []catalog.Type
	// Columns returns the result columns, or nil for a statement that
	// returns no rows (Describe answers NoData).
	Columns() []Column
	// Bind supplies parameter values, one per ParamTypes entry, as Go
	// values in catalog's value convention (nil is NULL). resultFormats
	// are not its concern: the server encodes rows.
	Bind(ctx context.Context, params []any) (Portal, error)
}

// Portal is a bound statement ready to run. Next runs it lazily: the first
// call executes the statement.
type Portal interface {
	// Columns returns the result columns, or nil if none.
	Columns() []Column
	// Next returns the next batch of rows. It returns io.EOF after the
	// last one. The caller releases each batch it receives.
	Next(ctx context.Context) (arrow.RecordBatch, error)
	// Tag returns the CommandComplete tag ("SELECT 3", "INSERT 0 1",
	// "CREATE TABLE", ...), valid after Next returned io.EOF.
	Tag() string
	// CopyIn returns a sink if the statement is COPY ... FROM STDIN, else
	// nil. The server then sends CopyInResponse, feeds every CopyData to
	// the sink, and calls Done on CopyDone or Abort on CopyFail or a
	// protocol error.
	CopyIn() CopyIn
	// Close releases the portal's resources; it may be called before EOF.
	Close() error
}

// CopyIn receives the data of a COPY FROM STDIN.
type CopyIn interface {
	// Columns is the number of columns the client must send per row.
	Columns() int
	// Binary reports whether the format is binary (not supported yet
	// by sqld: sessions return false).
	Binary() bool
	// Write consumes one CopyData message's bytes. Rows may span
	// messages.
	Write(ctx context.Context, data []byte) error
	// Done is called on CopyDone and returns the CommandComplete tag
	// ("COPY n"). Nothing is written before Done succeeds.
	Done(ctx context.Context) (string, error)
	// Abort discards everything written.
	Abort(reason string)
}

// Noticer is implemented by a Session that reports notices: warnings that
// do not fail a statement. The server sends them as NoticeResponses before
// the statement's CommandComplete.
type Noticer interface {
	// TakeNotices returns the notices raised since the last call.
	TakeNotices() []*pgerror.Error
}
