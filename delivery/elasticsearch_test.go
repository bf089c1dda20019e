package delivery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/internal/vlogstest"
)

func TestParseBulkResponseRecordings(t *testing.T) {
	tests := []struct {
		file      string
		wantItems []BulkItem
	}{
		{
			file: "bulk__all_ok",
			wantItems: []BulkItem{
				{Op: "index", Index: "test", ID: "1", Status: 201},
				{Op: "delete", Index: "test", ID: "2", Status: 404},
				{Op: "create", Index: "test", ID: "3", Status: 201},
				{Op: "update", Index: "test", ID: "1", Status: 200},
			},
		},
		{
			file: "bulk__item_error_version_conflict_small",
			wantItems: []BulkItem{
				{Op: "index", Index: "test", ID: "1", Status: 201},
				{
					Op: "create", Index: "test", ID: "2", Status: 409, ErrorType: "version_conflict_engine_exception",
					ErrorReason: "[1]: version conflict, document already exists (current version [1])",
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ex := recording.MustLoad(t, "elasticsearch-8", tt.file)
			items, err := ParseBulkResponse(ex.Response.Body)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(items) != fmt.Sprint(tt.wantItems) {
				t.Errorf("items = %+v\nwant %+v", items, tt.wantItems)
			}
		})
	}
}

func TestParseBulkResponseShapes(t *testing.T) {
	for _, file := range []string{"bulk__item_error_version_conflict_409", "bulk__item_errors_document_missing", "bulk__filter_path_items_error"} {
		ex := recording.MustLoad(t, "elasticsearch-8", file)
		items, err := ParseBulkResponse(ex.Response.Body)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		var body struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(ex.Response.Body, &body); err != nil {
			t.Fatal(err)
		}
		if len(items) != len(body.Items) {
			t.Errorf("%s: %d items, want %d", file, len(items), len(body.Items))
		}
		failed := 0
		for _, it := range items {
			if it.ErrorType != "" {
				failed++
			}
		}
		if failed == 0 {
			t.Errorf("%s: no item carries an error type", file)
		}
	}
}

func BenchmarkParseBulkResponse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"took":1,"errors":false,"items":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"index":{"_index":"app-logs","_id":"d-%d","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"status":201,"_seq_no":%d,"_primary_term":1}}`, i, i)
	}
	sb.WriteString("]}")
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseBulkResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseBulkResponseInvalid(t *testing.T) {
	for _, body := range []string{``, `{`, `{"items":[{"index":{},"create":{}}]}`, `{"items":[{}]}`, `{"items":3}`} {
		if _, err := ParseBulkResponse([]byte(body)); err == nil {
			t.Errorf("ParseBulkResponse(%q) returned no error", body)
		}
	}
}

func FuzzParseBulkResponse(f *testing.F) {
	for _, file := range []string{"bulk__all_ok", "bulk__item_error_version_conflict_409", "bulk__filter_path_items_error"} {
		ex := recording.MustLoad(f, "elasticsearch-8", file)
		f.Add(ex.Response.Body)
	}
	f.Add([]byte(`{"took":14,"errors":false,"items":[{"create":{"status":201}}]}`))
	f.Add([]byte(`{"items":[{"index":{"status":"x"}}]}`))
	f.Add([]byte(`{"items":[{"index":{"_id":"a\"b","status":201,"error":{"type":"x","reason":"y","caused_by":{"type":"z"}},"_shards":{"total":[1,2.5e3,null,true]}}}],"errors":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := ParseBulkResponse(body)
		if err != nil {
			return
		}
		for i, it := range items {
			if it.Op == "" {
				t.Fatalf("item %d has no action name", i)
			}
		}
	})
}

// esStandIn is a stand-in for Elasticsearch 8.x's _bulk endpoint, written
// for these tests. Its answers follow the recorded shapes in
// testdata/recordings/elasticsearch-8 (bulk__item_error_version_conflict_small,
// error__es_rejected_execution_429_bulk). A document's "fate" field picks
// its answer; fate "busy" is rejected with 429 the first time only.
type esStandIn struct {
	mu        sync.Mutex
	maxBody   int
	requests  int
	stored    map[string]string
	busyOnce  map[string]bool
	lastQuery string
}

func newESStandIn() *esStandIn {
	return &esStandIn{stored: map[string]string{}, busyOnce: map[string]bool{}}
}

func (s *esStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.lastQuery = r.URL.RawQuery
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if s.maxBody > 0 && len(body) > s.maxBody {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	var items []string
	errorsSeen := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil {
			http.Error(w, `{"error":{"type":"parse_exception"},"status":400}`, http.StatusBadRequest)
			return
		}
		sc.Scan()
		var doc struct {
			Fate string `json:"fate"`
		}
		_ = json.Unmarshal(sc.Bytes(), &doc)
		for op, a := range action {
			var item string
			switch {
			case doc.Fate == "bad":
				errorsSeen = true
				item = fmt.Sprintf(`{%q:{"_index":%q,"_id":%q,"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n] of type [long]"}}}`, op, a.Index, a.ID)
			case doc.Fate == "busy" && !s.busyOnce[a.ID]:
				s.busyOnce[a.ID] = true
				errorsSeen = true
				item = fmt.Sprintf(`{%q:{"_index":%q,"_id":%q,"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}}`, op, a.Index, a.ID)
			case op == "create" && s.stored[a.ID] != "":
				errorsSeen = true
				item = fmt.Sprintf(`{%q:{"_index":%q,"_id":%q,"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[%s]: version conflict, document already exists (current version [1])"}}}`, op, a.Index, a.ID, a.ID)
			default:
				s.stored[a.ID] = sc.Text()
				item = fmt.Sprintf(`{%q:{"_index":%q,"_id":%q,"_version":1,"result":"created","status":201}}`, op, a.Index, a.ID)
			}
			items = append(items, item)
		}
	}
	fmt.Fprintf(w, `{"took":3,"errors":%v,"items":[%s]}`, errorsSeen, strings.Join(items, ","))
}

func newESWriter(t *testing.T, url string, dl DeadLetter) *ElasticsearchWriter {
	t.Helper()
	c, err := httpx.New(httpx.Config{System: "elasticsearch", BaseURL: url, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	w := NewElasticsearchWriter(c, dl)
	w.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return w
}

func esDocs(fates ...string) []Document {
	docs := make([]Document, len(fates))
	for i, fate := range fates {
		op := "index"
		if i%2 == 1 {
			op = "create"
		}
		docs[i] = Document{Op: op, Index: "logs", ID: fmt.Sprintf("d%d", i), Source: json.RawMessage(fmt.Sprintf(`{"n":%d,"fate":%q}`, i, fate))}
	}
	return docs
}

func TestElasticsearchWriterItems(t *testing.T) {
	es := newESStandIn()
	srv := httptest.NewServer(es)
	defer srv.Close()
	dl := &otlpDeadLetters{}
	w := newESWriter(t, srv.URL, dl)

	docs := esDocs("ok", "ok", "bad", "busy", "ok")
	r, err := w.Write(context.Background(), docs)
	if err != nil {
		t.Fatal(err)
	}
	if r.Written != 4 {
		t.Errorf("Written = %d, want 4 (the busy one resent)", r.Written)
	}
	if r.DeadLettered["mapper_parsing_exception"] != 1 || r.Total() != 5 {
		t.Errorf("Result = %+v, want one mapper_parsing_exception and 5 accounted", r)
	}
	if es.requests != 2 {
		t.Errorf("requests = %d, want 2 (the second resends only the 429 item)", es.requests)
	}
	if len(dl.records) != 1 || !strings.Contains(string(dl.records[0]), `"id":"d2"`) {
		t.Errorf("dead-letter records = %q, want document d2", dl.records)
	}
	if !strings.Contains(es.lastQuery, "filter_path") {
		t.Errorf("query %q has no filter_path, so responses carry every item field", es.lastQuery)
	}

	// A whole resend, as after a crash, duplicates nothing: "index"
	// overwrites and "create" is answered 409, which counts as written.
	r, err = w.Write(context.Background(), esDocs("ok", "ok"))
	if err != nil || r.Written != 2 {
		t.Errorf("resend = %+v, %v; want 2 written", r, err)
	}
	if len(es.stored) != 4 {
		t.Errorf("stored = %d documents, want 4", len(es.stored))
	}
}

func TestElasticsearchWriterSplitsOn413(t *testing.T) {
	es := newESStandIn()
	es.maxBody = 200
	srv := httptest.NewServer(es)
	defer srv.Close()
	dl := &otlpDeadLetters{}
	w := newESWriter(t, srv.URL, dl)

	docs := esDocs("ok", "ok", "ok", "ok")
	huge := Document{Op: "index", Index: "logs", ID: "huge", Source: json.RawMessage(`{"m":"` + strings.Repeat("x", 300) + `"}`)}
	docs = append(docs, huge)
	r, err := w.Write(context.Background(), docs)
	if err != nil {
		t.Fatal(err)
	}
	if r.Written != 4 || r.DeadLettered[ESReasonTooLarge] != 1 {
		t.Errorf("Result = %+v, want 4 written and the huge document dead-lettered as too_large", r)
	}
}

func TestElasticsearchWriterChunks(t *testing.T) {
	es := newESStandIn()
	srv := httptest.NewServer(es)
	defer srv.Close()
	w := newESWriter(t, srv.URL, &otlpDeadLetters{})
	w.SetMaxBulkBytes(300)
	fates := make([]string, 20)
	for i := range fates {
		fates[i] = "ok"
	}
	r, err := w.Write(context.Background(), esDocs(fates...))
	if err != nil || r.Written != 20 {
		t.Fatalf("Write = %+v, %v", r, err)
	}
	if es.requests < 4 {
		t.Errorf("requests = %d, want the documents split over several bulk requests of at most 300 bytes", es.requests)
	}
}

func TestElasticsearchWriterRetryableFailures(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"unauthorized", http.StatusUnauthorized},
		{"unavailable", http.StatusServiceUnavailable},
		{"internal error", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Handle(http.MethodPost, "/_bulk", &recording.Response{Status: tt.status, Header: http.Header{}, Body: []byte(`{"error":{"type":"x"},"status":` + fmt.Sprint(tt.status) + `}`)})
			dl := &otlpDeadLetters{}
			w := newESWriter(t, srv.URL, dl)
			r, err := w.Write(context.Background(), esDocs("ok"))
			if err == nil {
				t.Fatalf("Write = %+v with no error, want an error so the caller retries", r)
			}
			if len(dl.records) != 0 {
				t.Errorf("dead-lettered %d records, want none", len(dl.records))
			}
		})
	}
}

