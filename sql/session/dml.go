package session

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/exec/eval"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// runPlan runs a plan to the end against a fresh snapshot.
func (s *Session) runPlan(ctx context.Context, n planner.Node, params []any) ([]arrow.RecordBatch, error) {
	var rd tableReader = s.blockReader()
	if rd == nil {
		snap := s.eng.store.NewSnapshot()
		defer snap.Close()
		rd = snap
	}
	env := s.env(params, &storage{eng: s.eng, snap: rd, mem: s.eng.alloc})
	op, err := exec.Build(env, n)
	if err != nil {
		return nil, err
	}
	return exec.Collect(ctx, op)
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// rowsOf builds full-width rows of rel from source batches whose columns
// are rel's columns target[i]; missing columns get their defaults and the
// hidden row id is assigned.
func (s *Session) fullRows(ctx context.Context, rel *catalog.Relation, target []int, src arrow.RecordBatch, params []any) (arrow.RecordBatch, error) {
	n := int(src.NumRows())
	cols := make([]arrow.Array, len(rel.Columns))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, t := range target {
		c := src.Column(i)
		c.Retain()
		cols[t] = c
	}
	env := s.env(params, nil)
	for i, c := range rel.Columns {
		if cols[i] != nil {
			continue
		}
		switch {
		case c.Hidden && c.Name == catalog.RowIDColumn:
			b := array.NewInt64Builder(s.eng.alloc)
			first := s.eng.nextRowIDs(n)
			for r := 0; r < n; r++ {
				b.Append(first + int64(r))
			}
			cols[i] = b.NewArray()
			b.Release()
		case c.Default != "":
			bnd := planner.NewBinder(s.eng, nil)
			e, err := bindDefault(bnd, c)
			if err != nil {
				return nil, err
			}
			arr, err := eval.Eval(&env.Env, e, src)
			if err != nil {
				return nil, err
			}
			cols[i] = arr
		default:
			cols[i] = array.MakeArrayOfNull(s.eng.alloc, c.Type.Arrow(), n)
		}
	}
	for i, c := range rel.Columns {
		if c.NotNull && cols[i].NullN() > 0 {
			return nil, pgerror.New(pgerror.CodeNotNullViolation, "null value in column %q of relation %q violates not-null constraint", c.Name, rel.Name)
		}
		if c.Type.ID == catalog.Varchar && c.Type.Length > 0 {
			if err := checkLength(cols[i], c); err != nil {
				return nil, err
			}
		}
	}
	return array.NewRecordBatch(rel.Schema(), cols, int64(n)), nil
}

func bindDefault(b *planner.Binder, c catalog.Column) (planner.Expr, error) {
	ins, err := planner.DefaultParser(c.Default)
	if err != nil {
		return nil, err
	}
	return b.BindScalar(ins, c)
}

func checkLength(arr arrow.Array, c catalog.Column) error {
	s, ok := arr.(*array.String)
	if !ok {
		return nil
	}
	for i := 0; i < s.Len(); i++ {
		if s.IsValid(i) && int32(len([]rune(s.Value(i)))) > c.Type.Length {
			return pgerror.New(pgerror.CodeStringDataRightTrunc, "value too long for type character varying(%d)", c.Type.Length)
		}
	}
	return nil
}

// keyString encodes the key of row i for duplicate detection.
func keyValues(rec arrow.RecordBatch, key []int, i int) []any {
	out := make([]any, len(key))
	for j, k := range key {
		out[j] = valueAt(rec.Column(k), i)
	}
	return out
}

func keyText(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprintf("%v", v)
	}
	return strings.Join(parts, ", ")
}

// valueAt returns row i of arr as a Go value (nil for NULL).
func valueAt(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		// A copy: the array's string points into its buffer, which a
		// value kept past the batch would pin as a whole.
		return strings.Clone(a.Value(i))
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...)
	case *array.Boolean:
		return a.Value(i)
	case *array.Date32:
		return int32(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Decimal128:
		return catalog.Decimal{Num: a.Value(i), Scale: a.DataType().(*arrow.Decimal128Type).Scale}
	case *array.MonthDayNanoInterval:
		return a.Value(i)
	}
	return arr.ValueStr(i)
}

func (s *Session) userKey(rel *catalog.Relation) bool {
	return !(len(rel.PrimaryKey) == 1 && rel.Columns[rel.PrimaryKey[0]].Hidden)
}

