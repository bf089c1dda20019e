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
	"github.com/obs-migrate/migrate/translators/grafana"
	"github.com/obs-migrate/migrate/translators/traceql"
)

type translateGrafanaFlags struct {
	out, mapping, report string
	index                string
	lokiUID, tempoUID    string
	datasources          []string
	strict               bool
	tagScope             string
	errorAttribute       bool
}

func (a *app) translateGrafanaCommand() *cobra.Command {
	var f translateGrafanaFlags
	cmd := &cobra.Command{
		Use:   "grafana PATH... --out DIR",
		Short: "Convert Grafana dashboards on Elasticsearch, OpenSearch and Jaeger to Loki and Tempo",
		Long: `Convert Grafana dashboards whose panels query Elasticsearch, OpenSearch or
Jaeger into dashboards that query Loki and Tempo. Each dashboard is edited as
raw JSON: every field the conversion does not touch is written back as it
was. Lucene queries and aggregations become LogQL, Jaeger searches TraceQL;
data source references, data source and ad hoc variables, terms variables
and annotations are repointed. A target that cannot be converted stays on
its old data source (the panel becomes Mixed) and the report says why.
Dashboards already on Loki and Tempo are written unchanged.

PATH is a dashboard JSON file (bare, or an API export {"dashboard": ...}) or a
folder, walked for .json files. Old dashboards name data sources by plain
strings; --datasource NAME=TYPE settles what such a name is.

Exit status: 0 when the batch completes (failed files are listed in the
report), 2 when no input could be read, 3 with --strict when any file failed
or any target is unsupported.`,
		Example: `  migrate translate grafana dashboards/ --out converted/ --report report.md
  migrate translate grafana old.json --out out/ --mapping plan.yaml --datasource "Archiver Statistics=elasticsearch" --loki-uid prod-loki`,
		Args: minArgs(1, "at least one PATH (a dashboard file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTranslateGrafana(f, args)
		},
	}
	cmd.Flags().StringVar(&f.out, "out", "", "folder for the converted dashboards (required; created if missing)")
	cmd.Flags().StringVar(&f.mapping, "mapping", "", "YAML file with the logs mapping: a whole plan or only a top-level logs list")
	cmd.Flags().StringVar(&f.index, "index", "", "index name or pattern that selects the entry of --mapping when it has several, such as filebeat-*")
	cmd.Flags().StringVar(&f.lokiUID, "loki-uid", "", "uid of the Loki data source (default \"loki\", or targets.grafana.loki_uid of the plan)")
	cmd.Flags().StringVar(&f.tempoUID, "tempo-uid", "", "uid of the Tempo data source (default \"tempo\", or targets.grafana.tempo_uid of the plan)")
	cmd.Flags().StringArrayVar(&f.datasources, "datasource", nil, "NAME=TYPE: the data source named NAME (or with uid NAME) is of TYPE elasticsearch, opensearch, jaeger, loki or tempo; repeat for several")
	cmd.Flags().StringVar(&f.report, "report", "", "write the batch report to this file: Markdown for .md, JSON for .json")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit with status 3 when any file failed or any target is unsupported")
	cmd.Flags().StringVar(&f.tagScope, "tag-scope", "any",
		"Jaeger tags compare with any attribute (.key), span attributes or resource attributes: any, span or resource")
	cmd.Flags().BoolVar(&f.errorAttribute, "error-attribute", false,
		"make Jaeger's error=true also match spans with an error attribute, not only an error status")
	return cmd
}

