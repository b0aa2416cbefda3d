// Command sqld is the sqld server: a declarative streaming SQL service that
// speaks the Postgres wire protocol.
//
//	sqld [--listen 127.0.0.1:5433] [--data-dir ./sqld-data] [--log-level info] [--agent-listen 127.0.0.1:5434]
//	sqld agent --join 127.0.0.1:5434 [--cpus N] [--memory MiB]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"

	"github.com/sqld/sqld/agent"
	"github.com/sqld/sqld/sql/server"
	"github.com/sqld/sqld/sql/session"
	"github.com/sqld/sqld/tests/bench"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "bench" {
		return runBench(args[1:])
	}
	if len(args) > 0 && args[0] == "agent" {
		return runAgent(args[1:])
	}
	fs := flag.NewFlagSet("sqld", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5433", "address to serve the Postgres wire protocol on")
	dataDir := fs.String("data-dir", "./sqld-data", "directory for the store and the log")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	cpus := fs.Float64("cpus", 0, "CPUs the in-process agent offers to view jobs (0: all cores)")
	memory := fs.Int64("memory", 0, "memory in MiB for sqld: the in-process agent offers it and the Go runtime keeps its heap under 90% of it (0: 4096 offered, no heap limit)")
	agentListen := fs.String("agent-listen", "", "address agents of other processes join on (sqld agent --join ADDR), e.g. 127.0.0.1:5434; port 0 picks a free one (logged). Empty: no remote agents. Unauthenticated: bind to an address only trusted hosts reach")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sqld [flags]\n       sqld agent --join HOST:PORT [--cpus N] [--memory MiB]   (sqld agent --help)\n       sqld bench [scenario...] [flags]   (sqld bench --help)\n\nsqld serves streaming SQL over the Postgres wire protocol.\nConnect with: psql -h 127.0.0.1 -p 5433 -d sqld\n\nView jobs run on the in-process agent and on agents that join with\n--agent-listen set: a view maintained incrementally over one stream runs\nits epochs' evaluation on a remote agent when one has room (sys.agents).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		fmt.Fprintf(os.Stderr, "sqld: invalid --log-level %q\n", *logLevel)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqld: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "sqld: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpus < 0 || *memory < 0 {
		fmt.Fprintln(os.Stderr, "sqld: --cpus and --memory must not be negative")
		return 2
	}
	srv, err := server.Start(ctx, server.Config{Listen: *listen, DataDir: *dataDir, Logger: logger, CPUs: *cpus, MemBytes: *memory << 20, AgentListen: *agentListen})
	if err != nil {
		logger.Error("sqld failed to start", "err", err)
		return 1
	}
	<-ctx.Done()
	logger.Info("sqld shutting down")
	if err := srv.Close(); err != nil {
		logger.Error("shutdown", "err", err)
		return 1
	}
	logger.Info("sqld stopped")
	return 0
}

// runAgent runs `sqld agent`: an agent process that joins a running sqld,
// offers its resources and runs the view stages placed on it.
func runAgent(args []string) int {
	fs := flag.NewFlagSet("sqld agent", flag.ContinueOnError)
	join := fs.String("join", "", "agent address of the sqld to join (its --agent-listen), host:port")
	name := fs.String("name", "", "agent id (default: the server names it agent-N)")
	cpus := fs.Float64("cpus", float64(runtime.NumCPU()), "CPUs this agent offers")
	memory := fs.Int64("memory", 1024, "memory in MiB this agent offers")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sqld agent --join HOST:PORT [flags]\n\nJoins a running sqld (started with --agent-listen) as an agent: offers\nCPUs and memory to its scheduler and runs the view stages placed on it.\nIf this process dies, its tasks are restarted on the remaining agents.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *join == "" {
		fmt.Fprintln(os.Stderr, "sqld agent: --join is required")
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		fmt.Fprintf(os.Stderr, "sqld agent: invalid --log-level %q\n", *logLevel)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := agent.Run(ctx, agent.Config{Join: *join, Name: *name, CPUs: *cpus, MemBytes: *memory << 20,
		Executor: session.StageExecutor(), Logger: logger})
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqld agent: %v\n", err)
		return 1
	}
	return 0
}

