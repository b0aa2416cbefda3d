package eval

import (
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/pgerror"
)

// testBatch returns five rows:
//
//	c0 int4   c1 int8  c2 float8  c3 text     c4 bool  c5 timestamp            c6 numeric(2)  c7 date      c8 interval
//	1         10       1.5        'apple'     t        2022-01-01 10:00:00     1.25           2022-01-31   1 day
//	2         20       NaN        'Banana'    f        2022-03-15 23:59:59.5   -3.50          2020-02-29   2 hours
//	NULL      30       NULL       NULL        NULL     NULL                    NULL           NULL         NULL
//	-5        NULL     -2.25      ''          t        1999-12-31 00:00:00     0.00           1999-12-31   1 mon
//	0         0        0          'cherry'    f        2024-02-29 12:30:00     10.01          2024-02-29   -3 days
func testBatch(t *testing.T, alloc memory.Allocator) arrow.RecordBatch {
	cols := []arrow.Array{
		makeArray(t, alloc, tI4, 1, 2, nil, -5, 0),
		makeArray(t, alloc, tI8, 10, 20, 30, nil, 0),
		makeArray(t, alloc, tF8, 1.5, math.NaN(), nil, -2.25, 0.0),
		makeArray(t, alloc, tTxt, "apple", "Banana", nil, "", "cherry"),
		makeArray(t, alloc, tBool, true, false, nil, true, false),
		makeArray(t, alloc, tTs, "2022-01-01 10:00:00", "2022-03-15 23:59:59.5", nil, "1999-12-31 00:00:00", "2024-02-29 12:30:00"),
		makeArray(t, alloc, tNum(2), "1.25", "-3.50", nil, "0.00", "10.01"),
		makeArray(t, alloc, tDate, "2022-01-31", "2020-02-29", nil, "1999-12-31", "2024-02-29"),
		makeArray(t, alloc, tIv, "1 day", "2 hours", nil, "1 mon", "-3 days"),
	}
	b := makeBatch(cols...)
	for _, c := range cols {
		c.Release()
	}
	return b
}

var (
	i4c  = col(0, tI4)
	i8c  = col(1, tI8)
	f8c  = col(2, tF8)
	txc  = col(3, tTxt)
	blc  = col(4, tBool)
	tsc  = col(5, tTs)
	numc = col(6, tNum(2))
	dtc  = col(7, tDate)
	ivc  = col(8, tIv)
)

