package session

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/windows"
)

// A top-N view keeps, per partition, its best rows in its state table
// keyed by (partition values, position), with the input columns. Each
// epoch ranks the new rows into their partitions; for every partition that
// changed it rewrites the state rows and the view rows at its positions
// (the view's key), deleting the positions no longer used.
//
// Every partition is known in memory. The rows of recently changed ones
// are held up to topNMemoryRows; the others are cold: only their number of
// rows and their worst row's encoded ORDER BY values are kept, which turns
// away most new rows without reading the store, and their rows are read
// back when a row enters them. Deduplication (ROW_NUMBER() <= 1) never
// reads them back: a row that beats a partition's only row replaces it,
// so every partition is cold between epochs.

// topPart is a partition whose rows are in memory.
type topPart struct {
	key string // encoded partition values (keyEncoder)
	// keys are the partition values; nil for a partition of
	// deduplication written from its new row, whose columns hold them
	// (topNState.keyCols), until they are needed.
	keys []any
	rows []*topRow // best first
	used int64     // the epoch that last changed it
	// stored is the number of positions written to the store; from is
	// the first position changed in this epoch.
	stored int
	from   int
}

// topRow is a kept row: its ORDER BY values encoded (orderEncoder) and
// its input columns, read from its epoch's input batch (src) until the
// row outlives the epoch, then held encoded in one string (rowEncoder's
// encoding, row): no Go value per column for the collector to trace.
type topRow struct {
	order string
	row   string
	src   arrow.RecordBatch
	idx   int
}

// rowEncoders encodes rows of epoch input batches, one encoder list per
// batch.
type rowEncoders map[arrow.RecordBatch][]rowEnc

// keep copies the row out of its epoch's input batch.
func (re rowEncoders) keep(r *topRow) error {
	if r.src == nil {
		return nil
	}
	encs, ok := re[r.src]
	if !ok {
		for c := 0; c < int(r.src.NumCols()); c++ {
			e, err := rowEncoder(r.src.Column(c))
			if err != nil {
				return err
			}
			encs = append(encs, e)
		}
		re[r.src] = encs
	}
	var b []byte
	for _, e := range encs {
		b = e(b, r.idx)
	}
	r.row, r.src = string(b), nil
	return nil
}

// topNSpec is the state table of a top-N view.
func topNSpec(rel *catalog.Relation, vp *planner.ViewPlan) widecol.TableSpec {
	var fields []arrow.Field
	var key []string
	for i, p := range vp.TopN.Call.PartitionBy {
		name := fmt.Sprintf("_k%d", i)
		fields = append(fields, catalog.Field(name, p.Type(), true))
		key = append(key, name)
	}
	if len(key) == 0 {
		// One partition for a top-N over everything.
		fields = append(fields, arrow.Field{Name: "_k", Type: arrow.PrimitiveTypes.Int64})
		key = append(key, "_k")
	}
	fields = append(fields, arrow.Field{Name: "_pos", Type: arrow.PrimitiveTypes.Int64})
	for i, c := range vp.Input.Columns() {
		fields = append(fields, catalog.Field(fmt.Sprintf("c%d_%s", i, c.Name), c.Type, true))
	}
	return widecol.TableSpec{Keyspace: keyspaceData, Name: viewStateTable(rel), Schema: arrow.NewSchema(fields, nil),
		PartitionKey: key, Clustering: []widecol.ClusteringColumn{{Name: "_pos"}}}
}

// compareTop orders two rows as the ranking does: by the ORDER BY keys,
// then by the remaining columns (ascending, NULLs last), as the batch
// engine breaks ties.
func (tn *topNState) compareTop(a, b *topRow) int {
	if c := strings.Compare(a.order, b.order); c != 0 {
		return c
	}
	// Tie columns ascend, so a cursor reads an encoded row once.
	ca, cb := rowCursor{row: a.row}, rowCursor{row: b.row}
	for _, i := range tn.ties {
		if c := tn.compareAt(a, b, i, &ca, &cb); c != 0 {
			return c
		}
	}
	return 0
}

// tieCols returns the input columns that order rows tied on their ORDER
// BY values, ascending: the plan's (planner.Window.Ties, every column when
// nil) but for the partition's own columns, which are equal within a
// partition. A floating-point one stays: -0 and +0 share a partition.
func tieCols(tp *planner.TopNPlan, input []planner.Column, keyCols []int) []int {
	cols := tp.Ties
	if cols == nil {
		cols = make([]int, len(input))
		for i := range cols {
			cols[i] = i
		}
	}
	var out []int
	for _, c := range cols {
		t := input[c].Type
		if slices.Contains(keyCols, c) && t.ID != catalog.Float4 && t.ID != catalog.Float8 {
			continue
		}
		out = append(out, c)
	}
	return out
}

// compareAt compares input column c of two rows as compareSortValue
// compares their values, ascending and NULLs last.
func (tn *topNState) compareAt(a, b *topRow, c int, ca, cb *rowCursor) int {
	// The values are filled in place: returned, a tieVal (too large to
	// stay in registers) costs copies through memory.
	var x, y tieVal
	tn.tieAt(a, c, ca, &x)
	tn.tieAt(b, c, cb, &y)
	return compareTie(&x, &y)
}

// tieAt sets v to input column c of the row; cur reads it when the row
// is held encoded.
func (tn *topNState) tieAt(r *topRow, c int, cur *rowCursor, v *tieVal) {
	if r.src != nil {
		tieOfArray(r.src.Column(c), r.idx, v)
		return
	}
	if err := cur.at(tn.inTypes, c, v); err != nil {
		// Rows are encoded by this process from their own types.
		panic(err)
	}
}

// tieKind is how compareTie compares a tieVal: by the Go type valueAt
// gives its column.
type tieKind uint8

const (
	tieNull     tieKind = iota
	tieInt              // n (int64)
	tieDate             // n (int32)
	tieBool             // n (0 or 1)
	tieFloat            // n (float64 bits)
	tieString           // s
	tieBinary           // s
	tieDecimal          // n and u (high and low bits), scale
	tieInterval         // n (nanoseconds), u (months, days)
	tieText             // s: valueAt's text of another type
)

// tieVal is a column value of a kept row as valueAt would give it, but
// unboxed: comparing ties costs no allocation. s points into the row's
// array or encoding and must not outlive the comparison.
type tieVal struct {
	kind  tieKind
	scale int32
	n     int64
	u     uint64
	s     string
}

// tieOfArray sets v to valueAt(a, i).
func tieOfArray(a arrow.Array, i int, v *tieVal) {
	if a.IsNull(i) {
		*v = tieVal{}
		return
	}
	switch x := a.(type) {
	case *array.Int64:
		*v = tieVal{kind: tieInt, n: x.Value(i)}
	case *array.Timestamp:
		*v = tieVal{kind: tieInt, n: int64(x.Value(i))}
	case *array.String:
		*v = tieVal{kind: tieString, s: x.Value(i)}
	case *array.Int32:
		*v = tieVal{kind: tieInt, n: int64(x.Value(i))}
	case *array.Int16:
		*v = tieVal{kind: tieInt, n: int64(x.Value(i))}
	case *array.Date32:
		*v = tieVal{kind: tieDate, n: int64(x.Value(i))}
	case *array.Boolean:
		*v = tieVal{kind: tieBool, n: b2i(x.Value(i))}
	case *array.Float32:
		*v = tieVal{kind: tieFloat, n: int64(math.Float64bits(float64(x.Value(i))))}
	case *array.Float64:
		*v = tieVal{kind: tieFloat, n: int64(math.Float64bits(x.Value(i)))}
	case *array.Binary:
		*v = tieVal{kind: tieBinary, s: x.ValueString(i)}
	case *array.Decimal128:
		d := x.Value(i)
		*v = tieVal{kind: tieDecimal, scale: x.DataType().(*arrow.Decimal128Type).Scale, n: d.HighBits(), u: d.LowBits()}
	case *array.MonthDayNanoInterval:
		*v = intervalTie(x.Value(i))
	default:
		*v = tieVal{kind: tieText, s: a.ValueStr(i)}
	}
}

