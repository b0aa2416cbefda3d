package planner

import (
	"errors"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
	"github.com/sqld/sqld/windows"
)

// bindFrom binds a FROM list; comma-separated items are cross joined.
func (b *Binder) bindFrom(items []ast.TableExpr, outer *scope) (Node, *scope, error) {
	var n Node
	var sc *scope
	for _, it := range items {
		in, isc, err := b.bindTableExpr(it, outer, sc)
		if err != nil {
			return nil, nil, err
		}
		if n == nil {
			n, sc = in, isc
			continue
		}
		joined := &scope{parent: outer, cols: append(append([]scopeCol(nil), sc.cols...), isc.cols...)}
		n = &Join{Kind: InnerJoin, Left: n, Right: in, Cols: joined.columns()}
		sc = joined
	}
	for _, c := range sc.cols {
		_ = c
	}
	sc.parent = outer
	return n, sc, nil
}

// bindTableExpr binds one FROM item. left is the scope of the items to
// its left (for LATERAL), or nil.
func (b *Binder) bindTableExpr(t ast.TableExpr, outer *scope, left *scope) (Node, *scope, error) {
	switch t := t.(type) {
	case *ast.TableName:
		return b.bindTableName(t)
	case *ast.SubqueryTable:
		qouter := outer
		if t.Lateral && left != nil {
			qouter = &scope{cols: left.cols, parent: outer}
		}
		n, cols, err := b.bindQuery(t.Query, qouter)
		if err != nil {
			return nil, nil, err
		}
		cols, err = aliasColumns(cols, t.Alias, t.ColAliases)
		if err != nil {
			return nil, nil, err
		}
		n = relabel(n, cols)
		return n, scopeFromColumns(cols), nil
	case *ast.TableFunc:
		return b.bindTableFunc(t, outer)
	case *ast.Join:
		l, lsc, err := b.bindTableExpr(t.Left, outer, left)
		if err != nil {
			return nil, nil, err
		}
		r, rsc, err := b.bindTableExpr(t.Right, outer, lsc)
		if err != nil {
			return nil, nil, err
		}
		sc := &scope{parent: outer, cols: append(append([]scopeCol(nil), lsc.cols...), rsc.cols...)}
		j := &Join{Kind: joinKind(t.Kind), Left: l, Right: r}
		using := t.Using
		if t.Natural {
			for _, lc := range lsc.cols {
				if lc.hidden || lc.usingDup {
					continue
				}
				for _, rc := range rsc.cols {
					if rc.name == lc.name && !rc.hidden {
						using = append(using, lc.name)
						break
					}
				}
			}
		}
		var conds []Expr
		for _, name := range using {
			li, err := lsc.resolve("", name)
			if err != nil {
				return nil, nil, err
			}
			ri, err := rsc.resolve("", name)
			if err != nil {
				return nil, nil, err
			}
			if li < 0 || ri < 0 {
				return nil, nil, pgerror.New(pgerror.CodeUndefinedColumn, "column %q specified in USING clause does not exist in %s table", name, map[bool]string{true: "left", false: "right"}[li < 0])
			}
			lref := &ColRef{Idx: li, Typ: lsc.cols[li].typ, Name: name}
			rref := &ColRef{Idx: len(lsc.cols) + ri, Typ: rsc.cols[ri].typ, Name: name}
			eq, err := b.call("=", []Expr{lref, rref})
			if err != nil {
				return nil, nil, err
			}
			conds = append(conds, eq)
			sc.cols[len(lsc.cols)+ri].usingDup = true
		}
		if t.On != nil {
			cond, err := b.bindCondition(t.On, sc, nil, "JOIN/ON")
			if err != nil {
				var pe *pgerror.Error
				if b.View && errors.As(err, &pe) && pe.Code == pgerror.CodeUndefinedFunction {
					return nil, nil, pgerror.New(pgerror.CodeDatatypeMismatch, "the join condition compares values of different types: %s", pe.Message).
						WithHint("Cast one side so that both have the same type.")
				}
				return nil, nil, err
			}
			conds = append(conds, cond)
		}
		if len(conds) > 0 {
			j.Cond = andAll(conds)
		} else if t.Kind != ast.CrossJoin && t.Kind != ast.InnerJoin {
			return nil, nil, pgerror.New(pgerror.CodeSyntaxError, "%s JOIN requires a join condition", t.Kind)
		}
		j.Cols = sc.columns()
		for i := range j.Cols {
			if sc.cols[i].usingDup {
				j.Cols[i].Hidden = false
			}
		}
		return j, sc, nil
	}
	return nil, nil, pgerror.New(pgerror.CodeFeatureNotSupported, "unsupported FROM item %T", t)
}

