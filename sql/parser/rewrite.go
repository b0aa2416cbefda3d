package parser

import (
	"strconv"
	"strings"

	"github.com/sqld/sqld/sql/pgerror"
)

// The token pass below turns Postgres text into text the TiDB parser
// accepts. Constructs TiDB lacks become calls of reserved functions whose
// names start with "sqld__"; the conversion in convert.go turns them back
// into the real nodes. Identifiers are emitted lower-cased unless they were
// quoted, so the conversion can take names as they come out of TiDB.

// Reserved function names used between the token pass and the conversion.
const (
	fnCast       = "sqld__cast"      // (x, 'type')
	fnInterval   = "sqld__interval"  // ('value', 'unit')
	fnBool       = "sqld__bool"      // (1|0)
	fnParam      = "sqld__param"     // (n)
	fnFloat      = "sqld__float"     // ('1e5')
	fnNumeric    = "sqld__numeric"   // ('123...'): a number too long for TiDB's decimals
	fnArray      = "sqld__array"     // (elems...)
	fnSubscript  = "sqld__subscript" // (x, index): x[index]
	fnExtract    = "sqld__extract"   // ('field', x)
	fnConcat     = "sqld__fn_concat" // a user's concat(...): TiDB's || is concat too
	fnMod        = "sqld__fn_mod"    // a user's mod(a, b): TiDB makes it the % operator
	fnAgg        = "sqld__agg"       // (call, 'd'|'', sqld__ord...)
	fnOrd        = "sqld__ord"       // (x, 'flags'): d desc, f nulls first, l nulls last
	fnFilter     = "sqld__filter"    // (call, cond)
	fnStar       = "sqld__star"      // count(sqld__star())
	fnNulls      = "sqld__nulls"     // (x, 1|0) in ORDER BY: NULLS FIRST|LAST
	fnDistinctOn = "sqld__distinct_on"
	fnTableFunc  = "sqld__tablefunc" // ('name', args...) as the only field of a derived table
	fnValues     = "sqld__values"    // (sqld__row(...), ...) as the only field of a SELECT
	fnRow        = "sqld__row"
	fnAny        = "sqld__any" // x op sqld__any(list)
	fnAll        = "sqld__all"
	fnIsDistinct = "sqld__isdistinct" // a <=> sqld__isdistinct(b)
	fnCI         = "sqld__ci"         // a REGEXP sqld__ci(b): ~*
	fnSimilar    = "sqld__similar"    // a LIKE sqld__similar(b)
	fnSymmetric  = "sqld__symmetric"  // BETWEEN sqld__symmetric(lo) AND hi
	aliasPrefix  = "sqld__alias_"
	noLimit      = "18446744073709551615"
)

// aliasInfo is what a FROM item's placeholder alias stands for.
type aliasInfo struct {
	name    string
	cols    []string
	asOf    bool
	lateral bool
}

// piece is one emitted token of the rewritten text; tok is the index of
// the source token it came from, for error positions.
type piece struct {
	s   string
	tok int
}

type rewriter struct {
	sp    *stmtParser
	toks  []token
	match []int
	out   []piece
}

// tidbReserved are words TiDB reserves that Postgres users write as plain
// identifiers; they are emitted quoted unless a '(' follows.
var tidbReserved = map[string]bool{}

func init() {
	pass := map[string]bool{}
	for _, w := range strings.Fields(`all and as asc between both by case collate cross current_date current_role
		current_time current_timestamp current_user default delete desc distinct else except exists false fetch
		for from group having in inner insert intersect interval into is join lateral leading left like ilike
		limit localtime localtimestamp natural not null of on or order outer over partition recursive right
		select set then to trailing true union update using values when where window with array`) {
		pass[w] = true
	}
	for _, w := range strings.Fields(`add alter analyze bigint binary blob call cascade change char character
		check column constraint continue convert create cume_dist cursor database databases day_hour
		day_microsecond day_minute day_second decimal delayed dense_rank describe distinctrow div double drop
		dual elseif enclosed escaped exit explain first_value float float4 float8 force foreign fulltext
		generated grant if ignore index infile inout int int1 int2 int3 int4 int8 integer iterate key keys
		kill lag last_value lead leave linear lines load lock long longblob longtext low_priority match
		maxvalue mediumblob mediumint mediumtext middleint minute_microsecond minute_second mod
		no_write_to_binlog nth_value ntile numeric optimize option optionally out outfile percent_rank
		precision primary procedure rank read real references regexp release rename repeat replace require
		restrict revoke rlike row_number second_microsecond show smallint spatial sql sqlexception sqlstate
		sqlwarning sql_big_result sql_calc_found_rows sql_small_result ssl starting stored straight_join table
		tablesample terminated tidb_current_tso tinyblob tinyint tinytext trigger unique unlock unsigned until
		usage use utc_date utc_time utc_timestamp varbinary varchar varcharacter varying virtual while write
		xor year_month zerofill`) {
		if !pass[w] {
			tidbReserved[w] = true
		}
	}
}

// nonFunc are words that may precede '(' without making a function call.
var nonFunc = wordSet(`all and any as asc between by case cast_ desc distinct else end exists from group having in
	into is join lateral like ilike limit not offset on or order over partition returning select set some
	then union intersect except using values when where with window filter row rows range groups
	preceding following recursive table update delete insert conflict do similar escape to symmetric`)

