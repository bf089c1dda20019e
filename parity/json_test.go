package parity

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func jsonWrite(t testing.TB, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	return buf.Bytes()
}

// jsonNaNEqual compares floats so that NaN equals NaN.
var jsonNaNEqual = cmp.Comparer(func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) })

// Reading WriteJSON's output gives the normalized report back.
func TestWriteJSONRoundTrip(t *testing.T) {
	for name, r := range map[string]*Report{"pass": reportPassFixture(t), "fail": reportFailFixture(t)} {
		t.Run(name, func(t *testing.T) {
			var back Report
			if err := json.Unmarshal(jsonWrite(t, r), &back); err != nil {
				t.Fatalf("reading WriteJSON's output: %v", err)
			}
			if diff := cmp.Diff(reportNormalize(r), &back, jsonNaNEqual); diff != "" {
				t.Errorf("round trip (-normalized +read):\n%s", diff)
			}
		})
	}
}

func TestWriteJSONFields(t *testing.T) {
	r := &Report{
		Plan:   "p <&>",
		Window: Window{From: time.Date(2025, 3, 1, 1, 0, 0, 0, time.FixedZone("x", 3600)), To: time.Date(2025, 3, 1, 1, 0, 0, 5, time.UTC)},
		Checks: []Check{{
			Name: "latency", Verdict: Fail,
			Metrics: []Metric{
				{Name: "nan", Value: math.NaN(), Threshold: 1, Comparison: ">=", Unit: "ratio"},
				{Name: "inf", Value: math.Inf(1), Threshold: 1, Comparison: "<=", Unit: "ms"},
				{Name: "ok", Value: 1.25, Threshold: 1.5, Comparison: "<=", Unit: "ratio", Pass: true},
			},
			Latencies: []Latency{{Query: "q", Stack: "new", Cold: true, P50: 1500 * time.Microsecond, P95: 2*time.Second + 1, P99: 3 * time.Second, Runs: 5}},
		}},
	}
	got := string(jsonWrite(t, r))
	for _, want := range []string{
		`"schema": "parity/v1"`,
		`"plan": "p <&>"`,
		`"from": "2025-03-01T00:00:00Z"`,
		`"to": "2025-03-01T01:00:00.000000005Z"`,
		`"verdict": "FAIL"`,
		`"name": "nan",
          "value": null,
          "threshold": 1,
          "comparison": ">=",
          "unit": "ratio",
          "margin": null,
          "pass": false`,
		`"value": null,
          "threshold": 1,
          "comparison": "<=",
          "unit": "ms",
          "margin": null`,
		`"value": 1.25,
          "threshold": 1.5,
          "comparison": "<=",
          "unit": "ratio",
          "margin": 0.25,
          "pass": true`,
		`"cold": true,
          "p50_ms": 1.5,
          "p95_ms": 2000.000001,
          "p99_ms": 3000,
          "runs": 5`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("WriteJSON's output does not contain\n%s\nin\n%s", want, got)
		}
	}
	for _, absent := range []string{`"groups"`, `"buckets"`, `"reason"`} {
		if strings.Contains(got, absent) {
			t.Errorf("WriteJSON's output has the empty field %s:\n%s", absent, got)
		}
	}
}

// Reading JSON that WriteJSON did not write and writing it again gives
// the same report: the custom readers of metrics and latencies keep what
// they read.
func FuzzReportJSON(f *testing.F) {
	f.Add([]byte(`{"schema":"parity/v1","plan":"p","checks":[{"name":"latency","metrics":[{"name":"m","value":null,"threshold":1.5,"margin":9}],"latencies":[{"query":"q","p95_ms":1.0000005,"runs":2}]}]}`))
	f.Add([]byte(`{"checks":[{"metrics":[{"value":1e308,"threshold":-1e308}],"latencies":[{"p50_ms":-5e9}]}]}`))
	f.Add([]byte(`{"checks":[{"metrics":[{"value":"x"}]}]}`))
	f.Add([]byte(`{"checks":[{"latencies":[{"p99_ms":true}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Report
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		var first bytes.Buffer
		if err := WriteJSON(&first, &r); err != nil {
			// Times outside years 0-9999 cannot be written.
			if strings.Contains(err.Error(), "year outside of range") {
				return
			}
			t.Fatalf("WriteJSON of a report read from JSON: %v", err)
		}
		var again Report
		if err := json.Unmarshal(first.Bytes(), &again); err != nil {
			t.Fatalf("reading WriteJSON's output: %v\n%s", err, first.String())
		}
		var second bytes.Buffer
		if err := WriteJSON(&second, &again); err != nil {
			t.Fatalf("WriteJSON of its own output: %v", err)
		}
		if first.String() != second.String() {
			t.Fatalf("writing, reading and writing again changed the JSON:\n%s\nthen\n%s", first.String(), second.String())
		}
	})
}
