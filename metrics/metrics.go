// Package metrics exposes joblot's Prometheus metrics.
//
// A Collector has two sources. Job outcomes and durations come from the
// server that runs the jobs: pass the Collector as ServerConfig.Observer and
// every finished job is counted in this process, in memory. Everything
// derived from the store (queue sizes and latency, store-wide counters,
// processes, batches by state, store memory, bytes per key family) is read
// by a background refresh (Run) and served from memory: a scrape never
// touches storage, however often it comes and however big the store is.
//
// Labels are limited to kind, queue, outcome, set, state and family, so the
// number of series is bounded by the number of kinds and queues an
// application has, and capped (see Options.MaxSeries and MaxQueues). Label
// values that come from stored data (kinds, queue names) are sanitised:
// valid UTF-8, control characters escaped, at most 128 bytes.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

// Defaults used when an Options field is zero.
const (
	// DefaultRefreshInterval is how often store-derived gauges are read.
	DefaultRefreshInterval = 15 * time.Second
	// DefaultFamilyInterval is how often bytes per key family are measured:
	// the measurement scans the whole keyspace, so it runs rarely.
	DefaultFamilyInterval = 5 * time.Minute
	// DefaultMaxSeries bounds the (kind, queue) pairs that get their own
	// job series.
	DefaultMaxSeries = 1000
	// DefaultMaxQueues bounds the queues that get their own store gauges
	// (seven series each).
	DefaultMaxQueues = 200
	// DefaultBatchWindow is how many of the newest batches the
	// batches-by-state gauge looks at on each refresh.
	DefaultBatchWindow = 1000
)

// OverflowLabel replaces kind and queue for jobs whose (kind, queue) pair
// came after Options.MaxSeries others, and the queue of the store gauges of
// queues beyond Options.MaxQueues: it keeps a runaway set of kinds or
// queues from exhausting the metrics server's (and Prometheus's) memory.
const OverflowLabel = "_other"

// Options configure New. Zero fields take the defaults.
type Options struct {
	// Registerer receives the Collector's metrics (default a new
	// prometheus.Registry that also holds the Go runtime and process
	// collectors). Handler serves it if it is also a
	// prometheus.Gatherer (a *prometheus.Registry is), else
	// prometheus.DefaultGatherer.
	Registerer prometheus.Registerer
	// RefreshInterval is how often Run reads store-derived gauges
	// (default 15 s).
	RefreshInterval time.Duration
	// FamilyInterval is how often Run measures bytes per key family with
	// Families (default 5 min). A negative value disables the measurement.
	FamilyInterval time.Duration
	// Families, if set, measures the store's bytes per key family (for
	// Redis, the CLI wires internal/memreport here). It may be slow: it
	// runs on FamilyInterval in its own goroutine, never per scrape and
	// never in the way of the other gauges.
	Families func(ctx context.Context) (map[string]int64, error)
	// BatchWindow is how many of the newest batches joblot_batches counts
	// on each refresh (default 1000; negative: none, and no batch reads).
	// Reading a batch's status costs a few store commands, so the window
	// bounds the refresh's cost.
	BatchWindow int
	// MaxSeries caps the distinct (kind, queue) pairs with their own job
	// series (default 1000); later pairs are counted under OverflowLabel.
	MaxSeries int
	// MaxQueues caps the queues with their own store gauges (default
	// 200); the others are summed under queue OverflowLabel, and
	// joblot_metrics_queues_overflowed says how many there were. Queues
	// keep their series while they exist; free places go to the biggest
	// new queues.
	MaxQueues int
	// DurationBuckets are the job duration histogram's buckets in seconds
	// (default DefaultDurationBuckets).
	DurationBuckets []float64
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock Refresh reads the store's statistics at (queue
	// latency, live processes, today's counters); nil means time.Now.
	// Give it the clock the server and backend use.
	Now func() time.Time
}

// DefaultDurationBuckets span 1 ms to 30 min, which covers most jobs.
var DefaultDurationBuckets = []float64{
	.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800,
}

// Collector holds joblot's metrics. It is safe for concurrent use; JobDone
// is cheap enough for the job hot path.
type Collector struct {
	b        backend.Backend
	opts     Options
	log      *slog.Logger
	gatherer prometheus.Gatherer

	jobs  *jobMetrics
	store *storeMetrics

	lingering prometheus.Gauge // see lingering.go
	limits    *limitMetrics    // see limits.go
}