func (s *Session) runInsert(ctx context.Context, plan *planner.Insert, params []any) (int64, error) {
	src, err := s.runPlan(ctx, plan.Source, params)
	if err != nil {
		return 0, err
	}
	defer releaseAll(src)
	var tab *widecol.Table
	if plan.Rel.Kind == catalog.KindTable {
		if tab, err = s.eng.table(plan.Rel.Name); err != nil {
			return 0, err
		}
	}
	rel := plan.Rel
	if rel.Kind == catalog.KindStream {
		tab = nil
	}
	var rows []arrow.RecordBatch
	defer func() { releaseAll(rows) }()
	for _, b := range src {
		if b.NumRows() == 0 {
			continue
		}
		r, err := s.fullRows(ctx, rel, plan.Target, b, params)
		if err != nil {
			return 0, err
		}
		rows = append(rows, r)
	}
	if rel.Kind == catalog.KindStream {
		if err := s.collectReturning(plan.Returning, rows, params); err != nil {
			return 0, err
		}
		return s.appendStream(ctx, rel, rows)
	}
	defer s.lockWrites()()
	if s.userKey(rel) {
		seen := map[string]bool{}
		for bi, r := range rows {
			var keep []bool
			dropped := 0
			for i := 0; i < int(r.NumRows()); i++ {
				key := keyValues(r, rel.PrimaryKey, i)
				kt := keyText(key)
				dup := seen[kt]
				if !dup {
					exists, err := s.rowExists(ctx, tab, key)
					if err != nil {
						return 0, err
					}
					dup = exists
				}
				if dup && !plan.OnConflictDoNothing {
					return 0, duplicateKey(rel, key)
				}
				seen[kt] = true
				if plan.OnConflictDoNothing {
					keep = append(keep, !dup)
					if dup {
						dropped++
					}
				}
			}
			if dropped > 0 {
				mask := array.NewBooleanBuilder(s.eng.alloc)
				mask.AppendValues(keep, nil)
				m := mask.NewArray()
				mask.Release()
				filtered, err := compute.FilterRecordBatch(ctx, r, m, compute.DefaultFilterOptions())
				m.Release()
				if err != nil {
					return 0, err
				}
				r.Release()
				rows[bi] = filtered
			}
		}
	}
	batch, done := s.writeBatch()
	defer done()
	var n int64
	for _, r := range rows {
		if r.NumRows() == 0 {
			continue
		}
		if err := batch.Upsert(tab, r, nil); err != nil {
			return 0, err
		}
		n += r.NumRows()
	}
	if n == 0 {
		return 0, nil
	}
	if err := s.collectReturning(plan.Returning, rows, params); err != nil {
		return 0, err
	}
	return n, s.commitWrite(ctx, batch, rel.Name)
}

// collectReturning evaluates RETURNING over written rows (all relation
// columns) and keeps the result for the statement's portal.
func (s *Session) collectReturning(r *planner.Returning, rows []arrow.RecordBatch, params []any) error {
	if r == nil {
		return nil
	}
	env := s.env(params, nil)
	fields := make([]arrow.Field, len(r.Cols))
	for i, c := range r.Cols {
		fields[i] = catalog.Field(c.Name, c.Type, true)
	}
	schema := arrow.NewSchema(fields, nil)
	for _, b := range rows {
		if b.NumRows() == 0 {
			continue
		}
		cols := make([]arrow.Array, len(r.Exprs))
		for i, e := range r.Exprs {
			a, err := eval.Eval(&env.Env, e, b)
			if err != nil {
				releaseAll2(cols[:i])
				return err
			}
			cols[i] = a
		}
		s.returned = append(s.returned, array.NewRecordBatch(schema, cols, b.NumRows()))
		releaseAll2(cols)
	}
	return nil
}

func releaseAll2(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}

func duplicateKey(rel *catalog.Relation, key []any) error {
	names := make([]string, len(rel.PrimaryKey))
	for i, k := range rel.PrimaryKey {
		names[i] = rel.Columns[k].Name
	}
	return pgerror.New(pgerror.CodeUniqueViolation, "duplicate key value violates unique constraint %q", rel.Name+"_pkey").
		WithDetail("Key (%s)=(%s) already exists.", strings.Join(names, ", "), keyText(key))
}

