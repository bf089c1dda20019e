package alerts

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/esdsl"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// defaultLogIndices are the indices of Kibana's default log view (8.x).
const defaultLogIndices = "logs-*,filebeat-*,kibana_sample_data_logs*"

// logCountComparators maps the comparator of a log threshold rule's count
// to an operator.
var logCountComparators = map[string]string{
	"more than": opGT, "more than or equals": opGTE,
	"less than": opLT, "less than or equals": opLTE,
	"equals": opEQ, "does not equal": opNE,
}

// criterionQuery is the query that Kibana's log threshold executor builds
// for a criterion's comparator, and whether it goes under must_not.
type criterionQuery struct {
	kind   string // term, match, match_phrase or a range bound
	negate bool
}

var logCriterionQueries = map[string]criterionQuery{
	"equals":                {kind: "term"},
	"does not equal":        {kind: "term", negate: true},
	"matches":               {kind: "match"},
	"does not match":        {kind: "match", negate: true},
	"matches phrase":        {kind: "match_phrase"},
	"does not match phrase": {kind: "match_phrase", negate: true},
	"more than":             {kind: "gt"},
	"more than or equals":   {kind: "gte"},
	"less than":             {kind: "lt"},
	"less than or equals":   {kind: "lte"},
}

// logThreshold reads a log threshold rule: criteria that select log
// entries, a count condition over a window, and optional groups. A ratio
// rule has two lists of criteria and compares the ratio of their counts.
func (c *converter) logThreshold(spec *ruleSpec, r *kibanaRule) error {
	p := r.params
	window, err := kibanaWindow(p, "timeSize", "timeUnit")
	if err != nil {
		return err
	}
	spec.window = window
	if spec.cond, err = logCountCondition(p); err != nil {
		return err
	}
	if raw, present := p["groupBy"]; present {
		fields, ok := stringList(raw)
		if !ok {
			return invalid("params.groupBy", raw, "groupBy must be a list of field names")
		}
		spec.groupBy = fields
	}
	c.logView(spec, p)

	rawCriteria, present := p["criteria"]
	if !present {
		return missing("params.criteria", "give the list of criteria, empty to count every log entry")
	}
	list, ok := rawCriteria.([]any)
	if !ok {
		return invalid("params.criteria", rawCriteria, "criteria must be a list")
	}
	if len(list) > 0 {
		if _, nested := list[0].([]any); nested {
			return c.logRatio(spec, list)
		}
	}
	spec.query, spec.original, err = criteriaQuery(list, "params.criteria")
	return err
}

func logCountCondition(p map[string]any) (condition, error) {
	count := obj(p, "count")
	if count == nil {
		return condition{}, missing("params.count", "give {\"comparator\": \"more than\", \"value\": N}")
	}
	op, ok := logCountComparators[str(count, "comparator")]
	if !ok {
		return condition{}, invalid("params.count.comparator", count["comparator"],
			"use more than, more than or equals, less than, less than or equals, equals or does not equal")
	}
	value, ok := number(count["value"])
	if !ok {
		return condition{}, invalid("params.count.value", count["value"], "the count threshold must be a finite number, such as 10")
	}
	return newCondition(op, []float64{value}, "params.count.value")
}

// logRatio reads the two criteria lists of a ratio rule. Kibana computes
// the ratio only when both counts are above zero. A LogQL division has no
// result when either side has no lines, so the two agree on that.
func (c *converter) logRatio(spec *ruleSpec, lists []any) error {
	if len(lists) != 2 {
		return invalid("params.criteria", fmt.Sprintf("%d lists", len(lists)), "a ratio rule has exactly two lists of criteria")
	}
	var texts [2]string
	var queries [2]*ast.Query
	for i, item := range lists {
		list, ok := item.([]any)
		if !ok {
			return invalid(fmt.Sprintf("params.criteria[%d]", i), item, "each side of a ratio is a list of criteria")
		}
		q, text, err := criteriaQuery(list, fmt.Sprintf("params.criteria[%d]", i))
		if err != nil {
			return err
		}
		queries[i], texts[i] = q, text
	}
	spec.query, spec.denominator = queries[0], queries[1]
	spec.original = fmt.Sprintf("numerator: %s; denominator: %s", texts[0], texts[1])
	spec.reasons.Addf(fidelity.Approximate, "ratio_division",
		"the ratio is a division of two LogQL counts; like Kibana it has no value when either count is 0, but each count is rendered on its own, so a difference in one side's translation changes the ratio")
	return nil
}

