package kibana

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseExport checks that ParseExport never panics, that a successful
// parse accounts for every non-blank line exactly once, and that a failure
// names a line.
func FuzzParseExport(f *testing.F) {
	f.Add(recordedExport(f))
	for _, name := range []string{"osd-catalog-nginx-index-patterns.ndjson", "pfelk-firewall-drilldown-8.8.ndjson", "examples-speed-layer-7.3.ndjson"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kibana", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	seeds := []string{
		"",
		"\n\n",
		"\xef\xbb\xbf{\"type\":\"a\",\"id\":\"1\"}\r\n",
		`{"type":"a","id":"1"}` + "\n" + `{"exportedCount":1,"missingRefCount":1,"missingReferences":[{"id":"x","type":"search"}]}`,
		`{"exportedCount":0}` + "\n" + `{"type":"a","id":"1"}`,
		`{"type":"a","id":"1"`,
		`[{"_id":"x"}]`,
		`{"type":1,"id":"1"}`,
		`{"exportedCount":1,"type":"a","id":"b"}`,
		`{"type":"a","id":"1"} {"type":"b","id":"2"}`,
		"{\"type\":\"a\",\"id\":\"\\u0000\"}\n\x00",
		`{"id":{},"id":"0","tYpe":"0"}`,
		`{"Type":"a","ID":"1"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		exp, err := ParseExport(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %q does not start with a line number", err)
			}
			return
		}
		if !bytes.Equal(exp.Raw, data) {
			t.Fatal("Raw differs from the input")
		}
		nonBlank := 0
		for _, line := range bytes.Split(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				nonBlank++
			}
		}
		summary := 0
		if exp.HasSummary {
			summary = 1
		}
		if len(exp.Objects)+summary != nonBlank {
			t.Fatalf("%d objects and %d summary lines for %d non-blank lines", len(exp.Objects), summary, nonBlank)
		}
		for i, obj := range exp.Objects {
			var members map[string]any
			if err := json.Unmarshal(obj, &members); err != nil {
				t.Fatalf("object %d %q is not a JSON object: %v", i, obj, err)
			}
			for _, name := range []string{"type", "id"} {
				if s, _ := members[name].(string); s == "" {
					t.Fatalf("object %d %q has no %s string", i, obj, name)
				}
			}
		}
	})
}
