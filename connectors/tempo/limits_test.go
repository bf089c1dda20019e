package tempo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/internal/recording"
)

// recordedLimits are the limits of the recorded main Tempo 3.0.3, as its
// configuration sets them: rate 64 MiB/s, burst 128 MiB, max_bytes_per_trace
// 50 MiB, ingestion_time_range_slack 87600h, query_frontend.search
// .max_duration 0 and max_attribute_bytes at its default of 2048.
var recordedLimits = Limits{
	MaxBytesPerTrace:        50 << 20,
	IngestionRateLimitBytes: 64 << 20,
	IngestionBurstSizeBytes: 128 << 20,
	IngestionRateStrategy:   "local",
	MaxTracesPerUser:        10_000,
	IngestionTimeRangeSlack: 87600 * time.Hour,
	MaxAttributeBytes:       2048,
	MaxSearchDuration:       0,
	Source:                  "/status/config",
}

func TestParseConfigRecorded(t *testing.T) {
	ex := load(t, "status_config_yaml")
	got, err := ParseConfig(ex.Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recordedLimits, got); diff != "" {
		t.Errorf("ParseConfig (-want +got):\n%s", diff)
	}
}

func TestLimitsRecorded(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Replay(load(t, "status_config_yaml"))
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.Limits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recordedLimits, got); diff != "" {
		t.Errorf("Limits (-want +got):\n%s", diff)
	}
}

func TestLimitsNotServed(t *testing.T) {
	for _, status := range []int{404, 403, 501} {
		srv := recording.NewServer(t)
		srv.Handle("GET", "/status/config", &recording.Response{Status: status, Body: []byte("404 page not found\n")})
		c, s := newTestClient(t, srv.URL, nil)
		_, err := c.Limits(context.Background())
		if !errors.Is(err, ErrConfigUnavailable) {
			t.Errorf("HTTP %d: Limits error = %v, expected ErrConfigUnavailable", status, err)
		}
		if err != nil && !strings.Contains(err.Error(), "targets.tempo.limits") {
			t.Errorf("HTTP %d: error %q does not point at targets.tempo.limits", status, err)
		}
		if len(s.all()) != 0 {
			t.Errorf("HTTP %d was retried", status)
		}
	}
	srv := recording.NewServer(t)
	srv.Handle("GET", "/status/config", &recording.Response{Status: 500, Body: []byte("boom")})
	c, _ := newTestClient(t, srv.URL, nil)
	if _, err := c.Limits(context.Background()); err == nil || errors.Is(err, ErrConfigUnavailable) {
		t.Errorf("HTTP 500: Limits error = %v, expected a server error, not ErrConfigUnavailable", err)
	}
}

