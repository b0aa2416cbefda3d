package pgwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sqld/sqld/sql/pgerror"
)

// flushThreshold is the size of buffered output above which rows are
// written before the end of the protocol cycle.
const flushThreshold = 64 << 10

// conn is one client connection. Its fields are used by its own goroutine
// only, except mu-guarded cancel, which CancelRequest and Shutdown use.
type conn struct {
	srv *Server
	nc  net.Conn
	rd  *connReader
	be  *pgproto3.Backend
	w   watcher
	log *slog.Logger

	// ctx is cancelled when the connection ends or the server shuts down.
	ctx       context.Context
	cancelCtx context.CancelFunc

	pid    uint32
	secret [4]byte

	sess    Session
	stmts   map[string]*prepared
	portals map[string]*portal

	// ignoreTillSync is set after an error in the extended protocol:
	// messages up to the next Sync are discarded.
	ignoreTillSync bool

	wbuf []byte
	werr error // first write error; the connection is finished

	mu     sync.Mutex
	cancel context.CancelFunc // the running cycle's cancel, or nil
	qctx   context.Context    // the running cycle's context, or nil
}

// prepared is a statement created by Parse.
type prepared struct {
	st Statement // nil for an empty query string
}

// portal is a bound statement created by Bind.
type portal struct {
	p       Portal // nil for an empty query string
	cols    []Column
	formats []int16 // per column; nil = all text
	copyIn  CopyIn
	live    bool

	batch  arrow.RecordBatch // partly sent batch, or nil
	row    int               // next row of batch to send
	done   bool              // Next returned io.EOF; tag is set
	closed bool              // p.Close was called
	tag    string
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:     s,
		nc:      nc,
		stmts:   make(map[string]*prepared),
		portals: make(map[string]*portal),
		wbuf:    make([]byte, 0, 4096),
	}
	c.ctx, c.cancelCtx = context.WithCancel(s.baseCtx)
	c.rd = &connReader{nc: nc}
	c.w.c = c
	c.be = pgproto3.NewBackend(c.rd, nc)
	c.be.SetMaxBodyLen(s.maxMessageSize())
	c.log = s.logger().With("remote", nc.RemoteAddr().String())
	return c
}

// fatalError ends the connection after its error, if it carries one, has
// been sent to the client with severity FATAL.
type fatalError struct{ err error }

func (e fatalError) Error() string {
	if e.err == nil {
		return "pgwire: connection ended"
	}
	return e.err.Error()
}

func (e fatalError) Unwrap() error { return e.err }

// errTerminate ends the connection quietly.
var errTerminate = errors.New("pgwire: terminate")

// serve runs the connection to its end. It is the connection goroutine,
// owned by the Server (tracked until removeConn).
func (c *conn) serve() {
	defer c.srv.removeConn(c)
	defer c.cancelCtx()
	defer c.nc.Close()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("pgwire: panic in connection", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	c.log.Debug("pgwire: connection opened")
	defer c.log.Debug("pgwire: connection closed")

	if c.srv.closing.Load() {
		return
	}
	defer c.closeSession() // a session may exist even if startup failed
	if !c.startup() {
		return
	}
	c.log = c.log.With("pid", c.pid)
	c.loop()
}

// interrupt wakes the connection's goroutine from a blocked read, for
// Shutdown; the read fails and the connection ends.
func (c *conn) interrupt() {
	c.nc.SetReadDeadline(time.Unix(1, 0))
}

func (c *conn) closeSession() {
	c.closeAllPortals()
	if c.sess == nil {
		return
	}
	if _, err := safe(c, "Close", func() (struct{}, error) { return struct{}{}, c.sess.Close() }); err != nil {
		c.log.Debug("pgwire: closing session", "err", err)
	}
}

// isIOError reports whether err comes from the connection rather than
// from the content of a message.
func isIOError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ne)
}

// readError turns an error from Receive into what to tell the client,
// if anything.
func (c *conn) readError(err error) error {
	if c.srv.closing.Load() {
		return pgerror.New(pgerror.CodeAdminShutdown, "terminating connection due to administrator command")
	}
	var big *pgproto3.ExceededMaxBodyLenErr
	if errors.As(err, &big) {
		return pgerror.New(pgerror.CodeProgramLimitExceeded, "message of %d bytes exceeds the maximum of %d bytes", big.ActualBodyLen, big.MaxExpectedBodyLen)
	}
	if isIOError(err) {
		return nil
	}
	return pgerror.New(pgerror.CodeProtocolViolation, "invalid frontend message: %v", err)
}

// fatal sends err as a FATAL error and flushes.
func (c *conn) fatal(err error) {
	if err == nil {
		return
	}
	c.sendErrorSeverity(err, "FATAL")
	c.flush()
}