// New returns a Collector for the store b and registers its metrics with
// opts.Registerer. b may be nil for a Collector that only observes jobs. It panics if registration fails (the same metrics
// registered twice on one Registerer), like prometheus.MustRegister.
func New(b backend.Backend, opts Options) *Collector {
	if opts.Registerer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts.Registerer = reg
	}
	opts.Now = clock.Or(opts.Now)
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.FamilyInterval == 0 {
		opts.FamilyInterval = DefaultFamilyInterval
	}
	if opts.BatchWindow == 0 {
		opts.BatchWindow = DefaultBatchWindow
	}
	if opts.MaxSeries <= 0 {
		opts.MaxSeries = DefaultMaxSeries
	}
	if opts.MaxQueues <= 0 {
		opts.MaxQueues = DefaultMaxQueues
	}
	if len(opts.DurationBuckets) == 0 {
		opts.DurationBuckets = DefaultDurationBuckets
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Collector{
		b:     b,
		opts:  opts,
		log:   opts.Logger,
		jobs:  newJobMetrics(opts.MaxSeries, opts.DurationBuckets),
		store: newStoreMetrics(opts.BatchWindow, opts.MaxQueues),
	}
	c.gatherer = prometheus.DefaultGatherer
	if g, ok := opts.Registerer.(prometheus.Gatherer); ok {
		c.gatherer = g
	}
	opts.Registerer.MustRegister(c.jobs.outcomes, c.jobs.durations, c.store)
	c.lingering = newLingeringGauge()
	opts.Registerer.MustRegister(c.lingering)
	c.limits = &limitMetrics{}
	opts.Registerer.MustRegister(c.limits)
	return c
}

// Handler serves the metrics in the Prometheus exposition format. It reads
// memory only.
func (c *Collector) Handler() http.Handler {
	return promhttp.HandlerFor(c.gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelError),
	})
}

// Run refreshes the store-derived gauges every RefreshInterval and the bytes
// per key family every FamilyInterval, at once and then on their tickers,
// until ctx is done. A failed refresh is logged and counted
// (joblot_metrics_refresh_errors_total); the gauges keep their last values
// and joblot_metrics_last_refresh_timestamp_seconds tells how old they are.
// Run returns nil when ctx is done.
func (c *Collector) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if c.opts.Families != nil && c.opts.FamilyInterval > 0 {
		wg.Go(func() {
			every(ctx, c.opts.FamilyInterval, func() {
				if err := c.RefreshFamilies(ctx); err != nil && ctx.Err() == nil {
					c.log.Warn("metrics: measuring bytes per key family failed", "err", err)
				}
			})
		})
	}
	every(ctx, c.opts.RefreshInterval, func() {
		if err := c.Refresh(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("metrics: refreshing store gauges failed; serving the last values", "err", err)
		}
	})
	wg.Wait()
	return nil
}

// every calls f at once and then every d until ctx is done.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		f()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh reads the store once: Stats, the newest BatchWindow batches and,
// when the backend implements backend.MemoryReporter, its memory. Each part
// that fails keeps its previous values; the errors are joined.
func (c *Collector) Refresh(ctx context.Context) error {
	if c.b == nil {
		return nil
	}
	now := c.opts.Now()
	var errs []error
	stats, err := c.b.Stats(ctx, now)
	if err != nil {
		errs = append(errs, err)
	} else {
		c.store.setStats(stats)
		c.limits.setStats(stats)
	}
	if c.opts.BatchWindow > 0 {
		batches, err := c.batchesByState(ctx, c.opts.BatchWindow)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.store.setBatches(batches)
		}
	}
	if mr, ok := c.b.(backend.MemoryReporter); ok {
		mem, err := mr.Memory(ctx)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.store.setMemory(mem)
		}
	}
	err = errors.Join(errs...)
	c.store.refreshed(now, err)
	return err
}

// batchesByState counts the states of the newest window batches, paging in
// case the backend returns shorter pages than asked.
func (c *Collector) batchesByState(ctx context.Context, window int) (map[backend.BatchState]int64, error) {
	counts := make(map[backend.BatchState]int64)
	seen := make(map[string]bool)
	opts := backend.BatchListOptions{Limit: window}
	for len(seen) < window {
		page, err := c.b.ListBatches(ctx, opts)
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, s := range page {
			if seen[s.ID] || len(seen) == window {
				continue
			}
			seen[s.ID] = true
			counts[s.State]++
			fresh++
			opts.Before = s.CreatedAt
		}
		if fresh == 0 || opts.Before.IsZero() {
			break
		}
		opts.Limit = window - len(seen)
	}
	return counts, nil
}

// RefreshFamilies measures bytes per key family once with Options.Families
// (Run calls it on FamilyInterval). It does nothing without Families.
func (c *Collector) RefreshFamilies(ctx context.Context) error {
	if c.opts.Families == nil {
		return nil
	}
	fam, err := c.opts.Families(ctx)
	if err != nil {
		c.store.familyFailed()
		return err
	}
	c.store.setFamilies(fam)
	return nil
}

// SetMemoryLevel publishes the server's memory watchdog level as
// joblot_memory_level (0 ok, 1 warning, 2 critical). The gauge is absent
// until the first call.
func (c *Collector) SetMemoryLevel(level int) { c.store.setMemoryLevel(level) }
