package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// Catalog is what binding needs to know about stored relations.
type Catalog interface {
	// Relation returns the relation named name (lower-case), or false.
	Relation(name string) (*catalog.Relation, bool)
}

// Query is a bound query: its plan, output columns and parameter types.
type Query struct {
	Plan   Node
	Cols   []Column
	Params []catalog.Type
	// EmitOnWindowClose is the query's EMIT ON WINDOW CLOSE.
	EmitOnWindowClose bool
	// Relations lists the stored relations the query reads, by name.
	Relations []string
	// PlanVersion is, for a view's query, the version of view planning
	// the view was created with (see ViewPlanVersion): a view's stored
	// state is laid out by its plan, so a view created by an older build
	// is planned as that build did. 0 is the first version.
	PlanVersion int
}

// Binder resolves names and types of one statement. Its zero value is not
// usable; make one with NewBinder.
type Binder struct {
	cat    Catalog
	params []catalog.Type
	ctes   []map[string]*cteDef
	rels   map[string]bool
	// inlining is the stack of user functions whose bodies are being
	// bound; usedFuncs collects the signatures of those inlined.
	inlining  []*inlineFrame
	usedFuncs map[string]bool

	// View is set when binding the query of a view: a join condition
	// comparing values of types that do not compare is then a datatype
	// mismatch (42804) reported at CREATE VIEW.
	View bool
}

type cteDef struct {
	name string
	q    *Query
}

// NewBinder returns a binder over cat. paramTypes are the types the client
// declared for $1..$n (Unknown entries are inferred from use).
func NewBinder(cat Catalog, paramTypes []catalog.Type) *Binder {
	return &Binder{cat: cat, params: append([]catalog.Type(nil), paramTypes...), rels: map[string]bool{}}
}

// Params returns the parameter types inferred so far.
func (b *Binder) Params() []catalog.Type {
	out := append([]catalog.Type(nil), b.params...)
	return out
}

// BindSelect binds a query and optimizes its plan.
func (b *Binder) BindSelect(sel *ast.Select) (*Query, error) {
	q, err := b.BindSelectUnoptimized(sel)
	if err != nil {
		return nil, err
	}
	q.Plan = Optimize(q.Plan)
	return q, nil
}

// BindSelectUnoptimized binds a query without applying the rewrite rules
// (golden tests show both forms).
func (b *Binder) BindSelectUnoptimized(sel *ast.Select) (*Query, error) {
	n, cols, err := b.bindQuery(sel, nil)
	if err != nil {
		return nil, err
	}
	// Untyped outputs (SELECT 'x', SELECT NULL) are text, as in Postgres.
	n, cols, err = b.finalizeUnknown(n, cols)
	if err != nil {
		return nil, err
	}
	q := &Query{Plan: n, Cols: cols, Params: b.Params(), EmitOnWindowClose: sel.EmitOnWindowClose}
	for r := range b.rels {
		q.Relations = append(q.Relations, r)
	}
	sort.Strings(q.Relations)
	return q, nil
}

func (b *Binder) finalizeUnknown(n Node, cols []Column) (Node, []Column, error) {
	need := false
	for _, c := range cols {
		if c.Type.ID == catalog.Unknown {
			need = true
		}
	}
	if !need {
		return n, cols, nil
	}
	exprs := make([]Expr, len(cols))
	out := make([]Column, len(cols))
	for i, c := range cols {
		var e Expr = &ColRef{Idx: i, Typ: c.Type, Name: c.Name}
		if c.Type.ID == catalog.Unknown {
			e = &Cast{X: e, To: catalog.TypeText}
			c.Type = catalog.TypeText
		}
		exprs[i] = e
		out[i] = c
	}
	return &Project{Input: n, Exprs: exprs, Cols: out}, out, nil
}

