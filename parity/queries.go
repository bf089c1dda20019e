package parity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
)

const (
	// maxQueryComparisons bounds the translated queries run on both
	// stacks in one check, so that a batch of thousands of dashboards
	// keeps a parity run short. The rest are listed as not run.
	maxQueryComparisons = 100
	// maxListedQueries bounds the queries named in a group's notes.
	maxListedQueries = 20
)

// Fidelity levels as the translate reports write them.
const (
	fidelityExact       = "exact"
	fidelityApproximate = "approximate"
	fidelityUnsupported = "unsupported"
)

// translatedQuery is one query of a translate report: where it came from,
// the source text and the LogQL it became.
type translatedQuery struct {
	name     string
	language string
	original string
	logql    string
	fidelity string
	// index is the index pattern of the source's data source, when the
	// plan names one (sources.grafana.index).
	index string
}

// kibanaReport is the part of translate/kibana/report.json this check
// reads (translators/kibana.Report).
type kibanaReport struct {
	Items []struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Queries []struct {
			Where          string  `json:"where"`
			SourceLanguage string  `json:"source_language"`
			Original       string  `json:"original"`
			Query          *string `json:"query"`
			Fidelity       string  `json:"fidelity"`
		} `json:"queries"`
	} `json:"items"`
}

// grafanaReport is the part of translate/grafana/report.json this check
// reads (translators/grafana.Report).
type grafanaReport struct {
	Items []struct {
		UID     string `json:"uid"`
		Title   string `json:"title"`
		Targets []struct {
			Panel    string   `json:"panel"`
			RefID    string   `json:"ref_id"`
			Kind     string   `json:"kind"`
			Original string   `json:"original"`
			Language string   `json:"language"`
			Queries  []string `json:"queries"`
			Fidelity string   `json:"fidelity"`
		} `json:"targets"`
	} `json:"items"`
}

// parseKibanaReport reads the queries of a Kibana translate report.
func parseKibanaReport(data []byte) ([]translatedQuery, error) {
	var rep kibanaReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, err
	}
	var out []translatedQuery
	for _, it := range rep.Items {
		for _, q := range it.Queries {
			tq := translatedQuery{
				name:     fmt.Sprintf("kibana %s %s: %s", it.Type, it.ID, q.Where),
				language: q.SourceLanguage,
				original: q.Original,
				fidelity: q.Fidelity,
			}
			if q.Query != nil {
				tq.logql = *q.Query
			}
			out = append(out, tq)
		}
	}
	return out, nil
}

// parseGrafanaReport reads the Elasticsearch and OpenSearch targets of a
// Grafana translate report. The report describes a target as
// "query=LUCENE metric=... bucket=... queryType=...", so the Lucene text
// is what lies between "query=" and the first of the other keys.
func parseGrafanaReport(data []byte) ([]translatedQuery, error) {
	var rep grafanaReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, err
	}
	var out []translatedQuery
	for _, it := range rep.Items {
		for _, t := range it.Targets {
			if t.Kind != "elasticsearch" && t.Kind != "opensearch" {
				continue
			}
			tq := translatedQuery{
				name:     fmt.Sprintf("grafana %s panel %q %s", it.UID, t.Panel, t.RefID),
				language: string(ast.Lucene),
				fidelity: t.Fidelity,
			}
			text, queryType := grafanaLucene(t.Original)
			tq.original = text
			if queryType != "" && queryType != "lucene" {
				tq.language = queryType
			}
			switch {
			case t.Language != "logql":
				tq.fidelity = fidelityUnsupported
			case len(t.Queries) == 1:
				tq.logql = t.Queries[0]
			case len(t.Queries) > 1:
				// Several LogQL queries for one target have no single
				// count to compare.
				tq.logql = ""
				tq.fidelity = fidelityUnsupported
			}
			out = append(out, tq)
		}
	}
	return out, nil
}

// grafanaLucene extracts the Lucene text and the query type from a Grafana
// report's target description.
func grafanaLucene(desc string) (text, queryType string) {
	rest, ok := strings.CutPrefix(desc, "query=")
	if !ok {
		return "", ""
	}
	end := len(rest)
	for _, key := range []string{" metric=", " bucket=", " queryType="} {
		if i := strings.Index(rest, key); i >= 0 && i < end {
			end = i
		}
	}
	if i := strings.Index(rest, " queryType="); i >= 0 {
		queryType = rest[i+len(" queryType="):]
		if j := strings.IndexByte(queryType, ' '); j >= 0 {
			queryType = queryType[:j]
		}
	}
	return rest[:end], queryType
}

