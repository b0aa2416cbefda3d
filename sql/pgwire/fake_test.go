package pgwire

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// fakeHandler serves a tiny statement language for the tests:
//
//	select 1                   one int4 column "?column?", value 1
//	select series N            int8 column "n", 1..N, in batches of 4 rows
//	select echo T1|T2|...      one row holding the parameters $1.. of types Ti
//	select types               one row of every type, then a row of NULLs
//	select sleep               blocks until cancelled
//	select panic               panics in Next
//	select badbatch            returns a batch that does not match its columns
//	fail CODE                  Bind fails with SQLSTATE CODE
//	copy N                     COPY FROM STDIN with N columns
//	set NAME = VALUE           changes a parameter (ParameterStatus)
//	begin / commit / insert    transaction status and a row-less tag
//
// Anything else is a syntax error (42601) found by Parse.
type fakeHandler struct {
	mem   *memory.CheckedAllocator
	alloc memory.Allocator // mem, or a plain allocator for benchmarks

	mu       sync.Mutex
	sessions int // open sessions
	closed   int
	copied   []string // data received by COPY, per completed COPY
	aborted  []string // reasons of aborted COPYs
	sleeping chan struct{}
}

func newFakeHandler() *fakeHandler {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	return &fakeHandler{mem: mem, alloc: mem, sleeping: make(chan struct{}, 16)}
}

func (h *fakeHandler) NewSession(ctx context.Context, p StartupParams) (Session, error) {
	if p.User == "reject" {
		return nil, pgerror.New("28000", "role \"reject\" is not permitted to log in")
	}
	h.mu.Lock()
	h.sessions++
	h.mu.Unlock()
	return &fakeSession{h: h, tx: 'I'}, nil
}

func (h *fakeHandler) openSessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions - h.closed
}

type fakeSession struct {
	h       *fakeHandler
	tx      byte
	changes [][2]string
}

func (s *fakeSession) Status() [][2]string {
	return [][2]string{
		{"server_version", "15.0"}, {"server_encoding", "UTF8"}, {"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"}, {"TimeZone", "UTC"}, {"integer_datetimes", "on"},
		{"standard_conforming_strings", "on"},
	}
}

func (s *fakeSession) Parse(ctx context.Context, sql string) ([]Statement, error) {
	var out []Statement
	for _, part := range strings.Split(sql, ";") {
		st, err := s.Prepare(ctx, part, nil)
		if err != nil {
			return nil, err
		}
		if st != nil {
			out = append(out, st)
		}
	}
	return out, nil
}

func (s *fakeSession) Prepare(ctx context.Context, sql string, oids []uint32) (Statement, error) {
	q := strings.TrimRight(strings.ToLower(strings.Join(strings.Fields(sql), " ")), "; ")
	if q == "" {
		return nil, nil
	}
	st := &fakeStmt{s: s, q: q}
	switch {
	case q == "select 1":
		st.cols = []Column{{Name: "?column?", Type: catalog.TypeInt4}}
	case strings.HasPrefix(q, "select series "):
		n, err := strconv.Atoi(strings.TrimPrefix(q, "select series "))
		if err != nil {
			return nil, pgerror.New(pgerror.CodeSyntaxError, "bad series")
		}
		st.n = n
		st.cols = []Column{{Name: "n", Type: catalog.TypeInt8}}
	case strings.HasPrefix(q, "select echo "):
		for i, name := range strings.Split(strings.TrimPrefix(q, "select echo "), "|") {
			t, err := catalog.ParseTypeName(name)
			if err != nil {
				return nil, pgerror.New(pgerror.CodeUndefinedObject, "%v", err)
			}
			if i < len(oids) && oids[i] != 0 {
				if ct, ok := catalog.TypeByOID(oids[i]); ok {
					t = ct
				}
			}
			st.params = append(st.params, t)
			st.cols = append(st.cols, Column{Name: fmt.Sprintf("p%d", i+1), Type: t})
		}
	case q == "select types":
		st.cols = typesColumns
	case q == "select sleep", q == "select panic", q == "select badbatch":
		st.cols = []Column{{Name: "x", Type: catalog.TypeInt4}}
	case strings.HasPrefix(q, "fail "), strings.HasPrefix(q, "copy "), strings.HasPrefix(q, "set "),
		q == "begin", q == "commit", q == "insert":
	case q == "prepare panic":
		panic("prepare exploded")
	default:
		return nil, pgerror.New(pgerror.CodeSyntaxError, "syntax error at or near %q", strings.Fields(q)[0]).WithPosition(1)
	}
	return st, nil
}

