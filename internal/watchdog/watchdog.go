// Package watchdog is the server's memory watchdog. It watches the store's
// memory against a budget (bytes, or a share of the store's limit, Redis
// maxmemory) and raises a level: Warning above a share of the budget, where
// it only logs (and the metrics show it), and Critical above the budget,
// where the server stops storing optional data (backtraces, error samples)
// so that the store reaches its limit later, and enqueue starts failing
// with backend.ErrStoreFull later, than it otherwise would.
//
// Levels have a small hysteresis (a level is left only once memory is
// below its threshold by 2% of the budget) so that memory hovering at a
// threshold does not flip optional data on and off at every check.
package watchdog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
)

// Defaults used when a Config field is zero.
const (
	DefaultBudgetRatio = 0.9
	DefaultWarnRatio   = 0.8
	DefaultInterval    = 5 * time.Second
)

// hysteresis is the share of the budget by which memory must fall below a
// level's threshold to leave that level.
const hysteresis = 0.02

// Level is how close the store is to its memory budget.
type Level int

const (
	// OK: below the warning level.
	OK Level = iota
	// Warning: above WarnRatio of the budget. The watchdog logs it; the
	// server keeps storing everything.
	Warning
	// Critical: above the budget. The server stops storing optional data
	// (backtraces, error samples) until memory falls back.
	Critical
)

// String names the level.
func (l Level) String() string {
	switch l {
	case OK:
		return "ok"
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "unknown"
}

// Config configures a Watchdog. Zero fields take the defaults.
type Config struct {
	// Budget is the memory budget in bytes. 0 means BudgetRatio of the
	// limit the store reports (MemoryInfo.Limit), read at every check.
	Budget int64
	// BudgetRatio is the budget as a share of the store's limit when
	// Budget is 0 (default 0.9): Critical comes before the store refuses
	// writes.
	BudgetRatio float64
	// WarnRatio is the warning level as a share of the budget (default 0.8).
	WarnRatio float64
	// Interval is how often Run checks (default 5 s).
	Interval time.Duration
	// OnChange, if set, is called with the new level after every change
	// (the server publishes it as a metric). It must not block.
	OnChange func(Level)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Watchdog tracks the store's memory level. Its methods are safe for
// concurrent use; Level and AllowOptionalData are cheap (one atomic load)
// and meant for the job hot path.
type Watchdog struct {
	r   backend.MemoryReporter
	cfg Config
	log *slog.Logger

	level atomic.Int32

	mu       sync.Mutex // serialises checks; guards the fields below
	saidNoop bool       // "nothing to watch" was logged
	failing  bool       // the last check failed (logged once per streak)
}

// New returns a watchdog over r's memory. r may be nil (the backend reports
// no memory): the watchdog then stays OK.
func New(r backend.MemoryReporter, cfg Config) *Watchdog {
	if cfg.BudgetRatio <= 0 {
		cfg.BudgetRatio = DefaultBudgetRatio
	}
	if cfg.WarnRatio <= 0 || cfg.WarnRatio > 1 {
		cfg.WarnRatio = DefaultWarnRatio
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Watchdog{r: r, cfg: cfg, log: cfg.Logger}
}

// Level returns the level of the last check (OK before the first).
func (w *Watchdog) Level() Level { return Level(w.level.Load()) }

// AllowOptionalData reports whether the server may store optional data
// (backtraces, error samples): false at Critical.
func (w *Watchdog) AllowOptionalData() bool { return w.Level() != Critical }

// Run checks at once and then every Interval until ctx is done. Failed
// checks are logged (once until a check succeeds again) and keep the level.
func (w *Watchdog) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		w.Check(ctx) // errors are logged by Check
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check reads the store's memory once, sets the level and logs a change of
// level: Warn on reaching Warning, Error on reaching Critical, Info on
// recovery, each saying what the server does about it. On error the level
// is unchanged.
func (w *Watchdog) Check(ctx context.Context) (Level, backend.MemoryInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.r == nil {
		w.noop("the backend does not report its memory")
		return w.Level(), backend.MemoryInfo{}, nil
	}
	info, err := w.r.Memory(ctx)
	if err != nil {
		if !w.failing && ctx.Err() == nil {
			w.log.Warn("memory watchdog: cannot read the store's memory; keeping the current level",
				"level", w.Level().String(), "err", err)
		}
		w.failing = true
		return w.Level(), info, err
	}
	if w.failing {
		w.log.Info("memory watchdog: reading the store's memory again")
		w.failing = false
	}
	budget := w.budget(info)
	if budget <= 0 {
		w.noop("no memory budget is configured and the store reports no limit (maxmemory)")
		w.set(OK, info, 0)
		return OK, info, nil
	}
	w.saidNoop = false
	next := w.levelFor(info.Used, budget)
	w.set(next, info, budget)
	return next, info, nil
}

// noop logs once that there is nothing to watch.
func (w *Watchdog) noop(why string) {
	if w.saidNoop {
		return
	}
	w.saidNoop = true
	w.log.Debug("memory watchdog: " + why + "; the level stays ok and all data is stored")
}

func (w *Watchdog) budget(info backend.MemoryInfo) int64 {
	if w.cfg.Budget > 0 {
		return w.cfg.Budget
	}
	return int64(w.cfg.BudgetRatio * float64(info.Limit))
}

// levelFor is the level for used bytes against budget, given the current
// level (hysteresis: a level is left only below its threshold minus a
// margin).
func (w *Watchdog) levelFor(used, budget int64) Level {
	warnAt := w.cfg.WarnRatio * float64(budget)
	critAt := float64(budget)
	margin := hysteresis * float64(budget)
	u := float64(used)
	cur := w.Level()
	switch {
	case u >= critAt, cur == Critical && u >= critAt-margin:
		return Critical
	case u >= warnAt, cur >= Warning && u >= warnAt-margin:
		return Warning
	}
	return OK
}

// set stores the level and logs and reports a change.
func (w *Watchdog) set(next Level, info backend.MemoryInfo, budget int64) {
	prev := Level(w.level.Swap(int32(next)))
	if prev == next {
		return
	}
	attrs := []any{
		"level", next.String(), "previous", prev.String(),
		"used_bytes", info.Used, "budget_bytes", budget,
		"warn_bytes", int64(w.cfg.WarnRatio * float64(budget)),
		"limit_bytes", info.Limit,
	}
	switch {
	case next == Critical:
		w.log.Error("memory watchdog: store memory is above the budget; no longer storing optional data "+
			"(backtraces, error samples) until it falls back. Free memory (joblot memory, joblot cleanup) or raise the limit: "+
			"at the store's limit enqueue fails", attrs...)
	case next == Warning && prev == OK:
		w.log.Warn("memory watchdog: store memory is above the warning level; still storing all data, "+
			"optional data (backtraces, error samples) stops at the budget", attrs...)
	case next == Warning:
		w.log.Warn("memory watchdog: store memory is back below the budget; storing optional data again, "+
			"still above the warning level", attrs...)
	default:
		w.log.Info("memory watchdog: store memory is back below the warning level; storing all data", attrs...)
	}
	if w.cfg.OnChange != nil {
		w.cfg.OnChange(next)
	}
}
