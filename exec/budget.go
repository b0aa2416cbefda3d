package exec

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/sql/pgerror"
)

// Budget is an allocator that holds what a statement's operators
// allocate to Limit bytes at a time: the batches they sort, join, group
// and rank. An allocation past the limit panics with a 53200 error
// (pgerror.CodeOutOfMemory), which the caller of the operators turns
// into the statement's error (see BudgetError): the statement fails, the
// server stays up. Operators run on one goroutine and hold no locks while
// they allocate, so the panic leaves nothing locked.
type Budget struct {
	memory.Allocator
	Limit int64
	used  atomic.Int64
	// Setting names what sets Limit, for the error's hint.
	Setting string
}

var _ memory.Allocator = (*Budget)(nil)

// NewBudget returns a budget of limit bytes over base.
func NewBudget(base memory.Allocator, limit int64, setting string) *Budget {
	return &Budget{Allocator: base, Limit: limit, Setting: setting}
}

// Used is the bytes allocated and not yet freed.
func (b *Budget) Used() int64 { return b.used.Load() }

func (b *Budget) take(n int64) {
	if b.used.Add(n) > b.Limit && n > 0 {
		b.used.Add(-n)
		panic(budgetError{pgerror.New(pgerror.CodeOutOfMemory, "out of memory: the query needs more than %s (%s)", FormatBytes(b.Limit), b.Setting).
			WithHint("Read fewer rows into sorts, joins and groupings, or raise %s.", b.Setting)})
	}
}

func (b *Budget) Allocate(size int) []byte {
	b.take(int64(size))
	return b.Allocator.Allocate(size)
}

func (b *Budget) Reallocate(size int, old []byte) []byte {
	b.take(int64(size - len(old)))
	return b.Allocator.Reallocate(size, old)
}

func (b *Budget) Free(buf []byte) {
	b.used.Add(-int64(len(buf)))
	b.Allocator.Free(buf)
}

// budgetError carries a budget's error up the operators' stack, as a
// panic; code that recovers panics into errors (Arrow's concatenation
// does) wraps it, and errors.As still finds it.
type budgetError struct{ err *pgerror.Error }

func (e budgetError) Error() string { return e.err.Error() }
func (e budgetError) Unwrap() error { return e.err }

// BudgetError turns a recovered panic value into the budget's error, or
// returns nil when the panic is not a budget's.
func BudgetError(r any) error {
	if p, ok := r.(budgetError); ok {
		return p.err
	}
	return nil
}

// FormatBytes prints n in the largest of kB, MB, GB that divides it, as
// Postgres prints memory settings.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