// translateReports returns the queries of the translate phase's reports
// under the plan's phases.translate.out. configured reports whether the
// plan has a translate input at all.
func translateReports(p *plans.Plan) (queries []translatedQuery, configured bool, err error) {
	base := filepath.Join(p.Path(p.Phases.Translate.Out), "translate")
	sources := []struct {
		dir        string
		configured bool
		key        string
		parse      func([]byte) ([]translatedQuery, error)
	}{
		{"kibana", p.Sources.Kibana != nil && p.Sources.Kibana.Export != "", "sources.kibana.export", parseKibanaReport},
		{"grafana", p.Sources.Grafana != nil && p.Sources.Grafana.Dashboards != "", "sources.grafana.dashboards", parseGrafanaReport},
	}
	for _, s := range sources {
		file := filepath.Join(base, s.dir, "report.json")
		data, readErr := os.ReadFile(file)
		if errors.Is(readErr, os.ErrNotExist) {
			if s.configured {
				return nil, true, fmt.Errorf("the plan sets %s but %s does not exist: run the translate phase (migrate plan apply) first", s.key, file)
			}
			continue
		}
		if readErr != nil {
			return nil, true, fmt.Errorf("reading %s: %w", file, readErr)
		}
		configured = true
		qs, parseErr := s.parse(data)
		if parseErr != nil {
			return nil, true, fmt.Errorf("%s is not a translate report: %w", file, parseErr)
		}
		if s.dir == "grafana" && p.Sources.Grafana != nil {
			for i := range qs {
				qs[i].index = p.Sources.Grafana.Index
			}
		}
		queries = append(queries, qs...)
	}
	return queries, configured, nil
}

// comparison is one translated query ready to run on both stacks.
type comparison struct {
	translatedQuery
	mapping plans.LogMapping
	// esQuery is the query DSL object counted on Elasticsearch.
	esQuery json.RawMessage
	// esNote explains how esQuery was built when it is not the original
	// text.
	esNote string
}

// skipped is a translated query that is not run, and why.
type skipped struct {
	name, why string
}

// templateVariable finds what Grafana replaces in a query before it runs:
// $name, ${name} and [[name]].
var templateVariable = regexp.MustCompile(`\$(?:\w|\{)|\[\[`)

// prepareComparisons turns translated queries into comparisons, dropping
// duplicates (the same count on both stacks) and listing what cannot run.
func prepareComparisons(p *plans.Plan, queries []translatedQuery) ([]comparison, []skipped) {
	var out []comparison
	var skips []skipped
	seen := map[string]string{}
	for _, q := range queries {
		c, why := prepareComparison(p, q)
		if why != "" {
			skips = append(skips, skipped{q.name, why})
			continue
		}
		key := c.mapping.Indices + "\x00" + string(c.esQuery) + "\x00" + c.logql
		if first, dup := seen[key]; dup {
			skips = append(skips, skipped{q.name, "the same queries as " + first})
			continue
		}
		seen[key] = q.name
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b comparison) int { return strings.Compare(a.name, b.name) })
	return out, skips
}

func prepareComparison(p *plans.Plan, q translatedQuery) (comparison, string) {
	switch {
	case q.fidelity == fidelityUnsupported || q.logql == "":
		return comparison{}, "unsupported: the translation has no LogQL query"
	case q.fidelity != fidelityExact && q.fidelity != fidelityApproximate:
		return comparison{}, fmt.Sprintf("unknown fidelity %q in the translate report", q.fidelity)
	case !strings.HasPrefix(strings.TrimSpace(q.logql), "{"):
		return comparison{}, "a metric query: only log queries are compared, by their entry count"
	case templateVariable.MatchString(q.logql):
		return comparison{}, "the LogQL query has Grafana template variables, whose values are known only in a dashboard"
	}
	matchers, _, err := parseSelector(q.logql)
	if err != nil {
		return comparison{}, "the LogQL stream selector could not be read: " + err.Error()
	}
	m, ok := mappingFor(p, q.index, matchers)
	if !ok {
		return comparison{}, "no logs entry of the plan matches the query's stream selector, so the Elasticsearch indices to count are unknown"
	}
	c := comparison{translatedQuery: q, mapping: m.WithDefaults()}
	c.esQuery, c.esNote, err = elasticsearchQuery(q.language, q.original)
	if err != nil {
		return comparison{}, "the original query cannot run on Elasticsearch as sent: " + err.Error()
	}
	return c, ""
}

