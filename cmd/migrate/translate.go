package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
	"github.com/obs-migrate/migrate/translators/traceql"
)

func (a *app) translateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "translate",
		Short: "Convert queries and dashboards to LogQL and Grafana dashboards on Loki",
	}
	cmd.AddCommand(a.translateQueryCommand(), a.translateKibanaCommand(), a.translateGrafanaCommand(), a.translateAlertsCommand())
	return cmd
}

type translateQueryFlags struct {
	from    string
	mapping string
	index   string
	output  string
	strict  bool

	// Jaeger searches only.
	tagScope       string
	errorAttribute bool
}

func (a *app) translateQueryCommand() *cobra.Command {
	var f translateQueryFlags
	cmd := &cobra.Command{
		Use:   "query --from kql|lucene|esdsl|jaeger QUERY",
		Short: "Translate one KQL, Lucene or Elasticsearch DSL query to LogQL, or a Jaeger search to TraceQL",
		Long: `Translate one query to LogQL, or one Jaeger search to TraceQL, and grade how
faithfully it keeps the meaning.

The field mapping (--mapping) says which fields are Loki stream labels,
structured metadata, the log line, or reached through a parser, and gives
field types. Without one, the query searches every stream with a
service_name label and parses the line as JSON, and says so.

With --from jaeger, QUERY is a Jaeger search: a Jaeger UI /search URL, an
/api/traces URL, or a query string such as service=frontend&tags=error=true
(tags as JSON or logfmt). The output is one TraceQL spanset filter and the
Tempo search parameters that TraceQL does not carry (start and end in
seconds, limit, spss), printed as a "# tempo:" line or as a "tempo" object.
Jaeger's parameters take these units:
  start, end     microseconds since the epoch, such as 1700000000000000.
                 Values below 1e14 (before 1973-03-03: seconds or
                 milliseconds) or after the year 9999 are rejected.
  minDuration,   Go durations such as 1.2s, 500ms or 100us
  maxDuration    (units ns, us or µs, ms, s, m, h).
  lookback       a whole number and a unit (s, m, h, d or w) such as 1h
                 or 2d, up to 100 years (36500d), or custom. The window
                 counts back from now only when start and end are absent,
                 because the Jaeger UI fills them in from the lookback, and
                 then they decide the window.

Pass - as QUERY to read it from standard input.

Exit status: 0 when the query was translated, whatever its fidelity; 2 on
invalid usage (flags, arguments, an unreadable or unmatched --mapping) or
when the query cannot be parsed, with the reason on standard output; 3 with
--strict when the query parses but the result is unsupported; 1 on other
errors, such as a failure to read standard input or to write the output.`,
		Example: `  migrate translate query --from kql 'log.level: error and not service.name: checkout'
  migrate translate query --from lucene --mapping plan.yaml --index 'filebeat-*' -o json 'status:[500 TO 599]'
  echo '{"bool":{"must":[{"term":{"log.level":"error"}}]}}' | migrate translate query --from esdsl -
  migrate translate query --from jaeger 'http://jaeger:16686/search?service=frontend&tags=%7B%22error%22%3A%22true%22%7D&minDuration=1s&limit=20&lookback=1h'
  migrate translate query --from jaeger -o json 'service=frontend&tags=http.status_code=500 http.url="/api/a b"'`,
		Args: exactArgs(1, "one QUERY argument (quote it, or pass - to read standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTranslateQuery(f, args[0])
		},
	}
	cmd.Flags().StringVar(&f.from, "from", "", "source language: kql, lucene, esdsl or jaeger (required)")
	cmd.Flags().StringVar(&f.mapping, "mapping", "", "YAML file with a logs mapping: a whole plan or only a top-level logs list")
	cmd.Flags().StringVar(&f.index, "index", "", "index pattern that selects the mapping entry, such as filebeat-*")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit with status 3 when the query is unsupported")
	cmd.Flags().StringVar(&f.tagScope, "tag-scope", "any",
		"with --from jaeger: compare tags with any attribute (.key), span attributes or resource attributes: any, span or resource")
	cmd.Flags().BoolVar(&f.errorAttribute, "error-attribute", false,
		"with --from jaeger: make error=true also match spans with an error attribute, not only an error status")
	return cmd
}

func (a *app) runTranslateQuery(f translateQueryFlags, query string) error {
	jaeger := strings.EqualFold(strings.TrimSpace(f.from), translators.SourceJaeger)
	var lang ast.Language
	if !jaeger {
		var err error
		if lang, err = translators.ParseLanguage(f.from); err != nil {
			return usageError("--from: unknown query language %q: use kql, lucene, esdsl or jaeger", f.from)
		}
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
	if jaeger {
		return a.runTranslateJaeger(f, query)
	}
	if f.tagScope != "any" || f.errorAttribute {
		return usageError("--tag-scope and --error-attribute apply to --from jaeger only")
	}
	if f.index != "" && f.mapping == "" {
		a.log.Warn("--index selects an entry of --mapping and has no effect without it", "index", f.index)
	}
	schema, err := a.schemaFor(f.mapping, f.index)
	if err != nil {
		return err
	}

	res := translators.TranslateQuery(lang, query, schema)
	return a.writeQueryResult(f, res, string(lang))
}

// runTranslateJaeger translates a Jaeger search to TraceQL.
func (a *app) runTranslateJaeger(f translateQueryFlags, query string) error {
	if f.mapping != "" || f.index != "" {
		return usageError("--mapping and --index apply to log queries, not to --from jaeger")
	}
	scope, err := traceql.ParseScope(f.tagScope)
	if err != nil {
		return usageError("--tag-scope: %v", err)
	}
	opts := traceql.Options{Scope: scope, ErrorAttribute: f.errorAttribute, Now: time.Now()}
	return a.writeQueryResult(f, translators.TranslateJaeger(query, opts), translators.SourceJaeger)
}

// writeQueryResult prints a result and picks the exit status.
func (a *app) writeQueryResult(f translateQueryFlags, res translators.QueryResult, lang string) error {
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
	if res.Tempo != nil {
		fmt.Fprintf(w, "# tempo: %s\n", tempoParams(*res.Tempo))
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

// tempoParams writes the Tempo search parameters that apply as key=value
// pairs: start, end, limit and spss.
func tempoParams(p traceql.Params) string {
	var parts []string
	for _, kv := range []struct {
		key   string
		value int64
	}{
		{"start", p.Start}, {"end", p.End}, {"limit", int64(p.Limit)}, {"spss", int64(p.SpansPerSpanSet)},
	} {
		if kv.value != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", kv.key, kv.value))
		}
	}
	return strings.Join(parts, " ")
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
