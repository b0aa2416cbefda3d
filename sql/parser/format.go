package parser

import (
	"fmt"
	"strings"

	"github.com/sqld/sqld/sql/ast"
)

// Format prints a node of sql/ast (a statement, query, FROM item or
// expression) as canonical SQL that Parse reads back to the same tree:
// keywords upper case, identifiers quoted only when needed, every nested
// operator expression parenthesised.
func Format(n any) string {
	var f formatter
	f.node(n)
	return f.sb.String()
}

// FormatExpr prints an expression as canonical SQL.
func FormatExpr(e ast.Expr) string { return Format(e) }

// QuoteIdent returns s as an identifier: bare when that reads back the
// same, double-quoted otherwise.
func QuoteIdent(s string) string {
	if s == "" {
		return `""`
	}
	ok := isIdentStart(s[0]) && s[0] < 0x80
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c == '_' || (c >= 'a' && c <= 'z') || isDigit(c)
	}
	if ok && !reservedWords[s] {
		return s
	}
	return quoteIdent(s)
}

// reservedWords need quoting as identifiers.
var reservedWords = wordSet(`all analyse analyze and any array as asc asymmetric both case cast check collate
	column constraint create current_catalog current_date current_role current_time current_timestamp
	current_user default deferrable desc distinct do else end except false fetch for foreign from grant
	group having in initially intersect into lateral leading limit localtime localtimestamp not null offset
	on only or order placing primary references returning select session_user some symmetric table then to
	trailing true union unique user using variadic when where window with interval emit watermark key
	natural join left right full inner outer cross is isnull notnull like ilike similar between over
	filter values set`)

// QuoteString returns s as a SQL string literal.
func QuoteString(s string) string { return quoteString(s) }

type formatter struct{ sb strings.Builder }

func (f *formatter) w(ss ...string) {
	for _, s := range ss {
		f.sb.WriteString(s)
	}
}

func (f *formatter) node(n any) {
	switch x := n.(type) {
	case nil:
	case ast.Statement:
		f.stmt(x)
	case ast.Expr:
		f.expr(x)
	case ast.TableExpr:
		f.table(x)
	case ast.QueryBody:
		f.body(x)
	case []ast.SelectItem:
		f.items(x)
	default:
		f.w(fmt.Sprintf("<%T>", n))
	}
}

func (f *formatter) names(ns []string) {
	for i, n := range ns {
		if i > 0 {
			f.w(", ")
		}
		f.w(QuoteIdent(n))
	}
}

