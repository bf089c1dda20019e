package lucene

import (
	"unicode/utf8"
)

// tokenKind is the kind of a query_string token.
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokAnd
	tokOr
	tokNot
	tokPlus
	tokMinus
	tokLParen
	tokRParen
	tokColon
	tokBoost      // ^ and its number, which text contains
	tokSlop       // ~ and an optional number, which text contains
	tokTerm       // bare term, escapes kept
	tokWild       // bare term with an unescaped * or ?, escapes kept
	tokBareOp     // + - or ! followed by whitespace, which Lucene reads as a term
	tokPhrase     // quoted text, with text between the quotes and escapes kept
	tokRegex      // /regex/, with text between the slashes
	tokRangeOpen  // [ or {
	tokRangeClose // ] or }, only valid inside a range
)

// token is one lexical token. Start and end are byte offsets in the source.
type token struct {
	kind       tokenKind
	start, end int
	text       string
}

// describe names the token for error messages.
func (t token) describe(src string) string {
	if t.kind == tokEOF {
		return "end of query"
	}
	return "`" + src[t.start:t.end] + "`"
}

// isSpace reports whether the rune is whitespace to Lucene's lexer, which
// treats only these five characters as whitespace.
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u3000'
}

// spaceAt returns the byte length of the Lucene whitespace at i, or 0.
func spaceAt(src string, i int) int {
	if i >= len(src) {
		return 0
	}
	if c := src[i]; c < utf8.RuneSelf {
		if isSpace(rune(c)) {
			return 1
		}
		return 0
	}
	r, size := utf8.DecodeRuneInString(src[i:])
	if isSpace(r) {
		return size
	}
	return 0
}

// skipSpace moves p.pos past whitespace.
func (p *parser) skipSpace() {
	for {
		n := spaceAt(p.src, p.pos)
		if n == 0 {
			return
		}
		p.pos += n
	}
}

// termStop reports whether the byte ends a bare term. `+` and `-` may appear
// inside a term but cannot start one, which lex checks before it calls lexTerm.
func termStop(c byte) bool {
	switch c {
	case '!', '(', ')', ':', '^', '[', ']', '"', '{', '}', '~', '/':
		return true
	}
	return false
}

// lex reads the next token in Lucene's default lexical state.
func (p *parser) lex() (token, error) {
	p.skipSpace()
	start := p.pos
	if start >= len(p.src) {
		return token{kind: tokEOF, start: start, end: start}, nil
	}
	single := func(k tokenKind) (token, error) {
		p.pos++
		return token{kind: k, start: start, end: p.pos, text: p.src[start:p.pos]}, nil
	}
	switch c := p.src[start]; c {
	case '(':
		return single(tokLParen)
	case ')':
		return single(tokRParen)
	case ':':
		return single(tokColon)
	case '[':
		if n := grafanaBracketVar(p.src, start); n > 0 {
			return p.lexTerm()
		}
		return single(tokRangeOpen)
	case '{':
		return single(tokRangeOpen)
	case ']', '}':
		return single(tokRangeClose)
	case '"':
		return p.lexPhrase()
	case '/':
		return p.lexRegex()
	case '^':
		return p.lexBoost()
	case '~':
		return p.lexSlop()
	case '+', '-', '!':
		if spaceAt(p.src, start+1) > 0 {
			return single(tokBareOp)
		}
		return single(modifierKind(c))
	}
	return p.lexTerm()
}

// modifierKind returns the token kind of a modifier character.
func modifierKind(c byte) tokenKind {
	switch c {
	case '+':
		return tokPlus
	case '-':
		return tokMinus
	}
	return tokNot
}

// lexTerm reads a bare term. Like Lucene's lexer it takes the longest match,
// so `ANDroid` and `&&x` are terms while `AND` and `&&` alone are operators.
func (p *parser) lexTerm() (token, error) {
	start := p.pos
	wild := false
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '\\':
			if p.pos+1 >= len(p.src) {
				return token{}, p.errorf(p.pos,
					"the query ends with a backslash: write \\\\ to search for a backslash")
			}
			_, size := utf8.DecodeRuneInString(p.src[p.pos+1:])
			p.pos += 1 + size
			continue
		case c == '*' || c == '?':
			wild = true
		case c == '$' || c == '[':
			if n := grafanaVar(p.src, p.pos); n > 0 {
				p.pos += n
				continue
			}
			if c == '[' {
				return p.termToken(start, wild), nil
			}
		case termStop(c) || spaceAt(p.src, p.pos) > 0:
			return p.termToken(start, wild), nil
		}
		p.pos++
	}
	return p.termToken(start, wild), nil
}

