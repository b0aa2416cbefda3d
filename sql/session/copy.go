package session

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	streamlog "github.com/sqld/sqld/connectors/log"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/sql/pgwire"
)

// copyFormat holds the options of a COPY.
type copyFormat struct {
	csv       bool
	delim     byte
	null      string
	header    bool
	quote     byte
	escape    byte
	hasNull   bool
	forceNull bool
}

func parseCopyOptions(opts []ast.Option) (copyFormat, error) {
	f := copyFormat{delim: '\t', null: `\N`, quote: '"', escape: '"'}
	setDelim, setNull, setEscape := false, false, false
	for _, o := range opts {
		k := strings.ToLower(o.Key)
		v := o.Value
		switch k {
		case "format":
			switch strings.ToLower(v) {
			case "csv":
				f.csv = true
			case "text":
			case "binary":
				return f, pgerror.New(pgerror.CodeFeatureNotSupported, "COPY format binary is not supported")
			default:
				return f, pgerror.New(pgerror.CodeInvalidParameterValue, "COPY format %q not recognized", v)
			}
		case "csv":
			f.csv = true
		case "delimiter":
			if len(v) != 1 {
				return f, pgerror.New(pgerror.CodeFeatureNotSupported, "COPY delimiter must be a single one-byte character")
			}
			f.delim, setDelim = v[0], true
		case "null":
			f.null, setNull = v, true
		case "header":
			b, ok := parseBoolSetting(v)
			if v == "" {
				b, ok = "on", true
			}
			if !ok && !strings.EqualFold(v, "match") {
				return f, pgerror.New(pgerror.CodeInvalidParameterValue, "header requires a Boolean value or \"match\"")
			}
			f.header = b == "on" || strings.EqualFold(v, "match")
		case "quote":
			if len(v) != 1 {
				return f, pgerror.New(pgerror.CodeFeatureNotSupported, "COPY quote must be a single one-byte character")
			}
			f.quote = v[0]
		case "escape":
			if len(v) != 1 {
				return f, pgerror.New(pgerror.CodeFeatureNotSupported, "COPY escape must be a single one-byte character")
			}
			f.escape, setEscape = v[0], true
		case "encoding", "freeze":
		default:
			return f, pgerror.New(pgerror.CodeSyntaxError, "option %q not recognized", o.Key)
		}
	}
	if f.csv {
		if !setDelim {
			f.delim = ','
		}
		if !setNull {
			f.null = ""
		}
		if !setEscape {
			f.escape = f.quote
		}
	}
	return f, nil
}

// copyIn receives COPY ... FROM STDIN into a table or stream.
type copyIn struct {
	s      *Session
	rel    *catalog.Relation
	target []int
	types  []catalog.Type
	format copyFormat
	line   int
	buf    []byte // incomplete trailing data
	bld    *array.RecordBuilder
	schema *arrow.Schema
	done   []arrow.RecordBatch
	rows   int64
	ended  bool
	vals   [][]byte
	nulls  []bool
	// A COPY into a stream appends each full batch to an open log
	// transaction as it goes, committed at the end.
	txn    *streamlog.Txn
	shared bool // txn is the transaction block's: it commits at COMMIT
	topic  *streamlog.Topic
	part   int
}

func (s *Session) newCopyIn(c *ast.Copy) (pgwire.CopyIn, error) {
	if c.Query != nil {
		return nil, pgerror.New(pgerror.CodeFeatureNotSupported, "COPY (query) FROM is not valid")
	}
	rel, ok := s.eng.Relation(c.Table)
	if !ok {
		return nil, pgerror.New(pgerror.CodeUndefinedTable, "relation %q does not exist", c.Table)
	}
	if rel.Kind == catalog.KindView {
		return nil, pgerror.New(pgerror.CodeWrongObjectType, "cannot copy to view %q", rel.Name)
	}
	f, err := parseCopyOptions(c.Options)
	if err != nil {
		return nil, err
	}
	ci := &copyIn{s: s, rel: rel, format: f}
	if len(c.Columns) == 0 {
		for i, col := range rel.Columns {
			if !col.Hidden {
				ci.target = append(ci.target, i)
			}
		}
	} else {
		for _, name := range c.Columns {
			i := rel.ColumnIndex(name)
			if i < 0 || rel.Columns[i].Hidden {
				return nil, pgerror.New(pgerror.CodeUndefinedColumn, "column %q of relation %q does not exist", name, rel.Name)
			}
			ci.target = append(ci.target, i)
		}
	}
	fields := make([]arrow.Field, len(ci.target))
	for i, t := range ci.target {
		col := rel.Columns[t]
		ci.types = append(ci.types, col.Type)
		fields[i] = catalog.Field(col.Name, col.Type, true)
	}
	ci.schema = arrow.NewSchema(fields, nil)
	ci.bld = array.NewRecordBuilder(s.eng.alloc, ci.schema)
	return ci, nil
}

