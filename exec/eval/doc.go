// Package eval evaluates bound expressions (planner.Expr) over Arrow
// record batches, vectorized, with Postgres semantics, and implements the
// grouped aggregate accumulators.
//
// # Expressions
//
// Eval(env, e, b) returns one value per row of b as an array of
// e.Type().Arrow(); the caller releases it. EvalPredicate returns the
// indexes of the rows where a boolean expression is TRUE (FALSE and NULL
// drop), in increasing order. EvalScalar evaluates an expression without
// column references to a Go value in catalog's convention. Each first
// evaluation of an expression node compiles it (Compile): the
// implementation of every node is chosen once and cached in the Env by node
// identity, so a statement's expressions compile once however many
// batches flow. A Program may also be compiled explicitly and shared.
//
// Evaluation is column-at-a-time. Constants stay scalars until a result
// needs materializing; a function whose arguments are all constant (and
// that is not volatile) is computed once per batch. Typed loops without
// boxing serve arithmetic on smallint/integer/bigint/real/double precision
// (and numeric on 128-bit decimals), comparisons on integers, floats,
// dates, timestamps and text, AND/OR/NOT on bitmaps, IS NULL, LIKE with a
// constant pattern and IN over constant lists (hash set). The long tail of
// functions runs row at a time over boxed values (funcs.go).
//
// Semantics kept from Postgres:
//   - strict functions return NULL on a NULL argument; AND/OR are
//     three-valued; x IN (...) is NULL when nothing matches and x or an
//     element is NULL;
//   - CASE evaluates each branch only on the rows that take it, COALESCE
//     an argument only where all earlier ones are NULL, and the right side
//     of AND (OR) only on rows where the left side is not FALSE (TRUE) when
//     that side can raise an error: CASE WHEN x = 0 THEN 0 ELSE 1/x END
//     never divides by zero;
//   - integer division truncates toward zero, % takes the dividend's sign;
//     overflow is 22003 "smallint/integer/bigint out of range"; division
//     by zero is 22012; float results that overflow are 22003 "value out of
//     range: overflow" (underflow likewise); NaN equals NaN and sorts above
//     every number (CompareValues, exported for sorts and joins);
//   - casts: float to integer rounds half to even, numeric rounds half away
//     from zero, text is parsed with catalog.ParseText (22P02 on bad
//     input), values are printed with catalog.FormatValue/AppendText except
//     that boolean to text gives 'true'/'false'. An explicit cast to
//     VARCHAR(n) truncates; CastArray and CastValue, used for INSERT and
//     COPY coercion, raise 22001 instead;
//   - text compares by bytes (C collation); length and positions count
//     characters;
//   - NUMERIC values carry their type's fixed scale; results take the scale
//     of the Func's Ret (see planner/registry.go for the scale rules), so a
//     binder may narrow a result scale (round(x, 2)) by setting Ret.Scale;
//   - TIMESTAMPTZ is computed in UTC (the session time zone is UTC).
//
// # Aggregates
//
// NewAccumulator returns an Accumulator for a planner.Agg: count, sum,
// avg, min, max, bool_and/every, bool_or, string_agg, stddev/variance
// (samp and pop), with DISTINCT through a per-group multiset. State is kept
// per dense group id; Update and Retract take arrays of arguments aligned
// with the group ids; Result produces the values of groups 0..n-1; Merge
// combines partial states. sum(bigint) and sums of integers add in 128
// bits, so they do not overflow before the result type does. min and max
// keep a multiset per group so a retraction can restore the next extreme;
// AccOptions.AppendOnly drops it for plain batch queries: min and max then
// keep a typed extreme per group (smallint, integer, bigint, real, double
// precision, date, timestamp[tz], text/varchar/bytea, numeric, boolean;
// aggfast.go) and read argument arrays without boxing, as sum, avg and
// count do for integer and float arguments.
//
// # Memory
//
// Every Arrow buffer comes from Env.Allocator(). Input batches are
// borrowed, never released; every returned array is a new reference for
// the caller. An Env is used by one goroutine at a time (it holds the
// compiled-expression cache).
package eval
