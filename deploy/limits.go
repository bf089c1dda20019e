package deploy

import (
	"fmt"
	"math"
	"time"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/inventory"
	"github.com/obs-migrate/migrate/plans"
)

// Inputs are the plan, inventory and backfill range the limits are
// compared with.
type Inputs struct {
	Plan *plans.Plan
	// Inventory is the stored inventory, or nil when it measured no
	// Elasticsearch; the rate and stream checks then only report limits.
	Inventory *inventory.Report
	// BackfillFrom is the start of the historical copy.
	BackfillFrom time.Time
	Now          time.Time
}

// headroom is the factor a suggested rate limit leaves above the measured
// rate, for bursts and growth.
const headroom = 1.5

// CheckLokiLimits compares Loki's limits with the plan, the inventory and
// the backfill range.
func CheckLokiLimits(r *Result, l loki.Limits, in Inputs) {
	const target = "loki"
	if l.Source == loki.SourceDefaults {
		r.add(target, "limits_source", Warn, "",
			"Loki's /config is not readable and the plan gives no targets.loki.limits, so these checks assume Loki 3.x defaults; expose /config or copy the tenant's limits into the plan")
	} else {
		r.add(target, "limits_source", Pass, "", "limits read from %s", l.Source)
	}
	checkLabels(r, l, in.Plan)
	checkStructuredMetadata(r, l, in.Plan)
	checkLineSize(r, l, in.Plan)
	checkRates(r, l, in.Inventory)
	checkSampleAge(r, l, in)
	checkOutOfOrder(r, l, in)
}

func checkLabels(r *Result, l loki.Limits, p *plans.Plan) {
	most, where := 0, ""
	for _, m := range p.Logs {
		// Loki adds service_name, which does not count toward the limit
		// (measured on Loki 3.7.6).
		if n := len(m.Labels) + len(m.StaticLabels); n > most {
			most, where = n, m.Indices
		}
	}
	if l.MaxLabelNamesPerSeries > 0 && most > l.MaxLabelNamesPerSeries {
		r.add("loki", "max_label_names_per_series", Fail, fmt.Sprintf("max_label_names_per_series: %d", most),
			"the logs entry %s writes %d labels, but Loki accepts at most %d per stream and rejects the rest with 400", where, most, l.MaxLabelNamesPerSeries)
		return
	}
	r.add("loki", "max_label_names_per_series", Pass, "", "at most %d labels per stream of %d allowed", most, l.MaxLabelNamesPerSeries)
}

func checkStructuredMetadata(r *Result, l loki.Limits, p *plans.Plan) {
	if len(p.Logs) > 0 && !l.AllowStructuredMetadata {
		r.add("loki", "allow_structured_metadata", Fail, "allow_structured_metadata: true",
			"structured metadata is off, but every entry carries the document _id as es_id so parity can check membership")
		return
	}
	most := 0
	for _, m := range p.Logs {
		most = max(most, len(m.StructuredMetadata)+1)
	}
	if l.MaxStructuredMetadataEntries > 0 && most > l.MaxStructuredMetadataEntries {
		r.add("loki", "max_structured_metadata_entries_count", Fail, fmt.Sprintf("max_structured_metadata_entries_count: %d", most),
			"entries carry up to %d structured metadata fields (es_id included), above the limit of %d", most, l.MaxStructuredMetadataEntries)
		return
	}
	r.add("loki", "structured_metadata", Pass, "", "structured metadata allowed; up to %d entries per line of %d, at most %s per line",
		most, l.MaxStructuredMetadataEntries, bytesText(float64(l.MaxStructuredMetadataSize)))
}

func checkLineSize(r *Result, l loki.Limits, p *plans.Plan) {
	if l.MaxLineSize <= 0 {
		r.add("loki", "max_line_size", Pass, "", "no line size limit")
		return
	}
	policy := "dead-lettered with their reason"
	for _, m := range p.Logs {
		if m.OversizeLines == "truncate" {
			policy = "truncated or dead-lettered, as each logs entry's oversize_lines says"
		}
	}
	if l.MaxLineSizeTruncate {
		policy = "truncated by Loki itself (max_line_size_truncate)"
	}
	r.add("loki", "max_line_size", Pass, "", "lines over %s are %s", bytesText(float64(l.MaxLineSize)), policy)
}

func checkRates(r *Result, l loki.Limits, inv *inventory.Report) {
	if inv == nil || inv.Loki == nil {
		r.add("loki", "ingestion_rate", Warn, "",
			"no inventory of Elasticsearch to compare with: ingestion_rate_mb allows %s/s and max_global_streams_per_user %d streams",
			bytesText(float64(l.IngestionRateBytes)), l.MaxGlobalStreamsPerUser)
		return
	}
	pr := inv.Loki
	if l.IngestionRateBytes > 0 && pr.BytesPerSecond > float64(l.IngestionRateBytes) {
		mb := int(math.Ceil(pr.BytesPerSecond * headroom / (1 << 20)))
		r.add("loki", "ingestion_rate_mb", Fail, fmt.Sprintf("ingestion_rate_mb: %d and ingestion_burst_size_mb: %d", mb, 2*mb),
			"the busiest day of the inventory ingests %s/s, above the tenant's %s/s: the parallel run would get 429 rate limited",
			bytesText(pr.BytesPerSecond), bytesText(float64(l.IngestionRateBytes)))
	} else {
		r.add("loki", "ingestion_rate_mb", Pass, "", "the busiest day ingests %s/s of %s/s allowed; the backfill gets the rest",
			bytesText(pr.BytesPerSecond), bytesText(float64(l.IngestionRateBytes)))
	}
	if l.PerStreamRateBytes > 0 && pr.PerStreamBytesPerSecond > float64(l.PerStreamRateBytes) {
		mb := int(math.Ceil(pr.PerStreamBytesPerSecond * headroom / (1 << 20)))
		r.add("loki", "per_stream_rate_limit", Fail, fmt.Sprintf("per_stream_rate_limit: %dMB", mb),
			"streams average %s/s, above the per-stream limit of %s/s",
			bytesText(pr.PerStreamBytesPerSecond), bytesText(float64(l.PerStreamRateBytes)))
	} else {
		r.add("loki", "per_stream_rate_limit", Pass, "", "streams average %s/s of %s/s allowed; a skewed stream can be above the average",
			bytesText(pr.PerStreamBytesPerSecond), bytesText(float64(l.PerStreamRateBytes)))
	}
	if limit := int64(l.MaxGlobalStreamsPerUser); limit > 0 && pr.ProjectedStreams > limit {
		r.add("loki", "max_global_streams_per_user", Fail, "",
			"the labels project up to %d active streams, above the limit of %d: Loki answers 429 \"maximum active stream limit exceeded\"; move high-cardinality labels to structured_metadata as the inventory proposes, rather than raising the limit",
			pr.ProjectedStreams, limit)
	} else {
		r.add("loki", "max_global_streams_per_user", Pass, "", "up to %d active streams of %d allowed", pr.ProjectedStreams, limit)
	}
}

