package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
)

// Loki is the part of the Loki client the checks use.
type Loki interface {
	Ready(ctx context.Context) error
	BuildInfo(ctx context.Context) (loki.BuildInfo, error)
	// Limits returns the effective limits; Targets.LokiLimits applies the
	// plan's fallback.
	Push(ctx context.Context, streams []loki.Stream) error
	QueryRange(ctx context.Context, req loki.QueryRangeRequest) (*loki.QueryResult, error)
}

// Tempo is the part of the Tempo client the checks use.
type Tempo interface {
	Ready(ctx context.Context) error
	BuildInfo(ctx context.Context) (tempo.BuildInfo, error)
	Push(ctx context.Context, td ptrace.Traces) (tempo.PushResult, error)
	TraceByID(ctx context.Context, id pcommon.TraceID, start, end time.Time) (ptrace.Traces, bool, error)
}

// Grafana is the part of the Grafana client the checks use.
type Grafana interface {
	// Version returns Grafana's version after checking that its database
	// is healthy and that the plan's credentials are accepted.
	Version(ctx context.Context) (string, error)
}

// Targets are the new stack's clients. A nil field is a target the plan
// does not have.
type Targets struct {
	Loki Loki
	// LokiLimits returns Loki's limits: from /config, else the plan's,
	// else the defaults. It is called only when Loki is set.
	LokiLimits  func(ctx context.Context) (loki.Limits, error)
	Tempo       Tempo
	TempoLimits func(ctx context.Context) (tempo.Limits, error)
	Grafana     Grafana
}

// Options configure one run of the checks.
type Options struct {
	Inputs
	// Timeout bounds each check.
	Timeout time.Duration
	// Canary writes and reads back a log line and a trace.
	Canary bool
	// CanaryWait bounds how long a canary is polled for.
	CanaryWait time.Duration
	// Poll is the pause between canary reads.
	Poll time.Duration
}

// Run runs every check on every target and returns them all; one target's
// failure does not stop the others. The targets are checked at the same
// time, and their checks are listed in the order Loki, Tempo, Grafana.
func Run(ctx context.Context, t Targets, opts Options) Result {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	var parts [3]Result
	var wg sync.WaitGroup
	if t.Loki != nil {
		wg.Go(func() { runLoki(ctx, &parts[0], t, opts) })
	}
	if t.Tempo != nil {
		wg.Go(func() { runTempo(ctx, &parts[1], t, opts) })
	}
	if t.Grafana != nil {
		wg.Go(func() { runGrafana(ctx, &parts[2], t.Grafana, opts) })
	}
	wg.Wait()
	var r Result
	for _, p := range parts {
		r.Checks = append(r.Checks, p.Checks...)
	}
	return r
}

func withTimeout(ctx context.Context, opts Options) (context.Context, context.CancelFunc) {
	if opts.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, opts.Timeout)
}

func runLoki(ctx context.Context, r *Result, t Targets, opts Options) {
	const target = "loki"
	cctx, cancel := withTimeout(ctx, opts)
	err := t.Loki.Ready(cctx)
	cancel()
	if err != nil {
		r.add(target, "ready", reachStatus(err), "", "Loki is not ready: %v%s", err, authHint(err, "targets.loki"))
		return
	}
	r.add(target, "ready", Pass, "", "/ready returned ready")

	cctx, cancel = withTimeout(ctx, opts)
	info, err := t.Loki.BuildInfo(cctx)
	cancel()
	switch {
	case err != nil:
		r.add(target, "version", Inconclusive, "", "reading build info: %v", err)
	case majorVersion(info.Version) == 0:
		r.add(target, "version", Warn, "", "Loki reports version %q, which has no release number; this tool supports Loki 3.x", info.Version)
	case majorVersion(info.Version) < 3:
		r.add(target, "version", Fail, "", "Loki %s is older than 3.0: structured metadata, which carries each document's es_id, needs Loki 3", info.Version)
	default:
		r.add(target, "version", Pass, "", "Loki %s", info.Version)
	}

	cctx, cancel = withTimeout(ctx, opts)
	limits, err := t.LokiLimits(cctx)
	cancel()
	if err != nil {
		r.add(target, "limits", Inconclusive, "", "reading limits: %v", err)
	} else {
		CheckLokiLimits(r, limits, opts.Inputs)
	}
	if opts.Canary {
		lokiCanary(ctx, r, t.Loki, opts)
	}
}

