package loki

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/obs-migrate/migrate/internal/recording"
)

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
)

func TestParseConfigRecordings(t *testing.T) {
	defaults := DefaultLimits()
	tests := []struct {
		recording string
		want      Limits
	}{
		{
			// The "migration" Loki: limits raised for a backfill.
			recording: "status_config_yaml",
			want: func() Limits {
				l := defaults
				l.IngestionRateBytes, l.IngestionBurstBytes = 64*mib, 128*mib
				l.PerStreamRateBytes, l.PerStreamBurstBytes = 32*mib, 64*mib
				l.RejectOldSamples = false
				l.MaxQueryLength = 0
				l.Source = SourceConfigEndpoint
				return l
			}(),
		},
		{
			// The "defaults-like" Loki: small limits to provoke errors.
			recording: "defaults_status_config_yaml",
			want: func() Limits {
				l := defaults
				l.IngestionRateBytes, l.IngestionBurstBytes = mib, mib
				l.PerStreamRateBytes, l.PerStreamBurstBytes = 512*kib, 512*kib
				l.MaxGlobalStreamsPerUser = 20
				l.MaxQuerySeries = 50
				l.MaxQueryLength = 721 * time.Hour
				l.Source = SourceConfigEndpoint
				return l
			}(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.recording, func(t *testing.T) {
			got, err := ParseConfig(load(t, tc.recording).Response.Body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("limits differ (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseConfigDefaultsLikeServer checks each limit of the README's
// server table for the defaults-like Loki one by one.
func TestParseConfigDefaultsLikeServer(t *testing.T) {
	l, err := ParseConfig(load(t, "defaults_status_config_yaml").Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"reject_old_samples", l.RejectOldSamples, true},
		{"reject_old_samples_max_age", l.RejectOldSamplesMaxAge, 168 * time.Hour},
		{"creation_grace_period", l.CreationGracePeriod, 10 * time.Minute},
		{"max_line_size", l.MaxLineSize, 256 * kib},
		{"max_label_names_per_series", l.MaxLabelNamesPerSeries, 15},
		{"ingestion_rate_mb", l.IngestionRateBytes, mib},
		{"ingestion_burst_size_mb", l.IngestionBurstBytes, mib},
		{"per_stream_rate_limit", l.PerStreamRateBytes, 512 * kib},
		{"per_stream_rate_limit_burst", l.PerStreamBurstBytes, 512 * kib},
		{"max_global_streams_per_user", l.MaxGlobalStreamsPerUser, 20},
		{"max_structured_metadata_entries_count", l.MaxStructuredMetadataEntries, 128},
		{"max_query_series", l.MaxQuerySeries, 50},
		{"max_query_length (30d1h)", l.MaxQueryLength, 721 * time.Hour},
		{"max_entries_limit_per_query", l.MaxEntriesLimitPerQuery, 5000},
		{"max_chunk_age", l.MaxChunkAge, 2 * time.Hour},
		{"OutOfOrderWindow", l.OutOfOrderWindow(), time.Hour},
		{"Source", l.Source, SourceConfigEndpoint},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name        string
		yaml        string
		unavailable bool
		want        string
	}{
		{"not YAML", "limits_config: [", true, "not valid YAML"},
		{"no limits_config", "server:\n  http_listen_port: 3100\n", true, "no limits_config"},
		{"HTML page", "<html><body>login</body></html>", true, "not a YAML mapping"},
		{"bad size", "limits_config:\n  max_line_size: huge\n", false, "limits_config.max_line_size"},
		{"bad chunk age", "limits_config: {}\ningester:\n  max_chunk_age: 2 hours\n", false, "ingester.max_chunk_age"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil {
				t.Fatal("ParseConfig accepted the input")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
			if got := errors.Is(err, ErrConfigUnavailable); got != tc.unavailable {
				t.Errorf("errors.Is(err, ErrConfigUnavailable) = %v, want %v", got, tc.unavailable)
			}
		})
	}
}

func TestLimitsFromMapUnits(t *testing.T) {
	yamlPlan := `
ingestion_rate_mb: 4
ingestion_burst_size_mb: 6.5
per_stream_rate_limit: 3MB
per_stream_rate_limit_burst: 15mb
max_line_size: 256KB
max_structured_metadata_size: 65536
reject_old_samples: false
reject_old_samples_max_age: 1w
creation_grace_period: 10m
max_chunk_age: 168h
max_query_length: 30d1h
max_global_streams_per_user: 10000
volume_enabled: "true"
`
	var m map[string]any
	if err := yaml.Unmarshal([]byte(yamlPlan), &m); err != nil {
		t.Fatal(err)
	}
	got, err := LimitsFromMap(m, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultLimits()
	want.IngestionRateBytes = 4 * mib
	want.IngestionBurstBytes = 6*mib + mib/2
	want.PerStreamRateBytes = 3 * mib
	want.PerStreamBurstBytes = 15 * mib
	want.MaxLineSize = 256 * kib
	want.MaxStructuredMetadataSize = 64 * kib
	want.RejectOldSamples = false
	want.RejectOldSamplesMaxAge = 7 * 24 * time.Hour
	want.CreationGracePeriod = 10 * time.Minute
	want.MaxChunkAge = 168 * time.Hour
	want.MaxQueryLength = 721 * time.Hour
	want.MaxGlobalStreamsPerUser = 10000
	want.Source = SourcePlan
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("limits differ (-want +got):\n%s", diff)
	}
}

func TestLimitsFromMapJSONNumbers(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"max_query_series": 50, "ingestion_rate_mb": 0.5}`))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	got, err := LimitsFromMap(m, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxQuerySeries != 50 || got.IngestionRateBytes != mib/2 {
		t.Errorf("MaxQuerySeries %d, IngestionRateBytes %d, want 50 and %d", got.MaxQuerySeries, got.IngestionRateBytes, mib/2)
	}
}

func TestLimitsFromMapEmptyKeepsSource(t *testing.T) {
	got, err := LimitsFromMap(nil, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != SourceDefaults {
		t.Errorf("Source = %q, want %q", got.Source, SourceDefaults)
	}
}

func TestLimitsFromMapErrors(t *testing.T) {
	tests := []struct {
		name  string
		input map[string]any
		want  []string
	}{
		{"unknown key", map[string]any{"ingestion_rate": 4}, []string{`unknown key "ingestion_rate"`, "ingestion_rate_mb"}},
		{"size without number", map[string]any{"max_line_size": "KB"}, []string{"max_line_size", "invalid size"}},
		{"size unit", map[string]any{"max_line_size": "3 parsecs"}, []string{"max_line_size", "invalid size unit"}},
		{"negative size", map[string]any{"max_line_size": -1}, []string{"max_line_size"}},
		{"duration unit", map[string]any{"max_chunk_age": "2 fortnights"}, []string{"max_chunk_age", "unknown unit"}},
		{"duration number", map[string]any{"max_query_length": 3600}, []string{"max_query_length", "units"}},
		{"negative duration", map[string]any{"creation_grace_period": "-10m"}, []string{"creation_grace_period", "negative"}},
		{"fractional count", map[string]any{"max_query_series": 1.5}, []string{"max_query_series", "whole number"}},
		{"bool", map[string]any{"reject_old_samples": "maybe"}, []string{"reject_old_samples", "true or false"}},
		{"rate as text", map[string]any{"ingestion_rate_mb": "4MB"}, []string{"ingestion_rate_mb"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LimitsFromMap(tc.input, DefaultLimits())
			if err == nil {
				t.Fatal("LimitsFromMap accepted the input")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"256KB", 256 * kib},
		{"256kb", 256 * kib},
		{"64KiB", 64 * kib},
		{"3MB", 3 * mib},
		{"1536KB", 1536 * kib},
		{"600MB", 600 * mib},
		{"150GB", 150 << 30},
		{"0B", 0},
		{"262144", 262144},
		{"1.5MB", 3 * mib / 2},
		{" 2 MB ", 2 * mib},
	}
	for _, tc := range tests {
		got, err := ParseByteSize(tc.in)
		if err != nil {
			t.Errorf("ParseByteSize(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "MB", "1XB", "1..2MB", "99999999999EB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"2h0m0s", 2 * time.Hour},
		{"168h", 168 * time.Hour},
		{"1w", 168 * time.Hour},
		{"30d1h", 721 * time.Hour},
		{"10m", 10 * time.Minute},
		{"1d", 24 * time.Hour},
		{"0s", 0},
		{"0", 0},
		{"1.5h", 90 * time.Minute},
		{"500ms", 500 * time.Millisecond},
		{"1y", 365 * 24 * time.Hour},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "h", "10", "-1ns", "1x", "9999999999y", "1..5h"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestClientLimits(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Replay(load(t, "defaults_status_config_yaml"))
	c, _ := newTestClient(t, srv.URL, nil)
	if _, ok := c.KnownLimits(); ok {
		t.Fatal("a new client already has limits")
	}
	l, err := c.Limits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.IngestionBurstBytes != mib {
		t.Errorf("IngestionBurstBytes = %d, want %d", l.IngestionBurstBytes, mib)
	}
	known, ok := c.KnownLimits()
	if !ok || known != l {
		t.Errorf("KnownLimits = %+v, %v; want the limits just read", known, ok)
	}
}

func TestClientLimitsUnavailable(t *testing.T) {
	tests := []struct {
		name string
		resp *recording.Response
	}{
		{"404", &recording.Response{Status: http.StatusNotFound, Header: http.Header{}, Body: []byte("404 page not found\n")}},
		{"403", &recording.Response{Status: http.StatusForbidden, Header: http.Header{}, Body: []byte("forbidden")}},
		{"gateway page", &recording.Response{Status: http.StatusOK, Header: http.Header{}, Body: []byte("<html>sign in</html>")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Handle(http.MethodGet, "/config", tc.resp)
			c, _ := newTestClient(t, srv.URL, nil)
			_, err := c.Limits(context.Background())
			if !errors.Is(err, ErrConfigUnavailable) {
				t.Errorf("err = %v, want one wrapping ErrConfigUnavailable", err)
			}
			if _, ok := c.KnownLimits(); ok {
				t.Error("the client kept limits after a failed read")
			}
		})
	}
}

func TestClientLimitsServerErrorIsNotUnavailable(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Handle(http.MethodGet, "/config", &recording.Response{Status: 500, Header: http.Header{}, Body: []byte("boom")})
	c, sleeps := newTestClient(t, srv.URL, nil)
	_, err := c.Limits(context.Background())
	if err == nil || errors.Is(err, ErrConfigUnavailable) {
		t.Errorf("err = %v, want a server error that does not wrap ErrConfigUnavailable", err)
	}
	if len(sleeps.recorded()) != 2 {
		t.Errorf("waits %v, want 2 retries of the 500", sleeps.recorded())
	}
}

func TestParseConfigHTMLPageUnavailable(t *testing.T) {
	page := []byte("<html>\n<head><title>Sign in: SSO</title></head>\n<body>\n<form>user: <input name=u></form>\n</body></html>\n")
	_, err := ParseConfig(page)
	if !errors.Is(err, ErrConfigUnavailable) {
		t.Errorf("an HTML login page: %v, want ErrConfigUnavailable", err)
	}
}