// bindQuery binds a full query expression with outer as the enclosing
// scope (nil at top level).
func (b *Binder) bindQuery(sel *ast.Select, outer *scope) (Node, []Column, error) {
	if len(sel.With) > 0 {
		defs := map[string]*cteDef{}
		b.ctes = append(b.ctes, defs)
		defer func() { b.ctes = b.ctes[:len(b.ctes)-1] }()
		for _, c := range sel.With {
			n, cols, err := b.bindQuery(c.Query, outer)
			if err != nil {
				return nil, nil, err
			}
			if len(c.Columns) > 0 {
				if len(c.Columns) > len(cols) {
					return nil, nil, pgerror.New(pgerror.CodeInvalidColumnReference,
						"WITH query %q has %d columns available but %d columns specified", c.Name, len(cols), len(c.Columns))
				}
				cols = append([]Column(nil), cols...)
				for i, name := range c.Columns {
					cols[i].Name = name
				}
			}
			defs[c.Name] = &cteDef{name: c.Name, q: &Query{Plan: n, Cols: cols}}
		}
	}
	switch body := sel.Body.(type) {
	case *ast.SelectCore:
		return b.bindSelectCore(body, sel, outer)
	default:
		n, cols, err := b.bindBody(sel.Body, outer)
		if err != nil {
			return nil, nil, err
		}
		return b.bindOrderLimit(n, cols, sel, outer)
	}
}

// bindBody binds a set operation, VALUES or a parenthesised query.
func (b *Binder) bindBody(body ast.QueryBody, outer *scope) (Node, []Column, error) {
	switch body := body.(type) {
	case *ast.Select:
		return b.bindQuery(body, outer)
	case *ast.SelectCore:
		return b.bindSelectCore(body, &ast.Select{Body: body}, outer)
	case *ast.Values:
		return b.bindValues(body, outer)
	case *ast.SetOp:
		l, lcols, err := b.bindQuery(body.Left, outer)
		if err != nil {
			return nil, nil, err
		}
		r, rcols, err := b.bindQuery(body.Right, outer)
		if err != nil {
			return nil, nil, err
		}
		if len(lcols) != len(rcols) {
			return nil, nil, pgerror.New(pgerror.CodeSyntaxError, "each %s query must have the same number of columns", body.Op)
		}
		types := make([]catalog.Type, len(lcols))
		for i := range lcols {
			t, err := CommonType(body.Op.String(), []catalog.Type{lcols[i].Type, rcols[i].Type})
			if err != nil {
				return nil, nil, err
			}
			if t.ID == catalog.Unknown {
				t = catalog.TypeText
			}
			types[i] = t
		}
		l, lcols, err = castColumns(l, lcols, types)
		if err != nil {
			return nil, nil, err
		}
		r, _, err = castColumns(r, rcols, types)
		if err != nil {
			return nil, nil, err
		}
		cols := make([]Column, len(lcols))
		for i, c := range lcols {
			cols[i] = Column{Name: c.Name, Type: types[i]}
		}
		return &SetOp{Kind: SetOpKind(body.Op), All: body.All, Left: l, Right: r, Cols: cols}, cols, nil
	}
	return nil, nil, pgerror.New(pgerror.CodeFeatureNotSupported, "unsupported query form %T", body)
}

// castColumns projects n so that its columns have the given types.
func castColumns(n Node, cols []Column, types []catalog.Type) (Node, []Column, error) {
	same := true
	for i := range cols {
		if cols[i].Type != types[i] {
			same = false
		}
	}
	if same {
		return n, cols, nil
	}
	exprs := make([]Expr, len(cols))
	out := make([]Column, len(cols))
	for i, c := range cols {
		e, err := coerce(&ColRef{Idx: i, Typ: c.Type, Name: c.Name}, types[i], "")
		if err != nil {
			return nil, nil, err
		}
		exprs[i] = e
		c.Type = types[i]
		out[i] = c
	}
	return &Project{Input: n, Exprs: exprs, Cols: out}, out, nil
}

