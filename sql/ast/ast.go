// Package ast is sqld's own syntax tree. sql/parser produces it from the
// TiDB parser's tree and from the grammar sqld adds (streams, watermarks,
// windows, Postgres constructs); the planner consumes it. No MySQL type
// leaks through it: type names are Postgres spellings, resolved by the
// planner with catalog.ParseTypeName.
//
// Nodes are plain structs, built once by the parser and not modified
// afterwards. Identifiers are folded to lower case by the parser unless they
// were quoted.
package ast

// Statement is a top-level SQL statement.
type Statement interface{ stmt() }

// Expr is a scalar expression.
type Expr interface{ expr() }

// TableExpr is an item of a FROM clause.
type TableExpr interface{ tableExpr() }

// QueryBody is the body of a Select: *SelectCore, *SetOp, *Values or a
// parenthesised *Select.
type QueryBody interface{ queryBody() }

// ---- queries ----

// Select is a query expression: an optional WITH, a body, and the ORDER BY,
// LIMIT and OFFSET that apply to the body's result.
type Select struct {
	With    []CTE
	Body    QueryBody
	OrderBy []OrderItem
	Limit   Expr // nil: none; LIMIT ALL is nil too
	Offset  Expr
	// EmitOnWindowClose is set by a trailing EMIT ON WINDOW CLOSE.
	EmitOnWindowClose bool
}

// CTE is one WITH entry.
type CTE struct {
	Name    string
	Columns []string
	Query   *Select
}

// SelectCore is SELECT ... FROM ... WHERE ... GROUP BY ... HAVING.
type SelectCore struct {
	Distinct   bool
	DistinctOn []Expr // DISTINCT ON (...); implies Distinct
	Items      []SelectItem
	From       []TableExpr // comma-separated items are cross joined
	Where      Expr
	GroupBy    []Expr
	Having     Expr
}

// SelectItem is one output of a SELECT list. Star is `*` (Table == "") or
// `t.*` (Table == "t"); otherwise Expr with an optional Alias.
type SelectItem struct {
	Expr  Expr
	Alias string
	Star  bool
	Table string
}

// SetOpKind is UNION, INTERSECT or EXCEPT.
type SetOpKind uint8

// The set operations.
const (
	Union SetOpKind = iota
	Intersect
	Except
)

func (k SetOpKind) String() string {
	switch k {
	case Intersect:
		return "INTERSECT"
	case Except:
		return "EXCEPT"
	}
	return "UNION"
}

// SetOp combines two queries.
type SetOp struct {
	Op          SetOpKind
	All         bool
	Left, Right *Select
}

// Values is a VALUES list; every row has the same number of expressions.
type Values struct {
	Rows [][]Expr
}

// OrderItem is one ORDER BY key. NullsFirst is nil when unspecified
// (Postgres default: NULLS LAST for ASC, NULLS FIRST for DESC).
type OrderItem struct {
	Expr       Expr
	Desc       bool
	NullsFirst *bool
}

// ---- FROM items ----

// TableName names a table, stream or view (or a CTE).
type TableName struct {
	Schema string
	Name   string
	Alias  string
	// ColAliases renames the columns: FROM t AS x(a, b).
	ColAliases []string
	// AsOfProctime is FOR SYSTEM_TIME AS OF PROCTIME() (lookup join).
	AsOfProctime bool
}

// SubqueryTable is a derived table: (SELECT ...) AS alias.
type SubqueryTable struct {
	Query      *Select
	Alias      string
	ColAliases []string
	Lateral    bool
}

// TableFunc is a function call in FROM: generate_series(...), TUMBLE(...),
// HOP(...), SESSION(...). For the window functions the first argument is a
// *ColumnRef naming the input relation (or a *Subquery).
type TableFunc struct {
	Name       string
	Args       []Expr
	Alias      string
	ColAliases []string
}

// JoinKind is the kind of a join.
type JoinKind uint8

// The join kinds.
const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
	CrossJoin
)

func (k JoinKind) String() string {
	switch k {
	case LeftJoin:
		return "LEFT"
	case RightJoin:
		return "RIGHT"
	case FullJoin:
		return "FULL"
	case CrossJoin:
		return "CROSS"
	}
	return "INNER"
}

