package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/logmap"
)

// LokiDestination is the destination name in dead-letter records.
const LokiDestination = "loki"

// DefaultLokiMaxRequestBytes caps the estimated uncompressed size of one
// push. The recorded /config of Loki 3.7.6 shows 4 MiB as
// grpc_server_max_recv_msg_size, the limit of a gRPC message between Loki's
// components, and 100 MiB as the push endpoint's own max_recv_msg_size.
const DefaultLokiMaxRequestBytes = 4 << 20

// Dead-letter reasons the Loki writer sets itself. Loki's rejections use
// the loki.Reason names, such as too_far_behind or stream_limit.
const (
	// LokiReasonNoLabels is an entry without stream labels, which Loki cannot
	// store.
	LokiReasonNoLabels = "no_labels"
	// LokiReasonRequestTooLarge is a single entry whose push got 413.
	LokiReasonRequestTooLarge = "request_too_large"
)

// LokiWriter writes logmap entries to Loki. It groups them into streams,
// sorts each stream by time, splits pushes under the ingestion burst, the
// per-stream burst, the out-of-order window and a request size cap, and
// handles Loki's rejections as connectors/loki classifies them:
//
//   - a retryable rejection (ingestion or per-stream rate limit, 5xx after
//     the client's retries) or no response at all: Write stops and returns a
//     *LokiWriteError listing the entries not yet accounted for. Nothing is
//     dead-lettered for it.
//   - a push larger than the burst (batch_larger_than_burst), a
//     per-stream part larger than the per-stream burst, or 413: the push is
//     split in halves and each half sent again.
//   - entries or streams that Loki rejects (too_far_behind,
//     greater_than_max_sample_age, too_far_in_future, line_too_long,
//     stream_limit, label errors...): the entries Loki's message names are
//     dead-lettered, and the rest of the push is sent again, which is
//     harmless because Loki 3.7.6 stores an entry with the same stream,
//     timestamp, line and structured metadata once. When Loki's message does
//     not name the rejected entries, the push is sent again in halves until
//     each rejection names its entries or is down to one entry.
//
// A LokiWriter is safe for concurrent use.
type LokiWriter struct {
	client          *loki.Client
	limits          loki.Limits
	dl              DeadLetter
	maxRequestBytes int64
}

// NewLokiWriter returns a writer to c that sizes pushes for limits and
// sends what Loki can never store to dl. A nil dl counts such entries in
// the Result without storing them. When c has no limits yet, limits are
// given to it (Client.SetLimits), so that it does not retry a push that
// is larger than the burst.
func NewLokiWriter(c *loki.Client, limits loki.Limits, dl DeadLetter) *LokiWriter {
	if _, known := c.KnownLimits(); !known && limits.IngestionBurstBytes > 0 {
		c.SetLimits(limits)
	}
	return &LokiWriter{client: c, limits: limits, dl: dl, maxRequestBytes: DefaultLokiMaxRequestBytes}
}

// SetMaxRequestBytes changes the cap on the estimated uncompressed size of
// one push; n <= 0 restores DefaultLokiMaxRequestBytes.
func (w *LokiWriter) SetMaxRequestBytes(n int64) {
	if n <= 0 {
		n = DefaultLokiMaxRequestBytes
	}
	w.maxRequestBytes = n
}

// LokiWriteError is returned by LokiWriter.Write when it stopped before
// every entry was accounted for. The Result returned with it counts what
// was written or dead-lettered before it stopped.
type LokiWriteError struct {
	// Pending are the entries neither written nor dead-lettered. Send
	// exactly these again later. Sending all entries of the call again is
	// safe from duplicates, but Loki rejects an entry that is more than
	// the out-of-order window older than what this call already wrote to
	// its stream, so those entries would be dead-lettered needlessly.
	Pending []logmap.Entry
	// Retryable is true when the same entries may succeed later: rate
	// limits, 5xx, no response, a dead letter that failed. It is false when
	// Loki rejected the client itself (401, 403, 404, 405, 407): fix the
	// configuration first.
	Retryable bool
	Err       error
}