// criteriaQuery builds the query DSL that Kibana's log threshold executor
// builds from criteria: a term, match, match_phrase or range query per
// criterion, negative comparators under must_not. It returns the parsed
// query and the criteria as text.
func criteriaQuery(list []any, path string) (*ast.Query, string, error) {
	var filter, mustNot []any
	var texts []string
	for i, item := range list {
		at := fmt.Sprintf("%s[%d]", path, i)
		m, ok := item.(map[string]any)
		if !ok {
			return nil, "", invalid(at, item, "a criterion is {\"field\", \"comparator\", \"value\"}")
		}
		clause, negate, text, err := criterionClause(m, at)
		if err != nil {
			return nil, "", err
		}
		texts = append(texts, text)
		if negate {
			mustNot = append(mustNot, clause)
		} else {
			filter = append(filter, clause)
		}
	}

	if len(filter)+len(mustNot) == 0 {
		return &ast.Query{Root: ast.MatchAll{}, Language: ast.ESDSL}, "every log entry", nil
	}
	boolQuery := map[string]any{}
	if len(filter) > 0 {
		boolQuery["filter"] = filter
	}
	if len(mustNot) > 0 {
		boolQuery["must_not"] = mustNot
	}

	raw, err := json.Marshal(map[string]any{"bool": boolQuery})
	if err != nil {
		return nil, "", fmt.Errorf("%w %s: %w", ErrInvalidParam, path, err)
	}
	q, err := esdsl.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%w %s: %w", ErrInvalidParam, path, err)
	}
	return q, strings.Join(texts, " AND "), nil
}

func criterionClause(m map[string]any, at string) (clause map[string]any, negate bool, text string, err error) {
	field := str(m, "field")
	if field == "" {
		return nil, false, "", missing(at+".field", "every criterion names the field it tests")
	}
	cq, ok := logCriterionQueries[str(m, "comparator")]
	if !ok {
		return nil, false, "", invalid(at+".comparator", m["comparator"],
			"use equals, does not equal, matches, does not match, matches phrase, does not match phrase, more than, more than or equals, less than or less than or equals")
	}
	value, present := m["value"]
	if !present || value == nil {
		return nil, false, "", missing(at+".value", "every criterion has the value it compares with")
	}
	switch cq.kind {
	case "term", "match", "match_phrase":
		clause = map[string]any{cq.kind: map[string]any{field: value}}
	default:
		clause = map[string]any{"range": map[string]any{field: map[string]any{cq.kind: value}}}
	}
	return clause, cq.negate, fmt.Sprintf("%s %s %v", field, str(m, "comparator"), value), nil
}

// logView finds the indices of the rule's log view (8.x logView, 7.x
// sourceId), from a log view or index pattern in the batch, or Kibana's
// default log view.
func (c *converter) logView(spec *ruleSpec, p map[string]any) {
	id := "default"
	if lv := obj(p, "logView"); str(lv, "logViewId") != "" {
		id = str(lv, "logViewId")
	} else if s := str(p, "sourceId"); s != "" {
		id = s
	}
	if lv, ok := c.res.logViews[id]; ok {
		if lv.indices != "" {
			spec.index = lv.indices
			return
		}
		if ip, ok := c.res.indexPatterns[lv.dataViewID]; ok {
			spec.index, spec.timeField = ip.title, ip.timeField
			return
		}
	}
	if id == "default" {
		spec.index = defaultLogIndices
		spec.reasons.Addf(fidelity.Approximate, "log_view_assumed",
			"the rule reads Kibana's default log view, which is not in the batch, so the indices are taken to be Kibana's default %s; check them against your log view", defaultLogIndices)
		return
	}
	spec.reasons.Addf(fidelity.Approximate, "log_view_missing",
		"the log view %q is not in the batch, so its indices are unknown and the mapping entry cannot be chosen by index; export it with the rule", id)
}
