package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DashboardUse is a dashboard that uses data sources of requested types.
type DashboardUse struct {
	UID, Title string
	// DataSources are the matching data sources, sorted: the UID when a
	// reference resolves to a data source of this Grafana, otherwise the
	// reference as written (a name, a UID or a ${variable}).
	DataSources []string
	// Types are the requested types the dashboard uses, sorted.
	Types []string
	// OtherTypes are the other data source types it uses, sorted. Grafana's
	// built-in sources (-- Grafana --, -- Dashboard --) are left out.
	OtherTypes []string
	// Mixed is true when a panel uses Grafana's "-- Mixed --" data source,
	// whose queries each name their own data source.
	Mixed bool
}

// DashboardsByDataSource reads every dashboard (SearchDashboards, then
// Dashboard for each, one at a time) and returns those with a panel,
// query, template variable or annotation whose data source is of one of
// types, in search order. Types are plugin IDs as /api/datasources reports
// them: "elasticsearch", "grafana-opensearch-datasource", "jaeger". It
// calls DataSources, so it needs that method's permission too.
//
// A reference resolves to a type as follows. An object {type, uid} takes
// the type of this Grafana's data source with that UID, or else its own
// type. A plain string (Grafana 8.2 and older) is a data source name or
// UID. Null or a missing reference is the default data source. A
// $variable goes through the dashboard's data source variable or its
// __inputs. Queries without a data source use their panel's.
//
// NOTE: library panels are stored apart from the dashboard, so their
// queries are not read.
func (c *Client) DashboardsByDataSource(ctx context.Context, types []string) ([]DashboardUse, error) {
	if len(types) == 0 {
		return nil, errors.New("grafana: no data source types given: name at least one plugin ID, such as elasticsearch")
	}
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	sources, err := c.DataSources(ctx)
	if err != nil {
		return nil, err
	}
	index := newDataSourceIndex(sources)
	refs, err := c.SearchDashboards(ctx)
	if err != nil {
		return nil, err
	}
	var out []DashboardUse
	for _, ref := range refs {
		raw, _, err := c.Dashboard(ctx, ref.UID)
		if err != nil {
			return nil, fmt.Errorf("reading dashboard %s (%q): %w", ref.UID, ref.Title, err)
		}
		use, err := findUses(raw, index, want)
		if err != nil {
			return nil, fmt.Errorf("grafana: dashboard %s (%q): %w", ref.UID, ref.Title, err)
		}
		if len(use.Types) == 0 {
			continue
		}
		use.UID, use.Title = ref.UID, ref.Title
		out = append(out, use)
	}
	return out, nil
}

// dataSourceIndex finds the data sources of one organization.
type dataSourceIndex struct {
	byUID, byName map[string]DataSource
	// def is the default data source, nil when none is marked default.
	def *DataSource
}

func newDataSourceIndex(sources []DataSource) *dataSourceIndex {
	idx := &dataSourceIndex{byUID: map[string]DataSource{}, byName: map[string]DataSource{}}
	for i, ds := range sources {
		if ds.UID != "" {
			idx.byUID[ds.UID] = ds
		}
		idx.byName[ds.Name] = ds
		if ds.IsDefault && idx.def == nil {
			idx.def = &sources[i]
		}
	}
	return idx
}

// lookup finds a data source by UID, then by name.
func (idx *dataSourceIndex) lookup(key string) (DataSource, bool) {
	if ds, ok := idx.byUID[key]; ok {
		return ds, true
	}
	ds, ok := idx.byName[key]
	return ds, ok
}

// reference is a resolved data source reference.
type reference struct {
	// id is the data source UID, or the reference as written when it is
	// not a data source of this Grafana. It is empty for an object that
	// names only a type.
	id string
	// typ is the plugin ID, empty when unknown.
	typ string
}

// refKind is the kind of thing a data source reference points at.
type refKind int

const (
	refNone   refKind = iota // nothing: a built-in source or no default
	refSource                // a data source, maybe unresolved
	refMixed                 // Grafana's -- Mixed -- source
)

// Names of Grafana's special data sources, in the string and object forms.
const (
	mixedName     = "-- Mixed --"
	grafanaName   = "-- Grafana --"
	dashboardName = "-- Dashboard --"
	grafanaUID    = "grafana"
	// specialType is the type of the special sources' object form
	// (Grafana 8.3 and later).
	specialType = "datasource"
)

