// Package fidelity grades how faithfully a translated query or panel keeps the
// meaning of its source, and carries the reasons behind each grade.
package fidelity

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Level is the fidelity grade of one translation. Levels are ordered: a
// translation is as good as its worst piece.
type Level int

// The three grades, from best to worst.
const (
	// Exact returns the same results as the source under the mapping's
	// assumptions.
	Exact Level = iota
	// Approximate runs, but can return a different set of results; every
	// difference is named by a Reason.
	Approximate
	// Unsupported has no rendering; the source text is kept for a person.
	Unsupported
)

var levelNames = [...]string{"exact", "approximate", "unsupported"}

// String returns the name used in JSON output and reports.
func (l Level) String() string {
	if l < Exact || l > Unsupported {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel turns "exact", "approximate" or "unsupported" into a Level.
func ParseLevel(s string) (Level, error) {
	for i, name := range levelNames {
		if s == name {
			return Level(i), nil
		}
	}
	return Exact, fmt.Errorf("invalid fidelity %q: expected exact, approximate or unsupported", s)
}

// MarshalText encodes the level by name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes a level name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Worst returns the lower of two grades.
func Worst(a, b Level) Level {
	if b > a {
		return b
	}
	return a
}

// Reason explains one difference between a source and its translation. Code
// is stable and meant for machines; Message is a sentence that stands on its
// own in a report.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Level is the grade this reason imposes. Informational reasons, such as
	// a dropped boost, keep a translation exact.
	Level Level `json:"-"`
}

// Reasons is an ordered, duplicate-free list of reasons.
type Reasons []Reason

// Add appends r unless the same code and message are already present.
func (rs *Reasons) Add(r Reason) {
	for _, have := range *rs {
		if have.Code == r.Code && have.Message == r.Message {
			return
		}
	}
	*rs = append(*rs, r)
}

// Addf appends a reason built from a format string.
func (rs *Reasons) Addf(level Level, code, format string, args ...any) {
	rs.Add(Reason{Code: code, Message: fmt.Sprintf(format, args...), Level: level})
}

// Merge appends every reason of other that is not yet present.
func (rs *Reasons) Merge(other Reasons) {
	for _, r := range other {
		rs.Add(r)
	}
}

// Level returns the worst grade among the reasons, or Exact for none.
func (rs Reasons) Level() Level {
	l := Exact
	for _, r := range rs {
		l = Worst(l, r.Level)
	}
	return l
}

// Sorted returns a copy ordered by code and message, for deterministic output.
func (rs Reasons) Sorted() Reasons {
	out := append(Reasons(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Code != out[j].Code {
			return out[i].Code < out[j].Code
		}
		return out[i].Message < out[j].Message
	})
	return out
}

// MarshalJSON writes an empty list as [] rather than null.
func (rs Reasons) MarshalJSON() ([]byte, error) {
	if rs == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]Reason(rs))
}

// Counts counts conversions by fidelity, for batch reports.
type Counts struct {
	Exact       int `json:"exact"`
	Approximate int `json:"approximate"`
	Unsupported int `json:"unsupported"`
}

// Add counts one conversion of level l. Any level worse than approximate
// counts as unsupported.
func (c *Counts) Add(l Level) {
	switch l {
	case Exact:
		c.Exact++
	case Approximate:
		c.Approximate++
	default:
		c.Unsupported++
	}
}

// Total returns the sum of the counts.
func (c Counts) Total() int { return c.Exact + c.Approximate + c.Unsupported }
