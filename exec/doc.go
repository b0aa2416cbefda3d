// Package exec runs query plans: it turns a planner.Node tree into a tree
// of pull-based Operators that produce Arrow record batches, evaluating
// expressions with package exec/eval.
//
// # Contract
//
// Build makes the operator tree for one statement and installs the
// subquery evaluator in env.Env.Subquery; Collect runs an operator to the
// end. Operators follow the Operator contract: Open once, Next until
// io.EOF, Close once (also after a failed Open or Next, and also when Open
// was never reached). Every batch returned by Next hands one reference to
// the caller. An operator tree and its Env are used by one goroutine.
//
// Operators work on whole batches: rows are selected by gathering with
// index vectors (takeArray), and group, join, distinct and set-operation
// keys go through one open-addressing hash table (hashTable): keys whose
// columns are all fixed-width (integers, dates, timestamps, floats,
// booleans, numerics, intervals) are compared as normalized 64-bit words,
// others (text, bytea) as a reusable byte encoding stored in an arena, so
// new groups cost no per-key allocation. NULL keys are equal to each
// other for grouping, DISTINCT and set operations, and never match in
// joins.
//
// # Operators
//
//   - Scan reads from Env.Storage and applies the scan filter again.
//   - Values evaluates its rows when first read (so outer references see
//     the current outer row); GenerateSeries covers integers, numerics and
//     timestamps with an interval step, as in Postgres (a zero step is
//     22023).
//   - Project, Filter and Limit stream. LIMIT and OFFSET are evaluated at
//     Open; negative values are errors 2201W and 2201X. A Limit directly
//     over a Sort with LIMIT+OFFSET up to 16384 makes the sort keep only the
//     leading rows (top-N).
//   - Distinct streams the first row of each key (the whole row, or the
//     DISTINCT ON expressions) in input order.
//   - Aggregate reads its whole input, then returns one row per group in
//     order of first appearance (exactly one row without GROUP BY). FILTER
//     passes only the selected rows to an aggregate; an aggregate with
//     ORDER BY makes the operator aggregate the whole input at once, fed in
//     that order.
//   - Sort is a stable full sort with Postgres ordering: explicit NULLS
//     FIRST/LAST, NaN above all numbers, text and bytea in byte order,
//     intervals by their span.
//   - Join hashes the right input and probes it with left batches; without
//     equality keys it pairs every left row with every right row. Cond is
//     evaluated on the combined candidate pairs. Kinds inner, left, right,
//     full, semi and anti (anti: no right row matched with Cond true).
//     Within one left batch, matched pairs come first and unmatched left
//     rows after; unmatched right rows come last.
//   - SetOp: UNION [ALL] streams both sides; INTERSECT and EXCEPT [ALL]
//     count the right side's rows by key, then stream the left side with
//     multiset semantics.
//   - Window reads its whole input and returns it in input order, followed
//     by one column per call: row_number, rank, dense_rank, percent_rank,
//     cume_dist, ntile, lag, lead, first_value, last_value, nth_value, and
//     aggregates. The frame is Postgres's default (the whole partition
//     without ORDER BY, else up to the current row's last peer).
//
// # Subqueries
//
// Subquery expressions are evaluated by running their plans. An
// uncorrelated subquery runs once per statement (per Build's Env) and its
// result is kept as Go values. A correlated subquery runs once per
// distinct combination of the outer columns it references (and the left
// operand of IN/ANY/ALL), with the outer row pushed onto Env.Outer.
// Scalar subqueries return NULL for no row and fail with 21000 for more
// than one; IN, ANY and ALL follow SQL's three-valued rules.
package exec
