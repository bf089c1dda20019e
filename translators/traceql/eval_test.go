package traceql_test

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds a small evaluator of the TraceQL that Render writes, over
// OTLP-shaped traces, so tests can check what a query selects. It follows
// Tempo's documented semantics for this subset:
//
//   - a spanset filter { … } selects a trace when one span satisfies the
//     whole expression; { a } && { b } selects it when some span satisfies
//     a and some (maybe other) span satisfies b;
//   - an unscoped attribute .k is the span attribute k, or the resource
//     attribute k when the span has none;
//   - a comparison with a missing attribute, or with a value of another
//     type, is false, whatever the operator;
//   - event.k and event:name hold when some event of the span matches.
//
// The parser accepts only that subset and fails on anything else, including
// escapes other than \" and \\ in double-quoted strings.

// attrs maps attribute names to string, int64, float64 or bool values.
type attrs map[string]any

type event struct {
	name  string
	attrs attrs
}

type span struct {
	name          string
	kind          string // client, server, …, or "" for unspecified
	status        string // unset, ok or error; "" means unset
	statusMessage string
	scopeName     string
	scopeVersion  string
	start, end    time.Duration // offsets from the trace's epoch
	attrs         attrs
	events        []event
}

type resource struct {
	attrs attrs
	spans []span
}

type trace struct {
	id        string // 32 lowercase hex digits
	resources []resource
}

// duration returns the time from the first span start to the last span end.
func (t trace) duration() time.Duration {
	first, last := time.Duration(1<<62), time.Duration(0)
	for _, r := range t.resources {
		for _, s := range r.spans {
			first, last = min(first, s.start), max(last, s.end)
		}
	}
	return last - first
}

// expr is a parsed condition, evaluated on one span of a trace.
type expr interface {
	eval(t trace, r resource, s span) bool
}

type (
	andExpr struct{ left, right expr }
	orExpr  struct{ left, right expr }
)

func (e andExpr) eval(t trace, r resource, s span) bool {
	return e.left.eval(t, r, s) && e.right.eval(t, r, s)
}

func (e orExpr) eval(t trace, r resource, s span) bool {
	return e.left.eval(t, r, s) || e.right.eval(t, r, s)
}

// field names what a comparison reads: an intrinsic such as duration, or an
// attribute in a scope ("" for unscoped, span, resource or event).
type field struct {
	intrinsic string
	scope     string
	name      string
}

// static is a literal: string, int64, float64, bool, time.Duration, or an
// enum (status or kind value) held as enumValue.
type enumValue string

type comparison struct {
	field field
	op    string
	value any
}

func (c comparison) eval(t trace, r resource, s span) bool {
	if c.field.intrinsic == "" {
		return c.evalAttribute(r, s)
	}
	var got any
	switch c.field.intrinsic {
	case "name":
		got = s.name
	case "duration":
		got = s.end - s.start
	case "trace:duration":
		got = t.duration()
	case "status":
		got = enumValue(cmpOr(s.status, "unset"))
	case "kind":
		got = enumValue(cmpOr(s.kind, "unspecified"))
	case "statusMessage":
		got = s.statusMessage
	case "trace:id":
		got = t.id
	case "instrumentation:name":
		got = s.scopeName
	case "instrumentation:version":
		got = s.scopeVersion
	case "event:name":
		for _, e := range s.events {
			if compare(e.name, c.op, c.value) {
				return true
			}
		}
		return false
	}
	return compare(got, c.op, c.value)
}

func (c comparison) evalAttribute(r resource, s span) bool {
	switch c.field.scope {
	case "span":
		return compareAttr(s.attrs, c.field.name, c.op, c.value)
	case "resource":
		return compareAttr(r.attrs, c.field.name, c.op, c.value)
	case "event":
		for _, e := range s.events {
			if compareAttr(e.attrs, c.field.name, c.op, c.value) {
				return true
			}
		}
		return false
	}
	if _, ok := s.attrs[c.field.name]; ok {
		return compareAttr(s.attrs, c.field.name, c.op, c.value)
	}
	return compareAttr(r.attrs, c.field.name, c.op, c.value)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func compareAttr(a attrs, name, op string, want any) bool {
	got, ok := a[name]
	if !ok {
		return false
	}
	return compare(got, op, want)
}

// compare applies op when got and want have the same type, and is false
// otherwise.
func compare(got any, op string, want any) bool {
	switch g := got.(type) {
	case string:
		w, ok := want.(string)
		return ok && ordered(strings.Compare(g, w), op)
	case int64:
		w, ok := want.(int64)
		return ok && ordered(cmpInt(g, w), op)
	case float64:
		w, ok := want.(float64)
		return ok && ordered(cmpFloat(g, w), op)
	case time.Duration:
		w, ok := want.(time.Duration)
		return ok && ordered(cmpInt(int64(g), int64(w)), op)
	case bool:
		w, ok := want.(bool)
		return ok && (op == "=" && g == w || op == "!=" && g != w)
	case enumValue:
		w, ok := want.(enumValue)
		return ok && (op == "=" && g == w || op == "!=" && g != w)
	}
	panic(fmt.Sprintf("attribute value of unexpected type %T", got))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ordered(c int, op string) bool {
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	panic("unknown operator " + op)
}

// query is a parsed query: spanset filters joined by && at the top level.
type query struct {
	spansets   []expr // nil entries are empty filters {}
	mostRecent bool
}

// matches reports whether the query selects the trace.
func (q query) matches(t trace) bool {
	for _, e := range q.spansets {
		if !anySpan(t, e) {
			return false
		}
	}
	return true
}

func anySpan(t trace, e expr) bool {
	for _, r := range t.resources {
		for _, s := range r.spans {
			if e == nil || e.eval(t, r, s) {
				return true
			}
		}
	}
	return false
}

// evalParser parses the TraceQL subset.
type evalParser struct {
	src string
	pos int
}

// parseQuery parses text or returns an error naming the offset.
func parseQuery(text string) (q query, err error) {
	p := &evalParser{src: text}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parsing %q at offset %d: %v", text, p.pos, r)
		}
	}()
	for {
		q.spansets = append(q.spansets, p.spanset())
		if !p.accept("&&") {
			break
		}
	}
	if p.accept("with") {
		p.expect("(")
		p.expect("most_recent")
		p.expect("=")
		p.expect("true")
		p.expect(")")
		q.mostRecent = true
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		panic("unexpected text after the query")
	}
	return q, nil
}

