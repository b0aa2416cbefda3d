package slt

import (
	"fmt"
	"time"
)

// Dialect is the flavour of sqllogictest a file is written in.
type Dialect int

const (
	// DialectRS is the sqllogictest-rs format: one row per line.
	DialectRS Dialect = iota
	// DialectSQLite is SQLite's original format: one value per line,
	// values rendered by type letter.
	DialectSQLite
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case DialectRS:
		return "rs"
	case DialectSQLite:
		return "sqlite"
	default:
		return fmt.Sprintf("Dialect(%d)", int(d))
	}
}

// Kind is the kind of a record.
type Kind int

const (
	// KindStatement runs SQL and expects success, an error, or a row count.
	KindStatement Kind = iota
	// KindQuery runs SQL and compares its rows, or expects an error.
	KindQuery
	// KindHalt ends the file.
	KindHalt
	// KindHashThreshold sets the hash threshold.
	KindHashThreshold
	// KindInclude runs the files matching a glob in place.
	KindInclude
	// KindSleep waits for a duration.
	KindSleep
	// KindControl changes a runner setting (substitution, sortmode,
	// resultmode).
	KindControl
	// KindSystem runs a shell command; the runner skips it.
	KindSystem
	// KindLet runs a query and binds the first row to variables.
	KindLet
	// KindRestart restarts the server through Runner.Restart.
	KindRestart
)

// String returns the kind's directive name.
func (k Kind) String() string {
	switch k {
	case KindStatement:
		return "statement"
	case KindQuery:
		return "query"
	case KindHalt:
		return "halt"
	case KindHashThreshold:
		return "hash-threshold"
	case KindInclude:
		return "include"
	case KindSleep:
		return "sleep"
	case KindControl:
		return "control"
	case KindSystem:
		return "system"
	case KindLet:
		return "let"
	case KindRestart:
		return "restart"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// SortMode says how result values are ordered before comparison.
type SortMode int

const (
	// SortDefault leaves the choice to the file's "control sortmode",
	// which itself defaults to NoSort.
	SortDefault SortMode = iota
	// NoSort compares rows in the order the server sent them.
	NoSort
	// RowSort sorts rows by their rendered values, column by column.
	RowSort
	// ValueSort sorts every value on its own, ignoring rows.
	ValueSort
)

// String returns the sort mode's keyword.
func (m SortMode) String() string {
	switch m {
	case SortDefault:
		return "default"
	case NoSort:
		return "nosort"
	case RowSort:
		return "rowsort"
	case ValueSort:
		return "valuesort"
	default:
		return fmt.Sprintf("SortMode(%d)", int(m))
	}
}

func parseSortMode(s string) (SortMode, bool) {
	switch s {
	case "nosort":
		return NoSort, true
	case "rowsort":
		return RowSort, true
	case "valuesort":
		return ValueSort, true
	}
	return SortDefault, false
}

// Condition is a skipif or onlyif prefix of a record.
type Condition struct {
	// Only is true for onlyif, false for skipif.
	Only  bool
	Label string
}

// Record is one parsed record of a test file.
type Record struct {
	Kind Kind
	// File and Line locate the record's header line (1-based).
	File string
	Line int
	// Conditions are the skipif/onlyif lines before the record.
	Conditions []Condition
	// Connection names the connection the record runs on; "" is the
	// default one.
	Connection string

	// SQL is the statement or query text, comment lines removed. For
	// KindSystem it is the command.
	SQL string

	// ExpectError is set by "statement error" and "query error".
	ExpectError bool
	// ErrorPattern is the regular expression the error message must match
	// ("" accepts any error). With ErrorExact it is instead the full text
	// given after "----", compared after trimming.
	ErrorPattern string
	ErrorExact   bool
	// Count is the expected number of affected rows for "statement count".
	Count    int64
	HasCount bool

	// Types is the query's type string, one letter per column.
	Types string
	Sort  SortMode
	// Label names a result hash that must be equal across queries.
	Label string
	// Expected holds the lines after "----", one value (SQLite) or one
	// row (rs) per line.
	Expected []string
	// HasResults reports whether a "----" line was present.
	HasResults bool

	// Retry is how many times a failing statement or query is retried,
	// waiting Backoff between attempts.
	Retry   int
	Backoff time.Duration

	// Args holds the arguments of control records: the glob of include,
	// the words after "control", the variable names of let.
	Args []string
	// Threshold is the value of hash-threshold.
	Threshold int
	// Duration is the wait of sleep.
	Duration time.Duration
}

// Loc returns "file:line" for messages.
func (r *Record) Loc() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }
