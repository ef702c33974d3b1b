package acp

import (
	"slices"
	"testing"
)

func TestJSONPath(t *testing.T) {
	tests := []struct {
		tokens []string
		want   string
	}{
		{nil, "$"},
		{[]string{"products", "0", "variants", "12", "price", "amount"}, "$.products[0].variants[12].price.amount"},
		{[]string{"products", "0", "we'ird key"}, `$.products[0]['we\'ird key']`},
		{[]string{"a\\b", "_ok", "9lives", ""}, `$['a\\b']._ok['9lives']['']`},
	}
	for _, tt := range tests {
		if got := jsonPath(tt.tokens); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.tokens, got, tt.want)
		}
	}
}

// Paths sort as their values appear in a document: indexes by number.
func TestComparePaths(t *testing.T) {
	paths := []string{"$.products[10].id", "$.products[2].variants[0].id", "$.products[2].id", "$.products", "$.products[2].variants[10]", "$.products[2].variants[9]"}
	slices.SortFunc(paths, comparePaths)
	want := []string{"$.products", "$.products[2].id", "$.products[2].variants[0].id", "$.products[2].variants[9]", "$.products[2].variants[10]", "$.products[10].id"}
	if !slices.Equal(paths, want) {
		t.Fatalf("%v, want %v", paths, want)
	}
}
