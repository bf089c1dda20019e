package grafana

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/logql"
	"github.com/obs-migrate/migrate/translators/traceql"
)

// Default data source uids, used when none is given.
const (
	DefaultLokiUID  = "loki"
	DefaultTempoUID = "tempo"
)

// MigrationTag marks every converted dashboard.
const MigrationTag = "migrated-to-loki-tempo"

// Options configures a batch.
type Options struct {
	// Mappings is the plan's logs section; empty means no mapping.
	Mappings []plans.LogMapping
	// Index selects the entry of Mappings by its index pattern when there
	// are several.
	Index    string
	LokiUID  string
	TempoUID string
	// DataSources settles data source names and uids to a type
	// (elasticsearch, opensearch, jaeger, loki, tempo or another plugin id),
	// for dashboards that name a data source by a plain string.
	DataSources map[string]string
	// Traces configures Jaeger searches' TraceQL: tag scope and the error
	// attribute. Template variables are always kept.
	Traces traceql.Options
	// Progress, when set, is called after each dashboard.
	Progress func(done, total int)
}

// Input is one dashboard file.
type Input struct {
	File string
	Data []byte
}

// Output is one converted dashboard.
type Output struct {
	File  string
	UID   string
	Title string
	JSON  []byte

	// root is the decoded file and dash the dashboard in it, kept to give
	// the dashboard a new uid when another of the batch took it.
	root, dash *ojson.Object
}

// Result is the outcome of a batch.
type Result struct {
	Dashboards []Output
	Report     *Report
	// UnusedDataSources lists the names of Options.DataSources that no
	// dashboard referred to, which are often typing mistakes.
	UnusedDataSources []string
}

// Convert converts every dashboard of the inputs. A file that cannot be
// read is a failed item of the report; the batch goes on.
func Convert(inputs []Input, opts Options) *Result {
	if opts.LokiUID == "" {
		opts.LokiUID = DefaultLokiUID
	}
	if opts.TempoUID == "" {
		opts.TempoUID = DefaultTempoUID
	}
	outs, items := convertAll(inputs, opts)
	res := &Result{Report: &Report{}}
	names := map[string]bool{}
	uids := map[string]bool{}
	for i, item := range items {
		out := outs[i]
		if out != nil && item.NewUID != "" {
			// Copies of one dashboard would get the same new uid.
			for n := 2; uids[item.NewUID] && item.Status != StatusFailed; n++ {
				if err := reUID(out, item, n); err != nil {
					item.fail(err)
				}
			}
			uids[item.NewUID] = true
		}
		if out != nil && item.Status != StatusFailed {
			// Copies share a title and uid; number their files so no
			// output overwrites another.
			out.File = uniqueName(names, out.File)
			item.Output = out.File
			res.Dashboards = append(res.Dashboards, *out)
		}
		res.Report.add(item)
	}
	res.Report.finish()
	used := map[string]bool{}
	for _, item := range items {
		for name := range item.usedDataSources {
			used[name] = true
		}
	}
	for name := range opts.DataSources {
		if !used[name] {
			res.UnusedDataSources = append(res.UnusedDataSources, name)
		}
	}
	sort.Strings(res.UnusedDataSources)
	return res
}

// convertAll converts the files on every CPU and returns the results in
// input order, so the output does not depend on scheduling.
func convertAll(inputs []Input, opts Options) ([]*Output, []*Item) {
	outs := make([]*Output, len(inputs))
	items := make([]*Item, len(inputs))
	next := make(chan int)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(inputs)) {
		wg.Go(func() {
			for i := range next {
				outs[i], items[i] = convertFile(inputs[i], opts)
				done <- struct{}{}
			}
		})
	}
	go func() {
		for i := range inputs {
			next <- i
		}
		close(next)
		wg.Wait()
		close(done)
	}()
	finished := 0
	for range done {
		finished++
		if opts.Progress != nil {
			opts.Progress(finished, len(inputs))
		}
	}
	return outs, items
}

func convertFile(in Input, opts Options) (*Output, *Item) {
	item := &Item{Source: in.File}
	v, err := ojson.Decode(in.Data)
	if err != nil {
		item.fail(fmt.Errorf("%s: invalid JSON: %w", in.File, err))
		return nil, item
	}
	root, ok := v.(*ojson.Object)
	if !ok {
		item.fail(fmt.Errorf("%s: expected a dashboard object, found a JSON array or value", in.File))
		return nil, item
	}
	dash := root
	if inner := root.Object("dashboard"); inner != nil {
		// An export of Grafana's HTTP API: {"dashboard": {...}, "meta": {...}}.
		dash = inner
	}
	if _, ok := dash.Get("panels"); !ok {
		if _, ok := dash.Get("rows"); !ok {
			item.fail(fmt.Errorf("%s: not a Grafana dashboard: it has neither panels nor rows", in.File))
			return nil, item
		}
	}
	item.UID, item.Title = dash.String("uid"), dash.String("title")

	c := newDashConv(dash, opts, item)
	c.convert()
	item.usedDataSources = c.res.used
	if !c.changed {
		item.Status = StatusUnchanged
		if len(item.Targets)+len(item.Variables)+len(item.Annotations) > 0 {
			item.Status = StatusNotConverted
		}
	}
	out, err := ojson.Encode(root)
	if err != nil {
		item.fail(fmt.Errorf("%s: encoding the dashboard: %w", in.File, err))
		return nil, item
	}
	name := outputName(item.Title, dash.String("uid"))
	item.Output = name
	return &Output{File: name, UID: dash.String("uid"), Title: item.Title, JSON: out, root: root, dash: dash}, item
}

