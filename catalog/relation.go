package catalog

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// RelKind is the kind of a relation.
type RelKind uint8

// The relation kinds.
const (
	// KindTable is a keyed, mutable table stored in the wide-column store.
	KindTable RelKind = iota
	// KindStream is an append-only stream stored in the log.
	KindStream
	// KindView is a continuous view whose results live in the wide-column store.
	KindView
	// KindSystem is a read-only system table computed from the server's
	// state (sys.jobs, ...).
	KindSystem
)

func (k RelKind) String() string {
	switch k {
	case KindStream:
		return "stream"
	case KindView:
		return "view"
	case KindSystem:
		return "system table"
	}
	return "table"
}

// RowIDColumn is the name of the hidden key column of a table without a
// primary key (and of a view without a group key).
const RowIDColumn = "_row_id"

// Column is a column of a relation.
type Column struct {
	Name    string `json:"name"`
	Type    Type   `json:"type"`
	NotNull bool   `json:"not_null,omitempty"`
	// Hidden columns (the row id) are not expanded by SELECT *.
	Hidden bool `json:"hidden,omitempty"`
	// Default is the SQL text of the DEFAULT expression, "" for none.
	Default string `json:"default,omitempty"`
}

// Watermark is a stream's WATERMARK FOR clause, or the watermark a view
// carries from the relation it reads.
type Watermark struct {
	Column int    `json:"column"`
	Expr   string `json:"expr"` // the SQL text of the expression; "" when From is set
	// From, on a view, names the stream or view the view reads: the view
	// passes that relation's watermarked column through unchanged as
	// Column, and its watermark after each epoch is the source's as the
	// epoch had read it. It is not computed from the view's rows.
	From string `json:"from,omitempty"`
}

// Relation describes a table, stream or view. Relations are values owned by
// the catalog; callers must not modify a Relation they did not create.
type Relation struct {
	ID      uint64   `json:"id"`
	Name    string   `json:"name"`
	Kind    RelKind  `json:"kind"`
	Columns []Column `json:"columns"`
	// PrimaryKey holds column indexes of the key. A table without a
	// declared key has a hidden RowIDColumn as its key.
	PrimaryKey []int      `json:"primary_key,omitempty"`
	Watermark  *Watermark `json:"watermark,omitempty"`
	// Options are the WITH (...) options as written, keys lower-case.
	Options map[string]string `json:"options,omitempty"`
	// Partitions is the number of log partitions of a stream.
	Partitions int `json:"partitions,omitempty"`
	// SQL is the statement that created the relation, for SHOW CREATE.
	SQL string `json:"sql"`
	// Query is a view's defining SELECT text.
	Query string `json:"query,omitempty"`
	// AppendOnly marks a view that only ever adds rows, keyed by the
	// epoch that added them: other views may read it incrementally, as a
	// stream of its epochs.
	AppendOnly bool `json:"append_only,omitempty"`
	// Indexes names the indexes declared on a table. sqld keeps every
	// table ordered by its key and scans it; declared indexes are recorded
	// so that names resolve as users expect.
	Indexes []string `json:"indexes,omitempty"`
	// DependsOn lists the relations a view reads.
	DependsOn []string `json:"depends_on,omitempty"`
	// PlanVersion is the version of view planning a view was created
	// with (planner.ViewPlanVersion); its state is laid out by that plan.
	PlanVersion int `json:"plan_version,omitempty"`
}

// ColumnIndex returns the index of the named column, or -1.
func (r *Relation) ColumnIndex(name string) int {
	for i, c := range r.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Schema returns the Arrow schema of the relation's columns, hidden ones
// included, in order.
func (r *Relation) Schema() *arrow.Schema {
	fields := make([]arrow.Field, len(r.Columns))
	for i, c := range r.Columns {
		fields[i] = Field(c.Name, c.Type, !c.NotNull)
	}
	return arrow.NewSchema(fields, nil)
}

// Encode returns the stored form of r.
func (r *Relation) Encode() ([]byte, error) { return json.Marshal(r) }

// DecodeRelation parses the stored form made by Encode.
func DecodeRelation(b []byte) (*Relation, error) {
	var r Relation
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("catalog: corrupt relation descriptor: %w", err)
	}
	if r.Name == "" || len(r.Columns) == 0 {
		return nil, fmt.Errorf("catalog: corrupt relation descriptor: missing name or columns")
	}
	return &r, nil
}
