package benchrun

import (
	"context"
	"fmt"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// pollInterval is how often the bench looks at its ledger and the store.
const pollInterval = 100 * time.Millisecond

// process runs a server until every job is accounted for (or the run
// stalls or times out), waits for the retry set and the batch callbacks to
// settle, stops the server and returns the processing time: from server
// start to the last job's outcome.
func (r *run) process(ctx context.Context) (time.Duration, error) {
	cfg := r.cfg
	ws := joblot.NewWorkers()
	joblot.AddWorker(ws, joblot.WorkFunc[Args](r.work), nil)
	joblot.AddWorker(ws, joblot.WorkFunc[CallbackArgs](r.callback), nil)
	scfg := joblot.ServerConfig{
		Workers:     ws,
		Queues:      cfg.serverQueues(),
		Concurrency: cfg.Concurrency,
		Prefetch:    cfg.Prefetch,
		FetchChunk:  cfg.FetchChunk,
		// Short duty intervals only speed up what the bench waits for at
		// the end (retries due, leftover callbacks); the fetch → work →
		// ack path is untouched.
		PollInterval:    100 * time.Millisecond,
		ForwardInterval: time.Second,
		Client:          r.client,
		Logger:          cfg.Logger,
	}
	if cfg.RetryDelay > 0 {
		d := cfg.RetryDelay
		scfg.RetryPolicy = joblot.RetryPolicyFunc(func(int) time.Duration { return d })
	}
	srv, err := joblot.NewServer(r.backend, scfg)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := srv.Start(ctx); err != nil {
		return 0, err
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return srv.Stop(sctx)
	}
	defer func() { _ = stop() }()

	if err := r.waitAccounted(ctx, start); err != nil {
		return 0, err
	}
	end := time.Now()
	if at := r.doneAt.Load(); at != 0 {
		end = time.Unix(0, at)
	}
	if err := r.settle(ctx); err != nil {
		return 0, err
	}
	if err := stop(); err != nil {
		return 0, fmt.Errorf("bench: stop server: %w", err)
	}
	return end.Sub(start), nil
}

// waitAccounted waits until every job is accounted for. It gives up when
// the run times out, or stalls: nothing accounted for StallTimeout while
// the queue holds nothing queued, in flight or waiting to run again —
// then the missing jobs are lost.
func (r *run) waitAccounted(ctx context.Context, start time.Time) error {
	cfg := r.cfg
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	last, lastChange := int64(-1), time.Now()
	for {
		select {
		case <-r.allDone:
			cfg.Progress("process", cfg.Jobs, cfg.Jobs)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		n := r.accountedN.Load()
		cfg.Progress("process", n, cfg.Jobs)
		if n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(start) > cfg.Timeout {
			cfg.Logger.Warn("bench: timed out waiting for jobs", "accounted", n, "jobs", cfg.Jobs)
			return nil
		}
		if time.Since(lastChange) < cfg.StallTimeout {
			continue
		}
		left, err := r.left(ctx)
		if err != nil {
			return err
		}
		if left == 0 {
			cfg.Logger.Warn("bench: no job accounted for a while and nothing left to run", "accounted", n, "jobs", cfg.Jobs)
			return nil
		}
		lastChange = time.Now() // still work in the store: keep waiting
	}
}

// settle waits (bounded) for what follows the last job's outcome: with
// StopWhenRetrying, the retrying jobs' acks reaching the retry set; with
// batches, the callbacks the ledger says must fire.
func (r *run) settle(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	retrying := CountUnion(r.retrying, r.died, r.succeeded) - CountUnion(r.died, r.succeeded)
	wantComplete, wantSuccess, wantDeath := r.expectedCallbacks()
	for {
		ok := true
		if r.cfg.StopWhenRetrying && retrying > 0 {
			q, err := queueStats(ctx, r.backend, r.cfg.Queue)
			if err != nil {
				return err
			}
			ok = q.Retry >= retrying
		}
		if len(r.batchIDs) > 0 {
			c, s, d := r.callbackCounts()
			ok = ok && c >= wantComplete && s >= wantSuccess && d >= wantDeath
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			r.cfg.Logger.Warn("bench: retry set or callbacks did not settle in time")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// expectedCallbacks derives from the ledger which callbacks must fire:
// complete for every batch whose jobs all have an outcome, success for
// those whose jobs all succeeded, death for those with a dead job.
func (r *run) expectedCallbacks() (complete, success, death int64) {
	for i := range int64(len(r.batchIDs)) {
		from, to := i*r.cfg.BatchSize, min((i+1)*r.cfg.BatchSize, r.cfg.Jobs)
		all, allOK, anyDead := true, true, false
		for n := from; n < to; n++ {
			ok, dead := r.succeeded.Has(n), r.died.Has(n)
			all = all && (ok || dead || r.retrying.Has(n))
			allOK = allOK && ok
			anyDead = anyDead || dead
		}
		if all {
			complete++
		}
		if allOK {
			success++
		}
		if anyDead {
			death++
		}
	}
	return complete, success, death
}

func queueStats(ctx context.Context, b backend.Backend, queue string) (backend.QueueStats, error) {
	st, err := b.Stats(ctx, time.Now())
	if err != nil {
		return backend.QueueStats{}, fmt.Errorf("bench: stats: %w", err)
	}
	for _, q := range st.Queues {
		if q.Name == queue {
			return q, nil
		}
	}
	return backend.QueueStats{Name: queue}, nil
}

// left counts the jobs still queued, in flight, scheduled or retrying in
// the run's queues.
func (r *run) left(ctx context.Context) (int64, error) {
	st, err := r.backend.Stats(ctx, time.Now())
	if err != nil {
		return 0, fmt.Errorf("bench: stats: %w", err)
	}
	qs := r.cfg.serverQueues()
	var n int64
	for _, q := range st.Queues {
		if _, ok := qs[q.Name]; ok {
			n += q.Size + q.InFlight + q.Scheduled + q.Retry
		}
	}
	return n, nil
}