// outputName is a dashboard's file name: its title and uid.
func outputName(title, uid string) string {
	name := slug(title)
	if u := fileSafe(uid); u != "" {
		name += "-" + u
	}
	return name + ".json"
}

// migratedUID derives a converted dashboard's uid from the old uid and
// title; n > 1 numbers further copies of one dashboard in a batch.
func migratedUID(old, title string, n int) string {
	key := "grafana/" + old + "/" + title
	if n > 1 {
		key += "/" + itoa(n)
	}
	sum := sha256.Sum256([]byte(key))
	return "mg-" + hex.EncodeToString(sum[:])[:20]
}

// reUID gives a converted dashboard whose uid another dashboard of the
// batch took the uid of copy n, and writes it again.
func reUID(out *Output, item *Item, n int) error {
	uid := migratedUID(item.UID, item.Title, n)
	out.dash.Set("uid", uid)
	data, err := ojson.Encode(out.root)
	if err != nil {
		return fmt.Errorf("%s: encoding the dashboard: %w", item.Source, err)
	}
	item.Notes = append(item.Notes, fmt.Sprintf(
		"another dashboard of the batch has uid %q and title %q too, so this copy gets uid %s", item.UID, item.Title, uid))
	out.JSON, out.UID, item.NewUID = data, uid, uid
	out.File = outputName(item.Title, uid)
	return nil
}

// dashConv converts one dashboard in place.
type dashConv struct {
	dash    *ojson.Object
	opts    Options
	item    *Item
	res     *resolver
	schema  *logql.Schema
	changed bool

	// varRefs are the converted references that kept a variable or an
	// exported dashboard's input, by its name.
	varRefs map[string][]*ojson.Object
	// keptVars names the variables and inputs that unconverted targets,
	// variables or annotations still use, so they keep listing the old
	// data source.
	keptVars map[string]bool
	// unknownRefs names data sources the conversion could not classify.
	unknownRefs map[string]bool
}

func newDashConv(dash *ojson.Object, opts Options, item *Item) *dashConv {
	c := &dashConv{dash: dash, opts: opts, item: item, res: newResolver(dash, opts.DataSources)}
	c.schema = c.schemaFor()
	return c
}

// schemaFor picks the mapping entry. Grafana targets do not name their
// index (the data source does), so the entry is the one matching
// Options.Index, or the only one.
func (c *dashConv) schemaFor() *logql.Schema {
	if len(c.opts.Mappings) == 0 {
		return logql.NewSchema(plans.DefaultLogMapping(), false, nil).KeepVariables()
	}
	if m, ok := plans.SelectMapping(c.opts.Mappings, c.opts.Index); ok {
		return logql.NewSchema(m, true, nil).KeepVariables()
	}
	why := "the mapping has several logs entries and Grafana targets do not name their index (pass --index to pick one)"
	if c.opts.Index != "" {
		why = fmt.Sprintf("no logs entry of the mapping matches the index %q", c.opts.Index)
	}
	return logql.NewSchema(plans.DefaultLogMapping(), false, nil).Unmatched(why).KeepVariables()
}

func (c *dashConv) convert() {
	c.walkPanels(c.dash.Array("panels"))
	for _, row := range c.dash.Array("rows") {
		if r, ok := row.(*ojson.Object); ok {
			c.walkPanels(r.Array("panels"))
		}
	}
	c.convertAnnotations()
	c.convertQueryVariables()
	c.convertDataSourceVariables()
	c.convertInputs()
	c.reportUnknownRefs()
	if c.changed {
		c.markMigrated()
	}
}

func (c *dashConv) walkPanels(panels []any) {
	for _, p := range panels {
		panel, ok := p.(*ojson.Object)
		if !ok {
			continue
		}
		if nested := panel.Array("panels"); nested != nil {
			c.walkPanels(nested)
		}
		c.convertPanel(panel)
	}
}