func intervalTie(v arrow.MonthDayNanoInterval) tieVal {
	return tieVal{kind: tieInterval, n: v.Nanoseconds, u: uint64(uint32(v.Months))<<32 | uint64(uint32(v.Days))}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// box is the value valueAt gives.
func (v *tieVal) box() any {
	switch v.kind {
	case tieNull:
		return nil
	case tieInt:
		return v.n
	case tieDate:
		return int32(v.n)
	case tieBool:
		return v.n == 1
	case tieFloat:
		return math.Float64frombits(uint64(v.n))
	case tieBinary:
		return append([]byte(nil), v.s...)
	case tieDecimal:
		return catalog.Decimal{Num: decimal128.New(v.n, v.u), Scale: v.scale}
	case tieInterval:
		return arrow.MonthDayNanoInterval{Months: int32(v.u >> 32), Days: int32(uint32(v.u)), Nanoseconds: v.n}
	}
	return strings.Clone(v.s)
}

// compareTie is compareSortValue(a.box(), b.box(), false, false).
func compareTie(a, b *tieVal) int {
	switch {
	case a.kind == tieNull && b.kind == tieNull:
		return 0
	case a.kind == tieNull:
		return 1
	case b.kind == tieNull:
		return -1
	case a.kind != b.kind || a.kind >= tieInterval:
		return compareValues(a.box(), b.box())
	}
	switch a.kind {
	case tieFloat:
		return compareFloats(math.Float64frombits(uint64(a.n)), math.Float64frombits(uint64(b.n)))
	case tieString, tieBinary:
		return strings.Compare(a.s, b.s)
	case tieDecimal:
		return decimal128.New(a.n, a.u).Cmp(decimal128.New(b.n, b.u))
	}
	return cmp.Compare(a.n, b.n)
}

// rowCursor reads the columns of a row encoded by rowEncoder in
// ascending order, each column's bytes skipped once.
type rowCursor struct {
	row string
	col int // the column at off
	off int
}

// at sets v to column c of the row of the given column types, as
// decodeTopKey would decode it.
func (cur *rowCursor) at(types []arrow.DataType, c int, v *tieVal) error {
	if c < cur.col {
		cur.col, cur.off = 0, 0
	}
	for {
		b := cur.row[cur.off:]
		if len(b) == 0 || cur.col >= len(types) {
			return fmt.Errorf("top-N row %x is truncated", cur.row)
		}
		t := types[cur.col]
		present := b[0] != encNull
		b = b[1:]
		n := 0
		if present {
			var err error
			if n, err = encodedLen(t, b); err != nil {
				return fmt.Errorf("top-N row %x: %w", cur.row, err)
			}
		}
		cur.off += 1 + n
		cur.col++
		if cur.col-1 < c {
			continue
		}
		if !present {
			*v = tieVal{}
			return nil
		}
		decodeTie(t, b[:n], v)
		return nil
	}
}

// encodedLen is the length of a value of type t that b, encoded by
// rowEncoder, starts with.
func encodedLen(t arrow.DataType, b string) (int, error) {
	n := 0
	switch t.ID() {
	case arrow.INT16, arrow.INT32, arrow.INT64, arrow.TIMESTAMP, arrow.FLOAT32, arrow.FLOAT64:
		n = 8
	case arrow.DATE32:
		n = 4
	case arrow.BOOL:
		n = 1
	case arrow.STRING, arrow.BINARY:
		l, w := binary.Uvarint([]byte(b[:min(len(b), binary.MaxVarintLen64)]))
		if w <= 0 || uint64(len(b)-w) < l {
			return 0, fmt.Errorf("truncated")
		}
		return w + int(l), nil
	case arrow.DECIMAL128, arrow.INTERVAL_MONTH_DAY_NANO:
		n = 16
	default:
		return 0, fmt.Errorf("a top-N row cannot hold a %s value", t)
	}
	if len(b) < n {
		return 0, fmt.Errorf("truncated")
	}
	return n, nil
}

// decodeTie sets v to b, a whole value of type t encoded by rowEncoder
// (encodedLen).
func decodeTie(t arrow.DataType, b string, v *tieVal) {
	u64 := func(b string) uint64 { return binary.BigEndian.Uint64([]byte(b[:8])) }
	u32 := func(b string) uint32 { return binary.BigEndian.Uint32([]byte(b[:4])) }
	switch t.ID() {
	case arrow.FLOAT32, arrow.FLOAT64:
		*v = tieVal{kind: tieFloat, n: int64(u64(b))}
	case arrow.DATE32:
		*v = tieVal{kind: tieDate, n: int64(int32(u32(b)))}
	case arrow.BOOL:
		*v = tieVal{kind: tieBool, n: b2i(b[0] == 1)}
	case arrow.STRING, arrow.BINARY:
		_, w := binary.Uvarint([]byte(b[:min(len(b), binary.MaxVarintLen64)]))
		*v = tieVal{kind: tieString, s: b[w:]}
		if t.ID() == arrow.BINARY {
			v.kind = tieBinary
		}
	case arrow.DECIMAL128:
		*v = tieVal{kind: tieDecimal, scale: t.(*arrow.Decimal128Type).Scale, n: int64(u64(b)), u: u64(b[8:])}
	case arrow.INTERVAL_MONTH_DAY_NANO:
		*v = intervalTie(arrow.MonthDayNanoInterval{Months: int32(u32(b)), Days: int32(u32(b[4:])), Nanoseconds: int64(u64(b[8:]))})
	default:
		// INT16, INT32, INT64, TIMESTAMP: encodedLen takes no other type.
		*v = tieVal{kind: tieInt, n: int64(u64(b))}
	}
}

// peers reports whether two rows tie in the ORDER BY (same rank).
func peers(a, b *topRow) bool { return a.order == b.order }

func compareSortValue(a, b any, desc, nullsFirst bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		if nullsFirst {
			return -1
		}
		return 1
	case b == nil:
		if nullsFirst {
			return 1
		}
		return -1
	}
	c := compareValues(a, b)
	if desc {
		c = -c
	}
	return c
}

// keep returns how many of a partition's sorted rows rank within n.
func (tn *topNState) keep(rows []*topRow) int {
	if int64(len(rows)) <= tn.n {
		return len(rows)
	}
	if tn.rowNumber {
		return int(tn.n)
	}
	if tn.denseRank {
		// DENSE_RANK: the rows of the first n peer groups.
		groups := 1
		for k := 1; k < len(rows); k++ {
			if !peers(rows[k-1], rows[k]) {
				if groups++; int64(groups) > tn.n {
					return k
				}
			}
		}
		return len(rows)
	}
	// RANK: rows tied with the n-th stay.
	k := int(tn.n)
	for k < len(rows) && peers(rows[k-1], rows[k]) {
		k++
	}
	return k
}

// full reports whether a partition of rows kept rows, whose last row is
// worst, admits no row ranked after worst: with ROW_NUMBER and RANK, when
// it holds n rows; with DENSE_RANK, when they make n peer groups (rows is
// nil when they are not in memory: then it is not known, and so false).
func (tn *topNState) full(count int, rows []*topRow) bool {
	if int64(count) < tn.n {
		return false
	}
	if !tn.denseRank {
		return true
	}
	if rows == nil {
		return false
	}
	groups := int64(1)
	for k := 1; k < len(rows); k++ {
		if !peers(rows[k-1], rows[k]) {
			groups++
		}
	}
	return groups >= tn.n
}

