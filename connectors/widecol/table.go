package widecol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// ClusteringColumn names a clustering column and its sort direction.
type ClusteringColumn struct {
	// Name is a column of the table schema.
	Name string
	// Desc stores the column in descending order: scans return larger
	// values first and NULLs first.
	Desc bool
}

// TableSpec describes a table to create.
type TableSpec struct {
	// Keyspace and Name identify the table; both must be non-empty.
	Keyspace, Name string
	// Schema holds every column, key columns included. Supported types:
	// Boolean, Int8..Int64, Uint8..Uint64, Float32, Float64, String,
	// Binary, Date32, Timestamp (any unit, any zone), Decimal128 and
	// MonthDayNanoInterval (the last one not as a key column). Field
	// metadata is not kept.
	Schema *arrow.Schema
	// PartitionKey lists one or more column names.
	PartitionKey []string
	// Clustering lists zero or more further key columns, in key order.
	Clustering []ClusteringColumn
	// TTL, if positive, is the default time to live of rows written to the
	// table; a write may override it.
	TTL time.Duration
	// AppendOnly stores rows in chunks, one key per chunk rather than per
	// row (see Batch.Append): writes add whole records whose keys ascend
	// past every key already written; rows are never updated or deleted
	// one by one, only with the table. Scans and point reads work as on
	// any table. An append-only table has no TTL.
	AppendOnly bool
}

// Table is a table of the store. A *Table is immutable and safe for
// concurrent use; callers must not modify its fields or slices. It stays
// valid after DropTable, but writes to a dropped table fail with
// ErrTableNotFound.
type Table struct {
	// Keyspace and Name identify the table.
	Keyspace, Name string
	// ID is the numeric id used in the key prefix of the table's rows.
	ID uint32
	// Schema is the table's full schema, in creation order.
	Schema *arrow.Schema
	// PartitionKey lists the partition key columns.
	PartitionKey []string
	// Clustering lists the clustering columns and their directions.
	Clustering []ClusteringColumn
	// TTL is the default time to live of written rows; 0 means none.
	TTL time.Duration
	// AppendOnly is the spec's AppendOnly.
	AppendOnly bool

	appendOnly bool
	kinds      []kind
	keyCols    []keyCol // partition key columns, then clustering columns
	isKey      []bool
	colIndex   map[string]int
	prefix     []byte // key prefix of the table's rows
}

type keyCol struct {
	col  int
	desc bool
}

// String returns "keyspace.name".
func (t *Table) String() string { return t.Keyspace + "." + t.Name }

// Column returns the schema index of the named column, or -1.
func (t *Table) Column(name string) int {
	if i, ok := t.colIndex[name]; ok {
		return i
	}
	return -1
}

// Key prefixes. System records live under 0x00, table rows under 0x01 +
// big-endian table id.
const (
	prefixSystem = 0x00
	prefixTable  = 0x01

	sysFormat  = 0x01
	sysSeq     = 0x02
	sysCatalog = 0x03
)

var (
	formatKey       = []byte{prefixSystem, sysFormat}
	seqKey          = []byte{prefixSystem, sysSeq}
	catalogPrefix   = []byte{prefixSystem, sysCatalog}
	catalogPrefixUB = []byte{prefixSystem, sysCatalog + 1}
)

func tablePrefix(id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixTable}, id)
}

func catalogKey(id uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), catalogPrefix...), id)
}

// bounds returns the key range holding all rows of the table.
func (t *Table) bounds() (lo, hi []byte) {
	return t.prefix, prefixEnd(t.prefix)
}

