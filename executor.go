package joblot

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/testsignal"
	"github.com/joblot/joblot/internal/watchdog"
)

// executor runs the jobs the fetcher hands it on Concurrency worker
// goroutines and hands each result to the acker. It also abandons attempts
// that ignore their context (executor_linger.go) and cancels the attempts
// CancelJob asks for (canceller.go).
type executor struct {
	cfg    ServerConfig
	logger *slog.Logger
	client *Client
	// outputs stores job progress; nil when the backend keeps no output.
	outputs backend.OutputStore
	// settledOutput is the recorder of every settled attempt that recorded
	// nothing: closed, it records nothing more (outputSlot).
	settledOutput *outputRecorder
	// watchdog is nil when the backend cannot report its memory.
	watchdog *watchdog.Watchdog

	jobs      chan claimed // from the fetcher; closed by stop
	acks      chan<- ack   // to the acker
	slots     *slots
	inFlight  *atomic.Int64
	draining  *atomic.Bool // requeue jobs not yet started
	lingering *lingerers
	batches   *cancelCache
	// jobCancels are cancel requests for jobs not running when they came.
	jobCancels jobCancels

	hardCtx  context.Context // cancelled at the shutdown deadline: job contexts derive from it
	hardStop context.CancelFunc
	// jobTimeoutCause is the timeout cause of jobs that run with the
	// server's JobTimeout, shared: one allocation fewer per such job. Nil
	// without a JobTimeout.
	jobTimeoutCause *timeoutCause

	// workerSet holds the worker goroutines, for stop to find the jobs
	// still running at the shutdown deadline and for cancels to find the
	// job they name.
	workerMu  sync.Mutex
	workerSet map[*worker]struct{}
	wg        sync.WaitGroup // the workers, or those that took their places

	testSignals executorTestSignals
}

// executorTestSignals tell tests what the executor does.
type executorTestSignals struct {
	// lingerFull: a timed-out attempt waits for a lingering place.
	lingerFull testsignal.TestSignal[struct{}]
}

// executorParams is what the Server hands the executor: the state it
// shares with the other components.
type executorParams struct {
	cfg       ServerConfig
	client    *Client
	watchdog  *watchdog.Watchdog // nil: none
	capacity  int                // of the jobs channel: Concurrency + Prefetch
	acks      chan<- ack
	slots     *slots
	inFlight  *atomic.Int64
	draining  *atomic.Bool
	lingering *lingerers
	batches   *cancelCache
}

// newExecutor returns an executor reading jobs from a channel of
// p.capacity jobs and handing results to p.acks.
func newExecutor(p executorParams) *executor {
	e := &executor{
		cfg:       p.cfg,
		logger:    p.cfg.Logger,
		client:    p.client,
		watchdog:  p.watchdog,
		jobs:      make(chan claimed, p.capacity),
		acks:      p.acks,
		slots:     p.slots,
		inFlight:  p.inFlight,
		draining:  p.draining,
		lingering: p.lingering,
		batches:   p.batches,
		workerSet: map[*worker]struct{}{},
	}
	e.settledOutput = &outputRecorder{e: e, closed: true}
	e.hardCtx, e.hardStop = context.WithCancel(context.Background())
	if p.cfg.JobTimeout > 0 {
		e.jobTimeoutCause = &timeoutCause{p.cfg.JobTimeout}
	}
	return e
}

// start starts the worker goroutines.
func (e *executor) start() {
	for range e.cfg.Concurrency {
		e.wg.Add(1)
		e.startWorker()
	}
}

// stop drains the executor once the fetcher has stopped: the workers
// requeue the jobs not yet started and finish those running until ctx is
// done. Then it cancels the jobs still running and, past abandonGrace,
// requeues those that ignore it (abandonRunning). Once it returns every
// result has been handed to the acker.
func (e *executor) stop(ctx context.Context) {
	close(e.jobs) // workers drain what was prefetched (requeueing it) and exit
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		e.logger.Warn("joblot: shutdown deadline reached; cancelling running jobs", "running", e.inFlight.Load())
		e.hardStop()
		grace := time.NewTimer(abandonGrace)
		select {
		case <-done:
		case <-grace.C:
			// Jobs that ignore their context: requeue them without
			// waiting. Their workers are replaced, and the replacements
			// exit at once (the jobs channel is closed).
			if n := e.abandonRunning(); n > 0 {
				e.logger.Warn("joblot: stopped without waiting for jobs that ignored cancellation; they were requeued and may run twice", "jobs", n)
			}
			<-done
		}
		grace.Stop()
	}
	e.hardStop()
}

