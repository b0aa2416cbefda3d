package catalog

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TypeID names a SQL type of sqld. The zero value is Unknown.
type TypeID uint8

// The SQL types of sqld (DESIGN.md section 4).
const (
	// Unknown is the type of an untyped literal (a quoted string or NULL
	// before it is resolved against its context), as in Postgres.
	Unknown TypeID = iota
	Bool
	Int2
	Int4
	Int8
	Float4
	Float8
	Numeric
	Text
	Varchar
	Bytea
	Date
	Timestamp
	TimestampTZ
	Interval
	// Record is the type of a row value (internal use: ROW(...), sub-selects).
	Record
)

// Postgres type OIDs.
const (
	OIDBool        = 16
	OIDBytea       = 17
	OIDInt8        = 20
	OIDInt2        = 21
	OIDInt4        = 23
	OIDText        = 25
	OIDOid         = 26
	OIDFloat4      = 700
	OIDFloat8      = 701
	OIDUnknown     = 705
	OIDVarchar     = 1043
	OIDDate        = 1082
	OIDTimestamp   = 1114
	OIDTimestampTZ = 1184
	OIDInterval    = 1186
	OIDNumeric     = 1700
	OIDRecord      = 2249
)

// NumericDefaultScale is the scale of NUMERIC values whose scale is not
// declared (literals are exact; results of avg and division use this).
const NumericDefaultScale = 16

// NumericPrecision is the precision of every NUMERIC column in Arrow.
const NumericPrecision = 38

// Type is a SQL type: an ID plus, for NUMERIC, its scale and, for VARCHAR,
// its maximum length (0 = unlimited). Types are small values; compare them
// with ==. The zero Type is Unknown.
//
// Values of each type, where a Go value is needed (constants, parameters,
// point lookups), are: nil for NULL; bool; int64 for Int2/Int4/Int8;
// float64 for Float4/Float8; Decimal for Numeric; string for Text, Varchar
// and Unknown; []byte for Bytea; int32 days since 1970-01-01 for Date; int64
// microseconds since 1970-01-01 00:00 UTC for Timestamp and TimestampTZ;
// arrow.MonthDayNanoInterval for Interval.
type Type struct {
	ID     TypeID
	Scale  int32 // NUMERIC scale
	Length int32 // VARCHAR(n) length; 0 = none
}

// Convenient Type values.
var (
	TypeUnknown     = Type{ID: Unknown}
	TypeBool        = Type{ID: Bool}
	TypeInt2        = Type{ID: Int2}
	TypeInt4        = Type{ID: Int4}
	TypeInt8        = Type{ID: Int8}
	TypeFloat4      = Type{ID: Float4}
	TypeFloat8      = Type{ID: Float8}
	TypeNumeric     = Type{ID: Numeric, Scale: NumericDefaultScale}
	TypeText        = Type{ID: Text}
	TypeVarchar     = Type{ID: Varchar}
	TypeBytea       = Type{ID: Bytea}
	TypeDate        = Type{ID: Date}
	TypeTimestamp   = Type{ID: Timestamp}
	TypeTimestampTZ = Type{ID: TimestampTZ}
	TypeInterval    = Type{ID: Interval}
)

// Decimal is a NUMERIC value: Num scaled by 10^-Scale.
type Decimal struct {
	Num   decimal128.Num
	Scale int32
}

// String returns the Postgres text form, with exactly Scale fraction digits.
func (d Decimal) String() string { return d.Num.ToString(d.Scale) }

// Float64 returns the value as a float64.
func (d Decimal) Float64() float64 { return d.Num.ToFloat64(d.Scale) }

// OID returns the Postgres type OID.
func (t Type) OID() uint32 {
	switch t.ID {
	case Bool:
		return OIDBool
	case Int2:
		return OIDInt2
	case Int4:
		return OIDInt4
	case Int8:
		return OIDInt8
	case Float4:
		return OIDFloat4
	case Float8:
		return OIDFloat8
	case Numeric:
		return OIDNumeric
	case Text:
		return OIDText
	case Varchar:
		return OIDVarchar
	case Bytea:
		return OIDBytea
	case Date:
		return OIDDate
	case Timestamp:
		return OIDTimestamp
	case TimestampTZ:
		return OIDTimestampTZ
	case Interval:
		return OIDInterval
	case Record:
		return OIDRecord
	}
	return OIDText // Unknown is sent as text, as Postgres does for literals
}

