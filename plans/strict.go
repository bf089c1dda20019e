package plans

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
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
	switch {
	case e.Line > 0 && e.Column > 0:
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	case e.Line > 0:
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	parts := make([]string, 0, 3)
	for _, s := range []string{loc, e.Path, e.Msg} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
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

// checkKnownKeys walks node alongside t and reports every unknown key,
// duplicate key and value of the wrong type, each with its own line and
// column.
func checkKnownKeys(file string, node *yaml.Node, t reflect.Type, path string) error {
	w := newWalker(file, false)
	w.walk(node, t, path)
	return w.err()
}

// checkKind rejects a node whose YAML kind cannot fill t, and decodes
// scalars on their own, so the error points at the value itself.
func checkKind(file string, node *yaml.Node, t reflect.Type, path string) error {
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil
	}
	if decodesItself(t) {
		return checkSelfDecoding(file, node, t, path)
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
			return scalarError(file, node, t, path, err)
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

// position is a line and column in a YAML file, both starting at 1.
type position struct {
	line, column int
}

// walker checks a YAML tree against a Go type before it is decoded. It
// gathers every structural problem, drops keys whose value is null so that
// decoding keeps the value already in place, and can record the position of
// each field path.
type walker struct {
	file string
	// positions maps field paths to where they were written: the value of
	// a struct field or list item, the key of a map entry. It is nil when
	// positions are not recorded.
	positions map[string]position
	// visited holds the alias targets already checked for a type, so that a
	// document reusing anchors many times is still walked in linear time.
	visited map[visit]bool
	errs    []error
}

type visit struct {
	node *yaml.Node
	t    reflect.Type
}

func newWalker(file string, recordPositions bool) *walker {
	w := &walker{file: file, visited: make(map[visit]bool)}
	if recordPositions {
		w.positions = make(map[string]position)
	}
	return w
}

func (w *walker) err() error {
	if len(w.errs) == 1 {
		return w.errs[0]
	}
	return errors.Join(w.errs...)
}

func (w *walker) fail(node *yaml.Node, path, msg string) {
	w.errs = append(w.errs, &FieldError{
		File: w.file, Line: node.Line, Column: node.Column, Path: path, Msg: msg,
	})
}

func (w *walker) record(path string, node *yaml.Node) {
	if w.positions != nil {
		w.positions[path] = position{line: node.Line, column: node.Column}
	}
}

func (w *walker) walk(node *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if node.Kind == yaml.AliasNode {
		if node.Alias == nil || w.visited[visit{node.Alias, t}] {
			return
		}
		w.visited[visit{node.Alias, t}] = true
		node = node.Alias
	}
	if err := checkKind(w.file, node, t, path); err != nil {
		w.errs = append(w.errs, err)
		return
	}
	if decodesItself(t) {
		return
	}
	switch {
	case t.Kind() == reflect.Struct && node.Kind == yaml.MappingNode:
		w.walkStruct(node, t, path)
	case t.Kind() == reflect.Map && node.Kind == yaml.MappingNode:
		w.walkMap(node, t, path)
	case t.Kind() == reflect.Slice && node.Kind == yaml.SequenceNode:
		for i, item := range node.Content {
			itemPath := fmt.Sprintf("%s[%d]", path, i)
			w.record(itemPath, item)
			w.walk(item, t.Elem(), itemPath)
		}
	}
}

// walkStruct checks the keys of a mapping decoded into a struct. Merge keys
// (<<) are checked first, so that the positions of keys written in place
// win over merged ones.
func (w *walker) walkStruct(node *yaml.Node, t reflect.Type, path string) {
	w.walkMerges(node, t, path)
	fields := yamlFields(t)
	seen := make(map[string]*yaml.Node)
	content := make([]*yaml.Node, 0, len(node.Content))
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		if isMergeKey(key) {
			content = append(content, key, value)
			continue
		}
		if !w.firstKey(seen, key, path) {
			continue
		}
		ft, ok := fields[key.Value]
		if !ok {
			w.errs = append(w.errs, unknownKeyError(w.file, key, path, fields))
			continue
		}
		if isNull(value) {
			// A key with no value keeps the default.
			continue
		}
		child := joinPath(path, key.Value)
		w.record(child, value)
		w.walk(value, ft, child)
		content = append(content, key, value)
	}
	node.Content = content
}

func (w *walker) walkMap(node *yaml.Node, t reflect.Type, path string) {
	w.walkMerges(node, t, path)
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		if isMergeKey(key) {
			continue
		}
		if key.Kind != yaml.ScalarNode {
			w.fail(key, path, fmt.Sprintf("expected a name as key, found %s", kindName(key)))
			continue
		}
		if !w.firstKey(seen, key, path) {
			continue
		}
		// An entry's key names it, as a label name does, so errors about
		// the entry point there.
		child := joinPath(path, key.Value)
		w.record(child, key)
		w.walk(value, t.Elem(), child)
	}
}

