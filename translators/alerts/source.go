package alerts

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
)

// Kinds of source object that are not Kibana rule types.
const (
	// KindWatch is an Elasticsearch Watcher watch.
	KindWatch = "watch"
	// KindDetectionRule is a Kibana security detection rule.
	KindDetectionRule = "detection-rule"
)

// Rule type ids of the Kibana rules that convert.
const (
	TypeESQuery        = ".es-query"
	TypeIndexThreshold = ".index-threshold"
	TypeLogThreshold   = "logs.alert.document.count"
)

// kibanaRule is a Kibana alerting rule, normalised across the saved-object
// export (camelCase attributes) and the alerting API (snake_case).
type kibanaRule struct {
	origin  Origin
	id      string
	name    string
	typeID  string
	tags    []string
	enabled bool
	// muted is muteAll; mutedAlerts lists muted alert ids.
	muted       bool
	mutedAlerts []string
	interval    string
	throttle    string
	notifyWhen  string
	actions     []ruleAction
	params      map[string]any
	// refs maps a saved-object reference name to the id it points at.
	refs map[string]string
}

// ruleAction is one action of a Kibana rule: a connector and what it sends.
type ruleAction struct {
	group         string
	connectorID   string
	connectorType string
	notifyWhen    string
	throttle      string
	summary       bool
	params        map[string]any
}

// watch is one Watcher watch.
type watch struct {
	origin Origin
	id     string
	body   map[string]any
	// active is false for a watch whose status marks it deactivated.
	active bool
}

// otherObject is a source object that is not converted on its own: a
// saved object of another type, or a security detection rule.
type otherObject struct {
	origin Origin
	kind   string
	id     string
	title  string
}

// resources are the objects in a batch that rules refer to.
type resources struct {
	indexPatterns map[string]indexPattern
	connectors    map[string]connector
	logViews      map[string]logView
}

type indexPattern struct{ title, timeField string }

type connector struct{ name, typeID string }

// logView is a Kibana log view (or, in 7.x, an infrastructure source):
// either index names or a data view.
type logView struct{ indices, dataViewID string }

func newResources() *resources {
	return &resources{
		indexPatterns: make(map[string]indexPattern),
		connectors:    make(map[string]connector),
		logViews:      make(map[string]logView),
	}
}

// classify turns a decoded object into a rule, a watch, a resource or
// another object. It returns nil for the export summary line.
func classify(el element, doc map[string]any, res *resources) (any, *ObjectError) {
	if _, ok := doc["exportedCount"]; ok {
		return nil, nil
	}
	typ := str(doc, "type")
	if attrs := obj(doc, "attributes"); attrs != nil && typ != "" {
		return savedObject(el, doc, typ, attrs, res)
	}
	switch {
	case firstStr(doc, "rule_type_id", "alertTypeId", "ruleTypeId") != "":
		return newKibanaRule(el.origin, str(doc, "id"), doc, nil), nil
	case obj(doc, "watch") != nil:
		return newWatch(el, firstStr(doc, "_id", "id"), obj(doc, "watch"), obj(doc, "status")), nil
	case obj(doc, "trigger") != nil && (doc["input"] != nil || doc["condition"] != nil):
		return newWatch(el, firstStr(doc, "_id", "id"), doc, obj(doc, "status")), nil
	case str(doc, "rule_id") != "" && typ != "":
		return &otherObject{origin: el.origin, kind: KindDetectionRule, id: str(doc, "rule_id"), title: str(doc, "name")}, nil
	}
	id, kind := peekIdentity(el.raw)
	return nil, &ObjectError{
		Origin: el.origin, ID: id, Kind: kind,
		Err: errors.New("not a Kibana rule or a watch: it has no rule_type_id or alertTypeId, no saved-object type " +
			"and attributes, and no trigger; export rules from Kibana's saved objects or alerting API, and watches from the Watcher API"),
	}
}

