package parser

import (
	"strings"

	tast "github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sqld/sqld/sql/ast"
)

// statement parses p.toks as one statement.
func (p *stmtParser) statement() (ast.Statement, error) {
	t := p.peek()
	if t.isOp("(") {
		return p.query(p.toks)
	}
	if t.kind != tkIdent {
		return nil, p.errAt(t)
	}
	switch t.val {
	case "select", "values", "with", "table":
		return p.query(p.toks)
	case "insert":
		return p.insert()
	case "update":
		return p.update()
	case "delete":
		return p.delete()
	case "create":
		return p.create()
	case "drop":
		return p.drop()
	case "flush":
		p.i++
		return &ast.Flush{}, p.expectEnd()
	case "show":
		return p.show()
	case "set":
		return p.set()
	case "reset":
		p.i++
		n, err := p.settingName()
		if err != nil {
			return nil, err
		}
		return &ast.Reset{Name: n}, p.expectEnd()
	case "describe", "desc":
		p.i++
		n, err := p.qualifiedName()
		if err != nil {
			return nil, err
		}
		return &ast.Describe{Name: n}, p.expectEnd()
	case "copy":
		return p.copyStmt()
	case "begin", "start", "commit", "end", "rollback", "abort":
		return p.transaction()
	case "discard":
		p.i++
		w := p.next()
		switch {
		case w.is("all"), w.is("plans"), w.is("sequences"), w.is("temp"):
		case w.is("temporary"):
			w.val = "temp"
		default:
			return nil, p.errAt(w)
		}
		return &ast.Discard{What: w.val}, p.expectEnd()
	case "deallocate":
		p.i++
		p.accept("prepare")
		if p.accept("all") {
			return &ast.Deallocate{All: true}, p.expectEnd()
		}
		n, err := p.ident()
		if err != nil {
			return nil, err
		}
		return &ast.Deallocate{Name: n}, p.expectEnd()
	case "explain":
		return p.explain()
	case "analyze", "vacuum":
		p.i = len(p.toks)
		return &ast.Noop{Tag: strings.ToUpper(t.val)}, nil
	}
	return nil, p.errAt(t)
}

// sub returns a parser over toks that shares this one's source and
// placeholder aliases.
func (p *stmtParser) sub(toks []token) *stmtParser {
	if p.tp == nil {
		p.tp = &borrowed{}
	}
	return &stmtParser{src: p.src, toks: toks, endPos: p.endPos, aliases: p.aliases, tp: p.tp}
}

func synth(word string, at token) token {
	return token{kind: tkIdent, val: word, pos: at.pos, end: at.end}
}

func synthOp(op string, at token) token {
	return token{kind: tkOp, val: op, pos: at.pos, end: at.end}
}

// returning parses the items of a RETURNING clause.
func (p *stmtParser) returning(toks []token) ([]ast.SelectItem, error) {
	if len(toks) == 0 {
		return nil, p.errEnd()
	}
	q := append([]token{synth("select", toks[0])}, toks...)
	sel, err := p.query(q)
	if err != nil {
		return nil, err
	}
	core, ok := sel.Body.(*ast.SelectCore)
	if !ok || len(core.From) > 0 {
		return nil, p.errAt(toks[0])
	}
	return core.Items, nil
}

// splitTail cuts toks at the first depth-0 RETURNING, returning the head
// and the items after it (nil without RETURNING).
func splitReturning(toks []token) ([]token, []token, bool) {
	i := depth0(toks, 0, func(i int) bool { return toks[i].is("returning") })
	if i < 0 {
		return toks, nil, false
	}
	return toks[:i], toks[i+1:], true
}

