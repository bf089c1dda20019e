package traceql

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Bounds on the time window. They keep every conversion within int64 and
// every time within the years that RFC 3339 can write.
const (
	// minMicros is the earliest start or end accepted, 1e14 microseconds
	// since the epoch (1973-03-03T09:46:40Z). Seconds or milliseconds since
	// the epoch fall below it for any date before the year 5138.
	minMicros int64 = 1e14
	// maxMicros is the latest start or end accepted, the last microsecond
	// of the year 9999.
	maxMicros int64 = 253402300799999999
	// maxLookback is the longest lookback accepted: 100 years of 365 days.
	maxLookback = 100 * 365 * 24 * time.Hour
)

// Below minMicros, a value from secondsFrom up to millisFrom reads as
// seconds since the epoch between 1973 and 5138, and a value from
// millisFrom as milliseconds in the same years.
const (
	secondsFrom = minMicros / 1e6
	millisFrom  = minMicros / 1e3
)

// microsProblem returns what is wrong with a start or end given in
// microseconds since the epoch, or "" when it is within bounds.
func microsProblem(n int64) string {
	const expected = "Jaeger expects microseconds since the epoch"
	switch {
	case n <= 0:
		return "expected microseconds since the epoch, such as 1700000000000000"
	case n < secondsFrom:
		return expected + ", and a value below 1e14 (1973-03-03) is not one; write a time such as 1700000000000000"
	case n < millisFrom:
		return fmt.Sprintf("%s, and a value below 1e14 (1973-03-03) is not one; as seconds it is %s, "+
			"which is %d in microseconds", expected, formatTime(time.Unix(n, 0)), n*1e6)
	case n < minMicros:
		return fmt.Sprintf("%s, and a value below 1e14 (1973-03-03) is not one; as milliseconds it is %s, "+
			"which is %d in microseconds", expected, formatTime(time.UnixMilli(n)), n*1e3)
	case n > maxMicros:
		return fmt.Sprintf("%s, and this is after %s; if it is nanoseconds, it is %d in microseconds",
			expected, formatTime(time.UnixMicro(maxMicros)), n/1e3)
	}
	return ""
}

// lookbackUnits are the units of a Jaeger UI lookback.
var lookbackUnits = map[byte]time.Duration{
	's': time.Second, 'm': time.Minute, 'h': time.Hour,
	'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour,
}

// parseLookback reads a relative Jaeger UI lookback such as 1h or 2d, up to
// maxLookback.
func parseLookback(text string) (time.Duration, error) {
	if !lookbackPattern.MatchString(text) {
		return 0, errors.New("expected a number and a unit (s, m, h, d or w) such as 1h or 2d, or custom")
	}
	n, _ := strconv.ParseInt(text[:len(text)-1], 10, 64) // the pattern allows at most six digits
	unit := lookbackUnits[text[len(text)-1]]
	if n > int64(maxLookback/unit) {
		return 0, errors.New("it is longer than 100 years (36500d), the longest lookback accepted")
	}
	return time.Duration(n) * unit, nil
}

// rfc3339 writes microseconds since the epoch in RFC 3339, or "" for 0.
func rfc3339(micros int64) string {
	if micros == 0 {
		return ""
	}
	return formatTime(time.UnixMicro(micros))
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// secondsCovering returns the whole seconds since the epoch that start a
// window at micros (rounding down) or end one there (rounding up).
func secondsCovering(micros int64, end bool) int64 {
	if end {
		return (micros + 1e6 - 1) / 1e6
	}
	return micros / 1e6
}
