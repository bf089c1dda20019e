package backfill

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{in: "0/1", want: Shard{0, 1}},
		{in: "3/4", want: Shard{3, 4}},
		{in: " 1/2 ", want: Shard{1, 2}},
		{in: "4/4", wantErr: "I must be between 0 and N-1"},
		{in: "-1/4", wantErr: "I must be between 0 and N-1"},
		{in: "0/0", wantErr: "N must be between 1"},
		{in: "0/2000", wantErr: "N must be between 1"},
		{in: "1", wantErr: "write it as I/N"},
		{in: "a/b", wantErr: "whole numbers"},
		{in: "", wantErr: "write it as I/N"},
	}
	for _, tc := range tests {
		got, err := ParseShard(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseShard(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseShard(f *testing.F) {
	for _, seed := range []string{"0/1", "3/4", "4/4", "-1/2", "1", "a/b", "0/1024", "1/2/3", " 2 / 3 "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			return
		}
		if sh.Count < 1 || sh.Count > maxShards || sh.Index < 0 || sh.Index >= sh.Count {
			t.Fatalf("ParseShard(%q) accepted %v", s, sh)
		}
		back, err := ParseShard(sh.String())
		if err != nil || back != sh {
			t.Fatalf("ParseShard(%q) = %v does not round-trip: %v, %v", s, sh, back, err)
		}
	})
}

func TestShardBlocksCoverSlicesOnce(t *testing.T) {
	for n := 0; n <= 50; n++ {
		for count := 1; count <= 7; count++ {
			next := 0
			for i := range count {
				lo, hi := Shard{i, count}.block(n)
				if lo != next || hi < lo {
					t.Fatalf("%d slices, shard %d/%d: block [%d, %d), want it to start at %d", n, i, count, lo, hi, next)
				}
				if size := hi - lo; size < n/count || size > n/count+1 {
					t.Errorf("%d slices, shard %d/%d: block of %d, want %d or %d", n, i, count, size, n/count, n/count+1)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("%d slices over %d shards: blocks end at %d", n, count, next)
			}
		}
	}
}

func TestShardSplitCoversUnitsOnce(t *testing.T) {
	logs := []plans.LogMapping{appMapping("app-*"), appMapping("web-*")}
	services := []string{"cart", "checkout", "frontend", "payments", "search"}
	for _, shards := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			rng := Range{From: testBase, To: testBase.Add(10*time.Hour + 30*time.Minute), Slice: time.Hour, Shards: shards}
			all := planUnits(logs, services, rng)
			slices := rng.slices()
			if want := len(slices) * (len(logs) + len(services)); len(all) != want {
				t.Fatalf("%d units, want %d", len(all), want)
			}
			seen := map[string]int{}
			for _, u := range all {
				seen[u.Key()]++
			}
			for key, n := range seen {
				if n != 1 {
					t.Errorf("unit %s planned %d times", key, n)
				}
			}
			for shard := range shards {
				mine := ofShard(all, shard)
				// Each logs entry's units run in ascending time, in one
				// contiguous block of slices.
				for _, m := range logs {
					var last time.Time
					for _, u := range mine {
						if u.Kind != KindLogs || u.Name != m.Indices {
							continue
						}
						if !last.IsZero() && !u.From.Equal(last) {
							t.Errorf("shard %d: %s unit at %s does not follow the one ending %s", shard, m.Indices, u.From, last)
						}
						last = u.To
					}
				}
				for _, u := range ofKind(mine, KindTraces) {
					if idx := indexOf(services, u.Name); idx%shards != shard {
						t.Errorf("shard %d has service %s (position %d)", shard, u.Name, idx)
					}
				}
			}
		})
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
