package inventory

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// CandidateLabelFields are fields that commonly name a bounded set of
// things (a service, a namespace, a level) in Elastic Common Schema,
// Filebeat and OpenTelemetry documents. When an index has one of them and
// the plan does not map it, the inventory measures it and suggests it as a
// label if the stream budget allows.
var CandidateLabelFields = []string{
	"service.name", "service.namespace", "service.environment",
	"deployment.environment", "event.dataset", "event.module",
	"data_stream.dataset", "data_stream.namespace",
	"kubernetes.namespace", "kubernetes.namespace_name", "k8s.namespace.name",
	"kubernetes.container.name", "container.name",
	"kubernetes.pod.name", "host.name", "host.hostname",
	"log.level", "level", "severity", "cloud.region",
	"orchestrator.cluster.name", "app", "application", "env", "environment", "cluster",
}

// Roles a field can take in the proposed schema.
const (
	RoleLabel              = "label"
	RoleStructuredMetadata = "structured_metadata"
)

// FieldCardinality is a field's estimated number of distinct values over
// the inventory window. Cardinality is -1 when it could not be measured,
// for example for a text field without a keyword subfield.
type FieldCardinality struct {
	Field       string `json:"field"`
	Type        string `json:"type,omitempty"`
	Cardinality int64  `json:"cardinality"`
	// Label is the Loki label name: the plan's name for a mapped field,
	// otherwise the field with every character outside [a-zA-Z0-9_] as _.
	Label string `json:"label"`
	// FromPlan is true for fields the plan's labels map; the others are
	// suggestions taken from CandidateLabelFields.
	FromPlan bool `json:"from_plan"`
	// Note is the reason the cardinality is unknown, when it is.
	Note string `json:"note,omitempty"`
}

// StreamBudget is the stream and label limit the proposal must fit in.
type StreamBudget struct {
	// MaxStreams is Loki's max_global_streams_per_user.
	MaxStreams int64 `json:"max_streams"`
	// Share is the part of MaxStreams the labels may use.
	Share float64 `json:"share"`
	// Mappings is how many logs mappings share the budget equally.
	Mappings int `json:"mappings"`
	// MaxLabelNames is Loki's max_label_names_per_series.
	MaxLabelNames int `json:"max_label_names"`
}

// PerMapping returns each mapping's share of the active-stream limit, at
// least 1. A MaxStreams of 0 means Loki enforces no stream limit, so the
// share is unbounded.
func (b StreamBudget) PerMapping() int64 {
	if b.MaxStreams <= 0 {
		return math.MaxInt64
	}
	n := max(b.Mappings, 1)
	return max(int64(math.Floor(float64(b.MaxStreams)*b.Share/float64(n))), 1)
}

// FieldDecision is the proposed role of one field and the reason.
type FieldDecision struct {
	FieldCardinality
	Role   string `json:"role"`
	Reason string `json:"reason"`
}

// LabelProposal is the proposed label schema of one logs mapping.
type LabelProposal struct {
	Indices      string            `json:"indices"`
	StaticLabels map[string]string `json:"static_labels,omitempty"`
	Fields       []FieldDecision   `json:"fields"`
	// ProjectedStreams is the product of the proposed labels'
	// cardinalities: an upper bound on the active streams, since not every
	// combination occurs.
	ProjectedStreams int64 `json:"projected_streams"`
	// PlanStreams is the same product for the labels the plan maps today,
	// which the gateway and backfill write until the plan changes.
	// PlanStreamsKnown is false when a plan label could not be measured.
	PlanStreams      int64 `json:"plan_streams"`
	PlanStreamsKnown bool  `json:"plan_streams_known"`
	Budget           int64 `json:"budget"`
}

// Labels returns the fields proposed as labels, by label name.
func (p LabelProposal) Labels() map[string]string {
	out := map[string]string{}
	for _, f := range p.Fields {
		if f.Role == RoleLabel {
			out[f.Label] = f.Field
		}
	}
	return out
}

// StructuredMetadata returns the fields proposed as structured metadata.
func (p LabelProposal) StructuredMetadata() []string {
	var out []string
	for _, f := range p.Fields {
		if f.Role == RoleStructuredMetadata {
			out = append(out, f.Field)
		}
	}
	return out
}

// ProposeLabels chooses which measured fields of one mapping become Loki
// labels. It takes fields in order of cardinality, lowest first, with the
// plan's own labels before suggestions. A field stays a label while the
// product of label cardinalities fits the mapping's share of the stream
// budget and the label count fits max_label_names_per_series. A field that
// does not fit, or whose cardinality is unknown, becomes structured
// metadata, which adds no streams and is still searchable with a label
// filter after the stream selector.
func ProposeLabels(indices string, static map[string]string, fields []FieldCardinality, budget StreamBudget) LabelProposal {
	limit := budget.PerMapping()
	p := LabelProposal{Indices: indices, StaticLabels: static, Budget: limit, ProjectedStreams: 1, PlanStreams: 1, PlanStreamsKnown: true}
	for _, f := range fields {
		if !f.FromPlan {
			continue
		}
		if f.Cardinality <= 0 {
			p.PlanStreamsKnown = false
			continue
		}
		p.PlanStreams = saturatingMul(p.PlanStreams, f.Cardinality)
	}
	ordered := append([]FieldCardinality(nil), fields...)
	sort.SliceStable(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		if a.FromPlan != b.FromPlan {
			return a.FromPlan
		}
		if (a.Cardinality < 0) != (b.Cardinality < 0) {
			return a.Cardinality >= 0
		}
		if a.Cardinality != b.Cardinality {
			return a.Cardinality < b.Cardinality
		}
		return a.Field < b.Field
	})
	labelNames := len(static)
	for _, f := range ordered {
		d := FieldDecision{FieldCardinality: f, Role: RoleStructuredMetadata}
		switch {
		case f.Cardinality < 0:
			d.Reason = "cardinality unknown (" + orDefault(f.Note, "not measured") + "), so it cannot be bounded as a label"
		case budget.MaxLabelNames > 0 && labelNames+1 > budget.MaxLabelNames:
			d.Reason = fmt.Sprintf("the mapping already has %d labels, the most max_label_names_per_series (%d) allows",
				labelNames, budget.MaxLabelNames)
		case f.Cardinality > 0 && p.ProjectedStreams > limit/f.Cardinality:
			d.Reason = fmt.Sprintf("%d distinct values: as a label it would raise the projected active streams from %d to %d, "+
				"above this mapping's budget of %d (%.0f%% of max_global_streams_per_user %d, shared by %d mappings); "+
				"Loki would reject new streams with 429 \"maximum active stream limit exceeded\"",
				f.Cardinality, p.ProjectedStreams, saturatingMul(p.ProjectedStreams, f.Cardinality), limit,
				budget.Share*100, budget.MaxStreams, max(budget.Mappings, 1))
		default:
			d.Role = RoleLabel
			if f.Cardinality > 0 {
				p.ProjectedStreams *= f.Cardinality
			}
			labelNames++
			d.Reason = fmt.Sprintf("%d distinct values; projected streams %d of %d", f.Cardinality, p.ProjectedStreams, limit)
		}
		p.Fields = append(p.Fields, d)
	}
	return p
}

func saturatingMul(a, b int64) int64 {
	if a > 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

var invalidLabelChar = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// LabelName turns a field path into a valid Loki label name.
func LabelName(field string) string {
	name := invalidLabelChar.ReplaceAllString(field, "_")
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		name = "_" + name
	}
	return strings.ToLower(name)
}
