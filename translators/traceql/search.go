package traceql

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what ParseSearch and ParseTags accept.
const (
	// MaxInputBytes bounds the text of a search, a URL or a tags value.
	MaxInputBytes = 64 << 10
	// MaxTags bounds the number of tags in one search.
	MaxTags = 64
)

// Form is the kind of Jaeger client that wrote a search. It decides the
// limit that applies when the search gives none.
type Form string

// The forms of a search.
const (
	// FormAPI is a search on Jaeger's HTTP API (/api/traces), including the
	// searches that Grafana's Jaeger data source sends. Without a limit,
	// Jaeger's query service returns up to 100 traces. The zero Form
	// behaves as FormAPI.
	FormAPI Form = "api"
	// FormUI is a Jaeger UI /search URL. The UI sends a limit of 20 unless
	// the user changes it.
	FormUI Form = "ui"
)

// Default limits of Jaeger's clients.
const (
	// DefaultAPILimit is what Jaeger's query service uses without a limit.
	DefaultAPILimit = 100
	// DefaultUILimit is what the Jaeger UI search form sends by default.
	DefaultUILimit = 20
)

// LookbackCustom is the Jaeger UI lookback that means "use start and end".
const LookbackCustom = "custom"

// Tag is one tag condition of a search, as written.
type Tag struct {
	Key   string
	Value string
}

// Search is one Jaeger trace search. Strings keep the text as written;
// Render validates and converts them.
type Search struct {
	// Original is the text the search was parsed from, if any.
	Original string
	// Form is the kind of client that wrote the search.
	Form Form

	// Service is process.serviceName. Jaeger rejects a search without one.
	Service string
	// Operation is the span name, or empty for every operation.
	Operation string
	// Tags are the tag conditions in the order written: the API's repeated
	// tag=key:value parameters first, then the tags parameter, as Jaeger
	// merges them. When a key repeats, Jaeger uses its last value.
	Tags []Tag
	// MinDuration and MaxDuration bound the duration of the matching span,
	// inclusively, as Go durations such as 1.2s, 500ms or 100us.
	MinDuration string
	MaxDuration string
	// Limit is the number of traces to return, or 0 when the search gives
	// none; see Form.
	Limit int

	// Lookback is the Jaeger UI lookback, such as 1h or 2d, or
	// LookbackCustom, or empty. Render counts it back from Options.Now only
	// when Start and End are both absent, because the Jaeger UI computes them
	// from the lookback when it runs a search, and Jaeger's API reads only
	// them.
	Lookback string
	// Start and End are the time window in microseconds since the epoch, as
	// Jaeger's API takes them, or 0 when not given. ParseSearch and Render
	// accept times from 1973-03-03 (1e14) to the end of the year 9999.
	// Smaller values are seconds or milliseconds, larger ones nanoseconds.
	Start int64
	End   int64

	// SpanKind is the spanKind parameter of newer Jaeger UIs. Jaeger uses it
	// to list operations; its trace search ignores it, and so does Render.
	SpanKind string
	// TraceIDs makes the search a lookup of these traces: Jaeger then
	// ignores every other parameter.
	TraceIDs []string
	// Ignored lists the parameters that play no part in a Jaeger search,
	// sorted.
	Ignored []string
}

// lookbackPattern matches the Jaeger UI's relative lookbacks: 5m, 1h, 2d.
// parseLookback also bounds their length.
var lookbackPattern = regexp.MustCompile(`^[1-9][0-9]{0,5}[smhdw]$`)