func (p *stmtParser) insert() (ast.Statement, error) {
	toks, ret, hasRet := splitReturning(p.toks)
	ins := &ast.Insert{}
	conf := depth0(toks, 0, func(i int) bool { return toks[i].is("on") && i+1 < len(toks) && toks[i+1].is("conflict") })
	head := toks
	if conf >= 0 {
		head = toks[:conf]
		oc, err := p.onConflict(toks[conf+2:])
		if err != nil {
			return nil, err
		}
		ins.OnConflict = oc
	}
	// INSERT INTO name [(cols)] DEFAULT VALUES is ours; the rest is TiDB's.
	hp := p.sub(head)
	if err := hp.expect("insert", "into"); err != nil {
		return nil, err
	}
	name, err := hp.qualifiedName()
	if err != nil {
		return nil, err
	}
	ins.Table = name
	if hp.peek().isOp("(") && !(hp.peekN(1).is("select") || hp.peekN(1).is("values") || hp.peekN(1).is("with")) {
		if ins.Columns, err = hp.identList(); err != nil {
			return nil, err
		}
	}
	if hp.accept("default", "values") {
		ins.DefaultValues = true
		if err := hp.expectEnd(); err != nil {
			return nil, err
		}
	} else {
		src := hp.toks[hp.i:]
		if len(src) == 0 {
			return nil, p.errEnd()
		}
		if src[0].is("values") {
			// VALUES lists go through TiDB's INSERT, which is fast for big lists.
			stmt := append([]token{synth("insert", src[0]), synth("into", src[0]), {kind: tkQIdent, val: "t", pos: src[0].pos, end: src[0].end}}, src...)
			n, err := p.tidbParse(stmt)
			if err != nil {
				return nil, err
			}
			is, ok := n.(*tast.InsertStmt)
			if !ok || is.Select != nil || is.Setlist || is.OnDuplicate != nil {
				return nil, p.errAt(src[0])
			}
			c := &converter{sp: p}
			rows := make([][]ast.Expr, len(is.Lists))
			for i, l := range is.Lists {
				row := make([]ast.Expr, len(l))
				for j, e := range l {
					if row[j], err = c.expr(e); err != nil {
						return nil, err
					}
				}
				rows[i] = row
			}
			ins.Source = &ast.Select{Body: &ast.Values{Rows: rows}}
		} else {
			if ins.Source, err = p.query(src); err != nil {
				return nil, err
			}
		}
	}
	if hasRet {
		if ins.Returning, err = p.returning(ret); err != nil {
			return nil, err
		}
	}
	return ins, nil
}

func (p *stmtParser) onConflict(toks []token) (*ast.OnConflict, error) {
	cp := p.sub(toks)
	oc := &ast.OnConflict{}
	var err error
	if cp.peek().isOp("(") {
		if oc.Columns, err = cp.identList(); err != nil {
			return nil, err
		}
	} else if cp.accept("on", "constraint") {
		if _, err := cp.ident(); err != nil {
			return nil, err
		}
	}
	if err := cp.expect("do"); err != nil {
		return nil, err
	}
	if cp.accept("nothing") {
		oc.DoNothing = true
		return oc, cp.expectEnd()
	}
	if err := cp.expect("update"); err != nil {
		return nil, err
	}
	if !cp.peek().is("set") {
		return nil, cp.errAt(cp.peek())
	}
	at := cp.peek()
	stmt := append([]token{synth("update", at), {kind: tkQIdent, val: "t", pos: at.pos, end: at.end}}, cp.toks[cp.i:]...)
	n, err := p.tidbParse(stmt)
	if err != nil {
		return nil, err
	}
	u, ok := n.(*tast.UpdateStmt)
	if !ok || u.Order != nil || u.Limit != nil {
		return nil, p.errAt(at)
	}
	c := &converter{sp: p}
	if oc.Set, err = c.assignments(u.List); err != nil {
		return nil, err
	}
	if u.Where != nil {
		if oc.Where, err = c.expr(u.Where); err != nil {
			return nil, err
		}
	}
	return oc, nil
}

