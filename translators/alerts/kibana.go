package alerts

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/esdsl"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// defaultTermSize is the number of groups Kibana keeps when a grouped rule
// sets no termSize (DEFAULT_GROUPS in Kibana's aggregation builder).
const defaultTermSize = 100

// defaultInterval is the check interval of a rule whose schedule is
// missing; it is also the Loki ruler's default evaluation_interval.
const defaultInterval = time.Minute

// kibanaSpec reads a Kibana rule of any type. A rule type with no Loki form
// gives an unsupported spec; a rule that lacks a setting its type requires
// gives an error.
func (c *converter) kibanaSpec(r *kibanaRule) (*ruleSpec, error) {
	spec := &ruleSpec{
		source: SourceKibana, kind: r.typeID, id: r.id, name: r.name, origin: r.origin, tags: r.tags,
		interval: defaultInterval, agg: logql.AggCount, disabled: !r.enabled,
	}
	// The id names the rule's group and its migrate_rule_id label, and it
	// is what keeps them the same from one run to the next.
	if strings.TrimSpace(r.id) == "" {
		return nil, missing("id", "Kibana gives every rule an id; export the rule again from Kibana")
	}
	if explanation, ok := unsupportedRuleType(r.typeID); ok {
		return spec.unsupported("rule_type_unsupported", "%s", explanation), nil
	}
	if r.params == nil {
		return nil, missing("params", "the rule has no params object; export it again from Kibana")
	}
	if err := c.kibanaSchedule(spec, r); err != nil {
		return nil, err
	}
	c.kibanaNotes(spec, r)

	var err error
	switch r.typeID {
	case TypeESQuery:
		err = c.esQuery(spec, r)
	case TypeIndexThreshold:
		err = c.indexThreshold(spec, r)
	case TypeLogThreshold:
		err = c.logThreshold(spec, r)
	}
	if err != nil {
		return nil, err
	}
	return spec, nil
}

// unsupportedRuleType explains why a rule type has no conversion.
func unsupportedRuleType(typeID string) (string, bool) {
	switch typeID {
	case TypeESQuery, TypeIndexThreshold, TypeLogThreshold:
		return "", false
	}
	families := []struct{ prefix, explanation string }{
		{"metrics.alert.", "it alerts on metrics, which are not in Loki; move it to a Prometheus or Mimir rule"},
		{"xpack.uptime.", "it alerts on Uptime monitors, which have no counterpart in Loki; use synthetic monitoring or a Prometheus blackbox rule"},
		{"xpack.synthetics.", "it alerts on Synthetics monitors, which have no counterpart in Loki"},
		{"apm.", "it alerts on APM data; traces in Tempo need Tempo's metrics generator and a Prometheus rule"},
		{"xpack.ml.", "it alerts on machine learning anomaly results, which have no counterpart in Loki"},
		{"siem.", "it is a security detection rule, which has no counterpart in Loki"},
		{"monitoring_", "it alerts on Elastic Stack monitoring data, which is not migrated"},
		{"slo.", "it alerts on an SLO burn rate, which needs an SLO definition in Grafana"},
		{"observability.rules.custom_threshold", "custom threshold rules are not converted yet; rewrite it as a LogQL rule by hand"},
		{"transform_health", "it alerts on Elasticsearch transforms, which are not migrated"},
	}
	for _, f := range families {
		if strings.HasPrefix(typeID, f.prefix) {
			return fmt.Sprintf("rule type %s is not converted: %s", typeID, f.explanation), true
		}
	}
	return fmt.Sprintf("rule type %s is not converted: only %s, %s and %s rules have a LogQL form",
		typeID, TypeESQuery, TypeIndexThreshold, TypeLogThreshold), true
}

// kibanaSchedule reads the check interval, the group's evaluation interval.
func (c *converter) kibanaSchedule(spec *ruleSpec, r *kibanaRule) error {
	if r.interval == "" {
		spec.reasons.Addf(fidelity.Approximate, "schedule_missing",
			"the rule has no schedule.interval, so the group is evaluated every %s", formatDuration(defaultInterval))
		return nil
	}
	d, err := plans.ParseDuration(r.interval)
	if err != nil || d < minInterval {
		return invalid("schedule.interval", r.interval, "give the check interval as a duration of at least 1s, such as 1m or 30s")
	}
	spec.interval = d
	return nil
}

