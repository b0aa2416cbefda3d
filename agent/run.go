package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// DefaultHeartbeatInterval is how often an agent says it is alive.
const DefaultHeartbeatInterval = time.Second

// Executor runs the tasks placed on an agent; the agent process provides
// it. Its methods may be called concurrently.
type Executor interface {
	// Launch prepares task (of job) from the plan the server sent; an
	// error fails the task's launch.
	Launch(task, job string, plan []byte) (Task, error)
}

// Task is a launched task.
type Task interface {
	// Stage runs one stage of the task over input and returns its output.
	// Stages of one task are called one at a time.
	Stage(ctx context.Context, input []byte) ([]byte, error)
	// Close frees the task; no Stage follows.
	Close()
}

// Config configures Run.
type Config struct {
	// Join is the server's agent address (host:port). Required.
	Join string
	// Name, if set, is the agent's id; the server names it otherwise.
	Name string
	// CPUs and MemBytes are the resources offered. The server refuses an
	// agent that offers no CPUs or no memory.
	CPUs     float64
	MemBytes int64
	// Executor runs the tasks. Required.
	Executor Executor
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
	// HeartbeatInterval defaults to DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// Joined, if set, is told the id the server gave the agent.
	Joined func(id string)
}

// Run joins the server and runs the tasks it places on this agent until
// ctx ends (nil) or the connection is lost or refused (an error; a refusal
// wraps ErrRefused with the server's reason).
func Run(ctx context.Context, cfg Config) error {
	if cfg.Executor == nil || cfg.Join == "" {
		return errors.New("agent: Config.Join and Config.Executor are required")
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	hb := cfg.HeartbeatInterval
	if hb <= 0 {
		hb = DefaultHeartbeatInterval
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", cfg.Join)
	if err != nil {
		return fmt.Errorf("agent: join %s: %w", cfg.Join, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(DefaultHandshakeTimeout))
	if _, err := c.Write(handshake()); err != nil {
		return fmt.Errorf("agent: join %s: %w", cfg.Join, err)
	}
	br := bufio.NewReader(c)
	if _, err := readHandshake(br); err != nil {
		return fmt.Errorf("agent: join %s: %w", cfg.Join, err)
	}
	if err := WriteFrame(c, Frame{Kind: KindHello, Header: Header{Name: cfg.Name, CPUs: cfg.CPUs, MemBytes: cfg.MemBytes}}); err != nil {
		return fmt.Errorf("agent: join %s: %w", cfg.Join, err)
	}
	f, err := ReadFrame(br)
	if err != nil {
		return fmt.Errorf("agent: join %s: %w", cfg.Join, err)
	}
	switch f.Kind {
	case KindWelcome:
	case KindRefused:
		return fmt.Errorf("%w: %s", ErrRefused, f.Header.Err)
	default:
		return fmt.Errorf("agent: join %s: %w: expected welcome, got %s", cfg.Join, ErrFrame, f.Kind)
	}
	_ = c.SetDeadline(time.Time{})
	lg.Info("agent joined", "server", cfg.Join, "agent", f.Header.Agent, "cpus", cfg.CPUs, "mem_bytes", cfg.MemBytes)
	if cfg.Joined != nil {
		cfg.Joined(f.Header.Agent)
	}

	w := &worker{c: c, exec: cfg.Executor, log: lg, tasks: map[string]*taskSlot{}}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		c.Close()
		wg.Wait()
		w.closeAll()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(hb)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				c.Close() // unblocks the reader
				return
			case <-t.C:
				if err := w.write(Frame{Kind: KindHeartbeat}); err != nil {
					return
				}
			}
		}
	}()
	for {
		f, err := ReadFrame(br)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("agent: connection to %s lost: %w", cfg.Join, err)
		}
		switch f.Kind {
		case KindRequest:
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.serve(ctx, f)
			}()
		case KindKill:
			w.kill(f.Header.Task)
		default:
			return fmt.Errorf("agent: %w: unexpected %s frame from the server", ErrFrame, f.Kind)
		}
	}
}

type worker struct {
	c    net.Conn
	exec Executor
	log  *slog.Logger
	wmu  sync.Mutex

	mu    sync.Mutex
	tasks map[string]*taskSlot
}

// taskSlot serializes a task's stages.
type taskSlot struct {
	mu   sync.Mutex
	task Task
}

func (w *worker) write(f Frame) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return WriteFrame(w.c, f)
}

func (w *worker) serve(ctx context.Context, f Frame) {
	out, err := w.do(ctx, f)
	h := Header{Req: f.Header.Req, Task: f.Header.Task}
	if err != nil {
		h.Err = err.Error()
		out = nil
	}
	if werr := w.write(Frame{Kind: KindReply, Header: h, Payload: out}); werr != nil {
		w.log.Warn("agent reply not sent", "task", f.Header.Task, "err", werr)
	}
}

func (w *worker) do(ctx context.Context, f Frame) ([]byte, error) {
	h := f.Header
	switch h.Op {
	case OpLaunch:
		t, err := w.exec.Launch(h.Task, h.Job, f.Payload)
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		old := w.tasks[h.Task]
		w.tasks[h.Task] = &taskSlot{task: t}
		w.mu.Unlock()
		if old != nil {
			old.close()
		}
		w.log.Info("task launched", "task", h.Task, "job", h.Job)
		return nil, nil
	case OpStage:
		w.mu.Lock()
		s := w.tasks[h.Task]
		w.mu.Unlock()
		if s == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoSuchTask, h.Task)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.task == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoSuchTask, h.Task)
		}
		return s.task.Stage(ctx, f.Payload)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownOp, h.Op)
}

func (s *taskSlot) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.task != nil {
		s.task.Close()
		s.task = nil
	}
}

func (w *worker) kill(task string) {
	w.mu.Lock()
	s := w.tasks[task]
	delete(w.tasks, task)
	w.mu.Unlock()
	if s != nil {
		s.close()
		w.log.Info("task ended", "task", task)
	}
}

func (w *worker) closeAll() {
	w.mu.Lock()
	tasks := w.tasks
	w.tasks = map[string]*taskSlot{}
	w.mu.Unlock()
	for _, s := range tasks {
		s.close()
	}
}
