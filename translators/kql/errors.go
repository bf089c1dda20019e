package kql

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/obs-migrate/migrate/translators/ast"
)

// maxTokenBytes bounds how much of the input an error message quotes.
const maxTokenBytes = 20

func (p *parser) errorf(offset int, format string, args ...any) *ast.SyntaxError {
	return ast.NewSyntaxError(ast.KQL, p.src, offset, format, args...)
}

// position names an offset as "column C", or "line L, column C" when the
// query has several lines.
func (p *parser) position(offset int) string {
	e := p.errorf(offset, "")
	if strings.Contains(p.src, "\n") {
		return fmt.Sprintf("line %d, column %d", e.Line(), e.Column())
	}
	return fmt.Sprintf("column %d", e.Column())
}

// missingCloser reports the end of the input inside the bracket f opened.
func (p *parser) missingCloser(f frame) error {
	name := "parenthesis"
	if f.closer == '}' {
		name = "brace"
	}
	return p.errorf(p.pos, "missing closing %s for the %s opened at %s",
		name, f.kind, p.position(f.open))
}

// checkExpressionStart explains why no condition starts at p.pos, if none
// does.
func (p *parser) checkExpressionStart() error {
	if p.canStartLiteral(p.pos) {
		return nil
	}
	switch c := p.peek(); c {
	case ':':
		return p.errorf(p.pos, `missing field name before ":"`)
	case '<', '>':
		return p.errorf(p.pos, "missing field name before %q", p.operatorAt(p.pos))
	case '{':
		return p.errorf(p.pos,
			`unexpected "{": a nested query follows a field and a colon, as in items:{ name:x }`)
	case ')', '}':
		return p.errorf(p.pos, "unexpected %q: no %s is open", string(c), bracketKind(c))
	}
	return p.checkValueStart("a query")
}

// checkValueStart explains why no literal starts at p.pos, if none does. want
// names what was expected, such as `a value after "status:"`.
func (p *parser) checkValueStart(want string) error {
	if p.canStartLiteral(p.pos) {
		return nil
	}
	if p.eof() {
		return p.errorf(p.pos, "expected %s", want)
	}
	if word, ok := p.anyKeywordAt(p.pos); ok {
		return p.errorf(p.pos,
			"expected %s, found the keyword %q: escape it as \\%s or quote it to search for the word",
			want, word, word)
	}
	c := p.peek()
	if (c == '<' || c == '>') && p.previousByte() == ':' {
		return p.errorf(p.pos,
			"expected %s, found %q: a range has no colon, as in bytes %s 10",
			want, p.operatorAt(p.pos), p.operatorAt(p.pos))
	}
	return p.errorf(p.pos, "expected %s, found %q", want, p.tokenAt(p.pos))
}

// unexpected reports the token at p.pos, which cannot follow a complete
// condition inside frame f.
func (p *parser) unexpected(f frame) error {
	at := p.pos
	c := p.src[at]
	want := `"and", "or" or the end of the query`
	if f.closer != 0 {
		want = fmt.Sprintf(`"and", "or" or %q to close the %s opened at %s`,
			string(f.closer), f.kind, p.position(f.open))
	}
	switch {
	case (c == ')' || c == '}') && f.closer == 0:
		return p.errorf(at, "unexpected %q: no %s is open", string(c), bracketKind(c))
	case c == ':':
		return p.errorf(at, `unexpected ":": quote the value, or escape the colon as \:`)
	case c == '<' || c == '>':
		return p.errorf(at, "unexpected %q: a range compares one field with one value, as in bytes > 10",
			p.operatorAt(at))
	case c == '(' && p.followsWord("not"):
		return p.errorf(at, `"not" needs whitespace after it to negate a group: write not (…)`)
	case c == '(' && (p.followsWord("and") || p.followsWord("or")):
		return p.errorf(at, "%q needs whitespace on both sides", p.src[p.wordStart():at])
	case c == '(':
		return p.errorf(at,
			`unexpected "(": join the group to the condition before it with "and" or "or"`)
	case c == '{':
		return p.errorf(at,
			`unexpected "{": a nested query follows a field and a colon, as in items:{ name:x }`)
	case p.keywordAt(at, "not"):
		return p.errorf(at, `unexpected %q: write "and not" or "or not" to negate a condition, `+
			`or \not to search for the word`, p.src[at:at+3])
	}
	if word, ok := p.gluedOperator(at); ok {
		return p.errorf(at, "%q needs whitespace on both sides", word)
	}
	return p.errorf(at, "expected %s, found %q", want, p.tokenAt(at))
}

func bracketKind(c byte) string {
	if c == '}' {
		return "nested query"
	}
	return "group"
}

// gluedOperator returns the `and` or `or` at pos that touches the token before
// or after it, as in `(a)and b` or `a or(b)`.
func (p *parser) gluedOperator(pos int) (string, bool) {
	for _, w := range [...]string{"and", "or"} {
		end := pos + len(w)
		if end > len(p.src) || !strings.EqualFold(p.src[pos:end], w) {
			continue
		}
		if p.keywordAt(pos, w) || (end < len(p.src) && (p.src[end] == '(' || p.src[end] == '"')) {
			return p.src[pos:end], true
		}
	}
	return "", false
}

// followsWord reports whether word, in any case, ends just before p.pos and
// starts a word.
func (p *parser) followsWord(word string) bool {
	start := p.pos - len(word)
	if start < 0 || !strings.EqualFold(p.src[start:p.pos], word) {
		return false
	}
	return start == 0 || isSpace(p.src[start-1]) || isSpecial(p.src[start-1])
}

// wordStart returns the offset where the word that ends at p.pos starts.
func (p *parser) wordStart() int {
	start := p.pos
	for start > 0 && !isSpace(p.src[start-1]) && !isSpecial(p.src[start-1]) {
		start--
	}
	return start
}

// previousByte returns the last non-whitespace byte before p.pos, or 0.
func (p *parser) previousByte() byte {
	for i := p.pos - 1; i >= 0; i-- {
		if !isSpace(p.src[i]) {
			return p.src[i]
		}
	}
	return 0
}

// operatorAt returns the range operator at pos.
func (p *parser) operatorAt(pos int) string {
	if pos+1 < len(p.src) && p.src[pos+1] == '=' {
		return p.src[pos : pos+2]
	}
	return p.src[pos : pos+1]
}

// tokenAt returns the text at pos for an error message: one special
// character, or the run of ordinary characters there, cut to a few bytes.
func (p *parser) tokenAt(pos int) string {
	if pos >= len(p.src) {
		return ""
	}
	if isSpecial(p.src[pos]) {
		return p.src[pos : pos+1]
	}
	end := pos
	for end < len(p.src) && end-pos < maxTokenBytes {
		c := p.src[end]
		if isSpace(c) || isSpecial(c) {
			break
		}
		_, size := utf8.DecodeRuneInString(p.src[end:])
		end += size
	}
	return p.src[pos:end]
}
