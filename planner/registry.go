package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// This file is the function registry: the scalar functions, operators,
// aggregates and casts of sqld, with Postgres names, signatures, result
// types and implicit-cast rules. The executor (exec/eval) implements every
// signature listed here, looked up by Func.Name and Func.Args.
//
// Naming scheme for operators and special forms (what the binder passes as
// name to ResolveFunc):
//
//   - arithmetic: "+", "-", "*", "/", "%", "^"; unary minus and plus are
//     "-" and "+" with one argument;
//   - comparison: "=", "<>" (also "!="), "<", "<=", ">", ">="; they take
//     any two values of one type (after implicit casts);
//   - "is distinct from", "is not distinct from": null-safe comparisons
//     (not strict);
//   - logic: "and", "or" (three-valued, not strict), "not";
//   - concatenation "||": text || text, and text || any non-text value
//     (the other operand is cast to text, as Postgres's anynonarray || text);
//     bytea || bytea;
//   - pattern matching: "like", "not like", "ilike", "not ilike" take
//     (string, pattern) or (string, pattern, escape); "~~", "!~~", "~~*",
//     "!~~*" are aliases. Regular expressions: "~", "~*", "!~", "!~*"
//     (string, pattern);
//   - special forms resolved like functions: "coalesce", "nullif",
//     "greatest", "least" (their arguments resolve to one common type);
//   - "extract" and "date_part" take (field text, value): date_part
//     returns double precision; extract returns numeric with scale 6 (a
//     binder that knows the field may narrow Ret with ExtractType);
//   - "position" takes (needle, haystack), the order of the SQL syntax
//     POSITION(needle IN haystack); "strpos" takes (haystack, needle);
//   - "substring" is "substr"; "trim" is "btrim" (TRIM(BOTH x FROM s) is
//     btrim(s, x), LEADING is ltrim, TRAILING is rtrim);
//   - now(), current_timestamp, localtimestamp, current_date, current_user,
//     session_user, user, current_schema, current_database, version take no
//     arguments.
//
// NUMERIC results: every numeric value has a fixed scale (its type's Scale).
// Addition, subtraction and mod use the larger argument scale;
// multiplication uses s1+s2, capped at max(s1, s2, 16); division uses
// max(s1, s2, 16); functions computed in floating point (sqrt, ln, exp,
// power, log) return scale 16. round(numeric, int) and trunc(numeric, int)
// return the argument's scale with the value rounded; a binder that knows
// the second argument may copy the Func with Ret.Scale set to it, since
// the evaluator always produces the scale of Func.Ret.

// Pseudo type IDs used only in signatures.
const (
	// anyElem matches any type; all anyElem parameters of one signature
	// resolve to the common type of their arguments.
	anyElem catalog.TypeID = 200 + iota
	// anyValue matches any single type independently (no casting).
	anyValue
)

// retRule computes a signature's result type from the resolved argument
// types.
type retRule func(args []catalog.Type) catalog.Type

type sig struct {
	name     string
	params   []catalog.TypeID
	ret      retRule
	operator bool
	strict   bool
	volatile bool
	variadic bool
}

var (
	funcs = map[string][]*sig{}
	aggs  = map[string][]*sig{}
)

func fixed(t catalog.Type) retRule { return func([]catalog.Type) catalog.Type { return t } }

// argType returns the type of argument i.
func argType(i int) retRule { return func(a []catalog.Type) catalog.Type { return a[i] } }

func ids(ts ...catalog.TypeID) []catalog.TypeID { return ts }

func addFunc(s *sig) { funcs[s.name] = append(funcs[s.name], s) }

// fn registers a strict, non-operator function.
func fn(name string, ret retRule, params ...catalog.TypeID) *sig {
	s := &sig{name: name, params: params, ret: ret, strict: true}
	addFunc(s)
	return s
}

// op registers a strict operator.
func op(name string, ret retRule, params ...catalog.TypeID) *sig {
	s := &sig{name: name, params: params, ret: ret, strict: true, operator: true}
	addFunc(s)
	return s
}

func agg(name string, ret retRule, params ...catalog.TypeID) {
	aggs[name] = append(aggs[name], &sig{name: name, params: params, ret: ret})
}

