package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/grafana-tools/sdk"
)

// Folder is a dashboard folder.
type Folder struct {
	UID, Title string
	// ParentUID is the parent folder's UID for a nested folder, and empty
	// for a top-level folder or when nested folders are off.
	ParentUID string
}

// generalTitle is the title of the root folder, which has no UID and
// cannot be created.
const generalTitle = "General"

// folderItem is an /api/folders item. Grafana 11 adds parentUid, which the
// sdk's Folder lacks.
type folderItem struct {
	sdk.Folder
	ParentUID string `json:"parentUid"`
}

// Folders lists every folder the credentials can read. It pages through
// GET /api/folders, and for nested folders (Grafana 10 with the
// nestedFolders feature toggle, Grafana 11 by default) it lists the
// children of each folder with ?parentUid=UID. A server without nested
// folders ignores parentUid and returns the top-level folders again, which
// Folders detects and stops at.
func (c *Client) Folders(ctx context.Context) ([]Folder, error) {
	seen := map[string]bool{}
	var out []Folder
	parents := []string{""}
	for len(parents) > 0 {
		parent := parents[0]
		parents = parents[1:]
		children, err := c.childFolders(ctx, parent)
		if err != nil {
			return nil, err
		}
		for _, f := range children {
			if seen[f.UID] {
				if parent != "" {
					// parentUid was ignored: there are no nested folders.
					return out, nil
				}
				continue
			}
			seen[f.UID] = true
			if f.ParentUID == "" {
				f.ParentUID = parent
			}
			out = append(out, f)
			parents = append(parents, f.UID)
		}
	}
	return out, nil
}

// childFolders lists the folders directly under parent, or the top-level
// folders when parent is empty, page by page until a page is empty.
func (c *Client) childFolders(ctx context.Context, parent string) ([]Folder, error) {
	var out []Folder
	seen := map[string]bool{}
	for page := 1; page <= maxPages; page++ {
		query := url.Values{"limit": {strconv.Itoa(c.pageSize)}, "page": {strconv.Itoa(page)}}
		if parent != "" {
			query.Set("parentUid", parent)
		}
		var items []folderItem
		if err := c.getJSON(ctx, call{path: "/api/folders", query: query, role: roleViewer}, &items); err != nil {
			return nil, err
		}
		fresh := 0
		for _, it := range items {
			if seen[it.UID] {
				continue
			}
			seen[it.UID] = true
			fresh++
			out = append(out, Folder{UID: it.UID, Title: it.Title, ParentUID: it.ParentUID})
		}
		// An empty page ends the list. A page of folders already seen
		// means the server ignores page, and asking again would loop.
		if fresh == 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("grafana: GET /api/folders returned more than %d pages: raise PageSize", maxPages)
}

// EnsureFolder returns the top-level folder with the given title, and
// creates it with POST /api/folders when there is none. The title
// "General" returns the root folder, whose UID is empty. Titles are
// compared exactly.
func (c *Client) EnsureFolder(ctx context.Context, title string) (Folder, error) {
	if strings.TrimSpace(title) == "" {
		return Folder{}, errors.New("grafana: empty folder title: give the title of the folder to find or create")
	}
	if strings.EqualFold(title, generalTitle) {
		return Folder{Title: generalTitle}, nil
	}
	if f, ok, err := c.findFolder(ctx, title); err != nil || ok {
		return f, err
	}
	body, err := json.Marshal(map[string]string{"title": title})
	if err != nil {
		return Folder{}, err
	}
	resp, err := c.do(ctx, call{
		method: http.MethodPost, path: "/api/folders", body: body,
		role: roleEditor, classifier: retryOnlyTooManyRequests,
	})
	if err != nil {
		// Another client may have created it since the listing.
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
			if f, ok, findErr := c.findFolder(ctx, title); findErr == nil && ok {
				return f, nil
			}
		}
		return Folder{}, fmt.Errorf("creating folder %q: %w", title, err)
	}

	var created sdk.Folder
	if err := json.Unmarshal(resp.Body, &created); err != nil {
		return Folder{}, fmt.Errorf("grafana: POST /api/folders for %q returned invalid JSON: %w", title, err)
	}
	if created.UID == "" {
		return Folder{}, fmt.Errorf("grafana: POST /api/folders for %q returned no folder UID; check that the URL points at Grafana 10 or later", title)
	}
	return Folder{UID: created.UID, Title: created.Title}, nil
}

// findFolder looks for a top-level folder with exactly this title.
func (c *Client) findFolder(ctx context.Context, title string) (Folder, bool, error) {
	top, err := c.childFolders(ctx, "")
	if err != nil {
		return Folder{}, false, err
	}
	for _, f := range top {
		if f.Title == title && f.ParentUID == "" {
			return f, true, nil
		}
	}
	return Folder{}, false, nil
}