// markMigrated records where the dashboard came from: a new uid derived
// from the old one, so it can sit next to the original, a tag with the old
// uid, and no instance id.
func (c *dashConv) markMigrated() {
	old := c.dash.String("uid")
	c.dash.Set("uid", migratedUID(old, c.dash.String("title"), 1))
	if _, ok := c.dash.Get("id"); ok {
		c.dash.Set("id", nil)
	}
	if t, ok := c.dash.Get("tags"); ok && t != nil {
		if _, isList := t.([]any); !isList {
			c.item.Notes = append(c.item.Notes, "tags is not a list, so the migration tags were not added")
			c.item.NewUID = c.dash.String("uid")
			return
		}
	}
	tags := c.dash.Array("tags")
	tags = append(tags, MigrationTag)
	if old != "" {
		tags = append(tags, "migrated-from-uid:"+old)
	}
	c.dash.Set("tags", tags)
	c.item.NewUID = c.dash.String("uid")
}

// lokiRef points a data source reference at Loki. A reference through a
// variable keeps the variable, which now lists Loki data sources.
func (c *dashConv) lokiRef(old any) *ojson.Object {
	return c.repoint(old, "loki", c.opts.LokiUID)
}

func (c *dashConv) tempoRef(old any) *ojson.Object {
	return c.repoint(old, "tempo", c.opts.TempoUID)
}

func (c *dashConv) repoint(old any, typ, uid string) *ojson.Object {
	ref := ojson.NewObject()
	ref.Set("type", typ)
	if name, text, ok := refVariable(old); ok {
		uid = text
		if c.varRefs == nil {
			c.varRefs = map[string][]*ojson.Object{}
		}
		c.varRefs[name] = append(c.varRefs[name], ref)
	}
	ref.Set("uid", uid)
	return ref
}

// refVariable returns the variable or input a data source reference goes
// through, and the reference text.
func refVariable(ref any) (name, text string, ok bool) {
	switch d := ref.(type) {
	case string:
		text = d
	case *ojson.Object:
		text = d.String("uid")
	}
	name, ok = variableName(text)
	return name, text, ok
}

// keepRef records that something left on its old data source uses ref.
func (c *dashConv) keepRef(ref any) {
	if name, _, ok := refVariable(ref); ok {
		if c.keptVars == nil {
			c.keptVars = map[string]bool{}
		}
		c.keptVars[name] = true
	}
}

// pinKept points the converted references that went through a variable or
// input still in use by the old data source at the Loki or Tempo uid
// itself, and adds a note to the report.
func (c *dashConv) pinKept(name, what string) {
	refs := c.varRefs[name]
	for _, ref := range refs {
		uid := c.opts.LokiUID
		if ref.String("type") == "tempo" {
			uid = c.opts.TempoUID
		}
		ref.Set("uid", uid)
	}
	if len(refs) > 0 {
		c.item.Notes = append(c.item.Notes, fmt.Sprintf(
			"%s %s still selects the old data source for the targets, variables or annotations left on it; the %d converted references name the Loki or Tempo uid directly",
			what, name, len(refs)))
	}
}

// unresolved records a data source reference of unknown kind whose target
// may be on Elasticsearch, OpenSearch or Jaeger.
func (c *dashConv) unresolved(ref any, target *ojson.Object) {
	// Elasticsearch and Jaeger targets carry a query; Prometheus and Loki
	// targets an expr.
	if _, ok := target.Get("query"); !ok {
		return
	}
	if _, ok := target.Get("expr"); ok {
		return
	}
	name := "(default data source)"
	switch d := ref.(type) {
	case string:
		name = d
	case *ojson.Object:
		name = d.String("uid")
	}
	if name == "" {
		return
	}
	if c.unknownRefs == nil {
		c.unknownRefs = map[string]bool{}
	}
	c.unknownRefs[name] = true
}

func (c *dashConv) reportUnknownRefs() {
	for name := range c.unknownRefs {
		c.item.UnknownDataSources = append(c.item.UnknownDataSources, name)
	}
	sort.Strings(c.item.UnknownDataSources)
}

// uniqueName returns name, or name with -2, -3 before its extension when
// an earlier dashboard of the batch took it.
func uniqueName(taken map[string]bool, name string) string {
	base, ext := strings.TrimSuffix(name, ".json"), ".json"
	for n := 2; taken[name]; n++ {
		name = fmt.Sprintf("%s-%d%s", base, n, ext)
	}
	taken[name] = true
	return name
}

// fileSafe keeps the letters, digits, - and _ of a uid, at most 40 of them
// (Grafana's own uid limit), so a uid cannot name a path.
func fileSafe(uid string) string {
	var b strings.Builder
	for _, r := range uid {
		if b.Len() >= 40 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// slug makes a file-name-safe form of a title.
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	if s := strings.Trim(b.String(), "-"); s != "" {
		return s
	}
	return "dashboard"
}
