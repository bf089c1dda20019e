package vlogstest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/loki"
)

func TestStartBulkAndCount(t *testing.T) {
	v := Start(t)
	if !strings.HasPrefix(v.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want http://127.0.0.1:PORT", v.URL)
	}

	resp, err := http.Get(v.ElasticsearchURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("X-Elastic-Product"); got != "Elasticsearch" {
		t.Errorf("GET / X-Elastic-Product = %q, want Elasticsearch", got)
	}
	if !strings.Contains(string(body), `"number"`) {
		t.Errorf("GET / body %q has no version number", body)
	}

	now := time.Now().UTC().Format(time.RFC3339Nano)
	bulk := `{"index":{"_index":"app","_id":"a1"}}` + "\n" +
		`{"@timestamp":"` + now + `","message":"one","seq":1}` + "\n" +
		`{"create":{"_index":"app"}}` + "\n" +
		`{"@timestamp":"` + now + `","message":"two","seq":2}` + "\n"
	resp, err = http.Post(v.ElasticsearchURL()+"/_bulk", "application/x-ndjson", strings.NewReader(bulk))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"errors":false`) {
		t.Fatalf("_bulk returned %d %s, want 200 without errors", resp.StatusCode, body)
	}

	if got := v.WaitNumber(t, `seq:* | count() as n`, "n", 2, 20*time.Second); got != 2 {
		t.Errorf("documents counted = %d, want 2", got)
	}
}

func TestLokiPushKeepsStructuredMetadata(t *testing.T) {
	v := Start(t)
	streams := []loki.Stream{{
		Labels: map[string]string{"job": "vlogstest"},
		Entries: []push.Entry{
			{Timestamp: time.Now(), Line: "first", StructuredMetadata: push.LabelsAdapter{{Name: "es_id", Value: "x1"}}},
			{Timestamp: time.Now(), Line: "second", StructuredMetadata: push.LabelsAdapter{{Name: "es_id", Value: "x2"}}},
		},
	}}
	data, n, err := loki.EncodePush(streams)
	if err != nil || n != 2 {
		t.Fatalf("EncodePush = %d entries, %v", n, err)
	}
	resp, err := http.Post(v.LokiURL()+"/loki/api/v1/push", "application/x-protobuf", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("push returned %d %s", resp.StatusCode, body)
	}

	if got := v.WaitNumber(t, `job:vlogstest | count_uniq(es_id) as n`, "n", 2, 20*time.Second); got != 2 {
		t.Errorf("distinct es_id = %d, want 2", got)
	}
	rows, err := v.Query(context.Background(), `es_id:x1`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0]["_msg"] != "first" {
		t.Errorf("es_id:x1 rows = %v, want one with _msg first", rows)
	}
}
