package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/google/go-cmp/cmp"
	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/logmap"
	"github.com/obs-migrate/migrate/plans"
)

const lokiRecordings = "loki-3.7.6"

// lokiFake is a test Loki that applies the rules recorded from Loki 3.7.6
// (TestLokiFakeMatchesRecordings checks each against the recordings):
//
//   - an entry with the same stream, timestamp, line and structured
//     metadata as a stored one is dropped silently. Entries that differ in
//     structured metadata are both kept.
//   - a push above the burst gets the ingestion-rate 429;
//   - the distributor rejects lines over maxLine, entries before oldCutoff
//     and after newCutoff, stores the rest and answers 400 naming the
//     rejected entries, grouped as "N errors like: ..." when there are
//     several;
//   - the ingester refuses new streams beyond maxStreams (429) and entries
//     more than window behind the newest entry of their stream (400,
//     listing at most 10 of them), and reports only the last stream that
//     failed;
//   - a body above maxBody gets 413, as a proxy in front of Loki sends.
//
// Scripted responses are played before these rules, one per push; a nil
// response lets the push through to the rules.
type lokiFake struct {
	t    *testing.T
	addr string

	mu         sync.Mutex
	srv        *http.Server
	burst      int64
	maxBody    int
	maxLine    int
	maxStreams int
	oldCutoff  time.Time
	newCutoff  time.Time
	window     time.Duration
	script     []*recording.Response

	streams map[string]bool      // stream key -> created
	highest map[string]time.Time // stream key -> newest stored entry
	stored  map[string]int       // entry key -> times a push carried it while stored
	pushes  []lokiFakePush
}

// lokiFakePush is one push the fake received.
type lokiFakePush struct {
	status    int
	entries   int
	batchSize int64
	bodyBytes int
}

func newLokiFake(t *testing.T) *lokiFake {
	t.Helper()
	f := &lokiFake{
		t:       t,
		streams: map[string]bool{},
		highest: map[string]time.Time{},
		stored:  map[string]int{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.serve(ln)
	t.Cleanup(f.down)
	return f
}

func (f *lokiFake) serve(ln net.Listener) {
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// down closes the listener, so connections are refused.
func (f *lokiFake) down() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// up listens again on the same address.
func (f *lokiFake) up() {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatalf("listening again on %s: %v", f.addr, err)
	}
	f.serve(ln)
}

func (f *lokiFake) url() string { return "http://" + f.addr }

func (f *lokiFake) queue(responses ...*recording.Response) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, responses...)
}

