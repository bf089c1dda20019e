package plans

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// minimalPlan is the smallest valid plan: three lines, no sections.
const minimalPlan = "apiVersion: migrate/v1alpha1\nkind: MigrationPlan\nmetadata: {name: prod}\n"

const examplePlan = "../testdata/plans/example.yaml"

func TestLoadExample(t *testing.T) {
	p, err := Load(examplePlan)
	if err != nil {
		t.Fatal(err)
	}
	if p.Metadata.Name != "prod-eu" {
		t.Errorf("metadata.name = %q", p.Metadata.Name)
	}
	if got := p.Sources.Elasticsearch.Password.String(); got != "env:ES_PASSWORD" {
		t.Errorf("elasticsearch password = %q", got)
	}
	if got := p.Phases.ParallelRun.MinDuration.Duration; got != 336*time.Hour {
		t.Errorf("min_duration = %v", got)
	}
	m := p.Logs[0]
	if m.Labels["namespace"] != "kubernetes.namespace" || m.Parser != ParserLogfmt || m.Line != "message" {
		t.Errorf("logs[0] = %+v", m)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate after Load: %v", err)
	}
	for _, phase := range PhaseNames {
		if err := p.RequireFor(phase); err != nil {
			t.Errorf("RequireFor(%s): %v", phase, err)
		}
	}
}

