package session

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	streamlog "github.com/sqld/sqld/connectors/log"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/pgerror"
)

// topicName is the log topic of a stream.
func topicName(rel *catalog.Relation) string { return fmt.Sprintf("%s_%d", rel.Name, rel.ID) }

// maxPartitions bounds WITH (partitions = N).
const maxPartitions = 256

func (s *Session) createStream(ctx context.Context, x *ast.CreateTable, text string) (string, []arrow.RecordBatch, error) {
	cols, pk, err := columnsFromDefs(x.Name, x.Columns, x.PrimaryKey)
	if err != nil {
		return "", nil, err
	}
	rel := &catalog.Relation{Name: x.Name, Kind: catalog.KindStream, Columns: cols, SQL: text, Options: options(x.With), Partitions: 1}
	if len(pk) > 0 {
		// A stream's key spreads rows over partitions; it is not unique.
		rel.PrimaryKey = pk
		for _, k := range pk {
			rel.Columns[k].NotNull = false
		}
	}
	cfg := streamlog.TopicConfig{EventTimeColumn: -1}
	for k, v := range rel.Options {
		switch k {
		case "partitions":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxPartitions {
				return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "partitions must be an integer between 1 and %d, not %q", maxPartitions, v)
			}
			rel.Partitions = n
		case "retention":
			d, err := parseDuration(v)
			if err != nil {
				return "", nil, err
			}
			cfg.Retention.Age = d
		case "retention_bytes":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "retention_bytes must be a non-negative integer, not %q", v)
			}
			cfg.Retention.Bytes = n
		case "key":
			i := rel.ColumnIndex(v)
			if i < 0 {
				return "", nil, pgerror.New(pgerror.CodeUndefinedColumn, "key column %q does not exist", v)
			}
			rel.PrimaryKey = []int{i}
		case "fsync":
			switch v {
			case "batch", "always":
			case "never":
				cfg.Sync.Mode = streamlog.SyncNever
			default:
				d, err := parseDuration(v)
				if err != nil {
					return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "fsync must be batch, never or an interval, not %q", v)
				}
				cfg.Sync = streamlog.SyncPolicy{Mode: streamlog.SyncInterval, Interval: d}
			}
		case "connector":
			if v != "nexmark" {
				return "", nil, pgerror.New(pgerror.CodeFeatureNotSupported, "connector %q is not supported (sqld has: nexmark)", v)
			}
		case "event", "rate", "seed", "events", "store_rows":
			if rel.Options["connector"] == "" {
				return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "option %q needs connector = 'nexmark'", k)
			}
		case "appendonly", "append_only":
		default:
			return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "unrecognized stream option %q", k)
		}
	}
	if x.Watermark != nil {
		i := rel.ColumnIndex(x.Watermark.Column)
		if i < 0 {
			return "", nil, pgerror.New(pgerror.CodeUndefinedColumn, "watermark column %q does not exist", x.Watermark.Column)
		}
		if t := rel.Columns[i].Type; t.ID != catalog.Timestamp && t.ID != catalog.TimestampTZ {
			return "", nil, pgerror.New(pgerror.CodeDatatypeMismatch, "watermark column %q must be a timestamp, not %s", x.Watermark.Column, t)
		}
		exprText := parser.Format(x.Watermark.Expr)
		if _, err := bindWatermark(rel, exprText); err != nil {
			return "", nil, err
		}
		rel.Watermark = &catalog.Watermark{Column: i, Expr: exprText}
		cfg.EventTimeColumn = i
	}
	cfg.Partitions = rel.Partitions
	cfg.Schema = rel.Schema()
	if rel.Options["connector"] == "nexmark" {
		if _, err := newNexmarkSource(rel); err != nil {
			return "", nil, err
		}
	}
	e := s.eng
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.rels[rel.Name]; ok {
		if x.IfNotExists {
			return "CREATE STREAM", nil, nil
		}
		return "", nil, pgerror.New(pgerror.CodeDuplicateTable, "relation %q already exists", rel.Name)
	}
	rel.ID = e.nextID
	e.nextID++
	if _, err := e.log_.CreateTopic(topicName(rel), cfg); err != nil {
		return "", nil, fmt.Errorf("create stream %q: %w", rel.Name, err)
	}
	b := e.store.NewBatch()
	defer b.Close()
	if err := e.putRelation(b, rel); err != nil {
		_ = e.log_.DropTopic(topicName(rel))
		return "", nil, err
	}
	if err := b.Commit(ctx); err != nil {
		_ = e.log_.DropTopic(topicName(rel))
		return "", nil, err
	}
	e.rels[rel.Name] = rel
	e.catVersion.Add(1)
	if rel.Options["connector"] == "nexmark" {
		e.startSourceLocked(rel)
	}
	if x.Kind == ast.ObjStream {
		return "CREATE STREAM", nil, nil
	}
	return "CREATE TABLE", nil, nil
}