// checkSampleAge compares the backfill's oldest entry with
// reject_old_samples_max_age.
func checkSampleAge(r *Result, l loki.Limits, in Inputs) {
	if in.BackfillFrom.IsZero() {
		return
	}
	age := in.Now.Sub(in.BackfillFrom)
	if !l.RejectOldSamples || age <= l.RejectOldSamplesMaxAge {
		r.add("loki", "reject_old_samples_max_age", Pass, "", "the backfill starts %s ago, which Loki accepts (reject_old_samples %t, max age %s)",
			durationText(age), l.RejectOldSamples, durationText(l.RejectOldSamplesMaxAge))
		return
	}
	// A day of margin, since the backfill starts after this check.
	want := (age + 24*time.Hour).Truncate(time.Hour)
	r.add("loki", "reject_old_samples_max_age", Fail, fmt.Sprintf("reject_old_samples_max_age: %s", hoursText(want)),
		"the backfill starts %s ago, but Loki rejects entries older than %s with 400 \"greater_than_max_sample_age\"",
		durationText(age), durationText(l.RejectOldSamplesMaxAge))
}

// checkOutOfOrder explains the per-stream out-of-order window: Loki
// accepts an entry only within max_chunk_age/2 of the newest entry already
// in its stream, whatever reject_old_samples is set to (measured on Loki 3.7.6).
func checkOutOfOrder(r *Result, l loki.Limits, in Inputs) {
	window := l.OutOfOrderWindow()
	detail := fmt.Sprintf("the out-of-order window is %s per stream (max_chunk_age %s / 2): Loki accepts an entry only if it is at most %s older than the newest entry already in its stream, even with reject_old_samples false. "+
		"A backfill that writes history into a stream the live dual write already fills is rejected with 400 \"entry too far behind\", "+
		"so each stream's history must be written in time order before live entries reach it, or into streams the live writes do not use",
		durationText(window), durationText(l.MaxChunkAge), durationText(window))
	if in.BackfillFrom.IsZero() || in.Now.Sub(in.BackfillFrom) <= window {
		r.add("loki", "out_of_order_window", Pass, "", "%s", detail)
		return
	}
	r.add("loki", "out_of_order_window", Warn, "", "%s; the backfill reaches %s back, beyond the window", detail, durationText(in.Now.Sub(in.BackfillFrom)))
}

// CheckTempoLimits compares Tempo's limits with the backfill range.
func CheckTempoLimits(r *Result, l tempo.Limits, in Inputs) {
	const target = "tempo"
	r.add(target, "limits_source", Pass, "", "limits read from %s", l.Source)
	if l.MaxBytesPerTrace > 0 {
		r.add(target, "max_bytes_per_trace", Pass, "",
			"traces above %s lose their extra spans, and Tempo still answers the push with 200; parity reads traces back to catch it",
			bytesText(float64(l.MaxBytesPerTrace)))
	}
	if l.MaxTracesPerUser > 0 || l.MaxGlobalTracesPerUser > 0 {
		r.add(target, "max_traces_per_user", Pass, "",
			"at most %d live traces per tenant and ingester (%d across the cluster); above it Tempo drops spans as live_traces_exceeded while answering OK",
			l.MaxTracesPerUser, l.MaxGlobalTracesPerUser)
	}
	if in.BackfillFrom.IsZero() || l.IngestionTimeRangeSlack <= 0 {
		return
	}
	age := in.Now.Sub(in.BackfillFrom)
	if age <= l.IngestionTimeRangeSlack {
		r.add(target, "ingestion_time_range_slack", Pass, "", "the backfill starts %s ago, within the slack of %s, so backfilled traces are found by search",
			durationText(age), durationText(l.IngestionTimeRangeSlack))
		return
	}
	want := (age + 24*time.Hour).Truncate(time.Hour)
	r.add(target, "ingestion_time_range_slack", Warn, "ingestion_time_range_slack: "+hoursText(want)+" (in the WAL settings of the ingester, live store or block builder)",
		"the backfill starts %s ago, beyond the slack of %s: those traces are stored and found by ID, but a search by time never returns them",
		durationText(age), durationText(l.IngestionTimeRangeSlack))
}

func bytesText(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if b == math.Trunc(b) {
		return fmt.Sprintf("%.0f %s", b, units[i])
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// durationText writes whole days as days, so 720h reads as 30d.
func durationText(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func hoursText(d time.Duration) string { return fmt.Sprintf("%dh", d/time.Hour) }