// Size returns the typlen Postgres reports in a RowDescription (-1 for
// variable length).
func (t Type) Size() int16 {
	switch t.ID {
	case Bool:
		return 1
	case Int2:
		return 2
	case Int4, Float4, Date:
		return 4
	case Int8, Float8, Timestamp, TimestampTZ:
		return 8
	case Interval:
		return 16
	}
	return -1
}

// Modifier returns the atttypmod Postgres reports (-1 for none).
func (t Type) Modifier() int32 {
	switch t.ID {
	case Varchar:
		if t.Length > 0 {
			return t.Length + 4
		}
	case Numeric:
		if t.Scale != NumericDefaultScale {
			return (NumericPrecision << 16) | t.Scale + 4
		}
	}
	return -1
}

// Arrow returns the Arrow data type values of t are stored as.
func (t Type) Arrow() arrow.DataType {
	switch t.ID {
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Int2:
		return arrow.PrimitiveTypes.Int16
	case Int4:
		return arrow.PrimitiveTypes.Int32
	case Int8:
		return arrow.PrimitiveTypes.Int64
	case Float4:
		return arrow.PrimitiveTypes.Float32
	case Float8:
		return arrow.PrimitiveTypes.Float64
	case Numeric:
		return &arrow.Decimal128Type{Precision: NumericPrecision, Scale: t.Scale}
	case Text, Varchar, Unknown:
		return arrow.BinaryTypes.String
	case Bytea:
		return arrow.BinaryTypes.Binary
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case TimestampTZ:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case Interval:
		return arrow.FixedWidthTypes.MonthDayNanoInterval
	}
	return arrow.Null
}

// FromArrow returns the SQL type of an Arrow data type, and whether there is
// one. It is the inverse of Type.Arrow, except that VARCHAR comes back as
// TEXT unless the field metadata says otherwise (see FieldType).
func FromArrow(dt arrow.DataType) (Type, bool) {
	switch dt := dt.(type) {
	case *arrow.BooleanType:
		return TypeBool, true
	case *arrow.Int16Type:
		return TypeInt2, true
	case *arrow.Int32Type:
		return TypeInt4, true
	case *arrow.Int64Type:
		return TypeInt8, true
	case *arrow.Float32Type:
		return TypeFloat4, true
	case *arrow.Float64Type:
		return TypeFloat8, true
	case *arrow.Decimal128Type:
		return Type{ID: Numeric, Scale: dt.Scale}, true
	case *arrow.StringType:
		return TypeText, true
	case *arrow.BinaryType:
		return TypeBytea, true
	case *arrow.Date32Type:
		return TypeDate, true
	case *arrow.TimestampType:
		if dt.TimeZone != "" {
			return TypeTimestampTZ, true
		}
		return TypeTimestamp, true
	case *arrow.MonthDayNanoIntervalType:
		return TypeInterval, true
	case *arrow.NullType:
		return TypeUnknown, true
	}
	return Type{}, false
}

// metaSQLType is the Arrow field metadata key that records the SQL type name
// where the Arrow type alone is ambiguous (VARCHAR(n) versus TEXT).
const metaSQLType = "sqld.type"

// Field returns an Arrow field for a column of type t.
func Field(name string, t Type, nullable bool) arrow.Field {
	f := arrow.Field{Name: name, Type: t.Arrow(), Nullable: nullable}
	if t.ID == Varchar {
		f.Metadata = arrow.NewMetadata([]string{metaSQLType}, []string{t.String()})
	}
	return f
}

// FieldType returns the SQL type of an Arrow field made by Field.
func FieldType(f arrow.Field) (Type, error) {
	if i := f.Metadata.FindKey(metaSQLType); i >= 0 {
		return ParseTypeName(f.Metadata.Values()[i])
	}
	t, ok := FromArrow(f.Type)
	if !ok {
		return Type{}, fmt.Errorf("catalog: no SQL type for Arrow type %s", f.Type)
	}
	return t, nil
}

// String returns the Postgres name of the type, as format_type prints it.
func (t Type) String() string {
	switch t.ID {
	case Bool:
		return "boolean"
	case Int2:
		return "smallint"
	case Int4:
		return "integer"
	case Int8:
		return "bigint"
	case Float4:
		return "real"
	case Float8:
		return "double precision"
	case Numeric:
		if t.Scale != NumericDefaultScale {
			return fmt.Sprintf("numeric(%d,%d)", NumericPrecision, t.Scale)
		}
		return "numeric"
	case Text:
		return "text"
	case Varchar:
		if t.Length > 0 {
			return fmt.Sprintf("character varying(%d)", t.Length)
		}
		return "character varying"
	case Bytea:
		return "bytea"
	case Date:
		return "date"
	case Timestamp:
		return "timestamp without time zone"
	case TimestampTZ:
		return "timestamp with time zone"
	case Interval:
		return "interval"
	case Record:
		return "record"
	}
	return "unknown"
}