// matcher is one label matcher of a LogQL stream selector.
type matcher struct {
	name, op, value string
}

// parseSelector reads the stream selector at the start of a LogQL log
// query, such as {source="filebeat", level=~`error|warn`}, and returns its
// matchers and the rest of the query. Values are Go-quoted strings or
// backtick raw strings, as LogQL writes them.
func parseSelector(q string) ([]matcher, string, error) {
	s := strings.TrimLeftFunc(q, unicode.IsSpace)
	if !strings.HasPrefix(s, "{") {
		return nil, "", errors.New("the query does not start with a stream selector {...}")
	}
	s = s[1:]
	var out []matcher
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if rest, ok := strings.CutPrefix(s, "}"); ok {
			return out, rest, nil
		}
		if len(out) > 0 {
			rest, ok := strings.CutPrefix(s, ",")
			if !ok {
				return nil, "", fmt.Errorf("expected , or } after matcher %s", out[len(out)-1].name)
			}
			s = strings.TrimLeftFunc(rest, unicode.IsSpace)
			if rest, ok := strings.CutPrefix(s, "}"); ok {
				return out, rest, nil
			}
		}
		n := 0
		for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || n > 0 && s[n] >= '0' && s[n] <= '9') {
			n++
		}
		if n == 0 {
			return nil, "", fmt.Errorf("expected a label name at %q", clip(s, 20))
		}
		m := matcher{name: s[:n]}
		s = strings.TrimLeftFunc(s[n:], unicode.IsSpace)
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s, op) {
				m.op = op
				break
			}
		}
		if m.op == "" {
			return nil, "", fmt.Errorf("expected =, !=, =~ or !~ after label %s", m.name)
		}
		s = strings.TrimLeftFunc(s[len(m.op):], unicode.IsSpace)
		value, rest, err := readQuoted(s)
		if err != nil {
			return nil, "", fmt.Errorf("the value of label %s: %w", m.name, err)
		}
		m.value, s = value, rest
		out = append(out, m)
	}
}

// readQuoted reads one LogQL string literal at the start of s.
func readQuoted(s string) (string, string, error) {
	switch {
	case strings.HasPrefix(s, "`"):
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", "", errors.New("unterminated raw string")
		}
		return s[1 : 1+end], s[2+end:], nil
	case strings.HasPrefix(s, `"`):
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				v, err := strconv.Unquote(s[:i+1])
				if err != nil {
					return "", "", fmt.Errorf("invalid string %s: %w", clip(s[:i+1], 40), err)
				}
				return v, s[i+1:], nil
			}
		}
		return "", "", errors.New("unterminated string")
	}
	return "", "", fmt.Errorf("expected a quoted string at %q", clip(s, 20))
}

// clip shortens s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// mappingFor picks the logs entry a translated query reads: the one of
// index when it is set and matches an entry, else the first entry whose static labels
// all appear as equality matchers in the selector, else the only entry.
func mappingFor(p *plans.Plan, index string, matchers []matcher) (plans.LogMapping, bool) {
	if index != "" {
		if m, ok := plans.SelectMapping(p.Logs, index); ok {
			return m, true
		}
	}
	for _, m := range p.Logs {
		if len(m.StaticLabels) == 0 {
			continue
		}
		all := true
		for name, value := range m.StaticLabels {
			if !slices.Contains(matchers, matcher{name: name, op: "=", value: value}) {
				all = false
				break
			}
		}
		if all {
			return m, true
		}
	}
	if len(p.Logs) == 1 {
		return p.Logs[0], true
	}
	return plans.LogMapping{}, false
}

