package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

func (a *app) translateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "translate",
		Short: "Convert queries and dashboards to LogQL and Grafana dashboards on Loki",
	}
	cmd.AddCommand(a.translateQueryCommand(), a.translateKibanaCommand())
	return cmd
}

type translateQueryFlags struct {
	from    string
	mapping string
	index   string
	output  string
	strict  bool
}

func (a *app) translateQueryCommand() *cobra.Command {
	var f translateQueryFlags
	cmd := &cobra.Command{
		Use:   "query --from kql|lucene|esdsl QUERY",
		Short: "Translate one KQL, Lucene or Elasticsearch DSL query to LogQL",
		Long: `Translate one query to LogQL and grade how faithfully it keeps the meaning.

The field mapping (--mapping) says which fields are Loki stream labels,
structured metadata, the log line, or reached through a parser, and gives
field types. Without one, the query searches every stream with a
service_name label and parses the line as JSON, and says so.

Pass - as QUERY to read it from standard input.`,
		Example: `  migrate translate query --from kql 'log.level: error and not service.name: checkout'
  migrate translate query --from lucene --mapping plan.yaml --index 'filebeat-*' -o json 'status:[500 TO 599]'
  echo '{"bool":{"must":[{"term":{"log.level":"error"}}]}}' | migrate translate query --from esdsl -`,
		Args: exactArgs(1, "one QUERY argument (quote it, or pass - to read standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTranslateQuery(f, args[0])
		},
	}
	cmd.Flags().StringVar(&f.from, "from", "", "source language: kql, lucene or esdsl (required)")
	cmd.Flags().StringVar(&f.mapping, "mapping", "", "YAML file with a logs mapping: a whole plan or only a top-level logs list")
	cmd.Flags().StringVar(&f.index, "index", "", "index pattern that selects the mapping entry, such as filebeat-*")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit with status 3 when the query is unsupported")
	return cmd
}

func (a *app) runTranslateQuery(f translateQueryFlags, query string) error {
	lang, err := translators.ParseLanguage(f.from)
	if err != nil {
		return usageError("--from: %v", err)
	}
	if f.output != "text" && f.output != "json" {
		return usageError("invalid --output %q: use text or json", f.output)
	}
	if query == "-" {
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return fmt.Errorf("reading the query from standard input: %w", err)
		}
		query = strings.TrimRight(string(b), "\n")
	}
	if f.index != "" && f.mapping == "" {
		a.log.Warn("--index selects an entry of --mapping and has no effect without it", "index", f.index)
	}
	schema, err := a.schemaFor(f.mapping, f.index)
	if err != nil {
		return err
	}

	res := translators.TranslateQuery(lang, query, schema)
	if f.output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		writeQueryText(a.stdout, res)
	}

	if err := res.ParseError(); err != nil {
		return withExitCode(exitUsage, fmt.Errorf("the %s query could not be parsed", lang))
	}
	if f.strict && res.Fidelity == fidelity.Unsupported {
		return withExitCode(exitHeld, fmt.Errorf("the query is unsupported (--strict)"))
	}
	return nil
}

func writeQueryText(w io.Writer, res translators.QueryResult) {
	if res.Query != nil {
		fmt.Fprintln(w, *res.Query)
	}
	fmt.Fprintf(w, "# fidelity: %s\n", res.Fidelity)
	if res.Range != nil {
		start := res.Range.Start
		if start == "" {
			start = "(unbounded)"
		}
		fmt.Fprintf(w, "# range: %s to %s\n", start, res.Range.End)
	}
	for _, r := range res.Reasons {
		fmt.Fprintf(w, "# %s: %s\n", r.Code, r.Message)
	}
}

// schemaFor loads the mapping file, if any, and picks the entry for index.
func (a *app) schemaFor(mappingFile, index string) (*logql.Schema, error) {
	if mappingFile == "" {
		return logql.NewSchema(plans.DefaultLogMapping(), false, nil), nil
	}
	settings, err := plans.LoadTranslateSettings(mappingFile)
	if err != nil {
		return nil, usageError("--mapping: %v", err)
	}
	mappings := settings.Logs
	m, ok := plans.SelectMapping(mappings, index)
	if !ok {
		var patterns []string
		for _, m := range mappings {
			patterns = append(patterns, m.Indices)
		}
		if index == "" {
			return nil, usageError("%s has %d logs entries; pass --index to choose one of: %s",
				mappingFile, len(mappings), strings.Join(patterns, ", "))
		}
		return nil, usageError("no logs entry in %s matches --index %q; entries cover: %s",
			mappingFile, index, strings.Join(patterns, ", "))
	}
	return logql.NewSchema(m, true, nil), nil
}
