package widecol

import (
	"bytes"
	"math"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

var keyKinds = []kind{kBool, kInt8, kInt16, kInt32, kInt64, kUint8, kUint16, kUint32, kUint64,
	kFloat32, kFloat64, kString, kBinary, kDate32, kTimestamp, kDecimal128}

// randScalar returns a random value of kind k, biased toward edge cases.
func randScalar(rng *rand.Rand, k kind) scalar {
	var s scalar
	if rng.Intn(10) == 0 {
		s.null = true
		return s
	}
	edge := rng.Intn(4) == 0
	switch k {
	case kBool:
		s.i = int64(rng.Intn(2))
	case kInt8, kInt16, kInt32, kInt64, kDate32, kTimestamp:
		bits := map[kind]uint{kInt8: 8, kInt16: 16, kInt32: 32, kDate32: 32}[k]
		if bits == 0 {
			bits = 64
		}
		v := int64(rng.Uint64())
		if edge {
			v = []int64{0, -1, 1, math.MinInt64, math.MaxInt64}[rng.Intn(5)]
		}
		s.i = v << (64 - bits) >> (64 - bits)
	case kUint8, kUint16, kUint32, kUint64:
		bits := map[kind]uint{kUint8: 8, kUint16: 16, kUint32: 32, kUint64: 64}[k]
		v := rng.Uint64()
		if edge {
			v = []uint64{0, 1, math.MaxUint64}[rng.Intn(3)]
		}
		s.u = v << (64 - bits) >> (64 - bits)
	case kFloat32, kFloat64:
		v := rng.NormFloat64() * math.Pow(10, float64(rng.Intn(20)-10))
		if edge {
			v = []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
				math.MaxFloat64, -math.SmallestNonzeroFloat64, math.Float64frombits(0x7FF0000000000001)}[rng.Intn(8)]
		}
		if k == kFloat32 {
			v = float64(float32(v))
		}
		s.f = v
	case kString, kBinary:
		n := rng.Intn(6)
		b := make([]byte, n)
		for i := range b {
			b[i] = []byte{0, 1, 0xFF, 0xFE, 'a', 'b'}[rng.Intn(6)]
		}
		s.b = b
	case kDecimal128:
		s.d = decimal128.New(int64(rng.Uint64())>>uint(rng.Intn(64)), rng.Uint64())
		if edge {
			s.d = []decimal128.Num{decimal128.New(0, 0), decimal128.New(-1, math.MaxUint64), decimal128.MaxDecimal128}[rng.Intn(3)]
		}
	}
	return s
}

// cmpKeyOrder compares like Postgres ascending: NULLs last.
func cmpKeyOrder(a, b *scalar, k kind) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return 1
	case b.null:
		return -1
	}
	return compareScalars(a, b, k)
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func TestKeyOrderProperty(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	for _, k := range keyKinds {
		for _, desc := range []bool{false, true} {
			for i := 0; i < 3000; i++ {
				a, b := randScalar(rng, k), randScalar(rng, k)
				if rng.Intn(8) == 0 {
					b = a
				}
				ea := appendKey(nil, k, &a, desc)
				eb := appendKey(nil, k, &b, desc)
				want := cmpKeyOrder(&a, &b, k)
				if desc {
					want = -want
				}
				if got := sign(bytes.Compare(ea, eb)); got != want {
					t.Fatalf("%s desc=%v: order(%+v, %+v) = %d, want %d (%x vs %x)", k, desc, a, b, got, want, ea, eb)
				}
			}
		}
	}
}

func TestKeyRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, k := range keyKinds {
		for _, desc := range []bool{false, true} {
			for i := 0; i < 3000; i++ {
				a := randScalar(rng, k)
				enc := appendKey([]byte("tail?"), k, &a, desc)[5:]
				enc = append(enc, 0xAB) // trailing bytes belong to the next column
				var got scalar
				rest, err := decodeKey(enc, k, desc, &got)
				if err != nil {
					t.Fatalf("%s: decode(%x): %v", k, enc, err)
				}
				if !bytes.Equal(rest, []byte{0xAB}) {
					t.Fatalf("%s: rest = %x", k, rest)
				}
				if got.null != a.null || (!a.null && compareScalars(&a, &got, k) != 0) {
					t.Fatalf("%s desc=%v: round trip %+v -> %+v", k, desc, a, got)
				}
				if k == kString || k == kBinary {
					if !a.null && !bytes.Equal(a.b, got.b) {
						t.Fatalf("bytes round trip %x -> %x", a.b, got.b)
					}
				}
			}
		}
	}
}

func TestKeyFloatSpecials(t *testing.T) {
	enc := func(f float64) []byte { s := scalar{f: f}; return appendKey(nil, kFloat64, &s, false) }
	if !bytes.Equal(enc(0), enc(math.Copysign(0, -1))) {
		t.Error("-0 and +0 encode differently")
	}
	if !bytes.Equal(enc(math.NaN()), enc(math.Float64frombits(0xFFF8000000000001))) {
		t.Error("NaNs encode differently")
	}
	if bytes.Compare(enc(math.Inf(1)), enc(math.NaN())) >= 0 {
		t.Error("NaN does not sort after +Inf")
	}
	null := scalar{null: true}
	if bytes.Compare(enc(math.NaN()), appendKey(nil, kFloat64, &null, false)) >= 0 {
		t.Error("NULL does not sort after NaN ascending")
	}
	if bytes.Compare(appendKey(nil, kFloat64, &null, true), appendKey(nil, kFloat64, &scalar{f: math.Inf(-1)}, true)) >= 0 {
		t.Error("NULL does not sort first descending")
	}
}

// TestKeyTupleOrder checks that multi-column keys (mixed directions)
// order as tuples, which needs prefix-free column encodings.
func TestKeyTupleOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	kinds := []kind{kString, kInt64, kBinary}
	descs := []bool{false, true, false}
	for i := 0; i < 5000; i++ {
		var ea, eb []byte
		want := 0
		for j, k := range kinds {
			a, b := randScalar(rng, k), randScalar(rng, k)
			if rng.Intn(3) == 0 {
				b = a
			}
			ea = appendKey(ea, k, &a, descs[j])
			eb = appendKey(eb, k, &b, descs[j])
			if want == 0 {
				want = cmpKeyOrder(&a, &b, k)
				if descs[j] {
					want = -want
				}
			}
		}
		if got := sign(bytes.Compare(ea, eb)); got != want {
			t.Fatalf("tuple order %x vs %x = %d, want %d", ea, eb, got, want)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{[]byte{1, 2}, []byte{1, 3}},
		{[]byte{1, 0xFF}, []byte{2}},
		{[]byte{0xFF, 0xFF}, nil},
	} {
		if got := prefixEnd(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("prefixEnd(%x) = %x, want %x", c.in, got, c.want)
		}
	}
}
