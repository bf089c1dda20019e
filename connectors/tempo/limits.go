package tempo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Limits are the Tempo limits a migration must stay within, for the
// tenant's default overrides. A zero value means Tempo enforces no limit,
// except for the two ingestion rates and IngestionTimeRangeSlack.
type Limits struct {
	// MaxBytesPerTrace is global.max_bytes_per_trace. Tempo drops the spans
	// that take a trace over it, and the OTLP/HTTP push still returns 200.
	MaxBytesPerTrace int64
	// IngestionRateLimitBytes and IngestionBurstSizeBytes are
	// ingestion.rate_limit_bytes (bytes per second) and
	// ingestion.burst_size_bytes. A push larger than the burst is always
	// rejected with RATE_LIMITED.
	IngestionRateLimitBytes, IngestionBurstSizeBytes int64
	// IngestionRateStrategy is ingestion.rate_strategy: "local" applies the
	// rates to each distributor, "global" shares them across the cluster.
	IngestionRateStrategy string
	// MaxTracesPerUser is ingestion.max_traces_per_user, the live (not yet
	// flushed) traces per tenant and per ingester or live store.
	MaxTracesPerUser int
	// MaxGlobalTracesPerUser is ingestion.max_global_traces_per_user, the
	// same limit across the cluster.
	MaxGlobalTracesPerUser int
	// IngestionTimeRangeSlack is the WAL's ingestion_time_range_slack: a
	// block's time range is clamped to its ingestion time plus or minus the
	// slack, so older spans are stored but a search by their own time
	// range does not find them.
	IngestionTimeRangeSlack time.Duration
	// MaxAttributeBytes is the length beyond which the distributor
	// truncates attribute keys and values, silently.
	MaxAttributeBytes int
	// MaxSearchDuration is the longest start-to-end range a search may
	// cover.
	MaxSearchDuration time.Duration
	// Source names where the values come from: "/status/config", "defaults
	// of Tempo 3.0.3" or a plan over one of those.
	Source string
}

// DefaultLimits returns the defaults of Tempo 3.0.3, for a Tempo whose
// configuration cannot be read and whose version is unknown.
func DefaultLimits() Limits {
	l, _ := DefaultLimitsFor("3.0.3")
	return l
}

// DefaultLimitsFor returns the defaults of a Tempo version such as "v2.9.1"
// or "3.0.3", read from Tempo's sources (modules/overrides,
// modules/distributor, modules/frontend and tempodb/wal at each release
// tag). It returns false, with the 3.0.3 defaults, for a version it does not
// know: one before 2.0 or after 3.x, or one it cannot parse.
func DefaultLimitsFor(version string) (Limits, bool) {
	major, minor, ok := parseVersion(version)
	l := Limits{
		MaxBytesPerTrace:        5_000_000,
		IngestionRateLimitBytes: 30_000_000,
		IngestionBurstSizeBytes: 30_000_000,
		IngestionRateStrategy:   "local",
		MaxTracesPerUser:        10_000,
		IngestionTimeRangeSlack: 2 * time.Minute,
		MaxAttributeBytes:       2048,
		MaxSearchDuration:       168 * time.Hour,
		Source:                  "defaults of Tempo 3.0.3",
	}
	if !ok || major < 2 || major > 3 {
		return l, false
	}
	if major == 2 {
		// Tempo 2.0 to 2.9 allowed 15 MB/s with a 20 MB burst. Attribute
		// truncation (max_attribute_bytes, default 2048) came in 2.8.
		l.IngestionRateLimitBytes = 15_000_000
		l.IngestionBurstSizeBytes = 20_000_000
		if minor < 8 {
			l.MaxAttributeBytes = 0
		}
	}
	l.Source = "defaults of Tempo " + strings.TrimPrefix(strings.TrimSpace(version), "v")
	return l, true
}

func parseVersion(v string) (major, minor int, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return !unicode.IsDigit(r) }))
	return major, minor, err1 == nil && err2 == nil
}

