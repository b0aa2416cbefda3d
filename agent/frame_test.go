package agent

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	in := []Frame{
		{Kind: KindHello, Header: Header{Name: "a", CPUs: 1.5, MemBytes: 1 << 30}},
		{Kind: KindHeartbeat},
		{Kind: KindRequest, Header: Header{Req: 7, Op: OpStage, Task: "v-0"}, Payload: []byte("input")},
		{Kind: KindReply, Header: Header{Req: 7, Err: "boom"}},
	}
	var buf []byte
	for _, f := range in {
		var err error
		if buf, err = AppendFrame(buf, f); err != nil {
			t.Fatal(err)
		}
	}
	r := bytes.NewReader(buf)
	rest := buf
	for i, want := range in {
		got, err := ReadFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		d, n, err := DecodeFrame(rest)
		if err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
		for _, g := range []Frame{got, d} {
			if g.Kind != want.Kind || g.Header != want.Header || !bytes.Equal(g.Payload, want.Payload) {
				t.Fatalf("frame %d: got %+v, want %+v", i, g, want)
			}
		}
	}
	if _, err := ReadFrame(r); err != io.EOF {
		t.Fatalf("after the last frame: %v", err)
	}
}

func TestFrameErrors(t *testing.T) {
	good, _ := AppendFrame(nil, Frame{Kind: KindRequest, Header: Header{Op: OpStage}, Payload: []byte("x")})
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"empty":          {nil, io.ErrUnexpectedEOF},
		"truncated":      {good[:len(good)-1], io.ErrUnexpectedEOF},
		"too short":      {[]byte{0, 0, 0, 2, 1, 0}, ErrFrame},
		"too long":       {[]byte{0xff, 0xff, 0xff, 0xff}, ErrFrame},
		"bad kind":       {[]byte{0, 0, 0, 5, 99, 0, 0, 0, 0}, ErrFrame},
		"header overrun": {[]byte{0, 0, 0, 5, 1, 0, 0, 0, 9}, ErrFrame},
		"bad header":     {[]byte{0, 0, 0, 7, 1, 0, 0, 0, 2, '{', '{'}, ErrFrame},
	} {
		if _, _, err := DecodeFrame(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: DecodeFrame: %v, want %v", name, err, tc.want)
		}
		if tc.want == ErrFrame {
			if _, err := ReadFrame(bytes.NewReader(tc.b)); !errors.Is(err, ErrFrame) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s: ReadFrame: %v", name, err)
			}
		}
	}
}

// FuzzDecodeFrame checks that the frame decoder returns an error on any
// input it cannot decode, never panics, and that what it decodes encodes
// back to a frame that decodes the same.
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range []Frame{
		{Kind: KindHello, Header: Header{CPUs: 2, MemBytes: 1 << 30}},
		{Kind: KindRequest, Header: Header{Req: 1, Op: OpLaunch, Task: "t"}, Payload: []byte(`{"query":"SELECT 1"}`)},
		{Kind: KindHeartbeat},
	} {
		b, _ := AppendFrame(nil, fr)
		f.Add(b)
	}
	f.Add([]byte("SQLDAGNT\x00\x01"))
	f.Add([]byte{0, 0, 0, 5, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := DecodeFrame(b)
		if rf, rerr := ReadFrame(bytes.NewReader(b)); (rerr == nil) != (err == nil) {
			t.Fatalf("ReadFrame and DecodeFrame disagree: %v vs %v", rerr, err)
		} else if rerr == nil && (rf.Kind != fr.Kind || rf.Header != fr.Header || !bytes.Equal(rf.Payload, fr.Payload)) {
			t.Fatalf("ReadFrame %+v, DecodeFrame %+v", rf, fr)
		}
		if err != nil {
			return
		}
		if n < 4 || n > len(b) {
			t.Fatalf("consumed %d of %d bytes", n, len(b))
		}
		again, err := AppendFrame(nil, fr)
		if err != nil {
			t.Fatal(err)
		}
		fr2, _, err := DecodeFrame(again)
		if err != nil || fr2.Kind != fr.Kind || fr2.Header != fr.Header || !bytes.Equal(fr2.Payload, fr.Payload) {
			t.Fatalf("re-encoded frame decodes to %+v, %v; want %+v", fr2, err, fr)
		}
	})
}
