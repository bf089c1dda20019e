package loki

import (
	"net/http"
	"strings"
)

// Reason names why Loki rejected a request. Where Loki has a name for the
// reason in its discarded-samples metrics, the Reason uses it.
type Reason string

// Reasons that Classify returns. docs/loki-errors.md lists each message
// fragment, its status and what a caller should do.
const (
	ReasonTooFarBehind            Reason = "too_far_behind"
	ReasonGreaterThanMaxSampleAge Reason = "greater_than_max_sample_age"
	ReasonTooFarInFuture          Reason = "too_far_in_future"
	ReasonLineTooLong             Reason = "line_too_long"
	ReasonStreamLimit             Reason = "stream_limit"
	ReasonRateLimited             Reason = "rate_limited"
	ReasonPerStreamRateLimit      Reason = "per_stream_rate_limit"
	// ReasonBatchLargerThanBurst is an ingestion-rate 429 for a push whose
	// size is above the tenant's burst. Classify never returns it, because
	// the body alone does not show the burst. Push derives it from the
	// limits the client was given or read.
	ReasonBatchLargerThanBurst       Reason = "batch_larger_than_burst"
	ReasonMaxLabelNamesPerSeries     Reason = "max_label_names_per_series"
	ReasonLabelValueTooLong          Reason = "label_value_too_long"
	ReasonInvalidLabels              Reason = "invalid_labels"
	ReasonDuplicateLabel             Reason = "duplicate_label"
	ReasonStructuredMetadataTooMany  Reason = "structured_metadata_too_many"
	ReasonEmptyPush                  Reason = "empty_push"
	ReasonMalformed                  Reason = "malformed"
	ReasonUnsupportedContentEncoding Reason = "unsupported_content_encoding"
	ReasonQueryTooLong               Reason = "query_too_long"
	ReasonMaxQuerySeries             Reason = "max_query_series"
	ReasonMaxEntriesLimit            Reason = "max_entries_limit"
	ReasonTooManyPoints              Reason = "too_many_points"
	ReasonEmptyCompatibleMatcher     Reason = "empty_compatible_matcher"
	ReasonQueryParseError            Reason = "query_parse_error"
	ReasonInvalidTimeRange           Reason = "invalid_time_range"
	ReasonInvalidParameter           Reason = "invalid_parameter"
	ReasonInstantLogQuery            Reason = "instant_log_query"
	ReasonNotReady                   Reason = "not_ready"
	ReasonUnknown                    Reason = "unknown"
)

// fragment is one row of the classification table: a piece of text that
// Loki 3.7.6 put in its text/plain error body.
type fragment struct {
	text   string
	reason Reason
}

// fragments is the classification table, checked in order, so a more
// specific fragment comes before a more general one ("empty-compatible"
// before "parse error"). Every text was copied from a recorded Loki 3.7.6
// response. docs/loki-errors.md names the recording of each row, and
// TestClassifyRecordings fails when a recording no longer matches.
var fragments = []fragment{
	{"maximum active stream limit exceeded", ReasonStreamLimit},
	{"ingestion rate limit exceeded", ReasonRateLimited},
	{"Per stream rate limit exceeded", ReasonPerStreamRateLimit},
	{"entry too far behind", ReasonTooFarBehind},
	{"has timestamp too old", ReasonGreaterThanMaxSampleAge},
	{"has timestamp too new", ReasonTooFarInFuture},
	{"max entry size", ReasonLineTooLong},
	{"label names; limit", ReasonMaxLabelNamesPerSeries},
	{"has label value too long", ReasonLabelValueTooLong},
	{"has duplicate label name", ReasonDuplicateLabel},
	{"couldn't parse labels", ReasonInvalidLabels},
	{"too many structured metadata labels", ReasonStructuredMetadataTooMany},
	{"at least one valid stream is required", ReasonEmptyPush},
	{`Content-Encoding "`, ReasonUnsupportedContentEncoding},
	{"snappy: corrupt input", ReasonMalformed},
	{"loghttp.PushRequest", ReasonMalformed},
	{"the query time range exceeds the limit", ReasonQueryTooLong},
	{"maximum number of series", ReasonMaxQuerySeries},
	{"max entries limit per query exceeded", ReasonMaxEntriesLimit},
	{"exceeded maximum resolution", ReasonTooManyPoints},
	{"does not have an empty-compatible value", ReasonEmptyCompatibleMatcher},
	{"parse error", ReasonQueryParseError},
	{"end timestamp must not be before or equal to start time", ReasonInvalidTimeRange},
	{"strconv.Parse", ReasonInvalidParameter},
	{"log queries are not supported as an instant query type", ReasonInstantLogQuery},
	{"not ready", ReasonNotReady},
}

// Classify returns the reason of a Loki error response: the first row of
// the fragment table whose text the body contains. It returns ReasonUnknown
// for a body that matches no row, and for a 2xx status. The status is not
// used to pick a row, because Loki sends each fragment with one status.
func Classify(status int, body string) Reason {
	if status >= 200 && status < 300 {
		return ReasonUnknown
	}
	for _, f := range fragments {
		if strings.Contains(body, f.text) {
			return f.reason
		}
	}
	return ReasonUnknown
}

// classifyAll returns every reason whose fragment the body contains, in
// table order. A push with several kinds of bad entries gets one 400 that
// lists them all.
func classifyAll(body string) []Reason {
	var reasons []Reason
	seen := map[Reason]bool{}
	for _, f := range fragments {
		if !seen[f.reason] && strings.Contains(body, f.text) {
			seen[f.reason] = true
			reasons = append(reasons, f.reason)
		}
	}
	return reasons
}