// IsNumeric reports whether t is one of the number types.
func (t Type) IsNumeric() bool {
	switch t.ID {
	case Int2, Int4, Int8, Float4, Float8, Numeric:
		return true
	}
	return false
}

// IsInteger reports whether t is SMALLINT, INTEGER or BIGINT.
func (t Type) IsInteger() bool { return t.ID == Int2 || t.ID == Int4 || t.ID == Int8 }

// IsString reports whether t is TEXT, VARCHAR or Unknown.
func (t Type) IsString() bool { return t.ID == Text || t.ID == Varchar || t.ID == Unknown }

// IsTime reports whether t is DATE, TIMESTAMP or TIMESTAMPTZ.
func (t Type) IsTime() bool { return t.ID == Date || t.ID == Timestamp || t.ID == TimestampTZ }

// ParseTypeName parses a Postgres type name as users write it in DDL and
// casts: "int", "bigint", "varchar(10)", "numeric(10,2)", "timestamptz",
// "double precision", "character varying", ... Case and surrounding space
// are ignored.
func ParseTypeName(s string) (Type, error) {
	name := strings.ToLower(strings.Join(strings.Fields(s), " "))
	var args []int32
	if i := strings.IndexByte(name, '('); i >= 0 {
		j := strings.LastIndexByte(name, ')')
		if j < i {
			return Type{}, fmt.Errorf("type %q does not exist", s)
		}
		for _, a := range strings.Split(name[i+1:j], ",") {
			var n int32
			if _, err := fmt.Sscanf(strings.TrimSpace(a), "%d", &n); err != nil {
				return Type{}, fmt.Errorf("invalid type modifier in %q", s)
			}
			args = append(args, n)
		}
		name = strings.TrimSpace(name[:i] + name[j+1:])
	}
	switch name {
	case "bool", "boolean":
		return TypeBool, nil
	case "int2", "smallint":
		return TypeInt2, nil
	case "int", "int4", "integer", "serial", "mediumint":
		return TypeInt4, nil
	case "int8", "bigint", "bigserial":
		return TypeInt8, nil
	case "float4", "real":
		return TypeFloat4, nil
	case "float", "float8", "double precision", "double":
		return TypeFloat8, nil
	case "numeric", "decimal", "dec":
		t := TypeNumeric
		if len(args) == 2 {
			t.Scale = args[1]
		} else if len(args) == 1 {
			t.Scale = 0
		}
		if t.Scale < 0 || t.Scale > NumericPrecision {
			return Type{}, fmt.Errorf("NUMERIC scale %d must be between 0 and %d", t.Scale, NumericPrecision)
		}
		return t, nil
	case "text", "string":
		return TypeText, nil
	case "varchar", "character varying", "char", "character", "bpchar", "nvarchar", "nchar":
		t := TypeVarchar
		if len(args) == 1 {
			t.Length = args[0]
		}
		return t, nil
	case "bytea", "blob", "binary", "varbinary":
		return TypeBytea, nil
	case "date":
		return TypeDate, nil
	case "timestamp", "timestamp without time zone", "datetime":
		return TypeTimestamp, nil
	case "timestamptz", "timestamp with time zone":
		return TypeTimestampTZ, nil
	case "interval":
		return TypeInterval, nil
	case "unknown":
		return TypeUnknown, nil
	case "record":
		return Type{ID: Record}, nil
	}
	return Type{}, fmt.Errorf("type %q does not exist", s)
}

// TypeByOID returns the type with the given Postgres OID.
func TypeByOID(oid uint32) (Type, bool) {
	switch oid {
	case OIDBool:
		return TypeBool, true
	case OIDInt2:
		return TypeInt2, true
	case OIDInt4:
		return TypeInt4, true
	case OIDInt8:
		return TypeInt8, true
	case OIDFloat4:
		return TypeFloat4, true
	case OIDFloat8:
		return TypeFloat8, true
	case OIDNumeric:
		return TypeNumeric, true
	case OIDText:
		return TypeText, true
	case OIDVarchar:
		return TypeVarchar, true
	case OIDBytea:
		return TypeBytea, true
	case OIDDate:
		return TypeDate, true
	case OIDTimestamp:
		return TypeTimestamp, true
	case OIDTimestampTZ:
		return TypeTimestampTZ, true
	case OIDInterval:
		return TypeInterval, true
	case OIDUnknown, 0:
		return TypeUnknown, true
	}
	return Type{}, false
}
