package plans

// APIVersion and Kind identify a plan file.
const (
	APIVersion = "migrate/v1alpha1"
	Kind       = "MigrationPlan"
)

// Plan is a migration plan: where the old and new stacks are, how logs map
// from Elasticsearch documents to Loki entries, and the settings of each
// phase. A plan may hold only the sections the commands it is used with
// need, and RequireFor reports the sections a phase lacks.
type Plan struct {
	APIVersion string       `yaml:"apiVersion" json:"apiVersion"`
	Kind       string       `yaml:"kind" json:"kind"`
	Metadata   Metadata     `yaml:"metadata" json:"metadata"`
	Sources    Sources      `yaml:"sources" json:"sources"`
	Targets    Targets      `yaml:"targets" json:"targets"`
	Logs       []LogMapping `yaml:"logs" json:"logs,omitempty"`
	Traces     *Traces      `yaml:"traces" json:"traces,omitempty"`
	Gateway    Gateway      `yaml:"gateway" json:"gateway"`
	Phases     PhaseConfig  `yaml:"phases" json:"phases"`
	Hooks      []Hook       `yaml:"hooks" json:"hooks,omitempty"`

	// File is the path the plan was read from; relative paths in the plan
	// resolve against its folder.
	File string `yaml:"-" json:"-"`
	// positions maps field paths to where they were written, for errors.
	positions map[string]position
}

// Metadata names the plan.
type Metadata struct {
	Name   string            `yaml:"name" json:"name"`
	Labels map[string]string `yaml:"labels" json:"labels,omitempty"`
}

// Sources are the systems migrated from. Each may be live (a URL) or
// offline (an export on disk), so a plan can run without servers.
type Sources struct {
	Elasticsearch *ElasticsearchSource `yaml:"elasticsearch" json:"elasticsearch,omitempty"`
	Kibana        *KibanaSource        `yaml:"kibana" json:"kibana,omitempty"`
	Grafana       *GrafanaSource       `yaml:"grafana" json:"grafana,omitempty"`
	// Alerts is a file or folder of Kibana rules and Watcher JSON.
	Alerts string        `yaml:"alerts" json:"alerts,omitempty"`
	Jaeger *JaegerSource `yaml:"jaeger" json:"jaeger,omitempty"`
}

// ElasticsearchSource is the Elasticsearch cluster that holds the logs.
type ElasticsearchSource struct {
	URL      string `yaml:"url" json:"url"`
	Username string `yaml:"username" json:"username,omitempty"`
	Password Secret `yaml:"password" json:"password,omitempty"`
	APIKey   Secret `yaml:"api_key" json:"api_key,omitempty"`
	Token    Secret `yaml:"token" json:"token,omitempty"`
	TLS      TLS    `yaml:"tls" json:"tls"`
}

// KibanaSource is Kibana's saved-objects API, an export, or both.
type KibanaSource struct {
	URL      string `yaml:"url" json:"url,omitempty"`
	Space    string `yaml:"space" json:"space,omitempty"`
	Username string `yaml:"username" json:"username,omitempty"`
	Password Secret `yaml:"password" json:"password,omitempty"`
	APIKey   Secret `yaml:"api_key" json:"api_key,omitempty"`
	// Export is an NDJSON or JSON export file, or a folder of them.
	Export string `yaml:"export" json:"export,omitempty"`
	TLS    TLS    `yaml:"tls" json:"tls"`
}

// GrafanaSource is the Grafana whose dashboards query Elasticsearch or
// Jaeger, or a folder of their JSON.
type GrafanaSource struct {
	URL   string `yaml:"url" json:"url,omitempty"`
	Token Secret `yaml:"token" json:"token,omitempty"`
	// Dashboards is a dashboard JSON file or a folder of them.
	Dashboards string `yaml:"dashboards" json:"dashboards,omitempty"`
	// Index is the index pattern of the Elasticsearch data source the
	// dashboards read; it selects the logs entry when there are several.
	Index string `yaml:"index" json:"index,omitempty"`
	TLS   TLS    `yaml:"tls" json:"tls"`
}

// JaegerSource is the Jaeger query service and collector.
type JaegerSource struct {
	// GRPC is the query service's api_v2 gRPC address, host:port.
	GRPC string `yaml:"grpc" json:"grpc,omitempty"`
	// HTTP is the query service's HTTP URL.
	HTTP string `yaml:"http" json:"http,omitempty"`
	// OTLP is the collector's OTLP gRPC address, host:port.
	OTLP string `yaml:"otlp" json:"otlp,omitempty"`
	TLS  TLS    `yaml:"tls" json:"tls"`
}