// thresholdParams reads the settings that Elasticsearch query and index
// threshold rules share: the window, the comparator and thresholds, the
// aggregation and the grouping.
func (c *converter) thresholdParams(spec *ruleSpec, p map[string]any) error {
	window, err := kibanaWindow(p, "timeWindowSize", "timeWindowUnit")
	if err != nil {
		return err
	}
	spec.window = window

	raw, present := p["thresholdComparator"]
	op, ok := kibanaComparators[str(p, "thresholdComparator")]
	switch {
	case !present:
		return missing("params.thresholdComparator", "give one of >, >=, <, <=, between or notBetween")
	case !ok:
		return invalid("params.thresholdComparator", raw, "use one of >, >=, <, <=, between or notBetween")
	}
	values, err := thresholdValues(p["threshold"], "params.threshold")
	if err != nil {
		return err
	}
	if spec.cond, err = newCondition(op, values, "params.threshold"); err != nil {
		return err
	}
	if err := c.aggregation(spec, p); err != nil {
		return err
	}
	return c.grouping(spec, p)
}

// kibanaAggregations maps aggType to the LogQL aggregation.
var kibanaAggregations = map[string]logql.Aggregation{
	"count": logql.AggCount, "avg": logql.AggAvg, "sum": logql.AggSum, "min": logql.AggMin, "max": logql.AggMax,
}

func (c *converter) aggregation(spec *ruleSpec, p map[string]any) error {
	aggType := str(p, "aggType")
	if aggType == "" {
		aggType = "count"
	}
	agg, ok := kibanaAggregations[aggType]
	if !ok {
		return invalid("params.aggType", p["aggType"], "use count, avg, sum, min or max")
	}
	spec.agg = agg
	if agg == logql.AggCount {
		return nil
	}
	if spec.field = str(p, "aggField"); spec.field == "" {
		return missing("params.aggField", fmt.Sprintf("aggType %s needs the field to aggregate", aggType))
	}
	return nil
}

// grouping reads groupBy "top" with termField and termSize. Kibana ranks
// groups by document count, or by the aggregated value (ascending for
// min), and alerts on the first termSize of them.
func (c *converter) grouping(spec *ruleSpec, p map[string]any) error {
	switch str(p, "groupBy") {
	case "", "all":
		return nil
	case "top":
	default:
		return invalid("params.groupBy", p["groupBy"], "use all or top")
	}
	fields, ok := stringList(p["termField"])
	if !ok || len(fields) == 0 {
		return missing("params.termField", "groupBy top needs the field (or fields) to group by")
	}
	spec.groupBy = fields
	spec.topN = defaultTermSize
	if raw, present := p["termSize"]; present && raw != nil {
		n, ok := number(raw)
		if !ok || n < 1 || n != float64(int(n)) {
			return invalid("params.termSize", raw, "the number of groups must be a whole number of at least 1")
		}
		spec.topN = int(n)
	}
	spec.bottom = spec.agg == logql.AggMin
	rank, order := "document count", "largest"
	if spec.agg != logql.AggCount {
		rank = fmt.Sprintf("%s of %s", spec.agg, spec.field)
	}
	if spec.bottom {
		order = "smallest"
	}
	spec.reasons.Addf(fidelity.Approximate, "top_groups",
		"Kibana alerts on at most %d groups of %s, the ones with the %s %s (from Kibana 8.x among the groups that breach the threshold, before among all groups); the rule keeps the %d %s breaching series at each evaluation, and ties can pick other groups",
		spec.topN, strings.Join(fields, ", "), order, rank, spec.topN, order)
	return nil
}

