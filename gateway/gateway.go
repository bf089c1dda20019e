package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/phases"
)

// Mode is the gateway's routing of writes: which systems are primary and
// which get queued copies.
type Mode string

// Modes, as phases.State.GatewayMode stores them.
const (
	// ModeDual: Elasticsearch and Jaeger are primary, Loki and Tempo get
	// queued copies.
	ModeDual Mode = "dual"
	// ModeNewPrimary: Loki and Tempo are primary, Elasticsearch and Jaeger
	// get queued copies until decommission.
	ModeNewPrimary Mode = "new_primary"
	// ModeNewOnly: Loki and Tempo only.
	ModeNewOnly Mode = "new_only"
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeDual, ModeNewPrimary, ModeNewOnly:
		return Mode(s), nil
	}
	return "", fmt.Errorf("invalid gateway mode %q: want dual, new_primary or new_only", s)
}

// Defaults for a Config that leaves them zero.
const (
	DefaultModeInterval   = 5 * time.Second
	DefaultMaxBodyBytes   = 100 << 20
	DefaultQueueMaxBytes  = 1 << 30
	DefaultDrainTimeout   = 30 * time.Second
	DefaultRequestTimeout = 90 * time.Second
	// DefaultDrainBatch is the most records one delivery takes from a
	// document queue; trace queues take DefaultDrainBatch/64 requests.
	DefaultDrainBatch = 4096
)

// ModeSource returns the plan state that holds the gateway mode; a
// phases.Store is one.
type ModeSource interface {
	State(ctx context.Context) (phases.State, error)
}

// Outcome is the result of one document given to a LogWriter.
type Outcome struct {
	Written bool
	// Reason and Detail give the cause when a document was not written:
	// a mapping skip (missing_timestamp, line_too_long...) or a Loki
	// rejection. Either way the document went to the dead-letter file.
	Reason, Detail string
}

// LogPending is the part of a failed LogWriter call left to write.
type LogPending interface {
	Len() int
}

// LogWriter maps Elasticsearch documents to Loki entries and writes them.
type LogWriter interface {
	// Maps reports whether a logs mapping of the plan applies to index.
	Maps(index string) bool
	// WriteDocuments writes docs and returns one Outcome per document,
	// in order. An error means that a later retry may succeed, as after a
	// Loki rate limit or outage. The outcomes are then nil, and pending,
	// when not nil, contains what is left to write. The Result counts what
	// was written or dead-lettered, also when there is an error.
	WriteDocuments(ctx context.Context, docs []delivery.Document) ([]Outcome, delivery.Result, LogPending, error)
	// Resume writes what a failed call left.
	Resume(ctx context.Context, pending LogPending) (delivery.Result, LogPending, error)
}

// TraceWriter writes traces and accounts for every span (delivery
// TempoWriter and OTLPWriter).
type TraceWriter interface {
	Write(ctx context.Context, td ptrace.Traces) (delivery.Result, error)
}

// TraceExporter is a TraceWriter that can also forward a client's push and
// return the receiver's response without dead-lettering
// (delivery.OTLPWriter).
type TraceExporter interface {
	TraceWriter
	Export(ctx context.Context, td ptrace.Traces) (delivery.ExportResult, error)
}

// DocumentWriter writes documents to Elasticsearch
// (delivery.ElasticsearchWriter).
type DocumentWriter interface {
	Write(ctx context.Context, docs []delivery.Document) (delivery.Result, error)
}

// Probe checks that a destination is reachable, for /readyz.
type Probe func(ctx context.Context) error

