package parity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// WriteJSON writes r in the parity/v1 layout described in the package
// documentation: indented, keys in a fixed order, checks in their fixed
// order, groups sorted by name, rows and examples sorted, times in UTC.
// An empty Schema is written as SchemaVersion and an empty Verdict as
// r.Overall().
func WriteJSON(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("writing the parity report as JSON: the report is nil")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(reportNormalize(r)); err != nil {
		return fmt.Errorf("writing the parity report of plan %q as JSON: %w", r.Plan, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the parity report as JSON: %w", err)
	}
	return nil
}

// jsonMetric is the JSON form of Metric. Value, Threshold and Margin are
// null when they are not finite numbers, which JSON cannot carry.
type jsonMetric struct {
	Name       string   `json:"name"`
	Value      *float64 `json:"value"`
	Threshold  *float64 `json:"threshold"`
	Comparison string   `json:"comparison"`
	Unit       string   `json:"unit"`
	Margin     *float64 `json:"margin"`
	Pass       bool     `json:"pass"`
}

// jsonMarshal is json.Marshal without HTML escaping, as WriteJSON writes.
func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func jsonFinite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func jsonOrNaN(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

// MarshalJSON writes the metric with its margin; a value that is not a
// finite number is written as null.
func (m Metric) MarshalJSON() ([]byte, error) {
	return jsonMarshal(jsonMetric{
		Name:       m.Name,
		Value:      jsonFinite(m.Value),
		Threshold:  jsonFinite(m.Threshold),
		Comparison: m.Comparison,
		Unit:       m.Unit,
		Margin:     jsonFinite(m.Margin()),
		Pass:       m.Pass,
	})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN and the
// margin is ignored, since Margin computes it.
func (m *Metric) UnmarshalJSON(data []byte) error {
	var j jsonMetric
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*m = Metric{
		Name:       j.Name,
		Value:      jsonOrNaN(j.Value),
		Threshold:  jsonOrNaN(j.Threshold),
		Comparison: j.Comparison,
		Unit:       j.Unit,
		Pass:       j.Pass,
	}
	return nil
}

// jsonLatency is the JSON form of Latency, with durations in milliseconds.
type jsonLatency struct {
	Query string  `json:"query"`
	Stack string  `json:"stack"`
	Cold  bool    `json:"cold"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Runs  int     `json:"runs"`
}

func jsonMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func jsonDuration(ms float64) time.Duration {
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}

// MarshalJSON writes the latency with its percentiles in milliseconds
// (p50_ms, p95_ms, p99_ms), to the nanosecond.
func (l Latency) MarshalJSON() ([]byte, error) {
	return jsonMarshal(jsonLatency{
		Query: l.Query, Stack: l.Stack, Cold: l.Cold,
		P50: jsonMillis(l.P50), P95: jsonMillis(l.P95), P99: jsonMillis(l.P99),
		Runs: l.Runs,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Latency) UnmarshalJSON(data []byte) error {
	var j jsonLatency
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*l = Latency{
		Query: j.Query, Stack: j.Stack, Cold: j.Cold,
		P50: jsonDuration(j.P50), P95: jsonDuration(j.P95), P99: jsonDuration(j.P99),
		Runs: j.Runs,
	}
	return nil
}
