package slt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestRunFileWithoutServer runs records that need no server, and checks
// that records needing one fail with the connection error.
func TestRunFileWithoutServer(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.slt", "sleep 1ms\n\nsystem ok\necho hi\n\nrestart\n\nskipif postgresql\nstatement ok\nSELECT 1\n\ninclude part/*.slt.part\n\nhalt\n\nstatement ok\nSELECT 2\n")
	write("part/a.slt.part", "statement ok\nSELECT 1\n")
	errDown := errors.New("server is down")
	r := &Runner{
		Connect: func(context.Context) (*pgx.Conn, error) { return nil, errDown },
		Labels:  []string{"postgresql"},
	}
	res, err := r.RunFile(context.Background(), filepath.Join(dir, "main.slt"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 0 || res.Failed != 2 || res.Skipped != 2 {
		t.Fatalf("result = %+v", res)
	}
	if !strings.Contains(res.Failures[0].Err.Error(), "no Restart function") {
		t.Errorf("restart failure = %v", res.Failures[0].Err)
	}
	if f := res.Failures[1]; !errors.Is(f.Err, errDown) || !strings.HasSuffix(f.File, "a.slt.part") || f.Line != 1 {
		t.Errorf("include failure = %+v", f)
	}

	r.Restart = func(context.Context) error { return nil }
	write("restart.slt", "restart\n")
	res, err = r.RunFile(context.Background(), filepath.Join(dir, "restart.slt"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || !errors.Is(res.Failures[0].Err, errDown) {
		t.Errorf("restart then reconnect: %+v", res)
	}
}

func TestRunFileErrors(t *testing.T) {
	r := &Runner{Connect: func(context.Context) (*pgx.Conn, error) { return nil, errors.New("no") }}
	if _, err := r.RunFile(context.Background(), filepath.Join(t.TempDir(), "missing.slt")); err == nil {
		t.Error("missing file: no error")
	}
	p := filepath.Join(t.TempDir(), "bad.slt")
	if err := os.WriteFile(p, []byte("statement sometimes\nSELECT 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunFile(context.Background(), p); !errors.Is(err, ErrSyntax) {
		t.Errorf("bad file: %v", err)
	}
	if _, err := (&Runner{}).RunFile(context.Background(), p); err == nil {
		t.Error("nil Connect: no error")
	}
}