func (e *LokiWriteError) Error() string {
	what := "retry them later"
	if !e.Retryable {
		what = "check Loki's URL, tenant and credentials, then retry them"
	}
	return fmt.Sprintf("loki writer: %d entries not written: %v; %s", len(e.Pending), e.Err, what)
}

func (e *LokiWriteError) Unwrap() error { return e.Err }

// Write sends entries to Loki. Every entry is counted once in the Result,
// as written or as dead-lettered with its reason, unless Write returns an
// error: then the error is a *LokiWriteError whose Pending entries are
// counted nowhere and must be written again later.
func (w *LokiWriter) Write(ctx context.Context, entries []logmap.Entry) (Result, error) {
	r := &lokiRun{w: w, ctx: ctx, entries: entries, sizes: make([]int64, len(entries))}
	for i := range entries {
		r.sizes[i] = loki.EntrySize(entries[i].Entry)
	}
	items, unlabelled := r.plan()
	if len(unlabelled) > 0 {
		reasons := map[int]string{}
		for _, i := range unlabelled {
			reasons[i] = LokiReasonNoLabels
		}
		detail := "the entry has no stream labels; Loki requires at least one: add a static label to the log mapping"
		if err := r.deadLetter(unlabelled, reasons, detail); err != nil {
			return r.stop(err, true, r.pendingDead, items)
		}
	}
	return r.run(items)
}

// lokiStream is one stream of a Write: its labels and the indexes of its
// entries, sorted by time.
type lokiStream struct {
	key    string
	labels map[string]string
	idx    []int
}

// lokiPart is a stream's share of one push.
type lokiPart struct {
	stream *lokiStream
	idx    []int
}

// lokiItem is one push: parts of streams, each part in time order.
type lokiItem []lokiPart

func (it lokiItem) count() int {
	n := 0
	for _, p := range it {
		n += len(p.idx)
	}
	return n
}

// lokiRun is the state of one Write.
type lokiRun struct {
	w       *LokiWriter
	ctx     context.Context
	entries []logmap.Entry
	sizes   []int64
	res     Result
	// pendingDead are the entries left when the dead letter failed.
	pendingDead []int
}

// Size estimates of the protobuf encoding: per entry the timestamp and
// field tags, per structured metadata pair its tags, per stream its
// labels string and tags.
const (
	lokiEntryOverhead    = 24
	lokiMetadataOverhead = 6
	lokiStreamOverhead   = 8
)

func (r *lokiRun) requestSize(i int) int64 {
	e := r.entries[i].Entry
	return r.sizes[i] + lokiEntryOverhead + int64(len(e.StructuredMetadata))*lokiMetadataOverhead
}

// plan groups the entries into streams in order of first appearance,
// sorts each stream by time and cuts the streams into pushes. It returns
// the indexes of entries without labels apart.
func (r *lokiRun) plan() ([]lokiItem, []int) {
	var streams []*lokiStream
	byKey := map[string]*lokiStream{}
	var unlabelled []int
	for i := range r.entries {
		e := &r.entries[i]
		if len(e.Labels) == 0 {
			unlabelled = append(unlabelled, i)
			continue
		}
		key := e.Stream
		if key == "" {
			key = loki.LabelString(e.Labels)
		}
		s, ok := byKey[key]
		if !ok {
			s = &lokiStream{key: key, labels: e.Labels}
			byKey[key] = s
			streams = append(streams, s)
		}
		s.idx = append(s.idx, i)
	}
	for _, s := range streams {
		slices.SortStableFunc(s.idx, func(a, b int) int {
			return r.entries[a].Entry.Timestamp.Compare(r.entries[b].Entry.Timestamp)
		})
	}
	return r.cut(streams), unlabelled
}

