package plans

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes and validates the plan in file. See Parse.
func Load(file string) (*Plan, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	return Parse(file, data)
}

// Parse decodes a plan on top of Default and validates it. The file name
// appears in errors and anchors relative paths. Keys left out keep their
// defaults, nested ones included, and so do keys written with no value.
//
// Structural problems (unknown or duplicate keys, values of the wrong kind,
// bad durations) stop decoding and are returned first. Otherwise every
// problem Validate finds is returned. Either way the error joins
// *FieldError values that carry the file, line, column and field path.
func Parse(file string, data []byte) (*Plan, error) {
	root, err := parseRoot(file, data)
	if err != nil {
		return nil, err
	}
	w := newWalker(file, true)
	w.record("", root)
	w.walk(root, reflect.TypeFor[Plan](), "")
	if err := w.err(); err != nil {
		return nil, err
	}

	p := Default()
	if err := root.Decode(&p); err != nil {
		return nil, yamlDecodeError(file, root, "", err)
	}
	p.File = file
	p.positions = w.positions
	p.fillEntryDefaults()
	p.anchorSecrets(filepath.Dir(file))

	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// parseRoot parses data and returns its top-level mapping.
func parseRoot(file string, data []byte) (*yaml.Node, error) {
	// The YAML parser also reads UTF-16, but then its lines and columns do
	// not match the file's bytes, so plans must be UTF-8.
	if line, ok := firstInvalidUTF8(data); !ok {
		return nil, &FieldError{File: file, Line: line, Msg: "invalid UTF-8: save the plan as UTF-8"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(file, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, &FieldError{File: file, Msg: "empty plan: start with apiVersion: " + APIVersion}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FieldError{
			File: file, Line: root.Line, Column: root.Column,
			Msg: "expected a mapping with apiVersion, kind and metadata, found " + kindName(root),
		}
	}
	return root, nil
}

// firstInvalidUTF8 returns the line of the first byte that is not UTF-8,
// and false, or 0 and true when all of data is UTF-8.
func firstInvalidUTF8(data []byte) (int, bool) {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return bytes.Count(data[:i], []byte("\n")) + 1, false
		}
		i += size
	}
	return 0, true
}

// Path resolves a path written in the plan against the plan's folder.
// Absolute and empty paths are returned unchanged, and so is every path of a
// plan that was not read from a file.
func (p *Plan) Path(rel string) string {
	if rel == "" || filepath.IsAbs(rel) || p.File == "" {
		return rel
	}
	return filepath.Join(filepath.Dir(p.File), rel)
}

// written reports whether the field path was written in the plan file.
func (p *Plan) written(path string) bool {
	_, ok := p.positions[path]
	return ok
}

// positionOf returns where path was written or, for a field left out, where
// its closest written parent was.
func (p *Plan) positionOf(path string) position {
	for {
		if pos, ok := p.positions[path]; ok {
			return pos
		}
		if path == "" {
			return position{}
		}
		path = parentPath(path)
	}
}

// parentPath drops the last key or index of a field path: logs[0].labels
// becomes logs[0], and logs[0] becomes logs.
func parentPath(path string) string {
	i := max(strings.LastIndex(path, "."), strings.LastIndex(path, "["))
	if i < 0 {
		return ""
	}
	return path[:i]
}

// anchorSecrets makes relative file: secrets resolve against dir.
func (p *Plan) anchorSecrets(dir string) {
	p.eachSecret(func(_ string, s *Secret) { s.dir = dir })
}

// eachSecret calls fn with the field path and address of every Secret in the
// plan.
func (p *Plan) eachSecret(fn func(path string, s *Secret)) {
	walkSecrets(reflect.ValueOf(p).Elem(), "", fn)
}

var secretType = reflect.TypeFor[Secret]()

func walkSecrets(v reflect.Value, path string, fn func(string, *Secret)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkSecrets(v.Elem(), path, fn)
		}
	case reflect.Struct:
		if v.Type() == secretType {
			fn(path, v.Addr().Interface().(*Secret))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			walkSecrets(v.Field(i), joinPath(path, name), fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}
