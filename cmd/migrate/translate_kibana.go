package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
		mappings, err := plans.LoadLogMappings(f.mapping)
		if err != nil {
			return usageError("--mapping: %v", err)
		}
		opts.Mappings = mappings
	}

	inputs, readErrs := readInputs(paths, []string{".json", ".ndjson"})
	for _, err := range readErrs {
		a.log.Error("reading input", "err", err)
	}
	if len(inputs) == 0 {
		return usageError("no input could be read from %s", strings.Join(paths, ", "))
	}

	progress := newProgress(a.stderr, "converting")
	opts.Progress = progress.update
	res := kibana.Convert(inputs, opts)
	progress.done()

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
	if s.ObjectsFailed > 0 {
		a.log.Warn("some objects failed; see the report for each with its file and id", "failed", s.ObjectsFailed)
	}
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
	var (
		files []string
		errs  []error
	)
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			if !d.IsDir() && hasExt(path, exts) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var inputs []kibana.Input
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		inputs = append(inputs, kibana.Input{File: file, Data: data})
	}
	return inputs, errs
}

func hasExt(path string, exts []string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	for _, e := range exts {
		if ext == e {
			return true
		}
	}
	return false
}

func writeOutputs(dir string, outs []kibana.Output) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the output folder: %w", err)
	}
	for _, o := range outs {
		if err := writeFileAtomic(filepath.Join(dir, o.File), o.JSON); err != nil {
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
	return writeFileAtomic(file, data)
}

// writeFileAtomic writes through a temporary file and a rename, so an
// interrupted run never leaves half a file.
func writeFileAtomic(path string, data []byte) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
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
