package joblot

import (
	"fmt"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
	"log/slog"
	"time"
)

// Server defaults, used when a ServerConfig field is zero.
const (
	DefaultConcurrency = 50
	// DefaultFetchChunk is the most jobs one fetch round trip claims.
	DefaultFetchChunk = 200
	// DefaultAckChunk is the most results one ack round trip records.
	DefaultAckChunk = 500
	// DefaultShutdownTimeout is how long Stop lets running jobs finish
	// (Sidekiq's default is 25 s too).
	DefaultShutdownTimeout = 25 * time.Second
	// DefaultHeartbeatInterval and DefaultProcessTTL: a process that has not
	// heartbeat for the TTL is dead, and its jobs are recovered at the next
	// recoverer pass (every DefaultRecoverInterval): about 16 s in all. The
	// intervals keep an idle process under 5 Redis calls a second.
	DefaultHeartbeatInterval = 3 * time.Second
	DefaultProcessTTL        = 12 * time.Second
	DefaultRecoverInterval   = 4 * time.Second
	// DefaultPollInterval is how often due scheduled and retry jobs move to
	// their queues: a scheduled job starts up to this late.
	DefaultPollInterval = 2 * time.Second
	// DefaultForwardInterval is how often leftover batch callbacks are
	// forwarded and uncommitted batches expired.
	// Callbacks are forwarded when they fire; this only sweeps what a crash
	// left behind.
	DefaultForwardInterval = 15 * time.Second
	// DefaultTrimInterval is how often dead-set caps are enforced.
	DefaultTrimInterval = time.Minute
	// DefaultIdleFetchInterval caps the back-off of an idle fetcher, which
	// bounds both idle Redis calls and the pickup delay after idleness, on
	// a backend that cannot wake it (see backend.Waiter).
	DefaultIdleFetchInterval = time.Second
	// DefaultIdleWaitTimeout is how long an idle fetcher waits to be woken
	// on a backend that wakes it (backend.Waiter: Redis, the embedded file)
	// before it fetches anyway, in case a wake-up was lost.
	DefaultIdleWaitTimeout = 10 * time.Second
	// DefaultMaxLingering caps the goroutines of abandoned attempts (see
	// ServerConfig.MaxLingering).
	DefaultMaxLingering = 100
	// hintedFetchShare: on a backend that group-commits its writes, a held
	// job waits for about three commits between its claim and its durable
	// ack, so each commit carries about a third of the jobs held; the
	// default FetchChunk lets one fetch claim that share.
	hintedFetchShare = 3
	// DefaultCancelCacheTTL is how long the server trusts what it knows
	// about a batch being cancelled.
	DefaultCancelCacheTTL = time.Second
)

