package lucene

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/obs-migrate/migrate/translators/ast"
)

// existsField is the pseudo-field of Elasticsearch's `_exists_:field`.
const existsField = "_exists_"

// onFields builds a leaf for field. An empty field means the default fields:
// none leaves it empty, one names it, and several give an Or of one leaf
// each, as Elasticsearch searches each default field. The field `*` searches
// all fields whatever the defaults, which is free text, so it becomes empty.
func (p *parser) onFields(field string, build func(field string) ast.Node) ast.Node {
	return onFields(p.fields, field, build)
}

func onFields(defaults []string, field string, build func(field string) ast.Node) ast.Node {
	if field == "*" {
		return build("")
	}
	if field != "" || len(defaults) == 0 {
		return build(field)
	}
	if len(defaults) == 1 {
		return build(defaults[0])
	}
	or := ast.Or{Children: make([]ast.Node, 0, len(defaults))}
	for _, f := range defaults {
		or.Children = append(or.Children, build(f))
	}
	return or
}

// parseValue builds the leaf for a term, wildcard, phrase or regular
// expression token, after reading its fuzziness or slop and boost.
func (p *parser) parseValue(t token, field string) (ast.Node, error) {
	slop, err := p.postfix(t.kind != tokPhrase)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tokPhrase:
		return p.phrase(t, field, slop)
	case tokRegex:
		if slop != nil {
			p.noteFuzzyIgnored()
		}
		pattern := regexPattern(t.text)
		return p.onFields(field, func(f string) ast.Node {
			return ast.Regexp{Field: f, Pattern: pattern}
		}), nil
	case tokWild:
		if slop != nil {
			p.noteFuzzyIgnored()
		}
		return p.wildcard(t, field)
	case tokBareOp:
		p.noteBareOperator(t.text)
	}
	return p.term(t, field, slop)
}

// postfix reads the `~n` and `^n` that may follow a value, in the orders
// Lucene accepts: `~n^m`, `^m` and, when slopAfterBoost is set, `^m~n`. It
// returns the slop token, or nil.
func (p *parser) postfix(slopAfterBoost bool) (*token, error) {
	var slop *token
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if t.kind == tokSlop {
		p.advance()
		first := t
		slop = &first
		if t, err = p.peek(); err != nil {
			return nil, err
		}
	}
	if t.kind != tokBoost {
		return slop, nil
	}
	p.advance()
	p.noteBoost()
	if slop != nil || !slopAfterBoost {
		return slop, nil
	}
	if t, err = p.peek(); err != nil {
		return nil, err
	}
	if t.kind == tokSlop {
		p.advance()
		slop = &t
	}
	return slop, nil
}

// term builds the leaf for a bare term: a fuzzy query, an exists query, a
// one-sided range or an analysed match.
func (p *parser) term(t token, field string, slop *token) (ast.Node, error) {
	value, err := p.unescape(t.text, t.start)
	if err != nil {
		return nil, err
	}
	if slop != nil {
		fuzziness := slop.text
		if fuzziness == "" {
			fuzziness = "AUTO" // query_string's default fuzziness
		}
		return p.onFields(field, func(f string) ast.Node {
			return ast.Fuzzy{Field: f, Value: value, Fuzziness: fuzziness}
		}), nil
	}
	if field == existsField {
		return ast.Exists{Field: value}, nil
	}
	if r, ok := oneSidedRange(value); ok {
		return p.onFields(field, func(f string) ast.Node {
			r.Field = f
			return r
		}), nil
	}
	return p.onFields(field, func(f string) ast.Node {
		return ast.Term{Field: f, Value: value, Mode: ast.Analyzed, Operator: p.op}
	}), nil
}

// isLowercaseOperator reports whether a term is and, or or not written in
// anything but uppercase.
func isLowercaseOperator(s string) bool {
	for _, op := range []string{"AND", "OR", "NOT"} {
		if s != op && strings.EqualFold(s, op) {
			return true
		}
	}
	return false
}

// oneSidedRange reads Elasticsearch's `>v`, `>=v`, `<v` and `<=v` forms, with
// the bounds Elasticsearch gives them.
func oneSidedRange(v string) (ast.Range, bool) {
	if len(v) < 2 || (v[0] != '>' && v[0] != '<') {
		return ast.Range{}, false
	}
	inclusive := len(v) > 2 && v[1] == '='
	bound := v[1:]
	if inclusive {
		bound = v[2:]
	}
	if v[0] == '>' {
		return ast.Range{From: bound, HasFrom: true, IncludeFrom: inclusive, IncludeTo: true}, true
	}
	return ast.Range{To: bound, HasTo: true, IncludeTo: inclusive, IncludeFrom: true}, true
}