func (p *evalParser) skipSpace() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *evalParser) accept(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *evalParser) expect(tok string) {
	if !p.accept(tok) {
		panic(fmt.Sprintf("expected %q", tok))
	}
}

func (p *evalParser) spanset() expr {
	p.expect("{")
	if p.accept("}") {
		return nil
	}
	e := p.or()
	p.expect("}")
	return e
}

func (p *evalParser) or() expr {
	e := p.and()
	for p.accept("||") {
		e = orExpr{e, p.and()}
	}
	return e
}

func (p *evalParser) and() expr {
	e := p.unary()
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "&&") {
			return e
		}
		p.pos += 2
		e = andExpr{e, p.unary()}
	}
}

func (p *evalParser) unary() expr {
	if p.accept("(") {
		e := p.or()
		p.expect(")")
		return e
	}
	f := p.field()
	op := p.operator()
	return comparison{field: f, op: op, value: p.value()}
}

var intrinsics = []string{
	"trace:duration", "trace:id", "statusMessage", "status", "kind", "name", "duration",
	"event:name", "instrumentation:name", "instrumentation:version",
}

func (p *evalParser) field() field {
	p.skipSpace()
	for _, scope := range []string{"resource.", "span.", "event.", "."} {
		if strings.HasPrefix(p.src[p.pos:], scope) {
			p.pos += len(scope)
			return field{scope: strings.TrimSuffix(scope, "."), name: p.attributeName()}
		}
	}
	for _, name := range intrinsics {
		if strings.HasPrefix(p.src[p.pos:], name) {
			p.pos += len(name)
			return field{intrinsic: name}
		}
	}
	panic("expected a field")
}

func (p *evalParser) attributeName() string {
	if p.pos < len(p.src) && p.src[p.pos] == '"' {
		return p.doubleQuoted(true)
	}
	start := p.pos
	for p.pos < len(p.src) && (isWordByte(p.src[p.pos]) || p.src[p.pos] == '.') {
		p.pos++
	}
	if start == p.pos {
		panic("expected an attribute name")
	}
	return p.src[start:p.pos]
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *evalParser) operator() string {
	for _, op := range []string{"!=", ">=", "<=", "=", ">", "<"} {
		if p.accept(op) {
			return op
		}
	}
	panic("expected a comparison operator")
}

// doubleQuoted reads a "…" literal with only \" and \\ escapes. A quoted
// attribute name may contain a line break, which Tempo reads as it is, and a
// string may not.
func (p *evalParser) doubleQuoted(name bool) string {
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String()
		case c == '\n' && !name:
			panic("line break inside a double-quoted string")
		case c == '\\':
			if p.pos+1 >= len(p.src) || (p.src[p.pos+1] != '"' && p.src[p.pos+1] != '\\') {
				panic("escape other than \\\" or \\\\")
			}
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	panic("unterminated string")
}

func (p *evalParser) value() any {
	p.skipSpace()
	rest := p.src[p.pos:]
	switch {
	case strings.HasPrefix(rest, `"`):
		return p.doubleQuoted(false)
	case strings.HasPrefix(rest, "`"):
		end := strings.IndexByte(rest[1:], '`')
		if end < 0 {
			panic("unterminated raw string")
		}
		p.pos += end + 2
		return rest[1 : end+1]
	}
	for _, word := range []string{"true", "false"} {
		if p.acceptWord(word) {
			return word == "true"
		}
	}
	for _, word := range []string{"error", "ok", "unset", "client", "server", "producer", "consumer", "internal", "unspecified"} {
		if p.acceptWord(word) {
			return enumValue(word)
		}
	}
	return p.number()
}

func (p *evalParser) acceptWord(word string) bool {
	rest := p.src[p.pos:]
	if !strings.HasPrefix(rest, word) || (len(rest) > len(word) && isWordByte(rest[len(word)])) {
		return false
	}
	p.pos += len(word)
	return true
}

// number reads an integer, a float or a duration, with an optional minus.
func (p *evalParser) number() any {
	start := p.pos
	if p.pos < len(p.src) && p.src[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
		p.pos++
	}
	text := p.src[start:p.pos]
	unitStart := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] >= 'a' && p.src[p.pos] <= 'z') {
		p.pos++
	}
	if unit := p.src[unitStart:p.pos]; unit != "" {
		d, err := time.ParseDuration(text + unit)
		if err != nil {
			panic(err)
		}
		return d
	}
	if strings.Contains(text, ".") {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			panic(err)
		}
		return f
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("expected a value: %v", err))
	}
	return n
}