func (c *copyIn) Columns() int { return len(c.target) }
func (c *copyIn) Binary() bool { return false }

func (c *copyIn) Write(ctx context.Context, data []byte) error {
	c.buf = append(c.buf, data...)
	for {
		if c.ended {
			c.buf = c.buf[:0]
			return nil
		}
		end := c.recordEnd()
		if end < 0 {
			return nil
		}
		rec := c.buf[:end]
		if err := c.record(rec); err != nil {
			return err
		}
		c.buf = c.buf[end+1:]
		if c.rel.Kind == catalog.KindStream && len(c.done) > 0 {
			if err := c.appendDone(ctx); err != nil {
				return err
			}
		}
	}
}

// appendDone appends the finished batches of a stream COPY to its
// transaction, rotating over partitions (or by key).
func (c *copyIn) appendDone(ctx context.Context) error {
	if c.txn == nil {
		t, err := c.s.eng.topic(c.rel)
		if err != nil {
			return err
		}
		txn, err := c.s.logTxn()
		if err != nil {
			return err
		}
		if txn != nil {
			c.shared = true
		} else if txn, err = c.s.eng.log_.BeginTxn(); err != nil {
			return err
		}
		c.txn, c.topic = txn, t
		c.part = int(c.s.eng.rr.Add(1)) % c.rel.Partitions
	}
	for _, b := range c.done {
		r, err := c.s.fullRows(ctx, c.rel, c.target, b, nil)
		b.Release()
		if err != nil {
			c.done = nil
			return err
		}
		var parts [][]arrow.RecordBatch
		if len(c.rel.PrimaryKey) > 0 && c.rel.Partitions > 1 {
			parts, err = c.s.splitPartitions(c.rel, []arrow.RecordBatch{r})
			r.Release()
			if err != nil {
				c.done = nil
				return err
			}
		} else {
			parts = make([][]arrow.RecordBatch, c.rel.Partitions)
			parts[c.part] = []arrow.RecordBatch{r}
			c.part = (c.part + 1) % c.rel.Partitions
		}
		for p, bs := range parts {
			for _, pb := range bs {
				_, err := c.txn.Append(ctx, c.topic, p, pb, streamlog.AppendOptions{})
				if err != nil {
					for _, rest := range parts {
						releaseAll(rest)
					}
					c.done = nil
					return err
				}
			}
		}
	}
	c.done = c.done[:0]
	return nil
}

// recordEnd returns the index of the newline ending the first complete
// record in buf, or -1. In CSV a quoted field may hold newlines.
func (c *copyIn) recordEnd() int {
	if !c.format.csv {
		return bytes.IndexByte(c.buf, '\n')
	}
	inQuote := false
	for i := 0; i < len(c.buf); i++ {
		ch := c.buf[i]
		switch {
		case inQuote && ch == c.format.escape && c.format.escape != c.format.quote && i+1 < len(c.buf):
			i++
		case ch == c.format.quote:
			inQuote = !inQuote
		case ch == '\n' && !inQuote:
			return i
		}
	}
	return -1
}

func (c *copyIn) errorf(code, format string, args ...any) error {
	return pgerror.New(code, "%s", fmt.Sprintf(format, args...)).WithWhere("COPY %s, line %d", c.rel.Name, c.line)
}

func (c *copyIn) record(rec []byte) error {
	c.line++
	rec = bytes.TrimSuffix(rec, []byte{'\r'})
	if !c.format.csv && string(rec) == `\.` {
		c.ended = true
		return nil
	}
	if c.format.header && c.line == 1 {
		return nil
	}
	var err error
	if c.format.csv {
		err = c.splitCSV(rec)
	} else {
		err = c.splitText(rec)
	}
	if err != nil {
		return err
	}
	if len(c.vals) != len(c.target) {
		if len(c.vals) < len(c.target) {
			return c.errorf(pgerror.CodeBadCopyFileFormat, "missing data for column %q", c.rel.Columns[c.target[len(c.vals)]].Name)
		}
		return c.errorf(pgerror.CodeBadCopyFileFormat, "extra data after last expected column")
	}
	for i, v := range c.vals {
		fb := c.bld.Field(i)
		if c.nulls[i] {
			fb.AppendNull()
			continue
		}
		if err := appendText(fb, c.types[i], v); err != nil {
			pe := pgerror.From(err)
			return pgerror.New(pe.Code, "%s", pe.Message).WithWhere("COPY %s, line %d, column %s: %q", c.rel.Name, c.line, c.rel.Columns[c.target[i]].Name, v)
		}
	}
	c.rows++
	if c.bld.Field(0).Len() >= copyBatchRows {
		c.done = append(c.done, c.bld.NewRecordBatch())
	}
	return nil
}

