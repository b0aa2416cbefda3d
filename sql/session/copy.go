package session

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
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
	fields []string
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
		rest := c.buf[end+1:]
		if err := c.record(rec); err != nil {
			return err
		}
		c.buf = append(c.buf[:0], rest...)
	}
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
	return pgerror.New(code, "%s", fmt.Sprintf(format, args...)).WithDetail("COPY %s, line %d", c.rel.Name, c.line)
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
	var vals []*string
	var err error
	if c.format.csv {
		vals, err = c.splitCSV(rec)
	} else {
		vals, err = c.splitText(rec)
	}
	if err != nil {
		return err
	}
	if len(vals) != len(c.target) {
		if len(vals) < len(c.target) {
			return c.errorf(pgerror.CodeBadCopyFileFormat, "missing data for column %q", c.rel.Columns[c.target[len(vals)]].Name)
		}
		return c.errorf(pgerror.CodeBadCopyFileFormat, "extra data after last expected column")
	}
	for i, v := range vals {
		fb := c.bld.Field(i)
		if v == nil {
			fb.AppendNull()
			continue
		}
		val, err := catalog.ParseText(c.types[i], *v)
		if err != nil {
			pe := pgerror.From(err)
			return pgerror.New(pe.Code, "%s", pe.Message).WithDetail("COPY %s, line %d, column %s: %q", c.rel.Name, c.line, c.rel.Columns[c.target[i]].Name, *v)
		}
		if err := appendValue(fb, c.types[i], val); err != nil {
			return c.errorf(pgerror.CodeInvalidTextRepresentation, "%v", err)
		}
	}
	c.rows++
	if c.bld.Field(0).Len() >= 8192 {
		c.done = append(c.done, c.bld.NewRecordBatch())
	}
	return nil
}

func (c *copyIn) splitText(rec []byte) ([]*string, error) {
	var out []*string
	var sb strings.Builder
	field := func(raw string, hadEscape bool) {
		if !hadEscape && raw == c.format.null {
			out = append(out, nil)
			return
		}
		v := raw
		out = append(out, &v)
	}
	start := 0
	hadEscape := false
	raw := rec
	sb.Reset()
	for i := 0; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == c.format.delim {
			seg := raw[start:i]
			if bytes.IndexByte(seg, '\\') < 0 {
				field(string(seg), false)
			} else if string(seg) == c.format.null {
				out = append(out, nil)
			} else {
				sb.Reset()
				for j := 0; j < len(seg); j++ {
					ch := seg[j]
					if ch != '\\' || j+1 >= len(seg) {
						sb.WriteByte(ch)
						continue
					}
					j++
					switch seg[j] {
					case 'n':
						sb.WriteByte('\n')
					case 't':
						sb.WriteByte('\t')
					case 'r':
						sb.WriteByte('\r')
					case 'b':
						sb.WriteByte('\b')
					case 'f':
						sb.WriteByte('\f')
					case 'v':
						sb.WriteByte('\v')
					default:
						sb.WriteByte(seg[j])
					}
				}
				hadEscape = true
				field(sb.String(), hadEscape)
				hadEscape = false
			}
			start = i + 1
		}
	}
	return out, nil
}

func (c *copyIn) splitCSV(rec []byte) ([]*string, error) {
	var out []*string
	f := c.format
	i := 0
	for {
		var sb strings.Builder
		quoted := false
		if i < len(rec) && rec[i] == f.quote {
			quoted = true
			i++
			for {
				if i >= len(rec) {
					return nil, c.errorf(pgerror.CodeBadCopyFileFormat, "unterminated CSV quoted field")
				}
				ch := rec[i]
				if ch == f.escape && i+1 < len(rec) && (rec[i+1] == f.quote || rec[i+1] == f.escape) && (f.escape != f.quote || rec[i+1] == f.quote) {
					sb.WriteByte(rec[i+1])
					i += 2
					continue
				}
				if ch == f.quote {
					i++
					break
				}
				sb.WriteByte(ch)
				i++
			}
		}
		for i < len(rec) && rec[i] != f.delim {
			sb.WriteByte(rec[i])
			i++
		}
		v := sb.String()
		if !quoted && v == f.null {
			out = append(out, nil)
		} else {
			out = append(out, &v)
		}
		if i >= len(rec) {
			return out, nil
		}
		i++ // delimiter
	}
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
	if c.rel.Kind == catalog.KindStream {
		n, err := s.appendStream(ctx, c.rel, rows)
		if err == nil {
			err = s.afterWrite(ctx)
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("COPY %d", n), nil
	}
	tab, err := c.s.eng.table(c.rel.Name)
	if err != nil {
		return "", err
	}
	s.eng.writeMu.Lock()
	defer s.eng.writeMu.Unlock()
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
				exists, err := s.eng.rowExists(ctx, tab, key)
				if err != nil {
					return "", err
				}
				if exists {
					return "", duplicateKey(c.rel, key)
				}
			}
		}
	}
	batch := s.eng.store.NewBatch()
	defer batch.Close()
	for _, r := range rows {
		if err := batch.Upsert(tab, r, nil); err != nil {
			return "", err
		}
	}
	if c.rows > 0 {
		if err := s.eng.commitTable(ctx, batch, c.rel.Name); err != nil {
			return "", err
		}
	}
	if err := s.afterWrite(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("COPY %d", c.rows), nil
}

func (c *copyIn) release() {
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
