package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Defaults of a zero Server.
const (
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultIdleTimeout      = 10 * time.Second
)

// Server accepts agents on the server's agent port. Set the callbacks
// before Serve; the zero timeouts take their defaults.
type Server struct {
	// Join is told of each agent that completed the handshake and the
	// Hello; a non-nil error refuses it, and the error's text is sent to
	// the agent as the reason. Required.
	Join func(r *Remote) error
	// Leave is told, once, that a joined agent's connection ended and
	// why. Optional.
	Leave func(r *Remote, err error)
	// Heartbeat is told of every Heartbeat frame. Optional.
	Heartbeat func(r *Remote)
	// Logger receives connection problems (bad handshakes, malformed
	// frames); nil discards them.
	Logger *slog.Logger
	// HandshakeTimeout bounds the handshake and the Hello.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that sends nothing (not even a
	// heartbeat) for that long.
	IdleTimeout time.Duration

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	seq    int
	closed bool
	wg     sync.WaitGroup
}

// Serve accepts connections on ln until Close; it returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.ln = ln
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, closes every agent connection (each joined agent
// is told to Leave) and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) timeouts() (hs, idle time.Duration) {
	hs, idle = s.HandshakeTimeout, s.IdleTimeout
	if hs <= 0 {
		hs = DefaultHandshakeTimeout
	}
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	return hs, idle
}

// handle runs one connection to its end.
func (s *Server) handle(c net.Conn) {
	defer c.Close()
	lg := s.log().With("peer", c.RemoteAddr().String())
	hsTimeout, idle := s.timeouts()
	_ = c.SetDeadline(time.Now().Add(hsTimeout))
	br := bufio.NewReader(c)
	v, err := readHandshake(br)
	if err != nil {
		lg.Warn("agent connection dropped", "err", err)
		return
	}
	if _, err := c.Write(handshake()); err != nil {
		return
	}
	refuse := func(reason string) {
		_ = WriteFrame(c, Frame{Kind: KindRefused, Header: Header{Err: reason}})
	}
	if v != Version {
		lg.Warn("agent refused", "err", fmt.Errorf("%w %d (this server speaks %d)", ErrVersion, v, Version))
		refuse(fmt.Sprintf("protocol version %d is not supported (the server speaks %d)", v, Version))
		return
	}
	hello, err := ReadFrame(br)
	if err != nil || hello.Kind != KindHello {
		if err == nil {
			err = fmt.Errorf("%w: expected hello, got %s", ErrFrame, hello.Kind)
		}
		lg.Warn("agent connection dropped", "err", err)
		return
	}
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("agent-%d", s.seq)
	s.mu.Unlock()
	if hello.Header.Name != "" {
		id = hello.Header.Name
	}
	r := &Remote{id: id, addr: c.RemoteAddr().String(), cpus: hello.Header.CPUs, mem: hello.Header.MemBytes,
		conn: c, calls: map[uint64]chan Frame{}, done: make(chan struct{}), welcomed: make(chan struct{})}
	if err := s.Join(r); err != nil {
		lg.Warn("agent refused", "agent", id, "err", err)
		refuse(err.Error())
		return
	}
	if err := r.write(Frame{Kind: KindWelcome, Header: Header{Agent: id}}); err != nil {
		r.end(err)
		s.leave(r, lg)
		return
	}
	close(r.welcomed)
	lg.Info("agent joined", "agent", id, "cpus", r.cpus, "mem_bytes", r.mem)
	for {
		_ = c.SetReadDeadline(time.Now().Add(idle))
		f, err := ReadFrame(br)
		if err != nil {
			if errors.Is(err, ErrFrame) {
				lg.Warn("agent sent a malformed frame; disconnecting", "agent", id, "err", err)
			}
			if errors.Is(err, io.EOF) {
				err = ErrClosed
			}
			r.end(err)
			break
		}
		switch f.Kind {
		case KindHeartbeat:
			if s.Heartbeat != nil {
				s.Heartbeat(r)
			}
		case KindReply:
			r.mu.Lock()
			ch := r.calls[f.Header.Req]
			delete(r.calls, f.Header.Req)
			r.mu.Unlock()
			if ch != nil {
				ch <- f
			}
		default:
			err := fmt.Errorf("%w: unexpected %s frame from an agent", ErrFrame, f.Kind)
			lg.Warn("agent sent a malformed frame; disconnecting", "agent", id, "err", err)
			r.end(err)
		}
		if r.ended() {
			break
		}
	}
	s.leave(r, lg)
}