func TestElasticsearchWriterRealVictoriaLogs(t *testing.T) {
	v := vlogstest.Start(t)
	w := newESWriter(t, v.ElasticsearchURL(), &otlpDeadLetters{})
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var docs []Document
	for i := range 50 {
		docs = append(docs, Document{Index: "app", ID: fmt.Sprintf("v%d", i), Source: json.RawMessage(fmt.Sprintf(`{"@timestamp":%q,"message":"m%d","seq":%d}`, now, i, i))})
	}
	r, err := w.Write(context.Background(), docs)
	if err != nil || r.Written != 50 {
		t.Fatalf("Write = %+v, %v; want 50 written", r, err)
	}
	if got := v.WaitNumber(t, `seq:* | count_uniq(seq) as n`, "n", 50, 20*time.Second); got != 50 {
		t.Errorf("victoria-logs has %d distinct documents, want 50", got)
	}
}

func TestDocumentRecord(t *testing.T) {
	tests := []struct {
		doc  Document
		want string
	}{
		{Document{Op: "create", Index: "a", ID: "1", Source: json.RawMessage(`{"x":1}`)}, `{"op":"create","index":"a","id":"1","source":{"x":1}}`},
		{Document{Index: "a", Source: json.RawMessage(`{not json`)}, `{"index":"a","source_text":"{not json"}`},
	}
	for _, tt := range tests {
		if got := string(DocumentRecord(tt.doc)); got != tt.want {
			t.Errorf("DocumentRecord(%+v) = %s, want %s", tt.doc, got, tt.want)
		}
	}
}
