package joblot

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
)

// abandonGrace is how long a job may take to return after its context is
// cancelled (at its timeout, or at the shutdown deadline) before the server
// gives up on it: it records the attempt's outcome without waiting and lets
// the goroutine linger. A job that honours its context returns well within
// it, with its own error.
const abandonGrace = 500 * time.Millisecond

// LingerObserver may be implemented by a ServerConfig.Observer to be told
// the number of lingering goroutines (see ServerConfig.MaxLingering) each
// time it changes; metrics.Collector implements it. Like JobDone, it must
// be fast and must not block.
type LingerObserver interface {
	JobsLingering(n int)
}

// Attempt states. An attempt ends exactly once: either its worker finishes
// it and records its result, or it is abandoned and whoever abandoned it
// records its result and starts a worker in its place.
const (
	attemptRunning uint32 = iota
	attemptDone
	attemptAbandoned
)

// attempt is one run of a claimed job.
type attempt struct {
	claimed
	start time.Time // wall clock: it only measures how long the attempt ran
	state atomic.Uint32
	// cancelAsked says CancelJob asked to cancel it; under cancel.mu.
	// Here rather than in cancel, whose padding would put the attempt in a
	// larger size class.
	cancelAsked bool
	// parent is what the job's context derives from: the server's hard
	// stop, or the context given to RunOne.
	parent context.Context
	// err is the attempt's error, nil if it succeeded (for RunOne).
	err error
	// cancel is CancelJob's request to cancel it (canceller.go).
	cancel attemptCancel
	// out is what the job records with SetOutput and SetProgress (output.go).
	out outputSlot
	// meta is what the job's middleware and worker see (runJob).
	meta JobMeta
	// run is the running job's state its context carries (batch.go).
	run jobRun
	// ctx is the job's context, carrying run (runJob).
	ctx jobContext
}

// worker is a worker goroutine, registered so that Stop can find the
// attempts still running at the shutdown deadline.
type worker struct {
	cur atomic.Pointer[attempt] // the attempt it runs, nil between jobs
}

// startWorker starts a worker goroutine. The caller has counted it in
// e.wg, or passes on the count of the goroutine it replaces.
func (e *executor) startWorker() {
	w := &worker{}
	e.workerMu.Lock()
	e.workerSet[w] = struct{}{}
	e.workerMu.Unlock()
	go e.workLoop(w)
}

// replaceWorker starts a worker in place of w, whose goroutine is stuck in
// an abandoned job: the new one takes over w's count in e.wg, so Stop
// does not wait for the stuck one.
func (e *executor) replaceWorker(w *worker) {
	e.workerMu.Lock()
	delete(e.workerSet, w)
	e.workerMu.Unlock()
	e.startWorker()
}

// abandonTimedOut runs when an attempt is still running abandonGrace after
// its timeout: its job ignores its context. The attempt fails with
// ErrJobTimeout (retried per policy) and its slot goes to another job while
// its goroutine lingers, unless MaxLingering goroutines already linger:
// then it waits, holding its slot, until one of them returns or the job
// does.
func (e *executor) abandonTimedOut(w *worker, a *attempt, entry *workerEntry, timeout time.Duration) {
	for {
		if a.state.Load() != attemptRunning || e.hardCtx.Err() != nil {
			return // finished, or the shutdown deadline passed: Stop deals with it
		}
		if e.lingering.tryAdd() {
			break
		}
		e.testSignals.lingerFull.Signal(struct{}{})
		e.lingering.waitBelowMax(e.hardCtx, abandonGrace)
	}
	if !a.state.CompareAndSwap(attemptRunning, attemptAbandoned) {
		e.lingering.exit()
		return
	}
	err := fmt.Errorf("%w after %v; the job ignored its context and still runs, abandoned", ErrJobTimeout, timeout)
	res := a.out.settle(e, e.failure(a.Fetched, entry, err, false, a.start))
	if e.cfg.Observer != nil {
		e.cfg.Observer.JobDone(a.Kind, a.Queue, res.Outcome, res.Duration)
	}
	e.logger.Warn("joblot: job ignored its timeout; recorded as failed, its goroutine lingers",
		jobLogAttrs(a.Fetched, "timeout", timeout, "outcome", res.Outcome.String())...)
	e.acks <- ack{Result: res, proc: a.proc}
	e.inFlight.Add(-1)
	e.slots.release(1)
	e.replaceWorker(w)
}

