package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/inventory"
	"github.com/obs-migrate/migrate/logmap"
	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

// LabelName is the label the backfill adds to every Loki stream it writes,
// with the shard index as value, so that its streams are never the ones
// the live dual write appends to.
const LabelName = "migrate_backfill"

// DefaultHeadroom is the share of Loki's and Tempo's ingestion rates left
// for the live dual write while the backfill runs.
const DefaultHeadroom = 0.5

// DefaultRetryFor is how long a batch is retried after retryable errors
// before the run stops.
const DefaultRetryFor = 30 * time.Minute

// Config configures a Runner. Plan, Store and Shard are required. Logs
// need Elasticsearch, Loki and DeadLetter; traces need Jaeger and Tempo.
// A plan part whose clients are nil is not copied.
type Config struct {
	Plan  *plans.Plan
	Store phases.Store
	Shard Shard
	// From and To replace phases.parallel_run.backfill.from and to when
	// set. They take the same forms: RFC 3339, now, or now-DURATION.
	From, To string
	// DryRun resolves the range, runs the checks and lists the units
	// without writing anything, the state included.
	DryRun bool

	Elasticsearch *elasticsearch.Client
	Loki          LogWriter
	LokiLimits    loki.Limits
	Jaeger        TraceSource
	Tempo         TraceWriter
	TempoLimits   tempo.Limits
	DeadLetter    delivery.DeadLetter

	// Headroom is the share of each ingestion rate left for the live
	// writes, from 0 to below 1; the command line's default is
	// DefaultHeadroom. The rest is split evenly among the shards.
	Headroom float64
	// PageSize and KeepAlive configure the Elasticsearch reader; zero
	// values take its defaults.
	PageSize  int
	KeepAlive time.Duration
	// TraceSearchLimit is the number of traces one Jaeger search
	// requests, DefaultTraceSearchLimit when 0.
	TraceSearchLimit int
	// RetryFor bounds how long one batch is retried, DefaultRetryFor when
	// 0.
	RetryFor time.Duration

	Progress *Progress
	Log      *slog.Logger
	// Actor names who runs the backfill in the state's lock record.
	Actor string
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Runner copies the history of one shard.
type Runner struct {
	cfg      Config
	log      *slog.Logger
	logs     []plans.LogMapping
	label    string
	mappers  []*logmap.Mapper
	retry    retrier
	progress *Progress
	cps      *checkpoints
	services map[string]bool

	lokiBucket, tempoBucket *bucket
	// maxBatchSpan bounds the time span of one Loki write: half of Loki's
	// out-of-order window, 0 when the window is unknown.
	maxBatchSpan time.Duration
}

// New checks cfg and returns a Runner. It sends no request.
func New(cfg Config) (*Runner, error) {
	if cfg.Plan == nil || cfg.Store == nil {
		return nil, errors.New("backfill: Config.Plan and Config.Store are required")
	}
	if err := cfg.Shard.validate(); err != nil {
		return nil, err
	}
	if cfg.Headroom < 0 || cfg.Headroom >= 1 {
		return nil, fmt.Errorf("backfill: headroom %v is outside [0, 1): it is the share of the ingestion rate left for live writes", cfg.Headroom)
	}
	cfg = withDefaults(cfg)

	r := &Runner{cfg: cfg, log: cfg.Log, label: LabelName, progress: cfg.Progress}
	if r.progress == nil {
		// A silent reporter still counts what the run copied.
		r.progress = NewProgress(io.Discard, false, 0, nil)
	}
	if r.copiesLogs() {
		if cfg.DeadLetter == nil {
			return nil, errors.New("backfill: Config.DeadLetter is required to copy logs")
		}
		r.logs = cfg.Plan.Logs
	}
	if r.copiesTraces() && cfg.DeadLetter == nil {
		return nil, errors.New("backfill: Config.DeadLetter is required to copy traces")
	}

	r.retry = retrier{limit: cfg.RetryFor, now: cfg.Now, sleep: cfg.Sleep, log: cfg.Log}
	share := (1 - cfg.Headroom) / float64(cfg.Shard.Count)
	l := cfg.LokiLimits
	r.lokiBucket = newBucket(float64(l.IngestionRateBytes)*share, float64(l.IngestionBurstBytes)*share, cfg.Now, cfg.Sleep)
	t := cfg.TempoLimits
	r.tempoBucket = newBucket(float64(t.IngestionRateLimitBytes)*share, float64(t.IngestionBurstSizeBytes)*share, cfg.Now, cfg.Sleep)
	r.maxBatchSpan = l.OutOfOrderWindow() / 2
	return r, nil
}

// withDefaults fills the settings cfg leaves zero.
func withDefaults(cfg Config) Config {
	if cfg.TraceSearchLimit == 0 {
		cfg.TraceSearchLimit = DefaultTraceSearchLimit
	}
	if cfg.RetryFor == 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepContext
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return cfg
}

func (r *Runner) copiesLogs() bool {
	return len(r.cfg.Plan.Logs) > 0 && r.cfg.Elasticsearch != nil && r.cfg.Loki != nil
}

func (r *Runner) copiesTraces() bool {
	return r.cfg.Plan.Traces != nil && r.cfg.Jaeger != nil && r.cfg.Tempo != nil
}

// buildMappers makes one mapper per logs entry, adding the separation
// label to every stream.
func (r *Runner) buildMappers() error {
	opts := logmap.Options{MaxLineSize: r.cfg.LokiLimits.MaxLineSize, MaxLabelValueLength: r.cfg.LokiLimits.MaxLabelValueLength}
	if opts.MaxLabelValueLength == 0 {
		// Loki's zero means no limit; logmap's zero means its default.
		opts.MaxLabelValueLength = -1
	}
	if r.label != "" {
		opts.ExtraLabels = map[string]string{r.label: r.cfg.Shard.Label()}
	}
	r.mappers = make([]*logmap.Mapper, len(r.logs))
	for i, m := range r.logs {
		mp, err := logmap.New(m, opts)
		if err != nil {
			return fmt.Errorf("logs[%d] (indices %s): %w", i, m.Indices, err)
		}
		r.mappers[i] = mp
	}
	return nil
}

// Run copies the shard's units that are not done, resuming a unit in
// progress from its checkpoint, and returns the summary. It stops at the
// first error; the checkpoints keep what was acknowledged.
func (r *Runner) Run(ctx context.Context) (*Summary, error) {
	started := r.cfg.Now()
	if !r.copiesLogs() && !r.copiesTraces() {
		return nil, errors.New("backfill: nothing to copy: the plan needs logs with sources.elasticsearch and targets.loki, or traces with sources.jaeger and targets.tempo")
	}
	st, err := r.cfg.Store.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the plan state: %w", err)
	}
	if err := r.buildMappers(); err != nil {
		return nil, err
	}

	prep, err := r.prepare(ctx, st)
	if err != nil {
		return nil, err
	}
	rng := prep.rng
	r.services = map[string]bool{}
	for _, s := range prep.services {
		r.services[s] = true
	}
	host, _ := os.Hostname()
	r.cps = &checkpoints{store: r.cfg.Store, phase: st.Phase, generation: st.Generation, shard: r.cfg.Shard.Index, host: host, now: r.cfg.Now}

	all := planUnits(r.logs, prep.services, rng)
	sum := &Summary{Plan: r.cfg.Plan.Metadata.Name, Shard: r.cfg.Shard, Range: rng, DryRun: r.cfg.DryRun, Warnings: prep.warnings}
	states, err := r.loadStates(ctx, all, sum)
	if err != nil {
		return nil, err
	}
	if r.cfg.DryRun {
		sum.Elapsed = r.cfg.Now().Sub(started)
		return sum, nil
	}

	r.logStart(rng, sum)
	err = r.runShard(ctx, states, sum)
	if _, lerr := r.loadStates(context.WithoutCancel(ctx), all, sum); lerr != nil && err == nil {
		err = lerr
	}
	sum.Elapsed = r.cfg.Now().Sub(started)
	sum.RunCounts = r.progress.runCounts()
	if tw, ok := r.cfg.Tempo.(interface{ TruncatedAttributes() int64 }); ok {
		sum.TruncatedAttributes = tw.TruncatedAttributes()
	}
	r.log.Info("backfill finished", "plan", sum.Plan, "shard", r.cfg.Shard.String(), "units_done", sum.UnitsDone, "units", sum.Units,
		"documents", sum.RunCounts.Documents, "entries", sum.RunCounts.Entries, "spans", sum.RunCounts.Spans, "elapsed", sum.Elapsed.Round(time.Second))
	return sum, err
}

