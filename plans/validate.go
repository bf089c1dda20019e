package plans

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PhaseNames lists the phases in the order they run. The names are the same
// in YAML keys, --phase values and JSON output.
var PhaseNames = []string{"inventory", "translate", "deploy", "parallel_run", "cutover", "decommission"}

// ValidPhase reports whether name is one of PhaseNames.
func ValidPhase(name string) bool {
	return slices.Contains(PhaseNames, name)
}

// Hook.When values.
const (
	HookBefore = "before"
	HookAfter  = "after"
)

// Validate checks the whole plan and returns every problem at once, joined
// with errors.Join. Each problem is a *FieldError with the field path and,
// for a plan read by Parse, the line and column where the field was written
// or, for a field left out, where its parent was. Validate never resolves a
// secret. Sections a phase needs are checked by RequireFor, not here.
func (p *Plan) Validate() error {
	v := &validator{p: p}
	v.header()
	v.sources()
	v.targets()
	v.logs()
	v.traces()
	v.gateway()
	v.phases()
	v.hooks()
	v.secrets()
	// Problems are reported in file order. Those of a plan built in code
	// have no position and keep the order of the checks.
	slices.SortStableFunc(v.errs, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// validator gathers the problems of one plan.
type validator struct {
	p    *Plan
	errs []*FieldError
}

// add records a problem with the field at path.
func (v *validator) add(path, format string, args ...any) {
	pos := v.p.positionOf(path)
	v.errs = append(v.errs, &FieldError{
		File: v.p.File, Line: pos.line, Column: pos.column, Path: path,
		Msg: fmt.Sprintf(format, args...),
	})
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (v *validator) header() {
	p := v.p
	switch p.APIVersion {
	case APIVersion:
	case "":
		v.add("apiVersion", "missing apiVersion: add apiVersion: %s", APIVersion)
	default:
		v.add("apiVersion", "unsupported apiVersion %q: use %s", p.APIVersion, APIVersion)
	}
	switch p.Kind {
	case Kind:
	case "":
		v.add("kind", "missing kind: add kind: %s", Kind)
	default:
		v.add("kind", "unsupported kind %q: use %s", p.Kind, Kind)
	}
	switch name := p.Metadata.Name; {
	case name == "":
		v.add("metadata.name", "missing plan name: add name, a DNS label such as prod-eu")
	case len(name) > 63 || !dnsLabel.MatchString(name):
		v.add("metadata.name", "invalid plan name %q: use at most 63 lowercase letters, "+
			"digits and hyphens, starting and ending with a letter or digit", name)
	}
}

func (v *validator) sources() {
	s := v.p.Sources
	if es := s.Elasticsearch; es != nil {
		v.url("sources.elasticsearch.url", es.URL, true)
		v.tls("sources.elasticsearch.tls", es.TLS)
	}
	if k := s.Kibana; k != nil {
		if k.URL == "" && k.Export == "" {
			v.add("sources.kibana", "missing url and export: add url for the saved-objects API, "+
				"export for an export file or folder, or both")
		}
		v.url("sources.kibana.url", k.URL, false)
		v.tls("sources.kibana.tls", k.TLS)
	}
	if g := s.Grafana; g != nil {
		if g.URL == "" && g.Dashboards == "" {
			v.add("sources.grafana", "missing url and dashboards: add url for the Grafana API, "+
				"dashboards for a file or folder of dashboard JSON, or both")
		}
		v.url("sources.grafana.url", g.URL, false)
		v.tls("sources.grafana.tls", g.TLS)
	}
	if j := s.Jaeger; j != nil {
		if j.GRPC == "" && j.HTTP == "" {
			v.add("sources.jaeger", "missing grpc and http: add grpc (host:port of the query "+
				"service's api_v2) or http (its URL)")
		}
		v.hostPort("sources.jaeger.grpc", j.GRPC, false)
		v.url("sources.jaeger.http", j.HTTP, false)
		v.hostPort("sources.jaeger.otlp", j.OTLP, false)
		v.tls("sources.jaeger.tls", j.TLS)
	}
}

func (v *validator) targets() {
	t := v.p.Targets
	if l := t.Loki; l != nil {
		v.url("targets.loki.url", l.URL, true)
		v.tls("targets.loki.tls", l.TLS)
	}
	if tp := t.Tempo; tp != nil {
		v.url("targets.tempo.url", tp.URL, true)
		v.hostPort("targets.tempo.otlp", tp.OTLP, false)
		v.url("targets.tempo.otlp_http", tp.OTLPHTTP, false)
		v.tls("targets.tempo.tls", tp.TLS)
	}
	if g := t.Grafana; g != nil {
		v.url("targets.grafana.url", g.URL, true)
		v.tls("targets.grafana.tls", g.TLS)
	}
	if a := t.Alertmanager; a != nil {
		v.url("targets.alertmanager.url", a.URL, true)
		v.tls("targets.alertmanager.tls", a.TLS)
	}
}

// url checks an absolute http or https URL. A URL with a password in it is
// rejected without quoting it, since the password would be a literal secret.
func (v *validator) url(path, raw string, required bool) {
	if raw == "" {
		if required {
			v.add(path, "missing URL: add %s, such as https://host:port", lastKey(path))
		}
		return
	}
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			v.add(path, "URL contains a password: remove it and set password to env:NAME or file:PATH")
			return
		}
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, "invalid URL %q: use an absolute http or https URL, such as https://host:port", raw)
	}
}