// workLoop runs fetched jobs until the jobs channel closes, or until the
// job it runs is abandoned (see abandonTimedOut, abandonRunning): then a
// new worker has taken its place, and it exits once the job returns.
func (e *executor) workLoop(w *worker) {
	for c := range e.jobs {
		a := &attempt{claimed: c, start: time.Now(), parent: e.hardCtx}
		w.cur.Store(a) // before the draining check: Stop must see every attempt that starts
		var res backend.Result
		ran := false
		if e.draining.Load() {
			// Not started yet: back to the head of its queue, untouched.
			res = backend.Result{Fetched: c.Fetched, Outcome: backend.OutcomeRequeue}
		} else {
			res, ran = e.execute(w, a), true
		}
		w.cur.Store(nil)
		if !a.state.CompareAndSwap(attemptRunning, attemptDone) {
			// Abandoned: its outcome is recorded and another worker runs
			// in this one's place.
			e.lingering.exit()
			return
		}
		if ran && e.cfg.Observer != nil {
			e.observe(c.Fetched, res)
		}
		e.acks <- ack{Result: res, proc: c.proc}
		e.inFlight.Add(-1)
		e.slots.finish()
	}
	e.workerMu.Lock()
	delete(e.workerSet, w)
	e.workerMu.Unlock()
	e.wg.Done()
}

// panicError is a recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// execute runs one job and decides its outcome. It never panics.
func (e *executor) execute(w *worker, a *attempt) (res backend.Result) {
	defer func() { res = a.out.settle(e, res) }() // output.go
	f, start := a.Fetched, a.start
	if err := e.unrunnable(f); err != nil {
		a.err = err
		return e.failure(f, nil, err, true, start)
	}
	job := f.Job
	if job.BatchID != "" && e.batches.cancelled(job.BatchID) || e.jobCancels.take(f.Queue, job.ID, start) {
		return backend.Result{Fetched: f, Outcome: backend.OutcomeCancelled}
	}
	entry := e.cfg.Workers.byKind[job.Kind]
	if entry == nil {
		err := fmt.Errorf("%w %q: no worker registered in this process", ErrUnknownKind, job.Kind)
		a.err = err
		return e.failure(f, nil, err, false, start)
	}
	err := e.runJob(w, a, entry)
	a.err = err
	switch {
	case err == nil:
		return backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded, Duration: time.Since(start)}
	case a.cancelRequested():
		// Cancelled (CancelJob): whatever it returned, it is not retried.
		return backend.Result{Fetched: f, Outcome: backend.OutcomeCancelled, Duration: time.Since(start)}
	case a.parent.Err() != nil && !isPanic(err):
		// Cancelled by a hard stop: the attempt did not fail, it was cut
		// short. Back to its queue untouched.
		return backend.Result{Fetched: f, Outcome: backend.OutcomeRequeue}
	}
	if d, ok := snoozeOf(err); ok {
		return e.snooze(f, entry, d, start)
	}
	discard, kill := outcomeOf(err)
	if discard {
		return backend.Result{Fetched: f, Outcome: backend.OutcomeDiscarded, Duration: time.Since(start)}
	}
	return e.failure(f, entry, err, kill, start)
}

