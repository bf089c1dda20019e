package logql

import (
	"strconv"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// TimeRange is the query time range taken from conditions on the timestamp
// field, in the input's relative form (now-15m) or as RFC 3339. An empty
// Start means unbounded.
type TimeRange struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end"`
}

// extractTime removes the top-level conditions on the timestamp field and
// returns them as a time range. Conditions under OR or NOT stay in the tree,
// where they are reported as untranslatable.
func (r *renderer) extractTime(root ast.Node) (ast.Node, *TimeRange) {
	parts := []ast.Node{root}
	if and, ok := root.(ast.And); ok {
		parts = and.Children
	}
	var (
		keep []ast.Node
		tr   *TimeRange
	)
	for _, p := range parts {
		rg, ok := r.timeCondition(p)
		if !ok {
			keep = append(keep, p)
			continue
		}
		if tr == nil {
			tr = &TimeRange{}
		}
		r.applyRange(rg, tr)
	}
	if tr == nil {
		return root, nil
	}
	if tr.End == "" {
		tr.End = "now"
	}
	return simplify(ast.And{Children: keep}), tr
}

// timeCondition returns a condition on the timestamp field as a range.
func (r *renderer) timeCondition(n ast.Node) (ast.Range, bool) {
	tf := r.schema.TimeField()
	switch n := n.(type) {
	case ast.Range:
		if n.Field == tf {
			return n, true
		}
	case ast.Term:
		if n.Field == tf {
			r.reasons.Addf(fidelity.Approximate, "time_equality",
				"%s:%s compares the timestamp with one instant; it becomes a range from and to that instant", tf, n.Value)
			return ast.Range{Field: tf, From: n.Value, To: n.Value, HasFrom: true, HasTo: true, IncludeFrom: true, IncludeTo: true}, true
		}
	}
	return ast.Range{}, false
}

func (r *renderer) applyRange(rg ast.Range, tr *TimeRange) {
	if rg.HasFrom {
		v := r.convertTime(rg.From, rg.Format, rg.TimeZone, !rg.IncludeFrom)
		tr.Start = r.tighter(tr.Start, v, true)
	}
	if rg.HasTo {
		v := r.convertTime(rg.To, rg.Format, rg.TimeZone, rg.IncludeTo)
		tr.End = r.tighter(tr.End, v, false)
	}
}

// tighter keeps the narrower of two bounds when both are absolute times.
func (r *renderer) tighter(have, v string, start bool) string {
	if have == "" {
		return v
	}
	a, errA := time.Parse(time.RFC3339Nano, have)
	b, errB := time.Parse(time.RFC3339Nano, v)
	if errA != nil || errB != nil {
		r.reasons.Addf(fidelity.Approximate, "time_range_multiple",
			"the query bounds the timestamp more than once with relative times; the first bound (%s) is used", have)
		return have
	}
	if (start && b.After(a)) || (!start && b.Before(a)) {
		return v
	}
	return have
}

// convertTime turns an Elasticsearch date value into the range form: date
// math stays as written (Grafana reads now-15m and now/d), epoch numbers and
// zone-less dates become RFC 3339 in UTC or the given time zone. roundUp
// follows Elasticsearch, which rounds a date-only upper bound (lte, gt) to
// the end of the day.
func (r *renderer) convertTime(v, format, zone string, roundUp bool) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "now") {
		if strings.Contains(v, "/") {
			r.reasons.Addf(fidelity.Approximate, "time_rounding",
				"%s rounds to a calendar unit; Grafana rounds in the dashboard's time zone, Elasticsearch in UTC or the query's time_zone", v)
		}
		return v
	}
	if anchor, math, ok := strings.Cut(v, "||"); ok {
		r.reasons.Addf(fidelity.Approximate, "time_math_dropped",
			"the date math %q after %s is not applied to the time range", math, anchor)
		v = anchor
	}
	loc := time.UTC
	if zone != "" {
		if l, err := parseZone(zone); err == nil {
			loc = l
		} else {
			r.reasons.Addf(fidelity.Approximate, "time_zone_unknown", "unknown time_zone %q; UTC is used", zone)
		}
	}
	if isDigits(v) && len(v) <= 4 {
		// Elasticsearch's default date format reads four digits as a year.
		year, _ := strconv.Atoi(v)
		t := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
		if roundUp {
			t = t.AddDate(1, 0, 0).Add(-time.Millisecond)
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	if isDigits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			if strings.Contains(format, "epoch_second") {
				return time.Unix(n, 0).UTC().Format(time.RFC3339Nano)
			}
			return time.UnixMilli(n).UTC().Format(time.RFC3339Nano)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return v
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			r.zoneAssumed(v, zone)
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		r.zoneAssumed(v, zone)
		if roundUp {
			t = t.Add(24*time.Hour - time.Millisecond)
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	r.reasons.Addf(fidelity.Approximate, "time_format_unknown",
		"the time %q is not RFC 3339, a date, epoch milliseconds or date math; it is kept as written", v)
	return v
}

func parseZone(zone string) (*time.Location, error) {
	if len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' {
		h, err1 := strconv.Atoi(zone[1:3])
		m, err2 := strconv.Atoi(zone[4:6])
		if err1 == nil && err2 == nil {
			off := h*3600 + m*60
			if zone[0] == '-' {
				off = -off
			}
			return time.FixedZone(zone, off), nil
		}
	}
	return time.LoadLocation(zone)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// zoneAssumed notes a time written without a zone when the query gave none:
// Kibana sends the browser's zone with such times, UTC is assumed here.
func (r *renderer) zoneAssumed(v, zone string) {
	if zone != "" {
		return
	}
	r.reasons.Addf(fidelity.Approximate, "time_zone_assumed",
		"the time %s has no time zone; Kibana reads it in the browser's zone, here it is taken as UTC", v)
}
