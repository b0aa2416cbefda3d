package widecol

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// RowWriter writes whole rows of one table cell by cell, each cell taken
// from an Arrow array or given as a Go value: Upsert without a record
// built first. Every column is set before each Write; a column set twice
// keeps its last value. It is valid until the batch commits or closes.
//
// A value column's cell is encoded as soon as it is set, so that a row
// whose columns are set in column order, each once (as a caller mapping a
// schema usually does), is written as encoded; other orders cost a copy.
// Key columns are kept until Write, which encodes the key.
type RowWriter struct {
	b    *Batch
	t    *Table
	cols []rowCol
	keys []scalar // the values of the key columns, by column index
	sc   scalar   // scratch for a value cell read through a scalar
	// val is the row's value header, then the cells of its value columns
	// in the order they were set (cols[c].off:end locates column c's).
	val    []byte
	hdr    int    // the length of the header
	sorted bool   // val's cells are in column order, one per column
	last   int    // the value column set last
	gen    uint64 // numbers the rows, from 1: a column never set has gen 0
	nset   int    // columns set in this row
	nbad   int    // columns of this row set to NULL but NOT NULL
}

// rowCol is what a RowWriter knows of one column.
type rowCol struct {
	kind    kind
	key     bool
	notNull bool
	prefix  []byte // a value cell's tag and expiry, when not NULL
	// gen is the RowWriter's gen of the last row the column was set in:
	// it is set in the row being written when gen equals the writer's.
	gen      uint64
	bad      bool // set to NULL but NOT NULL
	off, end int  // the cell in val; empty for NULL and key columns
	// arr is the array last checked against the column's type, by
	// identity: arrays are immutable, so the same one needs no new
	// check. nulls is whether it has NULLs. NB: arr is a pointer the
	// garbage collector sees, so the address cannot be reused by another
	// array while it is remembered.
	arr   unsafe.Pointer
	nulls bool
	dt    arrow.DataType // the type last checked
}

// Rows returns a RowWriter of table t.
func (b *Batch) Rows(t *Table, o *WriteOptions) (*RowWriter, error) {
	if err := b.start(t); err != nil {
		return nil, err
	}
	if t.appendOnly {
		return nil, b.fail(errAppendOnly(t, "rows are written as records with Append"))
	}
	exp := b.expiry(t, o)
	w := &RowWriter{b: b, t: t, cols: make([]rowCol, len(t.kinds)), keys: make([]scalar, len(t.kinds))}
	var prefixes []byte
	for c, k := range t.kinds {
		col := &w.cols[c]
		col.kind, col.key, col.notNull = k, t.isKey[c], !t.Schema.Field(c).Nullable
		if !col.key {
			n := len(prefixes)
			prefixes = appendCellPrefix(prefixes, c, k, false, exp)
			col.prefix = prefixes[n:len(prefixes):len(prefixes)]
		}
	}
	w.val = appendHeader(nil, exp)
	w.hdr = len(w.val)
	w.reset()
	return w, nil
}

// reset starts the next row.
func (w *RowWriter) reset() {
	w.gen++
	w.nset, w.nbad = 0, 0
	w.val = w.val[:w.hdr]
	w.sorted, w.last = true, -1
}