// copyBatchRows is the number of rows per batch a COPY builds.
const copyBatchRows = 8192

// splitText splits a text-format line into c.vals and c.nulls. Values
// point into rec unless they had escapes.
func (c *copyIn) splitText(rec []byte) error {
	c.vals, c.nulls = c.vals[:0], c.nulls[:0]
	null := c.format.null
	start := 0
	for i := 0; i <= len(rec); i++ {
		if i < len(rec) && rec[i] != c.format.delim {
			continue
		}
		seg := rec[start:i]
		start = i + 1
		if string(seg) == null {
			c.vals = append(c.vals, nil)
			c.nulls = append(c.nulls, true)
			continue
		}
		if bytes.IndexByte(seg, '\\') >= 0 {
			seg = unescapeCopy(seg)
		}
		c.vals = append(c.vals, seg)
		c.nulls = append(c.nulls, false)
	}
	return nil
}

func unescapeCopy(seg []byte) []byte {
	out := make([]byte, 0, len(seg))
	for j := 0; j < len(seg); j++ {
		ch := seg[j]
		if ch != '\\' || j+1 >= len(seg) {
			out = append(out, ch)
			continue
		}
		j++
		switch seg[j] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'v':
			out = append(out, '\v')
		default:
			out = append(out, seg[j])
		}
	}
	return out
}

// splitCSV splits a CSV line into c.vals and c.nulls.
func (c *copyIn) splitCSV(rec []byte) error {
	c.vals, c.nulls = c.vals[:0], c.nulls[:0]
	f := c.format
	i := 0
	for {
		var field []byte
		quoted := false
		if i < len(rec) && rec[i] == f.quote {
			quoted = true
			i++
			for {
				if i >= len(rec) {
					return c.errorf(pgerror.CodeBadCopyFileFormat, "unterminated CSV quoted field")
				}
				ch := rec[i]
				if ch == f.escape && i+1 < len(rec) && (rec[i+1] == f.quote || rec[i+1] == f.escape) && (f.escape != f.quote || rec[i+1] == f.quote) {
					field = append(field, rec[i+1])
					i += 2
					continue
				}
				if ch == f.quote {
					i++
					break
				}
				field = append(field, ch)
				i++
			}
		}
		startPlain := i
		for i < len(rec) && rec[i] != f.delim {
			i++
		}
		if quoted {
			field = append(field, rec[startPlain:i]...)
		} else {
			field = rec[startPlain:i]
		}
		if !quoted && string(field) == f.null {
			c.vals = append(c.vals, nil)
			c.nulls = append(c.nulls, true)
		} else {
			c.vals = append(c.vals, field)
			c.nulls = append(c.nulls, false)
		}
		if i >= len(rec) {
			return nil
		}
		i++ // delimiter
	}
}

// appendText parses a value's text into a builder: the common types
// directly, the rest through catalog.ParseText.
func appendText(b array.Builder, t catalog.Type, v []byte) error {
	if len(v) > 0 {
		s := unsafe.String(&v[0], len(v))
		switch bb := b.(type) {
		case *array.Int64Builder:
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				bb.Append(n)
				return nil
			}
		case *array.Int32Builder:
			if n, err := strconv.ParseInt(s, 10, 32); err == nil {
				bb.Append(int32(n))
				return nil
			}
		case *array.Float64Builder:
			if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpP_") {
				bb.Append(f)
				return nil
			}
		case *array.StringBuilder:
			bb.BinaryBuilder.Append(v)
			return nil
		case *array.TimestampBuilder:
			if us, ok := fastTimestamp(v); ok && t.ID == catalog.Timestamp {
				bb.Append(arrow.Timestamp(us))
				return nil
			}
		}
	} else if sb, ok := b.(*array.StringBuilder); ok {
		sb.Append("")
		return nil
	}
	val, err := catalog.ParseText(t, string(v))
	if err != nil {
		return err
	}
	return appendValue(b, t, val)
}