func (p *stmtParser) update() (ast.Statement, error) {
	toks, ret, hasRet := splitReturning(p.toks)
	set := depth0(toks, 0, func(i int) bool { return toks[i].is("set") })
	if set < 0 {
		return nil, p.errEnd()
	}
	from := depth0(toks, set, func(i int) bool { return toks[i].is("from") })
	where := depth0(toks, set, func(i int) bool { return toks[i].is("where") })
	main := toks
	var fromToks []token
	if from >= 0 {
		end := len(toks)
		if where > from {
			end = where
		}
		fromToks = toks[from+1 : end]
		main = append(append([]token(nil), toks[:from]...), toks[end:]...)
	}
	n, err := p.tidbParse(main)
	if err != nil {
		return nil, err
	}
	u, ok := n.(*tast.UpdateStmt)
	if !ok || u.MultipleTable || u.Order != nil || u.Limit != nil {
		return nil, p.errAt(toks[0])
	}
	c := &converter{sp: p}
	up := &ast.Update{}
	ts, ok := u.TableRefs.TableRefs.Left.(*tast.TableSource)
	if !ok || u.TableRefs.TableRefs.Right != nil {
		return nil, p.errAt(toks[0])
	}
	tn, ok := ts.Source.(*tast.TableName)
	if !ok {
		return nil, p.errAt(toks[0])
	}
	up.Table, up.Alias = tableName(tn), ts.AsName.O
	if up.Set, err = c.assignments(u.List); err != nil {
		return nil, err
	}
	if u.Where != nil {
		if up.Where, err = c.expr(u.Where); err != nil {
			return nil, err
		}
	}
	if fromToks != nil {
		if len(fromToks) == 0 {
			return nil, p.errAt(toks[from])
		}
		q := append([]token{synth("select", toks[from]), synthOp("*", toks[from]), toks[from]}, fromToks...)
		sel, err := p.query(q)
		if err != nil {
			return nil, err
		}
		up.From = sel.Body.(*ast.SelectCore).From
	}
	if hasRet {
		if up.Returning, err = p.returning(ret); err != nil {
			return nil, err
		}
	}
	return up, nil
}

func (p *stmtParser) delete() (ast.Statement, error) {
	toks, ret, hasRet := splitReturning(p.toks)
	if u := depth0(toks, 0, func(i int) bool { return toks[i].is("using") }); u >= 0 {
		return nil, unsupported("DELETE ... USING is not supported")
	}
	n, err := p.tidbParse(toks)
	if err != nil {
		return nil, err
	}
	d, ok := n.(*tast.DeleteStmt)
	if !ok || d.IsMultiTable || d.Order != nil || d.Limit != nil {
		return nil, p.errAt(toks[0])
	}
	ts, ok := d.TableRefs.TableRefs.Left.(*tast.TableSource)
	if !ok || d.TableRefs.TableRefs.Right != nil {
		return nil, p.errAt(toks[0])
	}
	tn, ok := ts.Source.(*tast.TableName)
	if !ok {
		return nil, p.errAt(toks[0])
	}
	del := &ast.Delete{Table: tableName(tn), Alias: ts.AsName.O}
	c := &converter{sp: p}
	if d.Where != nil {
		if del.Where, err = c.expr(d.Where); err != nil {
			return nil, err
		}
	}
	if hasRet {
		if del.Returning, err = p.returning(ret); err != nil {
			return nil, err
		}
	}
	return del, nil
}

// ---- DDL ----

func (p *stmtParser) create() (ast.Statement, error) {
	p.i++
	orReplace := p.accept("or", "replace")
	switch {
	case p.accept("materialized", "view"):
		return p.createView(true, orReplace)
	case p.accept("view"):
		return p.createView(false, orReplace)
	case p.accept("function"):
		return p.createFunction(orReplace)
	}
	if orReplace {
		return nil, p.errAt(p.peek())
	}
	switch {
	case p.accept("stream"):
		return p.createTable(ast.ObjStream)
	case p.accept("table"):
		return p.createTable(ast.ObjTable)
	case p.accept("unique", "index"):
		return p.createIndex(true)
	case p.accept("index"):
		return p.createIndex(false)
	case p.peek().is("source") || p.peek().is("sink"):
		return nil, unsupported("CREATE %s is not supported", strings.ToUpper(p.peek().val))
	}
	return nil, p.errAt(p.peek())
}

func (p *stmtParser) createView(mat, orReplace bool) (ast.Statement, error) {
	v := &ast.CreateView{Materialized: mat, OrReplace: orReplace}
	v.IfNotExists = p.accept("if", "not", "exists")
	var err error
	if v.Name, err = p.qualifiedName(); err != nil {
		return nil, err
	}
	if p.peek().isOp("(") {
		if v.Columns, err = p.identList(); err != nil {
			return nil, err
		}
	}
	if p.peek().is("with") && p.peekN(1).isOp("(") {
		p.i++
		if v.With, err = p.options(); err != nil {
			return nil, err
		}
	}
	if err := p.expect("as"); err != nil {
		return nil, err
	}
	if v.Query, err = p.query(p.toks[p.i:]); err != nil {
		return nil, err
	}
	return v, nil
}

