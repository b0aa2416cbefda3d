package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoExec upper-cases each stage's input.
type echoExec struct{}

func (echoExec) Launch(task, job string, plan []byte) (Task, error) {
	if string(plan) == "bad" {
		return nil, errors.New("cannot plan")
	}
	return echoTask{}, nil
}

type echoTask struct{}

func (echoTask) Stage(ctx context.Context, in []byte) ([]byte, error) {
	if string(in) == "block" {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return bytes.ToUpper(in), nil
}
func (echoTask) Close() {}

// syncBuf is a log sink safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	*Server
	addr   string
	logs   *syncBuf
	joined chan *Remote
	left   chan error
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String(), logs: &syncBuf{}, joined: make(chan *Remote, 4), left: make(chan error, 4)}
	ts.Server = &Server{
		Logger: slog.New(slog.NewTextHandler(ts.logs, nil)),
		Join: func(r *Remote) error {
			if cpus, mem := r.Resources(); cpus <= 0 || mem <= 0 {
				return fmt.Errorf("an agent must offer some CPUs and memory, not cpus=%g mem=%d", cpus, mem)
			}
			ts.joined <- r
			return nil
		},
		Leave:            func(r *Remote, err error) { ts.left <- err },
		HandshakeTimeout: time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ln) }()
	t.Cleanup(func() {
		ts.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

func runAgent(ctx context.Context, addr string, cpus float64, mem int64) chan error {
	ch := make(chan error, 1)
	go func() {
		ch <- Run(ctx, Config{Join: addr, CPUs: cpus, MemBytes: mem, Executor: echoExec{}, HeartbeatInterval: 20 * time.Millisecond})
	}()
	return ch
}

func TestGarbagePeersAreDisconnected(t *testing.T) {
	ts := startServer(t)
	hs := handshake()
	for name, send := range map[string][]byte{
		"http":            []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"short":           []byte("SQLD"),
		"garbage frame":   append(append([]byte(nil), hs...), 0, 0, 0, 6, 42, 0, 0, 0, 0, 0),
		"oversized frame": append(append([]byte(nil), hs...), 0xff, 0xff, 0xff, 0xff),
		"not a hello":     append(append([]byte(nil), hs...), must(AppendFrame(nil, Frame{Kind: KindHeartbeat}))...),
	} {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(send)
		if name == "short" {
			// Say nothing more: the handshake times out.
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		}
		// The server hangs up (after its handshake, for a peer that sent
		// the magic).
		_, err = io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// A joined agent that starts speaking garbage is dropped too.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(handshake())
	_ = WriteFrame(c, Frame{Kind: KindHello, Header: Header{CPUs: 1, MemBytes: 1 << 20}})
	<-ts.joined
	_, _ = c.Write([]byte{0, 0, 0, 9, 1, 0, 0, 0, 4, 'n', 'u', 'l'})
	_, _ = c.Write([]byte("garbage garbage garbage"))
	if err := <-ts.left; !errors.Is(err, ErrFrame) {
		t.Fatalf("Leave: %v, want ErrFrame", err)
	}
	logs := ts.logs.String()
	for _, want := range []string{"peer does not speak the sqld agent protocol", "malformed frame", "expected hello"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// The server still serves agents.
	errc := runAgent(ctx, ts.addr, 1, 1<<20)
	r := <-ts.joined
	out, err := r.Call(ctx, OpLaunch, "t1", "j", nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("launch: %q %v", out, err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestRefusals(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	for _, res := range []struct {
		cpus float64
		mem  int64
	}{{0, 1 << 30}, {-1, 1 << 30}, {2, 0}} {
		err := <-runAgent(ctx, ts.addr, res.cpus, res.mem)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "must offer some CPUs and memory") {
			t.Fatalf("agent with cpus=%g mem=%d: %v", res.cpus, res.mem, err)
		}
	}
	// A version the server does not speak.
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(binary.BigEndian.AppendUint16([]byte(Magic), Version+1))
	if _, err := readHandshake(c); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFrame(c)
	if err != nil || f.Kind != KindRefused || !strings.Contains(f.Header.Err, "not supported") {
		t.Fatalf("got %+v %v, want a refusal", f, err)
	}
}

func TestCallsAndConnectionLoss(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := runAgent(ctx, ts.addr, 2, 1<<30)
	r := <-ts.joined
	if cpus, mem := r.Resources(); cpus != 2 || mem != 1<<30 || !strings.HasPrefix(r.ID(), "agent-") {
		t.Fatalf("remote %s: cpus=%g mem=%d", r.ID(), cpus, mem)
	}
	if _, err := r.Call(ctx, OpLaunch, "t1", "j", []byte("bad")); err == nil || !strings.Contains(err.Error(), "cannot plan") {
		t.Fatalf("bad launch: %v", err)
	}
	if _, err := r.Call(ctx, OpStage, "t1", "j", []byte("x")); !strings.Contains(fmt.Sprint(err), "no such task") {
		t.Fatalf("stage of an unknown task: %v", err)
	}
	if _, err := r.Call(ctx, OpLaunch, "t1", "j", nil); err != nil {
		t.Fatal(err)
	}
	out, err := r.Call(ctx, OpStage, "t1", "j", []byte("abc"))
	if err != nil || string(out) != "ABC" {
		t.Fatalf("stage: %q %v", out, err)
	}
	if _, err := r.Call(ctx, "frobnicate", "t1", "j", nil); !strings.Contains(fmt.Sprint(err), "unknown request") {
		t.Fatalf("unknown op: %v", err)
	}
	// The agent goes away in the middle of a stage: the call fails and the
	// server is told the agent left.
	blocked := make(chan error, 1)
	go func() {
		_, err := r.Call(context.Background(), OpStage, "t1", "j", []byte("block"))
		blocked <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-errc
	select {
	case err := <-blocked:
		if err == nil {
			t.Fatal("a call in flight when the agent left succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call in flight when the agent left did not return")
	}
	if err := <-ts.left; err == nil {
		t.Fatal("Leave without an error")
	}
	if _, err := r.Call(context.Background(), OpStage, "t1", "j", nil); err == nil {
		t.Fatal("a call after the agent left succeeded")
	}
}