// walkMerges checks the mappings merged in with <<, which YAML allows as one
// mapping or a list of them.
func (w *walker) walkMerges(node *yaml.Node, t reflect.Type, path string) {
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		if !isMergeKey(key) {
			continue
		}
		sources := []*yaml.Node{value}
		if value.Kind == yaml.SequenceNode {
			sources = value.Content
		}
		for _, src := range sources {
			target := src
			if target.Kind == yaml.AliasNode && target.Alias != nil {
				target = target.Alias
			}
			if target.Kind != yaml.MappingNode {
				w.fail(src, path, "invalid merge: << takes a mapping or a list of mappings")
				continue
			}
			w.walk(src, t, path)
		}
	}
}

// firstKey reports whether key is new in its mapping, and records an error
// when it repeats an earlier one.
func (w *walker) firstKey(seen map[string]*yaml.Node, key *yaml.Node, path string) bool {
	if first, dup := seen[key.Value]; dup {
		w.fail(key, path, fmt.Sprintf("duplicate key %q, first written on line %d: keep one",
			key.Value, first.Line))
		return false
	}
	seen[key.Value] = key
	return true
}

func isMergeKey(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && n.ShortTag() == "!!merge"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// decodesItself reports whether t decodes its own YAML, as Duration and
// Secret do from a single string.
func decodesItself(t reflect.Type) bool {
	return t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(unmarshalerType)
}

func checkSelfDecoding(file string, node *yaml.Node, t reflect.Type, path string) error {
	if node.Kind != yaml.ScalarNode {
		return &FieldError{
			File: file, Line: node.Line, Column: node.Column, Path: path,
			Msg: "expected a single value, found " + kindName(node),
		}
	}
	if err := node.Decode(reflect.New(t).Interface()); err != nil {
		return yamlDecodeError(file, node, path, err)
	}
	return nil
}

// scalarError words a failed scalar decode by the kind of value expected.
func scalarError(file string, node *yaml.Node, t reflect.Type, path string, err error) error {
	want := ""
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a whole number"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Bool:
		want = "true or false"
	default:
		return yamlDecodeError(file, node, path, err)
	}
	return &FieldError{
		File: file, Line: node.Line, Column: node.Column, Path: path,
		Msg: fmt.Sprintf("expected %s, found %s", want, kindName(node)),
	}
}

var syntaxErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parse error into a FieldError. The parser gives a
// line for most errors but never a column, and the line is kept within the
// file.
func syntaxError(file string, data []byte, err error) *FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	fe := &FieldError{File: file, Msg: "invalid YAML: " + msg}
	m := syntaxErrorLine.FindStringSubmatch(err.Error())
	if m == nil {
		return fe
	}
	line, convErr := strconv.Atoi(m[1])
	if convErr != nil {
		return fe
	}
	fe.Line = min(max(line, 1), bytes.Count(data, []byte("\n"))+1)
	fe.Msg = "invalid YAML: " + m[2]
	return fe
}
