package parser

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// TestParse runs testdata/*: `parse` prints each statement in canonical
// form (and checks that the form parses back to itself), `ast` prints the
// tree, `expr` parses with ParseExpr, and errors print as
// "error CODE at POS: MESSAGE".
func TestParse(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "parse", "ast":
				stmts, err := Parse(d.Input)
				if err != nil {
					return formatErr(err)
				}
				var sb strings.Builder
				for _, s := range stmts {
					if d.Cmd == "ast" {
						sb.WriteString(dump(s.AST))
						sb.WriteString("\n")
						continue
					}
					out := Format(s.AST)
					sb.WriteString(out)
					sb.WriteString("\n")
					if _, ok := s.AST.(*ast.Noop); ok {
						continue
					}
					again, err := Parse(out)
					if err != nil {
						fmt.Fprintf(&sb, "ROUND TRIP FAILED: %v\n", err)
					} else if len(again) != 1 || !reflect.DeepEqual(again[0].AST, s.AST) {
						fmt.Fprintf(&sb, "ROUND TRIP DIFFERS:\n%s\n%s\n", dump(s.AST), dump(again[0].AST))
					}
				}
				return sb.String()
			case "text":
				stmts, err := Parse(d.Input)
				if err != nil {
					return formatErr(err)
				}
				var sb strings.Builder
				for _, s := range stmts {
					fmt.Fprintf(&sb, "%q\n", s.Text)
				}
				return sb.String()
			case "expr":
				e, err := ParseExpr(d.Input)
				if err != nil {
					return formatErr(err)
				}
				return FormatExpr(e) + "\n" + dump(e) + "\n"
			}
			t.Fatalf("unknown command %s", d.Cmd)
			return ""
		})
	})
}

func formatErr(err error) string {
	var pe *pgerror.Error
	if !errors.As(err, &pe) {
		return fmt.Sprintf("error (not a pgerror): %v\n", err)
	}
	return fmt.Sprintf("error %s at %d: %s\n", pe.Code, pe.Position, pe.Message)
}

// dump prints a tree compactly: Type{Field: value ...}, zero fields left out.
func dump(n any) string {
	var sb strings.Builder
	dumpValue(&sb, reflect.ValueOf(n))
	return sb.String()
}

func dumpValue(sb *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			sb.WriteString("nil")
			return
		}
		if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Bool {
			fmt.Fprintf(sb, "%v", v.Elem().Bool())
			return
		}
		dumpValue(sb, v.Elem())
	case reflect.Struct:
		sb.WriteString(v.Type().Name())
		sb.WriteString("{")
		first := true
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if f.IsZero() {
				continue
			}
			if !first {
				sb.WriteString(" ")
			}
			first = false
			sb.WriteString(v.Type().Field(i).Name)
			sb.WriteString(":")
			dumpValue(sb, f)
		}
		sb.WriteString("}")
	case reflect.Slice:
		sb.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				sb.WriteString(" ")
			}
			dumpValue(sb, v.Index(i))
		}
		sb.WriteString("]")
	case reflect.String:
		fmt.Fprintf(sb, "%q", v.String())
	case reflect.Uint8:
		if s, ok := v.Interface().(fmt.Stringer); ok {
			sb.WriteString(s.String())
			return
		}
		fmt.Fprintf(sb, "%v", v.Interface())
	default:
		if s, ok := v.Interface().(fmt.Stringer); ok {
			sb.WriteString(s.String())
			return
		}
		fmt.Fprintf(sb, "%v", v.Interface())
	}
}