// ServerConfig configures a Server. Zero fields take the defaults above.
type ServerConfig struct {
	// Workers registered with AddWorker. Required.
	Workers *Workers
	// Queues maps queue names to weights (default {"default": 1}). Each
	// fetch tries the queues in an order drawn at random by weight, or in
	// descending weight when StrictPriority is set.
	Queues         map[string]int
	StrictPriority bool
	// Concurrency is the number of jobs run at once (default 50).
	Concurrency int
	// Prefetch is how many jobs beyond free slots a process may hold. It
	// hides the fetch round trip and lets one fetch claim many jobs; but
	// a prefetched job waits for a slot in this process while others may
	// be idle. Set, it is fixed. By default it follows the completion
	// rate: about what the process completes in 2 ms, at least
	// Concurrency/10 (and 1), at most 8 × Concurrency, so fast jobs come
	// in big chunks while slow ones are not hoarded (a process whose jobs
	// slow down fetches nothing beyond its free slots until it holds no
	// more than the new rate needs). On a backend that group-commits its
	// writes (backend.InFlightHinter: the embedded store), where every
	// claim and every ack waits for a shared fsync, it holds what the
	// process completes in 15 ms instead, at most enough for Concurrency
	// + Prefetch to reach the backend's hint; and FetchChunk defaults to
	// a third of that hint (at least DefaultFetchChunk), the share of the
	// held jobs one commit carries.
	Prefetch int
	// prefetchWindow is how long, at the completion rate, the adaptive
	// prefetch lasts (see Prefetch).
	prefetchWindow time.Duration
	// prefetchFloor is the least prefetch the server holds: Prefetch when
	// fixed, less when the prefetch follows the rate (prefetchTuner).
	prefetchFloor int
	// QueueLimits sets global limits per queue (see QueueLimits). Start
	// writes them to the store, where every server's fetch enforces them,
	// so the latest server to start wins; a queue not listed keeps what
	// the store holds, and a zero QueueLimits removes a queue's limits.
	// Default nil: the store's limits stay as they are.
	QueueLimits map[string]QueueLimits
	// FetchChunk and AckChunk bound the jobs per round trip.
	FetchChunk int
	AckChunk   int
	// Middleware wraps every job, first outermost.
	Middleware []Middleware
	// JobTimeout bounds an attempt unless the job or its worker sets one;
	// 0 means no timeout. At its timeout the job's context is cancelled;
	// a job still running half a second later fails with ErrJobTimeout
	// (retried per policy) and its worker slot goes to another job, while
	// its goroutine lingers until the job returns (see MaxLingering).
	JobTimeout time.Duration
	// MaxLingering caps the goroutines of timed-out attempts that still
	// run because their jobs ignore their context (default
	// DefaultMaxLingering). Each keeps what its job holds (memory,
	// connections). Once that many linger, the server stops fetching until
	// some return, and a further timed-out attempt keeps its slot until a
	// lingering one or its own job returns. The count is reported by
	// Server.Lingering and to an Observer that implements LingerObserver.
	MaxLingering int
	// MaxRetries is the retry budget of kinds that set none (default
	// DefaultMaxRetries; NoRetries for none).
	MaxRetries int
	// RetryPolicy is the default backoff (default SidekiqBackoff).
	RetryPolicy RetryPolicy
	// ShutdownTimeout bounds Run's graceful stop (default 25 s): running
	// jobs then have their context cancelled and go back to their queues;
	// see Server.Stop for jobs that ignore it.
	ShutdownTimeout time.Duration
	// MaxErrorBytes truncates stored error messages (default 1 KiB).
	MaxErrorBytes int
	// Backtraces stores the compressed stack of panicking jobs.
	Backtraces bool
	// MaxOutputBytes bounds the JSON a job records with SetOutput
	// (default DefaultMaxOutputBytes): more is refused with
	// ErrOutputTooLarge.
	MaxOutputBytes int
	// ProgressInterval is the least time between two progress writes of
	// one job (default DefaultProgressInterval): SetProgress calls in
	// between only keep the latest value, written at the end of the
	// interval or with the attempt's ack.
	ProgressInterval time.Duration
	// Intervals of the background duties; see the defaults.
	HeartbeatInterval time.Duration
	ProcessTTL        time.Duration
	RecoverInterval   time.Duration
	PollInterval      time.Duration
	ForwardInterval   time.Duration
	TrimInterval      time.Duration
	IdleFetchInterval time.Duration
	IdleWaitTimeout   time.Duration
	// MemoryBudget is the store memory (bytes) above which the server stops
	// storing optional data (backtraces, long error messages) so the store
	// reaches its limit later; 0 uses MemoryBudgetRatio of the store's
	// limit (Redis maxmemory). Above MemoryWarnRatio of the budget it logs
	// a warning. Only for backends that implement backend.MemoryReporter.
	MemoryBudget      int64
	MemoryBudgetRatio float64 // default 0.9
	MemoryWarnRatio   float64 // default 0.8
	// OnMemoryLevel, if set, is told every change of the watchdog's level
	// (0 ok, 1 warning, 2 critical), e.g. metrics.Collector.SetMemoryLevel.
	OnMemoryLevel func(level int)
	// Observer, if set, is told the outcome of every job (metrics use it).
	Observer JobObserver
	// Client is used for adds from inside batch jobs; default a client on
	// the same backend with default settings.
	Client *Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Periodic are jobs enqueued on a schedule (see PeriodicJob): names
	// must be unique and schedules valid, or NewServer fails with an error
	// wrapping ErrBadPeriodic. Default none.
	Periodic []PeriodicJob
	// PeriodicInterval is how often the server holding the periodic lease
	// looks for due instants (default DefaultPeriodicInterval): a periodic
	// job is enqueued up to this late. The lease lasts 3 intervals, and an
	// instant counts as missed (PeriodicJob.Missed) once it is more than 4
	// intervals old unenqueued.
	PeriodicInterval time.Duration
	// Now is the clock every time-dependent decision of the server reads:
	// when a retry is due, FailedAt and DiedAt, the background duties' now
	// (moving due jobs, recovering expired processes, expiring batches,
	// trimming the dead set), the process's StartedAt and its self-fencing.
	// It defaults to time.Now; tests and simulations set it, and then give
	// the backend (redis.Options.Now, bolt.Options.Now) and any Client the
	// same clock, since process leases are written on the backend's clock
	// and judged on the server's. Loop pacing, job timeouts and measured
	// durations stay on the wall clock. The default Client gets this clock.
	Now func() time.Time
}