// elasticsearchQuery returns the query DSL object that runs original on
// Elasticsearch: a DSL query or Kibana filter pill as written, Lucene as a
// query_string query with Kibana's default options, and KQL, which
// Elasticsearch does not read, rendered from its parsed tree. note explains
// how the query was built when it is not the original.
func elasticsearchQuery(language, original string) (json.RawMessage, string, error) {
	switch ast.Language(language) {
	case ast.ESDSL:
		q, err := dslFromOriginal(original)
		return q, "", err
	case ast.Lucene:
		if strings.TrimSpace(original) == "" {
			return json.RawMessage(`{"match_all":{}}`), "", nil
		}
		q, err := json.Marshal(map[string]any{"query_string": map[string]any{"query": original, "analyze_wildcard": true}})
		return q, "", err
	case ast.KQL:
		parsed, err := translators.Parse(ast.KQL, original)
		if err != nil {
			return nil, "", fmt.Errorf("parsing the KQL: %w", err)
		}
		node, err := renderDSL(parsed.Root, 0)
		if err != nil {
			return nil, "", err
		}
		q, err := json.Marshal(node)
		return q, "Elasticsearch reads no KQL, so migrate built the query DSL counted there from the parsed KQL", err
	}
	return nil, "", fmt.Errorf("queries in %q cannot be counted on Elasticsearch", language)
}

// dslFromOriginal reads a DSL query or a Kibana filter pill. A pill keeps
// its query next to "meta" and "$state", either under "query" or as the
// only other key. meta.negate inverts the query and meta.disabled turns
// the filter off.
func dslFromOriginal(original string) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(original), &obj); err != nil {
		return nil, fmt.Errorf("the query DSL is not a JSON object: %w", err)
	}
	var meta struct {
		Negate   bool `json:"negate"`
		Disabled bool `json:"disabled"`
	}
	if raw, ok := obj["meta"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("the filter's meta is not an object: %w", err)
		}
	}
	if meta.Disabled {
		return nil, errors.New("the filter is disabled in Kibana")
	}
	delete(obj, "meta")
	delete(obj, "$state")
	var q json.RawMessage
	switch {
	case len(obj) == 1 && obj["query"] != nil:
		q = obj["query"]
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(q, &inner); err != nil || len(inner) != 1 {
			return nil, errors.New(`"query" does not hold one query object`)
		}
	case len(obj) == 1:
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		q = b
	case len(obj) == 0:
		return nil, errors.New("the object holds no query")
	default:
		return nil, fmt.Errorf("the object holds %d keys besides meta, expected one query", len(obj))
	}
	if meta.Negate {
		b, err := json.Marshal(map[string]any{"bool": map[string]any{"must_not": []json.RawMessage{q}}})
		if err != nil {
			return nil, err
		}
		q = b
	}
	return q, nil
}