// cut splits streams into pushes. A push stays within the ingestion burst
// (Loki rejects a larger push for good) and the request size cap. A
// stream's part of a push stays within the per-stream burst and spans at
// most the out-of-order window. So when a push is sent again, its entries
// are still within the window, and Loki drops them as duplicates instead
// of rejecting them as too far behind. A single entry over a limit goes
// alone.
func (r *lokiRun) cut(streams []*lokiStream) []lokiItem {
	burst := r.w.limits.IngestionBurstBytes
	streamBurst := r.w.limits.PerStreamBurstBytes
	var window time.Duration
	if r.w.limits.MaxChunkAge > 0 {
		window = r.w.limits.OutOfOrderWindow()
	}
	capBytes := r.w.maxRequestBytes

	var items []lokiItem
	var cur lokiItem
	var curBytes, curRequest int64
	flush := func() {
		if len(cur) > 0 {
			items = append(items, cur)
		}
		cur, curBytes, curRequest = nil, 0, 0
	}
	for _, s := range streams {
		var part *lokiPart
		var partBytes int64
		var partStart time.Time
		for _, i := range s.idx {
			size, request := r.sizes[i], r.requestSize(i)
			ts := r.entries[i].Entry.Timestamp
			if part == nil {
				request += int64(len(s.key)) + lokiStreamOverhead
			}
			full := len(cur) > 0 &&
				((burst > 0 && curBytes+size > burst) || curRequest+request > capBytes)
			streamFull := part != nil &&
				((streamBurst > 0 && partBytes+size > streamBurst) || (window > 0 && ts.Sub(partStart) > window))
			if full || streamFull {
				flush()
				part = nil
				request = r.requestSize(i) + int64(len(s.key)) + lokiStreamOverhead
			}
			if part == nil {
				cur = append(cur, lokiPart{stream: s})
				part = &cur[len(cur)-1]
				partBytes, partStart = 0, ts
			}
			part.idx = append(part.idx, i)
			partBytes += size
			curBytes += size
			curRequest += request
		}
	}
	flush()
	return items
}

// run pushes the items in order, handling each rejection, until all are
// accounted for or one cannot be sent now.
func (r *lokiRun) run(queue []lokiItem) (Result, error) {
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if err := r.ctx.Err(); err != nil {
			return r.stop(err, true, nil, append([]lokiItem{it}, queue...))
		}
		err := r.w.client.Push(r.ctx, r.streams(it))
		if err == nil {
			r.written(it)
			continue
		}
		o := r.judge(it, err)
		if o.stop != nil {
			return r.stop(o.stop, o.retryable, nil, append([]lokiItem{it}, queue...))
		}
		if len(o.dead) > 0 {
			if err := r.deadLetter(o.dead, o.reasons, o.detail); err != nil {
				// The entries after the failed one are still pending;
				// deadLetter reports them through pendingDead.
				return r.stop(err, true, r.pendingDead, append(o.next, queue...))
			}
		}
		queue = append(o.next, queue...)
	}
	return r.res, nil
}

func (r *lokiRun) streams(it lokiItem) []loki.Stream {
	out := make([]loki.Stream, len(it))
	for k, p := range it {
		es := make([]push.Entry, len(p.idx))
		for j, i := range p.idx {
			es[j] = r.entries[i].Entry
		}
		out[k] = loki.Stream{Labels: p.stream.labels, Entries: es}
	}
	return out
}

func (r *lokiRun) written(it lokiItem) {
	for _, p := range it {
		for _, i := range p.idx {
			r.res.Written++
			r.res.Bytes += r.sizes[i]
		}
	}
}

// stop ends the Write with the entries of dead (not yet dead-lettered) and
// of the items pending.
func (r *lokiRun) stop(err error, retryable bool, dead []int, items []lokiItem) (Result, error) {
	pending := make([]logmap.Entry, 0, len(dead))
	for _, i := range dead {
		pending = append(pending, r.entries[i])
	}
	for _, it := range items {
		for _, p := range it {
			for _, i := range p.idx {
				pending = append(pending, r.entries[i])
			}
		}
	}
	return r.res, &LokiWriteError{Pending: pending, Retryable: retryable, Err: err}
}

// lokiOutcome is the handling of a rejected push.
type lokiOutcome struct {
	// stop ends the Write with the item pending.
	stop      error
	retryable bool
	// dead are entries to dead-letter, each with its reason in reasons.
	dead    []int
	reasons map[int]string
	detail  string
	// next are pushes to send before the rest of the queue.
	next []lokiItem
}

