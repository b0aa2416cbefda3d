package eval

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestSplitPart checks splitPart against splitting into fields.
func TestSplitPart(t *testing.T) {
	for _, s := range []string{"", "a", "a,b", ",a,,b,", "abc", "a,,", ",,"} {
		for _, d := range []string{",", ",,", "", "x"} {
			for n := int64(-5); n <= 5; n++ {
				if n == 0 {
					continue
				}
				parts := []string{s}
				if d != "" {
					parts = strings.Split(s, d)
				}
				k := n
				if k < 0 {
					k = int64(len(parts)) + k + 1
				}
				want := ""
				if k >= 1 && k <= int64(len(parts)) {
					want = parts[k-1]
				}
				if got := splitPart(s, d, n); got != want {
					t.Errorf("splitPart(%q, %q, %d) = %q, want %q", s, d, n, got, want)
				}
			}
		}
	}
}

// TestSplitPartArray checks the vector split_part against the row one on
// random strings with NULLs, several delimiters and fields (from either
// end, and past the last), and on sliced arrays: few rows, many rows of
// few distinct strings (fields remembered per string) and many distinct
// strings (remembering given up).
func TestSplitPartArray(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 2))
	random := func() string {
		buf := make([]byte, r.IntN(30))
		for i := range buf {
			buf[i] = "ab/-é"[r.IntN(5)]
		}
		return string(buf)
	}
	var pool []string
	for range 20 {
		pool = append(pool, random())
	}
	for _, set := range []struct {
		rows int
		next func() string
	}{
		{500, random},
		{3000, func() string { return pool[r.IntN(len(pool))] }},
		{3000, random},
	} {
		b := array.NewStringBuilder(mem)
		var want []*string
		for range set.rows {
			if r.IntN(10) == 0 {
				b.AppendNull()
				want = append(want, nil)
				continue
			}
			s := set.next()
			b.Append(s)
			want = append(want, &s)
		}
		all := b.NewStringArray()
		b.Release()
		for _, d := range []string{"/", "ab", "", "//", "zz"} {
			for _, field := range []int64{1, 2, 3, 7, -1, -2, -5} {
				for _, bounds := range [][2]int{{0, set.rows}, {37, set.rows - 89}, {5, 5}} {
					sl := array.NewSlice(all, int64(bounds[0]), int64(bounds[1])).(*array.String)
					got := splitPartArray(mem, sl, d, field).(*array.String)
					for i := range sl.Len() {
						w := want[bounds[0]+i]
						switch {
						case w == nil && !got.IsNull(i):
							t.Fatalf("%q %d row %d: %q, want NULL", d, field, i, got.Value(i))
						case w != nil && (got.IsNull(i) || got.Value(i) != splitPart(*w, d, field)):
							t.Fatalf("split_part(%q, %q, %d) = %q, want %q", *w, d, field, got.Value(i), splitPart(*w, d, field))
						}
					}
					got.Release()
					sl.Release()
				}
			}
		}
		all.Release()
	}
}
