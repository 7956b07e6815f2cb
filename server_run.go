package joblot

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"time"

	"github.com/joblot/joblot/backend"
)

// workLoop runs fetched jobs until the jobs channel closes, or until the
// job it runs is abandoned (see abandonTimedOut, abandonRunning): then a
// new worker has taken its place, and it exits once the job returns.
func (s *Server) workLoop(w *worker) {
	for c := range s.jobs {
		a := &attempt{claimed: c, start: time.Now(), parent: s.hardCtx}
		w.cur.Store(a) // before the draining check: Stop must see every attempt that starts
		var res backend.Result
		ran := false
		if s.draining.Load() {
			// Not started yet: back to the head of its queue, untouched.
			res = backend.Result{Fetched: c.Fetched, Outcome: backend.OutcomeRequeue}
		} else {
			res, ran = s.execute(w, a), true
		}
		w.cur.Store(nil)
		if !a.state.CompareAndSwap(attemptRunning, attemptDone) {
			// Abandoned: its outcome is recorded and another worker runs
			// in this one's place.
			s.lingering.exit()
			return
		}
		if ran && s.cfg.Observer != nil {
			s.observe(c.Fetched, res)
		}
		s.acks <- ack{Result: res, proc: c.proc}
		s.inFlight.Add(-1)
		s.slots.release(1)
	}
	s.workerMu.Lock()
	delete(s.workerSet, w)
	s.workerMu.Unlock()
	s.workers.Done()
}

// panicError is a recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// execute runs one job and decides its outcome. It never panics.
func (s *Server) execute(w *worker, a *attempt) (res backend.Result) {
	defer func() { res = a.out.settle(res) }() // output.go
	f, start := a.Fetched, a.start
	if err := s.unrunnable(f); err != nil {
		a.err = err
		return s.failure(f, nil, err, true, start)
	}
	job := f.Job
	if job.BatchID != "" && s.cancel.cancelled(job.BatchID) || s.jobCancels.take(f.Queue, job.ID, start) {
		return backend.Result{Fetched: f, Outcome: backend.OutcomeCancelled}
	}
	entry := s.cfg.Workers.byKind[job.Kind]
	if entry == nil {
		err := fmt.Errorf("%w %q: no worker registered in this process", ErrUnknownKind, job.Kind)
		a.err = err
		return s.failure(f, nil, err, false, start)
	}
	err := s.runJob(w, a, entry)
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
		return s.snooze(f, entry, d, start)
	}
	discard, kill := outcomeOf(err)
	if discard {
		return backend.Result{Fetched: f, Outcome: backend.OutcomeDiscarded, Duration: time.Since(start)}
	}
	return s.failure(f, entry, err, kill, start)
}

// runJob runs the job through the middleware with its timeout, turning a
// panic into an error. A job still running abandonGrace after its timeout
// is abandoned (abandonTimedOut), unless w is nil (RunOne waits for it).
func (s *Server) runJob(w *worker, a *attempt, entry *workerEntry) (err error) {
	job := a.Job
	timeout := job.Timeout
	if timeout == 0 {
		timeout = entry.opts.Timeout
	}
	if timeout == 0 {
		timeout = s.cfg.JobTimeout
	}
	ctx, cancel := context.WithCancelCause(a.parent) // CancelJob cancels it (server_cancel.go)
	defer cancel(nil)
	s.initOutput(a) // before the abandon timer, which reads it
	a.cancellable(cancel)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w after %v", ErrJobTimeout, timeout))
		defer cancel()
		if w != nil {
			abandon := time.AfterFunc(timeout+abandonGrace, func() { s.abandonTimedOut(w, a, entry, timeout) })
			defer abandon.Stop()
		}
	}
	meta := &JobMeta{
		ID:            job.ID,
		Kind:          job.Kind,
		Queue:         job.Queue,
		Attempt:       job.Attempt + 1,
		MaxRetries:    s.maxRetries(job, entry),
		CreatedAt:     job.CreatedAt,
		BatchID:       job.BatchID,
		CallbackOf:    job.CallbackOf,
		CallbackEvent: job.CallbackEvent,
		LastError:     job.ErrorMessage,
		Meta:          maps.Clone(job.Meta), // nil stays nil: no allocation without metadata
		Snoozes:       int(job.Snoozes),
	}
	if job.TraceContext != "" {
		meta.TraceContext = []byte(job.TraceContext)
	}
	ctx = context.WithValue(ctx, jobRunKey{}, &jobRun{client: s.client, jobID: job.ID, batchID: job.BatchID, out: &a.out})

	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	run := chain(s.cfg.Middleware, meta, func(ctx context.Context) error {
		return entry.run(ctx, meta, job.Args)
	})
	err = run(ctx)
	if err != nil && errors.Is(context.Cause(ctx), ErrJobTimeout) && a.parent.Err() == nil && !errors.Is(err, ErrJobTimeout) {
		// An error that carries the cause already (net/http's does) says
		// it once; others get it in front.
		err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	return err
}

