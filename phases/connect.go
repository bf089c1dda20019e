package phases

import (
	"context"
	"errors"

	"github.com/obs-migrate/migrate/inventory"
	"github.com/obs-migrate/migrate/plans"
)

// Connectors builds clients of the live systems from a plan. The command
// line passes one that speaks to the real APIs; tests pass fakes. A
// returned source that implements io.Closer is closed after use.
type Connectors interface {
	Elasticsearch(p *plans.Plan) (inventory.LogSource, error)
	Jaeger(p *plans.Plan) (inventory.TraceSource, error)
	Kibana(p *plans.Plan) (inventory.KibanaSource, error)
	Grafana(p *plans.Plan) (inventory.GrafanaSource, error)
	// LokiLimits returns Loki's effective limits: from its /config
	// endpoint, else from targets.loki.limits, else Loki's defaults. On an
	// error it still returns the limits it fell back to.
	LokiLimits(ctx context.Context, p *plans.Plan) (inventory.LokiLimits, error)
	// Deploy returns the checks of the new stack.
	Deploy(p *plans.Plan) (DeployTargets, error)
}

var errNoConnectors = errors.New("this run has no connectors to live systems; run it through the migrate command")

func (r *Run) connectors() Connectors {
	if r.Connect == nil {
		return noConnectors{}
	}
	return r.Connect
}

// noConnectors fails every request for a live system.
type noConnectors struct{}

func (noConnectors) Elasticsearch(*plans.Plan) (inventory.LogSource, error) {
	return nil, errNoConnectors
}

func (noConnectors) Jaeger(*plans.Plan) (inventory.TraceSource, error) { return nil, errNoConnectors }

func (noConnectors) Kibana(*plans.Plan) (inventory.KibanaSource, error) {
	return nil, errNoConnectors
}

func (noConnectors) Grafana(*plans.Plan) (inventory.GrafanaSource, error) {
	return nil, errNoConnectors
}

func (noConnectors) LokiLimits(context.Context, *plans.Plan) (inventory.LokiLimits, error) {
	return inventory.DefaultLokiLimits(), errNoConnectors
}

func (noConnectors) Deploy(*plans.Plan) (DeployTargets, error) {
	return DeployTargets{}, errNoConnectors
}
