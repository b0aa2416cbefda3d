package scheduler

import (
	"fmt"
	"math"
	"strconv"
)

// Resources is an amount of schedulable capacity: CPUs (fractions allowed)
// and memory in bytes. The zero value is "nothing".
type Resources struct {
	CPUs     float64
	MemBytes int64
}

// cpuQuantum is the finest CPU amount the scheduler distinguishes. CPU
// arithmetic is rounded to it so that repeated additions and subtractions of
// fractions (0.1 + 0.2) never leave a phantom remainder behind.
const cpuQuantum = 1e-6

func roundCPUs(c float64) float64 { return math.Round(c/cpuQuantum) * cpuQuantum }

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{CPUs: roundCPUs(r.CPUs + o.CPUs), MemBytes: r.MemBytes + o.MemBytes}
}

// Sub returns r - o; callers check Contains first when the result must not
// go negative.
func (r Resources) Sub(o Resources) Resources {
	return Resources{CPUs: roundCPUs(r.CPUs - o.CPUs), MemBytes: r.MemBytes - o.MemBytes}
}

// Contains reports whether o fits in r in every dimension.
func (r Resources) Contains(o Resources) bool {
	return o.CPUs <= r.CPUs+cpuQuantum/2 && o.MemBytes <= r.MemBytes
}

// IsZero reports whether r holds nothing.
func (r Resources) IsZero() bool { return r.CPUs < cpuQuantum/2 && r.MemBytes == 0 }

// Validate returns an error wrapping ErrInvalidResources when a dimension is
// negative or not a number.
func (r Resources) Validate() error {
	if math.IsNaN(r.CPUs) || math.IsInf(r.CPUs, 0) || r.CPUs < 0 || r.MemBytes < 0 {
		return fmt.Errorf("%w: %s", ErrInvalidResources, r)
	}
	return nil
}

// String formats r as "cpus=1.5 mem=2GiB"; memory uses the largest binary
// unit that divides it exactly.
func (r Resources) String() string {
	return "cpus=" + strconv.FormatFloat(r.CPUs, 'g', -1, 64) + " mem=" + FormatBytes(r.MemBytes)
}

// FormatBytes formats a byte count with the largest binary unit (KiB, MiB,
// GiB, TiB) that divides it exactly, or as plain bytes ("1000B").
func FormatBytes(n int64) string {
	units := []string{"TiB", "GiB", "MiB", "KiB"}
	for i, u := range units {
		size := int64(1) << (10 * (len(units) - i))
		if n != 0 && n%size == 0 {
			return strconv.FormatInt(n/size, 10) + u
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
