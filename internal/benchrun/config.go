package benchrun

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/joblot/joblot"
)

// DefaultQueue is the queue bench jobs run on. The bench refuses to start
// when it holds jobs already (left from an interrupted run), because they
// would be counted with this run's.
const DefaultQueue = "bench"

// Config is one bench run.
type Config struct {
	// Jobs is how many jobs to enqueue and process.
	Jobs int64
	// Concurrency is the server's concurrency (default 50).
	Concurrency int
	// Prefetch and FetchChunk, when > 0, replace the server's defaults
	// (joblot.ServerConfig), for measuring how they trade hoarding
	// against round trips.
	Prefetch, FetchChunk int
	// PayloadBytes pads each job's args to at least this many bytes.
	PayloadBytes int
	// FailRate is the fraction of jobs (chosen by job number) that fail on
	// every attempt.
	FailRate float64
	// ErrorShapes is how many distinct failure shapes (error messages that
	// error grouping keeps apart) the failing jobs' errors are drawn from,
	// each failure picking one by job number and attempt (default 1: one
	// message, so every failure lands in one error group).
	ErrorShapes int
	// MaxRetries is the failing jobs' retry budget in joblot's terms: 0 is
	// the default (25), joblot.NoRetries none. See RetriesFromFlag.
	MaxRetries int
	// RetryDelay, when > 0, replaces Sidekiq's backoff with a constant
	// delay so that runs with retries finish.
	RetryDelay time.Duration
	// BatchSize puts the jobs in batches of this many, with complete,
	// success and death callbacks; 0 means no batches.
	BatchSize int64
	// StopWhenRetrying ends the run once every failing job sits in the
	// retry set (or died), instead of waiting for the retries.
	StopWhenRetrying bool
	// Unique makes every job unique by its args (all distinct, so every
	// one is stored and holds a lock until it succeeds): it measures what
	// the locks cost. Not with BatchSize.
	Unique bool
	// Cleanup deletes the run's batch state and the jobs it left in the
	// retry and dead sets at the end.
	Cleanup bool
	// Enqueuers is how many goroutines enqueue at once (default 4).
	Enqueuers int
	// Queue is the queue to use (default DefaultQueue).
	Queue string
	// Queues, when > 1, spreads the jobs round-robin over that many queues
	// named Queue-0, Queue-1, …, served with weights 1 to 4 in turn (see
	// QueueWeight); default 1: Queue alone.
	Queues int
	// AllowScheduled lets the run start on a queue that holds scheduled or
	// retrying jobs (bench scale parks them far in the future to measure
	// what a large scheduled set costs); they are not counted as the run's.
	AllowScheduled bool
	// Timeout bounds the processing phase (default 30 min).
	Timeout time.Duration
	// StallTimeout ends the processing phase early when no job has been
	// accounted for this long while nothing is queued, in flight or waiting
	// for a retry: the missing jobs are lost (default 15 s).
	StallTimeout time.Duration
	// Progress, if set, is told how far each phase ("enqueue", "process")
	// has got. It is called from one goroutine.
	Progress func(phase string, done, total int64)
	// Logger is the server's and the bench's logger.
	Logger *slog.Logger
}

// RetriesFromFlag maps the CLI's --retries to joblot's MaxRetries. On the
// command line "--retries 0" means no retries, but in joblot MaxRetries 0
// means "the default" and NoRetries means none; an absent flag means the
// default.
func RetriesFromFlag(given bool, n int) (int, error) {
	switch {
	case !given:
		return 0, nil
	case n < 0:
		return 0, fmt.Errorf("--retries must be >= 0, got %d", n)
	case n == 0:
		return joblot.NoRetries, nil
	default:
		return n, nil
	}
}

func (c Config) withDefaults() (Config, error) {
	if c.Jobs <= 0 {
		return c, errors.New("bench: --jobs must be positive")
	}
	if c.FailRate < 0 || c.FailRate > 1 {
		return c, fmt.Errorf("bench: --fail-rate must be in [0, 1], got %v", c.FailRate)
	}
	if c.ErrorShapes < 0 || c.ErrorShapes > MaxErrorShapes {
		return c, fmt.Errorf("bench: --error-shapes must be in [1, %d], got %d", MaxErrorShapes, c.ErrorShapes)
	}
	if c.ErrorShapes == 0 {
		c.ErrorShapes = 1
	}
	if c.BatchSize < 0 {
		return c, fmt.Errorf("bench: --batch-size must be >= 0, got %d", c.BatchSize)
	}
	if c.Unique && c.BatchSize > 0 {
		return c, errors.New("bench: --unique and --batch-size exclude each other (a batch job cannot be unique)")
	}
	if c.PayloadBytes < 0 {
		return c, fmt.Errorf("bench: --payload-bytes must be >= 0, got %d", c.PayloadBytes)
	}
	if c.Concurrency < 0 {
		return c, fmt.Errorf("bench: --concurrency must be positive, got %d", c.Concurrency)
	}
	if c.Concurrency == 0 {
		c.Concurrency = joblot.DefaultConcurrency
	}
	if c.Enqueuers <= 0 {
		c.Enqueuers = 4
	}
	if c.Queue == "" {
		c.Queue = DefaultQueue
	}
	if c.Queues < 0 {
		return c, fmt.Errorf("bench: queues must be >= 1, got %d", c.Queues)
	}
	if c.Queues == 0 {
		c.Queues = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Minute
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Progress == nil {
		c.Progress = func(string, int64, int64) {}
	}
	return c, nil
}

// batches returns how many batches the run uses.
func (c Config) batches() int64 {
	if c.BatchSize <= 0 {
		return 0
	}
	return (c.Jobs + c.BatchSize - 1) / c.BatchSize
}

// QueueWeight is the weight of the i-th of several bench queues: 1 to 4 in
// turn, so that weighted selection has unequal weights to choose by.
func QueueWeight(i int) int { return i%4 + 1 }

// queueName is the i-th bench queue: Queue itself when there is one.
func (c Config) queueName(i int) string {
	if c.Queues <= 1 {
		return c.Queue
	}
	return fmt.Sprintf("%s-%d", c.Queue, i)
}

// queueOf is the queue job n goes to.
func (c Config) queueOf(n int64) string {
	if c.Queues <= 1 {
		return c.Queue
	}
	return c.queueName(int(n % int64(c.Queues)))
}

// serverQueues is the server's queue weights.
func (c Config) serverQueues() map[string]int {
	qs := make(map[string]int, max(c.Queues, 1))
	for i := range max(c.Queues, 1) {
		qs[c.queueName(i)] = QueueWeight(i)
	}
	return qs
}