func TestLoadExampleFillsDefaults(t *testing.T) {
	p, err := Load(examplePlan)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"phases.translate.out", p.Phases.Translate.Out, "migrate-out"},
		{"phases.deploy.timeout", p.Phases.Deploy.Timeout.Duration, 10 * time.Second},
		{"phases.parallel_run.backfill.to", p.Phases.ParallelRun.Backfill.To, ""},
		{"phases.parallel_run.parity.window", p.Phases.ParallelRun.Parity.Window.Duration, time.Hour},
		{"sources.kibana.space", p.Sources.Kibana.Space, ""},
		{"targets.grafana.token", p.Targets.Grafana.Token.String(), "file:secrets/grafana-token"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseNestedDefaults(t *testing.T) {
	plan := minimalPlan + `phases:
  parallel_run:
    parity: {window: 2h}
  deploy:
  cutover: {soak: 0s}
hooks:
  - {phase: deploy, when: before, run: ./check.sh}
  - {phase: cutover, when: after, run: ./notify.sh, timeout: 30s}
logs:
  - indices: "app-*"
    line: message
`
	p, err := Parse("m.yaml", []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	parity := p.Phases.ParallelRun.Parity
	want := Default().Phases.ParallelRun.Parity
	want.Window = Duration{2 * time.Hour}
	if diff := cmp.Diff(want, parity); diff != "" {
		t.Errorf("parity (-want +got):\n%s", diff)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"deploy.timeout with no value", p.Phases.Deploy.Timeout.Duration, 10 * time.Second},
		{"cutover.soak written as 0s", p.Phases.Cutover.Soak.Duration, time.Duration(0)},
		{"cutover.approval", p.Phases.Cutover.Approval, ApprovalRequired},
		{"backfill.from", p.Phases.ParallelRun.Backfill.From, "now-30d"},
		{"backfill.slice", p.Phases.ParallelRun.Backfill.Slice.Duration, time.Hour},
		{"min_duration", p.Phases.ParallelRun.MinDuration.Duration, 336 * time.Hour},
		{"hooks[0].timeout", p.Hooks[0].Timeout.Duration, 5 * time.Minute},
		{"hooks[1].timeout", p.Hooks[1].Timeout.Duration, 30 * time.Second},
		{"logs[0].timestamp", p.Logs[0].Timestamp, DefaultTimestampField},
		{"logs[0].parser", p.Logs[0].Parser, ParserNone},
		{"logs[0].oversize_lines", p.Logs[0].OversizeLines, OversizeDeadLetter},
		{"gateway.listen", p.Gateway.Listen, "127.0.0.1:9200"},
		{"gateway.otlp_grpc", p.Gateway.OTLPGRPC, "127.0.0.1:4317"},
		{"gateway.otlp_http", p.Gateway.OTLPHTTP, "127.0.0.1:4318"},
		{"gateway.queue_dir", p.Gateway.QueueDir, "migrate-queue"},
		{"decommission.delete_indices", p.Phases.Decommission.DeleteIndices, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseMergeKeys(t *testing.T) {
	plan := minimalPlan + `logs:
  - &app {indices: "app-*", labels: {service: service.name}, line: message}
  - <<: *app
    indices: "web-*"
`
	p, err := Parse("m.yaml", []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Logs[1]; got.Indices != "web-*" || got.Labels["service"] != "service.name" {
		t.Errorf("merged entry = %+v", got)
	}
}

// Minimal plans hold only what one command needs.
func TestMinimalPlans(t *testing.T) {
	cases := []struct {
		name    string
		section string
		// missing maps phases to a substring of RequireFor's error; a phase
		// left out must pass.
		missing map[string]string
	}{
		{
			name:    "elasticsearch",
			section: "sources:\n  elasticsearch: {url: https://es:9200, api_key: env:ES_API_KEY}\n",
			missing: map[string]string{
				"translate": "phase translate needs sources.kibana, sources.grafana or sources.alerts: " +
					"add a Kibana export or URL",
				"deploy":       "phase deploy needs targets.loki, targets.tempo or targets.grafana",
				"parallel_run": "phase parallel_run needs logs: add a logs list",
				"cutover":      "phase cutover needs targets.grafana: add targets.grafana with url",
			},
		},
		{
			name:    "kibana export",
			section: "sources:\n  kibana: {export: exports/kibana.ndjson}\n",
			missing: map[string]string{
				"deploy":       "phase deploy needs",
				"parallel_run": "phase parallel_run needs sources.elasticsearch",
				"cutover":      "phase cutover needs targets.grafana",
				"decommission": "phase decommission needs sources.elasticsearch: add sources.elasticsearch",
			},
		},
		{
			name:    "alerts folder",
			section: "sources:\n  alerts: exports/alerts/\n",
			missing: map[string]string{
				"deploy":       "phase deploy needs",
				"parallel_run": "phase parallel_run needs targets.loki",
				"cutover":      "phase cutover needs targets.grafana",
				"decommission": "phase decommission needs sources.elasticsearch",
			},
		},
		{
			name:    "grafana target",
			section: "targets:\n  grafana: {url: http://grafana:3000, token: env:GRAFANA_TOKEN}\n",
			missing: map[string]string{
				"inventory": "phase inventory needs sources.elasticsearch, sources.kibana, " +
					"sources.grafana, sources.alerts or sources.jaeger",
				"translate":    "phase translate needs",
				"parallel_run": "phase parallel_run needs sources.elasticsearch",
				"decommission": "phase decommission needs sources.elasticsearch",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("m.yaml", []byte(minimalPlan+tc.section))
			if err != nil {
				t.Fatal(err)
			}
			for _, phase := range PhaseNames {
				err := p.RequireFor(phase)
				want, ok := tc.missing[phase]
				switch {
				case !ok && err != nil:
					t.Errorf("RequireFor(%s): %v", phase, err)
				case ok && err == nil:
					t.Errorf("RequireFor(%s) passed, want %q", phase, want)
				case ok && !strings.Contains(err.Error(), want):
					t.Errorf("RequireFor(%s) = %q, want it to contain %q", phase, err, want)
				}
			}
		})
	}
}

func TestRequireForParallelRunWithTraces(t *testing.T) {
	plan := minimalPlan + `sources:
  elasticsearch: {url: https://es:9200}
targets:
  loki: {url: http://loki:3100}
logs:
  - {indices: "app-*"}
traces: {services: [checkout]}
`
	p, err := Parse("m.yaml", []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	err = p.RequireFor("parallel_run")
	var missing []*MissingSectionError
	for _, e := range leafErrors(err) {
		var m *MissingSectionError
		if !errors.As(e, &m) {
			t.Fatalf("error %v is not a *MissingSectionError", e)
		}
		missing = append(missing, m)
	}
	if len(missing) != 2 {
		t.Fatalf("got %d errors, want 2: %v", len(missing), err)
	}
	if got := missing[0].Sections; !cmp.Equal(got, []string{"sources.jaeger"}) {
		t.Errorf("first missing section %v", got)
	}
	if got := missing[1].Error(); got != "m.yaml: phase parallel_run needs targets.tempo: "+
		"add targets.tempo, or remove traces to migrate logs only" {
		t.Errorf("second error %q", got)
	}
	if err := p.RequireFor("rollout"); err == nil || !strings.Contains(err.Error(), "unknown phase \"rollout\"") {
		t.Errorf("RequireFor(rollout) = %v", err)
	}
}

// manyLabels builds a logs entry with n labels and s static labels.
func manyLabels(n, s int) string {
	var b strings.Builder
	b.WriteString("logs:\n  - indices: \"app-*\"\n    labels:\n")
	for i := range n {
		fmt.Fprintf(&b, "      l%02d: f%02d\n", i, i)
	}
	b.WriteString("    static_labels:\n")
	for i := range s {
		fmt.Fprintf(&b, "      s%02d: v\n", i)
	}
	return b.String()
}

// header is a plan's first two lines, for cases that write metadata.
const header = "apiVersion: migrate/v1alpha1\nkind: MigrationPlan\n"

// parseErrorCases are malformed plans, each with the start of the error it
// must produce. They also seed FuzzParse.
var parseErrorCases = []struct {
	name string
	yaml string
	want string
}{
	{
		"unknown key", minimalPlan + "targets:\n  loki: {url: http://loki:3100, tennant: prod}\n",
		`m.yaml:5:33: targets.loki: unknown key "tennant"; did you mean "tenant"?`,
	},
	{
		"unknown top-level key", minimalPlan + "sorces:\n",
		`m.yaml:4:1: unknown key "sorces"; did you mean "sources"?`,
	},
	{
		"list for mapping", header + "metadata: [prod]\n",
		"m.yaml:3:11: metadata: expected a mapping, found a list",
	},
	{
		"mapping for list", minimalPlan + "logs: {indices: a}\n",
		"m.yaml:4:7: logs: expected a list, found a mapping",
	},
	{
		"string for whole number", minimalPlan + "phases:\n  translate: {max_unsupported: five}\n",
		`m.yaml:5:32: phases.translate.max_unsupported: expected a whole number, found the value "five"`,
	},
	{
		"string for number", minimalPlan + "phases:\n  parallel_run:\n    parity: {window: 1h, completeness_min: high}\n",
		`m.yaml:6:44: phases.parallel_run.parity.completeness_min: expected a number, found the value "high"`,
	},
	{
		"duration in words", minimalPlan + "phases:\n  deploy: {timeout: 2 weeks}\n",
		`m.yaml:5:21: phases.deploy.timeout: invalid duration "2 weeks": use a number and a unit`,
	},
	{
		"duration without unit", minimalPlan + "phases:\n  deploy: {timeout: 10}\n",
		`m.yaml:5:21: phases.deploy.timeout: invalid duration "10": use a number and a unit`,
	},
	{
		"negative duration", minimalPlan + "phases:\n  deploy: {timeout: -5m}\n",
		`m.yaml:5:21: phases.deploy.timeout: invalid duration "-5m": must not be negative`,
	},
	{
		"duration as mapping", minimalPlan + "phases:\n  cutover: {soak: {hours: 1}}\n",
		"m.yaml:5:19: phases.cutover.soak: expected a single value, found a mapping",
	},
	{
		"hook duration", minimalPlan + "hooks:\n  - phase: cutover\n    when: before\n    run: echo hi\n    timeout: 5 minutes\n",
		`m.yaml:8:14: hooks[0].timeout: invalid duration "5 minutes"`,
	},
	{
		"duplicate key", minimalPlan + "kind: MigrationPlan\n",
		`m.yaml:4:1: duplicate key "kind", first written on line 2: keep one`,
	},
	{"invalid YAML", "apiVersion: [\n", "m.yaml:1: invalid YAML: did not find expected node content"},
	{"not a mapping", "- a\n", "m.yaml:1:1: expected a mapping with apiVersion, kind and metadata"},
	{"empty file", "", "m.yaml: empty plan: start with apiVersion: migrate/v1alpha1"},
	{"document marker only", "---\n", "m.yaml: empty plan"},
	{
		"not UTF-8", minimalPlan + "sources: {alerts: \"caf\xe9\"}\n",
		"m.yaml:4: invalid UTF-8: save the plan as UTF-8",
	},
	{"UTF-16", "\xfe\xff\x00a\x00:\x00 \x00b\x00\n", "m.yaml:1: invalid UTF-8"},

	{
		"16 labels", minimalPlan + manyLabels(13, 3),
		"m.yaml:7:7: logs[0].labels: 16 labels per stream (13 in labels, 3 in static_labels): " +
			"Loki accepts at most 15",
	},
	{
		"16 static labels", minimalPlan + "logs:\n  - indices: \"app-*\"\n    static_labels:\n" + manyStatic(16),
		"m.yaml:7:7: logs[0].static_labels: 16 labels per stream (0 in labels, 16 in static_labels)",
	},
	{
		"missing metadata.name", header + "metadata: {labels: {team: core}}\n",
		"m.yaml:3:11: metadata.name: missing plan name: add name",
	},
	{
		"missing metadata", header,
		"m.yaml:1:1: metadata.name: missing plan name: add name",
	},
	{
		"missing apiVersion", "kind: MigrationPlan\nmetadata: {name: prod}\n",
		"m.yaml:1:1: apiVersion: missing apiVersion: add apiVersion: migrate/v1alpha1",
	},
	{
		"wrong kind", "apiVersion: migrate/v1alpha1\nkind: Plan\nmetadata: {name: prod}\n",
		`m.yaml:2:7: kind: unsupported kind "Plan": use MigrationPlan`,
	},
	{
		"invalid plan name", header + "metadata: {name: Prod_EU}\n",
		`m.yaml:3:18: metadata.name: invalid plan name "Prod_EU"`,
	},
	{
		"missing indices", minimalPlan + "logs:\n  - line: message\n",
		"m.yaml:5:5: logs[0].indices: missing indices",
	},
	{
		"invalid label name", minimalPlan + "logs:\n  - indices: \"app-*\"\n    labels: {host-name: host.name}\n",
		`m.yaml:6:14: logs[0].labels.host-name: invalid label name "host-name"`,
	},
	{
		"reserved label name", minimalPlan + "logs:\n  - indices: \"app-*\"\n    static_labels: {__name__: x}\n",
		`m.yaml:6:21: logs[0].static_labels.__name__: invalid label name "__name__"`,
	},
	{
		"label name with digit first", minimalPlan + "logs:\n  - indices: \"app-*\"\n    labels: {1st: a}\n",
		`m.yaml:6:14: logs[0].labels.1st: invalid label name "1st"`,
	},
	{
		"label and structured metadata", minimalPlan + "logs:\n  - indices: \"app-*\"\n    labels: {host: host.name}\n    structured_metadata: [trace.id, host.name]\n",
		`m.yaml:7:37: logs[0].structured_metadata[1]: field "host.name" is already mapped as label "host"`,
	},
	{
		"two labels", minimalPlan + "logs:\n  - indices: \"app-*\"\n    labels: {a: host.name, b: host.name}\n",
		`m.yaml:6:28: logs[0].labels.b: field "host.name" is already mapped as label "a"`,
	},
	{
		"line and label", minimalPlan + "logs:\n  - indices: \"app-*\"\n    line: message\n    labels: {msg: message}\n",
		`m.yaml:7:14: logs[0].labels.msg: field "message" is already mapped as the line`,
	},
	{
		"structured metadata twice", minimalPlan + "logs:\n  - indices: \"app-*\"\n    structured_metadata: [a, a]\n",
		`m.yaml:6:30: logs[0].structured_metadata[1]: field "a" is already mapped as structured metadata`,
	},
	{
		"label in both maps", minimalPlan + "logs:\n  - indices: \"app-*\"\n    labels: {env: env}\n    static_labels: {env: prod}\n",
		`m.yaml:7:21: logs[0].static_labels.env: label "env" is also in labels`,
	},
	{
		"empty static label", minimalPlan + "logs:\n  - indices: \"app-*\"\n    static_labels: {env: \"\"}\n",
		`m.yaml:6:21: logs[0].static_labels.env: empty value`,
	},
	{
		"empty timestamp", minimalPlan + "logs:\n  - indices: a\n    timestamp: \"\"\n",
		"m.yaml:6:16: logs[0].timestamp: missing timestamp field",
	},
	{
		"invalid parser", minimalPlan + "logs:\n  - indices: a\n    parser: xml\n",
		`m.yaml:6:13: logs[0].parser: invalid parser "xml": use json, logfmt or none`,
	},
	{
		"whole document needs json", minimalPlan + "logs:\n  - indices: a\n    parser: logfmt\n",
		`m.yaml:6:13: logs[0].parser: parser "logfmt" cannot read line "json"`,
	},
	{
		"invalid oversize_lines", minimalPlan + "logs:\n  - indices: a\n    oversize_lines: drop\n",
		`m.yaml:6:21: logs[0].oversize_lines: invalid oversize_lines "drop": use dead_letter or truncate`,
	},
	{
		"same indices twice", minimalPlan + "logs:\n  - indices: \"a-*,b-*\"\n  - indices: \"b-*, a-*\"\n",
		`m.yaml:6:14: logs[1].indices: indices "b-*, a-*" are the same as in logs[0]`,
	},
	{
		"literal secret", minimalPlan + "sources:\n  elasticsearch: {url: https://es:9200, password: hunter2}\n",
		"m.yaml:5:51: sources.elasticsearch.password: literal secret: write env:NAME or file:PATH, " +
			"because a literal secret would end up in Git and in logs",
	},
	{
		"invalid environment variable", minimalPlan + "targets:\n  tempo: {url: http://tempo:3200, token: env:MY-TOKEN}\n",
		`m.yaml:5:42: targets.tempo.token: invalid environment variable name "MY-TOKEN"`,
	},
	{
		"URL without scheme", minimalPlan + "targets:\n  loki: {url: loki.internal:3100}\n",
		`m.yaml:5:15: targets.loki.url: invalid URL "loki.internal:3100": use an absolute http or https URL`,
	},
	{
		"URL with another scheme", minimalPlan + "targets:\n  loki: {url: \"ftp://loki:21\"}\n",
		`m.yaml:5:15: targets.loki.url: invalid URL "ftp://loki:21"`,
	},
	{
		"relative URL", minimalPlan + "sources:\n  kibana: {url: /kibana}\n",
		`m.yaml:5:17: sources.kibana.url: invalid URL "/kibana"`,
	},
	{
		"URL with password", minimalPlan + "sources:\n  elasticsearch: {url: \"https://elastic:pw@es:9200\"}\n",
		"m.yaml:5:24: sources.elasticsearch.url: URL contains a password: remove it",
	},
	{
		"missing URL", minimalPlan + "targets:\n  loki: {tenant: prod}\n",
		"m.yaml:5:9: targets.loki.url: missing URL: add url",
	},
	{
		"address without port", minimalPlan + "sources:\n  jaeger: {grpc: jaeger-query}\n",
		`m.yaml:5:18: sources.jaeger.grpc: invalid address "jaeger-query": use host:port`,
	},
	{
		"address with named port", minimalPlan + "targets:\n  tempo: {url: http://tempo:3200, otlp: \"tempo:otlp\"}\n",
		`m.yaml:5:41: targets.tempo.otlp: invalid port "otlp" in "tempo:otlp"`,
	},
	{
		"listen address", minimalPlan + "gateway: {listen: 9200}\n",
		`m.yaml:4:19: gateway.listen: invalid address "9200"`,
	},
	{
		"kibana with neither url nor export", minimalPlan + "sources:\n  kibana: {space: ops}\n",
		"m.yaml:5:11: sources.kibana: missing url and export",
	},
	{
		"client certificate without key", minimalPlan + "targets:\n  loki: {url: http://loki:3100, tls: {cert_file: c.pem}}\n",
		"m.yaml:5:38: targets.loki.tls: cert_file and key_file go together",
	},
	{
		"completeness_min 0", minimalPlan + "phases:\n  parallel_run:\n    parity:\n      completeness_min: 0\n",
		"m.yaml:7:25: phases.parallel_run.parity.completeness_min: completeness_min is 0: use a fraction above 0",
	},
	{
		"completeness_min above 1", minimalPlan + "phases:\n  parallel_run:\n    parity:\n      completeness_min: 1.01\n",
		"m.yaml:7:25: phases.parallel_run.parity.completeness_min: completeness_min is 1.01",
	},
	{
		"result_tolerance above 1", minimalPlan + "phases:\n  parallel_run:\n    parity:\n      result_tolerance: 1.5\n",
		"m.yaml:7:25: phases.parallel_run.parity.result_tolerance: result_tolerance is 1.5: use a fraction from 0 to 1",
	},
	{
		"negative result_tolerance", minimalPlan + "phases:\n  parallel_run:\n    parity:\n      result_tolerance: -0.1\n",
		"m.yaml:7:25: phases.parallel_run.parity.result_tolerance: result_tolerance is -0.1",
	},
	{
		"latency ratio below 1", minimalPlan + "phases:\n  parallel_run:\n    parity:\n      latency_p95_max_ratio: 0.9\n",
		"m.yaml:7:30: phases.parallel_run.parity.latency_p95_max_ratio: latency_p95_max_ratio is 0.9: use a finite ratio of 1 or more",
	},
	{
		"latency ratio infinite", minimalPlan + "phases:\n  parallel_run:\n    parity:\n      latency_p95_max_ratio: .inf\n",
		"m.yaml:7:30: phases.parallel_run.parity.latency_p95_max_ratio: latency_p95_max_ratio is +Inf",
	},
	{
		"completeness_min NaN", minimalPlan + "phases:\n  parallel_run:\n    parity:\n      completeness_min: .nan\n",
		"m.yaml:7:25: phases.parallel_run.parity.completeness_min: completeness_min is NaN",
	},
	{
		"no consecutive passes", minimalPlan + "phases:\n  parallel_run:\n    parity:\n      consecutive_passes: 0\n",
		"m.yaml:7:27: phases.parallel_run.parity.consecutive_passes: consecutive_passes is 0: use 1 or more",
	},
	{
		"negative max_unsupported", minimalPlan + "phases:\n  translate: {max_unsupported: -1}\n",
		"m.yaml:5:32: phases.translate.max_unsupported: max_unsupported is -1: use 0 or more",
	},
	{
		"short parity window", minimalPlan + "phases:\n  parallel_run:\n    parity: {window: 30s}\n",
		"m.yaml:6:22: phases.parallel_run.parity.window: window is 30s: use 1m or more",
	},
	{
		"long backfill slice", minimalPlan + "phases:\n  parallel_run:\n    backfill: {slice: 2d}\n",
		"m.yaml:6:23: phases.parallel_run.backfill.slice: slice is 48h: use from 1m to 24h",
	},
	{
		"short backfill slice", minimalPlan + "phases:\n  parallel_run:\n    backfill: {slice: 10s}\n",
		"m.yaml:6:23: phases.parallel_run.backfill.slice: slice is 10s: use from 1m to 24h",
	},
	{
		"zero deploy timeout", minimalPlan + "phases:\n  deploy: {timeout: 0s}\n",
		"m.yaml:5:21: phases.deploy.timeout: timeout is 0s: use a positive duration",
	},
	{
		"backfill from in words", minimalPlan + "phases:\n  parallel_run:\n    backfill: {from: yesterday}\n",
		`m.yaml:6:22: phases.parallel_run.backfill.from: invalid time "yesterday": use RFC 3339`,
	},
	{
		"backfill from with bad unit", minimalPlan + "phases:\n  parallel_run:\n    backfill: {from: now-3y}\n",
		`m.yaml:6:22: phases.parallel_run.backfill.from: invalid relative time "now-3y"`,
	},
	{
		"backfill to before from", minimalPlan + "phases:\n  parallel_run:\n    backfill: {from: now-1d, to: now-2d}\n",
		`m.yaml:6:34: phases.parallel_run.backfill.to: to "now-2d" is not after from "now-1d"`,
	},
	{
		"invalid approval", minimalPlan + "phases:\n  cutover: {approval: maybe}\n",
		`m.yaml:5:23: phases.cutover.approval: invalid approval "maybe": use required or none`,
	},
	{
		"empty alert severity", minimalPlan + "phases:\n  cutover: {block_on_alerts: {}}\n",
		"m.yaml:5:30: phases.cutover.block_on_alerts.severity: missing severity",
	},
	{
		"delete without snapshot", minimalPlan + "phases:\n  decommission: {delete_indices: true}\n",
		"m.yaml:5:17: phases.decommission.snapshot_repository: missing snapshot_repository",
	},
	{
		"empty services", minimalPlan + "traces: {services: []}\n",
		"m.yaml:4:20: traces.services: missing services",
	},
	{
		"invalid hook phase", minimalPlan + "hooks:\n  - {phase: deploys, when: after, run: echo}\n",
		`m.yaml:5:13: hooks[0].phase: invalid phase "deploys": use one of inventory, translate, deploy, parallel_run, cutover, decommission`,
	},
	{
		"invalid hook when", minimalPlan + "hooks:\n  - {phase: deploy, when: during, run: echo}\n",
		`m.yaml:5:27: hooks[0].when: invalid when "during": use before or after`,
	},
	{
		"missing hook command", minimalPlan + "hooks:\n  - {phase: deploy, when: after}\n",
		"m.yaml:5:5: hooks[0].run: missing command",
	},
	{
		"zero hook timeout", minimalPlan + "hooks:\n  - {phase: deploy, when: after, run: echo, timeout: 0s}\n",
		"m.yaml:5:54: hooks[0].timeout: timeout is 0s: use a positive duration",
	},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("m.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tc.want)
			}
			if p != nil {
				t.Error("Parse returned a plan with its error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
			for _, e := range leafErrors(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Errorf("error %v is not a *FieldError", e)
				}
			}
		})
	}
}

func manyStatic(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "      s%02d: v\n", i)
	}
	return b.String()
}

func TestParseLabelLimit(t *testing.T) {
	if _, err := Parse("m.yaml", []byte(minimalPlan+manyLabels(12, 3))); err != nil {
		t.Errorf("15 labels counting static ones: %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	plan := `apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: Prod}
targets:
  loki: {url: "loki:3100", password: hunter2}
`
	_, err := Parse("m.yaml", []byte(plan))
	got := errorStrings(err)
	want := []string{
		`m.yaml:3:18: metadata.name: invalid plan name "Prod": use at most 63 lowercase letters, ` +
			"digits and hyphens, starting and ending with a letter or digit",
		`m.yaml:5:15: targets.loki.url: invalid URL "loki:3100": use an absolute http or https URL, ` +
			"such as https://host:port",
		"m.yaml:5:38: targets.loki.password: literal secret: write env:NAME or file:PATH, " +
			"because a literal secret would end up in Git and in logs",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestParseReportsEveryStructuralProblem(t *testing.T) {
	plan := minimalPlan + "sorces: {}\nphases:\n  deploy: {timeout: 10}\n  cutover: {soak: 1 week}\n"
	_, err := Parse("m.yaml", []byte(plan))
	got := errorStrings(err)
	if len(got) != 3 {
		t.Fatalf("got %d errors, want 3:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, prefix := range []string{"m.yaml:4:1: ", "m.yaml:6:21: ", "m.yaml:7:19: "} {
		if !strings.HasPrefix(got[i], prefix) {
			t.Errorf("error %d %q, want it to start with %q", i, got[i], prefix)
		}
	}
}

func TestValidateBuiltPlan(t *testing.T) {
	p := Default()
	p.APIVersion, p.Kind, p.Metadata.Name = APIVersion, Kind, "built"
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate on defaults: %v", err)
	}
	p.Hooks = []Hook{{Phase: "cutover", When: HookAfter, Run: "true"}}
	err := p.Validate()
	if got := errorStrings(err); !cmp.Equal(got, []string{
		"hooks[0].timeout: timeout is 0s: use a positive duration, such as 5m",
	}) {
		t.Errorf("Validate = %q", got)
	}
}

func TestValidPhase(t *testing.T) {
	for _, name := range PhaseNames {
		if !ValidPhase(name) {
			t.Errorf("ValidPhase(%q) = false", name)
		}
	}
	for _, name := range []string{"", "Inventory", "parallel-run", "rollback"} {
		if ValidPhase(name) {
			t.Errorf("ValidPhase(%q) = true", name)
		}
	}
}

func TestPlanPath(t *testing.T) {
	p := &Plan{File: filepath.Join("plans", "prod.yaml")}
	cases := []struct{ in, want string }{
		{"exports/kibana.ndjson", filepath.Join("plans", "exports", "kibana.ndjson")},
		{"/var/lib/migrate/queue", "/var/lib/migrate/queue"},
		{"", ""},
		{"../shared/x", "shared/x"},
	}
	for _, tc := range cases {
		if got := p.Path(tc.in); got != tc.want {
			t.Errorf("Path(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := (&Plan{}).Path("out"); got != "out" {
		t.Errorf("Path without a file = %q", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "reading plan") {
		t.Errorf("Load = %v", err)
	}
}

// leafErrors flattens errors joined with errors.Join.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

func errorStrings(err error) []string {
	var out []string
	for _, e := range leafErrors(err) {
		out = append(out, e.Error())
	}
	return out
}
