package joblot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/watchdog"
)

// Server fetches jobs from its queues and runs them with its workers.
//
// Its pipeline is fetchers → workers → ackers: a fetcher claims at most as
// many jobs as there are free worker slots plus a small prefetch, in one
// round trip; workers run them; ackers record the results of many jobs per
// round trip. In-flight jobs belong to this process, which heartbeats; if
// it dies, a live process recovers them. Background duties (moving due
// scheduled and retry jobs, recovering dead processes' jobs, forwarding
// batch callbacks, trimming the dead set) run under a lease, so one process
// does each at a time however many run.
type Server struct {
	cfg     ServerConfig
	backend backend.Backend
	// waiter is backend as a backend.Waiter, nil if it cannot wake an
	// idle fetcher (then the fetcher polls).
	waiter backend.Waiter
	client *Client
	logger *slog.Logger

	// procID is the identity in-flight jobs are recorded under. It changes
	// when the process is fenced and re-registers.
	procMu sync.RWMutex
	procID string

	slots  *slots
	found  *wakeup // the leading fetcher found jobs: idle followers resume
	jobs   chan claimed
	acks   chan ack
	queues queueOrder
	cancel *cancelCache
	// jobCancels are cancel requests for jobs not running when they came.
	jobCancels jobCancels

	started   atomic.Bool
	draining  atomic.Bool // stop fetching; requeue jobs not yet started
	fenced    atomic.Bool // lease lost: stop fetching until re-registered
	stopped   atomic.Bool // Stop has returned
	inFlight  atomic.Int64
	startedAt time.Time

	// quiet: fetch no more (Quiet); quietCh is closed when it is set, to
	// wake the duties loop into giving its lease up.
	quiet   atomic.Bool
	quietCh chan struct{}
	// fetchGate: each fetch call holds it shared, Quiet exclusively once,
	// to wait for a fetch under way.
	fetchGate sync.RWMutex
	// noQuietRequests: the store cannot carry quiet requests (a remote
	// owner whose backend has none), so the heartbeat stops asking.
	noQuietRequests atomic.Bool
	// pulse is the heartbeat loop's last turn and beatOK whether that
	// beat reached the store: Health reads them.
	pulse  atomic.Int64 // unix ns on cfg.Now
	beatOK atomic.Bool

	fetchCtx  context.Context // cancelled when draining starts
	stopFetch context.CancelFunc
	// idleCtx ends the fetchers' waits: cancelled with fetchCtx, or by
	// Quiet. Quiet does not cancel a fetch under way: a cancelled call
	// may still claim jobs in the store after it returned, and those
	// would sit in flight under a process that lives on.
	idleCtx     context.Context
	stopIdle    context.CancelFunc
	hardCtx     context.Context // cancelled at the shutdown deadline: job contexts derive from it
	hardStop    context.CancelFunc
	serviceCtx  context.Context // heartbeat, duties
	stopService context.CancelFunc

	fetchers, workers, ackers, services sync.WaitGroup

	// workerSet holds the worker goroutines, for Stop to find the jobs
	// still running at the shutdown deadline.
	workerMu  sync.Mutex
	workerSet map[*worker]struct{}
	// lingering counts goroutines of abandoned attempts still running.
	lingering *lingerers

	// watchdog is nil when the backend cannot report its memory.
	watchdog *watchdog.Watchdog

	hooks testHooks
}

// testHooks let tests wait on events instead of sleeping. All optional.
type testHooks struct {
	acked     func(proc string, results []backend.Result)
	dutiesRan func()
	// beat: the heartbeat loop turned; err is the beat's (nil when it
	// reached the store).
	beat func(err error)
	// lingerFull: a timed-out attempt waits for a lingering place.
	lingerFull func()
	// fetchGated: a fetcher stops because MaxLingering goroutines linger.
	fetchGated func(leader bool)
	// cancelHeard: a cancel request arrived; found says a worker ran it.
	cancelHeard func(queue, id string, found bool)
}

// NewServer returns a server for b. Call Start, or Run.
func NewServer(b backend.Backend, cfg ServerConfig) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client := cfg.Client
	if client == nil {
		client = NewClient(b, ClientConfig{Logger: cfg.Logger, Now: cfg.Now})
	}
	s := &Server{
		cfg:     cfg,
		backend: b,
		client:  client,
		logger:  cfg.Logger,
		procID:  newProcessID(),
		slots:   newSlots(cfg.Concurrency + cfg.Prefetch),
		found:   newWakeup(),
		jobs:    make(chan claimed, cfg.Concurrency+cfg.Prefetch),
		acks:    make(chan ack, cfg.AckChunk*2),
		queues:  newQueueOrder(cfg.Queues, cfg.StrictPriority),
		cancel:  newCancelCache(DefaultCancelCacheTTL),
		quietCh: make(chan struct{}),

		workerSet: map[*worker]struct{}{},
	}
	// Made here, not in Start, so that Quiet may come first.
	s.fetchCtx, s.stopFetch = context.WithCancel(context.Background())
	s.idleCtx, s.stopIdle = context.WithCancel(s.fetchCtx)
	s.hardCtx, s.hardStop = context.WithCancel(context.Background())
	s.serviceCtx, s.stopService = context.WithCancel(context.Background())
	var notify func(int)
	if lo, ok := cfg.Observer.(LingerObserver); ok {
		notify = lo.JobsLingering
	}
	s.lingering = newLingerers(cfg.MaxLingering, notify)
	s.waiter, _ = b.(backend.Waiter)
	if mr, ok := b.(backend.MemoryReporter); ok {
		s.watchdog = watchdog.New(mr, watchdog.Config{
			Budget:      cfg.MemoryBudget,
			BudgetRatio: cfg.MemoryBudgetRatio,
			WarnRatio:   cfg.MemoryWarnRatio,
			Logger:      cfg.Logger,
			OnChange: func(l watchdog.Level) {
				if cfg.OnMemoryLevel != nil {
					cfg.OnMemoryLevel(int(l))
				}
			},
		})
	}
	return s, nil
}

