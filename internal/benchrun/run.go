package benchrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// errFailing is what a failing bench job returns with one error shape: one
// constant message, so all failures land in one error group.
var errFailing = errors.New("bench: this job fails on purpose")

// enqueueChunk is how many jobs one EnqueueMany or Batch.Add call gets; the
// client splits it further into round trips of its EnqueueChunk.
const enqueueChunk = 10_000

// Run enqueues cfg.Jobs jobs into b, processes them with an in-process
// server and accounts for each one. m may be nil.
func Run(ctx context.Context, b backend.Backend, m Meter, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := newRun(b, cfg)
	res := &Result{Jobs: cfg.Jobs, Concurrency: cfg.Concurrency}
	if m != nil {
		res.MemorySource = m.Source()
	}
	for q := range cfg.serverQueues() {
		if err := checkQueueEmpty(ctx, b, q, cfg.AllowScheduled); err != nil {
			return nil, err
		}
	}

	if res.UsedMemoryBefore, err = measure(ctx, m); err != nil {
		return nil, err
	}
	enqueueTime, err := r.enqueue(ctx)
	if err != nil {
		return nil, err
	}
	res.EnqueueSeconds = enqueueTime.Seconds()
	res.EnqueuePerSec = float64(cfg.Jobs) / enqueueTime.Seconds()
	if res.UsedMemoryEnqueued, err = measure(ctx, m); err != nil {
		return nil, err
	}

	heapBefore := readGoHeap()
	processTime, err := r.process(ctx)
	if err != nil {
		return nil, err
	}
	res.ProcessSeconds = processTime.Seconds()
	accounted := r.accountedN.Load()
	res.GoHeapResult = readGoHeap().since(heapBefore, accounted)
	res.ProcessPerSec = float64(accounted) / processTime.Seconds()
	p := r.latency.Percentiles(50, 99)
	res.LatencyP50Ms, res.LatencyP99Ms = p[0], p[1]
	res.Succeeded = r.succeeded.Count()
	res.Dead = r.died.Count()
	res.Retrying = CountUnion(r.retrying, r.died, r.succeeded) - CountUnion(r.died, r.succeeded)
	res.Lost = cfg.Jobs - accounted
	if res.UsedMemoryAfter, err = measure(ctx, m); err != nil {
		return nil, err
	}
	if cfg.BatchSize > 0 {
		br := &BatchResult{Batches: int64(len(r.batchIDs))}
		br.CallbacksComplete, br.CallbacksSuccess, br.CallbacksDeath = r.callbackCounts()
		if bm, ok := m.(BatchMeter); ok {
			if br.BatchBookkeepingBytes, err = bm.BatchBytes(ctx, r.batchIDs); err != nil {
				return nil, fmt.Errorf("bench: measure batch bookkeeping: %w", err)
			}
		}
		res.BatchResult = br
	}
	if cfg.Cleanup {
		if err := r.cleanup(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

// run is the state of one bench run.
type run struct {
	cfg     Config
	backend backend.Backend
	client  *joblot.Client
	pad     string

	// The ledger: what happened to each job number, as its worker saw it.
	succeeded, died, retrying *Bitmap
	// accounted holds the jobs whose fate is known (see account).
	accounted  *Bitmap
	accountedN atomic.Int64
	allDone    chan struct{}
	doneAt     atomic.Int64 // unix nanos when the last job was accounted

	latency *Recorder

	batchIDs []string // index i holds jobs [i·BatchSize, (i+1)·BatchSize)

	cbMu      sync.Mutex
	callbacks map[backend.CallbackEvent]map[string]bool
}

func newRun(b backend.Backend, cfg Config) *run {
	return &run{
		cfg:       cfg,
		backend:   b,
		client:    joblot.NewClient(b, joblot.ClientConfig{Logger: cfg.Logger}),
		pad:       strings.Repeat("x", cfg.PayloadBytes),
		succeeded: NewBitmap(cfg.Jobs),
		died:      NewBitmap(cfg.Jobs),
		retrying:  NewBitmap(cfg.Jobs),
		accounted: NewBitmap(cfg.Jobs),
		allDone:   make(chan struct{}),
		latency:   NewRecorder(cfg.Jobs),
		callbacks: map[backend.CallbackEvent]map[string]bool{},
	}
}

// account marks job n's fate as known; the last one closes allDone.
func (r *run) account(n int64) {
	if r.accounted.Set(n) && r.accountedN.Add(1) == r.cfg.Jobs {
		r.doneAt.Store(time.Now().UnixNano())
		close(r.allDone)
	}
}

// work is the bench job: it records its latency and its fate in the ledger
// and fails if its number says so.
func (r *run) work(_ context.Context, job *joblot.Job[Args]) error {
	n := job.Args.N
	if job.Attempt == 1 {
		r.latency.Record(time.Since(job.Args.EnqueuedAt()))
	}
	if !Fails(n, r.cfg.FailRate) {
		r.succeeded.Set(n)
		r.account(n)
		return nil
	}
	if job.Attempt > job.MaxRetries {
		r.died.Set(n)
		r.account(n)
	} else {
		r.retrying.Set(n)
		if r.cfg.StopWhenRetrying {
			r.account(n)
		}
	}
	return failure(n, job.Attempt, r.cfg.ErrorShapes)
}

// callback counts a batch callback once per (batch, event), however often
// it runs.
func (r *run) callback(_ context.Context, job *joblot.Job[CallbackArgs]) error {
	r.cbMu.Lock()
	defer r.cbMu.Unlock()
	seen := r.callbacks[job.CallbackEvent]
	if seen == nil {
		seen = map[string]bool{}
		r.callbacks[job.CallbackEvent] = seen
	}
	seen[job.CallbackOf] = true
	return nil
}

func (r *run) callbackCounts() (complete, success, death int64) {
	r.cbMu.Lock()
	defer r.cbMu.Unlock()
	count := func(ev backend.CallbackEvent) int64 {
		var n int64
		for _, id := range r.batchIDs {
			if r.callbacks[ev][id] {
				n++
			}
		}
		return n
	}
	return count(backend.CallbackComplete), count(backend.CallbackSuccess), count(backend.CallbackDeath)
}

// checkQueueEmpty refuses a queue holding jobs, which an earlier,
// interrupted run would have left: they would be counted with this run's.
func checkQueueEmpty(ctx context.Context, b backend.Backend, queue string, allowScheduled bool) error {
	st, err := b.Stats(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("bench: stats: %w", err)
	}
	for _, q := range st.Queues {
		if q.Name != queue {
			continue
		}
		left := q.Size + q.Scheduled + q.Retry + q.InFlight
		if allowScheduled {
			left = q.Size + q.InFlight
		}
		if left > 0 {
			return fmt.Errorf("bench: queue %q already holds %d jobs (queued %d, scheduled %d, retry %d, in flight %d), "+
				"probably left by an interrupted run; they would be counted with this run's: clear the queue or use another --queue",
				queue, left, q.Size, q.Scheduled, q.Retry, q.InFlight)
		}
	}
	return nil
}

func measure(ctx context.Context, m Meter) (int64, error) {
	if m == nil {
		return 0, nil
	}
	v, err := m.UsedMemory(ctx)
	if err != nil {
		return 0, fmt.Errorf("bench: measure %s: %w", m.Source(), err)
	}
	return v, nil
}
