package kibana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// DefaultLokiUID is the Loki data source uid used when none is given.
const DefaultLokiUID = "loki"

// Options configures a batch conversion.
type Options struct {
	// Mappings is the plan's logs section. Empty means no mapping: every
	// query searches all streams, parses lines as JSON and carries a reason
	// stating this.
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
//
// Files are read, and dashboards converted, on every CPU. Each worker
// reports into its own partial report; the parts are merged in input
// order, so the result does not depend on scheduling.
func Convert(inputs []Input, opts Options) *Result {
	if opts.LokiUID == "" {
		opts.LokiUID = DefaultLokiUID
	}
	sh := &shared{opts: opts}
	report := newReport()
	objs := sh.readAll(inputs, report)
	read := len(objs)
	var dups []*Object
	sh.store, dups = newStore(objs)
	var copies []*Object
	for _, d := range dups {
		first := sh.store.get(d.Type, d.ID)
		if sameContent(first, d) {
			report.addDuplicate(d, first)
			copies = append(copies, d)
			continue
		}
		// Exports of different spaces reuse ids: each object is converted,
		// and references resolve in their own file first.
		report.item(d).Reasons.Addf(fidelity.Exact, "id_reused",
			"%s %s is also the id of a different object in %s; each is converted on its own, with its own uid", d.Type, d.ID, first.Origin)
	}
	objs = withoutDuplicates(objs, copies)
	sh.prepare(objs)

	var dashboards, candidates []*Object
	for _, o := range objs {
		switch {
		case o.Type == "dashboard":
			dashboards = append(dashboards, o)
		case orphanTypes[o.Type]:
			candidates = append(candidates, o)
		}
	}
	total := len(dashboards) + len(candidates)
	progress := newCounter(opts.Progress, total)

	// Dashboards go first, so that the objects they show are known to be
	// used before orphans are picked.
	used := make(map[string]bool)
	var outputs []Output
	collect := func(units []*converter) {
		for _, u := range units {
			report.merge(u.report)
			outputs = append(outputs, u.outputs...)
			for k := range u.usedKeys {
				used[k] = true
			}
		}
	}
	collect(sh.run(dashboards, progress, func(u *converter, o *Object) { u.convertDashboard(o) }))
	var orphans []*Object
	for _, o := range candidates {
		if used[o.Key()] {
			progress.add(1)
			continue
		}
		orphans = append(orphans, o)
	}
	collect(sh.run(orphans, progress, func(u *converter, o *Object) { u.convertOrphan(o) }))

	for _, o := range objs {
		noteOtherType(report, o)
	}
	report.Summary.Files = len(inputs)
	report.Summary.Objects = read
	report.Summary.SourceDashboards = len(dashboards)
	report.Summary.OrphanDashboards = len(orphans)
	report.Summary.Dashboards = len(outputs)
	report.finish()
	return &Result{Dashboards: outputs, Report: report}
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

// shared holds the state every worker of a batch reads: the options, the
// object store and the schema cache. After prepare, nothing in the store changes.
type shared struct {
	opts  Options
	store *store

	mu      sync.Mutex
	schemas map[string]cachedSchema
}

// converter converts one dashboard or orphan object. Each has its own
// partial report and outputs.
type converter struct {
	*shared
	// store resolves ids in the unit's own file first.
	store   *view
	report  *Report
	outputs []Output
	// usedKeys holds the keys of objects shown on a converted dashboard.
	usedKeys map[string]bool
}

// readAll parses the files on every CPU and returns their objects in input
// order. Read errors go to the report, also in input order.
func (sh *shared) readAll(inputs []Input, report *Report) []*Object {
	type result struct {
		objs  []*Object
		errs  []*ObjectError
		fatal error
	}
	results := make([]result, len(inputs))
	parallel(len(inputs), func(i int) {
		objs, errs, fatal := ReadObjects(inputs[i].File, inputs[i].Data)
		results[i] = result{objs, errs, fatal}
	})
	var objs []*Object
	for i, r := range results {
		if r.fatal != nil {
			report.addFileError(inputs[i].File, r.fatal)
		}
		for _, e := range r.errs {
			report.addObjectError(e)
		}
		objs = append(objs, r.objs...)
	}
	return objs
}

// prepare decodes, on every CPU, the JSON text that attributes hold
// (visState, panelsJSON, searchSourceJSON, Lens state) and parses every
// index pattern, so that the conversion only reads shared objects.
func (sh *shared) prepare(objs []*Object) {
	parallel(len(objs), func(i int) {
		o := objs[i]
		for _, key := range []string{"visState", "panelsJSON", "state"} {
			_, _ = embedded(o.Attrs, key)
		}
		if meta := obj(o.Attrs, "kibanaSavedObjectMeta"); meta != nil {
			_, _ = embedded(meta, "searchSourceJSON")
		}
	})
	sh.store.parsePatterns()
}

// run converts units on every CPU, each into a fresh converter, and returns
// the converters in unit order.
func (sh *shared) run(units []*Object, progress *counter, convert func(*converter, *Object)) []*converter {
	out := make([]*converter, len(units))
	parallel(len(units), func(i int) {
		u := &converter{shared: sh, store: sh.store.view(units[i].Origin.File), report: newReport()}
		convert(u, units[i])
		out[i] = u
		progress.add(1)
	})
	return out
}

// parallel calls fn for 0..n-1 on GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// counter reports progress from several workers.
type counter struct {
	mu    sync.Mutex
	done  int
	total int
	fn    func(done, total int)
}

func newCounter(fn func(done, total int), total int) *counter {
	return &counter{fn: fn, total: total}
}

func (c *counter) add(n int) {
	if c.fn == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done += n
	c.fn(c.done, c.total)
}

// noteOtherType adds report items for objects that are neither dashboards
// nor panels: skipped with the reason, or failed when the type is unknown.
func noteOtherType(report *Report, o *Object) {
	if o.Type == "dashboard" || orphanTypes[o.Type] {
		return
	}
	if why, ok := knownTypes[o.Type]; ok {
		report.addSkipped(o, why)
		return
	}
	report.addFailed(o, fmt.Errorf("unknown saved object type %q: it is not converted; known types are dashboard, visualization, search, lens and %s",
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
func (c *shared) schemaFor(p *indexPattern) (*logql.Schema, fidelity.Reasons) {
	key := ""
	if p != nil {
		key = p.ID + "\x00" + p.Title
	}
	c.mu.Lock()
	defer c.mu.Unlock()
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

func (c *shared) buildSchema(p *indexPattern) (*logql.Schema, fidelity.Reasons) {
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
		m = plans.DefaultLogMapping()
		if timeField != "" {
			m.Timestamp = timeField
		}
		why := fmt.Sprintf("no logs entry of the mapping matches the index pattern %q (add one for it)", title)
		return logql.NewSchema(m, false, types).Unmatched(why), reasons
	}
	return logql.NewSchema(m, true, types), reasons
}

// withoutDuplicates drops the objects the store did not keep.
func withoutDuplicates(objs, dups []*Object) []*Object {
	if len(dups) == 0 {
		return objs
	}
	skip := make(map[*Object]bool, len(dups))
	for _, d := range dups {
		skip[d] = true
	}
	out := objs[:0:0]
	for _, o := range objs {
		if !skip[o] {
			out = append(out, o)
		}
	}
	return out
}

// sameContent reports whether two objects have the same attributes and
// references; a repeated copy of an object loses nothing when skipped.
func sameContent(a, b *Object) bool {
	ja, errA := json.Marshal(struct {
		A map[string]any
		R []Reference
	}{a.Attrs, a.References})
	jb, errB := json.Marshal(struct {
		A map[string]any
		R []Reference
	}{b.Attrs, b.References})
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