// esQuery reads an Elasticsearch query rule: a query DSL search
// (searchType esQuery), a KQL or Lucene query with filters (searchSource),
// or ES|QL, which has no LogQL form.
func (c *converter) esQuery(spec *ruleSpec, r *kibanaRule) error {
	p := r.params
	searchType := str(p, "searchType")
	if searchType == "esqlQuery" {
		spec.original = esqlText(p)
		spec.unsupported("esql", "the rule runs an ES|QL query, which has no LogQL translation; rewrite it as a LogQL rule by hand")
		return nil
	}
	if err := c.thresholdParams(spec, p); err != nil {
		return err
	}
	switch searchType {
	case "", "esQuery":
		if err := c.dslSearch(spec, p); err != nil {
			return err
		}
	case "searchSource":
		if err := c.searchSource(spec, r); err != nil {
			return err
		}
	default:
		return invalid("params.searchType", p["searchType"], "use esQuery, searchSource or esqlQuery")
	}
	c.previousHits(spec, p)
	if size, ok := number(p["size"]); ok && size > 0 {
		spec.reasons.Addf(fidelity.Exact, "hits_not_attached",
			"Kibana attached up to %s matching documents to each alert (size); a Loki alert carries only its labels and value, so open the query in Grafana Explore to see the lines", formatNumber(size))
	}
	return nil
}

func esqlText(p map[string]any) string {
	if q := obj(p, "esqlQuery"); q != nil {
		return str(q, "esql")
	}
	return ""
}

// previousHits notes excludeHitsFromPreviousRun, which Kibana 7.x always
// applied and 8.x applies by default to rules without groups. After a run
// that met the condition, Kibana skips documents up to the newest one that
// run returned, so a window longer than the interval does not count a
// document twice. The Loki rule counts every line in its window at every
// evaluation.
func (c *converter) previousHits(spec *ruleSpec, p map[string]any) {
	if v, present := p["excludeHitsFromPreviousRun"]; (present && v != true) || len(spec.groupBy) > 0 {
		return
	}
	if spec.window > spec.interval {
		spec.reasons.Addf(fidelity.Approximate, "previous_hits_counted",
			"after a run that met the condition, Kibana skips the documents that run counted (excludeHitsFromPreviousRun), but the Loki rule counts every line of its %s window at every %s evaluation, so overlapping windows count a line again and the value can be higher",
			spec.windowText(), formatDuration(spec.interval))
		return
	}
	spec.reasons.Addf(fidelity.Exact, "previous_hits_counted",
		"after a run that met the condition, Kibana skips the documents that run counted (excludeHitsFromPreviousRun); the %s window is not longer than the %s interval, so the windows do not overlap and the counts agree",
		spec.windowText(), formatDuration(spec.interval))
}

// dslSearch reads searchType esQuery: a search body as JSON text, the
// indices and the time field.
func (c *converter) dslSearch(spec *ruleSpec, p map[string]any) error {
	text, ok := p["esQuery"].(string)
	if !ok {
		if _, present := p["esQuery"]; present {
			return invalid("params.esQuery", p["esQuery"], "esQuery must be the search body as JSON text")
		}
		return missing("params.esQuery", "an esQuery rule needs its search body, such as {\"query\":{\"match_all\":{}}}")
	}
	q, err := esdsl.Parse([]byte(text))
	if err != nil {
		return fmt.Errorf("%w params.esQuery: %w", ErrInvalidParam, err)
	}
	indices, ok := stringList(p["index"])
	if !ok || len(indices) == 0 {
		return missing("params.index", "an esQuery rule needs the indices it searches")
	}
	spec.index = strings.Join(indices, ",")
	spec.timeField = str(p, "timeField")
	spec.query = q
	spec.original = compactText(text)
	return nil
}

