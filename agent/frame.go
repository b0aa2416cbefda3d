package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Magic opens both sides' handshake.
const Magic = "SQLDAGNT"

// Version is the protocol version this package speaks.
const Version uint16 = 1

// MaxFrame bounds a frame's length (an epoch's input as Arrow IPC fits
// comfortably).
const MaxFrame = 512 << 20

// Sentinel errors.
var (
	ErrBadMagic   = errors.New("agent: peer does not speak the sqld agent protocol")
	ErrVersion    = errors.New("agent: unsupported protocol version")
	ErrFrame      = errors.New("agent: malformed frame")
	ErrRefused    = errors.New("agent: refused by the server")
	ErrClosed     = errors.New("agent: connection closed")
	ErrUnknownOp  = errors.New("agent: unknown request")
	ErrNoSuchTask = errors.New("agent: no such task")
)

// Kind is the type of a frame.
type Kind uint8

// The frame kinds.
const (
	KindHello     Kind = iota + 1 // agent -> server: Header.Name, CPUs, MemBytes
	KindWelcome                   // server -> agent: Header.Agent
	KindRefused                   // server -> agent: Header.Err
	KindHeartbeat                 // agent -> server
	KindRequest                   // server -> agent: Header.Req, Op, Task, Job; payload
	KindReply                     // agent -> server: Header.Req, Err; payload
	KindKill                      // server -> agent: Header.Task
	numKinds
)

// String names the kind.
func (k Kind) String() string {
	names := [...]string{"", "hello", "welcome", "refused", "heartbeat", "request", "reply", "kill"}
	if k > 0 && k < numKinds {
		return names[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Request operations.
const (
	OpLaunch = "launch" // payload: the task's plan; reply: empty
	OpStage  = "stage"  // payload: the stage's input; reply: its output
)

// Header is a frame's JSON header; each kind uses some of the fields.
type Header struct {
	Req      uint64  `json:"req,omitempty"`
	Op       string  `json:"op,omitempty"`
	Task     string  `json:"task,omitempty"`
	Job      string  `json:"job,omitempty"`
	Agent    string  `json:"agent,omitempty"`
	Name     string  `json:"name,omitempty"`
	CPUs     float64 `json:"cpus,omitempty"`
	MemBytes int64   `json:"mem_bytes,omitempty"`
	Err      string  `json:"err,omitempty"`
}

// Frame is one decoded frame.
type Frame struct {
	Kind    Kind
	Header  Header
	Payload []byte
}

const frameFixed = 1 + 4 // kind, header length

// AppendFrame appends f's encoding to buf.
func AppendFrame(buf []byte, f Frame) ([]byte, error) {
	h, err := json.Marshal(f.Header)
	if err != nil {
		return buf, err
	}
	n := frameFixed + len(h) + len(f.Payload)
	if n > MaxFrame {
		return buf, fmt.Errorf("%w: %d bytes exceeds %d", ErrFrame, n, MaxFrame)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(n))
	buf = append(buf, byte(f.Kind))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(h)))
	buf = append(buf, h...)
	return append(buf, f.Payload...), nil
}

// DecodeFrame decodes the frame at the start of b and returns it and the
// bytes it took. It returns io.ErrUnexpectedEOF when b holds only part of
// a frame, and an error wrapping ErrFrame when b cannot start a valid
// frame. The payload aliases b.
func DecodeFrame(b []byte) (Frame, int, error) {
	if len(b) < 4 {
		return Frame{}, 0, io.ErrUnexpectedEOF
	}
	n := binary.BigEndian.Uint32(b)
	if err := checkLen(n); err != nil {
		return Frame{}, 0, err
	}
	if uint64(len(b)-4) < uint64(n) {
		return Frame{}, 0, io.ErrUnexpectedEOF
	}
	f, err := decodeBody(b[4 : 4+int(n)])
	return f, 4 + int(n), err
}

func checkLen(n uint32) error {
	if n < frameFixed || n > MaxFrame {
		return fmt.Errorf("%w: length %d", ErrFrame, n)
	}
	return nil
}

// decodeBody decodes a frame after its length field.
func decodeBody(body []byte) (Frame, error) {
	k := Kind(body[0])
	if k == 0 || k >= numKinds {
		return Frame{}, fmt.Errorf("%w: kind %d", ErrFrame, body[0])
	}
	hl := binary.BigEndian.Uint32(body[1:5])
	if uint64(hl) > uint64(len(body)-frameFixed) {
		return Frame{}, fmt.Errorf("%w: header of %d bytes in a frame of %d", ErrFrame, hl, len(body))
	}
	f := Frame{Kind: k}
	if hl > 0 {
		if err := json.Unmarshal(body[frameFixed:frameFixed+int(hl)], &f.Header); err != nil {
			return Frame{}, fmt.Errorf("%w: header: %v", ErrFrame, err)
		}
	}
	f.Payload = body[frameFixed+int(hl):]
	return f, nil
}

// ReadFrame reads one frame from r.
func ReadFrame(r io.Reader) (Frame, error) {
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(lb[:])
	if err := checkLen(n); err != nil {
		return Frame{}, err
	}
	// NB: the buffer grows as bytes arrive, so a peer announcing a huge
	// frame and sending little costs little memory.
	var body bytes.Buffer
	body.Grow(int(min(n, 64<<10)))
	if _, err := io.CopyN(&body, r, int64(n)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return decodeBody(body.Bytes())
}

// WriteFrame writes f to w in one Write.
func WriteFrame(w io.Writer, f Frame) error {
	b, err := AppendFrame(nil, f)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// handshake is what each side writes first.
func handshake() []byte {
	return binary.BigEndian.AppendUint16([]byte(Magic), Version)
}

// readHandshake reads the peer's handshake and returns its version.
func readHandshake(r io.Reader) (uint16, error) {
	var b [len(Magic) + 2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadMagic, err)
	}
	if string(b[:len(Magic)]) != Magic {
		return 0, fmt.Errorf("%w: handshake %q", ErrBadMagic, b[:])
	}
	return binary.BigEndian.Uint16(b[len(Magic):]), nil
}
