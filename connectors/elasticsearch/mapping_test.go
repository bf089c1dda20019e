package elasticsearch

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/internal/recording"
)

// recordedLeafTypes are the leaf fields of the recorded mappings
// (indices_get_mapping__index and __data_stream), which share one mapping.
var recordedLeafTypes = map[string]string{
	"@timestamp":            "date",
	"host.name":             "keyword",
	"http.response.time_ms": "long",
	"log.level":             "keyword",
	"message":               "text",
	"service.name":          "keyword",
}

func TestFieldsRecordedMappings(t *testing.T) {
	index := load(t, "indices_get_mapping__index")
	stream := load(t, "indices_get_mapping__data_stream")
	tests := []struct {
		name    string
		pattern string
		resp    *recording.Response
		indices []string
	}{
		{"index", "my-index-000001", index.Response, []string{"my-index-000001"}},
		{"data stream", "logs-app-default", stream.Response, []string{".ds-logs-app-default-2099.11.15-000001"}},
		{
			"both", "my-index-000001,logs-app-default", withJSON(t, index.Response, mergeObjects(t, index.Response.Body, stream.Response.Body)),
			[]string{".ds-logs-app-default-2099.11.15-000001", "my-index-000001"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Handle("GET", "/"+tt.pattern+"/_mapping", tt.resp)
			c, _ := newTestClient(t, srv.URL, nil)
			fields, err := c.Fields(context.Background(), tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			var paths []string
			for _, f := range fields {
				got[f.Path] = f.Type
				paths = append(paths, f.Path)
				if !slices.Equal(f.Indices, tt.indices) {
					t.Errorf("%s: indices %v, want %v", f.Path, f.Indices, tt.indices)
				}
				if len(f.Conflicts) != 0 || f.MultiFieldOf != "" || f.Runtime {
					t.Errorf("%s: %+v, want no conflict, multi-field or runtime flag", f.Path, f)
				}
			}
			if diff := cmp.Diff(recordedLeafTypes, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if !slices.IsSorted(paths) {
				t.Errorf("paths %v are not sorted", paths)
			}
		})
	}
}

// mergeObjects merges the top-level keys of JSON objects.
func mergeObjects(t testing.TB, bodies ...[]byte) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for _, b := range bodies {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		maps.Copy(out, m)
	}
	return out
}

func TestFlattenMappings(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Field
	}{
		{
			name: "nested objects and multi-fields",
			body: `{"a":{"mappings":{"properties":{
				"message":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},
				"user":{"properties":{"name":{"type":"keyword"},"geo":{"properties":{"city":{"type":"keyword"}}}}},
				"events":{"type":"nested","properties":{"kind":{"type":"keyword"},"at":{"type":"date"}}},
				"extra":{"type":"object","enabled":false},
				"level":{"type":"alias","path":"log.level"}
			}}}}`,
			want: []Field{
				{Path: "events", Type: "nested", Indices: []string{"a"}},
				{Path: "events.at", Type: "date", Indices: []string{"a"}},
				{Path: "events.kind", Type: "keyword", Indices: []string{"a"}},
				{Path: "extra", Type: "object", Indices: []string{"a"}},
				{Path: "level", Type: "alias", Indices: []string{"a"}, AliasOf: "log.level"},
				{Path: "message", Type: "text", Indices: []string{"a"}},
				{Path: "message.keyword", Type: "keyword", Indices: []string{"a"}, MultiFieldOf: "message"},
				{Path: "user.geo.city", Type: "keyword", Indices: []string{"a"}},
				{Path: "user.name", Type: "keyword", Indices: []string{"a"}},
			},
		},
		{
			name: "conflicts across indices",
			body: `{
				"logs-1":{"mappings":{"properties":{"status":{"type":"long"},"@timestamp":{"type":"date"}}}},
				"logs-2":{"mappings":{"properties":{"status":{"type":"keyword"},"@timestamp":{"type":"date_nanos"}}}},
				"logs-3":{"mappings":{"properties":{"status":{"type":"keyword"},"only3":{"type":"ip"}}}}
			}`,
			want: []Field{
				{
					Path: "@timestamp", Type: "date", Indices: []string{"logs-1", "logs-2"}, Conflicts: []string{"date_nanos"},
					IndicesByType: map[string][]string{"date": {"logs-1"}, "date_nanos": {"logs-2"}},
				},
				{Path: "only3", Type: "ip", Indices: []string{"logs-3"}},
				{
					Path: "status", Type: "keyword", Indices: []string{"logs-1", "logs-2", "logs-3"}, Conflicts: []string{"long"},
					IndicesByType: map[string][]string{"keyword": {"logs-2", "logs-3"}, "long": {"logs-1"}},
				},
			},
		},
		{
			name: "runtime fields shadow mapped ones",
			body: `{"a":{"mappings":{
				"runtime":{"day_of_week":{"type":"keyword","script":{"source":"emit('x')"}},"duration":{"type":"double"}},
				"properties":{"duration":{"type":"long"}}
			}}}`,
			want: []Field{
				{Path: "day_of_week", Type: "keyword", Indices: []string{"a"}, Runtime: true},
				{Path: "duration", Type: "double", Indices: []string{"a"}, Runtime: true},
			},
		},
		{
			name: "multi-field in an object, in one index only",
			body: `{
				"a":{"mappings":{"properties":{"http":{"properties":{"url":{"type":"wildcard","fields":{"text":{"type":"match_only_text"}}}}}}}},
				"b":{"mappings":{"properties":{"http":{"properties":{"url":{"type":"wildcard"}}}}}}
			}`,
			want: []Field{
				{Path: "http.url", Type: "wildcard", Indices: []string{"a", "b"}},
				{Path: "http.url.text", Type: "match_only_text", Indices: []string{"a"}, MultiFieldOf: "http.url"},
			},
		},
		{
			name: "7.x mapping wrapped in its type",
			body: `{"old":{"mappings":{"_doc":{"properties":{"msg":{"type":"text"}}}}}}`,
			want: []Field{{Path: "msg", Type: "text", Indices: []string{"old"}}},
		},
		{
			name: "empty mappings",
			body: `{"empty":{"mappings":{}},"strict":{"mappings":{"dynamic":"strict"}}}`,
			want: []Field{},
		},
		{
			name: "field names that look like mapping keys",
			body: `{"a":{"mappings":{"properties":{"properties":{"properties":{"type":{"type":"keyword"},"fields":{"type":"long"}}}}}}}`,
			want: []Field{
				{Path: "properties.fields", Type: "long", Indices: []string{"a"}},
				{Path: "properties.type", Type: "keyword", Indices: []string{"a"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := flattenMappings([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlattenMappingsRejectsInvalid(t *testing.T) {
	for _, body := range []string{`[]`, `{"a":{"mappings":{"properties":{"x":{"type":7}}}}}`, `{"a":{"mappings":[1]}}`} {
		if _, err := flattenMappings([]byte(body)); err == nil {
			t.Errorf("flattenMappings(%s) succeeded, want an error", body)
		}
	}
}

func TestChooseTimeField(t *testing.T) {
	date := func(path string, conflicts ...string) Field {
		return Field{Path: path, Type: "date", Indices: []string{"a"}, Conflicts: conflicts}
	}
	tests := []struct {
		name    string
		fields  []Field
		want    string
		wantErr string
	}{
		{"@timestamp first", []Field{date("event.created"), date("@timestamp")}, "@timestamp", ""},
		{"@timestamp as date and date_nanos", []Field{date("@timestamp", "date_nanos")}, "@timestamp", ""},
		{"single other date", []Field{{Path: "message", Type: "text"}, date("event.created")}, "event.created", ""},
		{"single date_nanos", []Field{{Path: "ts", Type: "date_nanos"}}, "ts", ""},
		{"several dates", []Field{date("event.created"), date("event.ingested")}, "", "event.created, event.ingested"},
		{"@timestamp is text", []Field{{Path: "@timestamp", Type: "text"}, date("ts")}, "ts", ""},
		{"date mixed with keyword", []Field{date("@timestamp", "keyword")}, "", "@timestamp (date and keyword)"},
		{"multi-field ignored", []Field{{Path: "t", Type: "keyword"}, {Path: "t.date", Type: "date", MultiFieldOf: "t"}}, "", "no date"},
		{"no date", []Field{{Path: "message", Type: "text"}}, "", "no date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chooseTimeField("logs-*", tt.fields)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("chooseTimeField = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("chooseTimeField = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDetectTimeField(t *testing.T) {
	streams := load(t, "indices_get_data_stream__two_streams").Response
	notFound := load(t, "error__index_not_found_404").Response
	mapping := load(t, "indices_get_mapping__index").Response
	noDates := []byte(`{"my-index-000001":{"mappings":{"properties":{"event":{"properties":{"created":{"type":"date"}}},"msg":{"type":"text"}}}}}`)
	tests := []struct {
		name       string
		streams    *recording.Response
		mapping    *recording.Response
		want       string
		wantErr    string
		wantLookup bool
	}{
		{"data stream", streams, nil, "@timestamp", "", false},
		{"not a data stream, @timestamp mapped", notFound, mapping, "@timestamp", "", true},
		{"no data stream matches the wildcard", withBody(streams, []byte(`{"data_streams":[]}`)), withBody(mapping, noDates), "event.created", "", true},
		{"data streams with another timestamp field", withBody(streams, []byte(`{"data_streams":[{"name":"a","timestamp_field":{"name":"event.ts"},"indices":[]}]}`)), nil, "event.ts", "", false},
		{"forbidden", load(t, "error__security_exception_403_unauthorized_index").Response, nil, "", "403", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Handle("GET", "/_data_stream/my-index-000001", tt.streams)
			if tt.mapping != nil {
				srv.Handle("GET", "/my-index-000001/_mapping", tt.mapping)
			}
			c, _ := newTestClient(t, srv.URL, nil)
			got, err := c.DetectTimeField(context.Background(), "my-index-000001")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DetectTimeField = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DetectTimeField = %q, %v; want %q", got, err, tt.want)
			}
			reqs, _ := requestsTo(srv, "GET", "/my-index-000001/_mapping")
			if (len(reqs) > 0) != tt.wantLookup {
				t.Errorf("read the mapping: %v, want %v", len(reqs) > 0, tt.wantLookup)
			}
		})
	}
}

func FuzzFlattenMappings(f *testing.F) {
	f.Add(load(f, "indices_get_mapping__index").Response.Body)
	f.Add(load(f, "indices_get_mapping__data_stream").Response.Body)
	f.Add(load(f, "indices_get__data_stream").Response.Body)
	f.Add([]byte(`{"a":{"mappings":{"runtime":{"r":{"type":"keyword"}},"properties":{"m":{"type":"text","fields":{"k":{"type":"keyword","fields":{"x":{}}}}},"n":{"type":"nested","properties":{"o":{"properties":{}}}}}}}}`))
	f.Add([]byte(`{"a":{"mappings":{"_doc":{"properties":{"x":{"type":"long"}}}}},"b":{"mappings":{"properties":{"x":{"type":"keyword"}}}}}`))
	f.Add([]byte(`{"a":{"mappings":{"properties":{"x.y":{"type":"long"},"x":{"properties":{"y":{"type":"keyword"}}}}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := flattenMappings(body)
		if err != nil {
			return
		}
		for i, fld := range fields {
			if i > 0 && fields[i-1].Path >= fld.Path {
				t.Fatalf("paths not sorted and unique: %q then %q", fields[i-1].Path, fld.Path)
			}
			if len(fld.Indices) == 0 || !slices.IsSorted(fld.Indices) {
				t.Fatalf("%s: indices %v, want a sorted non-empty list", fld.Path, fld.Indices)
			}
			if slices.Contains(fld.Conflicts, fld.Type) {
				t.Fatalf("%s: type %q is also listed as a conflict", fld.Path, fld.Type)
			}
			if (len(fld.Conflicts) > 0) != (fld.IndicesByType != nil) {
				t.Fatalf("%s: conflicts %v but indices by type %v", fld.Path, fld.Conflicts, fld.IndicesByType)
			}
			if fld.MultiFieldOf != "" && !strings.HasPrefix(fld.Path, fld.MultiFieldOf+".") {
				t.Fatalf("%s: multi-field of %q, which is not its parent", fld.Path, fld.MultiFieldOf)
			}
		}
	})
}
