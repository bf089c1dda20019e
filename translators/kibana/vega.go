package kibana

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/hjson/hjson-go/v4"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Vega and Timelion panels have no Grafana equivalent: they become text
// panels that name the original and why. The queries inside them are still
// translated and reported, and the text panel shows each translation, so
// the person rebuilding the panel starts from LogQL.

// vegaPanel reports a Vega visualization and the Elasticsearch queries in
// its data sources.
func (p *panelCtx) vegaPanel(vis map[string]any) convertedPanel {
	parts, ip, err := p.visSource()
	if err != nil {
		return p.failed("vega", err)
	}
	spec := str(obj(vis, "params"), "spec")
	var doc map[string]any
	// Specs run to tens of kilobytes and HJSON is slow to parse, so only
	// specs that have a query key are parsed. The index, which types the
	// schema, is found without parsing.
	if index := keyValue(spec, "index"); index != "" && ip == nil {
		ip = p.c.store.indexPattern(index)
	}
	if hasKey(spec, "query") {
		if err := hjson.Unmarshal([]byte(spec), &doc); err != nil {
			p.reasons.Addf(fidelity.Unsupported, "vega_spec_unreadable", "the Vega spec is not valid HJSON, so its queries are not read: %v", err)
		}
	}
	urls := vegaURLs(doc)
	for i, u := range urls {
		if index := str(u, "index"); index != "" && ip == nil {
			ip = p.c.store.indexPattern(index)
		}
		body := obj(u, "body")
		q, ok := body["query"].(map[string]any)
		if !ok {
			continue
		}
		where := fmt.Sprintf("Vega data source %d", i+1)
		raw, err := json.Marshal(stripContextPlaceholders(q))
		if err != nil {
			continue
		}
		part, _ := parseText(ast.ESDSL, string(raw), where)
		parts = append(parts, ownedPart{owner: p.ref.obj, part: part})
	}
	return p.reportedText("vega", "vega", "Vega visualizations have no Grafana equivalent; rebuild the panel from the translated queries in its text", ip, parts)
}

// vegaURLs returns the Elasticsearch data URLs of a Vega spec.
func vegaURLs(doc map[string]any) []map[string]any {
	var out []map[string]any
	var data []any
	switch d := doc["data"].(type) {
	case []any:
		data = d
	case map[string]any:
		data = []any{d}
	}
	for _, d := range data {
		m, ok := d.(map[string]any)
		if !ok {
			continue
		}
		if u, ok := m["url"].(map[string]any); ok {
			out = append(out, u)
		}
	}
	return out
}

// stripContextPlaceholders replaces Kibana's %dashboard_context-…% strings,
// which stand for the dashboard's query and filters, with match_all: the
// dashboard parts are applied separately.
func stripContextPlaceholders(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = stripContextPlaceholders(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = stripContextPlaceholders(val)
		}
		return out
	case string:
		if strings.HasPrefix(t, "%dashboard_context") {
			return map[string]any{"match_all": map[string]any{}}
		}
	}
	return v
}

// timelionPanel reports a Timelion visualization and the queries of its
// .es() series.
func (p *panelCtx) timelionPanel(vis map[string]any) convertedPanel {
	parts, ip, err := p.visSource()
	if err != nil {
		return p.failed("timelion", err)
	}
	expr := str(obj(vis, "params"), "expression")
	for i, call := range timelionSeries(expr) {
		if ip == nil && call.index != "" {
			ip = p.c.store.indexPattern(call.index)
		}
		if strings.TrimSpace(call.query) == "" || call.query == "*" {
			continue
		}
		part, _ := parseText(ast.Lucene, call.query, fmt.Sprintf("Timelion series %d", i+1))
		parts = append(parts, ownedPart{owner: p.ref.obj, part: part})
	}
	return p.reportedText("timelion", "timelion", "Timelion expressions have no LogQL equivalent; rebuild the panel from the translated queries in its text", ip, parts)
}