func joinKind(k ast.JoinKind) JoinKind {
	switch k {
	case ast.LeftJoin:
		return LeftJoin
	case ast.RightJoin:
		return RightJoin
	case ast.FullJoin:
		return FullJoin
	}
	return InnerJoin
}

func andAll(conds []Expr) Expr {
	out := conds[0]
	for _, c := range conds[1:] {
		out = &Call{Fn: andFunc(), Args: []Expr{out, c}}
	}
	return out
}

func andFunc() *Func {
	fn, err := ResolveFunc("and", []catalog.Type{catalog.TypeBool, catalog.TypeBool})
	if err != nil {
		panic("planner: no and operator: " + err.Error())
	}
	return fn
}

func (b *Binder) lookupCTE(name string) *cteDef {
	for i := len(b.ctes) - 1; i >= 0; i-- {
		if d, ok := b.ctes[i][name]; ok {
			return d
		}
	}
	return nil
}

func (b *Binder) bindTableName(t *ast.TableName) (Node, *scope, error) {
	alias := t.Alias
	if alias == "" {
		alias = t.Name
	}
	if t.Schema == "" {
		if d := b.lookupCTE(t.Name); d != nil {
			cols, err := aliasColumns(d.q.Cols, alias, t.ColAliases)
			if err != nil {
				return nil, nil, err
			}
			return relabel(d.q.Plan, cols), scopeFromColumns(cols), nil
		}
	}
	name := t.Name
	if t.Schema != "" && t.Schema != "public" {
		name = t.Schema + "." + t.Name
	}
	rel, ok := b.cat.Relation(name)
	if !ok {
		return nil, nil, pgerror.New(pgerror.CodeUndefinedTable, "relation %q does not exist", name)
	}
	if t.AsOfProctime && rel.Kind != catalog.KindTable {
		return nil, nil, pgerror.New(pgerror.CodeWrongObjectType, "FOR SYSTEM_TIME AS OF PROCTIME() needs a table, and %q is a %s", rel.Name, rel.Kind)
	}
	b.rels[rel.Name] = true
	cols := make([]Column, len(rel.Columns))
	proj := make([]int, len(rel.Columns))
	for i, c := range rel.Columns {
		cols[i] = Column{Name: c.Name, Type: c.Type, Table: alias, Hidden: c.Hidden}
		proj[i] = i
	}
	if len(t.ColAliases) > 0 {
		var err error
		if cols, err = aliasColumns(cols, alias, t.ColAliases); err != nil {
			return nil, nil, err
		}
	}
	return &Scan{Rel: rel, Alias: alias, Cols: cols, Project: proj, AsOf: t.AsOfProctime}, scopeFromColumns(cols), nil
}

// aliasColumns renames a FROM item's columns: all get the qualifier alias,
// the first len(names) get the given names.
func aliasColumns(cols []Column, alias string, names []string) ([]Column, error) {
	visible := 0
	for _, c := range cols {
		if !c.Hidden {
			visible++
		}
	}
	if len(names) > visible {
		return nil, pgerror.New(pgerror.CodeInvalidColumnReference, "table %q has %d columns available but %d columns specified", alias, visible, len(names))
	}
	out := make([]Column, len(cols))
	k := 0
	for i, c := range cols {
		c.Table = alias
		if !c.Hidden && k < len(names) {
			c.Name = names[k]
			k++
		}
		out[i] = c
	}
	return out, nil
}

// relabel gives a node new column names without changing values.
func relabel(n Node, cols []Column) Node {
	exprs := make([]Expr, len(cols))
	for i, c := range cols {
		exprs[i] = &ColRef{Idx: i, Typ: c.Type, Name: c.Name}
	}
	return &Project{Input: n, Exprs: exprs, Cols: cols}
}

