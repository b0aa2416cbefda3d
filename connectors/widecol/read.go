package widecol

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2"
)

// Range selects rows of a table in key order.
//
// Key values are Go values: nil (NULL), bool, any Go integer type (range
// checked) for integer columns, float32/float64, string or []byte for
// String and Binary, arrow.Date32 or time.Time for Date32, arrow.Timestamp
// or time.Time for Timestamp, decimal128.Num, in the column order.
type Range struct {
	// Partition holds leading partition key values: all of them to scan
	// one partition, fewer to scan partitions sharing a prefix, none to
	// scan the whole table.
	Partition []any
	// Lower and Upper bound the clustering key; they need the full
	// partition key. A bound's Values are leading clustering values and
	// compare as a tuple prefix in the table's clustering order (so on a
	// descending column Lower holds the larger value). nil is unbounded.
	// Lower == Upper with both Inclusive selects a clustering prefix.
	Lower, Upper *Bound
}

// Bound is one end of a clustering range.
type Bound struct {
	Values    []any
	Inclusive bool
}

// appendKeyValues encodes Go values for key columns start, start+1, ...
func (t *Table) appendKeyValues(dst []byte, vals []any, start int) ([]byte, error) {
	if start+len(vals) > len(t.keyCols) {
		return nil, fmt.Errorf("%w: table %s: too many key values", ErrBadKey, t)
	}
	for i, v := range vals {
		kc := t.keyCols[start+i]
		f := t.Schema.Field(kc.col)
		sc, err := fromGo(v, f.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: table %s, column %q: %v", ErrBadKey, t, f.Name, err)
		}
		dst = appendKey(dst, t.kinds[kc.col], &sc, kc.desc)
	}
	return dst, nil
}

// rangeBounds returns the Pebble key bounds [lo, hi) of r.
func (t *Table) rangeBounds(r Range) (lo, hi []byte, err error) {
	np := len(t.PartitionKey)
	if len(r.Partition) > np {
		return nil, nil, fmt.Errorf("%w: table %s: %d partition values, want at most %d", ErrBadKey, t, len(r.Partition), np)
	}
	if (r.Lower != nil || r.Upper != nil) && len(r.Partition) != np {
		return nil, nil, fmt.Errorf("%w: table %s: clustering bounds need the full partition key", ErrBadKey, t)
	}
	base, err := t.appendKeyValues(append([]byte(nil), t.prefix...), r.Partition, 0)
	if err != nil {
		return nil, nil, err
	}
	lo, hi = base, prefixEnd(base)
	if b := r.Lower; b != nil {
		k, err := t.appendKeyValues(append([]byte(nil), base...), b.Values, np)
		if err != nil {
			return nil, nil, err
		}
		if b.Inclusive {
			lo = k
		} else {
			lo = prefixEnd(k)
		}
	}
	if b := r.Upper; b != nil {
		k, err := t.appendKeyValues(append([]byte(nil), base...), b.Values, np)
		if err != nil {
			return nil, nil, err
		}
		if b.Inclusive {
			hi = prefixEnd(k)
		} else {
			hi = k
		}
	}
	return lo, hi, nil
}

// Op is a comparison operator of a pushed-down predicate.
type Op int

// Predicate operators. Comparisons with NULL are false, as in SQL.
const (
	OpEq Op = iota
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpIsNull
	OpIsNotNull
)

var opNames = [...]string{"=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL"}

// String returns the operator in SQL spelling.
func (o Op) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Predicate is "Column Op Value", evaluated by the store on each row
// before it is added to a result batch. Value is ignored for IS [NOT]
// NULL and otherwise takes the Go types listed on Range.
type Predicate struct {
	Column string
	Op     Op
	Value  any
}

// ReadOptions tunes a read. The zero value (or nil) works.
type ReadOptions struct {
	// Allocator allocates result batches; nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// BatchSize is the maximum number of rows per result batch; 0 means 1024.
	BatchSize int
	// Columns is the projection, in output order; nil means every column.
	Columns []string
	// Filter holds predicates that must all hold for a row to be returned.
	Filter []Predicate
}