func qualified(n string) string {
	parts := strings.Split(n, ".")
	for i, p := range parts {
		parts[i] = QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}

func (f *formatter) options(opts []ast.Option) {
	f.w(" WITH (")
	for i, o := range opts {
		if i > 0 {
			f.w(", ")
		}
		f.w(qualified(o.Key), " = ", quoteString(o.Value))
	}
	f.w(")")
}

func (f *formatter) stmt(s ast.Statement) {
	switch x := s.(type) {
	case *ast.Select:
		f.query(x)
	case *ast.CreateTable:
		f.w("CREATE ", x.Kind.String(), " ")
		if x.IfNotExists {
			f.w("IF NOT EXISTS ")
		}
		f.w(qualified(x.Name))
		if x.AsQuery != nil && len(x.Columns) == 0 {
			f.w(" AS ")
			f.query(x.AsQuery)
			return
		}
		f.w(" (")
		for i, c := range x.Columns {
			if i > 0 {
				f.w(", ")
			}
			f.w(QuoteIdent(c.Name), " ", c.Type)
			if c.NotNull {
				f.w(" NOT NULL")
			}
			if c.Null {
				f.w(" NULL")
			}
			if c.PrimaryKey {
				f.w(" PRIMARY KEY")
			}
			if c.Unique {
				f.w(" UNIQUE")
			}
			if c.Default != nil {
				f.w(" DEFAULT ")
				f.expr(c.Default)
			}
		}
		if len(x.PrimaryKey) > 0 {
			f.w(", PRIMARY KEY (")
			f.names(x.PrimaryKey)
			f.w(")")
		}
		if x.Watermark != nil {
			f.w(", WATERMARK FOR ", QuoteIdent(x.Watermark.Column), " AS ")
			f.expr(x.Watermark.Expr)
		}
		f.w(")")
		if len(x.With) > 0 {
			f.options(x.With)
		}
	case *ast.CreateView:
		f.w("CREATE ")
		if x.OrReplace {
			f.w("OR REPLACE ")
		}
		if x.Materialized {
			f.w("MATERIALIZED ")
		}
		f.w("VIEW ")
		if x.IfNotExists {
			f.w("IF NOT EXISTS ")
		}
		f.w(qualified(x.Name))
		if len(x.Columns) > 0 {
			f.w(" (")
			f.names(x.Columns)
			f.w(")")
		}
		if len(x.With) > 0 {
			f.options(x.With)
		}
		f.w(" AS ")
		f.query(x.Query)
	case *ast.CreateIndex:
		f.w("CREATE ")
		if x.Unique {
			f.w("UNIQUE ")
		}
		f.w("INDEX ")
		if x.IfNotExists {
			f.w("IF NOT EXISTS ")
		}
		if x.Name != "" {
			f.w(QuoteIdent(x.Name), " ")
		}
		f.w("ON ", qualified(x.Table), " (")
		f.names(x.Columns)
		f.w(")")
	case *ast.Drop:
		f.w("DROP ", x.Kind.String(), " ")
		if x.IfExists {
			f.w("IF EXISTS ")
		}
		for i, n := range x.Names {
			if i > 0 {
				f.w(", ")
			}
			f.w(qualified(n))
		}
		if x.Cascade {
			f.w(" CASCADE")
		}
	case *ast.CreateFunction:
		f.createFunction(x)
	case *ast.DropFunction:
		f.dropFunction(x)
	case *ast.Insert:
		f.w("INSERT INTO ", qualified(x.Table))
		if len(x.Columns) > 0 {
			f.w(" (")
			f.names(x.Columns)
			f.w(")")
		}
		if x.DefaultValues {
			f.w(" DEFAULT VALUES")
		} else if x.Source != nil {
			f.w(" ")
			f.query(x.Source)
		}
		if oc := x.OnConflict; oc != nil {
			f.w(" ON CONFLICT")
			if len(oc.Columns) > 0 {
				f.w(" (")
				f.names(oc.Columns)
				f.w(")")
			}
			if oc.DoNothing {
				f.w(" DO NOTHING")
			} else {
				f.w(" DO UPDATE SET ")
				f.assignments(oc.Set)
				if oc.Where != nil {
					f.w(" WHERE ")
					f.expr(oc.Where)
				}
			}
		}
		f.returning(x.Returning)
	case *ast.Update:
		f.w("UPDATE ", qualified(x.Table))
		if x.Alias != "" {
			f.w(" AS ", QuoteIdent(x.Alias))
		}
		f.w(" SET ")
		f.assignments(x.Set)
		if len(x.From) > 0 {
			f.w(" FROM ")
			f.from(x.From)
		}
		if x.Where != nil {
			f.w(" WHERE ")
			f.expr(x.Where)
		}
		f.returning(x.Returning)
	case *ast.Delete:
		f.w("DELETE FROM ", qualified(x.Table))
		if x.Alias != "" {
			f.w(" AS ", QuoteIdent(x.Alias))
		}
		if x.Where != nil {
			f.w(" WHERE ")
			f.expr(x.Where)
		}
		f.returning(x.Returning)
	case *ast.Copy:
		f.w("COPY ")
		if x.Query != nil {
			f.w("(")
			f.query(x.Query)
			f.w(")")
		} else {
			f.w(qualified(x.Table))
			if len(x.Columns) > 0 {
				f.w(" (")
				f.names(x.Columns)
				f.w(")")
			}
		}
		if x.To {
			f.w(" TO STDOUT")
		} else {
			f.w(" FROM STDIN")
		}
		if len(x.Options) > 0 {
			f.w(" (")
			for i, o := range x.Options {
				if i > 0 {
					f.w(", ")
				}
				f.w(strings.ToUpper(o.Key), " ", quoteString(o.Value))
			}
			f.w(")")
		}
	case *ast.Set:
		f.w("SET ")
		if x.Local {
			f.w("LOCAL ")
		}
		f.w(qualified(x.Name), " = ")
		if x.Default {
			f.w("DEFAULT")
		}
		for i, v := range x.Values {
			if i > 0 {
				f.w(", ")
			}
			f.w(quoteString(v))
		}
	case *ast.Reset:
		if x.Name == "all" {
			f.w("RESET ALL")
		} else {
			f.w("RESET ", qualified(x.Name))
		}
	case *ast.Show:
		if x.Name == "all" {
			f.w("SHOW ALL")
		} else {
			f.w("SHOW ", qualified(x.Name))
		}
	case *ast.ShowObjects:
		f.w("SHOW ", strings.ToUpper(x.Kind))
	case *ast.ShowCreate:
		f.w("SHOW CREATE ", x.Kind.String(), " ", qualified(x.Name))
	case *ast.Describe:
		f.w("DESCRIBE ", qualified(x.Name))
	case *ast.Transaction:
		switch x.Kind {
		case ast.TxBegin:
			f.w("BEGIN")
		case ast.TxCommit:
			f.w("COMMIT")
		default:
			f.w("ROLLBACK")
		}
	case *ast.Explain:
		f.w("EXPLAIN ")
		if x.Analyze {
			f.w("ANALYZE ")
		}
		if x.Verbose {
			f.w("VERBOSE ")
		}
		f.stmt(x.Stmt)
	case *ast.Flush:
		f.w("FLUSH")
	case *ast.Discard:
		f.w("DISCARD ", strings.ToUpper(x.What))
	case *ast.Deallocate:
		if x.All {
			f.w("DEALLOCATE ALL")
		} else {
			f.w("DEALLOCATE ", QuoteIdent(x.Name))
		}
	case *ast.Noop:
		f.w(x.Tag)
	default:
		f.w(fmt.Sprintf("<%T>", s))
	}
}

func (f *formatter) assignments(as []ast.Assignment) {
	for i, a := range as {
		if i > 0 {
			f.w(", ")
		}
		f.w(QuoteIdent(a.Column), " = ")
		if a.Value == nil {
			f.w("DEFAULT")
		} else {
			f.expr(a.Value)
		}
	}
}

func (f *formatter) returning(items []ast.SelectItem) {
	if len(items) > 0 {
		f.w(" RETURNING ")
		f.items(items)
	}
}

func (f *formatter) items(items []ast.SelectItem) {
	for i, it := range items {
		if i > 0 {
			f.w(", ")
		}
		switch {
		case it.Star && it.Table != "":
			f.w(QuoteIdent(it.Table), ".*")
		case it.Star:
			f.w("*")
		default:
			f.expr(it.Expr)
			if it.Alias != "" {
				f.w(" AS ", QuoteIdent(it.Alias))
			}
		}
	}
}

func (f *formatter) query(s *ast.Select) {
	if len(s.With) > 0 {
		f.w("WITH ")
		for i, c := range s.With {
			if i > 0 {
				f.w(", ")
			}
			f.w(QuoteIdent(c.Name))
			if len(c.Columns) > 0 {
				f.w(" (")
				f.names(c.Columns)
				f.w(")")
			}
			f.w(" AS (")
			f.query(c.Query)
			f.w(")")
		}
		f.w(" ")
	}
	f.body(s.Body)
	f.orderBy(s.OrderBy)
	if s.Limit != nil {
		f.w(" LIMIT ")
		f.expr(s.Limit)
	}
	if s.Offset != nil {
		f.w(" OFFSET ")
		f.expr(s.Offset)
	}
	if s.EmitOnWindowClose {
		f.w(" EMIT ON WINDOW CLOSE")
	}
}

func (f *formatter) orderBy(items []ast.OrderItem) {
	if len(items) == 0 {
		return
	}
	f.w(" ORDER BY ")
	f.orderItems(items)
}

func (f *formatter) orderItems(items []ast.OrderItem) {
	for i, o := range items {
		if i > 0 {
			f.w(", ")
		}
		f.expr(o.Expr)
		if o.Desc {
			f.w(" DESC")
		}
		if o.NullsFirst != nil {
			if *o.NullsFirst {
				f.w(" NULLS FIRST")
			} else {
				f.w(" NULLS LAST")
			}
		}
	}
}

func (f *formatter) body(b ast.QueryBody) {
	switch x := b.(type) {
	case *ast.SelectCore:
		f.w("SELECT ")
		if len(x.DistinctOn) > 0 {
			f.w("DISTINCT ON (")
			f.exprList(x.DistinctOn)
			f.w(") ")
		} else if x.Distinct {
			f.w("DISTINCT ")
		}
		f.items(x.Items)
		if len(x.From) > 0 {
			f.w(" FROM ")
			f.from(x.From)
		}
		if x.Where != nil {
			f.w(" WHERE ")
			f.expr(x.Where)
		}
		if len(x.GroupBy) > 0 {
			f.w(" GROUP BY ")
			f.exprList(x.GroupBy)
		}
		if x.Having != nil {
			f.w(" HAVING ")
			f.expr(x.Having)
		}
	case *ast.SetOp:
		f.setOperand(x.Left)
		f.w(" ", x.Op.String(), " ")
		if x.All {
			f.w("ALL ")
		}
		f.setOperand(x.Right)
	case *ast.Values:
		f.w("VALUES ")
		for i, r := range x.Rows {
			if i > 0 {
				f.w(", ")
			}
			f.w("(")
			f.exprList(r)
			f.w(")")
		}
	case *ast.Select:
		f.w("(")
		f.query(x)
		f.w(")")
	}
}

func (f *formatter) setOperand(s *ast.Select) {
	if len(s.With) == 0 && len(s.OrderBy) == 0 && s.Limit == nil && s.Offset == nil {
		if _, ok := s.Body.(*ast.SelectCore); ok {
			f.body(s.Body)
			return
		}
	}
	f.w("(")
	f.query(s)
	f.w(")")
}

func (f *formatter) from(items []ast.TableExpr) {
	for i, t := range items {
		if i > 0 {
			f.w(", ")
		}
		f.table(t)
	}
}

func (f *formatter) alias(alias string, cols []string) {
	if alias != "" {
		f.w(" AS ", QuoteIdent(alias))
	}
	if len(cols) > 0 {
		f.w(" (")
		f.names(cols)
		f.w(")")
	}
}

func (f *formatter) table(t ast.TableExpr) {
	switch x := t.(type) {
	case *ast.TableName:
		if x.Schema != "" {
			f.w(QuoteIdent(x.Schema), ".")
		}
		f.w(QuoteIdent(x.Name))
		if x.AsOfProctime {
			f.w(" FOR SYSTEM_TIME AS OF PROCTIME()")
		}
		f.alias(x.Alias, x.ColAliases)
	case *ast.SubqueryTable:
		if x.Lateral {
			f.w("LATERAL ")
		}
		f.w("(")
		f.query(x.Query)
		f.w(")")
		f.alias(x.Alias, x.ColAliases)
	case *ast.TableFunc:
		f.w(QuoteIdent(x.Name), "(")
		f.exprList(x.Args)
		f.w(")")
		f.alias(x.Alias, x.ColAliases)
	case *ast.Join:
		f.table(x.Left)
		switch {
		case x.Natural && x.Kind == ast.InnerJoin:
			f.w(" NATURAL JOIN ")
		case x.Natural:
			f.w(" NATURAL ", x.Kind.String(), " JOIN ")
		default:
			f.w(" ", x.Kind.String(), " JOIN ")
		}
		f.joinSide(x.Right)
		if x.On != nil {
			f.w(" ON ")
			f.expr(x.On)
		}
		if len(x.Using) > 0 {
			f.w(" USING (")
			f.names(x.Using)
			f.w(")")
		}
	}
}

func (f *formatter) joinSide(t ast.TableExpr) {
	if j, ok := t.(*ast.Join); ok {
		f.w("(")
		f.table(j)
		f.w(")")
		return
	}
	f.table(t)
}

func (f *formatter) exprList(xs []ast.Expr) {
	for i, x := range xs {
		if i > 0 {
			f.w(", ")
		}
		f.expr(x)
	}
}

// sub prints an operand, parenthesised when it is itself an operator
// expression.
func (f *formatter) sub(e ast.Expr) {
	switch x := e.(type) {
	case *ast.Binary, *ast.Unary, *ast.IsNull, *ast.IsBool, *ast.IsDistinct, *ast.Between, *ast.InList,
		*ast.InSubquery, *ast.Quantified, *ast.Like, *ast.Exists:
		f.w("(")
		f.expr(e)
		f.w(")")
	case *ast.Literal:
		if x.Kind == ast.LitInt || x.Kind == ast.LitNumeric || x.Kind == ast.LitFloat {
			if strings.HasPrefix(x.Val, "-") {
				f.w("(", x.Val, ")")
				return
			}
		}
		f.expr(e)
	default:
		f.expr(e)
	}
}

func (f *formatter) expr(e ast.Expr) {
	switch x := e.(type) {
	case nil:
		f.w("NULL")
	case *ast.ColumnRef:
		if x.Table != "" {
			f.w(qualified(x.Table), ".")
		}
		f.w(QuoteIdent(x.Column))
	case *ast.Literal:
		switch x.Kind {
		case ast.LitNull:
			f.w("NULL")
		case ast.LitBool:
			f.w(strings.ToUpper(x.Val))
		case ast.LitString:
			f.w(quoteString(x.Val))
		default:
			f.w(x.Val)
		}
	case *ast.IntervalLit:
		f.w("INTERVAL ", quoteString(x.Value))
		if x.Unit != "" {
			f.w(" ", strings.ToUpper(x.Unit))
		}
	case *ast.Param:
		f.w(fmt.Sprintf("$%d", x.Index))
	case *ast.Unary:
		if x.Op == "not" {
			f.w("NOT ")
		} else {
			f.w(x.Op)
		}
		f.sub(x.X)
	case *ast.Binary:
		f.sub(x.L)
		op := x.Op
		if op == "and" || op == "or" {
			op = strings.ToUpper(op)
		}
		f.w(" ", op, " ")
		f.sub(x.R)
	case *ast.IsNull:
		f.sub(x.X)
		if x.Not {
			f.w(" IS NOT NULL")
		} else {
			f.w(" IS NULL")
		}
	case *ast.IsBool:
		f.sub(x.X)
		f.w(" IS ")
		if x.Not {
			f.w("NOT ")
		}
		f.w(strings.ToUpper(x.Value))
	case *ast.IsDistinct:
		f.sub(x.L)
		if x.Not {
			f.w(" IS NOT DISTINCT FROM ")
		} else {
			f.w(" IS DISTINCT FROM ")
		}
		f.sub(x.R)
	case *ast.Between:
		f.sub(x.X)
		if x.Not {
			f.w(" NOT")
		}
		f.w(" BETWEEN ")
		if x.Symmetric {
			f.w("SYMMETRIC ")
		}
		f.sub(x.Lo)
		f.w(" AND ")
		f.sub(x.Hi)
	case *ast.InList:
		f.sub(x.X)
		if x.Not {
			f.w(" NOT")
		}
		f.w(" IN (")
		f.exprList(x.List)
		f.w(")")
	case *ast.InSubquery:
		f.sub(x.X)
		if x.Not {
			f.w(" NOT")
		}
		f.w(" IN (")
		f.query(x.Query)
		f.w(")")
	case *ast.Quantified:
		f.sub(x.X)
		f.w(" ", x.Op, " ")
		if x.All {
			f.w("ALL (")
		} else {
			f.w("ANY (")
		}
		if x.Query != nil {
			f.query(x.Query)
		} else {
			f.w("ARRAY[")
			f.exprList(x.List)
			f.w("]")
		}
		f.w(")")
	case *ast.Exists:
		if x.Not {
			f.w("NOT ")
		}
		f.w("EXISTS (")
		f.query(x.Query)
		f.w(")")
	case *ast.Subquery:
		f.w("(")
		f.query(x.Query)
		f.w(")")
	case *ast.Like:
		f.sub(x.X)
		if x.Regex {
			switch {
			case x.Not && x.CaseInsensitive:
				f.w(" !~* ")
			case x.Not:
				f.w(" !~ ")
			case x.CaseInsensitive:
				f.w(" ~* ")
			default:
				f.w(" ~ ")
			}
			f.sub(x.Pattern)
			return
		}
		if x.Not {
			f.w(" NOT")
		}
		switch {
		case x.SimilarTo:
			f.w(" SIMILAR TO ")
		case x.CaseInsensitive:
			f.w(" ILIKE ")
		default:
			f.w(" LIKE ")
		}
		f.sub(x.Pattern)
		if x.Escape != nil {
			f.w(" ESCAPE ")
			f.sub(x.Escape)
		}
	case *ast.Case:
		f.w("CASE")
		if x.Operand != nil {
			f.w(" ")
			f.sub(x.Operand)
		}
		for _, w := range x.Whens {
			f.w(" WHEN ")
			f.expr(w.Cond)
			f.w(" THEN ")
			f.expr(w.Result)
		}
		if x.Else != nil {
			f.w(" ELSE ")
			f.expr(x.Else)
		}
		f.w(" END")
	case *ast.Cast:
		f.w("CAST(")
		f.expr(x.X)
		f.w(" AS ", x.Type, ")")
	case *ast.Func:
		f.fn(x)
	case *ast.Row:
		f.w("ROW(")
		f.exprList(x.Exprs)
		f.w(")")
	case *ast.Array:
		f.w("ARRAY[")
		f.exprList(x.Exprs)
		f.w("]")
	case *ast.Default:
		f.w("DEFAULT")
	case *ast.Subscript:
		f.w("(")
		f.expr(x.X)
		f.w(")[")
		f.expr(x.Index)
		f.w("]")
	default:
		f.w(fmt.Sprintf("<%T>", e))
	}
}

// niladic functions are written without parentheses.
var niladic = wordSet(`current_date current_time current_timestamp localtime localtimestamp current_user
	session_user current_role current_catalog current_schema user`)

func (f *formatter) fn(x *ast.Func) {
	if niladic[x.Name] && len(x.Args) == 0 && !x.Star && x.Over == nil {
		f.w(strings.ToUpper(x.Name))
		return
	}
	if x.Name == "extract" && len(x.Args) == 2 {
		if l, ok := x.Args[0].(*ast.Literal); ok && l.Kind == ast.LitString && QuoteIdent(l.Val) == l.Val {
			f.w("extract(", l.Val, " FROM ")
			f.expr(x.Args[1])
			f.w(")")
			return
		}
	}
	if x.Name == "position" && len(x.Args) == 2 && !x.Distinct && x.Over == nil && x.Filter == nil {
		f.w("position(")
		f.sub(x.Args[0])
		f.w(" IN ")
		f.sub(x.Args[1])
		f.w(")")
		return
	}
	name := QuoteIdent(x.Name)
	if reservedWords[x.Name] && x.Name != "left" && x.Name != "right" {
		name = quoteIdent(x.Name)
	} else if x.Name == "left" || x.Name == "right" {
		name = x.Name
	}
	f.w(name, "(")
	if x.Distinct {
		f.w("DISTINCT ")
	}
	if x.Star {
		f.w("*")
	} else {
		f.exprList(x.Args)
	}
	if len(x.OrderBy) > 0 {
		f.orderBy(x.OrderBy)
	}
	f.w(")")
	if x.Filter != nil {
		f.w(" FILTER (WHERE ")
		f.expr(x.Filter)
		f.w(")")
	}
	if x.Over != nil {
		f.w(" OVER (")
		sp := ""
		if x.Over.Name != "" {
			f.w(QuoteIdent(x.Over.Name))
			sp = " "
		}
		if len(x.Over.PartitionBy) > 0 {
			f.w(sp, "PARTITION BY ")
			f.exprList(x.Over.PartitionBy)
			sp = " "
		}
		if len(x.Over.OrderBy) > 0 {
			f.w(sp, "ORDER BY ")
			f.orderItems(x.Over.OrderBy)
			sp = " "
		}
		if x.Over.Frame != "" {
			f.w(sp, x.Over.Frame)
		}
		f.w(")")
	}
}