func runBench(args []string) int {
	if len(args) > 0 && args[0] == "nexmark" {
		return runNexmark(args[1:])
	}
	fs := flag.NewFlagSet("sqld bench", flag.ContinueOnError)
	rows := fs.Int("rows", 10_000_000, "bid rows to ingest")
	parts := fs.Int("partitions", 4, "partitions of the bid stream")
	auctions := fs.Int("auctions", 10_000, "distinct auctions")
	rate := fs.Int("rate", 10_000, "insert rate of the freshness run, rows/s")
	secs := fs.Int("seconds", 10, "length of the freshness run")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the run to this file")
	traceFile := fs.String("trace", "", "write an execution trace of the run to this file (go tool trace)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sqld bench [ingest|maintain|tumble|hop|leaderboard|freshness|window-memory|join-memory|fairness|all]... [flags]\n\nRuns an embedded sqld in a temporary directory and prints one line per figure.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var scenarios []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if !bench.Scenario(args[0]) {
			fmt.Fprintf(os.Stderr, "sqld bench: unknown scenario %q (known: %s, nexmark)\n", args[0], strings.Join(bench.Scenarios(), ", "))
			return 2
		}
		scenarios = append(scenarios, args[0])
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqld bench: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "sqld bench: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqld bench: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			fmt.Fprintf(os.Stderr, "sqld bench: %v\n", err)
			return 2
		}
		defer trace.Stop()
	}
	if *memProfile != "" {
		defer func() {
			f, err := os.Create(*memProfile)
			if err != nil {
				fmt.Fprintf(os.Stderr, "sqld bench: %v\n", err)
				return
			}
			defer f.Close()
			_ = pprof.WriteHeapProfile(f)
		}()
	}
	cfg := bench.Config{Rows: *rows, Partitions: *parts, Auctions: *auctions, FreshnessRate: *rate, FreshnessSeconds: *secs}
	if err := bench.Run(context.Background(), cfg, scenarios...); err != nil {
		fmt.Fprintf(os.Stderr, "sqld bench: %v\n", err)
		return 1
	}
	return 0
}

func runNexmark(args []string) int {
	fs := flag.NewFlagSet("sqld bench nexmark", flag.ContinueOnError)
	queries := fs.String("queries", "", "comma-separated queries to run, e.g. q0,q7 (default: every query file)")
	events := fs.Int64("events", 10_000_000, "Nexmark events per query (all kinds)")
	parts := fs.Int("partitions", 4, "partitions of each stream")
	source := fs.String("source", "generator", "generator: views read while events are generated; log: events are loaded first and only views are timed")
	verify := fs.Bool("verify", false, "compare each view with its SELECT run in batch")
	dir := fs.String("queries-dir", "../shared/corpora/nexmark/risingwave", "directory of the query files (qN.sql)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the run to this file")
	memory := fs.Int64("memory", 1024, "memory in MiB of the embedded sqld (see sqld --memory)")
	traceFile := fs.String("trace", "", "write an execution trace of the run to this file (go tool trace)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *source != "generator" && *source != "log" {
		fmt.Fprintln(os.Stderr, "sqld bench nexmark: --source must be generator or log")
		return 2
	}
	if *events <= 0 {
		fmt.Fprintln(os.Stderr, "sqld bench nexmark: --events must be positive")
		return 2
	}
	if *parts <= 0 {
		fmt.Fprintln(os.Stderr, "sqld bench nexmark: --partitions must be positive")
		return 2
	}
	if *memory <= 0 {
		fmt.Fprintln(os.Stderr, "sqld bench nexmark: --memory must be positive")
		return 2
	}
	all, err := bench.NexmarkQueries(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqld bench nexmark: query files: %v\n", err)
		return 2
	}
	var names []string
	if *queries != "" {
		known := map[string]bool{}
		for _, q := range all {
			known[q] = true
		}
		for _, q := range strings.Split(*queries, ",") {
			q = strings.TrimSpace(q)
			if !known[q] {
				fmt.Fprintf(os.Stderr, "sqld bench nexmark: unknown query %q (known: %s)\n", q, strings.Join(all, ", "))
				return 2
			}
			names = append(names, q)
		}
	} else {
		names = all
	}
	if len(names) > 1 {
		// One process per query, so that each query's peak RSS is its own.
		status := 0
		for _, q := range names {
			args := []string{"bench", "nexmark", "--queries", q, "--events", fmt.Sprint(*events), "--partitions", fmt.Sprint(*parts),
				"--source", *source, "--queries-dir", *dir, "--memory", fmt.Sprint(*memory)}
			if *verify {
				args = append(args, "--verify")
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				status = 1
			}
		}
		return status
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqld bench nexmark: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "sqld bench nexmark: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqld bench nexmark: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			fmt.Fprintf(os.Stderr, "sqld bench nexmark: %v\n", err)
			return 2
		}
		defer trace.Stop()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}()
	}
	cfg := bench.NexmarkConfig{Events: *events, Partitions: *parts, Source: *source, Verify: *verify, Dir: *dir, Queries: names, MemBytes: *memory << 20}
	if err := bench.RunNexmark(context.Background(), cfg); err != nil {
		fmt.Fprintf(os.Stderr, "sqld bench nexmark: %v\n", err)
		return 1
	}
	return 0
}
