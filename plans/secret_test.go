package plans

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// secretValue is distinctive, so a test can tell it never leaked.
const secretValue = "s3cr3t-Zq9-never-print"

func TestSecretResolveEnv(t *testing.T) {
	t.Setenv("PLANS_TEST_TOKEN", secretValue)
	got, err := NewSecret("env:PLANS_TEST_TOKEN").Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if got != secretValue {
		t.Errorf("Resolve = %q, want the variable's value", got)
	}
}

func TestSecretResolveFileRelativeToPlan(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "secrets", "grafana"), secretValue+"\n")
	planFile := filepath.Join(dir, "plan.yaml")
	writeFile(t, planFile, minimalPlan+
		"targets:\n  grafana: {url: http://grafana:3000, token: file:secrets/grafana}\n")

	// Resolve from another working directory, so only the plan's folder
	// can anchor the relative path.
	t.Chdir(t.TempDir())
	p, err := Load(planFile)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Targets.Grafana.Token.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if got != secretValue {
		t.Errorf("Resolve = %q, want the file's contents without the newline", got)
	}
}

func TestSecretResolveFileTrimsLineBreaks(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	writeFile(t, file, " a b \r\n\n")
	got, err := NewSecret("file:" + file).Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if got != " a b " {
		t.Errorf("Resolve = %q, want %q", got, " a b ")
	}
}

func TestSecretResolveErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty"), "\n")
	t.Setenv("PLANS_TEST_EMPTY", "")
	cases := []struct {
		ref  string
		want string
	}{
		{"env:PLANS_TEST_UNSET_VARIABLE", "resolving secret env:PLANS_TEST_UNSET_VARIABLE: " +
			"environment variable PLANS_TEST_UNSET_VARIABLE is not set"},
		{"env:PLANS_TEST_EMPTY", "environment variable PLANS_TEST_EMPTY is empty"},
		{"file:" + filepath.Join(dir, "missing"), "resolving secret file:" + filepath.Join(dir, "missing")},
		{"file:" + filepath.Join(dir, "empty"), "is empty"},
		{secretValue, "literal secret: write env:NAME or file:PATH"},
	}
	for _, tc := range cases {
		_, err := NewSecret(tc.ref).Resolve()
		if err == nil {
			t.Errorf("Resolve(%q) succeeded", tc.ref)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(%q) error %q, want it to contain %q", tc.ref, err, tc.want)
		}
		if strings.Contains(err.Error(), secretValue) {
			t.Errorf("Resolve(%q) error %q contains the secret", tc.ref, err)
		}
	}
	if _, err := NewSecret(secretValue).Resolve(); !errors.Is(err, ErrLiteralSecret) {
		t.Errorf("literal secret error %v, want ErrLiteralSecret", err)
	}
}

func TestSecretUnsetResolvesEmpty(t *testing.T) {
	var s Secret
	got, err := s.Resolve()
	if err != nil || got != "" {
		t.Errorf("Resolve on an unset secret = %q, %v; want \"\", nil", got, err)
	}
	if !s.IsZero() {
		t.Error("IsZero is false on an unset secret")
	}
}

func TestSecretPrintsOnlyReference(t *testing.T) {
	t.Setenv("PLANS_TEST_TOKEN", secretValue)
	s := NewSecret("env:PLANS_TEST_TOKEN")
	if _, err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	es := ElasticsearchSource{URL: "https://es:9200", Password: s}

	printed := fmt.Sprintf("%v %+v %#v %s %q %x %d", s, s, s, s, s, s, s) +
		fmt.Sprintf("%v %+v %#v", es, es, es)
	jsonOut, err := json.Marshal(es)
	if err != nil {
		t.Fatal(err)
	}
	yamlOut, err := yaml.Marshal(es)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"fmt": printed, "json": string(jsonOut), "yaml": string(yamlOut),
	} {
		if strings.Contains(out, secretValue) {
			t.Errorf("%s output contains the secret: %s", name, out)
		}
		if !strings.Contains(out, "env:PLANS_TEST_TOKEN") {
			t.Errorf("%s output lacks the reference: %s", name, out)
		}
	}
	if got := fmt.Sprintf("%#v", s); got != `plans.NewSecret("env:PLANS_TEST_TOKEN")` {
		t.Errorf("%%#v = %s", got)
	}
	if !strings.Contains(string(jsonOut), `"password":"env:PLANS_TEST_TOKEN"`) {
		t.Errorf("json.Marshal = %s", jsonOut)
	}
}

func TestSecretLiteralIsRedacted(t *testing.T) {
	s := NewSecret(secretValue)
	jsonOut, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	printed := fmt.Sprintf("%v %+v %#v %s %q %x %d %v", s, s, s, s, s, s, s, &s) + string(jsonOut)
	if strings.Contains(printed, secretValue) {
		t.Errorf("a literal secret leaked: %s", printed)
	}
}

func TestSecretValidationNeverResolves(t *testing.T) {
	// The variable is unset and the file is missing: Validate must accept
	// both references, because it only checks their form.
	plan := minimalPlan + "targets:\n" +
		"  loki: {url: http://loki:3100, token: env:PLANS_TEST_NEVER_SET}\n" +
		"  grafana: {url: http://grafana:3000, token: file:no/such/file}\n"
	if _, err := Parse("m.yaml", []byte(plan)); err != nil {
		t.Fatal(err)
	}
}

func TestSecretLiteralErrorHidesValue(t *testing.T) {
	plan := "apiVersion: migrate/v1alpha1\nkind: MigrationPlan\nmetadata: {name: prod}\n" +
		"sources:\n  elasticsearch: {url: https://es:9200, password: " + secretValue + "}\n"
	_, err := Parse("m.yaml", []byte(plan))
	if err == nil {
		t.Fatal("a literal secret was accepted")
	}
	if strings.Contains(err.Error(), secretValue) {
		t.Errorf("error %q contains the secret", err)
	}
}

func writeFile(t *testing.T, path, contents string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
		t.Fatal(err)
	}
}