// Limits reads the limits from GET /status/config. When Tempo does not
// serve it (404, 403, 405 or 501, as behind a query gateway), the error
// wraps ErrConfigUnavailable and the caller falls back to the plan's
// limits.
//
// NOTE: /status/config shows the default overrides only. A tenant with
// runtime overrides (per_tenant_override_config) can have other limits.
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	resp, err := c.api.Do(ctx, httpx.Request{
		Method: http.MethodGet, Path: "/status/config",
		Header: http.Header{"Accept": {"text/plain"}},
	})
	if err != nil {
		wrapped := wrapHTTPError("reading the configuration", err)
		var te *Error
		if errors.As(wrapped, &te) {
			switch te.Status {
			case http.StatusNotFound, http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
				return Limits{}, &configUnavailableError{err: te}
			}
		}
		return Limits{}, wrapped
	}
	return ParseConfig(resp.Body)
}

// ParseConfig reads the limits from Tempo's /status/config output: YAML,
// after a first line "GET /status/config" and a "---" line, which it skips.
//
// Tempo 2.3 and later print the overrides in the scoped form
// (overrides.defaults.ingestion.rate_limit_bytes...) and leave out zero
// values, so a missing limit there is 0, which means no limit. Older
// versions print the flat form (overrides.ingestion_rate_limit_bytes...).
// The per-tenant max_attribute_bytes and max_search_duration fall back to
// distributor.max_attribute_bytes and query_frontend.search.max_duration
// when unset, as Tempo does.
func ParseConfig(data []byte) (Limits, error) {
	root, err := parseConfigYAML(data)
	if err != nil {
		return Limits{}, err
	}
	overrides, ok := root["overrides"].(map[string]any)
	if !ok {
		return Limits{}, errors.New("tempo configuration has no overrides section: pass the output of Tempo's /status/config")
	}
	l := Limits{Source: "/status/config"}
	if defaults, ok := overrides["defaults"].(map[string]any); ok {
		for _, key := range limitKeys {
			if key.scoped == "" {
				continue
			}
			if v, ok := lookup(defaults, key.scoped); ok {
				if err := key.set(&l, v); err != nil {
					return Limits{}, fmt.Errorf("tempo configuration: overrides.defaults.%s: %w", key.scoped, err)
				}
			}
		}
	} else {
		for _, key := range limitKeys {
			if v, ok := overrides[key.flat]; ok && key.scoped != "" {
				if err := key.set(&l, v); err != nil {
					return Limits{}, fmt.Errorf("tempo configuration: overrides.%s: %w", key.flat, err)
				}
			}
		}
	}
	if err := applyClusterSettings(&l, root); err != nil {
		return Limits{}, err
	}
	return l, nil
}

func parseConfigYAML(data []byte) (map[string]any, error) {
	text := data
	if bytes.HasPrefix(bytes.TrimSpace(text), []byte("GET ")) {
		_, rest, found := bytes.Cut(text, []byte("\n---"))
		if !found {
			return nil, errors.New("tempo configuration: no \"---\" line after the GET /status/config header")
		}
		text = rest
	}
	var root map[string]any
	if err := yaml.Unmarshal(text, &root); err != nil {
		return nil, fmt.Errorf("tempo configuration: invalid YAML: %w", err)
	}
	if root == nil {
		return nil, errors.New("tempo configuration is empty: pass the output of Tempo's /status/config")
	}
	return root, nil
}

