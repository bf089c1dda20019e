package traceql

import (
	"strings"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// spanKinds are the span.kind tag values that the OpenTelemetry Jaeger
// translator turns into a span kind. Other values stay attributes.
var spanKinds = map[string]string{
	"client": "client", "server": "server", "producer": "producer",
	"consumer": "consumer", "internal": "internal",
}

// luceneMeta are the characters that make a tag value a non-literal Lucene
// regular expression.
const luceneMeta = `.?+*|{}[]()"\#@&<>~`

// tags returns one condition per distinct key, in the order the keys first
// appear, with the key's last value, as Jaeger merges tags into a map.
func (r *renderer) tags(tags []Tag) []string {
	var conds []string
	for _, t := range r.lastValues(tags) {
		if c, ok := r.tag(t); ok {
			conds = append(conds, c)
		}
	}
	if r.attrTags > 0 {
		r.scopeNotes()
	}
	return conds
}

func (r *renderer) lastValues(tags []Tag) []Tag {
	index := map[string]int{}
	var out []Tag
	for _, t := range tags {
		i, seen := index[t.Key]
		if !seen {
			index[t.Key] = len(out)
			out = append(out, t)
			continue
		}
		if out[i].Value != t.Value {
			r.add(fidelity.Exact, "duplicate_tag",
				"the tag %s is given more than once; Jaeger uses its last value, %q, and so does this query",
				t.Key, t.Value)
		}
		out[i].Value = t.Value
	}
	return out
}

// fieldTags are the tags that the OpenTelemetry Jaeger translator may turn
// into a span field; the field and the attribute are both searched.
var fieldTags = map[string]struct{ field, note string }{
	"otel.status_description": {
		"statusMessage",
		"otel.status_description becomes the span's status message when the Jaeger translator sets a status, " +
			"and stays an attribute otherwise; both are searched",
	},
	"otel.scope.name": {
		"instrumentation:name",
		"otel.scope.name becomes the instrumentation scope name, instrumentation:name; " +
			"the attribute is searched too",
	},
	"otel.scope.version": {
		"instrumentation:version",
		"otel.scope.version becomes the instrumentation scope version, instrumentation:version, " +
			"when the span also has otel.scope.name; the attribute is searched too",
	},
	"event": {
		"event:name",
		"a log field named event becomes the name of the span event, so event:name is searched as well",
	},
}

// tag writes one tag condition. Tags that the OpenTelemetry Jaeger
// translator turns into span fields become those fields.
func (r *renderer) tag(t Tag) (string, bool) {
	if r.opts.KeepVariables && hasVariable(t.Key) {
		r.variableKey(t)
		return "", false
	}
	if f, ok := fieldTags[t.Key]; ok {
		return r.withField(t, f.field, f.note)
	}
	switch t.Key {
	case "hostname":
		return r.hostnameTag(t)
	case "w3c.tracestate":
		r.add(fidelity.Approximate, "tracestate_tag",
			"the Jaeger translator moves the w3c.tracestate tag into the span's trace state, which TraceQL cannot "+
				"search; the condition was left out, which widens the search")
		return "", false
	}
	if r.opts.KeepVariables && hasVariable(t.Value) {
		r.add(fidelity.Approximate, "variable_value",
			"the value of the tag %s is the template variable %s, so it is compared as a string only: "+
				"attributes of number or boolean type, and the span fields that tags such as error and span.kind "+
				"become, are not matched", t.Key, t.Value)
		return r.attrCondition(t, nil)
	}
	switch t.Key {
	case "error":
		if t.Value == "true" || t.Value == "false" {
			return r.errorTag(t)
		}
	case "span.kind":
		if kind, ok := spanKinds[t.Value]; ok {
			r.add(fidelity.Exact, "translated_tag",
				"span.kind=%s becomes kind = %s: the Jaeger translator turns the tag into the span kind", t.Value, kind)
			return "kind = " + kind, true
		}
	case "otel.status_code":
		return r.statusCodeTag(t)
	}
	return r.attrCondition(t, nil)
}

// variableKey reports a tag whose key contains a template variable. Grafana
// replaces variables in the tags text before it reads the tags, so the
// variable may expand to several keys, or to whole key=value pairs when it
// is written alone. TraceQL cannot take either from one placeholder.
func (r *renderer) variableKey(t Tag) {
	// NOTE: ParseTags reads a key written alone as key=true, so an explicit
	// $k=true is taken for whole tags as well.
	if t.Value == "true" && wholeVariablePattern.MatchString(t.Key) {
		r.add(fidelity.Unsupported, "variable_tags",
			"the tags text contains the template variable %s as a tag of its own, which Grafana replaces with "+
				"any number of key=value pairs; TraceQL cannot take several conditions from one variable, "+
				"so the search cannot be translated", t.Key)
		return
	}
	r.add(fidelity.Approximate, "variable_key",
		"the key of the tag %s=%s contains the template variable %s, which may expand to several keys, "+
			"while TraceQL cannot take an attribute name from a variable; the condition was left out, "+
			"which widens the search", t.Key, t.Value, variablePattern.FindString(t.Key))
}

// statusCodeTag writes otel.status_code=OK and =ERROR as the span status.
func (r *renderer) statusCodeTag(t Tag) (string, bool) {
	if t.Value != "OK" && t.Value != "ERROR" {
		return r.attrCondition(t, nil)
	}
	status := strings.ToLower(t.Value)
	r.add(fidelity.Approximate, "status_code_tag",
		"otel.status_code=%s becomes status = %s: the Jaeger translator turns the tag into the span status, "+
			"except on spans whose error tag was true, whose status is error", t.Value, status)
	return "status = " + status, true
}

// errorTag writes error=true and error=false.
func (r *renderer) errorTag(t Tag) (string, bool) {
	if t.Value == "false" {
		r.add(fidelity.Approximate, "error_false",
			"error=false becomes status != error, which matches every span without an error status; "+
				"Jaeger's storage backends read error=false differently: Elasticsearch, Cassandra and Badger "+
				"match only spans tagged error=false, and the memory store of Jaeger 1.75 only spans with status OK")
		return "status != error", true
	}
	if !r.opts.ErrorAttribute {
		// Jaeger compares tag values as text, so its search matches an
		// error tag sent as the string "true" as well as the boolean.
		r.add(fidelity.Approximate, "error_string",
			"error=true becomes status = error: the OpenTelemetry Jaeger translator turns a boolean error tag "+
				"into the span status, but an error tag sent as the string \"true\", which Jaeger's search also "+
				"matches, stays an attribute and is missed; search error attributes too (--error-attribute) "+
				"when clients send it as a string")
		return "status = error", true
	}
	r.add(fidelity.Approximate, "error_attribute",
		"error=true also matches spans that keep an error attribute (string tags that the Jaeger translator "+
			"leaves alone, or spans sent over OTLP with one), even when their status says otherwise")
	return r.attrCondition(t, []string{"status = error"})
}

// withField compares a tag both with the span field it may have become and
// with the attribute it may have stayed.
func (r *renderer) withField(t Tag, field, note string) (string, bool) {
	lit, ok := quoteString(t.Value)
	if !ok {
		return r.attrCondition(t, nil) // reports the value
	}
	r.add(fidelity.Exact, "translated_tag", "%s", note)
	return r.attrCondition(t, []string{field + " = " + lit})
}

// hostnameTag covers the Jaeger translator renaming a hostname process tag
// to the resource attribute host.name.
func (r *renderer) hostnameTag(t Tag) (string, bool) {
	alts, ok := r.attrAlternatives(t)
	if !ok {
		return "", false
	}
	lit, _ := quoteString(t.Value) // attrAlternatives checked it
	r.add(fidelity.Approximate, "hostname_tag",
		"the Jaeger translator renames a hostname process tag to host.name, so resource.host.name is searched "+
			"as well; it also matches resources whose host.name was set directly")
	return joinOr(append(alts, "resource.host.name = "+lit)), true
}

// attrCondition compares the tag's key with its value, after the given
// alternatives.
func (r *renderer) attrCondition(t Tag, before []string) (string, bool) {
	alts, ok := r.attrAlternatives(t)
	if !ok {
		return "", false
	}
	return joinOr(append(before, alts...)), true
}

// attrAlternatives compares the tag's key with its value in each chosen
// scope, as typed literals and as a string.
func (r *renderer) attrAlternatives(t Tag) ([]string, bool) {
	r.noteDollar("tag "+t.Key, t.Key+"="+t.Value)
	lits := r.literals(t)
	if lits == nil {
		return nil, false
	}
	var alts []string
	for _, scope := range r.scopes() {
		ref, ok := attribute(scope, t.Key)
		if !ok {
			r.add(fidelity.Approximate, "unrepresentable_value",
				"the tag key %q cannot be written in TraceQL (%s); the condition was left out, which widens the search",
				t.Key, unwritableWhy(t.Key))
			return nil, false
		}
		for _, lit := range lits {
			alts = append(alts, ref+" = "+lit)
		}
	}
	r.attrTags++
	r.noteRegex(t)
	return alts, true
}

// literals returns the typed literals and the string literal for a value,
// or nil when the value cannot be written.
func (r *renderer) literals(t Tag) []string {
	str, ok := quoteString(t.Value)
	if !ok {
		r.add(fidelity.Approximate, "unrepresentable_value",
			"the value %q of the tag %s cannot be written as a TraceQL string (%s); the condition was left out, "+
				"which widens the search", t.Value, t.Key, unwritableWhy(t.Value))
		return nil
	}
	var lits []string
	if !(r.opts.KeepVariables && hasVariable(t.Value)) {
		lits = typedLiterals(t.Value)
	}
	if len(lits) > 0 {
		r.add(fidelity.Exact, "typed_value",
			"Jaeger compares tag values as text, so %s=%s is compared both as the %s %s and as a string",
			t.Key, t.Value, literalKind(lits[0]), lits[0])
	}
	return append(lits, str)
}

func literalKind(lit string) string {
	switch {
	case lit == "true" || lit == "false":
		return "boolean"
	case strings.Contains(lit, "."):
		return "float"
	}
	return "integer"
}

// scopes returns the attribute scopes that tags are compared in.
func (r *renderer) scopes() []string {
	var scopes []string
	switch r.opts.Scope {
	case ScopeSpan:
		scopes = []string{"span"}
	case ScopeResource:
		scopes = []string{"resource"}
	default:
		scopes = []string{""}
	}
	if r.opts.Events {
		scopes = append(scopes, "event")
	}
	return scopes
}

// scopeNotes adds the reasons about where tags are compared, once per search.
func (r *renderer) scopeNotes() {
	switch r.opts.Scope {
	case ScopeSpan:
		r.add(fidelity.Approximate, "tag_scope",
			"tags are compared with span attributes only (span.key); Jaeger also matches process tags, "+
				"which are resource attributes in Tempo")
	case ScopeResource:
		r.add(fidelity.Approximate, "tag_scope",
			"tags are compared with resource attributes only (resource.key); Jaeger also matches span tags, "+
				"which are span attributes in Tempo")
	default:
		r.add(fidelity.Exact, "tag_scope",
			"tags are compared with unscoped attributes (.key), which TraceQL looks up in span and resource "+
				"attributes, as Jaeger matches span and process tags")
	}
	if !r.opts.Events {
		r.add(fidelity.Approximate, "log_fields",
			"Jaeger also matches tags in span log fields, which became span events; event attributes "+
				"(event.key) are not searched")
	}
}

// noteRegex grades a value that Elasticsearch would read as a regex.
func (r *renderer) noteRegex(t Tag) {
	if !r.opts.RegexTagValues || !strings.ContainsAny(t.Value, luceneMeta) {
		return
	}
	// TODO: convert such values to an anchored RE2 pattern and compare
	// with =~ instead of approximating with equality.
	r.add(fidelity.Approximate, "regex_tag_value",
		"Jaeger's Elasticsearch and OpenSearch backends match tag values as anchored regular expressions, "+
			"and the value %q of %s has regex metacharacters; it is compared literally here, "+
			"which can match fewer spans", t.Value, t.Key)
}

// noteDollar adds a reason that a $ is literal when variables are not kept.
func (r *renderer) noteDollar(what, text string) {
	if r.opts.KeepVariables || !hasVariable(text) {
		return
	}
	r.add(fidelity.Exact, "literal_dollar",
		"the text %q of the %s is taken literally; in a Grafana dashboard, $name would be replaced by "+
			"the variable of that name", variablePattern.FindString(text), what)
}

func joinOr(alts []string) string {
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " || ") + ")"
}
