package grafana

import (
	"regexp"
	"strings"

	"github.com/obs-migrate/migrate/internal/ojson"
)

// Kind is a data source type, as the conversion classifies it.
type Kind string

// Data source kinds. OpenSearch's Grafana plugin, and the Open Distro
// plugin before it, use Elasticsearch's target model, so all convert the
// same way.
const (
	KindElasticsearch Kind = "elasticsearch"
	KindOpenSearch    Kind = "opensearch"
	KindJaeger        Kind = "jaeger"
	KindLoki          Kind = "loki"
	KindTempo         Kind = "tempo"
	KindMixed         Kind = "mixed"
	KindOther         Kind = "other"
	KindUnknown       Kind = ""
)

// logsSource reports whether targets of the kind become Loki targets.
func (k Kind) logsSource() bool { return k == KindElasticsearch || k == KindOpenSearch }

// kindOfPlugin maps a plugin id or --datasource type to a kind.
func kindOfPlugin(plugin string) Kind {
	switch strings.ToLower(strings.TrimSpace(plugin)) {
	case "elasticsearch":
		return KindElasticsearch
	case "grafana-opensearch-datasource", "opensearch", "grafana-es-open-distro-datasource":
		return KindOpenSearch
	case "jaeger":
		return KindJaeger
	case "loki":
		return KindLoki
	case "tempo":
		return KindTempo
	case "-- mixed --", "mixed", "datasource":
		return KindMixed
	case "":
		return KindUnknown
	}
	return KindOther
}

// resolver finds the kind of a data source reference. Grafana dashboards
// name data sources in several ways over the years: an object with a type
// and uid, a plain name, a ${DS_X} input of an exported dashboard, a
// $variable, or nothing (the default data source).
type resolver struct {
	// names maps data source names and uids to kinds: from --datasource
	// and from the dashboard's __inputs.
	names map[string]Kind
	// vars maps data source variable names to the plugin they list.
	vars map[string]Kind
	// explicit holds the names given with --datasource, and used those
	// that settled a reference.
	explicit, used map[string]bool
}

var variableRef = regexp.MustCompile(`^\$\{?([A-Za-z0-9_-]+)(?::[a-z]+)?\}?$`)

// variableName returns the variable a reference names, if it is one.
func variableName(ref string) (string, bool) {
	m := variableRef.FindStringSubmatch(strings.TrimSpace(ref))
	if m == nil {
		return "", false
	}
	return m[1], true
}

func newResolver(dash *ojson.Object, explicit map[string]string) *resolver {
	r := &resolver{names: map[string]Kind{}, vars: map[string]Kind{}, explicit: map[string]bool{}, used: map[string]bool{}}
	for _, in := range dash.Array("__inputs") {
		if o, ok := in.(*ojson.Object); ok && o.String("type") == "datasource" {
			r.names["${"+o.String("name")+"}"] = kindOfPlugin(o.String("pluginId"))
		}
	}
	for _, v := range templatingList(dash) {
		if o, ok := v.(*ojson.Object); ok && o.String("type") == "datasource" {
			r.vars[o.String("name")] = kindOfPlugin(queryText(o))
		}
	}
	for name, typ := range explicit {
		r.names[name] = kindOfPlugin(typ)
		r.explicit[name] = true
	}
	return r
}

// learn records the kind of a named reference found by a target's shape.
func (r *resolver) learn(ref any, k Kind) {
	name := ""
	switch d := ref.(type) {
	case string:
		name = d
	case *ojson.Object:
		if d.String("type") == "" {
			name = d.String("uid")
		}
	}
	if name == "" {
		return
	}
	if _, known := r.names[name]; !known {
		r.names[name] = k
	}
}

// kind returns the kind of a reference, or KindUnknown.
func (r *resolver) kind(ref any) Kind {
	switch d := ref.(type) {
	case nil:
		return KindUnknown
	case string:
		return r.byName(d)
	case *ojson.Object:
		if t := d.String("type"); t != "" {
			k := kindOfPlugin(t)
			if k != KindOther || d.String("uid") == "" {
				return k
			}
		}
		return r.byName(d.String("uid"))
	}
	return KindUnknown
}

func (r *resolver) byName(name string) Kind {
	if name == "" {
		return KindUnknown
	}
	if k, ok := r.names[name]; ok {
		if r.explicit[name] {
			r.used[name] = true
		}
		return k
	}
	if v, ok := variableName(name); ok {
		if k, ok := r.vars[v]; ok {
			return k
		}
		if k, ok := r.names["${"+v+"}"]; ok {
			return k
		}
	}
	if k := kindOfPlugin(name); k == KindMixed || k == KindLoki || k == KindTempo || k == KindJaeger {
		return k
	}
	return KindUnknown
}

// kindByShape recognises a target by its fields, for references the
// resolver does not know: an Elasticsearch target has bucketAggs, metrics
// or timeField; a Jaeger search has service with tags or operation.
func kindByShape(t *ojson.Object) Kind {
	for _, k := range []string{"bucketAggs", "metrics", "timeField"} {
		if _, ok := t.Get(k); ok {
			return KindElasticsearch
		}
	}
	if t.String("queryType") == "search" {
		if _, ok := t.Get("service"); ok {
			return KindJaeger
		}
	}
	return KindUnknown
}

// templatingList returns templating.list.
func templatingList(dash *ojson.Object) []any {
	if t := dash.Object("templating"); t != nil {
		return t.Array("list")
	}
	return nil
}

// queryText returns a variable's query as text, whether it is a string or
// an object with a query field.
func queryText(v *ojson.Object) string {
	switch q, _ := v.Get("query"); q := q.(type) {
	case string:
		return q
	case *ojson.Object:
		return q.String("query")
	}
	return ""
}

// esModel reports whether a target has all of Elasticsearch's query
// fields: a query, metrics, bucket aggregations and a time field.
func esModel(t *ojson.Object) bool {
	for _, k := range []string{"bucketAggs", "metrics", "timeField", "query"} {
		if _, ok := t.Get(k); !ok {
			return false
		}
	}
	return true
}
