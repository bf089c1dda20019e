package elasticsearch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// nanosFormat is the Elasticsearch date format of every date this package
// sends and of the time sort values it reads back. It keeps nanoseconds,
// so a date_nanos value survives the round trip unchanged.
const nanosFormat = "strict_date_optional_time_nanos"

// formatTime writes t in UTC with nine fraction digits, which nanosFormat
// parses on both date and date_nanos fields.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// timeRange returns a range filter on field for [from, to), written in
// nanosFormat. A zero from or to leaves that side open. With no bound at
// all it returns an exists filter, so documents without the field stay
// out, as they do with a bound.
func timeRange(field string, from, to time.Time) map[string]any {
	bounds := map[string]any{}
	if !from.IsZero() {
		bounds["gte"] = formatTime(from)
	}
	if !to.IsZero() {
		bounds["lt"] = formatTime(to)
	}
	if len(bounds) == 0 {
		return map[string]any{"exists": map[string]any{"field": field}}
	}
	bounds["format"] = nanosFormat
	return map[string]any{"range": map[string]any{field: bounds}}
}

// filterClauses returns the caller's query (when set) and the time range
// (when timeField is set) as filter clauses.
func filterClauses(query json.RawMessage, timeField string, from, to time.Time) ([]any, error) {
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, fmt.Errorf("elasticsearch: empty time range: from %s is not before to %s", formatTime(from), formatTime(to))
	}
	var filters []any
	if trimmed := bytes.TrimSpace(query); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		if !json.Valid(query) {
			return nil, errors.New("elasticsearch: the query is not valid JSON: pass a query DSL object such as {\"term\":{\"service.name\":\"checkout\"}}")
		}
		filters = append(filters, query)
	}
	if timeField != "" {
		filters = append(filters, timeRange(timeField, from, to))
	} else if !from.IsZero() || !to.IsZero() {
		return nil, errors.New("elasticsearch: a time range needs a time field: pass the field name, or zero times")
	}
	return filters, nil
}

// boolFilter wraps filter clauses in a bool query, which skips scoring.
func boolFilter(filters []any) map[string]any {
	return map[string]any{"bool": map[string]any{"filter": filters}}
}
