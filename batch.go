package joblot

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// BatchStatus is a batch's status: counters, times, children, error groups.
// Its Summary says the state in words with what a complete batch still
// waits for ("complete, 548 retrying", "complete, settled").
type BatchStatus = backend.BatchStatus

// Callback is a job enqueued when a batch event fires. The callback job's
// Job.CallbackOf names the batch; read its status there.
type Callback struct {
	Args JobArgs
	Opts EnqueueOpts
}

// BatchOpts describe a new batch.
type BatchOpts struct {
	// Description is free text shown in status and lists.
	Description string
	// Parent makes the new batch a child of an existing batch: the parent's
	// complete waits for the child's complete callback to succeed, its
	// success for the child's success callback, its settled for the
	// child's settled callback, and a death in the child fires the
	// parent's death.
	Parent string
	// OnComplete fires once every job has run at least once (or ended).
	OnComplete *Callback
	// OnSuccess fires once every job has succeeded.
	OnSuccess *Callback
	// OnSettled fires once nothing in the batch is pending or retrying any
	// more: every job has succeeded or ended (died, was discarded or
	// cancelled). OnComplete fires while failed jobs still retry; OnSettled
	// waits for them, so it is the event to wait on for "every job is
	// done, one way or another". It waits for every child's settled
	// callback too, fires at the latest with OnSuccess, and a dead job
	// retried by hand afterwards un-fires nothing.
	OnSettled *Callback
	// OnDeath fires the first time a job of the batch dies.
	OnDeath *Callback
	// CommitTimeout: a batch not committed within it expires (default
	// backend.DefaultCommitTimeout).
	CommitTimeout time.Duration
}

// Batch is a handle on a batch for adding jobs and committing.
//
// A batch created by a client is populated with Add, in as many calls as
// needed (the client never has to hold all jobs), then committed with
// Commit; it cannot complete before. Inside a batch job, BatchFromContext
// returns the job's batch: jobs and child batches added there are
// idempotent, so a re-run of the job adds nothing twice.
type Batch struct {
	client *Client
	id     string
	// run is set for a handle obtained inside a running job.
	run *jobRun
}

// jobRun is the state of one job run that batch adds need: the job's ID and
// sequence numbers that make its adds idempotent.
type jobRun struct {
	e *executor
	// a is the attempt: its job's ID and batch, and its output (SetOutput,
	// SetProgress: output.go).
	a *attempt

	addMu    sync.Mutex // held across one add: sequence numbers reach storage in order
	mu       sync.Mutex
	addSeq   map[string]int // per target batch
	childSeq int
}

type jobRunKey struct{}

// BatchFromContext returns the batch of the job running with ctx, or
// ErrNotInBatch.
func BatchFromContext(ctx context.Context) (*Batch, error) {
	r, ok := ctx.Value(jobRunKey{}).(*jobRun)
	if !ok || r.a.Job.BatchID == "" {
		return nil, ErrNotInBatch
	}
	return &Batch{client: r.e.client, id: r.a.Job.BatchID, run: r}, nil
}

// NewBatch creates a batch. Populate it with Add, then Commit.
func (c *Client) NewBatch(ctx context.Context, opts BatchOpts) (*Batch, error) {
	return c.createBatch(ctx, backend.NewJobID(), opts, nil)
}

// Batch returns a handle on an existing batch, e.g. to add jobs from
// another process before commit.
func (c *Client) Batch(id string) *Batch { return &Batch{client: c, id: id} }

func (c *Client) createBatch(ctx context.Context, id string, opts BatchOpts, run *jobRun) (*Batch, error) {
	now := c.cfg.Now()
	timeout := opts.CommitTimeout
	if timeout <= 0 {
		timeout = backend.DefaultCommitTimeout
	}
	spec := &backend.BatchSpec{
		ID:             id,
		Description:    opts.Description,
		ParentID:       opts.Parent,
		CreatedAt:      now,
		CommitDeadline: now.Add(timeout),
		Callbacks:      map[backend.CallbackEvent]*backend.Job{},
	}
	for event, cb := range map[backend.CallbackEvent]*Callback{
		backend.CallbackComplete: opts.OnComplete,
		backend.CallbackSuccess:  opts.OnSuccess,
		backend.CallbackSettled:  opts.OnSettled,
		backend.CallbackDeath:    opts.OnDeath,
	} {
		if cb == nil {
			continue
		}
		job, err := c.buildJobTo(ctx, EnqueueParams{Args: cb.Args, Opts: cb.Opts}, now, enqueueTarget{callbackOf: id, callbackEvent: event})
		if err != nil {
			return nil, fmt.Errorf("joblot: %s callback: %w", event, err)
		}
		if job.UniqueKey() != "" {
			return nil, fmt.Errorf("joblot: %s callback: %w", event, ErrUniqueInBatch)
		}
		job.RunAt = time.Time{} // a callback runs when it fires
		spec.Callbacks[event] = job
	}
	if err := c.backend.CreateBatch(ctx, spec); err != nil {
		return nil, fmt.Errorf("joblot: create batch: %w", err)
	}
	return &Batch{client: c, id: id, run: run}, nil
}