// lokiCanary pushes one line with a unique id to its own stream and polls
// query_range until the line comes back.
func lokiCanary(ctx context.Context, r *Result, l Loki, opts Options) {
	const target = "loki"
	id := randomHex(8)
	at := opts.Now
	if at.IsZero() {
		at = time.Now()
	}
	labels := map[string]string{"migrate_canary": opts.Plan.Metadata.Name}
	line := "migrate deploy canary " + id
	stream := loki.Stream{Labels: labels, Entries: []push.Entry{{
		Timestamp: at, Line: line,
		StructuredMetadata: push.LabelsAdapter{{Name: "es_id", Value: "canary-" + id}},
	}}}
	cctx, cancel := withTimeout(ctx, opts)
	err := l.Push(cctx, []loki.Stream{stream})
	cancel()
	if err != nil {
		r.add(target, "canary", Fail, "", "pushing the canary line failed: %v", err)
		return
	}
	query := fmt.Sprintf("{migrate_canary=%s} |= %s", strconv.Quote(opts.Plan.Metadata.Name), strconv.Quote(id))
	found, err := poll(ctx, opts, func(ctx context.Context) (bool, error) {
		res, err := l.QueryRange(ctx, loki.QueryRangeRequest{
			Query: query, Start: at.Add(-time.Minute), End: at.Add(time.Minute), Limit: 10, Direction: "forward",
		})
		if err != nil {
			return false, err
		}
		for _, s := range res.Streams {
			for _, e := range s.Entries {
				if e.Line == line {
					return true, nil
				}
			}
		}
		return false, nil
	})
	switch {
	case found:
		r.add(target, "canary", Pass, "", "pushed line %s and read it back", id)
	case err != nil:
		r.add(target, "canary", Fail, "", "pushed line %s, but reading it back failed: %v", id, err)
	default:
		r.add(target, "canary", Fail, "", "pushed line %s (accepted), but %s did not return it within %s: check the querier and ingester ring", id, query, opts.CanaryWait)
	}
}

func runTempo(ctx context.Context, r *Result, t Targets, opts Options) {
	const target = "tempo"
	cctx, cancel := withTimeout(ctx, opts)
	err := t.Tempo.Ready(cctx)
	cancel()
	if err != nil {
		r.add(target, "ready", reachStatus(err), "", "Tempo is not ready: %v%s", err, authHint(err, "targets.tempo"))
		return
	}
	r.add(target, "ready", Pass, "", "/ready returned ready")

	cctx, cancel = withTimeout(ctx, opts)
	info, err := t.Tempo.BuildInfo(cctx)
	cancel()
	switch {
	case err != nil:
		r.add(target, "version", Inconclusive, "", "reading build info: %v", err)
	case majorVersion(info.Version) == 0:
		r.add(target, "version", Warn, "", "Tempo reports version %q, which has no release number; this tool supports Tempo 2.x and 3.x", info.Version)
	case majorVersion(info.Version) < 2:
		r.add(target, "version", Fail, "", "Tempo %s is older than 2.0, which has no TraceQL search", info.Version)
	default:
		r.add(target, "version", Pass, "", "Tempo %s", info.Version)
	}

	cctx, cancel = withTimeout(ctx, opts)
	limits, err := t.TempoLimits(cctx)
	cancel()
	if err != nil {
		r.add(target, "limits", Inconclusive, "", "reading limits: %v", err)
	} else {
		CheckTempoLimits(r, limits, opts.Inputs)
	}
	if opts.Canary {
		tempoCanary(ctx, r, t.Tempo, opts)
	}
}

