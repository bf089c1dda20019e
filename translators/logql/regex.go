package logql

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pattern is a match on a string value, kept apart from its final regex form
// because a line filter searches the line while a label filter matches the
// whole label value.
type pattern struct {
	re string // RE2 syntax without flags
	ci bool   // case-insensitive
	// dotAll lets `.` match a newline, as it does in Lucene regexes and
	// Elasticsearch wildcards.
	dotAll bool
	// full means re must match the whole value; otherwise it may match
	// anywhere inside it.
	full bool
	// literal is set when re is exactly regexp.QuoteMeta(literal), so a
	// plain substring or equality test can replace the regex.
	literal    string
	hasLiteral bool
}

func literalPattern(s string, full, ci bool) pattern {
	return pattern{re: regexp.QuoteMeta(s), ci: ci, full: full, literal: s, hasLiteral: true}
}

// searchRegex is the unanchored form for a line filter.
func (p pattern) searchRegex() string {
	re := p.re
	if p.full {
		re = "^(?:" + re + ")$"
	}
	return withFlags(re, p.ci, p.dotAll)
}

// fullRegex is the anchored form for a label filter or matcher. Loki
// simplifies unanchored label regexes such as `x.*` into substring tests, so
// the anchors are always written out.
func (p pattern) fullRegex() string {
	if p.full {
		return withFlags("^(?:"+p.re+")$", p.ci, p.dotAll)
	}
	return withFlags("^(?:.*(?:"+p.re+").*)$", p.ci, true)
}

// groupRegex is the search form wrapped so it can be one branch of an
// alternation with its own flags.
func (p pattern) groupRegex() string {
	re := p.re
	if p.full {
		re = "^(?:" + re + ")$"
	}
	switch {
	case p.ci && p.dotAll:
		return "(?is:" + re + ")"
	case p.ci:
		return "(?i:" + re + ")"
	case p.dotAll:
		return "(?s:" + re + ")"
	}
	return "(?:" + re + ")"
}

func withFlags(re string, ci, dotAll bool) string {
	switch {
	case ci && dotAll:
		return "(?is)" + re
	case ci:
		return "(?i)" + re
	case dotAll:
		return "(?s)" + re
	}
	return re
}

// matchesEmpty reports whether a full-match regex accepts the empty string;
// such a matcher cannot be the only one in a stream selector.
// It reads the parsed pattern instead of compiling it: compiling is most of
// the cost of a query with many patterns.
func matchesEmpty(fullRe string) bool {
	re, err := syntax.Parse(fullRe, syntax.Perl)
	return err != nil || nullable(re)
}

// nullable reports whether a parsed regex matches the empty string. On
// empty input every position is both the start and the end of the text and
// of a line, and no position is a word boundary.
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpStar, syntax.OpQuest,
		syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !nullable(sub) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if nullable(sub) {
				return true
			}
		}
		return false
	}
	// Character classes, any character, word boundaries, no match.
	return false
}

// tokenClass matches one character of a token as Elasticsearch's standard
// tokenizer forms them: letters, digits and connector punctuation.
const tokenClass = `[\p{L}\p{N}_]`

// tokenize splits a value into lowercase tokens, close to Elasticsearch's
// standard analyzer (Unicode word boundaries, UAX #29): runs of letters,
// digits and underscores, where a full stop or apostrophe between two
// letters or two digits, and a comma between two digits, stay inside the
// token. So "system.syslog" and "3.14" are one token and "foo-bar" two.
func tokenize(s string) []string {
	runes := []rune(s)
	var (
		out []string
		cur []rune
	)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, r := range runes {
		if isTokenRune(r) {
			cur = append(cur, r)
			continue
		}
		if len(cur) > 0 && i+1 < len(runes) && joinsToken(r, runes[i-1], runes[i+1]) {
			cur = append(cur, r)
			continue
		}
		flush()
	}
	flush()
	return out
}

func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || unicode.Is(unicode.Mn, r)
}

// joinsToken reports whether punctuation r between prev and next stays
// inside a token (word-break rules WB6, WB7, WB11 and WB12).
func joinsToken(r, prev, next rune) bool {
	letters := unicode.IsLetter(prev) && unicode.IsLetter(next)
	digits := unicode.IsDigit(prev) && unicode.IsDigit(next)
	switch r {
	case '.', '\'', '\u2019':
		return letters || digits
	case ',', ';':
		return digits
	}
	return false
}

