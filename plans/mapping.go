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
		return nil, syntaxError(file, data, err)
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

// validateLogMappings runs the plan's checks of the logs section: label
// names, the label limit, fields mapped twice, parser and line.
func validateLogMappings(file string, mappings []LogMapping) error {
	v := &validator{p: &Plan{File: file, Logs: mappings}}
	v.logs()
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// TranslateSettings is what the translate commands take from a --mapping
// file.
type TranslateSettings struct {
	Logs []LogMapping
	// LokiUID and TempoUID are targets.grafana.loki_uid and tempo_uid of a
	// whole plan, or "".
	LokiUID  string
	TempoUID string
}

// LoadTranslateSettings reads a --mapping file. A whole plan (one with an
// apiVersion) is loaded and validated as a plan, and also gives the data
// source uids; a file with only a logs list gives the mapping alone.
func LoadTranslateSettings(file string) (TranslateSettings, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return TranslateSettings{}, fmt.Errorf("reading mapping file: %w", err)
	}
	var probe struct {
		APIVersion string `yaml:"apiVersion"`
	}
	if yaml.Unmarshal(data, &probe) == nil && probe.APIVersion != "" {
		p, err := Parse(file, data)
		if err != nil {
			return TranslateSettings{}, err
		}
		if len(p.Logs) == 0 {
			return TranslateSettings{}, fmt.Errorf("%s: %w: add a top-level logs list (see docs/mapping.md)", file, ErrNoLogs)
		}
		s := TranslateSettings{Logs: p.Logs}
		if g := p.Targets.Grafana; g != nil {
			s.LokiUID, s.TempoUID = g.LokiUID, g.TempoUID
		}
		return s, nil
	}
	logs, err := ParseLogMappings(file, data)
	return TranslateSettings{Logs: logs}, err
}
