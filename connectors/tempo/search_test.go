package tempo

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/obs-migrate/migrate/internal/recording"
)

// searchRequestOf rebuilds the SearchRequest behind a recorded search.
func searchRequestOf(t *testing.T, ex *recording.Exchange) SearchRequest {
	t.Helper()
	q := ex.Request.Query
	req := SearchRequest{Query: first(q["q"])}
	if s := first(q["start"]); s != "" {
		req.Start = time.Unix(mustAtoi(t, s), 0)
	}
	if s := first(q["end"]); s != "" {
		req.End = time.Unix(mustAtoi(t, s), 0)
	}
	if s := first(q["limit"]); s != "" {
		req.Limit = int(mustAtoi(t, s))
	}
	if s := first(q["spss"]); s != "" {
		req.SpansPerSpanSet = int(mustAtoi(t, s))
	}
	return req
}

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// recordedSearch is the part of a recorded search response that the
// summaries are checked against, decoded with encoding/json alone.
type recordedSearch struct {
	Traces []struct {
		TraceID           string `json:"traceID"`
		RootServiceName   string `json:"rootServiceName"`
		RootTraceName     string `json:"rootTraceName"`
		StartTimeUnixNano string `json:"startTimeUnixNano"`
		DurationMs        int64  `json:"durationMs"`
		SpanSets          []struct {
			Matched int `json:"matched"`
			Spans   []struct {
				SpanID     string `json:"spanID"`
				Attributes []struct {
					Key string `json:"key"`
				} `json:"attributes"`
			} `json:"spans"`
		} `json:"spanSets"`
		ServiceStats map[string]ServiceStats `json:"serviceStats"`
	} `json:"traces"`
}

func TestSearchRecorded(t *testing.T) {
	for _, name := range []string{"search_traceql_found", "search_traceql_empty", "search_traceql_spanset_filter", "search_traceql_historical_30d", "search_traceql_with_metrics_function_returns_200"} {
		t.Run(name, func(t *testing.T) {
			ex := load(t, name)
			srv := recording.NewServer(t)
			srv.Replay(ex)
			c, _ := newTestClient(t, srv.URL, nil)
			got, err := c.Search(context.Background(), searchRequestOf(t, ex))
			if err != nil {
				t.Fatal(err)
			}

			reqs, _ := srv.Requests()
			sent := reqs[0].URL.Query()
			for key, values := range ex.Request.Query {
				if sent.Get(key) != values[0] {
					t.Errorf("query %s = %q, recorded %q", key, sent.Get(key), values[0])
				}
			}

			var want recordedSearch
			if err := json.Unmarshal(ex.Response.Body, &want); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want.Traces) {
				t.Fatalf("%d traces, recording has %d", len(got), len(want.Traces))
			}
			for i, w := range want.Traces {
				g := got[i]
				if g.TraceID != strings.Repeat("0", 32-len(w.TraceID))+w.TraceID || len(g.TraceID) != 32 {
					t.Errorf("trace %d id %q, recorded %q", i, g.TraceID, w.TraceID)
				}
				if g.RootServiceName != w.RootServiceName || g.RootTraceName != w.RootTraceName {
					t.Errorf("trace %d root %q %q", i, g.RootServiceName, g.RootTraceName)
				}
				if ns := g.Start.UnixNano(); w.StartTimeUnixNano != "" && ns != mustAtoi(t, w.StartTimeUnixNano) {
					t.Errorf("trace %d start %d ns, recorded %s", i, ns, w.StartTimeUnixNano)
				}
				if g.Duration != time.Duration(w.DurationMs)*time.Millisecond {
					t.Errorf("trace %d duration %s, recorded %d ms", i, g.Duration, w.DurationMs)
				}
				if diff := cmp.Diff(w.ServiceStats, g.ServiceStats); diff != "" {
					t.Errorf("trace %d service stats (-recorded +got):\n%s", i, diff)
				}
				if len(g.SpanSets) != len(w.SpanSets) {
					t.Fatalf("trace %d: %d span sets, recorded %d", i, len(g.SpanSets), len(w.SpanSets))
				}
				for j, ws := range w.SpanSets {
					gs := g.SpanSets[j]
					if gs.Matched != ws.Matched || len(gs.Spans) != len(ws.Spans) {
						t.Errorf("span set %d: matched %d with %d spans, recorded %d with %d", j, gs.Matched, len(gs.Spans), ws.Matched, len(ws.Spans))
						continue
					}
					for k, wspan := range ws.Spans {
						gspan := gs.Spans[k]
						if gspan.SpanID != wspan.SpanID {
							t.Errorf("span %d id %q, recorded %q", k, gspan.SpanID, wspan.SpanID)
						}
						if gspan.Duration <= 0 || gspan.Start.IsZero() {
							t.Errorf("span %d start %s duration %s", k, gspan.Start, gspan.Duration)
						}
						for _, a := range wspan.Attributes {
							if _, ok := gspan.Attributes[a.Key].(string); !ok {
								t.Errorf("span %d attribute %q = %#v, expected a string", k, a.Key, gspan.Attributes[a.Key])
							}
						}
					}
				}
			}
		})
	}
}

