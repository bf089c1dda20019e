package loki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Sources of a Limits value.
const (
	SourceConfigEndpoint = "config endpoint"
	SourcePlan           = "plan"
	SourceDefaults       = "defaults"
)

// ErrConfigUnavailable is wrapped by Client.Limits when Loki's /config
// endpoint cannot be read (404, 403, or a body that is not Loki's
// configuration), so the caller can fall back to limits from the plan.
var ErrConfigUnavailable = errors.New("loki: /config is not available")

// Limits are the Loki limits that decide whether a push or query is
// accepted. Sizes and rates are in bytes (rates per second), and a zero
// size, count or duration means no limit, as in Loki. The comment of each
// field names its limits_config key.
type Limits struct {
	// IngestionRateBytes is ingestion_rate_mb in bytes per second.
	IngestionRateBytes int64
	// IngestionBurstBytes is ingestion_burst_size_mb in bytes: the largest
	// push the tenant can ever send.
	IngestionBurstBytes int64
	// PerStreamRateBytes is per_stream_rate_limit in bytes per second.
	PerStreamRateBytes int64
	// PerStreamBurstBytes is per_stream_rate_limit_burst.
	PerStreamBurstBytes int64
	// MaxGlobalStreamsPerUser is max_global_streams_per_user.
	MaxGlobalStreamsPerUser int
	// MaxLocalStreamsPerUser is max_streams_per_user (per ingester).
	MaxLocalStreamsPerUser int
	// MaxLabelNamesPerSeries is max_label_names_per_series. The
	// service_name label that Loki adds is not counted.
	MaxLabelNamesPerSeries int
	// MaxLabelNameLength is max_label_name_length.
	MaxLabelNameLength int
	// MaxLabelValueLength is max_label_value_length.
	MaxLabelValueLength int
	// MaxLineSize is max_line_size in bytes.
	MaxLineSize int64
	// MaxLineSizeTruncate is max_line_size_truncate.
	MaxLineSizeTruncate bool
	// AllowStructuredMetadata is allow_structured_metadata.
	AllowStructuredMetadata bool
	// MaxStructuredMetadataSize is max_structured_metadata_size in bytes.
	MaxStructuredMetadataSize int64
	// MaxStructuredMetadataEntries is max_structured_metadata_entries_count.
	MaxStructuredMetadataEntries int
	// RejectOldSamples is reject_old_samples.
	RejectOldSamples bool
	// RejectOldSamplesMaxAge is reject_old_samples_max_age.
	RejectOldSamplesMaxAge time.Duration
	// CreationGracePeriod is creation_grace_period: how far in the future
	// an entry may be.
	CreationGracePeriod time.Duration
	// MaxChunkAge is the ingester's max_chunk_age. Half of it is the
	// out-of-order window.
	MaxChunkAge time.Duration
	// MaxQueryLength is max_query_length.
	MaxQueryLength time.Duration
	// MaxQuerySeries is max_query_series.
	MaxQuerySeries int
	// MaxEntriesLimitPerQuery is max_entries_limit_per_query.
	MaxEntriesLimitPerQuery int
	// VolumeEnabled is volume_enabled.
	VolumeEnabled bool
	// Source is the origin of the values: SourceConfigEndpoint, SourcePlan
	// or SourceDefaults.
	Source string
}

// bytesPerMB is Loki's factor for ingestion_rate_mb and
// ingestion_burst_size_mb (bytesInMB in Loki's validation package).
const bytesPerMB = 1 << 20

