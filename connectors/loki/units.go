package loki

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// sizeUnits are the byte-size units Loki accepts in limits_config. Loki
// 3.x parses sizes with github.com/c2h5oh/datasize after upper-casing them,
// so KB and KiB both mean 1024 bytes: max_line_size 256KB is reported as
// 262144 bytes in err_push_line_too_long_400.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
	"p": 1 << 50, "pb": 1 << 50, "pib": 1 << 50,
	"e": 1 << 60, "eb": 1 << 60, "eib": 1 << 60,
}

const sizeForms = "write a number and a unit (B, KB, MB, GB; 1KB = 1024 bytes), such as 256KB or 3MB"

// ParseByteSize parses a size as Loki writes it in limits_config, such as
// "256KB", "3MB", "1536KB" or "262144", into bytes. Fractions are rounded
// down to whole bytes.
func ParseByteSize(s string) (int64, error) {
	text := strings.TrimSpace(s)
	i := 0
	for i < len(text) && (text[i] >= '0' && text[i] <= '9' || text[i] == '.') {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: %s", s, sizeForms)
	}
	number, err := strconv.ParseFloat(text[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %s", s, sizeForms)
	}
	scale, ok := sizeUnits[strings.ToLower(strings.TrimSpace(text[i:]))]
	if !ok {
		return 0, fmt.Errorf("invalid size unit in %q: %s", s, sizeForms)
	}
	bytes := number * scale
	if bytes >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(bytes), nil
}

// durationUnits are the units of Loki's durations: Go's time.Duration
// units and Prometheus' d, w and y (365 days), which Loki 3.7.6 prints in
// /config as "1w" or "30d1h".
var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond,
	"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
}

const durationForms = "write numbers with units (ms, s, m, h, d, w, y), such as 10m, 168h, 1w or 30d1h"

// ParseDuration parses a duration as Loki writes it, such as "2h0m0s",
// "168h", "1w" or "30d1h". It accepts "0" alone without a unit and rejects
// negative values.
func ParseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	switch {
	case text == "":
		return 0, fmt.Errorf("missing duration: %s", durationForms)
	case text == "0":
		return 0, nil
	case strings.HasPrefix(text, "-"):
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	var total time.Duration
	for rest := text; rest != ""; {
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, fmt.Errorf("invalid duration %q: %s", s, durationForms)
		}
		j := strings.IndexAny(rest[i:], "0123456789.")
		if j < 0 {
			j = len(rest) - i
		}
		number, unit := rest[:i], rest[i:i+j]
		rest = rest[i+j:]
		scale, ok := durationUnits[unit]
		if !ok {
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q: %s", s, unit, durationForms)
		}
		value, err := strconv.ParseFloat(number, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %s", s, durationForms)
		}
		term := value * float64(scale)
		if term >= math.MaxInt64 || float64(total)+term >= math.MaxInt64 {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		total += time.Duration(term)
	}
	return total, nil
}
