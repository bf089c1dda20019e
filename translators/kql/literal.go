package kql

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// literal is a quoted or unquoted string: a field name, a value, or free text.
type literal struct {
	// value is the unescaped text.
	value string
	// pattern is the unquoted text as an ast.Wildcard pattern: an unescaped
	// `*` stays a wildcard, and a literal `*`, `?` or `\` gets a backslash.
	pattern string
	quoted  bool
	// wildcard is set when an unquoted literal has an unescaped `*`.
	wildcard bool
	// escapedStar is set when an unquoted literal has a `\*`.
	escapedStar bool
	// start and end delimit the literal in the source, without the
	// whitespace around it.
	start, end int
}

// specialChars end an unquoted literal unless a backslash escapes them. The
// star is special too but is part of a literal, as a wildcard.
const specialChars = `\():<>"*{}`

// keywords are the boolean operators, matched without regard to case.
var keywords = [...]string{"and", "or", "not"}

// isSpace reports whether c is whitespace as KQL defines it.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// isTrimSpace reports whether JavaScript's String.prototype.trim removes r:
// Unicode white space and line terminators, and U+FEFF, but not U+0085.
func isTrimSpace(r rune) bool {
	return r == '\uFEFF' || (unicode.IsSpace(r) && r != '\u0085')
}

func isSpecial(c byte) bool {
	return strings.IndexByte(specialChars, c) >= 0
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// peek returns the byte at p.pos, or 0 at the end of the input.
func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) skipSpace() { p.pos = p.spaceEnd(p.pos) }

// spaceEnd returns the offset of the first non-whitespace byte at or after
// pos.
func (p *parser) spaceEnd(pos int) int {
	for pos < len(p.src) && isSpace(p.src[pos]) {
		pos++
	}
	return pos
}

// keywordAt reports whether word, in any case, starts at pos and is followed
// by whitespace. Kibana's grammar needs whitespace after every keyword, so
// "a or" at the end of a query, or before a bracket, is the text "a or".
func (p *parser) keywordAt(pos int, word string) bool {
	end := pos + len(word)
	if end >= len(p.src) || !strings.EqualFold(p.src[pos:end], word) {
		return false
	}
	return isSpace(p.src[end])
}

// anyKeywordAt returns the keyword at pos as written, if there is one.
func (p *parser) anyKeywordAt(pos int) (string, bool) {
	for _, w := range keywords {
		if p.keywordAt(pos, w) {
			return p.src[pos : pos+len(w)], true
		}
	}
	return "", false
}

// binaryKeywordAhead reports whether whitespace and then the keyword op
// follow p.pos, and returns the offset of the keyword.
func (p *parser) binaryKeywordAhead(op string) (int, bool) {
	at := p.spaceEnd(p.pos)
	if at == p.pos || !p.keywordAt(at, op) {
		return 0, false
	}
	return at, true
}

// atOperandEnd reports whether no operand can start at p.pos: the input
// ends, a bracket closes, or `and` or `or` follows.
func (p *parser) atOperandEnd() bool {
	c := p.peek()
	return p.eof() || c == ')' || c == '}' || p.keywordAt(p.pos, "and") || p.keywordAt(p.pos, "or")
}

// canStartLiteral reports whether a quoted or unquoted literal starts at pos.
func (p *parser) canStartLiteral(pos int) bool {
	if pos >= len(p.src) {
		return false
	}
	c := p.src[pos]
	if isSpace(c) || (isSpecial(c) && c != '"' && c != '\\' && c != '*') {
		return false
	}
	_, isKeyword := p.anyKeywordAt(pos)
	return !isKeyword
}

// scanLiteral reads the quoted or unquoted literal at p.pos, which
// canStartLiteral has accepted.
func (p *parser) scanLiteral() (literal, error) {
	if p.peek() == '"' {
		return p.scanQuoted()
	}
	return p.scanUnquoted()
}

// scanQuoted reads a quoted string. Inside quotes `\"` and `\\` are escapes,
// `\t`, `\r` and `\n` stand for whitespace, `\uXXXX` for a character, and
// any other backslash is literal, as in Kibana.
func (p *parser) scanQuoted() (literal, error) {
	open := p.pos
	var b strings.Builder
	p.pos++
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '"' {
			p.pos++
			return literal{value: b.String(), quoted: true, start: open, end: p.pos}, nil
		}
		if c == '\\' {
			if text, size := quotedEscape(p.src[p.pos:]); size > 0 {
				b.WriteString(text)
				p.pos += size
				continue
			}
		}
		b.WriteByte(c)
		p.pos++
	}
	return literal{}, p.errorf(open,
		`unterminated quoted string: add the closing " or escape the quote as \"`)
}

// quotedEscape decodes the escape at the start of s inside a quoted string.
// It returns a size of 0 when the backslash is literal.
func quotedEscape(s string) (string, int) {
	if len(s) < 2 {
		return "", 0
	}
	switch s[1] {
	case '"', '\\':
		return s[1:2], 2
	case 't', 'r', 'n':
		return whitespaceEscape(s[1]), 2
	case 'u':
		if text, size, ok := unicodeEscape(s); ok {
			return text, size
		}
	}
	return "", 0
}