// DefaultLimits returns Loki 3.x's defaults: the flag defaults of Loki's
// pkg/validation/limits.go and the ingester's max_chunk_age. The recorded
// /config of Loki 3.7.6 shows these values for every limit that its
// instances did not set (TestParseConfigRecordings).
func DefaultLimits() Limits {
	return Limits{
		IngestionRateBytes:           4 * bytesPerMB,
		IngestionBurstBytes:          6 * bytesPerMB,
		PerStreamRateBytes:           3 << 20,
		PerStreamBurstBytes:          15 << 20,
		MaxGlobalStreamsPerUser:      5000,
		MaxLocalStreamsPerUser:       0,
		MaxLabelNamesPerSeries:       15,
		MaxLabelNameLength:           1024,
		MaxLabelValueLength:          2048,
		MaxLineSize:                  256 << 10,
		MaxLineSizeTruncate:          false,
		AllowStructuredMetadata:      true,
		MaxStructuredMetadataSize:    64 << 10,
		MaxStructuredMetadataEntries: 128,
		RejectOldSamples:             true,
		RejectOldSamplesMaxAge:       7 * 24 * time.Hour,
		CreationGracePeriod:          10 * time.Minute,
		MaxChunkAge:                  2 * time.Hour,
		MaxQueryLength:               721 * time.Hour,
		MaxQuerySeries:               500,
		MaxEntriesLimitPerQuery:      5000,
		VolumeEnabled:                true,
		Source:                       SourceDefaults,
	}
}

// OutOfOrderWindow returns how far behind a stream's newest entry Loki
// still accepts an entry: max_chunk_age/2. Loki 3.7.6 applies it even with
// reject_old_samples false (err_push_entry_too_far_behind_main_400).
func (l Limits) OutOfOrderWindow() time.Duration {
	return l.MaxChunkAge / 2
}

// limitSetter stores one limits_config value in a Limits.
type limitSetter func(l *Limits, value any) error

// limitKeys maps the keys LimitsFromMap and ParseConfig read to setters.
var limitKeys = map[string]limitSetter{
	"ingestion_rate_mb":                     setMB(func(l *Limits) *int64 { return &l.IngestionRateBytes }),
	"ingestion_burst_size_mb":               setMB(func(l *Limits) *int64 { return &l.IngestionBurstBytes }),
	"per_stream_rate_limit":                 setSize(func(l *Limits) *int64 { return &l.PerStreamRateBytes }),
	"per_stream_rate_limit_burst":           setSize(func(l *Limits) *int64 { return &l.PerStreamBurstBytes }),
	"max_global_streams_per_user":           setInt(func(l *Limits) *int { return &l.MaxGlobalStreamsPerUser }),
	"max_streams_per_user":                  setInt(func(l *Limits) *int { return &l.MaxLocalStreamsPerUser }),
	"max_label_names_per_series":            setInt(func(l *Limits) *int { return &l.MaxLabelNamesPerSeries }),
	"max_label_name_length":                 setInt(func(l *Limits) *int { return &l.MaxLabelNameLength }),
	"max_label_value_length":                setInt(func(l *Limits) *int { return &l.MaxLabelValueLength }),
	"max_line_size":                         setSize(func(l *Limits) *int64 { return &l.MaxLineSize }),
	"max_line_size_truncate":                setBool(func(l *Limits) *bool { return &l.MaxLineSizeTruncate }),
	"allow_structured_metadata":             setBool(func(l *Limits) *bool { return &l.AllowStructuredMetadata }),
	"max_structured_metadata_size":          setSize(func(l *Limits) *int64 { return &l.MaxStructuredMetadataSize }),
	"max_structured_metadata_entries_count": setInt(func(l *Limits) *int { return &l.MaxStructuredMetadataEntries }),
	"reject_old_samples":                    setBool(func(l *Limits) *bool { return &l.RejectOldSamples }),
	"reject_old_samples_max_age":            setDuration(func(l *Limits) *time.Duration { return &l.RejectOldSamplesMaxAge }),
	"creation_grace_period":                 setDuration(func(l *Limits) *time.Duration { return &l.CreationGracePeriod }),
	"max_chunk_age":                         setDuration(func(l *Limits) *time.Duration { return &l.MaxChunkAge }),
	"max_query_length":                      setDuration(func(l *Limits) *time.Duration { return &l.MaxQueryLength }),
	"max_query_series":                      setInt(func(l *Limits) *int { return &l.MaxQuerySeries }),
	"max_entries_limit_per_query":           setInt(func(l *Limits) *int { return &l.MaxEntriesLimitPerQuery }),
	"volume_enabled":                        setBool(func(l *Limits) *bool { return &l.VolumeEnabled }),
}