type compiledPred struct {
	col int
	k   kind
	op  Op
	val scalar
}

// plan is a compiled read: projection, predicates and row scratch space.
type plan struct {
	t       *Table
	schema  *arrow.Schema
	out     []int
	need    []bool
	preds   []compiledPred
	mem     memory.Allocator
	size    int
	slots   []scalar
	present []bool
	cell    cellRef

	// cols describes each table column for the scan decoder.
	cols []colInfo
	// direct is set when cells can be decoded straight into the output
	// columns: no predicates and no column projected twice.
	direct bool
}

type colInfo struct {
	out   int32 // output column, -1 if not projected (or not direct)
	width int8  // cell payload width of the kind, -1 for variable
	isKey bool
}

func newPlan(t *Table, o *ReadOptions) (*plan, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil table", ErrTableNotFound)
	}
	var ro ReadOptions
	if o != nil {
		ro = *o
	}
	p := &plan{t: t, mem: ro.Allocator, size: ro.BatchSize,
		need: make([]bool, len(t.kinds)), slots: make([]scalar, len(t.kinds)), present: make([]bool, len(t.kinds))}
	if p.mem == nil {
		p.mem = memory.DefaultAllocator
	}
	if p.size <= 0 {
		p.size = 1024
	}
	if ro.Columns == nil {
		for i := range t.kinds {
			p.out = append(p.out, i)
		}
		p.schema = t.Schema
	} else {
		fields := make([]arrow.Field, 0, len(ro.Columns))
		for _, n := range ro.Columns {
			c := t.Column(n)
			if c < 0 {
				return nil, fmt.Errorf("%w: table %s has no column %q", ErrSchemaMismatch, t, n)
			}
			p.out = append(p.out, c)
			fields = append(fields, t.Schema.Field(c))
		}
		p.schema = arrow.NewSchema(fields, nil)
	}
	for _, c := range p.out {
		p.need[c] = true
	}
	for _, pr := range ro.Filter {
		c := t.Column(pr.Column)
		if c < 0 {
			return nil, fmt.Errorf("%w: table %s has no column %q", ErrBadPredicate, t, pr.Column)
		}
		if pr.Op < OpEq || pr.Op > OpIsNotNull {
			return nil, fmt.Errorf("%w: operator %d", ErrBadPredicate, int(pr.Op))
		}
		cp := compiledPred{col: c, k: t.kinds[c], op: pr.Op}
		if pr.Op < OpIsNull {
			sc, err := fromGo(pr.Value, t.Schema.Field(c).Type)
			if err != nil {
				return nil, fmt.Errorf("%w: column %q: %v", ErrBadPredicate, pr.Column, err)
			}
			cp.val = sc
		}
		p.need[c] = true
		p.preds = append(p.preds, cp)
	}
	p.cols = make([]colInfo, len(t.kinds))
	for c, k := range t.kinds {
		w := k.width()
		if w == 0 {
			w = -1
		}
		p.cols[c] = colInfo{out: -1, width: int8(w), isKey: t.isKey[c]}
	}
	p.direct = len(p.preds) == 0
	for j, c := range p.out {
		if p.cols[c].out >= 0 {
			p.direct = false
		}
		p.cols[c].out = int32(j)
	}
	if !p.direct {
		for c := range p.cols {
			p.cols[c].out = -1
		}
	}
	return p, nil
}