// Config configures a Gateway.
type Config struct {
	// Listen is the address of the Elasticsearch-compatible API, /metrics,
	// /healthz and /readyz.
	Listen string
	// OTLPGRPC and OTLPHTTP are the OTLP receivers' addresses; empty
	// disables a receiver.
	OTLPGRPC, OTLPHTTP string
	// QueueDir holds one queue folder and one dead-letter file per
	// destination.
	QueueDir string

	// Mode is read at start and every ModeInterval.
	Mode         ModeSource
	ModeInterval time.Duration

	// Elasticsearch is the cluster of sources.elasticsearch, with its
	// authentication: the primary in dual mode, the secondary in
	// new_primary mode. It must not retry: the client of the gateway
	// decides whether to resend a request. NewForwardClient builds one.
	Elasticsearch *httpx.Client
	// ElasticsearchCopy writes the queued copies in new_primary mode.
	ElasticsearchCopy DocumentWriter
	// Jaeger is the Jaeger collector's OTLP receiver.
	Jaeger TraceExporter
	// Loki and Tempo are the new stack's writers.
	Loki  LogWriter
	Tempo TraceWriter
	// DeadLetters are the dead-letter files by destination name, shared
	// with the writers above, which dead-letter what a destination
	// rejects. The gateway opens QueueDir/deadletter-<destination>.jsonl
	// for a destination missing here, and closes only the files it opened.
	DeadLetters map[string]delivery.DeadLetter
	// Probes check the primaries for /readyz, keyed by destination name
	// (elasticsearch, jaeger, loki, tempo). A missing probe counts as
	// reachable.
	Probes map[string]Probe

	// MaxBodyBytes bounds one request body, after decompression; larger
	// requests get 413.
	MaxBodyBytes int64
	// MaxInflightBytes bounds the request bytes held in memory at once;
	// a request beyond it gets 429. The default is four times
	// MaxBodyBytes.
	MaxInflightBytes int64
	// QueueMaxBytes bounds each destination's queue on disk.
	QueueMaxBytes int64
	// QueueNoSync turns off fsync in the queues: for benchmarks that
	// measure its cost, never for production.
	QueueNoSync bool
	// DrainTimeout bounds how long shutdown keeps delivering queued
	// records; what is left stays on disk for the next start.
	DrainTimeout time.Duration
	// RequestTimeout bounds each forward to a primary.
	RequestTimeout time.Duration
	// DrainBatch is the most document records one delivery takes.
	DrainBatch int

	Logger *slog.Logger

	// openQueue replaces the disk queue, in tests.
	openQueue func(dir string, maxBytes int64, noSync bool) (recordQueue, error)
	// retryDelay replaces the drain's backoff, in tests.
	retryDelay func(attempt int, err error) time.Duration
}

// Gateway receives logs and traces and writes each to a primary and a
// queued secondary, as its mode selects.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	mode    atomic.Value // Mode
	budget  *byteBudget

	dests          map[string]*destination
	deadLetters    map[string]delivery.DeadLetter
	ownDeadLetters []*delivery.FileDeadLetter

	ready readyCache

	httpSrv, otlpHTTPSrv *http.Server
	grpcSrv              *grpc.Server
	addrs                [3]string

	stopMode   context.CancelFunc
	stopDrain  context.CancelFunc
	drainDone  sync.WaitGroup
	modeDone   chan struct{}
	serveErrs  chan error
	closeOnce  sync.Once
	shutdownMu sync.Mutex
	closed     atomic.Bool
}

// New opens the queues and dead-letter files in cfg.QueueDir and reads
// the mode. It does not listen yet; Start does.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg: cfg, log: cfg.Logger, metrics: newMetrics(),
		budget:      &byteBudget{max: cfg.MaxInflightBytes},
		dests:       map[string]*destination{},
		deadLetters: map[string]delivery.DeadLetter{},
		modeDone:    make(chan struct{}),
		serveErrs:   make(chan error, 3),
	}
	mode, err := g.readMode(ctx)
	if err != nil {
		return nil, err
	}
	g.setMode(mode)
	if err := g.openDestinations(); err != nil {
		g.closeQueues()
		return nil, err
	}
	list := make([]*destination, 0, len(g.dests))
	for _, name := range []string{destElasticsearch, destLoki, destJaeger, destTempo} {
		if d := g.dests[name]; d != nil {
			list = append(list, d)
		}
	}
	g.metrics.registry.MustRegister(newQueueCollector(list))
	return g, nil
}