// newTable validates a spec and derives the table's lookup structures.
func newTable(spec TableSpec, id uint32) (*Table, error) {
	if spec.Keyspace == "" || spec.Name == "" {
		return nil, errors.New("widecol: table keyspace and name must be non-empty")
	}
	if spec.Schema == nil || spec.Schema.NumFields() == 0 {
		return nil, fmt.Errorf("widecol: table %s.%s: empty schema", spec.Keyspace, spec.Name)
	}
	if spec.Schema.NumFields() >= maxColumns {
		return nil, fmt.Errorf("widecol: table %s.%s: too many columns", spec.Keyspace, spec.Name)
	}
	if len(spec.PartitionKey) == 0 {
		return nil, fmt.Errorf("widecol: table %s.%s: no partition key", spec.Keyspace, spec.Name)
	}
	if spec.TTL < 0 {
		return nil, fmt.Errorf("widecol: table %s.%s: negative TTL", spec.Keyspace, spec.Name)
	}
	if spec.AppendOnly && spec.TTL != 0 {
		return nil, fmt.Errorf("widecol: table %s.%s: an append-only table has no TTL", spec.Keyspace, spec.Name)
	}
	t := &Table{
		Keyspace: spec.Keyspace, Name: spec.Name, ID: id, TTL: spec.TTL,
		AppendOnly: spec.AppendOnly, appendOnly: spec.AppendOnly,
		PartitionKey: append([]string(nil), spec.PartitionKey...),
		Clustering:   append([]ClusteringColumn(nil), spec.Clustering...),
		colIndex:     map[string]int{},
		prefix:       tablePrefix(id),
	}
	fields := make([]arrow.Field, spec.Schema.NumFields())
	for i, f := range spec.Schema.Fields() {
		k := kindOf(f.Type)
		if k == kInvalid {
			return nil, fmt.Errorf("%w: table %s, column %q: %s", ErrUnsupportedType, t, f.Name, f.Type)
		}
		if _, dup := t.colIndex[f.Name]; dup || f.Name == "" {
			return nil, fmt.Errorf("widecol: table %s: empty or duplicate column name %q", t, f.Name)
		}
		t.colIndex[f.Name] = i
		t.kinds = append(t.kinds, k)
		fields[i] = arrow.Field{Name: f.Name, Type: f.Type, Nullable: f.Nullable}
	}
	t.Schema = arrow.NewSchema(fields, nil)
	t.isKey = make([]bool, len(fields))
	addKey := func(name string, desc bool) error {
		i, ok := t.colIndex[name]
		if !ok {
			return fmt.Errorf("widecol: table %s: key column %q not in schema", t, name)
		}
		if t.isKey[i] {
			return fmt.Errorf("widecol: table %s: column %q used twice in the key", t, name)
		}
		if !t.kinds[i].keyable() {
			return fmt.Errorf("%w: table %s: column %q of type %s cannot be a key column", ErrUnsupportedType, t, name, fields[i].Type)
		}
		t.isKey[i] = true
		t.keyCols = append(t.keyCols, keyCol{col: i, desc: desc})
		return nil
	}
	for _, n := range t.PartitionKey {
		if err := addKey(n, false); err != nil {
			return nil, err
		}
	}
	for _, c := range t.Clustering {
		if err := addKey(c.Name, c.Desc); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Table definition encoding (catalog values), version 1:
//
//	byte 1, uvarint id, str keyspace, str name, varint ttl,
//	uvarint ncols, ncols × (str name, type, byte nullable),
//	uvarint npk, npk × uvarint col, uvarint nck, nck × (uvarint col, byte desc)
//	type = byte kind [timestamp: byte unit, str zone] [decimal: byte p, byte s]
//
// Version 2 starts with byte 2 and appends uvarint flags (defFlagAppendOnly);
// it is written only for tables that set a flag, so stores holding no
// such table stay readable by builds that know only version 1.

const (
	tableDefVersion   = 1
	tableDefVersion2  = 2
	defFlagAppendOnly = 1
)

func appendStr(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

func encodeTableDef(t *Table) []byte {
	var flags uint64
	if t.appendOnly {
		flags |= defFlagAppendOnly
	}
	b := []byte{tableDefVersion}
	if flags != 0 {
		b[0] = tableDefVersion2
	}
	b = binary.AppendUvarint(b, uint64(t.ID))
	b = appendStr(b, t.Keyspace)
	b = appendStr(b, t.Name)
	b = binary.AppendVarint(b, int64(t.TTL))
	b = binary.AppendUvarint(b, uint64(t.Schema.NumFields()))
	for i, f := range t.Schema.Fields() {
		b = appendStr(b, f.Name)
		b = append(b, byte(t.kinds[i]))
		switch dt := f.Type.(type) {
		case *arrow.TimestampType:
			b = append(b, byte(dt.Unit))
			b = appendStr(b, dt.TimeZone)
		case *arrow.Decimal128Type:
			b = append(b, byte(dt.Precision), byte(dt.Scale))
		}
		if f.Nullable {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(t.PartitionKey)))
	for _, n := range t.PartitionKey {
		b = binary.AppendUvarint(b, uint64(t.colIndex[n]))
	}
	b = binary.AppendUvarint(b, uint64(len(t.Clustering)))
	for _, c := range t.Clustering {
		b = binary.AppendUvarint(b, uint64(t.colIndex[c.Name]))
		if c.Desc {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	if flags != 0 {
		b = binary.AppendUvarint(b, flags)
	}
	return b
}

type defReader struct {
	b   []byte
	err error
}

func (r *defReader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
}

func (r *defReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *defReader) uvarint(limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated varint")
		return 0
	}
	if v > limit {
		r.fail("value out of range")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *defReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("truncated varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *defReader) str() string {
	l := r.uvarint(math.MaxUint32)
	if r.err == nil && l > uint64(len(r.b)) {
		r.fail("truncated string")
	}
	if r.err != nil {
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}

// decodeTableDef decodes a catalog value. It never panics on bad input.
func decodeTableDef(b []byte) (*Table, error) {
	r := &defReader{b: b}
	v := r.byte()
	if r.err == nil && v != tableDefVersion && v != tableDefVersion2 {
		return nil, fmt.Errorf("%w: table definition version %d, want %d or %d", ErrCorrupt, v, tableDefVersion, tableDefVersion2)
	}
	id := r.uvarint(1<<32 - 1)
	var spec TableSpec
	spec.Keyspace = r.str()
	spec.Name = r.str()
	spec.TTL = time.Duration(r.varint())
	ncols := r.uvarint(uint64(len(r.b)))
	var fields []arrow.Field
	for i := uint64(0); i < ncols && r.err == nil; i++ {
		name := r.str()
		k := kind(r.byte())
		var dt arrow.DataType
		switch k {
		case kBool:
			dt = arrow.FixedWidthTypes.Boolean
		case kInt8:
			dt = arrow.PrimitiveTypes.Int8
		case kInt16:
			dt = arrow.PrimitiveTypes.Int16
		case kInt32:
			dt = arrow.PrimitiveTypes.Int32
		case kInt64:
			dt = arrow.PrimitiveTypes.Int64
		case kUint8:
			dt = arrow.PrimitiveTypes.Uint8
		case kUint16:
			dt = arrow.PrimitiveTypes.Uint16
		case kUint32:
			dt = arrow.PrimitiveTypes.Uint32
		case kUint64:
			dt = arrow.PrimitiveTypes.Uint64
		case kFloat32:
			dt = arrow.PrimitiveTypes.Float32
		case kFloat64:
			dt = arrow.PrimitiveTypes.Float64
		case kString:
			dt = arrow.BinaryTypes.String
		case kBinary:
			dt = arrow.BinaryTypes.Binary
		case kDate32:
			dt = arrow.FixedWidthTypes.Date32
		case kTimestamp:
			unit := r.byte()
			zone := r.str()
			if unit > byte(arrow.Nanosecond) {
				r.fail("bad timestamp unit")
			}
			dt = &arrow.TimestampType{Unit: arrow.TimeUnit(unit), TimeZone: zone}
		case kDecimal128:
			p, s := r.byte(), r.byte()
			if p < 1 || p > 38 || s > p {
				r.fail("bad decimal precision or scale")
			}
			dt = &arrow.Decimal128Type{Precision: int32(p), Scale: int32(s)}
		case kInterval:
			dt = arrow.FixedWidthTypes.MonthDayNanoInterval
		default:
			r.fail("bad column type")
		}
		nullable := r.byte()
		if nullable > 1 {
			r.fail("bad nullable flag")
		}
		fields = append(fields, arrow.Field{Name: name, Type: dt, Nullable: nullable == 1})
	}
	colName := func() string {
		i := r.uvarint(uint64(len(fields)))
		if r.err != nil || i >= uint64(len(fields)) {
			r.fail("bad key column index")
			return ""
		}
		return fields[i].Name
	}
	npk := r.uvarint(uint64(len(fields)))
	for i := uint64(0); i < npk && r.err == nil; i++ {
		spec.PartitionKey = append(spec.PartitionKey, colName())
	}
	nck := r.uvarint(uint64(len(fields)))
	for i := uint64(0); i < nck && r.err == nil; i++ {
		n := colName()
		d := r.byte()
		if d > 1 {
			r.fail("bad direction flag")
		}
		spec.Clustering = append(spec.Clustering, ClusteringColumn{Name: n, Desc: d == 1})
	}
	if v == tableDefVersion2 {
		flags := r.uvarint(defFlagAppendOnly)
		spec.AppendOnly = flags&defFlagAppendOnly != 0
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: table definition: %v", ErrCorrupt, r.err)
	}
	spec.Schema = arrow.NewSchema(fields, nil)
	t, err := newTable(spec, uint32(id))
	if err != nil {
		return nil, fmt.Errorf("%w: table definition: %v", ErrCorrupt, err)
	}
	return t, nil
}
