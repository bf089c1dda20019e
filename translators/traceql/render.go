package traceql

import (
	"fmt"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Scope is the attribute scope that tag conditions compare.
type Scope string

// The scopes of Options.Scope.
const (
	// ScopeAny compares the unscoped attribute .key, which TraceQL
	// evaluates against span and resource attributes, as Jaeger searches
	// span and process tags. The zero Scope behaves as ScopeAny.
	ScopeAny Scope = "any"
	// ScopeSpan compares span.key: process tags are not searched.
	ScopeSpan Scope = "span"
	// ScopeResource compares resource.key: span tags are not searched.
	ScopeResource Scope = "resource"
)

// ParseScope reads any, span or resource.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeAny, "":
		return ScopeAny, nil
	case ScopeSpan, ScopeResource:
		return Scope(s), nil
	}
	return "", fmt.Errorf("invalid tag scope %q: use any, span or resource", s)
}

// Options change how Render writes a search. The zero Options are the
// defaults described on each field.
type Options struct {
	// Scope is where tags are compared; see Scope.
	Scope Scope
	// Events also compares each tag with span event attributes (event.key).
	// Jaeger searches span log fields, which became events, so without
	// Events the result is approximate and a reason names the gap.
	Events bool
	// ErrorAttribute means that spans may carry an error attribute besides their
	// status: error tags written as strings, which the OpenTelemetry Jaeger
	// translator keeps as attributes, or spans that reached Tempo over OTLP
	// with an error attribute. error=true then becomes
	// (status = error || .error = true || .error = "true").
	ErrorAttribute bool
	// RegexTagValues means that the Jaeger storage was Elasticsearch or
	// OpenSearch, which match tag values as anchored regular expressions.
	// Values with regex metacharacters are then graded approximate.
	RegexTagValues bool
	// KeepVariables keeps Grafana template variables ($var, ${var}) in
	// values as variables, for dashboards. Otherwise "$" is literal text.
	// A variable in a tag key cannot be kept, so that tag is left out, and a
	// variable written alone in place of tags makes the result unsupported.
	KeepVariables bool
	// OmitMostRecent leaves out with (most_recent=true), for Tempo versions
	// without query hints.
	OmitMostRecent bool
	// SpansPerSpanSet sets Tempo's spss parameter when positive; Tempo's
	// default is 3 spans per trace in search results.
	SpansPerSpanSet int
	// Now turns a relative lookback into Tempo start and end, and is the end
	// of a search with a start and no end. When zero, or outside the times
	// a window may hold (1973-03-03 to the end of the year 9999), a relative
	// lookback appears only in Result.Range.
	Now time.Time
	// DashboardTimeRange means the search runs in a Grafana dashboard, which
	// sends its time range to Jaeger and to Tempo alike, so a search without
	// a window of its own is not graded as unbounded.
	DashboardTimeRange bool
}

// Params are the Tempo search parameters that are not part of TraceQL, for
// /api/search. A zero field does not apply.
type Params struct {
	// Start and End are the time window in seconds since the epoch.
	Start int64 `json:"start,omitempty"`
	End   int64 `json:"end,omitempty"`
	// Limit is the number of traces to return.
	Limit int `json:"limit,omitempty"`
	// SpansPerSpanSet is the number of matching spans returned per trace.
	SpansPerSpanSet int `json:"spss,omitempty"`
}

// TimeRange is the time window of a search, relative (now-1h) or in RFC 3339.
// An empty Start means the search gave none.
type TimeRange struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end"`
}

// Result is one rendered search.
type Result struct {
	// Query is the TraceQL text, or "" when Fidelity is Unsupported.
	Query    string
	Fidelity fidelity.Level
	Reasons  fidelity.Reasons
	// Tempo holds the search parameters outside TraceQL.
	Tempo Params
	// Range is the search's time window as written, or nil.
	Range *TimeRange
}

// mostRecentHint requests the most recent matching traces from Tempo, as
// Jaeger returns them.
const mostRecentHint = " with (most_recent=true)"

type renderer struct {
	opts    Options
	reasons fidelity.Reasons
	params  Params
	rng     *TimeRange
	// attrTags counts tags compared as attributes, for the notes on scope
	// and log fields.
	attrTags int
}

// Render writes a search as one TraceQL spanset filter and the Tempo search
// parameters around it, and grades the result. It does not fail: a search
// that Jaeger would reject, or that TraceQL cannot express, gives an
// unsupported result whose reasons give the cause.
func Render(s Search, opts Options) Result {
	r := &renderer{opts: opts}
	if len(s.TraceIDs) > 0 {
		return r.traceLookup(s)
	}
	if s.Service == "" {
		r.add(fidelity.Unsupported, "missing_service",
			"the search has no service, and Jaeger rejects a search without one")
		return r.unsupported()
	}
	minDur, maxDur, ok := r.durations(s)
	if !ok || !r.checkWindow(s) {
		return r.unsupported()
	}

	conds := r.conditions(s, minDur, maxDur)
	if r.reasons.Level() == fidelity.Unsupported {
		return r.unsupported()
	}
	if len(conds) == 0 {
		r.add(fidelity.Unsupported, "nothing_translatable",
			"no condition of the search could be written in TraceQL")
		return r.unsupported()
	}
	query := "{ " + strings.Join(conds, " && ") + " }"
	if !opts.OmitMostRecent {
		query += mostRecentHint
	}

	r.window(s)
	r.limit(s)
	if opts.SpansPerSpanSet > 0 {
		r.params.SpansPerSpanSet = opts.SpansPerSpanSet
	}
	r.notes(s, minDur+maxDur > 0)
	return r.result(query)
}

