package traceql

import (
	"strconv"
	"time"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// window sets the Tempo start and end and the time range from the lookback
// and the start and end of the search.
func (r *renderer) window(s Search) {
	relative := s.Lookback != "" && s.Lookback != LookbackCustom
	if relative && !lookbackPattern.MatchString(s.Lookback) {
		r.add(fidelity.Approximate, "invalid_lookback",
			"the lookback %q is not a number and a unit such as 1h or 2d, and was ignored", s.Lookback)
		relative = false
	}
	switch {
	case relative:
		r.rng = &TimeRange{Start: "now-" + s.Lookback, End: "now"}
	case s.Start > 0 || s.End > 0:
		r.rng = &TimeRange{Start: rfc3339(s.Start), End: rfc3339(s.End)}
		if s.End == 0 {
			r.rng.End = "now"
		}
	}

	if s.Start > 0 {
		r.params.Start = s.Start / 1e6
	}
	if s.End > 0 {
		r.params.End = (s.End + 1e6 - 1) / 1e6
	}
	now := r.opts.Now
	if relative && s.Start == 0 && s.End == 0 && !now.IsZero() {
		r.params.Start = now.Add(-lookbackDuration(s.Lookback)).Unix()
		r.params.End = now.Unix()
	}
	if s.Start > 0 && s.End == 0 && !now.IsZero() {
		r.params.End = now.Unix()
	}

	if r.rng == nil && r.opts.DashboardTimeRange {
		r.add(fidelity.Approximate, "time_window",
			"Grafana sends the dashboard's time range to Jaeger and Tempo alike, but Jaeger keeps traces with "+
				"a matching span that starts inside it, while Tempo selects traces that overlap it")
		return
	}
	if r.rng == nil {
		r.add(fidelity.Approximate, "no_time_window",
			"the search has no time window: Jaeger's API then searches back from now by its configured lookback "+
				"(two days by default), while Tempo without start and end searches only recent data")
		return
	}
	r.add(fidelity.Approximate, "time_window",
		"Jaeger keeps traces with a matching span that starts inside the time window; Tempo's start and end "+
			"select traces that overlap it, in whole seconds")
}

// limit sets the Tempo limit to the number of traces Jaeger would return.
func (r *renderer) limit(s Search) {
	limit, source := s.Limit, ""
	if limit <= 0 {
		limit, source = DefaultAPILimit, " (the default of Jaeger's API)"
		if s.Form == FormUI {
			limit, source = DefaultUILimit, " (the Jaeger UI's default)"
		}
	}
	r.params.Limit = limit
	if r.opts.OmitMostRecent {
		r.add(fidelity.Approximate, "limit",
			"Jaeger returns the %d most recent traces with a matching span%s; Tempo's limit=%d returns the first %d "+
				"matching traces it finds, which need not be the most recent, and its querier may cap the limit",
			limit, source, limit, limit)
		return
	}
	r.add(fidelity.Approximate, "limit",
		"Jaeger returns the %d most recent traces with a matching span%s; Tempo's limit=%d with (most_recent=true) "+
			"asks for the most recent matching traces, and its querier may cap the limit",
		limit, source, limit)
}

// rfc3339 writes microseconds since the epoch in RFC 3339, or "" for 0.
func rfc3339(micros int64) string {
	if micros == 0 {
		return ""
	}
	return time.UnixMicro(micros).UTC().Format(time.RFC3339Nano)
}

// lookbackDuration reads a lookback that matched lookbackPattern.
func lookbackDuration(lookback string) time.Duration {
	n, _ := strconv.Atoi(lookback[:len(lookback)-1])
	unit := map[byte]time.Duration{
		's': time.Second, 'm': time.Minute, 'h': time.Hour,
		'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour,
	}[lookback[len(lookback)-1]]
	return time.Duration(n) * unit
}
