package parser

import (
	"fmt"
	"strings"
	"sync"

	tidb "github.com/pingcap/tidb/pkg/parser"
	tast "github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the TiDB parser

	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// Stmt is one parsed statement with its own text (trimmed, without the
// trailing semicolon).
type Stmt struct {
	AST  ast.Statement
	Text string
}

// Parse parses a string of zero or more statements separated by
// semicolons. Syntax errors are *pgerror.Error with code 42601 and a
// 1-based character Position into sql.
func Parse(sql string) (stmts []Stmt, err error) {
	defer recoverInternal(&err)
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && !toks[i].isOp(";") {
			continue
		}
		if i > start {
			st := toks[start:i]
			sp := &stmtParser{src: sql, toks: st, endPos: st[len(st)-1].end}
			n, err := sp.statement()
			sp.release()
			if err != nil {
				return nil, err
			}
			stmts = append(stmts, Stmt{AST: n, Text: sql[st[0].pos:st[len(st)-1].end]})
		}
		start = i + 1
	}
	return stmts, nil
}

// ParseExpr parses one scalar expression (stored watermark expressions,
// column defaults).
func ParseExpr(sql string) (e ast.Expr, err error) {
	defer recoverInternal(&err)
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	sp := &stmtParser{src: sql, toks: toks}
	defer sp.release()
	if len(toks) > 0 {
		sp.endPos = toks[len(toks)-1].end
	}
	if len(toks) == 0 {
		return nil, sp.errEnd()
	}
	return sp.exprRange(toks)
}

func recoverInternal(err *error) {
	if r := recover(); r != nil {
		*err = pgerror.New(pgerror.CodeInternalError, "internal error while parsing: %v", r)
	}
}

// stmtParser parses one statement; its tokens carry offsets into src.
type stmtParser struct {
	src     string
	toks    []token
	i       int
	endPos  int
	aliases []aliasInfo
	// tp holds the TiDB parser borrowed for this statement (shared with
	// sub-parsers): the trees it returns live in its memory, so it goes
	// back to the pool only when the statement has been converted.
	tp *borrowed
}

type borrowed struct{ p *tidb.Parser }

func (p *stmtParser) release() {
	if p.tp != nil && p.tp.p != nil {
		tidbPool.Put(p.tp.p)
		p.tp.p = nil
	}
}

func (p *stmtParser) errAt(t token) error {
	if t.kind == tkEOF {
		return p.errEnd()
	}
	return syntaxErrorAt(p.src, t.pos, p.src[t.pos:t.end])
}

func (p *stmtParser) errEnd() error {
	return syntaxErrorAt(p.src, p.endPos, "")
}

// ---- cursor helpers for the grammar sqld owns ----

func (p *stmtParser) peek() token { return p.peekN(0) }
func (p *stmtParser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return token{kind: tkEOF, pos: p.endPos, end: p.endPos}
}
func (p *stmtParser) next() token { t := p.peek(); p.i++; return t }
func (p *stmtParser) atEnd() bool { return p.i >= len(p.toks) }

// accept consumes the given words if they come next.
func (p *stmtParser) accept(words ...string) bool {
	for n, w := range words {
		if !p.peekN(n).is(w) {
			return false
		}
	}
	p.i += len(words)
	return true
}

func (p *stmtParser) expect(words ...string) error {
	for _, w := range words {
		if !p.peek().is(w) {
			return p.errAt(p.peek())
		}
		p.i++
	}
	return nil
}

func (p *stmtParser) expectOp(op string) error {
	if !p.peek().isOp(op) {
		return p.errAt(p.peek())
	}
	p.i++
	return nil
}

func (p *stmtParser) expectEnd() error {
	if !p.atEnd() {
		return p.errAt(p.peek())
	}
	return nil
}

// ident reads an identifier (any word, quoted or not).
func (p *stmtParser) ident() (string, error) {
	t := p.peek()
	if t.kind != tkIdent && t.kind != tkQIdent {
		return "", p.errAt(t)
	}
	p.i++
	return t.val, nil
}

// qualifiedName reads name or schema.name; the schema is dropped unless it
// is not "public", in which case the dotted form is kept.
func (p *stmtParser) qualifiedName() (string, error) {
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
		if n == "public" {
			n = m
		} else {
			n = n + "." + m
		}
	}
	return n, nil
}