// termToken classifies the bare term that ends at p.pos.
func (p *parser) termToken(start int, wild bool) token {
	t := token{kind: tokTerm, start: start, end: p.pos, text: p.src[start:p.pos]}
	switch {
	case wild:
		t.kind = tokWild
	case t.text == "AND" || t.text == "&&":
		t.kind = tokAnd
	case t.text == "OR" || t.text == "||":
		t.kind = tokOr
	case t.text == "NOT":
		t.kind = tokNot
	}
	return t
}

// lexPhrase reads a quoted phrase starting at p.pos.
func (p *parser) lexPhrase() (token, error) {
	start := p.pos
	for i := start + 1; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case '"':
			p.pos = i + 1
			return token{kind: tokPhrase, start: start, end: p.pos, text: p.src[start+1 : i]}, nil
		}
	}
	return token{}, p.errorf(start,
		"the phrase that starts here has no closing quote: add a \" or escape this one as \\\"")
}

// lexRegex reads a regular expression between slashes. Lucene's lexer allows
// `\/` inside and takes the longest match, so a slash after a backslash ends
// the token only when no later slash can.
func (p *parser) lexRegex() (token, error) {
	start := p.pos
	lastEscaped := -1
	for i := start + 1; i < len(p.src); i++ {
		if p.src[i] != '/' {
			continue
		}
		if i > start+1 && p.src[i-1] == '\\' {
			lastEscaped = i
			continue
		}
		return p.regexToken(start, i), nil
	}
	if lastEscaped >= 0 {
		return p.regexToken(start, lastEscaped), nil
	}
	return token{}, p.errorf(start,
		"the regular expression that starts here has no closing /: add one, or escape this slash as \\/")
}

func (p *parser) regexToken(start, closing int) token {
	p.pos = closing + 1
	return token{kind: tokRegex, start: start, end: p.pos, text: p.src[start+1 : closing]}
}

// scanNumber returns the end of a number (digits with an optional fraction)
// starting at i, or i when there is none.
func scanNumber(src string, i int) int {
	digits := func(j int) int {
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		return j
	}
	end := digits(i)
	if end == i {
		return i
	}
	if end+1 < len(src) && src[end] == '.' {
		if frac := digits(end + 1); frac > end+1 {
			return frac
		}
	}
	return end
}

// lexBoost reads `^` and the number after it.
func (p *parser) lexBoost() (token, error) {
	start := p.pos
	end := scanNumber(p.src, start+1)
	if end == start+1 {
		return token{}, p.errorf(start, "^ must be followed by a boost number, as in term^2")
	}
	p.pos = end
	return token{kind: tokBoost, start: start, end: end, text: p.src[start+1 : end]}, nil
}

// lexSlop reads `~` and the optional number after it.
func (p *parser) lexSlop() (token, error) {
	start := p.pos
	p.pos = scanNumber(p.src, start+1)
	return token{kind: tokSlop, start: start, end: p.pos, text: p.src[start+1 : p.pos]}, nil
}

// grafanaVar returns the byte length of the Grafana template variable
// reference at i, or 0. It accepts the forms of Grafana's variable syntax:
// `${name}`, `${name.path}`, `${name:format}`, `[[name]]` and
// `[[name:format]]`. A plain `$name` needs no help because `$` is an
// ordinary term character.
func grafanaVar(src string, i int) int {
	if n := grafanaBraceVar(src, i); n > 0 {
		return n
	}
	return grafanaBracketVar(src, i)
}

func grafanaBraceVar(src string, i int) int {
	if i+2 >= len(src) || src[i] != '$' || src[i+1] != '{' {
		return 0
	}
	j := scanWord(src, i+2)
	if j == i+2 {
		return 0
	}
	if j < len(src) && src[j] == '.' {
		k := j + 1
		for k < len(src) && src[k] != ':' && src[k] != '^' && src[k] != '}' {
			k++
		}
		if k == j+1 {
			return 0
		}
		j = k
	}
	if j < len(src) && src[j] == ':' {
		k := j + 1
		for k < len(src) && src[k] != '}' {
			k++
		}
		if k == j+1 {
			return 0
		}
		j = k
	}
	if j < len(src) && src[j] == '}' {
		return j + 1 - i
	}
	return 0
}

func grafanaBracketVar(src string, i int) int {
	if i+1 >= len(src) || src[i] != '[' || src[i+1] != '[' {
		return 0
	}
	j := scanWord(src, i+2)
	if j == i+2 {
		return 0
	}
	if j < len(src) && src[j] == ':' {
		k := scanWord(src, j+1)
		if k == j+1 {
			return 0
		}
		j = k
	}
	if j+1 < len(src) && src[j] == ']' && src[j+1] == ']' {
		return j + 2 - i
	}
	return 0
}

// scanWord returns the end of the run of ASCII word characters at i.
func scanWord(src string, i int) int {
	for i < len(src) {
		c := src[i]
		if c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			break
		}
		i++
	}
	return i
}