// decodeInto decodes one stored row as row n of the output columns and
// reports whether the row is visible; only then is it committed. Invisible
// rows leave the columns as they were before row n. It needs p.direct.
// Errors match decodeRow's.
func (p *plan) decodeInto(cbs []colBuf, n int, key, val []byte, now int64) (bool, error) {
	t := p.t
	if len(key) < len(t.prefix) {
		return false, errKeyTruncated
	}
	rest := key[len(t.prefix):]
	var err error
	for _, kc := range t.keyCols {
		s := &p.slots[kc.col]
		if k := t.kinds[kc.col]; (k == kInt64 || k == kTimestamp) && !kc.desc && len(rest) >= 9 && rest[0] == keyValue {
			// The common case, inline; decodeKey does the rest.
			s.null, s.i = false, int64(binary.BigEndian.Uint64(rest[1:])^(1<<63))
			rest = rest[9:]
			continue
		}
		if rest, err = decodeKey(rest, t.kinds[kc.col], kc.desc, s); err != nil {
			return false, err
		}
	}
	if len(rest) != 0 {
		return false, errors.New("trailing bytes after key")
	}
	if len(val) == 0 {
		return false, errValueTruncated
	}
	var rowExp int64
	cells := val[1:]
	if h := val[0]; h != 0 {
		if h != hdrRowExpiry {
			return false, fmt.Errorf("bad value header 0x%02x", h)
		}
		if len(val) < 9 {
			return false, errValueTruncated
		}
		rowExp = int64(binary.LittleEndian.Uint64(val[1:]))
		cells = val[9:]
	}
	cols := p.cols
	anyLive := false
	for len(cells) > 0 {
		var tag uint64
		if b := cells[0]; b < 0x80 {
			tag, cells = uint64(b), cells[1:]
		} else {
			var m int
			if tag, m = binary.Uvarint(cells); m <= 0 {
				return false, errValueTruncated
			}
			cells = cells[m:]
		}
		col := tag >> 5
		if col >= maxColumns {
			return false, fmt.Errorf("bad column id %d", col)
		}
		var exp int64
		if tag&cellExpiry != 0 {
			if len(cells) < 8 {
				return false, errValueTruncated
			}
			exp = int64(binary.LittleEndian.Uint64(cells))
			cells = cells[8:]
		}
		wc := (tag >> 2) & 7
		var payload []byte
		width := 0
		if tag&cellNull != 0 {
			if wc != 0 {
				return false, errors.New("NULL cell with payload width")
			}
		} else if wc == 0 {
			l, m := binary.Uvarint(cells)
			if m <= 0 || l > uint64(len(cells)-m) {
				return false, errValueTruncated
			}
			width = -1
			payload = cells[m : m+int(l)]
			cells = cells[m+int(l):]
		} else {
			if wc >= uint64(len(wcodeWidth)) {
				return false, fmt.Errorf("bad width code %d", wc)
			}
			width = wcodeWidth[wc]
			if len(cells) < width {
				return false, errValueTruncated
			}
			payload = cells[:width]
			cells = cells[width:]
		}
		if col >= uint64(len(cols)) || cols[col].isKey {
			return false, fmt.Errorf("cell for unknown or key column %d", col)
		}
		ci := &cols[col]
		if tag&cellNull != 0 || (exp != 0 && exp <= now) {
			if ci.out >= 0 {
				cbs[ci.out].set = false
			}
			continue
		}
		anyLive = true
		if ci.out < 0 {
			continue
		}
		if width != int(ci.width) {
			return false, fmt.Errorf("column %d: cell width %d does not match type %s", col, width, t.kinds[col])
		}
		if cb := &cbs[ci.out]; cb.w == 8 {
			binary.NativeEndian.PutUint64(cb.xb[n*8:], binary.LittleEndian.Uint64(payload))
			cb.set = true
		} else if err := cb.putCell(n, payload); err != nil {
			return false, fmt.Errorf("column %d: %w", col, err)
		}
	}
	if !anyLive && !live(rowExp, now) {
		for j := range cbs {
			cbs[j].set = false
		}
		return false, nil
	}
	for _, kc := range t.keyCols {
		if j := cols[kc.col].out; j >= 0 {
			if s := &p.slots[kc.col]; !s.null {
				if err := cbs[j].putScalar(n, s); err != nil {
					return false, err
				}
			}
		}
	}
	for j := range cbs {
		cbs[j].commit(n)
	}
	return true, nil
}