// startup runs the startup phase and reports whether a session is ready.
func (c *conn) startup() bool {
	for {
		msg, err := c.be.ReceiveStartupMessage()
		if err != nil {
			c.log.Debug("pgwire: bad startup packet", "err", err)
			if !isIOError(err) {
				c.fatal(pgerror.New(pgerror.CodeProtocolViolation, "invalid startup packet: %v", err))
			}
			return false
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			// No encryption: the client goes on in the clear or gives up.
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return false
			}
		case *pgproto3.CancelRequest:
			c.srv.cancel(m.ProcessID, m.SecretKey)
			return false
		case *pgproto3.StartupMessage:
			return c.begin(m)
		default:
			return false
		}
	}
}

// begin authenticates (trust), creates the session and reports its
// status to the client.
func (c *conn) begin(m *pgproto3.StartupMessage) bool {
	p := StartupParams{
		User:     m.Parameters["user"],
		Database: m.Parameters["database"],
		Options:  make(map[string]string, len(m.Parameters)),
	}
	var unrecognized []string
	for k, v := range m.Parameters {
		if strings.HasPrefix(k, "_pq_.") {
			unrecognized = append(unrecognized, k)
			continue
		}
		p.Options[k] = v
	}
	if p.User == "" {
		c.fatal(pgerror.New("28000", "no PostgreSQL user name specified in startup packet"))
		return false
	}
	if p.Database == "" {
		p.Database = p.User
	}
	if m.ProtocolVersion != pgproto3.ProtocolVersion30 || len(unrecognized) > 0 {
		c.send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unrecognized})
	}
	if c.srv.Handler == nil {
		c.fatal(pgerror.New(pgerror.CodeInternalError, "server has no handler"))
		return false
	}
	sess, err := safe(c, "NewSession", func() (Session, error) { return c.srv.Handler.NewSession(c.ctx, p) })
	if err != nil {
		c.fatal(err)
		return false
	}
	if sess == nil {
		c.fatal(pgerror.New(pgerror.CodeInternalError, "no session"))
		return false
	}
	c.sess = sess
	c.srv.registerKey(c)
	c.send(&pgproto3.AuthenticationOk{})
	status, err := safe(c, "Status", func() ([][2]string, error) { return sess.Status(), nil })
	if err != nil {
		c.fatal(err)
		return false
	}
	for _, kv := range status {
		c.send(&pgproto3.ParameterStatus{Name: kv[0], Value: kv[1]})
	}
	c.send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret[:]})
	c.readyForQuery()
	return c.werr == nil
}

// loop reads and handles messages until the connection ends.
func (c *conn) loop() {
	for c.werr == nil {
		msg, err := c.be.Receive()
		if err != nil {
			c.fatal(c.readError(err))
			return
		}
		if err := c.handle(msg); err != nil {
			var fe fatalError
			if errors.As(err, &fe) {
				c.fatal(fe.err)
			}
			return
		}
	}
}

// handle handles one message. A non-nil error ends the connection.
func (c *conn) handle(msg pgproto3.FrontendMessage) (err error) {
	defer func() {
		if r := recover(); r != nil {
			// A panic outside a guarded session call: the connection's
			// state is unknown, so end it, but keep the server up.
			err = fatalError{c.panicError("handle", r)}
		}
	}()
	switch m := msg.(type) {
	case *pgproto3.Query:
		return c.simpleQuery(m.String)
	case *pgproto3.Parse:
		if !c.ignoreTillSync {
			c.extended(c.parse(m))
		}
	case *pgproto3.Bind:
		if !c.ignoreTillSync {
			c.extended(c.bind(m))
		}
	case *pgproto3.Describe:
		if !c.ignoreTillSync {
			c.extended(c.describe(m))
		}
	case *pgproto3.Execute:
		if !c.ignoreTillSync {
			err := c.execute(m)
			var fe fatalError
			if errors.As(err, &fe) {
				return err
			}
			c.extended(err)
		}
	case *pgproto3.Close:
		if !c.ignoreTillSync {
			c.extended(c.closeMsg(m))
		}
	case *pgproto3.Sync:
		c.ignoreTillSync = false
		c.readyForQuery()
	case *pgproto3.Flush:
		c.flush()
	case *pgproto3.Terminate:
		return errTerminate
	case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
		// Left over from a COPY that failed: dropped, as Postgres does.
	case *pgproto3.FunctionCall:
		c.sendError(pgerror.New(pgerror.CodeFeatureNotSupported, "function call protocol is not supported"))
		c.readyForQuery()
	default:
		return fatalError{pgerror.New(pgerror.CodeProtocolViolation, "unexpected message type %T", msg)}
	}
	return nil
}