// variableRef matches $name, ${name}, ${name:format} and [[name]].
var variableRef = regexp.MustCompile(`^(?:\$\{([A-Za-z0-9_-]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_-]+)(?::[^\]]*)?\]\])$`)

func variableName(s string) (string, bool) {
	m := variableRef.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1] + m[2] + m[3], true
}

// dsVariable is a template variable of type "datasource".
type dsVariable struct {
	// plugin is the plugin ID the variable lists (its query).
	plugin string
	// current is the selected value: a data source name or UID.
	current string
}

// walker collects the data source references of one dashboard.
type walker struct {
	idx    *dataSourceIndex
	vars   map[string]dsVariable
	inputs map[string]string
	refs   []reference
	mixed  bool
	// queries counts the queries (panel targets) visited.
	queries int
}

// findUses returns which data sources of the wanted types a dashboard,
// a JSON object, uses. UID and Title are left for the caller.
func findUses(dashboard []byte, idx *dataSourceIndex, want map[string]bool) (DashboardUse, error) {
	w, err := walkDashboard(dashboard, idx)
	if err != nil {
		return DashboardUse{}, err
	}
	use := DashboardUse{Mixed: w.mixed}
	for _, r := range w.refs {
		switch {
		case r.typ == "":
		case want[r.typ]:
			use.Types = appendUnique(use.Types, r.typ)
			if r.id != "" {
				use.DataSources = appendUnique(use.DataSources, r.id)
			}
		default:
			use.OtherTypes = appendUnique(use.OtherTypes, r.typ)
		}
	}
	slices.Sort(use.Types)
	slices.Sort(use.DataSources)
	slices.Sort(use.OtherTypes)
	return use, nil
}

// walkDashboard collects the data source references of a dashboard.
func walkDashboard(dashboard []byte, idx *dataSourceIndex) (*walker, error) {
	var d map[string]any
	if err := json.Unmarshal(dashboard, &d); err != nil {
		return nil, fmt.Errorf("invalid dashboard JSON: %w", err)
	}
	w := &walker{idx: idx, vars: map[string]dsVariable{}, inputs: map[string]string{}}
	w.learnVariables(d)
	w.panels(list(d["panels"]))
	for _, row := range list(d["rows"]) {
		w.panels(list(object(row)["panels"]))
	}
	w.templating(d)
	w.annotations(d)
	return w, nil
}

// learnVariables reads the data source variables and the __inputs of an
// exported dashboard, which references name as ${NAME}.
func (w *walker) learnVariables(d map[string]any) {
	for _, in := range list(d["__inputs"]) {
		o := object(in)
		if text(o["type"]) == specialType && text(o["name"]) != "" {
			w.inputs[text(o["name"])] = text(o["pluginId"])
		}
	}
	for _, v := range list(object(d["templating"])["list"]) {
		o := object(v)
		if text(o["type"]) != specialType || text(o["name"]) == "" {
			continue
		}
		query := text(o["query"])
		if q := object(o["query"]); q != nil {
			query = text(q["query"])
		}
		w.vars[text(o["name"])] = dsVariable{plugin: query, current: text(object(o["current"])["value"])}
	}
}

// panels walks a panel list. Rows of Grafana 5 and later hold their panels
// in "panels" when collapsed. A row is walked like a panel, because
// Grafana 9 and later save a data source and a placeholder query on rows.
func (w *walker) panels(panels []any) {
	for _, p := range panels {
		panel := object(p)
		if panel == nil {
			continue
		}
		w.panels(list(panel["panels"]))
		panelDS, explicit := panel["datasource"]
		explicit = explicit && panelDS != nil
		panelRef, panelKind := w.resolve(panelDS)
		if panelKind == refMixed {
			w.mixed = true
		}
		if explicit && panelKind == refSource {
			w.refs = append(w.refs, panelRef)
		}
		for _, t := range list(panel["targets"]) {
			target := object(t)
			if target == nil {
				continue
			}
			w.queries++
			if ds, ok := target["datasource"]; ok && ds != nil {
				w.use(ds)
				continue
			}
			// A query without a data source uses its panel's. In a mixed
			// panel, and in a panel without one, that is the default.
			if !explicit || panelKind == refMixed {
				w.use(nil)
			}
		}
	}
}