func TestSearchLegacyTagsAnswer(t *testing.T) {
	got, err := DecodeSearch(load(t, "search_tags_legacy_param").Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].SpanSets != nil || got[0].RootServiceName == "" {
		t.Errorf("legacy search answer decoded as %+v, expected one trace without span sets", got)
	}
}

func TestSearchErrors(t *testing.T) {
	t.Run("parse error is permanent and keeps Tempo's text", func(t *testing.T) {
		ex := load(t, "err_search_traceql_parse_error_400")
		srv := recording.NewServer(t)
		srv.Replay(ex)
		c, s := newTestClient(t, srv.URL, nil)
		_, err := c.Search(context.Background(), searchRequestOf(t, ex))
		var te *Error
		if !errors.As(err, &te) {
			t.Fatalf("error = %v, expected *Error", err)
		}
		if !errors.Is(err, ErrInvalidArgument) || te.Status != 400 || !te.Permanent {
			t.Errorf("reason %q status %d permanent %v", te.Reason, te.Status, te.Permanent)
		}
		if te.Message != string(ex.Response.Body) || !strings.Contains(err.Error(), "parse error at line 1, col 10") {
			t.Errorf("message %q, error %q: Tempo's text is not kept", te.Message, err)
		}
		if strings.Contains(err.Error(), "?q=") {
			t.Errorf("error repeats the query string: %q", err)
		}
		if len(s.all()) != 0 {
			t.Error("a 400 was retried")
		}
	})
	t.Run("start after end is caught before sending", func(t *testing.T) {
		ex := load(t, "err_search_start_after_end_400")
		srv := recording.NewServer(t)
		srv.Replay(ex)
		c, _ := newTestClient(t, srv.URL, nil)
		_, err := c.Search(context.Background(), searchRequestOf(t, ex))
		if err == nil || !strings.Contains(err.Error(), "swap them") {
			t.Errorf("error = %v, expected a local start-after-end error", err)
		}
		if reqs, _ := srv.Requests(); len(reqs) != 0 {
			t.Errorf("sent %d requests", len(reqs))
		}
	})
	t.Run("negative limit", func(t *testing.T) {
		c, _ := newTestClient(t, "http://127.0.0.1:1", nil)
		if _, err := c.Search(context.Background(), SearchRequest{Limit: -1}); err == nil {
			t.Error("negative limit accepted")
		}
	})
	t.Run("server error is retried", func(t *testing.T) {
		srv := recording.NewServer(t)
		srv.Handle("GET", "/api/search", &recording.Response{Status: 502, Body: []byte("bad gateway")}, load(t, "search_traceql_empty").Response)
		c, s := newTestClient(t, srv.URL, nil)
		got, err := c.Search(context.Background(), SearchRequest{Query: "{}"})
		if err != nil || len(got) != 0 || len(s.all()) != 1 {
			t.Errorf("got %v, error %v, waits %v; expected an empty result after one retry", got, err, s.all())
		}
	})
}

