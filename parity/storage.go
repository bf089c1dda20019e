package parity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/obs-migrate/migrate/connectors/loki"
)

// storageFigures are one log target's sizes on both stacks.
type storageFigures struct {
	indices                        int
	docs, storeBytes, primaryBytes int64
	windowDocs                     int64
	stats                          loki.IndexStats
}

// windowBytes estimates the primary store bytes of the window's
// documents: the indices' primary bytes times the share of their documents
// that lie in the window. It is an estimate because documents differ in
// size, and because Elasticsearch counts nested objects as documents.
func (f storageFigures) windowBytes() int64 {
	if f.docs == 0 {
		return 0
	}
	return int64(math.Round(float64(f.primaryBytes) * float64(f.windowDocs) / float64(f.docs)))
}

// storage is the storage check. It is informational: it reports
// Elasticsearch's store size of the mapped indices and Loki's index
// statistics for the same selectors and window, and passes whenever both
// could be read.
func (r *run) storage(ctx context.Context) Check {
	const name = CheckStorage
	targets := logTargets(r.plan)
	switch {
	case len(targets) == 0:
		return notApplicable(name, "the plan has no logs entries")
	case r.src.Elasticsearch == nil && r.src.Loki == nil:
		return inconclusive(name, "neither Elasticsearch nor Loki is configured", "set sources.elasticsearch and targets.loki in the plan")
	case r.src.Elasticsearch == nil:
		return inconclusive(name, "Elasticsearch is not configured", "set sources.elasticsearch in the plan")
	case r.src.Loki == nil:
		return inconclusive(name, "Loki is not configured", "set targets.loki in the plan")
	}

	c := Check{Name: name}
	var total storageFigures
	var reasons []string
	for _, t := range targets {
		g := Group{Name: t.name, Columns: []string{"measure", "value"}}
		if t.problem != "" {
			g.Verdict = Inconclusive
			g.Notes = []string{sentence(t.problem)}
			reasons = append(reasons, fmt.Sprintf("%s: %s.", t.name, t.problem))
			c.Groups = append(c.Groups, g)
			continue
		}
		f, err := r.storageOf(ctx, t)
		if err != nil {
			g.Verdict = Inconclusive
			g.Notes = []string{sentence(err.Error())}
			reasons = append(reasons, fmt.Sprintf("%s: %v.", t.name, err))
			c.Groups = append(c.Groups, g)
			continue
		}
		g.Verdict = Pass
		g.Rows = [][]string{
			{"elasticsearch indices", fmt.Sprint(f.indices)},
			{"elasticsearch documents, all time", fmt.Sprint(f.docs)},
			{"elasticsearch primary store bytes, all time", fmt.Sprint(f.primaryBytes)},
			{"elasticsearch store bytes with replicas, all time", fmt.Sprint(f.storeBytes)},
			{"elasticsearch documents in window", fmt.Sprint(f.windowDocs)},
			{"elasticsearch primary bytes in window, estimate", fmt.Sprint(f.windowBytes())},
			{"loki streams", fmt.Sprint(f.stats.Streams)},
			{"loki chunks", fmt.Sprint(f.stats.Chunks)},
			{"loki entries", fmt.Sprint(f.stats.Entries)},
			{"loki bytes", fmt.Sprint(f.stats.Bytes)},
		}
		g.Notes = []string{
			"Elasticsearch reports store sizes per index, for all time; the window's share is estimated from its document count.",
			"Loki's figures are /loki/api/v1/index/stats for " + t.selector + " over the window.",
		}
		if f.stats.Entries == 0 && f.windowDocs > 0 {
			g.Notes = append(g.Notes, "Loki's index statistics are zero: Loki 3.7.6 counts only chunks flushed to storage, so a recent window reads as empty until the ingesters flush.")
		}
		if f.stats.Entries == 0 || f.windowDocs == 0 {
			// An empty side gives no sizes to compare.
			g.Verdict = Inconclusive
			reasons = append(reasons, fmt.Sprintf("%s: Elasticsearch has %d documents and Loki %d entries in the window, so the sizes cannot be compared: pick an older window with traffic.",
				t.name, f.windowDocs, f.stats.Entries))
		}
		c.Groups = append(c.Groups, g)
		total.windowDocs += f.windowDocs
		total.primaryBytes += f.windowBytes()
		total.stats.Bytes += f.stats.Bytes
		total.stats.Entries += f.stats.Entries
	}

	c.Verdict = worst(groupVerdicts(c.Groups)...)
	c.Reason = strings.Join(reasons, " ")
	c.Metrics = []Metric{
		metric("elasticsearch_primary_bytes_window_estimate", float64(total.primaryBytes), 0, ">=", "bytes"),
		metric("loki_bytes", float64(total.stats.Bytes), 0, ">=", "bytes"),
	}
	c.Summary = fmt.Sprintf("informational: Elasticsearch about %s primary bytes for %s documents in the window, Loki %s bytes for %s entries",
		formatCount(total.primaryBytes), formatCount(total.windowDocs), formatCount(total.stats.Bytes), formatCount(total.stats.Entries))
	if c.Verdict != Pass {
		c.Summary = "not all mappings measured; " + c.Summary
	}
	return c
}

// storageOf reads one target's sizes.
func (r *run) storageOf(ctx context.Context, t *logTarget) (storageFigures, error) {
	var f storageFigures
	seen := map[string]bool{}
	for _, m := range t.mappings {
		idx, err := r.src.Elasticsearch.Indices(ctx, m.Indices)
		if err != nil {
			return f, errors.New(describeError("Elasticsearch", err))
		}
		if len(idx) == 0 {
			return f, fmt.Errorf("no Elasticsearch index matches %q", m.Indices)
		}
		for _, ix := range idx {
			if seen[ix.Name] {
				continue
			}
			seen[ix.Name] = true
			f.indices++
			f.docs += ix.Docs
			f.storeBytes += ix.StoreBytes
			f.primaryBytes += ix.PrimaryStoreBytes
		}
		n, err := r.src.Elasticsearch.Count(ctx, m.Indices, nil, m.Timestamp, r.window.From, r.window.To)
		if err != nil {
			return f, errors.New(describeError("Elasticsearch", err))
		}
		f.windowDocs += n
	}
	stats, err := r.src.Loki.IndexStats(ctx, t.selector, r.window.From, r.window.To)
	if err != nil {
		return f, errors.New(describeError("Loki", err))
	}
	f.stats = stats
	return f, nil
}
