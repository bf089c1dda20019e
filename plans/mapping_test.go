package plans

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLogMappings(t *testing.T) {
	plan := `apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: prod}
logs:
  - indices: "filebeat-*"
    labels: {service: service.name}
    line: message
    parser: logfmt
  - indices: "app-*,web-*"
`
	ms, err := ParseLogMappings("plan.yaml", []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("got %d mappings", len(ms))
	}
	if ms[0].Timestamp != DefaultTimestampField || ms[0].Parser != ParserLogfmt || ms[0].Labels["service"] != "service.name" {
		t.Errorf("first mapping %+v", ms[0])
	}
	// Defaults: the whole document as JSON.
	if ms[1].Line != LineWholeDocument || ms[1].Parser != ParserJSON || ms[1].OversizeLines != "dead_letter" {
		t.Errorf("defaults not applied: %+v", ms[1])
	}
}

func TestParseLogMappingsErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown key with suggestion", "logs:\n  - indices: a\n    lables: {x: y}\n", `m.yaml:3:5: logs[0]: unknown key "lables"; did you mean "labels"?`},
		{"unknown key far from any", "logs:\n  - indices: a\n    zzzzzzzz: 1\n", `known keys are default_field, fields`},
		{"wrong type", "logs:\n  - indices: a\n    labels: [a, b]\n", "m.yaml:3:13: logs[0].labels: expected a mapping, found a list"},
		{"bad parser", "logs:\n  - indices: a\n    parser: xml\n", `logs[0].parser: invalid parser "xml"`},
		{"missing indices", "logs:\n  - line: message\n", "logs[0].indices: missing indices"},
		{"not a mapping", "- a\n- b\n", "expected a YAML mapping"},
		{"invalid yaml", "logs: [\n", "invalid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLogMappings("m.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	_, err := ParseLogMappings("m.yaml", []byte("kind: MigrationPlan\n"))
	if !errors.Is(err, ErrNoLogs) {
		t.Errorf("error %v, want ErrNoLogs", err)
	}
}

func TestSelectMapping(t *testing.T) {
	ms := []LogMapping{{Indices: "filebeat-*"}, {Indices: "app-*, web-*"}}
	cases := []struct {
		index string
		want  string
		ok    bool
	}{
		{"filebeat-*", "filebeat-*", true},
		{"filebeat-2024.01.01", "filebeat-*", true},
		{"web-prod", "app-*, web-*", true},
		{"web-*,other", "app-*, web-*", true},
		{"metrics-*", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		m, ok := SelectMapping(ms, tc.index)
		if ok != tc.ok || m.Indices != tc.want {
			t.Errorf("SelectMapping(%q) = %q, %v; want %q, %v", tc.index, m.Indices, ok, tc.want, tc.ok)
		}
	}
	if m, ok := SelectMapping(ms[:1], "anything"); !ok || m.Indices != "filebeat-*" {
		t.Error("a single mapping must apply to any index")
	}
}
