package kibana

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// APIError is an error status from Kibana. Kibana 7.x and 8.x send the
// envelope {"statusCode": 400, "error": "Bad Request", "message": "..."};
// for any other body, Message holds the body's text.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Reason is the envelope's "error" member, the status text.
	Reason string
	// Message is the envelope's "message" member, Kibana's explanation.
	Message string
	// Hint is the advice on what to change, or empty.
	Hint string
	// Err is the httpx error with the method, URL, attempts and raw body.
	Err *httpx.StatusError
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kibana: %s %s returned %d", e.Err.Method, e.Err.URL, e.Status)
	if e.Reason != "" {
		b.WriteString(" " + e.Reason)
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

type errorEnvelope struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// apiError turns an httpx.StatusError into an *APIError and returns other
// errors unchanged.
func (c *Client) apiError(err error) error {
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return err
	}
	e := &APIError{Status: se.Status, Err: se}
	var env errorEnvelope
	if json.Unmarshal([]byte(se.Body), &env) == nil && (env.Message != "" || env.Error != "") {
		e.Reason, e.Message = env.Error, env.Message
	} else {
		e.Reason = http.StatusText(se.Status)
		e.Message = strings.TrimSpace(se.Body)
	}
	e.Hint = c.hint(se.Status, e.Message)
	return e
}

func (c *Client) hint(status int, message string) string {
	switch status {
	case http.StatusBadRequest:
		if strings.Contains(message, "type") {
			return "Kibana rejected a saved object type: list only types this Kibana registers and can export (ExportRequest.Types)"
		}
	case http.StatusUnauthorized:
		return "check the username and password or the API key"
	case http.StatusForbidden:
		return fmt.Sprintf("the user lacks privileges in space %q: it needs a role with read access to Saved Objects Management, or to each exported type's feature", c.space)
	case http.StatusNotFound:
		if c.space != DefaultSpace {
			return fmt.Sprintf("check that space %q exists (its ID, not its display name) and that the URL is Kibana's, including any base path", c.space)
		}
		return "check that the URL is Kibana's, including any base path (server.basePath)"
	}
	return ""
}