// withBackendDefaults sets the defaults that depend on the backend, before
// withDefaults sets the rest.
func (c ServerConfig) withBackendDefaults(b backend.Backend) ServerConfig {
	h, ok := b.(backend.InFlightHinter)
	if !ok || c.Prefetch != 0 && c.FetchChunk != 0 {
		return c
	}
	hint := h.InFlightHint()
	if c.FetchChunk == 0 {
		c.FetchChunk = max(DefaultFetchChunk, hint/hintedFetchShare)
	}
	if c.Prefetch == 0 {
		conc := c.Concurrency
		if conc <= 0 {
			conc = DefaultConcurrency
		}
		c.prefetchFloor = max(1, conc/10)
		c.Prefetch = max(c.prefetchFloor, hint-conc)
		c.prefetchWindow = hintedPrefetchWindow
	}
	return c
}

func (c ServerConfig) withDefaults() (ServerConfig, error) {
	if c.Workers == nil {
		return c, fmt.Errorf("joblot: ServerConfig.Workers is nil")
	}
	if len(c.Queues) == 0 {
		c.Queues = map[string]int{DefaultQueue: 1}
	}
	for q, w := range c.Queues {
		if w <= 0 {
			return c, fmt.Errorf("joblot: queue %q has weight %d; weights must be positive", q, w)
		}
	}
	if err := validateLimits(c.QueueLimits); err != nil {
		return c, err
	}
	setDefault(&c.Concurrency, DefaultConcurrency)
	if c.Prefetch < 0 {
		return c, fmt.Errorf("joblot: Prefetch is %d; it must not be negative", c.Prefetch)
	}
	if c.Prefetch == 0 {
		c.prefetchFloor = max(1, c.Concurrency/10)
		c.Prefetch = max(c.prefetchFloor, maxAdaptivePrefetchPerSlot*c.Concurrency)
	}
	setDefault(&c.prefetchFloor, c.Prefetch)
	setDefault(&c.prefetchWindow, prefetchWindow)
	setDefault(&c.FetchChunk, DefaultFetchChunk)
	setDefault(&c.AckChunk, DefaultAckChunk)
	setDefault(&c.MaxRetries, DefaultMaxRetries)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.MaxErrorBytes, DefaultMaxErrorBytes)
	setDefault(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	setDefault(&c.ProcessTTL, DefaultProcessTTL)
	setDefault(&c.RecoverInterval, DefaultRecoverInterval)
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.ForwardInterval, DefaultForwardInterval)
	setDefault(&c.TrimInterval, DefaultTrimInterval)
	setDefault(&c.IdleFetchInterval, DefaultIdleFetchInterval)
	setDefault(&c.IdleWaitTimeout, DefaultIdleWaitTimeout)
	setDefault(&c.MaxLingering, DefaultMaxLingering)
	setDefault(&c.PeriodicInterval, DefaultPeriodicInterval)
	if c.PeriodicInterval < 0 {
		return c, fmt.Errorf("joblot: PeriodicInterval is %v; it must be positive", c.PeriodicInterval)
	}
	if c.MaxLingering < 0 {
		return c, fmt.Errorf("joblot: MaxLingering is %d; it must be positive", c.MaxLingering)
	}
	if c.RetryPolicy == nil {
		c.RetryPolicy = SidekiqBackoff{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Now = clock.Or(c.Now)
	if c.ProcessTTL <= c.HeartbeatInterval {
		return c, fmt.Errorf("joblot: ProcessTTL (%v) must exceed HeartbeatInterval (%v)", c.ProcessTTL, c.HeartbeatInterval)
	}
	return c, nil
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// JobObserver is told the outcome of every job run by a server, from the
// worker goroutine that ran it (or, for a job abandoned past its timeout or
// the shutdown deadline, from the goroutine that abandoned it): it must be
// fast and must not block.
type JobObserver interface {
	JobDone(kind, queue string, outcome backend.Outcome, duration time.Duration)
}
