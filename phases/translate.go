package phases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/internal/files"
	"github.com/obs-migrate/migrate/translators/alerts"
	"github.com/obs-migrate/migrate/translators/grafana"
	"github.com/obs-migrate/migrate/translators/kibana"
)

// Translate artifacts in the plan state.
const (
	artifactTranslateKibana  = "translate.kibana"
	artifactTranslateGrafana = "translate.grafana"
	artifactTranslateAlerts  = "translate.alerts"
	artifactTranslate        = "translate"
)

// maxListedItems bounds the unsupported items a gate lists as evidence.
const maxListedItems = 20

// TranslateSummary is the translate phase's result, stored for its gate.
type TranslateSummary struct {
	// Unsupported counts source objects that failed or are unsupported.
	Unsupported int `json:"unsupported"`
	// Items names the first of them.
	Items   []string         `json:"items,omitempty"`
	Reports []string         `json:"reports,omitempty"`
	Kibana  *kibana.Summary  `json:"kibana,omitempty"`
	Grafana *grafana.Summary `json:"grafana,omitempty"`
	Alerts  *alerts.Summary  `json:"alerts,omitempty"`
	At      time.Time        `json:"at"`
}

// translateOut is the folder of the phase's outputs.
func translateOut(r *Run, sub string) string {
	return filepath.Join(r.Plan.Path(r.Plan.Phases.Translate.Out), "translate", sub)
}

func translateKibana(ctx context.Context, r *Run) (string, error) {
	src := r.Plan.Sources.Kibana
	if src == nil || src.Export == "" {
		return "skipped: the plan has no sources.kibana.export", nil
	}
	names, errs := files.Find([]string{r.Plan.Path(src.Export)}, []string{".json", ".ndjson"})
	if len(names) == 0 {
		if len(errs) > 0 {
			return "", fmt.Errorf("reading sources.kibana.export: %w", errs[0])
		}
		return "", fmt.Errorf("sources.kibana.export %s holds no .json or .ndjson file", src.Export)
	}
	var inputs []kibana.Input
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", name, err)
		}
		inputs = append(inputs, kibana.Input{File: name, Data: data})
	}
	opts := kibana.Options{Mappings: r.Plan.Logs}
	if g := r.Plan.Targets.Grafana; g != nil {
		opts.LokiUID = g.LokiUID
	}
	res := kibana.Convert(inputs, opts)
	if err := ctx.Err(); err != nil {
		return "", err
	}

	writes := map[string][]byte{}
	for _, d := range res.Dashboards {
		writes[filepath.Join("dashboards", d.File)] = d.JSON
	}
	reportPath, err := writeTranslation(r, "kibana", res.Report, writes, fmt.Sprintf("%d dashboards and the Kibana report", len(res.Dashboards)))
	if err != nil {
		return "", err
	}

	sum := TranslateSummary{Kibana: &res.Report.Summary, Reports: []string{reportPath}, At: r.Now().UTC()}
	for _, it := range res.Report.Items {
		if it.Status == kibana.StatusFailed || it.Status == "unsupported" {
			sum.count(fmt.Sprintf("%s %s %q: %s", it.Type, it.ID, it.Title, it.Status))
		}
	}
	if err := putJSON(ctx, r, artifactTranslateKibana, sum); err != nil {
		return "", err
	}
	s := res.Report.Summary
	return fmt.Sprintf("%d dashboards from %d objects; panels %d exact, %d approximate, %d unsupported; %d objects failed or unsupported",
		s.Dashboards, s.Objects, s.Panels.Exact, s.Panels.Approximate, s.Panels.Unsupported, sum.Unsupported), nil
}

// batchReport is what every translator's report offers.
type batchReport interface {
	JSON() ([]byte, error)
	Markdown() []byte
}

// writeTranslation writes a translator's outputs and its report under
// translate/sub of the phase's folder, and returns the Markdown report's
// path.
func writeTranslation(r *Run, sub string, report batchReport, writes map[string][]byte, what string) (string, error) {
	reportJSON, err := report.JSON()
	if err != nil {
		return "", err
	}
	writes["report.json"], writes["report.md"] = reportJSON, report.Markdown()
	out := translateOut(r, sub)
	if err := writeOutputs(r, out, writes, what); err != nil {
		return "", err
	}
	return filepath.Join(out, "report.md"), nil
}

