package traceql_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// This file holds Jaeger's trace model, as its /api/traces responses carry
// it, and migrate, which converts a Jaeger trace the way the OpenTelemetry
// Jaeger translator (pkg/translator/jaeger in opentelemetry-collector-contrib)
// does when traces move to Tempo.

type jaegerKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jaegerLog struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []jaegerKV `json:"fields"`
}

type jaegerSpan struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	StartTime     int64       `json:"startTime"` // microseconds since the epoch
	Duration      int64       `json:"duration"`  // microseconds
	Tags          []jaegerKV  `json:"tags"`
	Logs          []jaegerLog `json:"logs"`
	ProcessID     string      `json:"processID"`
}

type jaegerProcess struct {
	ServiceName string     `json:"serviceName"`
	Tags        []jaegerKV `json:"tags"`
}

type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
}

// start returns the earliest span start, in microseconds.
func (t jaegerTrace) start() int64 {
	first := int64(1 << 62)
	for _, s := range t.Spans {
		first = min(first, s.StartTime)
	}
	return first
}

// typedValue returns the tag value as migrate stores it: string, int64,
// float64 or bool.
func (kv jaegerKV) typedValue() any {
	switch v := kv.Value.(type) {
	case json.Number:
		if kv.Type == "float64" {
			f, _ := v.Float64()
			return f
		}
		n, _ := v.Int64()
		return n
	case float64: // built in Go rather than decoded
		if kv.Type == "int64" {
			return int64(v)
		}
	}
	return kv.Value
}

func toAttrs(tags []jaegerKV) attrs {
	a := attrs{}
	for _, kv := range tags {
		a[kv.Key] = kv.typedValue()
	}
	return a
}

// migrate converts a Jaeger trace as the OpenTelemetry Jaeger translator
// does. Process tags become resource attributes, with hostname renamed to
// host.name, and span.kind becomes the kind. A boolean error tag set to true
// becomes the error status, and otel.status_code and otel.status_description
// set the status when no error tag did. The otel.scope.* tags become the
// instrumentation scope, and logs become events named by their event field.
// A string error tag stays an attribute. The translator's fallback from
// http.status_code to a status is left out because no test depends on it.
func migrate(jt jaegerTrace) trace {
	t := trace{id: fmt.Sprintf("%032s", strings.ToLower(jt.TraceID))}
	start := jt.start()
	byProcess := map[string]int{}
	ids := make([]string, 0, len(jt.Processes))
	for id := range jt.Processes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		byProcess[id] = len(t.resources)
		t.resources = append(t.resources, migrateProcess(jt.Processes[id]))
	}
	for _, js := range jt.Spans {
		i := byProcess[js.ProcessID]
		t.resources[i].spans = append(t.resources[i].spans, migrateSpan(js, start))
	}
	return t
}

func migrateProcess(p jaegerProcess) resource {
	a := toAttrs(p.Tags)
	a["service.name"] = p.ServiceName
	if h, ok := a["hostname"]; ok {
		if _, has := a["host.name"]; !has {
			a["host.name"] = h
			delete(a, "hostname")
		}
	}
	return resource{attrs: a}
}

func migrateSpan(js jaegerSpan, traceStart int64) span {
	s := span{
		name:  js.OperationName,
		start: time.Duration(js.StartTime-traceStart) * time.Microsecond,
		attrs: toAttrs(js.Tags),
	}
	s.end = s.start + time.Duration(js.Duration)*time.Microsecond

	if k, ok := s.attrs["span.kind"].(string); ok {
		switch k {
		case "client", "server", "producer", "consumer", "internal":
			s.kind = k
		}
		delete(s.attrs, "span.kind")
	}
	migrateStatus(&s)
	if name, ok := s.attrs["otel.scope.name"].(string); ok {
		s.scopeName = name
		delete(s.attrs, "otel.scope.name")
		if v, ok := s.attrs["otel.scope.version"].(string); ok {
			s.scopeVersion = v
			delete(s.attrs, "otel.scope.version")
		}
	}
	for _, l := range js.Logs {
		e := event{attrs: toAttrs(l.Fields)}
		if name, ok := e.attrs["event"].(string); ok {
			e.name = name
			delete(e.attrs, "event")
		}
		s.events = append(s.events, e)
	}
	return s
}

func migrateStatus(s *span) {
	set := false
	if v, ok := s.attrs["error"].(bool); ok && v {
		s.status, set = "error", true
		delete(s.attrs, "error")
		takeDescription(s)
	}
	code, ok := s.attrs["otel.status_code"].(string)
	if !ok {
		return
	}
	if !set {
		switch strings.ToUpper(code) {
		case "OK":
			s.status = "ok"
		case "ERROR":
			s.status = "error"
		default:
			s.status = "unset"
		}
		takeDescription(s)
	}
	delete(s.attrs, "otel.status_code")
}

func takeDescription(s *span) {
	if d, ok := s.attrs["otel.status_description"].(string); ok {
		s.statusMessage = d
		delete(s.attrs, "otel.status_description")
	}
}