func (r *Runner) logStart(rng Range, sum *Summary) {
	r.log.Info("backfill starting", "plan", sum.Plan, "shard", r.cfg.Shard.String(),
		"from", rng.From, "to", rng.To, "slice", rng.Slice, "units", sum.Units, "units_done", sum.UnitsDone)
	for _, w := range sum.Warnings {
		r.log.Warn("backfill: " + w)
	}
}

// unitState is a unit of this shard with its checkpoint.
type unitState struct {
	unit Unit
	cp   Checkpoint
}

// loadStates reads every unit's checkpoint, fills the unit counts and
// totals of sum, and returns this shard's units that are not done.
func (r *Runner) loadStates(ctx context.Context, all []Unit, sum *Summary) ([]unitState, error) {
	var pending []unitState
	sum.Units, sum.UnitsDone, sum.AllUnits, sum.AllUnitsDone = 0, 0, len(all), 0
	sum.Counts = Counts{}
	sum.Pending = nil
	for _, u := range all {
		cp, err := r.cps.load(ctx, u)
		if err != nil {
			return nil, err
		}
		if cp.Done {
			sum.AllUnitsDone++
		}
		if u.Shard != r.cfg.Shard.Index {
			continue
		}
		sum.Units++
		sum.Counts.Add(cp.Counts)
		if cp.Done {
			sum.UnitsDone++
			continue
		}
		pending = append(pending, unitState{unit: u, cp: cp})
		sum.Pending = append(sum.Pending, PendingUnit{Unit: u, Started: cp.started()})
	}
	return pending, nil
}

