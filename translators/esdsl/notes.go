package esdsl

import (
	"fmt"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// maxNotesPerCode bounds the notes of one code. Many notes name the place
// they apply to, so a large query could otherwise collect thousands of
// near-identical notes, and fidelity.Reasons.Add scans the whole list on
// every addition.
const maxNotesPerCode = 20

// noteSet collects a parse's notes without duplicates, at most
// maxNotesPerCode distinct ones per code plus one stating that more were left
// out.
type noteSet struct {
	list   fidelity.Reasons
	seen   map[fidelity.Reason]bool
	counts map[string]int
}

// note adds a note built from a format string.
func (p *parser) note(level fidelity.Level, code, format string, args ...any) {
	p.add(fidelity.Reason{Code: code, Message: fmt.Sprintf(format, args...), Level: level})
}

// merge adds the notes of a nested parse, such as the Lucene parser's.
func (p *parser) merge(notes fidelity.Reasons) {
	for _, r := range notes {
		p.add(r)
	}
}

func (p *parser) add(r fidelity.Reason) {
	s := &p.notes
	if s.seen == nil {
		s.seen = map[fidelity.Reason]bool{}
		s.counts = map[string]int{}
	}
	if s.seen[r] {
		return
	}
	s.seen[r] = true

	n := s.counts[r.Code]
	s.counts[r.Code] = n + 1
	switch {
	case n < maxNotesPerCode:
		s.list = append(s.list, r)
	case n == maxNotesPerCode:
		s.list = append(s.list, fidelity.Reason{
			Code:    r.Code,
			Message: fmt.Sprintf("More places in the query have notes with code %s; only the first %d are listed.", r.Code, maxNotesPerCode),
			Level:   r.Level,
		})
	}
}
