package traceql

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseTags parses the tags of a search in either form Jaeger's clients use.
//
// A value that starts with "{" (or "[") is a JSON object of string values, as in
// Jaeger's API and UI URLs: {"error":"true","http.status_code":"500"}. Like
// Jaeger, it rejects values that are not strings.
//
// Anything else is logfmt, as typed into the Jaeger UI and Grafana's Jaeger
// query editor: pairs key=value separated by spaces. A value with spaces is
// quoted, http.url="/api/a b", and inside quotes a backslash makes the next
// character literal (\" and \\). A key alone, error, means error=true, as
// both UIs read it. k= is the empty value. Keys may be quoted too.
//
// Tags keep their order, and a repeated key is kept: Render uses its last
// value, as Jaeger does. Errors are *ParamError values for the tags
// parameter with the byte offset of the problem.
func ParseTags(text string) ([]Tag, error) {
	if len(text) > MaxInputBytes {
		return nil, &ParamError{
			Param: "tags", Offset: -1,
			Msg: fmt.Sprintf("the tags are %d bytes, more than the %d accepted", len(text), MaxInputBytes),
			Err: ErrInputTooLarge,
		}
	}
	var (
		tags []Tag
		err  error
	)
	if trimmed := strings.TrimLeft(text, " \t\r\n"); strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[") {
		tags, err = parseJSONTags(text)
	} else {
		tags, err = parseLogfmtTags(text)
	}
	if err != nil {
		return nil, err
	}
	if len(tags) > MaxTags {
		return nil, &ParamError{
			Param: "tags", Offset: -1,
			Msg: fmt.Sprintf("%d tags, more than the %d accepted", len(tags), MaxTags),
			Err: ErrTooManyTags,
		}
	}
	return tags, nil
}

// parseJSONTags decodes a JSON object of strings, keeping the order of its
// keys.
func parseJSONTags(text string) ([]Tag, error) {
	// Validate first, for the decoder's usual messages and offsets.
	var whole any
	if err := json.Unmarshal([]byte(text), &whole); err != nil {
		var syntax *json.SyntaxError
		at := len(text)
		if errors.As(err, &syntax) {
			at = min(max(int(syntax.Offset)-1, 0), len(text))
		}
		return nil, paramErrorf("tags", text, at, "bad JSON: %v", err)
	}
	if _, ok := whole.(map[string]any); !ok {
		return nil, paramErrorf("tags", text, -1, "expected a JSON object of strings, as in {\"error\":\"true\"}")
	}

	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	_, _ = dec.Token() // the opening brace; the text is a valid object
	var tags []Tag
	for dec.More() {
		tok, _ := dec.Token()
		key, _ := tok.(string) // object keys are strings
		valueAt := valueOffset(text, int(dec.InputOffset()))
		tok, _ = dec.Token()
		value, ok := tok.(string)
		if !ok {
			return nil, paramErrorf("tags", text, valueAt,
				"the value of %q is %s; Jaeger accepts only string values, as in {\"error\":\"true\"}",
				key, jsonKind(tok))
		}
		if key == "" {
			return nil, paramErrorf("tags", text, valueAt, "a tag has an empty key")
		}
		if len(tags) == MaxTags {
			return nil, &ParamError{
				Param: "tags", Offset: -1,
				Msg: fmt.Sprintf("more than the %d tags accepted", MaxTags), Err: ErrTooManyTags,
			}
		}
		tags = append(tags, Tag{Key: key, Value: value})
	}
	return tags, nil
}

// valueOffset skips spaces and one colon from at, to where a JSON value
// starts.
func valueOffset(text string, at int) int {
	for at < len(text) && strings.IndexByte(" \t\r\n:", text[at]) >= 0 {
		at++
	}
	return at
}

func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("the boolean %t", v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// logfmtParser reads logfmt tags, keeping offsets for errors.
type logfmtParser struct {
	text string
	pos  int
}

func isLogfmtSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func parseLogfmtTags(text string) ([]Tag, error) {
	p := &logfmtParser{text: text}
	var tags []Tag
	for {
		for p.pos < len(text) && isLogfmtSpace(text[p.pos]) {
			p.pos++
		}
		if p.pos == len(text) {
			return tags, nil
		}
		if len(tags) == MaxTags {
			return nil, &ParamError{
				Param: "tags", Offset: -1,
				Msg: fmt.Sprintf("more than the %d tags accepted", MaxTags), Err: ErrTooManyTags,
			}
		}
		tag, err := p.pair()
		if err != nil {
			return nil, err
		}
		tags = append(tags, tag)
	}
}

// pair reads key=value, key="value" or a key alone.
func (p *logfmtParser) pair() (Tag, error) {
	start := p.pos
	key, err := p.word("key")
	if err != nil {
		return Tag{}, err
	}
	if key == "" {
		return Tag{}, p.errorf(start, "missing key before \"=\"")
	}
	if p.pos == len(p.text) || isLogfmtSpace(p.text[p.pos]) {
		return Tag{Key: key, Value: "true"}, nil
	}
	p.pos++ // the "=" that ended the key
	value, err := p.word("value")
	if err != nil {
		return Tag{}, err
	}
	return Tag{Key: key, Value: value}, nil
}

// word reads a key (up to "=" or a space) or a value (up to a space), quoted
// or not. what is "key" or "value", for errors.
func (p *logfmtParser) word(what string) (string, error) {
	if p.pos < len(p.text) && p.text[p.pos] == '"' {
		return p.quoted(what)
	}
	start := p.pos
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		if isLogfmtSpace(c) || (what == "key" && c == '=') {
			break
		}
		if c == '"' {
			return "", p.errorf(p.pos,
				"a double quote inside an unquoted %s: quote the whole %s, as in k=\"a \\\"b\\\"\"", what, what)
		}
		p.pos++
	}
	return p.text[start:p.pos], nil
}

// quoted reads a double-quoted key or value; a backslash makes the next
// character literal.
func (p *logfmtParser) quoted(what string) (string, error) {
	open := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.text):
			b.WriteByte(p.text[p.pos+1])
			p.pos += 2
		case c == '\\':
			p.pos++
		case c == '"':
			p.pos++
			return b.String(), p.afterQuote(what)
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errorf(open, "unterminated quoted %s: end it with a double quote", what)
}

// afterQuote checks what follows a closing quote: "=" after a key, a space
// or the end after a value.
func (p *logfmtParser) afterQuote(what string) error {
	if p.pos == len(p.text) || isLogfmtSpace(p.text[p.pos]) {
		return nil
	}
	if what == "key" && p.text[p.pos] == '=' {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(p.text[p.pos:])
	return p.errorf(p.pos, "unexpected %q after the quoted %s: separate tags with spaces", r, what)
}

func (p *logfmtParser) errorf(offset int, format string, args ...any) error {
	return paramErrorf("tags", p.text, offset, format, args...)
}