func TestEval(t *testing.T) {
	tests := []struct {
		name string
		e    planner.Expr
		want string // rows joined by |
	}{
		// Column references and constants.
		{"colref", i4c, "1|2|NULL|-5|0"},
		{"const", lit(7, tI4), "7|7|7|7|7"},
		{"null const", null(tI4), "NULL|NULL|NULL|NULL|NULL"},
		// Integer arithmetic.
		{"int add", call("+", i4c, lit(1, tI4)), "2|3|NULL|-4|1"},
		{"int+bigint", call("+", i4c, i8c), "11|22|NULL|NULL|0"},
		{"int mul", call("*", i8c, lit(3, tI8)), "30|60|90|NULL|0"},
		{"int div truncates", call("/", lit(7, tI4), call("-", i4c, lit(10, tI4))), "0|0|NULL|0|0"},
		{"int div neg", call("/", i4c, lit(2, tI4)), "0|1|NULL|-2|0"},
		{"int mod sign of dividend", call("%", i4c, lit(3, tI4)), "1|2|NULL|-2|0"},
		{"unary minus", call("-", i4c), "-1|-2|NULL|5|0"},
		{"abs", call("abs", i4c), "1|2|NULL|5|0"},
		{"smallint", call("+", cast(i4c, tI2), lit(1, tI2)), "2|3|NULL|-4|1"},
		// Floats.
		{"float add", call("+", f8c, lit(1, tF8)), "2.5|NaN|NULL|-1.25|1"},
		{"int*float", call("*", i4c, f8c), "1.5|NaN|NULL|11.25|0"},
		{"float div", call("/", f8c, lit(2, tF8)), "0.75|NaN|NULL|-1.125|0"},
		{"float NaN compare", call(">", f8c, lit(1e300, tF8)), "f|t|NULL|f|f"},
		{"float NaN eq", call("=", f8c, lit(math.NaN(), tF8)), "f|t|NULL|f|f"},
		{"sqrt", call("sqrt", call("abs", f8c)), "1.224744871391589|NaN|NULL|1.5|0"},
		{"power", call("^", lit(2, tF8), cast(i4c, tF8)), "2|4|NULL|0.03125|1"},
		{"round float half even", call("round", call("+", f8c, lit(1, tF8))), "2|NaN|NULL|-1|1"},
		{"floor/ceil", call("||", cast(call("floor", f8c), tTxt), call("ceil", f8c)), "12|NaNNaN|NULL|-3-2|00"},
		// Numeric.
		{"numeric add", call("+", numc, lit(catalog.Decimal{Num: dec(1), Scale: 0}, tNum(0))), "2.25|-2.50|NULL|1.00|11.01"},
		{"numeric mul", call("*", numc, numc), "1.5625|12.2500|NULL|0.0000|100.2001"},
		{"numeric div", call("/", numc, lit(catalog.Decimal{Num: dec(3), Scale: 0}, tNum(0))),
			"0.4166666666666667|-1.1666666666666667|NULL|0.0000000000000000|3.3366666666666667"},
		{"numeric round", call("round", numc), "1|-4|NULL|0|10"},
		{"numeric round 1", call("round", numc, lit(1, tI4)), "1.30|-3.50|NULL|0.00|10.00"},
		{"numeric trunc 1", call("trunc", numc, lit(1, tI4)), "1.20|-3.50|NULL|0.00|10.00"},
		{"numeric neg", call("-", numc), "-1.25|3.50|NULL|0.00|-10.01"},
		{"numeric cmp", call("<", numc, lit(catalog.Decimal{Num: dec(1), Scale: 0}, tNum(0))), "f|t|NULL|t|f"},
		{"numeric mod", call("%", numc, lit(catalog.Decimal{Num: dec(1), Scale: 0}, tNum(0))), "0.25|-0.50|NULL|0.00|0.01"},
		{"int + numeric", call("+", i4c, numc), "2.25|-1.50|NULL|-5.00|10.01"},
		// Comparisons and logic.
		{"int cmp", call("<", i4c, lit(2, tI4)), "t|f|NULL|t|t"},
		{"int cmp unknown", call(">=", i4c, lit("1", tUnk)), "t|t|NULL|f|f"},
		{"text eq", call("=", txc, lit("apple", tUnk)), "t|f|NULL|f|f"},
		{"text lt bytes", call("<", txc, lit("b", tUnk)), "t|t|NULL|t|f"},
		{"text cmp cols", call("<", txc, call("upper", txc)), "f|f|NULL|f|f"},
		{"and", call("and", blc, call(">", i4c, lit(0, tI4))), "t|f|NULL|f|f"},
		{"and null", call("and", blc, null(tBool)), "NULL|f|NULL|NULL|f"},
		{"or null", call("or", blc, null(tBool)), "t|NULL|NULL|t|NULL"},
		{"or", call("or", blc, call("=", i4c, lit(0, tI4))), "t|f|NULL|t|t"},
		{"not", call("not", blc), "f|t|NULL|f|t"},
		{"is null", &planner.IsNull{X: i4c}, "f|f|t|f|f"},
		{"is not null", &planner.IsNull{X: txc, Not: true}, "t|t|f|t|t"},
		{"distinct from", call("is distinct from", i4c, lit(2, tI4)), "t|f|t|t|t"},
		{"not distinct from null", call("is not distinct from", i4c, null(tI4)), "f|f|t|f|f"},
		{"date cmp", call("<", dtc, tsc), "f|t|NULL|f|t"},
		{"interval cmp", call(">", ivc, lit("23 hours", tIv)), "t|f|NULL|t|f"},
		// CASE and friends.
		{"case", &planner.Case{Typ: tTxt,
			Whens: []planner.When{{Cond: call(">", i4c, lit(0, tI4)), Result: lit("pos", tTxt)},
				{Cond: call("<", i4c, lit(0, tI4)), Result: lit("neg", tTxt)}},
			Else: lit("zero", tTxt)}, "pos|pos|zero|neg|zero"},
		{"case lazy", &planner.Case{Typ: tI4,
			Whens: []planner.When{{Cond: call("=", i4c, lit(0, tI4)), Result: lit(0, tI4)}},
			Else:  call("/", lit(10, tI4), i4c)}, "10|5|NULL|-2|0"},
		{"case no else", &planner.Case{Typ: tI4,
			Whens: []planner.When{{Cond: blc, Result: i4c}}, Else: null(tI4)}, "1|NULL|NULL|-5|NULL"},
		{"coalesce", call("coalesce", i4c, call("/", lit(1, tI4), i4c)), "1|2|NULL|-5|0"},
		{"coalesce null first", call("coalesce", null(tI8), i8c, lit(-1, tI8)), "10|20|30|-1|0"},
		{"nullif", call("nullif", i4c, lit(2, tI4)), "1|NULL|NULL|-5|0"},
		{"greatest", call("greatest", i4c, lit(0, tI4)), "1|2|0|0|0"},
		{"least", call("least", i4c, cast(i8c, tI4)), "1|2|30|-5|0"},
		{"in list", &planner.InList{X: i4c, List: []planner.Expr{lit(1, tI4), lit(0, tI4)}}, "t|f|NULL|f|t"},
		{"in list null", &planner.InList{X: i4c, List: []planner.Expr{lit(1, tI4), null(tI4)}}, "t|NULL|NULL|NULL|NULL"},
		{"not in list", &planner.InList{X: i4c, List: []planner.Expr{lit(1, tI4), lit(0, tI4)}, Not: true}, "f|t|NULL|t|f"},
		{"in exprs", &planner.InList{X: i8c, List: []planner.Expr{call("*", cast(i4c, tI8), lit(10, tI8))}}, "t|t|NULL|NULL|t"},
		{"and short-circuit", call("and", call("<>", i4c, lit(0, tI4)), call(">", call("/", lit(10, tI4), i4c), lit(1, tI4))), "t|t|NULL|f|f"},
		{"or short-circuit", call("or", call("=", i4c, lit(0, tI4)), call(">", call("/", lit(10, tI4), i4c), lit(1, tI4))), "t|t|NULL|f|t"},
		// Strings.
		{"concat op", call("||", txc, lit("!", tUnk)), "apple!|Banana!|NULL|!|cherry!"},
		{"concat op int", call("||", txc, i4c), "apple1|Banana2|NULL|-5|cherry0"},
		{"length", call("length", txc), "5|6|NULL|0|6"},
		{"upper/lower", call("||", call("upper", txc), call("lower", txc)), "APPLEapple|BANANAbanana|NULL||CHERRYcherry"},
		{"substr", call("substr", txc, lit(2, tI4), lit(3, tI4)), "ppl|ana|NULL||her"},
		{"substr from 0", call("substr", txc, lit(0, tI4), lit(3, tI4)), "ap|Ba|NULL||ch"},
		{"substr no count", call("substr", txc, lit(4, tI4)), "le|ana|NULL||rry"},
		{"position", call("position", lit("an", tUnk), txc), "0|2|NULL|0|0"},
		{"strpos", call("strpos", txc, lit("e", tUnk)), "5|0|NULL|0|3"},
		{"replace", call("replace", txc, lit("a", tUnk), lit("o", tUnk)), "opple|Bonono|NULL||cherry"},
		{"btrim", call("btrim", lit("  x  ", tUnk)), "x|x|x|x|x"},
		{"trim chars", call("btrim", txc, lit("ae", tUnk)), "ppl|Banan|NULL||cherry"},
		{"ltrim", call("ltrim", txc, lit("ab", tUnk)), "pple|Banana|NULL||cherry"},
		{"lpad", call("lpad", txc, lit(7, tI4), lit("*", tUnk)), "**apple|*Banana|NULL|*******|*cherry"},
		{"rpad trunc", call("rpad", txc, lit(3, tI4)), "app|Ban|NULL|   |che"},
		{"left/right", call("||", call("left", txc, lit(2, tI4)), call("right", txc, lit(-4, tI4))), "ape|Bana|NULL||chry"},
		{"repeat", call("repeat", txc, lit(2, tI4)), "appleapple|BananaBanana|NULL||cherrycherry"},
		{"reverse", call("reverse", txc), "elppa|ananaB|NULL||yrrehc"},
		{"concat", call("concat", txc, lit("-", tUnk), i4c, null(tTxt)), "apple-1|Banana-2|-|--5|cherry-0"},
		{"concat_ws", call("concat_ws", lit(",", tUnk), txc, i4c), "apple,1|Banana,2||,-5|cherry,0"},
		{"split_part", call("split_part", lit("a,b,c", tUnk), lit(",", tUnk), cast(i8c, tI4)), "|||NULL|error"},
		{"starts_with", call("starts_with", txc, lit("B", tUnk)), "f|t|NULL|f|f"},
		{"initcap", call("initcap", lit("hello wORLD-foo", tUnk)), "Hello World-Foo|Hello World-Foo|Hello World-Foo|Hello World-Foo|Hello World-Foo"},
		{"md5", call("md5", lit("abc", tUnk)), strings.Repeat("900150983cd24fb0d6963f7d28e17f72|", 4) + "900150983cd24fb0d6963f7d28e17f72"},
		{"ascii", call("ascii", txc), "97|66|NULL|0|99"},
		{"chr", call("chr", lit(66, tI4)), "B|B|B|B|B"},
		{"split_part neg", call("split_part", lit("a,b,c", tUnk), lit(",", tUnk), lit(-1, tI4)), "c|c|c|c|c"},
		{"to_hex", call("to_hex", lit(255, tI4)), "ff|ff|ff|ff|ff"},
		{"like", call("like", txc, lit("%an%", tUnk)), "f|t|NULL|f|f"},
		{"like underscore", call("like", txc, lit("_pple", tUnk)), "t|f|NULL|f|f"},
		{"ilike", call("ilike", txc, lit("b%", tUnk)), "f|t|NULL|f|f"},
		{"not like", call("not like", txc, lit("%e%", tUnk)), "f|t|NULL|t|f"},
		{"like escape", call("like", lit("50%", tUnk), lit(`50\%`, tUnk)), "t|t|t|t|t"},
		{"like escape custom", call("like", lit("a_b", tUnk), lit("a#_b", tUnk), lit("#", tUnk)), "t|t|t|t|t"},
		{"like col pattern", call("like", lit("apple", tUnk), txc), "t|f|NULL|f|f"},
		{"regex", call("~", txc, lit("^[a-c]", tUnk)), "t|f|NULL|f|t"},
		{"regex ci", call("~*", txc, lit("^[a-c]", tUnk)), "t|t|NULL|f|t"},
		{"regexp_replace", call("regexp_replace", txc, lit("([aeiou])", tUnk), lit(`<\1>`, tUnk), lit("g", tUnk)), "<a>ppl<e>|B<a>n<a>n<a>|NULL||ch<e>rry"},
		{"format", call("format", lit("%s=%L %I", tUnk), txc, i4c, lit("Ab", tUnk)), "apple='1' \"Ab\"|Banana='2' \"Ab\"|=NULL \"Ab\"|='-5' \"Ab\"|cherry='0' \"Ab\""},
		// Date and time.
		{"ts - constant interval", call("-", tsc, lit("1 day 2 hours", tIv)), "2021-12-31 08:00:00|2022-03-14 21:59:59.5|NULL|1999-12-29 22:00:00|2024-02-28 10:30:00"},
		{"constant interval + ts", call("+", lit("4 seconds", tIv), tsc), "2022-01-01 10:00:04|2022-03-16 00:00:03.5|NULL|1999-12-31 00:00:04|2024-02-29 12:30:04"},
		{"ts + constant months", call("+", tsc, lit("1 mon", tIv)), "2022-02-01 10:00:00|2022-04-15 23:59:59.5|NULL|2000-01-31 00:00:00|2024-03-29 12:30:00"},
		{"ts + interval", call("+", tsc, ivc), "2022-01-02 10:00:00|2022-03-16 01:59:59.5|NULL|2000-01-31 00:00:00|2024-02-26 12:30:00"},
		{"ts - ts", call("-", tsc, lit("2022-01-01", tTs)), "10:00:00|73 days 23:59:59.5|NULL|-8037 days|789 days 12:30:00"},
		{"month end clamp", call("+", dtc, lit("1 mon", tIv)), "2022-02-28 00:00:00|2020-03-29 00:00:00|NULL|2000-01-31 00:00:00|2024-03-29 00:00:00"},
		{"date + int", call("+", dtc, lit(1, tI4)), "2022-02-01|2020-03-01|NULL|2000-01-01|2024-03-01"},
		{"date - date", call("-", dtc, lit("2020-01-01", tDate)), "761|59|NULL|-7306|1520"},
		{"interval * float", call("*", ivc, lit(1.5, tF8)), "1 day 12:00:00|03:00:00|NULL|1 mon 15 days|-4 days -12:00:00"},
		{"interval + interval", call("+", ivc, ivc), "2 days|04:00:00|NULL|2 mons|-6 days"},
		{"date_trunc month", call("date_trunc", lit("month", tUnk), tsc), "2022-01-01 00:00:00|2022-03-01 00:00:00|NULL|1999-12-01 00:00:00|2024-02-01 00:00:00"},
		{"date_trunc hour", call("date_trunc", lit("hour", tUnk), tsc), "2022-01-01 10:00:00|2022-03-15 23:00:00|NULL|1999-12-31 00:00:00|2024-02-29 12:00:00"},
		{"date_trunc week", call("date_trunc", lit("week", tUnk), tsc), "2021-12-27 00:00:00|2022-03-14 00:00:00|NULL|1999-12-27 00:00:00|2024-02-26 00:00:00"},
		{"extract year", call("date_part", lit("year", tUnk), tsc), "2022|2022|NULL|1999|2024"},
		{"extract second", call("extract", lit("second", tUnk), tsc), "0.000000|59.500000|NULL|0.000000|0.000000"},
		{"extract epoch", call("extract", lit("epoch", tUnk), tsc), "1641031200.000000|1647388799.500000|NULL|946598400.000000|1709209800.000000"},
		{"extract dow", call("date_part", lit("dow", tUnk), dtc), "1|6|NULL|5|4"},
		{"extract doy", call("date_part", lit("doy", tUnk), tsc), "1|74|NULL|365|60"},
		{"extract quarter", call("date_part", lit("quarter", tUnk), tsc), "1|1|NULL|4|1"},
		{"extract isodow", call("date_part", lit("isodow", tUnk), lit("2022-01-02", tDate)), "7|7|7|7|7"},
		{"extract week", call("date_part", lit("week", tUnk), lit("2021-01-03", tDate)), "53|53|53|53|53"},
		{"extract interval", call("date_part", lit("epoch", tUnk), ivc), "86400|7200|NULL|2592000|-259200"},
		{"to_timestamp", call("to_timestamp", lit(0, tF8)), "1970-01-01 00:00:00+00|1970-01-01 00:00:00+00|1970-01-01 00:00:00+00|1970-01-01 00:00:00+00|1970-01-01 00:00:00+00"},
		{"age", call("age", lit("2024-03-01", tTs), lit("2023-01-31", tTs)), "1 year 1 mon 1 day|1 year 1 mon 1 day|1 year 1 mon 1 day|1 year 1 mon 1 day|1 year 1 mon 1 day"},
		// Casts.
		{"int to text", cast(i4c, tTxt), "1|2|NULL|-5|0"},
		{"bool to text", cast(blc, tTxt), "true|false|NULL|true|false"},
		{"float to int half even", cast(call("+", f8c, lit(1, tF8)), tI4), "2|error|NULL|-1|1"},
		{"numeric to int", cast(numc, tI4), "1|-4|NULL|0|10"},
		{"int to numeric", cast(i4c, tNum(2)), "1.00|2.00|NULL|-5.00|0.00"},
		{"float to numeric", cast(lit(2.675, tF8), tNum(2)), "2.68|2.68|2.68|2.68|2.68"},
		{"text to int", cast(lit(" 42 ", tTxt), tI4), "42|42|42|42|42"},
		{"text to bool", cast(lit("yes", tTxt), tBool), "t|t|t|t|t"},
		{"ts to date", cast(tsc, tDate), "2022-01-01|2022-03-15|NULL|1999-12-31|2024-02-29"},
		{"date to ts", cast(dtc, tTs), "2022-01-31 00:00:00|2020-02-29 00:00:00|NULL|1999-12-31 00:00:00|2024-02-29 00:00:00"},
		{"varchar(3) explicit truncates", cast(txc, catalog.Type{ID: catalog.Varchar, Length: 3}), "app|Ban|NULL||che"},
		{"int to bool", cast(i4c, tBool), "t|t|NULL|t|f"},
		{"text to numeric", cast(lit("3.14159", tTxt), tNum(3)), "3.142|3.142|3.142|3.142|3.142"},
		{"numeric to float", cast(numc, tF8), "1.25|-3.5|NULL|0|10.01"},
		{"ts to text", cast(tsc, tTxt), "2022-01-01 10:00:00|2022-03-15 23:59:59.5|NULL|1999-12-31 00:00:00|2024-02-29 12:30:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(t, 0)
			b := testBatch(t, alloc)
			defer b.Release()
			env := &Env{Alloc: alloc}
			got, err := Eval(env, tc.e, b)
			if strings.Contains(tc.want, "error") {
				if err == nil {
					got.Release()
					t.Fatalf("%s: want an error", tc.e)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.e, err)
			}
			defer got.Release()
			if !arrow.TypeEqual(got.DataType(), tc.e.Type().Arrow()) {
				t.Errorf("%s: type %s, want %s", tc.e, got.DataType(), tc.e.Type().Arrow())
			}
			if s := strings.Join(showAll(tc.e.Type(), got), "|"); s != tc.want {
				t.Errorf("%s:\n got %s\nwant %s", tc.e, s, tc.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		name string
		e    planner.Expr
		code string
		msg  string
	}{
		{"div zero", call("/", lit(1, tI4), i4c), pgerror.CodeDivisionByZero, "division by zero"},
		{"mod zero", call("%", i8c, cast(i4c, tI8)), pgerror.CodeDivisionByZero, "division by zero"},
		{"float div zero", call("/", f8c, lit(0, tF8)), pgerror.CodeDivisionByZero, "division by zero"},
		{"numeric div zero", call("/", numc, lit(catalog.Decimal{}, tNum(0))), pgerror.CodeDivisionByZero, "division by zero"},
		{"int overflow", call("*", i4c, lit(math.MaxInt32, tI4)), pgerror.CodeNumericValueOutOfRange, "integer out of range"},
		{"bigint overflow", call("+", i8c, lit(math.MaxInt64, tI8)), pgerror.CodeNumericValueOutOfRange, "bigint out of range"},
		{"bigint mul overflow", call("*", i8c, lit(int64(1)<<60, tI8)), pgerror.CodeNumericValueOutOfRange, "bigint out of range"},
		{"smallint overflow", call("*", cast(i8c, tI2), lit(3000, tI2)), pgerror.CodeNumericValueOutOfRange, "smallint out of range"},
		{"neg min int", call("-", lit(math.MinInt32, tI4)), pgerror.CodeNumericValueOutOfRange, "integer out of range"},
		{"min int / -1", call("/", lit(math.MinInt64, tI8), lit(-1, tI8)), pgerror.CodeNumericValueOutOfRange, "bigint out of range"},
		{"float overflow", call("*", lit(1e300, tF8), lit(1e300, tF8)), pgerror.CodeNumericValueOutOfRange, "value out of range: overflow"},
		{"cast overflow", cast(lit(1e10, tF8), tI4), pgerror.CodeNumericValueOutOfRange, "integer out of range"},
		{"cast bigint to int", cast(lit(int64(1)<<40, tI8), tI4), pgerror.CodeNumericValueOutOfRange, "integer out of range"},
		{"bad text int", cast(txc, tI4), pgerror.CodeInvalidTextRepresentation, `invalid input syntax for type integer: "apple"`},
		{"bad text bool", cast(lit("maybe", tTxt), tBool), pgerror.CodeInvalidTextRepresentation, ""},
		{"sqrt negative", call("sqrt", lit(-1, tF8)), "2201F", "cannot take square root of a negative number"},
		{"ln zero", call("ln", lit(0, tF8)), "2201E", "cannot take logarithm of zero"},
		{"substr negative", call("substr", txc, lit(1, tI4), lit(-1, tI4)), "22011", "negative substring length not allowed"},
		{"bad unit", call("date_trunc", lit("fortnight", tUnk), tsc), pgerror.CodeInvalidParameterValue, ""},
		{"like bad escape", call("like", txc, lit(`a\`, tUnk)), pgerror.CodeInvalidEscapeSequence, "LIKE pattern must not end with escape character"},
		{"current_setting", call("current_setting", lit("nope", tUnk)), pgerror.CodeUndefinedObject, `unrecognized configuration parameter "nope"`},
		{"param missing", &planner.ParamRef{Idx: 3, Typ: tI4}, pgerror.CodeUndefinedParameter, ""},
		{"subquery without executor", &planner.Subquery{Kind: planner.SubScalar, Typ: tI4}, pgerror.CodeFeatureNotSupported, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(t, 0)
			b := testBatch(t, alloc)
			defer b.Release()
			got, err := Eval(&Env{Alloc: alloc}, tc.e, b)
			if err == nil {
				got.Release()
				t.Fatalf("%s: no error", tc.e)
			}
			if c := pgerror.CodeOf(err); c != tc.code {
				t.Errorf("%s: code %s (%v), want %s", tc.e, c, err, tc.code)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("%s: message %q, want %q", tc.e, err.Error(), tc.msg)
			}
		})
	}
}

func TestEvalScalarAndParams(t *testing.T) {
	env := &Env{
		Params:   []any{int64(41), "2022-01-01 00:00:00", "7"},
		Now:      1_700_000_000_000_000,
		User:     "alice",
		Database: "sqld",
		Setting: func(name string) (string, bool) {
			if name == "timezone" {
				return "UTC", true
			}
			return "", false
		},
	}
	tests := []struct {
		e    planner.Expr
		want string
	}{
		{call("+", &planner.ParamRef{Idx: 0, Typ: tI4}, lit(1, tI4)), "42"},
		{call("+", &planner.ParamRef{Idx: 1, Typ: tTs}, lit("1 day", tIv)), "2022-01-02 00:00:00"},
		{call("*", &planner.ParamRef{Idx: 2, Typ: tI8}, lit(6, tI8)), "42"},
		{call("now"), "2023-11-14 22:13:20+00"},
		{call("current_date"), "2023-11-14"},
		{call("current_user"), "alice"},
		{call("current_database"), "sqld"},
		{call("current_setting", lit("TimeZone", tUnk)), "UTC"},
		{call("pg_typeof", lit(1.5, tF8)), "double precision"},
		{call("pi"), "3.141592653589793"},
		{call("coalesce", null(tI4), lit(3, tI4)), "3"},
		{call("/", lit(1, tI4), null(tI4)), "NULL"},
		{call("||", lit("a", tUnk), lit("b", tUnk)), "ab"},
		{&planner.InList{X: lit(3, tI4), List: []planner.Expr{lit(1, tI4), lit(3, tI4)}}, "t"},
	}
	for _, tc := range tests {
		v, err := EvalScalar(env, tc.e)
		if err != nil {
			t.Errorf("%s: %v", tc.e, err)
			continue
		}
		if s := showValue(tc.e.Type(), v); s != tc.want {
			t.Errorf("%s = %s, want %s", tc.e, s, tc.want)
		}
	}
	if v, err := EvalScalar(env, call("random")); err != nil || v.(float64) < 0 || v.(float64) >= 1 {
		t.Errorf("random() = %v, %v", v, err)
	}
	if v, err := EvalScalar(env, call("version")); err != nil || !strings.HasPrefix(v.(string), "PostgreSQL") {
		t.Errorf("version() = %v, %v", v, err)
	}
}

func TestEvalPredicate(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	b := testBatch(t, alloc)
	defer b.Release()
	env := &Env{Alloc: alloc}
	sel, err := EvalPredicate(env, call("or", blc, call(">", i8c, lit(15, tI8))), b)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmtSel(sel); got != "0 1 2 3" {
		t.Errorf("selection %s", got)
	}
	sel, err = EvalPredicate(env, lit(false, tBool), b)
	if err != nil || len(sel) != 0 {
		t.Errorf("false: %v %v", sel, err)
	}
	sel, err = EvalPredicate(env, null(tBool), b)
	if err != nil || len(sel) != 0 {
		t.Errorf("null: %v %v", sel, err)
	}
}

func fmtSel(sel []int32) string {
	var parts []string
	for _, s := range sel {
		parts = append(parts, string(rune('0'+s)))
	}
	return strings.Join(parts, " ")
}

func TestOuterAndSubquery(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	b := testBatch(t, alloc)
	defer b.Release()
	env := &Env{Alloc: alloc, Outer: []OuterRow{{Batch: b, Row: 1}}}
	// outer(1).c0 + c0
	e := call("+", &planner.OuterRef{Depth: 1, Idx: 0, Typ: tI4}, i4c)
	got, err := Eval(env, e, b)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(showAll(tI4, got), "|"); s != "3|4|NULL|-3|2" {
		t.Errorf("outer: %s", s)
	}
	got.Release()
	// A subquery inside a CASE branch sees only the rows taking it.
	env.Subquery = func(env *Env, sq *planner.Subquery, rb arrow.RecordBatch) (arrow.Array, error) {
		return Eval(env, call("*", col(0, tI4), lit(100, tI4)), rb)
	}
	sq := &planner.Subquery{Kind: planner.SubScalar, Typ: tI4}
	ce := &planner.Case{Typ: tI4, Whens: []planner.When{{Cond: blc, Result: sq}}, Else: lit(-1, tI4)}
	got, err = Eval(env, ce, b)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if s := strings.Join(showAll(tI4, got), "|"); s != "100|-1|-1|-500|-1" {
		t.Errorf("subquery in case: %s", s)
	}
}

func TestCastArrayAssign(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	env := &Env{Alloc: alloc}
	src := makeArray(t, alloc, tTxt, "12", " -7 ", nil)
	defer src.Release()
	got, err := CastArray(env, src, tTxt, tI2)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(showAll(tI2, got), "|"); s != "12|-7|NULL" {
		t.Errorf("text->int2: %s", s)
	}
	got.Release()
	long := makeArray(t, alloc, tTxt, "abcdef")
	defer long.Release()
	if _, err := CastArray(env, long, tTxt, catalog.Type{ID: catalog.Varchar, Length: 3}); pgerror.CodeOf(err) != pgerror.CodeStringDataRightTrunc {
		t.Errorf("varchar(3): %v", err)
	}
	big := makeArray(t, alloc, tI8, 1, int64(1)<<40)
	defer big.Release()
	if _, err := CastArray(env, big, tI8, tI4); err == nil || err.Error() != "integer out of range" {
		t.Errorf("int8->int4: %v", err)
	}
	fl := makeArray(t, alloc, tF8, 0.5, 1.5, 2.5, -0.5)
	defer fl.Release()
	got, err = CastArray(env, fl, tF8, tI8)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(showAll(tI8, got), "|"); s != "0|2|2|0" {
		t.Errorf("float->int8: %s", s)
	}
	got.Release()
	for _, tc := range []struct {
		v        any
		from, to catalog.Type
		want     string
	}{
		{"t", tTxt, tBool, "t"},
		{int64(1), tI4, tBool, "t"},
		{true, tBool, tI4, "1"},
		{float64(1.5), tF8, tNum(0), "2"},
		{catalog.Decimal{Num: dec(-25), Scale: 1}, tNum(1), tI4, "-3"},
		{"1 day 02:00:00", tTxt, tIv, "1 day 02:00:00"},
		{int32(0), tDate, tTsTZ, "1970-01-01 00:00:00+00"},
		{3.0, tF8, tTxt, "3"},
	} {
		v, err := CastValue(tc.v, tc.from, tc.to)
		if err != nil {
			t.Errorf("%v::%s: %v", tc.v, tc.to, err)
			continue
		}
		if s := showValue(tc.to, v); s != tc.want {
			t.Errorf("%v::%s = %s, want %s", tc.v, tc.to, s, tc.want)
		}
	}
}

func TestCompileCache(t *testing.T) {
	env := &Env{}
	e := call("+", lit(1, tI4), lit(2, tI4))
	p1, _ := program(env, e)
	p2, _ := program(env, e)
	if p1 != p2 {
		t.Error("program not cached")
	}
}

// TestOffsetArrays evaluates over sliced columns (non-zero array offsets).
func TestOffsetArrays(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	b := testBatch(t, alloc)
	defer b.Release()
	s := b.NewSlice(1, 5)
	defer s.Release()
	env := &Env{Alloc: alloc}
	for _, tc := range []struct {
		e    planner.Expr
		want string
	}{
		{call("+", i4c, lit(1, tI4)), "3|NULL|-4|1"},
		{call("and", blc, call(">", i8c, lit(0, tI8))), "f|NULL|NULL|f"},
		{call("not", blc), "t|NULL|f|t"},
		{&planner.IsNull{X: i8c}, "f|f|t|f"},
		{cast(i4c, tI8), "2|NULL|-5|0"},
		{call("-", tsc, lit("4 seconds", tIv)), "2022-03-15 23:59:55.5|NULL|1999-12-30 23:59:56|2024-02-29 12:29:56"},
	} {
		got, err := Eval(env, tc.e, s)
		if err != nil {
			t.Fatal(err)
		}
		if g := strings.Join(showAll(tc.e.Type(), got), "|"); g != tc.want {
			t.Errorf("%s: %s, want %s", tc.e, g, tc.want)
		}
		got.Release()
	}
}
