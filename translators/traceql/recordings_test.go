package traceql_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/traceql"
)

// recording is one HTTP exchange recorded from Jaeger v1.75.0; see
// testdata/SOURCES.md.
type recording struct {
	Server  string `json:"server"`
	Request struct {
		Path  string         `json:"path"`
		Query map[string]any `json:"query"` // a string, or a list for a repeated parameter
	} `json:"request"`
	Response struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"response"`
}

// url rebuilds the request URL.
func (r recording) url() string {
	v := url.Values{}
	for k, q := range r.Query() {
		v[k] = q
	}
	return r.Request.Path + "?" + v.Encode()
}

// Query returns the request parameters as lists.
func (r recording) Query() map[string][]string {
	out := map[string][]string{}
	for k, q := range r.Request.Query {
		switch q := q.(type) {
		case string:
			out[k] = []string{q}
		case []any:
			for _, v := range q {
				out[k] = append(out[k], v.(string))
			}
		}
	}
	return out
}

// traces decodes the traces of a 200 response.
func (r recording) traces(t *testing.T) []jaegerTrace {
	t.Helper()
	var body struct {
		Data []jaegerTrace `json:"data"`
	}
	dec := json.NewDecoder(strings.NewReader(r.Response.Body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("decoding the recorded response: %v", err)
	}
	return body.Data
}

func loadRecording(t *testing.T, name string) recording {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r recording
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if r.Server != "jaeger v1.75.0" {
		t.Fatalf("%s was recorded from %q", name, r.Server)
	}
	return r
}

// recordedStore returns the traces Jaeger held when the searches were
// recorded, migrated as the Jaeger translator would: every trace that any
// recorded response returned. The recordings' notes record that the store held six
// traces, and these responses contain all six.
func recordedStore(t *testing.T) map[string]jaegerTrace {
	t.Helper()
	store := map[string]jaegerTrace{}
	for _, name := range []string{"v1_find_traces_by_service", "v1_find_traces_tags_json", "v1_find_traces_min_duration"} {
		for _, jt := range loadRecording(t, name).traces(t) {
			store[jt.TraceID] = jt
		}
	}
	if len(store) != 6 {
		t.Fatalf("the recorded responses contain %d traces, want the 6 the store held", len(store))
	}
	return store
}

// TestRecordedSearches renders each recorded search and evaluates the query
// on the recorded store: the selection must be what Jaeger returned, except
// where Jaeger's memory store is known to read a tag differently from
// Jaeger's other backends, which the translation follows.
func TestRecordedSearches(t *testing.T) {
	store := recordedStore(t)
	cases := []struct {
		recording string
		// diverges explains why the translation selects traces that the
		// recorded Jaeger did not, and lists them by service.
		diverges string
		extra    []string
	}{
		{recording: "v1_find_traces_by_service"},
		{recording: "v1_find_traces_min_duration"},
		{recording: "v1_find_traces_tag_param"},
		{recording: "v1_find_traces_tags_json"},
		{recording: "v1_find_traces_no_match"},
		{
			recording: "v1_find_traces_tag_error_true_no_match",
			// Jaeger 1.75's memory store reads the query value "true" with
			// pcommon.Value.Bool(), which is false for a string, and then
			// wants status OK. Its other backends compare the text "true"
			// with the boolean tag and match the span, as status = error does.
			diverges: "the memory store misreads error=true", extra: []string{"rec-frontend"},
		},
		{
			recording: "v1_find_traces_tags_span_kind_no_match",
			// The memory store keeps OTLP spans, where the kind is a field
			// and not an attribute. The v1 backends store span.kind as a tag,
			// and the lets-go spans of recorded-svc are clients.
			diverges: "the memory store does not search span.kind", extra: []string{"recorded-svc"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.recording, func(t *testing.T) {
			rec := loadRecording(t, tc.recording)
			if rec.Response.Status != 200 {
				t.Fatalf("status %d", rec.Response.Status)
			}
			s, err := traceql.ParseSearch(rec.url())
			if err != nil {
				t.Fatalf("ParseSearch(%q): %v", rec.url(), err)
			}
			res := traceql.Render(s, traceql.Options{})
			q, err := parseQuery(res.Query)
			if err != nil {
				t.Fatal(err)
			}

			got := selectNewest(store, q, res.Tempo.Limit)
			want := answerIDs(rec.traces(t))
			for id, jt := range store {
				if tc.diverges != "" && !want[id] && got[id] && contains(tc.extra, jt.Processes["p1"].ServiceName) {
					want[id] = true // the known divergence
				}
			}
			if diff := cmp.Diff(sortedIDs(want), sortedIDs(got)); diff != "" {
				t.Errorf("%s selects other traces than Jaeger returned (-jaeger +tempo):\n%s", res.Query, diff)
			}
			if tc.diverges != "" && len(got) == 0 {
				t.Errorf("%s: the divergence (%s) no longer shows", res.Query, tc.diverges)
			}
		})
	}
}

// selectNewest returns the traces the query selects; with the most_recent
// hint, the limit newest by start time, as Jaeger returns them.
func selectNewest(store map[string]jaegerTrace, q query, limit int) map[string]bool {
	var hits []jaegerTrace
	for _, jt := range store {
		if q.matches(migrate(jt)) {
			hits = append(hits, jt)
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].start() > hits[j].start() })
	if q.mostRecent && len(hits) > limit {
		hits = hits[:limit]
	}
	return answerIDs(hits)
}

func answerIDs(traces []jaegerTrace) map[string]bool {
	ids := map[string]bool{}
	for _, jt := range traces {
		ids[jt.TraceID] = true
	}
	return ids
}

func sortedIDs(ids map[string]bool) []string {
	out := []string{}
	for id, ok := range ids {
		if ok {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestRecordedRejections checks the searches Jaeger rejected with 400.
func TestRecordedRejections(t *testing.T) {
	missing := loadRecording(t, "v1_find_traces_missing_service_400")
	s, err := traceql.ParseSearch(missing.url())
	if err != nil {
		t.Fatalf("ParseSearch: %v", err)
	}
	res := traceql.Render(s, traceql.Options{})
	if res.Fidelity != fidelity.Unsupported || len(res.Reasons) != 1 || res.Reasons[0].Code != "missing_service" {
		t.Errorf("a search without service: %s %v, want unsupported with missing_service", res.Fidelity, res.Reasons)
	}
	if !strings.Contains(missing.Response.Body, "parameter 'service' is required") {
		t.Errorf("the recording does not show Jaeger's rejection: %s", missing.Response.Body)
	}

	badTags := loadRecording(t, "v1_find_traces_bad_tags_json_400")
	_, err = traceql.ParseSearch(badTags.url())
	// Jaeger's error message: malformed 'tags' parameter, cannot unmarshal JSON:
	// invalid character 'n' looking for beginning of object key string.
	const jaegerSaid = "invalid character 'n' looking for beginning of object key string"
	if err == nil || !strings.Contains(err.Error(), jaegerSaid) || !strings.Contains(badTags.Response.Body, jaegerSaid) {
		t.Errorf("bad tags JSON: error %v; Jaeger answered %s", err, badTags.Response.Body)
	}
}
