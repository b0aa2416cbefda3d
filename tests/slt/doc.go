// Package slt runs sqllogictest files against any server that speaks the
// Postgres wire protocol, through one pgx connection per named connection.
//
// Two dialects are read, chosen per file by Detect:
//
//   - the SQLite format (".test" files, or any file with a hash-threshold
//     record): query results are listed one value per line and each value
//     is rendered by the declared type letter (I, R, T); results with more
//     values than the hash threshold (default 8) are written as
//     "N values hashing to MD5";
//   - the sqllogictest-rs format (".slt" and ".slt.part" files): one row per
//     line, values separated by spaces, compared after whitespace
//     normalisation, plus include, statement count, query error, retry N
//     backoff D, sleep, let, control and connection records.
//
// Statements and queries are sent with the simple query protocol, so a
// record may hold several statements and the runner sees exactly the text
// the server produces. For a query, the last result that carries a row
// description is compared.
//
// The runner also understands one directive of its own, "restart" on a line
// by itself: it calls Runner.Restart, then reconnects every connection
// lazily. Without a Restart function the record fails.
//
// A Runner is not safe for concurrent use; run files one at a time. Each
// RunFile call opens its own connections and closes them before returning.
package slt
