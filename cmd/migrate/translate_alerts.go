package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/internal/files"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/alerts"
)

type translateAlertsFlags struct {
	out, mapping, report string
	strict               bool
}

func (a *app) translateAlertsCommand() *cobra.Command {
	var f translateAlertsFlags
	cmd := &cobra.Command{
		Use:   "alerts PATH... --out DIR",
		Short: "Convert Kibana alerting rules and Watcher watches on logs into Loki ruler rules",
		Long: `Convert Kibana rules and Elasticsearch Watcher watches into Loki alerting
rules. Elasticsearch query (.es-query), index threshold (.index-threshold)
and log threshold (logs.alert.document.count) rules, and watches with a search
input and a compare condition, become LogQL rules: the query is rendered for
the log mapping (--mapping), the count or aggregation over the rule's time
window becomes a metric query, and the threshold a comparison. Each rule is
graded exact, approximate or unsupported with the reasons.

PATH is a Kibana saved-object export (NDJSON), a rule from the Kibana alerting
API, a watch (as stored, or from the Watcher API), or a folder, walked for
.json and .ndjson files. One rule file is written per input file that has a
convertible rule, with one group per source rule. Rules that are disabled in
Kibana and deactivated watches go to a second file, NAME.disabled.yaml, which
is not meant to be loaded as it is. Loki rules have no actions: each rule's
annotations and the report list what the source notified, for Alertmanager
routes to take over.

A malformed object is reported with its file, line and id, and the batch
goes on. Exit status: 0 when the batch completes (failed objects are listed
in the report), 2 when no input could be read, 3 with --strict when any
object or file failed or any rule is unsupported.`,
		Example: `  migrate translate alerts kibana-rules.ndjson watches/ --out rules/ --report report.md
  migrate translate alerts exports/ --out rules/ --mapping plan.yaml --report report.json --strict`,
		Args: minArgs(1, "at least one PATH (an export file, a rule, a watch or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTranslateAlerts(f, args)
		},
	}
	cmd.Flags().StringVar(&f.out, "out", "", "folder for the generated Loki rule files (required; created if missing)")
	cmd.Flags().StringVar(&f.mapping, "mapping", "", "YAML file with the logs mapping: a whole plan or only a top-level logs list")
	cmd.Flags().StringVar(&f.report, "report", "", "write the batch report to this file: Markdown for .md, JSON for .json")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit with status 3 when any object or file failed or any rule is unsupported")
	return cmd
}

func (a *app) runTranslateAlerts(f translateAlertsFlags, paths []string) error {
	if f.out == "" {
		return usageError("--out is required: the folder to write rule files to")
	}
	if f.report != "" && !isReportFile(f.report) {
		return usageError("--report %s: use a .md or .json file name", f.report)
	}
	var opts alerts.Options
	if f.mapping != "" {
		settings, err := plans.LoadTranslateSettings(f.mapping)
		if err != nil {
			return usageError("--mapping: %v", err)
		}
		opts.Mappings = settings.Logs
	}

	inputs, readErrs := readAlertInputs(paths)
	for _, err := range readErrs {
		a.log.Error("reading input", "err", err)
	}
	if len(inputs) == 0 {
		return usageError("no input could be read from %s", strings.Join(paths, ", "))
	}

	res := alerts.Convert(inputs, opts)
	if res.Report.NothingRead() {
		a.logAlertFailures(res.Report)
		return usageError("no rule or watch could be read from %s", strings.Join(paths, ", "))
	}
	if err := writeRuleFiles(f.out, res.Files); err != nil {
		return err
	}
	if f.report != "" {
		if err := writeAlertsReport(f.report, res.Report); err != nil {
			return err
		}
	}

	s := res.Report.Summary
	a.log.Info("alerts batch done",
		"files", s.Files, "failed_files", s.FailedFiles, "objects", s.Objects, "failed", s.Failed, "skipped", s.Skipped,
		"rules_exact", s.Rules.Exact, "rules_approximate", s.Rules.Approximate, "rules_unsupported", s.Rules.Unsupported,
		"rules_written", s.RulesWritten, "disabled_rules_written", s.DisabledRulesWritten, "rule_files", s.RuleFiles,
		"out", f.out)
	a.logAlertFailures(res.Report)
	if f.strict && (res.Report.Failed() || res.Report.HasUnsupported() || len(readErrs) > 0) {
		return withExitCode(exitHeld, errors.New("the batch has failed or unsupported items (--strict)"))
	}
	return nil
}

// readAlertInputs reads the files that paths name, in sorted order.
func readAlertInputs(paths []string) ([]alerts.Input, []error) {
	read, errs := readInputs(paths, []string{".json", ".ndjson"})
	inputs := make([]alerts.Input, len(read))
	for i, in := range read {
		inputs[i] = alerts.Input{File: in.File, Data: in.Data}
	}
	return inputs, errs
}

func writeRuleFiles(dir string, outs []alerts.Output) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the output folder: %w", err)
	}
	for _, o := range outs {
		if err := files.WriteAtomic(filepath.Join(dir, o.File), o.YAML); err != nil {
			return err
		}
	}
	return nil
}

func writeAlertsReport(file string, r *alerts.Report) error {
	data := r.Markdown()
	if strings.EqualFold(filepath.Ext(file), ".json") {
		var err error
		if data, err = r.JSON(); err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
	}
	return files.WriteAtomic(file, data)
}

// logAlertFailures logs each failed object on stderr, so a run without
// --report still names what to fix.
func (a *app) logAlertFailures(r *alerts.Report) {
	n := 0
	for _, it := range r.Items {
		if it.Status != alerts.StatusFailed {
			continue
		}
		if n++; n <= maxLoggedFailures {
			a.log.Warn("object failed", "err", it.Error)
		}
	}
	if n > maxLoggedFailures {
		a.log.Warn("more objects failed; the report lists every one", "not_shown", n-maxLoggedFailures)
	}
}