// options parses ( key = value, ... ).
func (p *stmtParser) options() ([]ast.Option, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var opts []ast.Option
	for {
		k, err := p.ident()
		if err != nil {
			return nil, err
		}
		for p.peek().isOp(".") {
			p.i++
			m, err := p.ident()
			if err != nil {
				return nil, err
			}
			k += "." + m
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.optionValue()
		if err != nil {
			return nil, err
		}
		opts = append(opts, ast.Option{Key: k, Value: v})
		if p.peek().isOp(",") {
			p.i++
			continue
		}
		return opts, p.expectOp(")")
	}
}

func (p *stmtParser) optionValue() (string, error) {
	t := p.next()
	switch t.kind {
	case tkString, tkIdent, tkQIdent, tkNumber:
		return t.val, nil
	case tkOp:
		if (t.val == "-" || t.val == "+") && p.peek().kind == tkNumber {
			n := p.next()
			if t.val == "-" {
				return "-" + n.val, nil
			}
			return n.val, nil
		}
	}
	return "", p.errAt(t)
}

// elements splits the parenthesised list at p into its depth-0
// comma-separated token ranges and moves past it.
func (p *stmtParser) elements() ([][]token, error) {
	if !p.peek().isOp("(") {
		return nil, p.errAt(p.peek())
	}
	open := p.i
	d := 0
	var out [][]token
	start := open + 1
	for j := open; j < len(p.toks); j++ {
		t := p.toks[j]
		if t.kind != tkOp {
			continue
		}
		switch t.val {
		case "(", "[":
			d++
		case ")", "]":
			d--
			if d == 0 {
				if j == start {
					return nil, p.errAt(t)
				}
				out = append(out, p.toks[start:j])
				p.i = j + 1
				return out, nil
			}
		case ",":
			if d == 1 {
				if j == start {
					return nil, p.errAt(t)
				}
				out = append(out, p.toks[start:j])
				start = j + 1
			}
		}
	}
	return nil, p.errEnd()
}

func (p *stmtParser) createTable(kind ast.ObjectKind) (ast.Statement, error) {
	ct := &ast.CreateTable{Kind: kind}
	ct.IfNotExists = p.accept("if", "not", "exists")
	var err error
	if ct.Name, err = p.qualifiedName(); err != nil {
		return nil, err
	}
	if p.peek().is("as") {
		p.i++
		if ct.AsQuery, err = p.query(p.toks[p.i:]); err != nil {
			return nil, err
		}
		return ct, nil
	}
	elems, err := p.elements()
	if err != nil {
		return nil, err
	}
	for _, el := range elems {
		if err := p.tableElement(ct, el); err != nil {
			return nil, err
		}
	}
	if p.accept("append", "only") {
		ct.Kind = ast.ObjStream
	}
	if p.accept("with") {
		if ct.With, err = p.options(); err != nil {
			return nil, err
		}
	}
	if p.peek().is("as") {
		p.i++
		if ct.AsQuery, err = p.query(p.toks[p.i:]); err != nil {
			return nil, err
		}
		return ct, nil
	}
	return ct, p.expectEnd()
}

var constraintStart = wordSet(`not null primary unique default references check constraint collate generated`)

func (p *stmtParser) tableElement(ct *ast.CreateTable, el []token) error {
	e := p.sub(el)
	switch {
	case e.accept("watermark", "for"):
		col, err := e.ident()
		if err != nil {
			return err
		}
		if err := e.expect("as"); err != nil {
			return err
		}
		if e.atEnd() {
			return p.errAt(el[len(el)-1])
		}
		x, err := e.exprRange(el[e.i:])
		if err != nil {
			return err
		}
		if ct.Watermark != nil {
			return p.errAt(el[0])
		}
		ct.Watermark = &ast.Watermark{Column: col, Expr: x}
		return nil
	case e.peek().is("constraint"):
		e.i += 2
		return p.tableConstraint(ct, e)
	case e.peek().is("primary") || e.peek().is("unique") || e.peek().is("foreign") || e.peek().is("check"):
		return p.tableConstraint(ct, e)
	}
	var col ast.ColumnDef
	var err error
	if col.Name, err = e.ident(); err != nil {
		return err
	}
	typ, j, ok := parseTypeName(el, e.i, len(el))
	if !ok {
		return e.errAt(e.peek())
	}
	if typ == "serial" || typ == "bigserial" {
		col.NotNull = true
	}
	col.Type = typ
	e.i = j
	for !e.atEnd() {
		switch {
		case e.accept("not", "null"):
			col.NotNull = true
		case e.accept("null"):
			col.Null = true
		case e.accept("primary", "key"):
			col.PrimaryKey = true
		case e.accept("unique"):
			col.Unique = true
		case e.accept("constraint"):
			if _, err := e.ident(); err != nil {
				return err
			}
		case e.accept("collate"):
			if _, err := e.ident(); err != nil {
				return err
			}
		case e.accept("default"):
			start := e.i
			if e.peek().is("null") {
				e.i++
			}
			end := depth0(el, e.i, func(i int) bool { return el[i].kind == tkIdent && constraintStart[el[i].val] })
			if end < 0 {
				end = len(el)
			}
			if end == start {
				return e.errAt(e.peek())
			}
			if col.Default, err = e.exprRange(el[start:end]); err != nil {
				return err
			}
			e.i = end
		case e.peek().is("references") || e.peek().is("check") || e.peek().is("generated"):
			return unsupported("%s in a column definition is not supported", strings.ToUpper(e.peek().val))
		default:
			return e.errAt(e.peek())
		}
	}
	ct.Columns = append(ct.Columns, col)
	return nil
}

func (p *stmtParser) tableConstraint(ct *ast.CreateTable, e *stmtParser) error {
	switch {
	case e.accept("primary", "key"):
		cols, err := e.identList()
		if err != nil {
			return err
		}
		if ct.PrimaryKey != nil {
			return e.errAt(e.toks[0])
		}
		ct.PrimaryKey = cols
		return e.expectEnd()
	case e.accept("unique"):
		if _, err := e.identList(); err != nil {
			return err
		}
		return e.expectEnd()
	case e.peek().is("foreign") || e.peek().is("check"):
		return unsupported("%s constraints are not supported", strings.ToUpper(e.peek().val))
	}
	return e.errAt(e.peek())
}

func (p *stmtParser) createIndex(unique bool) (ast.Statement, error) {
	ci := &ast.CreateIndex{Unique: unique}
	ci.IfNotExists = p.accept("if", "not", "exists")
	var err error
	if !p.peek().is("on") {
		if ci.Name, err = p.ident(); err != nil {
			return nil, err
		}
	}
	if err := p.expect("on"); err != nil {
		return nil, err
	}
	if ci.Table, err = p.qualifiedName(); err != nil {
		return nil, err
	}
	if p.accept("using") {
		if _, err := p.ident(); err != nil {
			return nil, err
		}
	}
	elems, err := p.elements()
	if err != nil {
		return nil, err
	}
	for _, el := range elems {
		e := p.sub(el)
		n, err := e.ident()
		if err != nil {
			return nil, err
		}
		if !e.accept("asc") {
			e.accept("desc")
		}
		if err := e.expectEnd(); err != nil {
			return nil, err
		}
		ci.Columns = append(ci.Columns, n)
	}
	return ci, p.expectEnd()
}

func (p *stmtParser) objectKind() (ast.ObjectKind, bool) {
	switch {
	case p.accept("table"):
		return ast.ObjTable, true
	case p.accept("stream"):
		return ast.ObjStream, true
	case p.accept("materialized", "view"):
		return ast.ObjMaterializedView, true
	case p.accept("view"):
		return ast.ObjView, true
	case p.accept("index"):
		return ast.ObjIndex, true
	case p.accept("source"):
		return ast.ObjSource, true
	case p.accept("sink"):
		return ast.ObjSink, true
	}
	return 0, false
}

func (p *stmtParser) drop() (ast.Statement, error) {
	p.i++
	if p.accept("function") {
		return p.dropFunction()
	}
	kind, ok := p.objectKind()
	if !ok {
		return nil, p.errAt(p.peek())
	}
	d := &ast.Drop{Kind: kind}
	d.IfExists = p.accept("if", "exists")
	for {
		n, err := p.qualifiedName()
		if err != nil {
			return nil, err
		}
		d.Names = append(d.Names, n)
		if !p.peek().isOp(",") {
			break
		}
		p.i++
	}
	if p.accept("cascade") {
		d.Cascade = true
	} else {
		p.accept("restrict")
	}
	return d, p.expectEnd()
}

// ---- session statements ----

func (p *stmtParser) show() (ast.Statement, error) {
	p.i++
	switch {
	case p.accept("materialized", "views"):
		return &ast.ShowObjects{Kind: "materialized views"}, p.expectEnd()
	case p.peek().is("create"):
		p.i++
		kind, ok := p.objectKind()
		if !ok || kind == ast.ObjIndex {
			return nil, p.errAt(p.peek())
		}
		n, err := p.qualifiedName()
		if err != nil {
			return nil, err
		}
		return &ast.ShowCreate{Kind: kind, Name: n}, p.expectEnd()
	}
	if t := p.peek(); t.kind == tkIdent && p.peekN(1).kind == tkEOF {
		switch t.val {
		case "streams", "tables", "views", "jobs", "sources", "sinks":
			p.i++
			return &ast.ShowObjects{Kind: t.val}, nil
		}
	}
	n, err := p.settingName()
	if err != nil {
		return nil, err
	}
	return &ast.Show{Name: n}, p.expectEnd()
}

// settingName reads the name of a run-time setting, mapping the
// multi-word spellings onto their names.
func (p *stmtParser) settingName() (string, error) {
	switch {
	case p.accept("time", "zone"):
		return "timezone", nil
	case p.accept("transaction", "isolation", "level"):
		return "transaction_isolation", nil
	case p.accept("session", "authorization"):
		return "session_authorization", nil
	}
	n, err := p.ident()
	if err != nil {
		return "", err
	}
	for p.peek().isOp(".") {
		p.i++
		m, err := p.ident()
		if err != nil {
			return "", err
		}
		n += "." + m
	}
	return n, nil
}

func (p *stmtParser) set() (ast.Statement, error) {
	p.i++
	s := &ast.Set{}
	if p.accept("local") {
		s.Local = true
	} else {
		p.accept("session")
	}
	switch {
	case p.peek().is("transaction") || p.peek().is("characteristics"):
		p.i = len(p.toks)
		return &ast.Noop{Tag: "SET"}, nil
	case p.accept("time", "zone"):
		s.Name = "timezone"
		if p.accept("local") || p.accept("default") {
			s.Default = true
			return s, p.expectEnd()
		}
		if p.accept("interval") {
			return nil, unsupported("SET TIME ZONE INTERVAL is not supported")
		}
		v, err := p.optionValue()
		if err != nil {
			return nil, err
		}
		s.Values = []string{v}
		return s, p.expectEnd()
	case p.accept("names"):
		s.Name = "client_encoding"
	default:
		n, err := p.settingName()
		if err != nil {
			return nil, err
		}
		s.Name = n
		if !p.accept("to") {
			if err := p.expectOp("="); err != nil {
				return nil, err
			}
		}
	}
	if p.accept("default") {
		s.Default = true
		return s, p.expectEnd()
	}
	for {
		v, err := p.optionValue()
		if err != nil {
			return nil, err
		}
		s.Values = append(s.Values, v)
		if !p.peek().isOp(",") {
			break
		}
		p.i++
	}
	return s, p.expectEnd()
}

func (p *stmtParser) transaction() (ast.Statement, error) {
	t := p.next()
	tx := &ast.Transaction{}
	switch t.val {
	case "begin":
		tx.Kind = ast.TxBegin
		if !p.accept("work") {
			p.accept("transaction")
		}
	case "start":
		tx.Kind = ast.TxBegin
		if err := p.expect("transaction"); err != nil {
			return nil, err
		}
	case "commit", "end":
		tx.Kind = ast.TxCommit
		if !p.accept("work") {
			p.accept("transaction")
		}
		p.accept("and", "no", "chain")
		return tx, p.expectEnd()
	default:
		tx.Kind = ast.TxRollback
		if !p.accept("work") {
			p.accept("transaction")
		}
		if p.peek().is("to") {
			return nil, unsupported("savepoints are not supported")
		}
		p.accept("and", "no", "chain")
		return tx, p.expectEnd()
	}
	// Transaction modes are checked for shape and ignored.
	for !p.atEnd() {
		switch {
		case p.accept("isolation", "level"):
			switch {
			case p.accept("serializable"), p.accept("repeatable", "read"), p.accept("read", "committed"), p.accept("read", "uncommitted"):
			default:
				return nil, p.errAt(p.peek())
			}
		case p.accept("read", "write"), p.accept("read", "only"), p.accept("deferrable"), p.accept("not", "deferrable"):
		default:
			return nil, p.errAt(p.peek())
		}
		if p.peek().isOp(",") {
			p.i++
		}
	}
	return tx, nil
}

func (p *stmtParser) explain() (ast.Statement, error) {
	p.i++
	ex := &ast.Explain{}
	if p.peek().isOp("(") {
		elems, err := p.elements()
		if err != nil {
			return nil, err
		}
		for _, el := range elems {
			e := p.sub(el)
			w, err := e.ident()
			if err != nil {
				return nil, err
			}
			on := true
			if !e.atEnd() {
				v, err := e.optionValue()
				if err != nil {
					return nil, err
				}
				on = !(v == "false" || v == "off" || v == "0")
			}
			switch w {
			case "analyze":
				ex.Analyze = on
			case "verbose":
				ex.Verbose = on
			}
		}
	} else {
		ex.Analyze = p.accept("analyze")
		ex.Verbose = p.accept("verbose")
	}
	if p.atEnd() {
		return nil, p.errEnd()
	}
	sp := p.sub(p.toks[p.i:])
	st, err := sp.statement()
	if err != nil {
		return nil, err
	}
	ex.Stmt = st
	return ex, nil
}

func (p *stmtParser) copyStmt() (ast.Statement, error) {
	p.i++
	c := &ast.Copy{}
	var err error
	if p.peek().isOp("(") {
		open := p.i
		d := 0
		end := -1
		for j := open; j < len(p.toks); j++ {
			if p.toks[j].isOp("(") {
				d++
			} else if p.toks[j].isOp(")") {
				d--
				if d == 0 {
					end = j
					break
				}
			}
		}
		if end < 0 {
			return nil, p.errEnd()
		}
		if c.Query, err = p.query(p.toks[open+1 : end]); err != nil {
			return nil, err
		}
		p.i = end + 1
	} else {
		if c.Table, err = p.qualifiedName(); err != nil {
			return nil, err
		}
		if p.peek().isOp("(") {
			if c.Columns, err = p.identList(); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case p.accept("from"):
		if c.Query != nil {
			return nil, p.errAt(p.toks[p.i-1])
		}
		if !p.accept("stdin") {
			return nil, unsupported("COPY FROM a file is not supported; use COPY FROM STDIN")
		}
	case p.accept("to"):
		c.To = true
		if !p.accept("stdout") {
			return nil, unsupported("COPY TO a file is not supported; use COPY TO STDOUT")
		}
	default:
		return nil, p.errAt(p.peek())
	}
	p.accept("with")
	if p.peek().isOp("(") {
		elems, err := p.elements()
		if err != nil {
			return nil, err
		}
		for _, el := range elems {
			e := p.sub(el)
			k, err := e.ident()
			if err != nil {
				return nil, err
			}
			v := "true"
			if !e.atEnd() {
				if v, err = e.optionValue(); err != nil {
					return nil, err
				}
			}
			if err := e.expectEnd(); err != nil {
				return nil, err
			}
			c.Options = append(c.Options, ast.Option{Key: k, Value: v})
		}
		return c, p.expectEnd()
	}
	// The pre-9.0 option syntax.
	for !p.atEnd() {
		t := p.next()
		switch {
		case t.is("csv"), t.is("binary"), t.is("text"):
			c.Options = append(c.Options, ast.Option{Key: "format", Value: t.val})
		case t.is("header"):
			c.Options = append(c.Options, ast.Option{Key: "header", Value: "true"})
		case t.is("delimiter"), t.is("null"), t.is("quote"), t.is("escape"), t.is("encoding"):
			p.accept("as")
			v := p.next()
			if v.kind != tkString {
				return nil, p.errAt(v)
			}
			c.Options = append(c.Options, ast.Option{Key: t.val, Value: v.val})
		default:
			return nil, p.errAt(t)
		}
	}
	return c, nil
}
