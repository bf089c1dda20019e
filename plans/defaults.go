package plans

import (
	"fmt"
	"time"
)

// Defaults for what a plan may leave out. Relative paths resolve against the
// plan's folder.
const (
	defaultTranslateOut       = "migrate-out"
	defaultDeployTimeout      = 10 * time.Second
	defaultCanaryWait         = time.Minute
	defaultInventoryWindow    = 24 * time.Hour
	defaultMaxStreamShare     = 0.5
	defaultMinDuration        = 2 * week
	defaultBackfillFrom       = "now-30d"
	defaultBackfillSlice      = time.Hour
	defaultParityWindow       = time.Hour
	defaultCompletenessMin    = 0.999
	defaultResultTolerance    = 0.01
	defaultLatencyP95MaxRatio = 1.5
	defaultConsecutivePasses  = 24
	defaultSoak               = week
	defaultGatewayListen      = "127.0.0.1:9200"
	defaultGatewayOTLPGRPC    = "127.0.0.1:4317"
	defaultGatewayOTLPHTTP    = "127.0.0.1:4318"
	defaultQueueDir           = "migrate-queue"
	defaultHookTimeout        = 5 * time.Minute
)

// Approval values for the cutover gate.
const (
	ApprovalRequired = "required"
	ApprovalNone     = "none"
)

// Default returns a plan with every optional setting filled in. It leaves
// apiVersion, kind and metadata empty, because a plan must state them, and
// sets no sources, targets, logs or hooks. The gateway listens on loopback
// only, so exposing it is a choice written in the plan.
func Default() Plan {
	return Plan{
		Gateway: Gateway{
			Listen:   defaultGatewayListen,
			OTLPGRPC: defaultGatewayOTLPGRPC,
			OTLPHTTP: defaultGatewayOTLPHTTP,
			QueueDir: defaultQueueDir,
		},
		Phases: PhaseConfig{
			Translate: TranslateConfig{MaxUnsupported: 0, Out: defaultTranslateOut},
			Inventory: InventoryConfig{
				Window:         Duration{defaultInventoryWindow},
				MaxStreamShare: defaultMaxStreamShare,
			},
			Deploy: DeployConfig{
				Timeout:    Duration{defaultDeployTimeout},
				CanaryWait: Duration{defaultCanaryWait},
			},
			ParallelRun: ParallelRunConfig{
				MinDuration: Duration{defaultMinDuration},
				Backfill: BackfillConfig{
					From:  defaultBackfillFrom,
					Slice: Duration{defaultBackfillSlice},
				},
				Parity: ParityConfig{
					Window:             Duration{defaultParityWindow},
					CompletenessMin:    defaultCompletenessMin,
					ResultTolerance:    defaultResultTolerance,
					LatencyP95MaxRatio: defaultLatencyP95MaxRatio,
					ConsecutivePasses:  defaultConsecutivePasses,
				},
			},
			Cutover:      CutoverConfig{Approval: ApprovalRequired, Soak: Duration{defaultSoak}},
			Decommission: DecommissionConfig{DeleteIndices: false},
		},
	}
}

// fillEntryDefaults fills the defaults of list entries, which Default cannot
// hold: LogMapping.WithDefaults on each logs entry and the timeout of each
// hook. A key written in the file keeps its value even when empty, so that
// Validate reports it instead of a default hiding it.
func (p *Plan) fillEntryDefaults() {
	for i, m := range p.Logs {
		path := fmt.Sprintf("logs[%d]", i)
		filled := m.WithDefaults()
		if p.written(path + ".timestamp") {
			filled.Timestamp = m.Timestamp
		}
		if p.written(path + ".line") {
			filled.Line = m.Line
		}
		if p.written(path + ".parser") {
			filled.Parser = m.Parser
		}
		if p.written(path + ".oversize_lines") {
			filled.OversizeLines = m.OversizeLines
		}
		p.Logs[i] = filled
	}
	for i := range p.Hooks {
		if !p.written(fmt.Sprintf("hooks[%d].timeout", i)) {
			p.Hooks[i].Timeout = Duration{defaultHookTimeout}
		}
	}
}
