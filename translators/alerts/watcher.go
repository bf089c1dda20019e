package alerts

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/esdsl"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// maxTrackedHits is the default of track_total_hits in Elasticsearch 7 and
// later. Above it, hits.total.value stops at 10000 with the relation gte.
const maxTrackedHits = 10000

// watchCompareOps maps the operators of a compare condition.
var watchCompareOps = map[string]string{
	"eq": opEQ, "not_eq": opNE, "gt": opGT, "gte": opGTE, "lt": opLT, "lte": opLTE,
}

// watchMetricAggs maps the single-value metric aggregations that a compare
// condition can read as aggregations.<name>.value.
var watchMetricAggs = map[string]logql.Aggregation{
	"avg": logql.AggAvg, "sum": logql.AggSum, "min": logql.AggMin, "max": logql.AggMax,
	"cardinality": logql.AggCardinality, "value_count": logql.AggCount,
}

// watchSpec reads a watch with a search input and a compare condition.
// Other inputs and conditions give an unsupported spec; a watch that lacks
// its trigger, input or condition gives an error.
func (c *converter) watchSpec(w *watch) (*ruleSpec, error) {
	spec := &ruleSpec{
		source: SourceWatcher, kind: KindWatch, id: w.id, name: watchName(w), origin: w.origin,
		interval: defaultInterval, agg: logql.AggCount, windowFromQuery: true, disabled: !w.active,
	}
	if strings.TrimSpace(w.id) == "" {
		return nil, missing("_id", "give the watch its _id, or name its file after the watch id")
	}
	if err := watchSchedule(spec, w.body); err != nil {
		return nil, err
	}
	watchNotes(spec, w.body)
	if !w.active {
		spec.reasons.Addf(fidelity.Exact, "watch_inactive", "the watch is deactivated, so %s", disabledFileNote)
	}
	body, err := watchSearch(spec, w.body)
	if err != nil || spec.reasons.Level() == fidelity.Unsupported {
		return spec, err
	}
	if err := watchCondition(spec, w.body, body); err != nil {
		return nil, err
	}
	return spec, nil
}

func watchName(w *watch) string {
	if name := str(obj(w.body, "metadata"), "name"); name != "" {
		return name
	}
	return w.id
}

// watchSchedule reads trigger.schedule. An interval becomes the group's
// interval. A cron, hourly, daily, weekly, monthly or yearly schedule has
// no counterpart, because Loki evaluates a group at a fixed interval.
func watchSchedule(spec *ruleSpec, w map[string]any) error {
	schedule := obj(obj(w, "trigger"), "schedule")
	if schedule == nil {
		return missing("trigger.schedule", "a watch needs a trigger such as {\"schedule\": {\"interval\": \"5m\"}}")
	}
	raw, ok := schedule["interval"]
	if !ok {
		kinds := sortedKeys(schedule)
		spec.reasons.Addf(fidelity.Approximate, "schedule_not_interval",
			"the watch runs on a %s schedule %s, but Loki evaluates rule groups at a fixed interval, so the rule is evaluated every %s and can fire at other times",
			strings.Join(kinds, ", "), compactJSON(schedule), formatDuration(defaultInterval))
		return nil
	}
	d, err := watchInterval(raw)
	if err != nil {
		return invalid("trigger.schedule.interval", raw, "give an interval of at least 1s, such as 30s, 5m or 1h")
	}
	spec.interval = d
	return nil
}

// watchInterval reads a Watcher interval: a number of seconds, or a number
// with the unit s, m, h, d or w. It rejects intervals below minInterval.
func watchInterval(v any) (time.Duration, error) {
	s := ""
	switch v := v.(type) {
	case float64:
		s = formatNumber(v) + "s"
	case string:
		s = strings.TrimSpace(v)
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			s += "s"
		}
	default:
		return 0, fmt.Errorf("interval is a JSON %s", jsonKind(v))
	}
	d, err := plans.ParseDuration(s)
	if err == nil && d < minInterval {
		err = fmt.Errorf("interval %q is shorter than %s", s, minInterval)
	}
	return d, err
}

