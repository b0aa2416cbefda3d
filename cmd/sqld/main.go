// Command sqld is the sqld server: a declarative streaming SQL service that
// speaks the Postgres wire protocol.
//
//	sqld [--listen 127.0.0.1:5433] [--data-dir ./sqld-data] [--log-level info]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sqld/sqld/sql/server"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("sqld", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5433", "address to serve the Postgres wire protocol on")
	dataDir := fs.String("data-dir", "./sqld-data", "directory for the store and the log")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sqld [flags]\n\nsqld serves streaming SQL over the Postgres wire protocol.\nConnect with: psql -h 127.0.0.1 -p 5433 -d sqld\n\nFlags:\n")
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Start(ctx, server.Config{Listen: *listen, DataDir: *dataDir, Logger: logger})
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