const (
	tBool     = catalog.Bool
	tInt2     = catalog.Int2
	tInt4     = catalog.Int4
	tInt8     = catalog.Int8
	tFloat4   = catalog.Float4
	tFloat8   = catalog.Float8
	tNumeric  = catalog.Numeric
	tText     = catalog.Text
	tBytea    = catalog.Bytea
	tDate     = catalog.Date
	tTs       = catalog.Timestamp
	tTsTZ     = catalog.TimestampTZ
	tInterval = catalog.Interval
)

var numericIDs = []catalog.TypeID{tInt2, tInt4, tInt8, tNumeric, tFloat4, tFloat8}

func maxScale(a []catalog.Type) int32 {
	var s int32
	for _, t := range a {
		if t.ID == catalog.Numeric && t.Scale > s {
			s = t.Scale
		}
	}
	return s
}

func numScale(s int32) catalog.Type { return catalog.Type{ID: catalog.Numeric, Scale: s} }

// numericAdd is the result rule of + - % on numerics (and of every
// numeric op on other types: the argument type).
func sameAsArgs(a []catalog.Type) catalog.Type {
	if a[0].ID == catalog.Numeric {
		return numScale(maxScale(a))
	}
	return a[0]
}

func numericMul(a []catalog.Type) catalog.Type {
	if a[0].ID != catalog.Numeric {
		return a[0]
	}
	s := a[0].Scale + a[1].Scale
	lim := max(a[0].Scale, a[1].Scale, catalog.NumericDefaultScale)
	return numScale(min(s, lim))
}

func numericDiv(a []catalog.Type) catalog.Type {
	if a[0].ID != catalog.Numeric {
		return a[0]
	}
	return numScale(max(a[0].Scale, a[1].Scale, catalog.NumericDefaultScale))
}

var (
	retBool     = fixed(catalog.TypeBool)
	retInt4     = fixed(catalog.TypeInt4)
	retInt8     = fixed(catalog.TypeInt8)
	retFloat8   = fixed(catalog.TypeFloat8)
	retNumeric  = fixed(catalog.TypeNumeric)
	retText     = fixed(catalog.TypeText)
	retDate     = fixed(catalog.TypeDate)
	retTs       = fixed(catalog.TypeTimestamp)
	retTsTZ     = fixed(catalog.TypeTimestampTZ)
	retInterval = fixed(catalog.TypeInterval)
)

