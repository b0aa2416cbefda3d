package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("pgwire: server closed")

// DefaultMaxMessageSize is the largest client message body accepted when
// Server.MaxMessageSize is zero. It bounds the memory one message can make
// the server allocate, and is large enough for multi-megabyte statements.
const DefaultMaxMessageSize = 64 << 20

// Server serves the Postgres wire protocol. Its zero value, with a
// Handler, is ready to use; its fields must not change after Serve is
// called.
type Server struct {
	// Handler creates the session of each connection.
	Handler Handler
	// Logger receives connection events (Debug) and recovered panics
	// (Error). Nil discards them.
	Logger *slog.Logger
	// MaxMessageSize limits the body of one client message, in bytes.
	// Zero means DefaultMaxMessageSize.
	MaxMessageSize int

	initOnce sync.Once
	// baseCtx is the parent of every connection's context; Shutdown
	// cancels it.
	baseCtx    context.Context
	cancelBase context.CancelFunc

	closing atomic.Bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	keys      map[uint32]*conn // BackendKeyData process IDs
	connWG    sync.WaitGroup
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*conn]struct{})
		s.keys = make(map[uint32]*conn)
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) maxMessageSize() int {
	if s.MaxMessageSize > 0 {
		return s.MaxMessageSize
	}
	return DefaultMaxMessageSize
}

// Serve accepts connections on ln and serves each in its own goroutine
// until Shutdown is called or ln fails. It always returns a non-nil error:
// ErrServerClosed after Shutdown. Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: wait a little
				// for them to free up rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("pgwire: accept failed; retrying", "err", err, "delay", backoff)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-s.baseCtx.Done():
					t.Stop()
					return ErrServerClosed
				}
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// newConn registers a connection, or returns nil during shutdown. The
// connection's goroutine must call s.removeConn when it ends.
func (s *Server) newConn(nc net.Conn) *conn {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	return c
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.keys[c.pid] == c {
		delete(s.keys, c.pid)
	}
	s.mu.Unlock()
	s.connWG.Done()
}

// registerKey gives c a unique random process ID and secret key for
// CancelRequest.
func (s *Server) registerKey(c *conn) {
	var b [8]byte
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		rand.Read(b[:])
		// libpq prints the process ID as a signed int: keep it positive.
		pid := binary.BigEndian.Uint32(b[:4]) &^ (1 << 31)
		if pid == 0 {
			continue
		}
		if _, taken := s.keys[pid]; taken {
			continue
		}
		c.pid = pid
		copy(c.secret[:], b[4:])
		s.keys[pid] = c
		return
	}
}

// cancel cancels the statement running on the connection with the given
// process ID, if the secret matches. As in Postgres, a mismatch is
// silently ignored.
func (s *Server) cancel(pid uint32, secret []byte) bool {
	s.mu.Lock()
	c := s.keys[pid]
	s.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare(secret, c.secret[:]) != 1 {
		return false
	}
	c.cancelQuery()
	return true
}

// Shutdown stops accepting connections, cancels running statements, ends
// idle connections (telling clients the server is shutting down), and
// waits for every connection to end or ctx to be done, whichever comes
// first. In the latter case it closes the remaining connections and
// returns ctx's error without waiting further (a session call that ignores
// its context may still be running).
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	s.cancelBase()
	for _, c := range conns {
		c.interrupt()
	}

	done := make(chan struct{})
	go func() { // ends when the last connection ends; forced below if needed
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}
