// Package bench measures sqld the way users load it: over the wire, against
// an embedded server in a temporary directory. `sqld bench` runs it and
// prints one line per figure.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/trace"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqld/sqld/sql/server"
)

// Config selects what to measure.
type Config struct {
	// Rows is the number of bid rows ingested (default 10,000,000).
	Rows int
	// Partitions of the bid stream (default 4).
	Partitions int
	// Auctions is the number of distinct auctions (default 10,000).
	Auctions int
	// FreshnessRate is the insert rate of the freshness run, rows/s
	// (default 10,000); FreshnessSeconds its length (default 10).
	FreshnessRate    int
	FreshnessSeconds int
	// Out receives the report lines (default os.Stdout).
	Out io.Writer
}

func (c *Config) defaults() {
	if c.Rows <= 0 {
		c.Rows = 10_000_000
	}
	if c.Partitions <= 0 {
		c.Partitions = 4
	}
	if c.Auctions <= 0 {
		c.Auctions = 10_000
	}
	if c.FreshnessRate <= 0 {
		c.FreshnessRate = 10_000
	}
	if c.FreshnessSeconds <= 0 {
		c.FreshnessSeconds = 10
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
}

// Run runs the named scenarios ("ingest", "maintain", "freshness"; "all"
// runs every one) against a fresh embedded server.
func Run(ctx context.Context, cfg Config, scenarios ...string) error {
	cfg.defaults()
	srv, conn, stop, err := embedded(ctx)
	if err != nil {
		return err
	}
	defer stop()
	want := map[string]bool{}
	for _, s := range scenarios {
		want[s] = true
	}
	all := want["all"] || len(scenarios) == 0
	if all || want["ingest"] || want["maintain"] || want["tumble"] || want["hop"] || want["leaderboard"] {
		if err := ingest(ctx, conn, cfg); err != nil {
			return err
		}
		for _, v := range viewBenches {
			if all || want[v.name] {
				if err := runView(ctx, conn, cfg, v); err != nil {
					return err
				}
			}
		}
	}
	if want["window-memory"] {
		if err := windowMemory(ctx, conn, cfg); err != nil {
			return err
		}
	}
	if want["join-memory"] {
		if err := joinMemory(ctx, conn, cfg); err != nil {
			return err
		}
	}
	if want["fairness"] {
		if err := fairness(ctx, conn, cfg); err != nil {
			return err
		}
	}
	if all || want["freshness"] {
		if err := freshness(ctx, srv.Addr(), cfg); err != nil {
			return err
		}
	}
	return nil
}

// embedded starts a server in a temporary directory and connects to it;
// stop closes both and removes the directory.
func embedded(ctx context.Context) (*server.Server, *pgx.Conn, func(), error) {
	return embeddedWith(ctx, server.Config{})
}

// embeddedWith is embedded with the settings of cfg (Listen and DataDir
// are chosen).
func embeddedWith(ctx context.Context, cfg server.Config) (*server.Server, *pgx.Conn, func(), error) {
	dir, err := os.MkdirTemp("", "sqld-bench-")
	if err != nil {
		return nil, nil, nil, err
	}
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", dir
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	conn, err := pgx.Connect(ctx, "postgres://bench@"+srv.Addr()+"/sqld?sslmode=disable")
	if err != nil {
		srv.Close()
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	stop := func() {
		conn.Close(ctx)
		srv.Close()
		os.RemoveAll(dir)
	}
	return srv, conn, stop, nil
}

// procStatusMB returns a /proc/self/status memory figure (VmRSS, VmHWM)
// in MiB.
func procStatusMB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// bidReader generates bid rows in COPY text format, deterministically.
type bidReader struct {
	n, rows, auctions int
	buf               []byte
}

func (r *bidReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.n < r.rows {
		i := r.n
		r.n++
		auction := 1000 + (i*7919)%r.auctions
		bidder := 1000 + (i*104729)%100_000
		price := 100 + (i*31)%1_000_000
		sec := i / 10_000
		r.buf = strconv.AppendInt(r.buf, int64(auction), 10)
		r.buf = append(r.buf, '\t')
		r.buf = strconv.AppendInt(r.buf, int64(bidder), 10)
		r.buf = append(r.buf, '\t')
		r.buf = strconv.AppendInt(r.buf, int64(price), 10)
		r.buf = append(r.buf, "\tchannel-"...)
		r.buf = strconv.AppendInt(r.buf, int64(i%10), 10)
		r.buf = append(r.buf, "\thttps://www.nexmark.com/item.htm?query=1\t"...)
		r.buf = time.Unix(1_700_000_000+int64(sec), int64(i%10_000)*100_000).UTC().AppendFormat(r.buf, "2006-01-02 15:04:05.000000")
		r.buf = append(r.buf, "\t\n"...)
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func ingest(ctx context.Context, conn *pgx.Conn, cfg Config) error {
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE STREAM bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR,
		url VARCHAR, date_time TIMESTAMP, extra VARCHAR,
		WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND) WITH (partitions = %d)`, cfg.Partitions)); err != nil {
		return err
	}
	start := time.Now()
	tag, err := conn.PgConn().CopyFrom(ctx, &bidReader{rows: cfg.Rows, auctions: cfg.Auctions}, "COPY bid FROM STDIN")
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(cfg.Out, "bench ingest rows=%d partitions=%d seconds=%.2f rows_per_sec=%.0f\n", tag.RowsAffected(), cfg.Partitions, secs, float64(tag.RowsAffected())/secs)
	return nil
}

// Scenarios lists the scenarios Run knows, "all" last.
func Scenarios() []string {
	out := []string{"ingest"}
	for _, v := range viewBenches {
		out = append(out, v.name)
	}
	return append(out, "freshness", "window-memory", "join-memory", "fairness", "all")
}

// Scenario reports whether Run knows the scenario name.
func Scenario(name string) bool { return slices.Contains(Scenarios(), name) }

// viewBench is a view created over the rows already in the bid stream.
type viewBench struct {
	name, sql string
}

var viewBenches = []viewBench{
	{"maintain", "CREATE VIEW per_auction AS SELECT auction, count(*), sum(price), max(price) FROM bid GROUP BY auction"},
	{"tumble", "CREATE VIEW tumble10 AS SELECT window_start, max(price), count(*) FROM TUMBLE(bid, date_time, INTERVAL '10' SECOND) GROUP BY window_start"},
	{"hop", "CREATE VIEW hop2_10 AS SELECT auction, window_start, count(*) FROM HOP(bid, date_time, INTERVAL '2' SECOND, INTERVAL '10' SECOND) GROUP BY auction, window_start"},
	{"leaderboard", "CREATE VIEW leaders AS SELECT auction, count(*) AS bids, max(price) AS top FROM bid GROUP BY auction ORDER BY bids DESC, top DESC LIMIT 10"},
}

func runView(ctx context.Context, conn *pgx.Conn, cfg Config, v viewBench) error {
	start := time.Now()
	// CREATE VIEW returns once the view covers every row already in the
	// stream: the time is the time to process them all.
	if _, err := conn.Exec(ctx, v.sql); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	var state int64
	name := strings.Fields(v.sql)[2]
	if err := conn.QueryRow(ctx, "SELECT state_groups FROM sys.jobs WHERE name = $1", name).Scan(&state); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "bench %s rows=%d seconds=%.2f rows_per_sec=%.0f state_groups=%d rss_mb=%d\n", v.name, cfg.Rows, secs, float64(cfg.Rows)/secs, state, rssMB())
	return nil
}

// rssMB returns the resident set size of this process in MiB.
func rssMB() int64 { return procStatusMB("VmRSS") }

// freshness inserts at a fixed rate and measures the time from each
// INSERT's acknowledgement to its row being visible in a view, polled by a
// second connection without FLUSH.
func freshness(ctx context.Context, addr string, cfg Config) error {
	url := "postgres://bench@" + addr + "/sqld?sslmode=disable"
	w, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer w.Close(ctx)
	r, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer r.Close(ctx)
	if _, err := w.Exec(ctx, "CREATE STREAM tick (seq BIGINT, payload VARCHAR)"); err != nil {
		return err
	}
	if _, err := w.Exec(ctx, "CREATE VIEW latest AS SELECT max(seq) AS seq, count(*) AS n FROM tick"); err != nil {
		return err
	}
	const perInsert = 100
	interval := time.Duration(float64(time.Second) * perInsert / float64(cfg.FreshnessRate))
	inserts := cfg.FreshnessSeconds * cfg.FreshnessRate / perInsert
	var mu sync.Mutex
	acked := make([]time.Time, inserts)
	visible := make([]time.Time, inserts)
	done := make(chan error, 1)
	go func() {
		var seen int64 = -1
		for {
			var seq *int64
			var n int64
			if err := r.QueryRow(ctx, "SELECT seq, n FROM latest").Scan(&seq, &n); err != nil && err != pgx.ErrNoRows {
				done <- err
				return
			}
			now := time.Now()
			if seq != nil && *seq > seen {
				mu.Lock()
				for s := seen + 1; s <= *seq && s < int64(inserts); s++ {
					visible[s] = now
				}
				mu.Unlock()
				seen = *seq
			}
			if seen >= int64(inserts-1) {
				done <- nil
				return
			}
			time.Sleep(500 * time.Microsecond)
		}
	}()
	next := time.Now()
	for i := 0; i < inserts; i++ {
		var sb []byte
		sb = append(sb, "INSERT INTO tick VALUES "...)
		for k := 0; k < perInsert; k++ {
			if k > 0 {
				sb = append(sb, ',')
			}
			// Only the last row of each INSERT carries its sequence
			// number; the others are below it.
			seq := int64(-1)
			if k == perInsert-1 {
				seq = int64(i)
			}
			sb = fmt.Appendf(sb, "(%d,'x')", seq)
		}
		if _, err := w.Exec(ctx, string(sb)); err != nil {
			return err
		}
		mu.Lock()
		acked[int64(i)] = time.Now()
		mu.Unlock()
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			return err
		}
	case <-time.After(30 * time.Second):
		return fmt.Errorf("freshness: the view did not catch up")
	}
	// A row seen before its INSERT's acknowledgement was recorded counts
	// as visible at once.
	lat := make([]time.Duration, inserts)
	for i := range lat {
		lat[i] = max(0, visible[i].Sub(acked[i]))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	fmt.Fprintf(cfg.Out, "bench freshness rate=%d rows_per_sec inserts=%d samples=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
		cfg.FreshnessRate, inserts, len(lat), pct(0.5), pct(0.99), pct(1))
	return nil
}

// fairness times SELECT count(*) on a 1M-row table on an idle server and
// again while four views over a generated stream keep the CPUs busy (the
// median of 7 each; the idle server has finished the insert's background
// work and uses no CPU). It also prints every time; the views' progress
// in the second before the queries and during them, and their backlog
// (events generated and not yet read, which grows while the views are
// CPU-bound); this process's CPU use and that of other processes, as
// shares of all CPUs (other processes make a run noisy).
func fairness(ctx context.Context, conn *pgx.Conn, cfg Config) error {
	if _, err := conn.Exec(ctx, "CREATE TABLE big (id BIGINT PRIMARY KEY, v BIGINT)"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "INSERT INTO big SELECT x, x % 100 FROM generate_series(1, 1000000) AS x"); err != nil {
		return err
	}
	const runs = 7
	query := func(phase string) (time.Duration, []time.Duration, error) {
		var ds []time.Duration
		for i := 0; i < runs; i++ {
			rg := trace.StartRegion(ctx, "fairness "+phase+" query")
			start := time.Now()
			var n int64
			err := conn.QueryRow(ctx, "SELECT count(*) FROM big").Scan(&n)
			ds = append(ds, time.Since(start))
			rg.End()
			if err != nil {
				return 0, nil, err
			}
		}
		sorted := slices.Clone(ds)
		slices.Sort(sorted)
		return sorted[len(sorted)/2], ds, nil
	}
	// viewRows returns the rows the views have read, and the events the
	// generator has written for them to read (each view reads each).
	viewRows := func() (int64, int64, error) {
		var in, events int64
		err := conn.QueryRow(ctx, "SELECT coalesce(sum(rows_in), 0) FROM sys.jobs").Scan(&in)
		if err == nil {
			// Each of the four views reads every event.
			err = conn.QueryRow(ctx, "SELECT coalesce(sum(next_event), 0) * 4 FROM sys.sources").Scan(&events)
		}
		return in, events, err
	}
	// The idle baseline: the server has finished with the insert (its
	// memtable flush and compactions) and uses no CPU.
	if _, _, err := query("warm-up"); err != nil {
		return err
	}
	idleCPU, err := waitIdle(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	c0 := sampleCPU()
	idle, idleAll, err := query("idle")
	if err != nil {
		return err
	}
	_, idleOther := c0.shares()
	if _, err := conn.Exec(ctx, `CREATE STREAM load (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
		date_time TIMESTAMP, extra VARCHAR) WITH (connector = 'nexmark', event = 'bid', seed = 3, partitions = 4, rate = 1000000)`); err != nil {
		return err
	}
	for i, q := range []string{
		"SELECT auction, count(*), max(price) FROM load GROUP BY auction",
		"SELECT bidder, sum(price) FROM load GROUP BY bidder",
		"SELECT channel, count(*), avg(price) FROM load GROUP BY channel",
		"SELECT auction, price FROM load WHERE price > 90000000",
	} {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE VIEW busy%d AS %s", i, q)); err != nil {
			return err
		}
	}
	time.Sleep(time.Second)
	// The load: the views' CPU use and progress in the second before the
	// queries, and their progress while the queries run.
	in0, _, err := viewRows()
	if err != nil {
		return err
	}
	c1 := sampleCPU()
	time.Sleep(time.Second)
	in1, offered1, err := viewRows()
	if err != nil {
		return err
	}
	loadCPU, loadOther := c1.shares()
	loadRate := float64(in1-in0) / time.Since(c1.wall).Seconds()
	c2 := sampleCPU()
	busy, busyAll, err := query("busy")
	if err != nil {
		return err
	}
	busyCPU, busyOther := c2.shares()
	in2, offered2, err := viewRows()
	if err != nil {
		return err
	}
	busyRate := float64(in2-in1) / time.Since(c2.wall).Seconds()
	fmt.Fprintf(cfg.Out, "bench fairness select_count_1m_idle_ms=%.1f select_count_1m_busy_ms=%.1f ratio=%.2f view_rows_in=%d\n",
		ms(idle), ms(busy), float64(busy)/float64(idle), in2)
	fmt.Fprintf(cfg.Out, "bench fairness idle_ms=%s cpu_before=%.0f%% other_processes_cpu_during=%.0f%%\n", msList(idleAll), 100*idleCPU, 100*idleOther)
	fmt.Fprintf(cfg.Out, "bench fairness busy_ms=%s views_rows_per_s_before=%.0f views_rows_per_s_during=%.0f views_backlog_rows=%d..%d cpu_before=%.0f%% cpu_during=%.0f%% other_processes_cpu_before=%.0f%% other_processes_cpu_during=%.0f%%\n",
		msList(busyAll), loadRate, busyRate, offered1-in1, offered2-in2, 100*loadCPU, 100*busyCPU, 100*loadOther, 100*busyOther)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func msList(ds []time.Duration) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%.0f", ms(d))
	}
	return b.String()
}

// processCPU returns the CPU time this process (the embedded server and
// the bench) has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostCPU returns the busy time of all the machine's CPUs (from
// /proc/stat; 0 where there is none).
func hostCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:9] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// cpuSample is a reading of the CPU time used by this process (the
// embedded server and the bench) and by the whole machine.
type cpuSample struct {
	wall       time.Time
	self, host time.Duration
}

func sampleCPU() cpuSample {
	return cpuSample{wall: time.Now(), self: processCPU(), host: hostCPU()}
}

// shares returns the share of all CPUs that this process and that other
// processes (load from outside that makes a run noisy) used since a.
func (a cpuSample) shares() (self, other float64) {
	b := sampleCPU()
	wall := b.wall.Sub(a.wall).Seconds() * float64(runtime.NumCPU())
	self = (b.self - a.self).Seconds() / wall
	if a.host > 0 && b.host > a.host {
		other = max(0, ((b.host-a.host)-(b.self-a.self)).Seconds()/wall)
	}
	return self, other
}

// waitIdle waits until the process uses under 5% of one CPU over 200ms
// (background work such as flushes is done) and returns its last use, as
// a fraction of all CPUs.
func waitIdle(ctx context.Context, limit time.Duration) (float64, error) {
	deadline := time.Now().Add(limit)
	for {
		c, w := processCPU(), time.Now()
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		use := (processCPU() - c).Seconds() / time.Since(w).Seconds()
		if use < 0.05 || time.Now().After(deadline) {
			return use / float64(runtime.NumCPU()), nil
		}
	}
}

// windowMemory streams cfg.Rows bid rows through a 10-second tumbling
// window view, 5M rows at a time, and prints the resident set size after
// each chunk: with closed windows freed it must stay flat.
func windowMemory(ctx context.Context, conn *pgx.Conn, cfg Config) error {
	if _, err := conn.Exec(ctx, `CREATE STREAM wbid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR,
		url VARCHAR, date_time TIMESTAMP, extra VARCHAR,
		WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND) WITH (partitions = 4)`); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE VIEW w10 AS SELECT window_start, max(price), count(*) FROM TUMBLE(wbid, date_time, INTERVAL '10' SECOND) GROUP BY window_start"); err != nil {
		return err
	}
	const chunk = 5_000_000
	var first int64
	start := time.Now()
	for done := 0; done < cfg.Rows; done += chunk {
		n := min(chunk, cfg.Rows-done)
		r := &bidReader{n: done, rows: done + n, auctions: cfg.Auctions}
		if _, err := conn.PgConn().CopyFrom(ctx, r, "COPY wbid FROM STDIN"); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
			return err
		}
		runtime.GC()
		rss := rssMB()
		if first == 0 {
			first = rss
		}
		fmt.Fprintf(cfg.Out, "bench window-memory rows=%d rss_mb=%d growth_since_first_chunk=%.1f%%\n", done+n, rss, 100*float64(rss-first)/float64(first))
	}
	fmt.Fprintf(cfg.Out, "bench window-memory total_rows=%d seconds=%.1f\n", cfg.Rows, time.Since(start).Seconds())
	return nil
}

// joinMemory runs an interval join of bids with their auctions (a bid
// counts within 10 seconds of its auction) over cfg.Rows generated Nexmark
// events and reports RSS and the join's stored rows halfway and at the
// end: once the watermarks move, both stay flat.
func joinMemory(ctx context.Context, conn *pgx.Conn, cfg Config) error {
	if _, err := conn.Exec(ctx, fmt.Sprintf(nexmarkDDL, cfg.Rows, cfg.Partitions), pgx.QueryExecModeSimpleProtocol); err != nil {
		return err
	}
	start := time.Now()
	if _, err := conn.Exec(ctx, `CREATE VIEW timely_bids AS SELECT b.auction, b.price, a.seller, b.date_time
		FROM bid b JOIN auction a ON b.auction = a.id AND b.date_time BETWEEN a.date_time AND a.date_time + INTERVAL '10' SECOND`); err != nil {
		return err
	}
	report := func(label string) error {
		var in, state, out int64
		if err := conn.QueryRow(ctx, "SELECT rows_in, coalesce(join_rows, 0), rows_out FROM sys.jobs WHERE name = 'timely_bids'").Scan(&in, &state, &out); err != nil {
			return err
		}
		runtime.GC()
		fmt.Fprintf(cfg.Out, "bench join-memory at=%s rows_in=%d rows_out=%d join_rows=%d rss_mb=%d seconds=%.1f\n", label, in, out, state, rssMB(), time.Since(start).Seconds())
		return nil
	}
	// The two streams hold about 96%% of the events (the rest are people).
	half := int64(cfg.Rows) * 96 / 200
	var first int64
	for {
		var in int64
		if err := conn.QueryRow(ctx, "SELECT rows_in FROM sys.jobs WHERE name = 'timely_bids'").Scan(&in); err != nil {
			return err
		}
		if in >= half {
			first = rssMB()
			if err := report("half"); err != nil {
				return err
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		var pending int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM sys.sources WHERE NOT done").Scan(&pending); err != nil {
			return err
		}
		if pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		return err
	}
	if err := report("end"); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "bench join-memory events=%d rss_growth_half_to_end=%.1f%% peak_rss_mb=%d\n", cfg.Rows, 100*float64(rssMB()-first)/float64(first), peakRSSMB())
	return nil
}
