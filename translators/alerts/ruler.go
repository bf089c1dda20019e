package alerts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RuleFile is a Loki ruler rule file: the YAML that the ruler loads from its
// rules folder, and that its API takes one group at a time.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is a set of rules that the ruler evaluates together at one
// interval.
type RuleGroup struct {
	Name string `yaml:"name"`
	// Interval is how often the group is evaluated, as a Prometheus
	// duration; empty means the ruler's evaluation_interval.
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is one alerting rule.
type Rule struct {
	Alert string `yaml:"alert"`
	// Expr is a LogQL metric query whose result series are the firing
	// alerts.
	Expr string `yaml:"expr"`
	// For is how long the condition must hold before the alert fires.
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// forImmediately makes an alert fire on the first evaluation that breaches
// the threshold, as Kibana rules and watches do.
const forImmediately = "0m"

// forComment explains for: 0m in every rule file.
const forComment = "fires on the first breach, as the Kibana rule or watch did"

// encodeRuleFile writes a rule file as YAML: groups sorted by name, each
// for: annotated, with a header and a footer that lists the rules of the
// input that were not converted.
func encodeRuleFile(f RuleFile, header, footer []string) ([]byte, error) {
	sort.SliceStable(f.Groups, func(i, j int) bool { return f.Groups[i].Name < f.Groups[j].Name })
	var doc yaml.Node
	if err := doc.Encode(f); err != nil {
		return nil, fmt.Errorf("encoding the rule file: %w", err)
	}
	commentFor(&doc)
	doc.HeadComment = commentLines(header)
	doc.FootComment = commentLines(footer)

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encoding the rule file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the rule file: %w", err)
	}
	return b.Bytes(), nil
}

// commentFor adds forComment after every for: value.
func commentFor(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "for" && n.Content[i+1].Kind == yaml.ScalarNode {
				n.Content[i+1].LineComment = "# " + forComment
			}
		}
	}
	for _, c := range n.Content {
		commentFor(c)
	}
}

// commentLines turns text lines into YAML comment lines. The encoder starts
// a new comment line after any other line break (CR, NEL, LS, PS) in the
// text, so a rule name from the source cannot end a comment early.
func commentLines(lines []string) string {
	var out []string
	for _, l := range lines {
		for _, part := range strings.Split(l, "\n") {
			out = append(out, strings.TrimRight("# "+part, " "))
		}
	}
	return strings.Join(out, "\n")
}

// DecodeRuleFile reads a rule file, rejecting keys the ruler does not know.
func DecodeRuleFile(data []byte) (RuleFile, error) {
	var f RuleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return RuleFile{}, fmt.Errorf("decoding the rule file: %w", err)
	}
	return f, nil
}

// groupName names the rule group of a source rule by its source and id,
// which stay when the rule is renamed, so a second run replaces the group
// in Loki instead of adding one. When the id has characters that are not
// safe in a name, or is too long, the name also carries a short hash of the
// whole id. Two ids that clean to the same text then keep names of their
// own, whatever the order of the inputs.
func groupName(source, id string) string {
	clean := cleanName(id)
	switch {
	case clean == id:
		return source + "-" + id
	case clean == "":
		return source + "-" + shortHash(id)
	}
	return source + "-" + clean + "-" + shortHash(id)
}

// shortHash is the first 8 hex digits of the SHA-256 of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// maxNameLength bounds the part of a name taken from source text.
const maxNameLength = 100

// cleanName keeps letters, digits, dots, dashes and underscores, so a name
// is safe in a file name and in the ruler API's URL path. It returns "" when
// nothing is left.
func cleanName(s string) string {
	s = strings.Trim(unsafeNameChars.ReplaceAllString(s, "_"), "_")
	if len(s) > maxNameLength {
		s = s[:maxNameLength]
	}
	return s
}

// slug is cleanName, or "unnamed" when nothing is left.
func slug(s string) string {
	if s = cleanName(s); s == "" {
		return "unnamed"
	}
	return s
}