// applyClusterSettings fills the limits that come from component settings
// rather than from the overrides.
func applyClusterSettings(l *Limits, root map[string]any) error {
	if l.MaxAttributeBytes == 0 {
		if v, ok := lookup(root, "distributor.max_attribute_bytes"); ok {
			n, err := parseCount(v)
			if err != nil {
				return fmt.Errorf("tempo configuration: distributor.max_attribute_bytes: %w", err)
			}
			l.MaxAttributeBytes = n
		}
	}
	if l.MaxSearchDuration == 0 {
		if v, ok := lookup(root, "query_frontend.search.max_duration"); ok {
			d, err := parseDuration(v)
			if err != nil {
				return fmt.Errorf("tempo configuration: query_frontend.search.max_duration: %w", err)
			}
			l.MaxSearchDuration = d
		}
	}
	slack, err := ingestionSlack(root)
	if err != nil {
		return err
	}
	l.IngestionTimeRangeSlack = slack
	return nil
}

// ingestionSlack picks the ingestion_time_range_slack of the WAL that
// stores incoming spans. Tempo 2.x has ingesters, which write the WAL of
// storage.trace.wal. Tempo 3.x writes through the live store
// (live_store.wal). Outside the single binary (target "all"), Tempo 3.x
// also builds backend blocks in block builders, whose block_builder.wal
// slack then limits the stored time range too, so the smaller one applies.
func ingestionSlack(root map[string]any) (time.Duration, error) {
	read := func(path string) (time.Duration, bool, error) {
		v, ok := lookup(root, path)
		if !ok {
			return 0, false, nil
		}
		d, err := parseDuration(v)
		if err != nil {
			return 0, false, fmt.Errorf("tempo configuration: %s: %w", path, err)
		}
		return d, true, nil
	}
	const (
		ingesterWAL     = "storage.trace.wal.ingestion_time_range_slack"
		liveStoreWAL    = "live_store.wal.ingestion_time_range_slack"
		blockBuilderWAL = "block_builder.wal.ingestion_time_range_slack"
	)
	if _, hasIngester := root["ingester"]; !hasIngester {
		live, ok, err := read(liveStoreWAL)
		if err != nil {
			return 0, err
		}
		if ok {
			if target, _ := root["target"].(string); target != "all" {
				builder, ok, err := read(blockBuilderWAL)
				if err != nil {
					return 0, err
				}
				if ok && builder < live {
					live = builder
				}
			}
			return live, nil
		}
	}
	d, ok, err := read(ingesterWAL)
	if err != nil || ok {
		return d, err
	}
	// NOTE: every Tempo 2.x and 3.x prints one of the WAL settings, so this
	// default is reached only for a hand-written configuration.
	return DefaultLimits().IngestionTimeRangeSlack, nil
}