// appendSlots stores the row decoded by decodeRow as row n of the output
// columns and commits it.
func (p *plan) appendSlots(cbs []colBuf, n int) error {
	for j, col := range p.out {
		if !p.isNull(col) {
			if err := cbs[j].putScalar(n, &p.slots[col]); err != nil {
				return err
			}
		}
		cbs[j].commit(n)
	}
	return nil
}

// finishCols returns the first n rows of the output columns as a batch.
func (p *plan) finishCols(cbs []colBuf, n int) arrow.RecordBatch {
	cols := make([]arrow.Array, len(cbs))
	for j := range cbs {
		cols[j] = cbs[j].finish(n)
	}
	rec := array.NewRecordBatch(p.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// decodeRow decodes one stored row into the plan's slots. It reports
// whether the row is visible (not expired) and passes the predicates.
func (p *plan) decodeRow(key, val []byte, now int64) (bool, error) {
	t := p.t
	if len(key) < len(t.prefix) {
		return false, errKeyTruncated
	}
	rest := key[len(t.prefix):]
	var err error
	for _, kc := range t.keyCols {
		if rest, err = decodeKey(rest, t.kinds[kc.col], kc.desc, &p.slots[kc.col]); err != nil {
			return false, err
		}
	}
	if len(rest) != 0 {
		return false, errors.New("trailing bytes after key")
	}
	rowExp, cells, err := parseHeader(val)
	if err != nil {
		return false, err
	}
	for i := range p.present {
		p.present[i] = false
	}
	anyLive := false
	c := &p.cell
	for len(cells) > 0 {
		if cells, err = nextCell(cells, c); err != nil {
			return false, err
		}
		if c.col >= len(t.kinds) || t.isKey[c.col] {
			return false, fmt.Errorf("cell for unknown or key column %d", c.col)
		}
		if c.null || !live(c.exp, now) {
			p.present[c.col] = false
			continue
		}
		anyLive = true
		if p.need[c.col] {
			if err := decodePayload(c, t.kinds[c.col], &p.slots[c.col]); err != nil {
				return false, err
			}
			p.present[c.col] = true
		}
	}
	if !anyLive && !live(rowExp, now) {
		return false, nil
	}
	for i := range p.preds {
		if !p.eval(&p.preds[i]) {
			return false, nil
		}
	}
	return true, nil
}

func (p *plan) isNull(col int) bool {
	if p.t.isKey[col] {
		return p.slots[col].null
	}
	return !p.present[col]
}

func (p *plan) eval(cp *compiledPred) bool {
	null := p.isNull(cp.col)
	switch cp.op {
	case OpIsNull:
		return null
	case OpIsNotNull:
		return !null
	}
	if null || cp.val.null {
		return false
	}
	c := compareScalars(&p.slots[cp.col], &cp.val, cp.k)
	switch cp.op {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	}
	return false
}

// appendRow appends the decoded row to the builders.
func (p *plan) appendRow(blds []array.Builder) {
	for j, col := range p.out {
		if p.isNull(col) {
			blds[j].AppendNull()
			continue
		}
		p.slots[col].appendTo(blds[j], p.t.kinds[col])
	}
}

func (p *plan) newBuilders() []array.Builder {
	blds := make([]array.Builder, len(p.out))
	for j, col := range p.out {
		blds[j] = array.NewBuilder(p.mem, p.t.Schema.Field(col).Type)
	}
	return blds
}

func (p *plan) finish(blds []array.Builder, n int) arrow.RecordBatch {
	cols := make([]arrow.Array, len(blds))
	for j, b := range blds {
		cols[j] = b.NewArray()
	}
	rec := array.NewRecordBatch(p.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// toRow returns the decoded row as Go values; NULL and absent cells are
// left out.
func (p *plan) toRow() Row {
	r := Row{}
	for _, col := range p.out {
		if !p.isNull(col) {
			r[p.t.Schema.Field(col).Name] = p.slots[col].toGo(p.t.kinds[col])
		}
	}
	return r
}

func corrupt(t *Table, key []byte, err error) error {
	return fmt.Errorf("%w: table %s, key %x: %v", ErrCorrupt, t, key, err)
}

// reader is what both the database and a snapshot offer.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIterWithContext(ctx context.Context, o *pebble.IterOptions) (*pebble.Iterator, error)
}

// get reads one row and calls use with the decoded plan while the Pebble
// value it aliases is still valid.
func (s *Store) get(ctx context.Context, r reader, t *Table, key []any, o *ReadOptions, use func(p *plan) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	p, err := newPlan(t, o)
	if err != nil {
		return err
	}
	if len(key) != len(t.keyCols) {
		return fmt.Errorf("%w: table %s: %d key values, want %d", ErrBadKey, t, len(key), len(t.keyCols))
	}
	k, err := t.appendKeyValues(append([]byte(nil), t.prefix...), key, 0)
	if err != nil {
		return err
	}
	if t.appendOnly {
		ok, err := s.getChunked(ctx, r, p, k, use)
		if err == nil && !ok {
			err = fmt.Errorf("%w: table %s, key %v", ErrNotFound, t, key)
		}
		if err == nil {
			s.rowsRead.Add(1)
		}
		return err
	}
	v, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("%w: table %s, key %v", ErrNotFound, t, key)
	}
	if err != nil {
		return fmt.Errorf("widecol: get from %s: %w", t, err)
	}
	defer closer.Close()
	s.bytesRead.Add(uint64(len(k) + len(v)))
	ok, err := p.decodeRow(k, v, s.now().UnixNano())
	if err != nil {
		return corrupt(t, k, err)
	}
	if !ok {
		return fmt.Errorf("%w: table %s, key %v", ErrNotFound, t, key)
	}
	s.rowsRead.Add(1)
	return use(p)
}

func (s *Store) getBatch(ctx context.Context, r reader, t *Table, key []any, o *ReadOptions) (arrow.RecordBatch, error) {
	var rec arrow.RecordBatch
	err := s.get(ctx, r, t, key, o, func(p *plan) error {
		cbs := newColBufs(p)
		for j := range cbs {
			cbs[j].begin(1)
		}
		if err := p.appendSlots(cbs, 0); err != nil {
			for j := range cbs {
				cbs[j].release()
			}
			return err
		}
		rec = p.finishCols(cbs, 1)
		return nil
	})
	return rec, err
}

func (s *Store) getRow(ctx context.Context, r reader, t *Table, key []any) (Row, error) {
	var row Row
	// Values alias the Pebble value, so convert before it is released:
	// toGo copies strings and binaries.
	err := s.get(ctx, r, t, key, nil, func(p *plan) error {
		row = p.toRow()
		return nil
	})
	return row, err
}

// Get reads the row with the given full key (partition key values, then
// clustering values) as a one-row batch, which the caller releases. A
// missing, expired or filtered-out row is ErrNotFound.
func (s *Store) Get(ctx context.Context, t *Table, key []any, o *ReadOptions) (arrow.RecordBatch, error) {
	return s.getBatch(ctx, s.db, t, key, o)
}

// GetRow reads the row with the given full key as Go values; NULL and
// absent cells are left out of the map.
func (s *Store) GetRow(ctx context.Context, t *Table, key []any) (Row, error) {
	return s.getRow(ctx, s.db, t, key)
}

// Scan returns an iterator over the rows of r in key order. The iterator
// reads a consistent snapshot taken when Scan is called and must be
// closed.
func (s *Store) Scan(ctx context.Context, t *Table, r Range, o *ReadOptions) (*Iterator, error) {
	return s.scan(ctx, s.db, t, r, o)
}

func (s *Store) scan(ctx context.Context, rd reader, t *Table, r Range, o *ReadOptions) (*Iterator, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	p, err := newPlan(t, o)
	if err != nil {
		return nil, err
	}
	lo, hi, err := t.rangeBounds(r)
	if err != nil {
		return nil, err
	}
	if t.appendOnly {
		// A chunk starting before lo may hold rows of the range.
		pit, err := rd.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: t.prefix, UpperBound: hi})
		if err != nil {
			return nil, fmt.Errorf("widecol: scan %s: %w", t, err)
		}
		tlo, thi := t.bounds()
		cs := &chunkScan{lo: lo, hi: hi, whole: bytes.Equal(lo, tlo) && bytes.Equal(hi, thi)}
		return &Iterator{s: s, p: p, it: pit, cs: cs}, nil
	}
	pit, err := rd.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("widecol: scan %s: %w", t, err)
	}
	return &Iterator{s: s, p: p, it: pit}, nil
}