// judge decides what to do with an item that Loki rejected with err.
func (r *lokiRun) judge(it lokiItem, err error) lokiOutcome {
	var perr *loki.PushError
	if !errors.As(err, &perr) {
		// No response (connection refused, timeout) or a cancelled context.
		return lokiOutcome{stop: err, retryable: true}
	}
	if perr.Retryable {
		return lokiOutcome{stop: err, retryable: true}
	}
	switch perr.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusProxyAuthRequired:
		return lokiOutcome{stop: err, retryable: false}
	}

	reason := lokiReason(perr)
	detail := fmt.Sprintf("Loki returned %d (%s): %s", perr.Status, reason, lokiCut(perr.Message, 1024))
	all := func(found map[int]string) lokiOutcome {
		o := lokiOutcome{reasons: map[int]string{}, detail: detail}
		for _, p := range it {
			for _, i := range p.idx {
				o.dead = append(o.dead, i)
				o.reasons[i] = reason
				if rs, ok := found[i]; ok {
					o.reasons[i] = rs
				}
			}
		}
		return o
	}
	n := it.count()

	switch {
	case perr.Reason == loki.ReasonBatchLargerThanBurst || perr.Reason == loki.ReasonPerStreamRateLimit ||
		perr.Status == http.StatusRequestEntityTooLarge:
		if n == 1 {
			return all(nil)
		}
		return lokiOutcome{next: lokiSplitEntries(it)}

	case lokiEntryOrStreamReason(perr.Reason):
		found := lokiIdentify(r.entries, it, perr)
		if !perr.Partial {
			// Loki's message shows that it stored none of the entries.
			return all(found)
		}
		if len(found) > 0 {
			o := lokiOutcome{reasons: found, detail: detail}
			rest := lokiFilter(it, func(i int) bool {
				if _, bad := found[i]; bad {
					o.dead = append(o.dead, i)
					return false
				}
				return true
			})
			if len(rest) > 1 && lokiStreamReason(perr.Reason) {
				o.next = lokiSplitStreams(rest)
			} else if len(rest) > 0 {
				o.next = []lokiItem{rest}
			}
			return o
		}
		if n == 1 {
			return all(nil)
		}
		if lokiStreamReason(perr.Reason) {
			return lokiOutcome{next: lokiSplitStreams(it)}
		}
		return lokiOutcome{next: lokiSplitEntries(it)}

	default:
		// The whole request was rejected (malformed, unknown 4xx): find
		// the entries that cause it by halving.
		if n == 1 {
			return all(nil)
		}
		return lokiOutcome{next: lokiSplitEntries(it)}
	}
}

// lokiReason names a rejection for the dead letter and the Result.
func lokiReason(perr *loki.PushError) string {
	switch {
	case perr.Status == http.StatusRequestEntityTooLarge && perr.Reason == loki.ReasonUnknown:
		return LokiReasonRequestTooLarge
	case perr.Reason == loki.ReasonUnknown || perr.Reason == "":
		return fmt.Sprintf("status_%d", perr.Status)
	}
	return string(perr.Reason)
}

// lokiEntryOrStreamReason reports whether Loki applies the reason to single
// entries or streams, storing the rest of the push.
func lokiEntryOrStreamReason(r loki.Reason) bool {
	switch r {
	case loki.ReasonTooFarBehind, loki.ReasonGreaterThanMaxSampleAge, loki.ReasonTooFarInFuture,
		loki.ReasonLineTooLong, loki.ReasonStructuredMetadataTooMany:
		return true
	}
	return lokiStreamReason(r)
}

// lokiStreamReason reports whether Loki rejects whole streams for the reason.
func lokiStreamReason(r loki.Reason) bool {
	switch r {
	case loki.ReasonStreamLimit, loki.ReasonMaxLabelNamesPerSeries, loki.ReasonLabelValueTooLong,
		loki.ReasonInvalidLabels, loki.ReasonDuplicateLabel:
		return true
	}
	return false
}

// lokiFilter returns the item with only the entries keep accepts, in order.
func lokiFilter(it lokiItem, keep func(i int) bool) lokiItem {
	var out lokiItem
	for _, p := range it {
		var idx []int
		for _, i := range p.idx {
			if keep(i) {
				idx = append(idx, i)
			}
		}
		if len(idx) > 0 {
			out = append(out, lokiPart{stream: p.stream, idx: idx})
		}
	}
	return out
}

