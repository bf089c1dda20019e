package ast

import (
	"errors"
	"strings"
	"testing"
)

func TestSyntaxErrorPosition(t *testing.T) {
	src := "status:200\nAND größe:(a"
	e := NewSyntaxError(KQL, src, strings.Index(src, "(a"), "missing closing parenthesis")
	if e.Line() != 2 || e.Column() != 11 {
		t.Errorf("line %d column %d, want 2 and 11 (columns count characters)", e.Line(), e.Column())
	}
	msg := e.Error()
	for _, want := range []string{"invalid kql query", "line 2, column 11", "missing closing parenthesis", "⟨here⟩(a"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}

func TestSyntaxErrorExcerptIsBounded(t *testing.T) {
	src := strings.Repeat("a", 500) + "!" + strings.Repeat("b", 500)
	msg := NewSyntaxError(Lucene, src, 500, "unexpected").Error()
	if len(msg) > 200 {
		t.Errorf("message of %d bytes for a long query; the excerpt must be bounded", len(msg))
	}
	if !strings.Contains(msg, "…") {
		t.Errorf("truncated excerpt lacks an ellipsis: %s", msg)
	}
}

func TestCheckUTF8(t *testing.T) {
	err := CheckUTF8(KQL, "ok \xff bad")
	if !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("error %v, want ErrInvalidUTF8", err)
	}
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 3 {
		t.Errorf("offset of %v, want 3", err)
	}
	if CheckUTF8(KQL, "größe") != nil {
		t.Error("valid UTF-8 rejected")
	}
}

func TestFormat(t *testing.T) {
	n := And{Children: []Node{
		Term{Field: "a", Value: "x y", Mode: Analyzed, Operator: OpAnd},
		Not{Child: Term{Field: "", Value: "p q", Mode: Phrase, Slop: 2}},
		Or{Children: []Node{Exists{Field: "b"}, Range{Field: "n", From: "1", HasFrom: true, IncludeFrom: true}}},
		Wildcard{Field: "w", Pattern: `a\*b*`, CaseInsensitive: true},
	}}
	want := `(and (match a "x y" and) (not (phrase * "p q" ~2)) (or (exists b) (range n [1 TO *})) (wildcard w "a\\*b*" ci))`
	if got := Format(n); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
