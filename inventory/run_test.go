package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

// fakeLogs serves fixed measurements for any pattern.
type fakeLogs struct {
	fields      []FieldInfo
	cardinality map[string]int64
	notes       map[string]string
	days        []DayVolume
	failFields  bool
}

func (f fakeLogs) Info(context.Context) (string, string, error) { return "prod", "8.17.0", nil }
func (f fakeLogs) Indices(_ context.Context, pattern string) ([]IndexInfo, error) {
	return []IndexInfo{{Name: strings.TrimSuffix(pattern, "*") + "2026.12.04", Docs: 1000, StoreBytes: 1 << 20}}, nil
}

func (f fakeLogs) Fields(context.Context, string) ([]FieldInfo, error) {
	if f.failFields {
		return nil, errors.New("mapping unreadable")
	}
	return f.fields, nil
}
func (f fakeLogs) TimeField(context.Context, string) (string, error) { return "@timestamp", nil }
func (f fakeLogs) Cardinality(_ context.Context, _, _ string, fields []string, _, _ time.Time) (map[string]int64, map[string]string, error) {
	out := map[string]int64{}
	for _, name := range fields {
		if v, ok := f.cardinality[name]; ok {
			out[name] = v
		}
	}
	return out, f.notes, nil
}

func (f fakeLogs) DailyVolume(context.Context, string, string, time.Time, time.Time) ([]DayVolume, error) {
	return f.days, nil
}

