package gateway

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/recording"
)

func TestParseBulk(t *testing.T) {
	type want struct{ op, index, id, source string }
	tests := []struct {
		name         string
		body         string
		defaultIndex string
		want         []want
	}{
		{
			name: "recorded spec example",
			body: string(recording.MustLoad(t, "elasticsearch-8", "bulk__all_ok").Request.Body),
			want: []want{
				{opIndex, "test", "1", `{ "field1" : "value1" }`},
				{opDelete, "test", "2", ""},
				{opCreate, "test", "3", `{ "field1" : "value3" }`},
				{opUpdate, "test", "1", `{ "doc" : {"field2" : "value2"} }`},
			},
		},
		{
			name:         "default index from the path",
			body:         "{\"create\":{}}\n{\"m\":1}\n{\"index\":{\"_index\":\"other\"}}\n{\"m\":2}\n",
			defaultIndex: "logs",
			want:         []want{{opCreate, "logs", "", `{"m":1}`}, {opIndex, "other", "", `{"m":2}`}},
		},
		{
			name: "CRLF, blank lines and no final newline",
			body: "\r\n{\"index\":{\"_index\":\"a\",\"_id\":\"x\"}}\r\n{\"m\":1}\r\n\n\n{\"delete\":{\"_index\":\"a\",\"_id\":\"y\"}}",
			want: []want{{opIndex, "a", "x", `{"m":1}`}, {opDelete, "a", "y", ""}},
		},
		{
			name: "extra action metadata",
			body: `{"index":{"_index":"a","_id":"1","routing":"r","pipeline":"p","require_alias":true}}` + "\n" + `{"m":1}` + "\n",
			want: []want{{opIndex, "a", "1", `{"m":1}`}},
		},
		{name: "empty body", body: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actions, err := parseBulk([]byte(tt.body), tt.defaultIndex)
			if err != nil {
				t.Fatal(err)
			}
			if len(actions) != len(tt.want) {
				t.Fatalf("%d actions, want %d: %+v", len(actions), len(tt.want), actions)
			}
			for i, a := range actions {
				got := want{a.op, a.index, a.id, string(a.source)}
				if got != tt.want[i] {
					t.Errorf("action %d = %+v, want %+v", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestParseBulkErrors(t *testing.T) {
	tests := []struct {
		name, body, wantIn string
	}{
		{"not JSON", "{oops\n{}\n", "line 1"},
		{"two actions on one line", `{"index":{},"create":{}}` + "\n{}\n", "exactly one"},
		{"unknown action", `{"upsert":{}}` + "\n{}\n", "exactly one"},
		{"missing document", `{"index":{"_index":"a"}}` + "\n", "no document line"},
		{"blank document", `{"index":{"_index":"a"}}` + "\n\n" + `{"index":{}}` + "\n", "no document line"},
		{"numeric id", `{"index":{"_id":5}}` + "\n{}\n", "line 1"},
	}
	for _, tt := range tests {
		_, err := parseBulk([]byte(tt.body), "")
		if !errors.Is(err, errBulkBody) || !strings.Contains(err.Error(), tt.wantIn) {
			t.Errorf("%s: err = %v, want errBulkBody mentioning %q", tt.name, err, tt.wantIn)
		}
	}
}

func TestScanActionMatchesDecoder(t *testing.T) {
	lines := []string{
		`{"index":{"_index":"a","_id":"1"}}`,
		`{ "create" : { } }`,
		`{"delete":{"_index":"a","_id":"2","routing":"r","version":3,"if_seq_no":-1,"require_alias":true,"x":null}}`,
		`{"update":{"_id":"1","_index":"test","retry_on_conflict":3}}`,
		`{"index":{"_index":"a","_id":"1"}}  `,
	}
	for _, line := range lines {
		scanned, ok := scanAction([]byte(line), "")
		if !ok {
			t.Errorf("scanAction(%s) did not read a plain action line", line)
			continue
		}
		decoded, err := decodeAction([]byte(line))
		if err != nil || !sameAction(scanned, decoded) {
			t.Errorf("scanAction(%s) = %+v, decoder %+v (%v)", line, scanned, decoded, err)
		}
	}
	for _, line := range []string{
		`{"index":{"_id":"a\"b"}}`, `{"index":{"_id":"é"}}`, `{"index":{"_id":5}}`,
		`{"index":{"x":{"y":1}}}`, `{"index":{"x":01}}`, `{"index":{}}x`, `{"upsert":{}}`, `{"index":{},"create":{}}`,
	} {
		if _, ok := scanAction([]byte(line), ""); ok {
			t.Errorf("scanAction(%s) accepted a line it should leave to the decoder", line)
		}
	}
}

func FuzzParseBulk(f *testing.F) {
	f.Add(string(recording.MustLoad(f, "elasticsearch-8", "bulk__all_ok").Request.Body), "")
	f.Add(string(recording.MustLoad(f, "elasticsearch-8", "bulk__item_error_version_conflict_small").Request.Body), "idx")
	f.Add("{\"create\":{}}\n{\"m\":1}", "logs")
	f.Add("\n\n{\"delete\":{\"_id\":\"1\"}}\r\n", "")
	f.Fuzz(func(t *testing.T, body, defaultIndex string) {
		// The scanner reads an action line as the decoder does wherever it
		// accepts one.
		for _, line := range strings.Split(body, "\n") {
			if scanned, ok := scanAction([]byte(line), ""); ok {
				decoded, err := decodeAction([]byte(line))
				if err != nil || !sameAction(scanned, decoded) {
					t.Fatalf("scanAction(%q) = %+v, decoder %+v (%v)", line, scanned, decoded, err)
				}
			}
		}
		actions, err := parseBulk([]byte(body), defaultIndex)
		if err != nil {
			return
		}
		for i, a := range actions {
			switch a.op {
			case opIndex, opCreate, opUpdate:
				if len(a.source) == 0 {
					t.Fatalf("action %d (%s) has no document", i, a.op)
				}
			case opDelete:
				if a.source != nil {
					t.Fatalf("delete action %d has a document", i)
				}
			default:
				t.Fatalf("action %d has op %q", i, a.op)
			}
			if !strings.Contains(body, string(a.source)) {
				t.Fatalf("action %d's document is not a part of the body", i)
			}
		}
	})
}

func BenchmarkParseBulk(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, `{"index":{"_index":"filebeat-8.17.0","_id":"d-%d"}}`+"\n", i)
		fmt.Fprintf(&sb, `{"@timestamp":"2026-12-04T20:00:00.123Z","message":"GET /api/items/%d 200 12ms","service":{"name":"checkout"},"log":{"level":"info"}}`+"\n", i)
	}
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := parseBulk(body, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func sameAction(a, b bulkAction) bool {
	return a.op == b.op && a.index == b.index && a.id == b.id
}

func TestFastBulkItems(t *testing.T) {
	actions := []bulkAction{{op: opIndex, id: "1"}, {op: opCreate}, {op: opDelete, id: "2"}}
	tests := []struct {
		name    string
		body    string
		actions []bulkAction
		wantOK  bool
		wantIDs []string
	}{
		{
			name:    "all ok",
			body:    `{"took":3,"errors":false,"items":[{"index":{"_index":"a","_id":"1","status":201}},{"create":{"_index":"a","_id":"gen1","status":201}},{"delete":{"_index":"a","_id":"2","result":"not_found","status":404}}]}`,
			actions: actions, wantOK: true, wantIDs: []string{"1", "gen1", "2"},
		},
		{name: "errors true", body: `{"took":3,"errors":true,"items":[]}`, actions: actions},
		{name: "pretty", body: "{\n  \"took\" : 3,\n  \"errors\" : false}", actions: actions},
		{name: "missing ids", body: `{"took":3,"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}},{"create":{"status":201}}]}`, actions: actions},
		{name: "escaped id", body: `{"took":3,"errors":false,"items":[{"index":{"_id":"a\"b"}},{"create":{"_id":"x"}},{"delete":{"_id":"y"}}]}`, actions: actions},
		{name: "extra id", body: `{"took":3,"errors":false,"items":[{"index":{"_id":"1"}},{"create":{"_id":"x"}},{"delete":{"_id":"y"}},{"index":{"_id":"z"}}]}`, actions: actions},
		{name: "update", body: `{"took":3,"errors":false,"items":[{"update":{"_id":"1"}}]}`, actions: []bulkAction{{op: opUpdate, id: "1"}}},
	}
	for _, tt := range tests {
		items, ok := fastBulkItems([]byte(tt.body), tt.actions)
		if ok != tt.wantOK {
			t.Errorf("%s: ok = %v, want %v", tt.name, ok, tt.wantOK)
			continue
		}
		for i, id := range tt.wantIDs {
			if items[i].ID != id || !items[i].OK() {
				t.Errorf("%s: item %d = %+v, want id %s and a 2xx status", tt.name, i, items[i], id)
			}
		}
	}
	// The recorded answer reads the same through both paths.
	ex := recording.MustLoad(t, "elasticsearch-8", "bulk__item_error_version_conflict_small")
	acts, err := parseBulk(ex.Request.Body, "")
	if err != nil {
		t.Fatal(err)
	}
	items, err := bulkItems(ex.Response.Body, acts)
	if err != nil || len(items) != 2 || items[1].Status != 409 {
		t.Errorf("bulkItems of the recorded conflict = %+v, %v", items, err)
	}
}
