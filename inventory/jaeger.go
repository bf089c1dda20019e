package inventory

import (
	"context"
	"fmt"
	"time"
)

// traceSampleLimit is how many traces one search per service reads to
// estimate the span rate.
const traceSampleLimit = 200

// TraceSource is the Jaeger query service, as the inventory reads it.
type TraceSource interface {
	Services(ctx context.Context) ([]string, error)
	Operations(ctx context.Context, service string) ([]OperationInfo, error)
	// SampleTraces searches a service's traces in the window, at most
	// limit of them.
	SampleTraces(ctx context.Context, service string, from, to time.Time, limit int) (TraceSample, error)
}

// TraceSample is the result of one trace search.
type TraceSample struct {
	Traces, Spans int
	// Oldest and Newest are the earliest and latest span start times.
	Oldest, Newest time.Time
}

// inventoryJaeger lists services and operations and estimates each
// service's span rate. A failure on one service is recorded and the others
// go on.
func inventoryJaeger(ctx context.Context, src TraceSource, selected []string, window Window) (*JaegerReport, error) {
	services, err := src.Services(ctx)
	if err != nil {
		return nil, fmt.Errorf("jaeger: listing services: %w", err)
	}
	rep := &JaegerReport{Services: []ServiceInfo{}}
	known := map[string]bool{}
	for _, name := range services {
		known[name] = true
	}
	for _, name := range selected {
		if name != "*" && !known[name] {
			rep.Problems = append(rep.Problems, fmt.Sprintf("service %s in traces.services is not in Jaeger; check its name or remove it", name))
		}
	}
	for _, name := range services {
		if !serviceSelected(name, selected) {
			continue
		}
		info := ServiceInfo{Name: name, Operations: []OperationInfo{}}
		ops, err := src.Operations(ctx, name)
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("listing operations of %s: %v", name, err))
		}
		if ops != nil {
			info.Operations = ops
		}
		sample, err := src.SampleTraces(ctx, name, window.From, window.To, traceSampleLimit)
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("searching traces of %s: %v", name, err))
		} else {
			info.TracesSampled, info.SpansSampled = sample.Traces, sample.Spans
			info.SpansPerSecond, info.Truncated = spanRate(sample, window, traceSampleLimit)
		}
		rep.Services = append(rep.Services, info)
	}
	return rep, nil
}

// spanRate estimates spans per second. When the search returned fewer
// traces than its limit, it saw every trace of the window. When it hit the
// limit, the traces cover only part of the window, so the rate is taken
// over the time they cover and marked truncated.
func spanRate(s TraceSample, window Window, limit int) (float64, bool) {
	if s.Spans == 0 {
		return 0, false
	}
	if s.Traces < limit {
		return float64(s.Spans) / window.Duration().Seconds(), false
	}
	covered := s.Newest.Sub(s.Oldest)
	if covered < time.Second {
		covered = time.Second
	}
	return float64(s.Spans) / covered.Seconds(), true
}

func serviceSelected(name string, selected []string) bool {
	if len(selected) == 0 {
		return true
	}
	for _, s := range selected {
		if s == "*" || s == name {
			return true
		}
	}
	return false
}