func (s *Server) leave(r *Remote, lg *slog.Logger) {
	lg.Info("agent left", "agent", r.id, "err", r.Err())
	if s.Leave != nil {
		s.Leave(r, r.Err())
	}
}

// Remote is the server's handle on a joined agent. Its methods are safe for
// concurrent use.
type Remote struct {
	id, addr string
	cpus     float64
	mem      int64
	conn     net.Conn

	wmu sync.Mutex // serializes writes
	// welcomed is closed once the agent has been sent its welcome: calls
	// wait for it, since the agent reads nothing else before it (Join
	// hands the Remote out before the welcome is written).
	welcomed chan struct{}

	mu    sync.Mutex
	seq   uint64
	calls map[uint64]chan Frame
	err   error
	done  chan struct{}
}

// ID returns the agent's id ("agent-N", or the name it asked for).
func (r *Remote) ID() string { return r.id }

// Addr returns the agent's network address.
func (r *Remote) Addr() string { return r.addr }

// Resources returns the CPUs and memory the agent offers, as it said.
func (r *Remote) Resources() (cpus float64, memBytes int64) { return r.cpus, r.mem }

// Done is closed when the connection ends.
func (r *Remote) Done() <-chan struct{} { return r.done }

// Err returns why the connection ended, or nil while it is up.
func (r *Remote) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Remote) ended() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Close ends the connection; err says why (nil: ErrClosed).
func (r *Remote) Close(err error) {
	if err == nil {
		err = ErrClosed
	}
	r.end(err)
}

func (r *Remote) end(err error) {
	r.mu.Lock()
	if r.err != nil {
		r.mu.Unlock()
		return
	}
	r.err = err
	calls := r.calls
	r.calls = map[uint64]chan Frame{}
	close(r.done)
	r.mu.Unlock()
	r.conn.Close()
	for _, ch := range calls {
		close(ch)
	}
}

func (r *Remote) write(f Frame) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.ended() {
		return r.Err()
	}
	if err := WriteFrame(r.conn, f); err != nil {
		r.end(err)
		return err
	}
	return nil
}

// Call sends a request for task and waits for its reply's payload. An
// error the agent reports comes back as an error; a connection that ends
// meanwhile makes Call fail with the connection's error.
func (r *Remote) Call(ctx context.Context, op, task, job string, payload []byte) ([]byte, error) {
	if r.welcomed != nil {
		select {
		case <-r.welcomed:
		case <-r.done:
			return nil, fmt.Errorf("agent %s: %w", r.id, r.Err())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ch := make(chan Frame, 1)
	r.mu.Lock()
	if r.err != nil {
		err := r.err
		r.mu.Unlock()
		return nil, fmt.Errorf("agent %s: %w", r.id, err)
	}
	r.seq++
	req := r.seq
	r.calls[req] = ch
	r.mu.Unlock()
	if err := r.write(Frame{Kind: KindRequest, Header: Header{Req: req, Op: op, Task: task, Job: job}, Payload: payload}); err != nil {
		return nil, fmt.Errorf("agent %s: %w", r.id, err)
	}
	select {
	case f, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("agent %s: %w", r.id, r.Err())
		}
		if f.Header.Err != "" {
			return nil, fmt.Errorf("agent %s: %s", r.id, f.Header.Err)
		}
		return f.Payload, nil
	case <-ctx.Done():
		r.mu.Lock()
		delete(r.calls, req)
		r.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Kill tells the agent that a task ended, so it frees what the task holds.
func (r *Remote) Kill(task string) {
	_ = r.write(Frame{Kind: KindKill, Header: Header{Task: task}})
}
