package planner

import "github.com/sqld/sqld/catalog"

// Func is a resolved scalar function or operator: the signature the
// arguments are cast to, the result type and the properties the planner and
// the executor rely on. The executor finds the implementation by Name and
// Args. Funcs are shared and immutable.
type Func struct {
	Name     string         // lower-case function name, or the operator symbol
	Args     []catalog.Type // parameter types; the binder casts arguments to these
	Ret      catalog.Type
	Operator bool // printed infix/prefix
	// Strict functions return NULL when any argument is NULL.
	Strict bool
	// Volatile functions (random, now, ...) are never folded or cached.
	Volatile bool
	// Variadic functions take any number of trailing arguments of the last
	// parameter's type (coalesce, greatest, concat, ...).
	Variadic bool
}

// Agg is a resolved aggregate function.
type Agg struct {
	Name string         // count, sum, avg, min, max, bool_and, bool_or, string_agg, ...
	Args []catalog.Type // argument types after casts; empty for count(*)
	Ret  catalog.Type
}