// hostPort checks a host:port address. A listen address may leave the host
// out, to listen on every interface, and may use port 0 for any free port.
func (v *validator) hostPort(path, addr string, listen bool) {
	if addr == "" {
		if listen {
			v.add(path, "missing address: set host:port, such as 127.0.0.1:9200")
		}
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, "invalid address %q: use host:port, such as 127.0.0.1:4317", addr)
		return
	}
	n, err := strconv.Atoi(port)
	lowest := 1
	if listen {
		lowest = 0
	}
	if err != nil || n < lowest || n > 65535 {
		v.add(path, "invalid port %q in %q: use a number from %d to 65535", port, addr, lowest)
	}
	if host == "" && !listen {
		v.add(path, "missing host in %q: use host:port", addr)
	}
}

func (v *validator) tls(path string, t TLS) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.add(path, "cert_file and key_file go together: set both for a client certificate, or neither")
	}
}

func (v *validator) traces() {
	t := v.p.Traces
	if t == nil {
		return
	}
	if len(t.Services) == 0 {
		v.add("traces.services", "missing services: list service names, or [\"*\"] for all")
	}
	for i, s := range t.Services {
		if strings.TrimSpace(s) == "" {
			v.add(fmt.Sprintf("traces.services[%d]", i), "empty service name: name a service, or \"*\" for all")
		}
	}
}

func (v *validator) gateway() {
	g := v.p.Gateway
	v.hostPort("gateway.listen", g.Listen, true)
	v.hostPort("gateway.otlp_grpc", g.OTLPGRPC, true)
	v.hostPort("gateway.otlp_http", g.OTLPHTTP, true)
	if g.QueueDir == "" {
		v.add("gateway.queue_dir", "missing queue folder: set queue_dir, such as migrate-queue")
	}
}

func (v *validator) phases() {
	ph := v.p.Phases
	if ph.Translate.MaxUnsupported < 0 {
		v.add("phases.translate.max_unsupported", "max_unsupported is %d: use 0 or more",
			ph.Translate.MaxUnsupported)
	}
	if ph.Translate.Out == "" {
		v.add("phases.translate.out", "missing output folder: set out, such as migrate-out")
	}
	v.positive("phases.inventory.window", ph.Inventory.Window, "24h")
	if share := ph.Inventory.MaxStreamShare; share <= 0 || share > 1 {
		v.add("phases.inventory.max_stream_share", "max_stream_share is %g: use a fraction above 0 and at most 1, such as 0.5", share)
	}
	v.positive("phases.deploy.timeout", ph.Deploy.Timeout, "10s")
	v.positive("phases.deploy.canary_wait", ph.Deploy.CanaryWait, "1m")
	v.notNegative("phases.parallel_run.min_duration", ph.ParallelRun.MinDuration)
	v.backfill(ph.ParallelRun.Backfill)
	v.parity(ph.ParallelRun.Parity)
	v.cutover(ph.Cutover)
	if d := ph.Decommission; d.DeleteIndices && d.SnapshotRepository == "" {
		v.add("phases.decommission.snapshot_repository", "missing snapshot_repository: "+
			"delete_indices needs a repository to snapshot the indices into first")
	}
}