func (f *lokiFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/loki/api/v1/push" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	status, msg, p := f.push(body)
	p.status, p.bodyBytes = status, len(body)
	f.pushes = append(f.pushes, p)
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	if status == 0 { // scripted
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// lokiFakeError is one distributor validation error.
type lokiFakeError struct {
	kind, msg string
}

func (f *lokiFake) push(body []byte) (int, string, lokiFakePush) {
	var p lokiFakePush
	if len(f.script) > 0 {
		resp := f.script[0]
		f.script = f.script[1:]
		if resp != nil {
			return resp.Status, string(resp.Body), p
		}
	}
	if f.maxBody > 0 && len(body) > f.maxBody {
		return http.StatusRequestEntityTooLarge, "413 Request Entity Too Large", p
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return http.StatusBadRequest, "snappy: corrupt input", p
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		return http.StatusBadRequest, "proto: " + err.Error(), p
	}
	streams := make([]loki.Stream, 0, len(req.Streams))
	for _, s := range req.Streams {
		labels, rest, ok := lokiParseLabels(s.Labels)
		if !ok || rest != "" {
			return http.StatusBadRequest, "couldn't parse labels: " + s.Labels, p
		}
		streams = append(streams, loki.Stream{Labels: labels, Entries: s.Entries})
		p.entries += len(s.Entries)
	}
	p.batchSize = loki.BatchSize(streams)
	if f.burst > 0 && p.batchSize > f.burst {
		return http.StatusTooManyRequests, fmt.Sprintf("ingestion rate limit exceeded for user fake (limit: %d bytes/sec) while attempting to ingest '%d' lines totaling '%d' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased", f.burst, p.entries, p.batchSize), p
	}

	var invalid []lokiFakeError
	valid := make([]loki.Stream, 0, len(streams))
	for _, s := range streams {
		shown := lokiFakeShown(s.Labels)
		var keep []push.Entry
		for _, e := range s.Entries {
			switch {
			case f.maxLine > 0 && len(e.Line) > f.maxLine:
				invalid = append(invalid, lokiFakeError{"line", fmt.Sprintf("max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes", f.maxLine, shown, len(e.Line))})
			case !f.oldCutoff.IsZero() && e.Timestamp.Before(f.oldCutoff):
				invalid = append(invalid, lokiFakeError{"old", fmt.Sprintf("entry for stream '%s' has timestamp too old: %s, oldest acceptable timestamp is: %s", shown, e.Timestamp.UTC().Format(time.RFC3339), f.oldCutoff.UTC().Format(time.RFC3339))})
			case !f.newCutoff.IsZero() && e.Timestamp.After(f.newCutoff):
				invalid = append(invalid, lokiFakeError{"new", fmt.Sprintf("entry for stream '%s' has timestamp too new: %s", shown, e.Timestamp.UTC().Format(time.RFC3339))})
			default:
				keep = append(keep, e)
			}
		}
		if len(keep) > 0 {
			valid = append(valid, loki.Stream{Labels: s.Labels, Entries: keep})
		}
	}

	status, msg := 0, ""
	for _, s := range valid {
		key := loki.LabelString(s.Labels)
		shown := lokiFakeShown(s.Labels)
		if !f.streams[key] {
			if f.maxStreams > 0 && len(f.streams) >= f.maxStreams {
				status = http.StatusTooManyRequests
				msg = fmt.Sprintf("maximum active stream limit exceeded when trying to create stream %s, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'fake'", shown)
				continue
			}
			f.streams[key] = true
		}
		var failed []push.Entry
		for _, e := range s.Entries {
			newest, seen := f.highest[key]
			if f.window > 0 && seen && e.Timestamp.Before(newest.Add(-f.window)) {
				failed = append(failed, e)
				continue
			}
			f.stored[lokiKey(key, e)]++
			if !seen || e.Timestamp.After(newest) {
				f.highest[key] = e.Timestamp
			}
		}
		if len(failed) > 0 {
			var b strings.Builder
			for _, e := range failed[:min(len(failed), 10)] {
				cutoff := f.highest[key].Add(-f.window)
				fmt.Fprintf(&b, "entry with timestamp %s ignored, reason: 'entry too far behind, entry timestamp is: %s, oldest acceptable timestamp is: %s',\n",
					e.Timestamp.UTC().String(), e.Timestamp.UTC().Format(time.RFC3339), cutoff.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(&b, "user 'fake', total ignored: %d out of %d for stream: %s", len(failed), len(s.Entries), shown)
			status, msg = http.StatusBadRequest, b.String()
		}
	}
	if status != 0 {
		return status, msg, p
	}
	if len(invalid) > 0 {
		return http.StatusBadRequest, lokiFakeGroup(invalid), p
	}
	return http.StatusNoContent, "", p
}

// lokiFakeShown is a stream's labels as Loki prints them, with the
// service_name label Loki 3 adds (from job here).
func lokiFakeShown(labels map[string]string) string {
	shown := maps.Clone(labels)
	if _, ok := shown["service_name"]; !ok {
		shown["service_name"] = "unknown_service"
		if job, ok := labels["job"]; ok {
			shown["service_name"] = job
		}
	}
	return loki.LabelString(shown)
}

// lokiFakeGroup joins validation errors as Loki 3.7.6 does: one error as
// it is, several as "N errors like: first; M errors like: first".
func lokiFakeGroup(errs []lokiFakeError) string {
	if len(errs) == 1 {
		return errs[0].msg
	}
	var kinds []string
	count := map[string]int{}
	first := map[string]string{}
	for _, e := range errs {
		if count[e.kind] == 0 {
			kinds = append(kinds, e.kind)
			first[e.kind] = e.msg
		}
		count[e.kind]++
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d errors like: %s", count[k], first[k])
	}
	return strings.Join(parts, "; ")
}

// lokiKey identifies an entry as Loki's duplicate rule does.
func lokiKey(stream string, e push.Entry) string {
	var b strings.Builder
	b.WriteString(stream)
	fmt.Fprintf(&b, "\x00%d\x00%s", e.Timestamp.UnixNano(), e.Line)
	for _, l := range e.StructuredMetadata {
		fmt.Fprintf(&b, "\x00%s=%s", l.Name, l.Value)
	}
	return b.String()
}

func (f *lokiFake) storedKeys() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for k := range f.stored {
		out[k] = true
	}
	return out
}

func (f *lokiFake) received() []lokiFakePush {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pushes)
}

// lokiDeadLetters records dead-lettered entries; it fails every Put from
// failFrom on when failFrom > 0.
type lokiDeadLetters struct {
	mu       sync.Mutex
	records  []lokiDeadLetterRecord
	failFrom int
	calls    int
}

type lokiDeadLetterRecord struct {
	destination, reason, detail string
	entry                       lokiDeadRecord
}

func (d *lokiDeadLetters) Put(destination, reason, detail string, record []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.failFrom > 0 && d.calls >= d.failFrom {
		return errors.New("disk full")
	}
	var rec lokiDeadRecord
	if err := json.Unmarshal(record, &rec); err != nil {
		return fmt.Errorf("record is not JSON: %w", err)
	}
	d.records = append(d.records, lokiDeadLetterRecord{destination, reason, detail, rec})
	return nil
}

func (d *lokiDeadLetters) byReason() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for _, r := range d.records {
		out[r.reason]++
	}
	return out
}

// keys returns the duplicate-rule key of each dead-lettered entry.
func (d *lokiDeadLetters) keys(t *testing.T) map[string]string {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for _, r := range d.records {
		ts, err := time.Parse(time.RFC3339Nano, r.entry.Timestamp)
		if err != nil {
			t.Fatalf("dead-letter timestamp %q: %v", r.entry.Timestamp, err)
		}
		e := push.Entry{Timestamp: ts, Line: r.entry.Line}
		for _, l := range r.entry.StructuredMetadata {
			e.StructuredMetadata = append(e.StructuredMetadata, push.LabelAdapter{Name: l.Name, Value: l.Value})
		}
		out[lokiKey(r.entry.Stream, e)] = r.reason
	}
	return out
}

// lokiEntry builds an entry as logmap does, with es_id first.
func lokiEntry(labels map[string]string, ts time.Time, line, id string) logmap.Entry {
	return logmap.Entry{
		Stream: loki.LabelString(labels),
		Labels: labels,
		Entry: push.Entry{
			Timestamp:          ts,
			Line:               line,
			StructuredMetadata: push.LabelsAdapter{{Name: "es_id", Value: id}},
		},
	}
}

// lokiEntries returns n entries spread over streams jobs, one second apart
// from start, with distinct lines.
func lokiEntries(start time.Time, n int, jobs ...string) []logmap.Entry {
	out := make([]logmap.Entry, n)
	for i := range out {
		job := jobs[i%len(jobs)]
		out[i] = lokiEntry(map[string]string{"job": job}, start.Add(time.Duration(i)*time.Second), fmt.Sprintf("line %d of %s", i, job), fmt.Sprint("id-", i))
	}
	return out
}

func newLokiTestWriter(t *testing.T, f *lokiFake, limits loki.Limits, dl DeadLetter) *LokiWriter {
	t.Helper()
	c, err := loki.New(loki.Config{
		URL: f.url(), MaxAttempts: 2, Timeout: 5 * time.Second,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	return NewLokiWriter(c, limits, dl)
}

// lokiWriteAll calls Write until every entry is accounted for or calls run
// out, resending only the pending entries, as a caller should. before runs
// ahead of each call. It checks that each call accounts for every entry
// exactly once: counted in the Result, or pending in the error.
func lokiWriteAll(t *testing.T, w *LokiWriter, entries []logmap.Entry, calls int, before func(call int)) (Result, []*LokiWriteError) {
	t.Helper()
	var total Result
	var errs []*LokiWriteError
	pending := entries
	for call := 0; call < calls && len(pending) > 0; call++ {
		if before != nil {
			before(call)
		}
		res, err := w.Write(context.Background(), pending)
		total.Add(res)
		if err == nil {
			if res.Total() != len(pending) {
				t.Errorf("call %d: Result accounts for %d of %d entries without an error: %+v", call, res.Total(), len(pending), res)
			}
			pending = nil
			break
		}
		var werr *LokiWriteError
		if !errors.As(err, &werr) {
			t.Fatalf("call %d: error %v is %T, want *LokiWriteError", call, err, err)
		}
		if got := res.Total() + len(werr.Pending); got != len(pending) {
			t.Errorf("call %d: %d counted + %d pending = %d, want the %d entries given", call, res.Total(), len(werr.Pending), got, len(pending))
		}
		errs = append(errs, werr)
		pending = werr.Pending
	}
	if len(pending) > 0 {
		t.Logf("%d entries still pending after %d calls", len(pending), calls)
	}
	return total, errs
}

// lokiCheckAccounting checks the end state after lokiWriteAll wrote input
// completely: Loki stores exactly the entries counted as written, the dead
// letter holds exactly the others with the counted reasons, and no entry
// is both or neither.
func lokiCheckAccounting(t *testing.T, f *lokiFake, dl *lokiDeadLetters, input []logmap.Entry, total Result) {
	t.Helper()
	if total.Total() != len(input) {
		t.Errorf("Results account for %d entries, want %d: %+v", total.Total(), len(input), total)
	}
	if diff := cmp.Diff(total.DeadLettered, dl.byReason(), cmpEmptyMaps); diff != "" {
		t.Errorf("dead-letter records by reason differ from Result.DeadLettered (-result +records):\n%s", diff)
	}
	dead := dl.keys(t)
	stored := f.storedKeys()
	written := 0
	for _, e := range input {
		key := lokiKey(e.Stream, e.Entry)
		_, isDead := dead[key]
		switch {
		case isDead && stored[key]:
			t.Errorf("entry %q was dead-lettered (%s) but Loki stored it", e.Entry.Line, dead[key])
		case !isDead && !stored[key]:
			t.Errorf("entry %q was neither stored nor dead-lettered", e.Entry.Line)
		case stored[key]:
			written++
		}
	}
	if written != total.Written {
		t.Errorf("Loki stored %d of the entries, Result.Written = %d", written, total.Written)
	}
	if len(stored) != written {
		t.Errorf("Loki stored %d entries, %d of them from the input", len(stored), written)
	}
}

var cmpEmptyMaps = cmp.Comparer(func(a, b map[string]int) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return maps.Equal(a, b)
})

func recorded(t *testing.T, name string) *recording.Response {
	t.Helper()
	return recording.MustLoad(t, lokiRecordings, name).Response
}

// lokiRecordedStreams converts a recorded JSON push body into entries
// with the recorded structured metadata only.
func lokiRecordedStreams(t *testing.T, body []byte) []logmap.Entry {
	t.Helper()
	var req struct {
		Streams []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("recorded push body is not JSON: %v", err)
	}
	var out []logmap.Entry
	for _, s := range req.Streams {
		for _, v := range s.Values {
			var tsText, line string
			if err := json.Unmarshal(v[0], &tsText); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				t.Fatal(err)
			}
			ns, err := strconv.ParseInt(tsText, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			e := lokiEntry(s.Stream, time.Unix(0, ns).UTC(), line, "")
			e.Entry.StructuredMetadata = nil
			if len(v) > 2 {
				var md map[string]string
				if err := json.Unmarshal(v[2], &md); err != nil {
					t.Fatal(err)
				}
				for _, name := range slices.Sorted(maps.Keys(md)) {
					e.Entry.StructuredMetadata = append(e.Entry.StructuredMetadata, push.LabelAdapter{Name: name, Value: md[name]})
				}
			}
			out = append(out, e)
		}
	}
	return out
}

var lokiT0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// TestLokiFakeMatchesRecordings checks that the test Loki responds as Loki
// 3.7.6 did in the recordings, for the same pushes under the same limits.
func TestLokiFakeMatchesRecordings(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *lokiFake)
	}{
		{"err_push_line_too_long_400", func(f *lokiFake) { f.maxLine = 262144 }},
		{"err_push_greater_than_max_sample_age_400", func(f *lokiFake) {
			f.oldCutoff = time.Date(2026, 11, 27, 16, 0, 32, 0, time.UTC)
		}},
		{"err_push_too_far_in_future_400", func(f *lokiFake) {
			f.newCutoff = time.Date(2026, 12, 4, 16, 10, 32, 0, time.UTC)
		}},
		{"err_push_mixed_batch_partial_400", func(f *lokiFake) {
			f.oldCutoff = time.Date(2026, 11, 27, 16, 0, 32, 0, time.UTC)
			f.newCutoff = time.Date(2026, 12, 4, 16, 10, 32, 0, time.UTC)
		}},
		{"err_push_entry_too_far_behind_main_400", func(f *lokiFake) {
			f.window = time.Hour
			f.highest[`{job="rec-ooo", run="rec1"}`] = time.Date(2026, 12, 4, 16, 4, 17, 574864937, time.UTC)
		}},
		{"err_push_stream_limit_429", func(f *lokiFake) {
			f.maxStreams = 20
			for i := range 6 {
				f.streams[fmt.Sprintf("existing-%d", i)] = true
			}
		}},
		{"err_push_stream_limit_new_stream_429", func(f *lokiFake) {
			f.maxStreams = 1
			f.streams["existing"] = true
		}},
		{"err_push_batch_larger_than_burst_429", func(f *lokiFake) { f.burst = 1048576 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := recording.MustLoad(t, lokiRecordings, tt.name)
			f := newLokiFake(t)
			tt.setup(f)
			w := newLokiTestWriter(t, f, loki.Limits{}, nil)
			entries := lokiRecordedStreams(t, ex.Request.Body)
			// Push the recorded batch as one push, as the recording did.
			byStream := map[string]*loki.Stream{}
			var streams []*loki.Stream
			for _, e := range entries {
				s, ok := byStream[e.Stream]
				if !ok {
					s = &loki.Stream{Labels: e.Labels}
					byStream[e.Stream] = s
					streams = append(streams, s)
				}
				s.Entries = append(s.Entries, e.Entry)
			}
			var in []loki.Stream
			for _, s := range streams {
				in = append(in, *s)
			}
			err := w.client.Push(context.Background(), in)
			var perr *loki.PushError
			if !errors.As(err, &perr) {
				t.Fatalf("Push returned %v, want the recorded %d", err, ex.Response.Status)
			}
			if perr.Status != ex.Response.Status {
				t.Errorf("status %d, recorded %d", perr.Status, ex.Response.Status)
			}
			want := strings.TrimSpace(string(ex.Response.Body))
			if perr.Message != want {
				t.Errorf("message\n%s\nrecorded\n%s", perr.Message, want)
			}
		})
	}
}