// Join joins two FROM items. At most one of On, Using, Natural is set.
type Join struct {
	Kind        JoinKind
	Left, Right TableExpr
	On          Expr
	Using       []string
	Natural     bool
}

// ---- expressions ----

// ColumnRef is a possibly qualified column name: [schema.]table.column or column.
type ColumnRef struct {
	Table  string
	Column string
}

// LitKind is the kind of a Literal.
type LitKind uint8

// The literal kinds.
const (
	LitNull    LitKind = iota
	LitBool            // Val is "true" or "false"
	LitInt             // an integer that fits int64; Val is its decimal text
	LitNumeric         // a number with a point or too big for int64: 1.5, 99999999999999999999
	LitFloat           // a number with an exponent: 1e10
	LitString          // a quoted string: type unknown until context decides
)

// Literal is a constant as written.
type Literal struct {
	Kind LitKind
	Val  string
}

// IntervalLit is INTERVAL '10' SECOND (Value "10", Unit "second"),
// INTERVAL '10 seconds' (Unit ""), or INTERVAL 10 SECOND.
// Unit may also be a range such as "hour to second".
type IntervalLit struct {
	Value string
	Unit  string
}

// Param is a positional parameter $Index (1-based).
type Param struct {
	Index int
}

// Unary is a prefix operator: "-", "+", "not", "~".
type Unary struct {
	Op string
	X  Expr
}

// Binary is an infix operator: "+", "-", "*", "/", "%", "^", "||", "=",
// "<>", "<", "<=", ">", ">=", "and", "or", "&", "|", "#", "<<", ">>".
type Binary struct {
	Op   string
	L, R Expr
}

// IsNull is X IS [NOT] NULL.
type IsNull struct {
	X   Expr
	Not bool
}

// IsBool is X IS [NOT] TRUE|FALSE|UNKNOWN. Value is "true", "false" or "unknown".
type IsBool struct {
	X     Expr
	Not   bool
	Value string
}

// IsDistinct is L IS [NOT] DISTINCT FROM R.
type IsDistinct struct {
	L, R Expr
	Not  bool
}

// Between is X [NOT] BETWEEN [SYMMETRIC] Lo AND Hi.
type Between struct {
	X, Lo, Hi Expr
	Not       bool
	Symmetric bool
}

// InList is X [NOT] IN (List...).
type InList struct {
	X    Expr
	List []Expr
	Not  bool
}

// InSubquery is X [NOT] IN (SELECT ...).
type InSubquery struct {
	X     Expr
	Query *Select
	Not   bool
}

// Quantified is X op ANY|ALL (subquery or array expression).
type Quantified struct {
	X     Expr
	Op    string // comparison operator
	All   bool   // ALL; otherwise ANY/SOME
	Query *Select
	List  []Expr // ARRAY[...] or (list) form
}

// Exists is [NOT] EXISTS (SELECT ...).
type Exists struct {
	Query *Select
	Not   bool
}

// Subquery is a scalar subquery.
type Subquery struct {
	Query *Select
}

// Like is X [NOT] LIKE|ILIKE Pattern [ESCAPE Escape]. SimilarTo and Regex
// select SIMILAR TO and the ~ family (Regex with CaseInsensitive for ~*).
type Like struct {
	X, Pattern      Expr
	Escape          Expr
	Not             bool
	CaseInsensitive bool
	SimilarTo       bool
	Regex           bool
}

// When is one WHEN ... THEN ... arm.
type When struct {
	Cond, Result Expr
}

// Case is CASE [Operand] WHEN ... THEN ... [ELSE ...] END.
type Case struct {
	Operand Expr
	Whens   []When
	Else    Expr
}

// Cast is CAST(X AS Type), X::Type, or a typed literal such as DATE '...'.
// Type is the Postgres type name as written, e.g. "varchar(10)".
type Cast struct {
	X    Expr
	Type string
}

// Func is a function call. Star is count(*). Filter is FILTER (WHERE ...);
// OrderBy is an ordered aggregate's ORDER BY; Over makes it a window call.
// Special forms are normalised: extract(field FROM x) and date_part are
// Func "extract" with a LitString field first; position(a IN b) is
// "position"(a, b); substring(x FROM a FOR b) is "substring"(x, a, b);
// trim(both x FROM y) is "btrim"/"ltrim"/"rtrim"(y, x); coalesce, nullif,
// greatest and least are ordinary calls.
type Func struct {
	Name     string
	Args     []Expr
	Distinct bool
	Star     bool
	Filter   Expr
	OrderBy  []OrderItem
	Over     *WindowSpec
}