func (v *validator) backfill(b BackfillConfig) {
	const path = "phases.parallel_run.backfill"
	now := time.Now()
	from, fromErr := ParseTime(b.From, now)
	if fromErr != nil {
		v.add(path+".from", "%v", fromErr)
	}
	if b.To != "" {
		to, toErr := ParseTime(b.To, now)
		if toErr != nil {
			v.add(path+".to", "%v", toErr)
		} else if fromErr == nil && !from.Before(to) {
			v.add(path+".to", "to %q is not after from %q: swap them or widen the range", b.To, b.From)
		}
	}
	if s := b.Slice.Duration; s < time.Minute || s > day {
		v.add(path+".slice", "slice is %s: use from 1m to 24h", b.Slice)
	}
}

func (v *validator) parity(c ParityConfig) {
	const path = "phases.parallel_run.parity"
	if c.Window.Duration < time.Minute {
		v.add(path+".window", "window is %s: use 1m or more", c.Window)
	}
	if !(c.CompletenessMin > 0 && c.CompletenessMin <= 1) {
		v.add(path+".completeness_min", "completeness_min is %v: use a fraction above 0 "+
			"and at most 1, such as 0.999", c.CompletenessMin)
	}
	if !(c.ResultTolerance >= 0 && c.ResultTolerance <= 1) {
		v.add(path+".result_tolerance", "result_tolerance is %v: use a fraction from 0 to 1, "+
			"such as 0.01", c.ResultTolerance)
	}
	if !(c.LatencyP95MaxRatio >= 1) || math.IsInf(c.LatencyP95MaxRatio, 0) {
		v.add(path+".latency_p95_max_ratio", "latency_p95_max_ratio is %v: use a finite ratio "+
			"of 1 or more, such as 1.5", c.LatencyP95MaxRatio)
	}
	if c.ConsecutivePasses < 1 {
		v.add(path+".consecutive_passes", "consecutive_passes is %d: use 1 or more",
			c.ConsecutivePasses)
	}
}

func (v *validator) cutover(c CutoverConfig) {
	const path = "phases.cutover"
	switch c.Approval {
	case ApprovalRequired, ApprovalNone:
	default:
		v.add(path+".approval", "invalid approval %q: use %s or %s", c.Approval,
			ApprovalRequired, ApprovalNone)
	}
	v.notNegative(path+".soak", c.Soak)
	if c.BlockOnAlerts != nil && strings.TrimSpace(c.BlockOnAlerts.Severity) == "" {
		v.add(path+".block_on_alerts.severity", "missing severity: name the alert severity "+
			"that holds cutover, such as critical, or remove block_on_alerts")
	}
}

func (v *validator) hooks() {
	for i, h := range v.p.Hooks {
		path := fmt.Sprintf("hooks[%d]", i)
		if !ValidPhase(h.Phase) {
			v.add(path+".phase", "invalid phase %q: use one of %s", h.Phase,
				strings.Join(PhaseNames, ", "))
		}
		if h.When != HookBefore && h.When != HookAfter {
			v.add(path+".when", "invalid when %q: use %s or %s", h.When, HookBefore, HookAfter)
		}
		if strings.TrimSpace(h.Run) == "" {
			v.add(path+".run", "missing command: set run to the shell command to run")
		}
		v.positive(path+".timeout", h.Timeout, "5m")
	}
}

// secrets rejects secrets written literally. It reads no secret.
func (v *validator) secrets() {
	v.p.eachSecret(func(path string, s *Secret) {
		if msg := s.problem(); msg != "" {
			v.add(path, "%s", msg)
		}
	})
}

func (v *validator) positive(path string, d Duration, example string) {
	if d.Duration <= 0 {
		v.add(path, "%s is %s: use a positive duration, such as %s", lastKey(path), d, example)
	}
}

func (v *validator) notNegative(path string, d Duration) {
	if d.Duration < 0 {
		v.add(path, "%s is %s: use 0 or a positive duration", lastKey(path), d)
	}
}

func lastKey(path string) string {
	return path[strings.LastIndex(path, ".")+1:]
}