func (s *Session) runUpdate(ctx context.Context, plan *planner.Update, params []any) (int64, error) {
	rel := plan.Rel
	tab, err := s.eng.table(rel.Name)
	if err != nil {
		return 0, err
	}
	defer s.lockWrites()()
	src, err := s.runPlan(ctx, plan.Source, params)
	if err != nil {
		return 0, err
	}
	defer releaseAll(src)
	ncol := len(rel.Columns)
	batch, done := s.writeBatch()
	defer done()
	var n int64
	deleted := map[string]bool{}
	written := map[string]bool{}
	type pending struct{ key []any }
	var checks []pending
	for _, b := range src {
		if b.NumRows() == 0 {
			continue
		}
		cols := b.Columns()[:ncol]
		newRows := array.NewRecordBatch(rel.Schema(), cols, b.NumRows())
		for i, c := range rel.Columns {
			if c.NotNull && cols[i].NullN() > 0 {
				newRows.Release()
				return 0, pgerror.New(pgerror.CodeNotNullViolation, "null value in column %q of relation %q violates not-null constraint", c.Name, rel.Name)
			}
			if c.Type.ID == catalog.Varchar && c.Type.Length > 0 {
				if err := checkLength(cols[i], c); err != nil {
					newRows.Release()
					return 0, err
				}
			}
		}
		for i := 0; i < int(b.NumRows()); i++ {
			newKey := keyValues(newRows, rel.PrimaryKey, i)
			oldKey := make([]any, len(rel.PrimaryKey))
			for j := range rel.PrimaryKey {
				oldKey[j] = valueAt(b.Column(ncol+j), i)
			}
			nk, ok := keyText(newKey), keyText(oldKey)
			if written[nk] {
				newRows.Release()
				return 0, duplicateKey(rel, newKey)
			}
			written[nk] = true
			if nk != ok {
				if err := batch.DeleteRow(tab, oldKey); err != nil {
					newRows.Release()
					return 0, err
				}
				deleted[ok] = true
				checks = append(checks, pending{key: newKey})
			}
		}
		if err := batch.Upsert(tab, newRows, nil); err != nil {
			newRows.Release()
			return 0, err
		}
		if err := s.collectReturning(plan.Returning, []arrow.RecordBatch{newRows}, params); err != nil {
			newRows.Release()
			return 0, err
		}
		n += newRows.NumRows()
		newRows.Release()
	}
	for _, c := range checks {
		if deleted[keyText(c.key)] {
			continue
		}
		exists, err := s.rowExists(ctx, tab, c.key)
		if err != nil {
			return 0, err
		}
		if exists {
			return 0, duplicateKey(rel, c.key)
		}
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.commitWrite(ctx, batch, rel.Name)
}

func (s *Session) runDelete(ctx context.Context, plan *planner.Delete, params []any) (int64, error) {
	tab, err := s.eng.table(plan.Rel.Name)
	if err != nil {
		return 0, err
	}
	defer s.lockWrites()()
	src, err := s.runPlan(ctx, plan.Source, params)
	if err != nil {
		return 0, err
	}
	defer releaseAll(src)
	batch, done := s.writeBatch()
	defer done()
	var n int64
	for _, b := range src {
		if b.NumRows() == 0 {
			continue
		}
		fields := make([]arrow.Field, len(plan.Rel.PrimaryKey))
		for i, k := range plan.Rel.PrimaryKey {
			c := plan.Rel.Columns[k]
			fields[i] = catalog.Field(c.Name, c.Type, true)
		}
		nk := len(plan.Rel.PrimaryKey)
		keys := array.NewRecordBatch(arrow.NewSchema(fields, nil), b.Columns()[:nk], b.NumRows())
		err := batch.Delete(tab, keys)
		keys.Release()
		if err != nil {
			return 0, err
		}
		if plan.Returning != nil {
			old := array.NewRecordBatch(plan.Rel.Schema(), b.Columns()[nk:], b.NumRows())
			err := s.collectReturning(plan.Returning, []arrow.RecordBatch{old}, params)
			old.Release()
			if err != nil {
				return 0, err
			}
		}
		n += b.NumRows()
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.commitWrite(ctx, batch, plan.Rel.Name)
}

// drain reads an operator to the end (used by COPY TO).
func drain(ctx context.Context, op exec.Operator, fn func(arrow.RecordBatch) error) error {
	if err := op.Open(ctx); err != nil {
		op.Close()
		return err
	}
	defer op.Close()
	for {
		b, err := op.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = fn(b)
		b.Release()
		if err != nil {
			return err
		}
	}
}

var _ = widecol.Row{}
