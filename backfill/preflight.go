package backfill

import (
	"fmt"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/plans"
)

// Rejection is one setting that makes the backfill's out-of-order strategy
// fail, found before anything is written.
type Rejection struct {
	// Setting names the plan field or Loki limit, such as
	// "max_label_names_per_series".
	Setting string
	// Problem describes what would go wrong, with the values involved.
	Problem string
	// Fix is the change that lets the backfill run.
	Fix string
}

// PreflightError lists every rejected setting. The backfill writes nothing
// when it returns one.
type PreflightError struct {
	// LimitsSource names where the Loki limits came from: Loki's /config,
	// the plan's targets.loki.limits, or Loki's defaults.
	LimitsSource string
	Rejections   []Rejection
}

func (e *PreflightError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the backfill cannot run with these settings (Loki limits from %s):", e.LimitsSource)
	for _, r := range e.Rejections {
		fmt.Fprintf(&b, "\n  - %s: %s. Fix: %s.", r.Setting, r.Problem, r.Fix)
	}
	return b.String()
}

// preflightInput holds the plan, limits and range the checks examine.
type preflightInput struct {
	logs   []plans.LogMapping
	limits loki.Limits
	rng    Range
	now    time.Time
	// projectedStreams is the inventory's projection of active streams,
	// 0 when no inventory is stored.
	projectedStreams int64
	// label is the stream-separation label name, "" when disabled.
	label string
}

// preflight returns a *PreflightError with every setting that breaks the
// strategy: each backfilled entry goes to a stream that only its shard
// writes, in time order, and carries its document _id as structured
// metadata so that a replayed push is stored once.
func preflight(in preflightInput) error {
	if len(in.logs) == 0 {
		return nil
	}
	var rejections []Rejection
	rejections = append(rejections, checkMappings(in)...)
	rejections = append(rejections, checkLabelCount(in)...)
	rejections = append(rejections, checkSampleAge(in)...)
	rejections = append(rejections, checkStructuredMetadata(in)...)
	rejections = append(rejections, checkStreams(in)...)
	rejections = append(rejections, checkSharedStreams(in)...)
	if len(rejections) == 0 {
		return nil
	}
	return &PreflightError{LimitsSource: limitsSource(in.limits), Rejections: rejections}
}

func limitsSource(l loki.Limits) string {
	if l.Source == "" {
		return "an unknown source"
	}
	return l.Source
}

// checkMappings rejects a logs entry that already uses the separation
// label, and two entries with the same indices, whose unit checkpoints
// would collide.
func checkMappings(in preflightInput) []Rejection {
	var out []Rejection
	seen := map[string]int{}
	for i, m := range in.logs {
		if in.label != "" {
			_, inLabels := m.Labels[in.label]
			_, inStatic := m.StaticLabels[in.label]
			if inLabels || inStatic {
				out = append(out, Rejection{
					Setting: fmt.Sprintf("logs[%d] (indices %s)", i, m.Indices),
					Problem: fmt.Sprintf("the mapping sets the label %s, which the backfill adds to keep its streams apart from the live dual write", in.label),
					Fix:     fmt.Sprintf("rename that label in logs[%d]", i),
				})
			}
		}
		if j, dup := seen[m.Indices]; dup {
			out = append(out, Rejection{
				Setting: fmt.Sprintf("logs[%d] (indices %s)", i, m.Indices),
				Problem: fmt.Sprintf("logs[%d] has the same indices, so its documents would be read twice", j),
				Fix:     fmt.Sprintf("merge logs[%d] into logs[%d]; only the first entry that matches an index applies", i, j),
			})
		}
		seen[m.Indices] = i
	}
	return out
}

// checkLabelCount compares each entry's label names, plus the separation
// label, with max_label_names_per_series. Loki 3.7.6 does not count the
// service_name label it adds itself.
func checkLabelCount(in preflightInput) []Rejection {
	limit := in.limits.MaxLabelNamesPerSeries
	if limit <= 0 || in.label == "" {
		return nil
	}
	var out []Rejection
	for i, m := range in.logs {
		names := map[string]bool{}
		for name := range m.Labels {
			names[name] = true
		}
		for name := range m.StaticLabels {
			names[name] = true
		}
		total := len(names) + 1
		if total <= limit {
			continue
		}
		out = append(out, Rejection{
			Setting: "max_label_names_per_series",
			Problem: fmt.Sprintf("logs[%d] (indices %s) has %d labels and %d static labels; with the backfill's %s label its streams have %d label names, over Loki's max_label_names_per_series of %d, so Loki would reject every entry",
				i, m.Indices, len(m.Labels), len(m.StaticLabels), in.label, total, limit),
			Fix: fmt.Sprintf("raise max_label_names_per_series to at least %d in Loki's limits_config, or move a label of logs[%d] to structured_metadata", total, i),
		})
	}
	return out
}