func (b *Binder) bindTableFunc(t *ast.TableFunc, outer *scope) (Node, *scope, error) {
	name := strings.ToLower(t.Name)
	empty := &scope{parent: outer}
	switch name {
	case "generate_series":
		if len(t.Args) < 2 || len(t.Args) > 3 {
			return nil, nil, pgerror.New(pgerror.CodeUndefinedFunction, "function generate_series with %d arguments does not exist", len(t.Args))
		}
		args := make([]Expr, len(t.Args))
		types := make([]catalog.Type, len(t.Args))
		for i, a := range t.Args {
			v, err := b.bindExpr(a, empty, nil)
			if err != nil {
				return nil, nil, err
			}
			args[i], types[i] = v, v.Type()
		}
		typ, err := CommonType("generate_series", types[:2])
		if err != nil {
			return nil, nil, err
		}
		step := typ
		switch {
		case typ.ID == catalog.Unknown || typ.IsInteger():
			if typ.ID != catalog.Int8 {
				typ = catalog.TypeInt4
				for _, t := range types {
					if t.ID == catalog.Int8 {
						typ = catalog.TypeInt8
					}
				}
			}
			step = typ
		case typ.ID == catalog.Numeric:
		case typ.IsTime():
			if typ.ID == catalog.Date {
				typ = catalog.TypeTimestamp
			}
			step = catalog.TypeInterval
		default:
			return nil, nil, pgerror.New(pgerror.CodeUndefinedFunction, "function generate_series(%s, %s) does not exist", types[0], types[1])
		}
		for i := range args {
			want := typ
			if i == 2 {
				want = step
			}
			if args[i], err = b.coerce(args[i], want, name); err != nil {
				return nil, nil, err
			}
		}
		g := &GenerateSeries{Start: args[0], Stop: args[1]}
		if len(args) == 3 {
			g.Step = args[2]
		}
		colName := "generate_series"
		alias := t.Alias
		if alias == "" {
			alias = colName
		} else {
			colName = alias
		}
		if len(t.ColAliases) > 0 {
			colName = t.ColAliases[0]
		}
		g.Cols = []Column{{Name: colName, Type: typ, Table: alias}}
		return g, scopeFromColumns(g.Cols), nil
	case "tumble", "hop", "session":
		return b.bindWindowTVF(t, name, outer)
	}
	return nil, nil, pgerror.New(pgerror.CodeUndefinedFunction, "function %s does not exist", name)
}

