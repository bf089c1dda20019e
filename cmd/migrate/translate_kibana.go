package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/internal/files"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/kibana"
)

type translateKibanaFlags struct {
	out     string
	mapping string
	lokiUID string
	report  string
	strict  bool
}

func (a *app) translateKibanaCommand() *cobra.Command {
	var f translateKibanaFlags
	cmd := &cobra.Command{
		Use:   "kibana PATH... --out DIR",
		Short: "Convert Kibana saved objects into Grafana dashboards on Loki",
		Long: `Convert Kibana dashboards, visualizations, saved searches, Lens and TSVB
panels into Grafana dashboards whose panels query Loki.

PATH is an export file (NDJSON from Kibana 7 and 8, legacy JSON, or Kibana 5
and 6 exports) or a folder, which is walked for .json and .ndjson files.
References resolve across every file of the batch. One dashboard file is
written per source dashboard, and one per saved search or visualization that
no dashboard shows. Each panel is graded exact, approximate or unsupported.

A malformed object is reported with its file and id and the batch goes on.
Exit status: 0 when the batch completes (failed objects are listed in the
report), 2 when no input could be read, 3 with --strict when any object
failed or any item is unsupported.`,
		Example: `  migrate translate kibana exports/ --out dashboards/ --report report.md
  migrate translate kibana kibana.ndjson --out out/ --mapping plan.yaml --loki-uid prod-loki --report report.json --strict`,
		Args: minArgs(1, "at least one PATH (an export file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTranslateKibana(f, args)
		},
	}
	cmd.Flags().StringVar(&f.out, "out", "", "folder for the generated dashboard JSON files (required; created if missing)")
	cmd.Flags().StringVar(&f.mapping, "mapping", "", "YAML file with the logs mapping: a whole plan or only a top-level logs list")
	cmd.Flags().StringVar(&f.lokiUID, "loki-uid", "", "uid of the Loki data source in Grafana (default \"loki\", or targets.grafana.loki_uid of the plan)")
	cmd.Flags().StringVar(&f.report, "report", "", "write the batch report to this file: Markdown for .md, JSON for .json")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit with status 3 when any object failed or any item is unsupported")
	return cmd
}

func (a *app) runTranslateKibana(f translateKibanaFlags, paths []string) error {
	if f.out == "" {
		return usageError("--out is required: the folder to write dashboards to")
	}
	if f.report != "" && !isReportFile(f.report) {
		return usageError("--report %s: use a .md or .json file name", f.report)
	}
	opts := kibana.Options{LokiUID: f.lokiUID}
	if f.mapping != "" {
		settings, err := plans.LoadTranslateSettings(f.mapping)
		if err != nil {
			return usageError("--mapping: %v", err)
		}
		opts.Mappings = settings.Logs
		if opts.LokiUID == "" {
			opts.LokiUID = settings.LokiUID
		}
	}

	inputs, readErrs := readInputs(paths, []string{".json", ".ndjson"})
	for _, err := range readErrs {
		a.log.Error("reading input", "err", err)
	}
	if len(inputs) == 0 {
		return usageError("no input could be read from %s", strings.Join(paths, ", "))
	}

	progress := newProgress(a.stderr, "converted dashboards and unused objects:")
	opts.Progress = progress.update
	res := kibana.Convert(inputs, opts)
	progress.done()
	if res.Report.Summary.Objects == 0 {
		a.logFailures(res.Report)
		return usageError("no saved object could be read from %s", strings.Join(paths, ", "))
	}

	if err := writeOutputs(f.out, res.Dashboards); err != nil {
		return err
	}
	if f.report != "" {
		if err := writeReport(f.report, res.Report); err != nil {
			return err
		}
	}
	s := res.Report.Summary
	a.log.Info("kibana batch done",
		"files", s.Files, "objects", s.Objects, "failed", s.ObjectsFailed, "dashboards", s.Dashboards,
		"panels_exact", s.Panels.Exact, "panels_approximate", s.Panels.Approximate, "panels_unsupported", s.Panels.Unsupported,
		"queries_exact", s.Queries.Exact, "queries_approximate", s.Queries.Approximate, "queries_unsupported", s.Queries.Unsupported,
		"out", f.out)
	a.logFailures(res.Report)
	if f.strict && (res.Report.Failed() || res.Report.HasUnsupported() || len(readErrs) > 0) {
		return withExitCode(exitHeld, errors.New("the batch has failed or unsupported items (--strict)"))
	}
	return nil
}

func isReportFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".md" || ext == ".json"
}

// readInputs reads files and walks folders for files with the given
// extensions, in sorted order so a batch is deterministic.
func readInputs(paths []string, exts []string) ([]kibana.Input, []error) {
	names, errs := files.Find(paths, exts)
	var inputs []kibana.Input
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		inputs = append(inputs, kibana.Input{File: name, Data: data})
	}
	return inputs, errs
}

func writeOutputs(dir string, outs []kibana.Output) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the output folder: %w", err)
	}
	for _, o := range outs {
		if err := files.WriteAtomic(filepath.Join(dir, o.File), o.JSON); err != nil {
			return err
		}
	}
	return nil
}

func writeReport(file string, r *kibana.Report) error {
	var (
		data []byte
		err  error
	)
	if strings.EqualFold(filepath.Ext(file), ".json") {
		data, err = r.JSON()
	} else {
		data = r.Markdown()
	}
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	return files.WriteAtomic(file, data)
}

// progress prints "converting 120/3000" on stderr for long batches, at most
// twice a second, on one line when stderr is a terminal.
type progress struct {
	w     interface{ Write([]byte) (int, error) }
	label string
	last  time.Time
	tty   bool
	shown bool
}

func newProgress(w interface{ Write([]byte) (int, error) }, label string) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, label: label, last: time.Now(), tty: tty}
}

func (p *progress) update(done, total int) {
	if total < 50 || (time.Since(p.last) < 500*time.Millisecond && done != total) {
		return
	}
	p.last = time.Now()
	p.shown = true
	if p.tty {
		fmt.Fprintf(p.w, "\r%s %d/%d", p.label, done, total)
	} else {
		fmt.Fprintf(p.w, "%s %d/%d\n", p.label, done, total)
	}
}

func (p *progress) done() {
	if p.shown && p.tty {
		fmt.Fprintln(p.w)
	}
}

// maxLoggedFailures bounds the failures logged on stderr; the report lists
// them all.
const maxLoggedFailures = 20

// logFailures names each failed object on stderr, so a run without --report
// still says what to fix.
func (a *app) logFailures(r *kibana.Report) {
	n := 0
	for _, it := range r.Items {
		if it.Status != kibana.StatusFailed {
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
