package backfill

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

// Summary is the outcome of a run of one shard.
type Summary struct {
	Plan   string
	Shard  Shard
	Range  Range
	DryRun bool
	// Units and UnitsDone count this shard's units; AllUnits and
	// AllUnitsDone count those of every shard.
	Units, UnitsDone       int
	AllUnits, AllUnitsDone int
	// Counts are this shard's totals over all its runs, read from the
	// checkpoints; RunCounts are what this run copied.
	Counts    Counts
	RunCounts Counts
	// Pending lists this shard's units that are not done.
	Pending []PendingUnit
	// TruncatedAttributes counts the span attributes longer than Tempo's
	// max_attribute_bytes, which Tempo truncates without telling.
	TruncatedAttributes int64
	Warnings            []string
	Elapsed             time.Duration
}

// PendingUnit is a unit that is not done.
type PendingUnit struct {
	Unit Unit
	// Started is true when a checkpoint inside the unit exists, so a run
	// resumes it from there.
	Started bool
}

// Done reports whether every unit of the shard is done.
func (s *Summary) Done() bool { return s.UnitsDone == s.Units }

// DeadLettered returns the records stored in the dead letter by the
// shard, over all its runs.
func (s *Summary) DeadLettered() int64 {
	n := int64(0)
	for _, v := range s.Counts.DeadLettered {
		n += v
	}
	return n
}

// WriteText prints the summary for a person.
func (s *Summary) WriteText(w io.Writer) {
	state := "done"
	switch {
	case s.DryRun:
		state = "dry run, nothing written"
	case !s.Done():
		state = "not done"
	}
	fmt.Fprintf(w, "backfill of plan %s, shard %s: %s (%d of %d units; %d of %d over all shards)\n",
		s.Plan, s.Shard, state, s.UnitsDone, s.Units, s.AllUnitsDone, s.AllUnits)

	fmt.Fprintf(w, "  range       %s to %s in slices of %s (to: %s)\n",
		s.Range.From.Format(time.RFC3339), s.Range.To.Format(time.RFC3339), plans.Duration{Duration: s.Range.Slice}, s.Range.describeTo())
	c := s.Counts
	fmt.Fprintf(w, "  logs        %d documents read (%s of _source), %d entries written (%s)\n",
		c.Documents, byteSize(c.SourceBytes), c.Entries, byteSize(c.EntryBytes))
	if c.Truncated > 0 {
		fmt.Fprintf(w, "              %d lines truncated to max_line_size (oversize_lines: truncate)\n", c.Truncated)
	}
	fmt.Fprintf(w, "  traces      %d traces sent, %d spans written (%s)\n", c.Traces, c.Spans, byteSize(c.TraceBytes))

	writeCounts(w, "dead-letter", c.DeadLettered)
	writeCounts(w, "skipped", c.Skipped)
	if s.TruncatedAttributes > 0 {
		fmt.Fprintf(w, "  attributes  %d span attributes longer than Tempo's max_attribute_bytes, which Tempo truncates\n", s.TruncatedAttributes)
	}

	if !s.DryRun && s.Elapsed > 0 {
		r := s.RunCounts
		secs := s.Elapsed.Seconds()
		fmt.Fprintf(w, "  this run    %s: %d documents (%s/s), %d spans (%s/s)\n",
			s.Elapsed.Round(time.Second), r.Documents, perSecond(r.Documents, secs), r.Spans, perSecond(r.Spans, secs))
	}
	if s.DryRun {
		writePending(w, s.Pending)
	}
	for _, warning := range s.Warnings {
		fmt.Fprintf(w, "  warning     %s\n", warning)
	}
}

func writeCounts(w io.Writer, title string, counts map[string]int64) {
	if len(counts) == 0 {
		fmt.Fprintf(w, "  %-11s none\n", title)
		return
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	fmt.Fprintf(w, "  %-11s %s\n", title, strings.Join(parts, ", "))
}

// writePending lists the units a run would copy, the first few of each
// kind.
func writePending(w io.Writer, pending []PendingUnit) {
	const shown = 10
	for _, kind := range []Kind{KindLogs, KindTraces} {
		n := 0
		for _, p := range pending {
			if p.Unit.Kind != kind {
				continue
			}
			if n < shown {
				note := ""
				if p.Started {
					note = " (resumes from its checkpoint)"
				}
				fmt.Fprintf(w, "  would copy  %s%s\n", p.Unit, note)
			}
			n++
		}
		if n > shown {
			fmt.Fprintf(w, "  would copy  %d more %s units\n", n-shown, kind)
		}
	}
}

// byteSize formats n bytes with a binary unit.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
