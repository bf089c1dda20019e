package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// StatusError is a response whose status the classifier did not accept.
type StatusError struct {
	System, Method, URL string
	Status              int
	// Body is the response body, cut at 4 KiB.
	Body   string
	Header http.Header
	// RetryAfter is the server's Retry-After, or 0 when it sent none.
	RetryAfter time.Duration
	Attempts   int
	// Permanent is true when sending the request again cannot succeed.
	Permanent bool
}

func (e *StatusError) Error() string {
	body := strings.TrimSpace(e.Body)
	if body == "" {
		body = "empty body"
	}
	retried := ""
	if e.Attempts > 1 {
		retried = fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return fmt.Sprintf("%s: %s %s returned %d%s: %s", e.System, e.Method, e.URL, e.Status, retried, body)
}

// TransportError is a request that got no response.
type TransportError struct {
	System, Method, URL string
	Attempts            int
	Err                 error
}

func (e *TransportError) Error() string {
	hint := ""
	switch {
	case IsTimeout(e.Err):
		hint = ": timed out; check that the server runs and raise the timeout if it is slow"
	case IsTLS(e.Err):
		hint = ": TLS failed; check the URL scheme and the plan's tls.ca_file, cert_file and key_file"
	}
	retried := ""
	if e.Attempts > 1 {
		retried = fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return fmt.Sprintf("%s: %s %s failed%s: %v%s", e.System, e.Method, e.URL, retried, e.Err, hint)
}

func (e *TransportError) Unwrap() error { return e.Err }

// IsTimeout reports whether err is a timeout of a request or connection.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// IsTLS reports whether err comes from a TLS handshake or certificate check,
// on either side.
func IsTLS(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		record           tls.RecordHeaderError
		alert            tls.AlertError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify) ||
		errors.As(err, &record) || errors.As(err, &alert) {
		return true
	}
	// An alert the server sends, such as "tls: certificate required" for a
	// missing client certificate, arrives as a net.OpError "remote error".
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "remote error"
}

// StatusOf returns the HTTP status of err, or 0 when err carries none.
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// Secrets returns the strings of an Auth that must never be shown: the
// password, token and API key, and the encoded forms a server might echo
// back (the Basic credential and the API key's base64).
func (a Auth) Secrets() []string {
	var out []string
	for _, s := range []string{a.Password, a.Token, a.APIKey} {
		if s != "" {
			out = append(out, s, base64.StdEncoding.EncodeToString([]byte(s)))
		}
	}
	if a.Username != "" && a.Password != "" {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password)))
	}
	return out
}

// RedactSecrets replaces every occurrence of each secret in text, such as
// a server that echoes the Authorization header in an error body.
func RedactSecrets(text string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return text
}