func init() {
	// Arithmetic.
	for _, t := range numericIDs {
		op("+", sameAsArgs, t, t)
		op("-", sameAsArgs, t, t)
		op("*", numericMul, t, t)
		op("/", numericDiv, t, t)
		op("-", argType(0), t)
		op("+", argType(0), t)
		fn("abs", argType(0), t)
		if t != tFloat4 && t != tFloat8 {
			op("%", sameAsArgs, t, t)
			fn("mod", sameAsArgs, t, t)
		}
	}
	op("^", retFloat8, tFloat8, tFloat8)
	op("^", retNumeric, tNumeric, tNumeric)
	for _, name := range []string{"power", "pow"} {
		fn(name, retFloat8, tFloat8, tFloat8)
		fn(name, retNumeric, tNumeric, tNumeric)
	}
	for _, name := range []string{"ceil", "ceiling", "floor", "round", "trunc", "sign"} {
		fn(name, retFloat8, tFloat8)
		fn(name, func(a []catalog.Type) catalog.Type {
			if name == "sign" {
				return a[0]
			}
			return numScale(0)
		}, tNumeric)
	}
	fn("round", argType(0), tNumeric, tInt4)
	fn("trunc", argType(0), tNumeric, tInt4)
	for _, name := range []string{"sqrt", "cbrt", "exp", "ln", "log", "log10"} {
		fn(name, retFloat8, tFloat8)
		if name != "cbrt" {
			fn(name, retNumeric, tNumeric)
		}
	}
	fn("log", retNumeric, tNumeric, tNumeric)
	fn("div", func([]catalog.Type) catalog.Type { return numScale(0) }, tNumeric, tNumeric)
	fn("random", retFloat8).volatile = true
	fn("pi", retFloat8)
	fn("degrees", retFloat8, tFloat8)
	fn("radians", retFloat8, tFloat8)
	for _, name := range []string{"sin", "cos", "tan", "asin", "acos", "atan"} {
		fn(name, retFloat8, tFloat8)
	}
	fn("atan2", retFloat8, tFloat8, tFloat8)

	// Comparison and logic.
	for _, name := range []string{"=", "<>", "<", "<=", ">", ">="} {
		op(name, retBool, anyElem, anyElem)
	}
	op("is distinct from", retBool, anyElem, anyElem).strict = false
	op("is not distinct from", retBool, anyElem, anyElem).strict = false
	op("and", retBool, tBool, tBool).strict = false
	op("or", retBool, tBool, tBool).strict = false
	op("not", retBool, tBool)

	// Special forms.
	s := fn("coalesce", argType(0), anyElem)
	s.variadic, s.strict = true, false
	s = fn("greatest", argType(0), anyElem)
	s.variadic, s.strict = true, false
	s = fn("least", argType(0), anyElem)
	s.variadic, s.strict = true, false
	fn("nullif", argType(0), anyElem, anyElem).strict = false

	// Strings.
	op("||", retText, tText, tText)
	op("||", fixed(catalog.TypeBytea), tBytea, tBytea)
	for _, name := range []string{"like", "not like", "ilike", "not ilike"} {
		op(name, retBool, tText, tText)
		op(name, retBool, tText, tText, tText)
	}
	for _, name := range []string{"~", "~*", "!~", "!~*"} {
		op(name, retBool, tText, tText)
	}
	for _, name := range []string{"length", "char_length", "character_length"} {
		fn(name, retInt4, tText)
	}
	fn("length", retInt4, tBytea)
	fn("octet_length", retInt4, tText)
	fn("octet_length", retInt4, tBytea)
	fn("bit_length", retInt4, tText)
	for _, name := range []string{"lower", "upper", "initcap", "reverse", "md5", "quote_ident", "quote_literal"} {
		fn(name, retText, tText)
	}
	fn("md5", retText, tBytea)
	fn("substr", retText, tText, tInt4)
	fn("substr", retText, tText, tInt4, tInt4)
	fn("position", retInt4, tText, tText)
	fn("strpos", retInt4, tText, tText)
	fn("replace", retText, tText, tText, tText)
	fn("translate", retText, tText, tText, tText)
	for _, name := range []string{"btrim", "ltrim", "rtrim"} {
		fn(name, retText, tText)
		fn(name, retText, tText, tText)
	}
	for _, name := range []string{"lpad", "rpad"} {
		fn(name, retText, tText, tInt4)
		fn(name, retText, tText, tInt4, tText)
	}
	fn("left", retText, tText, tInt4)
	fn("right", retText, tText, tInt4)
	fn("repeat", retText, tText, tInt4)
	fn("split_part", retText, tText, tText, tInt4)
	fn("starts_with", retBool, tText, tText)
	fn("ascii", retInt4, tText)
	fn("chr", retText, tInt4)
	fn("to_hex", retText, tInt4)
	fn("to_hex", retText, tInt8)
	fn("regexp_replace", retText, tText, tText, tText)
	fn("regexp_replace", retText, tText, tText, tText, tText)
	s = fn("concat", retText, anyValue)
	s.variadic, s.strict = true, false
	s = fn("concat_ws", retText, tText, anyValue)
	s.variadic, s.strict = true, false
	s = fn("format", retText, tText, anyValue)
	s.variadic, s.strict = true, false

	// Date and time.
	op("+", retDate, tDate, tInt4)
	op("+", retDate, tInt4, tDate)
	op("-", retDate, tDate, tInt4)
	op("-", retInt4, tDate, tDate)
	op("+", retTs, tDate, tInterval)
	op("+", retTs, tInterval, tDate)
	op("-", retTs, tDate, tInterval)
	for _, t := range []catalog.TypeID{tTs, tTsTZ} {
		r := fixed(catalog.Type{ID: t})
		op("+", r, t, tInterval)
		op("+", r, tInterval, t)
		op("-", r, t, tInterval)
		op("-", retInterval, t, t)
		fn("date_trunc", r, tText, t)
		fn("date_part", retFloat8, tText, t)
		fn("extract", fixed(numScale(6)), tText, t)
		fn("age", retInterval, t, t)
	}
	fn("date_trunc", retInterval, tText, tInterval)
	for _, t := range []catalog.TypeID{tTs, tTsTZ, tDate} {
		fn("to_char", retText, t, tText)
	}
	fn("date_part", retFloat8, tText, tDate)
	fn("extract", fixed(numScale(6)), tText, tDate)
	fn("date_part", retFloat8, tText, tInterval)
	fn("extract", fixed(numScale(6)), tText, tInterval)
	op("+", retInterval, tInterval, tInterval)
	op("-", retInterval, tInterval, tInterval)
	op("-", retInterval, tInterval)
	op("*", retInterval, tInterval, tFloat8)
	op("*", retInterval, tFloat8, tInterval)
	op("/", retInterval, tInterval, tFloat8)
	fn("to_timestamp", retTsTZ, tFloat8)
	fn("make_interval", retInterval, tInt4, tInt4, tInt4, tInt4, tInt4, tInt4, tFloat8)
	fn("make_date", retDate, tInt4, tInt4, tInt4)
	fn("justify_days", retInterval, tInterval)
	fn("justify_hours", retInterval, tInterval)
	for _, name := range []string{"now", "current_timestamp", "transaction_timestamp", "statement_timestamp", "clock_timestamp"} {
		fn(name, retTsTZ).volatile = true
	}
	fn("localtimestamp", retTs).volatile = true
	fn("current_date", retDate).volatile = true

	// Session information.
	for _, name := range []string{"version", "current_database", "current_user", "session_user", "user", "current_schema", "current_catalog"} {
		fn(name, retText)
	}
	fn("current_setting", retText, tText)
	fn("pg_typeof", retText, anyValue).strict = false

	// Aggregates.
	agg("count", retInt8)
	agg("count", retInt8, anyValue)
	agg("sum", retInt8, tInt2)
	agg("sum", retInt8, tInt4)
	agg("sum", fixed(numScale(0)), tInt8)
	agg("sum", argType(0), tNumeric)
	agg("sum", fixed(catalog.TypeFloat4), tFloat4)
	agg("sum", retFloat8, tFloat8)
	agg("sum", retInterval, tInterval)
	avgNum := func(a []catalog.Type) catalog.Type {
		return numScale(max(a[0].Scale, catalog.NumericDefaultScale))
	}
	for _, t := range []catalog.TypeID{tInt2, tInt4, tInt8, tNumeric} {
		agg("avg", avgNum, t)
		for _, name := range []string{"stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"} {
			agg(name, retNumeric, t)
		}
	}
	for _, t := range []catalog.TypeID{tFloat4, tFloat8} {
		agg("avg", retFloat8, t)
		for _, name := range []string{"stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"} {
			agg(name, retFloat8, t)
		}
	}
	agg("avg", retInterval, tInterval)
	agg("min", argType(0), anyElem)
	agg("max", argType(0), anyElem)
	agg("bool_and", retBool, tBool)
	agg("bool_or", retBool, tBool)
	agg("every", retBool, tBool)
	agg("string_agg", retText, tText, tText)
	agg("string_agg", fixed(catalog.TypeBytea), tBytea, tBytea)
}

