package parser

import (
	"strings"

	"github.com/sqld/sqld/sql/ast"
)

// createFunction parses the rest of CREATE [OR REPLACE] FUNCTION:
//
//	name ( [[IN] [argname] type, ...] ) RETURNS type
//	{ LANGUAGE lang | AS 'body' | IMMUTABLE | STABLE | VOLATILE | STRICT
//	  | CALLED ON NULL INPUT | RETURNS NULL ON NULL INPUT | [NOT] LEAKPROOF
//	  | [EXTERNAL] SECURITY {INVOKER|DEFINER} | PARALLEL {SAFE|UNSAFE|RESTRICTED}
//	  | COST n | ROWS n } ...
//	[ RETURN expr ]
//
// The attributes sqld does not act on (LEAKPROOF, SECURITY, PARALLEL,
// COST, ROWS) are checked for shape and ignored.
func (p *stmtParser) createFunction(orReplace bool) (ast.Statement, error) {
	cf := &ast.CreateFunction{OrReplace: orReplace}
	var err error
	if cf.Name, err = p.qualifiedName(); err != nil {
		return nil, err
	}
	if !p.peek().isOp("(") {
		return nil, p.errAt(p.peek())
	}
	if p.peekN(1).isOp(")") {
		p.i += 2
	} else {
		elems, err := p.elements()
		if err != nil {
			return nil, err
		}
		for _, el := range elems {
			fp, err := p.funcParam(el, true)
			if err != nil {
				return nil, err
			}
			cf.Params = append(cf.Params, fp)
		}
	}
	seenBody := false
	for !p.atEnd() {
		t := p.peek()
		switch {
		case p.accept("returns", "null", "on", "null", "input"):
			cf.Strict = true
		case p.accept("returns"):
			if cf.Returns != "" {
				return nil, p.errAt(t)
			}
			if p.peek().is("setof") || p.peek().is("table") {
				return nil, unsupported("set-returning functions are not supported")
			}
			typ, j, ok := parseTypeName(p.toks, p.i, len(p.toks))
			if !ok {
				return nil, p.errAt(p.peek())
			}
			cf.Returns, p.i = typ, j
		case p.accept("language"):
			l := p.next()
			if l.kind != tkIdent && l.kind != tkQIdent && l.kind != tkString {
				return nil, p.errAt(l)
			}
			cf.Language = strings.ToLower(l.val)
		case p.accept("as"):
			b := p.next()
			if b.kind != tkString || seenBody {
				return nil, p.errAt(b)
			}
			if p.peek().isOp(",") {
				return nil, unsupported("functions with an object file and link symbol are not supported")
			}
			cf.Body, seenBody = b.val, true
		case p.accept("return"):
			if seenBody || p.atEnd() {
				return nil, p.errAt(p.peek())
			}
			x, err := p.exprRange(p.toks[p.i:])
			if err != nil {
				return nil, err
			}
			cf.Return, seenBody = x, true
			p.i = len(p.toks)
		case p.accept("begin", "atomic"):
			return nil, unsupported("BEGIN ATOMIC function bodies are not supported")
		case p.accept("immutable"), p.accept("stable"), p.accept("volatile"):
			cf.Volatility = t.val
		case p.accept("strict"):
			cf.Strict = true
		case p.accept("called", "on", "null", "input"):
			cf.Strict = false
		case p.accept("not", "leakproof"), p.accept("leakproof"):
		case p.accept("external", "security"), p.accept("security"):
			if !p.accept("invoker") && !p.accept("definer") {
				return nil, p.errAt(p.peek())
			}
		case p.accept("parallel"):
			if !p.accept("safe") && !p.accept("unsafe") && !p.accept("restricted") {
				return nil, p.errAt(p.peek())
			}
		case p.accept("cost"), p.accept("rows"):
			if n := p.next(); n.kind != tkNumber {
				return nil, p.errAt(n)
			}
		case t.is("window") || t.is("set") || t.is("transform") || t.is("support"):
			return nil, unsupported("%s in CREATE FUNCTION is not supported", strings.ToUpper(t.val))
		default:
			return nil, p.errAt(t)
		}
	}
	if !seenBody {
		return nil, p.errEnd()
	}
	return cf, nil
}

