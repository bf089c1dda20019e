package delivery

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestResultAdd(t *testing.T) {
	var r Result
	r.Add(Result{Written: 2, Bytes: 10, DeadLettered: map[string]int{"a": 1}})
	r.Add(Result{Written: 3, Bytes: 5, DeadLettered: map[string]int{"a": 2, "b": 1}})
	r.Add(Result{})
	want := Result{Written: 5, Bytes: 15, DeadLettered: map[string]int{"a": 3, "b": 1}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Add (-want +got):\n%s", diff)
	}
	if got := r.Total(); got != 9 {
		t.Errorf("Total = %d, want 9", got)
	}
}

func TestResultAddDoesNotShareMaps(t *testing.T) {
	src := Result{DeadLettered: map[string]int{"a": 1}}
	var r Result
	r.Add(src)
	r.AddDeadLettered("a", 1)
	if src.DeadLettered["a"] != 1 {
		t.Errorf("Add shared the map of its argument: source now counts %d", src.DeadLettered["a"])
	}
	r.AddDeadLettered("zero", 0)
	if _, ok := r.DeadLettered["zero"]; ok {
		t.Error("AddDeadLettered with 0 created a reason")
	}
}

func readDeadLetterFile(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestFileDeadLetterRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	d, err := OpenFileDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	d.now = func() time.Time { return at }
	tests := []struct {
		name   string
		record []byte
		check  func(t *testing.T, line map[string]any)
	}{
		{"JSON record embedded", []byte(`{"line":"a","n":1}`), func(t *testing.T, line map[string]any) {
			if diff := cmp.Diff(map[string]any{"line": "a", "n": 1.0}, line["record"]); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
		}},
		{"text record as string", []byte("plain text\n"), func(t *testing.T, line map[string]any) {
			if line["record"] != "plain text\n" {
				t.Errorf("record = %#v, want the text", line["record"])
			}
		}},
		{"binary record as base64", []byte{0xff, 0x00, 0xfe}, func(t *testing.T, line map[string]any) {
			got, _ := line["record_base64"].(string)
			raw, err := base64.StdEncoding.DecodeString(got)
			if err != nil || string(raw) != "\xff\x00\xfe" {
				t.Errorf("record_base64 = %q, want the original bytes", got)
			}
			if _, ok := line["record"]; ok {
				t.Error("binary record also has a record field")
			}
		}},
		{"empty record", nil, func(t *testing.T, line map[string]any) {
			if _, ok := line["record"]; ok {
				t.Error("empty record written")
			}
		}},
	}
	for _, tt := range tests {
		if err := d.Put("loki", "too_far_behind", "Loki returned 400", tt.record); err != nil {
			t.Fatalf("%s: Put: %v", tt.name, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readDeadLetterFile(t, path)
	if len(lines) != len(tests) {
		t.Fatalf("%d lines, want %d", len(lines), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := lines[i]
			if line["at"] != "2026-01-02T02:04:05.000000006Z" {
				t.Errorf("at = %v, want the time in UTC", line["at"])
			}
			if line["destination"] != "loki" || line["reason"] != "too_far_behind" || line["detail"] != "Loki returned 400" {
				t.Errorf("destination, reason, detail = %v, %v, %v", line["destination"], line["reason"], line["detail"])
			}
			tt.check(t, line)
		})
	}
}

func TestFileDeadLetterAppendsAndCloses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	for round := range 2 {
		d, err := OpenFileDeadLetter(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Put("tempo", "trace_too_large", "", []byte(`{"round":1}`)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		err = d.Put("tempo", "x", "", nil)
		if err == nil || !strings.Contains(err.Error(), "is closed") {
			t.Errorf("Put after Close returned %v, want an error saying the file is closed", err)
		}
	}
	if n := len(readDeadLetterFile(t, path)); n != 2 {
		t.Errorf("%d lines after two opens, want 2 (the file must be appended to)", n)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v, want 0600 because records can hold log data", perm)
	}
}

func TestFileDeadLetterConcurrentPuts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	d, err := OpenFileDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if err := d.Put("loki", "r", "", []byte(`{"w":`+string(rune('0'+w))+`,"i":`+strings.Repeat("1", i+1)+`}`)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readDeadLetterFile(t, path)); n != 100 {
		t.Errorf("%d whole lines, want 100", n)
	}
}

func TestOpenFileDeadLetterMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "dead.jsonl")
	_, err := OpenFileDeadLetter(path)
	if err == nil {
		t.Fatal("opened a file in a missing directory")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path", err)
	}
}