// ProcessID returns the identity the server's in-flight jobs are recorded
// under.
func (s *Server) ProcessID() string {
	s.procMu.RLock()
	defer s.procMu.RUnlock()
	return s.procID
}

// Lingering returns how many goroutines of abandoned attempts (jobs that
// ignored their context past their timeout or the shutdown deadline) are
// still running in this process.
func (s *Server) Lingering() int { return s.lingering.count() }

// Start registers the process and starts fetching; it returns at once. ctx
// bounds only the registration.
func (s *Server) Start(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("joblot: server already started")
	}
	s.startedAt = s.cfg.Now()
	if err := writeLimits(ctx, s.backend, s.cfg.QueueLimits); err != nil {
		s.started.Store(false)
		return err
	}
	if err := s.backend.Heartbeat(ctx, s.processInfo(), s.cfg.ProcessTTL); err != nil {
		s.started.Store(false)
		return fmt.Errorf("joblot: register process: %w", err)
	}
	s.beatOK.Store(true)
	s.pulse.Store(s.startedAt.UnixNano())

	if cl, ok := s.backend.(backend.CancelListener); ok {
		// Before the fetchers: listening starts before any job does.
		s.services.Add(1)
		go s.listenCancels(cl)
	}
	const fetchers, ackers = 2, 2 // more did not help when measured (BENCHMARKS.md)
	for range ackers {
		s.ackers.Add(1)
		go s.ackLoop()
	}
	for range s.cfg.Concurrency {
		s.workers.Add(1)
		s.startWorker()
	}
	for i := range fetchers {
		s.fetchers.Add(1)
		go s.fetchLoop(i == 0)
	}
	s.services.Add(2)
	go s.heartbeatLoop()
	go s.dutiesLoop()
	if s.watchdog != nil {
		s.services.Add(1)
		go func() { defer s.services.Done(); s.watchdog.Run(s.serviceCtx) }()
	}
	s.logger.Info("joblot server started", "process", s.ProcessID(), "queues", s.cfg.Queues, "concurrency", s.cfg.Concurrency)
	return nil
}

// Stop shuts the server down gracefully: it stops fetching, returns jobs
// not yet started to their queues untouched, and waits for running jobs
// until ctx is done (Run gives ShutdownTimeout). Then it cancels the jobs
// still running and returns them to their queues untouched, without
// counting a recovery; records every result and deregisters.
//
// Stop returns shortly after ctx is done (within half a second) even if a
// job ignores its cancelled context: such a job is returned to its queue
// while its goroutine still runs, and is logged by id, kind and queue. Until
// that goroutine returns (or the program exits) the job may run twice at
// once, here and in the process that fetches it next; a job that honours
// its context, or is idempotent, is safe.
//
// Results are stored in chunks in the background while a server runs, so
// a job's outcome may reach Stats and the job sets a moment after its
// worker returned; once Stop returns, every result is stored. A stopped
// server cannot be started again: make a new one.
func (s *Server) Stop(ctx context.Context) error {
	if !s.started.Load() || s.draining.Swap(true) {
		return nil
	}
	s.stopFetch()
	s.fetchers.Wait()
	close(s.jobs) // workers drain what was prefetched (requeueing it) and exit

	done := make(chan struct{})
	go func() { s.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.logger.Warn("joblot: shutdown deadline reached; cancelling running jobs", "running", s.inFlight.Load())
		s.hardStop()
		grace := time.NewTimer(abandonGrace)
		select {
		case <-done:
		case <-grace.C:
			// Jobs that ignore their context: requeue them without
			// waiting. Their workers are replaced, and the replacements
			// exit at once (the jobs channel is closed).
			if n := s.abandonRunning(); n > 0 {
				s.logger.Warn("joblot: stopped without waiting for jobs that ignored cancellation; they were requeued and may run twice", "jobs", n)
			}
			<-done
		}
		grace.Stop()
	}
	s.hardStop()
	close(s.acks)
	s.ackers.Wait()
	s.stopService()
	s.services.Wait()

	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.backend.Deregister(dctx, s.ProcessID())
	s.stopped.Store(true)
	if err != nil {
		return fmt.Errorf("joblot: deregister: %w", err)
	}
	s.logger.Info("joblot server stopped", "process", s.ProcessID())
	return nil
}

// Run starts the server, runs until ctx is cancelled, then stops
// gracefully within ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	return s.Stop(sctx)
}

func (s *Server) processInfo() backend.ProcessInfo {
	host, _ := os.Hostname()
	queues := make([]string, 0, len(s.cfg.Queues))
	for q := range s.cfg.Queues {
		queues = append(queues, q)
	}
	sort.Strings(queues)
	return backend.ProcessInfo{
		ID:          s.ProcessID(),
		Hostname:    host,
		PID:         os.Getpid(),
		Queues:      queues,
		Concurrency: s.cfg.Concurrency,
		StartedAt:   s.startedAt,
		Quiet:       s.quiet.Load(),
	}
}

// claimed is a fetched job with the identity it was claimed under.
type claimed struct {
	*backend.Fetched
	proc string
}

// ack is a result to record under the identity its job was claimed under:
// the process may have re-registered under a new identity (after fencing)
// between the fetch and the ack, and the job is in the old identity's
// in-flight record.
type ack struct {
	backend.Result
	proc string
}

func newProcessID() string {
	host, _ := os.Hostname()
	if len(host) > 24 {
		host = host[:24]
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), backend.NewJobID()[12:])
}