// runJob runs the job through the middleware with its timeout, turning a
// panic into an error. A job still running abandonGrace after its timeout
// is abandoned (abandonTimedOut), unless w is nil (RunOne waits for it).
func (e *executor) runJob(w *worker, a *attempt, entry *workerEntry) (err error) {
	job := a.Job
	timeout := job.Timeout
	if timeout == 0 {
		timeout = entry.opts.Timeout
	}
	if timeout == 0 {
		timeout = e.cfg.JobTimeout
	}
	ctx, cancel := context.WithCancelCause(a.parent) // CancelJob cancels it (canceller.go)
	defer cancel(nil)
	a.cancellable(cancel)
	if timeout > 0 {
		cause := e.jobTimeoutCause
		if cause == nil || cause.after != timeout {
			cause = &timeoutCause{timeout}
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, cause)
		defer cancel()
		if w != nil {
			abandon := time.AfterFunc(timeout+abandonGrace, func() { e.abandonTimedOut(w, a, entry, timeout) })
			defer abandon.Stop()
		}
	}
	// The meta and the job's run state live in the attempt: one
	// allocation per job instead of three.
	a.meta = JobMeta{
		ID:            job.ID,
		Kind:          job.Kind,
		Queue:         job.Queue,
		Attempt:       job.Attempt + 1,
		MaxRetries:    e.maxRetries(job, entry),
		CreatedAt:     job.CreatedAt,
		BatchID:       job.BatchID,
		CallbackOf:    job.CallbackOf,
		CallbackEvent: job.CallbackEvent,
		LastError:     job.ErrorMessage,
		Meta:          maps.Clone(job.Meta), // nil stays nil: no allocation without metadata
		Snoozes:       int(job.Snoozes),
	}
	meta := &a.meta
	if job.TraceContext != "" {
		meta.TraceContext = []byte(job.TraceContext)
	}
	a.run = jobRun{e: e, a: a}
	a.ctx = jobContext{Context: ctx, run: &a.run}
	ctx = &a.ctx // context.WithValue without its allocation

	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	if len(e.cfg.Middleware) == 0 {
		err = entry.run(ctx, meta, job.Args) // no closure to allocate
	} else {
		run := chain(e.cfg.Middleware, meta, func(ctx context.Context) error {
			return entry.run(ctx, meta, job.Args)
		})
		err = run(ctx)
	}
	if err != nil && errors.Is(context.Cause(ctx), ErrJobTimeout) && a.parent.Err() == nil && !errors.Is(err, ErrJobTimeout) {
		// An error that carries the cause already (net/http's does) says
		// it once; others get it in front.
		err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	return err
}

// jobContext is a running job's context: ctx carrying the job's run state
// under jobRunKey, as context.WithValue would, but held in the attempt.
type jobContext struct {
	context.Context
	run *jobRun
}

// Value returns the job's run state for jobRunKey and defers to the
// parent for every other key.
func (c *jobContext) Value(key any) any {
	if _, ok := key.(jobRunKey); ok {
		return c.run
	}
	return c.Context.Value(key)
}

// timeoutCause is the cause of a job context's timeout: ErrJobTimeout
// "after" the timeout, formatted only when read, since most jobs finish in
// time (fmt.Errorf cost three allocations per job with a timeout).
type timeoutCause struct{ after time.Duration }

func (c *timeoutCause) Error() string { return fmt.Sprintf("%v after %v", ErrJobTimeout, c.after) }
func (c *timeoutCause) Unwrap() error { return ErrJobTimeout }

// failure builds the retry or dead result of a failed attempt.
func (e *executor) failure(f *backend.Fetched, entry *workerEntry, err error, kill bool, start time.Time) backend.Result {
	// The stored times and the retry's due time come from the injected
	// clock; the attempt's duration is measured on the wall clock, as
	// start was.
	now := e.cfg.Now()
	var job *backend.Job
	if f.Malformed != nil {
		job = &backend.Job{ID: f.ID, Queue: f.Queue, Kind: "malformed", CreatedAt: now}
	} else {
		job = f.Job.Clone()
	}
	job.Attempt++
	job.Recoveries = 0
	job.FailedAt = now
	job.ErrorClass = errorClass(err)
	// Above its memory budget the store gets no optional data: no
	// backtrace, and error messages cut to a short sample.
	lean := e.watchdog != nil && !e.watchdog.AllowOptionalData()
	var pe *panicError
	job.Backtrace = nil
	if errors.As(err, &pe) {
		job.ErrorClass = "panic"
		if e.cfg.Backtraces && !lean {
			job.Backtrace = compress(pe.stack)
		}
	}
	maxMsg := e.cfg.MaxErrorBytes
	if lean {
		maxMsg = min(maxMsg, leanErrorBytes)
	}
	msg := err.Error()
	job.ErrorMessage = truncate(msg, maxMsg)
	// From the whole message, so the group does not depend on the cut.
	job.ErrorFingerprint = errorFingerprint(job.Kind, job.ErrorClass, msg)
	res := backend.Result{Fetched: f, Job: job, Duration: time.Since(start)}
	retries := e.maxRetries(job, entry)
	if kill || job.Attempt > retries {
		job.DiedAt = now
		res.Outcome = backend.OutcomeDead
		return res
	}
	policy := e.cfg.RetryPolicy
	if entry != nil && entry.opts.RetryPolicy != nil {
		policy = entry.opts.RetryPolicy
	}
	res.Outcome = backend.OutcomeRetry
	res.RetryAt = now.Add(policy.NextRetry(job.Attempt))
	return res
}

// snooze builds the result of an attempt that asked to run again after d:
// the job goes to the scheduled set with Snoozes+1 and its attempt
// unchanged, or, beyond its kind's cap, the attempt fails.
func (e *executor) snooze(f *backend.Fetched, entry *workerEntry, d time.Duration, start time.Time) backend.Result {
	limit := entry.opts.MaxSnoozes
	if limit == 0 {
		limit = DefaultMaxSnoozes
	}
	if int(f.Job.Snoozes) >= max(limit, 0) {
		err := fmt.Errorf("%w: snoozed %d times, the limit of kind %q (WorkerOpts.MaxSnoozes)", ErrTooManySnoozes, f.Job.Snoozes, f.Job.Kind)
		return e.failure(f, entry, err, false, start)
	}
	job := f.Job.Clone()
	job.Snoozes++
	job.Recoveries = 0
	job.RunAt = e.cfg.Now().Add(d)
	return backend.Result{Fetched: f, Outcome: backend.OutcomeSnoozed, Job: job, RetryAt: job.RunAt, Duration: time.Since(start)}
}

// leanErrorBytes bounds error messages while the store is above its memory
// budget.
const leanErrorBytes = 128

// maxRetries resolves a job's retry budget: the job's own, its kind's, the
// server'e. Negative values (NoRetries) mean none.
func (e *executor) maxRetries(job *backend.Job, entry *workerEntry) int {
	n := job.MaxRetries
	if n == 0 && entry != nil {
		n = entry.opts.MaxRetries
	}
	if n == 0 {
		n = e.cfg.MaxRetries
	}
	return max(n, 0)
}

func isPanic(err error) bool {
	var pe *panicError
	return errors.As(err, &pe)
}

// compress deflates a backtrace; stacks compress about 5×.
func compress(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}
