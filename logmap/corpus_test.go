package logmap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/obs-migrate/migrate/plans"
)

// loadDocs returns the _source documents of a testdata file, each with its
// original bytes.
func loadDocs(tb testing.TB, name string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(data, &docs); err != nil {
		tb.Fatalf("%s is not a JSON array of documents: %v", name, err)
	}
	out := make([][]byte, len(docs))
	for i, d := range docs {
		out[i] = d
	}
	return out
}

// nginxMapping maps the nginx corpus with the message as line.
func nginxMapping() plans.LogMapping {
	return plans.LogMapping{
		Indices:   "nginx-*",
		Timestamp: "@timestamp",
		Line:      "body",
		Labels: map[string]string{
			"dataset":   "attributes.data_stream.dataset",
			"namespace": "attributes.data_stream.namespace",
			"method":    "http.request.method",
		},
		StaticLabels:       map[string]string{"job": "nginx"},
		StructuredMetadata: []string{"trace_id", "span_id", "http.response.status_code", "communication.source.ip"},
	}
}

func nginxJSONMapping() plans.LogMapping {
	m := nginxMapping()
	m.Line = plans.LineWholeDocument
	return m
}
