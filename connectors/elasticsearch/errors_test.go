package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/internal/recording"
)

func TestRecordedErrors(t *testing.T) {
	tests := []struct {
		recording       string
		attempts        int
		indexNotFound   bool
		contextMissing  bool
		wantInMessage   string
		productHeaderOK bool
	}{
		{"error__security_exception_401_missing_credentials", 1, false, false, "username and password", false},
		{"error__security_exception_401_bad_credentials", 1, false, false, "unable to authenticate user", false},
		{"error__security_exception_403_unauthorized_index", 1, false, false, "privileges", false},
		{"error__index_not_found_404", 1, true, false, "no such index [foo]", true},
		{"error__parsing_exception_400", 1, false, false, "no [query] registered for [foo]", true},
		{"error__search_context_missing_pit_404", 1, false, true, "No search context found", true},
		{"error__search_context_missing_scroll_404", 1, false, true, "keep-alive", true},
		{"error__es_rejected_execution_429_bulk", 3, false, false, "overloaded", true},
		{"error__too_many_buckets_503", 1, false, false, "Trying to create too many buckets", true},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			ex := load(t, tt.recording)
			if got := ex.Response.Header.Get("X-Elastic-Product") != ""; got != tt.productHeaderOK {
				t.Fatalf("recording has product header %v, want %v", got, tt.productHeaderOK)
			}
			srv := recording.NewServer(t)
			srv.Handle("POST", "/foo/_count", ex.Response)
			c, rec := newTestClient(t, srv.URL, nil)
			_, err := c.Count(context.Background(), "foo", nil, "", time.Time{}, time.Time{})

			var esErr *Error
			if !errors.As(err, &esErr) {
				t.Fatalf("Count = %v, want an *Error", err)
			}
			body := decodeMap(t, ex.Response.Body)
			envelope := body["error"].(map[string]any)
			if fmt.Sprint(esErr.Status) != fmt.Sprint(body["status"]) || esErr.Status != ex.Response.Status {
				t.Errorf("status %d, want %v (HTTP %d)", esErr.Status, body["status"], ex.Response.Status)
			}
			if esErr.Type != envelope["type"] || esErr.Reason != envelope["reason"] {
				t.Errorf("type %q reason %q, want %q %q", esErr.Type, esErr.Reason, envelope["type"], envelope["reason"])
			}
			rootCauses := envelope["root_cause"].([]any)
			if len(esErr.RootCause) != len(rootCauses) {
				t.Fatalf("%d root causes, want %d", len(esErr.RootCause), len(rootCauses))
			}
			for i, rc := range rootCauses {
				if esErr.RootCause[i].Type != rc.(map[string]any)["type"] {
					t.Errorf("root cause %d type %q, want %v", i, esErr.RootCause[i].Type, rc.(map[string]any)["type"])
				}
			}
			if cb, ok := envelope["caused_by"].(map[string]any); ok && (esErr.CausedBy == nil || esErr.CausedBy.Type != cb["type"]) {
				t.Errorf("caused_by %+v, want type %v", esErr.CausedBy, cb["type"])
			}
			if fs, ok := envelope["failed_shards"].([]any); ok && len(esErr.FailedShards) != len(fs) {
				t.Errorf("%d failed shards, want %d", len(esErr.FailedShards), len(fs))
			}
			if IsIndexNotFound(err) != tt.indexNotFound {
				t.Errorf("IsIndexNotFound = %v, want %v", !tt.indexNotFound, tt.indexNotFound)
			}
			if IsSearchContextMissing(err) != tt.contextMissing {
				t.Errorf("IsSearchContextMissing = %v, want %v", !tt.contextMissing, tt.contextMissing)
			}
			if !strings.Contains(err.Error(), tt.wantInMessage) {
				t.Errorf("message %q does not contain %q", err, tt.wantInMessage)
			}
			if reqs, _ := srv.Requests(); len(reqs) != tt.attempts {
				t.Errorf("%d requests, want %d", len(reqs), tt.attempts)
			}
			if len(rec.all()) != tt.attempts-1 {
				t.Errorf("%d waits, want %d", len(rec.all()), tt.attempts-1)
			}
		})
	}
}

func TestDecodeErrorOtherBodies(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantType   string
		wantReason string
		wantBody   string
	}{
		{"proxy HTML", 502, "<html><body>Bad Gateway</body></html>", "", "", "<html><body>Bad Gateway</body></html>"},
		{"error as a string", 400, `{"error":"Incorrect HTTP method for uri","status":405}`, "", "Incorrect HTTP method for uri", ""},
		{"empty body", 404, "", "", "", ""},
		{"null error", 500, `{"error":null}`, "", "", `{"error":null}`},
		{"close of an unknown PIT", 404, `{"succeeded":true,"num_freed":0}`, "", "", `{"succeeded":true,"num_freed":0}`},
		{"shard reason as a string", 500, `{"error":{"type":"x","reason":"y","failed_shards":[{"shard":0,"reason":"z"}]},"status":500}`, "x", "y", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := decodeError("POST /_search", tt.status, []byte(tt.body))
			if e.Status != tt.status || e.Type != tt.wantType || e.Reason != tt.wantReason || e.Body != tt.wantBody {
				t.Errorf("decodeError = %+v, want type %q reason %q body %q", e, tt.wantType, tt.wantReason, tt.wantBody)
			}
			if msg := e.Error(); !strings.Contains(msg, "POST /_search") || !strings.Contains(msg, fmt.Sprint(tt.status)) {
				t.Errorf("message %q does not name the request and status", msg)
			}
		})
	}
}

func TestDecodeErrorTruncatesLongBody(t *testing.T) {
	body := strings.Repeat("é", 5000)
	e := decodeError("GET /", 502, []byte(body))
	if len(e.Body) > errorBodyLimit+len("…") {
		t.Errorf("body kept %d bytes, want at most %d", len(e.Body), errorBodyLimit)
	}
	if !strings.HasSuffix(e.Body, "…") || strings.ContainsRune(e.Body, '\uFFFD') {
		t.Errorf("body %q… is not cut at a character boundary with an ellipsis", e.Body[:20])
	}
}

func TestSearchContextMissingDetail(t *testing.T) {
	e := decodeError("POST /_search", 404, load(t, "error__search_context_missing_pit_404").Response.Body)
	msg := e.Error()
	for _, want := range []string{"search_phase_execution_exception", "caused by search_context_missing_exception", "keep-alive"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
}

func FuzzDecodeError(f *testing.F) {
	for _, name := range []string{
		"error__index_not_found_404", "error__parsing_exception_400", "error__search_context_missing_pit_404",
		"error__search_context_missing_scroll_404", "error__security_exception_401_missing_credentials",
		"error__too_many_buckets_503", "error__es_rejected_execution_429_bulk", "close_point_in_time__not_found_404",
	} {
		f.Add(load(f, name).Response.Body)
	}
	f.Add([]byte(`{"error":"plain"}`))
	f.Add([]byte(`{"error":{"caused_by":{"caused_by":{"caused_by":{"type":"search_context_missing_exception"}}}}}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := decodeError("POST /_search", 404, body)
		if e.Error() == "" {
			t.Fatal("empty message")
		}
		_ = errors.Is(e, ErrSearchContextMissing)
		_ = errors.Is(e, ErrIndexNotFound)
		if len(e.Body) > errorBodyLimit+len("…") {
			t.Fatalf("body kept %d bytes", len(e.Body))
		}
	})
}
