package traceql

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// bareKey matches the attribute names written without quotes: dotted words
// of ASCII letters, digits and underscores. Every other name is quoted,
// which Tempo and Grafana's grammar both read.
var bareKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

// reservedFirstWords are words that Grafana's grammar reads as a scope or a
// keyword when they start an attribute name (.span.x, .with), so such names
// are quoted.
var reservedFirstWords = map[string]bool{
	"event": true, "instrumentation": true, "link": true, "parent": true,
	"resource": true, "span": true, "with": true, "trace": true,
}

// variablePattern matches Grafana's template variable syntaxes: $name,
// ${name} with an optional format, and [[name]].
var variablePattern = regexp.MustCompile(`\$\{[A-Za-z_]\w*[^}]*\}|\[\[[A-Za-z_]\w*[^\]]*\]\]|\$[A-Za-z_]\w*`)

// wholeVariablePattern matches text that is one template variable and
// nothing else.
var wholeVariablePattern = regexp.MustCompile(`^(?:` + variablePattern.String() + `)$`)

// hasVariable reports whether s refers to a Grafana template variable.
func hasVariable(s string) bool { return variablePattern.MatchString(s) }

// writable reports whether TraceQL text can hold s at all: Tempo's lexer
// rejects invalid UTF-8, NUL and a byte order mark anywhere in a query.
func writable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsAny(s, "\x00\uFEFF")
}

// quoteString writes s as a TraceQL string literal. Grafana's grammar
// accepts only \" and \\ escapes in double-quoted strings, so every other
// character is written as it is. A line break cannot appear in a
// double-quoted string, so such a value goes in backticks, which Tempo reads
// as a raw string. That fails when the value also contains a backtick, or a
// carriage return, which Go's raw strings drop. ok is false when s cannot be
// written.
func quoteString(s string) (lit string, ok bool) {
	if !writable(s) {
		return "", false
	}
	if strings.Contains(s, "\n") {
		if strings.ContainsAny(s, "`\r") {
			return "", false
		}
		return "`" + s + "`", true
	}
	return `"` + escapeQuoted(s) + `"`, true
}

func escapeQuoted(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// attribute writes an attribute reference: scope is "" (unscoped), "span",
// "resource" or "event". ok is false when key cannot be written.
func attribute(scope, key string) (ref string, ok bool) {
	if !writable(key) {
		return "", false
	}
	name := key
	first, _, _ := strings.Cut(key, ".")
	if !bareKey.MatchString(key) || reservedFirstWords[first] {
		name = `"` + escapeQuoted(key) + `"`
	}
	return scope + "." + name, true
}

// typedLiterals returns the typed TraceQL literals whose text form, as
// Jaeger renders typed tag values, is exactly value: an integer, a float or
// a boolean. Jaeger compares tag values as text, so the search error=true
// matches a boolean tag, and "0503" matches no integer.
func typedLiterals(value string) []string {
	if n, err := strconv.ParseInt(value, 10, 64); err == nil && strconv.FormatInt(n, 10) == value {
		return []string{value}
	}
	if value == "true" || value == "false" {
		return []string{value}
	}
	if !strings.Contains(value, ".") {
		return nil
	}
	f, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return nil
	}
	// Jaeger's storage writes floats with %g and ten digits, OpenTelemetry
	// with the shortest decimal form; take the value only when both agree.
	if strconv.FormatFloat(f, 'f', -1, 64) == value && strconv.FormatFloat(f, 'g', 10, 64) == value {
		return []string{value}
	}
	return nil
}