// FromArray sets column col (an index of the table's schema) of the row
// being written to row i of arr, which has the column's type. The cell
// of a key column that is a string or a binary refers to arr until Write.
func (w *RowWriter) FromArray(col int, arr arrow.Array, i int) error {
	c := &w.cols[col]
	// The common kinds are read from their concrete arrays; the others,
	// and arrays of other implementations, through a scalar.
	switch c.kind {
	case kInt64:
		if a, ok := arr.(*array.Int64); ok {
			if null, err := w.nullAt(col, a, unsafe.Pointer(a), i); null || err != nil {
				return err
			}
			w.setInt(col, a.Value(i))
			return nil
		}
	case kTimestamp:
		if a, ok := arr.(*array.Timestamp); ok {
			if null, err := w.nullAt(col, a, unsafe.Pointer(a), i); null || err != nil {
				return err
			}
			w.setInt(col, int64(a.Value(i)))
			return nil
		}
	case kInt32:
		if a, ok := arr.(*array.Int32); ok {
			if null, err := w.nullAt(col, a, unsafe.Pointer(a), i); null || err != nil {
				return err
			}
			w.setInt(col, int64(a.Value(i)))
			return nil
		}
	case kDate32:
		if a, ok := arr.(*array.Date32); ok {
			if null, err := w.nullAt(col, a, unsafe.Pointer(a), i); null || err != nil {
				return err
			}
			w.setInt(col, int64(a.Value(i)))
			return nil
		}
	case kString:
		if a, ok := arr.(*array.String); ok {
			if null, err := w.nullAt(col, a, unsafe.Pointer(a), i); null || err != nil {
				return err
			}
			v := a.Value(i)
			w.setBytes(col, unsafe.Slice(unsafe.StringData(v), len(v))) // read-only alias
			return nil
		}
	case kBinary:
		if a, ok := arr.(*array.Binary); ok {
			if null, err := w.nullAt(col, a, unsafe.Pointer(a), i); null || err != nil {
				return err
			}
			w.setBytes(col, a.Value(i))
			return nil
		}
	}
	if dt := arr.DataType(); dt != c.dt {
		if err := w.checkType(col, dt); err != nil {
			return err
		}
		c.dt = dt
	}
	if c.key {
		w.keys[col].fromArray(arr, i, c.kind)
		w.mark(col, w.keys[col].null)
		return nil
	}
	w.sc.fromArray(arr, i, c.kind)
	w.setValue(col, &w.sc)
	return nil
}

// check checks the array p, of type dt with nulls NULLs, against the type
// of column col and remembers it.
// nullAt checks arr, a concrete array at p, against column col's type
// when it is not the array checked last, and reports whether its row i is
// NULL, which it then sets.
func (w *RowWriter) nullAt(col int, arr arrow.Array, p unsafe.Pointer, i int) (bool, error) {
	c := &w.cols[col]
	if p != c.arr {
		if err := w.check(col, arr.DataType(), arr.NullN(), p); err != nil {
			return false, err
		}
	}
	if c.nulls && arr.IsNull(i) {
		w.setNull(col)
		return true, nil
	}
	return false, nil
}

func (w *RowWriter) check(col int, dt arrow.DataType, nulls int, p unsafe.Pointer) error {
	c := &w.cols[col]
	if dt != c.dt {
		if err := w.checkType(col, dt); err != nil {
			return err
		}
		c.dt = dt
	}
	c.arr, c.nulls = p, nulls > 0
	return nil
}

func (w *RowWriter) checkType(col int, dt arrow.DataType) error {
	if tf := w.t.Schema.Field(col); !arrow.TypeEqual(dt, tf.Type) {
		return w.b.fail(fmt.Errorf("%w: table %s, column %q: got type %s, want %s", ErrSchemaMismatch, w.t, tf.Name, dt, tf.Type))
	}
	return nil
}

// Set sets column col of the row being written to v, a Go value as
// UpsertRow takes them.
func (w *RowWriter) Set(col int, v any) error {
	tf := w.t.Schema.Field(col)
	sc, err := fromGo(v, tf.Type)
	if err != nil {
		return w.b.fail(fmt.Errorf("%w: table %s, column %q: %v", ErrSchemaMismatch, w.t, tf.Name, err))
	}
	if w.cols[col].key {
		w.keys[col] = sc
		w.mark(col, sc.null)
		return nil
	}
	w.setValue(col, &sc)
	return nil
}

// SetInt64 sets column col, a BIGINT one, of the row being written to v.
func (w *RowWriter) SetInt64(col int, v int64) error {
	if w.cols[col].kind != kInt64 {
		return w.Set(col, v)
	}
	w.setInt(col, v)
	return nil
}

