package joblot

import (
	"context"
	"log/slog"
	"slices"
	"sync"
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

	// ctx is cancelled once the loops have returned: complete gives up
	// retrying only then.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

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
// over, and returns when every result is recorded.
func (a *acker) stop() {
	close(a.in)
	a.wg.Wait()
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

// complete records the results of jobs claimed under proc, retrying on storage errors: the jobs stay in
// flight (and recoverable) until their results are recorded, so giving up
// loses nothing, but retrying avoids running them twice.
func (a *acker) complete(proc string, results []backend.Result) {
	wait := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := a.backend.Complete(ctx, proc, results)
		cancel()
		if err == nil {
			if a.testSignals.acked.Enabled() { // the loop reuses results: the test gets a copy
				a.testSignals.acked.Signal(ackedResults{proc: proc, results: slices.Clone(results)})
			}
			return
		}
		if attempt >= 8 && a.ctx.Err() != nil {
			a.logger.Error("joblot: giving up recording results; the jobs will be recovered and run again", "jobs", len(results), "err", err)
			return
		}
		a.logger.Warn("joblot: recording results failed; retrying", "jobs", len(results), "attempt", attempt, "err", err)
		time.Sleep(wait)
		wait = min(wait*2, 2*time.Second)
	}
}
