package alerts_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/translators/alerts"
)

// marshalLines writes objects as NDJSON.
func marshalLines(t *testing.T, objects ...any) []byte {
	t.Helper()
	var lines []string
	for _, o := range objects {
		data, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(data))
	}
	return []byte(strings.Join(lines, "\n"))
}

// TestDisabledRulesFile checks that a disabled Kibana rule and a
// deactivated watch go to the input's .disabled.yaml file, with a header
// that says it is not meant to be loaded, while enabled and muted rules
// stay in the input's rule file.
func TestDisabledRulesFile(t *testing.T) {
	enabled := apiRule(".es-query", esQueryParams(nil))
	enabled["id"] = "enabled-1"
	muted := apiRule(".es-query", esQueryParams(nil))
	muted["id"], muted["mute_all"] = "muted-2", true
	disabled := apiRule(".es-query", esQueryParams(nil))
	disabled["id"], disabled["enabled"] = "disabled-3", false
	inactive := testWatch(compare("ctx.payload.hits.total", "gt", 1), nil)
	inactive["_id"] = "inactive-4"
	inactive["status"] = map[string]any{"state": map[string]any{"active": false}}

	data := marshalLines(t, enabled, muted, disabled, inactive)
	res := alerts.Convert([]alerts.Input{{File: "exports/rules.ndjson", Data: data}}, kindsOptions(t))
	requireSoundRuleFiles(t, res)

	files := map[string]alerts.Output{}
	for _, f := range res.Files {
		files[f.File] = f
	}
	enabledFile, disabledFile := files["rules.yaml"], files["rules.disabled.yaml"]
	if len(files) != 2 || enabledFile.Rules != 2 || disabledFile.Rules != 2 {
		t.Fatalf("files %v, want rules.yaml and rules.disabled.yaml with 2 rules each", res.Files)
	}
	if enabledFile.Disabled || !disabledFile.Disabled {
		t.Errorf("Disabled is %v for rules.yaml and %v for rules.disabled.yaml, want false and true", enabledFile.Disabled, disabledFile.Disabled)
	}
	for _, want := range []string{"disabled in Kibana or deactivated in Watcher", "not\n# meant to be loaded as it is"} {
		if !strings.Contains(string(disabledFile.YAML), want) {
			t.Errorf("the header of rules.disabled.yaml lacks %q:\n%s", want, disabledFile.YAML)
		}
	}
	if !strings.Contains(string(enabledFile.YAML), "in rules.disabled.yaml") {
		t.Errorf("the header of rules.yaml does not point to rules.disabled.yaml:\n%s", enabledFile.YAML)
	}

	wantOutputs := map[string]string{
		"enabled-1": "rules.yaml", "muted-2": "rules.yaml",
		"disabled-3": "rules.disabled.yaml", "inactive-4": "rules.disabled.yaml",
	}
	for id, want := range wantOutputs {
		it := itemByID(t, res.Report, id)
		if it.Output != want || it.Disabled != (want == "rules.disabled.yaml") {
			t.Errorf("%s: output %q, disabled %v; want %q", id, it.Output, it.Disabled, want)
		}
	}
	if !hasReason(itemByID(t, res.Report, "disabled-3"), "rule_disabled") ||
		!hasReason(itemByID(t, res.Report, "inactive-4"), "watch_inactive") {
		t.Error("the disabled rule or the inactive watch lacks its reason")
	}

	s := res.Report.Summary
	if s.RulesWritten != 4 || s.DisabledRulesWritten != 2 || s.RuleFiles != 2 {
		t.Errorf("summary: %d rules written, %d disabled, %d files; want 4, 2, 2", s.RulesWritten, s.DisabledRulesWritten, s.RuleFiles)
	}
	if md := string(res.Report.Markdown()); !strings.Contains(md, "## Disabled in the source") {
		t.Errorf("the Markdown report has no section for the disabled rules:\n%s", md)
	}
}

// TestDisabledFileNames checks that only files of disabled rules end in
// .disabled.yaml, even for an input whose name ends in .disabled.
func TestDisabledFileNames(t *testing.T) {
	enabled := apiRule(".es-query", esQueryParams(nil))
	disabled := apiRule(".es-query", esQueryParams(nil))
	disabled["id"], disabled["enabled"] = "rule-2", false
	res := alerts.Convert([]alerts.Input{
		{File: "x.disabled.json", Data: marshalLines(t, enabled)},
		{File: "x.json", Data: marshalLines(t, disabled)},
	}, kindsOptions(t))
	var got []string
	for _, f := range res.Files {
		got = append(got, f.File)
		if f.Disabled != strings.HasSuffix(f.File, ".disabled.yaml") {
			t.Errorf("%s has Disabled %v", f.File, f.Disabled)
		}
	}
	if diff := cmp.Diff([]string{"x_disabled.yaml", "x.disabled.yaml"}, got); diff != "" {
		t.Errorf("rule files (-want +got):\n%s", diff)
	}
}

// TestGroupNamesIgnoreInputOrder converts rules whose ids clean to the same
// text, or to nothing, in two orders: each rule keeps its group name.
func TestGroupNamesIgnoreInputOrder(t *testing.T) {
	var rules []any
	for _, id := range []string{"日本", "中文", "a/b", "a b", "a_b"} {
		r := apiRule(".es-query", esQueryParams(nil))
		r["id"] = id
		rules = append(rules, r)
	}
	groups := func(objects []any) map[string]string {
		res := alerts.Convert([]alerts.Input{{File: "rules.ndjson", Data: marshalLines(t, objects...)}}, kindsOptions(t))
		requireSoundRuleFiles(t, res)
		m := map[string]string{}
		for _, it := range res.Report.Items {
			m[it.ID] = it.Group
		}
		return m
	}
	first := groups(rules)
	reversed := make([]any, len(rules))
	for i, r := range rules {
		reversed[len(rules)-1-i] = r
	}
	if diff := cmp.Diff(first, groups(reversed)); diff != "" {
		t.Errorf("the input order changes group names (-first +reversed):\n%s", diff)
	}
	seen := map[string]string{}
	for id, g := range first {
		if other, dup := seen[g]; dup {
			t.Errorf("%q and %q share the group %q", other, id, g)
		}
		seen[g] = id
	}
	if first["a_b"] != "kibana-a_b" {
		t.Errorf("the safe id a_b has the group %q, want kibana-a_b", first["a_b"])
	}
}