// fastTimestamp parses "YYYY-MM-DD HH:MM:SS[.ffffff]" into microseconds
// since the epoch; anything else is left to the full parser.
func fastTimestamp(v []byte) (int64, bool) {
	if len(v) < 19 || v[4] != '-' || v[7] != '-' || (v[10] != ' ' && v[10] != 'T') || v[13] != ':' || v[16] != ':' {
		return 0, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, ch := range b {
			if ch < '0' || ch > '9' {
				return 0, false
			}
			n = n*10 + int(ch-'0')
		}
		return n, true
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[5:7])
	d, ok3 := num(v[8:10])
	h, ok4 := num(v[11:13])
	mi, ok5 := num(v[14:16])
	se, ok6 := num(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 {
		return 0, false
	}
	us := 0
	if len(v) > 19 {
		if v[19] != '.' || len(v) > 26 || len(v) == 20 {
			return 0, false
		}
		frac, ok := num(v[20:])
		if !ok {
			return 0, false
		}
		for k := len(v) - 20; k < 6; k++ {
			frac *= 10
		}
		us = frac
	}
	tm := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if tm.Day() != d {
		return 0, false // February 30th and friends: let the full parser report it
	}
	return tm.UnixMicro() + int64(us), true
}

func (c *copyIn) Done(ctx context.Context) (string, error) {
	defer c.release()
	if len(bytes.TrimSpace(c.buf)) > 0 {
		if err := c.record(c.buf); err != nil {
			return "", err
		}
	}
	if c.bld.Field(0).Len() > 0 {
		c.done = append(c.done, c.bld.NewRecordBatch())
	}
	if c.rel.Kind == catalog.KindStream {
		return c.doneStream(ctx)
	}
	return c.doneTable(ctx)
}

// doneStream commits the transaction a stream COPY appended to.
func (c *copyIn) doneStream(ctx context.Context) (string, error) {
	s := c.s
	if err := c.appendDone(ctx); err != nil {
		return "", err
	}
	if c.txn != nil && !c.shared {
		txn := c.txn
		c.txn = nil
		if err := txn.Commit(ctx); err != nil {
			return "", err
		}
		s.eng.notifyChange()
	}
	c.txn = nil
	if err := s.afterWrite(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("COPY %d", c.rows), nil
}

// doneTable writes a table COPY's rows in one atomic batch.
func (c *copyIn) doneTable(ctx context.Context) (string, error) {
	var rows []arrow.RecordBatch
	defer func() { releaseAll(rows) }()
	for _, b := range c.done {
		r, err := c.s.fullRows(ctx, c.rel, c.target, b, nil)
		if err != nil {
			return "", err
		}
		rows = append(rows, r)
	}
	s := c.s
	tab, err := c.s.eng.table(c.rel.Name)
	if err != nil {
		return "", err
	}
	defer s.lockWrites()()
	if s.userKey(c.rel) {
		seen := map[string]bool{}
		for _, r := range rows {
			for i := 0; i < int(r.NumRows()); i++ {
				key := keyValues(r, c.rel.PrimaryKey, i)
				kt := keyText(key)
				if seen[kt] {
					return "", duplicateKey(c.rel, key)
				}
				seen[kt] = true
				exists, err := s.rowExists(ctx, tab, key)
				if err != nil {
					return "", err
				}
				if exists {
					return "", duplicateKey(c.rel, key)
				}
			}
		}
	}
	batch, done := s.writeBatch()
	defer done()
	for _, r := range rows {
		if err := batch.Upsert(tab, r, nil); err != nil {
			return "", err
		}
	}
	if c.rows > 0 {
		if err := s.commitWrite(ctx, batch, c.rel.Name); err != nil {
			return "", err
		}
	}
	if err := s.afterWrite(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("COPY %d", c.rows), nil
}

func (c *copyIn) release() {
	if c.txn != nil && !c.shared {
		_ = c.txn.Abort(context.Background())
	}
	c.txn = nil
	releaseAll(c.done)
	c.done = nil
	if c.bld != nil {
		c.bld.Release()
		c.bld = nil
	}
}

func (c *copyIn) Abort(reason string) { c.release() }

// copyTo runs COPY ... TO STDOUT. The wire protocol has no CopyOut path
// yet, so the rows are returned as an ordinary result.
func (s *Session) copyTo(ctx context.Context, x *ast.Copy) (string, []arrow.RecordBatch, error) {
	return "", nil, pgerror.New(pgerror.CodeFeatureNotSupported, "COPY TO STDOUT is not supported; use SELECT")
}

// appendValue appends a Go value of type t to an Arrow builder.
func appendValue(b array.Builder, t catalog.Type, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(v.(bool))
	case *array.Int16Builder:
		bb.Append(int16(v.(int64)))
	case *array.Int32Builder:
		bb.Append(int32(v.(int64)))
	case *array.Int64Builder:
		bb.Append(v.(int64))
	case *array.Float32Builder:
		bb.Append(float32(v.(float64)))
	case *array.Float64Builder:
		bb.Append(v.(float64))
	case *array.StringBuilder:
		bb.Append(v.(string))
	case *array.BinaryBuilder:
		bb.Append(v.([]byte))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(v.(int32)))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(v.(int64)))
	case *array.Decimal128Builder:
		d := v.(catalog.Decimal)
		bb.Append(d.Num)
	case *array.MonthDayNanoIntervalBuilder:
		bb.Append(v.(arrow.MonthDayNanoInterval))
	default:
		return fmt.Errorf("cannot store a %s value", t)
	}
	return nil
}
