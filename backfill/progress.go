package backfill

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Progress reports how far the backfill is. On a terminal it redraws a
// block of lines in place, one per unit in progress and one overall, with
// rates and an ETA. Elsewhere it logs one line every interval.
type Progress struct {
	mu       sync.Mutex
	out      io.Writer
	terminal bool
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	start       time.Time
	units       int
	done        int
	doneAtStart int
	workers     map[Kind]*workerProgress
	run         Counts
	// drawn is the number of lines of the block on the terminal now.
	drawn int
}

// workerProgress is the unit a worker is on.
type workerProgress struct {
	unit      Unit
	pos       time.Time
	startedAt time.Time
	run       Counts
}

// DefaultProgressInterval is how often a progress line is logged when the
// output is not a terminal.
const DefaultProgressInterval = 10 * time.Second

// NewProgress returns a reporter writing to out, redrawn in place when
// terminal is true. With terminal false it logs to log every interval
// (DefaultProgressInterval when 0).
func NewProgress(out io.Writer, terminal bool, interval time.Duration, log *slog.Logger) *Progress {
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Progress{out: out, terminal: terminal, interval: interval, log: log, now: time.Now, workers: map[Kind]*workerProgress{}}
}

// LogWriter returns a writer for log output that shares the terminal with
// the progress block: it clears the block, writes the log lines, and draws
// the block again below them.
func (p *Progress) LogWriter() io.Writer { return progressLogWriter{p} }

type progressLogWriter struct{ p *Progress }

func (w progressLogWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal {
		return p.out.Write(b)
	}
	p.clearLocked()
	n, err := p.out.Write(b)
	p.drawLocked()
	return n, err
}

// begin sets the shard's unit totals at the start of a run.
func (p *Progress) begin(units, done int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.units, p.done, p.doneAtStart = p.now(), units, done, done
}

func (p *Progress) startUnit(u Unit, pos time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.workers[u.Kind] = &workerProgress{unit: u, pos: pos, startedAt: p.now()}
}

// advance records a worker's position in its unit and what it copied
// since the last call.
func (p *Progress) advance(kind Kind, pos time.Time, delta Counts) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.run.Add(delta)
	if w := p.workers[kind]; w != nil {
		w.pos = pos
		w.run.Add(delta)
	}
}

func (p *Progress) finishUnit(kind Kind) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.workers, kind)
	p.done++
}

// runCounts returns what this run copied so far.
func (p *Progress) runCounts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run.clone()
}

// loop reports until ctx ends, then draws the final state.
func (p *Progress) loop(ctx context.Context) {
	if p == nil {
		return
	}
	every := p.interval
	if p.terminal {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.finish()
			return
		case <-t.C:
			p.report()
		}
	}
}

func (p *Progress) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		p.clearLocked()
		p.drawLocked()
		return
	}
	fraction, eta := p.estimateLocked()
	args := []any{
		"units_done", p.done, "units", p.units, "percent", fmt.Sprintf("%.1f", 100*fraction),
		"documents", p.run.Documents, "entries", p.run.Entries, "spans", p.run.Spans,
		"docs_per_second", p.rateLocked(p.run.Documents), "spans_per_second", p.rateLocked(p.run.Spans),
	}
	if eta > 0 {
		args = append(args, "eta", eta.Round(time.Second).String())
	}
	for _, kind := range []Kind{KindLogs, KindTraces} {
		if w := p.workers[kind]; w != nil {
			args = append(args, string(kind)+"_unit", w.unit.String())
		}
	}
	p.log.Info("backfill progress", args...)
}

// finish draws the block one last time and leaves it on the terminal.
func (p *Progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		p.clearLocked()
		p.drawLocked()
		p.drawn = 0
	}
}

func (p *Progress) clearLocked() {
	if p.drawn == 0 {
		return
	}
	fmt.Fprintf(p.out, "\x1b[%dA", p.drawn)
	for range p.drawn {
		fmt.Fprint(p.out, "\r\x1b[2K\n")
	}
	fmt.Fprintf(p.out, "\x1b[%dA", p.drawn)
	p.drawn = 0
}

func (p *Progress) drawLocked() {
	if p.start.IsZero() {
		return
	}
	lines := p.linesLocked()
	for _, l := range lines {
		fmt.Fprintf(p.out, "\r\x1b[2K%s\n", l)
	}
	p.drawn = len(lines)
}

func (p *Progress) linesLocked() []string {
	var lines []string
	now := p.now()
	for _, kind := range []Kind{KindLogs, KindTraces} {
		w := p.workers[kind]
		if w == nil {
			continue
		}
		elapsed := now.Sub(w.startedAt).Seconds()
		line := fmt.Sprintf("  %-6s %s  %3.0f%%", kind, w.unit.Name+" "+w.unit.From.UTC().Format("2006-01-02T15:04Z"), 100*unitFraction(w.unit, w.pos))
		if kind == KindLogs {
			line += fmt.Sprintf("  %d docs  %s/s", w.run.Documents, perSecond(w.run.Documents, elapsed))
		} else {
			line += fmt.Sprintf("  %d traces  %s spans/s", w.run.Traces, perSecond(w.run.Spans, elapsed))
		}
		lines = append(lines, line)
	}
	fraction, eta := p.estimateLocked()
	overall := fmt.Sprintf("backfill %d/%d units  %.1f%%  %d docs (%s/s)  %d spans (%s/s)",
		p.done, p.units, 100*fraction, p.run.Documents, p.rateLocked(p.run.Documents), p.run.Spans, p.rateLocked(p.run.Spans))
	if eta > 0 {
		overall += "  ETA " + eta.Round(time.Second).String()
	}
	return append(lines, overall)
}

// estimateLocked returns the share of the shard's units done, counting
// the part of each unit in progress, and the time left at this run's pace.
func (p *Progress) estimateLocked() (float64, time.Duration) {
	if p.units == 0 {
		return 1, 0
	}
	partial := 0.0
	for _, w := range p.workers {
		partial += unitFraction(w.unit, w.pos)
	}
	fraction := (float64(p.done) + partial) / float64(p.units)
	gained := fraction - float64(p.doneAtStart)/float64(p.units)
	elapsed := p.now().Sub(p.start)
	if gained <= 0 || elapsed <= 0 {
		return fraction, 0
	}
	return fraction, time.Duration(float64(elapsed) * (1 - fraction) / gained)
}

func (p *Progress) rateLocked(n int64) string {
	return perSecond(n, p.now().Sub(p.start).Seconds())
}

// unitFraction is how far pos is through the unit's slice.
func unitFraction(u Unit, pos time.Time) float64 {
	span := u.To.Sub(u.From)
	if span <= 0 || pos.IsZero() {
		return 0
	}
	return min(max(float64(pos.Sub(u.From))/float64(span), 0), 1)
}

func perSecond(n int64, seconds float64) string {
	if seconds <= 0 {
		return "0"
	}
	rate := float64(n) / seconds
	switch {
	case rate >= 1e6:
		return fmt.Sprintf("%.1fM", rate/1e6)
	case rate >= 1e3:
		return fmt.Sprintf("%.1fk", rate/1e3)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", rate), ".0")
}