func (p *stmtParser) identList() ([]string, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var out []string
	for {
		n, err := p.ident()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if p.peek().isOp(",") {
			p.i++
			continue
		}
		return out, p.expectOp(")")
	}
}

// ---- TiDB ----

var tidbPool = sync.Pool{New: func() any {
	ps := tidb.New()
	mode, err := mysql.GetSQLMode("ANSI_QUOTES,PIPES_AS_CONCAT,NO_BACKSLASH_ESCAPES")
	if err != nil {
		panic(err)
	}
	ps.SetSQLMode(mode)
	return ps
}}

// tidbParse rewrites toks and parses the result with TiDB, returning the
// one statement it holds.
func (p *stmtParser) tidbParse(toks []token) (tast.StmtNode, error) {
	if len(toks) == 0 {
		return nil, p.errEnd()
	}
	r, err := newRewriter(p, toks)
	if err != nil {
		return nil, err
	}
	if err := r.run(0, len(toks), false); err != nil {
		return nil, err
	}
	text, offs := r.text()
	if p.tp == nil {
		p.tp = &borrowed{}
	}
	if p.tp.p == nil {
		p.tp.p = tidbPool.Get().(*tidb.Parser)
	}
	stmts, _, err := p.tp.p.ParseSQL(text)
	if err != nil {
		return nil, r.rewriteError(text, offs, err.Error())
	}
	if len(stmts) != 1 {
		return nil, p.errAt(toks[0])
	}
	return stmts[0], nil
}

// query parses toks as a query (SELECT, VALUES, WITH, set operations),
// with an optional trailing EMIT ON WINDOW CLOSE.
func (p *stmtParser) query(toks []token) (*ast.Select, error) {
	emit := false
	if n := len(toks); n >= 4 && toks[n-4].is("emit") && toks[n-3].is("on") && toks[n-2].is("window") && toks[n-1].is("close") {
		emit = true
		toks = toks[:n-4]
	}
	if len(toks) == 0 {
		return nil, p.errEnd()
	}
	if f := toks[0]; !(f.is("select") || f.is("values") || f.is("with") || f.isOp("(") || f.is("table")) {
		return nil, p.errAt(f)
	}
	n, err := p.tidbParse(toks)
	if err != nil {
		return nil, err
	}
	c := &converter{sp: p}
	sel, err := c.queryStmt(n)
	if err != nil {
		return nil, err
	}
	sel.EmitOnWindowClose = emit
	return sel, nil
}

// exprRange parses toks as one scalar expression.
func (p *stmtParser) exprRange(toks []token) (ast.Expr, error) {
	if len(toks) == 0 {
		return nil, p.errEnd()
	}
	sel := make([]token, 0, len(toks)+1)
	sel = append(sel, token{kind: tkIdent, val: "select", pos: toks[0].pos, end: toks[0].pos})
	sel = append(sel, toks...)
	n, err := p.tidbParse(sel)
	if err != nil {
		return nil, err
	}
	s, ok := n.(*tast.SelectStmt)
	if !ok || s.From != nil || s.Where != nil || len(s.Fields.Fields) != 1 || s.Fields.Fields[0].AsName.O != "" ||
		s.Fields.Fields[0].Expr == nil || s.GroupBy != nil || s.OrderBy != nil || s.Limit != nil {
		return nil, pgerror.New(pgerror.CodeSyntaxError, "syntax error: expected one expression").WithPosition(charPos(p.src, toks[0].pos))
	}
	c := &converter{sp: p}
	return c.expr(s.Fields.Fields[0].Expr)
}

// depth0 returns the index of the first token in toks at parenthesis
// depth zero for which f is true, or -1.
func depth0(toks []token, from int, f func(i int) bool) int {
	d := 0
	for i := from; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tkOp {
			switch t.val {
			case "(", "[":
				d++
				continue
			case ")", "]":
				d--
				continue
			}
		}
		if d == 0 && f(i) {
			return i
		}
	}
	return -1
}

func unsupported(format string, args ...any) error {
	return pgerror.New(pgerror.CodeFeatureNotSupported, format, args...)
}

var _ = fmt.Sprintf
var _ = strings.ToLower
