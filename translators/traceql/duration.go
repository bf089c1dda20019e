package traceql

import (
	"fmt"
	"strconv"
	"time"
)

// parseDuration reads a Jaeger duration the way Jaeger's query service does,
// with Go's time.ParseDuration, and rejects negative durations.
func parseDuration(text string) (time.Duration, error) {
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("expected a duration such as 500ms, 1.2s or 100us (units ns, us, µs, ms, s, m, h): %w", err)
	}
	if d < 0 {
		return 0, fmt.Errorf("the duration is negative")
	}
	return d, nil
}

// durationUnits are TraceQL's duration units, largest first.
var durationUnits = []struct {
	name string
	size time.Duration
}{
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
	{"us", time.Microsecond},
	{"ns", time.Nanosecond},
}

// formatDuration writes d as a whole number of the largest unit that divides
// it, so 1.2s becomes 1200ms: Grafana's grammar takes one number and one
// unit, and Tempo reads the same value.
func formatDuration(d time.Duration) string {
	for _, u := range durationUnits {
		if d%u.size == 0 {
			return strconv.FormatInt(int64(d/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}