// WindowSpec is the OVER clause of a window function call.
type WindowSpec struct {
	Name        string // OVER w (named window), if any
	PartitionBy []Expr
	OrderBy     []OrderItem
	Frame       string // the frame clause as written, "" for the default
}

// Row is ROW(a, b) or (a, b).
type Row struct {
	Exprs []Expr
}

// Array is ARRAY[a, b].
type Array struct {
	Exprs []Expr
}

// ---- statements ----

// ObjectKind names a kind of catalog object.
type ObjectKind uint8

// The object kinds.
const (
	ObjTable ObjectKind = iota
	ObjStream
	ObjView
	ObjMaterializedView
	ObjIndex
	ObjSource
	ObjSink
)

func (k ObjectKind) String() string {
	switch k {
	case ObjStream:
		return "STREAM"
	case ObjView:
		return "VIEW"
	case ObjMaterializedView:
		return "MATERIALIZED VIEW"
	case ObjIndex:
		return "INDEX"
	case ObjSource:
		return "SOURCE"
	case ObjSink:
		return "SINK"
	}
	return "TABLE"
}

// Option is one `key = value` of a WITH (...) list. Value is the literal's
// text (quotes removed).
type Option struct {
	Key   string
	Value string
}

// ColumnDef is one column of CREATE TABLE/STREAM.
type ColumnDef struct {
	Name       string
	Type       string // Postgres type name as written
	NotNull    bool
	Null       bool // explicit NULL
	PrimaryKey bool
	Unique     bool
	Default    Expr
}

// Watermark is WATERMARK FOR Column AS Expr.
type Watermark struct {
	Column string
	Expr   Expr
}

// CreateTable is CREATE TABLE or CREATE STREAM. Kind is ObjTable or
// ObjStream; CREATE TABLE ... APPEND ONLY sets Kind to ObjStream.
type CreateTable struct {
	Kind        ObjectKind
	Name        string
	IfNotExists bool
	Columns     []ColumnDef
	PrimaryKey  []string // table-level PRIMARY KEY (...)
	Watermark   *Watermark
	With        []Option
	AsQuery     *Select // CREATE TABLE ... AS SELECT
}

// CreateView is CREATE [MATERIALIZED] VIEW.
type CreateView struct {
	Name         string
	Materialized bool
	IfNotExists  bool
	OrReplace    bool
	Columns      []string
	Query        *Select
	With         []Option
}

// CreateIndex is CREATE [UNIQUE] INDEX; sqld accepts and records it.
type CreateIndex struct {
	Name        string
	Table       string
	Columns     []string
	Unique      bool
	IfNotExists bool
}

// Drop is DROP TABLE|STREAM|VIEW|INDEX ... [IF EXISTS] [CASCADE].
type Drop struct {
	Kind     ObjectKind
	Names    []string
	IfExists bool
	Cascade  bool
}

// Insert is INSERT INTO Table [(Columns)] Source. Source's body is a
// *Values for INSERT ... VALUES. DefaultValues is INSERT ... DEFAULT VALUES.
type Insert struct {
	Table         string
	Columns       []string
	Source        *Select
	DefaultValues bool
	OnConflict    *OnConflict
	Returning     []SelectItem
}

// OnConflict is ON CONFLICT [(cols)] DO NOTHING | DO UPDATE SET ...
type OnConflict struct {
	Columns   []string
	DoNothing bool
	Set       []Assignment
	Where     Expr
}

// Assignment is column = value in UPDATE ... SET.
type Assignment struct {
	Column string
	Value  Expr // nil means DEFAULT
}

// Update is UPDATE Table [AS Alias] SET ... [FROM ...] [WHERE ...].
type Update struct {
	Table     string
	Alias     string
	Set       []Assignment
	From      []TableExpr
	Where     Expr
	Returning []SelectItem
}

// Delete is DELETE FROM Table [AS Alias] [WHERE ...].
type Delete struct {
	Table     string
	Alias     string
	Where     Expr
	Returning []SelectItem
}

