// Command slt runs sqllogictest files against a Postgres-wire server, sqld
// or PostgreSQL itself, and prints the failures and the counts.
//
//	go run ./cmd/slt --addr postgres://127.0.0.1:5433/sqld [-v] [--label postgresql] \
//	    [--stop-on-fail] [--fresh-db] [--max-failures 10] FILE...
//
// The last line of the output is "N passed, N failed" (with ", N skipped"
// when records were skipped); the exit status is 1 if any record failed or
// a file could not be run.
//
// With --fresh-db every file runs in a database of its own, created with
// CREATE DATABASE before the file and dropped after it; without it every
// file runs in the database named by --addr, and isolation is up to the
// caller.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sqld/sqld/tests/slt"
)

type labels []string

func (l *labels) String() string { return strings.Join(*l, ",") }

func (l *labels) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		addr        = flag.String("addr", "postgres://127.0.0.1:5433/sqld", "connection URL of the server under test")
		verbose     = flag.Bool("v", false, "print every record as it runs")
		stopOnFail  = flag.Bool("stop-on-fail", false, "stop at the first failing record")
		freshDB     = flag.Bool("fresh-db", false, "run each file in a new database made with CREATE DATABASE")
		maxFailures = flag.Int("max-failures", 10, "failures printed per file (0 prints none, -1 all)")
		timeout     = flag.Duration("timeout", time.Minute, "limit for each attempt of a record (0: none)")
		lbls        labels
	)
	flag.Var(&lbls, "label", "condition label this server answers to (repeatable; default postgresql)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: slt [flags] FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		return 2
	}
	if len(lbls) == 0 {
		lbls = labels{"postgresql"}
	}
	base, err := pgx.ParseConfig(*addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "slt: --addr: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var total slt.Result
	broken := false
	for i, file := range flag.Args() {
		cfg := base.Copy()
		var cleanup func()
		if *freshDB {
			name := fmt.Sprintf("slt_%d_%d", os.Getpid(), i)
			cleanup, err = createDB(ctx, base, name)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
				broken = true
				continue
			}
			cfg.Database = name
		}
		r := &slt.Runner{
			Connect: func(ctx context.Context) (*pgx.Conn, error) {
				return pgx.ConnectConfig(ctx, cfg.Copy())
			},
			Labels:        lbls,
			Verbose:       *verbose,
			Out:           os.Stdout,
			StopOnFail:    *stopOnFail,
			RecordTimeout: *timeout,
		}
		res, err := r.RunFile(ctx, file)
		if cleanup != nil {
			cleanup()
		}
		printFailures(os.Stdout, res.Failures, *maxFailures)
		fmt.Printf("%s: %s\n", file, counts(res))
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			broken = true
		}
		total.Add(res)
		if ctx.Err() != nil || (*stopOnFail && (res.Failed > 0 || err != nil)) {
			break
		}
	}
	fmt.Println(counts(total))
	if total.Failed > 0 || broken {
		return 1
	}
	return 0
}

func counts(r slt.Result) string {
	s := fmt.Sprintf("%d passed, %d failed", r.Passed, r.Failed)
	if r.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", r.Skipped)
	}
	return s
}

func printFailures(w io.Writer, fs []slt.Failure, limit int) {
	for i, f := range fs {
		if limit >= 0 && i >= limit {
			fmt.Fprintf(w, "... and %d more failures\n", len(fs)-limit)
			return
		}
		fmt.Fprint(w, f.String())
	}
}

// createDB creates database name through the server in base and returns a
// function that drops it.
func createDB(ctx context.Context, base *pgx.ConnConfig, name string) (func(), error) {
	admin, err := pgx.ConnectConfig(ctx, base.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident, pgx.QueryExecModeSimpleProtocol); err != nil {
		_ = admin.Close(context.Background())
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+ident, pgx.QueryExecModeSimpleProtocol); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "drop database %s: %v\n", name, err)
		}
	}, nil
}