func (b *Binder) bindValues(v *ast.Values, outer *scope) (Node, []Column, error) {
	if len(v.Rows) == 0 {
		return nil, nil, pgerror.New(pgerror.CodeSyntaxError, "VALUES must have at least one row")
	}
	width := len(v.Rows[0])
	empty := &scope{parent: outer}
	rows := make([][]Expr, len(v.Rows))
	for i, r := range v.Rows {
		if len(r) != width {
			return nil, nil, pgerror.New(pgerror.CodeSyntaxError, "VALUES lists must all be the same length")
		}
		rows[i] = make([]Expr, width)
		for j, x := range r {
			e, err := b.bindExpr(x, empty, nil)
			if err != nil {
				return nil, nil, err
			}
			rows[i][j] = e
		}
	}
	cols := make([]Column, width)
	for j := 0; j < width; j++ {
		types := make([]catalog.Type, len(rows))
		for i := range rows {
			types[i] = rows[i][j].Type()
		}
		t, err := CommonType("VALUES", types)
		if err != nil {
			return nil, nil, err
		}
		for i := range rows {
			e, err := coerce(rows[i][j], t, "")
			if err != nil {
				return nil, nil, err
			}
			rows[i][j] = e
		}
		cols[j] = Column{Name: fmt.Sprintf("column%d", j+1), Type: t}
	}
	return &Values{Cols: cols, Rows: rows}, cols, nil
}

// selectState carries what binding one SELECT core accumulates.
type selectState struct {
	from      *scope // the FROM clause's scope
	aggMode   bool
	groupBy   []Expr // over from
	groupKeys []string
	aggs      []AggCall
	aggKeys   []string
	windows   []WindowCall
	winKeys   []string
	// inAgg is set while binding an aggregate's arguments.
	inAgg bool
	// postAgg is the number of columns of the node windows read
	// (the aggregate output or the FROM output).
	items []Expr
}

// aggPlaceholder stands for the k-th aggregate until the select list is
// rewritten over the aggregate's output.
type aggPlaceholder struct {
	k   int
	typ catalog.Type
}

func (a *aggPlaceholder) Type() catalog.Type { return a.typ }
func (a *aggPlaceholder) String() string     { return fmt.Sprintf("agg#%d", a.k) }

// winPlaceholder stands for the k-th window function call.
type winPlaceholder struct {
	k   int
	typ catalog.Type
}

func (a *winPlaceholder) Type() catalog.Type { return a.typ }
func (a *winPlaceholder) String() string     { return fmt.Sprintf("win#%d", a.k) }