// Copy is COPY Table [(Columns)] FROM STDIN [WITH] (options), or COPY ...
// TO STDOUT. Options hold format, delimiter, header, null, quote, escape.
type Copy struct {
	Table   string
	Columns []string
	Query   *Select // COPY (SELECT ...) TO STDOUT
	To      bool
	Options []Option
}

// Set is SET [SESSION|LOCAL] Name = | TO Values, or SET Name TO DEFAULT
// (Default). Values are the values' texts (identifiers and literals alike).
type Set struct {
	Name    string
	Values  []string
	Local   bool
	Default bool
}

// Reset is RESET Name or RESET ALL (Name "all").
type Reset struct {
	Name string
}

// Show is SHOW Name (a setting; "all" for every setting).
type Show struct {
	Name string
}

// ShowObjects is SHOW TABLES | STREAMS | VIEWS | MATERIALIZED VIEWS | JOBS.
// Kind is the lower-case plural word(s) as written: "tables", "streams",
// "views", "materialized views", "jobs", "sources", "sinks".
type ShowObjects struct {
	Kind string
}

// ShowCreate is SHOW CREATE TABLE|STREAM|VIEW|MATERIALIZED VIEW Name.
type ShowCreate struct {
	Kind ObjectKind
	Name string
}

// Describe is DESCRIBE Name.
type Describe struct {
	Name string
}

// TxKind is a transaction control statement kind.
type TxKind uint8

// Transaction control statements.
const (
	TxBegin TxKind = iota
	TxCommit
	TxRollback
)

// Transaction is BEGIN/START TRANSACTION, COMMIT/END, ROLLBACK/ABORT
// (isolation levels and other modes are parsed and ignored).
type Transaction struct {
	Kind TxKind
}

// Explain is EXPLAIN [ANALYZE] [VERBOSE] Stmt.
type Explain struct {
	Stmt    Statement
	Analyze bool
	Verbose bool
}

// Flush is FLUSH: wait until every view reflects every acknowledged write,
// and every generated stream what its source had produced.
type Flush struct{}

// Discard is DISCARD ALL|PLANS|SEQUENCES|TEMP; Deallocate is DEALLOCATE
// [PREPARE] name|ALL. Both only clear session state.
type Discard struct{ What string }

// Deallocate removes a named prepared statement ("" with All).
type Deallocate struct {
	Name string
	All  bool
}

// Noop is a statement sqld accepts and ignores (ANALYZE, VACUUM, ...);
// Tag is the command tag to answer with.
type Noop struct{ Tag string }

func (*Select) stmt()      {}
func (*CreateTable) stmt() {}
func (*CreateView) stmt()  {}
func (*CreateIndex) stmt() {}
func (*Drop) stmt()        {}
func (*Insert) stmt()      {}
func (*Update) stmt()      {}
func (*Delete) stmt()      {}
func (*Copy) stmt()        {}
func (*Set) stmt()         {}
func (*Reset) stmt()       {}
func (*Show) stmt()        {}
func (*ShowObjects) stmt() {}
func (*ShowCreate) stmt()  {}
func (*Describe) stmt()    {}
func (*Transaction) stmt() {}
func (*Explain) stmt()     {}
func (*Flush) stmt()       {}
func (*Discard) stmt()     {}
func (*Deallocate) stmt()  {}
func (*Noop) stmt()        {}

func (*SelectCore) queryBody() {}
func (*SetOp) queryBody()      {}
func (*Values) queryBody()     {}
func (*Select) queryBody()     {}

func (*TableName) tableExpr()     {}
func (*SubqueryTable) tableExpr() {}
func (*TableFunc) tableExpr()     {}
func (*Join) tableExpr()          {}

func (*ColumnRef) expr()   {}
func (*Literal) expr()     {}
func (*IntervalLit) expr() {}
func (*Param) expr()       {}
func (*Unary) expr()       {}
func (*Binary) expr()      {}
func (*IsNull) expr()      {}
func (*IsBool) expr()      {}
func (*IsDistinct) expr()  {}
func (*Between) expr()     {}
func (*InList) expr()      {}
func (*InSubquery) expr()  {}
func (*Quantified) expr()  {}
func (*Exists) expr()      {}
func (*Subquery) expr()    {}
func (*Like) expr()        {}
func (*Case) expr()        {}
func (*Cast) expr()        {}
func (*Func) expr()        {}
func (*Row) expr()         {}
func (*Array) expr()       {}