// Iterator returns the rows of a scan as record batches. It is not safe
// for concurrent use and must be closed.
type Iterator struct {
	s       *Store
	p       *plan
	it      *pebble.Iterator
	cbs     []colBuf
	cs      *chunkScan // non-nil for an append-only table
	started bool
	done    bool
	closed  bool
}

// Schema returns the schema of the batches (the projection).
func (it *Iterator) Schema() *arrow.Schema { return it.p.schema }

// Next returns the next batch of at most BatchSize rows, which the caller
// releases, or io.EOF after the last one. Batches are never empty.
func (it *Iterator) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if it.closed {
		return nil, ErrClosed
	}
	if it.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.cs != nil {
		return it.nextChunked(ctx)
	}
	p := it.p
	if it.cbs == nil {
		it.cbs = newColBufs(p)
	}
	cbs := it.cbs
	for j := range cbs {
		cbs[j].begin(p.size)
	}
	now := it.s.now().UnixNano()
	pit := it.it
	n, scanned := 0, 0
	var nbytes uint64
	for n < p.size {
		var ok bool
		if !it.started {
			ok, it.started = pit.First(), true
		} else {
			ok = pit.Next()
		}
		if !ok {
			it.done = true
			break
		}
		key := pit.Key()
		val, err := pit.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("widecol: scan %s, key %x: %w", p.t, key, err)
		}
		nbytes += uint64(len(key) + len(val))
		var visible bool
		if p.direct {
			visible, err = p.decodeInto(cbs, n, key, val, now)
		} else if visible, err = p.decodeRow(key, val, now); err == nil && visible {
			err = p.appendSlots(cbs, n)
		}
		if err != nil {
			it.done = true
			return nil, corrupt(p.t, key, err)
		}
		if visible {
			n++
		}
		if scanned++; scanned&4095 == 0 {
			if err := ctx.Err(); err != nil {
				it.done = true
				return nil, err
			}
		}
	}
	if err := pit.Error(); err != nil {
		it.done = true
		return nil, fmt.Errorf("widecol: scan %s: %w", p.t, err)
	}
	it.s.bytesRead.Add(nbytes)
	it.s.rowsRead.Add(uint64(n))
	if n == 0 {
		return nil, io.EOF
	}
	return p.finishCols(cbs, n), nil
}

