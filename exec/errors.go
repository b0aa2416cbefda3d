package exec

import (
	"errors"

	"github.com/sqld/sqld/sql/pgerror"
)

// ErrNoStorage is returned when a plan with a Scan runs without Storage.
var ErrNoStorage = errors.New("exec: no storage for scan")

// ErrUnsupported is wrapped by errors for plan nodes or types this package
// cannot execute.
var ErrUnsupported = errors.New("exec: unsupported")

func errOutOfRange(typ string) error {
	return pgerror.New(pgerror.CodeNumericValueOutOfRange, "%s out of range", typ)
}
