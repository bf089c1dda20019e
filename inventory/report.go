package inventory

import "time"

// SchemaVersion is the version of the JSON report. It changes when a field
// is renamed or removed.
const SchemaVersion = "inventory/v1"

// Report is the inventory of one plan.
type Report struct {
	Schema string    `json:"schema"`
	Plan   string    `json:"plan"`
	At     time.Time `json:"at"`
	// Window is the span cardinalities and rates were measured over.
	Window Window `json:"window"`

	Elasticsearch *ElasticsearchReport `json:"elasticsearch,omitempty"`
	Loki          *LokiProjection      `json:"loki,omitempty"`
	Jaeger        *JaegerReport        `json:"jaeger,omitempty"`
	Kibana        *KibanaInventory     `json:"kibana,omitempty"`
	Grafana       *GrafanaInventory    `json:"grafana,omitempty"`
	Alerts        *AlertsInventory     `json:"alerts,omitempty"`
	// Problems lists what could not be measured. Each one names the source
	// and what to do; the rest of the inventory still ran.
	Problems []string `json:"problems,omitempty"`
}

// Window is a time range.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Duration returns the window's length.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// ElasticsearchReport is what the cluster holds.
type ElasticsearchReport struct {
	Cluster  string          `json:"cluster,omitempty"`
	Version  string          `json:"version,omitempty"`
	Indices  []IndexInfo     `json:"indices"`
	Mappings []MappingReport `json:"mappings"`
}

// IndexInfo is one index or data stream backing index.
type IndexInfo struct {
	Name       string `json:"name"`
	DataStream string `json:"data_stream,omitempty"`
	Docs       int64  `json:"docs"`
	StoreBytes int64  `json:"store_bytes"`
	// Mapping is the logs entry whose indices pattern matches, or "".
	Mapping string `json:"mapping,omitempty"`
}

// FieldInfo is one field of the index mapping, flattened to a dotted path.
type FieldInfo struct {
	Path string `json:"path"`
	Type string `json:"type"`
	// Conflicts lists other types the field has in other indices.
	Conflicts []string `json:"conflicts,omitempty"`
}

// DayVolume is one day of documents.
type DayVolume struct {
	Day  time.Time `json:"day"`
	Docs int64     `json:"docs"`
	// EstimatedBytes is the day's share of the store size, by document
	// count: an estimate, since stored size includes index structures.
	EstimatedBytes int64 `json:"estimated_bytes"`
}

// MappingReport is the inventory of one logs mapping's indices.
type MappingReport struct {
	Indices    string        `json:"indices"`
	TimeField  string        `json:"time_field,omitempty"`
	Docs       int64         `json:"docs"`
	StoreBytes int64         `json:"store_bytes"`
	Fields     []FieldInfo   `json:"fields"`
	Days       []DayVolume   `json:"days,omitempty"`
	Proposal   LabelProposal `json:"proposal"`
	// BytesPerSecond is the ingest rate of the busiest day in the window,
	// averaged over that day.
	BytesPerSecond float64 `json:"bytes_per_second"`
	// DocsPerSecond is the document rate of that day.
	DocsPerSecond float64 `json:"docs_per_second"`
	// RatesMeasured is false when the daily volume could not be read, so
	// the rates above are unknown rather than zero.
	RatesMeasured bool     `json:"rates_measured"`
	Problems      []string `json:"problems,omitempty"`
}

// LokiLimits are the target limits the proposal is checked against.
type LokiLimits struct {
	MaxStreams            int64   `json:"max_global_streams_per_user"`
	MaxLabelNames         int     `json:"max_label_names_per_series"`
	IngestionRateBytes    float64 `json:"ingestion_rate_bytes"`
	PerStreamRateBytes    float64 `json:"per_stream_rate_bytes"`
	MaxStructuredMetadata int     `json:"max_structured_metadata_entries_count"`
	// Source names the origin of the limits: the config endpoint, the
	// plan, or Loki's defaults.
	Source string `json:"source"`
}

// LokiProjection compares the proposal with the target's limits.
type LokiProjection struct {
	Limits LokiLimits `json:"limits"`
	// ProjectedStreams is the sum over the logs entries of the plan's own
	// label cardinalities multiplied: the streams the plan writes as it
	// is. ProposedStreams is the same for the proposed labels.
	ProjectedStreams int64 `json:"projected_streams"`
	ProposedStreams  int64 `json:"proposed_streams"`
	// StreamsKnown and RatesMeasured are false when a plan label or a
	// daily volume could not be measured.
	StreamsKnown  bool `json:"streams_known"`
	RatesMeasured bool `json:"rates_measured"`
	// BytesPerSecond is the sum of the mappings' busiest-day rates.
	BytesPerSecond float64 `json:"bytes_per_second"`
	// PerStreamBytesPerSecond is BytesPerSecond spread evenly over the
	// streams; a skewed stream can be well above it.
	PerStreamBytesPerSecond float64 `json:"per_stream_bytes_per_second"`
	// Findings lists every comparison with a limit; Problems repeats those
	// that do not fit.
	Findings []string `json:"findings,omitempty"`
	Problems []string `json:"problems,omitempty"`
	OK       bool     `json:"ok"`
}

// JaegerReport lists what Jaeger holds.
type JaegerReport struct {
	Services []ServiceInfo `json:"services"`
	Problems []string      `json:"problems,omitempty"`
}

// ServiceInfo is one service, its operations and its estimated span rate.
type ServiceInfo struct {
	Name       string          `json:"name"`
	Operations []OperationInfo `json:"operations"`
	// TracesSampled and SpansSampled count what one search in the window
	// returned.
	TracesSampled int `json:"traces_sampled"`
	SpansSampled  int `json:"spans_sampled"`
	// SpansPerSecond is an estimate. When the search hit its limit
	// (Truncated), it is the rate over the time the newest traces cover.
	SpansPerSecond float64 `json:"spans_per_second"`
	Truncated      bool    `json:"truncated,omitempty"`
}

// OperationInfo is one operation and its span kind.
type OperationInfo struct {
	Name     string `json:"name"`
	SpanKind string `json:"span_kind,omitempty"`
}