// renderDSL renders a parsed query as Elasticsearch query DSL: match and
// match_phrase for fielded values, multi_match with lenient for free text,
// query_string for wildcards, and range, exists and nested as such.
//
// NOTE: Kibana builds its own DSL from KQL in the browser. This rendering
// follows the meaning of each KQL construct, not Kibana's code, so a corner
// case can count differently than the saved search does in Kibana.
func renderDSL(n ast.Node, depth int) (any, error) {
	if depth > ast.MaxDepth {
		return nil, errors.New("the query is nested too deeply")
	}
	obj := func(k string, v any) map[string]any { return map[string]any{k: v} }
	switch n := n.(type) {
	case ast.And:
		if len(n.Children) == 0 {
			return obj("match_all", map[string]any{}), nil
		}
		children, err := renderDSLAll(n.Children, depth)
		return obj("bool", obj("filter", children)), err
	case ast.Or:
		if len(n.Children) == 0 {
			return obj("match_none", map[string]any{}), nil
		}
		children, err := renderDSLAll(n.Children, depth)
		return obj("bool", map[string]any{"should": children, "minimum_should_match": 1}), err
	case ast.Not:
		child, err := renderDSL(n.Child, depth+1)
		return obj("bool", obj("must_not", []any{child})), err
	case ast.MatchAll:
		return obj("match_all", map[string]any{}), nil
	case ast.MatchNone:
		return obj("match_none", map[string]any{}), nil
	case ast.Term:
		return renderTerm(n)
	case ast.Wildcard:
		qs := map[string]any{"query": queryStringPattern(n.Pattern), "analyze_wildcard": true}
		if n.Field != "" {
			qs["fields"] = []string{n.Field}
		}
		return obj("query_string", qs), nil
	case ast.Prefix:
		return obj("prefix", obj(n.Field, map[string]any{"value": n.Value, "case_insensitive": n.CaseInsensitive})), nil
	case ast.Regexp:
		return obj("regexp", obj(n.Field, map[string]any{"value": n.Pattern, "case_insensitive": n.CaseInsensitive})), nil
	case ast.Range:
		bounds := map[string]any{}
		if n.HasFrom {
			bounds[map[bool]string{true: "gte", false: "gt"}[n.IncludeFrom]] = n.From
		}
		if n.HasTo {
			bounds[map[bool]string{true: "lte", false: "lt"}[n.IncludeTo]] = n.To
		}
		if n.Format != "" {
			bounds["format"] = n.Format
		}
		if n.TimeZone != "" {
			bounds["time_zone"] = n.TimeZone
		}
		return obj("range", obj(n.Field, bounds)), nil
	case ast.Exists:
		return obj("exists", obj("field", n.Field)), nil
	case ast.Fuzzy:
		return obj("fuzzy", obj(n.Field, map[string]any{"value": n.Value, "fuzziness": n.Fuzziness})), nil
	case ast.Nested:
		inner, err := renderDSL(n.Query, depth+1)
		return obj("nested", map[string]any{"path": n.Path, "query": inner}), err
	case ast.Unsupported:
		return nil, fmt.Errorf("%s is not supported: %s", n.Kind, n.Reason)
	}
	return nil, fmt.Errorf("no query DSL for %T", n)
}

