package grafana

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Roles that requests need in Grafana 10 OSS, for the hints of 403 errors.
const (
	roleViewer      = "reading folders and dashboards needs the Viewer role"
	roleEditor      = "creating folders and saving dashboards needs the Editor role"
	roleDataSources = "listing data sources needs the Admin role (the datasources:read permission)"
	// Grafana 11 also lets the Editor role use this API.
	roleProvisioning = "the alerting provisioning API needs the Admin role in Grafana 10 and the Editor role in Grafana 11 and later"
)

// APIError is an error status from Grafana. Grafana 10 sends
// {"message": "...", "messageId": "...", "statusCode": 401, "traceID": ""}
// for most errors, and {"message": "...", "status": "version-mismatch"}
// when it refuses to save a dashboard.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Message is Grafana's "message", or the body's text when the body
	// is not Grafana's JSON error.
	Message string
	// MessageID is Grafana's "messageId", for example
	// "api-keys.invalid"; empty when the server sent none.
	MessageID string
	// Reason is Grafana's "status" member, for example "version-mismatch",
	// "name-exists" or "plugin-dashboard"; empty when the server sent none.
	Reason string
	// Hint is the advice on what to change, or empty.
	Hint string
	// Err is the httpx error with the method, URL, attempts and raw body.
	Err *httpx.StatusError
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "grafana: %s %s returned %d", e.Err.Method, e.Err.URL, e.Status)
	if e.Reason != "" {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	if e.Err.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Err.Attempts)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Unwrap returns the httpx error, so httpx.StatusOf works.
func (e *APIError) Unwrap() error { return e.Err }

// PreconditionFailedError is a 412 from POST /api/dashboards/db, where
// Grafana rejected the save. Reason is the cause: "version-mismatch" when a
// dashboard with the same UID exists at another version, "name-exists"
// when one with the same title exists in the folder, "plugin-dashboard"
// when a plugin owns it. Importing with overwrite replaces the dashboard.
type PreconditionFailedError struct {
	APIError
}

// Unwrap returns the *APIError, so errors.As finds either type.
func (e *PreconditionFailedError) Unwrap() error { return &e.APIError }

type errorBody struct {
	Message   string `json:"message"`
	MessageID string `json:"messageId"`
	Status    string `json:"status"`
}

// apiError turns an httpx.StatusError into an *APIError, or a
// *PreconditionFailedError for 412, and returns other errors unchanged.
func apiError(err error, r call) error {
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return err
	}
	e := APIError{Status: se.Status, Err: se}
	var body errorBody
	if json.Unmarshal([]byte(se.Body), &body) == nil && (body.Message != "" || body.Status != "") {
		e.Message, e.MessageID, e.Reason = body.Message, body.MessageID, body.Status
	} else {
		e.Message = strings.TrimSpace(se.Body)
	}
	switch se.Status {
	case http.StatusUnauthorized:
		e.Hint = "Grafana rejected the credentials: check that the service account token (or the username and password) is valid, has not expired and belongs to this Grafana"
	case http.StatusForbidden:
		e.Hint = "the credentials lack a permission"
		if r.role != "" {
			e.Hint += ": " + r.role
		}
		e.Hint += "; give the service account or user that role"
	case http.StatusNotFound:
		e.Hint = "check the URL (including Grafana's sub path) and the organization (OrgID)"
	case http.StatusPreconditionFailed:
		e.Hint = preconditionHint(e.Reason)
		return &PreconditionFailedError{APIError: e}
	}
	return &e
}

func preconditionHint(reason string) string {
	switch reason {
	case "version-mismatch":
		return "a dashboard with this UID exists at another version: import with overwrite to replace it, or remove the uid to import a copy"
	case "name-exists":
		return "a dashboard with the same title exists in the folder: import with overwrite, or change the title or the folder"
	case "plugin-dashboard":
		return "a plugin owns this dashboard: import with overwrite to replace it"
	}
	return "import with overwrite to replace the existing dashboard"
}
