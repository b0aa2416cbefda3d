package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/server"
)

// NexmarkConfig selects a Nexmark run.
type NexmarkConfig struct {
	// Queries are names like "q0", "q7"; empty means every query found.
	Queries []string
	// Events is the number of Nexmark events (all kinds) per query.
	Events int64
	// Partitions of each stream.
	Partitions int
	// Source is "generator" (views read while events are generated) or
	// "log" (events are generated into the log first; only the views are
	// timed).
	Source string
	// Verify compares each view with its SELECT run in batch.
	Verify bool
	// Dir holds the query files (qN.sql, as CREATE SINK ... AS SELECT
	// ... WITH (...)).
	Dir string
	// MemBytes is the embedded server's memory (server.Config.MemBytes;
	// 0: its default).
	MemBytes int64
	Out      interface{ Write([]byte) (int, error) }
}

// flinkPerCore is Flink 1.13's published throughput per core, events/s
// (the Nexmark project's figures, 3 x 8 cores, RocksDB, exactly-once).
var flinkPerCore = map[string]float64{
	"q0": 155e3, "q1": 158e3, "q2": 175e3, "q3": 152e3, "q4": 34e3, "q5": 22e3, "q7": 12e3,
	"q8": 146e3, "q9": 14e3, "q11": 40e3, "q12": 76e3, "q15": 72e3, "q16": 19e3, "q17": 117e3,
	"q18": 54e3, "q19": 44e3, "q20": 19e3, "q21": 98e3, "q22": 130e3,
}

const nexmarkDDL = `
CREATE STREAM person (id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR, city VARCHAR,
  state VARCHAR, date_time TIMESTAMP, extra VARCHAR,
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
  WITH (connector = 'nexmark', event = 'person', seed = 1, events = %[1]d, partitions = %[2]d);
CREATE STREAM auction (id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT, reserve BIGINT,
  date_time TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR,
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
  WITH (connector = 'nexmark', event = 'auction', seed = 1, events = %[1]d, partitions = %[2]d);
CREATE STREAM bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  date_time TIMESTAMP, extra VARCHAR,
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
  WITH (connector = 'nexmark', event = 'bid', seed = 1, events = %[1]d, partitions = %[2]d)`

var (
	sinkRe = regexp.MustCompile(`(?is)CREATE\s+SINK\s+\S+\s+AS\s+(.*?)\s*WITH\s*\(\s*connector\s*=.*$`)
	varRe  = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)
	// rwSetRe matches RisingWave's planner switches (SET rw_... = ...;),
	// which choose among plans sqld does not have.
	rwSetRe = regexp.MustCompile(`(?im)^\s*SET\s+rw_\w+\s*(=|TO)[^;]*;\s*$`)
)

// NexmarkVars are the values of the ${...} variables of the RisingWave
// query files (their benchmark scripts set them from the environment).
var NexmarkVars = map[string]string{
	// RisingWave's default size of q13's side table.
	"BENCHMARK_NEXMARK_RISINGWAVE_Q13_SIDE_INPUT_ROW_COUNT": "10000",
}

// NexmarkQuery returns the SELECT of a query file, or why it cannot run.
func NexmarkQuery(dir, name string) (string, error) {
	_, sel, err := NexmarkFile(dir, name)
	return sel, err
}

// NexmarkFile returns the setup statements of a query file (tables,
// inserts and functions the sink's query needs, in order) and the sink's
// SELECT, with the file's variables replaced by NexmarkVars.
func NexmarkFile(dir, name string) (setup []string, sel string, err error) {
	b, err := os.ReadFile(filepath.Join(dir, name+".sql"))
	if err != nil {
		return nil, "", err
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "--") {
			continue
		}
		lines = append(lines, l)
	}
	text := rwSetRe.ReplaceAllString(strings.Join(lines, "\n"), "")
	var missing []string
	text = varRe.ReplaceAllStringFunc(text, func(m string) string {
		v, ok := NexmarkVars[m[2:len(m)-1]]
		if !ok {
			missing = append(missing, m)
		}
		return v
	})
	if len(missing) > 0 {
		return nil, "", fmt.Errorf("needs the value of %s", strings.Join(missing, ", "))
	}
	loc := sinkRe.FindStringSubmatchIndex(text)
	if loc == nil {
		return nil, "", fmt.Errorf("not a CREATE SINK ... AS SELECT")
	}
	stmts, err := parser.Parse(text[:loc[0]])
	if err != nil {
		return nil, "", fmt.Errorf("setup: %w", err)
	}
	for _, st := range stmts {
		setup = append(setup, st.Text)
	}
	return setup, strings.TrimSpace(text[loc[2]:loc[3]]), nil
}

