package inventory

import (
	"strings"
	"testing"
)

func field(name string, card int64, fromPlan bool) FieldCardinality {
	return FieldCardinality{Field: name, Label: LabelName(name), Cardinality: card, FromPlan: fromPlan, Type: "keyword"}
}

func roles(p LabelProposal) map[string]string {
	out := map[string]string{}
	for _, f := range p.Fields {
		out[f.Field] = f.Role
	}
	return out
}

func TestProposeLabels(t *testing.T) {
	defaults := StreamBudget{MaxStreams: 5000, Share: 1, Mappings: 1, MaxLabelNames: 15}
	tests := []struct {
		name   string
		static map[string]string
		fields []FieldCardinality
		budget StreamBudget
		want   map[string]string
		// streams is the expected projected stream count.
		streams int64
	}{
		{
			name:    "pod name over the stream limit",
			fields:  []FieldCardinality{field("service.name", 40, true), field("kubernetes.pod.name", 40000, true), field("log.level", 5, true)},
			budget:  defaults,
			want:    map[string]string{"service.name": RoleLabel, "log.level": RoleLabel, "kubernetes.pod.name": RoleStructuredMetadata},
			streams: 200,
		},
		{
			name:    "product decides, lowest cardinality first",
			fields:  []FieldCardinality{field("a", 100, true), field("b", 60, true)},
			budget:  defaults,
			want:    map[string]string{"b": RoleLabel, "a": RoleStructuredMetadata},
			streams: 60,
		},
		{
			name:    "exactly at the budget fits",
			fields:  []FieldCardinality{field("a", 50, true), field("b", 100, true)},
			budget:  defaults,
			want:    map[string]string{"a": RoleLabel, "b": RoleLabel},
			streams: 5000,
		},
		{
			name:    "share and mappings split the budget",
			fields:  []FieldCardinality{field("a", 1000, true)},
			budget:  StreamBudget{MaxStreams: 5000, Share: 0.5, Mappings: 3, MaxLabelNames: 15},
			want:    map[string]string{"a": RoleStructuredMetadata},
			streams: 1,
		},
		{
			name:    "unknown cardinality is never a label",
			fields:  []FieldCardinality{{Field: "message", Label: "message", Cardinality: -1, Note: "text field", FromPlan: true}},
			budget:  defaults,
			want:    map[string]string{"message": RoleStructuredMetadata},
			streams: 1,
		},
		{
			name:    "label name limit counts static labels",
			static:  map[string]string{"source": "filebeat", "env": "prod"},
			fields:  []FieldCardinality{field("a", 2, true), field("b", 2, true)},
			budget:  StreamBudget{MaxStreams: 5000, Share: 1, Mappings: 1, MaxLabelNames: 3},
			want:    map[string]string{"a": RoleLabel, "b": RoleStructuredMetadata},
			streams: 2,
		},
		{
			name:    "plan labels before suggestions",
			fields:  []FieldCardinality{field("suggested", 10, false), field("planned", 400, true)},
			budget:  StreamBudget{MaxStreams: 1000, Share: 1, Mappings: 1},
			want:    map[string]string{"planned": RoleLabel, "suggested": RoleStructuredMetadata},
			streams: 400,
		},
		{
			name:    "huge cardinalities do not overflow",
			fields:  []FieldCardinality{field("a", 1<<40, true), field("b", 1<<40, true)},
			budget:  StreamBudget{MaxStreams: 1 << 62, Share: 1, Mappings: 1},
			want:    map[string]string{"a": RoleLabel, "b": RoleStructuredMetadata},
			streams: 1 << 40,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ProposeLabels("logs-*", tt.static, tt.fields, tt.budget)
			got := roles(p)
			for f, want := range tt.want {
				if got[f] != want {
					t.Errorf("%s: role %q, want %q", f, got[f], want)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("decided %d fields, want %d", len(got), len(tt.want))
			}
			if p.ProjectedStreams != tt.streams {
				t.Errorf("projected streams %d, want %d", p.ProjectedStreams, tt.streams)
			}
			for _, f := range p.Fields {
				if f.Reason == "" {
					t.Errorf("%s: no reason given", f.Field)
				}
			}
		})
	}
}

func TestProposeLabelsExplainsMove(t *testing.T) {
	p := ProposeLabels("k8s-*", nil, []FieldCardinality{field("kubernetes.pod.name", 40000, true)},
		StreamBudget{MaxStreams: 5000, Share: 0.5, Mappings: 1, MaxLabelNames: 15})
	reason := p.Fields[0].Reason
	for _, want := range []string{"40000 distinct values", "2500", "max_global_streams_per_user 5000", "maximum active stream limit exceeded"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q does not mention %q", reason, want)
		}
	}
}

func TestLabelName(t *testing.T) {
	tests := map[string]string{
		"kubernetes.pod.name": "kubernetes_pod_name",
		"Service-Name":        "service_name",
		"9lives":              "_9lives",
		"":                    "_",
		"héllo":               "h_llo",
	}
	for in, want := range tests {
		if got := LabelName(in); got != want {
			t.Errorf("LabelName(%q) = %q, want %q", in, got, want)
		}
	}
}