// LimitKeys returns the keys LimitsFromMap accepts, sorted.
func LimitKeys() []string {
	keys := make([]string, 0, len(limitKeys))
	for k := range limitKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// LimitsFromMap returns base with the values of m applied. The keys are
// Loki's limits_config keys plus the ingester's max_chunk_age, and the
// values are written as in Loki's YAML: "256KB", "3MB", "168h", "1w", 4.
// An unknown key or a value of the wrong form is an error that names the
// key. Source becomes SourcePlan when m sets at least one key.
func LimitsFromMap(m map[string]any, base Limits) (Limits, error) {
	keys := sortedKeys(m)
	for _, key := range keys {
		set, ok := limitKeys[key]
		if !ok {
			return base, fmt.Errorf("loki limits: unknown key %q: use one of %s", key, strings.Join(LimitKeys(), ", "))
		}
		if err := set(&base, m[key]); err != nil {
			return base, fmt.Errorf("loki limits: %s: %w", key, err)
		}
	}
	if len(keys) > 0 {
		base.Source = SourcePlan
	}
	return base, nil
}

// configDocument is the part of Loki's /config YAML that ParseConfig reads.
type configDocument struct {
	LimitsConfig map[string]any `yaml:"limits_config"`
	Ingester     struct {
		MaxChunkAge any `yaml:"max_chunk_age"`
	} `yaml:"ingester"`
}

// ParseConfig reads the limits from Loki's /config output: the
// limits_config section and ingester.max_chunk_age. A limit missing from
// the YAML keeps its Loki 3.x default. Keys this package does not model
// are ignored. It returns an error wrapping ErrConfigUnavailable when the
// YAML has no limits_config section.
func ParseConfig(data []byte) (Limits, error) {
	doc, err := decodeConfig(data)
	if err != nil {
		return Limits{}, err
	}

	limits := DefaultLimits()
	for _, key := range sortedKeys(doc.LimitsConfig) {
		set, ok := limitKeys[key]
		if !ok || key == "max_chunk_age" {
			continue
		}
		if err := set(&limits, doc.LimitsConfig[key]); err != nil {
			return Limits{}, fmt.Errorf("loki /config: limits_config.%s: %w", key, err)
		}
	}
	if doc.Ingester.MaxChunkAge != nil {
		if err := limitKeys["max_chunk_age"](&limits, doc.Ingester.MaxChunkAge); err != nil {
			return Limits{}, fmt.Errorf("loki /config: ingester.max_chunk_age: %w", err)
		}
	}
	limits.Source = SourceConfigEndpoint
	return limits, nil
}

// decodeConfig decodes the sections of /config that ParseConfig reads. A
// body that is not a YAML mapping with limits_config, such as a proxy's
// login page, wraps ErrConfigUnavailable.
func decodeConfig(data []byte) (configDocument, error) {
	var doc configDocument
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		// Loki's /config is always valid YAML, so a body that is not is
		// some other page, such as a proxy's HTML login form.
		return doc, fmt.Errorf("%w: the body is not valid YAML (%v), so it is not Loki's /config output", ErrConfigUnavailable, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return doc, fmt.Errorf("%w: the body is not a YAML mapping, so it is not Loki's /config output", ErrConfigUnavailable)
	}
	if err := root.Decode(&doc); err != nil {
		return doc, fmt.Errorf("loki /config: invalid YAML: %w", err)
	}
	if doc.LimitsConfig == nil {
		return doc, fmt.Errorf("%w: the YAML has no limits_config section, so it is not Loki's /config output", ErrConfigUnavailable)
	}
	return doc, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Limits reads the effective limits from GET /config and keeps them for
// Push, which uses the burst sizes to tell a 429 that can never succeed.
// When /config returns 403 or 404, or a body without limits_config, the
// error wraps ErrConfigUnavailable.
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	resp, err := c.http.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/config"})
	if err != nil {
		switch httpx.StatusOf(err) {
		case http.StatusForbidden, http.StatusNotFound:
			return Limits{}, fmt.Errorf("%w: give the target's limits in the plan instead: %w", ErrConfigUnavailable, err)
		}
		return Limits{}, err
	}
	limits, err := ParseConfig(resp.Body)
	if err != nil {
		return Limits{}, fmt.Errorf("%s/config: %w", c.http.BaseURL(), err)
	}
	c.SetLimits(limits)
	return limits, nil
}

// SetLimits gives the client the target's limits, from the plan or from
// Limits. Push compares a rate-limited push with IngestionBurstBytes and
// PerStreamBurstBytes to tell a 429 that can never succeed.
func (c *Client) SetLimits(l Limits) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limits = &l
}