// ID returns the batch's ID.
func (b *Batch) ID() string { return b.id }

// Add adds jobs to the batch and enqueues them, in chunks of
// ClientConfig.EnqueueChunk. It fails with ErrBatchFinished once the batch
// has succeeded, been cancelled or expired, and with ErrUniqueInBatch
// (storing nothing) if a job is unique (EnqueueOpts.Unique, or its args'
// own options): a member skipped as a duplicate would leave the batch
// pending forever. Inside a job, adds are idempotent across re-runs of
// that job.
func (b *Batch) Add(ctx context.Context, params ...EnqueueParams) error {
	for i, p := range params {
		if uniqueOf(p) != nil { // before anything is stored
			return fmt.Errorf("joblot: batch %s job %d: %w", b.id, i, ErrUniqueInBatch)
		}
	}
	now := b.client.cfg.Now()
	chunk := b.client.cfg.EnqueueChunk
	for start := 0; start < len(params); start += chunk {
		part := params[start:min(start+chunk, len(params))]
		jobs := make([]*backend.Job, len(part))
		for i, p := range part {
			job, err := b.client.buildJobTo(ctx, p, now, enqueueTarget{batchID: b.id, derivedID: b.run != nil})
			if err != nil {
				return fmt.Errorf("joblot: batch %s job %d: %w", b.id, start+i, err)
			}
			jobs[i] = job
		}
		if err := b.addChunk(ctx, jobs); err != nil {
			return err
		}
	}
	return nil
}

// addChunk stores one chunk. Inside a job, adds are serialised: backends
// take a job's add sequence numbers in order (a range below the recorded
// count is a repeat), so two goroutines of one job must not race.
func (b *Batch) addChunk(ctx context.Context, jobs []*backend.Job) error {
	add := &backend.BatchAdd{BatchID: b.id, Jobs: jobs}
	if b.run != nil {
		b.run.addMu.Lock()
		defer b.run.addMu.Unlock()
		add.AddedBy, add.Seq = b.run.a.Job.ID, b.run.reserve(b.id, len(jobs))
		for i, j := range jobs {
			j.ID = backend.DerivedJobID(b.run.a.Job.ID+"@"+b.id, add.Seq+i)
		}
	}
	if err := b.client.backend.AddToBatch(ctx, add); err != nil {
		return fmt.Errorf("joblot: add to batch %s: %w", b.id, err)
	}
	return nil
}

// NewChild creates a child batch of b. Inside a job its ID is derived from
// the job, so a re-run of the job reuses the same child.
func (b *Batch) NewChild(ctx context.Context, opts BatchOpts) (*Batch, error) {
	opts.Parent = b.id
	id := backend.NewJobID()
	if b.run != nil {
		id = b.run.a.Job.ID + ".b" + strconv.Itoa(b.run.nextChild())
	}
	return b.client.createBatch(ctx, id, opts, b.run)
}

// Commit marks the batch fully populated. From then on it can complete; an
// empty batch fires its callbacks at once.
func (b *Batch) Commit(ctx context.Context) error {
	if err := b.client.backend.CommitBatch(ctx, b.id); err != nil {
		return fmt.Errorf("joblot: commit batch %s: %w", b.id, err)
	}
	return nil
}

// Status returns the batch's status.
func (b *Batch) Status(ctx context.Context) (*BatchStatus, error) {
	return b.client.BatchStatus(ctx, b.id)
}

// BatchStatus returns a batch's status or ErrBatchNotFound.
func (c *Client) BatchStatus(ctx context.Context, id string) (*BatchStatus, error) {
	return c.backend.BatchStatus(ctx, id)
}

// ListBatches pages through batches, newest first.
func (c *Client) ListBatches(ctx context.Context, opts backend.BatchListOptions) ([]*BatchStatus, error) {
	return c.backend.ListBatches(ctx, opts)
}

// CancelBatch cancels a batch: its remaining jobs are skipped when fetched,
// complete fires, success never does.
func (c *Client) CancelBatch(ctx context.Context, id string) error {
	return c.backend.CancelBatch(ctx, id)
}

// DeleteBatch removes a batch's state. Its jobs still run; their events
// for the batch are counted and change nothing.
func (c *Client) DeleteBatch(ctx context.Context, id string) error {
	return c.backend.DeleteBatch(ctx, id)
}

// BatchFailures pages through a batch's jobs in the retry or dead set,
// optionally of one error group (fingerprint).
func (c *Client) BatchFailures(ctx context.Context, id string, set backend.JobSet, fingerprint, cursor string, limit int) (*backend.JobPage, error) {
	return c.backend.ListJobs(ctx, backend.JobFilter{Set: set, BatchID: id, ErrorFingerprint: fingerprint, Cursor: cursor, Limit: limit})
}

func (r *jobRun) reserve(batchID string, n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addSeq == nil {
		r.addSeq = map[string]int{}
	}
	seq := r.addSeq[batchID]
	r.addSeq[batchID] = seq + n
	return seq
}

func (r *jobRun) nextChild() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.childSeq++
	return r.childSeq
}
