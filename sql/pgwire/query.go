package pgwire

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// LivePortal is an optional interface of Portal. A portal whose Next may
// wait for new data (a subscription to a view, say) reports Live() true,
// and the server then writes each batch to the client as soon as it is
// encoded instead of buffering output up to the end of the protocol cycle.
type LivePortal interface {
	Portal
	Live() bool
}

// Format codes of the protocol.
const (
	formatText   = 0
	formatBinary = 1
)

// simpleQuery runs a Query message: every statement in turn, stopping at
// the first error, then ReadyForQuery. Only a fatalError is returned.
func (c *conn) simpleQuery(sql string) error {
	if c.ignoreTillSync {
		return nil
	}
	// As in Postgres, a simple Query destroys the unnamed statement and
	// portal.
	c.dropPortal("")
	delete(c.stmts, "")
	ctx := c.queryCtx()
	stmts, err := safe(c, "Parse", func() ([]Statement, error) { return c.sess.Parse(ctx, sql) })
	switch {
	case err != nil:
		c.sendError(err)
	case len(stmts) == 0:
		c.send(&pgproto3.EmptyQueryResponse{})
	default:
		for _, st := range stmts {
			if err := c.runSimple(ctx, st); err != nil {
				var fe fatalError
				if errors.As(err, &fe) {
					return err
				}
				c.sendError(err)
				break
			}
			if c.werr != nil {
				return fatalError{}
			}
		}
	}
	c.readyForQuery()
	return nil
}

