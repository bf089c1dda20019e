package elasticsearch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Exception types that callers act on, as Elasticsearch names them in the
// "type" of an error body.
const (
	typeSearchContextMissing = "search_context_missing_exception"
	typeIndexNotFound        = "index_not_found_exception"
	typeTooManyBuckets       = "too_many_buckets_exception"
)

// Sentinels for errors.Is. An *Error or *ShardFailureError matches them by
// the exception types in its body.
var (
	// ErrSearchContextMissing matches an expired or closed point in time or
	// scroll: search_context_missing_exception.
	ErrSearchContextMissing = errors.New("elasticsearch: search context missing")
	// ErrIndexNotFound matches index_not_found_exception.
	ErrIndexNotFound = errors.New("elasticsearch: index not found")
)

// IsSearchContextMissing reports whether err is a point in time or scroll
// that expired or was closed.
func IsSearchContextMissing(err error) bool { return errors.Is(err, ErrSearchContextMissing) }

// IsIndexNotFound reports whether err names an index, alias or data stream
// that does not exist.
func IsIndexNotFound(err error) bool { return errors.Is(err, ErrIndexNotFound) }

// Cause is one exception of an Elasticsearch error body: the top-level
// error, a root_cause entry or a caused_by link.
type Cause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
	// Index is set for index-level failures such as index_not_found.
	Index    string `json:"index,omitempty"`
	CausedBy *Cause `json:"caused_by,omitempty"`
}

// UnmarshalJSON reads a cause object, or a plain string as the reason,
// which some versions send for shard failures.
func (c *Cause) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err == nil {
		*c = Cause{Reason: text}
		return nil
	}
	type plain Cause
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*c = Cause(p)
	return nil
}

// ShardFailure is one entry of failed_shards (in an error body) or of
// _shards.failures (in a 200 response with partial results).
type ShardFailure struct {
	Shard  int    `json:"shard"`
	Index  string `json:"index"`
	Node   string `json:"node"`
	Reason Cause  `json:"reason"`
}

// Error is an error response from Elasticsearch, decoded from its
// {"error": {...}, "status": N} envelope.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Type and Reason are the top-level exception, for example
	// "search_phase_execution_exception" and "all shards failed".
	Type, Reason string
	RootCause    []Cause
	CausedBy     *Cause
	FailedShards []ShardFailure
	// Op is the request, as "POST /logs-*/_search".
	Op string
	// Body is the response body when it was not an Elasticsearch error
	// envelope (a proxy's HTML page, for example), cut at 4 KiB.
	Body string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "elasticsearch: %s returned %d", e.Op, e.Status)
	switch {
	case e.Type != "":
		fmt.Fprintf(&b, " %s: %s", e.Type, e.Reason)
	case e.Reason != "":
		fmt.Fprintf(&b, ": %s", e.Reason)
	case e.Body != "":
		fmt.Fprintf(&b, ": %s", e.Body)
	default:
		b.WriteString(" with an empty body")
	}
	if detail := e.detail(); detail != nil {
		fmt.Fprintf(&b, " (caused by %s: %s)", detail.Type, detail.Reason)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString("; ")
		b.WriteString(hint)
	}
	return b.String()
}

// detail returns the cause that explains a generic top-level exception
// such as "search_phase_execution_exception: all shards failed", or nil
// when the top level is already specific.
func (e *Error) detail() *Cause {
	for _, c := range e.RootCause {
		if c.Type != e.Type || c.Reason != e.Reason {
			return &c
		}
	}
	if e.CausedBy != nil && (e.CausedBy.Type != e.Type || e.CausedBy.Reason != e.Reason) {
		return e.CausedBy
	}
	return nil
}

func (e *Error) hint() string {
	switch {
	case e.hasType(typeSearchContextMissing):
		return "the point in time expired or was closed: open a new one, or raise the keep-alive"
	case e.hasType(typeIndexNotFound):
		return "check the index pattern and that the index or data stream exists"
	case e.hasType(typeTooManyBuckets):
		return "narrow the time range or use a coarser interval"
	case e.Status == 401:
		return "check the username and password, API key or token"
	case e.Status == 403:
		return "grant the user the read and view_index_metadata index privileges and the monitor cluster privilege"
	case e.Status == 429:
		return "the cluster rejected the request because it is overloaded: lower the page size or the number of parallel readers"
	case e.Status == 400:
		return "the request is invalid for this cluster: check the query and the field names"
	}
	return ""
}

