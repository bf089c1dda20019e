package kibana

import (
	"fmt"
	"sort"
	"strings"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// DefaultLokiUID is the Loki data source uid used when none is given.
const DefaultLokiUID = "loki"

// Options configures a batch conversion.
type Options struct {
	// Mappings is the plan's logs section. Empty means no mapping: every
	// query searches all streams and parses lines as JSON, and says so.
	Mappings []plans.LogMapping
	// LokiUID is the uid of the Loki data source the dashboards use.
	LokiUID string
	// Progress, when set, is called after each source dashboard or orphan
	// object is converted.
	Progress func(done, total int)
}

// Input is one export file.
type Input struct {
	File string
	Data []byte
}

// Output is one generated Grafana dashboard.
type Output struct {
	// File is the file name to write, relative to the output folder.
	File  string
	UID   string
	Title string
	// JSON is the dashboard in Grafana's dashboard JSON model.
	JSON []byte
}

// Result is the outcome of a batch.
type Result struct {
	Dashboards []Output
	Report     *Report
}

// Convert reads every input and converts its dashboards, and every saved
// search, visualization or Lens object no dashboard uses, into Grafana
// dashboards. It never stops on a bad object: failures are items of the
// report.
func Convert(inputs []Input, opts Options) *Result {
	if opts.LokiUID == "" {
		opts.LokiUID = DefaultLokiUID
	}
	c := &converter{opts: opts, report: newReport()}
	var objs []*Object
	for _, in := range inputs {
		objs = append(objs, c.read(in)...)
	}
	c.store = newStore(objs)

	// Dashboards go first, so that the objects they show are marked used
	// before orphans are picked.
	var units []*Object
	for _, o := range objs {
		if o.Type == "dashboard" {
			units = append(units, o)
		}
	}
	for _, o := range objs {
		if orphanTypes[o.Type] {
			units = append(units, o)
		}
	}

	for i, o := range units {
		if o.Type == "dashboard" {
			c.convertDashboard(o)
		} else {
			c.convertOrphan(o)
		}
		if opts.Progress != nil {
			opts.Progress(i+1, len(units))
		}
	}
	for _, o := range objs {
		c.noteOtherType(o)
	}
	c.report.finish()
	return &Result{Dashboards: c.outputs, Report: c.report}
}

// orphanTypes are the objects that get a dashboard of their own when no
// dashboard of the batch shows them.
var orphanTypes = map[string]bool{"search": true, "visualization": true, "lens": true}

// knownTypes are saved-object types this package recognises but does not
// convert on their own.
var knownTypes = map[string]string{
	"index-pattern":            "used for field types and time fields",
	"data-view":                "used for field types and time fields",
	"config":                   "Kibana advanced settings; nothing to convert",
	"config-global":            "Kibana advanced settings; nothing to convert",
	"query":                    "saved query; not converted on its own",
	"tag":                      "tag; not converted",
	"url":                      "short URL; not converted",
	"map":                      "Elastic Maps have no Loki equivalent",
	"canvas-workpad":           "Canvas workpads have no Grafana equivalent",
	"canvas-element":           "Canvas elements have no Grafana equivalent",
	"graph-workspace":          "Graph workspaces have no Grafana equivalent",
	"timelion-sheet":           "Timelion sheets are not converted; their queries appear where panels use them",
	"ml-module":                "machine learning modules have no Loki equivalent",
	"infrastructure-ui-source": "Observability settings; nothing to convert",
	"lens-ui-telemetry":        "telemetry; nothing to convert",
	"ui-metric":                "telemetry; nothing to convert",
	"space":                    "Kibana space; nothing to convert",
	"alert":                    "alerting rules are converted by migrate translate alerts",
	"action":                   "connectors for alerting; nothing to convert",
}

type converter struct {
	opts    Options
	store   *store
	report  *Report
	outputs []Output
	// usedKeys holds the keys of objects shown on a converted dashboard.
	usedKeys map[string]bool
	schemas  map[string]cachedSchema
}

func (c *converter) read(in Input) []*Object {
	objs, errs, fatal := ReadObjects(in.File, in.Data)
	c.report.Summary.Files++
	if fatal != nil {
		c.report.addFileError(in.File, fatal)
	}
	for _, e := range errs {
		c.report.addObjectError(e)
	}
	c.report.Summary.Objects += len(objs)
	return objs
}

// noteOtherType adds report items for objects that are neither dashboards
// nor panels: skipped with the reason, or failed when the type is unknown.
func (c *converter) noteOtherType(o *Object) {
	if o.Type == "dashboard" || orphanTypes[o.Type] {
		return
	}
	if why, ok := knownTypes[o.Type]; ok {
		c.report.addSkipped(o, why)
		return
	}
	c.report.addFailed(o, fmt.Errorf("unknown saved object type %q: it is not converted; known types are dashboard, visualization, search, lens and %s",
		o.Type, strings.Join(sortedTypeNames(), ", ")))
}

func sortedTypeNames() []string {
	names := make([]string, 0, len(knownTypes))
	for n := range knownTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// schemaFor builds the schema for an index pattern: the mapping entry that
// matches its title, with field types from the pattern.
func (c *converter) schemaFor(p *indexPattern) (*logql.Schema, fidelity.Reasons) {
	key := ""
	if p != nil {
		key = p.ID + "\x00" + p.Title
	}
	if cached, ok := c.schemas[key]; ok {
		return cached.schema, cached.reasons
	}
	s, reasons := c.buildSchema(p)
	if c.schemas == nil {
		c.schemas = make(map[string]cachedSchema)
	}
	c.schemas[key] = cachedSchema{s, reasons}
	return s, reasons
}

// cachedSchema is a schema built for one index pattern; NewSchema copies
// the pattern's field types, so panels on one pattern share it.
type cachedSchema struct {
	schema  *logql.Schema
	reasons fidelity.Reasons
}

func (c *converter) buildSchema(p *indexPattern) (*logql.Schema, fidelity.Reasons) {
	var reasons fidelity.Reasons
	title, types, timeField := "", map[string]string(nil), ""
	if p != nil {
		title, types, timeField = p.Title, p.Types, p.TimeField
		if !p.Found {
			reasons.Addf(fidelity.Approximate, "index_pattern_missing",
				"the index pattern %s is not in the export, so field types are unknown; export it with the dashboard", p.ID)
		}
	}
	if len(c.opts.Mappings) == 0 {
		m := plans.DefaultLogMapping()
		if timeField != "" {
			m.Timestamp = timeField
		}
		if title != "" {
			m.Indices = title
		}
		return logql.NewSchema(m, false, types), reasons
	}
	m, ok := plans.SelectMapping(c.opts.Mappings, title)
	if !ok {
		reasons.Addf(fidelity.Approximate, "mapping_missing",
			"no logs entry of the mapping matches the index pattern %q; the query searches every stream with a service_name label", title)
		m = plans.DefaultLogMapping()
		if timeField != "" {
			m.Timestamp = timeField
		}
		return logql.NewSchema(m, false, types), reasons
	}
	return logql.NewSchema(m, true, types), reasons
}