// IsAggregate reports whether name is an aggregate function.
func IsAggregate(name string) bool { _, ok := aggs[strings.ToLower(name)]; return ok }

var windowFuncs = map[string]bool{
	"row_number": true, "rank": true, "dense_rank": true, "percent_rank": true, "cume_dist": true,
	"ntile": true, "lag": true, "lead": true, "first_value": true, "last_value": true, "nth_value": true,
}

// IsWindowFunc reports whether name is a window-only function (aggregates
// can also be used over a window; IsAggregate tells those).
func IsWindowFunc(name string) bool { return windowFuncs[strings.ToLower(name)] }

// ResolveWindowFunc returns the result type of a window-only function and
// the types its arguments must be cast to: row_number, rank, dense_rank ->
// bigint; percent_rank, cume_dist -> double precision; ntile(int) ->
// integer; lag/lead(x [, int [, default]]), first_value(x), last_value(x),
// nth_value(x, int) -> type of x.
func ResolveWindowFunc(name string, args []catalog.Type) (catalog.Type, []catalog.Type, error) {
	name = strings.ToLower(name)
	bad := func() (catalog.Type, []catalog.Type, error) {
		return catalog.Type{}, nil, undefinedFunc(name, args)
	}
	switch name {
	case "row_number", "rank", "dense_rank":
		if len(args) != 0 {
			return bad()
		}
		return catalog.TypeInt8, nil, nil
	case "percent_rank", "cume_dist":
		if len(args) != 0 {
			return bad()
		}
		return catalog.TypeFloat8, nil, nil
	case "ntile":
		if len(args) != 1 || !CanImplicitCast(args[0], catalog.TypeInt4) {
			return bad()
		}
		return catalog.TypeInt4, []catalog.Type{catalog.TypeInt4}, nil
	case "first_value", "last_value":
		if len(args) != 1 {
			return bad()
		}
		t := unknownToText(args[0])
		return t, []catalog.Type{t}, nil
	case "nth_value":
		if len(args) != 2 || !CanImplicitCast(args[1], catalog.TypeInt4) {
			return bad()
		}
		t := unknownToText(args[0])
		return t, []catalog.Type{t, catalog.TypeInt4}, nil
	case "lag", "lead":
		if len(args) < 1 || len(args) > 3 {
			return bad()
		}
		out := []catalog.Type{unknownToText(args[0])}
		if len(args) >= 2 {
			if !CanImplicitCast(args[1], catalog.TypeInt4) {
				return bad()
			}
			out = append(out, catalog.TypeInt4)
		}
		if len(args) == 3 {
			t, err := CommonType(name, []catalog.Type{args[0], args[2]})
			if err != nil {
				return catalog.Type{}, nil, err
			}
			out[0] = t
			out = append(out, t)
		}
		return out[0], out, nil
	}
	return bad()
}