// Is reports whether the error carries the exception type of target, one
// of ErrSearchContextMissing and ErrIndexNotFound.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrSearchContextMissing:
		return e.hasType(typeSearchContextMissing)
	case ErrIndexNotFound:
		return e.hasType(typeIndexNotFound)
	}
	return false
}

// hasType reports whether typ is the top-level type, a root cause, a link
// of the caused_by chain or a failed shard's reason.
func (e *Error) hasType(typ string) bool {
	if e.Type == typ {
		return true
	}
	for _, c := range e.RootCause {
		if c.hasType(typ) {
			return true
		}
	}
	if e.CausedBy.hasType(typ) {
		return true
	}
	for _, f := range e.FailedShards {
		if f.Reason.hasType(typ) {
			return true
		}
	}
	return false
}

func (c *Cause) hasType(typ string) bool {
	for depth := 0; c != nil && depth < maxCauseDepth; depth++ {
		if c.Type == typ {
			return true
		}
		c = c.CausedBy
	}
	return false
}

// maxCauseDepth bounds walks down a caused_by chain.
const maxCauseDepth = 32

// errorBodyLimit bounds the non-JSON body kept in an Error.
const errorBodyLimit = 4 << 10

// errorEnvelope is the body of an Elasticsearch error response. Old
// versions and some proxies send "error" as a plain string.
type errorEnvelope struct {
	Error  json.RawMessage `json:"error"`
	Status int             `json:"status"`
}

type errorObject struct {
	Type         string         `json:"type"`
	Reason       string         `json:"reason"`
	RootCause    []Cause        `json:"root_cause"`
	CausedBy     *Cause         `json:"caused_by"`
	FailedShards []ShardFailure `json:"failed_shards"`
}

// decodeError builds an *Error from an error response. It never fails: a
// body that is not an Elasticsearch error envelope is kept as text.
func decodeError(op string, status int, body []byte) *Error {
	e := &Error{Status: status, Op: op}
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err == nil && len(env.Error) > 0 && !bytes.Equal(env.Error, []byte("null")) {
		var obj errorObject
		if err := json.Unmarshal(env.Error, &obj); err == nil {
			e.Type, e.Reason = obj.Type, obj.Reason
			e.RootCause, e.CausedBy, e.FailedShards = obj.RootCause, obj.CausedBy, obj.FailedShards
			return e
		}
		var text string
		if err := json.Unmarshal(env.Error, &text); err == nil {
			e.Reason = text
			return e
		}
	}
	e.Body = truncateText(body)
	return e
}

func truncateText(body []byte) string {
	text := strings.TrimSpace(string(body))
	if len(text) <= errorBodyLimit {
		return text
	}
	cut := errorBodyLimit
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}

// ShardFailureError is a search that returned 200 but failed on some
// shards, so its hits or aggregations are incomplete. Callers must not use
// such partial data as if it were complete.
type ShardFailureError struct {
	Op                    string
	Total, Failed         int
	Failures              []ShardFailure
	searchContextOnlyFail bool
}

func (e *ShardFailureError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "elasticsearch: %s failed on %d of %d shards, so the results are incomplete", e.Op, e.Failed, e.Total)
	if len(e.Failures) > 0 {
		f := e.Failures[0]
		fmt.Fprintf(&b, ": shard %d of %s: %s: %s", f.Shard, f.Index, f.Reason.Type, f.Reason.Reason)
		if len(e.Failures) > 1 {
			fmt.Fprintf(&b, " (and %d more)", len(e.Failures)-1)
		}
	}
	b.WriteString("; retry later, or check the cluster health and the shard failure reason")
	return b.String()
}

// Is matches ErrSearchContextMissing when every listed failure is a lost
// search context, which a reader handles as an expired point in time.
func (e *ShardFailureError) Is(target error) bool {
	return target == ErrSearchContextMissing && e.searchContextOnlyFail
}

// shardsHeader is the _shards block of search and count responses.
type shardsHeader struct {
	Total    int            `json:"total"`
	Failed   int            `json:"failed"`
	Failures []ShardFailure `json:"failures"`
}

// check returns a *ShardFailureError when any shard failed.
func (s shardsHeader) check(op string) error {
	if s.Failed == 0 && len(s.Failures) == 0 {
		return nil
	}
	contextOnly := len(s.Failures) > 0
	for _, f := range s.Failures {
		if !f.Reason.hasType(typeSearchContextMissing) {
			contextOnly = false
		}
	}
	return &ShardFailureError{Op: op, Total: s.Total, Failed: max(s.Failed, len(s.Failures)), Failures: s.Failures, searchContextOnlyFail: contextOnly}
}
