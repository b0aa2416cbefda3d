// Package pgerror carries Postgres SQLSTATE codes on Go errors.
//
// Every user-facing error in sqld is (or wraps) an *Error. The wire protocol
// turns it into an ErrorResponse; nothing else formats it. Errors that carry
// no code are reported as XX000 (internal error).
package pgerror

import (
	"context"
	"errors"
	"fmt"
)

// SQLSTATE codes used by sqld.
const (
	CodeSuccessfulCompletion       = "00000"
	CodeFeatureNotSupported        = "0A000"
	CodeCardinalityViolation       = "21000"
	CodeDataException              = "22000"
	CodeStringDataRightTrunc       = "22001"
	CodeNumericValueOutOfRange     = "22003"
	CodeNullValueNotAllowed        = "22004"
	CodeInvalidDatetimeFormat      = "22007"
	CodeDatetimeFieldOverflow      = "22008"
	CodeDivisionByZero             = "22012"
	CodeInvalidParameterValue      = "22023"
	CodeInvalidTextRepresentation  = "22P02"
	CodeBadCopyFileFormat          = "22P04"
	CodeInvalidEscapeSequence      = "22025"
	CodeNotNullViolation           = "23502"
	CodeForeignKeyViolation        = "23503"
	CodeUniqueViolation            = "23505"
	CodeCheckViolation             = "23514"
	CodeInvalidTransactionState    = "25000"
	CodeActiveSQLTransaction       = "25001"
	CodeNoActiveSQLTransaction     = "25P01"
	CodeInFailedSQLTransaction     = "25P02"
	CodeInvalidSQLStatementName    = "26000"
	CodeInvalidCursorName          = "34000"
	CodeDependentObjectsStillExist = "2BP01"
	CodeSyntaxError                = "42601"
	CodeInsufficientPrivilege      = "42501"
	CodeUndefinedColumn            = "42703"
	CodeUndefinedFunction          = "42883"
	CodeUndefinedTable             = "42P01"
	CodeUndefinedParameter         = "42P02"
	CodeUndefinedObject            = "42704"
	CodeDuplicateColumn            = "42701"
	CodeDuplicateTable             = "42P07"
	CodeDuplicateObject            = "42710"
	CodeAmbiguousColumn            = "42702"
	CodeAmbiguousFunction          = "42725"
	CodeGroupingError              = "42803"
	CodeDatatypeMismatch           = "42804"
	CodeCannotCoerce               = "42846"
	CodeCantChangeRuntimeParam     = "55P02"
	CodeWrongObjectType            = "42809"
	CodeInvalidColumnReference     = "42P10"
	CodeInvalidTableDefinition     = "42P16"
	CodeWindowingError             = "42P20"
	CodeOutOfMemory                = "53200"
	CodeWarning                    = "01000"
	CodeProgramLimitExceeded       = "54000"
	CodeStatementTooComplex        = "54001"
	CodeObjectInUse                = "55006"
	CodeQueryCanceled              = "57014"
	CodeAdminShutdown              = "57P01"
	CodeProtocolViolation          = "08P01"
	CodeConfigFileError            = "F0000"
	CodeInternalError              = "XX000"
	CodeDataCorrupted              = "XX001"
	CodeUndefinedPreparedStmt      = "26000"
	CodeInvalidColumnDefinition    = "42611"
	CodeIndeterminateDatatype      = "42P18"
	CodeInvalidRecursion           = "42P19"
	CodeDuplicateFunction          = "42723"
	CodeInvalidFunctionDefinition  = "42P13"
)

// Error is an error with a SQLSTATE code and the optional fields of a
// Postgres ErrorResponse. Position, when non-zero, is the 1-based character
// offset into the statement text.
type Error struct {
	Code    string
	Message string
	Detail  string
	Hint    string
	// Where is the context of the error (Postgres's CONTEXT), such as
	// the line of a COPY.
	Where    string
	Position int
	cause    error
}

// New returns an *Error with the given code and formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code whose message is the formatted
// text followed by ": " and err's message. errors.Is/As see err through it.
func Wrap(err error, code, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if msg != "" {
		msg += ": "
	}
	return &Error{Code: code, Message: msg + err.Error(), cause: err}
}

// WithCause returns e with err as its cause, for errors.Is and errors.As.
func (e *Error) WithCause(err error) *Error { e.cause = err; return e }

// WithDetail sets the detail field and returns e.
func (e *Error) WithDetail(format string, args ...any) *Error {
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// WithHint sets the hint field and returns e.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// WithWhere sets the context field and returns e.
func (e *Error) WithWhere(format string, args ...any) *Error {
	e.Where = fmt.Sprintf(format, args...)
	return e
}

// WithPosition sets the 1-based position and returns e.
func (e *Error) WithPosition(pos int) *Error { e.Position = pos; return e }

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// From returns err as an *Error: the first *Error in its chain, or, for an
// error with none, an *Error with code 57014 for a cancelled context and
// XX000 otherwise. From(nil) is nil.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: CodeQueryCanceled, Message: "canceling statement due to user request", cause: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeQueryCanceled, Message: "canceling statement due to statement timeout", cause: err}
	}
	return &Error{Code: CodeInternalError, Message: err.Error(), cause: err}
}

// CodeOf returns the SQLSTATE of err as From reports it, or "" for nil.
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	return From(err).Code
}
