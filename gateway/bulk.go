package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	gojson "github.com/goccy/go-json"
)

// Bulk action names, as Elasticsearch 8.x spells them.
const (
	opIndex  = "index"
	opCreate = "create"
	opUpdate = "update"
	opDelete = "delete"
)

// bulkAction is one action of a _bulk body: its action line and, for index,
// create and update, the line after it.
type bulkAction struct {
	op    string
	index string
	// id is the _id of the action line, empty when Elasticsearch generates
	// it.
	id string
	// source is the document (index, create) or the update body (update),
	// a slice of the request body.
	source []byte
	// line is the 1-based line number of the action line, for messages.
	line int
}

// carriesDocument reports whether the action stores a whole document, which
// is what can be copied to Loki or to Elasticsearch.
func (a bulkAction) carriesDocument() bool { return a.op == opIndex || a.op == opCreate }

type actionMeta struct {
	Index string `json:"_index"`
	ID    string `json:"_id"`
}

type actionLine struct {
	Index  *actionMeta `json:"index"`
	Create *actionMeta `json:"create"`
	Update *actionMeta `json:"update"`
	Delete *actionMeta `json:"delete"`
}

// errBulkBody is wrapped by every parseBulk error.
var errBulkBody = errors.New("invalid _bulk body")

// parseBulk splits an NDJSON _bulk body into actions, as Elasticsearch 8.x
// reads it: an action line ({"index": {...}}, create, update or delete),
// followed by a document line except for delete. defaultIndex is the index
// of a /{index}/_bulk path, used when an action names none. Blank lines
// between actions are skipped. The returned sources are slices of body.
func parseBulk(body []byte, defaultIndex string) ([]bulkAction, error) {
	actions := make([]bulkAction, 0, bytes.Count(body, []byte{'\n'})/2+1)
	lineNo := 0
	next := func() ([]byte, bool) {
		if len(body) == 0 {
			return nil, false
		}
		lineNo++
		i := bytes.IndexByte(body, '\n')
		var line []byte
		if i < 0 {
			line, body = body, nil
		} else {
			line, body = body[:i], body[i+1:]
		}
		return bytes.TrimRight(line, "\r"), true
	}
	for {
		line, ok := next()
		if !ok {
			return actions, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		prevIndex := ""
		if len(actions) > 0 {
			prevIndex = actions[len(actions)-1].index
		}
		a, ok := scanAction(line, prevIndex)
		if !ok {
			var err error
			if a, err = decodeAction(line); err != nil {
				return nil, fmt.Errorf("%w: line %d %v", errBulkBody, lineNo, err)
			}
		}
		a.line = lineNo
		if a.index == "" {
			a.index = defaultIndex
		}
		if a.op != opDelete {
			src, ok := next()
			if !ok || len(bytes.TrimSpace(src)) == 0 {
				return nil, fmt.Errorf("%w: the %s action on line %d has no document line after it", errBulkBody, a.op, a.line)
			}
			a.source = bytes.TrimSpace(src)
		}
		actions = append(actions, a)
	}
}

// decodeAction reads an action line with a JSON decoder.
func decodeAction(line []byte) (bulkAction, error) {
	var al actionLine
	if err := gojson.Unmarshal(line, &al); err != nil {
		return bulkAction{}, fmt.Errorf("is not an action line: %v", err)
	}
	var a bulkAction
	var meta *actionMeta
	n := 0
	for _, c := range []struct {
		op string
		m  *actionMeta
	}{{opIndex, al.Index}, {opCreate, al.Create}, {opUpdate, al.Update}, {opDelete, al.Delete}} {
		if c.m != nil {
			a.op, meta = c.op, c.m
			n++
		}
	}
	if n != 1 {
		return a, errors.New("must name exactly one of index, create, update and delete")
	}
	a.index, a.id = meta.Index, meta.ID
	return a, nil
}

// scanAction reads the common form of an action line, such as
// {"index":{"_index":"logs","_id":"1"}}, without a decoder: one action
// name and an object of string, number, boolean or null values, with no
// escapes and no nested values. It returns false for anything else, which
// decodeAction then reads or rejects. prevIndex is the index of the
// previous action, whose string is reused when the name repeats.
func scanAction(line []byte, prevIndex string) (bulkAction, bool) {
	var a bulkAction
	sc := actionScanner{line: line}
	if !sc.expect('{') {
		return a, false
	}
	op, ok := sc.str()
	if !ok || !sc.expect(':') || !sc.expect('{') {
		return a, false
	}
	switch string(op) {
	case opIndex:
		a.op = opIndex
	case opCreate:
		a.op = opCreate
	case opUpdate:
		a.op = opUpdate
	case opDelete:
		a.op = opDelete
	default:
		return a, false
	}
	if !sc.expect('}') {
		for {
			key, ok := sc.str()
			if !ok || !sc.expect(':') {
				return a, false
			}
			switch string(key) {
			case "_index":
				v, ok := sc.str()
				if !ok {
					return a, false
				}
				if string(v) == prevIndex {
					a.index = prevIndex
				} else {
					a.index = string(v)
				}
			case "_id":
				v, ok := sc.str()
				if !ok {
					return a, false
				}
				a.id = string(v)
			default:
				if !sc.scalar() {
					return a, false
				}
			}
			if sc.expect('}') {
				break
			}
			if !sc.expect(',') {
				return a, false
			}
		}
	}
	if !sc.expect('}') {
		return a, false
	}
	sc.ws()
	return a, sc.i == len(sc.line)
}

// actionScanner is scanAction's position in a line.
type actionScanner struct {
	line []byte
	i    int
}

func (s *actionScanner) ws() {
	for s.i < len(s.line) && (s.line[s.i] == ' ' || s.line[s.i] == '\t') {
		s.i++
	}
}

func (s *actionScanner) expect(c byte) bool {
	s.ws()
	if s.i < len(s.line) && s.line[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (s *actionScanner) str() ([]byte, bool) {
	s.ws()
	if s.i >= len(s.line) || s.line[s.i] != '"' {
		return nil, false
	}
	for j := s.i + 1; j < len(s.line); j++ {
		switch c := s.line[j]; {
		case c == '"':
			v := s.line[s.i+1 : j]
			s.i = j + 1
			return v, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// scalar reads a string, number, true, false or null.
func (s *actionScanner) scalar() bool {
	s.ws()
	if s.i < len(s.line) && s.line[s.i] == '"' {
		_, ok := s.str()
		return ok
	}
	start := s.i
	for s.i < len(s.line) && s.line[s.i] != ',' && s.line[s.i] != '}' && s.line[s.i] != ' ' && s.line[s.i] != '\t' {
		s.i++
	}
	v := s.line[start:s.i]
	switch string(v) {
	case "true", "false", "null":
		return true
	}
	return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) && json.Valid(v)
}
