package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/grafana-tools/sdk"
)

// DashboardRef is one dashboard from the search API.
type DashboardRef struct {
	UID, Title string
	// FolderUID and FolderTitle are empty for a dashboard in the root
	// (General) folder.
	FolderUID, FolderTitle string
}

// SearchDashboards lists every dashboard the credentials can read with
// GET /api/search?type=dash-db, page by page until a page is empty.
func (c *Client) SearchDashboards(ctx context.Context) ([]DashboardRef, error) {
	var out []DashboardRef
	seen := map[string]bool{}
	for page := 1; page <= maxPages; page++ {
		query := url.Values{"type": {"dash-db"}, "limit": {strconv.Itoa(c.pageSize)}, "page": {strconv.Itoa(page)}}
		var hits []sdk.FoundBoard
		if err := c.getJSON(ctx, call{path: "/api/search", query: query, role: roleViewer}, &hits); err != nil {
			return nil, err
		}
		fresh := 0
		for _, h := range hits {
			if (h.Type != "" && h.Type != "dash-db") || seen[h.UID] {
				continue
			}
			seen[h.UID] = true
			fresh++
			out = append(out, DashboardRef{UID: h.UID, Title: h.Title, FolderUID: h.FolderUID, FolderTitle: h.FolderTitle})
		}
		// An empty page ends the list. A page of dashboards already seen
		// means the server ignores page, and asking again would loop.
		if fresh == 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("grafana: GET /api/search returned more than %d pages: raise PageSize", maxPages)
}

// Meta is the part of a dashboard's metadata a migration needs.
type Meta struct {
	// FolderUID is empty for the root (General) folder.
	FolderUID   string
	FolderTitle string
	Version     int
	// Provisioned is true for a dashboard loaded from a provisioning
	// file, which Grafana refuses to overwrite through the API.
	Provisioned bool
}

// validUID reports whether uid can be put in a URL path as is. Grafana
// creates UIDs of at most 40 letters, digits, "-" and "_".
func validUID(uid string) bool {
	return uid != "" && !strings.ContainsAny(uid, "/?#%\\ \t\r\n")
}

// Dashboard reads GET /api/dashboards/uid/UID and returns the "dashboard"
// member exactly as the server sent it, with its metadata.
func (c *Client) Dashboard(ctx context.Context, uid string) (json.RawMessage, Meta, error) {
	if !validUID(uid) {
		return nil, Meta{}, fmt.Errorf("grafana: invalid dashboard UID %q: Grafana UIDs are letters, digits, - and _", uid)
	}
	var body struct {
		Dashboard json.RawMessage `json:"dashboard"`
		Meta      struct {
			FolderUID   string `json:"folderUid"`
			FolderTitle string `json:"folderTitle"`
			Version     int    `json:"version"`
			Provisioned bool   `json:"provisioned"`
		} `json:"meta"`
	}
	path := "/api/dashboards/uid/" + uid
	if err := c.getJSON(ctx, call{path: path, role: roleViewer}, &body); err != nil {
		return nil, Meta{}, err
	}
	if len(body.Dashboard) == 0 || body.Dashboard[0] != '{' {
		return nil, Meta{}, fmt.Errorf("grafana: GET %s returned no dashboard object", path)
	}
	m := body.Meta
	return body.Dashboard, Meta{FolderUID: m.FolderUID, FolderTitle: m.FolderTitle, Version: m.Version, Provisioned: m.Provisioned}, nil
}

// ImportResult is Grafana's response to a saved dashboard.
type ImportResult struct {
	UID string
	// URL is the dashboard's path, such as /d/UID/slug.
	URL     string
	Version int
}

// ImportDashboard saves a dashboard with POST /api/dashboards/db. The
// dashboard is the raw JSON object (the "dashboard" member of a
// GET /api/dashboards/uid response, not the whole response). Its "id" is set
// to null, because ids are per Grafana instance, and every other byte is
// sent unchanged. An empty folderUID saves to the root (General) folder.
// Overwrite replaces a dashboard with the same UID or title; without it,
// a conflict returns a *PreconditionFailedError. Message is stored as the
// version's commit message.
//
// NOTE: an exported dashboard with "__inputs" (${DS_NAME} placeholders)
// keeps its placeholders; only Grafana's /api/dashboards/import fills them.
func (c *Client) ImportDashboard(ctx context.Context, dashboard json.RawMessage, folderUID string, overwrite bool, message string) (ImportResult, error) {
	obj := bytes.TrimSpace(dashboard)
	if len(obj) == 0 || obj[0] != '{' || !json.Valid(obj) {
		return ImportResult{}, errors.New("grafana: the dashboard to import is not a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(obj, &top); err != nil {
		return ImportResult{}, fmt.Errorf("grafana: the dashboard to import is not a JSON object: %w", err)
	}
	_, hasDashboard := top["dashboard"]
	_, hasMeta := top["meta"]
	_, hasPanels := top["panels"]
	if hasDashboard && hasMeta && !hasPanels {
		return ImportResult{}, errors.New(`grafana: the JSON to import is a whole GET /api/dashboards/uid response: pass its "dashboard" member`)
	}

	obj, err := nullMembers(obj, "id")
	if err != nil {
		return ImportResult{}, fmt.Errorf("grafana: the dashboard to import: %w", err)
	}

	body, err := importBody(obj, folderUID, overwrite, message)
	if err != nil {
		return ImportResult{}, err
	}

	resp, err := c.do(ctx, call{
		method: http.MethodPost, path: "/api/dashboards/db", body: body,
		role: roleEditor, classifier: retryOnlyTooManyRequests,
	})
	if err != nil {
		return ImportResult{}, err
	}

	var status sdk.StatusMessage
	if err := json.Unmarshal(resp.Body, &status); err != nil {
		return ImportResult{}, fmt.Errorf("grafana: POST /api/dashboards/db returned invalid JSON: %w", err)
	}
	if status.UID == nil || *status.UID == "" {
		return ImportResult{}, errors.New("grafana: POST /api/dashboards/db returned no dashboard UID; check that the URL points at Grafana 10 or later")
	}
	res := ImportResult{UID: *status.UID}
	if status.URL != nil {
		res.URL = *status.URL
	}
	if status.Version != nil {
		res.Version = *status.Version
	}
	return res, nil
}

// importBody writes the request of POST /api/dashboards/db by hand:
// json.Marshal would compact the dashboard and escape <, > and & in its
// strings, which changes bytes the caller did not ask to change.
func importBody(dashboard []byte, folderUID string, overwrite bool, message string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"dashboard":`)
	b.Write(dashboard)
	if folderUID != "" {
		folder, err := json.Marshal(folderUID)
		if err != nil {
			return nil, err
		}
		b.WriteString(`,"folderUid":`)
		b.Write(folder)
	}
	b.WriteString(`,"overwrite":` + strconv.FormatBool(overwrite))
	if message != "" {
		msg, err := json.Marshal(message)
		if err != nil {
			return nil, err
		}
		b.WriteString(`,"message":`)
		b.Write(msg)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// nullMembers returns obj, a valid JSON object, with the value of each
// top-level member named key replaced by null. All other bytes stay as
// they were, including whitespace and the member order.
func nullMembers(obj []byte, key string) ([]byte, error) {
	type span struct{ start, end int }
	var spans []span
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		if name != key {
			continue
		}
		// The decoder stops right after the value, and the raw value
		// holds its bytes without the whitespace before it.
		end := int(dec.InputOffset())
		start := end - len(value)
		if start < 0 || !bytes.Equal(obj[start:end], value) {
			return nil, fmt.Errorf("cannot locate the %q member", key)
		}
		spans = append(spans, span{start, end})
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return nil, err
	}
	out := slices.Clone(obj)
	for i := len(spans) - 1; i >= 0; i-- {
		out = slices.Replace(out, spans[i].start, spans[i].end, []byte("null")...)
	}
	return out, nil
}