// reportedText records the queries of an unconvertible panel and returns a
// text panel that shows them with their translations.
func (p *panelCtx) reportedText(kibanaType, code, why string, ip *indexPattern, parts []ownedPart) convertedPanel {
	schema := p.schemaFor(ip)
	var b strings.Builder
	for _, op := range parts {
		rec := record(op.part, schema)
		p.c.report.addQuery(op.owner, rec)
		p.c.report.addQueryError(op.owner, op.part)
		p.originals = append(p.originals, original{where: op.part.Where, text: op.part.Text})
		if rec.Query != nil {
			fence := codeFence(*rec.Query)
			fmt.Fprintf(&b, "\nLogQL for the %s (%s):\n\n%s\n%s\n%s\n", op.part.Where, rec.Fidelity, fence, *rec.Query, fence)
		}
	}
	return p.unsupportedWith(kibanaType, code, why, b.String())
}

// timelionCall is one .es() series of a Timelion expression.
type timelionCall struct {
	query string
	index string
}

// hasKey reports whether an HJSON or JSON text has key written as a key:
// quoted or bare, after a brace, comma or whitespace, followed by a colon.
// It scans with strings.Index, because a regular expression without a
// literal prefix is slow on specs of tens of kilobytes.
func hasKey(text, key string) bool {
	_, ok := keyAt(text, key)
	return ok
}

// keyValue returns the bare or quoted word after the first such key.
func keyValue(text, key string) string {
	i, ok := keyAt(text, key)
	if !ok {
		return ""
	}
	rest := strings.TrimLeft(text[i:], " \t")
	rest = strings.TrimPrefix(rest, `"`)
	end := strings.IndexAny(rest, "\" \t\r\n,{}")
	if end < 0 {
		end = len(rest)
	}
	return rest[:end]
}

// keyAt returns the offset just past the colon that follows key.
func keyAt(text, key string) (int, bool) {
	for from := 0; ; {
		i := strings.Index(text[from:], key)
		if i < 0 {
			return 0, false
		}
		start, end := from+i, from+i+len(key)
		from = end
		if start > 0 && text[start-1] == '"' {
			start--
			if end < len(text) && text[end] == '"' {
				end++
			}
		}
		if start > 0 && !strings.ContainsRune("{,\n\r\t ", rune(text[start-1])) {
			continue
		}
		j := end
		for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
			j++
		}
		if j < len(text) && text[j] == ':' {
			return j + 1, true
		}
	}
}

var (
	timelionVar = regexp.MustCompile(`\$(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,\s()]+)`)
	timelionES  = regexp.MustCompile(`\.(?:es|elasticsearch)\(`)
)

// timelionSeries finds the .es() calls of an expression and reads their q
// (or first positional) and index arguments, resolving $name variables.
func timelionSeries(expr string) []timelionCall {
	vars := make(map[string]string)
	for _, m := range timelionVar.FindAllStringSubmatch(expr, -1) {
		vars[m[1]] = unquoteTimelion(m[2])
	}
	var out []timelionCall
	for _, loc := range timelionES.FindAllStringIndex(expr, -1) {
		args := splitTimelionArgs(expr[loc[1]:])
		var call timelionCall
		for i, a := range args {
			key, val, named := cutNamed(a)
			val = unquoteTimelion(strings.TrimSpace(val))
			if strings.HasPrefix(val, "$") {
				val = vars[strings.TrimPrefix(val, "$")]
			}
			switch {
			case named && (key == "q" || key == "query"):
				call.query = val
			case named && key == "index":
				call.index = val
			case !named && i == 0:
				call.query = val
			}
		}
		out = append(out, call)
	}
	return out
}

// splitTimelionArgs splits the arguments of a call up to its closing
// parenthesis, respecting quotes and nesting.
func splitTimelionArgs(s string) []string {
	var (
		args  []string
		cur   strings.Builder
		depth int
		quote byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			cur.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
			cur.WriteByte(c)
		case c == '(':
			depth++
			cur.WriteByte(c)
		case c == ')' && depth == 0:
			return append(args, cur.String())
		case c == ')':
			depth--
			cur.WriteByte(c)
		case c == ',' && depth == 0:
			args = append(args, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(args, cur.String())
}

func cutNamed(arg string) (key, val string, named bool) {
	arg = strings.TrimSpace(arg)
	i := strings.IndexByte(arg, '=')
	if i <= 0 || strings.ContainsAny(arg[:i], `'" `) {
		return "", arg, false
	}
	return strings.TrimSpace(arg[:i]), arg[i+1:], true
}

func unquoteTimelion(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		inner := s[1 : len(s)-1]
		return strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\\`, `\`).Replace(inner)
	}
	return s
}
