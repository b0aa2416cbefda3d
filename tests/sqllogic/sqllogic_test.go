package sqllogic

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sqld/sqld/sql/server"
	"github.com/sqld/sqld/tests/slt"
)

// labels are the condition labels of the in-process server: it speaks
// PostgreSQL's dialect, so records marked skipif postgresql are skipped
// too, and records marked onlyif sqld (such as restart) run.
var labels = []string{"postgresql", "sqld"}

// maxReported bounds the failures listed per file.
const maxReported = 20

func TestSQLLogic(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".slt") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	if len(files) == 0 {
		t.Fatal("no .slt files found")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".slt"), func(t *testing.T) {
			runFile(t, file)
		})
	}
}

// instance is one sqld started for a file; restart replaces srv.
type instance struct {
	t       *testing.T
	dataDir string
	srv     *server.Server
}

func (in *instance) start(ctx context.Context) error {
	srv, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: in.dataDir})
	if err != nil {
		return fmt.Errorf("start sqld: %w", err)
	}
	in.srv = srv
	return nil
}

func (in *instance) close() error {
	if in.srv == nil {
		return nil
	}
	err := in.srv.Close()
	in.srv = nil
	return err
}

func (in *instance) connect(ctx context.Context) (*pgx.Conn, error) {
	if in.srv == nil {
		return nil, fmt.Errorf("sqld is not running")
	}
	url := fmt.Sprintf("postgres://sqld@%s/sqld?sslmode=disable&connect_timeout=10", in.srv.Addr())
	return pgx.Connect(ctx, url)
}

func runFile(t *testing.T, file string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	in := &instance{t: t, dataDir: t.TempDir()}
	if err := in.start(ctx); err != nil {
		if strings.Contains(err.Error(), "not implemented") {
			t.Skipf("sqld cannot start yet: %v", err)
		}
		t.Fatal(err)
	}
	defer func() {
		if err := in.close(); err != nil {
			t.Errorf("close sqld: %v", err)
		}
	}()
	r := &slt.Runner{
		Connect: in.connect,
		Restart: func(ctx context.Context) error {
			if err := in.close(); err != nil {
				return fmt.Errorf("close sqld: %w", err)
			}
			return in.start(ctx)
		},
		Labels:        labels,
		Verbose:       testing.Verbose(),
		Out:           testWriter{t},
		RecordTimeout: 30 * time.Second,
	}
	res, err := r.RunFile(ctx, file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	t.Logf("%s: %d passed, %d failed, %d skipped", file, res.Passed, res.Failed, res.Skipped)
	if res.Failed == 0 {
		return
	}
	var b strings.Builder
	for i, f := range res.Failures {
		if i == maxReported {
			fmt.Fprintf(&b, "... and %d more\n", len(res.Failures)-i)
			break
		}
		b.WriteString(f.String())
	}
	t.Errorf("%s: %d of %d records failed:\n%s", file, res.Failed, res.Passed+res.Failed, b.String())
}

// testWriter sends verbose runner output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
