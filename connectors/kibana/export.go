package kibana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/internal/files"
)

// DefaultTypes are the saved object types Export requests when
// ExportRequest.Types and Objects are empty: data views (index-pattern),
// saved searches, legacy visualizations, Lens visualizations, maps,
// dashboards and tags. The default distributions of Kibana 7.17 and 8.x
// register all of them as exportable. Kibana rejects the whole request with
// 400 when one type is not registered, which happens for lens, map and tag
// on the 7.x OSS distribution: list the types explicitly there.
var DefaultTypes = []string{"index-pattern", "search", "visualization", "lens", "map", "dashboard", "tag"}

// ObjectRef names one saved object.
type ObjectRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// ExportRequest selects what Export returns.
type ExportRequest struct {
	// Types are the saved object types to export; empty means
	// DefaultTypes. Ignored when Objects is set, because Kibana rejects a
	// request with both.
	Types []string
	// Objects, when set, exports these objects instead of whole types.
	Objects []ObjectRef
	// IncludeReferencesDeep also exports every object the selected ones
	// reference, transitively: the data views of searches and so on.
	IncludeReferencesDeep bool
	// ExcludeExportDetails drops the summary line at the end.
	ExcludeExportDetails bool
}

type exportBody struct {
	Type                  []string    `json:"type,omitempty"`
	Objects               []ObjectRef `json:"objects,omitempty"`
	IncludeReferencesDeep bool        `json:"includeReferencesDeep"`
	ExcludeExportDetails  bool        `json:"excludeExportDetails"`
}

// Export is a parsed saved objects export.
type Export struct {
	// Objects are the saved objects, one per NDJSON line, in file order,
	// as the exact bytes of each line without its line break.
	Objects []json.RawMessage
	// HasSummary reports whether the export ended with a summary line.
	HasSummary bool
	// Summary is the summary line, zero when HasSummary is false.
	Summary ExportSummary
	// Raw is the whole export as received or read.
	Raw []byte
}

// ExportSummary is the export details line Kibana appends unless
// excludeExportDetails is set. Kibana 7.14 and later add the excluded
// objects; older exports leave those fields zero.
type ExportSummary struct {
	ExportedCount        int              `json:"exportedCount"`
	MissingRefCount      int              `json:"missingRefCount"`
	MissingReferences    []ObjectRef      `json:"missingReferences"`
	ExcludedObjectsCount int              `json:"excludedObjectsCount"`
	ExcludedObjects      []ExcludedObject `json:"excludedObjects"`
}

// ExcludedObject is an object Kibana left out of an export.
type ExcludedObject struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Export runs POST /api/saved_objects/_export (under /s/SPACE outside the
// default space) and parses the NDJSON response. It fails when the summary's
// exportedCount differs from the objects received, because Kibana 7.x and
// 8.x count exactly the object lines they write, so a difference means the
// response was cut or altered on the way.
func (c *Client) Export(ctx context.Context, req ExportRequest) (*Export, error) {
	body := exportBody{
		Objects:               req.Objects,
		IncludeReferencesDeep: req.IncludeReferencesDeep,
		ExcludeExportDetails:  req.ExcludeExportDetails,
	}
	if len(req.Objects) == 0 {
		body.Type = req.Types
		if len(body.Type) == 0 {
			body.Type = DefaultTypes
		}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("kibana: encoding the export request: %w", err)
	}
	path := c.spacePath("/api/saved_objects/_export")
	resp, err := c.http.Do(ctx, httpx.Request{
		Method: http.MethodPost,
		Path:   path,
		Header: http.Header{
			"Kbn-Xsrf":     {"true"},
			"Content-Type": {"application/json"},
			"Accept":       {"application/x-ndjson, application/ndjson, application/json"},
		},
		Body: payload,
	})
	if err != nil {
		return nil, c.apiError(err)
	}
	exp, err := ParseExport(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("kibana: POST %s returned an invalid export: %w", path, err)
	}
	if exp.HasSummary && exp.Summary.ExportedCount != len(exp.Objects) {
		return nil, fmt.Errorf("kibana: POST %s returned %d objects but its summary line counts %d: the response is incomplete; retry, and check proxies between here and Kibana", path, len(exp.Objects), exp.Summary.ExportedCount)
	}
	return exp, nil
}

// WriteExport runs Export and writes the NDJSON exactly as received to
// path, through a temporary file and a rename so a failed run leaves no
// partial file.
func (c *Client) WriteExport(ctx context.Context, req ExportRequest, path string) (*Export, error) {
	exp, err := c.Export(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := files.WriteAtomic(path, exp.Raw); err != nil {
		return nil, fmt.Errorf("kibana: saving the export: %w", err)
	}
	return exp, nil
}

// ParseExport parses an NDJSON saved objects export, from Kibana or from a
// file. Blank lines, a leading UTF-8 byte order mark and CRLF line ends are
// accepted. Every other line must be a JSON object: either a saved object
// with a string type and id, or the export details line, which must come
// last and is not counted as an object. Errors name the 1-based line.
func ParseExport(ndjson []byte) (*Export, error) {
	exp := &Export{Raw: ndjson}
	data := bytes.TrimPrefix(ndjson, []byte("\xef\xbb\xbf"))
	summaryLine := 0
	for n, start := 1, 0; start < len(data); n++ {
		end := bytes.IndexByte(data[start:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		line := bytes.TrimSpace(data[start:end])
		start = end + 1
		if len(line) == 0 {
			continue
		}
		if summaryLine > 0 {
			return nil, fmt.Errorf("line %d: a line follows the export details line %d, which must be last; split concatenated exports into separate files", n, summaryLine)
		}
		isSummary, err := parseLine(line, exp)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if isSummary {
			summaryLine = n
		}
	}
	return exp, nil
}

// parseLine adds one non-blank line to exp and reports whether it was the
// export details line.
func parseLine(line []byte, exp *Export) (bool, error) {
	switch line[0] {
	case '{':
	case '[':
		return false, errors.New("a JSON array, not an object: this looks like a Kibana 5 or 6 export, which the saved objects API does not read; export again from Kibana 7 or later")
	default:
		return false, errors.New("not a JSON object: each line of an export is one saved object")
	}
	if !json.Valid(line) {
		// Unmarshal again only to get the offset and reason of the error.
		var v any
		err := json.Unmarshal(line, &v)
		return false, fmt.Errorf("invalid JSON (an export has one whole object per line): %w", err)
	}

	// Member names are matched exactly, as Kibana's JSON.parse does;
	// encoding/json would also match "Type" to a struct field "type".
	var members map[string]json.RawMessage
	if err := json.Unmarshal(line, &members); err != nil {
		return false, fmt.Errorf("invalid JSON object: %w", err)
	}

	_, hasType := members["type"]
	_, hasID := members["id"]
	if _, hasCount := members["exportedCount"]; hasCount && !hasType && !hasID {
		if err := json.Unmarshal(line, &exp.Summary); err != nil {
			return false, fmt.Errorf("invalid export details line: %w", err)
		}
		exp.HasSummary = true
		return true, nil
	}

	for _, name := range []string{"type", "id"} {
		var s string
		if json.Unmarshal(members[name], &s) != nil || s == "" {
			return false, fmt.Errorf("saved object without a %s string: each object needs a type and an id", name)
		}
	}
	exp.Objects = append(exp.Objects, json.RawMessage(line))
	return false, nil
}