// bindWindowTVF binds TUMBLE/HOP/SESSION over a relation. TUMBLE is a
// projection adding window_start and window_end; HOP and SESSION need
// the streaming window operators.
func (b *Binder) bindWindowTVF(t *ast.TableFunc, name string, outer *scope) (Node, *scope, error) {
	if len(t.Args) < 3 {
		return nil, nil, pgerror.New(pgerror.CodeUndefinedFunction, "function %s requires a relation, a time column and a size", name)
	}
	var in Node
	var sc *scope
	var err error
	switch src := t.Args[0].(type) {
	case *ast.ColumnRef:
		in, sc, err = b.bindTableName(&ast.TableName{Name: src.Column, Schema: src.Table})
	case *ast.Subquery:
		in, sc, err = b.bindTableExpr(&ast.SubqueryTable{Query: src.Query, Alias: "_"}, outer, nil)
	default:
		return nil, nil, pgerror.New(pgerror.CodeSyntaxError, "the first argument of %s must be a relation", name)
	}
	if err != nil {
		return nil, nil, err
	}
	sc.parent = outer
	tcol, err := b.bindExpr(t.Args[1], sc, nil)
	if err != nil {
		return nil, nil, err
	}
	if !tcol.Type().IsTime() {
		return nil, nil, pgerror.New(pgerror.CodeDatatypeMismatch, "the time column of %s must be a timestamp, not %s", name, tcol.Type())
	}
	var params []Expr
	for _, a := range t.Args[2:] {
		v, err := b.bindExpr(a, &scope{parent: outer}, nil)
		if err != nil {
			return nil, nil, err
		}
		if v, err = b.coerce(v, catalog.TypeInterval, name); err != nil {
			return nil, nil, err
		}
		params = append(params, v)
	}
	wt := tcol.Type()
	if wt.ID == catalog.Date {
		wt = catalog.TypeTimestamp
		tcol = &Cast{X: tcol, To: wt}
	}
	alias := t.Alias
	if alias == "" {
		// Without an alias the window's columns are qualified by the
		// relation it reads, as in TUMBLE(bid, ...) ... bid.auction.
		alias = name
		if src, ok := t.Args[0].(*ast.ColumnRef); ok {
			alias = src.Column
		}
	}
	var out Node
	switch name {
	case "tumble":
		if len(params) > 2 {
			return nil, nil, pgerror.New(pgerror.CodeUndefinedFunction, "function tumble with %d arguments does not exist", len(t.Args))
		}
		size, err := windowMicros(params[0], "window size")
		if err != nil {
			return nil, nil, err
		}
		if size <= 0 {
			return nil, nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid tumble window size: it must be positive")
		}
		var offset int64
		if len(params) == 2 {
			if offset, err = windowMicros(params[1], "window offset"); err != nil {
				return nil, nil, err
			}
		}
		// A tumbling window is a hopping one whose slide is its size.
		out = &HopWindow{Input: in, Time: tcol, Slide: size, Size: size, Offset: offset, Tumble: true, Cols: windowCols(in.Columns(), alias, wt)}
	case "hop":
		if len(params) < 2 || len(params) > 3 {
			return nil, nil, pgerror.New(pgerror.CodeUndefinedFunction, "function hop with %d arguments does not exist", len(t.Args))
		}
		var us [3]int64
		for i, p := range params {
			if us[i], err = windowMicros(p, "window parameter"); err != nil {
				return nil, nil, err
			}
		}
		h := windows.Hop{Slide: us[0], Size: us[1], Offset: us[2]}
		if err := h.Validate(); err != nil || h.Slide <= 0 || h.Size <= 0 {
			return nil, nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid hop window: slide and size must be positive")
		}
		if h.Slide > h.Size {
			return nil, nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid hop window: the slide (%s) is larger than the size (%s), so some rows would fall in no window", micros(h.Slide), micros(h.Size))
		}
		out = &HopWindow{Input: in, Time: tcol, Slide: h.Slide, Size: h.Size, Offset: h.Offset, Cols: windowCols(in.Columns(), alias, wt)}
	case "session":
		if len(params) != 1 {
			return nil, nil, pgerror.New(pgerror.CodeUndefinedFunction, "function session with %d arguments does not exist", len(t.Args))
		}
		gap, err := windowMicros(params[0], "session gap")
		if err != nil {
			return nil, nil, err
		}
		if gap <= 0 {
			return nil, nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid session gap: it must be positive")
		}
		out = &SessionWindow{Input: in, Time: tcol, Gap: gap, Cols: windowCols(in.Columns(), alias, wt)}
	}
	cols := out.Columns()
	if len(t.ColAliases) > 0 {
		if cols, err = aliasColumns(cols, alias, t.ColAliases); err != nil {
			return nil, nil, err
		}
		out = relabel(out, cols)
	}
	return out, scopeFromColumns(cols), nil
}

// windowMicros returns a constant interval as microseconds. Months have
// no fixed length, so window parameters may not use them.
func windowMicros(e Expr, what string) (int64, error) {
	c, ok := e.(*Const)
	if !ok || c.Val == nil {
		return 0, pgerror.New(pgerror.CodeFeatureNotSupported, "the %s must be a constant interval", what)
	}
	iv, ok := c.Val.(arrow.MonthDayNanoInterval)
	if !ok {
		return 0, pgerror.New(pgerror.CodeDatatypeMismatch, "the %s must be an interval", what)
	}
	if iv.Months != 0 {
		return 0, pgerror.New(pgerror.CodeFeatureNotSupported, "a %s in months or years is not supported", what)
	}
	return int64(iv.Days)*86_400_000_000 + iv.Nanoseconds/1000, nil
}
