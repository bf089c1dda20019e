package logmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/plans"
)

// FuzzMap feeds arbitrary bytes as _source. Map must never panic, must
// return a *Skip for every document it rejects, and every entry it returns
// must have es_id first, valid UTF-8 labels that match its stream string,
// and a timestamp.
func FuzzMap(f *testing.F) {
	seeds := []string{
		`{"@timestamp":"2023-06-19T16:59:05.000Z","body":"GET /","http":{"request":{"method":"GET"}}}`,
		`{"@timestamp":1687193945123,"body":{"a":[1,2,{"b":null}]},"attributes.data_stream.dataset":"x"}`,
		`{"@timestamp":"2023-06-19","body":"\u00e9\ud83d\ude00\ud800","trace_id":7}`,
		"{\"@timestamp\":\"2023-06-19T16:59:05Z\",\"body\":\"a\xffb\",\"http.request.method\":\"\xfe\"}",
		` { "@timestamp" : "1687193945123" , "body" : "x" } `,
		`{"@timestamp":"2023-06-19T16:59:05+02:00","body":"x","http":{"request.method":"POST"}}`,
		`{"@timestamp":-1.5e3,"body":"x"}`,
		`{"@timestamp":"2023-06-19T16:59:05Z"}`,
		`[1,2,3]`,
		`{"a":`,
		``,
	}
	for _, doc := range loadDocs(f, "nginx-docs.json")[:5] {
		seeds = append(seeds, string(doc))
	}
	for _, doc := range loadDocs(f, "otel-logs-docs.json") {
		seeds = append(seeds, string(doc))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}

	truncating := nginxMapping()
	truncating.OversizeLines = plans.OversizeTruncate
	mappers := []*Mapper{
		mustNew(f, nginxMapping(), Options{MaxLineSize: 64, MaxLabelValueLength: 8}),
		mustNew(f, truncating, Options{MaxLineSize: 16, ExtraLabels: map[string]string{"migrate_backfill": "0"}}),
		mustNew(f, nginxJSONMapping(), Options{}),
	}
	f.Fuzz(func(t *testing.T, source []byte) {
		for _, mp := range mappers {
			e, err := mp.Map("fuzz-id", "nginx-1", source)
			if err != nil {
				var skip *Skip
				if !errors.As(err, &skip) {
					t.Fatalf("error %v is %T, want *Skip", err, err)
				}
				if skip.Reason == "" {
					t.Fatalf("skip without a reason: %v", err)
				}
				continue
			}
			checkEntry(t, mp, e)
			if mp.line == -1 && utf8.Valid(source) {
				var want bytes.Buffer
				if err := json.Compact(&want, source); err != nil {
					t.Fatalf("Map accepted a document that encoding/json rejects: %v", err)
				}
				if e.Entry.Line != want.String() {
					t.Fatalf("whole-document line %q, want json.Compact's %q", e.Entry.Line, want.String())
				}
			}
		}
	})
}

func checkEntry(t *testing.T, mp *Mapper, e Entry) {
	t.Helper()
	md := e.Entry.StructuredMetadata
	if len(md) == 0 || md[0].Name != DocumentIDKey || md[0].Value != "fuzz-id" {
		t.Fatalf("structured metadata %v does not start with es_id", md)
	}
	if e.Entry.Timestamp.IsZero() {
		t.Fatal("entry without a timestamp")
	}
	if len(e.Labels) == 0 {
		t.Fatal("entry without labels")
	}
	for name, v := range e.Labels {
		if !utf8.ValidString(v) || v == "" {
			t.Fatalf("label %s = %q is empty or not valid UTF-8", name, v)
		}
		if !validLabelName(name) {
			t.Fatalf("invalid label name %q", name)
		}
		if n := mp.opts.MaxLabelValueLength; n > 0 && len(v) > n {
			t.Fatalf("label %s is %d bytes, over the limit of %d", name, len(v), n)
		}
	}
	if e.Stream != loki.LabelString(e.Labels) {
		t.Fatalf("stream %s does not match labels %v", e.Stream, e.Labels)
	}
	if !utf8.ValidString(e.Entry.Line) {
		t.Fatalf("line %q is not valid UTF-8", e.Entry.Line)
	}
	if limit := mp.opts.MaxLineSize; limit > 0 && int64(len(e.Entry.Line)) > limit {
		t.Fatalf("line of %d bytes is over MaxLineSize %d", len(e.Entry.Line), limit)
	}
	for _, l := range md {
		if !utf8.ValidString(l.Value) {
			t.Fatalf("structured metadata %s = %q is not valid UTF-8", l.Name, l.Value)
		}
	}
}