// KnownLimits returns the limits set by SetLimits or read by Limits, and
// false when the client has none.
func (c *Client) KnownLimits() (Limits, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limits == nil {
		return Limits{}, false
	}
	return *c.limits, true
}

func setMB(field func(*Limits) *int64) limitSetter {
	return func(l *Limits, value any) error {
		mb, err := toFloat(value)
		if err != nil {
			return err
		}
		if mb < 0 || mb*bytesPerMB >= math.MaxInt64 {
			return fmt.Errorf("invalid value %v: write megabytes as a number, such as 4 or 0.5", value)
		}
		*field(l) = int64(mb * bytesPerMB)
		return nil
	}
}

func setSize(field func(*Limits) *int64) limitSetter {
	return func(l *Limits, value any) error {
		var bytes int64
		switch v := value.(type) {
		case string:
			n, err := ParseByteSize(v)
			if err != nil {
				return err
			}
			bytes = n
		default:
			n, err := toInt64(value)
			if err != nil || n < 0 {
				return fmt.Errorf("invalid size %v: %s", value, sizeForms)
			}
			bytes = n
		}
		*field(l) = bytes
		return nil
	}
}

func setInt(field func(*Limits) *int) limitSetter {
	return func(l *Limits, value any) error {
		n, err := toInt64(value)
		if err != nil || n < 0 || n > math.MaxInt32 {
			return fmt.Errorf("invalid count %v: write a whole number, 0 or more", value)
		}
		*field(l) = int(n)
		return nil
	}
}

func setBool(field func(*Limits) *bool) limitSetter {
	return func(l *Limits, value any) error {
		switch v := value.(type) {
		case bool:
			*field(l) = v
		case string:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid boolean %q: write true or false", v)
			}
			*field(l) = b
		default:
			return fmt.Errorf("invalid boolean %v: write true or false", value)
		}
		return nil
	}
}

func setDuration(field func(*Limits) *time.Duration) limitSetter {
	return func(l *Limits, value any) error {
		switch v := value.(type) {
		case string:
			d, err := ParseDuration(v)
			if err != nil {
				return err
			}
			*field(l) = d
		case time.Duration:
			if v < 0 {
				return fmt.Errorf("invalid duration %v: must not be negative", v)
			}
			*field(l) = v
		default:
			n, err := toFloat(value)
			if err != nil || n != 0 {
				return fmt.Errorf("invalid duration %v: %s", value, durationForms)
			}
			*field(l) = 0
		}
		return nil
	}
}

// toFloat converts the number types that YAML and JSON decoders produce.
func toFloat(value any) (float64, error) {
	switch v := value.(type) {
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("invalid number %v", v)
		}
		return v, nil
	case json.Number:
		return toFloat(string(v))
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("invalid number %q", v)
		}
		return f, nil
	}
	return 0, fmt.Errorf("invalid number %v (%T)", value, value)
}

// toInt64 converts a whole number of any decoded type.
func toInt64(value any) (int64, error) {
	switch v := value.(type) {
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, fmt.Errorf("number %d is too large", v)
		}
		return int64(v), nil
	}
	f, err := toFloat(value)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0, fmt.Errorf("invalid whole number %v", value)
	}
	return int64(f), nil
}
