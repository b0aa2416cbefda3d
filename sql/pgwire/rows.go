package pgwire

import (
	"encoding/binary"
	"fmt"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// sendRowDescription buffers a RowDescription for cols with the given
// format codes (nil = all text). It is encoded in place, without the
// allocations of a pgproto3.RowDescription.
func (c *conn) sendRowDescription(cols []Column, formats []int16) {
	if c.werr != nil {
		return
	}
	buf := c.wbuf
	start := len(buf)
	buf = append(buf, 'T', 0, 0, 0, 0)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(cols)))
	for i, col := range cols {
		buf = append(buf, col.Name...)
		buf = append(buf, 0)
		buf = binary.BigEndian.AppendUint32(buf, 0) // table OID
		buf = binary.BigEndian.AppendUint16(buf, 0) // column number
		buf = binary.BigEndian.AppendUint32(buf, col.Type.OID())
		buf = binary.BigEndian.AppendUint16(buf, uint16(col.Type.Size()))
		buf = binary.BigEndian.AppendUint32(buf, uint32(col.Type.Modifier()))
		f := int16(formatText)
		if formats != nil {
			f = formats[i]
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(f))
	}
	binary.BigEndian.PutUint32(buf[start+1:], uint32(len(buf)-start-1))
	c.wbuf = buf
}

// appendRows encodes rows [from, to) of the portal's current batch as
// DataRow messages into the write buffer.
func (c *conn) appendRows(pt *portal, from, to int) (err error) {
	if c.werr != nil {
		return nil
	}
	b := pt.batch
	ncols := int(b.NumCols())
	if ncols != len(pt.cols) {
		return pgerror.New(pgerror.CodeInternalError, "result batch has %d columns, but the statement describes %d", ncols, len(pt.cols))
	}
	arrs := b.Columns()
	for j, a := range arrs {
		if a.Len() < to {
			return pgerror.New(pgerror.CodeInternalError, "result column %d has %d rows, batch has %d", j+1, a.Len(), b.NumRows())
		}
	}
	buf := c.wbuf
	defer func() {
		// An array that does not match its column's type can make an
		// encoder panic: report it as an error of the statement.
		if r := recover(); r != nil {
			err = c.panicError("encode rows", r)
		}
		c.wbuf = buf
	}()
	for i := from; i < to; i++ {
		start := len(buf)
		buf = append(buf, 'D', 0, 0, 0, 0, byte(ncols>>8), byte(ncols))
		for j, a := range arrs {
			if a.IsNull(i) {
				buf = append(buf, 0xff, 0xff, 0xff, 0xff)
				continue
			}
			lp := len(buf)
			buf = append(buf, 0, 0, 0, 0)
			if pt.formats != nil && pt.formats[j] == formatBinary {
				var err error
				if buf, err = catalog.AppendBinary(buf, pt.cols[j].Type, a, i); err != nil {
					buf = buf[:start]
					return fmt.Errorf("column %q: %w", pt.cols[j].Name, err)
				}
			} else {
				buf = catalog.AppendText(buf, pt.cols[j].Type, a, i)
			}
			binary.BigEndian.PutUint32(buf[lp:], uint32(len(buf)-lp-4))
		}
		binary.BigEndian.PutUint32(buf[start+1:], uint32(len(buf)-start-1))
	}
	return nil
}