// watchSearch reads input.search.request: the indices and the search body.
// It returns the body, or nil when the input has no LogQL form.
func watchSearch(spec *ruleSpec, w map[string]any) (map[string]any, error) {
	input := obj(w, "input")
	if input == nil {
		return nil, missing("input", "a watch needs an input; only a search input converts")
	}
	search := obj(input, "search")
	if search == nil {
		kinds := strings.Join(sortedKeys(input), ", ")
		spec.unsupported("input_unsupported",
			"the watch has a %s input; only a search input, whose hits Loki can count, converts", kinds)
		return nil, nil
	}
	request := obj(search, "request")
	if request == nil {
		return nil, missing("input.search.request", "a search input needs its request")
	}
	if request["template"] != nil || obj(search, "template") != nil {
		spec.unsupported("search_template", "the watch runs a search template, whose query is known only at run time; render the template and convert the query")
		return nil, nil
	}
	indices, ok := stringList(request["indices"])
	if !ok {
		return nil, invalid("input.search.request.indices", request["indices"], "indices must be a list of index names or patterns")
	}
	spec.index = strings.Join(indices, ",")

	body := obj(request, "body")
	spec.query = &ast.Query{Root: ast.MatchAll{}, Language: ast.ESDSL}
	if body == nil || body["query"] == nil {
		return body, nil
	}
	raw, _ := json.Marshal(body)
	q, err := esdsl.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w input.search.request.body: %w", ErrInvalidParam, err)
	}
	spec.query = q
	spec.original = compactJSON(body["query"])
	spec.timeField = rangeField(body["query"])
	return body, nil
}

// rangeField finds the field of the first range condition that counts back
// from now, which is the time field a watch limits its window on.
func rangeField(v any) string {
	switch v := v.(type) {
	case map[string]any:
		if rng := obj(v, "range"); rng != nil {
			for _, field := range sortedKeys(rng) {
				bounds := obj(rng, field)
				for _, k := range []string{"gte", "gt", "from"} {
					if s := str(bounds, k); strings.HasPrefix(s, "now") {
						return field
					}
				}
			}
		}
		for _, k := range sortedKeys(v) {
			if f := rangeField(v[k]); f != "" {
				return f
			}
		}
	case []any:
		for _, item := range v {
			if f := rangeField(item); f != "" {
				return f
			}
		}
	}
	return ""
}

// watchCondition reads condition.compare on the hit count or on the value
// of a single-value metric aggregation.
func watchCondition(spec *ruleSpec, w, body map[string]any) error {
	cond := obj(w, "condition")
	if cond == nil {
		return missing("condition", "a watch needs a condition; only compare converts")
	}
	compare := obj(cond, "compare")
	if compare == nil {
		kind := strings.Join(sortedKeys(cond), ", ")
		spec.unsupported("condition_unsupported",
			"the watch has a %s condition; only a compare condition on the hit count or on one metric aggregation converts (script and array_compare conditions need a person)", kind)
		return nil
	}
	if len(compare) != 1 {
		return invalid("condition.compare", fmt.Sprintf("%d paths", len(compare)), "a compare condition compares exactly one path")
	}
	path := sortedKeys(compare)[0]
	op, value, err := compareOperand(obj(compare, path), obj(w, "metadata"), "condition.compare."+path)
	if err != nil {
		return err
	}
	if spec.cond, err = newCondition(op, []float64{value}, "condition.compare."+path); err != nil {
		return err
	}
	return comparedValue(spec, strings.TrimPrefix(path, "ctx.payload."), body)
}

