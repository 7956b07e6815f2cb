package benchrun

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot"
)

// span is a unit of enqueue work: jobs [from, to), in batch (or -1).
type span struct {
	batch    int64
	from, to int64
}

// enqueue stores all jobs with cfg.Enqueuers goroutines and returns how
// long it took. Nothing is processed meanwhile.
func (r *run) enqueue(ctx context.Context) (time.Duration, error) {
	cfg := r.cfg
	var spans []span
	if nb := cfg.batches(); nb > 0 {
		r.batchIDs = make([]string, nb)
		for i := range nb {
			spans = append(spans, span{batch: i, from: i * cfg.BatchSize, to: min((i+1)*cfg.BatchSize, cfg.Jobs)})
		}
	} else {
		for from := int64(0); from < cfg.Jobs; from += enqueueChunk {
			spans = append(spans, span{batch: -1, from: from, to: min(from+enqueueChunk, cfg.Jobs)})
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		done     atomic.Int64
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	start := time.Now()
	for range min(cfg.Enqueuers, len(spans)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(spans)) || ctx.Err() != nil {
					return
				}
				if err := r.enqueueSpan(ctx, spans[i], &done); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-finished:
			waiting = false
		case <-tick.C:
			cfg.Progress("enqueue", done.Load(), cfg.Jobs)
		}
	}
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	cfg.Progress("enqueue", cfg.Jobs, cfg.Jobs)
	return elapsed, nil
}

// enqueueSpan stores one span: a chunk of plain jobs, or a whole batch
// (created, populated in chunks, committed).
func (r *run) enqueueSpan(ctx context.Context, s span, done *atomic.Int64) error {
	if s.batch < 0 {
		if _, err := r.client.EnqueueMany(ctx, r.params(s.from, s.to)); err != nil {
			return fmt.Errorf("bench: enqueue jobs %d..%d: %w", s.from, s.to-1, err)
		}
		done.Add(s.to - s.from)
		return nil
	}
	cb := func() *joblot.Callback {
		return &joblot.Callback{Args: CallbackArgs{}, Opts: joblot.EnqueueOpts{Queue: r.cfg.Queue}}
	}
	batch, err := r.client.NewBatch(ctx, joblot.BatchOpts{
		Description: fmt.Sprintf("joblot bench: jobs %d..%d", s.from, s.to-1),
		OnComplete:  cb(),
		OnSuccess:   cb(),
		OnDeath:     cb(),
	})
	if err != nil {
		return fmt.Errorf("bench: create batch %d: %w", s.batch, err)
	}
	r.batchIDs[s.batch] = batch.ID()
	for from := s.from; from < s.to; from += enqueueChunk {
		to := min(from+enqueueChunk, s.to)
		if err := batch.Add(ctx, r.params(from, to)...); err != nil {
			return fmt.Errorf("bench: batch %s: add jobs %d..%d: %w", batch.ID(), from, to-1, err)
		}
		done.Add(to - from)
	}
	if err := batch.Commit(ctx); err != nil {
		return fmt.Errorf("bench: batch %s: %w", batch.ID(), err)
	}
	return nil
}

// params builds jobs [from, to), stamped with the current time.
func (r *run) params(from, to int64) []joblot.EnqueueParams {
	now := time.Now().UnixNano()
	ps := make([]joblot.EnqueueParams, to-from)
	for i := range ps {
		n := from + int64(i)
		ps[i] = joblot.EnqueueParams{
			Args: Args{N: n, T: now, Pad: r.pad},
			Opts: joblot.EnqueueOpts{Queue: r.cfg.queueOf(n)},
		}
		if r.cfg.Unique {
			ps[i].Opts.Unique = &joblot.UniqueOpts{ByArgs: true}
		}
		if Fails(n, r.cfg.FailRate) {
			// Only failing jobs carry a retry budget, so that the bytes
			// measured per job are those of a plain job.
			ps[i].Opts.MaxRetries = r.cfg.MaxRetries
		}
	}
	return ps
}