// boundedToken wraps a regex for one or more tokens in word boundaries. RE2's
// \b only knows ASCII word characters, so a token with any other character
// gets explicit Unicode boundaries instead: next to "ü", \b would see a
// boundary where Elasticsearch sees one word.
func boundedToken(re string, first, last rune) string {
	if isASCIIWord(first) && isASCIIWord(last) && isASCII(re) {
		return `\b` + re + `\b`
	}
	return `(?:^|[^\p{L}\p{N}_])` + re + `(?:[^\p{L}\p{N}_]|$)`
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIIWord(r rune) bool {
	return r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }
func lastRune(s string) rune  { r, _ := utf8.DecodeLastRuneInString(s); return r }

// tokenPattern matches one token anywhere in a text value.
func tokenPattern(tok string) pattern {
	return pattern{re: boundedToken(regexp.QuoteMeta(tok), firstRune(tok), lastRune(tok)), ci: true}
}

// anyTokenPattern matches any of the tokens.
func anyTokenPattern(toks []string) pattern {
	if len(toks) == 1 {
		return tokenPattern(toks[0])
	}
	alts := make([]string, len(toks))
	allASCII := true
	for i, t := range toks {
		alts[i] = regexp.QuoteMeta(t)
		if !isASCIIWord(firstRune(t)) || !isASCIIWord(lastRune(t)) || !isASCII(t) {
			allASCII = false
		}
	}
	body := "(?:" + strings.Join(alts, "|") + ")"
	if allASCII {
		return pattern{re: `\b` + body + `\b`, ci: true}
	}
	return pattern{re: `(?:^|[^\p{L}\p{N}_])` + body + `(?:[^\p{L}\p{N}_]|$)`, ci: true}
}

// phrasePattern matches tokens in order with up to slop other tokens between
// neighbours. For two tokens it also accepts the reversed order when slop
// allows it (a swap costs two moves in Lucene).
func phrasePattern(toks []string, slop int) pattern {
	gap := `[^\p{L}\p{N}_]+`
	if slop > 0 {
		gap = fmt.Sprintf(`[^\p{L}\p{N}_]+(?:%s+[^\p{L}\p{N}_]+){0,%d}`, tokenClass, slop)
	}
	quoted := make([]string, len(toks))
	for i, t := range toks {
		quoted[i] = regexp.QuoteMeta(t)
	}
	forward := boundedToken(strings.Join(quoted, gap), firstRune(toks[0]), lastRune(toks[len(toks)-1]))
	if len(toks) == 2 && slop >= 2 {
		backGap := `[^\p{L}\p{N}_]+`
		if slop > 2 {
			backGap = fmt.Sprintf(`[^\p{L}\p{N}_]+(?:%s+[^\p{L}\p{N}_]+){0,%d}`, tokenClass, slop-2)
		}
		backward := boundedToken(quoted[1]+backGap+quoted[0], firstRune(toks[1]), lastRune(toks[0]))
		forward = "(?:" + forward + "|" + backward + ")"
	}
	return pattern{re: forward, ci: true}
}

// wildcardRegex converts an Elasticsearch wildcard pattern (`*`, `?`, and
// backslash escapes) to RE2. In token mode the wildcards stay inside one
// token, as they do on an analysed text field.
func wildcardRegex(p string, tokenMode bool) string {
	anyRun, anyOne := ".*", "."
	if tokenMode {
		anyRun, anyOne = tokenClass+"*", tokenClass
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == '\\' && i+size < len(p):
			next, nsize := utf8.DecodeRuneInString(p[i+size:])
			b.WriteString(regexp.QuoteMeta(string(next)))
			i += size + nsize
			continue
		case r == '*':
			b.WriteString(anyRun)
		case r == '?':
			b.WriteString(anyOne)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
		i += size
	}
	return b.String()
}

// wildcardLiteral returns the text of a wildcard pattern that has no
// wildcard, unescaped, and whether it has none.
func wildcardLiteral(p string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteByte(p[i])
			}
		case '*', '?':
			return "", false
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String(), true
}

// luceneRegexError explains why a Lucene regular expression has no RE2 form.
type luceneRegexError struct{ msg string }

func (e *luceneRegexError) Error() string { return e.msg }

