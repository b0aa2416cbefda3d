package session

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/sql/pgerror"
)

// A query's operators hold what they sort, join, group and rank within
// statement_mem (exec.Budget): a query that needs more fails with 53200
// and the server stays up. 0, the default, is half the server's memory
// (--memory), or 2GB when that is not set. A view maintained by
// recomputation evaluates its query within that default: past it, the
// view's task fails with 53200 (sys.jobs shows it) and the server stays
// up.

// defaultStatementMem is statement_mem's 0 without --memory.
const defaultStatementMem = 2 << 30

// statementMem returns the session's statement_mem in bytes.
func (s *Session) statementMem() int64 {
	v, ok := s.settings["statement_mem"]
	if !ok {
		v = settingDefaults["statement_mem"]
	}
	n, err := parseMemory(v)
	if err != nil || n <= 0 {
		return s.eng.defaultStatementMem()
	}
	return n
}

// defaultStatementMem is statement_mem's 0: half the server's memory, or
// 2GB. A recomputed view's evaluation has it too.
func (e *Engine) defaultStatementMem() int64 {
	if n := testStatementMem.Load(); n > 0 {
		return n
	}
	if m := e.cfg.Scheduler.MemBytes; m > 0 {
		return m / 2
	}
	return defaultStatementMem
}

// testStatementMem overrides defaultStatementMem when positive.
var testStatementMem atomic.Int64

// collectInBudget is exec.Collect with a budget's panic (exec.Budget)
// turned into the error.
func collectInBudget(ctx context.Context, op exec.Operator) (out []arrow.RecordBatch, err error) {
	defer func() {
		if r := recover(); r != nil {
			e := exec.BudgetError(r)
			if e == nil {
				panic(r)
			}
			out, err = nil, e
		}
	}()
	return exec.Collect(ctx, op)
}

// parseMemory reads a memory setting as Postgres writes them: a whole
// number with a unit of B, kB, MB, GB or TB, or without one in kB.
func parseMemory(v string) (int64, error) {
	v = strings.TrimSpace(strings.Trim(v, "'"))
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9') {
		i++
	}
	n, err := strconv.ParseInt(v[:i], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid memory value %q", v)
	}
	unit := map[string]int64{"": 1 << 10, "B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
	m, ok := unit[strings.TrimSpace(v[i:])]
	if !ok {
		return 0, fmt.Errorf("invalid memory unit in %q (valid units: B, kB, MB, GB, TB)", v)
	}
	if n > (1<<62)/m {
		return 0, fmt.Errorf("memory value %q is out of range", v)
	}
	return n * m, nil
}

// checkMemorySetting validates a memory setting's value for SET.
func checkMemorySetting(name, v string) error {
	if _, err := parseMemory(v); err != nil {
		return pgerror.New(pgerror.CodeInvalidParameterValue, "invalid value for parameter %q: %v", name, err)
	}
	return nil
}