func (s *fakeSession) TxStatus() byte { return s.tx }

func (s *fakeSession) ParamChanges() [][2]string {
	c := s.changes
	s.changes = nil
	return c
}

func (s *fakeSession) Close() error {
	s.h.mu.Lock()
	s.h.closed++
	s.h.mu.Unlock()
	return nil
}

type fakeStmt struct {
	s      *fakeSession
	q      string
	n      int
	params []catalog.Type
	cols   []Column
}

func (st *fakeStmt) ParamTypes() []catalog.Type { return st.params }
func (st *fakeStmt) Columns() []Column          { return st.cols }

func (st *fakeStmt) Bind(ctx context.Context, params []any) (Portal, error) {
	if len(params) != len(st.params) {
		return nil, fmt.Errorf("want %d params, got %d", len(st.params), len(params))
	}
	p := &fakePortal{st: st, params: params}
	switch {
	case strings.HasPrefix(st.q, "fail "):
		return nil, pgerror.New(strings.ToUpper(strings.TrimPrefix(st.q, "fail ")), "failed as asked").WithDetail("some detail").WithHint("some hint")
	case strings.HasPrefix(st.q, "copy "):
		n, _ := strconv.Atoi(strings.TrimPrefix(st.q, "copy "))
		p.copy = &fakeCopy{h: st.s.h, cols: n}
	case strings.HasPrefix(st.q, "set "):
		f := strings.Fields(strings.TrimPrefix(st.q, "set "))
		if len(f) == 3 {
			st.s.changes = append(st.s.changes, [2]string{f[0], f[2]})
		}
		p.tag = "SET"
	case st.q == "begin":
		st.s.tx = 'T'
		p.tag = "BEGIN"
	case st.q == "commit":
		st.s.tx = 'I'
		p.tag = "COMMIT"
	case st.q == "insert":
		p.tag = "INSERT 0 1"
	}
	return p, nil
}

type fakePortal struct {
	st     *fakeStmt
	params []any
	copy   *fakeCopy
	sent   int
	done   bool
	tag    string
	closed bool
}

func (p *fakePortal) Columns() []Column { return p.st.cols }
func (p *fakePortal) CopyIn() CopyIn {
	if p.copy == nil {
		return nil
	}
	return p.copy
}
func (p *fakePortal) Tag() string { return p.tag }
func (p *fakePortal) Close() error {
	if p.closed {
		panic("portal closed twice")
	}
	p.closed = true
	return nil
}

func (p *fakePortal) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if p.closed {
		panic("Next after Close")
	}
	if p.done {
		return nil, io.EOF
	}
	mem := p.st.s.h.alloc
	schema := func(cols []Column) *arrow.Schema {
		fs := make([]arrow.Field, len(cols))
		for i, c := range cols {
			fs[i] = catalog.Field(c.Name, c.Type, true)
		}
		return arrow.NewSchema(fs, nil)
	}
	q := p.st.q
	switch {
	case q == "select 1":
		p.done, p.tag = true, "SELECT 1"
		b := array.NewInt32Builder(mem)
		defer b.Release()
		b.Append(1)
		a := b.NewArray()
		defer a.Release()
		return array.NewRecordBatch(schema(p.st.cols), []arrow.Array{a}, 1), nil
	case strings.HasPrefix(q, "select series "):
		if p.sent >= p.st.n {
			p.tag = fmt.Sprintf("SELECT %d", p.st.n)
			return nil, io.EOF
		}
		b := array.NewInt64Builder(mem)
		defer b.Release()
		for k := 0; k < 4 && p.sent < p.st.n; k++ {
			p.sent++
			b.Append(int64(p.sent))
		}
		a := b.NewArray()
		defer a.Release()
		return array.NewRecordBatch(schema(p.st.cols), []arrow.Array{a}, int64(a.Len())), nil
	case strings.HasPrefix(q, "select echo "):
		p.done, p.tag = true, "SELECT 1"
		return buildRow(mem, p.st.cols, p.params)
	case q == "select types":
		p.done, p.tag = true, "SELECT 2"
		return buildRows(mem, typesColumns, [][]any{typesRow, make([]any, len(typesColumns))})
	case q == "select sleep":
		p.st.s.h.sleeping <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	case q == "select panic":
		panic("next exploded")
	case q == "select badbatch":
		p.done = true
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Append("x")
		a := b.NewArray()
		defer a.Release()
		return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.BinaryTypes.String}, {Name: "y", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{a, a}, 1), nil
	}
	p.done = true
	if p.tag == "" {
		p.tag = "OK"
	}
	return nil, io.EOF
}

