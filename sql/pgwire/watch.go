package pgwire

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// watchDelay is how long a statement runs before the server starts
// watching its connection for the client going away. Short statements
// never pay for a watch.
const watchDelay = 100 * time.Millisecond

// connReader is the connection's reader. While a statement runs, a
// watcher may read ahead from the connection to notice that the client has
// gone; what it reads is kept here and returned first.
type connReader struct {
	nc net.Conn

	mu      sync.Mutex
	pending []byte
	err     error // error the watcher saw, returned after pending
}

func (r *connReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		r.mu.Unlock()
		return n, nil
	}
	if err := r.err; err != nil {
		r.mu.Unlock()
		return 0, err
	}
	r.mu.Unlock()
	return r.nc.Read(p)
}

// watcher notices a client that disconnects while its statement runs and
// cancels the statement. Its goroutine (a timer's) starts after watchDelay,
// reads from the connection once, and is ended by stop, which the
// connection's goroutine calls before it reads again. A connection has one
// watcher, reused for every statement.
type watcher struct {
	c        *conn
	timer    *time.Timer
	running  sync.WaitGroup // the timer's function, from start to return
	stopping atomic.Bool
}

// start arms the watcher for a statement.
func (w *watcher) start() {
	w.stopping.Store(false)
	w.running.Add(1)
	if w.timer == nil {
		w.timer = time.AfterFunc(watchDelay, w.run)
	} else {
		w.timer.Reset(watchDelay)
	}
}

func (w *watcher) run() {
	defer w.running.Done()
	var buf [512]byte
	n, err := w.c.nc.Read(buf[:])
	r := w.c.rd
	r.mu.Lock()
	r.pending = append(r.pending, buf[:n]...)
	var ne net.Error
	stopped := w.stopping.Load() && errors.As(err, &ne) && ne.Timeout()
	if err != nil && !stopped {
		r.err = err
	}
	r.mu.Unlock()
	if err != nil && !stopped {
		// Gone (or shutting down): stop the statement.
		w.c.cancelQuery()
	}
}

// stop disarms the watcher and waits for its read to end.
func (w *watcher) stop() {
	if w.timer.Stop() {
		w.running.Done() // never started
		return
	}
	w.stopping.Store(true)
	w.c.nc.SetReadDeadline(time.Unix(1, 0))
	w.running.Wait()
	w.c.nc.SetReadDeadline(time.Time{})
	if w.c.srv.closing.Load() {
		// Shutdown's interrupt may have been undone just now.
		w.c.interrupt()
	}
}
