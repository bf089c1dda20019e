package logmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/plans"
)

func mustNew(t testing.TB, m plans.LogMapping, opts Options) *Mapper {
	t.Helper()
	mp, err := New(m, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return mp
}

func mustMap(t testing.TB, mp *Mapper, id, source string) Entry {
	t.Helper()
	e, err := mp.Map(id, "logs-1", []byte(source))
	if err != nil {
		t.Fatalf("Map(%s): %v", source, err)
	}
	return e
}

func skipReason(t testing.TB, err error) string {
	t.Helper()
	var s *Skip
	if !errors.As(err, &s) {
		t.Fatalf("error %v (%T) is not a *Skip", err, err)
	}
	return s.Reason
}

func TestMapNginxDocument(t *testing.T) {
	docs := loadDocs(t, "nginx-docs.json")
	mp := mustNew(t, nginxMapping(), Options{})
	e, err := mp.Map("doc-0", "nginx-2023.06.19", docs[0])
	if err != nil {
		t.Fatal(err)
	}
	wantTime := time.Date(2023, 6, 19, 16, 59, 5, 0, time.UTC)
	if !e.Entry.Timestamp.Equal(wantTime) {
		t.Errorf("timestamp = %v, want %v", e.Entry.Timestamp, wantTime)
	}
	wantLine := `46.35.219.51 - - [19/Jun/2023:16:59:05 +0000] "GET /Grass-roots.hmtl HTTP/1.1" 200 956 "-" "Mozilla/5.0 (Windows 98) AppleWebKit/5360 (KHTML, like Gecko) Chrome/37.0.868.0 Mobile Safari/5360"`
	if e.Entry.Line != wantLine {
		t.Errorf("line = %q, want %q", e.Entry.Line, wantLine)
	}
	wantLabels := map[string]string{"dataset": "nginx.access", "namespace": "production", "method": "GET", "job": "nginx"}
	if diff := cmp.Diff(wantLabels, e.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if e.Stream != loki.LabelString(wantLabels) {
		t.Errorf("stream = %s, want %s", e.Stream, loki.LabelString(wantLabels))
	}
	wantMetadata := push.LabelsAdapter{
		{Name: "es_id", Value: "doc-0"},
		{Name: "trace_id", Value: "102981ABCD2901"},
		{Name: "span_id", Value: "abcdef1010"},
		{Name: "http_response_status_code", Value: "200"},
		{Name: "communication_source_ip", Value: "46.35.219.51"},
	}
	if diff := cmp.Diff(wantMetadata, e.Entry.StructuredMetadata); diff != "" {
		t.Errorf("structured metadata (-want +got):\n%s", diff)
	}
	if e.Truncated {
		t.Error("Truncated is true for a short line")
	}
}

func TestMapTimestamps(t *testing.T) {
	mp := mustNew(t, plans.LogMapping{Timestamp: "ts", Line: "msg", StaticLabels: map[string]string{"job": "t"}}, Options{})
	tests := []struct {
		name  string
		value string // JSON text of the ts field; empty leaves it out
		want  time.Time
		skip  string
	}{
		{"rfc3339 millis", `"2023-06-19T16:59:05.123Z"`, time.Date(2023, 6, 19, 16, 59, 5, 123e6, time.UTC), ""},
		{"rfc3339 nanos", `"2024-01-31T23:06:12.018111600Z"`, time.Date(2024, 1, 31, 23, 6, 12, 18111600, time.UTC), ""},
		{"nine digits kept", `"2024-01-31T23:06:12.123456789Z"`, time.Date(2024, 1, 31, 23, 6, 12, 123456789, time.UTC), ""},
		{"more than nine digits cut", `"2024-01-31T23:06:12.1234567891Z"`, time.Date(2024, 1, 31, 23, 6, 12, 123456789, time.UTC), ""},
		{"offset with colon", `"2023-06-19T18:59:05+02:00"`, time.Date(2023, 6, 19, 16, 59, 5, 0, time.UTC), ""},
		{"offset without colon", `"2023-06-19T11:29:05-0530"`, time.Date(2023, 6, 19, 16, 59, 5, 0, time.UTC), ""},
		{"offset hours only", `"2023-06-19T18:59:05+02"`, time.Date(2023, 6, 19, 16, 59, 5, 0, time.UTC), ""},
		{"no zone is UTC", `"2023-06-19T16:59:05"`, time.Date(2023, 6, 19, 16, 59, 5, 0, time.UTC), ""},
		{"space separator", `"2023-06-19 16:59:05.5"`, time.Date(2023, 6, 19, 16, 59, 5, 5e8, time.UTC), ""},
		{"minutes only", `"2023-06-19T16:59Z"`, time.Date(2023, 6, 19, 16, 59, 0, 0, time.UTC), ""},
		{"date only", `"2023-06-19"`, time.Date(2023, 6, 19, 0, 0, 0, 0, time.UTC), ""},
		{"leap day", `"2024-02-29T00:00:00Z"`, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ""},
		{"escaped string", `"2023-06-19T16:59:05\u002E250Z"`, time.Date(2023, 6, 19, 16, 59, 5, 25e7, time.UTC), ""},
		{"epoch millis number", `1687193945123`, time.Date(2023, 6, 19, 16, 59, 5, 123e6, time.UTC), ""},
		{"epoch millis fraction", `1687193945123.456789`, time.Date(2023, 6, 19, 16, 59, 5, 123456789, time.UTC), ""},
		{"epoch millis exponent", `1.687193945123e12`, time.Date(2023, 6, 19, 16, 59, 5, 123e6, time.UTC), ""},
		{"epoch millis string", `"1687193945123"`, time.Date(2023, 6, 19, 16, 59, 5, 123e6, time.UTC), ""},
		{"negative epoch millis", `-1000`, time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{"missing", ``, time.Time{}, ReasonMissingTimestamp},
		{"null", `null`, time.Time{}, ReasonMissingTimestamp},
		{"empty string", `""`, time.Time{}, ReasonMissingTimestamp},
		{"not a date", `"yesterday"`, time.Time{}, ReasonInvalidTimestamp},
		{"february 30", `"2023-02-30T00:00:00Z"`, time.Time{}, ReasonInvalidTimestamp},
		{"non-leap february 29", `"2023-02-29T00:00:00Z"`, time.Time{}, ReasonInvalidTimestamp},
		{"hour 24", `"2023-06-19T24:00:00Z"`, time.Time{}, ReasonInvalidTimestamp},
		{"trailing text", `"2023-06-19T16:59:05Z junk"`, time.Time{}, ReasonInvalidTimestamp},
		{"bad offset", `"2023-06-19T16:59:05+2"`, time.Time{}, ReasonInvalidTimestamp},
		{"dot without digits", `"2023-06-19T16:59:05.Z"`, time.Time{}, ReasonInvalidTimestamp},
		{"year 9999 beyond int64 nanoseconds", `"9999-01-01T00:00:00Z"`, time.Time{}, ReasonInvalidTimestamp},
		{"year 1600 before int64 nanoseconds", `"1600-01-01T00:00:00Z"`, time.Time{}, ReasonInvalidTimestamp},
		{"epoch millis overflow", `99999999999999999999`, time.Time{}, ReasonInvalidTimestamp},
		{"epoch millis string overflow", `"99999999999999999999"`, time.Time{}, ReasonInvalidTimestamp},
		{"boolean", `true`, time.Time{}, ReasonInvalidTimestamp},
		{"object", `{"a":1}`, time.Time{}, ReasonInvalidTimestamp},
		{"array", `["2023-06-19T16:59:05Z"]`, time.Time{}, ReasonInvalidTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"msg":"m"}`
			if tt.value != "" {
				doc = `{"msg":"m","ts":` + tt.value + `}`
			}
			e, err := mp.Map("id", "logs-1", []byte(doc))
			if tt.skip != "" {
				if err == nil {
					t.Fatalf("Map returned timestamp %v, want skip %s", e.Entry.Timestamp, tt.skip)
				}
				if got := skipReason(t, err); got != tt.skip {
					t.Errorf("skip reason = %s, want %s (%v)", got, tt.skip, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !e.Entry.Timestamp.Equal(tt.want) {
				t.Errorf("timestamp = %s, want %s", e.Entry.Timestamp.Format(time.RFC3339Nano), tt.want.Format(time.RFC3339Nano))
			}
			if e.Entry.Timestamp.Location() != time.UTC {
				t.Errorf("timestamp location = %v, want UTC", e.Entry.Timestamp.Location())
			}
		})
	}
}

func TestMapFieldPaths(t *testing.T) {
	mp := mustNew(t, plans.LogMapping{
		Timestamp: "@timestamp", Line: "log.message",
		Labels: map[string]string{"app": "kubernetes.labels.app"},
	}, Options{})
	tests := []struct {
		name    string
		doc     string
		wantApp string
		line    string
	}{
		{"nested", `{"@timestamp":"2023-01-01T00:00:00Z","log":{"message":"m"},"kubernetes":{"labels":{"app":"web"}}}`, "web", "m"},
		{"literal dotted key", `{"@timestamp":"2023-01-01T00:00:00Z","log.message":"m","kubernetes.labels.app":"web"}`, "web", "m"},
		{"dotted then nested", `{"@timestamp":"2023-01-01T00:00:00Z","log":{"message":"m"},"kubernetes.labels":{"app":"web"}}`, "web", "m"},
		{"nested then dotted", `{"@timestamp":"2023-01-01T00:00:00Z","log":{"message":"m"},"kubernetes":{"labels.app":"web"}}`, "web", "m"},
		{"first occurrence wins", `{"@timestamp":"2023-01-01T00:00:00Z","log.message":"first","log":{"message":"second"},"kubernetes.labels.app":"a","kubernetes":{"labels":{"app":"b"}}}`, "a", "first"},
		{"unrelated nesting skipped", `{"x":{"kubernetes":{"labels":{"app":"no"}}},"@timestamp":"2023-01-01T00:00:00Z","log":{"message":"m"},"kubernetes":{"labels":{"app":"web"}}}`, "web", "m"},
		{"escaped key", `{"@timestamp":"2023-01-01T00:00:00Z","log":{"m\u0065ssage":"m"},"kubernetes":{"labels":{"app":"web"}}}`, "web", "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustMap(t, mp, "id", tt.doc)
			if got := e.Labels["app"]; got != tt.wantApp {
				t.Errorf("label app = %q, want %q", got, tt.wantApp)
			}
			if e.Entry.Line != tt.line {
				t.Errorf("line = %q, want %q", e.Entry.Line, tt.line)
			}
		})
	}
}

func TestMapLabelValues(t *testing.T) {
	mapping := plans.LogMapping{
		Timestamp: "ts", Line: "msg",
		Labels:       map[string]string{"v": "v", "other": "o"},
		StaticLabels: map[string]string{"job": "j"},
	}
	mp := mustNew(t, mapping, Options{MaxLabelValueLength: 5})
	tests := []struct {
		name  string
		value string // JSON text of field v
		want  string // "" means the label is absent
	}{
		{"string", `"abc"`, "abc"},
		{"number text kept", `1.50`, "1.50"},
		{"boolean", `false`, "false"},
		{"array as compact JSON", `[ 1, 2 ]`, "[1,2]"},
		{"empty omitted", `""`, ""},
		{"null omitted", `null`, ""},
		{"cut to max length", `"abcdefgh"`, "abcde"},
		{"cut at a UTF-8 boundary", `"abcdé"`, "abcd"},
		{"invalid UTF-8 replaced", "\"a\xffb\"", "a\uFFFDb"},
		{"escape decoded", `"a\nb"`, "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustMap(t, mp, "id", `{"ts":"2023-01-01T00:00:00Z","msg":"m","v":`+tt.value+`}`)
			got, ok := e.Labels["v"]
			if tt.want == "" {
				if ok {
					t.Errorf("label v = %q, want it omitted", got)
				}
			} else if got != tt.want {
				t.Errorf("label v = %q, want %q", got, tt.want)
			}
			if _, ok := e.Labels["other"]; ok {
				t.Error("label other is set although its field is missing")
			}
			if e.Labels["job"] != "j" {
				t.Errorf("static label job = %q, want j", e.Labels["job"])
			}
			if e.Stream != loki.LabelString(e.Labels) {
				t.Errorf("stream %s does not match labels %v", e.Stream, e.Labels)
			}
			for name, v := range e.Labels {
				if !utf8.ValidString(v) {
					t.Errorf("label %s = %q is not valid UTF-8", name, v)
				}
			}
		})
	}
}

func TestMapExtraLabels(t *testing.T) {
	mapping := plans.LogMapping{
		Timestamp: "ts", Line: "msg",
		Labels:       map[string]string{"app": "app", "migrate_backfill": "shard"},
		StaticLabels: map[string]string{"job": "j"},
	}
	mp := mustNew(t, mapping, Options{ExtraLabels: map[string]string{"migrate_backfill": "3"}})
	e := mustMap(t, mp, "id", `{"ts":"2023-01-01T00:00:00Z","msg":"m","app":"web","shard":"9"}`)
	want := map[string]string{"app": "web", "job": "j", "migrate_backfill": "3"}
	if diff := cmp.Diff(want, e.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestMapSharesLabelSets(t *testing.T) {
	mp := mustNew(t, nginxMapping(), Options{})
	docs := loadDocs(t, "nginx-docs.json")
	a, err := mp.Map("a", "nginx-1", docs[0])
	if err != nil {
		t.Fatal(err)
	}
	b, err := mp.Map("b", "nginx-1", docs[0])
	if err != nil {
		t.Fatal(err)
	}
	if a.Stream != b.Stream {
		t.Fatalf("same document gave streams %s and %s", a.Stream, b.Stream)
	}
	a.Labels["probe"] = "x"
	defer delete(a.Labels, "probe")
	if b.Labels["probe"] != "x" {
		t.Error("entries with the same labels do not share one map")
	}
}

func TestMapStructuredMetadata(t *testing.T) {
	mapping := plans.LogMapping{
		Timestamp: "ts", Line: "msg", StaticLabels: map[string]string{"job": "j"},
		StructuredMetadata: []string{"trace.id", "code", "tags", "empty", "missing", "nil", "_index"},
	}
	mp := mustNew(t, mapping, Options{})
	e, err := mp.Map("doc-7", "logs-2023", []byte(`{"ts":"2023-01-01T00:00:00Z","msg":"m","trace":{"id":"abc"},"code":404,"tags":["a", "b"],"empty":"","nil":null}`))
	if err != nil {
		t.Fatal(err)
	}
	want := push.LabelsAdapter{
		{Name: "es_id", Value: "doc-7"},
		{Name: "trace_id", Value: "abc"},
		{Name: "code", Value: "404"},
		{Name: "tags", Value: `["a","b"]`},
		{Name: "_index", Value: "logs-2023"},
	}
	if diff := cmp.Diff(want, e.Entry.StructuredMetadata); diff != "" {
		t.Errorf("structured metadata (-want +got):\n%s", diff)
	}
}

func TestMapLine(t *testing.T) {
	messageMapping := plans.LogMapping{Timestamp: "ts", Line: "msg", StaticLabels: map[string]string{"job": "j"}}
	truncating := messageMapping
	truncating.OversizeLines = plans.OversizeTruncate
	jsonMapping := plans.LogMapping{Timestamp: "ts", Line: "json", StaticLabels: map[string]string{"job": "j"}}
	tests := []struct {
		name      string
		mapping   plans.LogMapping
		maxLine   int64
		doc       string
		want      string
		truncated bool
		skip      string
	}{
		{"message", messageMapping, 0, `{"ts":"2023-01-01T00:00:00Z","msg":"hello"}`, "hello", false, ""},
		{"message with escapes", messageMapping, 0, `{"ts":"2023-01-01T00:00:00Z","msg":"a\"b\\c\/d\u00e9\ud83d\ude00\t"}`, "a\"b\\c/d\u00e9\U0001F600\t", false, ""},
		{"lone surrogate replaced", messageMapping, 0, `{"ts":"2023-01-01T00:00:00Z","msg":"x\ud800y"}`, "x\uFFFDy", false, ""},
		{"number line", messageMapping, 0, `{"ts":"2023-01-01T00:00:00Z","msg":42}`, "42", false, ""},
		{"object line", messageMapping, 0, `{"ts":"2023-01-01T00:00:00Z","msg":{"a": 1}}`, `{"a":1}`, false, ""},
		{"empty line kept", messageMapping, 0, `{"ts":"2023-01-01T00:00:00Z","msg":""}`, "", false, ""},
		{"missing line", messageMapping, 0, `{"ts":"2023-01-01T00:00:00Z"}`, "", false, ReasonMissingLine},
		{"null line", messageMapping, 0, `{"ts":"2023-01-01T00:00:00Z","msg":null}`, "", false, ReasonMissingLine},
		{"at the limit", messageMapping, 5, `{"ts":"2023-01-01T00:00:00Z","msg":"12345"}`, "12345", false, ""},
		{"over the limit", messageMapping, 5, `{"ts":"2023-01-01T00:00:00Z","msg":"123456"}`, "", false, ReasonLineTooLong},
		{"truncated", truncating, 5, `{"ts":"2023-01-01T00:00:00Z","msg":"123456"}`, "12345", true, ""},
		{"truncated at a UTF-8 boundary", truncating, 5, `{"ts":"2023-01-01T00:00:00Z","msg":"1234é"}`, "1234", true, ""},
		{"whole document compact", jsonMapping, 0, `{"ts":"2023-01-01T00:00:00Z","msg":"a b"}`, `{"ts":"2023-01-01T00:00:00Z","msg":"a b"}`, false, ""},
		{"whole document compacted", jsonMapping, 0, " {\n \"ts\" : \"2023-01-01T00:00:00Z\",\t\"msg\": [1, {\"x\" : \"a b\"}]\n}\n", `{"ts":"2023-01-01T00:00:00Z","msg":[1,{"x":"a b"}]}`, false, ""},
		{"whole document over the limit", jsonMapping, 10, `{"ts":"2023-01-01T00:00:00Z"}`, "", false, ReasonLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := mustNew(t, tt.mapping, Options{MaxLineSize: tt.maxLine})
			e, err := mp.Map("id", "logs-1", []byte(tt.doc))
			if tt.skip != "" {
				if err == nil {
					t.Fatalf("Map returned line %q, want skip %s", e.Entry.Line, tt.skip)
				}
				if got := skipReason(t, err); got != tt.skip {
					t.Errorf("skip reason = %s, want %s", got, tt.skip)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Entry.Line != tt.want {
				t.Errorf("line = %q, want %q", e.Entry.Line, tt.want)
			}
			if e.Truncated != tt.truncated {
				t.Errorf("Truncated = %v, want %v", e.Truncated, tt.truncated)
			}
		})
	}
}

func TestMapWholeDocumentMatchesCompact(t *testing.T) {
	mp := mustNew(t, nginxJSONMapping(), Options{})
	for i, doc := range loadDocs(t, "nginx-docs.json") {
		e, err := mp.Map(fmt.Sprint(i), "nginx-1", doc)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var want bytes.Buffer
		if err := json.Compact(&want, doc); err != nil {
			t.Fatal(err)
		}
		if e.Entry.Line != want.String() {
			t.Fatalf("document %d: line\n%s\nwant\n%s", i, e.Entry.Line, want.String())
		}
	}
}

func TestMapInvalidDocuments(t *testing.T) {
	mp := mustNew(t, plans.LogMapping{Timestamp: "ts", Line: "msg", StaticLabels: map[string]string{"job": "j"}}, Options{})
	tests := []struct {
		name string
		doc  string
	}{
		{"empty", ``},
		{"whitespace", "  \n"},
		{"array", `[{"ts":1}]`},
		{"string", `"x"`},
		{"truncated object", `{"ts":"2023-01-01T00:00:00Z","msg":"m"`},
		{"truncated string", `{"ts":"2023-01-01T00:00:00Z","msg":"m`},
		{"trailing data", `{"ts":"2023-01-01T00:00:00Z","msg":"m"} {}`},
		{"missing colon", `{"ts" "2023-01-01T00:00:00Z"}`},
		{"unquoted key", `{ts:"2023-01-01T00:00:00Z"}`},
		{"trailing comma", `{"ts":"2023-01-01T00:00:00Z","msg":"m",}`},
		{"bad escape", `{"ts":"2023-01-01T00:00:00Z","msg":"\x"}`},
		{"short unicode escape", `{"ts":"2023-01-01T00:00:00Z","msg":"\u12"}`},
		{"control character", "{\"ts\":\"2023-01-01T00:00:00Z\",\"msg\":\"a\nb\"}"},
		{"bad literal", `{"ts":"2023-01-01T00:00:00Z","msg":"m","x":tru}`},
		{"bad number", `{"ts":"2023-01-01T00:00:00Z","msg":"m","x":01}`},
		{"number without fraction digits", `{"ts":"2023-01-01T00:00:00Z","msg":"m","x":1.}`},
		{"number without exponent digits", `{"ts":"2023-01-01T00:00:00Z","msg":"m","x":1e}`},
		{"unclosed array", `{"ts":"2023-01-01T00:00:00Z","msg":"m","x":[1,2}`},
		{"too deep", `{"x":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := mp.Map("id", "logs-1", []byte(tt.doc))
			if err == nil {
				t.Fatalf("Map accepted %q as %+v", tt.doc, e)
			}
			if got := skipReason(t, err); got != ReasonInvalidDocument {
				t.Errorf("skip reason = %s, want %s (%v)", got, ReasonInvalidDocument, err)
			}
			validJSON := tt.name == "array" || tt.name == "string" || tt.name == "too deep"
			if json.Valid([]byte(tt.doc)) != validJSON {
				t.Errorf("encoding/json validity of %q is %v, want %v: the case does not test what its name says", tt.doc, !validJSON, validJSON)
			}
		})
	}
}

func TestMapDeepButAllowedNesting(t *testing.T) {
	mp := mustNew(t, plans.LogMapping{Timestamp: "ts", Line: "msg", StaticLabels: map[string]string{"job": "j"}}, Options{})
	doc := `{"ts":"2023-01-01T00:00:00Z","msg":"m","x":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`
	if _, err := mp.Map("id", "logs-1", []byte(doc)); err != nil {
		t.Fatalf("nesting of %d levels: %v", maxDepth, err)
	}
}

func TestMapMissingIDAndLabels(t *testing.T) {
	withLabel := mustNew(t, plans.LogMapping{Timestamp: "ts", Line: "msg", Labels: map[string]string{"app": "app"}}, Options{})
	doc := `{"ts":"2023-01-01T00:00:00Z","msg":"m"}`
	if _, err := withLabel.Map("", "logs-1", []byte(doc)); skipReason(t, err) != ReasonMissingID {
		t.Errorf("empty _id: got %v, want skip %s", err, ReasonMissingID)
	}
	if _, err := withLabel.Map("id", "logs-1", []byte(doc)); skipReason(t, err) != ReasonNoLabels {
		t.Errorf("no label value: got %v, want skip %s", err, ReasonNoLabels)
	}
	e, err := withLabel.Map("id", "logs-1", []byte(`{"ts":"2023-01-01T00:00:00Z","msg":"m","app":"web"}`))
	if err != nil {
		t.Fatalf("label present after a document without it: %v", err)
	}
	if e.Labels["app"] != "web" {
		t.Errorf("label app = %q, want web", e.Labels["app"])
	}
	withIndex := mustNew(t, plans.LogMapping{Timestamp: "ts", Line: "msg", Labels: map[string]string{"index": "_index"}}, Options{})
	e, err = withIndex.Map("id", "logs-2023.01.01", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if e.Labels["index"] != "logs-2023.01.01" {
		t.Errorf("label from _index = %q, want logs-2023.01.01", e.Labels["index"])
	}
}

// TestMapDuplicateDocuments checks the entries that Loki's duplicate rule
// (Loki 3.7.6: same stream, timestamp, line and structured metadata are
// stored once) sees: the same document mapped twice gives identical
// entries, and two documents that differ only in _id give entries that
// differ in es_id.
func TestMapDuplicateDocuments(t *testing.T) {
	mp := mustNew(t, nginxMapping(), Options{})
	doc := loadDocs(t, "nginx-docs.json")[0]
	first, err := mp.Map("a1", "nginx-1", doc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := mp.Map("a1", "nginx-1", doc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("same document mapped twice differs (-first +again):\n%s", diff)
	}
	other, err := mp.Map("a2", "nginx-1", doc)
	if err != nil {
		t.Fatal(err)
	}
	if other.Stream != first.Stream || !other.Entry.Timestamp.Equal(first.Entry.Timestamp) || other.Entry.Line != first.Entry.Line {
		t.Fatal("documents with the same source differ in stream, timestamp or line")
	}
	if cmp.Equal(other.Entry.StructuredMetadata, first.Entry.StructuredMetadata) {
		t.Error("documents with different _id have the same structured metadata, so Loki would store one of them")
	}
}

func TestMapAgainstEncodingJSON(t *testing.T) {
	mapping := plans.LogMapping{
		Timestamp: "time", Line: "body",
		Labels:             map[string]string{"service": "resource.attributes.service@name", "severity": "severityText"},
		StructuredMetadata: []string{"traceId", "severityNumber", "log.attributes.otelTraceSampled", "resource.attributes.process@pid"},
	}
	mp := mustNew(t, mapping, Options{})
	for i, doc := range loadDocs(t, "otel-logs-docs.json") {
		var ref map[string]any
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if err := dec.Decode(&ref); err != nil {
			t.Fatal(err)
		}
		e, err := mp.Map(fmt.Sprint("doc-", i), "otel-1", doc)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if e.Entry.Line != ref["body"] {
			t.Errorf("document %d: line %q, want %q", i, e.Entry.Line, ref["body"])
		}
		wantTime, err := time.Parse(time.RFC3339Nano, ref["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if !e.Entry.Timestamp.Equal(wantTime) {
			t.Errorf("document %d: timestamp %v, want %v", i, e.Entry.Timestamp, wantTime)
		}
		if got, want := e.Labels["service"], ref["resource.attributes.service@name"]; got != want {
			t.Errorf("document %d: label service %q, want %v", i, got, want)
		}
		meta := map[string]string{}
		for _, l := range e.Entry.StructuredMetadata {
			meta[l.Name] = l.Value
		}
		for field, key := range map[string]string{
			"traceId": "traceId", "severityNumber": "severityNumber",
			"log.attributes.otelTraceSampled": "log_attributes_otelTraceSampled",
			"resource.attributes.process@pid": "resource_attributes_process_pid",
		} {
			v, present := ref[field]
			want := ""
			if present {
				want = fmt.Sprint(v)
			}
			if meta[key] != want {
				t.Errorf("document %d: metadata %s = %q, want %q", i, key, meta[key], want)
			}
		}
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	base := plans.LogMapping{Indices: "logs-*", Timestamp: "ts", Line: "msg", StaticLabels: map[string]string{"job": "j"}}
	badOversize := base
	badOversize.OversizeLines = "drop"
	colliding := base
	colliding.StructuredMetadata = []string{"trace.id", "trace_id"}
	badLabel := base
	badLabel.Labels = map[string]string{"bad-name": "f"}
	tests := []struct {
		name    string
		mapping plans.LogMapping
		opts    Options
		want    string
	}{
		{"oversize_lines", badOversize, Options{}, `invalid oversize_lines "drop"`},
		{"metadata collision", colliding, Options{}, `both become "trace_id"`},
		{"label name", badLabel, Options{}, `invalid label name "bad-name"`},
		{"extra label name", base, Options{ExtraLabels: map[string]string{"__x": "1"}}, `invalid extra label name "__x"`},
		{"negative line size", base, Options{MaxLineSize: -1}, "invalid MaxLineSize -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.mapping, tt.opts)
			if err == nil {
				t.Fatal("New accepted the mapping")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestSetFor(t *testing.T) {
	set, err := NewSet([]plans.LogMapping{
		{Indices: "nginx-*", Line: "body", StaticLabels: map[string]string{"job": "nginx"}},
		{Indices: "nginx-error-*,app-*", Line: "msg", StaticLabels: map[string]string{"job": "app"}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		index string
		want  string // job label of the chosen mapping, "" for none
	}{
		{"nginx-2023.06.19", "nginx"},
		{"nginx-error-2023.06.19", "nginx"}, // the first match wins
		{"app-1", "app"},
		{"other", ""},
	}
	for range 2 { // the second round reads the cache
		for _, tt := range tests {
			mp := set.For(tt.index)
			if tt.want == "" {
				if mp != nil {
					t.Errorf("For(%q) = mapping %q, want none", tt.index, mp.Mapping().Indices)
				}
				continue
			}
			if mp == nil {
				t.Fatalf("For(%q) = nil, want the mapping with job %s", tt.index, tt.want)
			}
			if got := mp.Mapping().StaticLabels["job"]; got != tt.want {
				t.Errorf("For(%q) picked job %s, want %s", tt.index, got, tt.want)
			}
		}
	}
	if _, err := NewSet([]plans.LogMapping{{Indices: "a", OversizeLines: "x"}}, Options{}); err == nil || !strings.Contains(err.Error(), "logs[0]") {
		t.Errorf("NewSet error %v does not name the entry logs[0]", err)
	}
}

func TestMapConcurrent(t *testing.T) {
	mp := mustNew(t, nginxMapping(), Options{})
	docs := loadDocs(t, "nginx-docs.json")
	want := make([]Entry, len(docs))
	for i, d := range docs {
		want[i] = mustMap(t, mp, fmt.Sprint(i), string(d))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := range docs {
				j := (i + w*37) % len(docs)
				e, err := mp.Map(fmt.Sprint(j), "nginx-1", docs[j])
				if err != nil {
					errs <- err
					return
				}
				if !cmp.Equal(e, want[j]) {
					errs <- fmt.Errorf("document %d mapped differently under concurrency", j)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