// checkSampleAge rejects a range whose oldest entries Loki would reject as
// too old.
func checkSampleAge(in preflightInput) []Rejection {
	l := in.limits
	if !l.RejectOldSamples || l.RejectOldSamplesMaxAge <= 0 {
		return nil
	}
	age := in.now.Sub(in.rng.From)
	if age <= l.RejectOldSamplesMaxAge {
		return nil
	}
	return []Rejection{{
		Setting: "reject_old_samples_max_age",
		Problem: fmt.Sprintf("Loki rejects entries older than %s because reject_old_samples is true, and the backfill starts at %s, %s ago",
			plans.Duration{Duration: l.RejectOldSamplesMaxAge}, in.rng.From.Format(time.RFC3339), plans.Duration{Duration: age.Truncate(time.Hour)}),
		Fix: fmt.Sprintf("set reject_old_samples: false, or reject_old_samples_max_age above %s, in Loki's limits_config for the backfill; or start the backfill later with --from",
			plans.Duration{Duration: age.Truncate(time.Hour) + time.Hour}),
	}}
}

// checkStructuredMetadata requires structured metadata: every entry
// carries its document _id as es_id, which keeps documents with equal
// timestamps and lines apart and makes a replayed push harmless.
func checkStructuredMetadata(in preflightInput) []Rejection {
	if in.limits.AllowStructuredMetadata {
		return nil
	}
	return []Rejection{{
		Setting: "allow_structured_metadata",
		Problem: "Loki does not accept structured metadata, but every backfilled entry carries its Elasticsearch _id as es_id, without which documents with the same timestamp and line would collapse into one and a replay could not be told apart",
		Fix:     "set allow_structured_metadata: true in Loki's limits_config (the Loki 3.x default)",
	}}
}

// checkStreams compares the inventory's projected streams, live plus one
// copy per shard, with max_global_streams_per_user.
func checkStreams(in preflightInput) []Rejection {
	limit := int64(in.limits.MaxGlobalStreamsPerUser)
	if limit <= 0 || in.projectedStreams <= 0 || in.label == "" {
		return nil
	}
	total := in.projectedStreams * int64(1+in.rng.Shards)
	if total <= limit {
		return nil
	}
	return []Rejection{{
		Setting: "max_global_streams_per_user",
		Problem: fmt.Sprintf("the inventory projects %d active streams; the live dual write and %d backfill shards each write their own copy, %d streams in all, over Loki's max_global_streams_per_user of %d",
			in.projectedStreams, in.rng.Shards, total, limit),
		Fix: fmt.Sprintf("raise max_global_streams_per_user to at least %d in Loki's limits_config, or run fewer shards", total),
	}}
}

// checkSharedStreams rejects a slice longer than the out-of-order window
// when two logs entries may write the same stream. A shard writes one
// slice of every entry before the next slice, so the second entry's first
// entries are up to one slice older than the newest entry of the stream.
func checkSharedStreams(in preflightInput) []Rejection {
	window := in.limits.OutOfOrderWindow()
	if window <= 0 || in.rng.Slice <= window {
		return nil
	}
	var out []Rejection
	for i := range in.logs {
		for j := i + 1; j < len(in.logs); j++ {
			if streamsDisjoint(in.logs[i], in.logs[j]) {
				continue
			}
			out = append(out, Rejection{
				Setting: "phases.parallel_run.backfill.slice",
				Problem: fmt.Sprintf("logs[%d] (%s) and logs[%d] (%s) can produce the same stream, and a slice of %s is longer than Loki's out-of-order window of %s (max_chunk_age/2), so the second entry's oldest lines of a slice would be too far behind the first's newest",
					i, in.logs[i].Indices, j, in.logs[j].Indices, plans.Duration{Duration: in.rng.Slice}, plans.Duration{Duration: window}),
				Fix: fmt.Sprintf("set phases.parallel_run.backfill.slice to at most %s, or give the two entries static_labels that differ", plans.Duration{Duration: window}),
			})
		}
	}
	return out
}

// streamsDisjoint reports whether two mappings can never produce the same
// label set: one has a static label that the other sets to another value,
// or never sets at all.
func streamsDisjoint(a, b plans.LogMapping) bool {
	return staticSeparates(a, b) || staticSeparates(b, a)
}

func staticSeparates(a, b plans.LogMapping) bool {
	for name, value := range a.StaticLabels {
		if value == "" {
			continue
		}
		if other, ok := b.StaticLabels[name]; ok && other != value {
			return true
		}
		_, inStatic := b.StaticLabels[name]
		_, inLabels := b.Labels[name]
		if !inStatic && !inLabels {
			return true
		}
	}
	return false
}