func unknownToText(t catalog.Type) catalog.Type {
	if t.ID == catalog.Unknown {
		return catalog.TypeText
	}
	return t
}

// ExtractType returns the result type of extract(field FROM x) for a
// known field: numeric with scale 6 for fields with a fraction (epoch,
// second, millisecond, julian), scale 0 otherwise.
func ExtractType(field string) catalog.Type {
	switch strings.ToLower(field) {
	case "epoch", "second", "seconds", "millisecond", "milliseconds", "julian":
		return numScale(6)
	}
	return numScale(0)
}

// ResolveFunc finds the scalar function or operator name (lower-case; see
// the naming scheme at the top of this file) for arguments of the given
// types, with Postgres's resolution rules: an exact match wins; otherwise
// candidates reachable by implicit casts are ranked by the number of exact
// matches, then by how many converted arguments land on the preferred type
// of their category (double precision, text, timestamptz), then by the
// closeness of the casts. An untyped literal (Unknown) adopts the type of
// the other operands, or text. The returned Func's Args are the types the
// arguments must be cast to.
func ResolveFunc(name string, args []catalog.Type) (*Func, error) {
	name = strings.ToLower(name)
	switch name {
	case "!=":
		name = "<>"
	case "~~":
		name = "like"
	case "!~~":
		name = "not like"
	case "~~*":
		name = "ilike"
	case "!~~*":
		name = "not ilike"
	case "substring":
		name = "substr"
	case "trim":
		name = "btrim"
	case "ceiling":
		name = "ceil"
	}
	cands, ok := funcs[name]
	if !ok {
		return nil, undefinedFunc(name, args)
	}
	if name == "||" && len(args) == 2 {
		if f := resolveConcatOp(args); f != nil {
			return f, nil
		}
	}
	best, err := pick(name, cands, args)
	if err != nil {
		return nil, err
	}
	if best == nil {
		if cands[0].operator {
			return nil, undefinedOp(name, args)
		}
		return nil, undefinedFunc(name, args)
	}
	return best, nil
}

