package eval

import (
	"crypto/md5"
	"encoding/hex"
	"math"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// rowFuncs holds the row-at-a-time implementations, by function name.
// Each factory looks at the call's resolved signature.
var rowFuncs = map[string]rowFactory{}

func reg(f rowFactory, names ...string) {
	for _, n := range names {
		rowFuncs[n] = f
	}
}

// simple wraps a function that needs no per-call setup.
func simple(f func(c *ctx, a []any) (any, error)) rowFactory {
	return func(*planner.Call) (rowFn, error) { return f, nil }
}

func toF(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case catalog.Decimal:
		return x.Float64()
	}
	return 0
}

func toI(v any) int64 { x, _ := asInt64(v); return x }

func toS(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func argIDs(call *planner.Call) []catalog.TypeID {
	ids := make([]catalog.TypeID, len(call.Args))
	for i, a := range call.Args {
		ids[i] = a.Type().ID
	}
	return ids
}

func is(ids []catalog.TypeID, want ...catalog.TypeID) bool {
	if len(ids) != len(want) {
		return false
	}
	for i := range ids {
		if ids[i] != want[i] && !(want[i] == catalog.Timestamp && ids[i] == catalog.TimestampTZ) {
			return false
		}
	}
	return true
}

// floatResult converts a float result to the call's return type.
func floatResult(ret catalog.Type, f float64) (any, error) {
	if ret.ID == catalog.Numeric {
		return decFromFloat(f, ret.Scale)
	}
	return f, nil
}

func checkFloat(f float64, inputs ...float64) (float64, error) {
	if math.IsInf(f, 0) {
		for _, x := range inputs {
			if math.IsInf(x, 0) {
				return f, nil
			}
		}
		return 0, errFloatOverflow
	}
	return f, nil
}

// arithScalar applies a numeric operator to two boxed numbers, converting
// them to t first.
func arithScalar(op arithOp, t catalog.Type, x, y any, xt, yt catalog.Type) (any, error) {
	a, err := castValue(x, xt, t, false)
	if err != nil {
		return nil, err
	}
	b, err := castValue(y, yt, t, false)
	if err != nil {
		return nil, err
	}
	arr, err := arithVecs(defaultAlloc, op, t, [2]catalog.Type{t, t}, constVec(a, 1), constVec(b, 1), 1)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	return cloneValue(getValue(t, arr, 0)), nil
}

func init() {
	reg(arithFactory, "+", "-", "*", "/", "%", "mod")
	reg(powFactory, "^", "power", "pow")
	reg(likeRowFactory, "like", "not like", "ilike", "not ilike", "~", "~*", "!~", "!~*")
	reg(distinctFactory, "is distinct from", "is not distinct from")
	reg(func(call *planner.Call) (rowFn, error) {
		t := call.Fn.Args[0]
		return func(c *ctx, a []any) (any, error) {
			if a[0] == nil || a[1] == nil {
				return a[0], nil
			}
			if CompareValues(t, a[0], a[1]) == 0 {
				return nil, nil
			}
			return a[0], nil
		}, nil
	}, "nullif")
	reg(extremeFactory(1), "greatest")
	reg(extremeFactory(-1), "least")

	// Math.
	reg(func(call *planner.Call) (rowFn, error) {
		t := call.Fn.Ret
		return func(c *ctx, a []any) (any, error) {
			switch x := a[0].(type) {
			case int64:
				if x < 0 {
					lo, _ := intRange(t)
					if x == lo {
						return nil, outOfRange(t)
					}
					return -x, nil
				}
				return x, nil
			case float64:
				return math.Abs(x), nil
			case catalog.Decimal:
				return catalog.Decimal{Num: x.Num.Abs(), Scale: x.Scale}, nil
			}
			return nil, errInternal("abs of %T", a[0])
		}, nil
	}, "abs")
	reg(func(call *planner.Call) (rowFn, error) {
		t := call.Fn.Ret
		return func(c *ctx, a []any) (any, error) {
			switch x := a[0].(type) {
			case float64:
				switch {
				case x > 0:
					return 1.0, nil
				case x < 0:
					return -1.0, nil
				}
				return 0.0, nil
			case catalog.Decimal:
				return decFromInt(int64(x.Num.Sign()), t.Scale)
			}
			return nil, errInternal("sign of %T", a[0])
		}, nil
	}, "sign")
	roundLike := func(ff func(float64) float64, mode int) rowFactory {
		return func(call *planner.Call) (rowFn, error) {
			ret := call.Fn.Ret
			return func(c *ctx, a []any) (any, error) {
				switch x := a[0].(type) {
				case float64:
					return ff(x), nil
				case catalog.Decimal:
					places := int64(0)
					if len(a) > 1 {
						places = toI(a[1])
					}
					return decRound(x, places, mode, ret.Scale)
				}
				return nil, errInternal("rounding %T", a[0])
			}, nil
		}
	}
	reg(roundLike(math.Ceil, 1), "ceil", "ceiling")
	reg(roundLike(math.Floor, -1), "floor")
	reg(roundLike(math.RoundToEven, 0), "round")
	reg(roundLike(math.Trunc, 2), "trunc")
	floatFn := func(f func(x float64) (float64, error)) rowFactory {
		return func(call *planner.Call) (rowFn, error) {
			ret := call.Fn.Ret
			return func(c *ctx, a []any) (any, error) {
				r, err := f(toF(a[0]))
				if err != nil {
					return nil, err
				}
				return floatResult(ret, r)
			}, nil
		}
	}
	reg(floatFn(func(x float64) (float64, error) {
		if x < 0 {
			return 0, pgerror.New("2201F", "cannot take square root of a negative number")
		}
		return math.Sqrt(x), nil
	}), "sqrt")
	reg(floatFn(func(x float64) (float64, error) { return math.Cbrt(x), nil }), "cbrt")
	reg(floatFn(func(x float64) (float64, error) {
		r := math.Exp(x)
		if math.IsInf(r, 0) && !math.IsInf(x, 0) {
			return 0, errFloatOverflow
		}
		return r, nil
	}), "exp")
	logFn := func(f func(float64) float64) func(x float64) (float64, error) {
		return func(x float64) (float64, error) {
			if x == 0 {
				return 0, pgerror.New("2201E", "cannot take logarithm of zero")
			}
			if x < 0 {
				return 0, pgerror.New("2201E", "cannot take logarithm of a negative number")
			}
			return f(x), nil
		}
	}
	reg(floatFn(logFn(math.Log)), "ln")
	reg(floatFn(logFn(math.Log10)), "log10")
	reg(func(call *planner.Call) (rowFn, error) {
		ret := call.Fn.Ret
		if len(call.Args) == 2 {
			return func(c *ctx, a []any) (any, error) {
				b, err := logFn(math.Log)(toF(a[0]))
				if err != nil {
					return nil, err
				}
				x, err := logFn(math.Log)(toF(a[1]))
				if err != nil {
					return nil, err
				}
				if b == 0 {
					return nil, errDivByZero
				}
				return floatResult(ret, x/b)
			}, nil
		}
		return func(c *ctx, a []any) (any, error) {
			r, err := logFn(math.Log10)(toF(a[0]))
			if err != nil {
				return nil, err
			}
			return floatResult(ret, r)
		}, nil
	}, "log")
	reg(func(call *planner.Call) (rowFn, error) {
		return func(c *ctx, a []any) (any, error) {
			x, y := a[0].(catalog.Decimal), a[1].(catalog.Decimal)
			if y.Num.Sign() == 0 {
				return nil, errDivByZero
			}
			q, err := decDiv(x, y, 0)
			if err != nil {
				return nil, err
			}
			// div truncates toward zero.
			p, err := decMul(q, y, max(x.Scale, y.Scale))
			if err == nil && cmpDecimal(p, x)*x.Num.Sign() > 0 {
				q.Num = q.Num.Sub(decimal128.FromI64(int64(x.Num.Sign() * y.Num.Sign())))
			}
			return q, nil
		}, nil
	}, "div")
	reg(simple(func(c *ctx, a []any) (any, error) { return rand.Float64(), nil }), "random")
	reg(simple(func(c *ctx, a []any) (any, error) { return math.Pi, nil }), "pi")
	reg(floatFn(func(x float64) (float64, error) { return x * 180 / math.Pi, nil }), "degrees")
	reg(floatFn(func(x float64) (float64, error) { return x * math.Pi / 180, nil }), "radians")
	for name, f := range map[string]func(float64) float64{
		"sin": math.Sin, "cos": math.Cos, "tan": math.Tan, "asin": math.Asin, "acos": math.Acos, "atan": math.Atan,
	} {
		reg(floatFn(func(x float64) (float64, error) {
			r := f(x)
			if math.IsNaN(r) && !math.IsNaN(x) {
				return 0, pgerror.New(pgerror.CodeNumericValueOutOfRange, "input is out of range")
			}
			return r, nil
		}), name)
	}
	reg(simple(func(c *ctx, a []any) (any, error) { return math.Atan2(toF(a[0]), toF(a[1])), nil }), "atan2")

	// Strings.
	reg(func(call *planner.Call) (rowFn, error) {
		if call.Fn.Ret.ID == catalog.Bytea {
			return func(c *ctx, a []any) (any, error) {
				x, y := a[0].([]byte), a[1].([]byte)
				return append(append(make([]byte, 0, len(x)+len(y)), x...), y...), nil
			}, nil
		}
		return func(c *ctx, a []any) (any, error) { return toS(a[0]) + toS(a[1]), nil }, nil
	}, "||")
	reg(func(call *planner.Call) (rowFn, error) {
		if len(call.Args) == 1 && call.Args[0].Type().ID == catalog.Bytea {
			return func(c *ctx, a []any) (any, error) { return int64(len(a[0].([]byte))), nil }, nil
		}
		return func(c *ctx, a []any) (any, error) { return int64(utf8.RuneCountInString(toS(a[0]))), nil }, nil
	}, "length", "char_length", "character_length")
	reg(simple(func(c *ctx, a []any) (any, error) {
		switch x := a[0].(type) {
		case []byte:
			return int64(len(x)), nil
		}
		return int64(len(toS(a[0]))), nil
	}), "octet_length")
	reg(simple(func(c *ctx, a []any) (any, error) { return int64(8 * len(toS(a[0]))), nil }), "bit_length")
	reg(simple(func(c *ctx, a []any) (any, error) { return strings.ToLower(toS(a[0])), nil }), "lower")
	reg(simple(func(c *ctx, a []any) (any, error) { return strings.ToUpper(toS(a[0])), nil }), "upper")
	reg(simple(func(c *ctx, a []any) (any, error) { return initcap(toS(a[0])), nil }), "initcap")
	reg(simple(func(c *ctx, a []any) (any, error) {
		r := []rune(toS(a[0]))
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r), nil
	}), "reverse")
	reg(simple(func(c *ctx, a []any) (any, error) {
		var sum [16]byte
		switch x := a[0].(type) {
		case []byte:
			sum = md5.Sum(x)
		default:
			sum = md5.Sum([]byte(toS(x)))
		}
		return hex.EncodeToString(sum[:]), nil
	}), "md5")
	reg(simple(func(c *ctx, a []any) (any, error) {
		s := toS(a[0])
		if isPlainIdent(s) {
			return s, nil
		}
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`, nil
	}), "quote_ident")
	reg(simple(func(c *ctx, a []any) (any, error) { return quoteLiteral(toS(a[0])), nil }), "quote_literal")
	reg(simple(func(c *ctx, a []any) (any, error) {
		s := toS(a[0])
		start := toI(a[1])
		if len(a) == 2 {
			return substr(s, start, -1, false)
		}
		return substr(s, start, toI(a[2]), true)
	}), "substr", "substring")
	reg(simple(func(c *ctx, a []any) (any, error) { return strpos(toS(a[1]), toS(a[0])), nil }), "position")
	reg(simple(func(c *ctx, a []any) (any, error) { return strpos(toS(a[0]), toS(a[1])), nil }), "strpos")
	reg(simple(func(c *ctx, a []any) (any, error) {
		from := toS(a[1])
		if from == "" {
			return toS(a[0]), nil
		}
		return strings.ReplaceAll(toS(a[0]), from, toS(a[2])), nil
	}), "replace")
	reg(simple(func(c *ctx, a []any) (any, error) { return translate(toS(a[0]), toS(a[1]), toS(a[2])), nil }), "translate")
	trimFn := func(f func(string, string) string) rowFactory {
		return simple(func(c *ctx, a []any) (any, error) {
			set := " "
			if len(a) > 1 {
				set = toS(a[1])
			}
			return f(toS(a[0]), set), nil
		})
	}
	reg(trimFn(strings.Trim), "btrim", "trim")
	reg(trimFn(strings.TrimLeft), "ltrim")
	reg(trimFn(strings.TrimRight), "rtrim")
	padFn := func(left bool) rowFactory {
		return simple(func(c *ctx, a []any) (any, error) {
			fill := " "
			if len(a) > 2 {
				fill = toS(a[2])
			}
			return pad(toS(a[0]), toI(a[1]), fill, left)
		})
	}
	reg(padFn(true), "lpad")
	reg(padFn(false), "rpad")
	reg(simple(func(c *ctx, a []any) (any, error) {
		r := []rune(toS(a[0]))
		n := toI(a[1])
		if n < 0 {
			n = max(int64(len(r))+n, 0)
		}
		return string(r[:min(n, int64(len(r)))]), nil
	}), "left")
	reg(simple(func(c *ctx, a []any) (any, error) {
		r := []rune(toS(a[0]))
		n := toI(a[1])
		if n < 0 {
			n = max(int64(len(r))+n, 0)
		}
		n = min(n, int64(len(r)))
		return string(r[int64(len(r))-n:]), nil
	}), "right")
	reg(simple(func(c *ctx, a []any) (any, error) {
		n := toI(a[1])
		s := toS(a[0])
		if n <= 0 || s == "" {
			return "", nil
		}
		if n*int64(len(s)) > 1<<30 {
			return nil, pgerror.New(pgerror.CodeProgramLimitExceeded, "requested length too large")
		}
		return strings.Repeat(s, int(n)), nil
	}), "repeat")
	reg(simple(func(c *ctx, a []any) (any, error) {
		s, d, n := toS(a[0]), toS(a[1]), toI(a[2])
		if n == 0 {
			return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "field position must not be zero")
		}
		return splitPart(s, d, n), nil
	}), "split_part")
	reg(simple(func(c *ctx, a []any) (any, error) { return strings.HasPrefix(toS(a[0]), toS(a[1])), nil }), "starts_with")
	reg(simple(func(c *ctx, a []any) (any, error) {
		r, _ := utf8.DecodeRuneInString(toS(a[0]))
		if r == utf8.RuneError {
			return int64(0), nil
		}
		return int64(r), nil
	}), "ascii")
	reg(simple(func(c *ctx, a []any) (any, error) {
		n := toI(a[0])
		if n == 0 {
			return nil, pgerror.New("54000", "null character not permitted")
		}
		if n < 0 || n > unicode.MaxRune || !utf8.ValidRune(rune(n)) {
			return nil, pgerror.New(pgerror.CodeProgramLimitExceeded, "requested character too large for encoding: %d", n)
		}
		return string(rune(n)), nil
	}), "chr")
	reg(func(call *planner.Call) (rowFn, error) {
		bits := 64
		if call.Fn.Args[0].ID == catalog.Int4 {
			bits = 32
		}
		return func(c *ctx, a []any) (any, error) {
			x := toI(a[0])
			if bits == 32 {
				return strconv.FormatUint(uint64(uint32(x)), 16), nil
			}
			return strconv.FormatUint(uint64(x), 16), nil
		}, nil
	}, "to_hex")
	reg(regexpReplaceFactory, "regexp_replace")
	reg(func(call *planner.Call) (rowFn, error) {
		ts := argTypes(call)
		return func(c *ctx, a []any) (any, error) {
			var b strings.Builder
			for i, v := range a {
				if v != nil {
					b.WriteString(textOf(ts[i], v))
				}
			}
			return b.String(), nil
		}, nil
	}, "concat")
	reg(func(call *planner.Call) (rowFn, error) {
		ts := argTypes(call)
		return func(c *ctx, a []any) (any, error) {
			if a[0] == nil {
				return nil, nil
			}
			sep := toS(a[0])
			var b strings.Builder
			first := true
			for i, v := range a[1:] {
				if v == nil {
					continue
				}
				if !first {
					b.WriteString(sep)
				}
				first = false
				b.WriteString(textOf(ts[i+1], v))
			}
			return b.String(), nil
		}, nil
	}, "concat_ws")
	reg(formatFactory, "format")

	// Date and time.
	reg(simple(func(c *ctx, a []any) (any, error) { return c.env.Now, nil }),
		"now", "current_timestamp", "transaction_timestamp", "statement_timestamp", "localtimestamp")
	reg(simple(func(c *ctx, a []any) (any, error) { return c.env.Now, nil }), "clock_timestamp")
	reg(simple(func(c *ctx, a []any) (any, error) { return int32(floorDiv(c.env.Now, usPerDay)), nil }), "current_date")
	reg(func(call *planner.Call) (rowFn, error) {
		t := call.Fn.Args[1]
		if t.ID == catalog.Interval {
			return func(c *ctx, a []any) (any, error) {
				return truncInterval(toS(a[0]), a[1].(arrow.MonthDayNanoInterval))
			}, nil
		}
		return func(c *ctx, a []any) (any, error) {
			us, err := timeArg(t, a[1])
			if err != nil {
				return nil, err
			}
			return truncTs(toS(a[0]), us, t)
		}, nil
	}, "date_trunc")
	reg(extractFactory, "extract", "date_part")
	reg(simple(func(c *ctx, a []any) (any, error) {
		f := toF(a[0])
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 9.2e12 {
			return nil, errTsRange
		}
		return int64(math.RoundToEven(f * 1e6)), nil
	}), "to_timestamp")
	reg(simple(func(c *ctx, a []any) (any, error) { return age(toI(a[0]), toI(a[1])), nil }), "age")
	reg(simple(func(c *ctx, a []any) (any, error) {
		y, m, d := toI(a[0]), toI(a[1]), toI(a[2])
		if m < 1 || m > 12 || d < 1 || d > 31 || y == 0 {
			return nil, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", y, m, d)
		}
		if y < 0 {
			y++
		}
		days := floorDiv(fromTime(timeDate(int(y), int(m), int(d))), usPerDay)
		return int32(days), nil
	}), "make_date")
	reg(simple(func(c *ctx, a []any) (any, error) {
		months := toI(a[0])*12 + toI(a[1])
		days := toI(a[2])*7 + toI(a[3])
		us := toI(a[4])*3600*usPerSec + toI(a[5])*60*usPerSec + int64(math.RoundToEven(toF(a[6])*1e6))
		return arrow.MonthDayNanoInterval{Months: int32(months), Days: int32(days), Nanoseconds: us * nsPerUs}, nil
	}), "make_interval")
	reg(simple(func(c *ctx, a []any) (any, error) {
		iv := a[0].(arrow.MonthDayNanoInterval)
		iv.Months += iv.Days / 30
		iv.Days %= 30
		return iv, nil
	}), "justify_days")
	reg(simple(func(c *ctx, a []any) (any, error) {
		iv := a[0].(arrow.MonthDayNanoInterval)
		us := iv.Nanoseconds / nsPerUs
		iv.Days += int32(us / usPerDay)
		iv.Nanoseconds = (us % usPerDay) * nsPerUs
		return iv, nil
	}), "justify_hours")

	// Session information.
	reg(simple(func(c *ctx, a []any) (any, error) {
		return "PostgreSQL 15.0 (sqld 0.1), a streaming SQL service", nil
	}), "version")
	reg(simple(func(c *ctx, a []any) (any, error) { return c.env.Database, nil }), "current_database", "current_catalog")
	reg(simple(func(c *ctx, a []any) (any, error) { return c.env.User, nil }), "current_user", "session_user", "user")
	reg(simple(func(c *ctx, a []any) (any, error) { return "public", nil }), "current_schema")
	reg(simple(func(c *ctx, a []any) (any, error) {
		name := strings.ToLower(toS(a[0]))
		if c.env.Setting != nil {
			if v, ok := c.env.Setting(name); ok {
				return v, nil
			}
		}
		return nil, pgerror.New(pgerror.CodeUndefinedObject, "unrecognized configuration parameter %q", name)
	}), "current_setting")
	reg(func(call *planner.Call) (rowFn, error) {
		s := call.Args[0].Type().String()
		return func(c *ctx, a []any) (any, error) { return s, nil }, nil
	}, "pg_typeof")
}

func timeDate(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

var defaultAlloc = memory.DefaultAllocator

func argTypes(call *planner.Call) []catalog.Type {
	ts := make([]catalog.Type, len(call.Args))
	for i, a := range call.Args {
		ts[i] = a.Type()
	}
	return ts
}

// textOf renders a value with its type's text output (as concat does).
func textOf(t catalog.Type, v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return catalog.FormatValue(t, v)
}

// timeArg converts a date or timestamp value to microseconds.
func timeArg(t catalog.Type, v any) (int64, error) {
	switch t.ID {
	case catalog.Date:
		return int64(dateOf(v)) * usPerDay, nil
	case catalog.Timestamp, catalog.TimestampTZ:
		return toI(v), nil
	}
	return 0, errInternal("not a time type: %s", t)
}

func arithFactory(call *planner.Call) (rowFn, error) {
	ids := argIDs(call)
	name := call.Fn.Name
	ret := call.Fn.Ret
	const (
		D  = catalog.Date
		I  = catalog.Int4
		TS = catalog.Timestamp
		IV = catalog.Interval
		F  = catalog.Float8
	)
	iv := func(v any) arrow.MonthDayNanoInterval { x, _ := v.(arrow.MonthDayNanoInterval); return x }
	switch name {
	case "+":
		switch {
		case is(ids, D, I):
			return func(c *ctx, a []any) (any, error) { return dateAdd(dateOf(a[0]), toI(a[1])) }, nil
		case is(ids, I, D):
			return func(c *ctx, a []any) (any, error) { return dateAdd(dateOf(a[1]), toI(a[0])) }, nil
		case is(ids, D, IV):
			return func(c *ctx, a []any) (any, error) { return tsAddInterval(int64(dateOf(a[0]))*usPerDay, iv(a[1]), 1) }, nil
		case is(ids, IV, D):
			return func(c *ctx, a []any) (any, error) { return tsAddInterval(int64(dateOf(a[1]))*usPerDay, iv(a[0]), 1) }, nil
		case is(ids, TS, IV):
			return func(c *ctx, a []any) (any, error) { return tsAddInterval(toI(a[0]), iv(a[1]), 1) }, nil
		case is(ids, IV, TS):
			return func(c *ctx, a []any) (any, error) { return tsAddInterval(toI(a[1]), iv(a[0]), 1) }, nil
		case is(ids, IV, IV):
			return func(c *ctx, a []any) (any, error) { return ivAdd(iv(a[0]), iv(a[1]), 1) }, nil
		}
	case "-":
		switch {
		case is(ids, D, I):
			return func(c *ctx, a []any) (any, error) { return dateAdd(dateOf(a[0]), -toI(a[1])) }, nil
		case is(ids, D, D):
			return func(c *ctx, a []any) (any, error) { return int64(dateOf(a[0])) - int64(dateOf(a[1])), nil }, nil
		case is(ids, D, IV):
			return func(c *ctx, a []any) (any, error) {
				return tsAddInterval(int64(dateOf(a[0]))*usPerDay, iv(a[1]), -1)
			}, nil
		case is(ids, TS, IV):
			return func(c *ctx, a []any) (any, error) { return tsAddInterval(toI(a[0]), iv(a[1]), -1) }, nil
		case is(ids, TS, TS):
			return func(c *ctx, a []any) (any, error) { return tsDiff(toI(a[0]), toI(a[1])), nil }, nil
		case is(ids, IV, IV):
			return func(c *ctx, a []any) (any, error) { return ivAdd(iv(a[0]), iv(a[1]), -1) }, nil
		case is(ids, IV):
			return func(c *ctx, a []any) (any, error) { return ivNeg(iv(a[0])), nil }, nil
		case len(ids) == 1 && ret.ID == catalog.Numeric:
			return func(c *ctx, a []any) (any, error) {
				d := a[0].(catalog.Decimal)
				return catalog.Decimal{Num: d.Num.Negate(), Scale: d.Scale}, nil
			}, nil
		}
	case "*":
		switch {
		case is(ids, IV, F):
			return func(c *ctx, a []any) (any, error) { return ivMul(iv(a[0]), toF(a[1])) }, nil
		case is(ids, F, IV):
			return func(c *ctx, a []any) (any, error) { return ivMul(iv(a[1]), toF(a[0])) }, nil
		}
	case "/":
		if is(ids, IV, F) {
			return func(c *ctx, a []any) (any, error) {
				f := toF(a[1])
				if f == 0 {
					return nil, errDivByZero
				}
				return ivMul(iv(a[0]), 1/f)
			}, nil
		}
	}
	if op, ok := arithOpOf(name); ok && len(ids) == 2 && ret.IsNumeric() {
		ts := argTypes(call)
		return func(c *ctx, a []any) (any, error) { return arithScalar(op, ret, a[0], a[1], ts[0], ts[1]) }, nil
	}
	return nil, pgerror.New(pgerror.CodeUndefinedFunction, "operator is not implemented: %s", call)
}

func dateAdd(d int32, n int64) (any, error) {
	r := int64(d) + n
	if r != int64(int32(r)) {
		return nil, pgerror.New(pgerror.CodeDatetimeFieldOverflow, "date out of range")
	}
	return int32(r), nil
}

func powFactory(call *planner.Call) (rowFn, error) {
	ret := call.Fn.Ret
	return func(c *ctx, a []any) (any, error) {
		x, y := toF(a[0]), toF(a[1])
		if x == 0 && y < 0 {
			return nil, pgerror.New("2201F", "zero raised to a negative power is undefined")
		}
		if x < 0 && y != math.Trunc(y) {
			return nil, pgerror.New("2201F", "a negative number raised to a non-integer power yields a complex result")
		}
		r, err := checkFloat(math.Pow(x, y), x, y)
		if err != nil {
			return nil, err
		}
		if r == 0 && x != 0 && !math.IsInf(y, 0) {
			return nil, errFloatUnderflow
		}
		return floatResult(ret, r)
	}, nil
}

func distinctFactory(call *planner.Call) (rowFn, error) {
	t := call.Fn.Args[0]
	distinct := call.Fn.Name == "is distinct from"
	return func(c *ctx, a []any) (any, error) {
		var d bool
		switch {
		case a[0] == nil && a[1] == nil:
			d = false
		case a[0] == nil || a[1] == nil:
			d = true
		default:
			d = CompareValues(t, a[0], a[1]) != 0
		}
		return d == distinct, nil
	}, nil
}

func extremeFactory(sign int) rowFactory {
	return func(call *planner.Call) (rowFn, error) {
		t := call.Fn.Ret
		return func(c *ctx, a []any) (any, error) {
			var best any
			for _, v := range a {
				if v == nil {
					continue
				}
				if best == nil || CompareValues(t, v, best)*sign > 0 {
					best = v
				}
			}
			return best, nil
		}, nil
	}
}

// decRound rounds a decimal to places fraction digits: mode 0 half away
// from zero, 1 ceiling, -1 floor, 2 toward zero; the result has scale.
func decRound(d catalog.Decimal, places int64, mode int, scale int32) (any, error) {
	if places >= int64(d.Scale) {
		n, err := rescaleDecimal(d.Num, d.Scale, scale)
		return catalog.Decimal{Num: n, Scale: scale}, err
	}
	places = max(places, -38)
	drop := int64(d.Scale) - places
	if drop > 38 {
		return catalog.Decimal{Scale: scale}, nil
	}
	div := pow10Big(int32(drop))
	b := d.Num.BigInt()
	var q = divRound(b, div)
	if mode != 0 {
		q.Quo(b, div) // truncated toward zero
		r := new(big.Int).Rem(b, div)
		if r.Sign() != 0 {
			if mode == 1 && b.Sign() > 0 {
				q.Add(q, big.NewInt(1))
			} else if mode == -1 && b.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			}
		}
	}
	// q is the value at scale = places; bring it to the result scale.
	if places < 0 {
		q.Mul(q, pow10Big(int32(-places)))
		places = 0
	}
	n, err := bigToDec(q)
	if err != nil {
		return nil, err
	}
	n, err = rescaleDecimal(n, int32(places), scale)
	return catalog.Decimal{Num: n, Scale: scale}, err
}

func initcap(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inWord := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if inWord {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
			inWord = true
		} else {
			b.WriteRune(r)
			inWord = false
		}
	}
	return b.String()
}

func isPlainIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && (r >= '0' && r <= '9' || r == '$')) {
			return false
		}
	}
	return true
}

func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		return "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}

// substr implements substr(s, start[, count]) with 1-based positions; a
// start before 1 shortens the count as Postgres does.
func substr(s string, start, count int64, hasCount bool) (any, error) {
	if hasCount && count < 0 {
		return nil, pgerror.New("22011", "negative substring length not allowed")
	}
	r := []rune(s)
	n := int64(len(r))
	from := start - 1
	var to int64
	if hasCount {
		to = from + count
		if count > 0 && to < from { // overflow
			to = n
		}
	} else {
		to = n
	}
	from = max(from, 0)
	to = min(to, n)
	if from >= to {
		return "", nil
	}
	return string(r[from:to]), nil
}

func strpos(s, sub string) int64 {
	i := strings.Index(s, sub)
	if i < 0 {
		return 0
	}
	return int64(utf8.RuneCountInString(s[:i])) + 1
}

func translate(s, from, to string) string {
	fr, tr := []rune(from), []rune(to)
	var b strings.Builder
	for _, r := range s {
		idx := -1
		for i, f := range fr {
			if f == r {
				idx = i
				break
			}
		}
		switch {
		case idx < 0:
			b.WriteRune(r)
		case idx < len(tr):
			b.WriteRune(tr[idx])
		}
	}
	return b.String()
}

func pad(s string, n int64, fill string, left bool) (any, error) {
	if n > 1<<28 {
		return nil, pgerror.New(pgerror.CodeProgramLimitExceeded, "requested length too large")
	}
	r := []rune(s)
	if n <= 0 {
		return "", nil
	}
	if int64(len(r)) >= n {
		return string(r[:n]), nil
	}
	f := []rune(fill)
	if len(f) == 0 {
		return s, nil
	}
	padding := make([]rune, 0, n-int64(len(r)))
	for i := 0; int64(len(padding)) < n-int64(len(r)); i++ {
		padding = append(padding, f[i%len(f)])
	}
	if left {
		return string(padding) + s, nil
	}
	return s + string(padding), nil
}

var backref = regexp.MustCompile(`\\([0-9&])`)

func regexpReplaceFactory(call *planner.Call) (rowFn, error) {
	cache := map[string]*regexp.Regexp{}
	return func(c *ctx, a []any) (any, error) {
		s, pat, repl := toS(a[0]), toS(a[1]), toS(a[2])
		flags := ""
		if len(a) > 3 {
			flags = toS(a[3])
		}
		global := strings.Contains(flags, "g")
		key := flags + "\x00" + pat
		re, ok := cache[key]
		if !ok {
			var err error
			re, err = compileRegex(pat, strings.Contains(flags, "i"))
			if err != nil {
				return nil, err
			}
			if len(cache) > 256 {
				clear(cache)
			}
			cache[strings.Clone(key)] = re
		}
		tmpl := strings.ReplaceAll(repl, "$", "$$")
		tmpl = backref.ReplaceAllStringFunc(tmpl, func(m string) string {
			if m[1] == '&' {
				return "${0}"
			}
			return "${" + m[1:] + "}"
		})
		if global {
			return re.ReplaceAllString(s, tmpl), nil
		}
		loc := re.FindStringSubmatchIndex(s)
		if loc == nil {
			return s, nil
		}
		var out []byte
		out = append(out, s[:loc[0]]...)
		out = re.ExpandString(out, tmpl, s, loc)
		out = append(out, s[loc[1]:]...)
		return string(out), nil
	}, nil
}

func formatFactory(call *planner.Call) (rowFn, error) {
	ts := argTypes(call)
	return func(c *ctx, a []any) (any, error) {
		if a[0] == nil {
			return nil, nil
		}
		f := toS(a[0])
		var b strings.Builder
		next := 1
		for i := 0; i < len(f); i++ {
			if f[i] != '%' {
				b.WriteByte(f[i])
				continue
			}
			i++
			if i >= len(f) {
				return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "unterminated format() type specifier")
			}
			if f[i] == '%' {
				b.WriteByte('%')
				continue
			}
			// Optional position n$.
			j := i
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			if j < len(f) && j > i && f[j] == '$' {
				p, _ := strconv.Atoi(f[i:j])
				next = p
				i = j + 1
			}
			if i >= len(f) {
				return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "unterminated format() type specifier")
			}
			if next >= len(a) {
				return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "too few arguments for format()")
			}
			v, t := a[next], ts[next]
			next++
			switch f[i] {
			case 's':
				if v != nil {
					b.WriteString(textOf(t, v))
				}
			case 'I':
				if v == nil {
					return nil, pgerror.New(pgerror.CodeNullValueNotAllowed, "null values cannot be formatted as an SQL identifier")
				}
				s := textOf(t, v)
				if isPlainIdent(s) {
					b.WriteString(s)
				} else {
					b.WriteString(`"` + strings.ReplaceAll(s, `"`, `""`) + `"`)
				}
			case 'L':
				if v == nil {
					b.WriteString("NULL")
				} else {
					b.WriteString(quoteLiteral(textOf(t, v)))
				}
			default:
				return nil, pgerror.New(pgerror.CodeInvalidParameterValue, "unrecognized format() type specifier %q", f[i])
			}
		}
		return b.String(), nil
	}, nil
}

func extractFactory(call *planner.Call) (rowFn, error) {
	t := call.Fn.Args[1]
	ret := call.Fn.Ret
	return func(c *ctx, a []any) (any, error) {
		unit := toS(a[0])
		var num int64
		var scale int32
		var err error
		if t.ID == catalog.Interval {
			num, scale, err = extractInterval(unit, a[1].(arrow.MonthDayNanoInterval))
		} else {
			var us int64
			us, err = timeArg(t, a[1])
			if err == nil {
				num, scale, err = extractTs(unit, us, t)
			}
		}
		if err != nil {
			return nil, err
		}
		if ret.ID == catalog.Float8 {
			return float64(num) / math.Pow10(int(scale)), nil
		}
		n, err := rescaleDecimal(decimal128.FromI64(num), scale, ret.Scale)
		return catalog.Decimal{Num: n, Scale: ret.Scale}, err
	}, nil
}

// splitPart is split_part(s, d, n) for n != 0: the n-th field of s split
// at d (counted from the end when n < 0), "" when there is none. It scans
// without building the list of fields.
func splitPart(s, d string, n int64) string {
	lo, hi := splitPartSpan(s, d, n)
	return s[lo:hi]
}