// TestLokiFakeDuplicateRule replays the recorded duplicate pushes: the
// same two entries pushed twice are read back once each.
func TestLokiFakeDuplicateRule(t *testing.T) {
	f := newLokiFake(t)
	w := newLokiTestWriter(t, f, loki.Limits{}, nil)
	for _, name := range []string{"push_json_duplicate_first_ok", "push_json_duplicate_again_ok"} {
		ex := recording.MustLoad(t, lokiRecordings, name)
		entries := lokiRecordedStreams(t, ex.Request.Body)
		var es []push.Entry
		for _, e := range entries {
			es = append(es, e.Entry)
		}
		if err := w.client.Push(context.Background(), []loki.Stream{{Labels: entries[0].Labels, Entries: es}}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	result, err := loki.DecodeQueryResponse(recording.MustLoad(t, lokiRecordings, "query_range_duplicates_deduplicated").Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, s := range result.Streams {
		for _, e := range s.Entries {
			want[lokiKey(`{job="rec-dup", run="rec1"}`, push.Entry{Timestamp: e.Timestamp, Line: e.Line})] = true
		}
	}
	if diff := cmp.Diff(want, f.storedKeys()); diff != "" {
		t.Errorf("stored entries differ from the recorded read-back (-recorded +fake):\n%s", diff)
	}
}

func TestLokiWriterDuplicates(t *testing.T) {
	f := newLokiFake(t)
	dl := &lokiDeadLetters{}
	w := newLokiTestWriter(t, f, loki.DefaultLimits(), dl)
	labels := map[string]string{"job": "api"}
	ts := lokiT0.Add(123456789 * time.Nanosecond)
	entries := []logmap.Entry{
		lokiEntry(labels, ts, "same time, same line", "a1"),
		lokiEntry(labels, ts, "same time, same line", "a2"),
		lokiEntry(labels, ts.Add(time.Nanosecond), "other", "a3"),
	}
	for round := range 2 {
		res, err := w.Write(context.Background(), entries)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if res.Written != len(entries) {
			t.Errorf("round %d: Written = %d, want %d (Loki accepts a duplicate with 204)", round, res.Written, len(entries))
		}
	}
	if n := len(f.storedKeys()); n != 3 {
		t.Errorf("Loki holds %d entries after writing 3 twice, want 3: two documents with the same time and line but different _id are both kept, and the second write is stored once", n)
	}
}

func TestLokiWriterMappedDocuments(t *testing.T) {
	mp, err := logmap.New(plans.LogMapping{
		Timestamp: "@timestamp", Line: "message",
		Labels: map[string]string{"app": "app"}, StaticLabels: map[string]string{"job": "es"},
	}, logmap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var entries []logmap.Entry
	// Documents 1 and 2 have the same time and message, as Elasticsearch
	// can hold; document 1 comes twice, as a retried page would.
	for _, doc := range []struct{ id, source string }{
		{"1", `{"@timestamp":"2026-12-04T12:00:00.000000001Z","message":"dup","app":"a"}`},
		{"2", `{"@timestamp":"2026-12-04T12:00:00.000000001Z","message":"dup","app":"a"}`},
		{"1", `{"@timestamp":"2026-12-04T12:00:00.000000001Z","message":"dup","app":"a"}`},
		{"3", `{"@timestamp":"2026-12-04T11:00:00Z","message":"earlier","app":"b"}`},
	} {
		e, err := mp.Map(doc.id, "logs-1", []byte(doc.source))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	f := newLokiFake(t)
	w := newLokiTestWriter(t, f, loki.DefaultLimits(), &lokiDeadLetters{})
	res, err := w.Write(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 4 {
		t.Errorf("Written = %d, want 4", res.Written)
	}
	if n := len(f.storedKeys()); n != 3 {
		t.Errorf("Loki holds %d entries, want 3: documents 1, 2 and 3 once each", n)
	}
}

func TestLokiWriterBatching(t *testing.T) {
	limits := loki.DefaultLimits()
	limits.IngestionBurstBytes = 4000
	limits.PerStreamBurstBytes = 2500
	limits.MaxChunkAge = 20 * time.Minute // out-of-order window 10 min
	f := newLokiFake(t)
	f.burst = limits.IngestionBurstBytes
	f.window = limits.OutOfOrderWindow()
	dl := &lokiDeadLetters{}
	w := newLokiTestWriter(t, f, limits, dl)
	w.SetMaxRequestBytes(3500)

	input := lokiEntries(lokiT0, 300, "a", "b", "c")
	// Reverse the input: the writer must sort each stream by time, or Loki
	// rejects the older entries as too far behind.
	slices.Reverse(input)
	total, errs := lokiWriteAll(t, w, input, 1, nil)
	if len(errs) > 0 {
		t.Fatalf("Write failed: %v", errs[0])
	}
	lokiCheckAccounting(t, f, dl, input, total)
	if len(total.DeadLettered) > 0 {
		t.Errorf("dead-lettered %v, want none", total.DeadLettered)
	}
	pushes := f.received()
	if len(pushes) < 2 {
		t.Fatalf("%d pushes, want the batch split", len(pushes))
	}
	for i, p := range pushes {
		if p.status != http.StatusNoContent {
			t.Errorf("push %d got %d, want every push accepted", i, p.status)
		}
		if p.batchSize > limits.IngestionBurstBytes {
			t.Errorf("push %d is %d bytes, over the burst of %d", i, p.batchSize, limits.IngestionBurstBytes)
		}
		if p.bodyBytes > 3500 {
			t.Errorf("push %d has a %d-byte body, over the cap of 3500", i, p.bodyBytes)
		}
	}
}

func TestLokiWriterCutsStreamsAtWindow(t *testing.T) {
	limits := loki.Limits{MaxChunkAge: 2 * time.Hour} // window 1 h
	f := newLokiFake(t)
	w := newLokiTestWriter(t, f, limits, nil)
	labels := map[string]string{"job": "a"}
	var input []logmap.Entry
	for i := range 5 {
		input = append(input, lokiEntry(labels, lokiT0.Add(time.Duration(i)*40*time.Minute), fmt.Sprint(i), fmt.Sprint(i)))
	}
	if _, err := w.Write(context.Background(), input); err != nil {
		t.Fatal(err)
	}
	// 0, 40, 80 | 120, 160: each push spans at most one hour.
	var sizes []int
	for _, p := range f.received() {
		sizes = append(sizes, p.entries)
	}
	if diff := cmp.Diff([]int{2, 2, 1}, sizes); diff != "" {
		t.Errorf("entries per push (-want +got):\n%s", diff)
	}
}

func TestLokiWriterRetryableErrors(t *testing.T) {
	rateLimited := recorded(t, "err_push_ingestion_rate_limit_429")
	unavailable := &recording.Response{Status: http.StatusServiceUnavailable, Body: []byte("overloaded")}
	tests := []struct {
		name string
		// setup prepares the fake before the first call.
		setup func(f *lokiFake)
		// before runs ahead of each call to Write.
		before func(f *lokiFake, call int)
		// accepted is the number of pushes Loki accepts in the first call.
		accepted int
	}{
		{"rate limited on the first push", func(f *lokiFake) {
			f.queue(rateLimited, rateLimited)
		}, nil, 0},
		{"rate limited after two pushes", func(f *lokiFake) {
			f.queue(nil, nil, rateLimited, rateLimited)
		}, nil, 2},
		{"service unavailable", func(f *lokiFake) {
			f.queue(nil, unavailable, unavailable)
		}, nil, 1},
		{"Loki down", func(f *lokiFake) { f.down() }, func(f *lokiFake, call int) {
			if call == 1 {
				f.up()
			}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLokiFake(t)
			dl := &lokiDeadLetters{}
			w := newLokiTestWriter(t, f, loki.DefaultLimits(), dl)
			w.SetMaxRequestBytes(1000) // about 15 entries per push
			input := lokiEntries(lokiT0, 100, "a")
			tt.setup(f)
			var before func(int)
			if tt.before != nil {
				before = func(call int) { tt.before(f, call) }
			}
			total, errs := lokiWriteAll(t, w, input, 3, before)
			if len(errs) != 1 {
				t.Fatalf("%d failed calls, want 1", len(errs))
			}
			if !errs[0].Retryable {
				t.Errorf("error %v is not retryable", errs[0])
			}
			wantFirst := 0
			for _, p := range f.received()[:tt.accepted] {
				wantFirst += p.entries
			}
			if got := len(input) - len(errs[0].Pending); got != wantFirst {
				t.Errorf("first call accounted for %d entries, want the %d of the %d accepted pushes", got, wantFirst, tt.accepted)
			}
			if len(total.DeadLettered) > 0 {
				t.Errorf("dead-lettered %v for a retryable error", total.DeadLettered)
			}
			lokiCheckAccounting(t, f, dl, input, total)
		})
	}
}

func TestLokiWriterRejectedClient(t *testing.T) {
	f := newLokiFake(t)
	f.queue(&recording.Response{Status: http.StatusUnauthorized, Body: []byte("no org id")})
	dl := &lokiDeadLetters{}
	w := newLokiTestWriter(t, f, loki.DefaultLimits(), dl)
	input := lokiEntries(lokiT0, 5, "a")
	res, err := w.Write(context.Background(), input)
	var werr *LokiWriteError
	if !errors.As(err, &werr) {
		t.Fatalf("Write returned %v, want a *LokiWriteError", err)
	}
	if werr.Retryable {
		t.Error("a 401 is marked retryable; the configuration must be fixed first")
	}
	if len(werr.Pending) != len(input) || res.Total() != 0 {
		t.Errorf("%d pending and %d counted, want all %d pending", len(werr.Pending), res.Total(), len(input))
	}
	if !strings.Contains(err.Error(), "credentials") {
		t.Errorf("error %q does not say what to check", err)
	}
}

func TestLokiWriterRejections(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *lokiFake, limits *loki.Limits, w *LokiWriter)
		input func() []logmap.Entry
		want  map[string]int // dead-lettered by reason
	}{
		{
			name: "recorded batch larger than burst splits",
			setup: func(f *lokiFake, _ *loki.Limits, _ *LokiWriter) {
				f.queue(recorded(f.t, "err_push_batch_larger_than_burst_429"))
			},
			input: func() []logmap.Entry { return lokiEntries(lokiT0, 40, "a", "b") },
		},
		{
			name: "entry larger than burst",
			setup: func(f *lokiFake, l *loki.Limits, _ *LokiWriter) {
				f.burst = 1000
				l.IngestionBurstBytes = 1000
			},
			input: func() []logmap.Entry {
				in := lokiEntries(lokiT0, 20, "a")
				in[7].Entry.Line = strings.Repeat("x", 1500)
				return in
			},
			want: map[string]int{"batch_larger_than_burst": 1},
		},
		{
			name: "413 splits until pushes fit",
			setup: func(f *lokiFake, _ *loki.Limits, w *LokiWriter) {
				f.maxBody = 600
				w.SetMaxRequestBytes(1 << 30)
			},
			input: func() []logmap.Entry {
				in := lokiEntries(lokiT0, 60, "a", "b")
				// Random letters, so snappy cannot shrink the line below
				// the body limit.
				rnd := rand.New(rand.NewPCG(1, 2))
				long := make([]byte, 3000)
				for i := range long {
					long[i] = byte('a' + rnd.IntN(26))
				}
				in[3].Entry.Line = string(long)
				return in
			},
			want: map[string]int{LokiReasonRequestTooLarge: 1},
		},
		{
			name:  "stream limit",
			setup: func(f *lokiFake, _ *loki.Limits, _ *LokiWriter) { f.maxStreams = 3 },
			input: func() []logmap.Entry { return lokiEntries(lokiT0, 70, "s0", "s1", "s2", "s3", "s4", "s5", "s6") },
			want:  map[string]int{"stream_limit": 40},
		},
		{
			name: "too far behind, more than Loki lists",
			setup: func(f *lokiFake, _ *loki.Limits, _ *LokiWriter) {
				f.window = time.Hour
				f.highest[`{job="a"}`] = lokiT0.Add(2 * time.Hour)
				f.streams[`{job="a"}`] = true
			},
			input: func() []logmap.Entry {
				// 30 entries of stream a in the first 58 minutes: all
				// rejected except those from 1 h on; b is new.
				in := lokiEntries(lokiT0, 60, "a", "b")
				for i := range 10 {
					in = append(in, lokiEntry(map[string]string{"job": "a"}, lokiT0.Add(time.Hour+time.Duration(i)*time.Minute), fmt.Sprint("late ", i), fmt.Sprint("late-", i)))
				}
				return in
			},
			want: map[string]int{"too_far_behind": 30},
		},
		{
			name:  "line too long",
			setup: func(f *lokiFake, _ *loki.Limits, _ *LokiWriter) { f.maxLine = 100 },
			input: func() []logmap.Entry {
				in := lokiEntries(lokiT0, 30, "a", "b")
				for _, i := range []int{2, 3, 17} {
					in[i].Entry.Line = strings.Repeat("y", 101+i)
				}
				return in
			},
			want: map[string]int{"line_too_long": 3},
		},
		{
			name: "mixed batch of old, new and valid entries",
			setup: func(f *lokiFake, _ *loki.Limits, _ *LokiWriter) {
				f.oldCutoff = lokiT0.Add(10*time.Second + 500*time.Millisecond)
				f.newCutoff = lokiT0.Add(50*time.Second + 250*time.Millisecond)
			},
			input: func() []logmap.Entry {
				in := lokiEntries(lokiT0, 60, "a", "b", "c")
				// Several entries within one second around each cutoff.
				for i := range 4 {
					d := time.Duration(i) * 300 * time.Millisecond
					in = append(in,
						lokiEntry(map[string]string{"job": "a"}, lokiT0.Add(10*time.Second+d), fmt.Sprint("old edge ", i), fmt.Sprint("oe", i)),
						lokiEntry(map[string]string{"job": "b"}, lokiT0.Add(50*time.Second+d), fmt.Sprint("new edge ", i), fmt.Sprint("ne", i)))
				}
				return in
			},
			// Before 10.5 s: entries 0-10 and old edges 0 and 1. After
			// 50.25 s: entries 51-59 and new edges 1, 2 and 3.
			want: map[string]int{"greater_than_max_sample_age": 13, "too_far_in_future": 12},
		},
		{
			name: "entries without labels",
			input: func() []logmap.Entry {
				in := lokiEntries(lokiT0, 5, "a")
				in[2].Labels, in[2].Stream = nil, ""
				return in
			},
			want: map[string]int{LokiReasonNoLabels: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLokiFake(t)
			limits := loki.DefaultLimits()
			dl := &lokiDeadLetters{}
			w := newLokiTestWriter(t, f, loki.Limits{}, dl)
			if tt.setup != nil {
				tt.setup(f, &limits, w)
			}
			w.limits = limits
			w.client.SetLimits(limits)
			input := tt.input()
			total, errs := lokiWriteAll(t, w, input, 1, nil)
			if len(errs) > 0 {
				t.Fatalf("Write failed: %v", errs[0])
			}
			if diff := cmp.Diff(tt.want, total.DeadLettered, cmpEmptyMaps); diff != "" {
				t.Errorf("dead-lettered by reason (-want +got):\n%s", diff)
			}
			lokiCheckAccounting(t, f, dl, input, total)
			// Halving finds rejected entries in O(rejected * log n) pushes;
			// more than two pushes per entry means a loop.
			if n := len(f.received()); n > 2*len(input) {
				t.Errorf("%d pushes for %d entries", n, len(input))
			}
			for _, r := range dl.records {
				if r.destination != LokiDestination {
					t.Errorf("dead-letter destination %q, want %q", r.destination, LokiDestination)
				}
				if r.detail == "" {
					t.Errorf("dead letter for %q has no detail", r.entry.Line)
				}
			}
		})
	}
}

// TestLokiWriterRecordedRejections plays each recorded rejection once, in
// front of an otherwise accepting Loki. The recorded messages name other
// streams than the ones written, so the writer must find out by sending
// again what was stored, and account for every entry.
func TestLokiWriterRecordedRejections(t *testing.T) {
	for _, name := range []string{
		"err_push_entry_too_far_behind_400",
		"err_push_entry_too_far_behind_main_400",
		"err_push_line_too_long_400",
		"err_push_mixed_batch_partial_400",
		"err_push_stream_limit_429",
		"err_push_batch_larger_than_burst_429",
		"err_push_too_many_label_names_16_400",
		"err_push_per_stream_rate_limit_429",
	} {
		t.Run(name, func(t *testing.T) {
			f := newLokiFake(t)
			resp := recorded(t, name)
			f.queue(resp)
			dl := &lokiDeadLetters{}
			limits := loki.DefaultLimits()
			w := newLokiTestWriter(t, f, limits, dl)
			input := lokiEntries(lokiT0, 24, "a", "b", "c")
			total, _ := lokiWriteAll(t, w, input, 3, nil)
			lokiCheckAccounting(t, f, dl, input, total)
			t.Logf("%d pushes, dead-lettered %v", len(f.received()), total.DeadLettered)
		})
	}
}

func TestLokiWriterSingleEntryRejected(t *testing.T) {
	// One entry, rejected as the recording shows: Loki's message covers
	// the whole push, so the entry is dead-lettered with Loki's reason.
	tests := []struct {
		recording string
		want      string
	}{
		{"err_push_entry_too_far_behind_400", "too_far_behind"},
		{"err_push_line_too_long_400", "line_too_long"},
		{"err_push_stream_limit_new_stream_429", "stream_limit"},
		{"err_push_too_many_structured_metadata_entries_400", "structured_metadata_too_many"},
		{"err_push_protobuf_bad_snappy_400", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			f := newLokiFake(t)
			f.queue(recorded(t, tt.recording))
			dl := &lokiDeadLetters{}
			w := newLokiTestWriter(t, f, loki.DefaultLimits(), dl)
			input := lokiEntries(lokiT0, 1, "a")
			total, errs := lokiWriteAll(t, w, input, 1, nil)
			if len(errs) > 0 {
				t.Fatal(errs[0])
			}
			if diff := cmp.Diff(map[string]int{tt.want: 1}, total.DeadLettered); diff != "" {
				t.Errorf("dead-lettered (-want +got):\n%s", diff)
			}
			lokiCheckAccounting(t, f, dl, input, total)
		})
	}
}

func TestLokiWriterDeadLetterFailure(t *testing.T) {
	f := newLokiFake(t)
	f.maxLine = 10
	dl := &lokiDeadLetters{failFrom: 2}
	w := newLokiTestWriter(t, f, loki.DefaultLimits(), dl)
	input := lokiEntries(lokiT0, 6, "a")
	for i := range 3 {
		input[i].Entry.Line = strings.Repeat("z", 20+i)
	}
	res, err := w.Write(context.Background(), input)
	if !errors.Is(err, ErrDeadLetterUnavailable) {
		t.Fatalf("Write returned %v, want an error wrapping ErrDeadLetterUnavailable", err)
	}
	var werr *LokiWriteError
	if !errors.As(err, &werr) || !werr.Retryable {
		t.Fatalf("error %v is not a retryable *LokiWriteError", err)
	}
	if res.DeadLettered["line_too_long"] != 1 {
		t.Errorf("dead-lettered %v, want the one entry stored before the failure", res.DeadLettered)
	}
	if got := res.Total() + len(werr.Pending); got != len(input) {
		t.Errorf("%d counted + %d pending, want %d", res.Total(), len(werr.Pending), len(input))
	}
	// The dead letter recovers: writing the pending entries completes the
	// accounting.
	dl.mu.Lock()
	dl.failFrom = 0
	dl.mu.Unlock()
	rest, err := w.Write(context.Background(), werr.Pending)
	if err != nil {
		t.Fatal(err)
	}
	res.Add(rest)
	lokiCheckAccounting(t, f, dl, input, res)
}

func TestLokiWriterContextCancelled(t *testing.T) {
	f := newLokiFake(t)
	w := newLokiTestWriter(t, f, loki.DefaultLimits(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	input := lokiEntries(lokiT0, 3, "a")
	res, err := w.Write(ctx, input)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write returned %v, want context.Canceled", err)
	}
	var werr *LokiWriteError
	if !errors.As(err, &werr) || len(werr.Pending) != 3 || res.Total() != 0 {
		t.Errorf("cancelled Write: result %+v, error %v; want all 3 entries pending", res, err)
	}
}

func TestLokiWriterEmpty(t *testing.T) {
	f := newLokiFake(t)
	w := newLokiTestWriter(t, f, loki.DefaultLimits(), nil)
	res, err := w.Write(context.Background(), nil)
	if err != nil || res.Total() != 0 {
		t.Errorf("Write(nil) = %+v, %v", res, err)
	}
	if n := len(f.received()); n != 0 {
		t.Errorf("Write(nil) sent %d pushes", n)
	}
}

func TestLokiWriterDeadLetterRecord(t *testing.T) {
	f := newLokiFake(t)
	f.maxLine = 5
	dl := &lokiDeadLetters{}
	w := newLokiTestWriter(t, f, loki.DefaultLimits(), dl)
	e := lokiEntry(map[string]string{"job": "a", "app": "é"}, lokiT0.Add(42*time.Nanosecond), "too long line", "doc-9")
	e.Entry.StructuredMetadata = append(e.Entry.StructuredMetadata, push.LabelAdapter{Name: "trace_id", Value: "t1"})
	e.Truncated = true
	if _, err := w.Write(context.Background(), []logmap.Entry{e}); err != nil {
		t.Fatal(err)
	}
	if len(dl.records) != 1 {
		t.Fatalf("%d dead-letter records, want 1", len(dl.records))
	}
	want := lokiDeadRecord{
		Stream:    `{app="é", job="a"}`,
		Timestamp: "2026-12-04T12:00:00.000000042Z",
		Line:      "too long line",
		StructuredMetadata: []lokiDeadLabel{
			{Name: "es_id", Value: "doc-9"},
			{Name: "trace_id", Value: "t1"},
		},
		Truncated: true,
	}
	if diff := cmp.Diff(want, dl.records[0].entry); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if !strings.Contains(dl.records[0].detail, "max entry size") {
		t.Errorf("detail %q does not carry Loki's message", dl.records[0].detail)
	}
}

// TestLokiIdentifyRecordings reads the recorded rejections and checks
// which of the recorded entries the writer names as rejected.
func TestLokiIdentifyRecordings(t *testing.T) {
	tests := []struct {
		recording string
		want      map[string]string // line -> reason
	}{
		{"err_push_entry_too_far_behind_main_400", map[string]string{"3h older than newest: rejected": "too_far_behind"}},
		{"err_push_entry_too_far_behind_400", map[string]string{"line 2h older than newest line of same stream": "too_far_behind"}},
		{"err_push_mixed_batch_partial_400", map[string]string{"9 days old line": "greater_than_max_sample_age", "2h in future": "too_far_in_future"}},
		{"err_push_greater_than_max_sample_age_400", map[string]string{"line 8 days old": "greater_than_max_sample_age"}},
		{"err_push_too_far_in_future_400", map[string]string{"line 1h in the future": "too_far_in_future"}},
		{"err_push_line_too_long_400", map[string]string{strings.Repeat("x", 307200): "line_too_long"}},
		{"err_push_stream_limit_429", map[string]string{"stream 24": "stream_limit"}},
		{"err_push_stream_limit_new_stream_429", map[string]string{"one more new stream": "stream_limit"}},
		{"err_push_too_many_label_names_16_400", map[string]string{"16 labels": "max_label_names_per_series"}},
		{"err_push_too_many_structured_metadata_entries_400", map[string]string{"129 structured metadata entries": "structured_metadata_too_many"}},
		{"err_push_ingestion_rate_limit_429", map[string]string{}},
		{"err_push_invalid_label_name_400", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			ex := recording.MustLoad(t, lokiRecordings, tt.recording)
			entries := lokiRecordedStreams(t, ex.Request.Body)
			it := lokiTestItem(entries)
			perr := &loki.PushError{Status: ex.Response.Status, Message: strings.TrimSpace(string(ex.Response.Body))}
			got := map[string]string{}
			for i, reason := range lokiIdentify(entries, it, perr) {
				got[entries[i].Entry.Line] = reason
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identified (-want +got):\n%s", diff)
			}
		})
	}
}

// lokiTestItem groups entries into one push item by stream.
func lokiTestItem(entries []logmap.Entry) lokiItem {
	var it lokiItem
	pos := map[string]int{}
	for i, e := range entries {
		k, ok := pos[e.Stream]
		if !ok {
			k = len(it)
			pos[e.Stream] = k
			it = append(it, lokiPart{stream: &lokiStream{key: e.Stream, labels: e.Labels}})
		}
		it[k].idx = append(it[k].idx, i)
	}
	return it
}

func TestLokiParseLabels(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		rest string
		ok   bool
	}{
		{`{}`, map[string]string{}, "", true},
		{`{job="a"}' tail`, map[string]string{"job": "a"}, "' tail", true},
		{`{a="1", b_2="x\"y}'", c="é\n"}`, map[string]string{"a": "1", "b_2": "x\"y}'", "c": "é\n"}, "", true},
		{`{a="1",b="2"}`, map[string]string{"a": "1", "b": "2"}, "", true},
		{`job="a"}`, nil, "", false},
		{`{job=a}`, nil, "", false},
		{`{job="a"`, nil, "", false},
		{`{1job="a"}`, nil, "", false},
		{`{job="a" x}`, nil, "", false},
	}
	for _, tt := range tests {
		got, rest, ok := lokiParseLabels(tt.in)
		if ok != tt.ok {
			t.Errorf("lokiParseLabels(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("lokiParseLabels(%q) (-want +got):\n%s", tt.in, diff)
		}
		if rest != tt.rest {
			t.Errorf("lokiParseLabels(%q) rest = %q, want %q", tt.in, rest, tt.rest)
		}
	}
}

func FuzzLokiParseLabels(f *testing.F) {
	for _, s := range []string{`{}`, `{job="a", b="\u00e9\"}"}`, `{a="1",b="2"}' while`, `{a=`, `{"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		labels, rest, ok := lokiParseLabels(s)
		if !ok {
			return
		}
		if !strings.HasSuffix(s, rest) {
			t.Fatalf("rest %q is not a suffix of %q", rest, s)
		}
		// A parsed label set printed again parses to the same labels.
		again, tail, ok := lokiParseLabels(loki.LabelString(labels))
		if !ok || tail != "" || !maps.Equal(again, labels) {
			t.Fatalf("round trip of %v gave %v, %q, %v", labels, again, tail, ok)
		}
	})
}

// FuzzLokiIdentify feeds arbitrary rejection messages. lokiIdentify must
// not panic, and may only name entries of the push with a reason.
func FuzzLokiIdentify(f *testing.F) {
	for _, name := range []string{
		"err_push_entry_too_far_behind_main_400", "err_push_mixed_batch_partial_400",
		"err_push_line_too_long_400", "err_push_stream_limit_429",
		"err_push_too_many_structured_metadata_entries_400", "err_push_per_stream_rate_limit_429",
	} {
		f.Add(string(recording.MustLoad(f, lokiRecordings, name).Response.Body))
	}
	f.Add("entry with timestamp 2026-12-04 12:00:01 +0000 UTC ignored, reason: 'entry too far behind',\nuser 'fake', total ignored: 1 out of 1 for stream: {job=\"a\"}")
	f.Add(`stream '{job="b", service_name="b"}' has timestamp too new: 2026-12-04T12:00:02Z`)
	entries := lokiEntries(lokiT0, 12, "a", "b", "c")
	it := lokiTestItem(entries)
	f.Fuzz(func(t *testing.T, msg string) {
		found := lokiIdentify(entries, it, &loki.PushError{Status: http.StatusBadRequest, Message: msg})
		for i, reason := range found {
			if i < 0 || i >= len(entries) {
				t.Fatalf("named entry %d of %d", i, len(entries))
			}
			if reason == "" {
				t.Fatalf("entry %d named without a reason", i)
			}
		}
	})
}