// resolveConcatOp handles text || non-text (and the reverse), which
// Postgres accepts by casting the other operand to text. A literal of
// unknown type next to a non-text value is text too ('x' || 5 is 'x5').
func resolveConcatOp(args []catalog.Type) *Func {
	a, b := args[0], args[1]
	isText := func(t catalog.Type) bool { return t.ID == catalog.Text || t.ID == catalog.Varchar }
	other := func(t catalog.Type) bool { return !t.IsString() && t.ID != catalog.Record && t.ID != catalog.Bytea }
	if (isText(a) && !b.IsString() && b.ID != catalog.Record) || (isText(b) && !a.IsString() && a.ID != catalog.Record) ||
		(a.ID == catalog.Unknown && other(b)) || (b.ID == catalog.Unknown && other(a)) {
		return &Func{Name: "||", Args: []catalog.Type{catalog.TypeText, catalog.TypeText}, Ret: catalog.TypeText, Operator: true, Strict: true}
	}
	return nil
}

type candidate struct {
	s         *sig
	params    []catalog.Type
	exact     int
	preferred int
	textUnk   int
	dist      int
}

// pick ranks the candidates for args and returns the best one, nil if
// none fits, or an ambiguity error.
func pick(name string, cands []*sig, args []catalog.Type) (*Func, error) {
	var known []catalog.Type
	for _, a := range args {
		if a.ID != catalog.Unknown {
			known = append(known, a)
		}
	}
	var ok []candidate
	for _, s := range cands {
		n := len(s.params)
		if len(args) != n && !(s.variadic && len(args) >= n-1) {
			continue
		}
		if len(args) == 0 && s.variadic {
			continue
		}
		params := make([]catalog.Type, len(args))
		var elemArgs []catalog.Type
		for i := range args {
			p := s.params[min(i, n-1)]
			if p == anyElem {
				elemArgs = append(elemArgs, args[i])
			}
		}
		var elem catalog.Type
		if len(elemArgs) > 0 {
			t, err := CommonType(name, elemArgs)
			if err != nil {
				continue
			}
			elem = t
		}
		c := candidate{s: s}
		fits := true
		for i, a := range args {
			p := s.params[min(i, n-1)]
			var pt catalog.Type
			switch p {
			case anyElem:
				pt = elem
			case anyValue:
				pt = unknownToText(a)
			case catalog.Numeric:
				pt = catalog.TypeNumeric
				switch {
				case a.ID == catalog.Numeric:
					pt = a
				case a.IsInteger():
					pt = numScale(0)
				}
			case catalog.Text:
				pt = catalog.TypeText
			default:
				pt = catalog.Type{ID: p}
			}
			params[i] = pt
			switch {
			case a.ID == pt.ID:
				c.exact++
			case a.ID == catalog.Unknown:
				if p == anyElem || p == anyValue {
					c.exact++
					break
				}
				for _, k := range known {
					if k.ID == pt.ID {
						c.exact++
						break
					}
				}
				if pt.ID == catalog.Text {
					c.textUnk++
				}
			case CanImplicitCast(a, pt):
				c.dist += castDistance(a.ID, pt.ID)
				if isPreferred(pt.ID) {
					c.preferred++
				}
			default:
				fits = false
			}
			if !fits {
				break
			}
		}
		if !fits {
			continue
		}
		c.params = params
		ok = append(ok, c)
	}
	if len(ok) == 0 {
		return nil, nil
	}
	better := func(a, b candidate) int {
		switch {
		case a.exact != b.exact:
			return a.exact - b.exact
		case a.textUnk != b.textUnk:
			return a.textUnk - b.textUnk
		case a.preferred != b.preferred:
			return a.preferred - b.preferred
		}
		return b.dist - a.dist
	}
	sort.SliceStable(ok, func(i, j int) bool { return better(ok[i], ok[j]) > 0 })
	if len(ok) > 1 && better(ok[0], ok[1]) == 0 {
		kind := "function"
		if ok[0].s.operator {
			kind = "operator"
		}
		return nil, pgerror.New(pgerror.CodeAmbiguousFunction, "%s is not unique: %s", kind, signature(name, args, ok[0].s.operator)).
			WithHint("Could not choose a best candidate %s. You might need to add explicit type casts.", kind)
	}
	c := ok[0]
	return &Func{
		Name:     name,
		Args:     c.params,
		Ret:      c.s.ret(c.params),
		Operator: c.s.operator,
		Strict:   c.s.strict,
		Volatile: c.s.volatile,
		Variadic: c.s.variadic,
	}, nil
}

