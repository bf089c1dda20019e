package plans

import (
	"errors"
	"fmt"
	"strings"
)

// MissingSectionError reports plan sections a phase needs. Sections lists
// alternatives: any one of them is enough.
type MissingSectionError struct {
	File     string
	Phase    string
	Sections []string
	// Fix is the instruction that ends the message, such as "add
	// targets.loki with url".
	Fix string
}

func (e *MissingSectionError) Error() string {
	msg := fmt.Sprintf("phase %s needs %s: %s", e.Phase, orList(e.Sections), e.Fix)
	if e.File == "" {
		return msg
	}
	return e.File + ": " + msg
}

// RequireFor returns the sections phase needs that the plan lacks, each as a
// *MissingSectionError, joined. A plan may leave out every section that the
// phases it runs do not need.
func (p *Plan) RequireFor(phase string) error {
	var errs []error
	need := func(ok bool, fix string, sections ...string) {
		if !ok {
			errs = append(errs, &MissingSectionError{
				File: p.File, Phase: phase, Sections: sections, Fix: fix,
			})
		}
	}
	s, t := p.Sources, p.Targets
	switch phase {
	case "inventory":
		need(s.Elasticsearch != nil || s.Kibana != nil || s.Grafana != nil || s.Alerts != "" ||
			s.Jaeger != nil, "add at least one source to take stock of",
			"sources.elasticsearch", "sources.kibana", "sources.grafana", "sources.alerts", "sources.jaeger")
	case "translate":
		need(s.Kibana != nil || s.Grafana != nil || s.Alerts != "",
			"add a Kibana export or URL, Grafana dashboards or URL, or a folder of alert rules",
			"sources.kibana", "sources.grafana", "sources.alerts")
	case "deploy":
		need(t.Loki != nil || t.Tempo != nil || t.Grafana != nil,
			"add the new stack to check, with the url of each target",
			"targets.loki", "targets.tempo", "targets.grafana")
	case "parallel_run":
		p.requireParallelRun(need)
	case "cutover":
		need(t.Grafana != nil, "add targets.grafana with url and token, where dashboards are imported",
			"targets.grafana")
	case "decommission":
		need(s.Elasticsearch != nil, "add sources.elasticsearch with url, the cluster to snapshot",
			"sources.elasticsearch")
	default:
		return fmt.Errorf("unknown phase %q: use one of %s", phase, strings.Join(PhaseNames, ", "))
	}
	return errors.Join(errs...)
}

func (p *Plan) requireParallelRun(need func(ok bool, fix string, sections ...string)) {
	s, t := p.Sources, p.Targets
	need(len(p.Logs) > 0, "add a logs list that maps Elasticsearch indices to Loki labels", "logs")
	need(s.Elasticsearch != nil, "add sources.elasticsearch with url, the cluster copied from",
		"sources.elasticsearch")
	need(t.Loki != nil, "add targets.loki with url, where logs are copied to", "targets.loki")
	if p.Traces == nil {
		return
	}
	need(s.Jaeger != nil, "add sources.jaeger, or remove traces to migrate logs only",
		"sources.jaeger")
	need(t.Tempo != nil, "add targets.tempo, or remove traces to migrate logs only",
		"targets.tempo")
}

// orList joins names as "a", "a or b", or "a, b or c".
func orList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