// compareOperand reads {"gt": 5}. A value that is a mustache reference to
// the watch's metadata, such as "{{ctx.metadata.threshold}}", is resolved.
func compareOperand(m, metadata map[string]any, path string) (string, float64, error) {
	if len(m) != 1 {
		return "", 0, invalid(path, m, "give one operator and value, such as {\"gt\": 5}")
	}
	name := sortedKeys(m)[0]
	op, ok := watchCompareOps[name]
	if !ok {
		return "", 0, invalid(path+"."+name, name, "use eq, not_eq, gt, gte, lt or lte")
	}
	raw := m[name]
	if s, isString := raw.(string); isString {
		raw = resolveMetadata(s, metadata)
	}
	value, ok := number(raw)
	if !ok {
		return "", 0, invalid(path+"."+name, m[name], "the compared value must be a finite number, such as 10, or a {{ctx.metadata.*}} reference to one")
	}
	return op, value, nil
}

func resolveMetadata(s string, metadata map[string]any) any {
	ref := strings.TrimSpace(s)
	if !strings.HasPrefix(ref, "{{") || !strings.HasSuffix(ref, "}}") {
		return s
	}
	ref = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(ref, "{{"), "}}"))
	keys, ok := strings.CutPrefix(ref, "ctx.metadata.")
	if !ok {
		return s
	}
	var cur any = metadata
	for _, k := range strings.Split(keys, ".") {
		m, isMap := cur.(map[string]any)
		if !isMap {
			return s
		}
		cur = m[k]
	}
	return cur
}

// comparedValue sets what the rule measures from the compared path.
func comparedValue(spec *ruleSpec, path string, body map[string]any) error {
	switch path {
	case "hits.total", "hits.total.value":
		if spec.cond.values[0] >= maxTrackedHits && body["track_total_hits"] != true {
			spec.reasons.Addf(fidelity.Approximate, "total_hits_capped",
				"Elasticsearch counts hits exactly only up to %d unless the search sets track_total_hits, so the watch compared a capped total; LogQL counts every line", maxTrackedHits)
		}
		return nil
	}
	rest, ok := strings.CutPrefix(path, "aggregations.")
	name, ok2 := strings.CutSuffix(rest, ".value")
	if !ok || !ok2 || strings.Contains(name, ".") {
		spec.unsupported("compare_path_unsupported",
			"the condition compares %s; only hits.total and aggregations.<name>.value of a top-level metric aggregation convert", path)
		return nil
	}
	return watchAggregation(spec, name, body)
}

// watchAggregation reads the metric aggregation a condition compares.
func watchAggregation(spec *ruleSpec, name string, body map[string]any) error {
	aggs := obj(body, "aggs")
	if aggs == nil {
		aggs = obj(body, "aggregations")
	}
	a := obj(aggs, name)
	if a == nil {
		return invalid("condition.compare", "aggregations."+name+".value",
			fmt.Sprintf("the search body has no aggregation %q", name))
	}

	types := make([]string, 0, len(a))
	for k := range a {
		if k != "aggs" && k != "aggregations" && k != "meta" {
			types = append(types, k)
		}
	}
	sort.Strings(types)
	if len(types) != 1 || watchMetricAggs[types[0]] == "" {
		spec.unsupported("aggregation_unsupported",
			"the condition compares the %s aggregation %q; only avg, sum, min, max, cardinality and value_count convert", strings.Join(types, ", "), name)
		return nil
	}

	settings := obj(a, types[0])
	field := str(settings, "field")
	if field == "" {
		spec.unsupported("aggregation_unsupported",
			"the %s aggregation %q has no field (a script computes it), and LogQL cannot run scripts", types[0], name)
		return nil
	}

	spec.agg, spec.field = watchMetricAggs[types[0]], field
	if types[0] == "value_count" {
		// value_count counts the documents that have the field.
		spec.agg, spec.field = logql.AggCount, ""
		spec.query = &ast.Query{
			Root:     ast.And{Children: []ast.Node{spec.query.Root, ast.Exists{Field: field}}},
			Language: spec.query.Language, Source: spec.query.Source, Notes: spec.query.Notes,
		}
	}
	if settings["missing"] != nil {
		spec.reasons.Addf(fidelity.Approximate, "missing_value_dropped",
			"the aggregation %q counts documents without %s as %v (missing); LogQL skips them", name, field, settings["missing"])
	}
	return nil
}