// aliasStop are words that end a FROM item instead of naming its alias.
var aliasStop = wordSet(`on using join inner left right full cross natural where group having order limit
	offset union intersect except window for fetch returning set emit lateral straight_join when then else
	end as from select values with and or not into do`)

// clauseEnd are words that end a FROM clause or an ORDER BY list.
var clauseEnd = wordSet(`where group having order limit offset fetch union intersect except window returning
	emit rows range groups on using`)

// typeStart are words that begin a typed literal such as DATE '2024-01-01'.
var typeStart = wordSet(`date time timestamp timestamptz timetz int int2 int4 int8 integer bigint smallint
	float4 float8 real double numeric decimal text varchar char character bool boolean json jsonb bytea uuid`)

// intervalUnits are the field words of an interval literal.
var intervalUnits = wordSet(`year years month months week weeks day days hour hours minute minutes second
	seconds millisecond milliseconds microsecond microseconds`)

// extentStop are tokens that end the operand to the right of a comparison.
var extentStop = wordSet(`and or not is isnull notnull in like ilike similar between escape then else when end
	from where group order having limit offset as asc desc nulls on using join inner left right full
	cross natural union intersect except window returning for into fetch do set emit collate`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func newRewriter(sp *stmtParser, toks []token) (*rewriter, error) {
	r := &rewriter{sp: sp, toks: toks, match: make([]int, len(toks)), out: make([]piece, 0, len(toks)+8)}
	var stack []int
	for i, t := range toks {
		r.match[i] = -1
		if t.kind != tkOp {
			continue
		}
		switch t.val {
		case "(", "[":
			stack = append(stack, i)
		case ")", "]":
			if len(stack) == 0 {
				return nil, sp.errAt(t)
			}
			o := stack[len(stack)-1]
			if (t.val == ")") != (toks[o].val == "(") {
				return nil, sp.errAt(t)
			}
			stack = stack[:len(stack)-1]
			r.match[o] = i
			r.match[i] = o
		}
	}
	if len(stack) > 0 {
		return nil, sp.errEnd()
	}
	return r, nil
}

// text joins the emitted pieces and returns, for each piece, its byte
// offset in the text.
func (r *rewriter) text() (string, []int) {
	var sb strings.Builder
	offs := make([]int, len(r.out))
	n := 0
	for _, p := range r.out {
		n += len(p.s) + 1
	}
	sb.Grow(n)
	for i, p := range r.out {
		if i > 0 && p.s != "." && p.s != "(" && r.out[i-1].s != "." {
			sb.WriteByte(' ')
		}
		offs[i] = sb.Len()
		sb.WriteString(p.s)
	}
	return sb.String(), offs
}

func (r *rewriter) emit(k int, ss ...string) {
	for _, s := range ss {
		r.out = append(r.out, piece{s: s, tok: k})
	}
}

func (r *rewriter) tok(k, hi int) token {
	if k < hi && k < len(r.toks) {
		return r.toks[k]
	}
	return token{kind: tkEOF}
}

func (r *rewriter) err(k, hi int) error {
	if k < hi && k < len(r.toks) {
		return r.sp.errAt(r.toks[k])
	}
	if hi < len(r.toks) && hi >= 0 {
		return r.sp.errAt(r.toks[hi])
	}
	return r.sp.errEnd()
}

// emitIdent emits an identifier token.
func (r *rewriter) emitIdent(k, hi int) {
	t := r.toks[k]
	if t.kind == tkQIdent {
		r.emit(k, quoteIdent(t.val))
		return
	}
	v := t.val
	nxt := r.tok(k+1, hi)
	switch {
	case nxt.isOp("("):
		r.emit(k, v)
	case tidbReserved[v] || strings.HasPrefix(v, "sqld__"):
		r.emit(k, quoteIdent(v))
	case v == "rows" || v == "range" || v == "groups":
		if nxt.is("between") || nxt.is("unbounded") || nxt.is("current") || nxt.kind == tkNumber {
			r.emit(k, v)
		} else {
			r.emit(k, quoteIdent(v))
		}
	case v == "row":
		if k > 0 && r.toks[k-1].is("current") {
			r.emit(k, v)
		} else {
			r.emit(k, quoteIdent(v))
		}
	default:
		r.emit(k, v)
	}
}

type level struct {
	from, expectItem bool
	order            bool
	itemStart        int
	sawLimit         bool
	queryStart       bool
}

// run rewrites toks[lo:hi]. call says the range is a function's argument
// list (so FROM there is not a FROM clause).
func (r *rewriter) run(lo, hi int, call bool) error {
	return r.runLevel(lo, hi, call, level{queryStart: !call})
}

func (r *rewriter) runLevel(lo, hi int, call bool, st level) error {
	k := lo
	for k < hi {
		t := r.toks[k]
		qs := st.queryStart
		st.queryStart = false
		if st.expectItem {
			st.expectItem = false
			nk, err := r.fromItem(k, hi)
			if err != nil {
				return err
			}
			if nk != k {
				k = nk
				continue
			}
		}
		switch t.kind {
		case tkString:
			r.emit(k, quoteString(t.val))
			k++
		case tkNumber:
			if strings.ContainsAny(t.val, "eE") {
				r.emit(k, fnFloat, "(", quoteString(t.val), ")")
			} else if len(t.val) > 30 {
				// Longer than any int64 or decimal(38): TiDB's decimal
				// parser is not used for it.
				r.emit(k, fnNumeric, "(", quoteString(t.val), ")")
			} else {
				r.emit(k, t.val)
			}
			k++
		case tkParam:
			r.emit(k, fnParam, "(", t.val, ")")
			k++
		case tkQIdent:
			nk, err := r.maybeCall(k, hi)
			if err != nil {
				return err
			}
			k = nk
		case tkOp:
			nk, err := r.op(k, hi, &st)
			if err != nil {
				return err
			}
			k = nk
		case tkIdent:
			nk, err := r.word(k, hi, &st, call, qs)
			if err != nil {
				return err
			}
			k = nk
		default:
			return r.err(k, hi)
		}
	}
	return nil
}

func (r *rewriter) group(k int, isCall bool) error {
	c := r.match[k]
	r.emit(k, "(")
	if err := r.run(k+1, c, isCall); err != nil {
		return err
	}
	r.emit(c, ")")
	return nil
}

func (r *rewriter) op(k, hi int, st *level) (int, error) {
	t := r.toks[k]
	switch t.val {
	case "(":
		if err := r.group(k, false); err != nil {
			return 0, err
		}
		return r.match[k] + 1, nil
	case "[":
		if r.prevEndsOperand() {
			return r.subscript(k, hi)
		}
		return 0, r.err(k, hi)
	case "]", "#", "?", "@", ":", "$", "->", "->>", "=>", "@>", "<@", "&&", "<=>":
		return 0, r.err(k, hi)
	case "::":
		return r.postfixCast(k, hi)
	case "~", "~~":
		if r.prevEndsOperand() {
			if t.val == "~~" {
				r.emit(k, "like")
			} else {
				r.emit(k, "regexp")
			}
		} else {
			r.emit(k, "~")
		}
		return k + 1, nil
	case "!~", "!~~":
		if t.val == "!~~" {
			r.emit(k, "not", "like")
		} else {
			r.emit(k, "not", "regexp")
		}
		return k + 1, nil
	case "~*", "!~*":
		if t.val == "!~*" {
			r.emit(k, "not")
		}
		r.emit(k, "regexp", fnCI, "(")
		e := r.extentEnd(k+1, hi)
		if e == k+1 {
			return 0, r.err(e, hi)
		}
		if err := r.run(k+1, e, true); err != nil {
			return 0, err
		}
		r.emit(e-1, ")")
		return e, nil
	case ",":
		r.emit(k, ",")
		if st.from {
			st.expectItem = true
		}
		if st.order {
			st.itemStart = len(r.out)
		}
		return k + 1, nil
	}
	r.emit(k, t.val)
	return k + 1, nil
}

func isComparison(t token) bool {
	if t.kind != tkOp {
		return false
	}
	switch t.val {
	case "=", "<>", "!=", "<", ">", "<=", ">=":
		return true
	}
	return false
}

// extentEnd returns the end of the operand that starts at k, for
// operators whose right side must be wrapped: it stops at a comparison, a
// keyword that cannot continue an operand, a comma or a closing bracket.
func (r *rewriter) extentEnd(k, hi int) int {
	caseDepth := 0
	for k < hi {
		t := r.toks[k]
		switch t.kind {
		case tkOp:
			switch t.val {
			case "(", "[":
				k = r.match[k] + 1
				continue
			case ",", ")", "]", ";", "~", "~*", "!~", "!~*", "<=>":
				if caseDepth == 0 {
					return k
				}
			default:
				if isComparison(t) && caseDepth == 0 {
					return k
				}
			}
		case tkIdent:
			if t.val == "case" {
				caseDepth++
			} else if t.val == "end" && caseDepth > 0 {
				caseDepth--
			} else if caseDepth == 0 && extentStop[t.val] {
				return k
			}
		}
		k++
	}
	return k
}

// prevEndsOperand reports whether the last emitted piece ends an operand,
// so a following ~ is binary.
func (r *rewriter) prevEndsOperand() bool {
	if len(r.out) == 0 {
		return false
	}
	p := r.out[len(r.out)-1].s
	switch {
	case p == ")" || p == "]":
		return true
	case p[0] == '\'' || p[0] == '"' || isDigit(p[0]) || p[0] == '.':
		return true
	case isIdentStart(p[0]):
		return !nonFunc[p] && !extentStop[p]
	}
	return false
}

// operandStart returns the index in r.out where the postfix operand that
// ends the output begins.
func (r *rewriter) operandStart() int {
	j := len(r.out) - 1
	if j < 0 {
		return -1
	}
	p := r.out[j].s
	switch {
	case p == ")":
		depth := 0
		for ; j >= 0; j-- {
			switch r.out[j].s {
			case ")":
				depth++
			case "(":
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if j < 0 {
			return -1
		}
		if j > 0 {
			prev := r.out[j-1].s
			if prev == "over" {
				save := r.out
				r.out = r.out[:j-1]
				s := r.operandStart()
				r.out = save
				return s
			}
			if isIdentStart(prev[0]) && (!nonFunc[prev] || prev == "exists") || prev[0] == '"' {
				j--
			}
		}
	case p == "end":
		depth := 0
		for ; j >= 0; j-- {
			switch r.out[j].s {
			case "end":
				depth++
			case "case":
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if j < 0 {
			return -1
		}
	case p[0] == '\'' || p[0] == '"' || isDigit(p[0]) || isIdentStart(p[0]) || p == "*":
	default:
		return -1
	}
	for j >= 2 && r.out[j-1].s == "." {
		j -= 2
	}
	return j
}

func (r *rewriter) postfixCast(k, hi int) (int, error) {
	s := r.operandStart()
	if s < 0 {
		return 0, r.err(k, hi)
	}
	typ, nk, ok := parseTypeName(r.toks, k+1, hi)
	if !ok {
		return 0, r.err(k+1, hi)
	}
	operand := append([]piece(nil), r.out[s:]...)
	r.out = r.out[:s]
	r.emit(k, fnCast, "(")
	r.out = append(r.out, operand...)
	r.emit(k, ",", quoteString(typ), ")")
	return nk, nil
}

// subscript rewrites the postfix x[i] into sqld__subscript(x, i).
func (r *rewriter) subscript(k, hi int) (int, error) {
	s := r.operandStart()
	c := r.match[k]
	if s < 0 || c < 0 || c >= hi {
		return 0, r.err(k, hi)
	}
	if c == k+1 {
		return 0, r.err(c, hi)
	}
	if depth0(r.toks[k+1:c], 0, func(i int) bool { return r.toks[k+1+i].isOp(":") }) >= 0 {
		return 0, unsupported("array slices are not supported")
	}
	operand := append([]piece(nil), r.out[s:]...)
	r.out = r.out[:s]
	r.emit(k, fnSubscript, "(")
	r.out = append(r.out, operand...)
	r.emit(k, ",")
	if err := r.run(k+1, c, true); err != nil {
		return 0, err
	}
	r.emit(c, ")")
	return c + 1, nil
}

// parseTypeName reads a Postgres type name at toks[k:hi] and returns its
// canonical text (lower case, multi-word names normalised, modifiers kept).
func parseTypeName(toks []token, k, hi int) (string, int, bool) {
	at := func(i int) token {
		if i < hi {
			return toks[i]
		}
		return token{kind: tkEOF}
	}
	t := at(k)
	if t.kind != tkIdent && t.kind != tkQIdent {
		return "", k, false
	}
	name := t.val
	k++
	if at(k).isOp(".") && (at(k+1).kind == tkIdent || at(k+1).kind == tkQIdent) {
		// A schema-qualified name such as pg_catalog.int4: keep the type.
		name = at(k + 1).val
		k += 2
	}
	switch name {
	case "double":
		if at(k).is("precision") {
			name = "double precision"
			k++
		}
	case "character", "char":
		if at(k).is("varying") {
			name = "varchar"
			k++
		}
	case "bit":
		if at(k).is("varying") {
			name = "varbit"
			k++
		}
	}
	mods := ""
	if at(k).isOp("(") {
		var args []string
		j := k + 1
		for {
			a := at(j)
			if a.kind != tkNumber && a.kind != tkIdent {
				return "", k, false
			}
			args = append(args, a.val)
			j++
			if at(j).isOp(",") {
				j++
				continue
			}
			if at(j).isOp(")") {
				j++
				break
			}
			return "", k, false
		}
		mods = "(" + strings.Join(args, ",") + ")"
		k = j
	}
	if name == "timestamp" || name == "time" {
		if (at(k).is("with") || at(k).is("without")) && at(k+1).is("time") && at(k+2).is("zone") {
			if at(k).is("with") {
				name += "tz"
			}
			k += 3
		}
	}
	if name == "interval" {
		// INTERVAL fields qualifiers in a type name are accepted and kept.
		if u := at(k); u.kind == tkIdent && intervalUnits[u.val] {
			name += " " + u.val
			k++
			if at(k).is("to") && intervalUnits[at(k+1).val] {
				name += " to " + at(k+1).val
				k += 2
			}
		}
	}
	name += mods
	for at(k).isOp("[") && at(k+1).isOp("]") {
		name += "[]"
		k += 2
	}
	return name, k, true
}

// fromItem rewrites one FROM item at k. It returns k unchanged when the
// tokens there are not a FROM item, leaving them to the caller.
func (r *rewriter) fromItem(k, hi int) (int, error) {
	lateral := false
	if r.tok(k, hi).is("lateral") {
		lateral = true
		k++
	}
	t := r.tok(k, hi)
	tableFunc, asOf := false, false
	switch {
	case t.isOp("("):
		c := r.match[k]
		if in := r.tok(k+1, c); in.is("select") || in.is("values") || in.is("with") || in.isOp("(") && !lateral && r.parenJoin(k+1, c) == false {
			if err := r.group(k, false); err != nil {
				return 0, err
			}
		} else {
			// A parenthesised join.
			r.emit(k, "(")
			if err := r.runLevel(k+1, c, false, level{from: true, expectItem: true}); err != nil {
				return 0, err
			}
			r.emit(c, ")")
		}
		k = c + 1
	case (t.kind == tkIdent && !nonFunc[t.val] || t.kind == tkQIdent) && r.tok(k+1, hi).isOp("("):
		c := r.match[k+1]
		tableFunc = true
		r.emit(k, "(", "select", fnTableFunc, "(", quoteString(t.val))
		if c > k+2 {
			r.emit(k, ",")
			if err := r.run(k+2, c, true); err != nil {
				return 0, err
			}
		}
		r.emit(c, ")", ")")
		k = c + 1
	case t.kind == tkQIdent || t.kind == tkIdent && !aliasStop[t.val] && !nonFunc[t.val]:
		r.emit(k, quoteIdent(t.val))
		k++
		for r.tok(k, hi).isOp(".") && (r.tok(k+1, hi).kind == tkIdent || r.tok(k+1, hi).kind == tkQIdent) {
			r.emit(k, ".", quoteIdent(r.tok(k+1, hi).val))
			k += 2
		}
		if r.tok(k, hi).is("for") && r.tok(k+1, hi).is("system_time") && r.tok(k+2, hi).is("as") &&
			r.tok(k+3, hi).is("of") && r.tok(k+4, hi).is("proctime") && r.tok(k+5, hi).isOp("(") && r.tok(k+6, hi).isOp(")") {
			asOf = true
			k += 7
		}
	default:
		if lateral {
			return 0, r.err(k, hi)
		}
		return k, nil
	}
	// Alias and column aliases.
	alias, hasAlias := "", false
	var cols []string
	explicitAs := false
	if r.tok(k, hi).is("as") {
		explicitAs = true
		k++
	}
	if a := r.tok(k, hi); a.kind == tkQIdent || a.kind == tkIdent && (explicitAs || !aliasStop[a.val]) {
		alias, hasAlias = a.val, true
		k++
		if r.tok(k, hi).isOp("(") {
			c := r.match[k]
			cols = []string{}
			for j := k + 1; j < c; j++ {
				ct := r.toks[j]
				if ct.kind != tkIdent && ct.kind != tkQIdent {
					return 0, r.err(j, hi)
				}
				cols = append(cols, ct.val)
				j++
				if j < c && !r.toks[j].isOp(",") {
					return 0, r.err(j, hi)
				}
			}
			k = c + 1
		}
	} else if explicitAs {
		return 0, r.err(k, hi)
	}
	if cols != nil || asOf || lateral || tableFunc {
		n := len(r.sp.aliases)
		r.sp.aliases = append(r.sp.aliases, aliasInfo{name: alias, cols: cols, asOf: asOf, lateral: lateral})
		r.emit(k-1, "as", quoteIdent(aliasPrefix+strconv.Itoa(n)))
	} else if hasAlias {
		r.emit(k-1, "as", quoteIdent(alias))
	}
	return k, nil
}

// parenJoin reports whether toks[lo:hi] (inside parentheses that start
// with another parenthesis) continue as a join rather than as a query.
func (r *rewriter) parenJoin(lo, hi int) bool {
	if !r.toks[lo].isOp("(") {
		return true
	}
	j := r.match[lo] + 1
	for j < hi {
		t := r.toks[j]
		if t.is("join") || t.is("natural") || t.is("cross") || t.is("left") || t.is("right") || t.is("full") || t.is("inner") || t.isOp(",") {
			return true
		}
		if t.is("union") || t.is("intersect") || t.is("except") || t.is("order") || t.is("limit") {
			return false
		}
		if t.isOp("(") {
			j = r.match[j]
		}
		j++
	}
	return false
}

// maybeCall handles an identifier that may start a function call.
func (r *rewriter) maybeCall(k, hi int) (int, error) {
	t := r.toks[k]
	if !r.tok(k+1, hi).isOp("(") || (t.kind == tkIdent && nonFunc[t.val]) {
		r.emitIdent(k, hi)
		return k + 1, nil
	}
	open := k + 1
	c := r.match[open]
	name := t.val
	start := len(r.out)
	switch {
	case t.kind == tkIdent && name == "cast":
		as := -1
		for j := open + 1; j < c; j++ {
			if r.toks[j].isOp("(") || r.toks[j].isOp("[") {
				j = r.match[j]
				continue
			}
			if r.toks[j].is("as") {
				as = j
			}
		}
		if as < 0 {
			return 0, r.err(c, hi)
		}
		typ, nk, ok := parseTypeName(r.toks, as+1, c)
		if !ok || nk != c {
			return 0, r.err(nk, hi)
		}
		r.emit(k, fnCast, "(")
		if err := r.run(open+1, as, true); err != nil {
			return 0, err
		}
		r.emit(as, ",", quoteString(typ), ")")
		return c + 1, nil
	case t.kind == tkIdent && name == "extract":
		f := r.tok(open+1, c)
		if (f.kind != tkIdent && f.kind != tkString) || !r.tok(open+2, c).is("from") {
			return 0, r.err(open+1, c)
		}
		r.emit(k, fnExtract, "(", quoteString(strings.ToLower(f.val)), ",")
		if err := r.run(open+3, c, true); err != nil {
			return 0, err
		}
		r.emit(c, ")")
		return c + 1, nil
	}
	// Aggregate modifiers: DISTINCT/ALL first, ORDER BY inside.
	distinct := false
	argLo := open + 1
	if r.tok(argLo, c).is("distinct") {
		distinct = true
		argLo++
	} else if r.tok(argLo, c).is("all") {
		argLo++
	}
	orderAt := -1
	for j := argLo; j < c; j++ {
		if r.toks[j].isOp("(") || r.toks[j].isOp("[") {
			j = r.match[j]
			continue
		}
		if r.toks[j].is("order") && r.tok(j+1, c).is("by") {
			orderAt = j
			break
		}
	}
	argHi := c
	if orderAt >= 0 {
		argHi = orderAt
	}
	wrap := orderAt >= 0 || (distinct && t.kind == tkIdent && !tidbDistinctAgg[name])
	if wrap {
		r.emit(k, fnAgg, "(")
	}
	fname := name
	if t.kind == tkQIdent {
		fname = quoteIdent(name)
	} else if name == "concat" {
		fname = fnConcat
	} else if name == "mod" {
		fname = fnMod
	}
	r.emit(k, fname, "(")
	if distinct && !wrap {
		r.emit(open+1, "distinct")
	}
	if argHi == argLo+1 && r.toks[argLo].isOp("*") {
		r.emit(argLo, fnStar, "(", ")")
	} else if err := r.run(argLo, argHi, true); err != nil {
		return 0, err
	}
	r.emit(argHi, ")")
	if wrap {
		flag := ""
		if distinct {
			flag = "d"
		}
		r.emit(c, ",", quoteString(flag))
		if orderAt >= 0 {
			if err := r.orderItems(orderAt+2, c); err != nil {
				return 0, err
			}
		}
		r.emit(c, ")")
	}
	k = c + 1
	if r.tok(k, hi).is("filter") && r.tok(k+1, hi).isOp("(") && r.tok(k+2, hi).is("where") {
		fc := r.match[k+1]
		call := append([]piece(nil), r.out[start:]...)
		r.out = r.out[:start]
		r.emit(k, fnFilter, "(")
		r.out = append(r.out, call...)
		r.emit(k, ",")
		if err := r.run(k+3, fc, true); err != nil {
			return 0, err
		}
		r.emit(fc, ")")
		k = fc + 1
	}
	if r.tok(k, hi).is("within") {
		return 0, r.err(k, hi)
	}
	return k, nil
}

var tidbDistinctAgg = wordSet(`count sum avg min max`)

// orderItems emits ", sqld__ord(x, 'flags')" for each ORDER BY item of
// toks[lo:hi] (an ordered aggregate's ORDER BY).
func (r *rewriter) orderItems(lo, hi int) error {
	j := lo
	for j < hi {
		e := j
		for e < hi && !r.toks[e].isOp(",") {
			if r.toks[e].isOp("(") || r.toks[e].isOp("[") {
				e = r.match[e]
			}
			e++
		}
		end := e
		flags := ""
		if end-2 >= j && r.toks[end-2].is("nulls") && (r.toks[end-1].is("first") || r.toks[end-1].is("last")) {
			flags += r.toks[end-1].val[:1]
			end -= 2
		}
		if end-1 >= j && (r.toks[end-1].is("asc") || r.toks[end-1].is("desc")) {
			if r.toks[end-1].is("desc") {
				flags = "d" + flags
			}
			end--
		}
		if end == j {
			return r.err(j, hi)
		}
		r.emit(j, ",", fnOrd, "(")
		if err := r.run(j, end, true); err != nil {
			return err
		}
		r.emit(end, ",", quoteString(flags), ")")
		j = e + 1
	}
	return nil
}

func (r *rewriter) word(k, hi int, st *level, call, qs bool) (int, error) {
	t := r.toks[k]
	v := t.val
	nxt := r.tok(k+1, hi)
	if !call && clauseEnd[v] && !(v == "on" || v == "using") {
		st.from = false
		st.order = false
	}
	switch v {
	case "from":
		r.emit(k, v)
		if !call {
			st.from, st.expectItem, st.order = true, true, false
		}
		return k + 1, nil
	case "join", "straight_join":
		r.emit(k, v)
		if st.from {
			st.expectItem = true
		}
		return k + 1, nil
	case "full":
		if st.from {
			j := k + 1
			if r.tok(j, hi).is("outer") {
				j++
			}
			if r.tok(j, hi).is("join") {
				r.emit(k, "straight_join")
				st.expectItem = true
				return j + 1, nil
			}
		}
	case "natural":
		if st.from && nxt.is("full") {
			return 0, r.err(k+1, hi)
		}
		if st.from && nxt.is("inner") {
			r.emit(k, "natural")
			return k + 2, nil
		}
	case "union", "intersect", "except":
		r.emit(k, v)
		k++
		if r.tok(k, hi).is("all") || r.tok(k, hi).is("distinct") {
			r.emit(k, r.toks[k].val)
			k++
		}
		st.queryStart = true
		st.sawLimit = false
		return k, nil
	case "order":
		if nxt.is("by") {
			r.emit(k, "order", "by")
			st.order = true
			st.itemStart = len(r.out)
			return k + 2, nil
		}
	case "nulls":
		if st.order && (nxt.is("first") || nxt.is("last")) {
			items := append([]piece(nil), r.out[st.itemStart:]...)
			dir := ""
			if n := len(items); n > 0 && (items[n-1].s == "asc" || items[n-1].s == "desc") {
				dir = items[n-1].s
				items = items[:n-1]
			}
			if len(items) == 0 {
				return 0, r.err(k, hi)
			}
			r.out = r.out[:st.itemStart]
			first := "0"
			if nxt.is("first") {
				first = "1"
			}
			r.emit(k, fnNulls, "(")
			r.out = append(r.out, items...)
			r.emit(k, ",", first, ")")
			if dir != "" {
				r.emit(k, dir)
			}
			return k + 2, nil
		}
	case "limit":
		st.sawLimit = true
		if nxt.is("all") {
			r.emit(k, "limit", noLimit)
			return k + 2, nil
		}
	case "offset":
		if !st.sawLimit {
			return r.offset(k, hi, st)
		}
		r.emit(k, "offset")
		j := k + 1
		if r.tok(j, hi).kind == tkNumber || r.tok(j, hi).kind == tkParam {
			r.emit(j, r.toks[j].val)
			j++
		}
		if r.tok(j, hi).is("row") || r.tok(j, hi).is("rows") {
			j++
		}
		return j, nil
	case "fetch":
		return r.fetch(k, hi, st, "")
	case "distinct":
		if nxt.is("on") && r.tok(k+2, hi).isOp("(") {
			c := r.match[k+2]
			r.emit(k, "distinct", fnDistinctOn, "(")
			if err := r.run(k+3, c, true); err != nil {
				return 0, err
			}
			r.emit(c, ")", ",")
			return c + 1, nil
		}
	case "values":
		if qs && nxt.isOp("(") {
			return r.values(k, hi)
		}
	case "true", "false":
		prev := token{}
		if k > 0 {
			prev = r.toks[k-1]
		}
		if !(prev.is("is") || prev.is("not") && k > 1 && r.toks[k-2].is("is")) {
			b := "0"
			if v == "true" {
				b = "1"
			}
			r.emit(k, fnBool, "(", b, ")")
			return k + 1, nil
		}
	case "interval":
		if nk, ok, err := r.interval(k, hi); ok || err != nil {
			return nk, err
		}
	case "array":
		if nxt.isOp("[") {
			c := r.match[k+1]
			r.emit(k, fnArray, "(")
			if err := r.run(k+2, c, true); err != nil {
				return 0, err
			}
			r.emit(c, ")")
			return c + 1, nil
		}
	case "isnull":
		if !nxt.isOp("(") {
			r.emit(k, "is", "null")
			return k + 1, nil
		}
	case "notnull":
		r.emit(k, "is", "not", "null")
		return k + 1, nil
	case "is":
		j := k + 1
		not := false
		if r.tok(j, hi).is("not") {
			not = true
			j++
		}
		if r.tok(j, hi).is("distinct") && r.tok(j+1, hi).is("from") {
			j += 2
			r.emit(k, "<=>")
			if not {
				return j, nil
			}
			e := r.extentEnd(j, hi)
			if e == j {
				return 0, r.err(j, hi)
			}
			r.emit(j, fnIsDistinct, "(")
			if err := r.run(j, e, true); err != nil {
				return 0, err
			}
			r.emit(e-1, ")")
			return e, nil
		}
	case "not", "similar":
		j := k
		if v == "not" {
			j++
		}
		if r.tok(j, hi).is("similar") && r.tok(j+1, hi).is("to") {
			if v == "not" {
				r.emit(k, "not")
			}
			r.emit(j, "like", fnSimilar, "(")
			e := r.extentEnd(j+2, hi)
			if e == j+2 {
				return 0, r.err(e, hi)
			}
			if err := r.run(j+2, e, true); err != nil {
				return 0, err
			}
			r.emit(e-1, ")")
			return e, nil
		}
	case "between":
		if nxt.is("symmetric") || nxt.is("asymmetric") {
			j := k + 2
			e := j
			for e < hi && !r.toks[e].is("and") {
				if r.toks[e].isOp("(") {
					e = r.match[e]
				}
				e++
			}
			r.emit(k, "between")
			if nxt.is("symmetric") {
				r.emit(k, fnSymmetric, "(")
			}
			if err := r.run(j, e, true); err != nil {
				return 0, err
			}
			if nxt.is("symmetric") {
				r.emit(e, ")")
			}
			return e, nil
		}
	case "any", "some", "all":
		if k > 0 && isComparison(r.toks[k-1]) && nxt.isOp("(") {
			c := r.match[k+1]
			in := r.tok(k+2, c)
			if in.is("select") || in.is("with") || in.is("values") {
				r.emit(k, "any")
				if v == "all" {
					r.out[len(r.out)-1].s = "all"
				}
				if err := r.group(k+1, false); err != nil {
					return 0, err
				}
				return c + 1, nil
			}
			fn := fnAny
			if v == "all" {
				fn = fnAll
			}
			r.emit(k, fn, "(")
			if in.is("array") && r.tok(k+3, c).isOp("[") && r.match[k+3] == c-1 {
				if err := r.run(k+4, c-1, true); err != nil {
					return 0, err
				}
			} else if err := r.run(k+2, c, true); err != nil {
				return 0, err
			}
			r.emit(c, ")")
			return c + 1, nil
		}
	}
	if typeStart[v] {
		if typ, j, ok := parseTypeName(r.toks, k, hi); ok && r.tok(j, hi).kind == tkString {
			r.emit(k, fnCast, "(", quoteString(r.toks[j].val), ",", quoteString(typ), ")")
			return j + 1, nil
		}
	}
	return r.maybeCall(k, hi)
}

// offset handles OFFSET before (or without) LIMIT: TiDB wants LIMIT first.
func (r *rewriter) offset(k, hi int, st *level) (int, error) {
	j := k + 1
	val := r.tok(j, hi)
	if val.kind != tkNumber {
		return 0, r.err(j, hi)
	}
	j++
	if r.tok(j, hi).is("row") || r.tok(j, hi).is("rows") {
		j++
	}
	if r.tok(j, hi).is("fetch") {
		return r.fetch(j, hi, st, val.val)
	}
	limit := noLimit
	if r.tok(j, hi).is("limit") {
		l := r.tok(j+1, hi)
		switch {
		case l.is("all"):
		case l.kind == tkNumber:
			limit = l.val
		default:
			return 0, r.err(j+1, hi)
		}
		j += 2
	}
	st.sawLimit = true
	r.emit(k, "limit", limit, "offset", val.val)
	return j, nil
}

// fetch turns FETCH FIRST|NEXT [n] ROW|ROWS ONLY into LIMIT.
func (r *rewriter) fetch(k, hi int, st *level, offset string) (int, error) {
	j := k + 1
	if !(r.tok(j, hi).is("first") || r.tok(j, hi).is("next")) {
		return 0, r.err(j, hi)
	}
	j++
	n := "1"
	if r.tok(j, hi).kind == tkNumber {
		n = r.toks[j].val
		j++
	}
	if !(r.tok(j, hi).is("row") || r.tok(j, hi).is("rows")) {
		return 0, r.err(j, hi)
	}
	j++
	if !r.tok(j, hi).is("only") {
		return 0, r.err(j, hi)
	}
	j++
	st.sawLimit = true
	r.emit(k, "limit", n)
	if offset != "" {
		r.emit(k, "offset", offset)
	}
	return j, nil
}

// values rewrites a VALUES query into SELECT sqld__values(sqld__row(...), ...).
func (r *rewriter) values(k, hi int) (int, error) {
	r.emit(k, "select", fnValues, "(")
	j := k + 1
	for {
		if !r.tok(j, hi).isOp("(") {
			return 0, r.err(j, hi)
		}
		c := r.match[j]
		r.emit(j, fnRow)
		if err := r.group(j, true); err != nil {
			return 0, err
		}
		j = c + 1
		if r.tok(j, hi).isOp(",") {
			r.emit(j, ",")
			j++
			continue
		}
		break
	}
	r.emit(j-1, ")")
	return j, nil
}

// interval rewrites an interval literal; ok is false when the tokens are
// not one (INTERVAL as a column name, for instance).
func (r *rewriter) interval(k, hi int) (int, bool, error) {
	j := k + 1
	v := r.tok(j, hi)
	neg := ""
	if v.isOp("-") && r.tok(j+1, hi).kind == tkNumber {
		neg = "-"
		j++
		v = r.tok(j, hi)
	}
	if v.kind != tkString && v.kind != tkNumber {
		return k, false, nil
	}
	value := neg + v.val
	j++
	unit := ""
	if u := r.tok(j, hi); u.kind == tkIdent && intervalUnits[u.val] {
		unit = u.val
		j++
		if r.tok(j, hi).isOp("(") && r.tok(j+1, hi).kind == tkNumber && r.tok(j+2, hi).isOp(")") {
			j += 3
		}
		if r.tok(j, hi).is("to") && intervalUnits[r.tok(j+1, hi).val] {
			unit += " to " + r.tok(j+1, hi).val
			j += 2
			if r.tok(j, hi).isOp("(") && r.tok(j+1, hi).kind == tkNumber && r.tok(j+2, hi).isOp(")") {
				j += 3
			}
		}
	} else if v.kind == tkNumber {
		return 0, false, r.err(j, hi)
	}
	r.emit(k, fnInterval, "(", quoteString(value), ",", quoteString(unit), ")")
	return j, true, nil
}

// rewriteError maps a TiDB syntax error on the rewritten text back to the
// source.
func (r *rewriter) rewriteError(text string, offs []int, msg string) error {
	i := strings.Index(msg, "near \"")
	if i < 0 {
		return pgerror.New(pgerror.CodeSyntaxError, "syntax error").WithPosition(1)
	}
	rest := msg[i+len("near \""):]
	off := -1
	if m := strings.LastIndex(rest, "(total length "); m >= 0 {
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest[m+len("(total length "):]), ")")); err == nil {
			off = len(text) - n
		}
	}
	if off < 0 {
		if q := strings.LastIndex(rest, "\""); q >= 0 {
			off = len(text) - len(rest[:q])
		}
	}
	if off < 0 || off >= len(text) || strings.TrimSpace(text[off:]) == "" {
		return r.sp.errEnd()
	}
	// The piece that contains off.
	lo, hi := 0, len(offs)
	for lo < hi {
		mid := (lo + hi) / 2
		if offs[mid] <= off {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	p := lo - 1
	if p < 0 {
		p = 0
	}
	if p >= len(r.out) || r.out[p].tok >= len(r.toks) || r.out[p].tok < 0 {
		return r.sp.errEnd()
	}
	return r.sp.errAt(r.toks[r.out[p].tok])
}