// lookup returns the value at a dotted path of nested YAML mappings.
func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = mm[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// limitKey is one limit under its Tempo names: flat is the legacy override
// key (and the plan key), scoped the path under overrides.defaults in Tempo
// 2.3 and later, empty for a setting that is not a per-tenant override.
type limitKey struct {
	flat, scoped string
	set          func(l *Limits, v any) error
}

var limitKeys = []limitKey{
	{"max_bytes_per_trace", "global.max_bytes_per_trace", setBytes(func(l *Limits) *int64 { return &l.MaxBytesPerTrace })},
	{"ingestion_rate_limit_bytes", "ingestion.rate_limit_bytes", setBytes(func(l *Limits) *int64 { return &l.IngestionRateLimitBytes })},
	{"ingestion_burst_size_bytes", "ingestion.burst_size_bytes", setBytes(func(l *Limits) *int64 { return &l.IngestionBurstSizeBytes })},
	{"ingestion_rate_strategy", "ingestion.rate_strategy", setStrategy},
	{"max_traces_per_user", "ingestion.max_traces_per_user", setCount(func(l *Limits) *int { return &l.MaxTracesPerUser })},
	{"max_global_traces_per_user", "ingestion.max_global_traces_per_user", setCount(func(l *Limits) *int { return &l.MaxGlobalTracesPerUser })},
	{"ingestion_max_attribute_bytes", "ingestion.max_attribute_bytes", setAttributeBytes},
	{"max_search_duration", "read.max_search_duration", setDuration(func(l *Limits) *time.Duration { return &l.MaxSearchDuration })},
	// Component settings a plan may give as well.
	{"max_attribute_bytes", "", setAttributeBytes},
	{"ingestion_time_range_slack", "", setDuration(func(l *Limits) *time.Duration { return &l.IngestionTimeRangeSlack })},
}

// LimitsFromMap applies a plan's limits over base. Keys are Tempo's own:
// the flat override keys (max_bytes_per_trace, ingestion_rate_limit_bytes,
// ingestion_burst_size_bytes, ingestion_rate_strategy, max_traces_per_user,
// max_global_traces_per_user, ingestion_max_attribute_bytes,
// max_search_duration), the scoped ones nested under ingestion, global and
// read, plus max_attribute_bytes and ingestion_time_range_slack. Sizes take
// a number of bytes or a number and a unit. KB, MB and GB are powers of
// 1000, and KiB, MiB and GiB powers of 1024. Durations take Go units plus d,
// w and y. An unknown key is an error that names it.
func LimitsFromMap(m map[string]any, base Limits) (Limits, error) {
	l := base
	var applied []string
	for _, key := range sortedKeys(m) {
		v := m[key]
		if section, ok := asMap(v); ok {
			for _, sub := range sortedKeys(section) {
				path := key + "." + sub
				k, found := findKey(func(k limitKey) bool { return k.scoped == path })
				if !found {
					return base, unknownLimitError(path)
				}
				if err := k.set(&l, section[sub]); err != nil {
					return base, fmt.Errorf("tempo limit %s: %w", path, err)
				}
				applied = append(applied, path)
			}
			continue
		}
		k, found := findKey(func(k limitKey) bool { return k.flat == key })
		if !found {
			return base, unknownLimitError(key)
		}
		if err := k.set(&l, v); err != nil {
			return base, fmt.Errorf("tempo limit %s: %w", key, err)
		}
		applied = append(applied, key)
	}
	if len(applied) > 0 {
		l.Source = "plan (" + strings.Join(applied, ", ") + ")"
		if base.Source != "" {
			l.Source += " over " + base.Source
		}
	}
	return l, nil
}

func findKey(match func(limitKey) bool) (limitKey, bool) {
	for _, k := range limitKeys {
		if match(k) {
			return k, true
		}
	}
	return limitKey{}, false
}

func unknownLimitError(key string) error {
	var known []string
	for _, k := range limitKeys {
		known = append(known, k.flat)
	}
	return fmt.Errorf("unknown tempo limit %q: use one of %s, or the scoped keys under ingestion, global and read",
		key, strings.Join(known, ", "))
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func setBytes(field func(*Limits) *int64) func(*Limits, any) error {
	return func(l *Limits, v any) error {
		n, err := parseBytes(v)
		if err == nil {
			*field(l) = n
		}
		return err
	}
}

func setCount(field func(*Limits) *int) func(*Limits, any) error {
	return func(l *Limits, v any) error {
		n, err := parseCount(v)
		if err == nil {
			*field(l) = n
		}
		return err
	}
}

func setDuration(field func(*Limits) *time.Duration) func(*Limits, any) error {
	return func(l *Limits, v any) error {
		d, err := parseDuration(v)
		if err == nil {
			*field(l) = d
		}
		return err
	}
}

func setAttributeBytes(l *Limits, v any) error {
	n, err := parseBytes(v)
	if err != nil {
		return err
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("%d bytes is too large for an attribute limit", n)
	}
	l.MaxAttributeBytes = int(n)
	return nil
}

func setStrategy(l *Limits, v any) error {
	s, ok := v.(string)
	if !ok || (s != "local" && s != "global") {
		return fmt.Errorf("invalid rate strategy %v: use local or global", v)
	}
	l.IngestionRateStrategy = s
	return nil
}

// byteUnits are the size units parseBytes accepts, in lower case.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

const byteForms = "use a number of bytes, or a number and a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB) such as 5MB or 50MiB"

// parseBytes reads a size: a non-negative whole number, or a string with an
// optional unit.
func parseBytes(v any) (int64, error) {
	if s, ok := v.(string); ok {
		text := strings.TrimSpace(s)
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return wholeNumber(f, s)
		}
		i := strings.IndexFunc(text, func(r rune) bool { return unicode.IsLetter(r) })
		if i <= 0 {
			return 0, fmt.Errorf("invalid size %q: %s", s, byteForms)
		}
		scale, ok := byteUnits[strings.ToLower(strings.TrimSpace(text[i:]))]
		if !ok {
			return 0, fmt.Errorf("invalid size %q: unknown unit: %s", s, byteForms)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(text[:i]), 64)
		if err != nil {
			return 0, fmt.Errorf("invalid size %q: %s", s, byteForms)
		}
		return wholeNumber(f*float64(scale), s)
	}
	f, ok := number(v)
	if !ok {
		return 0, fmt.Errorf("invalid size %v (%T): %s", v, v, byteForms)
	}
	return wholeNumber(f, v)
}

// parseCount reads a non-negative whole number, as a number or a string.
func parseCount(v any) (int, error) {
	f, ok := number(v)
	if s, isString := v.(string); isString {
		var err error
		f, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
		ok = err == nil
	}
	if !ok {
		return 0, fmt.Errorf("invalid count %v (%T): use a whole number", v, v)
	}
	n, err := wholeNumber(f, v)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("count %v is too large", v)
	}
	return int(n), nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func wholeNumber(f float64, orig any) (int64, error) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("invalid number %v", orig)
	case f < 0:
		return 0, fmt.Errorf("invalid value %v: must not be negative", orig)
	case f >= math.MaxInt64:
		return 0, fmt.Errorf("value %v is too large", orig)
	case f != math.Trunc(f):
		return 0, fmt.Errorf("invalid value %v: must be a whole number", orig)
	}
	return int64(f), nil
}

