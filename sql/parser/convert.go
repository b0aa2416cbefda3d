package parser

import (
	"strconv"
	"strings"

	tast "github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// converter turns TiDB's tree into ours, undoing the reserved calls of
// the token pass.
type converter struct {
	sp *stmtParser
	// windows are the named windows of the SELECT being converted.
	windows []map[string]*tast.WindowSpec
}

func (c *converter) bad(what string) error {
	return pgerror.New(pgerror.CodeFeatureNotSupported, "%s is not supported", what)
}

// queryStmt converts a query statement.
func (c *converter) queryStmt(n tast.Node) (*ast.Select, error) {
	switch q := n.(type) {
	case *tast.SelectStmt:
		return c.selectStmt(q)
	case *tast.SetOprStmt:
		return c.setOpr(q)
	case *tast.SubqueryExpr:
		return c.queryStmt(q.Query)
	}
	return nil, pgerror.New(pgerror.CodeSyntaxError, "syntax error: a query was expected")
}

func (c *converter) with(w *tast.WithClause) ([]ast.CTE, error) {
	if w == nil {
		return nil, nil
	}
	if w.IsRecursive {
		return nil, c.bad("WITH RECURSIVE")
	}
	out := make([]ast.CTE, 0, len(w.CTEs))
	for _, cte := range w.CTEs {
		q, err := c.queryStmt(cte.Query)
		if err != nil {
			return nil, err
		}
		var cols []string
		for _, n := range cte.ColNameList {
			cols = append(cols, n.O)
		}
		out = append(out, ast.CTE{Name: cte.Name.O, Columns: cols, Query: q})
	}
	return out, nil
}

func (c *converter) orderLimit(sel *ast.Select, ob *tast.OrderByClause, lim *tast.Limit) error {
	if ob != nil {
		items, err := c.byItems(ob.Items)
		if err != nil {
			return err
		}
		sel.OrderBy = items
	}
	if lim != nil {
		if lim.Count != nil {
			e, err := c.expr(lim.Count)
			if err != nil {
				return err
			}
			if l, ok := e.(*ast.Literal); !ok || l.Val != noLimit {
				sel.Limit = e
			}
		}
		if lim.Offset != nil {
			e, err := c.expr(lim.Offset)
			if err != nil {
				return err
			}
			sel.Offset = e
		}
	}
	return nil
}

func (c *converter) selectStmt(s *tast.SelectStmt) (*ast.Select, error) {
	if s.LockInfo != nil && s.LockInfo.LockType != 0 {
		return nil, c.bad("SELECT ... FOR UPDATE")
	}
	if s.Kind != tast.SelectStmtKindSelect {
		return nil, c.bad("this form of query")
	}
	sel := &ast.Select{}
	var err error
	if sel.With, err = c.with(s.With); err != nil {
		return nil, err
	}
	// SELECT sqld__values(...) is a VALUES query.
	if vals, ok := valuesCall(s); ok {
		v := &ast.Values{}
		for _, r := range vals.Args {
			row, ok := r.(*tast.FuncCallExpr)
			if !ok || row.FnName.L != fnRow {
				return nil, c.bad("this VALUES form")
			}
			exprs, err := c.exprs(row.Args)
			if err != nil {
				return nil, err
			}
			if len(v.Rows) > 0 && len(exprs) != len(v.Rows[0]) {
				return nil, pgerror.New(pgerror.CodeSyntaxError, "VALUES lists must all be the same length")
			}
			v.Rows = append(v.Rows, exprs)
		}
		sel.Body = v
		return sel, c.orderLimit(sel, s.OrderBy, s.Limit)
	}
	core := &ast.SelectCore{Distinct: s.Distinct}
	if len(s.WindowSpecs) > 0 {
		m := map[string]*tast.WindowSpec{}
		for i := range s.WindowSpecs {
			m[s.WindowSpecs[i].Name.L] = &s.WindowSpecs[i]
		}
		c.windows = append(c.windows, m)
		defer func() { c.windows = c.windows[:len(c.windows)-1] }()
	}
	if s.Fields != nil {
		for i, f := range s.Fields.Fields {
			if f.WildCard != nil {
				core.Items = append(core.Items, ast.SelectItem{Star: true, Table: f.WildCard.Table.O})
				continue
			}
			if fc, ok := f.Expr.(*tast.FuncCallExpr); ok && fc.FnName.L == fnDistinctOn && i == 0 {
				if core.DistinctOn, err = c.exprs(fc.Args); err != nil {
					return nil, err
				}
				continue
			}
			e, err := c.expr(f.Expr)
			if err != nil {
				return nil, err
			}
			core.Items = append(core.Items, ast.SelectItem{Expr: e, Alias: f.AsName.O})
		}
	}
	if s.From != nil && s.From.TableRefs != nil {
		if core.From, err = c.fromList(s.From.TableRefs); err != nil {
			return nil, err
		}
	}
	if s.Where != nil {
		if core.Where, err = c.expr(s.Where); err != nil {
			return nil, err
		}
	}
	if s.GroupBy != nil {
		if s.GroupBy.Rollup {
			return nil, c.bad("WITH ROLLUP")
		}
		for _, it := range s.GroupBy.Items {
			e, err := c.expr(it.Expr)
			if err != nil {
				return nil, err
			}
			core.GroupBy = append(core.GroupBy, e)
		}
	}
	if s.Having != nil {
		if core.Having, err = c.expr(s.Having.Expr); err != nil {
			return nil, err
		}
	}
	sel.Body = core
	return sel, c.orderLimit(sel, s.OrderBy, s.Limit)
}

func valuesCall(s *tast.SelectStmt) (*tast.FuncCallExpr, bool) {
	if s.From != nil || s.Fields == nil || len(s.Fields.Fields) != 1 || s.Where != nil || s.GroupBy != nil {
		return nil, false
	}
	fc, ok := s.Fields.Fields[0].Expr.(*tast.FuncCallExpr)
	if !ok || fc.FnName.L != fnValues {
		return nil, false
	}
	return fc, true
}

// setOperand is one query of a flat set-operation list and the operator
// that joins it to the previous one.
type setOperand struct {
	q   *ast.Select
	op  ast.SetOpKind
	all bool
}

func setOpKind(t *tast.SetOprType) (ast.SetOpKind, bool) {
	if t == nil {
		return ast.Union, false
	}
	switch *t {
	case tast.UnionAll:
		return ast.Union, true
	case tast.Except:
		return ast.Except, false
	case tast.ExceptAll:
		return ast.Except, true
	case tast.Intersect:
		return ast.Intersect, false
	case tast.IntersectAll:
		return ast.Intersect, true
	}
	return ast.Union, false
}

func (c *converter) setList(l *tast.SetOprSelectList) (*ast.Select, error) {
	var ops []setOperand
	for _, n := range l.Selects {
		var q *ast.Select
		var err error
		var after *tast.SetOprType
		switch s := n.(type) {
		case *tast.SelectStmt:
			after = s.AfterSetOperator
			q, err = c.selectStmt(s)
		case *tast.SetOprSelectList:
			after = s.AfterSetOperator
			q, err = c.setList(s)
			if err == nil && (s.OrderBy != nil || s.Limit != nil) {
				if q.OrderBy != nil || q.Limit != nil || q.Offset != nil {
					q = &ast.Select{Body: q}
				}
				err = c.orderLimit(q, s.OrderBy, s.Limit)
			}
		default:
			return nil, c.bad("this set operation")
		}
		if err != nil {
			return nil, err
		}
		op, all := setOpKind(after)
		ops = append(ops, setOperand{q: q, op: op, all: all})
	}
	if len(ops) == 0 {
		return nil, c.bad("an empty set operation")
	}
	// INTERSECT binds tighter than UNION and EXCEPT.
	var terms []setOperand
	for i, o := range ops {
		if i > 0 && o.op == ast.Intersect {
			last := &terms[len(terms)-1]
			last.q = &ast.Select{Body: &ast.SetOp{Op: ast.Intersect, All: o.all, Left: last.q, Right: o.q}}
			continue
		}
		terms = append(terms, o)
	}
	acc := terms[0].q
	for _, t := range terms[1:] {
		acc = &ast.Select{Body: &ast.SetOp{Op: t.op, All: t.all, Left: acc, Right: t.q}}
	}
	with, err := c.with(l.With)
	if err != nil {
		return nil, err
	}
	if with != nil {
		acc = &ast.Select{With: with, Body: acc}
	}
	return acc, nil
}

func (c *converter) setOpr(s *tast.SetOprStmt) (*ast.Select, error) {
	q, err := c.setList(s.SelectList)
	if err != nil {
		return nil, err
	}
	// Unwrap the single-level Select the folding produced so that ORDER BY
	// and LIMIT attach to the set operation itself.
	sel := q
	if sel.OrderBy != nil || sel.Limit != nil || sel.Offset != nil {
		sel = &ast.Select{Body: q}
	}
	if sel.With, err = c.with(s.With); err != nil {
		return nil, err
	}
	if sel.With != nil && q.With != nil {
		return nil, c.bad("nested WITH")
	}
	return sel, c.orderLimit(sel, s.OrderBy, s.Limit)
}

func tableName(t *tast.TableName) string {
	if t.Schema.O != "" && t.Schema.L != "public" {
		return t.Schema.O + "." + t.Name.O
	}
	return t.Name.O
}

// fromList converts a FROM clause; top-level comma joins become the list.
func (c *converter) fromList(j *tast.Join) ([]ast.TableExpr, error) {
	if j.Right != nil && j.Tp == tast.CrossJoin && j.On == nil && j.Using == nil && !j.NaturalJoin && !j.StraightJoin && !j.ExplicitParens {
		var left []ast.TableExpr
		var err error
		if lj, ok := j.Left.(*tast.Join); ok {
			left, err = c.fromList(lj)
		} else {
			var t ast.TableExpr
			t, err = c.tableExpr(j.Left)
			left = []ast.TableExpr{t}
		}
		if err != nil {
			return nil, err
		}
		r, err := c.tableExpr(j.Right)
		if err != nil {
			return nil, err
		}
		return append(left, r), nil
	}
	t, err := c.tableExpr(j)
	if err != nil {
		return nil, err
	}
	return []ast.TableExpr{t}, nil
}

func (c *converter) alias(as string) (aliasInfo, bool) {
	if !strings.HasPrefix(as, aliasPrefix) {
		return aliasInfo{name: as}, false
	}
	n, err := strconv.Atoi(as[len(aliasPrefix):])
	if err != nil || n < 0 || n >= len(c.sp.aliases) {
		return aliasInfo{name: as}, false
	}
	return c.sp.aliases[n], true
}

func (c *converter) tableExpr(n tast.ResultSetNode) (ast.TableExpr, error) {
	switch t := n.(type) {
	case *tast.Join:
		if t.Right == nil {
			return c.tableExpr(t.Left)
		}
		l, err := c.tableExpr(t.Left)
		if err != nil {
			return nil, err
		}
		r, err := c.tableExpr(t.Right)
		if err != nil {
			return nil, err
		}
		j := &ast.Join{Left: l, Right: r, Natural: t.NaturalJoin}
		switch {
		case t.StraightJoin:
			j.Kind = ast.FullJoin
		case t.Tp == tast.LeftJoin:
			j.Kind = ast.LeftJoin
		case t.Tp == tast.RightJoin:
			j.Kind = ast.RightJoin
		case t.On == nil && t.Using == nil && !t.NaturalJoin:
			j.Kind = ast.CrossJoin
		default:
			j.Kind = ast.InnerJoin
		}
		if t.On != nil {
			if j.On, err = c.expr(t.On.Expr); err != nil {
				return nil, err
			}
		}
		for _, u := range t.Using {
			j.Using = append(j.Using, u.Name.O)
		}
		return j, nil
	case *tast.TableSource:
		a, _ := c.alias(t.AsName.O)
		switch src := t.Source.(type) {
		case *tast.TableName:
			return &ast.TableName{Schema: src.Schema.O, Name: src.Name.O, Alias: a.name, ColAliases: a.cols, AsOfProctime: a.asOf}, nil
		case *tast.SelectStmt:
			if src.From == nil && src.Fields != nil && len(src.Fields.Fields) == 1 {
				if fc, ok := src.Fields.Fields[0].Expr.(*tast.FuncCallExpr); ok && fc.FnName.L == fnTableFunc {
					if len(fc.Args) == 0 {
						return nil, c.bad("this table function")
					}
					name, ok := stringValue(fc.Args[0])
					if !ok {
						return nil, c.bad("this table function")
					}
					args, err := c.exprs(fc.Args[1:])
					if err != nil {
						return nil, err
					}
					return &ast.TableFunc{Name: name, Args: args, Alias: a.name, ColAliases: a.cols}, nil
				}
			}
			q, err := c.selectStmt(src)
			if err != nil {
				return nil, err
			}
			return &ast.SubqueryTable{Query: q, Alias: a.name, ColAliases: a.cols, Lateral: a.lateral || t.Lateral}, nil
		case *tast.SetOprStmt:
			q, err := c.setOpr(src)
			if err != nil {
				return nil, err
			}
			return &ast.SubqueryTable{Query: q, Alias: a.name, ColAliases: a.cols, Lateral: a.lateral || t.Lateral}, nil
		case *tast.Join:
			return c.tableExpr(src)
		}
	}
	return nil, c.bad("this FROM item")
}

func stringValue(e tast.ExprNode) (string, bool) {
	v, ok := e.(*driver.ValueExpr)
	if !ok || v.Datum.Kind() != driver.KindString {
		return "", false
	}
	return v.Datum.GetString(), true
}

func (c *converter) exprs(in []tast.ExprNode) ([]ast.Expr, error) {
	out := make([]ast.Expr, len(in))
	for i, e := range in {
		x, err := c.expr(e)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func (c *converter) byItems(items []*tast.ByItem) ([]ast.OrderItem, error) {
	out := make([]ast.OrderItem, 0, len(items))
	for _, it := range items {
		oi := ast.OrderItem{Desc: it.Desc}
		e := it.Expr
		if fc, ok := e.(*tast.FuncCallExpr); ok && fc.FnName.L == fnNulls && len(fc.Args) == 2 {
			first := intValue(fc.Args[1]) == 1
			oi.NullsFirst = &first
			e = fc.Args[0]
		}
		x, err := c.expr(e)
		if err != nil {
			return nil, err
		}
		oi.Expr = x
		out = append(out, oi)
	}
	return out, nil
}

func intValue(e tast.ExprNode) int64 {
	if v, ok := e.(*driver.ValueExpr); ok {
		switch v.Datum.Kind() {
		case driver.KindInt64:
			return v.Datum.GetInt64()
		case driver.KindUint64:
			return int64(v.Datum.GetUint64())
		}
	}
	return -1
}

func (c *converter) assignments(list []*tast.Assignment) ([]ast.Assignment, error) {
	out := make([]ast.Assignment, 0, len(list))
	for _, a := range list {
		as := ast.Assignment{Column: a.Column.Name.O}
		if _, ok := a.Expr.(*tast.DefaultExpr); !ok {
			e, err := c.expr(a.Expr)
			if err != nil {
				return nil, err
			}
			as.Value = e
		}
		out = append(out, as)
	}
	return out, nil
}

var binOps = map[opcode.Op]string{
	opcode.LogicAnd: "and", opcode.LogicOr: "or", opcode.GE: ">=", opcode.LE: "<=", opcode.EQ: "=",
	opcode.NE: "<>", opcode.LT: "<", opcode.GT: ">", opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*",
	opcode.Div: "/", opcode.Mod: "%", opcode.And: "&", opcode.Or: "|", opcode.Xor: "^",
	opcode.LeftShift: "<<", opcode.RightShift: ">>",
}

func (c *converter) literal(v *driver.ValueExpr) (ast.Expr, error) {
	d := &v.Datum
	switch d.Kind() {
	case driver.KindNull:
		return &ast.Literal{Kind: ast.LitNull}, nil
	case driver.KindInt64:
		return &ast.Literal{Kind: ast.LitInt, Val: strconv.FormatInt(d.GetInt64(), 10)}, nil
	case driver.KindUint64:
		u := d.GetUint64()
		if u <= 1<<63-1 {
			return &ast.Literal{Kind: ast.LitInt, Val: strconv.FormatUint(u, 10)}, nil
		}
		return &ast.Literal{Kind: ast.LitNumeric, Val: strconv.FormatUint(u, 10)}, nil
	case driver.KindMysqlDecimal:
		return &ast.Literal{Kind: ast.LitNumeric, Val: d.GetMysqlDecimal().String()}, nil
	case driver.KindFloat64:
		return &ast.Literal{Kind: ast.LitFloat, Val: strconv.FormatFloat(d.GetFloat64(), 'g', -1, 64)}, nil
	case driver.KindString:
		return &ast.Literal{Kind: ast.LitString, Val: d.GetString()}, nil
	case driver.KindBytes:
		return &ast.Literal{Kind: ast.LitString, Val: string(d.GetBytes())}, nil
	}
	return nil, c.bad("this literal")
}

func (c *converter) expr(n tast.ExprNode) (ast.Expr, error) {
	switch e := n.(type) {
	case *driver.ValueExpr:
		return c.literal(e)
	case *tast.ColumnNameExpr:
		return &ast.ColumnRef{Table: e.Name.Table.O, Column: e.Name.Name.O}, nil
	case *tast.PositionExpr:
		if e.P != nil {
			return c.expr(e.P)
		}
		return &ast.Literal{Kind: ast.LitInt, Val: strconv.Itoa(e.N)}, nil
	case *tast.ParenthesesExpr:
		return c.expr(e.Expr)
	case *tast.BinaryOperationExpr:
		l, err := c.expr(e.L)
		if err != nil {
			return nil, err
		}
		if fc, ok := e.R.(*tast.FuncCallExpr); ok {
			switch fc.FnName.L {
			case fnAny, fnAll:
				list, err := c.exprs(fc.Args)
				if err != nil {
					return nil, err
				}
				op, ok := binOps[e.Op]
				if !ok {
					return nil, c.bad("this quantified comparison")
				}
				if list == nil {
					list = []ast.Expr{}
				}
				return &ast.Quantified{X: l, Op: op, All: fc.FnName.L == fnAll, List: list}, nil
			case fnIsDistinct:
				if e.Op == opcode.NullEQ && len(fc.Args) == 1 {
					r, err := c.expr(fc.Args[0])
					if err != nil {
						return nil, err
					}
					return &ast.IsDistinct{L: l, R: r}, nil
				}
			}
		}
		r, err := c.expr(e.R)
		if err != nil {
			return nil, err
		}
		if e.Op == opcode.NullEQ {
			return &ast.IsDistinct{L: l, R: r, Not: true}, nil
		}
		op, ok := binOps[e.Op]
		if !ok {
			return nil, c.bad("operator " + e.Op.String())
		}
		return &ast.Binary{Op: op, L: l, R: r}, nil
	case *tast.UnaryOperationExpr:
		x, err := c.expr(e.V)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case opcode.Not, opcode.Not2:
			if ex, ok := x.(*ast.Exists); ok {
				return &ast.Exists{Query: ex.Query, Not: !ex.Not}, nil
			}
			return &ast.Unary{Op: "not", X: x}, nil
		case opcode.Minus:
			return &ast.Unary{Op: "-", X: x}, nil
		case opcode.Plus:
			return &ast.Unary{Op: "+", X: x}, nil
		case opcode.BitNeg:
			return &ast.Unary{Op: "~", X: x}, nil
		}
		return nil, c.bad("operator " + e.Op.String())
	case *tast.IsNullExpr:
		x, err := c.expr(e.Expr)
		if err != nil {
			return nil, err
		}
		return &ast.IsNull{X: x, Not: e.Not}, nil
	case *tast.IsTruthExpr:
		x, err := c.expr(e.Expr)
		if err != nil {
			return nil, err
		}
		v := "false"
		if e.True != 0 {
			v = "true"
		}
		return &ast.IsBool{X: x, Not: e.Not, Value: v}, nil
	case *tast.BetweenExpr:
		x, err := c.expr(e.Expr)
		if err != nil {
			return nil, err
		}
		lo := e.Left
		sym := false
		if fc, ok := lo.(*tast.FuncCallExpr); ok && fc.FnName.L == fnSymmetric && len(fc.Args) == 1 {
			sym, lo = true, fc.Args[0]
		}
		l, err := c.expr(lo)
		if err != nil {
			return nil, err
		}
		h, err := c.expr(e.Right)
		if err != nil {
			return nil, err
		}
		return &ast.Between{X: x, Lo: l, Hi: h, Not: e.Not, Symmetric: sym}, nil
	case *tast.PatternInExpr:
		x, err := c.expr(e.Expr)
		if err != nil {
			return nil, err
		}
		if e.Sel != nil {
			q, err := c.subquery(e.Sel)
			if err != nil {
				return nil, err
			}
			return &ast.InSubquery{X: x, Query: q, Not: e.Not}, nil
		}
		list, err := c.exprs(e.List)
		if err != nil {
			return nil, err
		}
		return &ast.InList{X: x, List: list, Not: e.Not}, nil
	case *tast.PatternLikeOrIlikeExpr:
		x, err := c.expr(e.Expr)
		if err != nil {
			return nil, err
		}
		pat := e.Pattern
		similar := false
		if fc, ok := pat.(*tast.FuncCallExpr); ok && fc.FnName.L == fnSimilar && len(fc.Args) == 1 {
			similar, pat = true, fc.Args[0]
		}
		p, err := c.expr(pat)
		if err != nil {
			return nil, err
		}
		l := &ast.Like{X: x, Pattern: p, Not: e.Not, CaseInsensitive: !e.IsLike, SimilarTo: similar}
		if e.Escape != '\\' {
			l.Escape = &ast.Literal{Kind: ast.LitString, Val: string(rune(e.Escape))}
		}
		return l, nil
	case *tast.PatternRegexpExpr:
		x, err := c.expr(e.Expr)
		if err != nil {
			return nil, err
		}
		pat := e.Pattern
		ci := false
		if fc, ok := pat.(*tast.FuncCallExpr); ok && fc.FnName.L == fnCI && len(fc.Args) == 1 {
			ci, pat = true, fc.Args[0]
		}
		p, err := c.expr(pat)
		if err != nil {
			return nil, err
		}
		return &ast.Like{X: x, Pattern: p, Not: e.Not, Regex: true, CaseInsensitive: ci}, nil
	case *tast.CaseExpr:
		ce := &ast.Case{}
		var err error
		if e.Value != nil {
			if ce.Operand, err = c.expr(e.Value); err != nil {
				return nil, err
			}
		}
		for _, w := range e.WhenClauses {
			cond, err := c.expr(w.Expr)
			if err != nil {
				return nil, err
			}
			res, err := c.expr(w.Result)
			if err != nil {
				return nil, err
			}
			ce.Whens = append(ce.Whens, ast.When{Cond: cond, Result: res})
		}
		if e.ElseClause != nil {
			if ce.Else, err = c.expr(e.ElseClause); err != nil {
				return nil, err
			}
		}
		return ce, nil
	case *tast.SubqueryExpr:
		q, err := c.subquery(e)
		if err != nil {
			return nil, err
		}
		return &ast.Subquery{Query: q}, nil
	case *tast.ExistsSubqueryExpr:
		q, err := c.subquery(e.Sel)
		if err != nil {
			return nil, err
		}
		return &ast.Exists{Query: q, Not: e.Not}, nil
	case *tast.CompareSubqueryExpr:
		x, err := c.expr(e.L)
		if err != nil {
			return nil, err
		}
		q, err := c.subquery(e.R)
		if err != nil {
			return nil, err
		}
		op, ok := binOps[e.Op]
		if !ok {
			return nil, c.bad("this quantified comparison")
		}
		return &ast.Quantified{X: x, Op: op, All: e.All, Query: q}, nil
	case *tast.RowExpr:
		xs, err := c.exprs(e.Values)
		if err != nil {
			return nil, err
		}
		return &ast.Row{Exprs: xs}, nil
	case *tast.DefaultExpr:
		if e.Name != nil {
			return nil, c.bad("DEFAULT(column)")
		}
		return &ast.Default{}, nil
	case *tast.FuncCallExpr:
		return c.funcCall(e)
	case *tast.AggregateFuncExpr:
		f := &ast.Func{Name: strings.ToLower(e.F), Distinct: e.Distinct}
		if err := c.funcArgs(f, e.Args); err != nil {
			return nil, err
		}
		if e.Order != nil {
			return nil, c.bad("this aggregate form")
		}
		return f, nil
	case *tast.WindowFuncExpr:
		f := &ast.Func{Name: strings.ToLower(e.Name), Distinct: e.Distinct}
		if e.IgnoreNull || e.FromLast {
			return nil, c.bad("IGNORE NULLS / FROM LAST")
		}
		if err := c.funcArgs(f, e.Args); err != nil {
			return nil, err
		}
		spec, err := c.windowSpec(&e.Spec)
		if err != nil {
			return nil, err
		}
		f.Over = spec
		return f, nil
	case *tast.FuncCastExpr:
		return nil, c.bad("this CAST form")
	case *tast.VariableExpr:
		return nil, c.bad("variables")
	}
	return nil, c.bad("this expression")
}

func (c *converter) subquery(n tast.ExprNode) (*ast.Select, error) {
	sq, ok := n.(*tast.SubqueryExpr)
	if !ok {
		return nil, c.bad("this subquery form")
	}
	return c.queryStmt(sq.Query)
}

func (c *converter) funcArgs(f *ast.Func, args []tast.ExprNode) error {
	if len(args) == 1 {
		if fc, ok := args[0].(*tast.FuncCallExpr); ok && fc.FnName.L == fnStar {
			f.Star = true
			return nil
		}
	}
	xs, err := c.exprs(args)
	if err != nil {
		return err
	}
	f.Args = xs
	return nil
}

func (c *converter) windowSpec(s *tast.WindowSpec) (*ast.WindowSpec, error) {
	// Inline a reference to a named window of the WINDOW clause.
	ref := s.Ref.L
	if s.OnlyAlias {
		ref = s.Name.L
	}
	out := &ast.WindowSpec{}
	if ref != "" {
		var def *tast.WindowSpec
		for i := len(c.windows) - 1; i >= 0 && def == nil; i-- {
			def = c.windows[i][ref]
		}
		if def == nil {
			return nil, pgerror.New("42704", "window %q does not exist", ref)
		}
		base, err := c.windowSpec(def)
		if err != nil {
			return nil, err
		}
		out = base
	}
	if s.PartitionBy != nil {
		for _, it := range s.PartitionBy.Items {
			e, err := c.expr(it.Expr)
			if err != nil {
				return nil, err
			}
			out.PartitionBy = append(out.PartitionBy, e)
		}
	}
	if s.OrderBy != nil {
		items, err := c.byItems(s.OrderBy.Items)
		if err != nil {
			return nil, err
		}
		out.OrderBy = items
	}
	if s.Frame != nil {
		f, err := c.frame(s.Frame)
		if err != nil {
			return nil, err
		}
		out.Frame = f
	}
	return out, nil
}

func (c *converter) frame(f *tast.FrameClause) (string, error) {
	var sb strings.Builder
	switch f.Type {
	case tast.Rows:
		sb.WriteString("ROWS ")
	case tast.Ranges:
		sb.WriteString("RANGE ")
	default:
		sb.WriteString("GROUPS ")
	}
	bound := func(b tast.FrameBound) (string, error) {
		dir := "FOLLOWING"
		if b.Type == tast.Preceding {
			dir = "PRECEDING"
		}
		switch {
		case b.Type == tast.CurrentRow:
			return "CURRENT ROW", nil
		case b.UnBounded:
			return "UNBOUNDED " + dir, nil
		}
		e, err := c.expr(b.Expr)
		if err != nil {
			return "", err
		}
		return FormatExpr(e) + " " + dir, nil
	}
	start, err := bound(f.Extent.Start)
	if err != nil {
		return "", err
	}
	end, err := bound(f.Extent.End)
	if err != nil {
		return "", err
	}
	sb.WriteString("BETWEEN " + start + " AND " + end)
	return sb.String(), nil
}

// trimNames maps TiDB's trim directions onto Postgres function names.
var trimNames = map[tast.TrimDirectionType]string{
	tast.TrimBothDefault: "btrim", tast.TrimBoth: "btrim", tast.TrimLeading: "ltrim", tast.TrimTrailing: "rtrim",
}

func (c *converter) funcCall(e *tast.FuncCallExpr) (ast.Expr, error) {
	name := e.FnName.L
	args := e.Args
	switch name {
	case fnCast:
		if len(args) == 2 {
			typ, ok := stringValue(args[1])
			x, err := c.expr(args[0])
			if err != nil {
				return nil, err
			}
			if ok {
				return &ast.Cast{X: x, Type: typ}, nil
			}
		}
	case fnInterval:
		if len(args) == 2 {
			v, ok1 := stringValue(args[0])
			u, ok2 := stringValue(args[1])
			if ok1 && ok2 {
				return &ast.IntervalLit{Value: v, Unit: u}, nil
			}
		}
	case fnBool:
		if len(args) == 1 {
			v := "false"
			if intValue(args[0]) == 1 {
				v = "true"
			}
			return &ast.Literal{Kind: ast.LitBool, Val: v}, nil
		}
	case fnParam:
		if len(args) == 1 {
			n := intValue(args[0])
			if n < 1 || n > 1<<31-1 {
				return nil, pgerror.New(pgerror.CodeUndefinedParameter, "there is no parameter $%d", n)
			}
			return &ast.Param{Index: int(n)}, nil
		}
	case fnFloat:
		if len(args) == 1 {
			if s, ok := stringValue(args[0]); ok {
				return &ast.Literal{Kind: ast.LitFloat, Val: s}, nil
			}
		}
	case fnNumeric:
		if len(args) == 1 {
			if s, ok := stringValue(args[0]); ok {
				return &ast.Literal{Kind: ast.LitNumeric, Val: s}, nil
			}
		}
	case fnArray:
		xs, err := c.exprs(args)
		if err != nil {
			return nil, err
		}
		return &ast.Array{Exprs: xs}, nil
	case fnSubscript:
		if len(args) == 2 {
			x, err := c.expr(args[0])
			if err != nil {
				return nil, err
			}
			i, err := c.expr(args[1])
			if err != nil {
				return nil, err
			}
			return &ast.Subscript{X: x, Index: i}, nil
		}
	case fnExtract:
		if len(args) == 2 {
			field, ok := stringValue(args[0])
			x, err := c.expr(args[1])
			if err != nil {
				return nil, err
			}
			if ok {
				return &ast.Func{Name: "extract", Args: []ast.Expr{&ast.Literal{Kind: ast.LitString, Val: field}, x}}, nil
			}
		}
	case fnConcat, fnMod:
		xs, err := c.exprs(args)
		if err != nil {
			return nil, err
		}
		return &ast.Func{Name: strings.TrimPrefix(name, "sqld__fn_"), Args: xs}, nil
	case "concat":
		// TiDB's spelling of ||.
		xs, err := c.exprs(args)
		if err != nil {
			return nil, err
		}
		if len(xs) < 2 {
			return &ast.Func{Name: "concat", Args: xs}, nil
		}
		acc := xs[0]
		for _, x := range xs[1:] {
			acc = &ast.Binary{Op: "||", L: acc, R: x}
		}
		return acc, nil
	case fnAgg:
		if len(args) >= 2 {
			x, err := c.expr(args[0])
			if err != nil {
				return nil, err
			}
			f, ok := x.(*ast.Func)
			flags, ok2 := stringValue(args[1])
			if ok && ok2 {
				f.Distinct = f.Distinct || strings.Contains(flags, "d")
				for _, o := range args[2:] {
					oc, ok := o.(*tast.FuncCallExpr)
					if !ok || oc.FnName.L != fnOrd || len(oc.Args) != 2 {
						return nil, c.bad("this aggregate form")
					}
					oe, err := c.expr(oc.Args[0])
					if err != nil {
						return nil, err
					}
					fl, _ := stringValue(oc.Args[1])
					oi := ast.OrderItem{Expr: oe, Desc: strings.HasPrefix(fl, "d")}
					if strings.HasSuffix(fl, "f") || strings.HasSuffix(fl, "l") {
						first := strings.HasSuffix(fl, "f")
						oi.NullsFirst = &first
					}
					f.OrderBy = append(f.OrderBy, oi)
				}
				return f, nil
			}
		}
	case fnFilter:
		if len(args) == 2 {
			x, err := c.expr(args[0])
			if err != nil {
				return nil, err
			}
			f, ok := x.(*ast.Func)
			if ok && f.Over == nil {
				if f.Filter, err = c.expr(args[1]); err != nil {
					return nil, err
				}
				return f, nil
			}
		}
	case "trim":
		if len(args) == 0 {
			break
		}
		dir := tast.TrimBothDefault
		if len(args) == 3 {
			if d, ok := args[2].(*tast.TrimDirectionExpr); ok {
				dir = d.Direction
			}
		}
		x, err := c.expr(args[0])
		if err != nil {
			return nil, err
		}
		f := &ast.Func{Name: trimNames[dir], Args: []ast.Expr{x}}
		if len(args) >= 2 && args[1] != nil {
			if v, ok := args[1].(*driver.ValueExpr); !ok || v.Datum.Kind() != driver.KindNull || len(args) == 2 {
				y, err := c.expr(args[1])
				if err != nil {
					return nil, err
				}
				f.Args = append(f.Args, y)
			}
		}
		return f, nil
	case "date_part":
		xs, err := c.exprs(args)
		if err != nil {
			return nil, err
		}
		return &ast.Func{Name: "extract", Args: xs}, nil
	case "extract", "date_add", "date_sub", "adddate", "subdate", "timestampadd", "timestampdiff", "get_format":
		for _, a := range args {
			if _, ok := a.(*tast.TimeUnitExpr); ok {
				return nil, c.bad(name + " with a MySQL time unit")
			}
			if _, ok := a.(*tast.GetFormatSelectorExpr); ok {
				return nil, c.bad(name)
			}
		}
	}
	if strings.HasPrefix(name, "sqld__") {
		return nil, c.bad("function " + name)
	}
	f := &ast.Func{Name: e.FnName.O}
	if e.FnName.O == e.FnName.L || !isQuotedName(e.FnName.O) {
		f.Name = name
	}
	for _, a := range args {
		switch a.(type) {
		case *tast.TimeUnitExpr, *tast.TrimDirectionExpr, *tast.GetFormatSelectorExpr:
			return nil, c.bad("function " + name + " in this form")
		}
	}
	if err := c.funcArgs(f, args); err != nil {
		return nil, err
	}
	return f, nil
}

// isQuotedName reports whether a function name kept its case, which only
// a quoted name can (unquoted ones are lower-cased by the token pass).
func isQuotedName(s string) bool { return strings.ToLower(s) != s }