func k8sPlan(t *testing.T) *plans.Plan {
	t.Helper()
	p, err := plans.Parse("plan.yaml", []byte(`apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: k8s}
sources:
  elasticsearch: {url: "http://127.0.0.1:9200"}
logs:
  - indices: "k8s-*"
    labels: {namespace: kubernetes.namespace, pod: kubernetes.pod.name}
    static_labels: {source: filebeat}
    line: message
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func k8sLogs() fakeLogs {
	return fakeLogs{
		fields: []FieldInfo{
			{Path: "@timestamp", Type: "date"},
			{Path: "message", Type: "text"},
			{Path: "kubernetes.namespace", Type: "keyword"},
			{Path: "kubernetes.pod.name", Type: "keyword"},
			{Path: "log.level", Type: "keyword"},
			{Path: "host.name", Type: "text"},
		},
		cardinality: map[string]int64{"kubernetes.namespace": 12, "kubernetes.pod.name": 40000, "log.level": 5},
		notes:       map[string]string{"host.name": "text field without a keyword subfield"},
		days:        []DayVolume{{Docs: 86400, EstimatedBytes: 86400 * 1000}, {Docs: 8640, EstimatedBytes: 8640 * 1000}},
	}
}

func TestRunMovesHighCardinalityLabel(t *testing.T) {
	p := k8sPlan(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	rep, err := Run(t.Context(), Options{Plan: p, Elasticsearch: k8sLogs(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("problems: %v", rep.Problems)
	}
	m := rep.Elasticsearch.Mappings[0]
	labels := m.Proposal.Labels()
	if labels["namespace"] != "kubernetes.namespace" || labels["log_level"] != "log.level" {
		t.Errorf("labels %v, want namespace and the suggested log_level", labels)
	}
	if _, ok := labels["pod"]; ok {
		t.Errorf("the 40000-value pod name stayed a label: %v", labels)
	}
	sm := strings.Join(m.Proposal.StructuredMetadata(), ",")
	if sm != "kubernetes.pod.name,host.name" {
		t.Errorf("structured metadata %q", sm)
	}
	if m.BytesPerSecond != 1000 || m.DocsPerSecond != 1 {
		t.Errorf("busiest day %v B/s, %v docs/s; want 1000 and 1", m.BytesPerSecond, m.DocsPerSecond)
	}
	if rep.Loki.OK {
		t.Error("the projection accepts the plan's pod label")
	}
	if len(rep.Loki.Problems) != 2 || !strings.Contains(rep.Loki.Problems[0], "move it to structured_metadata") {
		t.Errorf("problems %q", rep.Loki.Problems)
	}
	if rep.Loki.ProjectedStreams != 12*40000 || rep.Loki.ProposedStreams != 60 {
		t.Errorf("streams: plan %d, proposed %d; want %d and 60", rep.Loki.ProjectedStreams, rep.Loki.ProposedStreams, 12*40000)
	}
	if rep.Window.From != now.Add(-24*time.Hour) || rep.Window.To != now {
		t.Errorf("window %+v", rep.Window)
	}

	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"does NOT fit", "`kubernetes.pod.name`", "40000", "structured metadata", "maximum active stream limit exceeded", "<details><summary>6 fields</summary>"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// The report is deterministic.
	var again strings.Builder
	rep2, _ := Run(t.Context(), Options{Plan: p, Elasticsearch: k8sLogs(), Now: now})
	_ = WriteMarkdown(&again, rep2)
	if again.String() != md.String() {
		t.Error("two runs on the same data wrote different Markdown")
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not encode as JSON: %v", err)
	}
}

func TestRunKeepsGoingAfterMappingFailure(t *testing.T) {
	p := k8sPlan(t)
	p.Logs = append(p.Logs, plans.LogMapping{Indices: "other-*"})
	logs := k8sLogs()
	logs.failFields = true
	rep, err := Run(t.Context(), Options{Plan: p, Elasticsearch: logs})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rep.Elasticsearch.Mappings); got != 2 {
		t.Fatalf("%d mappings reported, want 2", got)
	}
	for _, m := range rep.Elasticsearch.Mappings {
		if len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "mapping unreadable") {
			t.Errorf("%s problems %v", m.Indices, m.Problems)
		}
	}
	if len(rep.Elasticsearch.Indices) != 2 {
		t.Errorf("indices %v", rep.Elasticsearch.Indices)
	}
}

func TestRunUsesLimitsFallback(t *testing.T) {
	p := k8sPlan(t)
	p.Logs[0].Labels = map[string]string{"namespace": "kubernetes.namespace"}
	rep, err := Run(t.Context(), Options{
		Plan: p, Elasticsearch: k8sLogs(),
		Limits: func(context.Context) (LokiLimits, error) {
			return LokiLimits{}, errors.New("connection refused")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loki.Limits.Source != DefaultLokiLimits().Source {
		t.Errorf("limits source %q", rep.Loki.Limits.Source)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "connection refused") {
		t.Errorf("problems %v", rep.Problems)
	}
	if !rep.Loki.OK {
		t.Errorf("a namespace label should fit: %v", rep.Loki.Problems)
	}
}

func TestRunZeroCardinalityIsUnknown(t *testing.T) {
	p := k8sPlan(t)
	logs := k8sLogs()
	logs.cardinality = map[string]int64{"kubernetes.namespace": 0, "kubernetes.pod.name": 0, "log.level": 0}
	rep, err := Run(t.Context(), Options{Plan: p, Elasticsearch: logs})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Elasticsearch.Mappings[0].Proposal.Fields {
		if f.Role == RoleLabel {
			t.Errorf("%s became a label with no document in the window", f.Field)
		}
	}
	if rep.Loki.OK || rep.Loki.StreamsKnown {
		t.Errorf("an empty window passed the projection: %+v", rep.Loki)
	}
}

func TestRunSuggestionKeepsLabelNamesUnique(t *testing.T) {
	p := k8sPlan(t)
	p.Logs[0].Labels = map[string]string{"log_level": "kubernetes.namespace"}
	rep, err := Run(t.Context(), Options{Plan: p, Elasticsearch: k8sLogs()})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, f := range rep.Elasticsearch.Mappings[0].Proposal.Fields {
		names[f.Label]++
	}
	if names["log_level"] != 1 {
		t.Errorf("label log_level used %d times: %v", names["log_level"], names)
	}
}

func TestRunNoStreamLimit(t *testing.T) {
	p := k8sPlan(t)
	limits := DefaultLokiLimits()
	limits.MaxStreams = 0
	rep, err := Run(t.Context(), Options{
		Plan: p, Elasticsearch: k8sLogs(),
		Limits: func(context.Context) (LokiLimits, error) { return limits, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if labels := rep.Elasticsearch.Mappings[0].Proposal.Labels(); labels["pod"] != "kubernetes.pod.name" {
		t.Errorf("with no stream limit the pod label should stay: %v", labels)
	}
	if !rep.Loki.OK {
		t.Errorf("problems %v", rep.Loki.Problems)
	}
}