// abandonRunning gives up, at the shutdown deadline, on the jobs still
// running: they go back to the head of their queues untouched (no recovery
// is counted, as for jobs that stop when cancelled) while their goroutines
// linger. It returns how many it abandoned.
func (e *executor) abandonRunning() int {
	e.workerMu.Lock()
	ws := make([]*worker, 0, len(e.workerSet))
	for w := range e.workerSet {
		ws = append(ws, w)
	}
	e.workerMu.Unlock()
	n := 0
	for _, w := range ws {
		a := w.cur.Load()
		if a == nil {
			continue
		}
		e.lingering.add() // before the state changes: the job may return at once and exit
		if !a.state.CompareAndSwap(attemptRunning, attemptAbandoned) {
			e.lingering.exit()
			continue
		}
		n++
		if e.cfg.Observer != nil {
			e.cfg.Observer.JobDone(a.Kind, a.Queue, backend.OutcomeRequeue, 0)
		}
		e.logger.Warn("joblot: job still running after the shutdown deadline; requeued, it may run twice",
			jobLogAttrs(a.Fetched, "running", time.Since(a.start).Round(time.Millisecond))...)
		e.acks <- ack{Result: backend.Result{Fetched: a.Fetched, Outcome: backend.OutcomeRequeue}, proc: a.proc}
		e.inFlight.Add(-1)
		e.replaceWorker(w)
	}
	return n
}

// jobLogAttrs names a job in a log record. Kind and queue come from the
// job's payload: they are escaped and bounded, whatever the log handler.
func jobLogAttrs(f *backend.Fetched, more ...any) []any {
	return append([]any{"job", logSafe(f.ID), "kind", logSafe(f.Kind), "queue", logSafe(f.Queue)}, more...)
}

// maxLogField bounds a payload-derived string in a log record.
const maxLogField = 128

// logSafe escapes s to printable ASCII and bounds it.
func logSafe(s string) string {
	q := strconv.QuoteToASCII(truncate(s, maxLogField))
	return q[1 : len(q)-1]
}

// lingerers counts the goroutines of abandoned attempts still running.
type lingerers struct {
	max    int
	notify func(n int) // nil: nobody to tell

	mu   sync.Mutex
	n    int
	wake chan struct{} // closed and replaced when one exits
}

func newLingerers(max int, notify func(int)) *lingerers {
	return &lingerers{max: max, notify: notify, wake: make(chan struct{})}
}

// tryAdd counts one more lingering goroutine unless max already linger.
func (l *lingerers) tryAdd() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= l.max {
		return false
	}
	l.n++
	l.changed()
	return true
}

// add counts one more lingering goroutine, even beyond max (at shutdown).
func (l *lingerers) add() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	l.changed()
}

// exit counts one fewer.
func (l *lingerers) exit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	close(l.wake)
	l.wake = make(chan struct{})
	l.changed()
}

func (l *lingerers) changed() {
	if l.notify != nil {
		l.notify(l.n)
	}
}

func (l *lingerers) atMax() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n >= l.max
}

func (l *lingerers) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// waitBelowMax returns once fewer than max goroutines linger, ctx is done
// or (if poll > 0) poll has passed; it reports whether fewer than max
// linger.
func (l *lingerers) waitBelowMax(ctx context.Context, poll time.Duration) bool {
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTimer(poll)
		defer t.Stop()
		tick = t.C
	}
	for {
		l.mu.Lock()
		below, wake := l.n < l.max, l.wake
		l.mu.Unlock()
		if below {
			return true
		}
		select {
		case <-wake:
		case <-tick:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
