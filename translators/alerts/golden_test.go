package alerts_test

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/translators/alerts"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden converts every input with and without the test mapping and
// compares the rule files and both reports with testdata/golden. Every
// expression must pass the LogQL grammar, and every label and annotation
// value must parse as a Prometheus template.
func TestGolden(t *testing.T) {
	variants := []struct {
		name string
		opts func(t *testing.T) alerts.Options
	}{
		{"mapped", func(t *testing.T) alerts.Options { return alerts.Options{Mappings: testMappings(t)} }},
		{"unmapped", func(*testing.T) alerts.Options { return alerts.Options{} }},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			res := alerts.Convert(readInputs(t, inputsDir), v.opts(t))
			requireValidExprs(t, res)
			requireSoundRuleFiles(t, res)

			got := map[string][]byte{}
			for _, out := range res.Files {
				got[out.File] = out.YAML
			}
			var err error
			if got["report.json"], err = res.Report.JSON(); err != nil {
				t.Fatal(err)
			}
			got["report.md"] = res.Report.Markdown()
			compareGolden(t, filepath.Join("testdata", "golden", v.name), got)
		})
	}
}

// compareGolden compares files with a golden folder, or rewrites the folder
// with -update.
func compareGolden(t *testing.T, dir string, got map[string][]byte) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range got {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading golden files: %v (run go test ./translators/alerts -update to create them)", err)
	}
	var want []string
	for _, e := range entries {
		want = append(want, e.Name())
	}
	var have []string
	for name := range got {
		have = append(have, name)
	}
	sort.Strings(have)
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("files differ from %s (-golden +got); run go test ./translators/alerts -update and review the diff\n%s", dir, diff)
	}
	for _, name := range have {
		golden, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if diff := cmp.Diff(string(golden), string(got[name])); diff != "" {
			t.Errorf("%s differs from its golden file (-golden +got); run go test ./translators/alerts -update and review the diff\n%s", name, diff)
		}
	}
}

// TestGoldenRoundTrip checks that every rule file decodes into the ruler
// structure and encodes back to the same rules.
func TestGoldenRoundTrip(t *testing.T) {
	res := alerts.Convert(readInputs(t, inputsDir), alerts.Options{Mappings: testMappings(t)})
	if len(res.Files) == 0 {
		t.Fatal("no rule file written")
	}
	for _, out := range res.Files {
		f, err := alerts.DecodeRuleFile(out.YAML)
		if err != nil {
			t.Fatalf("%s: %v", out.File, err)
		}
		if len(f.Groups) != out.Rules {
			t.Errorf("%s has %d groups, Output.Rules says %d", out.File, len(f.Groups), out.Rules)
		}
		for _, g := range f.Groups {
			if g.Name == "" || g.Interval == "" || len(g.Rules) != 1 {
				t.Errorf("%s: group %+v: want a name, an interval and one rule", out.File, g)
			}
			for _, r := range g.Rules {
				if r.Alert == "" || r.Expr == "" || r.For != "0m" {
					t.Errorf("%s: rule %q: alert, expr and for: 0m are required, got for %q", out.File, r.Alert, r.For)
				}
				for _, k := range []string{"severity", "source", "migrate_rule_id"} {
					if r.Labels[k] == "" {
						t.Errorf("%s: rule %q has no %s label", out.File, r.Alert, k)
					}
				}
				for _, k := range []string{"summary", "description", "fidelity"} {
					if r.Annotations[k] == "" {
						t.Errorf("%s: rule %q has no %s annotation", out.File, r.Alert, k)
					}
				}
			}
		}
	}
}

// TestDeterministic converts the batch twice, once with the inputs in
// reverse order, and expects the same rule files.
func TestDeterministic(t *testing.T) {
	inputs := readInputs(t, inputsDir)
	first := alerts.Convert(inputs, alerts.Options{Mappings: testMappings(t)})
	second := alerts.Convert(inputs, alerts.Options{Mappings: testMappings(t)})
	if diff := cmp.Diff(first.Files, second.Files); diff != "" {
		t.Fatalf("two runs differ:\n%s", diff)
	}
	reversed := make([]alerts.Input, len(inputs))
	for i, in := range inputs {
		reversed[len(inputs)-1-i] = in
	}
	third := alerts.Convert(reversed, alerts.Options{Mappings: testMappings(t)})
	files := func(r *alerts.Result) map[string]string {
		m := map[string]string{}
		for _, f := range r.Files {
			m[f.File] = string(f.YAML)
		}
		return m
	}
	if diff := cmp.Diff(files(first), files(third)); diff != "" {
		t.Fatalf("the input order changes the rule files:\n%s", diff)
	}
}
