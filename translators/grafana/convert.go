package grafana

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
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
}

// Result is the outcome of a batch.
type Result struct {
	Dashboards []Output
	Report     *Report
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
	for i, item := range items {
		if out := outs[i]; out != nil {
			// Copies of one dashboard share a title and uid; number them
			// so no output overwrites another.
			out.File = uniqueName(names, out.File)
			item.Output = out.File
			res.Dashboards = append(res.Dashboards, *out)
		}
		res.Report.add(item)
	}
	res.Report.finish()
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
	name := slug(item.Title) + "-" + dash.String("uid") + ".json"
	item.Output = name
	return &Output{File: name, UID: dash.String("uid"), Title: item.Title, JSON: out}, item
}

// dashConv converts one dashboard in place.
type dashConv struct {
	dash    *ojson.Object
	opts    Options
	item    *Item
	res     *resolver
	schema  *logql.Schema
	changed bool
}

func newDashConv(dash *ojson.Object, opts Options, item *Item) *dashConv {
	c := &dashConv{dash: dash, opts: opts, item: item, res: newResolver(dash, opts.DataSources)}
	c.schema = c.schemaFor(dash.String("title"))
	return c
}

// schemaFor picks the mapping entry. Grafana targets do not name their
// index, so the only mapping entry applies, or the one whose indices match
// the dashboard's title; otherwise the default mapping, which says so.
func (c *dashConv) schemaFor(title string) *logql.Schema {
	if len(c.opts.Mappings) == 0 {
		return logql.NewSchema(plans.DefaultLogMapping(), false, nil).KeepVariables()
	}
	if m, ok := plans.SelectMapping(c.opts.Mappings, title); ok {
		return logql.NewSchema(m, true, nil).KeepVariables()
	}
	return logql.NewSchema(plans.DefaultLogMapping(), false, nil).
		Unmatched("the mapping has several logs entries and none matches this dashboard (give it one entry)").
		KeepVariables()
}

func (c *dashConv) convert() {
	c.walkPanels(c.dash.Array("panels"))
	for _, row := range c.dash.Array("rows") {
		if r, ok := row.(*ojson.Object); ok {
			c.walkPanels(r.Array("panels"))
		}
	}
	c.convertVariables()
	c.convertAnnotations()
	c.convertInputs()
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
	sum := sha256.Sum256([]byte("grafana/" + old + "/" + c.dash.String("title")))
	c.dash.Set("uid", "mg-"+hex.EncodeToString(sum[:])[:20])
	if _, ok := c.dash.Get("id"); ok {
		c.dash.Set("id", nil)
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
	switch d := old.(type) {
	case string:
		if _, isVar := variableName(d); isVar {
			uid = d
		}
	case *ojson.Object:
		if _, isVar := variableName(d.String("uid")); isVar {
			uid = d.String("uid")
		}
	}
	ref.Set("uid", uid)
	return ref
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