// runSimple binds and runs one statement of a simple query.
func (c *conn) runSimple(ctx context.Context, st Statement) error {
	if st == nil {
		c.send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	p, err := safe(c, "Bind", func() (Portal, error) { return st.Bind(ctx, nil) })
	if err != nil {
		return err
	}
	pt, err := c.newPortal(p, nil)
	if err != nil {
		return err
	}
	defer c.closePortal(pt)
	if pt.copyIn != nil {
		tag, err := c.copyIn(ctx, pt.copyIn)
		if err != nil {
			return err
		}
		c.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
		return nil
	}
	if pt.cols != nil {
		c.sendRowDescription(pt.cols, nil)
	}
	if _, err := c.run(ctx, pt, 0); err != nil {
		return err
	}
	c.sendNotices()
	c.send(&pgproto3.CommandComplete{CommandTag: []byte(pt.tag)})
	return nil
}

// newPortal wraps a bound Portal with its result formats. On error p is
// closed.
func (c *conn) newPortal(p Portal, resultFormats []int16) (*portal, error) {
	if p == nil {
		return nil, pgerror.New(pgerror.CodeInternalError, "statement produced no portal")
	}
	pt := &portal{p: p}
	var err error
	if pt.cols, err = safe(c, "Columns", func() ([]Column, error) { return p.Columns(), nil }); err != nil {
		c.closePortal(pt)
		return nil, err
	}
	if pt.copyIn, err = safe(c, "CopyIn", func() (CopyIn, error) { return p.CopyIn(), nil }); err != nil {
		c.closePortal(pt)
		return nil, err
	}
	if lp, ok := p.(LivePortal); ok {
		pt.live, _ = safe(c, "Live", func() (bool, error) { return lp.Live(), nil })
	}
	switch n := len(resultFormats); {
	case n == 0:
	case n == 1:
		if resultFormats[0] != formatText {
			pt.formats = make([]int16, len(pt.cols))
			for i := range pt.formats {
				pt.formats[i] = resultFormats[0]
			}
		}
	case n == len(pt.cols):
		pt.formats = append([]int16(nil), resultFormats...)
	default:
		c.closePortal(pt)
		return nil, pgerror.New(pgerror.CodeProtocolViolation, "bind message has %d result formats but query has %d columns", n, len(pt.cols))
	}
	for _, f := range pt.formats {
		if f != formatText && f != formatBinary {
			c.closePortal(pt)
			return nil, pgerror.New(pgerror.CodeProtocolViolation, "unsupported format code: %d", f)
		}
	}
	return pt, nil
}

// closePortal releases a portal's batch and closes it, once.
func (c *conn) closePortal(pt *portal) {
	if pt.batch != nil {
		pt.batch.Release()
		pt.batch = nil
	}
	if pt.p != nil && !pt.closed {
		pt.closed = true
		if _, err := safe(c, "Portal.Close", func() (struct{}, error) { return struct{}{}, pt.p.Close() }); err != nil {
			c.log.Debug("pgwire: closing portal", "err", err)
		}
	}
}

func (c *conn) dropPortal(name string) {
	if pt, ok := c.portals[name]; ok {
		c.closePortal(pt)
		delete(c.portals, name)
	}
}

func (c *conn) closeAllPortals() {
	for name, pt := range c.portals {
		c.closePortal(pt)
		delete(c.portals, name)
	}
}

// run sends the rows of pt, at most limit of them (0 = all), and reports
// whether it stopped at the limit with rows possibly left. A batch cut by
// the limit is kept for the next call. At the end pt.done and pt.tag are
// set and the Portal is closed early, to free its resources.
func (c *conn) run(ctx context.Context, pt *portal, limit int) (suspended bool, err error) {
	if pt.done {
		return false, nil
	}
	c.w.start()
	defer c.w.stop()
	n := 0
	for {
		if pt.batch == nil {
			b, err := safe(c, "Next", func() (arrow.RecordBatch, error) { return pt.p.Next(ctx) })
			if errors.Is(err, io.EOF) {
				if b != nil {
					b.Release()
				}
				pt.tag, err = safe(c, "Tag", func() (string, error) { return pt.p.Tag(), nil })
				if err != nil {
					return false, err
				}
				pt.done = true
				c.closePortal(pt)
				return false, nil
			}
			if err != nil {
				if b != nil {
					b.Release()
				}
				return false, err
			}
			if b == nil {
				return false, pgerror.New(pgerror.CodeInternalError, "portal returned no batch and no error")
			}
			pt.batch, pt.row = b, 0
		}
		rows := int(pt.batch.NumRows())
		end := rows
		if limit > 0 && end-pt.row > limit-n {
			end = pt.row + limit - n
		}
		if err := c.appendRows(pt, pt.row, end); err != nil {
			return false, err
		}
		n += end - pt.row
		pt.row = end
		if pt.row >= rows {
			pt.batch.Release()
			pt.batch = nil
		}
		if pt.live || len(c.wbuf) >= flushThreshold {
			c.flush()
		}
		if c.werr != nil {
			return false, fatalError{}
		}
		if limit > 0 && n >= limit {
			return true, nil
		}
	}
}

// parse handles a Parse message.
func (c *conn) parse(m *pgproto3.Parse) error {
	if m.Name != "" {
		if _, ok := c.stmts[m.Name]; ok {
			return pgerror.New("42P05", "prepared statement \"%s\" already exists", m.Name)
		}
	}
	ctx := c.queryCtx()
	oids := append([]uint32(nil), m.ParameterOIDs...)
	query := m.Query
	st, err := safe(c, "Prepare", func() (Statement, error) { return c.sess.Prepare(ctx, query, oids) })
	if err != nil {
		return err
	}
	c.stmts[m.Name] = &prepared{st: st}
	c.send(&pgproto3.ParseComplete{})
	return nil
}

// bind handles a Bind message: it decodes the parameters according to the
// statement's parameter types and creates the portal.
func (c *conn) bind(m *pgproto3.Bind) error {
	ps, ok := c.stmts[m.PreparedStatement]
	if !ok {
		return pgerror.New(pgerror.CodeUndefinedPreparedStmt, "prepared statement \"%s\" does not exist", m.PreparedStatement)
	}
	if m.DestinationPortal == "" {
		c.dropPortal("")
	} else if _, ok := c.portals[m.DestinationPortal]; ok {
		return pgerror.New("42P03", "portal \"%s\" already exists", m.DestinationPortal)
	}
	var types []catalog.Type
	if ps.st != nil {
		var err error
		if types, err = safe(c, "ParamTypes", func() ([]catalog.Type, error) { return ps.st.ParamTypes(), nil }); err != nil {
			return err
		}
	}
	if len(m.Parameters) != len(types) {
		return pgerror.New(pgerror.CodeProtocolViolation, "bind message supplies %d parameters, but prepared statement \"%s\" requires %d",
			len(m.Parameters), m.PreparedStatement, len(types))
	}
	nf := len(m.ParameterFormatCodes)
	if nf > 1 && nf != len(m.Parameters) {
		return pgerror.New(pgerror.CodeProtocolViolation, "bind message has %d parameter formats but %d parameters", nf, len(m.Parameters))
	}
	params := make([]any, len(m.Parameters))
	for i, raw := range m.Parameters {
		if raw == nil {
			continue
		}
		format := int16(formatText)
		if nf == 1 {
			format = m.ParameterFormatCodes[0]
		} else if nf > 1 {
			format = m.ParameterFormatCodes[i]
		}
		var v any
		var err error
		switch format {
		case formatText:
			v, err = catalog.ParseText(types[i], string(raw))
		case formatBinary:
			v, err = catalog.ParseBinary(types[i], raw)
		default:
			return pgerror.New(pgerror.CodeProtocolViolation, "unsupported format code: %d", format)
		}
		if err != nil {
			pe := pgerror.From(err)
			if pe.Code == pgerror.CodeInternalError {
				return fmt.Errorf("parameter $%d: %w", i+1, err)
			}
			return err
		}
		params[i] = v
	}
	if ps.st == nil {
		c.portals[m.DestinationPortal] = &portal{}
		c.send(&pgproto3.BindComplete{})
		return nil
	}
	ctx := c.queryCtx()
	p, err := safe(c, "Bind", func() (Portal, error) { return ps.st.Bind(ctx, params) })
	if err != nil {
		return err
	}
	pt, err := c.newPortal(p, m.ResultFormatCodes)
	if err != nil {
		return err
	}
	c.portals[m.DestinationPortal] = pt
	c.send(&pgproto3.BindComplete{})
	return nil
}

// describe handles a Describe message.
func (c *conn) describe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		ps, ok := c.stmts[m.Name]
		if !ok {
			return pgerror.New(pgerror.CodeUndefinedPreparedStmt, "prepared statement \"%s\" does not exist", m.Name)
		}
		if ps.st == nil {
			c.send(&pgproto3.ParameterDescription{})
			c.send(&pgproto3.NoData{})
			return nil
		}
		types, err := safe(c, "ParamTypes", func() ([]catalog.Type, error) { return ps.st.ParamTypes(), nil })
		if err != nil {
			return err
		}
		cols, err := safe(c, "Columns", func() ([]Column, error) { return ps.st.Columns(), nil })
		if err != nil {
			return err
		}
		oids := make([]uint32, len(types))
		for i, t := range types {
			oids[i] = t.OID()
		}
		c.send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
		if cols == nil {
			c.send(&pgproto3.NoData{})
		} else {
			c.sendRowDescription(cols, nil)
		}
		return nil
	case 'P':
		pt, ok := c.portals[m.Name]
		if !ok {
			return pgerror.New(pgerror.CodeInvalidCursorName, "portal \"%s\" does not exist", m.Name)
		}
		if pt.cols == nil {
			c.send(&pgproto3.NoData{})
		} else {
			c.sendRowDescription(pt.cols, pt.formats)
		}
		return nil
	}
	return pgerror.New(pgerror.CodeProtocolViolation, "invalid DESCRIBE message subtype %d", m.ObjectType)
}