// mark records that column col is set, to NULL or not.
func (w *RowWriter) mark(col int, null bool) {
	c := &w.cols[col]
	if c.gen != w.gen {
		c.gen = w.gen
		w.nset++
	} else if c.bad {
		w.nbad--
	}
	c.bad = null && c.notNull
	if c.bad {
		w.nbad++
	}
}

// startCell starts the cell of value column col at the end of val.
func (w *RowWriter) startCell(col int) {
	if col <= w.last {
		w.sorted = false
	}
	w.last = col
	c := &w.cols[col]
	c.off = len(w.val)
	switch p := c.prefix; len(p) {
	case 1: // columns 0 to 3, without expiry
		w.val = append(w.val, p[0])
	case 2: // columns 4 to 511, without expiry
		w.val = append(w.val, p[0], p[1])
	default:
		w.val = append(w.val, p...)
	}
}

// endCell ends the cell of value column col, started by startCell.
func (w *RowWriter) endCell(col int) {
	w.cols[col].end = len(w.val)
	w.mark(col, false)
}

// setNull sets column col to NULL.
func (w *RowWriter) setNull(col int) {
	c := &w.cols[col]
	if c.key {
		w.keys[col].null = true
	} else {
		// A full row is written with Set: a NULL is no cell at all.
		if col <= w.last {
			w.sorted = false
		}
		w.last = col
		c.off, c.end = 0, 0
	}
	w.mark(col, true)
}

// setInt sets column col, of kind BIGINT, TIMESTAMP, INT or DATE, to v.
func (w *RowWriter) setInt(col int, v int64) {
	c := &w.cols[col]
	if c.key {
		k := &w.keys[col]
		k.null, k.i = false, v
		w.mark(col, false)
		return
	}
	w.startCell(col)
	if c.kind == kInt32 || c.kind == kDate32 {
		w.val = binary.LittleEndian.AppendUint32(w.val, uint32(v))
	} else {
		w.val = binary.LittleEndian.AppendUint64(w.val, uint64(v))
	}
	w.endCell(col)
}

// setBytes sets column col, a string or binary one, to v; a key column
// keeps v until Write.
func (w *RowWriter) setBytes(col int, v []byte) {
	if w.cols[col].key {
		k := &w.keys[col]
		k.null, k.b = false, v
		w.mark(col, false)
		return
	}
	w.startCell(col)
	w.val = binary.AppendUvarint(w.val, uint64(len(v)))
	w.val = append(w.val, v...)
	w.endCell(col)
}

// setValue sets value column col to s.
func (w *RowWriter) setValue(col int, s *scalar) {
	if s.null {
		w.setNull(col)
		return
	}
	w.startCell(col)
	w.val = appendPayload(w.val, w.cols[col].kind, s)
	w.endCell(col)
}

// Write writes the row, replacing the stored one, and starts the next.
func (w *RowWriter) Write() error {
	b, t := w.b, w.t
	if b.err != nil {
		return b.err
	}
	if w.nset != len(w.cols) || w.nbad != 0 {
		for c := range w.cols {
			if w.cols[c].gen != w.gen {
				return b.fail(fmt.Errorf("%w: table %s: column %q not set", ErrSchemaMismatch, t, t.Schema.Field(c).Name))
			}
			if w.cols[c].bad {
				return b.fail(fmt.Errorf("%w: table %s, column %q: NULL in a NOT NULL column", ErrSchemaMismatch, t, t.Schema.Field(c).Name))
			}
		}
	}
	key := append(b.key[:0], t.prefix...)
	for _, kc := range t.keyCols {
		key = appendKey(key, t.kinds[kc.col], &w.keys[kc.col], kc.desc)
	}
	b.key = key
	val := w.val
	if !w.sorted {
		val = append(b.val[:0], w.val[:w.hdr]...)
		for c := range w.cols {
			val = append(val, w.val[w.cols[c].off:w.cols[c].end]...)
		}
		b.val = val
	}
	if err := b.pb.Set(key, val, nil); err != nil {
		return b.fail(fmt.Errorf("widecol: table %s: %w", t, err))
	}
	w.reset()
	b.rows++
	return nil
}