const durationForms = "use a number and a unit (ms, s, m, h, d, w or y), such as 90s, 1h30m, 14d or 87600h"

// parseDuration reads a duration as Tempo prints it: Go's form
// ("87600h0m0s") or Prometheus' form with d, w and y ("10y", "1w"). A
// number is accepted only when it is 0.
func parseDuration(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		if f, isNumber := number(v); isNumber && f == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("invalid duration %v: %s", v, durationForms)
	}
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if s == "" || strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("invalid duration %q: %s", s, durationForms)
	}
	var total time.Duration
	for rest := s; rest != ""; {
		i := strings.IndexFunc(rest, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
		if i <= 0 {
			return 0, fmt.Errorf("invalid duration %q: %s", s, durationForms)
		}
		num, tail := rest[:i], rest[i:]
		j := strings.IndexFunc(tail, func(r rune) bool { return !unicode.IsLetter(r) })
		if j < 0 {
			j = len(tail)
		}
		unit := tail[:j]
		rest = tail[j:]
		d, err := durationTerm(num, unit)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %w", s, err)
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		total += d
	}
	return total, nil
}

// durationTerm converts one number and unit. Days, weeks and years are
// counted in hours first, so time.ParseDuration keeps its precision.
func durationTerm(num, unit string) (time.Duration, error) {
	hours := time.Duration(1)
	switch unit {
	case "d":
		unit, hours = "h", 24
	case "w":
		unit, hours = "h", 7*24
	case "y":
		unit, hours = "h", 365*24
	case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
	default:
		return 0, fmt.Errorf("unknown unit %q: %s", unit, durationForms)
	}
	d, err := time.ParseDuration(num + unit)
	if err != nil {
		if _, numErr := strconv.ParseFloat(num, 64); numErr == nil {
			return 0, errors.New("too long")
		}
		return 0, errors.New(durationForms)
	}
	if d > math.MaxInt64/hours {
		return 0, errors.New("too long")
	}
	return d * hours, nil
}