// Targets are the systems migrated to.
type Targets struct {
	Loki         *LokiTarget         `yaml:"loki" json:"loki,omitempty"`
	Tempo        *TempoTarget        `yaml:"tempo" json:"tempo,omitempty"`
	Grafana      *GrafanaTarget      `yaml:"grafana" json:"grafana,omitempty"`
	Alertmanager *AlertmanagerTarget `yaml:"alertmanager" json:"alertmanager,omitempty"`
}

// LokiTarget is the Loki that receives logs.
type LokiTarget struct {
	URL      string `yaml:"url" json:"url"`
	Tenant   string `yaml:"tenant" json:"tenant,omitempty"`
	Username string `yaml:"username" json:"username,omitempty"`
	Password Secret `yaml:"password" json:"password,omitempty"`
	Token    Secret `yaml:"token" json:"token,omitempty"`
	TLS      TLS    `yaml:"tls" json:"tls"`
	// Limits gives Loki's limits in its own limits_config keys
	// (ingestion_rate_mb, max_line_size, reject_old_samples_max_age...)
	// plus the ingester's max_chunk_age. They apply on top of what /config
	// shows, because /config has the cluster defaults, not a tenant's
	// runtime overrides.
	Limits map[string]any `yaml:"limits" json:"limits,omitempty"`
}

// TempoTarget is the Tempo that receives traces.
type TempoTarget struct {
	URL string `yaml:"url" json:"url"`
	// OTLP is Tempo's OTLP gRPC address, host:port.
	OTLP string `yaml:"otlp" json:"otlp,omitempty"`
	// OTLPHTTP is Tempo's OTLP/HTTP base URL, such as http://tempo:4318.
	OTLPHTTP string `yaml:"otlp_http" json:"otlp_http,omitempty"`
	Tenant   string `yaml:"tenant" json:"tenant,omitempty"`
	Token    Secret `yaml:"token" json:"token,omitempty"`
	TLS      TLS    `yaml:"tls" json:"tls"`
	// Limits gives Tempo's limits in its own override keys
	// (max_bytes_per_trace, ingestion_rate_limit_bytes...) plus
	// ingestion_time_range_slack, on top of what /status/config shows.
	Limits map[string]any `yaml:"limits" json:"limits,omitempty"`
}

// GrafanaTarget is the Grafana that gets the converted dashboards.
type GrafanaTarget struct {
	URL      string `yaml:"url" json:"url"`
	Token    Secret `yaml:"token" json:"token,omitempty"`
	Folder   string `yaml:"folder" json:"folder,omitempty"`
	LokiUID  string `yaml:"loki_uid" json:"loki_uid,omitempty"`
	TempoUID string `yaml:"tempo_uid" json:"tempo_uid,omitempty"`
	TLS      TLS    `yaml:"tls" json:"tls"`
}

// AlertmanagerTarget is read for firing alerts before cutover.
type AlertmanagerTarget struct {
	URL string `yaml:"url" json:"url"`
	TLS TLS    `yaml:"tls" json:"tls"`
}

// TLS configures a client's TLS. Files are PEM.
type TLS struct {
	CAFile             string `yaml:"ca_file" json:"ca_file,omitempty"`
	CertFile           string `yaml:"cert_file" json:"cert_file,omitempty"`
	KeyFile            string `yaml:"key_file" json:"key_file,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" json:"insecure_skip_verify,omitempty"`
}

// Traces selects the Jaeger services to migrate.
type Traces struct {
	// Services lists service names; "*" means all.
	Services []string `yaml:"services" json:"services"`
}

// Gateway configures the dual-write gateway.
type Gateway struct {
	Listen   string `yaml:"listen" json:"listen"`
	OTLPGRPC string `yaml:"otlp_grpc" json:"otlp_grpc"`
	OTLPHTTP string `yaml:"otlp_http" json:"otlp_http"`
	QueueDir string `yaml:"queue_dir" json:"queue_dir"`
}

// PhaseConfig holds the settings of each phase. The YAML keys are the phase
// names.
type PhaseConfig struct {
	Inventory    InventoryConfig    `yaml:"inventory" json:"inventory"`
	Translate    TranslateConfig    `yaml:"translate" json:"translate"`
	Deploy       DeployConfig       `yaml:"deploy" json:"deploy"`
	ParallelRun  ParallelRunConfig  `yaml:"parallel_run" json:"parallel_run"`
	Cutover      CutoverConfig      `yaml:"cutover" json:"cutover"`
	Decommission DecommissionConfig `yaml:"decommission" json:"decommission"`
}