// traceIDPattern matches a Jaeger trace ID: up to 32 hexadecimal digits.
var traceIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{1,32}$`)

// ParseSearch parses a Jaeger search: a Jaeger UI URL
// (http://host:16686/search?service=frontend&tags=…), an API URL
// (/api/traces?service=frontend&tag=error:true), or a bare query string
// (service=frontend&limit=20). A UI trace page (/trace/ID) or an
// /api/traces/ID URL becomes a trace ID lookup. The tags parameter may be
// JSON or logfmt; see ParseTags.
//
// Errors are *ParamError values that name the parameter and, where it
// applies, the offset of the problem in its decoded value. A search without
// a service parses: Render reports it as unsupported, as Jaeger rejects it.
func ParseSearch(text string) (Search, error) {
	if len(text) > MaxInputBytes {
		return Search{}, &ParamError{
			Offset: -1,
			Msg:    fmt.Sprintf("the search is %d bytes, more than the %d accepted", len(text), MaxInputBytes),
			Err:    ErrInputTooLarge,
		}
	}
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return Search{}, paramErrorf("", text, -1,
			"empty search: pass a Jaeger search URL or a query string such as service=frontend")
	}

	s := Search{Original: text}
	rawQuery, err := s.splitInput(trimmed)
	if err != nil {
		return Search{}, err
	}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Search{}, paramErrorf("", rawQuery, -1, "the query string does not decode: %v", err)
	}
	if err := s.readParams(values); err != nil {
		return Search{}, err
	}
	return s, nil
}

// splitInput sets the form from the URL path, reads a trace ID from a trace
// page path, and returns the query string.
func (s *Search) splitInput(text string) (string, error) {
	lower := strings.ToLower(text)
	isURL := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") ||
		strings.HasPrefix(text, "/")
	if !isURL {
		s.Form = FormAPI
		return strings.TrimPrefix(text, "?"), nil
	}

	u, err := url.Parse(text)
	if err != nil {
		return "", paramErrorf("", text, -1, "not a URL: %v", err)
	}
	path := strings.TrimSuffix(u.Path, "/")
	switch {
	case strings.Contains(path, "/api/v3/"):
		return "", paramErrorf("", text, -1,
			"the /api/v3 search form is not supported: give the Jaeger UI /search URL or an /api/traces URL")
	case strings.HasSuffix(path, "/search"):
		s.Form = FormUI
	case strings.HasSuffix(path, "/api/traces"):
		s.Form = FormAPI
	case traceIDInPath(path, "/api/traces/") != "":
		s.Form = FormAPI
		s.TraceIDs = []string{traceIDInPath(path, "/api/traces/")}
	case traceIDInPath(path, "/trace/") != "":
		s.Form = FormUI
		s.TraceIDs = []string{traceIDInPath(path, "/trace/")}
	default:
		return "", paramErrorf("", text, -1,
			"unrecognised path %q: expected a Jaeger UI /search or /trace/ID URL, or an /api/traces URL", u.Path)
	}
	return u.RawQuery, nil
}

// traceIDInPath returns the last path segment when it follows marker.
func traceIDInPath(path, marker string) string {
	i := strings.LastIndex(path, marker)
	if i < 0 {
		return ""
	}
	id := path[i+len(marker):]
	if id == "" || strings.Contains(id, "/") {
		return ""
	}
	return id
}

// readParams reads every parameter of the query string.
func (s *Search) readParams(values url.Values) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	for _, k := range keys {
		if err := checkUTF8(k, values[k]); err != nil {
			return err
		}
		if err := s.readParam(k, values[k]); err != nil {
			return err
		}
	}
	// Jaeger reads the tag parameters before the tags parameter, and a
	// later value of a key wins.
	if err := s.readTags(values["tag"], values["tags"]); err != nil {
		return err
	}
	return s.readTraceIDs(values["traceID"])
}

func checkUTF8(key string, vals []string) error {
	if !utf8.ValidString(key) {
		return paramErrorf("", key, -1, "a parameter name is not valid UTF-8")
	}
	for _, v := range vals {
		if !utf8.ValidString(v) {
			return paramErrorf(key, strings.ToValidUTF8(v, "\uFFFD"), -1, "the value is not valid UTF-8")
		}
	}
	return nil
}

// readParam reads one parameter other than tag, tags and traceID.
func (s *Search) readParam(key string, vals []string) error {
	switch key {
	case "tag", "tags", "traceID":
		return nil
	case "service", "operation", "minDuration", "maxDuration", "limit",
		"lookback", "start", "end", "spanKind":
	default:
		s.Ignored = append(s.Ignored, key)
		return nil
	}
	if len(vals) > 1 {
		return paramErrorf(key, strings.Join(vals, ", "), -1,
			"given %d times; give it once", len(vals))
	}
	v := vals[0]
	if v == "" {
		return nil
	}
	switch key {
	case "service":
		s.Service = v
	case "operation":
		s.Operation = v
	case "minDuration", "maxDuration":
		return s.readDuration(key, v)
	case "limit":
		return s.readLimit(v)
	case "lookback":
		return s.readLookback(v)
	case "start", "end":
		return s.readTime(key, v)
	case "spanKind":
		s.SpanKind = v
	}
	return nil
}

func (s *Search) readDuration(key, v string) error {
	if _, err := parseDuration(v); err != nil {
		return paramErrorf(key, v, -1, "%v", err)
	}
	if key == "minDuration" {
		s.MinDuration = v
	} else {
		s.MaxDuration = v
	}
	if s.MinDuration == "" || s.MaxDuration == "" {
		return nil
	}
	lo, _ := parseDuration(s.MinDuration)
	hi, _ := parseDuration(s.MaxDuration)
	if lo > 0 && hi > 0 && hi < lo {
		return paramErrorf("maxDuration", s.MaxDuration, -1,
			"it is shorter than minDuration %s; Jaeger rejects such a search", s.MinDuration)
	}
	return nil
}

func (s *Search) readLimit(v string) error {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n <= 0 {
		return paramErrorf("limit", v, -1, "expected a positive whole number of traces, such as 20")
	}
	s.Limit = int(n)
	return nil
}

func (s *Search) readLookback(v string) error {
	if v != LookbackCustom {
		if _, err := parseLookback(v); err != nil {
			return paramErrorf("lookback", v, -1, "%v", err)
		}
	}
	s.Lookback = v
	return nil
}

func (s *Search) readTime(key, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		n = 0 // not a number, or beyond int64
	}
	if problem := microsProblem(n); problem != "" {
		return paramErrorf(key, v, -1, "%s", problem)
	}
	if key == "start" {
		s.Start = n
	} else {
		s.End = n
	}
	if s.Start > 0 && s.End > 0 && s.End < s.Start {
		return paramErrorf("end", strconv.FormatInt(s.End, 10), -1,
			"it is before start %d", s.Start)
	}
	return nil
}

// readTags reads the API's tag=key:value parameters, then the tags
// parameters (JSON or logfmt).
func (s *Search) readTags(simple, structured []string) error {
	for _, t := range simple {
		if t == "" {
			continue
		}
		key, value, ok := strings.Cut(t, ":")
		if !ok {
			return paramErrorf("tag", t, -1, "expected key:value, as in tag=error:true")
		}
		if key == "" {
			return paramErrorf("tag", t, 0, "the key before the colon is empty")
		}
		s.Tags = append(s.Tags, Tag{Key: key, Value: value})
	}
	for _, v := range structured {
		tags, err := ParseTags(v)
		if err != nil {
			return err
		}
		s.Tags = append(s.Tags, tags...)
	}
	if len(s.Tags) > MaxTags {
		return &ParamError{
			Param: "tags", Offset: -1,
			Msg: fmt.Sprintf("%d tags, more than the %d accepted", len(s.Tags), MaxTags),
			Err: ErrTooManyTags,
		}
	}
	return nil
}

func (s *Search) readTraceIDs(vals []string) error {
	for _, v := range vals {
		if v == "" {
			continue
		}
		s.TraceIDs = append(s.TraceIDs, v)
	}
	for _, id := range s.TraceIDs {
		if !traceIDPattern.MatchString(id) {
			return paramErrorf("traceID", id, -1, "expected up to 32 hexadecimal digits")
		}
	}
	return nil
}
