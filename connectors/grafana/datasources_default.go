package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Roles of the requests in this file, in Grafana 10 OSS, for the hints of
// 403 errors.
const (
	roleDataSourceWrite = "changing a data source needs the Admin role (the datasources:write permission)"
	roleDashboardDelete = "deleting dashboards needs the Editor role"
)

// dataSourcePath returns /api/datasources/uid/UID, or an error for a UID
// that cannot be put in a URL path.
func dataSourcePath(uid string) (string, error) {
	if !validUID(uid) {
		return "", fmt.Errorf("grafana: invalid data source UID %q: Grafana UIDs are letters, digits, - and _", uid)
	}
	return "/api/datasources/uid/" + url.PathEscape(uid), nil
}

// dataSourceObject is the part of GET /api/datasources/uid/UID that this
// file reads. The whole object is kept raw, because PUT replaces every
// field of the data source.
type dataSourceObject struct {
	ID        int64  `json:"id"`
	UID       string `json:"uid"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	URL       string `json:"url"`
	IsDefault bool   `json:"isDefault"`
	ReadOnly  bool   `json:"readOnly"`
	Version   int    `json:"version"`
}

// rawDataSource reads GET /api/datasources/uid/UID and returns the object
// as sent and its decoded fields.
func (c *Client) rawDataSource(ctx context.Context, uid string) (json.RawMessage, dataSourceObject, error) {
	path, err := dataSourcePath(uid)
	if err != nil {
		return nil, dataSourceObject{}, err
	}
	var raw json.RawMessage
	if err := c.getJSON(ctx, call{path: path, role: roleDataSources}, &raw); err != nil {
		return nil, dataSourceObject{}, err
	}
	raw = bytes.TrimSpace(raw)
	var obj dataSourceObject
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return nil, dataSourceObject{}, fmt.Errorf("grafana: GET %s returned no data source object; check that the URL points at Grafana 10 or later", path)
	}
	if obj.UID == "" {
		obj.UID = uid
	}
	return raw, obj, nil
}

// DataSourceByUID reads GET /api/datasources/uid/UID.
func (c *Client) DataSourceByUID(ctx context.Context, uid string) (DataSource, error) {
	_, obj, err := c.rawDataSource(ctx, uid)
	if err != nil {
		return DataSource{}, err
	}
	return DataSource{ID: obj.ID, UID: obj.UID, Name: obj.Name, Type: obj.Type, URL: obj.URL, IsDefault: obj.IsDefault}, nil
}

// ErrReadOnlyDataSource is returned when a data source is provisioned from
// a file: Grafana rejects changes to it through the API.
var ErrReadOnlyDataSource = errors.New("the data source is provisioned (readOnly), and Grafana rejects API changes to it")

// SetDataSourceDefault makes the data source uid the organization's
// default (isDefault true) or clears its flag (false), and reports whether
// anything changed. Grafana 10 keeps one default per organization: saving
// a data source with isDefault true clears the flag of every other one.
//
// It reads the data source with GET /api/datasources/uid/UID, changes only
// its isDefault member and sends the object back with
// PUT /api/datasources/uid/UID, because PUT replaces every field. The body
// has no secureJsonData, so Grafana keeps the stored secrets. The object
// carries the version read, so Grafana returns 409 when someone saved the
// data source in between; SetDataSourceDefault then reads it again and
// retries once.
func (c *Client) SetDataSourceDefault(ctx context.Context, uid string, isDefault bool) (changed bool, err error) {
	for attempt := 1; ; attempt++ {
		changed, err = c.setDataSourceDefault(ctx, uid, isDefault)
		var apiErr *APIError
		if attempt == 1 && errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
			continue
		}
		return changed, err
	}
}

func (c *Client) setDataSourceDefault(ctx context.Context, uid string, isDefault bool) (bool, error) {
	raw, obj, err := c.rawDataSource(ctx, uid)
	if err != nil {
		return false, err
	}
	if obj.IsDefault == isDefault {
		return false, nil
	}
	if obj.ReadOnly {
		return false, fmt.Errorf("grafana: data source %s (%s): %w: set isDefault in its provisioning file instead", uid, obj.Name, ErrReadOnlyDataSource)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return false, fmt.Errorf("grafana: data source %s: %w", uid, err)
	}
	members["isDefault"] = json.RawMessage(fmt.Sprint(isDefault))
	body, err := json.Marshal(members)
	if err != nil {
		return false, err
	}
	path, _ := dataSourcePath(uid)
	if _, err := c.do(ctx, call{method: http.MethodPut, path: path, body: body, role: roleDataSourceWrite}); err != nil {
		return false, err
	}
	return true, nil
}

// DeleteDashboard deletes a dashboard with DELETE /api/dashboards/uid/UID
// and reports whether it existed: a 404 means it is already gone, so a
// repeated delete succeeds.
func (c *Client) DeleteDashboard(ctx context.Context, uid string) (existed bool, err error) {
	if !validUID(uid) {
		return false, fmt.Errorf("grafana: invalid dashboard UID %q: Grafana UIDs are letters, digits, - and _", uid)
	}
	_, err = c.do(ctx, call{method: http.MethodDelete, path: "/api/dashboards/uid/" + uid, role: roleDashboardDelete})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// IsNotFound reports whether err is a 404 from Grafana, such as reading a
// dashboard that does not exist.
func IsNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}