func TestDecodeSearchForms(t *testing.T) {
	body := `{"traces":[{"traceID":"ABC","rootServiceName":"<root span not yet received>","startTimeUnixNano":1796400051719929672,"durationMs":"3",
		"spanSet":{"matched":"1","attributes":[{"key":"count","value":{"intValue":"2"}}],
		"spans":[{"spanID":"f","name":"GET","durationNanos":5,"attributes":[
			{"key":"s","value":{"stringValue":"x"}},{"key":"b","value":{"boolValue":true}},{"key":"i","value":{"intValue":-7}},
			{"key":"d","value":{"doubleValue":1.5}},{"key":"nan","value":{"doubleValue":"NaN"}},{"key":"raw","value":{"bytesValue":"AAE="}},
			{"key":"arr","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"}]}}},
			{"key":"kv","value":{"kvlistValue":{"values":[{"key":"k","value":{"boolValue":false}}]}}},
			{"key":"emptykv","value":{"kvlistValue":{}}},{"key":"none","value":{}}]}]}}]}`
	got, err := DecodeSearch([]byte(body))
	if err != nil {
		t.Fatal(err)
	}

	tr := got[0]
	want(t, "TraceID", tr.TraceID, "00000000000000000000000000000abc")
	want(t, "Start", tr.Start.UnixNano(), int64(1796400051719929672))
	want(t, "Duration", tr.Duration, 3*time.Millisecond)
	if len(tr.SpanSets) != 1 {
		t.Fatalf("span sets %d, expected the deprecated spanSet as one", len(tr.SpanSets))
	}

	set := tr.SpanSets[0]
	want(t, "Matched", set.Matched, 1)
	want(t, "set attribute", set.Attributes["count"], any(int64(2)))

	span := set.Spans[0]
	want(t, "SpanID", span.SpanID, "000000000000000f")
	want(t, "Start", span.Start.IsZero(), true)
	want(t, "Duration", span.Duration, 5*time.Nanosecond)
	wantAttrs := map[string]any{
		"s": "x", "b": true, "i": int64(-7), "d": 1.5, "raw": []byte{0, 1},
		"arr": []any{"a", int64(1)}, "kv": map[string]any{"k": false}, "emptykv": map[string]any{}, "none": nil,
	}
	nan := span.Attributes["nan"]
	delete(span.Attributes, "nan")
	if diff := cmp.Diff(wantAttrs, span.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if f, ok := nan.(float64); !ok || f == f {
		t.Errorf("NaN attribute = %#v", nan)
	}
}

func TestDecodeSearchErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not JSON", `nope`, "invalid search JSON"},
		{"missing trace id", `{"traces":[{}]}`, "trace 0: traceID: missing id"},
		{"long trace id", `{"traces":[{"traceID":"` + strings.Repeat("a", 33) + `"}]}`, "longer than 32"},
		{"non-hex trace id", `{"traces":[{"traceID":"xyz"}]}`, "not hex"},
		{"bad start", `{"traces":[{"traceID":"a","startTimeUnixNano":"soon"}]}`, "invalid unsigned integer"},
		{"start out of range", `{"traces":[{"traceID":"a","startTimeUnixNano":"18446744073709551615"}]}`, "out of range"},
		{"bad span id", `{"traces":[{"traceID":"a","spanSets":[{"spans":[{"spanID":"zz"}]}]}]}`, "span set 0: span 0: spanID"},
		{"bad int attribute", `{"traces":[{"traceID":"a","spanSets":[{"attributes":[{"key":"n","value":{"intValue":"1.5"}}]}]}]}`, `attribute "n"`},
		{"bad bytes attribute", `{"traces":[{"traceID":"a","spanSets":[{"attributes":[{"key":"n","value":{"bytesValue":"!"}}]}]}]}`, "bytesValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSearch([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, expected it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTagsRecorded(t *testing.T) {
	tests := []struct {
		recording string
		scope     string
		scopes    []string
	}{
		{"search_tags_v2", "", []string{"event", "intrinsic", "resource", "span"}},
		{"search_tags_v2_scope_resource", "resource", []string{"resource"}},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			ex := load(t, tt.recording)
			srv := recording.NewServer(t)
			srv.Replay(ex)
			c, _ := newTestClient(t, srv.URL, nil)
			got, err := c.Tags(context.Background(), tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			var scopes []string
			for name, tags := range got {
				scopes = append(scopes, name)
				if len(tags) == 0 {
					t.Errorf("scope %q has no tags", name)
				}
			}
			if diff := cmp.Diff(tt.scopes, scopes, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("scopes (-want +got):\n%s", diff)
			}
			if !contains(got["resource"], "service.name") {
				t.Errorf("resource tags %v lack service.name", got["resource"])
			}
			reqs, _ := srv.Requests()
			if reqs[0].URL.Query().Get("scope") != tt.scope {
				t.Errorf("scope parameter %q, expected %q", reqs[0].URL.Query().Get("scope"), tt.scope)
			}
		})
	}
	t.Run("v1 fallback", func(t *testing.T) {
		srv := recording.NewServer(t)
		srv.Handle("GET", "/api/v2/search/tags", &recording.Response{Status: 404, Body: []byte("404 page not found\n")})
		srv.Replay(load(t, "search_tags_v1"))
		c, _ := newTestClient(t, srv.URL, nil)
		got, err := c.SearchTags(context.Background(), TagsRequest{Start: time.Unix(1796399451, 0), End: time.Unix(1796400651, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !contains(got[""], "service.name") {
			t.Errorf("v1 tags decoded as %v, expected unscoped names under \"\"", got)
		}
	})
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func TestTagValuesRecorded(t *testing.T) {
	for _, name := range []string{"search_tag_values_v2_resource_service_name", "search_tag_values_v2_with_q_filter", "search_tag_values_v2_intrinsic_name"} {
		t.Run(name, func(t *testing.T) {
			ex := load(t, name)
			srv := recording.NewServer(t)
			srv.Replay(ex)
			c, _ := newTestClient(t, srv.URL, nil)
			tag := strings.TrimSuffix(strings.TrimPrefix(ex.Request.Path, "/api/v2/search/tag/"), "/values")
			got, err := c.SearchTagValues(context.Background(), tag, TagValuesRequest{
				Query: first(ex.Request.Query["q"]),
				Start: time.Unix(mustAtoi(t, ex.Request.Query["start"][0]), 0),
				End:   time.Unix(mustAtoi(t, ex.Request.Query["end"][0]), 0),
			})
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				TagValues []TagValue `json:"tagValues"`
			}
			if err := json.Unmarshal(ex.Response.Body, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.TagValues, got); diff != "" || len(got) == 0 {
				t.Errorf("tag values (-recorded +got):\n%s", diff)
			}
			reqs, _ := srv.Requests()
			if reqs[0].URL.Path != ex.Request.Path || reqs[0].URL.Query().Get("q") != first(ex.Request.Query["q"]) {
				t.Errorf("requested %s q=%q, recorded %s %v", reqs[0].URL.Path, reqs[0].URL.Query().Get("q"), ex.Request.Path, ex.Request.Query)
			}
		})
	}
	t.Run("v1 strings", func(t *testing.T) {
		got, err := DecodeTagValues(load(t, "search_tag_values_v1_service_name").Response.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0].Type != "" || got[0].Value == "" {
			t.Errorf("v1 values decoded as %v", got)
		}
	})
	t.Run("unscoped tag is a typed 400", func(t *testing.T) {
		ex := load(t, "err_search_tag_values_v2_bad_tag_400")
		srv := recording.NewServer(t)
		srv.Replay(ex)
		c, _ := newTestClient(t, srv.URL, nil)
		_, err := c.TagValues(context.Background(), "service.name", "")
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "unknown identifier: service") {
			t.Errorf("error = %v, expected INVALID_ARGUMENT with Tempo's text", err)
		}
	})
	t.Run("invalid tag names", func(t *testing.T) {
		c, _ := newTestClient(t, "http://127.0.0.1:1", nil)
		for _, tag := range []string{"", "a/b", "x?y"} {
			if _, err := c.TagValues(context.Background(), tag, ""); err == nil {
				t.Errorf("tag %q accepted", tag)
			}
		}
	})
}

func TestDecodeTagsErrors(t *testing.T) {
	if _, err := DecodeTags([]byte(`{"scopes":"x"}`)); err == nil {
		t.Error("DecodeTags accepted a string scopes")
	}
	if _, err := DecodeTagValues([]byte(`{"tagValues":[5]}`)); err == nil || !strings.Contains(err.Error(), "value 0") {
		t.Errorf("DecodeTagValues error = %v", err)
	}
}