// windowFromRange takes a watch's window from its query's range on the
// time field, as now-5m to now. Without one, the watch counted every
// document of its indices; the rule then counts one evaluation interval.
func windowFromRange(spec *ruleSpec, rng *logql.TimeRange, reasons *fidelity.Reasons) {
	fallback := func(code, format string, args ...any) {
		spec.window = spec.interval
		reasons.Addf(fidelity.Approximate, code, format+"; the rule counts the last %s, one evaluation interval",
			append(args, formatDuration(spec.interval))...)
	}
	if rng == nil || rng.Start == "" {
		fallback("no_time_window",
			"the watch's query does not limit the time field with a range from now-…, so it counted every matching document")
		return
	}
	start, rounded, err := parseDateMath(rng.Start)
	if err != nil {
		fallback("time_window_unsupported", "the query's time range starts at %q, which is not now minus a duration (%v)", rng.Start, err)
		return
	}
	end, endRounded, err := parseDateMath(rng.End)
	if err != nil || end >= start {
		fallback("time_window_unsupported", "the query's time range ends at %q, which is not now or now minus a duration", rng.End)
		return
	}
	spec.window = start - end
	if rounded || endRounded {
		reasons.Addf(fidelity.Approximate, "time_window_rounded",
			"the query's time range %s to %s rounds to a calendar unit; the rule's window is a plain %s that ends at each evaluation", rng.Start, rng.End, spec.windowText())
	}
	if end > 0 {
		reasons.Addf(fidelity.Approximate, "time_window_shifted",
			"the query's time range ends %s before now; the rule's %s window ends at each evaluation", formatDuration(end), spec.windowText())
	}
}

// dateMathUnits are Elasticsearch date math units. Months and years are
// taken as 30 and 365 days.
var dateMathUnits = map[byte]time.Duration{
	's': time.Second, 'm': time.Minute, 'h': time.Hour, 'H': time.Hour,
	'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour,
}

// maxDateMath bounds a date math offset. A time.Duration holds about 292
// years, and no log window is longer than this bound.
const maxDateMath = 100 * 365 * 24 * time.Hour

// parseDateMath reads now, now-5m, now-1h-30m or now-1d/d and returns how
// far before now it is, and whether it rounds or uses a calendar unit.
func parseDateMath(s string) (time.Duration, bool, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "now")
	if !ok {
		return 0, false, fmt.Errorf("not relative to now")
	}
	var total time.Duration
	rounded := false
	for rest != "" {
		sign := rest[0]
		rest = rest[1:]
		if sign == '/' {
			if len(rest) == 0 || dateMathUnits[rest[0]] == 0 {
				return 0, false, fmt.Errorf("unknown rounding unit")
			}
			rounded, rest = true, rest[1:]
			continue
		}
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if (sign != '-' && sign != '+') || i <= 0 || dateMathUnits[rest[i]] == 0 {
			return 0, false, fmt.Errorf("expected -<number><unit>")
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || time.Duration(n) > maxDateMath/dateMathUnits[rest[i]] {
			return 0, false, fmt.Errorf("offset %s%c is longer than 100 years", rest[:i], rest[i])
		}
		if rest[i] == 'M' || rest[i] == 'y' {
			// Calendar months and years have no fixed length.
			rounded = true
		}
		d := time.Duration(n) * dateMathUnits[rest[i]]
		if sign == '+' {
			d = -d
		}
		total += d
		if total > maxDateMath || total < -maxDateMath {
			return 0, false, fmt.Errorf("offset is longer than 100 years")
		}
		rest = rest[i+1:]
	}
	return total, rounded, nil
}
