package widecol

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestIndexedBatch checks that an indexed batch reads its own writes over
// the committed state, hides them from others until Commit, and that a
// plain batch refuses reads.
func TestIndexedBatch(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, nil)
	defer s.Close()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	tb, err := s.CreateTable(ctx, TableSpec{Keyspace: "ks", Name: "t", Schema: schema, PartitionKey: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, func(b *Batch) error { return b.UpsertRow(tb, Row{"k": int64(1), "v": "committed"}, nil) })

	b := s.NewIndexedBatch()
	defer b.Close()
	if err := b.UpsertRow(tb, Row{"k": int64(2), "v": "mine"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteRow(tb, []any{int64(1)}); err != nil {
		t.Fatal(err)
	}
	it, err := b.Scan(ctx, tb, Range{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(collect(t, it)); got != "[[2 mine]]" {
		t.Fatalf("batch sees %s, want its own writes over the committed state", got)
	}
	if _, err := b.GetRow(ctx, tb, []any{int64(1)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted row through the batch: %v", err)
	}
	if got := fmt.Sprint(scanAll(t, s, tb, Range{}, nil)); got != "[[1 committed]]" {
		t.Fatalf("others see %s before commit", got)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(scanAll(t, s, tb, Range{}, nil)); got != "[[2 mine]]" {
		t.Fatalf("after commit: %s", got)
	}
	plain := s.NewBatch()
	defer plain.Close()
	if _, err := plain.GetRow(ctx, tb, []any{int64(2)}); !errors.Is(err, ErrNotIndexed) {
		t.Fatalf("read through a plain batch: %v", err)
	}
}
