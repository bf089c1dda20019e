package plans

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Duration is a span of time written in a plan as a string such as "5m",
// "1h30m", "14d" or "2w". The zero value means unset, and Default fills it.
type Duration struct {
	time.Duration
}

// durationForms names the accepted forms in every duration error.
const durationForms = "use a number and a unit (ns, us, ms, s, m, h, d or w), " +
	"such as 90s, 5m, 1h30m, 14d or 2w"

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// ParseDuration parses a duration as time.ParseDuration does, and also
// accepts the units d (24 hours) and w (7 days), alone or combined, as in
// "1w3d" or "1d12h". It rejects negative values and numbers without a unit,
// except "0".
func ParseDuration(s string) (time.Duration, error) {
	switch {
	case s == "":
		return 0, fmt.Errorf("missing duration: %s", durationForms)
	case s == "0":
		return 0, nil
	case strings.HasPrefix(s, "-"):
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	var total time.Duration
	for rest := s; rest != ""; {
		number, unit, tail := splitDurationTerm(rest)
		if number == "" || unit == "" {
			return 0, fmt.Errorf("invalid duration %q: %s", s, durationForms)
		}
		d, err := durationTerm(number, unit)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %w", s, err)
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		total += d
		rest = tail
	}
	return total, nil
}

// splitDurationTerm splits off the leading number and unit of s, as "1.5"
// and "h" from "1.5h30m".
func splitDurationTerm(s string) (number, unit, rest string) {
	i := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	if i < 0 {
		return s, "", ""
	}
	number, rest = s[:i], s[i:]
	j := strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) })
	if j < 0 {
		return number, rest, ""
	}
	return number, rest[:j], rest[j:]
}

// durationTerm converts one number and unit. Days and weeks are counted in
// hours first, so fractions such as 1.5d keep time.ParseDuration's
// precision.
func durationTerm(number, unit string) (time.Duration, error) {
	scale := time.Duration(1)
	switch unit {
	case "d":
		unit, scale = "h", day/time.Hour
	case "w":
		unit, scale = "h", week/time.Hour
	case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
	default:
		return 0, fmt.Errorf("unknown unit %q: %s", unit, durationForms)
	}
	d, err := time.ParseDuration(number + unit)
	if err != nil {
		// A well-formed number that time.ParseDuration rejects overflows.
		if _, numErr := strconv.ParseFloat(number, 64); numErr == nil {
			return 0, fmt.Errorf("too long")
		}
		return 0, fmt.Errorf("%s", durationForms)
	}
	if d > math.MaxInt64/scale {
		return 0, fmt.Errorf("too long")
	}
	return d * scale, nil
}

// String formats d like time.Duration.String without trailing zero units:
// "336h" in place of "336h0m0s", "1h30m" in place of "1h30m0s".
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// IsZero reports whether d is unset.
func (d Duration) IsZero() bool { return d.Duration == 0 }

// MarshalText encodes d in its compact form; encoding/json uses it too.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText decodes any form ParseDuration accepts.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalYAML encodes d as a string in its compact form.
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// UnmarshalYAML decodes a duration from a single YAML value. A bare number
// such as 10 is rejected for its missing unit.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration, found %s: %s", kindName(node), durationForms)
	}
	return d.UnmarshalText([]byte(node.Value))
}