func (c *Config) withDefaults() error {
	if c.Listen == "" {
		return errors.New("gateway: no listen address: set gateway.listen in the plan or pass --listen")
	}
	if c.QueueDir == "" {
		return errors.New("gateway: no queue folder: set gateway.queue_dir in the plan or pass --queue-dir")
	}
	if c.Mode == nil {
		return errors.New("gateway: no state store to read the mode from")
	}

	if c.ModeInterval <= 0 {
		c.ModeInterval = DefaultModeInterval
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxInflightBytes <= 0 {
		c.MaxInflightBytes = 4 * c.MaxBodyBytes
	}
	if c.QueueMaxBytes <= 0 {
		c.QueueMaxBytes = DefaultQueueMaxBytes
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.DrainBatch <= 0 {
		c.DrainBatch = DefaultDrainBatch
	}

	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.openQueue == nil {
		c.openQueue = openDiskQueue
	}
	if c.retryDelay == nil {
		c.retryDelay = retryDelay
	}
	return nil
}

// openDestinations opens the queue and dead-letter file of every
// destination the configuration has a writer for. Each queue is drained
// in every mode, so records queued before a mode switch still go out.
func (g *Gateway) openDestinations() error {
	if err := os.MkdirAll(g.cfg.QueueDir, 0o750); err != nil {
		return fmt.Errorf("gateway: creating the queue folder %s: %w", g.cfg.QueueDir, err)
	}
	type spec struct {
		name    string
		enabled bool
		deliver func(dl delivery.DeadLetter) deliverFunc
	}
	specs := []spec{
		{destLoki, g.cfg.Loki != nil, g.deliverLoki},
		{destTempo, g.cfg.Tempo != nil, func(dl delivery.DeadLetter) deliverFunc {
			return g.deliverTraces(destTempo, g.cfg.Tempo, dl)
		}},
		{destElasticsearch, g.cfg.ElasticsearchCopy != nil, g.deliverElasticsearch},
		{destJaeger, g.cfg.Jaeger != nil, func(dl delivery.DeadLetter) deliverFunc {
			return g.deliverTraces(destJaeger, g.cfg.Jaeger, dl)
		}},
	}
	for _, s := range specs {
		if !s.enabled {
			continue
		}
		dl := g.cfg.DeadLetters[s.name]
		if dl == nil {
			f, err := delivery.OpenFileDeadLetter(DeadLetterPath(g.cfg.QueueDir, s.name))
			if err != nil {
				return fmt.Errorf("gateway: %w", err)
			}
			g.ownDeadLetters = append(g.ownDeadLetters, f)
			dl = f
		}
		g.deadLetters[s.name] = dl
		q, err := g.cfg.openQueue(filepath.Join(g.cfg.QueueDir, s.name), g.cfg.QueueMaxBytes, g.cfg.QueueNoSync)
		if err != nil {
			return fmt.Errorf("gateway: opening the %s queue: %w", s.name, err)
		}
		if dq, ok := q.(*diskQueue); ok {
			for _, r := range dq.repairs() {
				g.log.Warn("queue repaired after a crash: a record that was never acknowledged was removed", "destination", s.name, "file", r.File, "offset", r.Offset, "bytes", r.Bytes, "reason", r.Reason)
			}
		}
		g.dests[s.name] = &destination{name: s.name, queue: q, maxBytes: g.cfg.QueueMaxBytes, deliver: s.deliver(dl)}
	}
	return nil
}

// DeadLetterPath returns the dead-letter file of a destination in a queue
// folder.
func DeadLetterPath(queueDir, destination string) string {
	return filepath.Join(queueDir, "deadletter-"+destination+".jsonl")
}

// Start listens on the configured addresses and starts the drains and the
// mode watcher. It returns once the listeners are bound.
func (g *Gateway) Start() error {
	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return fmt.Errorf("gateway: listening on %s: %w", g.cfg.Listen, err)
	}
	var grpcLn, otlpHTTPLn net.Listener
	if g.cfg.OTLPGRPC != "" {
		if grpcLn, err = net.Listen("tcp", g.cfg.OTLPGRPC); err != nil {
			ln.Close()
			return fmt.Errorf("gateway: listening for OTLP gRPC on %s: %w", g.cfg.OTLPGRPC, err)
		}
	}
	if g.cfg.OTLPHTTP != "" {
		if otlpHTTPLn, err = net.Listen("tcp", g.cfg.OTLPHTTP); err != nil {
			ln.Close()
			if grpcLn != nil {
				grpcLn.Close()
			}
			return fmt.Errorf("gateway: listening for OTLP/HTTP on %s: %w", g.cfg.OTLPHTTP, err)
		}
	}

	g.httpSrv = &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 5 * time.Minute, ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)}
	g.addrs[0] = ln.Addr().String()
	go g.serve("elasticsearch API", func() error { return g.httpSrv.Serve(ln) })
	if grpcLn != nil {
		g.grpcSrv = g.newGRPCServer()
		g.addrs[1] = grpcLn.Addr().String()
		go g.serve("OTLP gRPC", func() error { return g.grpcSrv.Serve(grpcLn) })
	}
	if otlpHTTPLn != nil {
		g.otlpHTTPSrv = &http.Server{Handler: g.OTLPHandler(), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 5 * time.Minute, ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)}
		g.addrs[2] = otlpHTTPLn.Addr().String()
		go g.serve("OTLP/HTTP", func() error { return g.otlpHTTPSrv.Serve(otlpHTTPLn) })
	}

	drainCtx, stopDrain := context.WithCancel(context.Background())
	g.stopDrain = stopDrain
	for _, d := range g.dests {
		g.drainDone.Add(1)
		go func() {
			defer g.drainDone.Done()
			g.drain(drainCtx, d)
		}()
	}
	modeCtx, stopMode := context.WithCancel(context.Background())
	g.stopMode = stopMode
	go g.watchMode(modeCtx)

	g.log.Info("gateway started", "mode", g.Mode(), "listen", g.addrs[0], "otlp_grpc", g.addrs[1], "otlp_http", g.addrs[2], "queue_dir", g.cfg.QueueDir)
	return nil
}

