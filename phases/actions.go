package phases

import (
	"context"
	"encoding/json"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/fromplan"
	"github.com/obs-migrate/migrate/connectors/grafana"
	"github.com/obs-migrate/migrate/plans"
)

// GrafanaActions is the set of Grafana API calls the cutover makes in the
// new Grafana (targets.grafana). *grafana.Client implements it.
type GrafanaActions interface {
	EnsureFolder(ctx context.Context, title string) (grafana.Folder, error)
	Dashboard(ctx context.Context, uid string) (json.RawMessage, grafana.Meta, error)
	ImportDashboard(ctx context.Context, dashboard json.RawMessage, folderUID string, overwrite bool, message string) (grafana.ImportResult, error)
	DeleteDashboard(ctx context.Context, uid string) (existed bool, err error)
	DataSources(ctx context.Context) ([]grafana.DataSource, error)
	SetDataSourceDefault(ctx context.Context, uid string, isDefault bool) (changed bool, err error)
}

// ElasticsearchActions is the set of Elasticsearch API calls the
// decommission makes in the old cluster (sources.elasticsearch).
// *elasticsearch.Client implements it.
type ElasticsearchActions interface {
	Indices(ctx context.Context, pattern string) ([]elasticsearch.Index, error)
	PrimaryShards(ctx context.Context, names []string) (map[string]int, error)
	SnapshotRepository(ctx context.Context, repo string) (elasticsearch.Repository, error)
	Snapshot(ctx context.Context, repo, name string) (elasticsearch.SnapshotInfo, error)
	CreateSnapshot(ctx context.Context, repo, name string, req elasticsearch.SnapshotRequest) (elasticsearch.SnapshotInfo, error)
	SnapshotStatus(ctx context.Context, repo, name string) (elasticsearch.SnapshotStatus, error)
	DeleteIndices(ctx context.Context, names []string) error
	DeleteDataStreams(ctx context.Context, names []string) error
}

// ActionConnectors builds the clients that the cutover and the
// decommission act on. A Connectors value that also implements it
// supplies them (tests pass fakes); otherwise they are built from the
// plan with connectors/fromplan.
type ActionConnectors interface {
	TargetGrafana(p *plans.Plan) (GrafanaActions, error)
	Alertmanager(p *plans.Plan) (AlertSource, error)
	OldElasticsearch(p *plans.Plan) (ElasticsearchActions, error)
}

// actions returns the run's ActionConnectors. A run without connectors
// gets none, like every other live system.
func (r *Run) actions() ActionConnectors {
	if r.Connect == nil {
		return noActions{}
	}
	if a, ok := r.Connect.(ActionConnectors); ok {
		return a
	}
	return planActions{}
}

// planActions builds real clients from the plan.
type planActions struct{}

func (planActions) TargetGrafana(p *plans.Plan) (GrafanaActions, error) {
	c, err := fromplan.GrafanaTarget(p)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (planActions) Alertmanager(p *plans.Plan) (AlertSource, error) {
	c, err := NewAlertmanager(p)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (planActions) OldElasticsearch(p *plans.Plan) (ElasticsearchActions, error) {
	c, err := fromplan.Elasticsearch(p)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// noActions fails every request for a live system.
type noActions struct{}

func (noActions) TargetGrafana(*plans.Plan) (GrafanaActions, error) { return nil, errNoConnectors }
func (noActions) Alertmanager(*plans.Plan) (AlertSource, error)     { return nil, errNoConnectors }
func (noActions) OldElasticsearch(*plans.Plan) (ElasticsearchActions, error) {
	return nil, errNoConnectors
}
