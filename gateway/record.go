package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/delivery"
)

// Queue records. Each starts with a kind byte, a format version and the
// append time (Unix nanoseconds, big-endian), so the drain can report how
// long a record waited.
//
//	document: 'D' 1 time(8) op(1) uvarint(len index) index uvarint(len id) id source...
//	traces:   'T' 1 time(8) ExportTraceServiceRequest protobuf...
const (
	recordDocument     = 'D'
	recordTraces       = 'T'
	recordVersion      = 1
	recordHeaderSize   = 2 + 8
	recordDocOpIndex   = 0
	recordDocOpCreate  = 1
	maxRecordFieldSize = 1 << 20
)

// errRecord is wrapped by every decoding error of a queue record.
var errRecord = errors.New("invalid queue record")

// encodeDocument returns the queue record of a document.
func encodeDocument(d delivery.Document, at time.Time) []byte {
	return appendDocument(make([]byte, 0, documentRecordSize(d)), d, at)
}

// appendDocument appends the queue record of a document to b.
func appendDocument(b []byte, d delivery.Document, at time.Time) []byte {
	b = append(b, recordDocument, recordVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	op := byte(recordDocOpIndex)
	if d.Op == opCreate {
		op = recordDocOpCreate
	}
	b = append(b, op)
	b = binary.AppendUvarint(b, uint64(len(d.Index)))
	b = append(b, d.Index...)
	b = binary.AppendUvarint(b, uint64(len(d.ID)))
	b = append(b, d.ID...)
	return append(b, d.Source...)
}

// documentRecordSize returns the size of d's queue record.
func documentRecordSize(d delivery.Document) int {
	return recordHeaderSize + 1 + binary.MaxVarintLen64*2 + len(d.Index) + len(d.ID) + len(d.Source)
}

// decodeDocument reads a document record. The document's slices share
// the record's memory.
func decodeDocument(b []byte) (delivery.Document, time.Time, error) {
	at, body, err := recordBody(b, recordDocument)
	if err != nil {
		return delivery.Document{}, at, err
	}
	if len(body) < 1 {
		return delivery.Document{}, at, fmt.Errorf("%w: document record ends before its action", errRecord)
	}
	var d delivery.Document
	switch body[0] {
	case recordDocOpIndex:
		d.Op = opIndex
	case recordDocOpCreate:
		d.Op = opCreate
	default:
		return d, at, fmt.Errorf("%w: unknown document action %d", errRecord, body[0])
	}
	body = body[1:]
	index, body, err := recordField(body, "index")
	if err != nil {
		return d, at, err
	}
	id, body, err := recordField(body, "id")
	if err != nil {
		return d, at, err
	}
	d.Index, d.ID, d.Source = string(index), string(id), body
	return d, at, nil
}

// encodeTraces returns the queue record of an OTLP export request.
func encodeTraces(request []byte, at time.Time) []byte {
	b := make([]byte, 0, recordHeaderSize+len(request))
	b = append(b, recordTraces, recordVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	return append(b, request...)
}

// decodeTraces returns the OTLP export request of a traces record.
func decodeTraces(b []byte) ([]byte, time.Time, error) {
	at, body, err := recordBody(b, recordTraces)
	return body, at, err
}

func recordBody(b []byte, kind byte) (time.Time, []byte, error) {
	if len(b) < recordHeaderSize {
		return time.Time{}, nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", errRecord, len(b), recordHeaderSize)
	}
	if b[0] != kind {
		return time.Time{}, nil, fmt.Errorf("%w: kind %q, want %q", errRecord, b[0], kind)
	}
	if b[1] != recordVersion {
		return time.Time{}, nil, fmt.Errorf("%w: format version %d, want %d: this build cannot read it", errRecord, b[1], recordVersion)
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10])))
	return at, b[recordHeaderSize:], nil
}

func recordField(b []byte, name string) (field, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || k != uvarintSize(n) {
		// A longer encoding than binary.AppendUvarint writes is not one
		// this package made.
		return nil, nil, fmt.Errorf("%w: invalid length of the %s field", errRecord, name)
	}
	if n > maxRecordFieldSize || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("%w: the %s field's length %d is beyond the record's end", errRecord, name, n)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// uvarintSize returns the bytes binary.AppendUvarint writes for n.
func uvarintSize(n uint64) int {
	size := 1
	for n >= 0x80 {
		n >>= 7
		size++
	}
	return size
}

// newDocumentID returns a 20-character id of the form Elasticsearch 8.x
// generates (URL-safe base64 of 15 bytes): 6 bytes of the time in
// milliseconds, for rough ordering, and 9 random bytes.
func newDocumentID() string {
	var b [15]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// splitTraces cuts td into parts whose protobuf encoding is at most limit
// bytes, so that each part fits in one queue record. A single span larger
// than limit is a part of its own. td is returned whole when it fits.
func splitTraces(td ptrace.Traces, limit int) []ptrace.Traces {
	m := &ptrace.ProtoMarshaler{}
	if m.TracesSize(td) <= limit {
		return []ptrace.Traces{td}
	}
	var out []ptrace.Traces
	cur := ptrace.NewTraces()
	size := 0
	// Each span costs its size plus, as an upper bound, the resource and
	// scope it is copied with.
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		overhead := m.ResourceSpansSize(rs)
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			overhead -= m.ScopeSpansSize(sss.At(j))
		}
		for j := range sss.Len() {
			ss := sss.At(j)
			scopeOverhead := m.ScopeSpansSize(ss)
			spans := ss.Spans()
			for k := range spans.Len() {
				scopeOverhead -= m.SpanSize(spans.At(k))
			}
			var dstSpans ptrace.SpanSlice
			open := false
			for k := range spans.Len() {
				span := spans.At(k)
				cost := m.SpanSize(span) + 16
				if size > 0 && size+cost+overhead+scopeOverhead > limit {
					out = append(out, cur)
					cur, size = ptrace.NewTraces(), 0
					open = false
				}
				if !open {
					drs := cur.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(drs.Resource())
					drs.SetSchemaUrl(rs.SchemaUrl())
					dss := drs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(dss.Scope())
					dss.SetSchemaUrl(ss.SchemaUrl())
					dstSpans, open = dss.Spans(), true
					size += overhead + scopeOverhead + 16
				}
				span.CopyTo(dstSpans.AppendEmpty())
				size += cost
			}
		}
	}
	if cur.ResourceSpans().Len() > 0 {
		out = append(out, cur)
	}
	return out
}
