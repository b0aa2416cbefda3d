package planner

import (
	"testing"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

func TestResolveFunc(t *testing.T) {
	var (
		unk  = catalog.TypeUnknown
		i2   = catalog.TypeInt2
		i4   = catalog.TypeInt4
		i8   = catalog.TypeInt8
		f4   = catalog.TypeFloat4
		f8   = catalog.TypeFloat8
		txt  = catalog.TypeText
		vc   = catalog.TypeVarchar
		ts   = catalog.TypeTimestamp
		tstz = catalog.TypeTimestampTZ
		date = catalog.TypeDate
		iv   = catalog.TypeInterval
		bl   = catalog.TypeBool
		n2   = catalog.Type{ID: catalog.Numeric, Scale: 2}
		n0   = catalog.Type{ID: catalog.Numeric, Scale: 0}
	)
	tests := []struct {
		name string
		args []catalog.Type
		want []catalog.Type // resolved Args
		ret  catalog.Type
		code string
	}{
		{"+", []catalog.Type{i4, i4}, []catalog.Type{i4, i4}, i4, ""},
		{"+", []catalog.Type{i4, i8}, []catalog.Type{i8, i8}, i8, ""},
		{"+", []catalog.Type{i2, i4}, []catalog.Type{i4, i4}, i4, ""},
		{"+", []catalog.Type{i4, n2}, []catalog.Type{n0, n2}, n2, ""},
		{"*", []catalog.Type{n2, n2}, []catalog.Type{n2, n2}, catalog.Type{ID: catalog.Numeric, Scale: 4}, ""},
		{"/", []catalog.Type{n2, n0}, []catalog.Type{n2, n0}, catalog.TypeNumeric, ""},
		{"+", []catalog.Type{i4, f8}, []catalog.Type{f8, f8}, f8, ""},
		{"+", []catalog.Type{f4, f4}, []catalog.Type{f4, f4}, f4, ""},
		{"+", []catalog.Type{i4, unk}, []catalog.Type{i4, i4}, i4, ""},
		{"-", []catalog.Type{i4}, []catalog.Type{i4}, i4, ""},
		{"+", []catalog.Type{txt, i4}, nil, catalog.Type{}, pgerror.CodeUndefinedFunction},
		{"+", []catalog.Type{unk, unk}, nil, catalog.Type{}, pgerror.CodeAmbiguousFunction},
		{"=", []catalog.Type{i4, i8}, []catalog.Type{i8, i8}, bl, ""},
		{"=", []catalog.Type{unk, unk}, []catalog.Type{txt, txt}, bl, ""},
		{"=", []catalog.Type{vc, unk}, []catalog.Type{vc, vc}, bl, ""},
		{"<", []catalog.Type{txt, i4}, nil, catalog.Type{}, pgerror.CodeUndefinedFunction},
		{"<", []catalog.Type{date, ts}, []catalog.Type{ts, ts}, bl, ""},
		{"||", []catalog.Type{unk, unk}, []catalog.Type{txt, txt}, txt, ""},
		{"||", []catalog.Type{txt, i4}, []catalog.Type{txt, txt}, txt, ""},
		{"||", []catalog.Type{unk, i4}, []catalog.Type{txt, txt}, txt, ""},
		{"||", []catalog.Type{i4, unk}, []catalog.Type{txt, txt}, txt, ""},
		{"||", []catalog.Type{catalog.TypeBytea, unk}, []catalog.Type{catalog.TypeBytea, catalog.TypeBytea}, catalog.TypeBytea, ""},
		{"||", []catalog.Type{vc, vc}, []catalog.Type{txt, txt}, txt, ""},
		{"like", []catalog.Type{vc, unk}, []catalog.Type{txt, txt}, bl, ""},
		{"length", []catalog.Type{unk}, []catalog.Type{txt}, i4, ""},
		{"substring", []catalog.Type{txt, i4, i4}, []catalog.Type{txt, i4, i4}, txt, ""},
		{"substr", []catalog.Type{txt, i8}, nil, catalog.Type{}, pgerror.CodeUndefinedFunction},
		{"sqrt", []catalog.Type{i4}, []catalog.Type{f8}, f8, ""},
		{"round", []catalog.Type{n2, i4}, []catalog.Type{n2, i4}, n2, ""},
		{"abs", []catalog.Type{i8}, []catalog.Type{i8}, i8, ""},
		{"coalesce", []catalog.Type{i4, unk, i8}, []catalog.Type{i8, i8, i8}, i8, ""},
		{"coalesce", []catalog.Type{i4, txt}, nil, catalog.Type{}, pgerror.CodeUndefinedFunction},
		{"greatest", []catalog.Type{f8, i4}, []catalog.Type{f8, f8}, f8, ""},
		{"concat", []catalog.Type{txt, i4, unk}, []catalog.Type{txt, i4, txt}, txt, ""},
		{"-", []catalog.Type{ts, ts}, []catalog.Type{ts, ts}, iv, ""},
		{"-", []catalog.Type{ts, date}, []catalog.Type{ts, ts}, iv, ""},
		{"-", []catalog.Type{date, date}, []catalog.Type{date, date}, i4, ""},
		{"+", []catalog.Type{date, i4}, []catalog.Type{date, i4}, date, ""},
		{"+", []catalog.Type{date, iv}, []catalog.Type{date, iv}, ts, ""},
		{"-", []catalog.Type{tstz, iv}, []catalog.Type{tstz, iv}, tstz, ""},
		{"+", []catalog.Type{ts, unk}, []catalog.Type{ts, iv}, ts, ""},
		{"*", []catalog.Type{iv, i4}, []catalog.Type{iv, f8}, iv, ""},
		{"date_trunc", []catalog.Type{unk, ts}, []catalog.Type{txt, ts}, ts, ""},
		{"date_trunc", []catalog.Type{unk, tstz}, []catalog.Type{txt, tstz}, tstz, ""},
		{"extract", []catalog.Type{unk, date}, []catalog.Type{txt, date}, catalog.Type{ID: catalog.Numeric, Scale: 6}, ""},
		{"now", nil, []catalog.Type{}, tstz, ""},
		{"and", []catalog.Type{bl, unk}, []catalog.Type{bl, bl}, bl, ""},
		{"nosuch", []catalog.Type{i4}, nil, catalog.Type{}, pgerror.CodeUndefinedFunction},
		{"is distinct from", []catalog.Type{i4, unk}, []catalog.Type{i4, i4}, bl, ""},
		{"pg_typeof", []catalog.Type{i4}, []catalog.Type{i4}, txt, ""},
		{"mod", []catalog.Type{i4, i8}, []catalog.Type{i8, i8}, i8, ""},
	}
	for _, tc := range tests {
		f, err := ResolveFunc(tc.name, tc.args)
		if tc.code != "" {
			if got := pgerror.CodeOf(err); got != tc.code {
				t.Errorf("%s%v: code %q (%v), want %q", tc.name, tc.args, got, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s%v: %v", tc.name, tc.args, err)
			continue
		}
		if f.Ret != tc.ret {
			t.Errorf("%s%v: ret %v, want %v", tc.name, tc.args, f.Ret, tc.ret)
		}
		if len(f.Args) != len(tc.want) {
			t.Errorf("%s%v: args %v, want %v", tc.name, tc.args, f.Args, tc.want)
			continue
		}
		for i := range f.Args {
			if f.Args[i] != tc.want[i] {
				t.Errorf("%s%v: args %v, want %v", tc.name, tc.args, f.Args, tc.want)
				break
			}
		}
	}
}

func TestResolveErrorsText(t *testing.T) {
	_, err := ResolveFunc("+", []catalog.Type{catalog.TypeText, catalog.TypeInt4})
	if err == nil || err.Error() != "operator does not exist: text + integer" {
		t.Fatalf("got %v", err)
	}
	_, err = ResolveFunc("foo", []catalog.Type{catalog.TypeInt4})
	if err == nil || err.Error() != "function foo(integer) does not exist" {
		t.Fatalf("got %v", err)
	}
	if h := pgerror.From(err).Hint; h == "" {
		t.Fatal("no hint")
	}
}

func TestResolveAgg(t *testing.T) {
	n0 := catalog.Type{ID: catalog.Numeric, Scale: 0}
	tests := []struct {
		name string
		args []catalog.Type
		ret  catalog.Type
	}{
		{"count", nil, catalog.TypeInt8},
		{"count", []catalog.Type{catalog.TypeText}, catalog.TypeInt8},
		{"sum", []catalog.Type{catalog.TypeInt4}, catalog.TypeInt8},
		{"sum", []catalog.Type{catalog.TypeInt2}, catalog.TypeInt8},
		{"sum", []catalog.Type{catalog.TypeInt8}, n0},
		{"sum", []catalog.Type{catalog.TypeFloat8}, catalog.TypeFloat8},
		{"avg", []catalog.Type{catalog.TypeInt4}, catalog.TypeNumeric},
		{"avg", []catalog.Type{catalog.TypeFloat4}, catalog.TypeFloat8},
		{"max", []catalog.Type{catalog.TypeTimestamp}, catalog.TypeTimestamp},
		{"min", []catalog.Type{catalog.TypeUnknown}, catalog.TypeText},
		{"bool_and", []catalog.Type{catalog.TypeBool}, catalog.TypeBool},
		{"string_agg", []catalog.Type{catalog.TypeVarchar, catalog.TypeUnknown}, catalog.TypeText},
	}
	for _, tc := range tests {
		a, err := ResolveAgg(tc.name, tc.args)
		if err != nil {
			t.Errorf("%s%v: %v", tc.name, tc.args, err)
			continue
		}
		if a.Ret != tc.ret {
			t.Errorf("%s%v: ret %v, want %v", tc.name, tc.args, a.Ret, tc.ret)
		}
	}
	if _, err := ResolveAgg("sum", []catalog.Type{catalog.TypeText}); pgerror.CodeOf(err) != pgerror.CodeUndefinedFunction {
		t.Errorf("sum(text): %v", err)
	}
	if !IsAggregate("COUNT") || IsAggregate("lower") || !IsWindowFunc("row_number") {
		t.Error("IsAggregate/IsWindowFunc")
	}
}

func TestCommonType(t *testing.T) {
	tests := []struct {
		in   []catalog.Type
		want catalog.Type
		err  string
	}{
		{[]catalog.Type{catalog.TypeInt4, catalog.TypeInt8}, catalog.TypeInt8, ""},
		{[]catalog.Type{catalog.TypeUnknown, catalog.TypeInt4}, catalog.TypeInt4, ""},
		{[]catalog.Type{catalog.TypeUnknown, catalog.TypeUnknown}, catalog.TypeText, ""},
		{[]catalog.Type{catalog.TypeInt4, catalog.TypeFloat8, catalog.TypeNumeric}, catalog.TypeFloat8, ""},
		{[]catalog.Type{catalog.TypeVarchar, catalog.TypeText}, catalog.TypeText, ""},
		{[]catalog.Type{catalog.TypeDate, catalog.TypeTimestamp}, catalog.TypeTimestamp, ""},
		{[]catalog.Type{catalog.TypeInt4, catalog.TypeText}, catalog.Type{}, "CASE types integer and text cannot be matched"},
	}
	for _, tc := range tests {
		got, err := CommonType("CASE", tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || pgerror.CodeOf(err) != pgerror.CodeDatatypeMismatch {
				t.Errorf("%v: err %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	if !CanCast(catalog.TypeText, catalog.TypeInt4) || CanImplicitCast(catalog.TypeText, catalog.TypeInt4) ||
		!CanImplicitCast(catalog.TypeInt4, catalog.TypeFloat8) || CanImplicitCast(catalog.TypeInt8, catalog.TypeInt4) {
		t.Error("casts")
	}
}