// failure builds the retry or dead result of a failed attempt.
func (s *Server) failure(f *backend.Fetched, entry *workerEntry, err error, kill bool, start time.Time) backend.Result {
	// The stored times and the retry's due time come from the injected
	// clock; the attempt's duration is measured on the wall clock, as
	// start was.
	now := s.cfg.Now()
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
	lean := s.watchdog != nil && !s.watchdog.AllowOptionalData()
	var pe *panicError
	job.Backtrace = nil
	if errors.As(err, &pe) {
		job.ErrorClass = "panic"
		if s.cfg.Backtraces && !lean {
			job.Backtrace = compress(pe.stack)
		}
	}
	maxMsg := s.cfg.MaxErrorBytes
	if lean {
		maxMsg = min(maxMsg, leanErrorBytes)
	}
	msg := err.Error()
	job.ErrorMessage = truncate(msg, maxMsg)
	// From the whole message, so the group does not depend on the cut.
	job.ErrorFingerprint = errorFingerprint(job.Kind, job.ErrorClass, msg)
	res := backend.Result{Fetched: f, Job: job, Duration: time.Since(start)}
	retries := s.maxRetries(job, entry)
	if kill || job.Attempt > retries {
		job.DiedAt = now
		res.Outcome = backend.OutcomeDead
		return res
	}
	policy := s.cfg.RetryPolicy
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
func (s *Server) snooze(f *backend.Fetched, entry *workerEntry, d time.Duration, start time.Time) backend.Result {
	limit := entry.opts.MaxSnoozes
	if limit == 0 {
		limit = DefaultMaxSnoozes
	}
	if int(f.Job.Snoozes) >= max(limit, 0) {
		err := fmt.Errorf("%w: snoozed %d times, the limit of kind %q (WorkerOpts.MaxSnoozes)", ErrTooManySnoozes, f.Job.Snoozes, f.Job.Kind)
		return s.failure(f, entry, err, false, start)
	}
	job := f.Job.Clone()
	job.Snoozes++
	job.Recoveries = 0
	job.RunAt = s.cfg.Now().Add(d)
	return backend.Result{Fetched: f, Outcome: backend.OutcomeSnoozed, Job: job, RetryAt: job.RunAt, Duration: time.Since(start)}
}

// leanErrorBytes bounds error messages while the store is above its memory
// budget.
const leanErrorBytes = 128

// maxRetries resolves a job's retry budget: the job's own, its kind's, the
// server's. Negative values (NoRetries) mean none.
func (s *Server) maxRetries(job *backend.Job, entry *workerEntry) int {
	n := job.MaxRetries
	if n == 0 && entry != nil {
		n = entry.opts.MaxRetries
	}
	if n == 0 {
		n = s.cfg.MaxRetries
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
