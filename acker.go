package joblot

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/testsignal"
)

// ackers is how many ack loops a server runs: more did not help when
// measured (BENCHMARKS.md).
const ackers = 2

// acker records the results the executor hands it, many per round trip.
type acker struct {
	backend backend.Backend
	logger  *slog.Logger
	chunk   int      // the most results per round trip (AckChunk)
	in      chan ack // closed by stop

	// ctx is cancelled when Stop's context is done with results still
	// unrecorded (or once the loops returned): complete stops retrying.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// unreachable: a last attempt after Stop's context ended failed, so
	// the results left give up without one.
	unreachable atomic.Bool

	testSignals ackerTestSignals
}

// ackerTestSignals tell tests what the acker records.
type ackerTestSignals struct {
	// acked: results were recorded under proc.
	acked testsignal.TestSignal[ackedResults]
}

// ackedResults are results recorded under the identity proc.
type ackedResults struct {
	proc    string
	results []backend.Result
}

func newAcker(b backend.Backend, logger *slog.Logger, chunk int) *acker {
	a := &acker{backend: b, logger: logger, chunk: chunk, in: make(chan ack, chunk*2)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a
}

// start starts the ack loops.
func (a *acker) start() {
	for range ackers {
		a.wg.Add(1)
		go a.loop()
	}
}

// stop records what is left once the executor has stopped handing results
// over, and returns when every result is recorded or, once ctx is done, given
// up (see complete), so that an unreachable store cannot hold Stop past its
// context.
func (a *acker) stop(ctx context.Context) {
	close(a.in)
	done := make(chan struct{})
	go func() {
		a.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		a.cancel()
		<-done
	}
	a.cancel()
}

// loop records results, as many per round trip as are waiting (up to
// AckChunk), so acks batch themselves under load without delaying a lone
// job. Results are recorded under the identity their jobs were claimed
// under; a batch is cut where that identity changes (rarely: after a
// re-registration).
func (a *acker) loop() {
	defer a.wg.Done()
	batch := make([]backend.Result, 0, a.chunk)
	for first := range a.in {
		proc := first.proc
		batch = append(batch[:0], first.Result)
	drain:
		for len(batch) < a.chunk {
			select {
			case r, ok := <-a.in:
				if !ok {
					break drain
				}
				if r.proc != proc {
					a.complete(proc, batch)
					proc, batch = r.proc, batch[:0]
				}
				batch = append(batch, r.Result)
			default:
				break drain
			}
		}
		a.complete(proc, batch)
	}
}

// Retry pacing and bounds of complete.
const (
	ackRetryMin = 10 * time.Millisecond
	ackRetryMax = 2 * time.Second
	// ackTimeout bounds one attempt while the server runs.
	ackTimeout = 30 * time.Second
	// lastAckTimeout bounds the one attempt a result still unrecorded when
	// Stop's context ends gets.
	lastAckTimeout = time.Second
)

// errGaveUp stands for the error of a last attempt not made because an
// earlier one failed.
var errGaveUp = errors.New("joblot: the store failed a last attempt already; not trying again")

// complete records the results of jobs claimed under proc, retrying on
// storage errors for as long as the server runs: the jobs stay in flight
// until their results are recorded, and retrying avoids running them twice.
// Once Stop's context is done (a.ctx), an attempt under way is cut and the
// results get one last short attempt, none if one such attempt failed
// already; then complete gives up, naming the jobs. Nothing is lost: the
// jobs are still in flight under proc, and are returned to their queues
// when the process deregisters, or by another process once proc's lease
// expires.
func (a *acker) complete(proc string, results []backend.Result) {
	wait := ackRetryMin
	for attempt := 1; a.ctx.Err() == nil; attempt++ {
		// Under a.ctx, so that Stop cuts a store that hangs.
		ctx, cancel := context.WithTimeout(a.ctx, ackTimeout)
		err := a.backend.Complete(ctx, proc, results)
		cancel()
		if err == nil {
			a.acked(proc, results)
			return
		}
		if a.ctx.Err() != nil {
			break
		}
		a.logger.Warn("joblot: recording results failed; retrying", "jobs", len(results), "attempt", attempt, "err", err)
		sleepCtx(a.ctx, wait)
		wait = min(wait*2, ackRetryMax)
	}
	err := errGaveUp
	if !a.unreachable.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), lastAckTimeout)
		err = a.backend.Complete(ctx, proc, results)
		cancel()
		if err == nil {
			a.acked(proc, results)
			return
		}
		a.unreachable.Store(true)
	}
	ids := make([]string, len(results))
	for i, r := range results {
		ids[i] = r.Fetched.ID
	}
	a.logger.Error("joblot: giving up recording results at shutdown; the jobs stay in flight and will be recovered and run again",
		"process", proc, "jobs", ids, "err", err)
}

// acked tells a test that results were recorded.
func (a *acker) acked(proc string, results []backend.Result) {
	if a.testSignals.acked.Enabled() { // the loop reuses results: the test gets a copy
		a.testSignals.acked.Signal(ackedResults{proc: proc, results: slices.Clone(results)})
	}
}
