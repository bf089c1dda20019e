package tempo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// singleTenant is the tenant Tempo uses when multitenancy is off.
const singleTenant = "single-tenant"

// Discards are Tempo's counters of silently lost data for one tenant, read
// from /metrics. They only grow, so a deploy check reads them before and
// after a canary push and compares.
type Discards struct {
	// Spans is tempo_discarded_spans_total by reason, such as
	// trace_too_large, rate_limited and live_traces_exceeded.
	Spans map[string]int64
	// TruncatedAttributes is tempo_distributor_attributes_truncated_total
	// by scope (resource, span, event, link, scope): attributes cut to
	// max_attribute_bytes.
	TruncatedAttributes map[string]int64
}

// Discards reads the discard counters of the configured tenant from
// /metrics on the API URL.
//
// NOTE: it reads the counters of the process behind Config.URL only. In a
// single binary that process runs every component. In a microservices
// deployment the counters live on the distributors and live stores, so read
// them through the metrics backend instead.
func (c *Client) Discards(ctx context.Context) (Discards, error) {
	resp, err := c.api.Do(ctx, httpx.Request{
		Method: http.MethodGet, Path: "/metrics",
		Header: http.Header{"Accept": {"text/plain"}},
	})
	if err != nil {
		return Discards{}, wrapHTTPError("reading /metrics", err)
	}
	tenant := c.cfg.Tenant
	if tenant == "" {
		tenant = singleTenant
	}
	d, err := ParseDiscards(resp.Body, tenant)
	if err != nil {
		return Discards{}, fmt.Errorf("tempo: reading /metrics: %w", err)
	}
	return d, nil
}

// ParseDiscards reads the discard counters of tenant from Prometheus text
// exposition. It reads only the two counter families it needs, and skips
// every other line.
func ParseDiscards(text []byte, tenant string) (Discards, error) {
	d := Discards{Spans: map[string]int64{}, TruncatedAttributes: map[string]int64{}}
	scanner := bufio.NewScanner(bytes.NewReader(text))
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Text()
		var target map[string]int64
		var key string
		switch {
		case strings.HasPrefix(text, "tempo_discarded_spans_total{"):
			target, key = d.Spans, "reason"
		case strings.HasPrefix(text, "tempo_distributor_attributes_truncated_total{"):
			target, key = d.TruncatedAttributes, "scope"
		default:
			continue
		}
		labels, value, err := parseSample(text[strings.IndexByte(text, '{'):])
		if err != nil {
			return Discards{}, fmt.Errorf("line %d: %w", line, err)
		}
		if labels["tenant"] != tenant {
			continue
		}
		target[labels[key]] += value
	}
	if err := scanner.Err(); err != nil {
		return Discards{}, err
	}
	return d, nil
}

// parseSample reads `{name="value",...} VALUE [TIMESTAMP]` of one sample
// line.
func parseSample(s string) (map[string]string, int64, error) {
	labels := map[string]string{}
	i := 1 // after '{'
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return nil, 0, errors.New("unterminated label set")
		}
		if s[i] == '}' {
			i++
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 || i+eq+1 >= len(s) || s[i+eq+1] != '"' {
			return nil, 0, fmt.Errorf("invalid label at column %d", i+1)
		}
		name := strings.TrimSpace(s[i : i+eq])
		value, n, err := quotedLabelValue(s[i+eq+1:])
		if err != nil {
			return nil, 0, fmt.Errorf("label %s: %w", name, err)
		}
		labels[name] = value
		i += eq + 1 + n
	}
	fields := strings.Fields(s[i:])
	if len(fields) == 0 || len(fields) > 2 {
		return nil, 0, errors.New("expected a value after the labels")
	}
	f, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || math.IsNaN(f) || f < 0 || f >= math.MaxInt64 {
		return nil, 0, fmt.Errorf("invalid counter value %q", fields[0])
	}
	return labels, int64(f), nil
}

// quotedLabelValue reads a double-quoted label value with the exposition
// format's escapes (\\, \" and \n) and returns it and the bytes consumed.
func quotedLabelValue(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errors.New("unterminated escape")
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case '\\', '"':
				b.WriteByte(s[i])
			default:
				return "", 0, fmt.Errorf("invalid escape \\%c", s[i])
			}
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errors.New("unterminated label value")
}
