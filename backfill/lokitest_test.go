package backfill

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/internal/recording"
)

// testLoki is a Loki push receiver written by us for the backfill tests.
// It is not Loki: it decodes protobuf pushes (snappy block format) and
// applies three rules that Loki 3.7.6 was recorded applying
// (testdata/recordings/loki-3.7.6):
//
//   - The out-of-order window. An entry more than window older than the
//     newest entry its stream has accepted is rejected
//     (err_push_entry_too_far_behind_400), and the other entries of the
//     push are stored (err_push_entry_too_far_behind_main_400). The window
//     applies even with reject_old_samples false.
//   - Duplicates. An entry equal to the stream's last accepted entry
//     (timestamp and line) is ignored before the window is checked, and an
//     entry with the same stream, timestamp, line and structured metadata
//     as a stored one is stored once (query_range_duplicates_deduplicated).
//   - service_name. A stream without that label gets it from the first of
//     Loki's service discovery labels it has, as {job="def-ooo"} became
//     {job="def-ooo", service_name="def-ooo"}.
//
// A success is the recorded 204 of push_protobuf_snappy_ok. A rejection is
// a 400 with the recorded headers and a body in the recorded format.
type testLoki struct {
	*httptest.Server
	t      testing.TB
	window time.Duration
	ok     *recording.Response
	tooFar *recording.Response

	mu       sync.Mutex
	streams  map[string]*testStream
	pushes   int
	received int
	rejected int
	bodies   []string
	// beforeReply, when set, runs after a push was applied and before the
	// response is sent, with the number of pushes so far.
	beforeReply func(pushes int)
}

type testStream struct {
	labels   string
	newest   time.Time
	lastLine string
	stored   map[storedKey]push.Entry
	order    []storedKey
}

type storedKey struct {
	ts       int64
	line     string
	metadata string
}

// storedEntry is one entry the test Loki holds.
type storedEntry struct {
	Stream string
	Labels map[string]string
	Entry  push.Entry
}

func newTestLoki(t testing.TB, window time.Duration) *testLoki {
	t.Helper()
	l := &testLoki{
		t:       t,
		window:  window,
		ok:      recording.MustLoad(t, "loki-3.7.6", "push_protobuf_snappy_ok").Response,
		tooFar:  recording.MustLoad(t, "loki-3.7.6", "err_push_entry_too_far_behind_400").Response,
		streams: map[string]*testStream{},
	}
	l.Server = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.Close)
	return l
}

func (l *testLoki) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/loki/api/v1/push" {
		http.Error(w, "test Loki: no handler for "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}

	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Type") != "application/x-protobuf" {
		l.t.Errorf("push with Content-Type %q, want application/x-protobuf", r.Header.Get("Content-Type"))
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, "snappy: corrupt input", http.StatusBadRequest)
		return
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, "test Loki: invalid push: "+err.Error(), http.StatusBadRequest)
		return
	}

	l.mu.Lock()
	l.pushes++
	n := l.pushes
	message := l.apply(req)
	hook := l.beforeReply
	l.mu.Unlock()
	if hook != nil {
		hook(n)
	}

	if message == "" {
		l.ok.Write(w)
		return
	}
	(&recording.Response{Status: l.tooFar.Status, Header: l.tooFar.Header.Clone(), Body: []byte(message)}).Write(w)
}

// apply stores the entries of req and returns the error message of the
// last stream with rejected entries, or "".
func (l *testLoki) apply(req push.PushRequest) string {
	message := ""
	for _, s := range req.Streams {
		labels, err := parseLabels(s.Labels)
		if err != nil {
			l.t.Errorf("test Loki: stream labels %q: %v", s.Labels, err)
			continue
		}
		key := s.Labels
		st := l.streams[key]
		if st == nil {
			st = &testStream{labels: withServiceName(labels), stored: map[storedKey]push.Entry{}}
			l.streams[key] = st
		}
		var rejected []rejectedEntry
		for _, e := range s.Entries {
			l.received++
			if e.Timestamp.Equal(st.newest) && e.Line == st.lastLine {
				continue
			}
			if cutoff := st.newest.Add(-l.window); !st.newest.IsZero() && e.Timestamp.Before(cutoff) {
				rejected = append(rejected, rejectedEntry{ts: e.Timestamp, cutoff: cutoff})
				continue
			}
			k := storedKey{ts: e.Timestamp.UnixNano(), line: e.Line, metadata: metadataKey(e.StructuredMetadata)}
			if _, dup := st.stored[k]; !dup {
				st.stored[k] = e
				st.order = append(st.order, k)
			}
			if !e.Timestamp.Before(st.newest) {
				st.newest, st.lastLine = e.Timestamp, e.Line
			}
		}
		if len(rejected) > 0 {
			l.rejected += len(rejected)
			message = tooFarBehindMessage(rejected, len(s.Entries), st.labels)
			l.bodies = append(l.bodies, message)
		}
	}
	return message
}

