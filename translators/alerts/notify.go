package alerts

import (
	"fmt"
	"sort"
	"strings"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// maxParamsText bounds the action parameters quoted in an annotation.
const maxParamsText = 500

// Annotation keys for what a Loki rule cannot hold.
const (
	noteActions  = "actions"
	noteNotify   = "notify"
	noteTags     = "tags"
	noteMetadata = "metadata"
)

// kibanaNotes keeps a Kibana rule's actions, notification settings, tags
// and state in annotations and reasons. Loki rules have no actions:
// Alertmanager routes every alert, so each action needs a route there.
func (c *converter) kibanaNotes(spec *ruleSpec, r *kibanaRule) {
	if len(r.actions) > 0 {
		lines := make([]string, len(r.actions))
		types := make([]string, len(r.actions))
		for i, a := range r.actions {
			lines[i] = c.describeAction(a)
			types[i] = a.connectorType
		}
		spec.note(noteActions, strings.Join(lines, "\n"))
		spec.reasons.Addf(fidelity.Exact, "actions_not_migrated",
			"Loki rules have no actions, so the alert goes to Alertmanager, where a route must notify as the rule's %d action(s) did (%s); the actions annotation lists them",
			len(r.actions), strings.Join(uniqueSorted(types), ", "))
	}
	if text := kibanaNotifyText(r.notifyWhen, r.throttle); text != "" {
		spec.note(noteNotify, text)
		spec.reasons.Addf(fidelity.Exact, "notify_settings",
			"Kibana %s; set the Alertmanager route's group_interval and repeat_interval to match", text)
	}
	spec.note(noteTags, strings.Join(r.tags, ", "))
	if !r.enabled {
		spec.reasons.Addf(fidelity.Exact, "rule_disabled", "the rule is disabled in Kibana, so %s", disabledFileNote)
	}
	if r.muted {
		spec.reasons.Addf(fidelity.Approximate, "rule_muted",
			"every alert of the rule is muted in Kibana; add an Alertmanager silence on migrate_rule_id=%q to keep it quiet", spec.id)
	}
	if len(r.mutedAlerts) > 0 {
		spec.reasons.Addf(fidelity.Approximate, "alerts_muted",
			"the alerts %s of the rule are muted in Kibana; add Alertmanager silences for them", strings.Join(r.mutedAlerts, ", "))
	}
}

// describeAction writes one action as a line: connector, group, frequency
// and parameters.
func (c *converter) describeAction(a ruleAction) string {
	var b strings.Builder
	b.WriteString(orUnknown(a.connectorType, "connector"))
	if conn, ok := c.res.connectors[a.connectorID]; ok && conn.name != "" {
		fmt.Fprintf(&b, " %q", conn.name)
	}
	if a.connectorID != "" {
		fmt.Fprintf(&b, " (connector %s)", a.connectorID)
	}
	if a.group != "" {
		fmt.Fprintf(&b, " on %q", a.group)
	}
	if text := kibanaNotifyText(a.notifyWhen, a.throttle); text != "" {
		b.WriteString(", " + text)
	}
	if a.summary {
		b.WriteString(", as a summary of alerts")
	}
	if len(a.params) > 0 {
		b.WriteString(": " + truncate(compactJSON(a.params), maxParamsText))
	}
	return b.String()
}

// kibanaNotifyText describes notifyWhen and throttle.
func kibanaNotifyText(notifyWhen, throttle string) string {
	var parts []string
	switch notifyWhen {
	case "":
	case "onActionGroupChange":
		parts = append(parts, "notified when the alert status changed")
	case "onActiveAlert":
		parts = append(parts, "notified at every check while the alert was active")
	case "onThrottleInterval":
		parts = append(parts, "notified at most once per throttle interval while the alert was active")
	default:
		parts = append(parts, "notified "+notifyWhen)
	}
	if throttle != "" {
		parts = append(parts, "throttled notifications to one per "+throttle)
	}
	return strings.Join(parts, " and ")
}

// watchNotes keeps a watch's actions, throttle period and metadata.
func watchNotes(spec *ruleSpec, w map[string]any) {
	actions := obj(w, "actions")
	if len(actions) > 0 {
		var lines, types []string
		for _, name := range sortedKeys(actions) {
			a, _ := actions[name].(map[string]any)
			typ, line := describeWatchAction(name, a)
			lines = append(lines, line)
			types = append(types, typ)
		}
		spec.note(noteActions, strings.Join(lines, "\n"))
		spec.reasons.Addf(fidelity.Exact, "actions_not_migrated",
			"Loki rules have no actions, so the alert goes to Alertmanager, where a route must notify as the watch's %d action(s) did (%s); the actions annotation lists them",
			len(actions), strings.Join(uniqueSorted(types), ", "))
	}
	if throttle := watchThrottle(w); throttle != "" {
		spec.note(noteNotify, "throttled actions to one per "+throttle)
		spec.reasons.Addf(fidelity.Exact, "notify_settings",
			"the watch throttled its actions to one per %s; set the Alertmanager route's repeat_interval to match", throttle)
	}
	if meta := obj(w, "metadata"); len(meta) > 0 {
		spec.note(noteMetadata, truncate(compactJSON(meta), maxParamsText))
	}
	if obj(w, "transform") != nil {
		spec.reasons.Addf(fidelity.Exact, "transform_dropped",
			"the watch transforms its payload for its actions; Alertmanager templates build notifications from the alert's labels and annotations instead")
	}
}

// watchActionTypes are the Watcher action types; an action object holds one
// of them next to settings such as throttle_period and condition.
var watchActionTypes = []string{"email", "webhook", "index", "logging", "slack", "pagerduty", "jira"}

func describeWatchAction(name string, a map[string]any) (typ, line string) {
	typ = "unknown"
	for _, t := range watchActionTypes {
		if a[t] != nil {
			typ = t
			break
		}
	}
	line = fmt.Sprintf("%s (%s)", name, typ)
	if t := firstStr(a, "throttle_period"); t != "" {
		line += ", throttled to one per " + t
	}
	if a["condition"] != nil {
		line += ", with its own condition"
	}
	if body, ok := a[typ].(map[string]any); ok {
		line += ": " + truncate(compactJSON(body), maxParamsText)
	}
	return typ, line
}

func watchThrottle(w map[string]any) string {
	if t := str(w, "throttle_period"); t != "" {
		return t
	}
	if ms, ok := number(w["throttle_period_in_millis"]); ok && ms > 0 {
		return formatNumber(ms) + "ms"
	}
	return ""
}

func orUnknown(s, noun string) string {
	if s == "" {
		return "unknown " + noun
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func uniqueSorted(list []string) []string {
	seen := make(map[string]bool, len(list))
	var out []string
	for _, s := range list {
		if s == "" {
			s = "unknown"
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// disabledFileNote ends the reason of a rule that is disabled in the source.
const disabledFileNote = "its Loki rule, when it has one, goes to the input's .disabled.yaml file, apart from the enabled rules; " +
	"move the rule to a loaded rule file only to turn it on in Loki"