func (b *Binder) bindSelectCore(core *ast.SelectCore, sel *ast.Select, outer *scope) (Node, []Column, error) {
	var input Node
	var sc *scope
	var err error
	if len(core.From) == 0 {
		input = &Values{Rows: [][]Expr{{}}}
		sc = &scope{parent: outer}
	} else {
		input, sc, err = b.bindFrom(core.From, outer)
		if err != nil {
			return nil, nil, err
		}
	}
	st := &selectState{from: sc}
	if core.Where != nil {
		cond, err := b.bindCondition(core.Where, sc, nil, "WHERE")
		if err != nil {
			return nil, nil, err
		}
		input = &Filter{Input: input, Cond: cond}
	}

	// Expand the select list.
	type item struct {
		expr  ast.Expr
		name  string
		bound Expr
	}
	var items []item
	for _, it := range core.Items {
		if it.Star {
			n := 0
			for i, c := range sc.cols {
				if c.hidden || c.usingDup || (it.Table != "" && c.table != it.Table) {
					continue
				}
				n++
				items = append(items, item{name: c.name, bound: &ColRef{Idx: i, Typ: c.typ, Name: c.name}})
			}
			if it.Table != "" && n == 0 && !sc.hasTable(it.Table) {
				return nil, nil, pgerror.New(pgerror.CodeUndefinedTable, "missing FROM-clause entry for table %q", it.Table)
			}
			if it.Table == "" && len(core.From) == 0 {
				return nil, nil, pgerror.New(pgerror.CodeSyntaxError, "SELECT * with no tables specified is not valid")
			}
			continue
		}
		items = append(items, item{expr: it.Expr, name: outputName(it)})
	}

	st.aggMode = len(core.GroupBy) > 0 || core.Having != nil
	// Group keys: ordinals and output names are allowed as in Postgres.
	for _, g := range core.GroupBy {
		var e Expr
		if lit, ok := g.(*ast.Literal); ok && lit.Kind == ast.LitInt {
			var k int
			fmt.Sscanf(lit.Val, "%d", &k)
			if k < 1 || k > len(items) {
				return nil, nil, pgerror.New(pgerror.CodeInvalidColumnReference, "GROUP BY position %d is not in select list", k)
			}
			if items[k-1].bound != nil {
				e = items[k-1].bound
			} else {
				e, err = b.bindExpr(items[k-1].expr, sc, nil)
			}
		} else if cr, ok := g.(*ast.ColumnRef); ok && cr.Table == "" {
			idx, rerr := sc.resolve("", cr.Column)
			if rerr != nil {
				return nil, nil, rerr
			}
			if idx < 0 {
				// An output column name.
				for _, it := range items {
					if it.name == cr.Column && it.expr != nil {
						e, err = b.bindExpr(it.expr, sc, nil)
						break
					}
				}
			}
			if e == nil && err == nil {
				e, err = b.bindExpr(g, sc, nil)
			}
		} else {
			e, err = b.bindExpr(g, sc, nil)
		}
		if err != nil {
			return nil, nil, err
		}
		st.groupBy = append(st.groupBy, e)
		st.groupKeys = append(st.groupKeys, e.String())
	}

	// Sessions are per GROUP BY key: give a SESSION window in FROM the
	// group keys that are its input's columns.
	if len(st.groupBy) > 0 {
		input = withSessionKeys(input, st.groupBy)
	}

	// Bind the select list, HAVING and ORDER BY over the FROM scope,
	// collecting aggregates and window calls.
	bound := make([]Expr, len(items))
	for i, it := range items {
		if it.bound != nil {
			bound[i] = it.bound
			continue
		}
		e, err := b.bindExpr(it.expr, sc, st)
		if err != nil {
			return nil, nil, err
		}
		bound[i] = e
	}
	var having Expr
	if core.Having != nil {
		having, err = b.bindCondition(core.Having, sc, st, "HAVING")
		if err != nil {
			return nil, nil, err
		}
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.name
	}
	// ORDER BY keys: output ordinal, output name, or expression.
	type orderRef struct {
		out  int  // index into the select list, or -1
		expr Expr // else an expression over the FROM scope
		key  ast.OrderItem
	}
	var orders []orderRef
	for _, o := range sel.OrderBy {
		ref := orderRef{out: -1, key: o}
		if lit, ok := o.Expr.(*ast.Literal); ok && lit.Kind == ast.LitInt {
			var k int
			fmt.Sscanf(lit.Val, "%d", &k)
			if k < 1 || k > len(items) {
				return nil, nil, pgerror.New(pgerror.CodeInvalidColumnReference, "ORDER BY position %d is not in select list", k)
			}
			ref.out = k - 1
		} else if cr, ok := o.Expr.(*ast.ColumnRef); ok && cr.Table == "" && indexOf(names, cr.Column) >= 0 {
			// Postgres prefers the output column name.
			matches := 0
			for i, n := range names {
				if n == cr.Column {
					if matches == 0 {
						ref.out = i
					} else if bound[i].String() != bound[ref.out].String() {
						return nil, nil, pgerror.New(pgerror.CodeAmbiguousColumn, "ORDER BY %q is ambiguous", cr.Column)
					}
					matches++
				}
			}
		} else {
			e, err := b.bindExpr(o.Expr, sc, st)
			if err != nil {
				return nil, nil, err
			}
			for i := range bound {
				if bound[i].String() == e.String() {
					ref.out = i
					break
				}
			}
			if ref.out < 0 {
				if core.Distinct {
					return nil, nil, pgerror.New(pgerror.CodeInvalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
				}
				ref.expr = e
			}
		}
		orders = append(orders, ref)
	}
	var distinctOn []Expr
	for _, d := range core.DistinctOn {
		e, err := b.bindExpr(d, sc, st)
		if err != nil {
			return nil, nil, err
		}
		distinctOn = append(distinctOn, e)
	}

	if len(st.aggs) > 0 {
		st.aggMode = true
	}
	// The node the select list is computed over.
	var rewrite func(Expr) (Expr, error)
	if st.aggMode {
		cols := make([]Column, 0, len(st.groupBy)+len(st.aggs))
		for i, g := range st.groupBy {
			name := "?column?"
			if cr, ok := g.(*ColRef); ok {
				name = cr.Name
			}
			cols = append(cols, Column{Name: name, Type: g.Type(), Table: fmt.Sprint("#g", i)})
		}
		for _, a := range st.aggs {
			cols = append(cols, Column{Name: a.Agg.Name, Type: a.Agg.Ret})
		}
		input = &Aggregate{Input: input, GroupBy: st.groupBy, Aggs: st.aggs, Cols: cols}
		ng := len(st.groupBy)
		var rw func(e Expr) (Expr, error)
		rw = func(e Expr) (Expr, error) {
			if e == nil {
				return nil, nil
			}
			key := e.String()
			for i, k := range st.groupKeys {
				if k == key {
					return &ColRef{Idx: i, Typ: e.Type(), Name: cols[i].Name}, nil
				}
			}
			switch x := e.(type) {
			case *aggPlaceholder:
				return &ColRef{Idx: ng + x.k, Typ: x.typ, Name: st.aggs[x.k].Agg.Name}, nil
			case *winPlaceholder:
				return x, nil
			case *ColRef:
				return nil, pgerror.New(pgerror.CodeGroupingError,
					"column %q must appear in the GROUP BY clause or be used in an aggregate function", qualifiedName(sc, x.Idx))
			case *Call:
				args := make([]Expr, len(x.Args))
				for i, a := range x.Args {
					r, err := rw(a)
					if err != nil {
						return nil, err
					}
					args[i] = r
				}
				return &Call{Fn: x.Fn, Args: args}, nil
			case *Cast:
				r, err := rw(x.X)
				if err != nil {
					return nil, err
				}
				return &Cast{X: r, To: x.To}, nil
			case *Case:
				c := &Case{Typ: x.Typ}
				for _, w := range x.Whens {
					cond, err := rw(w.Cond)
					if err != nil {
						return nil, err
					}
					res, err := rw(w.Result)
					if err != nil {
						return nil, err
					}
					c.Whens = append(c.Whens, When{Cond: cond, Result: res})
				}
				el, err := rw(x.Else)
				if err != nil {
					return nil, err
				}
				c.Else = el
				return c, nil
			case *IsNull:
				r, err := rw(x.X)
				if err != nil {
					return nil, err
				}
				return &IsNull{X: r, Not: x.Not}, nil
			case *InList:
				l := &InList{Not: x.Not}
				r, err := rw(x.X)
				if err != nil {
					return nil, err
				}
				l.X = r
				for _, it := range x.List {
					r, err := rw(it)
					if err != nil {
						return nil, err
					}
					l.List = append(l.List, r)
				}
				return l, nil
			case *Subquery:
				s := *x
				if x.X != nil {
					r, err := rw(x.X)
					if err != nil {
						return nil, err
					}
					s.X = r
				}
				if x.Correlated {
					// Outer references inside the subquery point at the
					// FROM scope; re-point them at the group keys.
					p, err := remapOuter(x.Plan, 1, func(idx int, t catalog.Type) (int, error) {
						for i, g := range st.groupBy {
							if cr, ok := g.(*ColRef); ok && cr.Idx == idx {
								return i, nil
							}
						}
						return -1, pgerror.New(pgerror.CodeGroupingError,
							"subquery uses ungrouped column %q from outer query", qualifiedName(sc, idx))
					})
					if err != nil {
						return nil, err
					}
					s.Plan = p
				}
				return &s, nil
			}
			return e, nil
		}
		rewrite = rw
	} else {
		rewrite = func(e Expr) (Expr, error) { return e, nil }
	}
	for i := range bound {
		if bound[i], err = rewrite(bound[i]); err != nil {
			return nil, nil, err
		}
	}
	if having != nil {
		if having, err = rewrite(having); err != nil {
			return nil, nil, err
		}
		input = &Filter{Input: input, Cond: having}
	}
	for i := range orders {
		if orders[i].expr != nil {
			if orders[i].expr, err = rewrite(orders[i].expr); err != nil {
				return nil, nil, err
			}
		}
	}
	for i := range distinctOn {
		if distinctOn[i], err = rewrite(distinctOn[i]); err != nil {
			return nil, nil, err
		}
	}
	// Window functions run over the (aggregated) input.
	if len(st.windows) > 0 {
		base := len(input.Columns())
		calls := make([]WindowCall, len(st.windows))
		for i, w := range st.windows {
			for j := range w.Args {
				if w.Args[j], err = rewrite(w.Args[j]); err != nil {
					return nil, nil, err
				}
			}
			for j := range w.PartitionBy {
				if w.PartitionBy[j], err = rewrite(w.PartitionBy[j]); err != nil {
					return nil, nil, err
				}
			}
			for j := range w.OrderBy {
				if w.OrderBy[j].Expr, err = rewrite(w.OrderBy[j].Expr); err != nil {
					return nil, nil, err
				}
			}
			calls[i] = w
		}
		cols := append(append([]Column(nil), input.Columns()...), make([]Column, len(calls))...)
		for i, w := range calls {
			cols[base+i] = Column{Name: w.Name, Type: w.Typ}
		}
		input = &Window{Input: input, Calls: calls, Cols: cols}
		unwin := func(e Expr) Expr {
			return MapExpr(e, func(x Expr) Expr {
				if p, ok := x.(*winPlaceholder); ok {
					return &ColRef{Idx: base + p.k, Typ: p.typ, Name: st.windows[p.k].Name}
				}
				return x
			})
		}
		for i := range bound {
			bound[i] = unwin(bound[i])
		}
		for i := range orders {
			if orders[i].expr != nil {
				orders[i].expr = unwin(orders[i].expr)
			}
		}
	}

	// Project the select list plus hidden ORDER BY expressions.
	outCols := make([]Column, len(bound))
	for i, e := range bound {
		c := Column{Name: names[i], Type: e.Type()}
		if cr, ok := e.(*ColRef); ok && !st.aggMode && len(st.windows) == 0 {
			c.Table = sc.cols[cr.Idx].table
		}
		outCols[i] = c
	}
	exprs := append([]Expr(nil), bound...)
	projCols := append([]Column(nil), outCols...)
	var keys []SortKey
	for _, o := range orders {
		idx := o.out
		if idx < 0 {
			idx = len(exprs)
			exprs = append(exprs, o.expr)
			projCols = append(projCols, Column{Name: "?order?", Type: o.expr.Type(), Hidden: true})
		}
		keys = append(keys, sortKey(&ColRef{Idx: idx, Typ: projCols[idx].Type, Name: projCols[idx].Name}, o.key))
	}
	var onExprs []Expr
	for _, d := range distinctOn {
		idx := -1
		for i := range exprs {
			if exprs[i].String() == d.String() {
				idx = i
			}
		}
		if idx < 0 {
			idx = len(exprs)
			exprs = append(exprs, d)
			projCols = append(projCols, Column{Name: "?distinct?", Type: d.Type(), Hidden: true})
		}
		onExprs = append(onExprs, &ColRef{Idx: idx, Typ: projCols[idx].Type})
	}
	var n Node = &Project{Input: input, Exprs: exprs, Cols: projCols}
	if core.Distinct || len(onExprs) > 0 {
		if len(onExprs) > 0 {
			// DISTINCT ON keeps the first row of each group in ORDER BY order.
			if len(keys) > 0 {
				n = &Sort{Input: n, Keys: keys}
			}
			n = &Distinct{Input: n, On: onExprs}
		} else {
			n = &Distinct{Input: n}
		}
	}
	n, err = b.applyOrderLimit(n, keys, sel, outer)
	if err != nil {
		return nil, nil, err
	}
	if len(projCols) > len(outCols) {
		n = trimColumns(n, outCols)
	}
	return n, outCols, nil
}

func trimColumns(n Node, cols []Column) Node {
	exprs := make([]Expr, len(cols))
	for i, c := range cols {
		exprs[i] = &ColRef{Idx: i, Typ: c.Type, Name: c.Name}
	}
	return &Project{Input: n, Exprs: exprs, Cols: cols}
}

func sortKey(e Expr, o ast.OrderItem) SortKey {
	k := SortKey{Expr: e, Desc: o.Desc, NullsFirst: o.Desc}
	if o.NullsFirst != nil {
		k.NullsFirst = *o.NullsFirst
	}
	return k
}

// applyOrderLimit adds Sort and Limit for a query whose ORDER BY keys are
// already bound.
func (b *Binder) applyOrderLimit(n Node, keys []SortKey, sel *ast.Select, outer *scope) (Node, error) {
	if len(keys) > 0 {
		n = &Sort{Input: n, Keys: keys}
	}
	if sel.Limit != nil || sel.Offset != nil {
		l := &Limit{Input: n}
		empty := &scope{parent: outer}
		if sel.Limit != nil {
			e, err := b.bindExpr(sel.Limit, empty, nil)
			if err != nil {
				return nil, err
			}
			if l.Count, err = coerce(e, catalog.TypeInt8, "LIMIT"); err != nil {
				return nil, err
			}
		}
		if sel.Offset != nil {
			e, err := b.bindExpr(sel.Offset, empty, nil)
			if err != nil {
				return nil, err
			}
			if l.Offset, err = coerce(e, catalog.TypeInt8, "OFFSET"); err != nil {
				return nil, err
			}
		}
		n = l
	}
	return n, nil
}

// bindOrderLimit applies ORDER BY/LIMIT to a set operation or VALUES,
// whose keys may only name output columns (or be ordinals).
func (b *Binder) bindOrderLimit(n Node, cols []Column, sel *ast.Select, outer *scope) (Node, []Column, error) {
	var keys []SortKey
	sc := scopeFromColumns(cols)
	for i := range sc.cols {
		sc.cols[i].table = ""
	}
	sc.parent = outer
	for _, o := range sel.OrderBy {
		var e Expr
		if lit, ok := o.Expr.(*ast.Literal); ok && lit.Kind == ast.LitInt {
			var k int
			fmt.Sscanf(lit.Val, "%d", &k)
			if k < 1 || k > len(cols) {
				return nil, nil, pgerror.New(pgerror.CodeInvalidColumnReference, "ORDER BY position %d is not in select list", k)
			}
			e = &ColRef{Idx: k - 1, Typ: cols[k-1].Type, Name: cols[k-1].Name}
		} else {
			var err error
			e, err = b.bindExpr(o.Expr, sc, nil)
			if err != nil {
				return nil, nil, err
			}
			if _, ok := e.(*ColRef); !ok {
				return nil, nil, pgerror.New(pgerror.CodeFeatureNotSupported,
					"invalid UNION/INTERSECT/EXCEPT ORDER BY clause").WithDetail("Only result column names can be used, not expressions or functions.")
			}
		}
		keys = append(keys, sortKey(e, o))
	}
	n, err := b.applyOrderLimit(n, keys, sel, outer)
	return n, cols, err
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

func qualifiedName(sc *scope, idx int) string {
	if idx < 0 || idx >= len(sc.cols) {
		return "?"
	}
	c := sc.cols[idx]
	if c.table != "" {
		return c.table + "." + c.name
	}
	return c.name
}

// outputName is the column name Postgres gives a select-list item.
func outputName(it ast.SelectItem) string {
	if it.Alias != "" {
		return it.Alias
	}
	return exprName(it.Expr)
}

func exprName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.ColumnRef:
		return x.Column
	case *ast.Subscript:
		return exprName(x.X)
	case *ast.Func:
		switch x.Name {
		case "extract", "date_part":
			if x.Name == "extract" {
				if len(x.Args) > 0 {
					if l, ok := x.Args[0].(*ast.Literal); ok {
						return strings.ToLower(l.Val)
					}
				}
				return "extract"
			}
		case "current_timestamp", "now", "current_date", "current_user", "session_user", "user", "current_database", "version":
		}
		return x.Name
	case *ast.Cast:
		if inner := exprName(x.X); inner != "?column?" {
			return inner
		}
		t, err := catalog.ParseTypeName(x.Type)
		if err == nil {
			switch t.ID {
			case catalog.Int4:
				return "int4"
			case catalog.Int8:
				return "int8"
			case catalog.Int2:
				return "int2"
			case catalog.Float8:
				return "float8"
			case catalog.Float4:
				return "float4"
			case catalog.Bool:
				return "bool"
			case catalog.Varchar:
				return "varchar"
			case catalog.Timestamp:
				return "timestamp"
			case catalog.TimestampTZ:
				return "timestamptz"
			}
			return strings.Fields(t.String())[0]
		}
	case *ast.Case:
		// Postgres names a CASE after its ELSE when that is a column or
		// a function call.
		switch x.Else.(type) {
		case *ast.ColumnRef, *ast.Func, *ast.Subscript:
			return exprName(x.Else)
		}
		return "case"
	case *ast.Exists:
		return "exists"
	case *ast.Subquery:
		if core, ok := x.Query.Body.(*ast.SelectCore); ok && len(core.Items) == 1 && !core.Items[0].Star {
			return outputName(core.Items[0])
		}
	case *ast.Array:
		return "array"
	case *ast.Row:
		return "row"
	}
	return "?column?"
}