func renderDSLAll(nodes []ast.Node, depth int) ([]any, error) {
	out := make([]any, len(nodes))
	for i, c := range nodes {
		v, err := renderDSL(c, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func renderTerm(t ast.Term) (any, error) {
	if t.Field == "" || strings.Contains(t.Field, "*") {
		mm := map[string]any{"query": t.Value, "lenient": true}
		if t.Field != "" {
			mm["fields"] = []string{t.Field}
		}
		switch t.Mode {
		case ast.Phrase:
			mm["type"] = "phrase"
			if t.Slop > 0 {
				mm["slop"] = t.Slop
			}
		case ast.Exact:
			return nil, errors.New("an exact term on no field or on a field pattern has no query DSL form")
		default:
			mm["type"] = "best_fields"
		}
		return map[string]any{"multi_match": mm}, nil
	}
	switch t.Mode {
	case ast.Phrase:
		body := map[string]any{"query": t.Value}
		if t.Slop > 0 {
			body["slop"] = t.Slop
		}
		return map[string]any{"match_phrase": map[string]any{t.Field: body}}, nil
	case ast.Exact:
		return map[string]any{"term": map[string]any{t.Field: map[string]any{"value": t.Value, "case_insensitive": t.CaseInsensitive}}}, nil
	}
	body := map[string]any{"query": t.Value, "lenient": true}
	if t.Operator == ast.OpAnd {
		body["operator"] = "and"
	}
	if t.ZeroTermsAll {
		body["zero_terms_query"] = "all"
	}
	return map[string]any{"match": map[string]any{t.Field: body}}, nil
}

// queryStringPattern writes a wildcard pattern (`*` and `?` special, a
// backslash escaping the next character) in query_string syntax, escaping
// every other character that query_string reads as an operator.
func queryStringPattern(p string) string {
	const special = `+-=&|><!(){}[]^"~:\/ `
	var b strings.Builder
	escaped := false
	for _, r := range p {
		switch {
		case escaped:
			escaped = false
			if strings.ContainsRune(special+"*?", r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case r == '\\':
			escaped = true
		case r == '*' || r == '?':
			b.WriteRune(r)
		case strings.ContainsRune(special, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	if escaped {
		b.WriteString(`\\`)
	}
	return b.String()
}

// queryOutcome is the result of one comparison.
type queryOutcome struct {
	comparison
	old, new int64
	diff     float64
	err      error
	// rejected is true when Elasticsearch rejected the original query as
	// invalid (400), so it runs on neither stack as written.
	rejected bool
}

// relativeDifference is |new-old| / old, with a zero old count treated as
// one so that an empty result compares by absolute difference.
func relativeDifference(old, new int64) float64 {
	return math.Abs(float64(new-old)) / math.Max(float64(old), 1)
}

// queryResults is the query_results check: the translated saved searches
// and panels are counted over the window on both stacks.
func (r *run) queryResults(ctx context.Context) Check {
	const name = CheckQueryResults
	queries, configured, err := translateReports(r.plan)
	switch {
	case err != nil:
		return inconclusive(name, err.Error(), "then run parity again")
	case !configured:
		return notApplicable(name, "the plan has no sources.kibana.export or sources.grafana.dashboards, so nothing was translated")
	case len(queries) == 0:
		return notApplicable(name, "the translate reports hold no query")
	}
	comparisons, skips := prepareComparisons(r.plan, queries)
	if len(comparisons) == 0 {
		c := inconclusive(name, fmt.Sprintf("none of the %d translated queries can be run on both stacks", len(queries)),
			"see the skipped group for the reasons")
		c.Groups = []Group{skippedGroup(skips)}
		return c
	}
	switch {
	case r.src.Elasticsearch == nil:
		return inconclusive(name, "Elasticsearch is not configured", "set sources.elasticsearch in the plan")
	case r.src.Loki == nil:
		return inconclusive(name, "Loki is not configured", "set targets.loki in the plan")
	}
	if len(comparisons) > maxQueryComparisons {
		for _, c := range comparisons[maxQueryComparisons:] {
			skips = append(skips, skipped{c.name, fmt.Sprintf("not run: a parity run compares at most %d queries", maxQueryComparisons)})
		}
		comparisons = comparisons[:maxQueryComparisons]
	}

	lc := newLokiCounter(r.src.Loki, r.limits)
	outcomes := make([]queryOutcome, len(comparisons))
	forEach(ctx, len(comparisons), esConcurrency, func(ctx context.Context, i int) {
		outcomes[i] = r.runComparison(ctx, lc, comparisons[i])
	})
	return r.queryCheck(outcomes, skips)
}

func (r *run) runComparison(ctx context.Context, lc lokiCounter, c comparison) queryOutcome {
	o := queryOutcome{comparison: c}
	var wg sync.WaitGroup
	var esErr, lokiErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		o.old, esErr = r.src.Elasticsearch.Count(ctx, c.mapping.Indices, c.esQuery, c.mapping.Timestamp, r.window.From, r.window.To)
	}()
	go func() {
		defer wg.Done()
		o.new, lokiErr = lc.countTotal(ctx, c.logql, r.window.From, r.window.To)
	}()
	wg.Wait()
	var esError *elasticsearch.Error
	switch {
	case errors.As(esErr, &esError) && esError.Status == 400:
		o.rejected = true
		o.err = esErr
	case esErr != nil:
		o.err = errors.New(describeError("Elasticsearch", esErr))
	case lokiErr != nil:
		o.err = errors.New(describeError("Loki", lokiErr))
	default:
		o.diff = relativeDifference(o.old, o.new)
	}
	return o
}

// queryCheck builds the check from the outcomes. Exact translations decide
// the verdict. Approximate ones are compared and shown in their own group,
// but do not decide it, because they are known to return a different set of
// documents.
func (r *run) queryCheck(outcomes []queryOutcome, skips []skipped) Check {
	c := Check{Name: CheckQueryResults}
	tol := r.th.resultTolerance
	columns := []string{"query", "source", "elasticsearch", "loki", "difference"}
	exact := Group{Name: "exact translations", Columns: columns}
	approx := Group{Name: "approximate translations", Columns: columns}
	unmeasured := Group{Name: "not measured", Columns: []string{"query", "error"}}
	var exactN, exactOK, approxN, approxOK, exactNonEmpty int
	maxDiff := 0.0
	for _, o := range outcomes {
		if o.rejected {
			skips = append(skips, skipped{o.name, "Elasticsearch rejects the original query as invalid: " + o.err.Error()})
			continue
		}
		if o.err != nil {
			unmeasured.Rows = append(unmeasured.Rows, []string{o.name, o.err.Error()})
			if o.fidelity == fidelityExact {
				unmeasured.Verdict = Inconclusive
			}
			continue
		}
		row := []string{o.name, o.language, fmt.Sprint(o.old), fmt.Sprint(o.new), formatRatio(o.diff)}
		within := o.diff <= tol
		g, n, ok := &approx, &approxN, &approxOK
		if o.fidelity == fidelityExact {
			g, n, ok = &exact, &exactN, &exactOK
			maxDiff = math.Max(maxDiff, o.diff)
		}
		g.Rows = append(g.Rows, row)
		if o.esNote != "" && !slices.Contains(g.Notes, sentence(o.esNote)) {
			g.Notes = append(g.Notes, sentence(o.esNote))
		}
		*n++
		if o.fidelity == fidelityExact && (o.old > 0 || o.new > 0) {
			exactNonEmpty++
		}
		if within {
			*ok++
			continue
		}
		if len(g.Notes) < maxListedQueries {
			g.Notes = append(g.Notes, fmt.Sprintf("%s differs by %s: Elasticsearch %s on %s counts %d, Loki %s counts %d.",
				o.name, formatRatio(o.diff), o.esQuery, o.mapping.Indices, o.old, o.logql, o.new))
		}
	}
	exact.Verdict = verdictOf(exactN, exactOK)
	approx.Verdict = verdictOf(approxN, approxOK)
	if approxN > 0 {
		approx.Notes = append([]string{"Approximate translations can return other documents by design, so they are shown here but do not decide the verdict."}, approx.Notes...)
	}
	for _, g := range []Group{exact, approx} {
		if len(g.Rows) > 0 {
			c.Groups = append(c.Groups, g)
		}
	}
	if len(unmeasured.Rows) > 0 {
		if unmeasured.Verdict == "" {
			unmeasured.Verdict = Pass
			unmeasured.Notes = append(unmeasured.Notes, "Only approximate translations are listed here, so they do not decide the verdict.")
		}
		c.Groups = append(c.Groups, unmeasured)
	}
	if len(skips) > 0 {
		c.Groups = append(c.Groups, skippedGroup(skips))
	}

	switch {
	case exact.Verdict == Fail:
		c.Verdict = Fail
		c.Reason = fmt.Sprintf("%d of %d exactly translated queries count differently on Loki by more than the result_tolerance %s: compare the listed queries, which may show a mapping error or documents missing in Loki.",
			exactN-exactOK, exactN, formatRatio(tol))
	case unmeasured.Verdict == Inconclusive:
		c.Verdict = Inconclusive
		c.Reason = "Some exactly translated queries could not be counted on one of the stacks; see the not measured group."
	case exactN == 0:
		// Approximate translations never decide the verdict, so without an
		// exact one nothing was proven.
		c.Verdict = Inconclusive
		c.Reason = "No exactly translated query could be counted on both stacks; see the groups."
	case exactNonEmpty == 0:
		c.Verdict = Inconclusive
		c.Reason = "Every exactly translated query counted 0 documents on both stacks, which proves nothing: pick a window with traffic."
	default:
		c.Verdict = Pass
	}
	if exactN > 0 {
		c.Metrics = append(c.Metrics,
			metric("exact_within_tolerance", float64(exactOK)/float64(exactN), 1, ">=", "ratio"),
			metric("max_relative_difference", maxDiff, tol, "<=", "ratio"))
	}
	c.Summary = fmt.Sprintf("%d of %d exact translations within tolerance %s; %d of %d approximate within it (not counted); %d skipped",
		exactOK, exactN, formatRatio(tol), approxOK, approxN, len(skips))
	return c
}

func verdictOf(n, ok int) Verdict {
	if n > ok {
		return Fail
	}
	return Pass
}

// skippedGroup lists the queries that were not run. Its verdict is
// INCONCLUSIVE because they were not measured; it does not decide the
// check's verdict.
func skippedGroup(skips []skipped) Group {
	g := Group{Name: "skipped", Verdict: Inconclusive, Columns: []string{"query", "why"}}
	for _, s := range skips {
		g.Rows = append(g.Rows, []string{s.name, s.why})
	}
	g.Notes = []string{"These translations were not run on both stacks, so their results are unknown; they do not decide the verdict."}
	return g
}
