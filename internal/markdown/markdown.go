// Package markdown writes source text into Markdown reports without
// letting it change the report's structure.
package markdown

import "strings"

// Code renders text as a code span that keeps every character: the fence
// is one backtick longer than the longest run inside, and padded with
// spaces when the text contains a backtick.
func Code(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

var cellReplacer = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ")

// Cell keeps text on one line and out of a table's column separators, so
// it fits a table cell or a list item.
func Cell(s string) string { return cellReplacer.Replace(s) }