// remapOuter rewrites OuterRefs of the given depth in a subquery plan.
func remapOuter(n Node, depth int, fn func(idx int, t catalog.Type) (int, error)) (Node, error) {
	var ferr error
	mapE := func(e Expr) Expr {
		if e == nil {
			return nil
		}
		return MapExpr(e, func(x Expr) Expr {
			switch r := x.(type) {
			case *OuterRef:
				if r.Depth == depth {
					idx, err := fn(r.Idx, r.Typ)
					if err != nil && ferr == nil {
						ferr = err
					}
					return &OuterRef{Depth: r.Depth, Idx: idx, Typ: r.Typ, Name: r.Name}
				}
			case *Subquery:
				if r.Correlated {
					p, err := remapOuter(r.Plan, depth+1, fn)
					if err != nil && ferr == nil {
						ferr = err
					}
					s := *r
					s.Plan = p
					return &s
				}
			}
			return x
		})
	}
	out := MapNodeExprs(n, mapE)
	return out, ferr
}

// withSessionKeys returns n with the SessionWindow under its filters keyed
// by the group keys that are plain input columns of the window.
func withSessionKeys(n Node, groupBy []Expr) Node {
	switch x := n.(type) {
	case *Filter:
		return &Filter{Input: withSessionKeys(x.Input, groupBy), Cond: x.Cond}
	case *SessionWindow:
		m := *x
		m.Keys = nil
		width := len(x.Input.Columns())
		for _, g := range groupBy {
			if c, ok := g.(*ColRef); ok && c.Idx < width {
				m.Keys = append(m.Keys, c)
			}
		}
		return &m
	}
	return n
}
