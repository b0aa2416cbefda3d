package ast

// FuncParam is one parameter of CREATE FUNCTION: an optional name and the
// Postgres type name as written.
type FuncParam struct {
	Name string
	Type string
}

// CreateFunction is CREATE [OR REPLACE] FUNCTION Name(Params) RETURNS
// Returns with its attributes. The body is either Body, the text of AS
// '...' (or $$...$$) as written and not yet parsed, or Return, the
// expression of the SQL-standard RETURN form; exactly one is set.
type CreateFunction struct {
	Name      string
	OrReplace bool
	Params    []FuncParam
	Returns   string
	// Language is the LANGUAGE as written, lower-cased ("" when absent).
	Language string
	Body     string
	Return   Expr
	// Volatility is "immutable", "stable", "volatile" or "" (not given).
	Volatility string
	// Strict is STRICT or RETURNS NULL ON NULL INPUT.
	Strict bool
}

// FuncRef names a function in DROP FUNCTION. Types are the parameter
// types when a parenthesised list was written (HasTypes), possibly empty.
type FuncRef struct {
	Name     string
	Types    []string
	HasTypes bool
}

// DropFunction is DROP FUNCTION [IF EXISTS] f[(types)], ... [CASCADE].
type DropFunction struct {
	Funcs    []FuncRef
	IfExists bool
	Cascade  bool
}

// Subscript is X[Index], as in (regexp_match(s, p))[2].
type Subscript struct {
	X     Expr
	Index Expr
}

func (*CreateFunction) stmt() {}
func (*DropFunction) stmt()   {}
func (*Subscript) expr()      {}