// searchSource reads searchType searchSource: a KQL or Lucene query and
// filter pills on a data view.
func (c *converter) searchSource(spec *ruleSpec, r *kibanaRule) error {
	sc := obj(r.params, "searchConfiguration")
	if sc == nil {
		return missing("params.searchConfiguration", "a searchSource rule needs its query and data view")
	}
	var (
		roots []ast.Node
		texts []string
		notes fidelity.Reasons
		lang  = ast.KQL
	)
	if q, ok, err := searchQuery(sc["query"]); err != nil {
		return err
	} else if ok {
		roots, lang = append(roots, q.Root), q.Language
		texts = append(texts, fmt.Sprintf("query (%s): %s", q.Language, q.Source))
		notes.Merge(q.Notes)
	}
	for i, item := range arr(sc, "filter") {
		raw, _ := json.Marshal(item)
		f, err := esdsl.ParseFilter(raw)
		if err != nil {
			return fmt.Errorf("%w params.searchConfiguration.filter[%d]: %w", ErrInvalidParam, i, err)
		}
		if f.Disabled {
			spec.reasons.Addf(fidelity.Exact, "filter_disabled", "filter %d is disabled in Kibana and is left out", i+1)
			continue
		}
		roots = append(roots, f.Node)
		texts = append(texts, fmt.Sprintf("filter %d: %s", i+1, compactText(string(raw))))
		notes.Merge(f.Notes)
	}
	spec.query = &ast.Query{Root: ast.And{Children: roots}, Language: lang, Source: strings.Join(texts, "; "), Notes: notes}
	spec.original = spec.query.Source
	c.dataView(spec, r, sc)
	return nil
}

// searchQuery reads the query of a search configuration: {query,
// language}, or a bare string in Kibana's query bar syntax (KQL).
func searchQuery(v any) (*ast.Query, bool, error) {
	var text, language string
	switch q := v.(type) {
	case nil:
		return nil, false, nil
	case string:
		text, language = q, "kuery"
	case map[string]any:
		text, language = str(q, "query"), str(q, "language")
		if language == "" {
			language = "kuery"
		}
	default:
		return nil, false, invalid("params.searchConfiguration.query", v, "expected {\"query\": \"...\", \"language\": \"kuery\"}")
	}
	if strings.TrimSpace(text) == "" {
		return nil, false, nil
	}
	lang, err := translators.ParseLanguage(language)
	if err != nil {
		return nil, false, fmt.Errorf("%w params.searchConfiguration.query.language: %w", ErrInvalidParam, err)
	}
	q, err := translators.Parse(lang, text)
	if err != nil {
		return nil, false, fmt.Errorf("%w params.searchConfiguration.query: %w", ErrInvalidParam, err)
	}
	return q, true, nil
}

// dataView finds the index pattern and time field of a searchSource rule:
// an ad hoc data view inline, or a saved one by id or by reference.
func (c *converter) dataView(spec *ruleSpec, r *kibanaRule, sc map[string]any) {
	if inline := obj(sc, "index"); inline != nil {
		spec.index, spec.timeField = str(inline, "title"), str(inline, "timeFieldName")
		return
	}
	id := str(sc, "index")
	if ref := str(sc, "indexRefName"); ref != "" && id == "" {
		id = r.refs["param:"+ref]
	}
	if ip, ok := c.res.indexPatterns[id]; ok {
		spec.index, spec.timeField = ip.title, ip.timeField
		return
	}
	spec.reasons.Addf(fidelity.Approximate, "data_view_missing",
		"the data view %q is not in the batch, so its index pattern is unknown and the mapping entry cannot be chosen by index; export the rule with its related objects", id)
}

// indexThreshold reads an index threshold rule: indices, a KQL filter, and
// the threshold settings it shares with Elasticsearch query rules.
func (c *converter) indexThreshold(spec *ruleSpec, r *kibanaRule) error {
	p := r.params
	if err := c.thresholdParams(spec, p); err != nil {
		return err
	}
	indices, ok := stringList(p["index"])
	if !ok || len(indices) == 0 {
		return missing("params.index", "an index threshold rule needs the indices it searches")
	}
	spec.index = strings.Join(indices, ",")
	spec.timeField = str(p, "timeField")
	spec.query = &ast.Query{Root: ast.MatchAll{}, Language: ast.KQL}
	if text := str(p, "filterKuery"); strings.TrimSpace(text) != "" {
		q, err := translators.Parse(ast.KQL, text)
		if err != nil {
			return fmt.Errorf("%w params.filterKuery: %w", ErrInvalidParam, err)
		}
		spec.query = q
		spec.original = "filterKuery: " + text
	}
	return nil
}