// savedObject reads one object of a Kibana saved-object export.
func savedObject(el element, doc map[string]any, typ string, attrs map[string]any, res *resources) (any, *ObjectError) {
	id := str(doc, "id")
	switch typ {
	case "alert", "rule":
		if firstStr(attrs, "alertTypeId", "rule_type_id", "ruleTypeId") == "" {
			return nil, &ObjectError{
				Origin: el.origin, Kind: typ, ID: id,
				Err: missing("attributes.alertTypeId", "the rule has no rule type; export it again from Kibana"),
			}
		}
		return newKibanaRule(el.origin, id, attrs, references(doc)), nil
	case "index-pattern":
		res.indexPatterns[id] = indexPattern{title: str(attrs, "title"), timeField: str(attrs, "timeFieldName")}
	case "action", "connector":
		res.connectors[id] = connector{name: str(attrs, "name"), typeID: firstStr(attrs, "actionTypeId", "connector_type_id")}
	case "infrastructure-monitoring-log-view", "infrastructure-ui-source":
		res.logViews[id] = readLogView(attrs)
	}
	title := firstStr(attrs, "title", "name")
	return &otherObject{origin: el.origin, kind: typ, id: id, title: title}, nil
}

// readLogView reads the indices of a log view or of a 7.x infrastructure
// source: logIndices (index names or a data view), or logAlias.
func readLogView(attrs map[string]any) logView {
	if li := obj(attrs, "logIndices"); li != nil {
		return logView{indices: str(li, "indexName"), dataViewID: str(li, "dataViewId")}
	}
	return logView{indices: str(attrs, "logAlias")}
}

// references maps each saved-object reference name to its id.
func references(doc map[string]any) map[string]string {
	refs := make(map[string]string)
	for _, r := range arr(doc, "references") {
		if m, ok := r.(map[string]any); ok {
			refs[str(m, "name")] = str(m, "id")
		}
	}
	return refs
}

func newKibanaRule(origin Origin, id string, m map[string]any, refs map[string]string) *kibanaRule {
	r := &kibanaRule{
		origin:     origin,
		id:         id,
		name:       str(m, "name"),
		typeID:     firstStr(m, "alertTypeId", "rule_type_id", "ruleTypeId"),
		enabled:    true,
		throttle:   str(m, "throttle"),
		notifyWhen: firstStr(m, "notifyWhen", "notify_when"),
		params:     obj(m, "params"),
		refs:       refs,
	}
	if tags, ok := stringList(m["tags"]); ok {
		r.tags = tags
	}
	if v, ok := firstValue(m, "enabled"); ok {
		r.enabled = v != false
	}
	if v, ok := firstValue(m, "muteAll", "mute_all"); ok {
		r.muted = v == true
	}
	if v, ok := firstValue(m, "mutedInstanceIds", "muted_alert_ids"); ok {
		r.mutedAlerts, _ = stringList(v)
	}
	if s := obj(m, "schedule"); s != nil {
		r.interval = str(s, "interval")
	}
	for _, a := range arr(m, "actions") {
		if am, ok := a.(map[string]any); ok {
			r.actions = append(r.actions, newRuleAction(am, refs))
		}
	}
	return r
}

func newRuleAction(m map[string]any, refs map[string]string) ruleAction {
	a := ruleAction{
		group:         str(m, "group"),
		connectorID:   str(m, "id"),
		connectorType: firstStr(m, "actionTypeId", "connector_type_id"),
		params:        obj(m, "params"),
	}
	if ref := str(m, "actionRef"); ref != "" && a.connectorID == "" {
		a.connectorID = refs[ref]
		if a.connectorID == "" {
			// Preconfigured connectors are exported by id, with no reference.
			a.connectorID = strings.TrimPrefix(ref, "preconfigured:")
		}
	}
	if f := obj(m, "frequency"); f != nil {
		a.notifyWhen = firstStr(f, "notifyWhen", "notify_when")
		a.throttle = str(f, "throttle")
		a.summary = f["summary"] == true
	}
	return a
}

// newWatch reads a watch. A watch stored alone in a file has no id inside,
// so the file name is its id, as in PUT _watcher/watch/<id>; a watch without
// an id in a list of several also gets its line number.
func newWatch(el element, id string, body, status map[string]any) *watch {
	if id == "" {
		if meta := obj(body, "metadata"); str(meta, "id") != "" {
			id = str(meta, "id")
		} else {
			base := filepath.Base(el.origin.File)
			id = strings.TrimSuffix(base, filepath.Ext(base))
			if !el.single {
				id += "-line" + strconv.Itoa(el.origin.Line)
			}
		}
	}
	w := &watch{origin: el.origin, id: id, body: body, active: true}
	if state := obj(status, "state"); state != nil && state["active"] == false {
		w.active = false
	}
	return w
}
