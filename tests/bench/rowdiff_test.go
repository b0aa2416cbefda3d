package bench

import (
	"fmt"
	"testing"
)

func TestRowDiff(t *testing.T) {
	a := []string{"1|a", "1|a", "2|b", "4|d", "5|e"}
	b := []string{"1|a", "2|b", "3|c", "5|e", "6|f"}
	onlyA, onlyB := rowDiff(a, b, 3)
	if fmt.Sprint(onlyA) != "[1|a 4|d]" || fmt.Sprint(onlyB) != "[3|c 6|f]" {
		t.Fatalf("only in a %v, only in b %v", onlyA, onlyB)
	}
	if onlyA, _ := rowDiff(a, nil, 2); len(onlyA) != 2 {
		t.Fatalf("at most 2 lines, got %v", onlyA)
	}
}
