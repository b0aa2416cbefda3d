// Package server wires sqld together: storage, catalog, sessions and the
// Postgres wire protocol. cmd/sqld and the in-process tests start it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sqld/sqld/agent"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/sql/pgwire"
	"github.com/sqld/sqld/sql/session"
)

// Config configures a Server. Listen and DataDir must be set (cmd/sqld
// fills in the defaults).
type Config struct {
	// Listen is the TCP address to serve pgwire on; port 0 picks a free one.
	Listen string
	// DataDir is where the store and the log keep their files.
	DataDir string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// CPUs and MemBytes size the in-process agent that runs view jobs;
	// zero means the machine's cores and 4 GiB. A MemBytes set also
	// bounds the process: the store's cache and memtables are sized from
	// it, and the Go runtime's soft memory limit becomes 90% of it less
	// those (unless GOMEMLIMIT is set), so that the garbage collector
	// works harder rather than let the heap outgrow it.
	CPUs     float64
	MemBytes int64
	// AgentListen, when set, is the TCP address agents of other processes
	// join on (`sqld agent --join`); port 0 picks a free one. Empty: no
	// remote agents. The port is not authenticated: bind it to an
	// address only trusted hosts reach.
	AgentListen string
}

// Server is a running sqld.
type Server struct {
	cfg  Config
	log  *slog.Logger
	eng  *session.Engine
	wire *pgwire.Server
	ln   net.Listener
	done chan error

	agents    *agent.Server
	agentLn   net.Listener
	agentDone chan error

	closeOnce sync.Once
	closeErr  error
}

// Start opens the data directory, recovers every view, and starts serving
// pgwire connections in the background.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" || cfg.Listen == "" {
		return nil, errors.New("server: Listen and DataDir must be set")
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	var store *widecol.Options
	if cfg.MemBytes > 0 {
		// The store's block cache and memtables live outside the Go
		// heap: they take their share of the memory first, and the
		// heap's soft limit is what is left of 90%.
		cache := min(max(cfg.MemBytes/8, 8<<20), 256<<20)
		memtable := min(max(cfg.MemBytes/16, 4<<20), 64<<20)
		store = &widecol.Options{Sync: widecol.SyncEveryBatch, CacheSize: cache, MemTableSize: uint64(memtable)}
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(max(cfg.MemBytes/10*9-cache-2*memtable, cfg.MemBytes/2))
		}
	}
	eng, err := session.Open(ctx, session.Config{DataDir: cfg.DataDir, Logger: lg, Store: store,
		Scheduler: session.SchedulerConfig{CPUs: cfg.CPUs, MemBytes: cfg.MemBytes}})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	s := &Server{cfg: cfg, log: lg, eng: eng, ln: ln, done: make(chan error, 1)}
	s.wire = &pgwire.Server{Handler: eng, Logger: lg}
	go func() { s.done <- s.wire.Serve(ln) }()
	lg.Info("sqld serving", "addr", ln.Addr().String(), "data_dir", cfg.DataDir)
	if cfg.AgentListen != "" {
		aln, err := net.Listen("tcp", cfg.AgentListen)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("server: agent listen: %w", err)
		}
		s.agentLn, s.agentDone = aln, make(chan error, 1)
		s.agents = &agent.Server{Join: eng.JoinAgent, Leave: eng.LeaveAgent, Heartbeat: eng.AgentHeartbeat, Logger: lg}
		go func() { s.agentDone <- s.agents.Serve(aln) }()
		lg.Info("sqld accepting agents", "agent_addr", aln.Addr().String())
	}
	return s, nil
}

// AgentAddr returns the address agents join on, or "" without
// Config.AgentListen.
func (s *Server) AgentAddr() string {
	if s.agentLn == nil {
		return ""
	}
	return s.agentLn.Addr().String()
}

// Addr returns the address the server listens on (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving, ends every session and closes storage cleanly.
// Closing again returns the first Close's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.wire.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, pgwire.ErrServerClosed) && err == nil {
		err = serr
	}
	if cerr := s.eng.Close(); cerr != nil && err == nil {
		err = cerr
	}
	// Agents go last: the views' tasks on them stopped with the engine.
	if s.agents != nil {
		_ = s.agents.Close()
		<-s.agentDone
	}
	return err
}