// lokiSplitEntries cuts an item of two or more entries into two halves by
// entry count, keeping the order, so each stream stays in time order.
func lokiSplitEntries(it lokiItem) []lokiItem {
	half := it.count() / 2
	var first, second lokiItem
	seen := 0
	for _, p := range it {
		switch {
		case seen >= half:
			second = append(second, p)
		case seen+len(p.idx) <= half:
			first = append(first, p)
		default:
			k := half - seen
			first = append(first, lokiPart{stream: p.stream, idx: p.idx[:k]})
			second = append(second, lokiPart{stream: p.stream, idx: p.idx[k:]})
		}
		seen += len(p.idx)
	}
	return []lokiItem{first, second}
}

// lokiSplitStreams cuts an item of several streams into two halves by stream,
// or by entries when it has a single stream.
func lokiSplitStreams(it lokiItem) []lokiItem {
	if len(it) < 2 {
		return lokiSplitEntries(it)
	}
	half := len(it) / 2
	return []lokiItem{it[:half:half], it[half:]}
}

// deadLetter sends the entries to the dead letter and counts them. When
// the dead letter fails, the entries from the failed one on are left in
// r.pendingDead and counted nowhere.
func (r *lokiRun) deadLetter(idx []int, reasons map[int]string, detail string) error {
	r.pendingDead = nil
	for k, i := range idx {
		reason := reasons[i]
		if r.w.dl != nil {
			record, err := lokiRecord(r.entries[i])
			if err == nil {
				err = r.w.dl.Put(LokiDestination, reason, detail, record)
			}
			if err != nil {
				r.pendingDead = idx[k:]
				return fmt.Errorf("%w: %w", ErrDeadLetterUnavailable, err)
			}
		}
		r.res.AddDeadLettered(reason, 1)
	}
	return nil
}

// lokiDeadRecord is a dead-lettered entry: enough to push it again.
type lokiDeadRecord struct {
	Stream             string          `json:"stream"`
	Timestamp          string          `json:"timestamp"`
	Line               string          `json:"line"`
	StructuredMetadata []lokiDeadLabel `json:"structured_metadata,omitempty"`
	Truncated          bool            `json:"truncated,omitempty"`
}

type lokiDeadLabel struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func lokiRecord(e logmap.Entry) ([]byte, error) {
	rec := lokiDeadRecord{
		Stream:    e.Stream,
		Timestamp: e.Entry.Timestamp.UTC().Format(time.RFC3339Nano),
		Line:      e.Entry.Line,
		Truncated: e.Truncated,
	}
	if rec.Stream == "" && len(e.Labels) > 0 {
		rec.Stream = loki.LabelString(e.Labels)
	}
	for _, l := range e.Entry.StructuredMetadata {
		rec.StructuredMetadata = append(rec.StructuredMetadata, lokiDeadLabel{Name: l.Name, Value: l.Value})
	}
	return json.Marshal(rec)
}

// lokiCut cuts s to at most n bytes at a UTF-8 boundary.
func lokiCut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Fragments of Loki 3.7.6's rejection messages that name rejected
// entries. docs/loki-errors.md shows full examples.
var (
	// lokiTooFarBehindLine is one line of the ingester's out-of-order message:
	// "entry with timestamp 2026-12-04 14:00:32.470201032 +0000 UTC
	// ignored, reason: 'entry too far behind, ...". The ingester lists at
	// most 10 entries, then "total ignored: N out of M for stream: {...}".
	lokiTooFarBehindLine = regexp.MustCompile(`^entry with timestamp (.+?) ignored, reason: 'entry too far behind`)
	lokiTooOldSuffix     = regexp.MustCompile(`^ has timestamp too old: \S+, oldest acceptable timestamp is: ([0-9T:.Z+-]+)`)
	lokiTooNewSuffix     = regexp.MustCompile(`^ has timestamp too new: ([0-9T:.Z+-]+)`)
	lokiLabelNamesSuffix = regexp.MustCompile(`^ has \d+ label names`)
	lokiMetadataSuffix   = regexp.MustCompile(`^ has too many structured metadata labels: '(\d+)'`)
	lokiLineLengthSuffix = regexp.MustCompile(`^ while adding an entry with length '(\d+)' bytes`)
)

