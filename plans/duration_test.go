package plans

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"0s", 0},
		{"90s", 90 * time.Second},
		{"5m", 5 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"336h", 336 * time.Hour},
		{"14d", 336 * time.Hour},
		{"2w", 336 * time.Hour},
		{"1w3d", 240 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"1.5d", 36 * time.Hour},
		{"250ms", 250 * time.Millisecond},
	}
	for _, tc := range cases {
		got, err := ParseDuration(tc.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"", "missing duration"},
		{"10", `invalid duration "10": use a number and a unit`},
		{"2 weeks", `invalid duration "2 weeks": use a number and a unit`},
		{"-5m", `invalid duration "-5m": must not be negative`},
		{"5x", `unknown unit "x"`},
		{"1..5h", `invalid duration "1..5h"`},
		{"h", `invalid duration "h"`},
		{"5m ", `invalid duration "5m "`},
		{"+5m", `invalid duration "+5m"`},
		{"999999999w", "too long"},
		{"2562047h2562047h", "too long"},
	}
	for _, tc := range cases {
		_, err := ParseDuration(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDuration(%q) error %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestParseDurationErrorNamesForms(t *testing.T) {
	_, err := ParseDuration("2 weeks")
	for _, form := range []string{"s", "m", "h", "d", "w", "14d", "2w"} {
		if !strings.Contains(err.Error(), form) {
			t.Errorf("error %q does not name the form %q", err, form)
		}
	}
}

func TestDurationString(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{336 * time.Hour, "336h"},
		{90 * time.Minute, "1h30m"},
		{5 * time.Minute, "5m"},
		{90 * time.Second, "1m30s"},
		{time.Hour + time.Second, "1h0m1s"},
		{1500 * time.Millisecond, "1.5s"},
	}
	for _, tc := range cases {
		if got := (Duration{tc.in}).String(); got != tc.want {
			t.Errorf("Duration{%v}.String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	type holder struct {
		D Duration `json:"d"`
	}
	out, err := json.Marshal(holder{Duration{336 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"d":"336h"}` {
		t.Errorf("json.Marshal = %s", out)
	}
	var back holder
	if err := json.Unmarshal([]byte(`{"d":"2w"}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.D.Duration != 336*time.Hour {
		t.Errorf("json.Unmarshal gave %v", back.D)
	}
	if err := json.Unmarshal([]byte(`{"d":"10"}`), &back); err == nil {
		t.Error("json.Unmarshal accepted a duration without a unit")
	}
}

func TestDurationYAML(t *testing.T) {
	type holder struct {
		D Duration `yaml:"d"`
	}
	out, err := yaml.Marshal(holder{Duration{90 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "d: 1h30m\n" {
		t.Errorf("yaml.Marshal = %q", out)
	}
	var back holder
	if err := yaml.Unmarshal([]byte("d: 14d\n"), &back); err != nil {
		t.Fatal(err)
	}
	if back.D.Duration != 336*time.Hour {
		t.Errorf("yaml.Unmarshal gave %v", back.D)
	}
	for _, bad := range []string{"d: 10\n", "d: [1h]\n", "d: -1h\n"} {
		if err := yaml.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("yaml.Unmarshal(%q) accepted it", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
	}{
		{"now", now},
		{"now-30d", now.Add(-30 * day)},
		{"now-1h", now.Add(-time.Hour)},
		{"now-2w", now.Add(-2 * week)},
		{"now-90s", now.Add(-90 * time.Second)},
		{"2024-05-01T00:00:00Z", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"2024-05-01T02:00:00.5+02:00", time.Date(2024, 5, 1, 0, 0, 0, 5e8, time.UTC)},
	}
	for _, tc := range cases {
		got, err := ParseTime(tc.in, now)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tc.in, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "now+1h", "now-", "now-10", "2024-05-01", "now - 1h"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted it", bad)
		}
	}
}
