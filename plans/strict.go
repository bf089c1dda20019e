package plans

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is a problem at one place in a YAML file.
type FieldError struct {
	File   string
	Line   int
	Column int
	// Path is the dotted field path, such as logs[0].labels.
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// decodeStrict decodes node into out, first rejecting any mapping key that
// has no field in out's type. The error names the file, line, column and the
// closest known key.
func decodeStrict(file string, node *yaml.Node, out any, path string) error {
	if err := checkKnownKeys(file, node, reflect.TypeOf(out), path); err != nil {
		return err
	}
	if err := node.Decode(out); err != nil {
		return yamlDecodeError(file, node, path, err)
	}
	return nil
}

// checkKnownKeys walks node alongside t and reports the first unknown key or
// value of the wrong type, with its own line and column.
func checkKnownKeys(file string, node *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	if err := checkKind(file, node, t, path); err != nil {
		return err
	}
	switch t.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, value := node.Content[i], node.Content[i+1]
			ft, ok := fields[key.Value]
			if !ok {
				return unknownKeyError(file, key, path, fields)
			}
			if err := checkKnownKeys(file, value, ft, joinPath(path, key.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range node.Content {
			if err := checkKnownKeys(file, item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			if err := checkKnownKeys(file, node.Content[i+1], t.Elem(), joinPath(path, node.Content[i].Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKind rejects a node whose YAML kind cannot fill t, and decodes
// scalars on their own, so the error points at the value itself.
func checkKind(file string, node *yaml.Node, t reflect.Type, path string) error {
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil
	}
	want := ""
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		if node.Kind != yaml.MappingNode {
			want = "a mapping"
		}
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			want = "a list"
		}
	case reflect.Interface:
	default:
		if node.Kind != yaml.ScalarNode {
			want = "a single value"
		} else if err := node.Decode(reflect.New(t).Interface()); err != nil {
			return yamlDecodeError(file, node, path, err)
		}
	}
	if want != "" {
		return &FieldError{
			File: file, Line: node.Line, Column: node.Column, Path: path,
			Msg: fmt.Sprintf("expected %s, found %s", want, kindName(node)),
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

func unknownKeyError(file string, key *yaml.Node, path string, fields map[string]reflect.Type) error {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	msg := fmt.Sprintf("unknown key %q", key.Value)
	if s := closest(key.Value, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += fmt.Sprintf("; known keys are %s", strings.Join(known, ", "))
	}
	return &FieldError{File: file, Line: key.Line, Column: key.Column, Path: path, Msg: msg}
}

// yamlDecodeError turns a yaml.v3 type error into a FieldError. yaml.v3
// reports lines but not columns, so the column is that of the node decoded.
func yamlDecodeError(file string, node *yaml.Node, path string, err error) error {
	msg := err.Error()
	if te, ok := err.(*yaml.TypeError); ok {
		msg = strings.Join(te.Errors, "; ")
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return &FieldError{File: file, Line: node.Line, Column: node.Column, Path: path, Msg: msg}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// closest returns the known key within edit distance 3 of s, or "".
func closest(s string, known []string) string {
	best, bestDist := "", 4
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