func TestParseConfigForms(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Limits
	}{
		{
			name: "flat overrides of Tempo before 2.3",
			yaml: `target: all
ingester: {}
distributor: {}
query_frontend: {search: {max_duration: 168h0m0s}}
storage: {trace: {wal: {ingestion_time_range_slack: 2m0s}}}
overrides:
  ingestion_rate_strategy: global
  ingestion_rate_limit_bytes: 15000000
  ingestion_burst_size_bytes: 20000000
  max_traces_per_user: 10000
  max_global_traces_per_user: 0
  max_bytes_per_trace: 5000000
  max_search_duration: 0s
  block_retention: 336h
`,
			want: Limits{
				MaxBytesPerTrace: 5_000_000, IngestionRateLimitBytes: 15_000_000, IngestionBurstSizeBytes: 20_000_000,
				IngestionRateStrategy: "global", MaxTracesPerUser: 10_000, IngestionTimeRangeSlack: 2 * time.Minute,
				MaxSearchDuration: 168 * time.Hour, Source: "/status/config",
			},
		},
		{
			name: "tenant overrides win over cluster settings",
			yaml: `distributor: {max_attribute_bytes: 2048}
query_frontend: {search: {max_duration: 168h0m0s}}
live_store: {wal: {ingestion_time_range_slack: 1h}}
target: all
overrides:
  defaults:
    ingestion: {rate_limit_bytes: 1000, burst_size_bytes: 2000, max_attribute_bytes: 4096}
    read: {max_search_duration: 30d}
`,
			want: Limits{
				IngestionRateLimitBytes: 1000, IngestionBurstSizeBytes: 2000, MaxAttributeBytes: 4096,
				MaxSearchDuration: 720 * time.Hour, IngestionTimeRangeSlack: time.Hour, Source: "/status/config",
			},
		},
		{
			name: "block builders outside the single binary",
			yaml: `target: live-store
live_store: {wal: {ingestion_time_range_slack: 87600h0m0s}}
block_builder: {wal: {ingestion_time_range_slack: 2m0s}}
overrides: {defaults: {global: {max_bytes_per_trace: 52428800}}}
`,
			want: Limits{MaxBytesPerTrace: 50 << 20, IngestionTimeRangeSlack: 2 * time.Minute, Source: "/status/config"},
		},
		{
			name: "ingesters of Tempo 2.x use storage.trace.wal",
			yaml: `target: distributor
ingester: {}
live_store: {wal: {ingestion_time_range_slack: 2m0s}}
storage: {trace: {wal: {ingestion_time_range_slack: 24h}}}
overrides: {defaults: {}}
`,
			want: Limits{IngestionTimeRangeSlack: 24 * time.Hour, Source: "/status/config"},
		},
		{
			name: "header line and no WAL setting",
			yaml: "GET /status/config\n---\noverrides: {defaults: {ingestion: {max_traces_per_user: 5}}}\n",
			want: Limits{MaxTracesPerUser: 5, IngestionTimeRangeSlack: 2 * time.Minute, Source: "/status/config"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "empty"},
		{"not a mapping", "- a\n- b\n", "invalid YAML"},
		{"no overrides", "target: all\n", "no overrides section"},
		{"header without separator", "GET /status/config\noverrides: {}\n", `no "---" line`},
		{"negative bytes", "overrides: {defaults: {global: {max_bytes_per_trace: -1}}}", "overrides.defaults.global.max_bytes_per_trace"},
		{"bad duration", "overrides: {defaults: {}}\nquery_frontend: {search: {max_duration: soon}}", "query_frontend.search.max_duration"},
		{"bad slack", "overrides: {defaults: {}}\nlive_store: {wal: {ingestion_time_range_slack: 5x}}", "live_store.wal.ingestion_time_range_slack"},
		{"bad strategy", "overrides: {ingestion_rate_strategy: fast}", "overrides.ingestion_rate_strategy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatal("ParseConfig accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseConfig error = %q, expected it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDefaultLimitsFor(t *testing.T) {
	tests := []struct {
		version               string
		known                 bool
		rate, burst           int64
		attributeBytes        int
		wantSourceHasVersion  string
		wantMaxBytesPerTrace  int64
		wantMaxSearchDuration time.Duration
	}{
		{"v3.0.3", true, 30_000_000, 30_000_000, 2048, "Tempo 3.0.3", 5_000_000, 168 * time.Hour},
		{"2.9.1", true, 15_000_000, 20_000_000, 2048, "Tempo 2.9.1", 5_000_000, 168 * time.Hour},
		{"v2.7.2", true, 15_000_000, 20_000_000, 0, "Tempo 2.7.2", 5_000_000, 168 * time.Hour},
		{"v2.10.0-rc.1", true, 15_000_000, 20_000_000, 2048, "Tempo 2.10.0-rc.1", 5_000_000, 168 * time.Hour},
		{"v4.0.0", false, 30_000_000, 30_000_000, 2048, "3.0.3", 5_000_000, 168 * time.Hour},
		{"v1.5.0", false, 30_000_000, 30_000_000, 2048, "3.0.3", 5_000_000, 168 * time.Hour},
		{"main-abc123", false, 30_000_000, 30_000_000, 2048, "3.0.3", 5_000_000, 168 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			l, known := DefaultLimitsFor(tt.version)
			if known != tt.known {
				t.Errorf("known = %v, expected %v", known, tt.known)
			}
			if l.IngestionRateLimitBytes != tt.rate || l.IngestionBurstSizeBytes != tt.burst {
				t.Errorf("rate %d burst %d, expected %d and %d", l.IngestionRateLimitBytes, l.IngestionBurstSizeBytes, tt.rate, tt.burst)
			}
			if l.MaxAttributeBytes != tt.attributeBytes {
				t.Errorf("MaxAttributeBytes = %d, expected %d", l.MaxAttributeBytes, tt.attributeBytes)
			}
			if l.MaxBytesPerTrace != tt.wantMaxBytesPerTrace || l.MaxSearchDuration != tt.wantMaxSearchDuration {
				t.Errorf("MaxBytesPerTrace %d MaxSearchDuration %s", l.MaxBytesPerTrace, l.MaxSearchDuration)
			}
			if !strings.Contains(l.Source, tt.wantSourceHasVersion) {
				t.Errorf("Source = %q, expected it to name %s", l.Source, tt.wantSourceHasVersion)
			}
		})
	}
	if d := DefaultLimits(); d.Source != "defaults of Tempo 3.0.3" || d.IngestionTimeRangeSlack != 2*time.Minute || d.MaxTracesPerUser != 10_000 {
		t.Errorf("DefaultLimits = %+v", d)
	}
}

func TestLimitsFromMap(t *testing.T) {
	base := DefaultLimits()
	tests := []struct {
		name  string
		in    map[string]any
		check func(t *testing.T, l Limits)
	}{
		{"binary units", map[string]any{"max_bytes_per_trace": "50MiB", "ingestion_burst_size_bytes": "1.5 GiB"}, func(t *testing.T, l Limits) {
			want(t, "MaxBytesPerTrace", l.MaxBytesPerTrace, int64(50<<20))
			want(t, "IngestionBurstSizeBytes", l.IngestionBurstSizeBytes, int64(3<<29))
		}},
		{"decimal units and numbers", map[string]any{"ingestion_rate_limit_bytes": "15MB", "max_traces_per_user": 20000, "max_global_traces_per_user": "300"}, func(t *testing.T, l Limits) {
			want(t, "IngestionRateLimitBytes", l.IngestionRateLimitBytes, int64(15_000_000))
			want(t, "MaxTracesPerUser", l.MaxTracesPerUser, 20000)
			want(t, "MaxGlobalTracesPerUser", l.MaxGlobalTracesPerUser, 300)
		}},
		{"float and exponent", map[string]any{"max_bytes_per_trace": 5e6, "ingestion_rate_limit_bytes": "30e6"}, func(t *testing.T, l Limits) {
			want(t, "MaxBytesPerTrace", l.MaxBytesPerTrace, int64(5_000_000))
			want(t, "IngestionRateLimitBytes", l.IngestionRateLimitBytes, int64(30_000_000))
		}},
		{"durations", map[string]any{"ingestion_time_range_slack": "10y", "max_search_duration": "1w2d"}, func(t *testing.T, l Limits) {
			want(t, "IngestionTimeRangeSlack", l.IngestionTimeRangeSlack, 87600*time.Hour)
			want(t, "MaxSearchDuration", l.MaxSearchDuration, 9*24*time.Hour)
		}},
		{"zero disables", map[string]any{"max_search_duration": 0, "max_bytes_per_trace": 0}, func(t *testing.T, l Limits) {
			want(t, "MaxSearchDuration", l.MaxSearchDuration, time.Duration(0))
			want(t, "MaxBytesPerTrace", l.MaxBytesPerTrace, int64(0))
		}},
		{"scoped keys", map[string]any{
			"ingestion": map[string]any{"rate_limit_bytes": "1KiB", "rate_strategy": "global", "max_attribute_bytes": 4096},
			"global":    map[any]any{"max_bytes_per_trace": "1MB"},
			"read":      map[string]any{"max_search_duration": "36h"},
		}, func(t *testing.T, l Limits) {
			want(t, "IngestionRateLimitBytes", l.IngestionRateLimitBytes, int64(1024))
			want(t, "IngestionRateStrategy", l.IngestionRateStrategy, "global")
			want(t, "MaxAttributeBytes", l.MaxAttributeBytes, 4096)
			want(t, "MaxBytesPerTrace", l.MaxBytesPerTrace, int64(1_000_000))
			want(t, "MaxSearchDuration", l.MaxSearchDuration, 36*time.Hour)
		}},
		{"distributor attribute key", map[string]any{"max_attribute_bytes": "4KiB"}, func(t *testing.T, l Limits) {
			want(t, "MaxAttributeBytes", l.MaxAttributeBytes, 4096)
			want(t, "Source", l.Source, "plan (max_attribute_bytes) over defaults of Tempo 3.0.3")
			want(t, "untouched MaxTracesPerUser", l.MaxTracesPerUser, base.MaxTracesPerUser)
		}},
		{"empty map keeps base", map[string]any{}, func(t *testing.T, l Limits) {
			if diff := cmp.Diff(base, l); diff != "" {
				t.Errorf("(-base +got):\n%s", diff)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := LimitsFromMap(tt.in, base)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, l)
		})
	}
}

func want[T comparable](t *testing.T, name string, got, expected T) {
	t.Helper()
	if got != expected {
		t.Errorf("%s = %v, expected %v", name, got, expected)
	}
}

func TestLimitsFromMapErrors(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"unknown flat key", map[string]any{"max_bytes_per_trace": 1, "max_span_bytes": 5}, `unknown tempo limit "max_span_bytes"`},
		{"unknown scoped key", map[string]any{"ingestion": map[string]any{"rate_limit": 5}}, `unknown tempo limit "ingestion.rate_limit"`},
		{"scalar where a section is expected", map[string]any{"ingestion": 5}, `unknown tempo limit "ingestion"`},
		{"unknown unit", map[string]any{"max_bytes_per_trace": "5 parsecs"}, "unknown unit"},
		{"negative", map[string]any{"max_traces_per_user": -3}, "must not be negative"},
		{"fraction of a byte", map[string]any{"max_bytes_per_trace": 1.5}, "whole number"},
		{"duration without unit", map[string]any{"ingestion_time_range_slack": 30}, "use a number and a unit"},
		{"duration unknown unit", map[string]any{"max_search_duration": "3 fortnights"}, "max_search_duration"},
		{"bool as size", map[string]any{"max_bytes_per_trace": true}, "invalid size"},
		{"strategy", map[string]any{"ingestion_rate_strategy": "fastest"}, "local or global"},
		{"huge duration", map[string]any{"max_search_duration": "999999999y"}, "too long"},
	}
	base := DefaultLimits()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := LimitsFromMap(tt.in, base)
			if err == nil {
				t.Fatalf("LimitsFromMap accepted %v", tt.in)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, expected it to contain %q", err, tt.want)
			}
			if diff := cmp.Diff(base, l); diff != "" {
				t.Errorf("a failed LimitsFromMap changed the limits (-base +got):\n%s", diff)
			}
		})
	}
}