// rankOf returns the rank of each kept row.
func (tn *topNState) ranks(rows []*topRow) []int64 {
	out := make([]int64, len(rows))
	for i := range rows {
		switch {
		case tn.rowNumber || i == 0:
			out[i] = int64(i + 1)
		case peers(rows[i-1], rows[i]):
			out[i] = out[i-1]
		case tn.denseRank:
			out[i] = out[i-1] + 1
		default:
			out[i] = int64(i + 1)
		}
	}
	return out
}

// topNMemoryRows bounds the kept rows a top-N view holds in memory (the
// view's option top_n_state_rows). Deduplication holds none. Rows held
// cost their encoding when they outlive an epoch and the collector's scans,
// more than reading a cold partition back costs (Nexmark q19 ran 10-20%
// faster at 16K rows than at 256K).
const topNMemoryRows = 1 << 14

// topNBudget reads a view's top_n_state_rows option.
func topNBudget(rel *catalog.Relation) (int, error) {
	v, ok := rel.Options["top_n_state_rows"]
	if !ok {
		return topNMemoryRows, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, pgerror.New(pgerror.CodeInvalidParameterValue, "top_n_state_rows must be a non-negative integer, not %q", v)
	}
	return n, nil
}

// topNState is the runtime state of a top-N view.
type topNState struct {
	plan      *planner.TopNPlan
	n         int64
	rowNumber bool
	// denseRank is DENSE_RANK (neither: RANK).
	denseRank bool
	ncols     int              // input columns
	inTypes   []arrow.DataType // of the input columns
	keyTypes  []arrow.DataType // of the partition values
	// keyCols are, per partition value, the input column it is (-1: an
	// expression of them).
	keyCols []int
	// ties are the columns compareTop orders tied rows by (tieCols).
	ties  []int
	parts map[string]*topPart
	// cold has every partition not in parts whose rows are only in the
	// state table; it may also hold stale entries of partitions in parts.
	cold *coldTable
	// inMem counts the rows of partitions in memory.
	inMem int
	// epochs are applyDedup's tables of the epoch's best row per
	// partition, one per worker, kept for their memory.
	epochs []*coldTable
	// keyChunks are the epoch's encoded partition keys (epochKeys),
	// kept for their memory.
	keyChunks []keyChunk
}

func newTopNState(tp *planner.TopNPlan, input []planner.Column) *topNState {
	tn := &topNState{plan: tp, n: tp.N, rowNumber: tp.Call.Name == "row_number", denseRank: tp.Call.Name == "dense_rank", ncols: len(input),
		parts: map[string]*topPart{}, cold: newColdTable()}
	for _, p := range tp.Call.PartitionBy {
		tn.keyTypes = append(tn.keyTypes, catalog.Field("", p.Type(), true).Type)
		col := -1
		if r, ok := p.(*planner.ColRef); ok {
			col = r.Idx
		}
		tn.keyCols = append(tn.keyCols, col)
	}
	for _, c := range input {
		tn.inTypes = append(tn.inTypes, catalog.Field("", c.Type, true).Type)
	}
	tn.ties = tieCols(tp, input, tn.keyCols)
	return tn
}

// dedup reports whether the view keeps one row per partition by
// ROW_NUMBER, which never needs a partition's rows to rank a new row
// unless it ties.
func (tn *topNState) dedup() bool { return tn.n == 1 && tn.rowNumber }

// offer ranks a new row into its partition and returns the first
// position it changed, or -1.
func (tn *topNState) offer(p *topPart, r *topRow) int {
	rows := p.rows
	if int64(len(rows)) >= tn.n && tn.rowNumber && tn.compareTop(r, rows[len(rows)-1]) >= 0 {
		return -1
	}
	// The first row r sorts before; ties on the ORDER BY values are rare.
	i, hi := 0, len(rows)
	for i < hi {
		m := int(uint(i+hi) >> 1)
		c := strings.Compare(r.order, rows[m].order)
		if c == 0 {
			c = tn.compareTop(r, rows[m])
		}
		if c < 0 {
			hi = m
		} else {
			i = m + 1
		}
	}
	rows = append(rows, nil)
	copy(rows[i+1:], rows[i:])
	rows[i] = r
	k := tn.keep(rows)
	for j := k; j < len(rows); j++ {
		rows[j] = nil
	}
	p.rows = rows[:k]
	if i >= k {
		return -1
	}
	if !tn.rowNumber && i > 0 && peers(rows[i-1], rows[i]) {
		// The ranks of the rows tied with it stay; the position of
		// its first peer is where RANK's rows may have been dropped.
		for i > 0 && peers(rows[i-1], rows[i]) {
			i--
		}
	}
	return i
}

// topNStateInResult reports whether a top-N view keeps its state in its
// own rows: its plan allows it (planner.TopNPlan.ResultCols) and its table
// is keyed for it. A view created before keeps a state table.
func topNStateInResult(vp *planner.ViewPlan, result *widecol.Table) bool {
	tp := vp.TopN
	return tp != nil && tp.ResultCols != nil && len(result.Clustering) == 1 && len(result.PartitionKey) == len(tp.ResultKeys)-1
}

// stateKey is the state table's partition key of a top-N partition.
func stateKey(p *topPart) []any {
	if len(p.keys) == 0 {
		return []any{int64(0)}
	}
	return p.keys
}

// loadPart reads a cold partition's rows back from the state table and
// holds it in memory.
func (j *viewJob) loadPart(ctx context.Context, key string, stored int32) (*topPart, error) {
	p, err := j.readPart(ctx, key, stored)
	if err != nil {
		return nil, err
	}
	j.topN.inMem += len(p.rows)
	j.topN.parts[key] = p
	return p, nil
}

// readPart reads a cold partition's rows back from the state table.
func (j *viewJob) readPart(ctx context.Context, key string, stored int32) (*topPart, error) {
	tn := j.topN
	keys, err := decodeTopKey(key, tn.keyTypes)
	if err != nil {
		return nil, err
	}
	p := &topPart{key: key, keys: keys, stored: int(stored)}
	rows, err := j.readTopRows(ctx, widecol.Range{Partition: stateKey(p)}, nil)
	if err != nil {
		return nil, err
	}
	if len(rows) != p.stored {
		return nil, fmt.Errorf("view %q: top-N partition holds %d rows in the store, want %d", j.rel.Name, len(rows), p.stored)
	}
	p.rows = rows
	return p, nil
}

// evictParts makes the least recently changed partitions cold until at
// most half the budget is left in memory.
func (tn *topNState) evictParts(budget int) {
	if budget == 0 {
		// Everything goes cold (deduplication): no order to find.
		all := make([]*topPart, 0, len(tn.parts))
		for _, p := range tn.parts {
			all = append(all, p)
		}
		tn.toColdAll(all)
		clear(tn.parts)
		tn.inMem = 0
		return
	}
	if tn.inMem <= budget {
		return
	}
	loaded := make([]*topPart, 0, len(tn.parts))
	for _, p := range tn.parts {
		loaded = append(loaded, p)
	}
	sort.Slice(loaded, func(a, b int) bool { return loaded[a].used < loaded[b].used })
	n := 0
	for _, p := range loaded {
		if tn.inMem <= budget/2 {
			break
		}
		delete(tn.parts, p.key)
		tn.inMem -= len(p.rows)
		n++
	}
	tn.toColdAll(loaded[:n])
}

// toCold records a partition, of key hash h, in the cold table.
func (tn *topNState) toCold(p *topPart, h uint64) {
	key := unsafe.Slice(unsafe.StringData(p.key), len(p.key)) // read only
	_, _, _, slot := tn.cold.LookupHashed(key, h)
	if len(p.rows) > 0 {
		tn.cold.Put(slot, key, []byte(p.rows[len(p.rows)-1].order), int32(len(p.rows)))
	} else if slot.at >= 0 {
		tn.cold.Delete(key)
	}
}