// lokiGoTimeLayout is the layout of Go's time.Time.String, which the
// ingester uses in its out-of-order message.
const lokiGoTimeLayout = "2006-01-02 15:04:05.999999999 -0700 MST"

// lokiIdentify returns the entries of it that Loki's message proves rejected,
// with their reasons. Loki names entries by stream and timestamp, line
// length or metadata count, and names streams by their labels plus the
// service_name label it adds. Where the message gives a time cutoff at
// second precision, only entries on the rejected side of the whole
// second are named. Entries it cannot name are found by sending again.
//
// NOTE: the message fragments are those of Loki 3.7.6. Messages of other
// versions name nothing here, so the writer falls back to halving, which
// costs pushes but accounts for every entry.
func lokiIdentify(entries []logmap.Entry, it lokiItem, perr *loki.PushError) map[int]string {
	id := lokiIdentifier{entries: entries, it: it, found: map[int]string{}}
	id.tooFarBehind(perr.Message)
	id.namedStreams(perr.Message)
	return id.found
}

type lokiIdentifier struct {
	entries []logmap.Entry
	it      lokiItem
	found   map[int]string
}

func (id *lokiIdentifier) mark(i int, reason loki.Reason) {
	if _, ok := id.found[i]; !ok {
		id.found[i] = string(reason)
	}
}

// part returns the item's part whose stream Loki's label set names, or nil.
func (id *lokiIdentifier) part(named map[string]string) *lokiPart {
	for k := range id.it {
		if lokiSameStream(id.it[k].stream.labels, named) {
			return &id.it[k]
		}
	}
	return nil
}

// lokiSameStream reports whether Loki's label set named is ours, allowing the
// service_name label that Loki 3 adds to a stream without one.
func lokiSameStream(ours, named map[string]string) bool {
	for k, v := range ours {
		if nv, ok := named[k]; !ok || nv != v {
			return false
		}
	}
	for k := range named {
		if _, ok := ours[k]; !ok && k != "service_name" {
			return false
		}
	}
	return true
}

// tooFarBehind reads the ingester's lists of out-of-order entries.
func (id *lokiIdentifier) tooFarBehind(msg string) {
	var listed []time.Time
	for _, line := range strings.Split(msg, "\n") {
		if m := lokiTooFarBehindLine.FindStringSubmatch(line); m != nil {
			if t, err := time.Parse(lokiGoTimeLayout, m[1]); err == nil {
				listed = append(listed, t)
			}
			continue
		}
		k := strings.Index(line, "total ignored: ")
		if k < 0 {
			continue
		}
		j := strings.Index(line[k:], "for stream: ")
		if j < 0 {
			listed = nil
			continue
		}
		named, _, ok := lokiParseLabels(line[k+j+len("for stream: "):])
		if p := id.part(named); ok && p != nil {
			for _, i := range p.idx {
				ts := id.entries[i].Entry.Timestamp
				if slices.ContainsFunc(listed, ts.Equal) {
					id.mark(i, loki.ReasonTooFarBehind)
				}
			}
		}
		listed = nil
	}
}

// namedStreams reads the distributor's messages that name a stream:
// "stream '{...}' has ...", "for stream '{...}' while adding ..." and
// "when trying to create stream {...}".
func (id *lokiIdentifier) namedStreams(msg string) {
	for _, marker := range []string{"stream '", "create stream "} {
		for off := 0; ; {
			k := strings.Index(msg[off:], marker)
			if k < 0 {
				break
			}
			off += k + len(marker)
			named, rest, ok := lokiParseLabels(msg[off:])
			if !ok {
				continue
			}
			if marker == "create stream " {
				if p := id.part(named); p != nil {
					id.markPart(p, loki.ReasonStreamLimit, nil)
				}
				continue
			}
			if rest, ok = strings.CutPrefix(rest, "'"); ok {
				id.streamMessage(named, rest)
			}
		}
	}
}

