package phases

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// healthTarget is a target and the endpoint that says it is ready.
type healthTarget struct {
	name, url string
}

// targetsHealthy is the deploy exit gate in this version: each configured
// target answers its health endpoint (Loki and Tempo /ready, Grafana
// /api/health) with 200. A target that does not answer makes the gate
// inconclusive, an answer other than 200 makes it fail.
func targetsHealthy(ctx context.Context, r *Run) GateResult {
	var targets []healthTarget
	t := r.Plan.Targets
	if t.Loki != nil {
		targets = append(targets, healthTarget{"loki", joinURL(t.Loki.URL, "/ready")})
	}
	if t.Tempo != nil {
		targets = append(targets, healthTarget{"tempo", joinURL(t.Tempo.URL, "/ready")})
	}
	if t.Grafana != nil {
		targets = append(targets, healthTarget{"grafana", joinURL(t.Grafana.URL, "/api/health")})
	}
	timeout := r.Plan.Phases.Deploy.Timeout.Duration
	if timeout <= 0 {
		timeout = 10 * time.Second
	}

	evidence := map[string]any{}
	var failed, silent []string
	for _, tg := range targets {
		status, err := probe(ctx, r.HTTP, tg.url, timeout)
		switch {
		case err != nil:
			evidence[tg.name] = map[string]any{"url": tg.url, "error": err.Error()}
			silent = append(silent, tg.name)
		case status != http.StatusOK:
			evidence[tg.name] = map[string]any{"url": tg.url, "status": status}
			failed = append(failed, fmt.Sprintf("%s answered %d", tg.name, status))
		default:
			evidence[tg.name] = map[string]any{"url": tg.url, "status": status}
		}
	}
	switch {
	case len(failed) > 0:
		return fail("not ready: "+strings.Join(failed, ", "), evidence)
	case len(silent) > 0:
		return inconclusive("no answer from "+strings.Join(silent, ", ")+" within "+timeout.String()+"; check the URLs in targets and that the services run", evidence)
	}
	return pass(fmt.Sprintf("%d targets answer their health endpoints", len(targets)), evidence)
}

func probe(ctx context.Context, client *http.Client, url string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + path
}