// toColdAll records partitions in the cold table, those of different
// shards on different cores when they are many.
func (tn *topNState) toColdAll(parts []*topPart) {
	eachShare(len(parts), func(w, workers int) {
		for _, p := range parts {
			h := tn.cold.HashString(p.key)
			if workers == 1 || ShardOf(h)%workers == w {
				tn.toCold(p, h)
			}
		}
	})
}

// eachShare runs share(w, workers) for w of 0..workers-1, each on a
// goroutine of its own when the n items of work are enough for more
// than one.
func eachShare(n int, share func(w, workers int)) {
	workers := splitWorkers(int64(n) * 2)
	if workers < 2 {
		share(0, 1)
		return
	}
	inWorkers(workers, func(w int) { share(w, workers) })
}

// evalColumns evaluates exprs over b, the caller releasing the arrays.
func evalColumns(env *exec.Env, exprs []planner.Expr, b arrow.RecordBatch) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(exprs))
	for _, e := range exprs {
		a, err := eval.Eval(&env.Env, e, b)
		if err != nil {
			releaseAll2(out)
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// topEncoders evaluates the partition and ORDER BY values of b and
// returns their encoders; release frees the arrays.
func (j *viewJob) topEncoders(b arrow.RecordBatch) (keys, order []rowEnc, pks []arrow.Array, release func(), err error) {
	tn := j.topN
	env := j.env(nil)
	pks, err = evalColumns(env, tn.plan.Call.PartitionBy, b)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	orderExprs := make([]planner.Expr, len(tn.plan.Call.OrderBy))
	for i, k := range tn.plan.Call.OrderBy {
		orderExprs[i] = k.Expr
	}
	oks, err := evalColumns(env, orderExprs, b)
	if err != nil {
		releaseAll2(pks)
		return nil, nil, nil, nil, err
	}
	release = func() {
		releaseAll2(pks)
		releaseAll2(oks)
	}
	for _, a := range pks {
		e, err := keyEncoder(a)
		if err != nil {
			release()
			return nil, nil, nil, nil, pgerror.New(pgerror.CodeFeatureNotSupported, "%v", err)
		}
		keys = append(keys, e)
	}
	for c, a := range oks {
		k := tn.plan.Call.OrderBy[c]
		order = append(order, orderEncoder(a, k.Desc, k.NullsFirst))
	}
	return keys, order, pks, release, nil
}

// encodeWith appends row i's values encoded by encs to dst.
func encodeWith(dst []byte, encs []rowEnc, i int) []byte {
	for _, e := range encs {
		dst = e(dst, i)
	}
	return dst
}

// applyTopN ranks the epoch's input rows and rewrites the partitions they
// changed, in the state table and in the view's rows.
//
// With EMIT ON WINDOW CLOSE, rows of windows the watermark had passed
// before the epoch are late; the view rows of a window are written once the
// watermark passes its end, and its state is then freed.
func (j *viewJob) applyTopN(ctx context.Context, batch *widecol.Batch, st exec.Storage, wmBefore, wmAfter int64) (int64, int64, error) {
	vp := j.plan
	var res []arrow.RecordBatch
	if ms, ok := st.(*memStorage); ok && j.splitInput(st) >= 2 {
		r, err := j.runSplit(ctx, vp.Input, ms)
		if err != nil {
			return 0, 0, err
		}
		res = r
	} else {
		op, err := exec.Build(j.env(st), vp.Input)
		if err != nil {
			return 0, 0, err
		}
		if res, err = exec.Collect(ctx, op); err != nil {
			return 0, 0, err
		}
	}
	defer releaseAll(res)
	if j.topN == nil {
		j.topN = newTopNState(vp.TopN, vp.Input.Columns())
	}
	tn := j.topN
	if tn.dedup() && vp.TopN.WindowKey < 0 && len(tn.parts) == 0 {
		return j.applyDedup(ctx, batch, res)
	}
	encs := make([]topEnc, len(res))
	var rowsIn int64
	for bi, b := range res {
		kenc, oenc, pks, release, err := j.topEncoders(b)
		if err != nil {
			return 0, 0, err
		}
		defer release()
		encs[bi] = topEnc{kenc, oenc, pks}
		rowsIn += b.NumRows()
	}
	workers := max(1, min(splitWorkers(rowsIn), coldShards))
	ek, err := tn.epochKeys(ctx, res, func(bi int) []rowEnc { return encs[bi].keys }, rowsIn, workers)
	if err != nil {
		return 0, 0, err
	}
	shares := make([]topNShare, workers)
	if workers == 1 {
		shares[0] = j.topNShare(ctx, res, encs, ek, wmBefore, 0)
	} else {
		inWorkers(workers, func(w int) { shares[w] = j.topNShare(ctx, res, encs, ek, wmBefore, w) })
	}
	var late int64
	lists := make([][]*topPart, 0, workers)
	for _, sh := range shares {
		if sh.err != nil {
			return 0, 0, sh.err
		}
		for k, p := range sh.added {
			tn.parts[k] = p
		}
		tn.inMem += sh.inMem
		late += sh.late
		lists = append(lists, sh.touched)
	}
	touched := mergeParts(lists)
	mode := topNRewrite
	if vp.TopN.WindowKey >= 0 {
		mode = topNStateOnly
	} else if len(touched) == 0 {
		return 0, 0, nil
	}
	n, err := j.writeTopNSplit(ctx, batch, touched, mode)
	if err != nil {
		return 0, 0, err
	}
	if mode == topNStateOnly && wmAfter != windows.NoWatermark {
		// Windows the watermark closed: their rows, final.
		var closing []*topPart
		for _, p := range tn.parts {
			if end, ok := tn.windowEnd(p.keys); ok && windows.IsLate(end, wmAfter) {
				closing = append(closing, p)
			}
		}
		var shut []string
		var shutRows []int32
		err := tn.cold.Each(func(k, _ []byte, stored int32) error {
			if _, hot := tn.parts[string(k)]; hot {
				return nil
			}
			keys, err := decodeTopKey(string(k), tn.keyTypes)
			if err != nil {
				return err
			}
			if end, ok := tn.windowEnd(keys); ok && windows.IsLate(end, wmAfter) {
				shut = append(shut, string(k))
				shutRows = append(shutRows, stored)
			}
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
		for i, k := range shut {
			p, err := j.loadPart(ctx, k, shutRows[i])
			if err != nil {
				return 0, 0, err
			}
			closing = append(closing, p)
		}
		sort.Slice(closing, func(a, b int) bool { return closing[a].key < closing[b].key })
		if n, err = j.writeTopN(ctx, batch, closing, topNClose); err != nil {
			return 0, 0, err
		}
		for _, p := range closing {
			tn.inMem -= len(p.rows)
			delete(tn.parts, p.key)
			tn.cold.Delete([]byte(p.key))
		}
	}
	// The partitions changed in this epoch are cold or hold their rows
	// themselves once the epoch's input is released.
	budget, err := topNBudget(j.rel)
	if err != nil {
		return 0, 0, err
	}
	if tn.dedup() {
		budget = 0
	}
	tn.evictParts(budget)
	if err := tn.keepRows(touched); err != nil {
		return 0, 0, err
	}
	return n, late, nil
}

// keepRows copies the new rows of the partitions changed in an epoch that
// stay in memory out of the epoch's input and row blocks (rowSlab), on
// several cores when they are many.
func (tn *topNState) keepRows(touched []*topPart) error {
	errs := make([]error, maxSplit)
	eachShare(len(touched), func(w, workers int) {
		re := rowEncoders{}
		for i := w; i < len(touched); i += workers {
			p := touched[i]
			if tn.parts[p.key] != p {
				continue
			}
			for k, r := range p.rows {
				if r.src == nil {
					continue
				}
				if err := re.keep(r); err != nil {
					errs[w] = err
					return
				}
				p.rows[k] = &topRow{order: strings.Clone(r.order), row: r.row}
			}
		}
	})
	return errors.Join(errs...)
}

// windowEnd is the end of a partition's window (EMIT ON WINDOW CLOSE).
func (tn *topNState) windowEnd(keys []any) (int64, bool) {
	if tn.plan.WindowKey < 0 {
		return 0, false
	}
	v, ok := keys[tn.plan.WindowKey].(int64)
	return v + tn.plan.WindowSize, ok
}

// Modes of writeTopN.
const (
	topNRewrite   = iota // state and view rows of changed partitions
	topNStateOnly        // state rows only (EMIT ON WINDOW CLOSE, window open)
	topNClose            // view rows written, state rows deleted (window closed)
)

// writeTopN writes the rows of the given partitions from their first
// changed position on, as mode says.
func (j *viewJob) writeTopN(ctx context.Context, batch *widecol.Batch, parts []*topPart, mode int) (int64, error) {
	vp := j.plan
	tn := j.topN
	rel := vp.TopN.Rel
	inCols := vp.Input.Columns()
	relB := array.NewRecordBuilder(j.eng.alloc, rel.Schema())
	defer relB.Release()
	stB := array.NewRecordBuilder(j.eng.alloc, j.state.Schema)
	defer stB.Release()
	np := len(vp.TopN.Call.PartitionBy)
	nk := j.topNKeyCols()
	// With the state in the view's rows, the view's rows are all there
	// is to write.
	inResult := j.state == j.result
	relCols := make([]array.Builder, len(inCols))
	stCols := make([]array.Builder, len(inCols))
	relApp := make([]columnAppender, len(inCols))
	stApp := make([]columnAppender, len(inCols))
	for c := range inCols {
		relCols[c] = relB.Field(c)
		stCols[c] = stB.Field(nk + 1 + c)
		relApp[c] = newColumnAppender(relCols[c])
		stApp[c] = newColumnAppender(stCols[c])
	}
	// When the view's rows are the kept rows with their rank, partition
	// values and position, they are written cell by cell from where the
	// rows are, without a record built first.
	var direct *widecol.RowWriter
	if from := vp.TopN.ViewFrom; inResult && mode == topNRewrite && len(from) == len(j.result.Schema.Fields()) {
		var err error
		if direct, err = batch.Rows(j.result, nil); err != nil {
			return 0, err
		}
	}
	var written int64
	for _, p := range parts {
		if mode == topNClose {
			p.from = 0
		}
		if p.keys == nil && (direct == nil || p.stored > len(p.rows)) {
			// A partition whose rows give its values (topPart.keys).
			keys, err := decodeTopKey(p.key, tn.keyTypes)
			if err != nil {
				return 0, err
			}
			p.keys = keys
		}
		// Positions no longer used, and those about to be rewritten
		// when the rows above the ranking may not keep every row.
		for pos := p.from; pos < p.stored; pos++ {
			if mode == topNRewrite && (pos >= len(p.rows) || !vp.TopN.PostKeepsAll) {
				key := append(append([]any(nil), p.keys...), int64(pos))
				if err := batch.DeleteRow(j.result, key); err != nil {
					return 0, err
				}
			}
			if !inResult && (pos >= len(p.rows) || mode == topNClose) {
				if err := batch.DeleteRow(j.state, append(append([]any(nil), stateKey(p)...), int64(pos))); err != nil {
					return 0, err
				}
			}
		}
		ranks := tn.ranks(p.rows)
		for pos := p.from; pos < len(p.rows); pos++ {
			r := p.rows[pos]
			if direct != nil {
				if err := j.writeTopRow(direct, p, r, ranks[pos], pos); err != nil {
					return 0, err
				}
				written++
				continue
			}
			if r.src == nil {
				if err := appendEncodedRow(relCols, r.row, tn.inTypes); err != nil {
					return 0, err
				}
				if mode != topNClose && !inResult {
					if err := appendEncodedRow(stCols, r.row, tn.inTypes); err != nil {
						return 0, err
					}
				}
			}
			for c := range inCols {
				if r.src == nil {
					break
				}
				if err := relApp[c](r.src.Column(c), r.idx); err != nil {
					return 0, err
				}
				if mode != topNClose && !inResult {
					if err := stApp[c](r.src.Column(c), r.idx); err != nil {
						return 0, err
					}
				}
			}
			relB.Field(len(inCols)).(*array.Int64Builder).Append(ranks[pos])
			for c, v := range p.keys {
				t := vp.TopN.Call.PartitionBy[c].Type()
				if err := appendValue(relB.Field(len(inCols)+1+c), t, v); err != nil {
					return 0, err
				}
				if mode != topNClose && !inResult {
					if err := appendValue(stB.Field(c), t, v); err != nil {
						return 0, err
					}
				}
			}
			relB.Field(len(inCols) + 1 + np).(*array.Int64Builder).Append(int64(pos))
			if mode != topNClose && !inResult {
				if np == 0 {
					stB.Field(0).(*array.Int64Builder).Append(0)
				}
				stB.Field(nk).(*array.Int64Builder).Append(int64(pos))
			}
		}
		p.stored = len(p.rows)
	}
	if mode != topNClose && !inResult {
		srec := stB.NewRecordBatch()
		err := batch.Upsert(j.state, srec, nil)
		srec.Release()
		if err != nil {
			return 0, err
		}
	}
	if mode == topNStateOnly {
		return 0, nil
	}
	if direct != nil {
		return written, nil
	}
	kept := relB.NewRecordBatch()
	defer kept.Release()
	return j.upsertPlanRows(ctx, batch, vp.Post, rel, kept)
}

// writeTopRow writes the view row of kept row r of partition p, at
// position pos with rank rank (planner.TopNPlan.ViewFrom).
func (j *viewJob) writeTopRow(w *widecol.RowWriter, p *topPart, r *topRow, rank int64, pos int) error {
	tn := j.topN
	nin, np := tn.ncols, len(tn.keyTypes)
	var vals []any
	if r.src == nil {
		var err error
		if vals, err = decodeTopKey(r.row, tn.inTypes); err != nil {
			return err
		}
	}
	for vc, src := range j.plan.TopN.ViewFrom {
		var err error
		switch {
		case src < nin && r.src != nil:
			err = w.FromArray(vc, r.src.Column(src), r.idx)
		case src < nin:
			err = w.Set(vc, storeValue(vals[src]))
		case src == nin:
			err = w.SetInt64(vc, rank)
		case src <= nin+np && r.src != nil && tn.keyCols[src-nin-1] >= 0:
			err = w.FromArray(vc, r.src.Column(tn.keyCols[src-nin-1]), r.idx)
		case src <= nin+np:
			if p.keys == nil {
				if p.keys, err = decodeTopKey(p.key, tn.keyTypes); err != nil {
					return err
				}
			}
			err = w.Set(vc, storeValue(p.keys[src-nin-1]))
		default:
			err = w.SetInt64(vc, int64(pos))
		}
		if err != nil {
			return err
		}
	}
	return w.Write()
}

// storeValue is v, a value as valueAt gives it, as the store takes it.
func storeValue(v any) any {
	if d, ok := v.(catalog.Decimal); ok {
		return d.Num
	}
	return v
}

// writeTopNSplit is writeTopN on several cores when the partitions have
// many rows to write: each worker writes a share of the partitions into a
// batch of its own, and batch absorbs the others' in order. Shares hold
// different partitions, so their keys never overlap.
func (j *viewJob) writeTopNSplit(ctx context.Context, batch *widecol.Batch, parts []*topPart, mode int) (int64, error) {
	var rows int64
	for _, p := range parts {
		rows += int64(max(len(p.rows), p.stored) - p.from)
	}
	n := splitWorkers(rows)
	if n < 2 || len(parts) < n || j.eng.fw.remoteTask(j.rel.Name) != nil {
		return j.writeTopN(ctx, batch, parts, mode)
	}
	shares := make([][]*topPart, 0, n)
	per, acc, start := (rows+int64(n)-1)/int64(n), int64(0), 0
	for i, p := range parts {
		acc += int64(max(len(p.rows), p.stored) - p.from)
		if acc >= per && len(shares) < n-1 {
			shares = append(shares, parts[start:i+1])
			start, acc = i+1, 0
		}
	}
	if start < len(parts) {
		shares = append(shares, parts[start:])
	}
	return j.writeShares(batch, len(shares), func(w int, b *widecol.Batch) (int64, error) {
		return j.writeTopN(ctx, b, shares[w], mode)
	})
}

// writeShares runs write for shares 0..n-1 of an epoch's writes on as many
// goroutines, share 0 into batch and each other into a batch of its own,
// which batch then absorbs in share order. It returns the rows written.
func (j *viewJob) writeShares(batch *widecol.Batch, n int, write func(w int, b *widecol.Batch) (int64, error)) (int64, error) {
	batches := make([]*widecol.Batch, n)
	batches[0] = batch
	for w := 1; w < n; w++ {
		batches[w] = j.eng.store.NewBatchSize(j.batchHint / n)
	}
	counts := make([]int64, n)
	errs := make([]error, n)
	inWorkers(n, func(w int) { counts[w], errs[w] = write(w, batches[w]) })
	var total int64
	var err error
	for w := range n {
		total += counts[w]
		if err == nil {
			err = errs[w]
		}
		if w > 0 {
			if err == nil {
				err = batch.Absorb(batches[w])
			} else {
				batches[w].Close()
			}
		}
	}
	return total, err
}

// keyCols is the number of leading key columns of the state table
// before _pos.
func (j *viewJob) topNKeyCols() int {
	return max(len(j.plan.TopN.Call.PartitionBy), 1)
}

// readTopRows reads the kept rows in a range of the state table, in key
// order; with each, if not nil, it calls fn with the row's encoded
// partition values, position and encoded ORDER BY values instead of
// collecting it.
func (j *viewJob) readTopRows(ctx context.Context, rg widecol.Range, fn func(key string, pos int64, order string)) ([]*topRow, error) {
	// The last epoch's rows may still be committing.
	if err := j.awaitBehind(); err != nil {
		return nil, err
	}
	vp := j.plan
	nk := j.topNKeyCols()
	np := len(vp.TopN.Call.PartitionBy)
	inCols := vp.Input.Columns()
	fields := make([]arrow.Field, len(inCols))
	for i, c := range inCols {
		fields[i] = catalog.Field(c.Name, c.Type, true)
	}
	inSchema := arrow.NewSchema(fields, nil)
	var out []*topRow
	var kb, ob []byte
	re := rowEncoders{}
	// Where the partition values, position and input columns are in the
	// state rows.
	keyCols := make([]int, np+1)
	for i := range keyCols {
		keyCols[i] = i
	}
	keyCols[np] = nk
	var valCols []int
	if j.state == j.result {
		keyCols, valCols = vp.TopN.ResultKeys, vp.TopN.ResultCols
	}
	err := j.eng.scanTable(ctx, j.state, rg, nil, func(b arrow.RecordBatch) error {
		cols := b.Columns()[nk+1:]
		if valCols != nil {
			cols = make([]arrow.Array, len(valCols))
			for c, rc := range valCols {
				cols[c] = b.Column(rc)
			}
		}
		in := array.NewRecordBatch(inSchema, cols, b.NumRows())
		defer in.Release()
		_, oenc, _, release, err := j.topEncoders(in)
		if err != nil {
			return err
		}
		defer release()
		kenc := make([]rowEnc, np)
		for c := range kenc {
			if kenc[c], err = keyEncoder(b.Column(keyCols[c])); err != nil {
				return err
			}
		}
		pos := b.Column(keyCols[np]).(*array.Int64)
		for i := 0; i < int(b.NumRows()); i++ {
			ob = encodeWith(ob[:0], oenc, i)
			if fn != nil {
				kb = encodeWith(kb[:0], kenc, i)
				fn(string(kb), pos.Value(i), string(ob))
				continue
			}
			r := &topRow{order: string(ob), src: in, idx: i}
			if err := re.keep(r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// loadTopN reads a top-N view's partitions back from its state table,
// all cold: each partition's size and worst row.
func (j *viewJob) loadTopN(ctx context.Context) error {
	tn := newTopNState(j.plan.TopN, j.plan.Input.Columns())
	j.topN = tn
	_, err := j.readTopRows(ctx, widecol.Range{}, func(key string, pos int64, order string) {
		// Rows come in position order: the last is the worst.
		tn.cold.Set([]byte(key), []byte(order), int32(pos+1))
	})
	return err
}

// applyDedup is applyTopN for a deduplication (ROW_NUMBER() <= 1, no
// window to close), whose partitions are all cold between epochs. It
// first keeps each partition's best row of the epoch in a table of its own
// (encoded partition -> best ORDER BY values and the row), then compares
// each with the partition's kept row: only the rows that win are held as
// partitions and written. Ties on the ORDER BY values, decided by the
// other columns, take the general path. Partitions are split among
// workers by the cold table's shards, each worker keeping the shards of
// its share (ShardOf(hash) % workers).
func (j *viewJob) applyDedup(ctx context.Context, batch *widecol.Batch, res []arrow.RecordBatch) (int64, int64, error) {
	tn := j.topN
	var rowsIn int64
	type encs struct{ keys, order []rowEnc }
	enc := make([]encs, len(res))
	for bi, b := range res {
		kenc, oenc, _, release, err := j.topEncoders(b)
		if err != nil {
			return 0, 0, err
		}
		defer release()
		enc[bi] = encs{kenc, oenc}
		rowsIn += b.NumRows()
	}
	workers := max(1, min(splitWorkers(rowsIn), coldShards))
	for len(tn.epochs) < workers {
		tn.epochs = append(tn.epochs, newColdTableSeed(tn.cold.seed))
	}
	ek, err := tn.epochKeys(ctx, res, func(bi int) []rowEnc { return enc[bi].keys }, rowsIn, workers)
	if err != nil {
		return 0, 0, err
	}
	outs := make([]dedupShare, workers)
	inWorkers(workers, func(w int) {
		outs[w] = j.dedupShare(ctx, res, func(bi int) []rowEnc { return enc[bi].order }, ek, w)
	})
	lists := make([][]*topPart, 0, workers+1)
	var ties []*topPart
	for _, o := range outs {
		if o.err != nil {
			return 0, 0, o.err
		}
		lists = append(lists, o.touched)
	}
	// Ties with a kept row: rank them with that row's columns.
	for _, o := range outs {
		for _, t := range o.ties {
			p, err := j.loadPart(ctx, t.key, t.stored)
			if err != nil {
				return 0, 0, err
			}
			before := len(p.rows)
			at := tn.offer(p, t.row)
			tn.inMem += len(p.rows) - before
			if at >= 0 {
				p.used, p.from = j.epoch+1, at
				ties = append(ties, p)
			}
		}
	}
	sortParts(ties)
	touched := mergeParts(append(lists, ties))
	if len(touched) == 0 {
		return 0, 0, nil
	}
	n, err := j.writeTopNSplit(ctx, batch, touched, topNRewrite)
	if err != nil {
		return 0, 0, err
	}
	// Partitions read back for a tie go cold again.
	tn.evictParts(0)
	return n, 0, nil
}

// dedupShare is what one worker of applyDedup found: the partitions whose
// new row wins, sorted (sortParts), and the rows tied with a kept row.
type dedupShare struct {
	touched []*topPart
	ties    []dedupTie
	err     error
}

// dedupTie is a new row tied on the ORDER BY with its partition's kept row.
type dedupTie struct {
	key    string
	stored int32
	row    *topRow
}

// dedupShare does applyDedup's work for the partitions of worker w's
// shards (epochKeys), on its own epoch table.
func (j *viewJob) dedupShare(ctx context.Context, res []arrow.RecordBatch, orderEnc func(bi int) []rowEnc, ek *epochKeys, w int) dedupShare {
	tn := j.topN
	epoch := j.epoch + 1
	best := tn.epochs[w]
	best.Reset()
	// The epoch's best row of each partition, and its key's hash.
	type at struct {
		b, i int32
		h    uint64
	}
	var rows []at
	var ob []byte
	row := func(c at, order []byte) *topRow {
		return &topRow{order: string(order), src: res[c.b], idx: int(c.i)}
	}
	err := ek.each(ctx, w, func(bi, i int, kb []byte, h uint64) error {
		ob = encodeWith(ob[:0], orderEnc(bi), i)
		order, idx, ok, slot := best.LookupHashed(kb, h)
		if ok {
			c := bytes.Compare(ob, order)
			if c == 0 {
				c = tn.compareTop(row(at{int32(bi), int32(i), h}, ob), row(rows[idx], order))
			}
			if c >= 0 {
				return nil
			}
			rows[idx] = at{int32(bi), int32(i), h}
			best.Put(slot, kb, ob, idx)
			return nil
		}
		best.Put(slot, kb, ob, int32(len(rows)))
		rows = append(rows, at{int32(bi), int32(i), h})
		return nil
	})
	if err != nil {
		return dedupShare{err: err}
	}
	var out dedupShare
	// A winner's partition values are read from its row when the view's
	// rows are written from the rows and hold them (writeTopRow).
	fromRow := j.plan.TopN.ViewFrom != nil && j.state == j.result && !slices.Contains(tn.keyCols, -1)
	// The epoch's partitions and rows are allocated together, for
	// writeTopN to read them from few places.
	parts := make([]topPart, 0, best.Len())
	kept := make([]topRow, 0, best.Len())
	ptrs := make([]*topRow, 0, best.Len())
	out.err = best.Each(func(key, order []byte, idx int32) error {
		worst, stored, ok, slot := tn.cold.LookupHashed(key, rows[idx].h)
		if ok && (stored != 1 || bytes.Equal(order, worst)) {
			out.ties = append(out.ties, dedupTie{key: string(key), stored: stored, row: row(rows[idx], order)})
			return nil
		}
		if ok && bytes.Compare(order, worst) > 0 {
			return nil
		}
		k := string(key)
		var keys []any
		if !fromRow {
			var err error
			if keys, err = decodeTopKey(k, tn.keyTypes); err != nil {
				return err
			}
		}
		c := rows[idx]
		kept = append(kept, topRow{order: string(order), src: res[c.b], idx: int(c.i)})
		ptrs = append(ptrs, &kept[len(kept)-1])
		parts = append(parts, topPart{key: k, keys: keys, rows: ptrs[len(ptrs)-1 : len(ptrs) : len(ptrs)], used: epoch})
		p := &parts[len(parts)-1]
		if ok {
			p.stored = int(stored)
		}
		tn.cold.Put(slot, key, order, 1)
		out.touched = append(out.touched, p)
		return nil
	})
	sortParts(out.touched)
	return out
}

// topEnc are the encoders of an epoch input batch's partition and ORDER BY
// values, and its partition values.
type topEnc struct {
	keys, order []rowEnc
	pks         []arrow.Array
}

// epochKeys are the encoded partition keys of an epoch's input rows and
// their hashes (coldTable.Hash), which decide the worker of each row:
// ShardOf(hash) % workers. With several workers the rows are encoded and
// hashed once, split among them by row ranges, rather than by every
// worker to find its own; with one, each row is encoded as it is walked.
type epochKeys struct {
	res     []arrow.RecordBatch
	enc     func(bi int) []rowEnc
	cold    *coldTable
	workers int
	chunks  []keyChunk // with several workers, in input order
}

// keyChunk holds the keys of rows lo..hi-1 of input batch bi.
type keyChunk struct {
	bi, lo, hi int
	buf        []byte   // the keys, one after another
	ends       []uint32 // where each row's key ends in buf
	hash       []uint64
	owner      []uint8 // each row's worker
}

// keyChunkRows bounds a keyChunk's rows, for the workers to share the
// chunks evenly.
const keyChunkRows = 1 << 14

// keyChunksKept bounds the keyChunks a top-N view keeps between epochs.
const keyChunksKept = 64

// epochKeys returns the keys of the rows of res, of which there are
// rows, encoded by enc, for workers workers.
func (tn *topNState) epochKeys(ctx context.Context, res []arrow.RecordBatch, enc func(bi int) []rowEnc, rows int64, workers int) (*epochKeys, error) {
	ek := &epochKeys{res: res, enc: enc, cold: tn.cold, workers: workers}
	if workers == 1 {
		return ek, nil
	}
	per := int(min(keyChunkRows, max(1024, rows/int64(4*workers))))
	chunks := tn.keyChunks[:0]
	for bi, b := range res {
		for lo := 0; lo < int(b.NumRows()); lo += per {
			if len(chunks) < cap(chunks) {
				chunks = chunks[:len(chunks)+1]
			} else {
				chunks = append(chunks, keyChunk{})
			}
			ch := &chunks[len(chunks)-1]
			ch.bi, ch.lo, ch.hi = bi, lo, min(lo+per, int(b.NumRows()))
		}
	}
	ek.chunks = chunks
	// The buffers of an epoch of up to keyChunksKept chunks are kept for
	// the next; those of a larger one are not held on to.
	if len(chunks) <= keyChunksKept {
		tn.keyChunks = chunks
	} else {
		tn.keyChunks = nil
	}
	var next atomic.Int64
	errs := make([]error, workers)
	inWorkers(workers, func(w int) {
		for {
			c := int(next.Add(1) - 1)
			if c >= len(chunks) {
				return
			}
			if errs[w] = ctx.Err(); errs[w] != nil {
				return
			}
			ek.fill(&chunks[c])
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ek, nil
}

// fill encodes and hashes the keys of a chunk's rows.
func (ek *epochKeys) fill(ch *keyChunk) {
	kenc := ek.enc(ch.bi)
	n := ch.hi - ch.lo
	buf := ch.buf[:0]
	ends, hash, owner := slices.Grow(ch.ends[:0], n), slices.Grow(ch.hash[:0], n), slices.Grow(ch.owner[:0], n)
	for i := ch.lo; i < ch.hi; i++ {
		at := len(buf)
		buf = encodeWith(buf, kenc, i)
		h := ek.cold.Hash(buf[at:])
		ends = append(ends, uint32(len(buf)))
		hash = append(hash, h)
		owner = append(owner, uint8(ShardOf(h)%ek.workers))
	}
	ch.buf, ch.ends, ch.hash, ch.owner = buf, ends, hash, owner
}

// each calls fn with the rows of worker w in input order: each row's
// batch, index, encoded partition key (valid during the call) and its
// hash. It stops at fn's first error.
func (ek *epochKeys) each(ctx context.Context, w int, fn func(bi, i int, key []byte, h uint64) error) error {
	if ek.workers == 1 {
		var kb []byte
		for bi, b := range ek.res {
			if err := ctx.Err(); err != nil {
				return err
			}
			kenc := ek.enc(bi)
			for i := 0; i < int(b.NumRows()); i++ {
				kb = encodeWith(kb[:0], kenc, i)
				if err := fn(bi, i, kb, ek.cold.Hash(kb)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for c := range ek.chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		ch := &ek.chunks[c]
		var start uint32
		for k, o := range ch.owner {
			end := ch.ends[k]
			if int(o) == w {
				if err := fn(ch.bi, ch.lo+k, ch.buf[start:end:end], ch.hash[k]); err != nil {
					return err
				}
			}
			start = end
		}
	}
	return nil
}

// topNShare is what one worker of applyTopN found: the partitions it
// changed, sorted (sortParts), those it created or read back, the rows
// they added to memory and the late rows.
type topNShare struct {
	touched []*topPart
	added   map[string]*topPart
	inMem   int
	late    int64
	err     error
}

// topNShare ranks the epoch's rows of the partitions of worker w's
// shards (epochKeys; every partition with one worker). It reads tn.parts
// and tn.cold but changes neither: the partitions it creates or reads
// back go to its own map, and the only partitions it changes are of its
// shards.
func (j *viewJob) topNShare(ctx context.Context, res []arrow.RecordBatch, encs []topEnc, ek *epochKeys, wmBefore int64, w int) (out topNShare) {
	tn := j.topN
	epoch := j.epoch + 1
	out.added = map[string]*topPart{}
	var ob []byte
	var slab rowSlab
	// The partitions found lately, by key hash: an epoch's rows of one
	// partition come close together.
	seen := make([]seenPart, seenParts)
	out.err = ek.each(ctx, w, func(bi, i int, kb []byte, h uint64) error {
		b := res[bi]
		oenc, pks := encs[bi].order, encs[bi].pks
		ob = encodeWith(ob[:0], oenc, i)
		slot := &seen[h&(seenParts-1)]
		p := slot.p
		if p == nil || slot.h != h || p.key != string(kb) {
			if p = out.added[string(kb)]; p == nil {
				p = tn.parts[string(kb)]
			}
		}
		if p == nil {
			if worst, stored, ok, _ := tn.cold.LookupHashed(kb, h); ok {
				if tn.full(int(stored), nil) && bytes.Compare(ob, worst) > 0 {
					// Worse than every kept row on the ORDER BY alone.
					return nil
				}
				if tn.dedup() && bytes.Compare(ob, worst) < 0 {
					// It replaces the partition's only row.
					k := string(kb)
					keys, err := decodeTopKey(k, tn.keyTypes)
					if err != nil {
						return err
					}
					p = &topPart{key: k, keys: keys, stored: int(stored), rows: tn.newRows()}
				} else {
					var err error
					if p, err = j.readPart(ctx, string(kb), stored); err != nil {
						return err
					}
					out.inMem += len(p.rows)
				}
			} else {
				keys := make([]any, len(pks))
				for c, a := range pks {
					keys[c] = valueAt(a, i)
				}
				if end, ok := tn.windowEnd(keys); ok && wmBefore != windows.NoWatermark && windows.IsLate(end, wmBefore) {
					out.late++
					return nil
				}
				p = &topPart{key: string(kb), keys: keys, rows: tn.newRows()}
			}
			out.added[p.key] = p
		}
		*slot = seenPart{h, p}
		if len(p.rows) > 0 && string(ob) > p.rows[len(p.rows)-1].order && tn.full(len(p.rows), p.rows) {
			// Worse than every kept row on the ORDER BY alone.
			return nil
		}
		r := slab.row(ob, b, i)
		before := len(p.rows)
		at := tn.offer(p, r)
		out.inMem += len(p.rows) - before
		if at < 0 {
			return nil
		}
		if p.used != epoch {
			p.used = epoch
			p.from = at
			out.touched = append(out.touched, p)
		} else {
			p.from = min(p.from, at)
		}
		return nil
	})
	if out.err != nil {
		return out
	}
	sortParts(out.touched)
	return out
}

// seenPart is a partition with its key's hash, in topNShare's cache of
// partitions found.
type seenPart struct {
	h uint64
	p *topPart
}

// seenParts is the size of topNShare's cache of partitions found, a
// power of two.
const seenParts = 1 << 13

// rowSlab allocates an epoch's new kept rows and their ORDER BY values in
// blocks. Rows that outlive the epoch are copied out of it (applyTopN),
// so that a block is garbage once its epoch ends.
type rowSlab struct {
	rows  []topRow
	bytes []byte
}

// row returns a new row of input row idx of src whose ORDER BY values are
// encoded in order.
func (s *rowSlab) row(order []byte, src arrow.RecordBatch, idx int) *topRow {
	if len(s.rows) == cap(s.rows) {
		s.rows = make([]topRow, 0, 512)
	}
	var o string
	if n := len(order); n > 0 {
		if cap(s.bytes)-len(s.bytes) < n {
			s.bytes = make([]byte, 0, max(16<<10, n))
		}
		off := len(s.bytes)
		s.bytes = append(s.bytes, order...)
		o = unsafe.String(&s.bytes[off], n)
	}
	s.rows = append(s.rows, topRow{order: o, src: src, idx: idx})
	return &s.rows[len(s.rows)-1]
}

// newRows returns an empty row list for a new partition, with room for
// the rows it keeps when they are few.
func (tn *topNState) newRows() []*topRow {
	return make([]*topRow, 0, min(tn.n, 15)+1)
}

// mergeParts merges lists of partitions each in sortParts order into one.
func mergeParts(lists [][]*topPart) []*topPart {
	var n int
	for _, l := range lists {
		n += len(l)
	}
	out := make([]*topPart, 0, n)
	for len(out) < n {
		best := -1
		for i, l := range lists {
			if len(l) > 0 && (best < 0 || l[0].key < lists[best][0].key) {
				best = i
			}
		}
		out = append(out, lists[best][0])
		lists[best] = lists[best][1:]
	}
	return out
}

// sortParts orders partitions by their encoded values, so that the
// epoch's batch reaches the store sorted, which makes its commit and flush
// cheaper. It compares the keys' first 24 bytes as numbers first.
func sortParts(parts []*topPart) {
	keys := make([]partSortKey, len(parts))
	for i, p := range parts {
		var b [24]byte
		copy(b[:], p.key)
		keys[i] = partSortKey{[3]uint64{binary.BigEndian.Uint64(b[:]), binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[16:])}, p}
	}
	if len(keys) < radixMinParts {
		slices.SortFunc(keys, comparePartKeys)
	} else {
		radixSortParts(keys)
	}
	for i, k := range keys {
		parts[i] = k.p
	}
}

// partSortKey is a partition with its key's first 24 bytes as numbers.
type partSortKey struct {
	pre [3]uint64
	p   *topPart
}

func comparePartKeys(a, b partSortKey) int {
	for i := range a.pre {
		if c := cmp.Compare(a.pre[i], b.pre[i]); c != 0 {
			return c
		}
	}
	return strings.Compare(a.p.key, b.p.key)
}

// radixMinParts is the fewest partitions radixSortParts sorts; fewer are
// compared.
const radixMinParts = 1 << 10

// radixSortParts sorts keys as comparePartKeys does: a least-significant
// digit first radix sort of the 24-byte prefixes, one pass per byte that
// differs among them (an epoch's keys share their tags and high bytes),
// then the keys of equal prefixes by their whole key. An epoch of a
// deduplication sorts about as many partitions as rows, where comparing
// cost it a twentieth of its CPU.
func radixSortParts(keys []partSortKey) {
	var counts [24][256]int
	for i := range keys {
		for d := range 24 {
			counts[d][byte(keys[i].pre[d/8]>>(56-8*(d%8)))]++
		}
	}
	src, dst := keys, make([]partSortKey, len(keys))
	for d := 23; d >= 0; d-- {
		c := &counts[d]
		if c[byte(src[0].pre[d/8]>>(56-8*(d%8)))] == len(src) {
			continue // every key has this byte
		}
		var at [256]int
		sum := 0
		for v, n := range c {
			at[v] = sum
			sum += n
		}
		word, shift := d/8, 56-8*(d%8)
		for _, k := range src {
			v := byte(k.pre[word] >> shift)
			dst[at[v]] = k
			at[v]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	// Keys longer than 24 bytes may share their prefix.
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].pre == keys[i].pre {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(keys[i:j], comparePartKeys)
		}
		i = j
	}
}