func (a *app) runTranslateGrafana(f translateGrafanaFlags, paths []string) error {
	if f.out == "" {
		return usageError("--out is required: the folder to write dashboards to")
	}
	if f.report != "" && !isReportFile(f.report) {
		return usageError("--report %s: use a .md or .json file name", f.report)
	}
	scope, err := traceql.ParseScope(f.tagScope)
	if err != nil {
		return usageError("--tag-scope: %v", err)
	}
	opts := grafana.Options{
		LokiUID: f.lokiUID, TempoUID: f.tempoUID, DataSources: map[string]string{},
		Traces: traceql.Options{Scope: scope, ErrorAttribute: f.errorAttribute},
	}
	for _, d := range f.datasources {
		name, typ, ok := strings.Cut(d, "=")
		if !ok || name == "" || typ == "" {
			return usageError("--datasource %q: write NAME=TYPE, such as \"Archiver Statistics=elasticsearch\"", d)
		}
		switch typ {
		case "elasticsearch", "opensearch", "jaeger", "loki", "tempo":
		default:
			return usageError("--datasource %q: TYPE must be elasticsearch, opensearch, jaeger, loki or tempo", d)
		}
		opts.DataSources[name] = typ
	}
	opts.Index = f.index
	if f.index != "" && f.mapping == "" {
		a.log.Warn("--index selects an entry of --mapping and has no effect without it", "index", f.index)
	}
	if f.mapping != "" {
		settings, err := plans.LoadTranslateSettings(f.mapping)
		if err != nil {
			return usageError("--mapping: %v", err)
		}
		opts.Mappings = settings.Logs
		if len(opts.Mappings) > 1 && f.index == "" {
			a.log.Warn("the mapping has several logs entries; pass --index to pick the one these dashboards read, or every selector stays unmapped", "entries", len(opts.Mappings))
		}
		if opts.LokiUID == "" {
			opts.LokiUID = settings.LokiUID
		}
		if opts.TempoUID == "" {
			opts.TempoUID = settings.TempoUID
		}
	}

	names, readErrs := files.Find(paths, []string{".json"})
	var inputs []grafana.Input
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			readErrs = append(readErrs, err)
			continue
		}
		inputs = append(inputs, grafana.Input{File: name, Data: data})
	}
	for _, err := range readErrs {
		a.log.Error("reading input", "err", err)
	}
	if len(inputs) == 0 {
		return usageError("no input could be read from %s", strings.Join(paths, ", "))
	}

	progress := newProgress(a.stderr, "converted dashboards:")
	opts.Progress = progress.update
	res := grafana.Convert(inputs, opts)
	progress.done()
	if res.Report.Summary.Failed == len(inputs) {
		for _, it := range res.Report.Items {
			a.log.Warn("dashboard failed", "err", it.Error)
		}
		return usageError("no dashboard could be read from %s", strings.Join(paths, ", "))
	}

	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("creating the output folder: %w", err)
	}
	for _, d := range res.Dashboards {
		if err := files.WriteAtomic(filepath.Join(f.out, d.File), d.JSON); err != nil {
			// The dashboard is reported as failed; the batch goes on.
			res.Report.WriteFailed(d.File, err)
		}
	}
	if f.report != "" {
		var data []byte
		var err error
		if strings.EqualFold(filepath.Ext(f.report), ".json") {
			data, err = res.Report.JSON()
		} else {
			data = res.Report.Markdown()
		}
		if err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
		if err := files.WriteAtomic(f.report, data); err != nil {
			return err
		}
	}
	s := res.Report.Summary
	for _, it := range res.Report.Items {
		if it.Status == grafana.StatusFailed {
			a.log.Warn("dashboard failed", "err", it.Error)
		}
		if len(it.UnknownDataSources) > 0 {
			a.log.Warn("targets on data sources of unknown type were left alone; pass --datasource NAME=TYPE for any that is Elasticsearch, OpenSearch or Jaeger",
				"file", it.Source, "datasources", strings.Join(it.UnknownDataSources, ", "))
		}
	}
	for _, name := range res.UnusedDataSources {
		a.log.Warn("no dashboard refers to the --datasource name; check its spelling against the dashboards' datasource fields", "name", name)
	}
	a.log.Info("grafana batch done", "files", s.Files, "converted", s.Converted, "not_converted", s.NotConverted, "unchanged", s.Unchanged, "failed", s.Failed,
		"targets_exact", s.Targets.Exact, "targets_approximate", s.Targets.Approximate, "targets_unsupported", s.Targets.Unsupported,
		"out", f.out)
	if f.strict && (res.Report.Failed() || res.Report.HasUnsupported() || len(readErrs) > 0) {
		return withExitCode(exitHeld, errors.New("the batch has failed or unsupported items (--strict)"))
	}
	return nil
}
