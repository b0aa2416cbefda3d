package windows

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// microsType returns the type of ts if it holds microseconds (any time
// zone), so results keep the input's time zone.
func microsType(ts *array.Timestamp) (*arrow.TimestampType, error) {
	if ts == nil {
		return nil, fmt.Errorf("%w: nil array", ErrNotMicros)
	}
	typ, ok := ts.DataType().(*arrow.TimestampType)
	if !ok || typ.Unit != arrow.Microsecond {
		return nil, fmt.Errorf("%w: got %s", ErrNotMicros, ts.DataType())
	}
	return typ, nil
}

// WindowEnds returns starts + size for every row, the window_end column of a
// tumbling or hopping window; NULL stays NULL. Ends saturate at
// math.MaxInt64. The caller owns (and releases) the returned array.
func WindowEnds(starts *array.Timestamp, size int64, mem memory.Allocator) (*array.Timestamp, error) {
	typ, err := microsType(starts)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("%w: size %d must be positive", ErrInvalidSpec, size)
	}
	b := array.NewTimestampBuilder(mem, typ)
	defer b.Release()
	n := starts.Len()
	b.Reserve(n)
	vals := starts.Values()
	for i := 0; i < n; i++ {
		if starts.IsNull(i) {
			b.UnsafeAppendBoolToBitmap(false)
			continue
		}
		b.UnsafeAppend(arrow.Timestamp(addSat(int64(vals[i]), size)))
	}
	return b.NewTimestampArray(), nil
}
