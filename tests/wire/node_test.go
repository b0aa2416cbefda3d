package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodeScript connects with node-postgres, runs parameterized queries (in
// the extended protocol, as pg does for any query with values) and a
// simple-protocol multi-statement query, and prints the results as JSON.
const nodeScript = `
const { Client } = require('pg');
(async () => {
  const c = new Client({ host: process.env.H, port: +process.env.P, user: 'sqld', database: 'sqld' });
  await c.connect();
  const tbl = process.env.T;
  const out = {};
  await c.query('CREATE TABLE ' + tbl + ' (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE PRECISION, ok BOOLEAN, born DATE)');
  await c.query('INSERT INTO ' + tbl + ' VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)',
    [1, 'ann', 1.5, true, '2000-01-02', 2, null, -2, false, null]);
  const r = await c.query('SELECT id, name, score, ok, born::text AS born FROM ' + tbl + ' WHERE id >= $1 ORDER BY id', [1]);
  out.rows = r.rows;
  out.fields = r.fields.map(f => [f.name, f.dataTypeID]);
  const p = await c.query({ name: 'byname', text: 'SELECT name FROM ' + tbl + ' WHERE id = $1', values: [1] });
  const p2 = await c.query({ name: 'byname', text: 'SELECT name FROM ' + tbl + ' WHERE id = $1', values: [2] });
  out.prepared = [p.rows[0].name, p2.rows[0].name];
  const multi = await c.query('SELECT 1 AS a; SELECT 2 AS b');
  out.multi = multi.map(m => m.rows[0]);
  try { await c.query('SELECT 1/0'); } catch (e) { out.err = e.code; }
  const after = await c.query('SELECT count(*)::int AS n FROM ' + tbl);
  out.n = after.rows[0].n;
  await c.end();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e.stack || e); process.exit(1); });
`

// TestNodePostgres runs node-postgres (pg@8) against sqld. It needs node
// and npm with access to the npm registry, and skips otherwise.
func TestNodePostgres(t *testing.T) {
	t.Parallel()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "pg@8")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("npm install pg@8 failed (no registry access?): %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.js"), []byte(nodeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port := hostPort(shared.Addr())
	tbl := name(t, "node")
	cmd := exec.CommandContext(ctx, node, "main.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "H="+host, "P="+port, "T="+tbl)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var got struct {
		Rows []struct {
			ID    string  `json:"id"` // pg returns int8 as a string
			Name  *string `json:"name"`
			Score float64 `json:"score"`
			OK    bool    `json:"ok"`
			Born  *string `json:"born"`
		} `json:"rows"`
		Fields   [][]any          `json:"fields"`
		Prepared []*string        `json:"prepared"`
		Multi    []map[string]int `json:"multi"`
		Err      string           `json:"err"`
		N        int              `json:"n"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("node output %q: %v", stdout.String(), err)
	}
	if len(got.Rows) != 2 {
		t.Fatalf("rows: %s", stdout.String())
	}
	r0, r1 := got.Rows[0], got.Rows[1]
	if r0.ID != "1" || r0.Name == nil || *r0.Name != "ann" || r0.Score != 1.5 || !r0.OK || r0.Born == nil || *r0.Born != "2000-01-02" {
		t.Errorf("row 1: %+v", r0)
	}
	if r1.ID != "2" || r1.Name != nil || r1.Score != -2 || r1.OK || r1.Born != nil {
		t.Errorf("row 2: %+v", r1)
	}
	wantFields := `[[id 20] [name 25] [score 701] [ok 16] [born 25]]`
	if f := fmtAny(got.Fields); f != wantFields {
		t.Errorf("fields %s, want %s", f, wantFields)
	}
	if len(got.Prepared) != 2 || got.Prepared[0] == nil || *got.Prepared[0] != "ann" || got.Prepared[1] != nil {
		t.Errorf("named prepared statement: %s", stdout.String())
	}
	if len(got.Multi) != 2 || got.Multi[0]["a"] != 1 || got.Multi[1]["b"] != 2 {
		t.Errorf("multi-statement: %v", got.Multi)
	}
	if got.Err != "22012" {
		t.Errorf("error code %q, want 22012", got.Err)
	}
	if got.N != 2 {
		t.Errorf("count %d, want 2", got.N)
	}
}

func fmtAny(v [][]any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	r := bytes.NewBufferString("")
	for _, c := range s {
		switch c {
		case '"':
		case ',':
			r.WriteByte(' ')
		default:
			r.WriteRune(c)
		}
	}
	return r.String()
}
