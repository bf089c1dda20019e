package tempo

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/internal/recording"
)

func TestDiscardsRecorded(t *testing.T) {
	ex := load(t, "limits_metrics_discarded_spans_evidence")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.Discards(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The recording followed pushes that went over max_bytes_per_trace and
	// over the rate limit, and one attribute over 2048 bytes.
	for _, reason := range []string{"trace_too_large", "rate_limited"} {
		if got.Spans[reason] <= 0 {
			t.Errorf("Spans[%s] = %d, expected the recorded drops", reason, got.Spans[reason])
		}
	}
	if got.TruncatedAttributes["span"] != 1 || got.TruncatedAttributes["resource"] != 0 {
		t.Errorf("TruncatedAttributes = %v, expected span 1 and resource 0", got.TruncatedAttributes)
	}
	if len(got.TruncatedAttributes) != 5 {
		t.Errorf("TruncatedAttributes has %d scopes, the recording has 5", len(got.TruncatedAttributes))
	}

	other := recording.NewServer(t)
	other.Replay(ex)
	c, _ = newTestClient(t, other.URL, func(cfg *Config) { cfg.Tenant = "someone-else" })
	got, err = c.Discards(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spans) != 0 || len(got.TruncatedAttributes) != 0 {
		t.Errorf("another tenant's counters were counted: %+v", got)
	}
}

func TestParseDiscards(t *testing.T) {
	text := `# HELP tempo_discarded_spans_total The total number of samples that were discarded.
# TYPE tempo_discarded_spans_total counter
tempo_discarded_spans_total{reason="live_traces_exceeded",tenant="a"} 3
tempo_discarded_spans_total{tenant="a", reason="trace_too_large"} 1.2e1 1700000000000
tempo_discarded_spans_total{reason="trace_too_large",tenant="b"} 99
tempo_discarded_spans_total_other{reason="x",tenant="a"} 5
tempo_distributor_attributes_truncated_total{scope="span",tenant="a\\\"q\n"} 7
tempo_distributor_attributes_truncated_total{scope="event",tenant="a"} 2
`
	got, err := ParseDiscards([]byte(text), "a")
	if err != nil {
		t.Fatal(err)
	}
	want := Discards{
		Spans:               map[string]int64{"live_traces_exceeded": 3, "trace_too_large": 12},
		TruncatedAttributes: map[string]int64{"event": 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseDiscards (-want +got):\n%s", diff)
	}
	escaped, err := ParseDiscards([]byte(text), "a\\\"q\n")
	if err != nil {
		t.Fatal(err)
	}
	if escaped.TruncatedAttributes["span"] != 7 {
		t.Errorf("escaped tenant label: %v", escaped.TruncatedAttributes)
	}
}

func TestParseDiscardsErrors(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"no value", `tempo_discarded_spans_total{reason="x",tenant="a"}`, "expected a value"},
		{"bad value", `tempo_discarded_spans_total{reason="x",tenant="a"} many`, "invalid counter value"},
		{"negative", `tempo_discarded_spans_total{reason="x",tenant="a"} -1`, "invalid counter value"},
		{"unterminated labels", `tempo_discarded_spans_total{reason="x"`, "unterminated"},
		{"unquoted label", `tempo_discarded_spans_total{reason=x} 1`, "invalid label"},
		{"bad escape", `tempo_discarded_spans_total{reason="\q"} 1`, "invalid escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDiscards([]byte("# ok\n"+tt.line+"\n"), "a")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "line 2") {
				t.Errorf("error = %v, expected line 2 and %q", err, tt.want)
			}
		})
	}
}