// funcParam parses one parameter declaration, [IN] [name] type; with
// decl, a DEFAULT is refused as unsupported (DROP FUNCTION lists only
// types and modes).
func (p *stmtParser) funcParam(el []token, decl bool) (ast.FuncParam, error) {
	e := p.sub(el)
	var fp ast.FuncParam
	switch t := e.peek(); {
	case t.is("in"):
		e.i++
	case t.is("out") || t.is("inout") || t.is("variadic"):
		return fp, unsupported("%s parameters are not supported", strings.ToUpper(t.val))
	}
	end := len(el)
	if d := depth0(el, e.i, func(i int) bool { return el[i].is("default") || el[i].isOp("=") }); d >= 0 {
		if decl {
			return fp, unsupported("parameter defaults are not supported")
		}
		return fp, e.errAt(el[d])
	}
	if typ, j, ok := parseTypeName(el, e.i, end); ok && j == end {
		fp.Type = typ
		return fp, nil
	}
	name, err := e.ident()
	if err != nil {
		return fp, err
	}
	typ, j, ok := parseTypeName(el, e.i, end)
	if !ok {
		return fp, e.errAt(e.peek())
	}
	if j != end {
		return fp, e.errAt(el[j])
	}
	fp.Name, fp.Type = name, typ
	return fp, nil
}

// dropFunction parses the rest of DROP FUNCTION.
func (p *stmtParser) dropFunction() (ast.Statement, error) {
	d := &ast.DropFunction{}
	d.IfExists = p.accept("if", "exists")
	for {
		var ref ast.FuncRef
		var err error
		if ref.Name, err = p.qualifiedName(); err != nil {
			return nil, err
		}
		if p.peek().isOp("(") {
			ref.HasTypes = true
			ref.Types = []string{}
			if p.peekN(1).isOp(")") {
				p.i += 2
			} else {
				elems, err := p.elements()
				if err != nil {
					return nil, err
				}
				for _, el := range elems {
					fp, err := p.funcParam(el, false)
					if err != nil {
						return nil, err
					}
					ref.Types = append(ref.Types, fp.Type)
				}
			}
		}
		d.Funcs = append(d.Funcs, ref)
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

func (f *formatter) createFunction(x *ast.CreateFunction) {
	f.w("CREATE ")
	if x.OrReplace {
		f.w("OR REPLACE ")
	}
	f.w("FUNCTION ", qualified(x.Name), "(")
	for i, fp := range x.Params {
		if i > 0 {
			f.w(", ")
		}
		if fp.Name != "" {
			f.w(QuoteIdent(fp.Name), " ")
		}
		f.w(fp.Type)
	}
	f.w(")")
	if x.Returns != "" {
		f.w(" RETURNS ", x.Returns)
	}
	if x.Language != "" {
		f.w(" LANGUAGE ", QuoteIdent(x.Language))
	}
	if x.Volatility != "" {
		f.w(" ", strings.ToUpper(x.Volatility))
	}
	if x.Strict {
		f.w(" STRICT")
	}
	if x.Return != nil {
		f.w(" RETURN ")
		f.expr(x.Return)
		return
	}
	f.w(" AS ", quoteString(x.Body))
}

func (f *formatter) dropFunction(x *ast.DropFunction) {
	f.w("DROP FUNCTION ")
	if x.IfExists {
		f.w("IF EXISTS ")
	}
	for i, r := range x.Funcs {
		if i > 0 {
			f.w(", ")
		}
		f.w(qualified(r.Name))
		if r.HasTypes {
			f.w("(", strings.Join(r.Types, ", "), ")")
		}
	}
	if x.Cascade {
		f.w(" CASCADE")
	}
}