type rejectedEntry struct {
	ts, cutoff time.Time
}

// tooFarBehindMessage builds Loki 3.7.6's message for rejected entries of
// one stream: a line per entry (at most 10, Loki's max_returned_errors
// default), then the totals.
func tooFarBehindMessage(rejected []rejectedEntry, entries int, stream string) string {
	var b strings.Builder
	for i, r := range rejected {
		if i == 10 {
			break
		}
		fmt.Fprintf(&b, "entry with timestamp %s ignored, reason: 'entry too far behind, entry timestamp is: %s, oldest acceptable timestamp is: %s',\n",
			r.ts.UTC().String(), r.ts.UTC().Format(time.RFC3339), r.cutoff.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "user 'fake', total ignored: %d out of %d for stream: %s\n", len(rejected), entries, stream)
	return b.String()
}

// serviceNameSources are the labels Loki 3.x takes service_name from, in
// order (its discover_service_name default).
var serviceNameSources = []string{
	"service", "app", "application", "app_name", "name", "app_kubernetes_io_name", "container",
	"container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name",
}

// withServiceName returns the stream's label string as Loki shows it in
// messages: with service_name added when the stream has none.
func withServiceName(labels map[string]string) string {
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	if _, ok := out["service_name"]; !ok {
		out["service_name"] = "unknown_service"
		for _, name := range serviceNameSources {
			if v, ok := labels[name]; ok && v != "" {
				out["service_name"] = v
				break
			}
		}
	}
	names := make([]string, 0, len(out))
	for k := range out {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + strconv.Quote(out[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func metadataKey(m push.LabelsAdapter) string {
	var b strings.Builder
	for _, l := range m {
		b.WriteString(strconv.Quote(l.Name))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
		b.WriteByte(',')
	}
	return b.String()
}

// parseLabels reads a label string in Loki's push form, {a="1", b="2"}.
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	rest := strings.TrimSpace(s)
	if !strings.HasPrefix(rest, "{") || !strings.HasSuffix(rest, "}") {
		return nil, fmt.Errorf("no braces")
	}
	rest = strings.TrimSpace(rest[1 : len(rest)-1])
	for rest != "" {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, fmt.Errorf("missing = after %q", rest)
		}
		quoted, err := strconv.QuotedPrefix(after)
		if err != nil {
			return nil, fmt.Errorf("label %s: %w", name, err)
		}
		value, _ := strconv.Unquote(quoted)
		out[strings.TrimSpace(name)] = value
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(after[len(quoted):]), ","))
	}
	return out, nil
}

// entries returns every stored entry, stream by stream.
func (l *testLoki) entries() []storedEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []storedEntry
	keys := make([]string, 0, len(l.streams))
	for k := range l.streams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		st := l.streams[k]
		labels, _ := parseLabels(k)
		for _, sk := range st.order {
			out = append(out, storedEntry{Stream: k, Labels: labels, Entry: st.stored[sk]})
		}
	}
	return out
}

// stats returns the pushes, the entries received (duplicates included)
// and the entries rejected.
func (l *testLoki) stats() (pushes, received, rejected int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pushes, l.received, l.rejected
}

func (l *testLoki) rejectionBodies() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.bodies)
}

// esIDs counts the stored entries per es_id structured metadata value.
func esIDs(entries []storedEntry) map[string]int {
	ids := map[string]int{}
	for _, e := range entries {
		for _, m := range e.Entry.StructuredMetadata {
			if m.Name == "es_id" {
				ids[m.Value]++
			}
		}
	}
	return ids
}

func TestTestLokiMessageFollowsRecording(t *testing.T) {
	// The recorded push: one line 2 h older than the newest line of
	// {job="def-ooo"}, with a 1 h window.
	rec := recording.MustLoad(t, "loki-3.7.6", "err_push_entry_too_far_behind_400")
	ts := time.Unix(0, 1796392832470201032).UTC()
	newest := ts.Add(2 * time.Hour)
	got := tooFarBehindMessage([]rejectedEntry{{ts: ts, cutoff: newest.Add(-time.Hour)}}, 1, withServiceName(map[string]string{"job": "def-ooo"}))
	if got != string(rec.Response.Body) {
		t.Errorf("message\n%q\nwant the recorded\n%q", got, rec.Response.Body)
	}
}

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		ok   bool
	}{
		{`{a="1", b="x, y=\"z\""}`, map[string]string{"a": "1", "b": `x, y="z"`}, true},
		{`{}`, map[string]string{}, true},
		{`{a="1"`, nil, false},
		{`{a=1}`, nil, false},
	}
	for _, tc := range tests {
		got, err := parseLabels(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("parseLabels(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parseLabels(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
