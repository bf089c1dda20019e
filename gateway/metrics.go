package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/obs-migrate/migrate/delivery"
)

// metrics are the gateway's Prometheus metrics, in a registry of its own so
// that several gateways (in tests) do not collide.
type metrics struct {
	registry *prometheus.Registry

	// received counts records accepted for a destination: documents for
	// elasticsearch and loki, spans for jaeger and tempo.
	received *prometheus.CounterVec
	// sent counts records a destination accepted, and sentBytes their size
	// as the writer measures it. A batch resent after a retryable failure
	// is counted again for the part that was written before the failure.
	sent      *prometheus.CounterVec
	sentBytes *prometheus.CounterVec
	// failed counts failed write attempts by reason; the records stay
	// queued (secondary) or the client gets an error (primary).
	failed *prometheus.CounterVec
	// deadLettered counts records that can never be written, by reason.
	deadLettered *prometheus.CounterVec
	// skipped counts records that are not copied to a destination by
	// design: update and delete actions, indices without a logs mapping.
	skipped *prometheus.CounterVec
	// rejected counts client requests rejected with 429 because a queue or the
	// in-flight byte budget was full.
	rejected *prometheus.CounterVec
	// lag is the time from append to delivery of the last delivered batch.
	lag *prometheus.GaugeVec
	// requests and duration describe client requests by API and status.
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	mode     *prometheus.GaugeVec
}

func newMetrics() *metrics {
	const ns = "migrate_gateway"
	m := &metrics{
		registry: prometheus.NewRegistry(),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "received_total",
			Help: "Records accepted for a destination: documents for elasticsearch and loki, spans for jaeger and tempo.",
		}, []string{"destination"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "sent_total",
			Help: "Records the destination accepted.",
		}, []string{"destination"}),
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "sent_bytes_total",
			Help: "Bytes of the records the destination accepted, as the destination counts them.",
		}, []string{"destination"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "failed_total",
			Help: "Failed write attempts by reason; queued records stay queued and are retried.",
		}, []string{"destination", "reason"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "dead_lettered_total",
			Help: "Records written to the destination's dead-letter file, by reason.",
		}, []string{"destination", "reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "skipped_total",
			Help: "Records not copied to a destination by design (update and delete actions, indices without a logs mapping).",
		}, []string{"destination", "reason"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "backpressure_total",
			Help: "Client requests answered 429 because a queue or the in-flight byte budget was full.",
		}, []string{"signal", "reason"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "delivery_lag_seconds",
			Help: "Time from append to delivery of the oldest record of the last batch delivered.",
		}, []string{"destination"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "requests_total",
			Help: "Client requests by API and HTTP status (gRPC codes are mapped to their HTTP status).",
		}, []string{"api", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "request_duration_seconds",
			Help:    "Time to answer a client request, by API.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"api"}),
		mode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "mode",
			Help: "1 for the gateway's current mode, 0 for the others.",
		}, []string{"mode"}),
	}
	m.registry.MustRegister(m.received, m.sent, m.sentBytes, m.failed, m.deadLettered, m.skipped,
		m.rejected, m.lag, m.requests, m.duration, m.mode,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// addResult counts a writer's result for a destination.
func (m *metrics) addResult(dest string, r delivery.Result) {
	if r.Written > 0 {
		m.sent.WithLabelValues(dest).Add(float64(r.Written))
	}
	if r.Bytes > 0 {
		m.sentBytes.WithLabelValues(dest).Add(float64(r.Bytes))
	}
	for reason, n := range r.DeadLettered {
		m.deadLettered.WithLabelValues(dest, reason).Add(float64(n))
	}
}

func (m *metrics) setMode(mode Mode) {
	for _, md := range []Mode{ModeDual, ModeNewPrimary, ModeNewOnly} {
		v := 0.0
		if md == mode {
			v = 1
		}
		m.mode.WithLabelValues(string(md)).Set(v)
	}
}

// queueCollector reports each queue's depth and the age of its oldest
// record when /metrics is scraped.
type queueCollector struct {
	dests   []*destination
	records *prometheus.Desc
	bytes   *prometheus.Desc
	age     *prometheus.Desc
}

func newQueueCollector(dests []*destination) *queueCollector {
	return &queueCollector{
		dests:   dests,
		records: prometheus.NewDesc("migrate_gateway_queue_records", "Records in the destination's queue that are not yet delivered.", []string{"destination"}, nil),
		bytes:   prometheus.NewDesc("migrate_gateway_queue_bytes", "Bytes of the destination's queue that are not yet delivered.", []string{"destination"}, nil),
		age:     prometheus.NewDesc("migrate_gateway_queue_oldest_age_seconds", "Age of the oldest record in the destination's queue; 0 when it is empty.", []string{"destination"}, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.records
	ch <- c.bytes
	ch <- c.age
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, d := range c.dests {
		st := d.queue.Stats()
		age := 0.0
		if st.Records > 0 && !st.Oldest.IsZero() {
			age = now.Sub(st.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(st.Records), d.name)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(st.Bytes), d.name)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, d.name)
	}
}
