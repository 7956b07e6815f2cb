package joblot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/watchdog"
)

// Server fetches jobs from its queues and runs them with its workers.
//
// Its pipeline is fetchers → workers → ackers: a fetcher claims at most as
// many jobs as there are free worker slots plus a prefetch of about 2 ms of
// work at the process's completion rate (ServerConfig.Prefetch), in one
// round trip; workers run them; ackers record the results of many jobs per
// round trip. In-flight jobs belong to this process, which heartbeats; if
// it dies, a live process recovers them. Background duties (moving due
// scheduled and retry jobs, recovering dead processes' jobs, forwarding
// batch callbacks, trimming the dead set) run under a lease, so one process
// does each at a time however many run.
//
// The Server only wires its components, each in its own file: fetcher
// (fetcher.go), executor (executor*.go, with the slots it shares with the
// fetcher and the cancelled-batch cache), acker
// (acker.go), heartbeater (heartbeater.go), duties runner (duties.go) with
// its duties (mover.go, recoverer.go, forwarder.go, deadtrimmer.go),
// canceller (canceller.go) and the memory watchdog.
type Server struct {
	cfg     ServerConfig
	backend backend.Backend
	logger  *slog.Logger

	lease       *processLease
	fetcher     *fetcher
	executor    *executor
	acker       *acker
	heartbeater *heartbeater
	duties      *duties
	canceller   *canceller         // nil if the backend cannot tell cancels
	periodic    *periodicEnqueuer  // nil without periodic jobs (periodic.go)
	watchdog    *watchdog.Watchdog // nil when the backend cannot report its memory
	stopWatch   context.CancelFunc
	watchDone   chan struct{}

	// inFlight counts the jobs the process holds (running or prefetched):
	// the fetcher adds, the executor subtracts.
	inFlight  atomic.Int64
	started   atomic.Bool
	draining  atomic.Bool // Stop began: the executor requeues jobs not yet started
	stopped   atomic.Bool // Stop has returned
	startedAt time.Time
	// quietCh is closed when the server goes quiet, to wake the heartbeater
	// (to say so) and the duties runner (to give its lease up).
	quietCh chan struct{}
	// remoteStop carries out an operator's stop request (server_stop.go).
	remoteStop *remoteStop
}

// NewServer returns a server for b. Call Start, or Run.
func NewServer(b backend.Backend, cfg ServerConfig) (*Server, error) {
	cfg, err := cfg.withBackendDefaults(b).withDefaults()
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
		logger:  cfg.Logger,
		lease:   newProcessLease(),
		quietCh: make(chan struct{}),
		// An operator's stop request, carried out once.
		remoteStop: newRemoteStop(),
	}
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
	var notify func(int)
	if lo, ok := cfg.Observer.(LingerObserver); ok {
		notify = lo.JobsLingering
	}
	lingering := newLingerers(cfg.MaxLingering, notify)
	capacity := cfg.Concurrency + cfg.Prefetch
	sl := newSlots(capacity)
	batches := newCancelCache(DefaultCancelCacheTTL)

	s.acker = newAcker(b, cfg.Logger, cfg.AckChunk)
	s.executor = newExecutor(executorParams{
		cfg: cfg, client: client, watchdog: s.watchdog, capacity: capacity, acks: s.acker.in,
		slots: sl, inFlight: &s.inFlight, draining: &s.draining, lingering: lingering, batches: batches,
	})
	s.executor.outputs, _ = b.(backend.OutputStore)
	s.fetcher = newFetcher(fetcherParams{
		cfg: cfg, backend: b, lease: s.lease, slots: sl, lingering: lingering, batches: batches,
		inFlight: &s.inFlight, out: s.executor.jobs,
	})
	s.heartbeater = &heartbeater{
		cfg: cfg, backend: b, logger: cfg.Logger, lease: s.lease, inFlight: &s.inFlight,
		info: s.processInfo, quietCh: s.quietCh, isQuiet: s.IsQuiet, quiet: s.Quiet,
		stopServer: s.stopOnRequest,
	}
	s.duties = newDuties(cfg, b, cfg.Logger, s.lease, s.quietCh, s.IsQuiet)
	if s.periodic, err = newPeriodic(cfg); err != nil {
		return nil, err
	}
	if p := s.periodic; p != nil {
		p.backend, p.logger, p.client, p.lease, p.quietCh, p.isQuiet = b, cfg.Logger, client, s.lease, s.quietCh, s.IsQuiet
	}
	if cl, ok := b.(backend.CancelListener); ok {
		s.canceller = &canceller{listener: cl, queues: cfg.Queues, executor: s.executor, logger: cfg.Logger}
	}
	return s, nil
}

// ProcessID returns the identity the server's in-flight jobs are recorded
// under.
func (s *Server) ProcessID() string { return s.lease.ID() }

// Lingering returns how many goroutines of abandoned attempts (jobs that
// ignored their context past their timeout or the shutdown deadline) are
// still running in this process.
func (s *Server) Lingering() int { return s.executor.lingering.count() }

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
	if err := s.heartbeater.register(ctx, s.startedAt); err != nil {
		s.started.Store(false)
		return err
	}
	// Consumers before producers: a component starts once what it hands
	// to runs, and the canceller listens before any job starts.
	if s.canceller != nil {
		s.canceller.start()
	}
	s.acker.start()
	s.executor.start()
	s.fetcher.start()
	s.heartbeater.start()
	s.duties.start()
	if s.periodic != nil {
		s.periodic.start()
	}
	if s.watchdog != nil {
		var wctx context.Context
		wctx, s.stopWatch = context.WithCancel(context.Background())
		s.watchDone = make(chan struct{})
		go func() { defer close(s.watchDone); s.watchdog.Run(wctx) }()
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
	// The shutdown order, producers first, each stopped once nothing more
	// reaches it:
	//  1. fetcher: no more claims; once it returns nothing more is handed
	//     to the executor.
	//  2. executor: requeues what was prefetched, waits for running jobs
	//     until ctx is done, then cancels them and requeues those that
	//     ignore it; once it returns every result is with the acker.
	//  3. acker: records every result left, or once ctx is done gives
	//     up on those the store will not take (they stay in flight).
	//  4. heartbeater, duties runner, periodic enqueuer, canceller,
	//     watchdog: they ran until
	//     now so that the process kept its lease (its jobs stayed its own)
	//     and heard cancels while jobs ran.
	//  5. deregister: the process, with nothing left in flight, leaves.
	s.fetcher.stop()
	s.executor.stop(ctx)
	s.acker.stop(ctx)
	s.heartbeater.stop()
	s.duties.stop()
	if s.periodic != nil {
		s.periodic.stop()
	}
	if s.canceller != nil {
		s.canceller.stop()
	}
	if s.watchdog != nil {
		s.stopWatch()
		<-s.watchDone
	}

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

// Run starts the server, runs until ctx is cancelled or an operator asks
// the process to stop (Inspector.StopProcess), then stops gracefully
// within ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.remoteStop.done:
		return s.remoteStop.err
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.Stop(sctx)
	if s.remoteStop.started.Load() { // that stop was under way: its result
		<-s.remoteStop.done
		return s.remoteStop.err
	}
	return err
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
		Quiet:       s.IsQuiet(),
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