// tempoCanary pushes a two-span trace and polls for it by id. A push
// whose response lists rejected spans fails at once, since Tempo returns
// 200 for a rejected trace.
func tempoCanary(ctx context.Context, r *Result, tp Tempo, opts Options) {
	const target = "tempo"
	at := opts.Now
	if at.IsZero() {
		at = time.Now()
	}
	td, id := canaryTrace(opts.Plan.Metadata.Name, at)
	cctx, cancel := withTimeout(ctx, opts)
	res, err := tp.Push(cctx, td)
	cancel()
	if err != nil {
		r.add(target, "canary", Fail, "", "pushing the canary trace failed: %v", err)
		return
	}
	if res.RejectedSpans > 0 {
		r.add(target, "canary", Fail, "", "Tempo accepted the push but rejected %d spans: %s", res.RejectedSpans, res.Message)
		return
	}
	hex := traceIDHex(id)
	found, err := poll(ctx, opts, func(ctx context.Context) (bool, error) {
		got, ok, err := tp.TraceByID(ctx, id, time.Time{}, time.Time{})
		if err != nil || !ok {
			return false, err
		}
		return got.SpanCount() == td.SpanCount(), nil
	})
	switch {
	case found:
		r.add(target, "canary", Pass, "", "pushed trace %s and read back its %d spans by id", hex, td.SpanCount())
	case err != nil:
		r.add(target, "canary", Fail, "", "pushed trace %s, but reading it back failed: %v", hex, err)
	default:
		r.add(target, "canary", Fail, "", "pushed trace %s (accepted), but it was not readable by id with all %d spans within %s", hex, td.SpanCount(), opts.CanaryWait)
	}
}

func canaryTrace(plan string, at time.Time) (ptrace.Traces, pcommon.TraceID) {
	var id pcommon.TraceID
	_, _ = rand.Read(id[:])
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "migrate-canary")
	rs.Resource().Attributes().PutStr("migrate.plan", plan)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	var parent pcommon.SpanID
	for i, name := range []string{"canary", "canary-child"} {
		var sid pcommon.SpanID
		_, _ = rand.Read(sid[:])
		s := spans.AppendEmpty()
		s.SetTraceID(id)
		s.SetSpanID(sid)
		s.SetName(name)
		s.SetKind(ptrace.SpanKindInternal)
		if i > 0 {
			s.SetParentSpanID(parent)
		}
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Millisecond)))
		parent = sid
	}
	return td, id
}

func runGrafana(ctx context.Context, r *Result, g Grafana, opts Options) {
	cctx, cancel := withTimeout(ctx, opts)
	version, err := g.Version(cctx)
	cancel()
	switch {
	case err != nil && version != "":
		// Grafana responded on its health endpoint, then failed a check.
		r.add("grafana", "version", Fail, "", "Grafana %s: %v%s", version, err, authHint(err, "targets.grafana"))
	case err != nil:
		r.add("grafana", "version", reachStatus(err), "", "Grafana check failed: %v%s", err, authHint(err, "targets.grafana"))
	case majorVersion(version) == 0:
		r.add("grafana", "version", Warn, "", "Grafana reports version %q, which has no release number; this tool supports Grafana 10 and newer", version)
	case majorVersion(version) < 10:
		r.add("grafana", "version", Fail, "", "Grafana %s is older than 10, which the converted dashboards need", version)
	default:
		r.add("grafana", "version", Pass, "", "Grafana %s", version)
	}
}

// reachStatus grades an error of a target's first request: a response
// that refused the request (not ready, or wrong credentials) fails the
// check, and no response at all leaves it inconclusive.
func reachStatus(err error) Status {
	if httpx.StatusOf(err) != 0 {
		return Fail
	}
	return Inconclusive
}

// authHint names the plan fields to fix when err is a 401 or 403.
func authHint(err error, section string) string {
	switch httpx.StatusOf(err) {
	case http.StatusUnauthorized:
		return "; the credentials were rejected: check " + section + ".token, or username and password"
	case http.StatusForbidden:
		return "; the credentials lack permission: check the role of the account in " + section
	}
	return ""
}

// poll calls read until it returns true, the wait ends or the context
// ends. It returns the last error when nothing was found.
func poll(ctx context.Context, opts Options, read func(context.Context) (bool, error)) (bool, error) {
	deadline := time.Now().Add(opts.CanaryWait)
	var lastErr error
	for {
		cctx, cancel := withTimeout(ctx, opts)
		ok, err := read(cctx)
		cancel()
		if ok {
			return true, nil
		}
		lastErr = err
		if time.Now().Add(opts.Poll).After(deadline) {
			return false, lastErr
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(opts.Poll):
		}
	}
}

// majorVersion returns the major number of "3.7.6", "v2.9.1" or
// "3.0.3-rc.1", or 0 when there is none.
func majorVersion(v string) int {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0
	}
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func traceIDHex(id pcommon.TraceID) string { return hex.EncodeToString(id[:]) }