// count adds an unsupported or failed item, naming the first ones.
func (s *TranslateSummary) count(item string) {
	s.Unsupported++
	if len(s.Items) < maxListedItems {
		s.Items = append(s.Items, item)
	}
}

// writeOutputs writes files under out, or under --dry-run reports what it
// would write.
func writeOutputs(r *Run, out string, writes map[string][]byte, what string) error {
	if r.DryRun {
		r.Would("write %s to %s", what, out)
		return nil
	}
	for name, data := range writes {
		if err := files.WriteAtomic(filepath.Join(out, name), data); err != nil {
			return err
		}
	}
	return nil
}

// readSources reads every file with one of exts under a plan path. A file
// that cannot be read fails the step, so nothing is skipped silently.
func readSources(r *Run, key, path string, exts []string) (map[string][]byte, []string, error) {
	names, errs := files.Find([]string{r.Plan.Path(path)}, exts)
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("reading %s: %w", key, errs[0])
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%s %s has no %s file", key, path, strings.Join(exts, " or "))
	}
	data := make(map[string][]byte, len(names))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", name, err)
		}
		data[name] = b
	}
	return data, names, nil
}

func translateGrafana(ctx context.Context, r *Run) (string, error) {
	src := r.Plan.Sources.Grafana
	if src == nil || src.Dashboards == "" {
		return "skipped: the plan has no sources.grafana.dashboards", nil
	}
	data, names, err := readSources(r, "sources.grafana.dashboards", src.Dashboards, []string{".json"})
	if err != nil {
		return "", err
	}
	inputs := make([]grafana.Input, len(names))
	for i, name := range names {
		inputs[i] = grafana.Input{File: name, Data: data[name]}
	}
	opts := grafana.Options{Mappings: r.Plan.Logs, Index: src.Index}
	if g := r.Plan.Targets.Grafana; g != nil {
		opts.LokiUID, opts.TempoUID = g.LokiUID, g.TempoUID
	}
	res := grafana.Convert(inputs, opts)
	if err := ctx.Err(); err != nil {
		return "", err
	}

	writes := map[string][]byte{}
	for _, d := range res.Dashboards {
		writes[filepath.Join("dashboards", d.File)] = d.JSON
	}
	reportPath, err := writeTranslation(r, "grafana", res.Report, writes, fmt.Sprintf("%d dashboards and the Grafana report", len(res.Dashboards)))
	if err != nil {
		return "", err
	}

	sum := TranslateSummary{Grafana: &res.Report.Summary, Reports: []string{reportPath}, At: r.Now().UTC()}
	for _, it := range res.Report.Items {
		switch it.Status {
		case grafana.StatusFailed, grafana.StatusNotConverted, "unsupported":
			sum.count(fmt.Sprintf("grafana dashboard %s %q: %s", it.Source, it.Title, it.Status))
		}
	}
	if err := putJSON(ctx, r, artifactTranslateGrafana, sum); err != nil {
		return "", err
	}
	s := res.Report.Summary
	return fmt.Sprintf("%d dashboards converted, %d not converted, %d unchanged, %d failed; targets %d exact, %d approximate, %d unsupported",
		s.Converted, s.NotConverted, s.Unchanged, s.Failed, s.Targets.Exact, s.Targets.Approximate, s.Targets.Unsupported), nil
}