// Retryable reports whether sending the same request again later may
// succeed: for rate limits, a server that is not ready, any 5xx, and a 429
// whose body matches no fragment. A batch larger than the burst and the
// stream limit are 429s that are not retryable.
func Retryable(status int, reason Reason) bool {
	switch reason {
	case ReasonRateLimited, ReasonPerStreamRateLimit, ReasonNotReady:
		return true
	case ReasonUnknown:
		return status == http.StatusTooManyRequests || status >= 500
	}
	return status >= 500
}

// partialCapable reports whether Loki 3.7.6 rejects this reason per entry
// or per stream and still stores the other entries of the push. The
// recordings err_push_mixed_batch_partial_400, err_push_entry_too_far_behind_main_400
// and err_push_stream_limit_429 show the stored remainder.
func partialCapable(reason Reason) bool {
	switch reason {
	case ReasonTooFarBehind, ReasonGreaterThanMaxSampleAge, ReasonTooFarInFuture,
		ReasonLineTooLong, ReasonStreamLimit, ReasonPerStreamRateLimit,
		ReasonMaxLabelNamesPerSeries, ReasonLabelValueTooLong, ReasonInvalidLabels,
		ReasonDuplicateLabel, ReasonStructuredMetadataTooMany:
		return true
	}
	return false
}

// streamLevel reports whether the reason rejects a whole stream, so a push
// of one stream with this reason stored nothing.
func streamLevel(reason Reason) bool {
	switch reason {
	case ReasonStreamLimit, ReasonMaxLabelNamesPerSeries, ReasonLabelValueTooLong,
		ReasonInvalidLabels, ReasonDuplicateLabel:
		return true
	}
	return false
}

// singleEntry reports whether Loki reports this reason once per entry, so
// a body with one such message and no count rejected one entry.
func singleEntry(reason Reason) bool {
	switch reason {
	case ReasonGreaterThanMaxSampleAge, ReasonTooFarInFuture, ReasonLineTooLong,
		ReasonStructuredMetadataTooMany:
		return true
	}
	return false
}

// Action returns what a caller should do about a rejection with this
// reason. docs/loki-errors.md shows the same text.
func Action(reason Reason) string {
	switch reason {
	case ReasonTooFarBehind:
		return "send each stream's entries in time order: Loki drops an entry older than the stream's newest entry minus max_chunk_age/2, even with reject_old_samples false"
	case ReasonGreaterThanMaxSampleAge:
		return "the entry is older than reject_old_samples_max_age: set reject_old_samples false or raise the age on the target, or drop the entry"
	case ReasonTooFarInFuture:
		return "the entry is newer than now plus creation_grace_period: fix the source timestamps or the clock"
	case ReasonLineTooLong:
		return "the line is longer than max_line_size: truncate or split it, or raise max_line_size or set max_line_size_truncate"
	case ReasonStreamLimit:
		return "the tenant reached max_global_streams_per_user: reduce label values per stream, raise the limit, or wait until idle streams expire"
	case ReasonRateLimited:
		return "the tenant went over ingestion_rate_mb: the client retried with backoff; slow down or raise ingestion_rate_mb"
	case ReasonBatchLargerThanBurst:
		return "the push is larger than ingestion_burst_size_mb and can never succeed: split it into smaller pushes"
	case ReasonPerStreamRateLimit:
		return "one stream went over per_stream_rate_limit: slow down that stream, spread it over more label values, or raise the limit; split a stream's part of a push that is above per_stream_rate_limit_burst"
	case ReasonMaxLabelNamesPerSeries:
		return "the stream has more labels than max_label_names_per_series (service_name added by Loki is not counted): map fewer fields to labels"
	case ReasonLabelValueTooLong:
		return "a label value is longer than max_label_value_length: shorten it or move it to structured metadata"
	case ReasonInvalidLabels:
		return "the label set does not parse: label names must match [a-zA-Z_][a-zA-Z0-9_]*"
	case ReasonDuplicateLabel:
		return "the label set names one label twice: remove the duplicate"
	case ReasonStructuredMetadataTooMany:
		return "an entry has more structured metadata entries than max_structured_metadata_entries_count: send fewer"
	case ReasonEmptyPush:
		return "the push has no streams: send at least one stream with one entry"
	case ReasonMalformed:
		return "Loki could not decode the body: this is a client bug; report it with the message"
	case ReasonUnsupportedContentEncoding:
		return "Loki accepts only gzip, deflate and snappy bodies: this is a client bug"
	case ReasonQueryTooLong:
		return "the time range is longer than max_query_length: split it into shorter ranges"
	case ReasonMaxQuerySeries:
		return "the query returns more series than max_query_series: aggregate more or narrow the selector or range"
	case ReasonMaxEntriesLimit:
		return "the limit is above max_entries_limit_per_query: lower the limit and page through the range"
	case ReasonTooManyPoints:
		return "more than 11,000 points per series: raise the step or shorten the range"
	case ReasonEmptyCompatibleMatcher:
		return "add a matcher that cannot match the empty value, such as job=~\".+\""
	case ReasonQueryParseError:
		return "the LogQL query does not parse: fix it"
	case ReasonInvalidTimeRange:
		return "the end time must be after the start time"
	case ReasonInvalidParameter:
		return "a request parameter did not parse: this is a client bug"
	case ReasonInstantLogQuery:
		return "a log query needs a range query: use QueryRange"
	case ReasonNotReady:
		return "Loki is starting: wait and check /ready again"
	}
	return "see Loki's message"
}
