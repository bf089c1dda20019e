package plans

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse checks that Parse never panics and returns either a plan or
// errors, each a *FieldError whose position lies within the input.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(examplePlan)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimalPlan))
	f.Add([]byte(minimalPlan + "logs:\n  - &a {indices: x}\n  - <<: [*a, *a]\n    line: m\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte(minimalPlan + manyLabels(13, 3)))
	for _, tc := range parseErrorCases {
		f.Add([]byte(tc.yaml))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err == nil {
			if p == nil {
				t.Fatal("Parse returned neither a plan nor an error")
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("Parse accepted a plan that Validate rejects: %v", err)
			}
			return
		}
		if p != nil {
			t.Fatal("Parse returned a plan with its error")
		}
		lines, width := extent(data)
		for _, e := range leafErrors(err) {
			var fe *FieldError
			if !errors.As(e, &fe) {
				t.Fatalf("error %v is not a *FieldError", e)
			}
			if fe.Line < 0 || fe.Line > lines || fe.Column < 0 || fe.Column > width+1 {
				t.Fatalf("position %d:%d outside the input (%d lines, %d columns): %v",
					fe.Line, fe.Column, lines, width, fe)
			}
		}
	})
}

// extent returns an upper bound on the lines and columns of data as YAML
// counts them. YAML breaks lines at \n, \r, NEL, LS and PS; counting each
// of them, and each byte as a column, overestimates safely.
func extent(data []byte) (lines, width int) {
	breaks := func(r rune) bool {
		return r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029'
	}
	lines = 1
	for _, r := range string(data) {
		if breaks(r) {
			lines++
		}
	}
	for _, field := range bytes.FieldsFunc(data, breaks) {
		width = max(width, len(field))
	}
	return lines, width
}