// Close releases the iterator's resources. It is idempotent.
func (it *Iterator) Close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	if it.cs != nil {
		it.cs.release()
	}
	for j := range it.cbs {
		it.cbs[j].release()
	}
	it.cbs = nil
	return it.it.Close()
}

// Snapshot is a consistent view of the store: all its reads see the same
// state, whatever is committed after NewSnapshot. It is safe for
// concurrent use and must be closed before the Store.
type Snapshot struct {
	s      *Store
	snap   *pebble.Snapshot
	closed atomic.Bool
}

// NewSnapshot returns a snapshot of the current state.
func (s *Store) NewSnapshot() *Snapshot {
	return &Snapshot{s: s, snap: s.db.NewSnapshot()}
}

func (sn *Snapshot) check() error {
	if sn.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Get is Store.Get against the snapshot.
func (sn *Snapshot) Get(ctx context.Context, t *Table, key []any, o *ReadOptions) (arrow.RecordBatch, error) {
	if err := sn.check(); err != nil {
		return nil, err
	}
	return sn.s.getBatch(ctx, sn.snap, t, key, o)
}

// GetRow is Store.GetRow against the snapshot.
func (sn *Snapshot) GetRow(ctx context.Context, t *Table, key []any) (Row, error) {
	if err := sn.check(); err != nil {
		return nil, err
	}
	return sn.s.getRow(ctx, sn.snap, t, key)
}

// Scan is Store.Scan against the snapshot. Its iterators must be closed
// before the snapshot.
func (sn *Snapshot) Scan(ctx context.Context, t *Table, r Range, o *ReadOptions) (*Iterator, error) {
	if err := sn.check(); err != nil {
		return nil, err
	}
	return sn.s.scan(ctx, sn.snap, t, r, o)
}

// Close releases the snapshot. It is idempotent.
func (sn *Snapshot) Close() error {
	if sn.closed.Swap(true) {
		return nil
	}
	return sn.snap.Close()
}

// rowVisible reports whether a stored value still has a live row marker
// or a live non-NULL cell.
func rowVisible(val []byte, now int64) (bool, error) {
	rowExp, cells, err := parseHeader(val)
	if err != nil {
		return false, err
	}
	if live(rowExp, now) {
		return true, nil
	}
	var c cellRef
	for len(cells) > 0 {
		if cells, err = nextCell(cells, &c); err != nil {
			return false, err
		}
		if !c.null && live(c.exp, now) {
			return true, nil
		}
	}
	return false, nil
}

// Sweep deletes the rows of t whose TTL has passed and returns how many
// it deleted. Expired rows are already invisible to reads; Sweep turns
// them into tombstones so compaction reclaims their space (call Compact to
// force that). It works in chunks, holding off commits only briefly.
func (s *Store) Sweep(ctx context.Context, t *Table) (int, error) {
	if t.appendOnly {
		return 0, s.check(ctx) // no TTL
	}
	lo, hi := t.bounds()
	cursor := lo
	deleted := 0
	for cursor != nil {
		if err := s.check(ctx); err != nil {
			return deleted, err
		}
		n, next, err := s.sweepChunk(t, cursor, hi)
		deleted += n
		if err != nil {
			return deleted, err
		}
		cursor = next
	}
	return deleted, nil
}

func (s *Store) sweepChunk(t *Table, lo, hi []byte) (int, []byte, error) {
	const chunk = 4096
	// Exclusive: no commit can rewrite a row between our check and delete.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID[t.ID] != t {
		return 0, nil, fmt.Errorf("%w: %s", ErrTableNotFound, t)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, nil, fmt.Errorf("widecol: sweep %s: %w", t, err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	now := s.now().UnixNano()
	var next []byte
	scanned := 0
	for ok := it.First(); ok; ok = it.Next() {
		if scanned == chunk {
			next = append([]byte(nil), it.Key()...)
			break
		}
		scanned++
		val, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return 0, nil, fmt.Errorf("widecol: sweep %s: %w", t, err)
		}
		vis, err := rowVisible(val, now)
		if err != nil {
			err = corrupt(t, it.Key(), err)
			it.Close()
			return 0, nil, err
		}
		if !vis {
			_ = b.Delete(it.Key(), nil)
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, nil, fmt.Errorf("widecol: sweep %s: %w", t, err)
	}
	n := int(b.Count())
	if n > 0 {
		if err := b.Commit(pebble.Sync); err != nil {
			return 0, nil, fmt.Errorf("widecol: sweep %s: %w", t, err)
		}
	}
	return n, next, nil
}
