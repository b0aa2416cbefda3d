package windows

import "fmt"

// EmitMode says when a windowed aggregation writes a window's result row.
// The zero value is EmitOnUpdate, the default of a view without an EMIT
// clause.
type EmitMode uint8

const (
	// EmitOnUpdate writes a window's row in every epoch that changed it,
	// while the window is open; the last update is the final value.
	EmitOnUpdate EmitMode = iota
	// EmitOnWindowClose writes each window's row exactly once, final,
	// in the epoch whose watermark passes the window's end.
	EmitOnWindowClose
)

// String returns the clause as a user writes it.
func (m EmitMode) String() string {
	switch m {
	case EmitOnUpdate:
		return "EMIT ON UPDATE"
	case EmitOnWindowClose:
		return "EMIT ON WINDOW CLOSE"
	default:
		return fmt.Sprintf("EmitMode(%d)", uint8(m))
	}
}

// Valid reports whether m is one of the defined modes.
func (m EmitMode) Valid() bool { return m <= EmitOnWindowClose }