// bindWatermark binds a stream's watermark expression over its columns.
func bindWatermark(rel *catalog.Relation, text string) (planner.Expr, error) {
	x, err := parser.ParseExpr(text)
	if err != nil {
		return nil, err
	}
	b := planner.NewBinder(singleRel{rel}, nil)
	e, err := b.BindOver(x, rel)
	if err != nil {
		return nil, err
	}
	if t := e.Type(); t.ID != catalog.Timestamp && t.ID != catalog.TimestampTZ {
		return nil, pgerror.New(pgerror.CodeDatatypeMismatch, "watermark expression must be a timestamp, not %s", t)
	}
	return e, nil
}

type singleRel struct{ rel *catalog.Relation }

func (s singleRel) Relation(name string) (*catalog.Relation, bool) {
	if name == s.rel.Name {
		return s.rel, true
	}
	return nil, false
}

// parseDuration parses '7 days', '1 hour', '30s' or an interval literal.
func parseDuration(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	iv, err := catalog.ParseText(catalog.TypeInterval, v)
	if err != nil {
		return 0, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid duration %q", v)
	}
	m := iv.(arrow.MonthDayNanoInterval)
	return time.Duration(m.Months)*30*24*time.Hour + time.Duration(m.Days)*24*time.Hour + time.Duration(m.Nanoseconds), nil
}

func (e *Engine) topic(rel *catalog.Relation) (*streamlog.Topic, error) {
	t, err := e.log_.Topic(topicName(rel))
	if err != nil {
		return nil, pgerror.Wrap(err, pgerror.CodeUndefinedTable, "stream %q", rel.Name)
	}
	if rel.Options["connector"] == "nexmark" && !t.HasRegenerator() {
		// Generated batches are logged as descriptions and read back by
		// generating them again.
		src, err := newNexmarkSource(rel)
		if err != nil {
			return nil, err
		}
		t.SetRegenerator(src.regenerate)
	}
	return t, nil
}

var partitionSeed = maphash.MakeSeed()

// appendStream appends full rows to a stream as one log transaction: all
// of the statement's rows become visible together, or none do.
func (s *Session) appendStream(ctx context.Context, rel *catalog.Relation, rows []arrow.RecordBatch) (int64, error) {
	t, err := s.eng.topic(rel)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range rows {
		n += r.NumRows()
	}
	if n == 0 {
		return 0, nil
	}
	parts := rel.Partitions
	var perPart [][]arrow.RecordBatch
	if parts == 1 {
		perPart = [][]arrow.RecordBatch{rows}
		for _, r := range rows {
			r.Retain()
		}
	} else {
		perPart, err = s.splitPartitions(rel, rows)
		if err != nil {
			return 0, err
		}
	}
	defer func() {
		for _, bs := range perPart {
			releaseAll(bs)
		}
	}()
	txn, err := s.logTxn()
	if err != nil {
		return 0, err
	}
	own := txn == nil
	if own {
		if txn, err = s.eng.log_.BeginTxn(); err != nil {
			return 0, err
		}
	}
	for p, bs := range perPart {
		for _, b := range bs {
			if b.NumRows() == 0 {
				continue
			}
			b.Retain() // Append takes over one reference; perPart keeps its own
			if _, err := txn.Append(ctx, t, p, b, streamlog.AppendOptions{}); err != nil {
				if own {
					_ = txn.Abort(context.Background())
				}
				return 0, err
			}
		}
	}
	if !own {
		return n, nil
	}
	if err := txn.Commit(ctx); err != nil {
		return 0, err
	}
	s.eng.notifyChange()
	return n, nil
}

// splitPartitions spreads rows over partitions: by the hash of the
// stream's key when it has one, else round-robin from a rotating start.
func (s *Session) splitPartitions(rel *catalog.Relation, rows []arrow.RecordBatch) ([][]arrow.RecordBatch, error) {
	parts := rel.Partitions
	out := make([][]arrow.RecordBatch, parts)
	start := int(s.eng.rr.Add(1))
	for _, r := range rows {
		idx := make([][]int64, parts)
		for i := 0; i < int(r.NumRows()); i++ {
			var p int
			if len(rel.PrimaryKey) > 0 {
				var h maphash.Hash
				h.SetSeed(partitionSeed)
				for _, k := range rel.PrimaryKey {
					fmt.Fprint(&h, valueAt(r.Column(k), i))
				}
				p = int(h.Sum64() % uint64(parts))
			} else {
				p = (start + i) % parts
			}
			idx[p] = append(idx[p], int64(i))
		}
		start += int(r.NumRows())
		for p, ix := range idx {
			if len(ix) == 0 {
				continue
			}
			b, err := takeRows(s.eng, r, ix)
			if err != nil {
				for _, bs := range out {
					releaseAll(bs)
				}
				return nil, err
			}
			out[p] = append(out[p], b)
		}
	}
	return out, nil
}