// runShard runs the logs units and the traces units side by side, each
// kind in its order, and stops both at the first error. It returns that
// error, not the cancellation it caused in the other kind, unless ctx
// itself ended.
func (r *Runner) runShard(ctx context.Context, states []unitState, sum *Summary) error {
	workCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.progress.begin(sum.Units, sum.UnitsDone)
	progressCtx, stopProgress := context.WithCancel(context.Background())
	var progressDone sync.WaitGroup
	if r.cfg.Progress != nil {
		progressDone.Go(func() { r.progress.loop(progressCtx) })
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	errs := make([]error, 2)
	for i, kind := range []Kind{KindLogs, KindTraces} {
		wg.Go(func() {
			errs[i] = r.runKind(workCtx, kind, states)
			if errs[i] == nil {
				return
			}
			mu.Lock()
			if firstErr == nil {
				firstErr = errs[i]
			}
			mu.Unlock()
			cancel()
		})
	}
	wg.Wait()
	stopProgress()
	progressDone.Wait()

	if ctx.Err() != nil {
		return errors.Join(errs...)
	}
	return firstErr
}

func (r *Runner) runKind(ctx context.Context, kind Kind, states []unitState) error {
	for _, s := range states {
		if s.unit.Kind != kind {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		pos := s.unit.From
		if s.cp.Cursor != nil {
			pos, _ = time.Parse(time.RFC3339Nano, s.cp.Cursor.LastTime)
		} else if !s.cp.TracesUntil.IsZero() {
			pos = s.cp.TracesUntil
		}
		r.progress.startUnit(s.unit, pos)
		var err error
		if kind == KindLogs {
			err = r.runLogsUnit(ctx, s.unit, s.cp)
		} else {
			err = r.runTracesUnit(ctx, s.unit, s.cp)
		}
		if err != nil {
			return err
		}
		r.progress.finishUnit(kind)
	}
	return nil
}

// prepared is the range, the services and the warnings of a run.
type prepared struct {
	rng      Range
	services []string
	warnings []string
}

// request returns the range the plan and the flags ask for.
func (r *Runner) request() rangeRequest {
	bf := r.cfg.Plan.Phases.ParallelRun.Backfill
	req := rangeRequest{fromExpr: bf.From, toExpr: bf.To, slice: bf.Slice.Duration, shards: r.cfg.Shard.Count}
	if r.cfg.From != "" {
		req.fromExpr = r.cfg.From
	}
	if r.cfg.To != "" {
		req.toExpr = r.cfg.To
	}
	return req
}

// prepare resolves the range and the services, runs the checks, and pins
// both in the state unless this is a dry run. Its warnings are about
// settings that do not stop the backfill.
func (r *Runner) prepare(ctx context.Context, st phases.State) (prepared, error) {
	req := r.request()
	rng, pinned, err := r.pinnedRange(ctx, req)
	if err != nil {
		return prepared{}, err
	}
	if !pinned {
		if rng, err = resolveRange(req, st, r.cfg.Now()); err != nil {
			return prepared{}, err
		}
	}

	var services []string
	servicesPinned := true
	if r.copiesTraces() {
		if services, servicesPinned, err = r.resolveServices(ctx); err != nil {
			return prepared{}, err
		}
	}

	projected, err := r.projectedStreams(ctx)
	if err != nil {
		return prepared{}, err
	}
	check := func(rng Range) error {
		return preflight(preflightInput{logs: r.logs, limits: r.cfg.LokiLimits, rng: rng, now: r.cfg.Now(), projectedStreams: projected, label: r.label})
	}
	if err := check(rng); err != nil {
		return prepared{}, err
	}

	out := prepared{rng: rng, services: services, warnings: r.warnings(rng, st, projected)}
	if r.cfg.DryRun || (pinned && servicesPinned) {
		return out, nil
	}
	out.rng, out.services, err = r.pin(ctx, req, rng, services)
	if err != nil {
		return prepared{}, err
	}
	return out, check(out.rng)
}

// pinnedRange returns the pinned range, or false when none is pinned. A
// pinned range that differs from req is an error.
func (r *Runner) pinnedRange(ctx context.Context, req rangeRequest) (Range, bool, error) {
	var rng Range
	found, err := getJSON(ctx, r.cfg.Store, artifactRange, &rng)
	if err != nil || !found {
		return Range{}, false, err
	}
	if !rng.matches(req) {
		return Range{}, false, rng.changedError(req)
	}
	return rng, true, nil
}

// resolveServices returns the pinned services, or the plan's list with
// "*" expanded through Jaeger.
func (r *Runner) resolveServices(ctx context.Context) ([]string, bool, error) {
	var pinned []string
	found, err := getJSON(ctx, r.cfg.Store, artifactServices, &pinned)
	if err != nil {
		return nil, false, err
	}
	if found {
		return pinned, true, nil
	}
	set := map[string]bool{}
	for _, s := range r.cfg.Plan.Traces.Services {
		if s != "*" {
			set[s] = true
			continue
		}
		var all []string
		err := r.retry.do(ctx, "listing Jaeger services", retryableRead, func() error {
			var err error
			all, err = r.cfg.Jaeger.Services(ctx)
			return err
		})
		if err != nil {
			return nil, false, fmt.Errorf("listing the services of sources.jaeger for traces.services \"*\": %w", err)
		}
		for _, name := range all {
			set[name] = true
		}
	}
	services := make([]string, 0, len(set))
	for s := range set {
		services = append(services, s)
	}
	slices.Sort(services)
	return services, false, nil
}

// pin stores the range and the services under the plan lock, unless
// another process pinned them first, whose values then win.
func (r *Runner) pin(ctx context.Context, req rangeRequest, rng Range, services []string) (Range, []string, error) {
	release, err := r.lock(ctx)
	if err != nil {
		return Range{}, nil, err
	}
	defer func() {
		if err := release(); err != nil {
			r.log.Error("backfill: releasing the plan lock failed", "err", err)
		}
	}()

	st, err := r.cfg.Store.State(ctx)
	if err != nil {
		return Range{}, nil, err
	}
	existing, found, err := r.pinnedRange(ctx, req)
	if err != nil {
		return Range{}, nil, err
	}
	if found {
		rng = existing
	} else if err := r.putJSON(ctx, st, artifactRange, rng); err != nil {
		return Range{}, nil, err
	}
	if !r.copiesTraces() {
		return rng, services, nil
	}

	var pinnedServices []string
	found, err = getJSON(ctx, r.cfg.Store, artifactServices, &pinnedServices)
	if err != nil {
		return Range{}, nil, err
	}
	if found {
		return rng, pinnedServices, nil
	}
	return rng, services, r.putJSON(ctx, st, artifactServices, services)
}

func (r *Runner) putJSON(ctx context.Context, st phases.State, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	if err := r.cfg.Store.PutArtifact(ctx, key, st.Phase, st.Generation, data); err != nil {
		return fmt.Errorf("writing %s to the plan state: %w", key, err)
	}
	return nil
}

// lockWait bounds how long pinning waits for the plan lock.
const lockWait = 30 * time.Second

// lock takes the plan lock for the moment of pinning, waiting while
// another process holds it.
func (r *Runner) lock(ctx context.Context) (func() error, error) {
	host, _ := os.Hostname()
	info := phases.LockInfo{Actor: r.cfg.Actor, Host: host, PID: os.Getpid(), Command: "migrate backfill (pinning its range)", Since: r.cfg.Now()}
	deadline := r.cfg.Now().Add(lockWait)
	for {
		release, err := r.cfg.Store.Lock(ctx, info)
		var locked *phases.LockedError
		if !errors.As(err, &locked) {
			return release, err
		}
		if r.cfg.Now().After(deadline) {
			return nil, fmt.Errorf("pinning the backfill range: %w for %s by %s; wait for it to finish and run the backfill again", errLocked, lockWait, locked.Holder)
		}
		if err := r.cfg.Sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// projectedStreams returns the inventory's projection of Loki streams, 0
// when the state holds no inventory.
func (r *Runner) projectedStreams(ctx context.Context) (int64, error) {
	var inv inventory.Report
	found, err := getJSON(ctx, r.cfg.Store, artifactInventory, &inv)
	if err != nil || !found || inv.Loki == nil {
		return 0, err
	}
	return inv.Loki.ProjectedStreams, nil
}

// warnings lists settings that let the backfill run but deserve a look.
func (r *Runner) warnings(rng Range, st phases.State, projected int64) []string {
	var out []string
	if r.copiesLogs() {
		if rng.ToSource == toFromFirstRun {
			out = append(out, fmt.Sprintf("the plan is in phase %s, not parallel_run, so the backfill ends at %s, when it was first run; entries written later by the live dual write are not covered", st.Phase, rng.To.Format(time.RFC3339)))
		}
		if projected == 0 && r.cfg.LokiLimits.MaxGlobalStreamsPerUser > 0 {
			out = append(out, "no inventory in the plan state, so the backfill's extra streams were not checked against max_global_streams_per_user; run the inventory phase first")
		}
		if r.cfg.LokiLimits.OutOfOrderWindow() <= 0 {
			out = append(out, "Loki's max_chunk_age is unknown, so batches are not bounded by the out-of-order window")
		}
	}
	if r.copiesTraces() {
		slack := r.cfg.TempoLimits.IngestionTimeRangeSlack
		if slack > 0 && r.cfg.Now().Sub(rng.From) > slack {
			out = append(out, fmt.Sprintf("Tempo's ingestion_time_range_slack is %s: Tempo stores older spans but clamps their block's time range to the ingestion time, so a TraceQL search by their own time does not find them (lookups by trace ID do); raise it above the backfill's age for the backfill", slack))
		}
	}
	return out
}
