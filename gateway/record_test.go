package gateway

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/obs-migrate/migrate/delivery"
)

func TestDocumentRecordRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	tests := []delivery.Document{
		{Op: opIndex, Index: "filebeat-8.17.0", ID: "d-1", Source: []byte(`{"message":"hello"}`)},
		{Op: opCreate, Index: "logs", ID: "", Source: []byte(`{}`)},
		{Op: opIndex, Index: "", ID: "x", Source: nil},
		{Op: opCreate, Index: string(bytes.Repeat([]byte("i"), 300)), ID: "é", Source: []byte("not json")},
	}
	for _, d := range tests {
		rec := encodeDocument(d, at)
		got, gotAt, err := decodeDocument(rec)
		if err != nil {
			t.Fatalf("decodeDocument(encodeDocument(%+v)): %v", d, err)
		}
		if got.Op != d.Op || got.Index != d.Index || got.ID != d.ID || !bytes.Equal(got.Source, d.Source) {
			t.Errorf("round trip = %+v, want %+v", got, d)
		}
		if !gotAt.Equal(at) {
			t.Errorf("append time = %v, want %v", gotAt, at)
		}
		if len(rec) > documentRecordSize(d) {
			t.Errorf("record is %d bytes, over documentRecordSize %d", len(rec), documentRecordSize(d))
		}
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := encodeDocument(delivery.Document{Op: opIndex, Index: "a", ID: "b", Source: []byte("{}")}, time.Now())
	tests := []struct {
		name string
		rec  []byte
	}{
		{"empty", nil},
		{"short header", good[:5]},
		{"traces kind", encodeTraces([]byte{1}, time.Now())},
		{"future version", append([]byte{recordDocument, 9}, good[2:]...)},
		{"no action", good[:recordHeaderSize]},
		{"bad action", append(append([]byte{}, good[:recordHeaderSize]...), 7)},
		{"index past end", append(append([]byte{}, good[:recordHeaderSize+1]...), 50, 'a')},
	}
	for _, tt := range tests {
		if _, _, err := decodeDocument(tt.rec); !errors.Is(err, errRecord) {
			t.Errorf("%s: err = %v, want errRecord", tt.name, err)
		}
	}
}

func FuzzDecodeDocument(f *testing.F) {
	f.Add(encodeDocument(delivery.Document{Op: opIndex, Index: "logs", ID: "1", Source: []byte(`{"a":1}`)}, time.Unix(1, 0)))
	f.Add(encodeDocument(delivery.Document{Op: opCreate}, time.Unix(0, 0)))
	f.Add([]byte{recordDocument, recordVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, rec []byte) {
		d, at, err := decodeDocument(rec)
		if err != nil {
			return
		}
		again := encodeDocument(d, at)
		if !bytes.Equal(again, rec) {
			t.Fatalf("re-encoding a decoded record changed it:\n got %x\nwant %x", again, rec)
		}
	})
}

func FuzzDecodeTraces(f *testing.F) {
	td := testTraces(1, 1, 3)
	b, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	f.Add(encodeTraces(b, time.Unix(5, 0)))
	f.Add([]byte{recordTraces, recordVersion})
	f.Fuzz(func(t *testing.T, rec []byte) {
		payload, at, err := decodeTraces(rec)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeTraces(payload, at), rec) {
			t.Fatal("re-encoding a decoded traces record changed it")
		}
		_ = ptraceotlp.NewExportRequest().UnmarshalProto(payload)
	})
}

func TestNewDocumentID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newDocumentID()
		if len(id) != 20 {
			t.Fatalf("id %q has %d characters, want 20 as Elasticsearch's", id, len(id))
		}
		if _, err := base64.RawURLEncoding.DecodeString(id); err != nil {
			t.Fatalf("id %q is not URL-safe base64: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("id %q generated twice", id)
		}
		seen[id] = true
	}
}

// testTraces returns traces of n traces with spans spans each; id makes
// the trace and span ids distinct between calls.
func testTraces(id uint32, n, spans int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "gateway-test")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("gateway-test")
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	for tr := range n {
		var tid pcommon.TraceID
		tid[0], tid[1], tid[2], tid[3] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
		tid[4], tid[5] = byte(tr>>8), byte(tr)
		tid[15] = 1
		for s := range spans {
			span := ss.Spans().AppendEmpty()
			span.SetTraceID(tid)
			var sid pcommon.SpanID
			sid[0], sid[1], sid[2], sid[3] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
			sid[4], sid[5], sid[6], sid[7] = byte(tr>>8), byte(tr), byte(s>>8), byte(s)+1
			span.SetSpanID(sid)
			span.SetName(fmt.Sprintf("op-%d", s))
			span.Attributes().PutStr("payload", "x")
			span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
		}
	}
	return td
}

func TestSplitTraces(t *testing.T) {
	td := testTraces(7, 10, 50)
	m := &ptrace.ProtoMarshaler{}
	whole := m.TracesSize(td)
	tests := []struct {
		limit     int
		wantParts int
	}{
		{limit: whole, wantParts: 1},
		{limit: whole / 4, wantParts: 4},
		{limit: 1, wantParts: 500},
	}
	for _, tt := range tests {
		parts := splitTraces(td, tt.limit)
		spans := map[pcommon.SpanID]bool{}
		for _, p := range parts {
			if tt.limit > 1000 && m.TracesSize(p) > tt.limit {
				t.Errorf("limit %d: a part has %d bytes", tt.limit, m.TracesSize(p))
			}
			for i := range p.ResourceSpans().Len() {
				rs := p.ResourceSpans().At(i)
				if v, _ := rs.Resource().Attributes().Get("service.name"); v.Str() != "gateway-test" {
					t.Errorf("limit %d: a part lost the resource attributes", tt.limit)
				}
				for j := range rs.ScopeSpans().Len() {
					ss := rs.ScopeSpans().At(j)
					if ss.Scope().Name() != "gateway-test" {
						t.Errorf("limit %d: a part lost the scope", tt.limit)
					}
					for k := range ss.Spans().Len() {
						spans[ss.Spans().At(k).SpanID()] = true
					}
				}
			}
		}
		if len(spans) != 500 {
			t.Errorf("limit %d: parts hold %d distinct spans, want 500", tt.limit, len(spans))
		}
		if len(parts) < tt.wantParts {
			t.Errorf("limit %d: %d parts, want at least %d", tt.limit, len(parts), tt.wantParts)
		}
	}
}