// execute handles an Execute message.
func (c *conn) execute(m *pgproto3.Execute) error {
	pt, ok := c.portals[m.Portal]
	if !ok {
		return pgerror.New(pgerror.CodeInvalidCursorName, "portal \"%s\" does not exist", m.Portal)
	}
	if pt.p == nil {
		c.send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	ctx := c.queryCtx()
	if pt.copyIn != nil {
		cin := pt.copyIn
		pt.copyIn = nil
		tag, err := c.copyIn(ctx, cin)
		if err != nil {
			c.dropPortal(m.Portal)
			return err
		}
		pt.done, pt.tag = true, tag
		c.closePortal(pt)
		c.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
		return nil
	}
	suspended, err := c.run(ctx, pt, int(m.MaxRows))
	if err != nil {
		c.dropPortal(m.Portal)
		return err
	}
	if suspended {
		c.send(&pgproto3.PortalSuspended{})
		return nil
	}
	c.sendNotices()
	c.send(&pgproto3.CommandComplete{CommandTag: []byte(pt.tag)})
	return nil
}

// closeMsg handles a Close message. Closing what does not exist is not an
// error.
func (c *conn) closeMsg(m *pgproto3.Close) error {
	switch m.ObjectType {
	case 'S':
		delete(c.stmts, m.Name)
	case 'P':
		c.dropPortal(m.Name)
	default:
		return pgerror.New(pgerror.CodeProtocolViolation, "invalid CLOSE message subtype %d", m.ObjectType)
	}
	c.send(&pgproto3.CloseComplete{})
	return nil
}

// copyIn runs the COPY FROM STDIN sub-protocol: CopyInResponse, then
// CopyData to the sink until CopyDone or CopyFail. It returns the tag of
// Done. A fatalError means the connection must end.
func (c *conn) copyIn(ctx context.Context, cin CopyIn) (string, error) {
	n, err := safe(c, "CopyIn.Columns", func() (int, error) { return cin.Columns(), nil })
	if err != nil {
		c.abortCopy(cin, err.Error())
		return "", err
	}
	bin, err := safe(c, "CopyIn.Binary", func() (bool, error) { return cin.Binary(), nil })
	if err != nil {
		c.abortCopy(cin, err.Error())
		return "", err
	}
	format := byte(formatText)
	if bin {
		format = formatBinary
	}
	codes := make([]uint16, max(n, 0))
	for i := range codes {
		codes[i] = uint16(format)
	}
	c.send(&pgproto3.CopyInResponse{OverallFormat: format, ColumnFormatCodes: codes})
	c.flush()
	for {
		if c.werr != nil {
			c.abortCopy(cin, "connection lost")
			return "", fatalError{}
		}
		msg, err := c.be.Receive()
		if err != nil {
			c.abortCopy(cin, "connection lost")
			return "", fatalError{c.readError(err)}
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			// The message buffer is reused by the next Receive; the sink
			// may keep what it is given.
			data := append([]byte(nil), m.Data...)
			if _, err := safe(c, "CopyIn.Write", func() (struct{}, error) { return struct{}{}, cin.Write(ctx, data) }); err != nil {
				c.abortCopy(cin, err.Error())
				return "", err
			}
		case *pgproto3.CopyDone:
			return safe(c, "CopyIn.Done", func() (string, error) { return cin.Done(ctx) })
		case *pgproto3.CopyFail:
			c.abortCopy(cin, m.Message)
			return "", pgerror.New(pgerror.CodeQueryCanceled, "COPY from stdin failed: %s", m.Message)
		case *pgproto3.Flush, *pgproto3.Sync:
			// Ignored during COPY, as in Postgres.
		case *pgproto3.Terminate:
			c.abortCopy(cin, "connection terminated")
			return "", fatalError{}
		default:
			c.abortCopy(cin, "protocol violation")
			return "", fatalError{pgerror.New(pgerror.CodeProtocolViolation, "unexpected message type %T during COPY from stdin", msg)}
		}
	}
}

func (c *conn) abortCopy(cin CopyIn, reason string) {
	safe(c, "CopyIn.Abort", func() (struct{}, error) { cin.Abort(reason); return struct{}{}, nil })
}