func signature(name string, args []catalog.Type, operator bool) string {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.String()
	}
	if operator {
		switch len(args) {
		case 1:
			return name + " " + names[0]
		case 2:
			return names[0] + " " + name + " " + names[1]
		}
	}
	return name + "(" + strings.Join(names, ", ") + ")"
}

func undefinedFunc(name string, args []catalog.Type) error {
	return pgerror.New(pgerror.CodeUndefinedFunction, "function %s does not exist", signature(name, args, false)).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

func undefinedOp(name string, args []catalog.Type) error {
	return pgerror.New(pgerror.CodeUndefinedFunction, "operator does not exist: %s", signature(name, args, true)).
		WithHint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

// ResolveAgg finds the aggregate name for arguments of the given types
// (empty for count(*)), with Postgres result types: count -> bigint;
// sum(smallint|integer) -> bigint, sum(bigint) -> numeric, sum(numeric) ->
// numeric, sum(real) -> real, sum(double precision) -> double precision,
// sum(interval) -> interval; avg of integers and numerics -> numeric
// (scale 16), of floats -> double precision; min/max -> the argument type;
// bool_and/bool_or/every -> boolean; string_agg(text, text) -> text;
// stddev/variance families -> numeric or double precision.
func ResolveAgg(name string, args []catalog.Type) (*Agg, error) {
	name = strings.ToLower(name)
	cands, ok := aggs[name]
	if !ok {
		return nil, undefinedFunc(name, args)
	}
	if name == "count" && len(args) == 1 {
		return &Agg{Name: name, Args: []catalog.Type{unknownToText(args[0])}, Ret: catalog.TypeInt8}, nil
	}
	f, err := pick(name, cands, args)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, undefinedFunc(name, args)
	}
	if (name == "min" || name == "max") && !isOrdered(f.Args[0]) {
		return nil, undefinedFunc(name, args)
	}
	return &Agg{Name: name, Args: f.Args, Ret: f.Ret}, nil
}

func isOrdered(t catalog.Type) bool {
	switch t.ID {
	case catalog.Record, catalog.Unknown:
		return false
	}
	return true
}

// category groups types as Postgres's typcategory does.
func category(id catalog.TypeID) byte {
	switch id {
	case catalog.Bool:
		return 'B'
	case catalog.Int2, catalog.Int4, catalog.Int8, catalog.Float4, catalog.Float8, catalog.Numeric:
		return 'N'
	case catalog.Text, catalog.Varchar:
		return 'S'
	case catalog.Date, catalog.Timestamp, catalog.TimestampTZ:
		return 'D'
	case catalog.Interval:
		return 'T'
	case catalog.Bytea:
		return 'U'
	case catalog.Record:
		return 'P'
	}
	return 'X'
}

func isPreferred(id catalog.TypeID) bool {
	switch id {
	case catalog.Float8, catalog.Text, catalog.TimestampTZ, catalog.Interval, catalog.Bool:
		return true
	}
	return false
}

// rank orders the implicit promotions within a category.
func rank(id catalog.TypeID) int {
	switch id {
	case catalog.Int2:
		return 0
	case catalog.Int4:
		return 1
	case catalog.Int8:
		return 2
	case catalog.Numeric:
		return 3
	case catalog.Float4:
		return 4
	case catalog.Float8:
		return 5
	case catalog.Varchar:
		return 0
	case catalog.Text:
		return 1
	case catalog.Date:
		return 0
	case catalog.Timestamp:
		return 1
	case catalog.TimestampTZ:
		return 2
	}
	return 0
}

func castDistance(from, to catalog.TypeID) int {
	if category(from) == category(to) {
		if d := rank(to) - rank(from); d > 0 {
			return d
		}
		return 1
	}
	return 10
}

// CanImplicitCast reports whether Postgres casts from to to implicitly
// (in expressions and function arguments): the numeric promotions int2 <
// int4 < int8 < numeric < real < double precision, varchar <-> text, date
// < timestamp < timestamptz, numeric scale changes, and Unknown to anything.
func CanImplicitCast(from, to catalog.Type) bool {
	if from.ID == to.ID {
		return true
	}
	if from.ID == catalog.Unknown {
		return true
	}
	switch from.ID {
	case catalog.Int2, catalog.Int4, catalog.Int8, catalog.Numeric, catalog.Float4:
		return category(to.ID) == 'N' && rank(to.ID) > rank(from.ID)
	case catalog.Text, catalog.Varchar:
		return to.ID == catalog.Text || to.ID == catalog.Varchar
	case catalog.Date:
		return to.ID == catalog.Timestamp || to.ID == catalog.TimestampTZ
	case catalog.Timestamp:
		return to.ID == catalog.TimestampTZ
	}
	return false
}

// CanAssignCast reports whether a value of type from can be stored in a
// column of type to (Postgres assignment casts: implicit casts, numeric
// narrowing, any type to text/varchar, timestamp to date).
func CanAssignCast(from, to catalog.Type) bool {
	if CanImplicitCast(from, to) {
		return true
	}
	switch {
	case category(from.ID) == 'N' && category(to.ID) == 'N':
		return true
	case to.ID == catalog.Text || to.ID == catalog.Varchar:
		return from.ID != catalog.Record
	case from.IsTime() && to.IsTime():
		return true
	}
	return false
}

// CanCast reports whether an explicit CAST from from to to exists: every
// assignment cast, text to and from every type (through the text forms),
// boolean to and from integers, and timestamps to dates.
func CanCast(from, to catalog.Type) bool {
	if CanAssignCast(from, to) {
		return true
	}
	if from.ID == catalog.Record || to.ID == catalog.Record || to.ID == catalog.Unknown {
		return false
	}
	switch {
	case from.IsString() || to.IsString():
		return true
	case from.ID == catalog.Bool && to.IsInteger(), from.IsInteger() && to.ID == catalog.Bool:
		return true
	}
	return false
}

// CommonType returns the type the branches of CASE, COALESCE, UNION, IN,
// VALUES, ... resolve to, with Postgres's rules: Unknown branches are
// ignored (all-Unknown resolves to text); all others must share a category
// and the result is the first type that every other branch implicitly
// casts to, scanning for the preferred/highest type. Incompatible types
// are a 42804 error "<context> types X and Y cannot be matched".
func CommonType(context string, types []catalog.Type) (catalog.Type, error) {
	var res catalog.Type
	found := false
	for _, t := range types {
		if t.ID == catalog.Unknown {
			continue
		}
		if !found {
			res, found = t, true
			continue
		}
		if t.ID == res.ID {
			if t.ID == catalog.Numeric && t.Scale > res.Scale {
				res.Scale = t.Scale
			}
			if t.ID == catalog.Varchar && (t.Length == 0 || (res.Length != 0 && t.Length > res.Length)) {
				res.Length = t.Length
			}
			continue
		}
		if category(t.ID) != category(res.ID) {
			return catalog.Type{}, pgerror.New(pgerror.CodeDatatypeMismatch, "%s types %s and %s cannot be matched", context, res, t)
		}
		switch {
		case CanImplicitCast(res, t) && !CanImplicitCast(t, res):
			if t.ID == catalog.Numeric && res.ID == catalog.Numeric {
				t.Scale = max(t.Scale, res.Scale)
			}
			res = t
		case CanImplicitCast(t, res):
			// res stays
		default:
			return catalog.Type{}, pgerror.New(pgerror.CodeDatatypeMismatch, "%s types %s and %s cannot be matched", context, res, t)
		}
	}
	if !found {
		return catalog.TypeText, nil
	}
	if res.ID == catalog.Varchar {
		// Mixed varchar/text resolves to text, as Postgres does.
		for _, t := range types {
			if t.ID == catalog.Text {
				return catalog.TypeText, nil
			}
		}
	}
	return res, nil
}

// FuncSignatures lists the registered scalar signatures as readable text
// (for docs and tests).
func FuncSignatures() []string {
	var out []string
	for name, ss := range funcs {
		for _, s := range ss {
			ps := make([]string, len(s.params))
			for i, p := range s.params {
				switch p {
				case anyElem:
					ps[i] = "anyelement"
				case anyValue:
					ps[i] = "any"
				default:
					ps[i] = catalog.Type{ID: p}.String()
				}
			}
			v := ""
			if s.variadic {
				v = "..."
			}
			out = append(out, fmt.Sprintf("%s(%s%s)", name, strings.Join(ps, ", "), v))
		}
	}
	sort.Strings(out)
	return out
}
