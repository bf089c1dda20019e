package alerts

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// templateEscaper keeps text from being read as Go template actions. Loki's
// ruler parses every label and annotation value of a rule with Prometheus'
// template engine when it loads the rule file. A literal "{{" from a rule
// id, a field name, a Kibana message or a Watcher mustache template would
// fail the whole file or expand to something else.
var templateEscaper = strings.NewReplacer("{{", `{{ "{{" }}`)

// escapeTemplate returns a template that expands back to s. It is the one
// escaping function for label and annotation values built from source
// text. A final "{" is escaped too, so that an action written after the
// text cannot start one brace early.
func escapeTemplate(s string) string {
	s = templateEscaper.Replace(s)
	if strings.HasSuffix(s, "{") {
		s = s[:len(s)-1] + `{{ "{" }}`
	}
	return s
}

// escapeValues escapes every value of a label or annotation map in place.
func escapeValues(m map[string]string) map[string]string {
	for k, v := range m {
		m[k] = escapeTemplate(v)
	}
	return m
}

// templateText builds a value that mixes source text, escaped, with template
// actions of the converter's own, such as {{ $value }}. Text written between
// two actions is escaped as one piece, so a "{" at the end of one piece and
// another at the start of the next cannot form an action.
type templateText struct {
	out     strings.Builder
	pending strings.Builder
}

func (t *templateText) text(s string) { t.pending.WriteString(s) }

func (t *templateText) textf(format string, args ...any) {
	fmt.Fprintf(&t.pending, format, args...)
}

// action writes {{ a }}; a must be a valid template pipeline.
func (t *templateText) action(a string) {
	t.flush()
	t.out.WriteString("{{ " + a + " }}")
}

func (t *templateText) String() string {
	t.flush()
	return t.out.String()
}

func (t *templateText) flush() {
	t.out.WriteString(escapeTemplate(t.pending.String()))
	t.pending.Reset()
}

var templateIdentifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// labelRef is the pipeline that reads a label of the alert: $labels.name,
// or index $labels "name" when the name is not a template identifier.
func labelRef(name string) string {
	if templateIdentifier.MatchString(name) {
		return "$labels." + name
	}
	return "index $labels " + strconv.Quote(name)
}
