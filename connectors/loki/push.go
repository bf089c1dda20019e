package loki

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

const pushPath = "/loki/api/v1/push"

// Stream is one stream of a push: its label set and its entries. Structured
// metadata goes in each entry's StructuredMetadata.
type Stream struct {
	Labels  map[string]string
	Entries []push.Entry
}

// LabelString returns the label set in Loki's push form, {a="1", b="2"},
// with names sorted and values quoted as Go strings, which Loki's label
// parser reads.
func LabelString(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[name]))
	}
	b.WriteByte('}')
	return b.String()
}

// EntrySize returns the bytes Loki counts for an entry against its rate
// limits: the line plus the names and values of its structured metadata.
func EntrySize(e push.Entry) int64 {
	size := int64(len(e.Line))
	for _, l := range e.StructuredMetadata {
		size += int64(len(l.Name) + len(l.Value))
	}
	return size
}

// BatchSize returns the bytes Loki counts for a push against the tenant's
// ingestion rate and burst. A push larger than Limits.IngestionBurstBytes
// can never be accepted.
func BatchSize(streams []Stream) int64 {
	var size int64
	for _, s := range streams {
		for _, e := range s.Entries {
			size += EntrySize(e)
		}
	}
	return size
}

// EncodePush builds the protobuf PushRequest for streams and compresses it
// with snappy's block format, as Loki's push endpoint expects for
// Content-Type application/x-protobuf. Streams without entries are left
// out, and streams with the same label set are merged. Each stream's
// entries are sorted by timestamp, because Loki measures its out-of-order
// window from the newest entry it has seen in the stream. The sort is
// stable, so entries with equal timestamps keep their order. EncodePush
// returns the number of entries encoded, and an error for a stream
// without labels.
func EncodePush(streams []Stream) (body []byte, entries int, err error) {
	req := push.PushRequest{Streams: make([]push.Stream, 0, len(streams))}
	index := map[string]int{}
	for i, s := range streams {
		if len(s.Entries) == 0 {
			continue
		}
		if len(s.Labels) == 0 {
			return nil, 0, fmt.Errorf("loki push: stream %d has no labels: Loki requires at least one label per stream", i)
		}
		labels := LabelString(s.Labels)
		j, seen := index[labels]
		if !seen {
			j = len(req.Streams)
			index[labels] = j
			req.Streams = append(req.Streams, push.Stream{Labels: labels})
		}
		req.Streams[j].Entries = append(req.Streams[j].Entries, s.Entries...)
		entries += len(s.Entries)
	}
	if entries == 0 {
		return nil, 0, nil
	}
	for i := range req.Streams {
		slices.SortStableFunc(req.Streams[i].Entries, func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) })
	}
	data, err := req.Marshal()
	if err != nil {
		return nil, 0, fmt.Errorf("loki push: encoding the protobuf request: %w", err)
	}
	return snappy.Encode(nil, data), entries, nil
}

// PushError is a push that Loki rejected. It unwraps to the
// *httpx.StatusError of the last response.
type PushError struct {
	Status int
	// Reason is the first reason of the classification table that Loki's
	// message matches, or ReasonBatchLargerThanBurst for an ingestion-rate
	// 429 larger than the burst.
	Reason Reason
	// Reasons lists every reason the message matches: a 400 can list
	// several kinds of bad entries.
	Reasons []Reason
	// Message is Loki's text/plain response body, trimmed and cut at 64 KiB.
	Message string
	// Partial is true when Loki stored the push's valid entries and
	// rejected only the ones it names. Resending the whole push is harmless,
	// because Loki drops an entry whose timestamp and line it already
	// stored in that stream, but the rejected entries fail again.
	Partial bool
	// Retryable is true when sending the same push later may succeed. A
	// stream-limit 429, a push larger than the burst and every 4xx but 429
	// are not retryable: split or fix the push, or report it.
	Retryable bool
	// Entries is the number of entries sent. Ignored is the number of
	// rejected entries that Loki's message states, or 0 when it states none.
	Entries, Ignored int
	// AttemptedBytes is the size Loki gave in an ingestion-rate 429, and
	// BurstBytes the burst it was compared with (0 when unknown).
	AttemptedBytes, BurstBytes int64
	Err                        *httpx.StatusError
}

func (e *PushError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "loki: push of %d entries to %s returned %d (%s)", e.Entries, e.Err.URL, e.Status, e.Reason)
	if e.Err.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Err.Attempts)
	}
	if e.Reason == ReasonBatchLargerThanBurst {
		fmt.Fprintf(&b, ": %d bytes is more than the burst of %d bytes", e.AttemptedBytes, e.BurstBytes)
	}
	fmt.Fprintf(&b, ": %s", cut(e.Message, maxMessageInError))
	if e.Partial {
		b.WriteString("; Loki stored the valid entries of this push")
	}
	if !e.Retryable {
		b.WriteString("; do not resend it unchanged")
	}
	fmt.Fprintf(&b, "; %s", Action(e.Reason))
	return b.String()
}

func (e *PushError) Unwrap() error { return e.Err }

// maxPushMessage bounds PushError.Message. A per-stream rate-limit 429
// repeats one line per rejected entry.
const maxPushMessage = 64 << 10

