package loki

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/recording"
)

// addRecordedBodies adds the response body of each recording whose name
// starts with prefix as a seed.
func addRecordedBodies(f *testing.F, prefix string, add func(ex *recording.Exchange)) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join(recording.Dir(recordings), prefix+"*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no recordings %s*: %v", prefix, err)
	}
	for _, file := range files {
		ex, err := recording.Load(file)
		if err != nil {
			f.Fatal(err)
		}
		if ex.Response != nil {
			add(ex)
		}
	}
}

func FuzzClassify(f *testing.F) {
	addRecordedBodies(f, "err_", func(ex *recording.Exchange) {
		f.Add(ex.Response.Status, string(ex.Response.Body))
	})
	f.Add(429, "")
	f.Add(500, "1 errors like: ; 2 errors like: total ignored: 3 out of 4")
	f.Fuzz(func(t *testing.T, status int, body string) {
		reason := Classify(status, body)
		if again := Classify(status, body); again != reason {
			t.Fatalf("Classify is not deterministic: %s then %s", reason, again)
		}
		all := classifyAll(body)
		if reason != ReasonUnknown && (len(all) == 0 || all[0] != reason) {
			t.Fatalf("Classify = %s but classifyAll = %v", reason, all)
		}
		if Action(reason) == "" {
			t.Fatalf("no action for %s", reason)
		}
	})
}

func FuzzJudgePush(f *testing.F) {
	addRecordedBodies(f, "err_push_", func(ex *recording.Exchange) {
		f.Add(ex.Response.Status, string(ex.Response.Body), int64(1<<20), int64(512<<10), 2, 3)
	})
	f.Add(429, "Per stream rate limit exceeded (limit: 1KB/sec) while attempting to ingest for stream '{a=\"}' totaling 99999999999EB", int64(1), int64(1), 1, 1)
	f.Fuzz(func(t *testing.T, status int, body string, burst, streamBurst int64, streams, entries int) {
		limits := Limits{IngestionBurstBytes: burst, PerStreamBurstBytes: streamBurst}
		v := judgePush(status, body, limits, streams, entries)
		if v.partial && !partialCapable(v.reason) {
			t.Fatalf("partial for %s, which Loki rejects whole", v.reason)
		}
		if v.reason == ReasonBatchLargerThanBurst && v.retryable {
			t.Fatal("a batch larger than the burst is marked retryable")
		}
		if v.ignored < 0 {
			t.Fatalf("ignored = %d", v.ignored)
		}
		if len(v.message) > maxPushMessage+len("…") {
			t.Fatalf("message of %d bytes is over the bound", len(v.message))
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	// NOTE: with a seed of about 10 KB of Loki's YAML, Go 1.26's
	// coverage-guided fuzzing stalled after a few executions here, so the
	// seeds keep only the lines ParseConfig reads. TestParseConfigRecordings
	// parses the whole recorded bodies.
	for _, name := range []string{"status_config_yaml", "defaults_status_config_yaml"} {
		f.Add(configSections(f, load(f, name).Response.Body))
	}
	f.Add([]byte("limits_config:\n  max_line_size: 1.5MB\n  max_query_length: 30d1h\ningester:\n  max_chunk_age: 1h\n"))
	f.Add([]byte("limits_config: {ingestion_rate_mb: .nan}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseConfig(data)
		if err != nil {
			return
		}
		if l.Source != SourceConfigEndpoint {
			t.Fatalf("Source = %q", l.Source)
		}
		if l.IngestionRateBytes < 0 || l.IngestionBurstBytes < 0 || l.MaxLineSize < 0 || l.MaxChunkAge < 0 || l.MaxQueryLength < 0 {
			t.Fatalf("negative limit in %+v", l)
		}
	})
}

func FuzzParseUnits(f *testing.F) {
	for _, s := range []string{"256KB", "3MB", "0B", "1536KB", "2h0m0s", "1w", "30d1h", "0", "1.5h", "-1ns", "1e9s", ".5MB", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseByteSize(s); err == nil && n < 0 {
			t.Fatalf("ParseByteSize(%q) = %d", s, n)
		}
		if d, err := ParseDuration(s); err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
		if strings.HasPrefix(strings.TrimSpace(s), "-") {
			if _, err := ParseDuration(s); err == nil {
				t.Fatalf("ParseDuration(%q) accepted a negative value", s)
			}
		}
	})
}

func FuzzDecodeQueryResponse(f *testing.F) {
	for _, prefix := range []string{"query_", "index_volume", "labels", "series"} {
		addRecordedBodies(f, prefix, func(ex *recording.Exchange) {
			f.Add(ex.Response.Body)
		})
	}
	f.Add([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1.5,"+Inf"]}}`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"streams","result":[{"stream":null,"values":[["1","x",null]]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeQueryResponse(body)
		if err != nil {
			return
		}
		switch res.ResultType {
		case ResultStreams, ResultMatrix, ResultVector:
		case ResultScalar:
			if res.Scalar == nil {
				t.Fatal("scalar result without Scalar")
			}
		default:
			t.Fatalf("decoded unknown resultType %q", res.ResultType)
		}
		if res.ResultType == ResultVector {
			for _, s := range res.Series {
				if len(s.Samples) != 1 {
					t.Fatalf("vector series with %d samples", len(s.Samples))
				}
			}
		}
	})
}

// configSections returns the lines of a /config body that ParseConfig
// reads: the limits_config and ingester headers and the keys of limitKeys.
func configSections(tb testing.TB, body []byte) []byte {
	tb.Helper()
	var out []string
	section := ""
	for _, line := range strings.SplitAfter(string(body), "\n") {
		if line != "" && line[0] != ' ' && line[0] != '-' {
			section, _, _ = strings.Cut(line, ":")
			if section == "limits_config" || section == "ingester" {
				out = append(out, line)
			}
			continue
		}
		key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
		indented := strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ")
		if _, known := limitKeys[key]; known && indented && (section == "limits_config" || section == "ingester") {
			out = append(out, line)
		}
	}
	if len(out) < 3 {
		tb.Fatal("the recorded /config has no limits_config or ingester keys")
	}
	return []byte(strings.Join(out, ""))
}