// streamMessage handles the text after "stream '{...}'".
func (id *lokiIdentifier) streamMessage(named map[string]string, rest string) {
	p := id.part(named)
	if m := lokiTooOldSuffix.FindStringSubmatch(rest); m != nil {
		// Loki prints the cutoff to the second, rounded down, and applies
		// it to the whole tenant.
		if cutoff, err := time.Parse(time.RFC3339, m[1]); err == nil {
			id.markAll(func(ts time.Time) bool { return ts.Before(cutoff) }, loki.ReasonGreaterThanMaxSampleAge)
		}
		return
	}
	if m := lokiTooNewSuffix.FindStringSubmatch(rest); m != nil {
		// The rejected entry is in [t, t+1s), so every entry from t+1s on
		// is too new as well. Within that second only a single candidate
		// of the named stream is certain.
		t, err := time.Parse(time.RFC3339, m[1])
		if err != nil {
			return
		}
		id.markAll(func(ts time.Time) bool { return !ts.Before(t.Add(time.Second)) }, loki.ReasonTooFarInFuture)
		if p != nil {
			var candidates []int
			for _, i := range p.idx {
				ts := id.entries[i].Entry.Timestamp
				if !ts.Before(t) && ts.Before(t.Add(time.Second)) {
					candidates = append(candidates, i)
				}
			}
			if len(candidates) == 1 {
				id.mark(candidates[0], loki.ReasonTooFarInFuture)
			}
		}
		return
	}
	if p == nil {
		return
	}
	switch {
	case lokiLabelNamesSuffix.MatchString(rest):
		id.markPart(p, loki.ReasonMaxLabelNamesPerSeries, nil)
	case strings.HasPrefix(rest, " has label value too long"):
		id.markPart(p, loki.ReasonLabelValueTooLong, nil)
	case strings.HasPrefix(rest, " has duplicate label name"):
		id.markPart(p, loki.ReasonDuplicateLabel, nil)
	default:
		if m := lokiMetadataSuffix.FindStringSubmatch(rest); m != nil {
			n, _ := strconv.Atoi(m[1])
			id.markPart(p, loki.ReasonStructuredMetadataTooMany, func(e logmap.Entry) bool { return len(e.Entry.StructuredMetadata) == n })
		} else if m := lokiLineLengthSuffix.FindStringSubmatch(rest); m != nil {
			n, _ := strconv.Atoi(m[1])
			id.markPart(p, loki.ReasonLineTooLong, func(e logmap.Entry) bool { return len(e.Entry.Line) == n })
		}
	}
}

// markPart marks the entries of p that match (all when match is nil).
func (id *lokiIdentifier) markPart(p *lokiPart, reason loki.Reason, match func(logmap.Entry) bool) {
	for _, i := range p.idx {
		if match == nil || match(id.entries[i]) {
			id.mark(i, reason)
		}
	}
}

// markAll marks every entry of the item whose timestamp matches.
func (id *lokiIdentifier) markAll(match func(time.Time) bool, reason loki.Reason) {
	for _, p := range id.it {
		for _, i := range p.idx {
			if match(id.entries[i].Entry.Timestamp) {
				id.mark(i, reason)
			}
		}
	}
}

// lokiParseLabels reads a label set as Loki prints it, {a="1", b="2"} with
// Go-quoted values, from the start of s. It returns the labels and the
// text after the closing brace.
func lokiParseLabels(s string) (map[string]string, string, bool) {
	s, ok := strings.CutPrefix(s, "{")
	if !ok {
		return nil, "", false
	}
	labels := map[string]string{}
	if rest, ok := strings.CutPrefix(s, "}"); ok {
		return labels, rest, true
	}
	for {
		j := 0
		for j < len(s) && lokiLabelNameByte(s[j], j == 0) {
			j++
		}
		if j == 0 || j >= len(s) || s[j] != '=' {
			return nil, "", false
		}
		name := s[:j]
		s = s[j+1:]
		quoted, err := strconv.QuotedPrefix(s)
		if err != nil {
			return nil, "", false
		}
		value, err := strconv.Unquote(quoted)
		if err != nil {
			return nil, "", false
		}
		labels[name] = value
		s = s[len(quoted):]
		switch {
		case strings.HasPrefix(s, ", "):
			s = s[2:]
		case strings.HasPrefix(s, ","):
			s = s[1:]
		case strings.HasPrefix(s, "}"):
			return labels, s[1:], true
		default:
			return nil, "", false
		}
	}
}

func lokiLabelNameByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}