func (g *Gateway) serve(name string, fn func() error) {
	if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
		g.log.Error("listener stopped", "listener", name, "err", err)
		g.serveErrs <- fmt.Errorf("gateway: %s listener: %w", name, err)
	}
}

// Addr returns the bound address of the Elasticsearch API.
func (g *Gateway) Addr() string { return g.addrs[0] }

// OTLPGRPCAddr and OTLPHTTPAddr return the bound OTLP addresses, empty
// when disabled.
func (g *Gateway) OTLPGRPCAddr() string { return g.addrs[1] }

// OTLPHTTPAddr returns the bound OTLP/HTTP address.
func (g *Gateway) OTLPHTTPAddr() string { return g.addrs[2] }

// Run starts the gateway and serves until ctx ends or a listener fails,
// then shuts down gracefully: see Shutdown.
func (g *Gateway) Run(ctx context.Context) error {
	if err := g.Start(); err != nil {
		g.closeQueues()
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		g.log.Info("gateway stopping", "reason", context.Cause(ctx))
	case runErr = <-g.serveErrs:
	}
	// The shutdown gets its own deadline: in-flight requests, then the
	// drain, then a margin to close files.
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.RequestTimeout+g.cfg.DrainTimeout+10*time.Second)
	defer cancel()
	return errors.Join(runErr, g.Shutdown(sctx))
}