func translateAlerts(ctx context.Context, r *Run) (string, error) {
	if r.Plan.Sources.Alerts == "" {
		return "skipped: the plan has no sources.alerts", nil
	}
	data, names, err := readSources(r, "sources.alerts", r.Plan.Sources.Alerts, []string{".json", ".ndjson"})
	if err != nil {
		return "", err
	}
	inputs := make([]alerts.Input, len(names))
	for i, name := range names {
		inputs[i] = alerts.Input{File: name, Data: data[name]}
	}
	res := alerts.Convert(inputs, alerts.Options{Mappings: r.Plan.Logs})
	if err := ctx.Err(); err != nil {
		return "", err
	}

	writes := map[string][]byte{}
	for _, f := range res.Files {
		// Loki's ruler loads every file of its folder, so rules disabled
		// in the source go to a folder of their own.
		dir := "rules"
		if f.Disabled {
			dir = "rules-disabled"
		}
		writes[filepath.Join(dir, f.File)] = f.YAML
	}
	reportPath, err := writeTranslation(r, "alerts", res.Report, writes, fmt.Sprintf("%d rule files and the alerts report", len(res.Files)))
	if err != nil {
		return "", err
	}

	sum := TranslateSummary{Alerts: &res.Report.Summary, Reports: []string{reportPath}, At: r.Now().UTC()}
	for _, it := range res.Report.Items {
		if it.Status == alerts.StatusFailed || it.Status == "unsupported" {
			sum.count(fmt.Sprintf("alert %s %s %q: %s", it.Kind, it.ID, it.Name, it.Status))
		}
	}
	if err := putJSON(ctx, r, artifactTranslateAlerts, sum); err != nil {
		return "", err
	}
	s := res.Report.Summary
	return fmt.Sprintf("%d rules written to %d files (%d of them disabled in the source); rules %d exact, %d approximate, %d unsupported; %d objects and %d files failed",
		s.RulesWritten, s.RuleFiles, s.DisabledRulesWritten, s.Rules.Exact, s.Rules.Approximate, s.Rules.Unsupported, s.Failed, s.FailedFiles), nil
}

// translateReport combines the translators' results for the gate.
func translateReport(ctx context.Context, r *Run) (string, error) {
	total := TranslateSummary{At: r.Now().UTC()}
	for _, artifact := range []string{artifactTranslateKibana, artifactTranslateGrafana, artifactTranslateAlerts} {
		var part TranslateSummary
		found, err := getJSON(ctx, r, artifact, &part)
		if err != nil {
			return "", err
		}
		if !found {
			continue
		}
		total.Unsupported += part.Unsupported
		total.Items = append(total.Items, part.Items...)
		total.Reports = append(total.Reports, part.Reports...)
		total.Kibana = cmpOr(total.Kibana, part.Kibana)
		total.Grafana = cmpOr(total.Grafana, part.Grafana)
		total.Alerts = cmpOr(total.Alerts, part.Alerts)
	}
	if len(total.Items) > maxListedItems {
		total.Items = total.Items[:maxListedItems]
	}
	if err := putJSON(ctx, r, artifactTranslate, total); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d unsupported or failed items across all translators", total.Unsupported), nil
}

// cmpOr returns a unless it is nil.
func cmpOr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// unsupportedReviewed is the translate exit gate: unsupported items within
// phases.translate.max_unsupported, or approved by a person after this
// translation ran.
func unsupportedReviewed(ctx context.Context, r *Run) GateResult {
	var sum TranslateSummary
	found, err := getJSON(ctx, r, artifactTranslate, &sum)
	if err != nil {
		return inconclusive("reading the translation summary: "+err.Error(), nil)
	}
	if !found {
		return fail("no translation summary is stored; the translate steps did not complete", nil)
	}
	limit := r.Plan.Phases.Translate.MaxUnsupported
	evidence := map[string]any{"unsupported": sum.Unsupported, "max_unsupported": limit, "reports": sum.Reports}
	if len(sum.Items) > 0 {
		evidence["items"] = sum.Items
	}
	if sum.Unsupported <= limit {
		return pass(fmt.Sprintf("%d unsupported items, within max_unsupported %d", sum.Unsupported, limit), evidence)
	}
	approvals, err := r.Store.Approvals(ctx, Translate)
	if err != nil {
		return inconclusive("reading approvals: "+err.Error(), evidence)
	}
	for i := len(approvals) - 1; i >= 0; i-- {
		if a := approvals[i]; a.Generation == r.Generation {
			evidence["approved_by"], evidence["approval_reason"] = a.Actor, a.Reason
			return pass(fmt.Sprintf("%d unsupported items exceed max_unsupported %d but were reviewed and approved by %s",
				sum.Unsupported, limit, a.Actor), evidence)
		}
	}
	return fail(fmt.Sprintf("%d unsupported items exceed phases.translate.max_unsupported %d; review them in the report, then run migrate plan approve PLAN --phase translate --reason TEXT",
		sum.Unsupported, limit), evidence)
}
