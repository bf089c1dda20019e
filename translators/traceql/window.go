package traceql

import (
	"time"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// checkWindow reports a start or end out of bounds, a window that ends
// before it starts, and a start after Options.Now when the end is left to
// Jaeger, which then ends the window at the current time.
func (r *renderer) checkWindow(s Search) bool {
	for _, t := range []struct {
		param  string
		micros int64
	}{{"start", s.Start}, {"end", s.End}} {
		if t.micros == 0 {
			continue
		}
		if problem := microsProblem(t.micros); problem != "" {
			r.add(fidelity.Unsupported, "invalid_time", "%s %d: %s", t.param, t.micros, problem)
			return false
		}
	}
	if s.Start > 0 && s.End > 0 && s.End < s.Start {
		r.add(fidelity.Unsupported, "invalid_time",
			"end %s is before start %s, so the window holds no span", rfc3339(s.End), rfc3339(s.Start))
		return false
	}
	if now, ok := r.clock(); ok && s.Start > 0 && s.End == 0 && s.Start > now.UnixMicro() {
		r.add(fidelity.Unsupported, "invalid_time",
			"start %s is after the current time %s, where Jaeger ends a search without end, "+
				"so the window holds no span", rfc3339(s.Start), formatTime(now))
		return false
	}
	return true
}

// window sets the Tempo start and end and the time range. A start or end
// decides the window, because Jaeger's API reads only them and the Jaeger
// UI computes them from its lookback when it runs a search. A lookback
// alone counts back from Options.Now. checkWindow has accepted s.
func (r *renderer) window(s Search) {
	relative := s.Lookback != "" && s.Lookback != LookbackCustom
	switch {
	case s.Start > 0 || s.End > 0:
		if relative {
			r.add(fidelity.Exact, "ignored_lookback",
				"the window follows start and end: the Jaeger UI computes them from the lookback %s when it "+
					"runs the search, and Jaeger's API ignores the lookback", s.Lookback)
		}
		r.absoluteWindow(s)
	case relative:
		r.relativeWindow(s.Lookback)
	}
	r.windowNote()
}

// absoluteWindow sets the window from start and end. Jaeger ends a search
// without end at the current time, and starts one without start at its
// configured lookback, which the search does not carry.
func (r *renderer) absoluteWindow(s Search) {
	r.rng = &TimeRange{Start: rfc3339(s.Start), End: rfc3339(s.End)}
	if s.Start > 0 {
		r.params.Start = secondsCovering(s.Start, false)
	}
	if s.End > 0 {
		r.params.End = secondsCovering(s.End, true)
		return
	}
	r.rng.End = "now"
	if now, ok := r.clock(); ok {
		r.params.End = now.Unix() // checkWindow made sure that start is not later
	}
}

// relativeWindow sets the window from a lookback, with Tempo start and end
// when Options.Now is usable.
func (r *renderer) relativeWindow(lookback string) {
	d, err := parseLookback(lookback)
	if err != nil {
		r.add(fidelity.Approximate, "invalid_lookback", "the lookback %q was ignored: %v", lookback, err)
		return
	}
	r.rng = &TimeRange{Start: "now-" + lookback, End: "now"}
	now, ok := r.clock()
	if !ok {
		return
	}
	// A lookback of up to 100 years can reach back before the epoch, where
	// Tempo's start would be negative. No trace is that old, so the window
	// starts at the earliest time accepted instead, which clock keeps
	// before now.
	r.params.Start = max(now.Add(-d).Unix(), secondsCovering(minMicros, false))
	r.params.End = now.Unix()
}

// windowNote grades the window.
func (r *renderer) windowNote() {
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

// clock returns Options.Now when it is set and within the times a window
// may hold, from 1973-03-03 to the end of the year 9999.
func (r *renderer) clock() (time.Time, bool) {
	now := r.opts.Now
	if now.IsZero() || now.Before(time.UnixMicro(minMicros)) || now.After(time.UnixMicro(maxMicros)) {
		return time.Time{}, false
	}
	return now, true
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
