package inventory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

// volumeLookback is how far back the daily volume is read. A week covers
// weekday and weekend peaks whatever the cardinality window is.
const volumeLookback = 7 * 24 * time.Hour

// LogSource is the Elasticsearch cluster, as the inventory reads it.
type LogSource interface {
	Info(ctx context.Context) (cluster, version string, err error)
	Indices(ctx context.Context, pattern string) ([]IndexInfo, error)
	Fields(ctx context.Context, pattern string) ([]FieldInfo, error)
	TimeField(ctx context.Context, pattern string) (string, error)
	// Cardinality estimates each field's distinct values in the window.
	// A field it cannot measure is left out of values, with the reason in
	// notes.
	Cardinality(ctx context.Context, pattern, timeField string, fields []string, from, to time.Time) (values map[string]int64, notes map[string]string, err error)
	DailyVolume(ctx context.Context, pattern, timeField string, from, to time.Time) ([]DayVolume, error)
}

// inventoryElasticsearch measures each logs mapping's indices and proposes
// its labels. A failure on one mapping is recorded in that mapping's
// problems and the others go on.
func inventoryElasticsearch(ctx context.Context, src LogSource, mappings []plans.LogMapping, window Window, budget StreamBudget) (*ElasticsearchReport, error) {
	rep := &ElasticsearchReport{}
	cluster, version, err := src.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: reading cluster info: %w", err)
	}
	rep.Cluster, rep.Version = cluster, version
	seen := map[string]bool{}
	for _, m := range mappings {
		mr := inventoryMapping(ctx, src, m, window, budget)
		for _, idx := range mr.indices {
			if !seen[idx.Name] {
				seen[idx.Name] = true
				rep.Indices = append(rep.Indices, idx)
			}
		}
		rep.Mappings = append(rep.Mappings, mr.MappingReport)
	}
	sort.Slice(rep.Indices, func(i, j int) bool { return rep.Indices[i].Name < rep.Indices[j].Name })
	return rep, nil
}

type mappingResult struct {
	MappingReport
	indices []IndexInfo
}

func inventoryMapping(ctx context.Context, src LogSource, m plans.LogMapping, window Window, budget StreamBudget) mappingResult {
	r := mappingResult{MappingReport: MappingReport{Indices: m.Indices}}
	problem := func(format string, args ...any) {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
	indices, err := src.Indices(ctx, m.Indices)
	if err != nil {
		problem("listing indices %s: %v", m.Indices, err)
		return r
	}
	for _, idx := range indices {
		idx.Mapping = m.Indices
		r.indices = append(r.indices, idx)
		r.Docs += idx.Docs
		r.StoreBytes += idx.StoreBytes
	}
	if len(indices) == 0 {
		problem("no index matches %s: check the logs entry's indices pattern", m.Indices)
		return r
	}
	fields, err := src.Fields(ctx, m.Indices)
	if err != nil {
		problem("reading the mapping of %s: %v", m.Indices, err)
		return r
	}
	r.Fields = fields
	r.TimeField = timeFieldOf(m, fields)
	if r.TimeField == "" {
		r.TimeField, err = src.TimeField(ctx, m.Indices)
		if err != nil {
			problem("finding the time field of %s: %v; set timestamp in the logs entry", m.Indices, err)
			return r
		}
	}
	candidates := labelCandidates(m, fields)
	names := make([]string, len(candidates))
	for i, c := range candidates {
		names[i] = c.Field
	}
	values, notes, err := src.Cardinality(ctx, m.Indices, r.TimeField, names, window.From, window.To)
	if err != nil {
		problem("estimating field cardinality in %s: %v", m.Indices, err)
	}
	for i := range candidates {
		c := &candidates[i]
		v, ok := values[c.Field]
		switch {
		case ok && v > 0:
			c.Cardinality = v
		case ok:
			// A count of 0 means no document of the window has the field,
			// which says nothing about how many values it will have.
			c.Cardinality = -1
			c.Note = "no document in the window has this field"
		case c.Note == "":
			c.Cardinality = -1
			c.Note = orDefault(notes[c.Field], "not measured")
		default:
			c.Cardinality = -1
		}
	}
	r.Proposal = ProposeLabels(m.Indices, m.StaticLabels, candidates, budget)

	days, err := src.DailyVolume(ctx, m.Indices, r.TimeField, window.To.Add(-volumeLookback), window.To)
	if err != nil {
		problem("reading daily volume of %s: %v", m.Indices, err)
		return r
	}
	r.RatesMeasured = true
	r.Days = days
	for _, d := range days {
		if rate := float64(d.EstimatedBytes) / 86400; rate > r.BytesPerSecond {
			r.BytesPerSecond = rate
			r.DocsPerSecond = float64(d.Docs) / 86400
		}
	}
	return r
}

// timeFieldOf returns the mapping's timestamp field when the index mapping
// has it as a date, or "" to detect it.
func timeFieldOf(m plans.LogMapping, fields []FieldInfo) string {
	want := m.WithDefaults().Timestamp
	for _, f := range fields {
		if f.Path == want && (f.Type == "date" || f.Type == "date_nanos") {
			return want
		}
	}
	return ""
}

// labelCandidates returns the fields to measure: the plan's label fields,
// then the CandidateLabelFields the index has that the plan does not use
// already.
func labelCandidates(m plans.LogMapping, fields []FieldInfo) []FieldCardinality {
	types := map[string]string{}
	for _, f := range fields {
		types[f.Path] = f.Type
	}
	used := map[string]bool{m.Line: true, m.WithDefaults().Timestamp: true}
	for _, f := range m.StructuredMetadata {
		used[f] = true
	}
	var out []FieldCardinality
	// Label names already taken: a suggestion whose name collides would
	// make Loki reject the stream with "duplicate label name".
	taken := map[string]bool{}
	for name := range m.StaticLabels {
		taken[name] = true
	}
	for name := range m.Labels {
		taken[name] = true
	}
	names := make([]string, 0, len(m.Labels))
	for name := range m.Labels {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field := m.Labels[name]
		used[field] = true
		c := FieldCardinality{Field: field, Type: types[field], Label: name, FromPlan: true}
		if _, ok := types[field]; !ok {
			c.Cardinality = -1
			c.Note = "the index mapping has no field " + field
		}
		out = append(out, c)
	}
	for _, field := range CandidateLabelFields {
		typ, ok := types[field]
		if !ok || used[field] || taken[LabelName(field)] {
			continue
		}
		used[field] = true
		taken[LabelName(field)] = true
		out = append(out, FieldCardinality{Field: field, Type: typ, Label: LabelName(field)})
	}
	return out
}