// InventoryConfig configures the inventory of the live systems.
type InventoryConfig struct {
	// Window is the recent span over which field cardinalities, ingest
	// rates and span rates are measured.
	Window Duration `yaml:"window" json:"window"`
	// MaxStreamShare is the share of Loki's active-stream limit that the
	// proposed labels may use; the rest is headroom for growth. Fields
	// whose cardinality would go past it become structured metadata.
	MaxStreamShare float64 `yaml:"max_stream_share" json:"max_stream_share"`
}

// TranslateConfig configures the translate phase.
type TranslateConfig struct {
	// MaxUnsupported is how many unsupported items the gate lets through
	// without a person's approval.
	MaxUnsupported int `yaml:"max_unsupported" json:"max_unsupported"`
	// Out is the folder for converted dashboards and the report, relative
	// to the plan file.
	Out string `yaml:"out" json:"out"`
}

// DeployConfig configures the deploy checks.
type DeployConfig struct {
	// Timeout bounds each health or limit check. It must be positive.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Canary writes one log line to Loki and one trace to Tempo and reads
	// both back. It is on unless set to false.
	Canary *bool `yaml:"canary" json:"canary,omitempty"`
	// CanaryWait bounds how long the check polls for the canary to become
	// readable.
	CanaryWait Duration `yaml:"canary_wait" json:"canary_wait"`
}

// CanaryEnabled reports whether the deploy check writes canaries.
func (d DeployConfig) CanaryEnabled() bool { return d.Canary == nil || *d.Canary }

// ParallelRunConfig configures dual writes, backfill and parity windows.
type ParallelRunConfig struct {
	// MinDuration is how long dual writes run before the gate may open; 0
	// means no minimum.
	MinDuration Duration       `yaml:"min_duration" json:"min_duration"`
	Backfill    BackfillConfig `yaml:"backfill" json:"backfill"`
	Parity      ParityConfig   `yaml:"parity" json:"parity"`
}

// BackfillConfig is the historical copy's range and work-unit size.
type BackfillConfig struct {
	// From is RFC 3339 or relative (now-30d); relative times are pinned in
	// the state at the first run.
	From string `yaml:"from" json:"from"`
	// To has the same forms as From; empty means now, pinned like From.
	To string `yaml:"to" json:"to,omitempty"`
	// Slice is the time span of one work unit, from 1m to 24h.
	Slice Duration `yaml:"slice" json:"slice"`
}

// ParityConfig sets the parity windows and their pass thresholds.
type ParityConfig struct {
	// Window is the span of one parity check, 1m or more.
	Window Duration `yaml:"window" json:"window"`
	// CompletenessMin is the fraction of documents that must reach Loki.
	CompletenessMin float64 `yaml:"completeness_min" json:"completeness_min"`
	// ResultTolerance is the relative difference allowed between query
	// results on both stacks.
	ResultTolerance float64 `yaml:"result_tolerance" json:"result_tolerance"`
	// LatencyP95MaxRatio bounds the new stack's p95 latency over the old's.
	LatencyP95MaxRatio float64 `yaml:"latency_p95_max_ratio" json:"latency_p95_max_ratio"`
	// ConsecutivePasses is how many contiguous passing windows open the
	// parallel_run gate.
	ConsecutivePasses int `yaml:"consecutive_passes" json:"consecutive_passes"`
}

// CutoverConfig configures the cutover gate.
type CutoverConfig struct {
	// Approval is "required" or "none".
	Approval string `yaml:"approval" json:"approval"`
	// Soak is how long cutover runs with passing parity before its gate
	// opens; 0 means no soak.
	Soak          Duration      `yaml:"soak" json:"soak"`
	BlockOnAlerts *AlertBlocker `yaml:"block_on_alerts" json:"block_on_alerts,omitempty"`
}

// AlertBlocker holds cutover while alerts of a severity are firing.
type AlertBlocker struct {
	Severity string `yaml:"severity" json:"severity"`
}

// DecommissionConfig configures the last phase.
type DecommissionConfig struct {
	SnapshotRepository string `yaml:"snapshot_repository" json:"snapshot_repository,omitempty"`
	DeleteIndices      bool   `yaml:"delete_indices" json:"delete_indices"`
}

// Hook is a shell command run before or after a phase.
type Hook struct {
	// Phase is one of PhaseNames.
	Phase string `yaml:"phase" json:"phase"`
	// When is before or after.
	When string `yaml:"when" json:"when"`
	// Run is the shell command.
	Run string `yaml:"run" json:"run"`
	// Timeout bounds the command; it must be positive, and is 5m when left
	// out.
	Timeout Duration `yaml:"timeout" json:"timeout"`
}