// Shutdown stops accepting requests, waits for the requests in flight,
// delivers queued records for up to DrainTimeout, and closes the queues.
// Records not delivered stay on disk; the next start delivers them. A
// request that was acknowledged is never lost.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.shutdownMu.Lock()
	defer g.shutdownMu.Unlock()
	var errs []error
	if g.stopMode != nil {
		g.stopMode()
		<-g.modeDone
	}
	reqCtx, cancel := context.WithTimeout(ctx, g.cfg.RequestTimeout)
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
	)
	for _, srv := range []*http.Server{g.httpSrv, g.otlpHTTPSrv} {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(reqCtx); err != nil {
				errMu.Lock()
				errs = append(errs, fmt.Errorf("gateway: waiting for HTTP requests: %w", err))
				errMu.Unlock()
				srv.Close()
			}
		}()
	}
	if g.grpcSrv != nil {
		done := make(chan struct{})
		go func() {
			g.grpcSrv.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-reqCtx.Done():
			g.grpcSrv.Stop()
		}
	}
	wg.Wait()
	cancel()

	if g.stopDrain != nil {
		g.waitDrained(ctx)
		g.stopDrain()
		g.drainDone.Wait()
	}
	if err := g.closeQueues(); err != nil {
		errs = append(errs, err)
	}
	left := map[string]int64{}
	for name, d := range g.dests {
		if st := d.queue.Stats(); st.Records > 0 {
			left[name] = st.Records
		}
	}
	g.log.Info("gateway stopped", "undelivered_records_kept_on_disk", left)
	return errors.Join(errs...)
}

// waitDrained waits until every queue is empty, DrainTimeout passes or
// ctx ends.
func (g *Gateway) waitDrained(ctx context.Context) {
	deadline := time.NewTimer(g.cfg.DrainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		empty := true
		for _, d := range g.dests {
			if d.queue.Stats().Records > 0 {
				empty = false
			}
		}
		if empty {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			g.log.Warn("drain time is up; undelivered records stay queued on disk", "drain_timeout", g.cfg.DrainTimeout)
			return
		case <-tick.C:
		}
	}
}

func (g *Gateway) closeQueues() error {
	var errs []error
	g.closeOnce.Do(func() {
		g.closed.Store(true)
		for name, d := range g.dests {
			if err := d.queue.Close(); err != nil {
				errs = append(errs, fmt.Errorf("gateway: closing the %s queue: %w", name, err))
			}
		}
		for _, dl := range g.ownDeadLetters {
			if err := dl.Close(); err != nil {
				errs = append(errs, fmt.Errorf("gateway: closing %s: %w", dl.Path(), err))
			}
		}
	})
	return errors.Join(errs...)
}

// Mode returns the current mode.
func (g *Gateway) Mode() Mode { return g.mode.Load().(Mode) }

func (g *Gateway) setMode(m Mode) {
	g.mode.Store(m)
	g.metrics.setMode(m)
}

func (g *Gateway) readMode(ctx context.Context) (Mode, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := g.cfg.Mode.State(ctx)
	if err != nil {
		return "", fmt.Errorf("gateway: reading the gateway mode from the plan state: %w", err)
	}
	if st.GatewayMode == "" {
		return ModeDual, nil
	}
	return ParseMode(st.GatewayMode)
}

// watchMode rereads the mode every ModeInterval, so a cutover or a
// rollback switches the gateway without a restart. A request uses the
// mode it started with.
func (g *Gateway) watchMode(ctx context.Context) {
	defer close(g.modeDone)
	t := time.NewTicker(g.cfg.ModeInterval)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m, err := g.readMode(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			// One warning per minute of failures at the default interval.
			if failures == 1 || failures%12 == 0 {
				g.log.Warn("reading the gateway mode failed; keeping the current mode", "mode", g.Mode(), "failures", failures, "err", err)
			}
			continue
		}
		failures = 0
		if old := g.Mode(); m != old {
			g.setMode(m)
			g.log.Info("gateway mode changed", "from", old, "to", m)
		}
	}
}

// Registry returns the gateway's Prometheus registry, served at /metrics.
func (g *Gateway) Registry() *prometheus.Registry { return g.metrics.registry }

// byteBudget bounds the request bytes held in memory.
type byteBudget struct {
	mu   sync.Mutex
	used int64
	max  int64
}

func (b *byteBudget) acquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max && b.used > 0 {
		return false
	}
	b.used += n
	return true
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}
