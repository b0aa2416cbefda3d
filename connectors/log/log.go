package log

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// formatVersion is the version of the data directory layout. A directory
// with another version is refused with ErrIncompatibleFormat. Version 2
// adds batches stored as regeneration descriptions (AppendOptions.Regen):
// a directory is moved to it before its first such batch is written, so
// that builds that know only version 1 refuse it rather than take those
// batches for a torn tail. Directories are created at version 1.
const (
	formatVersion      = 1
	formatVersionRegen = 2
)

const (
	formatFile = "FORMAT"
	lockFile   = "LOCK"
	topicsDir  = "topics"
	groupsDir  = "groups"
	topicFile  = "topic.json"
)

// Options configure a Log. The zero value works: the OS file system, the Go
// allocator, the wall clock and no background retention.
type Options struct {
	// FS is the file system all I/O goes through (nil: vfs.Default).
	FS vfs.FS
	// Allocator allocates the buffers batches are read into and encoding
	// scratch (nil: memory.DefaultAllocator).
	Allocator memory.Allocator
	// Clock stamps appends and drives background tickers (nil: SystemClock).
	Clock Clock
	// RetentionInterval, if positive, runs EnforceRetention with the clock's
	// time at that period in a goroutine owned by the Log.
	RetentionInterval time.Duration
	// IndexIntervalBytes is the spacing of sparse offset and time index
	// entries (0: 64 KiB).
	IndexIntervalBytes int64
	// VerifyOnOpen checks the CRC of every batch on open, not only of the
	// last segment of each partition.
	VerifyOnOpen bool
}