// Push sends streams to Loki as one protobuf push. It retries 429 and 5xx
// responses with jittered backoff, except for a 429 that cannot succeed
// as sent: the stream limit, a push larger than the tenant's burst, or one
// stream's part larger than the per-stream burst. The bursts come from
// SetLimits or Limits; without them a rate-limit 429 is always retried. A
// rejection is a *PushError. A push with no entries sends nothing.
func (c *Client) Push(ctx context.Context, streams []Stream) error {
	body, entries, err := EncodePush(streams)
	if err != nil || entries == 0 {
		return err
	}
	limits, _ := c.KnownLimits()
	var verdict pushVerdict
	classify := func(status int, _ http.Header, respBody []byte) httpx.Decision {
		if status >= 200 && status < 300 {
			return httpx.Accept
		}
		verdict = judgePush(status, string(respBody), limits, nonEmptyStreams(streams), entries)
		if verdict.retryable {
			return httpx.Retry
		}
		return httpx.Permanent
	}
	_, err = c.http.Do(ctx, httpx.Request{
		Method:     http.MethodPost,
		Path:       pushPath,
		Header:     http.Header{"Content-Type": {"application/x-protobuf"}},
		Body:       body,
		Classifier: classify,
	})
	if err == nil {
		return nil
	}
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return err
	}
	return &PushError{
		Status:         se.Status,
		Reason:         verdict.reason,
		Reasons:        verdict.reasons,
		Message:        c.http.Redact(verdict.message),
		Partial:        verdict.partial,
		Retryable:      verdict.retryable,
		Entries:        entries,
		Ignored:        verdict.ignored,
		AttemptedBytes: verdict.attemptedBytes,
		BurstBytes:     verdict.burstBytes,
		Err:            se,
	}
}

// pushVerdict is judgePush's conclusion about one rejected push.
type pushVerdict struct {
	reason                     Reason
	reasons                    []Reason
	message                    string
	partial, retryable         bool
	ignored                    int
	attemptedBytes, burstBytes int64
}

var (
	// attemptedBytesPattern reads the size from Loki 3.7.6's ingestion-rate
	// 429: "... while attempting to ingest '12' lines totaling '1228800'
	// bytes, ...".
	attemptedBytesPattern = regexp.MustCompile(`lines totaling '(\d+)' bytes`)
	// streamRatePattern reads each entry of a per-stream rate-limit 429:
	// "Per stream rate limit exceeded (limit: 512KB/sec) while attempting
	// to ingest for stream '{job="x"}' totaling 100KB".
	streamRatePattern = regexp.MustCompile(`Per stream rate limit exceeded \(limit: [^)]*\) while attempting to ingest for stream '(\{.*?\})' totaling ([0-9.]+[A-Za-z]*)`)
	// ignoredPattern reads the ingester's count: "total ignored: 1 out of
	// 2 for stream: {...}".
	ignoredPattern = regexp.MustCompile(`total ignored: (\d+) out of \d+`)
	// groupedPattern reads the distributor's grouped validation errors:
	// "1 errors like: ...; 1 errors like: ...".
	groupedPattern = regexp.MustCompile(`(?:^|; )(\d+) errors like: `)
)

// judgePush classifies a rejected push and decides whether to retry it.
func judgePush(status int, body string, limits Limits, streams, entries int) pushVerdict {
	v := pushVerdict{
		reason:  Classify(status, body),
		reasons: classifyAll(body),
		message: cut(strings.TrimSpace(body), maxPushMessage),
	}
	v.retryable = Retryable(status, v.reason)
	switch v.reason {
	case ReasonRateLimited:
		if m := attemptedBytesPattern.FindStringSubmatch(body); m != nil {
			v.attemptedBytes, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if limits.IngestionBurstBytes > 0 && v.attemptedBytes > limits.IngestionBurstBytes {
			v.reason = ReasonBatchLargerThanBurst
			v.burstBytes = limits.IngestionBurstBytes
			v.retryable = false
		}
	case ReasonPerStreamRateLimit:
		if burst := limits.PerStreamBurstBytes; burst > 0 && largestRejectedStream(body) > burst {
			v.burstBytes = burst
			v.retryable = false
		}
	}
	v.ignored = ignoredEntries(body, v.reason)
	v.partial = partialCapable(v.reason) && !allRejected(v, streams, entries)
	return v
}

// nonEmptyStreams counts the distinct label sets that have entries, as
// EncodePush sends them.
func nonEmptyStreams(streams []Stream) int {
	labelSets := map[string]bool{}
	for _, s := range streams {
		if len(s.Entries) > 0 {
			labelSets[LabelString(s.Labels)] = true
		}
	}
	return len(labelSets)
}

// largestRejectedStream adds up the sizes of the per-stream rate-limit
// rejections of each stream and returns the largest sum. Loki 3.7.6
// rejects a stream's whole part of a push when it is over the limit, and
// lists every entry with its size.
func largestRejectedStream(body string) int64 {
	sums := map[string]int64{}
	var largest int64
	for _, m := range streamRatePattern.FindAllStringSubmatch(body, -1) {
		size, err := ParseByteSize(m[2])
		if err != nil {
			continue
		}
		sums[m[1]] += size
		largest = max(largest, sums[m[1]])
	}
	return largest
}

// ignoredEntries returns the number of rejected entries that Loki's message
// states, or 0 when it states none.
func ignoredEntries(body string, reason Reason) int {
	total := 0
	counted := false
	for _, pattern := range []*regexp.Regexp{ignoredPattern, groupedPattern} {
		for _, m := range pattern.FindAllStringSubmatch(body, -1) {
			if n, err := strconv.Atoi(m[1]); err == nil {
				total += n
				counted = true
			}
		}
	}
	if !counted && singleEntry(reason) {
		return 1
	}
	return total
}

// allRejected reports whether the message shows that no entry of the push
// was stored.
func allRejected(v pushVerdict, streams, entries int) bool {
	if v.ignored > 0 && v.ignored >= entries {
		return true
	}
	return streams == 1 && streamLevel(v.reason)
}
