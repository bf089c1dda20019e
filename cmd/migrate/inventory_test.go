package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/internal/jaegertest"
	"github.com/obs-migrate/migrate/inventory"
)

// inventoryTraces builds two services: a frontend client span calling a
// backend server span, and a backend-only internal span.
func inventoryTraces(now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	add := func(service, name string, kind ptrace.SpanKind, trace, span, parent byte) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{15: trace})
		s.SetSpanID(pcommon.SpanID{7: span})
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{7: parent})
		}
		s.SetName(name)
		s.SetKind(kind)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Minute)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Minute + 20*time.Millisecond)))
	}
	add("inv-frontend", "GET /checkout", ptrace.SpanKindClient, 1, 1, 0)
	add("inv-backend", "POST /orders", ptrace.SpanKindServer, 1, 2, 1)
	add("inv-backend", "reconcile", ptrace.SpanKindInternal, 2, 3, 0)
	return td
}

func TestInventoryListsJaegerServices(t *testing.T) {
	j := jaegertest.Start(t)
	j.Load(t, inventoryTraces(time.Now()))

	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	body := "apiVersion: migrate/v1alpha1\nkind: MigrationPlan\nmetadata: {name: inv}\n" +
		"sources:\n  jaeger: {grpc: \"" + j.QueryGRPC + "\"}\n" +
		"traces: {services: [\"*\"]}\n"
	if err := os.WriteFile(plan, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"inventory", plan, "-o", "json"}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s\nstdout %s", code, stderr.String(), stdout.String())
	}
	var rep inventory.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if rep.Jaeger == nil {
		t.Fatalf("no Jaeger section: %s", stdout.String())
	}
	got := map[string][]string{}
	spans := map[string]int{}
	for _, s := range rep.Jaeger.Services {
		for _, op := range s.Operations {
			got[s.Name] = append(got[s.Name], op.Name+"/"+op.SpanKind)
		}
		spans[s.Name] = s.SpansSampled
	}
	want := map[string][]string{
		"inv-backend":  {"POST /orders/server", "reconcile/internal"},
		"inv-frontend": {"GET /checkout/client"},
	}
	for service, ops := range want {
		if strings.Join(got[service], ",") != strings.Join(ops, ",") {
			t.Errorf("%s operations %v, want %v", service, got[service], ops)
		}
	}
	if spans["inv-backend"] == 0 || spans["inv-frontend"] == 0 {
		t.Errorf("spans sampled per service: %v", spans)
	}

	stdout.Reset()
	if code := run(t.Context(), []string{"inventory", plan}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("markdown: exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"## Jaeger", "`inv-backend`", "`POST /orders`", "server"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("Markdown report lacks %q", want)
		}
	}
}
