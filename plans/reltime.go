package plans

import (
	"fmt"
	"strings"
	"time"
)

// ParseTime parses a backfill bound: an RFC 3339 time, "now", or "now-"
// followed by a duration such as 30d or 1h. Relative times count back from
// now, which callers pin in the state at the first run so that later runs
// see the same range.
func ParseTime(value string, now time.Time) (time.Time, error) {
	switch {
	case value == "":
		return time.Time{}, fmt.Errorf("missing time: use RFC 3339, now, or now-DURATION such as now-30d")
	case value == "now":
		return now, nil
	case strings.HasPrefix(value, "now-"):
		d, err := ParseDuration(strings.TrimPrefix(value, "now-"))
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid relative time %q: %w", value, err)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q: use RFC 3339 such as "+
			"2024-05-01T00:00:00Z, now, or now-DURATION such as now-30d", value)
	}
	return t, nil
}
