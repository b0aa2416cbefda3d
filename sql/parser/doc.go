// Package parser turns SQL text in sqld's dialect (Postgres syntax plus the
// streaming statements) into sql/ast trees.
//
// Contract:
//
//   - Parse splits the input into statements at semicolons (quotes,
//     dollar quotes and comments respected) and returns one Stmt per
//     non-empty statement, with its own text. ParseExpr parses one scalar
//     expression.
//   - Every error is a *pgerror.Error. Syntax errors have code 42601, a
//     Postgres-style message (`syntax error at or near "x"`, `syntax error
//     at end of input`) and Position, the 1-based character offset into
//     the whole input. Constructs the dialect knows but sqld does not
//     support are 0A000. Parse never panics; an unexpected failure comes
//     back as XX000.
//   - Unquoted identifiers are folded to lower case; quoted ones keep
//     their case. Type names are Postgres spellings in lower case with
//     multi-word names normalised ("timestamptz", "double precision",
//     "varchar(10)"), for catalog.ParseTypeName.
//   - The returned trees are fresh and owned by the caller; the package
//     keeps no state between calls and is safe for concurrent use.
//
// How it works: a Postgres tokenizer (lexer.go) feeds two parsers. The
// statements whose whole grammar is sqld's own (CREATE STREAM/TABLE/VIEW,
// DROP, SHOW, SET, COPY, EXPLAIN, transaction control, ...) are parsed by
// a small recursive-descent parser (stmt.go). Queries, DML and scalar
// expressions go to the TiDB parser in ANSI_QUOTES, PIPES_AS_CONCAT and
// NO_BACKSLASH_ESCAPES mode: a token pass (rewrite.go) first turns the
// Postgres constructs TiDB lacks into calls of reserved functions named
// "sqld__..." that TiDB accepts, and the conversion (convert.go) turns
// TiDB's tree into ours, turning those calls back into the real nodes.
// No TiDB type leaves the package.
//
// Format prints any tree back as canonical SQL that parses to the same
// tree; EXPLAIN and SHOW CREATE can use it.
package parser
