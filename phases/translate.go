package phases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/obs-migrate/migrate/internal/files"
	"github.com/obs-migrate/migrate/translators/kibana"
)

// Translate artifacts in the plan state.
const (
	artifactTranslateKibana = "translate.kibana"
	artifactTranslate       = "translate"
)

// maxListedItems bounds the unsupported items a gate lists as evidence.
const maxListedItems = 20

// TranslateSummary is the translate phase's result, stored for its gate.
type TranslateSummary struct {
	// Unsupported counts source objects that failed or are unsupported.
	Unsupported int `json:"unsupported"`
	// Items names the first of them.
	Items   []string        `json:"items,omitempty"`
	Reports []string        `json:"reports,omitempty"`
	Kibana  *kibana.Summary `json:"kibana,omitempty"`
	At      time.Time       `json:"at"`
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

	out := translateOut(r, "kibana")
	reportJSON, err := res.Report.JSON()
	if err != nil {
		return "", err
	}
	writes := map[string][]byte{"report.json": reportJSON, "report.md": res.Report.Markdown()}
	for _, d := range res.Dashboards {
		writes[filepath.Join("dashboards", d.File)] = d.JSON
	}
	if r.DryRun {
		r.Would("write %d dashboards and the Kibana report to %s", len(res.Dashboards), out)
	} else {
		for name, data := range writes {
			if err := files.WriteAtomic(filepath.Join(out, name), data); err != nil {
				return "", err
			}
		}
	}

	sum := TranslateSummary{Kibana: &res.Report.Summary, Reports: []string{filepath.Join(out, "report.md")}, At: r.Now().UTC()}
	for _, it := range res.Report.Items {
		if it.Status == kibana.StatusFailed || it.Status == "unsupported" {
			sum.Unsupported++
			if len(sum.Items) < maxListedItems {
				sum.Items = append(sum.Items, fmt.Sprintf("%s %s %q: %s", it.Type, it.ID, it.Title, it.Status))
			}
		}
	}
	if err := putJSON(ctx, r, artifactTranslateKibana, sum); err != nil {
		return "", err
	}
	s := res.Report.Summary
	return fmt.Sprintf("%d dashboards from %d objects; panels %d exact, %d approximate, %d unsupported; %d objects failed or unsupported",
		s.Dashboards, s.Objects, s.Panels.Exact, s.Panels.Approximate, s.Panels.Unsupported, sum.Unsupported), nil
}

// translateReport combines the translators' results for the gate.
func translateReport(ctx context.Context, r *Run) (string, error) {
	total := TranslateSummary{At: r.Now().UTC()}
	var k TranslateSummary
	found, err := getJSON(ctx, r, artifactTranslateKibana, &k)
	if err != nil {
		return "", err
	}
	if found {
		total.Unsupported += k.Unsupported
		total.Items = append(total.Items, k.Items...)
		total.Reports = append(total.Reports, k.Reports...)
		total.Kibana = k.Kibana
	}
	if len(total.Items) > maxListedItems {
		total.Items = total.Items[:maxListedItems]
	}
	if err := putJSON(ctx, r, artifactTranslate, total); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d unsupported or failed items across all translators", total.Unsupported), nil
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