// templating walks the template variables. Query and ad hoc filter
// variables without a data source use the default one.
func (w *walker) templating(d map[string]any) {
	for _, v := range list(object(d["templating"])["list"]) {
		o := object(v)
		if o == nil {
			continue
		}
		ds, has := o["datasource"]
		switch text(o["type"]) {
		case specialType:
		case "query", "adhoc":
			w.use(ds)
		default:
			if has && ds != nil {
				w.use(ds)
			}
		}
	}
}

// annotations walks the annotation queries, except Grafana's built-in one.
func (w *walker) annotations(d map[string]any) {
	for _, a := range list(object(d["annotations"])["list"]) {
		o := object(a)
		if o == nil {
			continue
		}
		if builtIn, _ := o["builtIn"].(float64); builtIn == 1 {
			continue
		}
		if builtIn, _ := o["builtIn"].(bool); builtIn {
			continue
		}
		w.use(o["datasource"])
	}
}

// use records a reference.
func (w *walker) use(v any) {
	ref, kind := w.resolve(v)
	switch kind {
	case refMixed:
		w.mixed = true
	case refSource:
		w.refs = append(w.refs, ref)
	}
}

// resolve finds what a "datasource" value points at.
func (w *walker) resolve(v any) (reference, refKind) {
	switch v := v.(type) {
	case nil:
		return w.defaultSource()
	case string:
		return w.resolveName(strings.TrimSpace(v))
	case map[string]any:
		uid, typ := strings.TrimSpace(text(v["uid"])), text(v["type"])
		switch {
		case uid == mixedName:
			return reference{}, refMixed
		case typ == specialType || typ == grafanaUID || uid == grafanaUID || uid == grafanaName || uid == dashboardName:
			return reference{}, refNone
		case uid == "" && typ == "":
			return w.defaultSource()
		case uid == "":
			return reference{typ: typ}, refSource
		}
		if name, ok := variableName(uid); ok {
			ref, kind := w.variable(name, uid)
			if ref.typ == "" {
				ref.typ = typ
			}
			return ref, kind
		}
		if ds, ok := w.idx.lookup(uid); ok {
			return sourceRef(ds), refSource
		}
		return reference{id: uid, typ: typ}, refSource
	}
	return reference{}, refNone
}

// resolveName resolves the string form of a reference.
func (w *walker) resolveName(s string) (reference, refKind) {
	switch s {
	case "", "default":
		return w.defaultSource()
	case mixedName:
		return reference{}, refMixed
	case grafanaName, dashboardName, grafanaUID:
		return reference{}, refNone
	}
	if name, ok := variableName(s); ok {
		return w.variable(name, s)
	}
	if ds, ok := w.idx.lookup(s); ok {
		return sourceRef(ds), refSource
	}
	return reference{id: s}, refSource
}

// variable resolves a reference to a template variable or an input.
func (w *walker) variable(name, written string) (reference, refKind) {
	if v, ok := w.vars[name]; ok {
		if ds, ok := w.idx.lookup(v.current); ok && (v.plugin == "" || ds.Type == v.plugin) {
			return sourceRef(ds), refSource
		}
		if def := w.idx.def; v.current == "default" && def != nil && def.Type == v.plugin {
			return sourceRef(*def), refSource
		}
		return reference{id: written, typ: v.plugin}, refSource
	}
	if plugin, ok := w.inputs[name]; ok {
		return reference{id: written, typ: plugin}, refSource
	}
	return reference{id: written}, refSource
}

func (w *walker) defaultSource() (reference, refKind) {
	if w.idx.def == nil {
		return reference{}, refNone
	}
	return sourceRef(*w.idx.def), refSource
}

// sourceRef refers to a data source by UID, or by name when it has none.
func sourceRef(ds DataSource) reference {
	if ds.UID == "" {
		return reference{id: ds.Name, typ: ds.Type}
	}
	return reference{id: ds.UID, typ: ds.Type}
}

func object(v any) map[string]any {
	o, _ := v.(map[string]any)
	return o
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func text(v any) string {
	s, _ := v.(string)
	return s
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
