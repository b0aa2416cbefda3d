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
// end, and past the last), and on sliced arrays.
func TestSplitPartArray(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 2))
	b := array.NewStringBuilder(mem)
	var want []*string
	for range 500 {
		if r.IntN(10) == 0 {
			b.AppendNull()
			want = append(want, nil)
			continue
		}
		buf := make([]byte, r.IntN(30))
		for i := range buf {
			buf[i] = "ab/-é"[r.IntN(5)]
		}
		s := string(buf)
		b.Append(s)
		want = append(want, &s)
	}
	all := b.NewStringArray()
	b.Release()
	defer all.Release()
	for _, d := range []string{"/", "ab", "", "//", "zz"} {
		for _, field := range []int64{1, 2, 3, 7, -1, -2, -5} {
			for _, bounds := range [][2]int{{0, 500}, {37, 411}, {5, 5}} {
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
}