// Log is a set of topics stored under one directory. It is safe for
// concurrent use. Only one Log may have a directory open at a time.
type Log struct {
	dir   string
	fs    vfs.FS
	opts  Options
	mem   memory.Allocator
	clock Clock
	lock  io.Closer

	// visMu makes a committed transaction visible in all its partitions
	// at once to readers in Consistent.
	visMu sync.RWMutex

	mu     sync.Mutex
	closed bool
	topics map[string]*Topic
	groups map[string]map[string]map[int]int64 // group -> topic -> partition -> offset

	txnMu   sync.Mutex
	txnLog  vfs.File
	txnSize int64
	nextTxn atomic.Int64

	stop chan struct{}
	wg   sync.WaitGroup

	// format is the directory's format version (guarded by formatMu).
	formatMu sync.Mutex
	format   int
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$`)

func checkName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: %s name %q (want letters, digits, '.', '_', '-', at most 200)", ErrInvalidArgument, kind, name)
	}
	return nil
}

// Open opens (creating if needed) the log in dir. It restores every topic,
// truncates torn tails, aborts transactions left open by a crash and
// finishes committed ones. A directory of another format version is refused
// with ErrIncompatibleFormat.
func Open(dir string, opts Options) (*Log, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.IndexIntervalBytes <= 0 {
		opts.IndexIntervalBytes = 64 << 10
	}
	l := &Log{
		dir: dir, fs: opts.FS, opts: opts, mem: opts.Allocator, clock: opts.Clock,
		topics: map[string]*Topic{},
		groups: map[string]map[string]map[int]int64{},
		stop:   make(chan struct{}),
	}
	if err := l.open(); err != nil {
		l.closeFiles()
		return nil, fmt.Errorf("log: open %s: %w", dir, err)
	}
	if opts.RetentionInterval > 0 {
		tk := l.clock.NewTicker(opts.RetentionInterval)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer tk.Stop()
			for {
				select {
				case <-l.stop:
					return
				case <-tk.C():
					_ = l.EnforceRetention(l.clock.Now())
				}
			}
		}()
	}
	return l, nil
}

func (l *Log) path(elem ...string) string {
	return l.fs.PathJoin(append([]string{l.dir}, elem...)...)
}

func (l *Log) open() error {
	fs := l.fs
	if err := fs.MkdirAll(l.dir, 0o755); err != nil {
		return err
	}
	if err := syncDir(fs, fs.PathDir(l.dir)); err != nil {
		return err
	}
	lk, err := fs.Lock(l.path(lockFile))
	if err != nil {
		return fmt.Errorf("locking directory: %w", err)
	}
	l.lock = lk
	if err := l.checkFormat(); err != nil {
		return err
	}
	for _, d := range []string{topicsDir, groupsDir} {
		if err := fs.MkdirAll(l.path(d), 0o755); err != nil {
			return err
		}
	}
	if err := syncDir(fs, l.dir); err != nil {
		return err
	}
	if err := l.loadGroups(); err != nil {
		return err
	}
	names, err := fs.List(l.path(topicsDir))
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := readFile(fs, l.path(topicsDir, name, topicFile))
		if oserrorIsNotExist(err) {
			// A topic half created or half dropped: finish dropping it.
			if err := fs.RemoveAll(l.path(topicsDir, name)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		cfg, meta, err := decodeTopicMeta(b)
		if err != nil {
			return fmt.Errorf("topic %q: %w", name, err)
		}
		t, err := l.newTopic(name, cfg, meta)
		if err != nil {
			return err
		}
		l.topics[name] = t
	}
	return l.recoverTxns()
}

// checkFormat creates or checks the FORMAT file.
func (l *Log) checkFormat() error {
	b, err := readFile(l.fs, l.path(formatFile))
	if oserrorIsNotExist(err) {
		l.format = formatVersion
		return writeFileAtomic(l.fs, l.dir, formatFile, formatText(formatVersion))
	}
	if err != nil {
		return err
	}
	for _, v := range []int{formatVersion, formatVersionRegen} {
		if string(b) == string(formatText(v)) {
			l.format = v
			return nil
		}
	}
	return fmt.Errorf("%w: directory has format %q, this build reads %q or %q", ErrIncompatibleFormat, strings.TrimSpace(string(b)),
		strings.TrimSpace(string(formatText(formatVersion))), strings.TrimSpace(string(formatText(formatVersionRegen))))
}

func formatText(v int) []byte { return fmt.Appendf(nil, "sqld-log %d\n", v) }

// needFormat moves the directory to format version v if it is older.
func (l *Log) needFormat(v int) error {
	l.formatMu.Lock()
	defer l.formatMu.Unlock()
	if l.format >= v {
		return nil
	}
	if err := writeFileAtomic(l.fs, l.dir, formatFile, formatText(v)); err != nil {
		return fmt.Errorf("log: moving to format %d: %w", v, err)
	}
	l.format = v
	return nil
}

// newTopic opens (loading its partitions) a topic whose metadata exists.
func (l *Log) newTopic(name string, cfg TopicConfig, schemaMeta []byte) (*Topic, error) {
	t := &Topic{l: l, name: name, dir: l.path(topicsDir, name), cfg: cfg, schemaMeta: schemaMeta, stop: make(chan struct{})}
	for i := 0; i < cfg.Partitions; i++ {
		p := newPartition(t, i, l.fs.PathJoin(t.dir, strconv.Itoa(i)))
		t.parts = append(t.parts, p)
		if err := p.load(); err != nil {
			_ = t.close()
			return nil, fmt.Errorf("topic %q partition %d: %w", name, i, err)
		}
	}
	// Make the partition directories durable.
	if err := syncDir(l.fs, t.dir); err != nil {
		_ = t.close()
		return nil, err
	}
	t.startSyncer()
	return t, nil
}

// CreateTopic creates a topic. The configuration and schema are persisted
// before CreateTopic returns.
func (l *Log) CreateTopic(name string, cfg TopicConfig) (*Topic, error) {
	if err := checkName("topic", name); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	meta, err := encodeTopicMeta(cfg)
	if err != nil {
		return nil, fmt.Errorf("log: create topic %q: %w", name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if _, ok := l.topics[name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrTopicExists, name)
	}
	dir := l.path(topicsDir, name)
	if err := l.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := syncDir(l.fs, l.path(topicsDir)); err != nil {
		return nil, err
	}
	// topic.json is written last: its presence marks the topic as created.
	if err := writeFileAtomic(l.fs, dir, topicFile, meta); err != nil {
		return nil, fmt.Errorf("log: create topic %q: %w", name, err)
	}
	cfg2, schemaMeta, err := decodeTopicMeta(meta)
	if err != nil {
		return nil, err
	}
	t, err := l.newTopic(name, cfg2, schemaMeta)
	if err != nil {
		return nil, fmt.Errorf("log: create topic %q: %w", name, err)
	}
	l.topics[name] = t
	return t, nil
}

// DropTopic deletes a topic and its data. Readers blocked on it return
// ErrClosed; committed offsets of named readers for it are forgotten.
func (l *Log) DropTopic(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	t, ok := l.topics[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrTopicNotFound, name)
	}
	delete(l.topics, name)
	_ = t.close()
	// Removing topic.json first makes the drop atomic across a crash.
	if err := l.fs.Remove(l.fs.PathJoin(t.dir, topicFile)); err != nil {
		return fmt.Errorf("log: drop topic %q: %w", name, err)
	}
	if err := syncDir(l.fs, t.dir); err != nil {
		return err
	}
	if err := l.fs.RemoveAll(t.dir); err != nil {
		return fmt.Errorf("log: drop topic %q: %w", name, err)
	}
	for g, m := range l.groups {
		if _, ok := m[name]; ok {
			delete(m, name)
			_ = l.saveGroupLocked(g)
		}
	}
	return syncDir(l.fs, l.path(topicsDir))
}

// Topic returns the named topic, or an error wrapping ErrTopicNotFound.
func (l *Log) Topic(name string) (*Topic, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	t, ok := l.topics[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrTopicNotFound, name)
	}
	return t, nil
}

// Topics returns the names of all topics, sorted.
func (l *Log) Topics() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.topics))
	for n := range l.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (l *Log) topicList() []*Topic {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := make([]*Topic, 0, len(l.topics))
	for _, t := range l.topics {
		ts = append(ts, t)
	}
	return ts
}

// EnforceRetention deletes, in every partition, the whole old segments that
// the topic's retention no longer keeps as of now. It returns the number of
// segments deleted. The active segment is never deleted.
func (l *Log) EnforceRetention(now time.Time) int {
	n := 0
	for _, t := range l.topicList() {
		for _, p := range t.parts {
			n += p.enforceRetention(now)
		}
	}
	return n
}

// Stats returns the metrics of every partition of every topic.
func (l *Log) Stats() []PartitionStats {
	var out []PartitionStats
	for _, t := range l.topicList() {
		for i := range t.parts {
			st, _ := t.Stats(i)
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Close stops background work, syncs and closes every partition. Blocked
// readers return ErrClosed. Close is idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	l.wg.Wait()
	return l.closeFiles()
}

func (l *Log) closeFiles() error {
	var first error
	for _, t := range l.topics {
		if err := t.close(); err != nil && first == nil {
			first = err
		}
	}
	if l.txnLog != nil {
		if err := l.txnLog.Close(); err != nil && first == nil {
			first = err
		}
	}
	if l.lock != nil {
		_ = l.lock.Close()
	}
	return first
}

// groupFile is the persisted form of a named reader's committed offsets.
type groupFile struct {
	Offsets map[string]map[int]int64 `json:"offsets"`
}

func (l *Log) loadGroups() error {
	names, err := l.fs.List(l.path(groupsDir))
	if err != nil {
		return err
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".json") {
			continue
		}
		b, err := readFile(l.fs, l.path(groupsDir, n))
		if err != nil {
			return err
		}
		var g groupFile
		if err := json.Unmarshal(b, &g); err != nil {
			return fmt.Errorf("%w: group file %s: %v", ErrCorrupt, n, err)
		}
		if g.Offsets == nil {
			g.Offsets = map[string]map[int]int64{}
		}
		l.groups[strings.TrimSuffix(n, ".json")] = g.Offsets
	}
	return nil
}

func (l *Log) saveGroupLocked(group string) error {
	b, err := json.Marshal(groupFile{Offsets: l.groups[group]})
	if err != nil {
		return err
	}
	return writeFileAtomic(l.fs, l.path(groupsDir), group+".json", b)
}

// CommitOffset durably records offset as the position of the named reader
// group in a partition. Offsets are not checked against the partition.
func (l *Log) CommitOffset(group, topic string, partition int, offset int64) error {
	if err := checkName("group", group); err != nil {
		return err
	}
	t, err := l.Topic(topic)
	if err != nil {
		return err
	}
	if _, err := t.partition(partition); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	g := l.groups[group]
	if g == nil {
		g = map[string]map[int]int64{}
		l.groups[group] = g
	}
	if g[topic] == nil {
		g[topic] = map[int]int64{}
	}
	old, had := g[topic][partition]
	g[topic][partition] = offset
	if err := l.saveGroupLocked(group); err != nil {
		if had {
			g[topic][partition] = old
		} else {
			delete(g[topic], partition)
		}
		return fmt.Errorf("log: commit offset of %q: %w", group, err)
	}
	return nil
}

// CommittedOffset returns the offset last committed by the named reader
// group for a partition; ok is false if it never committed one.
func (l *Log) CommittedOffset(group, topic string, partition int) (offset int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	offset, ok = l.groups[group][topic][partition]
	return offset, ok
}

func (l *Log) fillLag(st *PartitionStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for g, m := range l.groups {
		if off, ok := m[st.Topic][st.Partition]; ok {
			if st.ReaderLag == nil {
				st.ReaderLag = map[string]int64{}
			}
			st.ReaderLag[g] = st.EndOffset - off
		}
	}
}

// readFile reads a whole file through fs.
func readFile(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeFileAtomic replaces dir/name with data: write a temporary file, sync
// it, rename it over the old one and sync the directory.
func writeFileAtomic(fs vfs.FS, dir, name string, data []byte) error {
	tmp := fs.PathJoin(dir, name+".tmp")
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := f.Write(append([]byte(nil), data...)); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fs.Rename(tmp, fs.PathJoin(dir, name)); err != nil {
		return err
	}
	return syncDir(fs, dir)
}

func oserrorIsNotExist(err error) bool {
	return err != nil && (errors.Is(err, os.ErrNotExist) || os.IsNotExist(err))
}

// Consistent runs fn while no transaction is becoming visible: the stable
// offsets fn reads (Topic.Stats) form a consistent cut, in which every
// committed transaction is visible in all of its partitions or in none.
func (l *Log) Consistent(fn func()) {
	l.visMu.RLock()
	defer l.visMu.RUnlock()
	fn()
}
