package jaegertest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func testTrace(id byte, service string, spans int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	for i := range spans {
		span := ss.Spans().AppendEmpty()
		span.SetTraceID(pcommon.TraceID{id, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		span.SetSpanID(pcommon.SpanID{id, byte(i + 1), 0, 0, 0, 0, 0, 1})
		span.SetName(fmt.Sprintf("op-%d", i))
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	}
	return td
}

func TestStartLoadAndQuery(t *testing.T) {
	j := Start(t)
	for name, addr := range map[string]string{"QueryGRPC": j.QueryGRPC, "OTLPGRPC": j.OTLPGRPC} {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("%s = %q, want 127.0.0.1:PORT", name, addr)
		}
	}
	for name, u := range map[string]string{"QueryHTTP": j.QueryHTTP, "OTLPHTTP": j.OTLPHTTP} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("%s = %q, want http://127.0.0.1:PORT", name, u)
		}
	}

	td := testTrace(0xa1, "harness-svc", 3)
	j.Load(t, td)

	resp, err := http.Get(j.QueryHTTP + "/api/v3/services")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"harness-svc"`) {
		t.Errorf("GET /api/v3/services = %s, want it to list harness-svc", body)
	}
	// Load waited for all spans; reading the trace again must show them.
	id := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
	got, err := j.countSpans(t.Context(), http.DefaultClient, id)
	if err != nil || got != 3 {
		t.Errorf("trace %s has %d spans (error %v), want 3", id, got, err)
	}
}

func TestStartOTLPHTTPAccepts(t *testing.T) {
	j := Start(t)
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"http-svc"}}]},` +
		`"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"x",` +
		`"startTimeUnixNano":"` + strconv.FormatInt(time.Now().UnixNano(), 10) + `","endTimeUnixNano":"` + strconv.FormatInt(time.Now().UnixNano()+1000, 10) + `"}]}]}]}`
	resp, err := http.Post(j.OTLPHTTP+"/v1/traces", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST %s/v1/traces returned %d, want 200", j.OTLPHTTP, resp.StatusCode)
	}
}

// TestStartListensOnLoopbackOnly reads the process's sockets from /proc and
// checks that every listening TCP socket is one of the four configured
// ports on 127.0.0.1.
func TestStartListensOnLoopbackOnly(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs Linux /proc")
	}
	j := Start(t)
	inodes := socketInodes(t, j.cmd.Process.Pid)
	want := map[string]bool{}
	for _, addr := range []string{j.QueryGRPC, j.OTLPGRPC, strings.TrimPrefix(j.QueryHTTP, "http://"), strings.TrimPrefix(j.OTLPHTTP, "http://")} {
		want[addr] = true
	}
	got := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, addr := range listeners(t, table, inodes) {
			got[addr] = true
			if !want[addr] {
				t.Errorf("jaeger listens on %s, which is not one of the configured loopback ports %v", addr, want)
			}
		}
	}
	for addr := range want {
		if !got[addr] {
			t.Errorf("jaeger does not listen on configured %s; listening: %v", addr, got)
		}
	}
}

// socketInodes returns the inodes of the sockets pid has open.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	return inodes
}

// listeners returns the local addresses of sockets in LISTEN state (0A)
// from a /proc/net/tcp table whose inode is in inodes.
func listeners(t *testing.T, table string, inodes map[string]bool) []string {
	t.Helper()
	f, err := os.Open(table)
	if err != nil {
		return nil
	}
	defer f.Close()
	var addrs []string
	scanner := bufio.NewScanner(f)
	scanner.Scan() // header
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] {
			continue
		}
		addrs = append(addrs, procAddr(t, fields[1]))
	}
	return addrs
}

// procAddr converts a /proc/net/tcp address such as 0100007F:1F90 to
// 127.0.0.1:8080. IPv6 addresses are returned in hex, which never equals a
// configured address.
func procAddr(t *testing.T, field string) string {
	t.Helper()
	host, port, _ := strings.Cut(field, ":")
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		t.Fatalf("invalid port in %q", field)
	}
	raw, err := hex.DecodeString(host)
	if err != nil || len(raw) != 4 {
		return fmt.Sprintf("[%s]:%d", host, p)
	}
	// IPv4 addresses are stored as a little-endian 32-bit number.
	return fmt.Sprintf("%d.%d.%d.%d:%d", raw[3], raw[2], raw[1], raw[0], p)
}

func TestStartMissingBinarySkips(t *testing.T) {
	t.Setenv("MIGRATE_JAEGER_BIN", filepath.Join(t.TempDir(), "no-such-jaeger"))
	t.Setenv("CI", "")
	var skipped bool
	t.Run("start", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Start(t)
	})
	if !skipped {
		t.Error("Start with a missing binary and CI unset did not skip the test")
	}
}

func TestTailBufferKeepsEnd(t *testing.T) {
	tests := []struct {
		writes []string
		limit  int
		want   string
	}{
		{[]string{"abc"}, 8, "abc"},
		{[]string{"abcdef", "ghij"}, 8, "cdefghij"},
		{[]string{"0123456789"}, 4, "6789"},
	}
	for _, tt := range tests {
		b := &tailBuffer{limit: tt.limit}
		for _, w := range tt.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Errorf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if got := b.String(); got != tt.want {
			t.Errorf("writes %q with limit %d kept %q, want %q", tt.writes, tt.limit, got, tt.want)
		}
	}
}