func whitespaceEscape(c byte) string {
	switch c {
	case 't':
		return "\t"
	case 'r':
		return "\r"
	}
	return "\n"
}

// unicodeEscape decodes `\uXXXX` at the start of s, or a UTF-16 surrogate
// pair written as two such escapes. A lone surrogate is rejected because it
// has no UTF-8 form.
func unicodeEscape(s string) (string, int, bool) {
	r, ok := hexEscape(s)
	if !ok {
		return "", 0, false
	}
	if !utf16.IsSurrogate(r) {
		return string(r), 6, true
	}
	low, ok := hexEscape(s[6:])
	if !ok {
		return "", 0, false
	}
	pair := utf16.DecodeRune(r, low)
	if pair == utf8.RuneError {
		return "", 0, false
	}
	return string(pair), 12, true
}

func hexEscape(s string) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[2:6], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// scanUnquoted reads an unquoted literal. It runs over whitespace and stops
// at a special character, at whitespace followed by a keyword, or at
// whitespace that ends the input. Whitespace at either end is dropped from
// the value.
func (p *parser) scanUnquoted() (literal, error) {
	lit := literal{start: p.pos}
	var value, pattern strings.Builder
	keepValue, keepPattern, keepEnd := 0, 0, p.pos
scan:
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case isSpace(c):
			end := p.spaceEnd(p.pos)
			if _, ok := p.anyKeywordAt(end); ok || end == len(p.src) {
				break scan
			}
			if value.Len() == 0 {
				lit.start = end
			} else {
				value.WriteString(p.src[p.pos:end])
				pattern.WriteString(p.src[p.pos:end])
			}
			p.pos = end
			continue
		case c == '\\':
			text, size, err := p.unquotedEscape()
			if err != nil {
				return literal{}, err
			}
			lit.escapedStar = lit.escapedStar || text == "*"
			value.WriteString(text)
			pattern.WriteString(escapePattern(text))
			p.pos += size
		case c == '*':
			lit.wildcard = true
			value.WriteByte(c)
			pattern.WriteByte(c)
			p.pos++
		case isSpecial(c):
			break scan
		case c == '?':
			value.WriteByte(c)
			pattern.WriteString(`\?`)
			p.pos++
		default:
			r, size := utf8.DecodeRuneInString(p.src[p.pos:])
			if isTrimSpace(r) {
				// Kibana trims the literal with JavaScript's trim, which
				// removes more whitespace than KQL separates words with.
				if value.Len() == 0 {
					lit.start = p.pos + size
				} else {
					value.WriteString(p.src[p.pos : p.pos+size])
					pattern.WriteString(p.src[p.pos : p.pos+size])
				}
				p.pos += size
				continue
			}
			value.WriteString(p.src[p.pos : p.pos+size])
			pattern.WriteString(p.src[p.pos : p.pos+size])
			p.pos += size
		}
		keepValue, keepPattern, keepEnd = value.Len(), pattern.Len(), p.pos
	}
	lit.value = value.String()[:keepValue]
	lit.pattern = pattern.String()[:keepPattern]
	lit.end = max(keepEnd, lit.start)
	return lit, nil
}

// unquotedEscape decodes the escape at p.pos in an unquoted literal and
// returns its text and its length in the source. An escaped keyword is
// checked before `\n`, so `\not` is the word "not".
func (p *parser) unquotedEscape() (string, int, error) {
	rest := p.src[p.pos+1:]
	if rest == "" {
		return "", 0, p.errorf(p.pos,
			`the query ends with a backslash that escapes nothing: write \\ for a literal backslash`)
	}
	for _, w := range keywords {
		if len(rest) >= len(w) && strings.EqualFold(rest[:len(w)], w) {
			return rest[:len(w)], 1 + len(w), nil
		}
	}
	switch c := rest[0]; {
	case c == 't' || c == 'r' || c == 'n':
		return whitespaceEscape(c), 2, nil
	case c == 'u':
		if text, size, ok := unicodeEscape(p.src[p.pos:]); ok {
			return text, size, nil
		}
		return "", 0, p.errorf(p.pos,
			`invalid unicode escape: write \u and four hex digits, or \\ for a literal backslash`)
	case isSpecial(c) || isSpace(c):
		return rest[:1], 2, nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return "", 0, p.errorf(p.pos,
		`invalid escape \%c: a backslash makes one of \():<>"*{}, whitespace or a keyword `+
			`literal; write \\ for a literal backslash`, r)
}

// escapePattern escapes the characters that an ast.Wildcard pattern reads as
// operators.
func escapePattern(s string) string {
	if !strings.ContainsAny(s, `*?\`) {
		return s
	}
	var b strings.Builder
	for i := range len(s) {
		if c := s[i]; c == '*' || c == '?' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