// takeRows gathers the given rows of r.
func takeRows(e *Engine, r arrow.RecordBatch, idx []int64) (arrow.RecordBatch, error) {
	bld := array.NewInt64Builder(e.alloc)
	bld.AppendValues(idx, nil)
	ix := bld.NewArray()
	bld.Release()
	defer ix.Release()
	cols := make([]arrow.Array, r.NumCols())
	for i := range cols {
		c, err := takeArray(e, r.Column(i), ix.(*array.Int64))
		if err != nil {
			for _, c := range cols[:i] {
				c.Release()
			}
			return nil, err
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(r.Schema(), cols, int64(len(idx)))
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

func takeArray(e *Engine, a arrow.Array, idx *array.Int64) (arrow.Array, error) {
	b := array.NewBuilder(e.alloc, a.DataType())
	defer b.Release()
	for _, i := range idx.Int64Values() {
		if err := appendFrom(b, a, int(i)); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

// appendFrom appends row i of a to builder b of the same type.
func appendFrom(b array.Builder, a arrow.Array, i int) error {
	if a.IsNull(i) {
		b.AppendNull()
		return nil
	}
	switch x := a.(type) {
	case *array.Boolean:
		b.(*array.BooleanBuilder).Append(x.Value(i))
	case *array.Int16:
		b.(*array.Int16Builder).Append(x.Value(i))
	case *array.Int32:
		b.(*array.Int32Builder).Append(x.Value(i))
	case *array.Int64:
		b.(*array.Int64Builder).Append(x.Value(i))
	case *array.Float32:
		b.(*array.Float32Builder).Append(x.Value(i))
	case *array.Float64:
		b.(*array.Float64Builder).Append(x.Value(i))
	case *array.String:
		b.(*array.StringBuilder).Append(x.Value(i))
	case *array.Binary:
		b.(*array.BinaryBuilder).Append(x.Value(i))
	case *array.Date32:
		b.(*array.Date32Builder).Append(x.Value(i))
	case *array.Timestamp:
		b.(*array.TimestampBuilder).Append(x.Value(i))
	case *array.Decimal128:
		b.(*array.Decimal128Builder).Append(x.Value(i))
	case *array.MonthDayNanoInterval:
		b.(*array.MonthDayNanoIntervalBuilder).Append(x.Value(i))
	default:
		return fmt.Errorf("cannot copy a value of type %s", a.DataType())
	}
	return nil
}

// streamScan reads a stream's retained rows up to the end visible now.
func (e *Engine) streamScan(rel *catalog.Relation, project []int) (exec.Operator, error) {
	t, err := e.topic(rel)
	if err != nil {
		return nil, err
	}
	fields := make([]arrow.Field, len(project))
	for i, p := range project {
		fields[i] = catalog.Field(rel.Columns[p].Name, rel.Columns[p].Type, true)
	}
	ends := make([]int64, t.Partitions())
	starts := make([]int64, t.Partitions())
	for p := range ends {
		st, err := t.Stats(p)
		if err != nil {
			return nil, err
		}
		starts[p], ends[p] = st.OldestOffset, st.StableOffset
	}
	return &streamScanOp{t: t, project: project, schema: arrow.NewSchema(fields, nil), starts: starts, ends: ends}, nil
}

type streamScanOp struct {
	t       *streamlog.Topic
	project []int
	schema  *arrow.Schema
	starts  []int64
	ends    []int64
	part    int
	off     int64
	opened  bool
}

func (o *streamScanOp) Schema() *arrow.Schema { return o.schema }

func (o *streamScanOp) Open(ctx context.Context) error {
	o.opened = true
	if len(o.starts) > 0 {
		o.off = o.starts[0]
	}
	return nil
}

func (o *streamScanOp) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for o.part < len(o.ends) {
		if o.off >= o.ends[o.part] {
			o.part++
			if o.part < len(o.starts) {
				o.off = o.starts[o.part]
			}
			continue
		}
		b, ok, err := readBounded(ctx, o.t, o.part, o.off, o.ends[o.part], nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			o.off = o.ends[o.part]
			continue
		}
		b.Trim()
		rec := b.Record
		if next := b.NextOffset(); next > o.ends[o.part] {
			keep := rec.NumRows() - (next - o.ends[o.part])
			sl := rec.NewSlice(0, keep)
			rec.Release()
			rec = sl
		}
		o.off = b.NextOffset()
		cols := make([]arrow.Array, len(o.project))
		for i, p := range o.project {
			cols[i] = rec.Column(p)
		}
		out := array.NewRecordBatch(o.schema, cols, rec.NumRows())
		rec.Release()
		if out.NumRows() == 0 {
			out.Release()
			continue
		}
		return out, nil
	}
	return nil, io.EOF
}

func (o *streamScanOp) Close() error { return nil }

// readBounded reads the committed batch at or after off, if one starts
// before end.
func readBounded(ctx context.Context, t *streamlog.Topic, part int, off, end int64, need []bool) (streamlog.Batch, bool, error) {
	// A view reading its epoch's input yields between batches.
	if err := yieldPoint(ctx); err != nil {
		return streamlog.Batch{}, false, err
	}
	b, ok, err := t.ReadBeforeColumns(ctx, part, off, end, need)
	if errors.Is(err, streamlog.ErrOffsetOutOfRange) {
		return streamlog.Batch{}, false, pgerror.Wrap(err, pgerror.CodeObjectInUse, "stream %s partition %d", t.Name(), part)
	}
	return b, ok, err
}
