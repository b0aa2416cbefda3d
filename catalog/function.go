package catalog

import (
	"encoding/json"
	"fmt"
	"strings"
)

// FuncParam is a parameter of a user-defined function ("" Name for a
// parameter referred to only as $n).
type FuncParam struct {
	Name string `json:"name,omitempty"`
	Type Type   `json:"type"`
}

// Function is a user-defined SQL function whose body is one scalar
// expression over its parameters. The planner inlines it where it is
// called: the arguments take the places of the parameters and the result
// is cast to Ret. Functions are values owned by the catalog; callers must
// not modify one they did not create.
type Function struct {
	Name   string      `json:"name"`
	Params []FuncParam `json:"params"`
	Ret    Type        `json:"ret"`
	// Body is the SQL text of the body expression, in canonical form.
	Body string `json:"body"`
	// Strict functions return NULL when any argument is NULL.
	Strict bool `json:"strict,omitempty"`
	// Volatility is "immutable", "stable" or "volatile" as declared.
	Volatility string `json:"volatility,omitempty"`
	// SQL is the statement that created the function.
	SQL string `json:"sql"`
}

// ArgTypes returns the parameter types.
func (f *Function) ArgTypes() []Type {
	out := make([]Type, len(f.Params))
	for i, p := range f.Params {
		out[i] = p.Type
	}
	return out
}

// Signature returns the function's identity, its name and parameter
// types as Postgres prints them: "count_char(character varying,text)".
func (f *Function) Signature() string { return FuncSignature(f.Name, f.ArgTypes()) }

// FuncSignature formats a function identity from a name and types
// (type modifiers are not part of it, as in Postgres).
func FuncSignature(name string, types []Type) string {
	ts := make([]string, len(types))
	for i, t := range types {
		ts[i] = BaseType(t).String()
	}
	return name + "(" + strings.Join(ts, ",") + ")"
}

// Encode returns the stored form of f.
func (f *Function) Encode() ([]byte, error) { return json.Marshal(f) }

// DecodeFunction parses the stored form made by Encode.
func DecodeFunction(b []byte) (*Function, error) {
	var f Function
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("catalog: corrupt function descriptor: %w", err)
	}
	if f.Name == "" || f.Body == "" {
		return nil, fmt.Errorf("catalog: corrupt function descriptor: missing name or body")
	}
	return &f, nil
}

// BaseType returns t without its type modifiers: VARCHAR without a length,
// NUMERIC with the default scale. Function parameters and results are
// declared with base types, as Postgres discards their modifiers.
func BaseType(t Type) Type {
	switch t.ID {
	case Numeric:
		return TypeNumeric
	case Varchar:
		return TypeVarchar
	}
	return Type{ID: t.ID}
}
