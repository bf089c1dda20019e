package markdown

import "testing"

func TestCode(t *testing.T) {
	tests := map[string]string{
		"a b":   "`a b`",
		"a`b":   "`` a`b ``",
		"`x`":   "`` `x` ``",
		"a``b`": "``` a``b` ```",
		"":      "``",
	}
	for in, want := range tests {
		if got := Code(in); got != want {
			t.Errorf("Code(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCell(t *testing.T) {
	if got, want := Cell("a|b\nc\rd"), `a\|b c d`; got != want {
		t.Errorf("Cell = %q, want %q", got, want)
	}
}