// NexmarkQueries lists the query names of dir (q0, q1, ...), in order.
func NexmarkQueries(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	re := regexp.MustCompile(`^q(\d+)\.sql$`)
	for _, e := range ents {
		if re.MatchString(e.Name()) {
			out = append(out, strings.TrimSuffix(e.Name(), ".sql"))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i][1:])
		b, _ := strconv.Atoi(out[j][1:])
		return a < b
	})
	return out, nil
}

// RunNexmark runs each query as a view over generated Nexmark streams and
// prints one line per query.
func RunNexmark(ctx context.Context, cfg NexmarkConfig) error {
	if cfg.Events <= 0 {
		cfg.Events = 10_000_000
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 4
	}
	if cfg.Source == "" {
		cfg.Source = "generator"
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	queries := cfg.Queries
	if len(queries) == 0 {
		var err error
		if queries, err = NexmarkQueries(cfg.Dir); err != nil {
			return err
		}
	}
	var unsupported []string
	for _, q := range queries {
		setup, sel, err := NexmarkFile(cfg.Dir, q)
		if err == nil {
			err = runNexmarkQuery(ctx, cfg, q, setup, sel)
		}
		if err != nil {
			unsupported = append(unsupported, fmt.Sprintf("%s: %v", q, err))
		}
	}
	for _, u := range unsupported {
		fmt.Fprintf(cfg.Out, "unsupported %s\n", u)
	}
	return nil
}

func runNexmarkQuery(ctx context.Context, cfg NexmarkConfig, name string, setup []string, sel string) error {
	_, conn, stop, err := embeddedWith(ctx, server.Config{MemBytes: cfg.MemBytes})
	if err != nil {
		return err
	}
	defer stop()
	exec := func(sql string) error {
		_, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
		return err
	}
	waitSources := func() error {
		for {
			var pending int64
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM sys.sources WHERE NOT done").Scan(&pending); err != nil {
				return err
			}
			if pending == 0 {
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The query's own tables and functions are ready before the streams
	// start; their setup is not timed.
	for _, st := range setup {
		if err := exec(st); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	start := time.Now()
	ddl := fmt.Sprintf(nexmarkDDL, cfg.Events, cfg.Partitions)
	if cfg.Source == "log" {
		// The views read rows stored in the log, not regenerated ones.
		ddl = strings.ReplaceAll(ddl, "partitions = ", "store_rows = 'true', partitions = ")
	}
	if err := exec(ddl); err != nil {
		return err
	}
	if cfg.Source == "log" {
		if err := waitSources(); err != nil {
			return err
		}
		start = time.Now()
	}
	if err := exec("CREATE VIEW " + name + " AS " + sel); err != nil {
		return err
	}
	if err := waitSources(); err != nil {
		return err
	}
	if err := exec("FLUSH"); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	var failed string
	if err := conn.QueryRow(ctx, "SELECT coalesce(last_error, '') FROM sys.jobs WHERE name = $1", name).Scan(&failed); err != nil {
		return err
	}
	if failed != "" {
		return fmt.Errorf("view failed: %s", failed)
	}
	eps := float64(cfg.Events) / secs
	perCore := eps / float64(runtime.NumCPU())
	vs := "n/a"
	if f, ok := flinkPerCore[name]; ok {
		vs = fmt.Sprintf("%.2f", perCore/f)
	}
	verified := ""
	if cfg.Verify {
		got, err := SortedRows(ctx, conn, "SELECT * FROM "+name)
		if err != nil {
			return err
		}
		want, err := SortedRows(ctx, conn, sel)
		if err != nil {
			return err
		}
		verified = " verified=ok"
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			onlyView, onlyBatch := rowDiff(got, want, 3)
			verified = fmt.Sprintf(" verified=MISMATCH(view %d rows, batch %d rows; only in the view: %q; only in the batch: %q)",
				len(got), len(want), onlyView, onlyBatch)
		}
	}
	fmt.Fprintf(cfg.Out, "bench %s events=%d seconds=%.2f events_per_sec=%.0f per_core=%.0f peak_rss_mb=%d vs_flink_1_13=%s source=%s%s\n",
		name, cfg.Events, secs, eps, perCore, peakRSSMB(), vs, cfg.Source, verified)
	return nil
}

// rowDiff returns up to n lines of each sorted list that the other lacks
// (as multisets).
func rowDiff(a, b []string, n int) (onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j >= len(b) || (i < len(a) && a[i] < b[j]):
			if len(onlyA) < n {
				onlyA = append(onlyA, a[i])
			}
			i++
		case i >= len(a) || b[j] < a[i]:
			if len(onlyB) < n {
				onlyB = append(onlyB, b[j])
			}
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}

// SortedRows runs a query and returns its rows as sorted text lines, NULL
// as "NULL" and columns joined by |, for comparing results.
func SortedRows(ctx context.Context, conn *pgx.Conn, sql string) ([]string, error) {
	rs, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		vals := rs.RawValues()
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = string(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// peakRSSMB returns the peak resident set size of this process in MiB.
func peakRSSMB() int64 { return procStatusMB("VmHWM") }