// luceneRegex converts a Lucene regular expression (as Elasticsearch's
// regexp query and query_string /…/ read it, with all optional operators on)
// into RE2. Both dialects share . * + { } | ( ) [ ] and escapes, with these
// differences, which the conversion handles:
//   - `"…"` is a literal string, `@` any string and `#` the empty language;
//   - ^ and $ are ordinary characters;
//   - \d, \s and \w are the ASCII classes [0-9], [ \t\n\r] and
//     [a-zA-Z0-9_], and \D, \S, \W their complements;
//   - a `?` after a repeat makes the repeat optional instead of lazy, so
//     `a+?` is `a*` and `a??` is `a?`;
//   - a `?` right after `(`, and a `|` with nothing before it, are literal.
//
// The complement `~`, the intersection `&`, numeric intervals `<n-m>` and an
// optional `{n,m}` repeat have no RE2 form and are reported.
func luceneRegex(src string) (string, error) {
	var b strings.Builder
	prev := byte(0) // the last token written: '(', '|', 'q' for a repeat, 'a' for an atom
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch r {
		case '\\':
			if i+size >= len(src) {
				return "", &luceneRegexError{"the regular expression ends with a lone backslash"}
			}
			next, nsize := utf8.DecodeRuneInString(src[i+size:])
			if class, ok := luceneEscapeClass(next); ok {
				b.WriteString(class)
			} else {
				b.WriteString(regexp.QuoteMeta(string(next)))
			}
			i += size + nsize
			prev = 'a'
			continue
		case '"':
			end := strings.IndexByte(src[i+1:], '"')
			if end < 0 {
				return "", &luceneRegexError{"the regular expression has an unterminated quoted string"}
			}
			b.WriteString("(?:" + regexp.QuoteMeta(src[i+1:i+1+end]) + ")")
			i += end + 2
			prev = 'a'
			continue
		case '[':
			end, class, err := luceneClass(src, i)
			if err != nil {
				return "", err
			}
			b.WriteString(class)
			i = end
			prev = 'a'
			continue
		case '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return "", &luceneRegexError{"the regular expression has an unterminated {n,m} repeat"}
			}
			b.WriteString(src[i : i+end+1])
			i += end + 1
			if i < len(src) && src[i] == '?' {
				return "", &luceneRegexError{"an optional {n,m} repeat has no RE2 equivalent"}
			}
			prev = 'q'
			continue
		case '?':
			switch prev {
			case '(', '|', 0:
				b.WriteString(`\?`)
				prev = 'a'
			case 'q':
				// An optional repeat: a+? and a*? match what a* does, and
				// a?? what a? does.
				out := b.String()
				if strings.HasSuffix(out, "+") {
					b.Reset()
					b.WriteString(out[:len(out)-1] + "*")
				}
			default:
				b.WriteByte('?')
				prev = 'q'
			}
		case '|':
			if prev == '(' || prev == '|' || prev == 0 {
				b.WriteString(`\|`)
				prev = 'a'
			} else {
				b.WriteByte('|')
				prev = '|'
			}
		case '(':
			b.WriteByte('(')
			prev = '('
		case ')':
			b.WriteByte(')')
			prev = 'a'
		case '*', '+':
			b.WriteRune(r)
			prev = 'q'
		case '@':
			b.WriteString("(?:.*)")
			prev = 'a'
		case '#':
			b.WriteString(`[^\x00-\x{10FFFF}]`)
			prev = 'a'
		case '~':
			return "", &luceneRegexError{"the complement operator ~ has no RE2 equivalent"}
		case '&':
			return "", &luceneRegexError{"the intersection operator & has no RE2 equivalent"}
		case '<':
			return "", &luceneRegexError{"numeric intervals <n-m> are not translated"}
		case '.':
			b.WriteByte('.')
			prev = 'a'
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
			prev = 'a'
		}
		i += size
	}
	re := b.String()
	if _, err := regexp.Compile(re); err != nil {
		return "", &luceneRegexError{"the regular expression is not valid: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
	}
	return re, nil
}

// luceneEscapeClass returns the RE2 form of Lucene's \d, \s, \w and their
// complements.
func luceneEscapeClass(c rune) (string, bool) {
	switch c {
	case 'd':
		return `[0-9]`, true
	case 'D':
		return `[^0-9]`, true
	case 's':
		return `[ \t\n\r]`, true
	case 'S':
		return `[^ \t\n\r]`, true
	case 'w':
		return `[a-zA-Z0-9_]`, true
	case 'W':
		return `[^a-zA-Z0-9_]`, true
	}
	return "", false
}

// luceneClass copies a character class starting at src[start] == '['.
func luceneClass(src string, start int) (int, string, error) {
	var b strings.Builder
	b.WriteByte('[')
	i := start + 1
	if i < len(src) && src[i] == '^' {
		b.WriteByte('^')
		i++
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ']' && i > start+1:
			b.WriteByte(']')
			return i + 1, b.String(), nil
		case c == '\\' && i+1 < len(src):
			r, size := utf8.DecodeRuneInString(src[i+1:])
			switch r {
			case 'd':
				b.WriteString(`0-9`)
			case 's':
				b.WriteString(` \t\n\r`)
			case 'w':
				b.WriteString(`a-zA-Z0-9_`)
			case 'D', 'S', 'W':
				return 0, "", &luceneRegexError{`a negated class \` + string(r) + ` inside [...] is not translated`}
			default:
				b.WriteString(`\x{` + strconv.FormatInt(int64(r), 16) + `}`)
			}
			i += 1 + size
			continue
		case c == '[' || c == ']':
			b.WriteString(`\` + string(c))
		default:
			b.WriteByte(c)
		}
		i++
	}
	return 0, "", &luceneRegexError{"the regular expression has an unterminated character class"}
}