// extended reports the error of an extended-protocol message, if any, and
// starts discarding messages until Sync.
func (c *conn) extended(err error) {
	if err == nil {
		return
	}
	c.sendError(err)
	c.ignoreTillSync = true
}

// queryCtx returns the context of the current protocol cycle (up to the
// next ReadyForQuery), creating it on first use. CancelRequest cancels it.
func (c *conn) queryCtx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.qctx == nil {
		c.qctx, c.cancel = context.WithCancel(c.ctx)
	}
	return c.qctx
}

// endCycle releases the cycle's context.
func (c *conn) endCycle() {
	c.mu.Lock()
	cancel := c.cancel
	c.qctx, c.cancel = nil, nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// cancelQuery cancels the running cycle, if any (CancelRequest).
func (c *conn) cancelQuery() {
	c.mu.Lock()
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
}

// readyForQuery ends a protocol cycle: it reports changed parameters and
// the transaction status, and flushes. Outside a transaction block every
// portal ends with the implicit transaction.
func (c *conn) readyForQuery() {
	c.endCycle()
	changes, err := safe(c, "ParamChanges", func() ([][2]string, error) { return c.sess.ParamChanges(), nil })
	if err != nil {
		c.sendError(err)
	}
	for _, kv := range changes {
		c.send(&pgproto3.ParameterStatus{Name: kv[0], Value: kv[1]})
	}
	tx, err := safe(c, "TxStatus", func() (byte, error) { return c.sess.TxStatus(), nil })
	if err != nil || (tx != 'I' && tx != 'T' && tx != 'E') {
		tx = 'I'
	}
	if tx == 'I' {
		c.closeAllPortals()
	}
	c.send(&pgproto3.ReadyForQuery{TxStatus: tx})
	c.flush()
}

// safe calls f, turning a panic into an XX000 error (logged with its
// stack), so that a bad statement never takes the server down.
func safe[T any](c *conn, what string, f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = c.panicError(what, r)
		}
	}()
	return f()
}

func (c *conn) panicError(what string, r any) error {
	c.log.Error("pgwire: panic in session call", "call", what, "panic", r, "stack", string(debug.Stack()))
	return pgerror.New(pgerror.CodeInternalError, "internal error: %v", r)
}

// send buffers a message. Errors of encoding are a bug of ours: they are
// logged and end the connection.
func (c *conn) send(msg pgproto3.BackendMessage) {
	if c.werr != nil {
		return
	}
	buf, err := msg.Encode(c.wbuf)
	if err != nil {
		c.log.Error("pgwire: encoding message", "type", fmt.Sprintf("%T", msg), "err", err)
		c.werr = err
		c.cancelQuery()
		return
	}
	c.wbuf = buf
}

// flush writes the buffered output.
func (c *conn) flush() {
	if c.werr != nil || len(c.wbuf) == 0 {
		c.wbuf = c.wbuf[:0]
		return
	}
	if _, err := c.nc.Write(c.wbuf); err != nil {
		c.werr = err
		c.cancelQuery() // the client is gone: stop the statement
	}
	if cap(c.wbuf) > 4<<20 {
		c.wbuf = make([]byte, 0, 4096)
	} else {
		c.wbuf = c.wbuf[:0]
	}
}

func (c *conn) sendError(err error) { c.sendErrorSeverity(err, "ERROR") }

// sendNotices sends the NoticeResponses a statement left, if the session
// keeps any (see Noticer).
func (c *conn) sendNotices() {
	n, ok := c.sess.(Noticer)
	if !ok {
		return
	}
	for _, e := range n.TakeNotices() {
		severity := "NOTICE"
		if strings.HasPrefix(e.Code, "01") {
			severity = "WARNING"
		}
		c.send(&pgproto3.NoticeResponse{
			Severity:            severity,
			SeverityUnlocalized: severity,
			Code:                e.Code,
			Message:             e.Message,
			Detail:              e.Detail,
			Hint:                e.Hint,
		})
	}
}

func (c *conn) sendErrorSeverity(err error, severity string) {
	pe := pgerror.From(err)
	code, msg := pe.Code, pe.Message
	if code == "" {
		code = pgerror.CodeInternalError
	}
	if errors.Is(err, context.Canceled) && c.srv.closing.Load() {
		code, msg = pgerror.CodeAdminShutdown, "terminating connection due to administrator command"
	}
	c.send(&pgproto3.ErrorResponse{
		Severity:            severity,
		SeverityUnlocalized: severity,
		Code:                code,
		Message:             msg,
		Detail:              pe.Detail,
		Hint:                pe.Hint,
		Where:               pe.Where,
		Position:            int32(pe.Position),
	})
}