// typesColumns and typesRow hold a value of every type.
var (
	typesColumns = []Column{
		{"b", catalog.TypeBool}, {"i2", catalog.TypeInt2}, {"i4", catalog.TypeInt4}, {"i8", catalog.TypeInt8},
		{"f4", catalog.TypeFloat4}, {"f8", catalog.TypeFloat8}, {"n", catalog.Type{ID: catalog.Numeric, Scale: 2}},
		{"t", catalog.TypeText}, {"v", catalog.Type{ID: catalog.Varchar, Length: 10}}, {"by", catalog.TypeBytea},
		{"d", catalog.TypeDate}, {"ts", catalog.TypeTimestamp}, {"tz", catalog.TypeTimestampTZ}, {"iv", catalog.TypeInterval},
	}
	typesRow = []any{
		true, int64(2), int64(4), int64(8), 1.5, 0.1, mustDecimal("12.34", 2), "text", "varchar", []byte{1, 2},
		int32(19358), int64(1672567200000000), int64(1672567200500000),
		arrow.MonthDayNanoInterval{Months: 14, Days: 3, Nanoseconds: 4 * int64(time.Hour)},
	}
)

func mustDecimal(s string, scale int32) catalog.Decimal {
	d, err := catalog.ParseDecimal(s, scale)
	if err != nil {
		panic(err)
	}
	return d
}

func buildRow(mem memory.Allocator, cols []Column, vals []any) (arrow.RecordBatch, error) {
	return buildRows(mem, cols, [][]any{vals})
}

// buildRows builds a batch from Go values of the catalog convention.
func buildRows(mem memory.Allocator, cols []Column, rows [][]any) (arrow.RecordBatch, error) {
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for j, c := range cols {
		fields[j] = catalog.Field(c.Name, c.Type, true)
		b := array.NewBuilder(mem, c.Type.Arrow())
		for _, row := range rows {
			if err := appendGo(b, row[j]); err != nil {
				b.Release()
				return nil, err
			}
		}
		arrs[j] = b.NewArray()
		b.Release()
	}
	rb := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(len(rows)))
	for _, a := range arrs {
		a.Release()
	}
	return rb, nil
}

func appendGo(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.Int16Builder:
		b.Append(int16(v.(int64)))
	case *array.Int32Builder:
		b.Append(int32(v.(int64)))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Float32Builder:
		b.Append(float32(v.(float64)))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.Decimal128Builder:
		b.Append(v.(catalog.Decimal).Num)
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.(int32)))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.(int64)))
	case *array.MonthDayNanoIntervalBuilder:
		b.Append(v.(arrow.MonthDayNanoInterval))
	default:
		return fmt.Errorf("no builder for %T", b)
	}
	return nil
}

// fakeCopy collects COPY data as a string.
type fakeCopy struct {
	h    *fakeHandler
	cols int
	data []byte
}

func (c *fakeCopy) Columns() int { return c.cols }
func (c *fakeCopy) Binary() bool { return false }
func (c *fakeCopy) Write(ctx context.Context, data []byte) error {
	if strings.Contains(string(data), "bad") {
		return pgerror.New(pgerror.CodeBadCopyFileFormat, "bad row")
	}
	c.data = append(c.data, data...)
	return ctx.Err()
}
func (c *fakeCopy) Done(ctx context.Context) (string, error) {
	c.h.mu.Lock()
	c.h.copied = append(c.h.copied, string(c.data))
	c.h.mu.Unlock()
	n := 0
	for _, line := range strings.Split(string(c.data), "\n") {
		if line != "" && line != `\.` {
			n++
		}
	}
	return fmt.Sprintf("COPY %d", n), nil
}
func (c *fakeCopy) Abort(reason string) {
	c.h.mu.Lock()
	c.h.aborted = append(c.h.aborted, reason)
	c.h.mu.Unlock()
}

// testServer runs a Server with a fakeHandler on a free port.
type testServer struct {
	srv  *Server
	h    *fakeHandler
	addr string
	done chan error
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newFakeHandler()
	ts := &testServer{srv: &Server{Handler: h, Logger: testLogger(t)}, h: h, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { ts.done <- ts.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-ts.done; err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
		if n := h.openSessions(); n != 0 {
			t.Errorf("%d sessions not closed", n)
		}
		h.mem.AssertSize(t, 0)
	})
	return ts
}

func (ts *testServer) url(user string) string {
	host, port, _ := net.SplitHostPort(ts.addr)
	return fmt.Sprintf("postgres://%s@%s:%s/sqld?sslmode=disable", user, host, port)
}