// Text returns the TraceQL text, or "" for an unsupported result.
func (r Result) Text() string { return r.Query }

func (r *renderer) add(level fidelity.Level, code, format string, args ...any) {
	r.reasons.Addf(level, code, format, args...)
}

func (r *renderer) result(query string) Result {
	return Result{
		Query:    query,
		Fidelity: r.reasons.Level(),
		Reasons:  r.reasons,
		Tempo:    r.params,
		Range:    r.rng,
	}
}

func (r *renderer) unsupported() Result {
	return Result{Fidelity: fidelity.Unsupported, Reasons: r.reasons}
}

// conditions returns the conditions that one span must meet, in the order
// service, operation, tags, durations.
func (r *renderer) conditions(s Search, minDur, maxDur time.Duration) []string {
	var conds []string
	if c, ok := r.stringField("resource.service.name", "service", s.Service); ok {
		conds = append(conds, c)
	}
	if s.Operation != "" {
		if c, ok := r.stringField("name", "operation", s.Operation); ok {
			conds = append(conds, c)
		}
	}
	conds = append(conds, r.tags(s.Tags)...)
	if minDur > 0 {
		conds = append(conds, "duration >= "+formatDuration(minDur))
	}
	if maxDur > 0 {
		conds = append(conds, "duration <= "+formatDuration(maxDur))
	}
	return conds
}

// stringField compares an intrinsic or resource field with a string.
func (r *renderer) stringField(field, what, value string) (string, bool) {
	r.noteDollar(what, value)
	lit, ok := quoteString(value)
	if !ok {
		r.add(fidelity.Approximate, "unrepresentable_value",
			"the %s %q cannot be written as a TraceQL string (%s); the condition was left out, which widens the search",
			what, value, unwritableWhy(value))
		return "", false
	}
	return field + " = " + lit, true
}

// durations parses the duration bounds; Jaeger rejects a search whose bounds
// do not parse or are reversed.
func (r *renderer) durations(s Search) (minDur, maxDur time.Duration, ok bool) {
	var err error
	if s.MinDuration != "" {
		if minDur, err = parseDuration(s.MinDuration); err != nil {
			r.add(fidelity.Unsupported, "invalid_duration", "minDuration %q: %v", s.MinDuration, err)
			return 0, 0, false
		}
	}
	if s.MaxDuration != "" {
		if maxDur, err = parseDuration(s.MaxDuration); err != nil {
			r.add(fidelity.Unsupported, "invalid_duration", "maxDuration %q: %v", s.MaxDuration, err)
			return 0, 0, false
		}
	}
	if minDur > 0 && maxDur > 0 && maxDur < minDur {
		r.add(fidelity.Unsupported, "invalid_duration",
			"maxDuration %s is shorter than minDuration %s, and Jaeger rejects such a search",
			s.MaxDuration, s.MinDuration)
		return 0, 0, false
	}
	return minDur, maxDur, true
}

// notes adds the reasons that concern the search as a whole.
func (r *renderer) notes(s Search, hasDurations bool) {
	if hasDurations && len(s.Tags) > 0 {
		r.add(fidelity.Exact, "duration_with_tags",
			"the search combines durations with tags, which Jaeger's Cassandra backend refuses; Tempo runs it")
	}
	if s.SpanKind != "" {
		r.add(fidelity.Exact, "span_kind_parameter",
			"spanKind=%s narrows Jaeger's list of operations only; its trace search ignores it, and so does this query",
			s.SpanKind)
	}
	if len(s.Ignored) > 0 {
		r.add(fidelity.Exact, "ignored_parameter",
			"the parameters %s play no part in a Jaeger trace search and were ignored", strings.Join(s.Ignored, ", "))
	}
}

// traceLookup writes a search by trace ID. Jaeger ignores every other
// parameter then.
func (r *renderer) traceLookup(s Search) Result {
	conds := make([]string, 0, len(s.TraceIDs))
	for _, id := range s.TraceIDs {
		if !traceIDPattern.MatchString(id) {
			r.add(fidelity.Unsupported, "invalid_trace_id",
				"trace ID %q is not up to 32 hexadecimal digits, and Jaeger rejects it", id)
			return r.unsupported()
		}
		padded := strings.Repeat("0", 32-len(id)) + strings.ToLower(id)
		conds = append(conds, `trace:id = "`+padded+`"`)
	}
	r.params.Limit = len(conds)
	r.add(fidelity.Approximate, "trace_id_lookup",
		"Jaeger finds traces by ID anywhere in its storage, while a Tempo search reads only its time window "+
			"(only recent data without start and end); Tempo's /api/v2/traces/<id> finds the trace anywhere")
	if s.Service != "" || len(s.Tags) > 0 || s.Operation != "" || s.MinDuration != "" || s.MaxDuration != "" {
		r.add(fidelity.Exact, "ignored_parameter",
			"the search gives trace IDs, so Jaeger ignores its other conditions, and so does this query")
	}
	return r.result("{ " + strings.Join(conds, " || ") + " }")
}

// unwritableWhy names what keeps s out of a TraceQL string.
func unwritableWhy(s string) string {
	switch {
	case !writable(s):
		return "Tempo rejects invalid UTF-8, NUL and byte order marks in a query"
	case strings.Contains(s, "`"):
		return "it has both a line break, which double-quoted strings cannot hold, and a backtick, " +
			"which raw strings cannot hold"
	}
	return "it has both a line break and a carriage return, which raw strings drop"
}