// phrase builds the leaf for a quoted phrase with an optional slop.
func (p *parser) phrase(t token, field string, slop *token) (ast.Node, error) {
	value, err := p.unescape(t.text, t.start+1)
	if err != nil {
		return nil, err
	}
	if field == existsField {
		return ast.Exists{Field: value}, nil
	}
	n := 0
	if slop != nil {
		n = phraseSlop(slop.text)
	}
	return p.onFields(field, func(f string) ast.Node {
		return ast.Term{Field: f, Value: value, Mode: ast.Phrase, Slop: n}
	}), nil
}

// phraseSlop converts the number after `"…"~` as Lucene does: a fraction is
// truncated and an empty number leaves the slop at 0.
func phraseSlop(s string) int {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return int(min(f, math.MaxInt32))
}

// wildcard builds the leaf for a term with an unescaped `*` or `?`.
// Elasticsearch turns `field:*` into an exists query and `*:*` into
// match_all.
func (p *parser) wildcard(t token, field string) (ast.Node, error) {
	if t.text == "*" {
		return p.onFields(field, func(f string) ast.Node {
			if f == "" {
				return ast.MatchAll{}
			}
			return ast.Exists{Field: f}
		}), nil
	}
	pattern, err := p.wildcardPattern(t.text, t.start)
	if err != nil {
		return nil, err
	}
	return p.onFields(field, func(f string) ast.Node {
		return ast.Wildcard{Field: f, Pattern: pattern}
	}), nil
}

// fieldName unescapes the name before a colon. A `*` in it stays a
// wildcard whether or not it was escaped.
func (p *parser) fieldName(t token) (string, error) {
	return p.unescape(t.text, t.start)
}

// unescape removes Lucene's backslash escapes from raw, which starts at byte
// offset in the source. Like Lucene it also decodes `\uXXXX`.
func (p *parser) unescape(raw string, offset int) (string, error) {
	return p.rewriteEscapes(raw, offset, func(b *strings.Builder, r rune) { b.WriteRune(r) })
}

// wildcardPattern unescapes a wildcard term into ast.Wildcard's pattern
// syntax, where only `\*`, `\?` and `\\` stay escaped.
func (p *parser) wildcardPattern(raw string, offset int) (string, error) {
	return p.rewriteEscapes(raw, offset, func(b *strings.Builder, r rune) {
		if r == '*' || r == '?' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	})
}

// rewriteEscapes copies raw, passing each escaped character to write.
func (p *parser) rewriteEscapes(raw string, offset int, write func(*strings.Builder, rune)) (string, error) {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw, nil
	}
	var b strings.Builder
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			b.WriteByte(raw[i])
			i++
			continue
		}
		if i+1 == len(raw) {
			return "", p.errorf(offset+i,
				"the value ends with a backslash: write \\\\ to search for a backslash")
		}
		r, size := utf8.DecodeRuneInString(raw[i+1:])
		size++
		if r == 'u' {
			var err error
			if r, size, err = p.unicodeEscape(raw[i:], offset+i); err != nil {
				return "", err
			}
		}
		write(&b, r)
		i += size
	}
	return b.String(), nil
}

// unicodeEscape decodes the `\uXXXX` at the start of s, and the low
// surrogate that must follow a high one. It returns the rune and the bytes
// used.
func (p *parser) unicodeEscape(s string, offset int) (rune, int, error) {
	hi, ok := hex4(s)
	if !ok {
		return 0, 0, p.errorf(offset,
			"invalid unicode escape: \\u needs four hex digits; write \\\\u to search for a backslash and a u")
	}
	if !utf16Surrogate(hi) {
		return hi, 6, nil
	}
	lo, ok := hex4(s[6:])
	if hi < 0xDC00 && ok && lo >= 0xDC00 && lo <= 0xDFFF {
		return 0x10000 + (hi-0xD800)<<10 + (lo - 0xDC00), 12, nil
	}
	return 0, 0, p.errorf(offset,
		"invalid unicode escape %s: a UTF-16 surrogate must come in a high-low pair", s[:6])
}

// hex4 parses the `\uXXXX` at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[2:6]) {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func utf16Surrogate(r rune) bool { return r >= 0xD800 && r <= 0xDFFF }

// regexPattern turns the text between the slashes into the pattern: `\/`
// becomes `/`, and other escapes stay for the regular expression syntax.
func regexPattern(raw string) string {
	if !strings.Contains(raw, `\/`) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
			if raw[i] != '/' {
				b.WriteByte('\\')
			}
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}
