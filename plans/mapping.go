package plans

import (
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// ErrNoLogs is returned when a mapping file has no logs section.
var ErrNoLogs = errors.New("no logs section")

// LoadLogMappings reads the logs section from a file that holds a whole plan
// or only a top-level logs list. Unknown keys inside logs are errors with
// their line and column; other top-level sections are left to the plan
// loader.
func LoadLogMappings(file string) ([]LogMapping, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading mapping file: %w", err)
	}
	return ParseLogMappings(file, data)
}

// ParseLogMappings is LoadLogMappings on bytes already read; file names the
// source in errors.
func ParseLogMappings(file string, data []byte) ([]LogMapping, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &FieldError{File: file, Msg: "invalid YAML: " + err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &FieldError{File: file, Msg: "expected a YAML mapping with a top-level logs list"}
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "logs" {
			continue
		}
		var mappings []LogMapping
		if err := decodeStrict(file, top.Content[i+1], &mappings, "logs"); err != nil {
			return nil, err
		}
		for j := range mappings {
			mappings[j] = mappings[j].WithDefaults()
		}
		if err := validateLogMappings(file, mappings); err != nil {
			return nil, err
		}
		return mappings, nil
	}
	return nil, fmt.Errorf("%s: %w: add a top-level logs list (see docs/mapping.md)", file, ErrNoLogs)
}

// validateLogMappings checks what the translators depend on. The plan
// validator checks the rest.
func validateLogMappings(file string, mappings []LogMapping) error {
	var errs []error
	for i, m := range mappings {
		path := fmt.Sprintf("logs[%d]", i)
		switch m.Parser {
		case ParserJSON, ParserLogfmt, ParserNone:
		default:
			errs = append(errs, &FieldError{
				File: file, Path: path + ".parser",
				Msg: fmt.Sprintf("invalid parser %q: use json, logfmt or none", m.Parser),
			})
		}
		if m.Indices == "" {
			errs = append(errs, &FieldError{
				File: file, Path: path + ".indices",
				Msg: "missing index pattern: set indices, for example \"filebeat-*\"",
			})
		}
	}
	return errors.Join(errs...)
}
